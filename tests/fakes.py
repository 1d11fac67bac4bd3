"""Fake devices at the device edge for the Home Assistant tests, and a site entry that uses them.

`FakeCharger` records every command and follows it at once; while a vehicle is connected and
the charger enabled it reports status C with `current × phases × 230 V`. Any fake can be told to
raise (`error`), to hang (`delay`) or to report garbage (`raw_status`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Generator
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from types import MappingProxyType
from typing import Any
from unittest.mock import patch

from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.syrupy import HomeAssistantSnapshotExtension
from syrupy.location import PyTestLocation

from custom_components.evcc_ha.const import CONF_SITE_TITLE, DOMAIN
from custom_components.evcc_ha.core.devices import Device, LoadpointDevices, SiteDevices
from custom_components.evcc_ha.core.model import (
    ChargerCommand,
    ChargerConfig,
    ChargerReading,
    LoadpointConfig,
    MeterReading,
    SiteConfig,
    Status,
    VehicleConfig,
)

ENTRY_ID = "01JEVCCTESTENTRY0000000000"


@dataclass
class FakeMeter(Device):
    name: str
    power: float = 0.0
    energy: float | None = None
    soc: float | None = None
    capacity: float | None = None
    error: Exception | None = None
    delay: float = 0.0
    garbage: object = None
    watched: tuple[str, ...] = ()
    reads: int = 0

    async def async_read(self) -> MeterReading:
        self.reads += 1
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.error is not None:
            raise self.error
        if self.garbage is not None:
            return self.garbage  # type: ignore[return-value]
        return MeterReading(
            power=self.power, energy=self.energy, soc=self.soc, capacity=self.capacity
        )


@dataclass
class FakeCharger(Device):
    name: str
    connected: bool = True
    enabled: bool = False
    current: float = 6.0
    phases: int = 3
    energy: float = 1000.0  # kWh meter total
    soc: float | None = 50.0
    voltage: float = 230.0
    error: Exception | None = None
    apply_error: Exception | None = None
    delay: float = 0.0
    raw_status: str | None = None  # reported instead of the real status (garbage tests)
    commands: list[ChargerCommand] = field(default_factory=list)
    reads: int = 0

    @property
    def charging(self) -> bool:
        return self.connected and self.enabled and self.current > 0

    @property
    def power(self) -> float:
        return self.current * self.phases * self.voltage if self.charging else 0.0

    def status(self) -> Status:
        if not self.connected:
            return Status.A
        return Status.C if self.charging else Status.B

    async def async_read(self) -> ChargerReading:
        self.reads += 1
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.error is not None:
            raise self.error
        status: Any = self.raw_status if self.raw_status is not None else self.status()
        return ChargerReading(
            status=status,
            enabled=self.enabled,
            power=self.power,
            energy=self.energy,
            offered_current=self.current if self.enabled else None,
            phases=self.phases,
            soc=self.soc if self.connected else None,
        )

    async def async_apply(self, command: ChargerCommand) -> None:
        self.commands.append(command)
        if self.apply_error is not None:
            raise self.apply_error
        if command.phases is not None:
            self.phases = command.phases
        if command.current is not None:
            self.current = command.current
        if command.enable is not None:
            self.enabled = command.enable


@dataclass
class FakeSite:
    """Two loadpoints (Garage: 1p/3p switchable with a SoC car; Carport: 3p, car without SoC),
    a grid meter, a PV meter and a home battery."""

    grid: FakeMeter = field(default_factory=lambda: FakeMeter("Grid meter", power=-3000.0))
    pv: FakeMeter = field(default_factory=lambda: FakeMeter("PV meter", power=6000.0))
    battery: FakeMeter = field(
        default_factory=lambda: FakeMeter("Battery meter", power=0.0, soc=60.0, capacity=10.0)
    )
    garage: FakeCharger = field(default_factory=lambda: FakeCharger("Garage charger"))
    carport: FakeCharger = field(
        default_factory=lambda: FakeCharger("Carport charger", soc=None, connected=False)
    )

    def devices(self) -> SiteDevices:
        return SiteDevices(
            config=SiteConfig(title="Home", battery_configured=True),
            grid=self.grid,
            pv=[self.pv],
            battery=[self.battery],
            loadpoints=[
                LoadpointDevices(
                    config=LoadpointConfig(
                        title="Garage",
                        charger=ChargerConfig(phases=3, phases_switchable=True, max_current=32.0),
                        vehicle=VehicleConfig(title="ID.3", capacity_kwh=58.0),
                    ),
                    charger=self.garage,
                ),
                LoadpointDevices(
                    config=LoadpointConfig(
                        title="Carport",
                        charger=ChargerConfig(phases=3, max_current=16.0),
                        vehicle=VehicleConfig(title="Van", capacity_kwh=75.0, has_soc=False),
                    ),
                    charger=self.carport,
                ),
            ],
        )


def site_entry(**kwargs: Any) -> MockConfigEntry:
    """A site entry with a fixed entry id (unique ids in snapshots stay the same)."""
    return MockConfigEntry(
        domain=DOMAIN,
        title="Home",
        data={CONF_SITE_TITLE: "Home"},
        unique_id="home",
        entry_id=ENTRY_ID,
        version=1,
        minor_version=2,
        **kwargs,
    )


@contextmanager
def use_devices(site: FakeSite) -> Generator[None]:
    """Set site entries up with the fake devices (fresh `SiteDevices` per setup)."""

    async def build(*_args: Any) -> tuple[SiteDevices, None]:
        return site.devices(), None

    with patch("custom_components.evcc_ha.async_build_site_devices", side_effect=build):
        yield


async def setup_entry(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()


class SnapshotExtension(HomeAssistantSnapshotExtension):
    """Home Assistant's snapshot format, stored in tests/snapshots/."""

    @classmethod
    def dirname(cls, *, test_location: PyTestLocation) -> str:
        return str(Path(test_location.filepath).parent / "snapshots")


def plain(value: Any) -> Any:
    """Enums as their values, containers as dicts and lists: the same text on every Python and
    Home Assistant version."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict | MappingProxyType):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [plain(v) for v in value]
        return sorted(items, key=str) if isinstance(value, set | frozenset) else items
    return value


def find_device(hass: HomeAssistant, entry_id: str, identifier: str) -> dr.DeviceEntry:
    """A device of the entry by its evcc_ha identifier (works on old and new registries)."""
    registry = dr.async_get(hass)
    for device in dr.async_entries_for_config_entry(registry, entry_id):
        if (DOMAIN, identifier) in device.identifiers:
            return device
    raise AssertionError(f"no device {identifier}")


@dataclass
class FakeSoc(Device):
    name: str
    soc: float | None = 50.0

    async def async_read(self) -> float | None:
        return self.soc

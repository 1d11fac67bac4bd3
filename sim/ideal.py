"""Ideal devices: a charger that follows every command at once, meters that report what they are
told. For the API tests and the benchmarks, which need the controller without physics."""

from __future__ import annotations

from dataclasses import dataclass, field

from custom_components.evcc_ha.core.devices import Device
from custom_components.evcc_ha.core.model import (
    ChargerCommand,
    ChargerConfig,
    ChargerReading,
    DeviceError,
    MeterReading,
    Status,
    VehicleValues,
)


@dataclass
class IdealCharger(Device):
    """Applies every command at once; draws offered current × phases × 230 V while charging."""

    config: ChargerConfig = field(default_factory=ChargerConfig)
    name: str = "ideal charger"
    status: Status = Status.A
    enabled: bool = False
    offered: float = 0.0
    phases: int = 3
    soc: float | None = None
    energy_kwh: float = 100.0
    commands: list[ChargerCommand] = field(default_factory=list)
    refuse: Exception | None = None  # raised by the next commands

    async def async_apply(self, command: ChargerCommand) -> None:
        self.commands.append(command)
        if self.refuse is not None:
            raise self.refuse
        if command.phases is not None:
            self.phases = command.phases
        if command.current is not None:
            self.offered = command.current
        if command.enable is not None:
            self.enabled = command.enable

    @property
    def power(self) -> float:
        if self.status != Status.C or not self.enabled:
            return 0.0
        return self.offered * self.phases * 230.0

    async def async_read(self) -> ChargerReading:
        power = self.power
        current = self.offered if power > 0 else 0.0
        currents = (
            current,
            current if self.phases == 3 else 0.0,
            current if self.phases == 3 else 0.0,
        )
        return ChargerReading(
            status=self.status,
            enabled=self.enabled,
            power=power,
            energy=self.energy_kwh,
            currents=currents,
            offered_current=self.offered if self.enabled else None,
            phases=self.phases,
            soc=self.soc,
        )


@dataclass
class FixedMeter(Device):
    """Reports `reading` (None: unavailable)."""

    name: str = "meter"
    reading: MeterReading | None = field(default_factory=lambda: MeterReading(power=0.0))

    async def async_read(self) -> MeterReading:
        if self.reading is None:
            raise DeviceError(f"{self.name} is unavailable")
        return self.reading


@dataclass
class FixedVehicle(Device):
    """A car's integration: reports `values` (None: unavailable) and `soc`."""

    name: str = "vehicle"
    values: VehicleValues | None = field(default_factory=VehicleValues)

    async def async_read(self) -> VehicleValues:
        if self.values is None:
            raise DeviceError(f"{self.name} is unavailable")
        return self.values


@dataclass
class FixedSoc(Device):
    """A car's SoC sensor reporting what the test sets (None: not known now)."""

    name: str = "vehicle soc"
    soc: float | None = None

    async def async_read(self) -> float | None:
        return self.soc

"""The ports of the control cycle: what a meter, a charger and a SoC source must offer.

Every device kind (Home Assistant entities, Modbus, the demo household, the simulator's devices)
implements these small interfaces, so the controller never knows which kind it talks to. A read
that fails raises any exception (best a `DeviceError`); the controller turns it into "unavailable
this cycle" for that device alone.

`Device` gives the optional parts their defaults: a device that opens a connection overrides
`async_setup`/`async_close`; a device that reads Home Assistant entities lists them in `watched`
(a change of a watched meter entity starts an early cycle).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from .model import (
    BatteryMode,
    ChargerCommand,
    ChargerReading,
    CircuitConfig,
    LoadpointConfig,
    MeterReading,
    SiteConfig,
    VehicleConfig,
    VehicleValues,
)


class Device:
    """Defaults of the optional device parts: no connection to open or close, nothing watched."""

    name: str = "device"
    watched: tuple[str, ...] = ()

    async def async_setup(self) -> None:
        """Open connections before the first read (raise to fail the site's setup: retried)."""

    async def async_close(self) -> None:
        """Close connections; called once when the site stops. Must not raise."""

    def diagnostics(self) -> dict[str, object]:
        """What a bug report may show of the device's last exchange (no credentials)."""
        return {}


class DevicePort(Protocol):
    name: str
    watched: tuple[str, ...]

    async def async_setup(self) -> None: ...

    async def async_close(self) -> None: ...

    def diagnostics(self) -> dict[str, object]: ...


class Meter(DevicePort, Protocol):
    async def async_read(self) -> MeterReading: ...


class Charger(DevicePort, Protocol):
    async def async_read(self) -> ChargerReading: ...

    async def async_apply(self, command: ChargerCommand) -> None:
        """Send a command: phases first (if any), then current, then enable."""


class SocSource(DevicePort, Protocol):
    """A vehicle SoC source (e.g. a car integration's battery sensor). None = not known now."""

    async def async_read(self) -> float | None: ...


class VehicleSource(DevicePort, Protocol):
    """Range, odometer, the car's own limit and its climater, from the car's integration."""

    async def async_read(self) -> VehicleValues: ...


class BatteryControl(DevicePort, Protocol):
    """Sets the home battery's mode (normal, hold = no discharging, charge = from the grid)."""

    async def async_set_mode(self, mode: BatteryMode) -> None: ...


@dataclass(slots=True)
class LoadpointDevices:
    """A loadpoint's charger and meter; `soc` and `vehicle` are the sources of its own vehicle
    (`config.vehicle`), which may charge elsewhere too."""

    config: LoadpointConfig
    charger: Charger
    meter: Meter | None = None
    soc: SocSource | None = None
    vehicle: VehicleSource | None = None


@dataclass(slots=True)
class VehicleDevices:
    """The sources of a vehicle that no loadpoint has as its own (`SiteConfig.vehicles`)."""

    config: VehicleConfig
    soc: SocSource | None = None
    values: VehicleSource | None = None


@dataclass(slots=True)
class CircuitDevices:
    """A circuit's own meter (its load) and the meter-like source of its external limit (the
    reading's power is the maximum power allowed now), as `config` says it has them."""

    config: CircuitConfig
    meter: Meter | None = None
    limit: Meter | None = None


@dataclass(slots=True)
class SiteDevices:
    """Everything one site reads and commands, plus the static configuration for core."""

    config: SiteConfig
    grid: Meter | None = None
    pv: list[Meter] = field(default_factory=list)
    battery: list[Meter] = field(default_factory=list)
    aux: list[Meter] = field(default_factory=list)
    loadpoints: list[LoadpointDevices] = field(default_factory=list)
    battery_control: BatteryControl | None = None
    vehicles: list[VehicleDevices] = field(default_factory=list)  # as `config.vehicles`
    circuits: list[CircuitDevices] = field(default_factory=list)  # as `config.circuits`

    def vehicle_sources(self) -> list[tuple[SocSource | None, VehicleSource | None]]:
        """The SoC and value sources of every vehicle, in the site's vehicle order (the
        loadpoints' own first, see `core.vehicle.build_fleet`)."""
        own = [(lp.soc, lp.vehicle) for lp in self.loadpoints if lp.config.vehicle is not None]
        return own + [(vehicle.soc, vehicle.values) for vehicle in self.vehicles]

    def all(self) -> list[DevicePort]:
        """Every device once, site meters first."""
        found: list[DevicePort] = []
        candidates: list[DevicePort | None] = [
            self.grid,
            *self.pv,
            *self.battery,
            *self.aux,
            self.battery_control,
        ]
        for lp in self.loadpoints:
            candidates += [lp.charger, lp.meter, lp.soc, lp.vehicle]
        for vehicle in self.vehicles:
            candidates += [vehicle.soc, vehicle.values]
        for circuit in self.circuits:
            candidates += [circuit.meter, circuit.limit]
        for device in candidates:
            if device is not None and not any(device is known for known in found):
                found.append(device)
        return found

"""The small interfaces every device kind implements (Modbus, Home Assistant entities, demo).

Core and coordinator never know which kind they talk to. A read that fails raises any
exception (or `DeviceError`); the coordinator turns that into "unavailable this cycle".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from ..core.model import (
    ChargerCommand,
    ChargerReading,
    LoadpointConfig,
    MeterReading,
    SiteConfig,
)


class Meter(Protocol):
    name: str

    async def async_read(self) -> MeterReading: ...


class Charger(Protocol):
    name: str

    async def async_read(self) -> ChargerReading: ...

    async def async_apply(self, command: ChargerCommand) -> None:
        """Send a command: phases first (if any), then current, then enable."""


class SocSource(Protocol):
    """A vehicle SoC source (e.g. a car integration's battery sensor)."""

    name: str

    async def async_read(self) -> float | None: ...


@dataclass(slots=True)
class LoadpointDevices:
    config: LoadpointConfig
    charger: Charger
    meter: Meter | None = None
    soc: SocSource | None = None


@dataclass(slots=True)
class SiteDevices:
    """Everything one site reads and commands, plus the static configuration for core."""

    config: SiteConfig
    grid: Meter | None = None
    pv: list[Meter] = field(default_factory=list)
    battery: list[Meter] = field(default_factory=list)
    aux: list[Meter] = field(default_factory=list)
    loadpoints: list[LoadpointDevices] = field(default_factory=list)

"""A small driver for core tests: one site, readings built from keywords, a manual clock."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Protocol

from custom_components.evcc_ha.core.model import (
    ChargerCommand,
    ChargerConfig,
    ChargerReading,
    CycleResult,
    LoadpointConfig,
    LoadpointReadings,
    MeterReading,
    Mode,
    SiteConfig,
    SiteReadings,
    Status,
    VehicleConfig,
    VehicleValues,
)
from custom_components.evcc_ha.core.settings import LoadpointSettings, SiteSettings
from custom_components.evcc_ha.core.site import Site

T0 = datetime(2026, 6, 21, 10, 0, tzinfo=UTC)


class Driver:
    """Drives one loadpoint through cycles, applying its commands like an ideal charger."""

    def __init__(
        self,
        *,
        mode: Mode = Mode.PV,
        charger: ChargerConfig | None = None,
        vehicle: VehicleConfig | None = None,
        battery: bool = False,
        controllable: bool = False,
        site: SiteSettings | None = None,
        **settings: object,
    ) -> None:
        charger = charger or ChargerConfig()
        lp_settings = LoadpointSettings(
            mode=mode,
            phases_configured=0 if charger.phases_switchable else charger.phases,
        )
        for key, value in settings.items():
            setattr(lp_settings, key, value)
        self.site = Site(
            SiteConfig(
                battery_configured=battery,
                battery_controllable=controllable,
                battery_chargeable=controllable,
            ),
            [LoadpointConfig(title="Garage", charger=charger, vehicle=vehicle)],
            site,
            [lp_settings],
        )
        self.lp = self.site.loadpoints[0]
        self.now = T0
        self.commands: list[ChargerCommand | None] = []
        # what the (ideal) charger does
        self.enabled = False
        self.offered = 0.0
        self.phases = charger.phases

    def cycle(
        self,
        *,
        grid: float = 0.0,
        status: str = "C",
        currents: tuple[float, float, float] | None = None,
        power: float | None = None,
        soc: float | None = None,
        battery: MeterReading | None = None,
        after: float = 30.0,
        enabled: bool | None = None,
        offered: float | None = None,
        energy: float | None = None,
        values: VehicleValues | None = None,
    ) -> CycleResult:
        """Advance `after` seconds and run one cycle; returns the result."""
        self.now += timedelta(seconds=after)
        if enabled is not None:
            self.enabled = enabled
        if offered is not None:
            self.offered = offered
        reading = ChargerReading(
            status=Status(status),
            enabled=self.enabled,
            power=power,
            energy=energy,
            currents=currents,
            offered_current=self.offered if self.enabled else None,
            phases=self.phases,
            soc=soc,
        )
        readings = SiteReadings(
            grid=MeterReading(power=grid),
            battery=(battery,) if battery else (),
            loadpoints=(LoadpointReadings(charger=reading, vehicle=values),),
        )
        result = self.site.update(self.now, readings)
        self.apply(result.commands[0])
        return result

    def apply(self, command: ChargerCommand | None) -> None:
        self.commands.append(command)
        follow(self, command)

    def set(self, key: str, value: object) -> ChargerCommand | None:
        _, command = self.site.set_loadpoint_setting(0, key, value, self.now)
        self.apply(command)
        return command


class IdealChargerState(Protocol):
    phases: int
    offered: float
    enabled: bool


def follow(charger: IdealChargerState, command: ChargerCommand | None) -> None:
    """What an ideal charger does with a command: phases, current and enable as told."""
    if command is None:
        return
    if command.phases is not None:
        charger.phases = command.phases
    if command.current is not None:
        charger.offered = command.current
    if command.enable is not None:
        charger.enabled = command.enable


def charging_at(current: float, phases: int = 3) -> tuple[float, float, float]:
    return (current, current if phases == 3 else 0.0, current if phases == 3 else 0.0)


def with_vehicle(**kwargs: object) -> VehicleConfig:
    return replace(VehicleConfig(), **kwargs)  # type: ignore[arg-type]

"""A small real Backend for the API tests: a core Site, ideal chargers, a manual clock.

Only a test harness (the Home Assistant coordinator is the production Backend): `cycle()` runs one
control cycle with readings built from the ideal chargers, applies the commands and publishes a
new state document; the async setters go through the core's one write path, apply the command to
the charger at once and publish a new document, so the next `/api/state` shows the change.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from custom_components.evcc_ha.api.backend import StateListener
from custom_components.evcc_ha.api.state import build_state
from custom_components.evcc_ha.core.clock import ManualClock
from custom_components.evcc_ha.core.model import (
    ChargerCommand,
    ChargerConfig,
    ChargerReading,
    CycleResult,
    LoadpointConfig,
    LoadpointReadings,
    MeterReading,
    SiteConfig,
    SiteReadings,
    Status,
)
from custom_components.evcc_ha.core.settings import LoadpointSettings, SiteSettings
from custom_components.evcc_ha.core.site import Site
from custom_components.evcc_ha.core.tariff import Tariff

T0 = datetime(2026, 6, 21, 10, 0, tzinfo=UTC)


@dataclass(slots=True)
class IdealCharger:
    """Applies every command at once; draws offered current × phases × 230 V while charging."""

    config: ChargerConfig
    status: Status = Status.A
    enabled: bool = False
    offered: float = 0.0
    phases: int = 3
    soc: float | None = None
    energy_kwh: float = 100.0
    commands: list[ChargerCommand] = field(default_factory=list)

    def apply(self, command: ChargerCommand | None) -> None:
        if command is None:
            return
        self.commands.append(command)
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

    def reading(self) -> ChargerReading:
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


class HarnessBackend:
    """Implements `api.backend.Backend` over a real core Site."""

    def __init__(self, site: Site, clock: ManualClock | None = None) -> None:
        self._site = site
        self.clock = clock or ManualClock(T0)
        self.chargers = [
            IdealCharger(lp.config.charger, phases=lp.config.charger.phases)
            for lp in site.loadpoints
        ]
        self._listeners: list[StateListener] = []
        self.set_calls: list[tuple[str, object, object]] = []
        self._state = build_state(site, self.clock.now())

    # --- Backend -------------------------------------------------------------------------------

    @property
    def site(self) -> Site:
        return self._site

    def now(self) -> datetime:
        return self.clock.now()

    def state(self) -> dict[str, Any]:
        return self._state

    async def async_set_loadpoint(self, index: int, key: str, value: object) -> object:
        self.set_calls.append((f"lp{index}", key, value))
        stored, command = self._site.set_loadpoint_setting(index, key, value, self.now())
        self.chargers[index].apply(command)
        self.publish()
        return stored

    async def async_set_site(self, key: str, value: object) -> object:
        self.set_calls.append(("site", key, value))
        stored = self._site.set_site_setting(key, value)
        self.publish()
        return stored

    def subscribe(self, listener: StateListener) -> Callable[[], None]:
        self._listeners.append(listener)

        def unsubscribe() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return unsubscribe

    # --- driving -------------------------------------------------------------------------------

    @property
    def listeners(self) -> int:
        return len(self._listeners)

    def publish(self) -> None:
        """Build a new state document and hand it to every subscriber."""
        self._state = build_state(self._site, self.now())
        for listener in list(self._listeners):
            listener(self._state)

    def cycle(
        self,
        *,
        grid: float = 0.0,
        pv: Sequence[MeterReading] = (),
        battery: Sequence[MeterReading] = (),
        status: Mapping[int, str] | None = None,
        soc: Mapping[int, float] | None = None,
        after: float = 30.0,
        grid_meter: MeterReading | None = None,
    ) -> CycleResult:
        """Advance the clock, run one cycle with the chargers' readings, apply the commands."""
        self.clock.advance(after)
        for charger in self.chargers:  # energy of the interval that just passed
            charger.energy_kwh += charger.power * after / 3_600_000.0
        for index, letter in (status or {}).items():
            self.chargers[index].status = Status(letter)
        for index, value in (soc or {}).items():
            self.chargers[index].soc = value
        readings = SiteReadings(
            grid=grid_meter or MeterReading(power=grid),
            pv=tuple(pv),
            battery=tuple(battery),
            loadpoints=tuple(LoadpointReadings(charger=c.reading()) for c in self.chargers),
        )
        result = self._site.update(self.now(), readings)
        for charger, command in zip(self.chargers, result.commands, strict=True):
            charger.apply(command)
        self.publish()
        return result


def make_site(
    loadpoints: Sequence[LoadpointConfig] | None = None,
    *,
    battery: bool = False,
    settings: Sequence[LoadpointSettings | None] | None = None,
    site_settings: SiteSettings | None = None,
    tariffs: Mapping[str, Tariff] | None = None,
    title: str = "Home",
) -> Site:
    return Site(
        SiteConfig(title=title, battery_configured=battery),
        list(loadpoints or [LoadpointConfig(title="Garage")]),
        site_settings,
        list(settings) if settings is not None else None,
        tariffs=tariffs,
    )

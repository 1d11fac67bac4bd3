"""The API tests' backend: the real controller with ideal chargers, fixed meters, a manual clock.

`HarnessBackend` is the production `Controller` (the one Home Assistant runs); only its devices
are doubles at the device edge (`sim.ideal`): `IdealCharger` follows every command at once and
draws offered current × phases × 230 V while charging; `FixedMeter` reports what the test sets.
`cycle()` moves the clock, sets what the chargers and meters report and runs one real cycle.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime

from custom_components.evcc_ha.api.state import build_state
from custom_components.evcc_ha.core.clock import ManualClock
from custom_components.evcc_ha.core.controller import Controller, CycleReport
from custom_components.evcc_ha.core.devices import LoadpointDevices, SiteDevices, VehicleDevices
from custom_components.evcc_ha.core.model import (
    LoadpointConfig,
    MeterReading,
    SiteConfig,
    Status,
    VehicleConfig,
    VehicleValues,
)
from custom_components.evcc_ha.core.settings import LoadpointKey, LoadpointSettings, SiteSettings
from custom_components.evcc_ha.core.site import Site
from custom_components.evcc_ha.core.tariff import Tariff
from sim.ideal import FixedMeter, FixedSoc, FixedVehicle, IdealCharger

T0 = datetime(2026, 6, 21, 10, 0, tzinfo=UTC)


class HarnessBackend(Controller):
    """The real controller over a core Site, with ideal devices and a manual clock."""

    def __init__(self, site: Site, clock: ManualClock | None = None) -> None:
        self.chargers = [
            IdealCharger(
                lp.config.charger, f"{lp.config.title} charger", phases=lp.config.charger.phases
            )
            for lp in site.loadpoints
        ]
        self.grid = FixedMeter("grid meter")
        self.pv = FixedMeter("pv meter", None)
        self.battery = FixedMeter("battery meter", None)
        # the site's vehicles that no loadpoint has as its own: a car integration each
        self.cars = {
            vehicle.title: FixedVehicle(f"{vehicle.title} values")
            for vehicle in site.config.vehicles
        }
        self.car_socs = {
            vehicle.title: FixedSoc(f"{vehicle.title} SoC") for vehicle in site.config.vehicles
        }
        devices = SiteDevices(
            config=site.config,
            grid=self.grid,
            pv=[self.pv],
            battery=[self.battery] if site.config.battery_configured else [],
            loadpoints=[
                LoadpointDevices(config=lp.config, charger=charger)
                for lp, charger in zip(site.loadpoints, self.chargers, strict=True)
            ],
            vehicles=[
                VehicleDevices(v, self.car_socs[v.title], self.cars[v.title])
                for v in site.config.vehicles
            ],
        )
        super().__init__(site, devices, clock or ManualClock(T0), build_state)
        self.clock: ManualClock
        self.set_calls: list[tuple[str, object, object]] = []

    async def async_set_loadpoint_settings(
        self, index: int, changes: Iterable[tuple[LoadpointKey | str, object]]
    ) -> dict[LoadpointKey, object]:
        changes = list(changes)
        for key, value in changes:
            self.set_calls.append((f"lp{index}", str(key), value))
        return await super().async_set_loadpoint_settings(index, changes)

    async def async_set_plan(
        self, index: int, time: object, *, soc: object = None, energy: object = None
    ) -> dict[LoadpointKey, object]:
        self.set_calls.append((f"lp{index}", "plan", (time, soc, energy)))
        return await super().async_set_plan(index, time, soc=soc, energy=energy)

    async def async_set_site(self, key: object, value: object) -> object:
        self.set_calls.append(("site", str(key), value))
        return await super().async_set_site(key, value)  # type: ignore[arg-type]

    @property
    def listeners(self) -> int:
        return len(self._listeners)

    def publish(self) -> None:
        """A new state document for every subscriber (as after a setting change)."""
        self._publish(self.now())

    async def cycle(
        self,
        *,
        grid: float = 0.0,
        pv: Sequence[MeterReading] = (),
        battery: Sequence[MeterReading] = (),
        status: Mapping[int, str] | None = None,
        soc: Mapping[int, float] | None = None,
        after: float = 30.0,
        grid_meter: MeterReading | None = None,
        plugged: Mapping[str, bool] | None = None,
        car_soc: Mapping[str, float] | None = None,
    ) -> CycleReport:
        """Advance the clock, set what the devices report and run one real cycle."""
        self.clock.advance(after)
        for charger in self.chargers:  # energy of the interval that just passed
            charger.energy_kwh += charger.power * after / 3_600_000.0
        for index, letter in (status or {}).items():
            self.chargers[index].status = Status(letter)
        for index, value in (soc or {}).items():
            self.chargers[index].soc = value
        for title, connected in (plugged or {}).items():  # what the car integrations say
            self.cars[title].values = VehicleValues(connected=connected)
        for title, value in (car_soc or {}).items():
            self.car_socs[title].soc = value
        self.grid.reading = grid_meter or MeterReading(power=grid)
        self.pv.reading = pv[0] if pv else None
        self.battery.reading = battery[0] if battery else None
        return await self.async_cycle()


def make_site(
    loadpoints: Sequence[LoadpointConfig] | None = None,
    *,
    battery: bool = False,
    controllable: bool = False,
    settings: Sequence[LoadpointSettings | None] | None = None,
    site_settings: SiteSettings | None = None,
    tariffs: Mapping[str, Tariff] | None = None,
    title: str = "Home",
    vehicles: Sequence[VehicleConfig] = (),
) -> Site:
    return Site(
        SiteConfig(
            title=title,
            battery_configured=battery,
            battery_controllable=controllable,
            battery_chargeable=controllable,
            vehicles=tuple(vehicles),
        ),
        list(loadpoints or [LoadpointConfig(title="Garage")]),
        site_settings,
        list(settings) if settings is not None else None,
        tariffs=tariffs,
    )

"""The demo site: a living simulated household behind the ordinary device interfaces.

`build_demo_devices(clock)` gives the `SiteDevices` of a site with a PV system (a day curve that
peaks at about 8 kW around 13:00 local time, with passing clouds), a home that uses a few hundred
watts with peaks at meal times, a 10 kWh home battery behind its own zero-grid controller, and
two wallboxes behind the house connection's 3 × 50 A fuse. The Carport (3 phases, switchable to
1 phase, 32 A hardware) is the ID.3's (58 kWh, 11 kW on-board charger): plugged in when the demo
starts, afterwards it leaves every morning at 07:30 and comes back at 17:30 with a lower state of
charge. The Garage (3 phases, 32 A) has no car of its own; the household's second car (a Zoe,
22 kW) is plugged in there whenever it is at home, is out on Wednesdays and Saturdays from 10:00
to 16:00, and is detected when it plugs in again. Both cars charging at full power (16 A + 32 A)
and the house's own load come close to the fuse, so load management has work to do.
`apply_demo_settings` gives a new demo site a setting for every feature; `demo_history.py` gives
it days already lived.

The physics are the simulator's (`devices/simulated.py`). Nothing runs in the background: every
read moves the simulation forward to the clock's present time, so the demo lives as fast as the
coordinator reads it and costs nothing while nobody does. Pure Python, no Home Assistant.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from bisect import bisect_right
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from itertools import pairwise
from typing import Any, Final

from ..core.clock import Clock
from ..core.devices import (
    CircuitDevices,
    Device,
    LoadpointDevices,
    SiteDevices,
    VehicleDevices,
)
from ..core.model import (
    BatteryMode,
    ChargerCommand,
    ChargerConfig,
    CircuitConfig,
    LoadpointConfig,
    SiteConfig,
    SiteReadings,
    VehicleConfig,
    VehicleValues,
)
from ..core.site import Site
from ..core.tariff import FixedTariff, Rate, current_rate, parse_zones
from .simulated import (
    SimBattery,
    SimCharger,
    SimSite,
    SimulatedCharger,
    SimulatedMeter,
    SimVehicle,
)

__all__ = [
    "DEMO_FEEDIN_PRICE",
    "DEMO_FEEDIN_ZONES",
    "DEMO_LOADPOINT_SETTINGS",
    "DEMO_SITE_SETTINGS",
    "DemoSite",
    "DemoSolarForecast",
    "apply_demo_settings",
    "build_demo_devices",
    "demo_day_ahead_prices",
    "demo_feedin_tariff",
    "demo_prices_published",
]

PV_PEAK_W: Final = 8000.0
SUNRISE_H: Final = 6.0
SUNSET_H: Final = 20.5
HOME_BASE_W: Final = 280.0
BATTERY_KWH: Final = 10.0
BATTERY_MAX_W: Final = 5000.0
VEHICLE_TITLE: Final = "ID.3"
VEHICLE_KWH: Final = 58.0
VEHICLE_START_SOC: Final = 45.0
VEHICLE_MAX_CURRENT: Final = 16.0  # 11 kW on-board charger
CHARGER_MAX_CURRENT: Final = 32.0
GARAGE_MAX_CURRENT: Final = 32.0  # the Garage's 22 kW wallbox (3 phases, not switchable)
# The house connection (3 × 50 A, metered by the grid meter): both wallboxes are behind it
HOUSE_CONNECTION: Final = CircuitConfig(
    name="house", title="House connection", max_current=50.0, metered=True
)
DEPART: Final = time(7, 30)
RETURN: Final = time(17, 30)
MIN_FIRST_STAY: Final = timedelta(hours=3)  # a freshly started demo keeps its car a while
DRIVE_SOC: Final = 18.0  # % used on a day's drive
MIN_SOC_AFTER_DRIVE: Final = 8.0
KM_PER_SOC: Final = 4.2  # an ID.3's range per % (about 420 km full)
DRIVE_KM: Final = DRIVE_SOC * KM_PER_SOC
START_ODOMETER_KM: Final = 12_345.0
VEHICLE_OWN_LIMIT: Final = 90.0  # the charge limit set in the car
PRECONDITION: Final = timedelta(minutes=20)  # the car warms itself before it leaves
# the household's second car: plugged in at the Garage while it is at home, out on Wednesdays and
# Saturdays from 10:00 to 16:00
SECOND_TITLE: Final = "Zoe"
SECOND_KWH: Final = 52.0
SECOND_SOC: Final = 64.0
SECOND_MAX_CURRENT: Final = 32.0  # 22 kW on-board charger
SECOND_KM_PER_SOC: Final = 3.9
SECOND_ODOMETER_KM: Final = 48_210.0
SECOND_OUTING_WEEKDAYS: Final = (2, 5)  # Wednesday, Saturday (Python's numbering)
SECOND_DEPART: Final = time(10, 0)
SECOND_RETURN: Final = time(16, 0)
SECOND_DRIVE_SOC: Final = 25.0  # % used on one outing
SECOND_DRIVE_KM: Final = SECOND_DRIVE_SOC * SECOND_KM_PER_SOC
# the grid's CO₂ intensity (g/kWh): coal and gas at night, less while the sun shines on the
# country's solar plants too
CO2_NIGHT: Final = 420.0
CO2_SOLAR_DROP: Final = 180.0
STEP_S: Final = 10.0  # physics step while catching up
LONG_STEP_S: Final = 60.0  # physics step for gaps longer than an hour
MAX_CATCH_UP: Final = timedelta(hours=6)  # a longer pause is skipped, not replayed
SNAPSHOT_MAX_AGE_S: Final = 1.0  # reads this close together see the same moment

DEMO_LOADPOINT_SETTINGS: Final[dict[str, object]] = {
    "mode": "pv",
    "limitSoc": 80,
    "smartCostLimit": 0.19,  # charge from the grid on the cheapest night and noon slots
}
"""Loadpoint settings a freshly created demo site starts with (before stored settings exist)."""
DEMO_SITE_SETTINGS: Final[dict[str, object]] = {
    "bufferSoc": 80,  # above 80 % the home battery may help the car in pv mode
    "batteryGridChargeLimit": 0.17,  # top the battery up from the grid on the cheapest slots
}
PLAN_BEFORE_DEPARTURE: Final = timedelta(minutes=30)


DEMO_FEEDIN_PRICE: Final = 0.08  # currency per kWh
# around noon, when every roof feeds in, it pays less: a price that varies, so smart feed-in
# priority has something to act on (evcc gives a single price no rates for it)
DEMO_FEEDIN_ZONES: Final = "10-16 0.05"


def demo_feedin_tariff(tz: tzinfo) -> FixedTariff:
    """The demo's feed-in: 0.08 per kWh, 0.05 from 10:00 to 16:00."""
    return FixedTariff(DEMO_FEEDIN_PRICE, parse_zones(DEMO_FEEDIN_ZONES), tz=tz)


DAY_AHEAD_PUBLISHED: Final = time(13, 0)  # tomorrow's prices appear (as on the day-ahead market)
DAY_AHEAD_SLOT: Final = timedelta(minutes=15)


def demo_day_ahead_prices(day: date, tz: tzinfo) -> list[tuple[datetime, datetime, float]]:
    """The demo's day-ahead prices of one local day in quarter hours (currency per kWh):
    cheap at night and around noon (solar), dear in the morning and evening peaks, a little
    different every day. The same day always gives the same prices."""
    start = datetime.combine(day, time(), tz)
    end = datetime.combine(day + timedelta(days=1), time(), tz)
    wobble = (day.toordinal() % 7) / 100.0  # a day-to-day difference, in currency
    slots: list[tuple[datetime, datetime, float]] = []
    at = start
    while at < end:
        # wall-clock hour of the slot (a DST day has 92 or 100 slots)
        following = (at.astimezone(UTC) + DAY_AHEAD_SLOT).astimezone(tz)
        hour = at.hour + at.minute / 60.0
        price = (
            0.24
            + wobble
            + 0.10 * _bump(hour, 7.5, 1.5)
            + 0.14 * _bump(hour, 19.0, 2.0)
            - 0.09 * _bump(hour, 13.0, 2.2)
            - 0.06 * _bump(hour, 3.0, 2.5)
            + 0.01 * math.sin(hour * 2.7)
        )
        slots.append((at, following, round(price, 4)))
        at = following
    return slots


def demo_prices_published(now: datetime, tz: tzinfo) -> list[date]:
    """The days whose demo prices are known at `now`: today, and tomorrow from 13:00."""
    local = now.astimezone(tz)
    today = local.date()
    if local.time() >= DAY_AHEAD_PUBLISHED:
        return [today, today + timedelta(days=1)]
    return [today]


def _bump(hour: float, centre: float, width: float) -> float:
    return math.exp(-(((hour - centre) / width) ** 2))


class DemoSite:
    """The simulated household; the demo devices read and command it."""

    def __init__(self, clock: Clock, *, tz: tzinfo | None = None) -> None:
        self.clock = clock
        self.tz = tz
        start = clock.now()
        self.vehicle = SimVehicle(
            VEHICLE_TITLE,
            VEHICLE_KWH,
            VEHICLE_START_SOC,
            phases=3,
            max_current=VEHICLE_MAX_CURRENT,
            efficiency=0.9,
        )
        self.vehicle.depart = self._next_local(start + MIN_FIRST_STAY, DEPART)
        self.away = False
        self.odometer_km = START_ODOMETER_KM
        self.charger = SimCharger(
            phases=3,
            phases_switchable=True,
            max_current=CHARGER_MAX_CURRENT,
            vehicle=self.vehicle,
        )
        self.second = SimVehicle(
            SECOND_TITLE,
            SECOND_KWH,
            SECOND_SOC,
            phases=3,
            max_current=SECOND_MAX_CURRENT,
            efficiency=0.9,
        )
        self.second.depart = self._next_outing(start)
        self.second_away = False
        self.second_odometer_km = SECOND_ODOMETER_KM
        self.garage = SimCharger(
            phases=3, phases_switchable=False, max_current=GARAGE_MAX_CURRENT, vehicle=self.second
        )
        self.battery = SimBattery(BATTERY_KWH, 50.0, BATTERY_MAX_W, BATTERY_MAX_W)
        self.sim = SimSite([self.charger, self.garage], self.battery)
        self.last: datetime = start
        self._snapshot: SiteReadings | None = None
        self._snapshot_at: datetime | None = None

    # --- the day -----------------------------------------------------------------------------

    def _local(self, when: datetime) -> datetime:
        return when.astimezone(self.tz) if self.tz is not None else when

    def _next_local(self, after: datetime, at: time) -> datetime:
        """The first local `at` strictly after `after`."""
        local = self._local(after)
        candidate = datetime.combine(local.date(), at, tzinfo=local.tzinfo)
        while candidate <= local:
            candidate = datetime.combine(
                candidate.date() + timedelta(days=1), at, tzinfo=local.tzinfo
            )
        return candidate

    def _next_outing(self, after: datetime) -> datetime:
        """The second car's first departure (a Wednesday or Saturday 10:00) strictly after
        `after`."""
        candidate = self._next_local(after, SECOND_DEPART)
        while candidate.weekday() not in SECOND_OUTING_WEEKDAYS:
            candidate = self._next_local(candidate, SECOND_DEPART)
        return candidate

    def clear_sky_power(self, when: datetime) -> float:
        """PV production (W) without clouds: a sine-like day curve (the demo's forecast)."""
        local = self._local(when)
        hour = local.hour + local.minute / 60 + local.second / 3600
        if not SUNRISE_H < hour < SUNSET_H:
            return 0.0
        x = (hour - SUNRISE_H) / (SUNSET_H - SUNRISE_H)
        return PV_PEAK_W * math.sin(math.pi * x) ** 1.5

    def pv_power(self, when: datetime) -> float:
        """PV production (W): the clear-sky day curve with passing clouds."""
        clear = self.clear_sky_power(when)
        if clear == 0.0:
            return 0.0
        ts = when.timestamp()
        clouds = 1.0 - 0.35 * max(0.0, math.sin(ts / 700.0) * math.sin(ts / 2300.0 + 1.3))
        return round(clear * clouds, 1)

    def home_power(self, when: datetime) -> float:
        """Household consumption (W): base load, a fridge-like wobble and meal-time peaks."""
        local = self._local(when)
        hour = local.hour + local.minute / 60 + local.second / 3600
        ts = when.timestamp()
        wobble = 90.0 * (1.0 + math.sin(ts / 420.0)) / 2.0
        meals = (
            700.0 * _bump(hour, 7.2, 0.4)
            + 1400.0 * _bump(hour, 12.3, 0.5)
            + 1100.0 * _bump(hour, 18.8, 0.7)
        )
        return round(HOME_BASE_W + wobble + meals, 1)

    def _schedule(self, when: datetime) -> None:
        """The ID.3 leaves in the morning and comes back in the evening, less charged; on
        Wednesdays and Saturdays the Zoe is out from 10:00 to 16:00."""
        self._second_schedule(when)
        vehicle = self.vehicle
        if not self.away and vehicle.depart is not None and when >= vehicle.depart:
            self.away = True
            vehicle.arrive = self._next_local(vehicle.depart, RETURN)
        elif self.away and vehicle.arrive is not None and when >= vehicle.arrive:
            self.away = False
            vehicle.soc = max(MIN_SOC_AFTER_DRIVE, vehicle.soc - DRIVE_SOC)
            self.odometer_km += DRIVE_KM
            vehicle.depart = self._next_local(when, DEPART)

    def _second_schedule(self, when: datetime) -> None:
        second = self.second
        if not self.second_away and second.depart is not None and when >= second.depart:
            self.second_away = True
            depart = self._local(second.depart)
            second.arrive = datetime.combine(depart.date(), SECOND_RETURN, tzinfo=depart.tzinfo)
        elif self.second_away and second.arrive is not None and when >= second.arrive:
            self.second_away = False
            second.soc = max(MIN_SOC_AFTER_DRIVE, second.soc - SECOND_DRIVE_SOC)
            self.second_odometer_km += SECOND_DRIVE_KM
            second.depart = self._next_outing(when)

    # --- time --------------------------------------------------------------------------------

    def advance(self, now: datetime | None = None) -> datetime:
        """Run the physics up to `now` (the clock's time by default); returns that time."""
        now = now or self.clock.now()
        if now <= self.last:
            return now
        if now - self.last > MAX_CATCH_UP:
            self.last = now - MAX_CATCH_UP
        step = LONG_STEP_S if (now - self.last).total_seconds() > 3600 else STEP_S
        t = self.last
        while t < now:
            dt = min(step, (now - t).total_seconds())
            self._schedule(t)
            self.sim.advance(t)
            self.sim.step(t, self.pv_power(t), self.home_power(t), dt)
            t += timedelta(seconds=dt)
        self._schedule(now)
        self.last = now
        return now

    def readings(self) -> SiteReadings:
        """What every meter and the charger show now (one moment for reads close together)."""
        now = self.clock.now()
        if (
            self._snapshot is not None
            and self._snapshot_at is not None
            and abs((now - self._snapshot_at).total_seconds()) < SNAPSHOT_MAX_AGE_S
        ):
            return self._snapshot
        self.advance(now)
        self._snapshot = self.sim.readings(now, self.pv_power(now), self.home_power(now), STEP_S)
        self._snapshot_at = now
        return self._snapshot

    def command(self, index: int, command: ChargerCommand) -> None:
        now = self.advance()
        self.sim.command(index, now, command)
        self._snapshot = None  # the next read shows the charger's new state

    def set_battery_mode(self, mode: BatteryMode) -> None:
        self.advance()
        self.battery.mode = BatteryMode.NORMAL if mode is BatteryMode.UNKNOWN else mode
        self._snapshot = None  # the next read shows the new flows

    # --- persistence -------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The physical state, so a restarted demo continues where it stopped."""
        vehicle, charger, battery = self.vehicle, self.charger, self.battery
        return {
            "last": self.last.isoformat(),
            "away": self.away,
            "odometer_km": self.odometer_km,
            "vehicle": {
                "soc": vehicle.soc,
                "arrive": _iso(vehicle.arrive),
                "depart": _iso(vehicle.depart),
                "charged_kwh": vehicle.charged_kwh,
            },
            "charger": _charger_dict(charger),
            "second": {
                "soc": self.second.soc,
                "away": self.second_away,
                "arrive": _iso(self.second.arrive),
                "depart": _iso(self.second.depart),
                "odometer_km": self.second_odometer_km,
            },
            "garage": _charger_dict(self.garage),
            "battery": {"soc": battery.soc, "mode": battery.mode.value},
            "meters": {
                "grid_import_kwh": self.sim.grid_import_kwh,
                "grid_export_kwh": self.sim.grid_export_kwh,
                "pv_kwh": self.sim.pv_kwh,
            },
        }

    def restore(self, data: dict[str, Any]) -> None:
        """Take over a state saved by `to_dict` (unknown or broken parts are skipped)."""
        try:
            vehicle = data.get("vehicle", {})
            charger = data.get("charger", {})
            meters = data.get("meters", {})
            self.vehicle.soc = float(vehicle.get("soc", self.vehicle.soc))
            self.vehicle.arrive = _time(vehicle.get("arrive"))
            self.vehicle.depart = _time(vehicle.get("depart"))
            self.vehicle.charged_kwh = float(vehicle.get("charged_kwh", 0.0))
            self.away = bool(data.get("away", False))
            self.odometer_km = float(data.get("odometer_km", self.odometer_km))
            _restore_charger(self.charger, charger)
            _restore_charger(self.garage, data.get("garage", {}))
            second = data.get("second", {})
            self.second.soc = float(second.get("soc", self.second.soc))
            self.second_odometer_km = float(second.get("odometer_km", self.second_odometer_km))
            # a state saved before the Zoe had the Garage (no "away"): it is at home
            arrive = _time(second.get("arrive"))
            self.second_away = bool(second.get("away", False)) and arrive is not None
            self.second.arrive = arrive if self.second_away else None
            depart = _time(second.get("depart")) if "away" in second else None
            self.second.depart = depart or self.second.depart
            self.battery.soc = float(data.get("battery", {}).get("soc", self.battery.soc))
            self.battery.mode = BatteryMode(data.get("battery", {}).get("mode", "normal"))
            self.sim.grid_import_kwh = float(meters.get("grid_import_kwh", 0.0))
            self.sim.grid_export_kwh = float(meters.get("grid_export_kwh", 0.0))
            self.sim.pv_kwh = float(meters.get("pv_kwh", 0.0))
            if (last := _time(data.get("last"))) is not None:
                self.last = min(last, self.clock.now())
        except (AttributeError, TypeError, ValueError):
            return
        self._snapshot = None

    # --- devices -----------------------------------------------------------------------------

    def site_devices(self, title: str = "Demo site") -> SiteDevices:
        loadpoint = LoadpointConfig(
            title="Carport",
            circuit=HOUSE_CONNECTION.name,
            charger=ChargerConfig(
                phases=3, phases_switchable=True, max_current=CHARGER_MAX_CURRENT
            ),
            vehicle=VehicleConfig(
                title=VEHICLE_TITLE,
                capacity_kwh=VEHICLE_KWH,
                phases=3,
                max_current=VEHICLE_MAX_CURRENT,
                reports=frozenset({"range", "odometer", "limit_soc", "climater", "connected"}),
            ),
        )
        garage = LoadpointConfig(
            title="Garage",
            circuit=HOUSE_CONNECTION.name,
            charger=ChargerConfig(phases=3, max_current=GARAGE_MAX_CURRENT),
        )
        second = VehicleConfig(
            title=SECOND_TITLE,
            capacity_kwh=SECOND_KWH,
            phases=3,
            max_current=SECOND_MAX_CURRENT,
            reports=frozenset({"range", "odometer", "connected"}),
        )
        grid = SimulatedMeter(self, "grid", "Demo grid meter")
        return SiteDevices(
            config=SiteConfig(
                title=title,
                grid_configured=True,
                pv_configured=True,
                battery_configured=True,
                battery_controllable=True,
                battery_chargeable=True,
                vehicles=(second,),
                circuits=(HOUSE_CONNECTION,),
            ),
            # the house connection's fuse, metered by the grid meter (one read serves both; load
            # management for both wallboxes)
            circuits=[CircuitDevices(HOUSE_CONNECTION, grid)],
            battery_control=DemoBatteryControl(self),
            grid=grid,
            pv=[SimulatedMeter(self, "pv", "Demo pv meter")],
            battery=[SimulatedMeter(self, "battery", "Demo battery meter")],
            loadpoints=[
                LoadpointDevices(
                    config=loadpoint,
                    charger=SimulatedCharger(self, 0, "Demo wallbox"),
                    vehicle=DemoVehicleValues(self),
                ),
                # no car of its own: the Zoe is detected when it plugs in
                LoadpointDevices(
                    config=garage, charger=SimulatedCharger(self, 1, "Demo garage wallbox")
                ),
            ],
            vehicles=[VehicleDevices(second, DemoSecondCarSoc(self), DemoSecondCarValues(self))],
        )


class DemoBatteryControl(Device):
    """The demo inverter's battery mode (hold: no discharging, charge: from the grid)."""

    def __init__(self, site: DemoSite) -> None:
        self.site = site
        self.name = "Demo battery control"

    async def async_set_mode(self, mode: BatteryMode) -> None:
        self.site.set_battery_mode(mode)


class DemoVehicleValues(Device):
    """What the demo car's app would tell: range from its SoC, odometer, its own charge limit,
    and the climater on in the minutes before it leaves."""

    def __init__(self, site: DemoSite) -> None:
        self.site = site
        self.name = "Demo car values"

    async def async_read(self) -> VehicleValues:
        site = self.site
        now = site.advance()
        vehicle = site.vehicle
        leaving = vehicle.depart is not None and now >= vehicle.depart - PRECONDITION
        return VehicleValues(
            range_km=round(vehicle.soc * KM_PER_SOC, 1),
            odometer_km=round(site.odometer_km, 1),
            limit_soc=VEHICLE_OWN_LIMIT,
            climater_active=not site.away and leaving,
            connected=not site.away,
        )


class DemoSecondCarSoc(Device):
    """The second car's SoC sensor."""

    name = "Demo second car SoC"

    def __init__(self, site: DemoSite) -> None:
        self.site = site

    async def async_read(self) -> float:
        self.site.advance()
        return self.site.second.reported_soc() or 0.0


class DemoSecondCarValues(Device):
    """The second car's app: range, odometer, plugged in while it is at home (at the Garage)."""

    name = "Demo second car values"

    def __init__(self, site: DemoSite) -> None:
        self.site = site

    async def async_read(self) -> VehicleValues:
        site = self.site
        site.advance()
        return VehicleValues(
            range_km=round(site.second.soc * SECOND_KM_PER_SOC, 1),
            odometer_km=round(site.second_odometer_km, 1),
            connected=not site.second_away,
        )


class _RatesAhead:
    """Rates and the part of them that has not ended yet, cut once per rate (a tariff is asked
    several times per cycle)."""

    def __init__(self, rates: Sequence[Rate] = ()) -> None:
        self.rates = list(rates)
        self._ends = [rate.end_ts for rate in self.rates]
        self._cut = -1
        self._ahead: list[Rate] = []

    def after(self, now: datetime) -> list[Rate]:
        cut = bisect_right(self._ends, now.timestamp())
        if cut != self._cut:
            self._cut, self._ahead = cut, self.rates[cut:]
        return self._ahead


class _DemoTariff[K](ABC):
    """A dynamic tariff of the demo: its rates are made anew whenever `_key(now)` changes (a new
    day, new prices published), which bumps `version`."""

    dynamic = True

    def __init__(self) -> None:
        self.version = 0
        self._made_for: K | None = None
        self._rates = _RatesAhead()

    @abstractmethod
    def _key(self, now: datetime) -> K:
        """What the rates depend on at `now`."""

    @abstractmethod
    def _make(self, key: K) -> list[Rate]:
        """The rates for `key`."""

    def rates(self, now: datetime) -> Sequence[Rate]:
        key = self._key(now)
        if key != self._made_for:
            self._made_for = key
            self._rates = _RatesAhead(self._make(key))
            self.version += 1
        return self._rates.after(now)

    def price_at(self, when: datetime) -> float | None:
        rate = current_rate(self.rates(when), when)
        return rate.price if rate is not None else None


class DemoPrices(_DemoTariff[tuple[date, ...]]):
    """The demo's day-ahead prices as a dynamic tariff: today's quarter hours, and tomorrow's
    from 13:00 (what the demo's price sensor shows at that moment; the demo's past uses it)."""

    def __init__(self, tz: tzinfo) -> None:
        super().__init__()
        self.tz = tz

    def _key(self, now: datetime) -> tuple[date, ...]:
        return tuple(demo_prices_published(now, self.tz))

    def _make(self, key: tuple[date, ...]) -> list[Rate]:
        return [
            Rate(start, end, price)
            for day in key
            for start, end, price in demo_day_ahead_prices(day, self.tz)
        ]


class DemoCurve(_DemoTariff[tuple[date, tzinfo | None]]):
    """A curve of the demo household's sky as a dynamic tariff: `value` of each quarter hour
    from today's local midnight over three days; new each day (`version`)."""

    def __init__(self, site: DemoSite) -> None:
        super().__init__()
        self.site = site

    def value(self, middle: datetime) -> float:
        """The curve in the middle of a quarter hour (W for the forecast, g/kWh for CO₂)."""
        return self.site.clear_sky_power(middle)

    def _key(self, now: datetime) -> tuple[date, tzinfo | None]:
        local = now.astimezone(self.site.tz) if self.site.tz is not None else now
        return local.date(), local.tzinfo

    def _make(self, key: tuple[date, tzinfo | None]) -> list[Rate]:
        day, tz = key
        midnight = datetime.combine(day, time(), tz)
        slots = [midnight + k * DAY_AHEAD_SLOT for k in range(3 * 96 + 1)]
        return [
            Rate(a, b, round(self.value(a + DAY_AHEAD_SLOT / 2), 1)) for a, b in pairwise(slots)
        ]


class DemoSolarForecast(DemoCurve):
    """The demo's solar forecast (a solar tariff of W): its clear-sky curve."""


class DemoCo2Tariff(DemoCurve):
    """The demo grid's CO₂ intensity (evcc's co2 tariff, g/kWh): lower while the sun shines
    (the country's solar plants see the same sky)."""

    def value(self, middle: datetime) -> float:
        return CO2_NIGHT - CO2_SOLAR_DROP * self.site.clear_sky_power(middle) / PV_PEAK_W


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _charger_dict(charger: SimCharger) -> dict[str, Any]:
    return {
        "enabled": charger.enabled,
        "current": charger.current,
        "phases": charger.phases,
        "energy_kwh": charger.energy_kwh,
    }


def _restore_charger(charger: SimCharger, data: dict[str, Any]) -> None:
    charger.enabled = bool(data.get("enabled", False))
    charger.current = float(data.get("current", 0.0))
    charger.phases = int(data.get("phases", charger.connected_phases))
    charger.energy_kwh = float(data.get("energy_kwh", 0.0))


def _time(value: object) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) and value else None


def _weekly(weekdays: list[int], at: str, soc: int, tz: str, *, active: bool) -> dict[str, object]:
    return {"weekdays": weekdays, "time": at, "tz": tz, "soc": soc, "active": active}


def apply_demo_settings(site: Site, demo: DemoSite, now: datetime, tz: str) -> None:
    """The settings a fresh demo household starts with, so that every feature has a value: pv
    mode with a limit and a smart cost limit at both wallboxes, a battery buffer and a grid charge
    limit for the home battery, three repeating plans per car (evcc's clients show three) and the
    one-off plans of `plan_next_departure`. `tz` is the plans' time zone."""
    for key, value in DEMO_SITE_SETTINGS.items():
        site.set_site_setting(key, value)
    id3 = [
        _weekly([1, 2, 3, 4, 5], "07:00", 80, tz, active=True),  # before it leaves at 07:30
        _weekly([6, 0], "07:00", 60, tz, active=True),
        _weekly([5], "07:00", 100, tz, active=False),  # a long Friday trip, now and then
    ]
    for lp in site.loadpoints:
        site.update_loadpoint_settings(lp.index, DEMO_LOADPOINT_SETTINGS.items(), now)
    site.update_loadpoint_settings(0, [("repeatingPlans", id3)], now)  # the Carport's ID.3
    zoe = [
        _weekly([3, 6], "09:30", 90, tz, active=True),  # before it leaves the Garage at 10:00
        _weekly([6], "09:30", 100, tz, active=False),
        _weekly([0], "10:00", 90, tz, active=False),
    ]
    # the sun fills it to 80 % on the days between, its plans to 90 % for the outings
    site.update_vehicle_settings(SECOND_TITLE, [("limitSoc", 80), ("repeatingPlans", zoe)], now)
    plan_next_departure(site, demo, now)


def plan_next_departure(site: Site, demo: DemoSite, now: datetime) -> None:
    """One-off plans, 90 % half an hour before each car's next departure (the ID.3's to work,
    the Zoe's next outing), for a car that is at home (a car that is away gets none: its plan
    would only wait for a departure it cannot make)."""
    depart = demo.vehicle.depart
    if not demo.away and depart is not None and depart - PLAN_BEFORE_DEPARTURE > now:
        site.set_plan(0, now, (depart - PLAN_BEFORE_DEPARTURE).astimezone(UTC), soc=90)
    outing = demo.second.depart
    if not demo.second_away and outing is not None and outing - PLAN_BEFORE_DEPARTURE > now:
        target = (outing - PLAN_BEFORE_DEPARTURE).astimezone(UTC)
        site.set_vehicle_plan(SECOND_TITLE, now, target, 90)


def build_demo_devices(clock: Clock, *, tz: tzinfo | None = None) -> SiteDevices:
    """The devices of a fresh demo site, moving with `clock` (local time of day from `tz`)."""
    return DemoSite(clock, tz=tz).site_devices()

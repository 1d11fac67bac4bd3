"""The site: meters, battery rules, and one control cycle over all loadpoints.

Current evcc (master) behaviour: residual power is forced to 100 W while a battery is below its
priority SoC and residual power is ≤ 0; bufferStartSoc counts from `>=`; setter plausibility
prioritySoc ≤ bufferSoc ≤ bufferStartSoc.

One deliberate difference: evcc controls one loadpoint per tick (round-robin). Here every
loadpoint is decided every cycle, in priority order, and each decision's expected power change is
passed on to the loadpoints decided after it, so two loadpoints never both take the same surplus.
With one loadpoint this is exactly evcc.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from . import stored
from .circuit import build_circuits, roots as circuit_roots
from .loadpoint import WELCOME_CHARGE_S, Decision, Loadpoint
from .model import (
    BatteryMode,
    ChargerCommand,
    ChargerConfig,
    CycleResult,
    Event,
    EventType,
    LoadpointConfig,
    LoadpointReadings,
    MeterReading,
    Mode,
    SettingError,
    SiteConfig,
    SiteReadings,
    VehicleReading,
)
from .session import Session, SessionLog, UnknownSessionError, parse_session_changes
from .settings import (
    CLEAR_WORDS,
    LoadpointKey,
    LoadpointSettings,
    SettingContext,
    SiteKey,
    SiteSettings,
    VehicleSettings,
    apply_loadpoint_settings,
    apply_site_settings,
    apply_vehicle_settings,
    find_vehicle,
    loadpoint_key,
    parse_mode,
    restore_site_settings,
    restore_vehicle_settings,
    site_key,
    vehicle_changes,
)
from .solar import SolarDay
from .tariff import Rate, Tariff, TariffRates, current_rate
from .vehicle import build_fleet

_LOGGER = logging.getLogger(__name__)

# evcc: a battery mode asked for from outside lasts this long unless asked for again.
EXTERNAL_BATTERY_MODE_S = 60.0
# evcc HEAD: a battery below prioritySoc keeps at least this much residual export.
PRIORITY_RESIDUAL_W = 100.0
HEALTH_GRACE_S = 60.0
# evcc: after a car connects, a loadpoint without a vehicle of its own looks this long for the
# vehicle whose integration says it is plugged in
VEHICLE_DETECT_S = 600.0


@dataclass(frozen=True, slots=True)
class Prices:
    """The prices of this cycle (per kWh), looked up once."""

    grid: float | None = None
    feedin: float | None = None
    co2: float | None = None  # gCO₂eq/kWh of grid energy (the co2 tariff)

    def effective(self, green_share: float) -> float | None:
        """evcc's effective price of energy with this green share: grid·(1−share) + feed-in·share."""
        if self.grid is None:
            return None
        return self.grid * (1.0 - green_share) + (self.feedin or 0.0) * green_share

    def effective_co2(self, green_share: float) -> float | None:
        """evcc's effective CO₂ of energy with this green share: grid CO₂ · (1 − share)."""
        return None if self.co2 is None else self.co2 * (1.0 - green_share)


@dataclass(slots=True)
class SiteMeasurements:
    """What the site measured in its last successful cycle (evcc's site keys)."""

    grid_power: float = 0.0
    grid_powers: tuple[float, float, float] | None = None
    grid_currents: tuple[float, float, float] | None = None
    grid_energy: float | None = None
    pv_power: float = 0.0
    pv: list[MeterReading] = field(default_factory=list)
    pv_energy: float | None = None
    battery_power: float = 0.0
    battery_soc: float | None = None
    battery_capacity: float | None = None
    battery: list[MeterReading] = field(default_factory=list)
    aux_power: float = 0.0
    home_power: float = 0.0
    charge_power: float = 0.0
    site_power: float = 0.0
    green_share_home: float = 0.0
    green_share_loadpoints: float = 0.0
    battery_buffered: bool = False
    battery_start: bool = False
    # what the battery priority (below prioritySoc) took off the site power; a boosting
    # loadpoint gets it back (evcc: battery boost drains the battery on purpose)
    priority_adjustment: float = 0.0


class Site:
    """Runs evcc's control cycle: `update(now, readings)` → one command per loadpoint."""

    def __init__(
        self,
        config: SiteConfig,
        loadpoints: Sequence[LoadpointConfig],
        settings: SiteSettings | None = None,
        loadpoint_settings: Sequence[LoadpointSettings | None] | None = None,
        tariffs: Mapping[str, Tariff] | None = None,
        interval_s: float = 30.0,
        tz: tzinfo | None = None,
    ) -> None:
        self.config = config
        self.tz = tz or UTC  # where the day begins (the solar day)
        self.settings = settings or SiteSettings()
        lp_settings = list(loadpoint_settings or [])
        lp_settings += [None] * (len(loadpoints) - len(lp_settings))
        self.loadpoints = [
            Loadpoint(i, lp, lp_settings[i], config.voltage) for i, lp in enumerate(loadpoints)
        ]
        # every vehicle by its API name; each loadpoint's own one is at it when it starts
        self.vehicles, own = build_fleet(loadpoints, config.vehicles)
        for lp, name in zip(self.loadpoints, own, strict=True):
            lp.join_fleet(self.vehicles, name)
        # load management: every circuit by name, each loadpoint linked to its own
        self.circuits = build_circuits(config.circuits)
        for lp in self.loadpoints:
            circuit = lp.config.circuit
            if circuit:
                if circuit not in self.circuits:
                    raise ValueError(f"loadpoint {lp.config.title!r}: unknown circuit {circuit!r}")
                lp.circuit = self.circuits[circuit]
        # the settings of vehicles at no loadpoint (at one, they are part of its settings)
        self.parked: dict[str, VehicleSettings] = {}
        self.vehicle_modes: dict[str, Mode] = {}  # evcc's vehicle mode: set when it arrives
        self._vehicle_readings: Mapping[str, VehicleReading] = {}  # of the last cycle
        self.tariffs: dict[str, Tariff] = dict(tariffs or {})
        self.interval_s = interval_s
        self.measurements = SiteMeasurements()
        self.solar_day = SolarDay()
        self.sessions = SessionLog()
        self.last_update: datetime | None = None  # last cycle with working grid meter
        self.prices = Prices()
        self.battery_mode = BatteryMode.UNKNOWN  # the mode last set (evcc's batteryMode)
        self.battery_grid_charge_active = False
        # a mode asked for from outside (evcc's batteryModeExternal), with when it was asked
        self.battery_mode_external: BatteryMode | None = None
        self._external_at: datetime | None = None
        self._external_ended = False

    @property
    def telemetry(self) -> bool:
        """evcc's telemetry flag; this project never sends telemetry."""
        return self.settings.telemetry

    # --- tariffs -------------------------------------------------------------------------------

    def _price_now(self, kind: str, now: datetime) -> float | None:
        tariff = self.tariffs.get(kind)
        return tariff.price_at(now) if tariff is not None else None

    def planner_tariff(self) -> Tariff | None:
        """evcc's choice: an explicit planner tariff, else the grid tariff."""
        return self.tariffs.get("planner") or self.tariffs.get("grid")

    def planner_rates(self, now: datetime) -> TariffRates | None:
        tariff = self.planner_tariff()
        if tariff is None:
            return None
        return TariffRates(tariff.rates(now), (id(tariff), tariff.version), tariff.dynamic)

    def feedin_rates(self, now: datetime) -> Sequence[Rate]:
        """The feed-in tariff's rates for smart feed-in priority: none for a single price."""
        tariff = self.tariffs.get("feedin")
        return tariff.rates(now) if tariff is not None and tariff.dynamic else ()

    # --- health --------------------------------------------------------------------------------

    def healthy(self, now: datetime) -> bool:
        """evcc: healthy while the last good cycle is less than 1 min + interval old."""
        if self.last_update is None:
            return False
        age = (now - self.last_update).total_seconds()
        return age < HEALTH_GRACE_S + self.interval_s

    # --- the cycle -----------------------------------------------------------------------------

    def update(self, now: datetime, readings: SiteReadings) -> CycleResult:
        """One control cycle over every loadpoint."""
        count = len(self.loadpoints)
        if len(readings.loadpoints) != count:
            raise ValueError(f"expected readings for {count} loadpoints")
        events: list[Event] = []
        failed: dict[int, str] = {}
        m = self._measure_site(readings)
        # energy counted now flowed since the last cycle: weigh it with that cycle's share and
        # that cycle's prices
        share = self.measurements.green_share_loadpoints
        price, co2 = self.prices.effective(share), self.prices.effective_co2(share)
        self.prices = Prices(
            self._price_now("grid", now),
            self._price_now("feedin", now),
            self._price_now("co2", now),
        )
        for lp, lp_readings in zip(self.loadpoints, readings.loadpoints, strict=True):
            try:
                lp_readings = _with_vehicle_reading(lp_readings, readings.vehicles, lp.vehicle_name)
                for event_type in lp.observe(now, lp_readings, share, price, co2):
                    events.append(Event(lp.index, event_type, now))
                    self._vehicle_on_event(lp, event_type, now, readings.vehicles)
                finished = lp.take_finished_session()
                if finished is not None:
                    self.sessions.upsert(finished)
            except Exception as err:  # one loadpoint's bug must not stop the others
                failed[lp.index] = self._loadpoint_failed(lp, "reading", err)
        self._vehicle_readings = readings.vehicles
        self._detect_vehicles(now, readings.vehicles, failed)
        self._finish_measurements(m)
        self.measurements = m
        self._count_solar_day(now, m)
        if self.config.grid_configured and readings.grid is None:
            # evcc skips the whole cycle when a meter cannot be read
            return CycleResult([None] * count, events, "grid meter unavailable", failed)
        self.last_update = now
        self._update_circuits(now, readings)
        commands: list[ChargerCommand | None] = [None] * count
        rates = self.planner_rates(now) if any(lp.needs_rates for lp in self.loadpoints) else None
        feedin: Sequence[Rate] = ()
        if any(lp.settings.smart_feed_in_priority_limit is not None for lp in self.loadpoints):
            feedin = self.feedin_rates(now)
        running_power = m.site_power
        for lp in self._by_priority():
            if lp.index in failed:
                continue
            try:
                was_enabled, effective_before = lp.enabled, lp.effective_current
                decision = Decision(
                    running_power + self._pv_priority_power(lp),
                    m.battery_buffered,
                    m.battery_start,
                    battery_power=m.battery_power,
                    battery_soc=m.battery_soc,
                    residual_power=self.settings.residual_power,
                    priority_adjustment=m.priority_adjustment,
                    feedin_rates=feedin,
                )
                command = lp.decide(now, decision, rates)
                running_power += lp.expected_power_change(command, was_enabled, effective_before)
            except Exception as err:  # one loadpoint's bug must not stop the others
                failed[lp.index] = self._loadpoint_failed(lp, "deciding", err)
                continue
            commands[lp.index] = command
        for lp in self.loadpoints:
            if lp.index not in failed and lp.failing:
                lp.failing = False
                _LOGGER.info("Loadpoint %s works again", lp.config.title)
        return CycleResult(commands, events, None, failed, self._battery_mode_change(now))

    def _update_circuits(self, now: datetime, readings: SiteReadings) -> None:
        """Every circuit's load of this cycle, children first (evcc's circuit Update)."""
        if not self.circuits:
            return
        loads = [(lp.config.circuit, lp.charge_power, lp.actual_current) for lp in self.loadpoints]
        for root in circuit_roots(self.circuits):
            root.update(now, loads, readings.circuits)

    def _pv_priority_power(self, lp: Loadpoint) -> float:
        """What priorities change in a pv loadpoint's site power (evcc): it may take the
        flexible power of lower priorities, and it leaves the maximum power of higher ones whose
        enable timer runs to them (reservedPVPower, #31194). The higher ones decided earlier in
        this cycle, so their timers are this cycle's."""
        if lp.settings.mode != Mode.PV:
            return 0.0
        priority = lp.settings.priority
        flexible_lower = sum(
            other.flexible_power for other in self.loadpoints if other.settings.priority < priority
        )
        reserved_higher = sum(
            other.max_power()
            for other in self.loadpoints
            if other.settings.priority > priority and other.pv_charge_starting
        )
        return reserved_higher - flexible_lower

    def _count_solar_day(self, now: datetime, m: SiteMeasurements) -> None:
        solar = self.tariffs.get("solar")
        forecast = solar.price_at(now) if solar is not None else None
        self.solar_day.add(now, now.astimezone(self.tz).date(), m.pv_power, forecast)

    def _battery_mode_change(self, now: datetime) -> BatteryMode | None:
        """evcc's requiredBatteryMode: charge from the grid while the price is at most the
        grid charge limit; hold while discharge control is on and a car charges fast or
        cheaply; else back to normal (the battery is left alone until a mode was set)."""
        if not self.config.battery_controllable:
            return None
        external = self._external_mode(now)
        if external is not None:
            if external == self.battery_mode:
                return None
            self.battery_mode = external
            return external
        if self._external_ended:  # leaving external control: back to normal first (evcc)
            self._external_ended = False
            if self.battery_mode not in (BatteryMode.UNKNOWN, BatteryMode.NORMAL):
                self.battery_mode = BatteryMode.NORMAL
                return BatteryMode.NORMAL
        s = self.settings
        limit = s.battery_grid_charge_limit
        rate = None
        rates = self.planner_rates(now) if limit is not None else None
        if rates is not None and rates.dynamic:
            rate = current_rate(rates.rates, now)
        self.battery_grid_charge_active = (
            rate is not None and limit is not None and rate.price <= limit
        )
        if self.battery_grid_charge_active:
            wanted = BatteryMode.CHARGE
        elif s.battery_discharge_control and any(
            lp.charging and lp.fast_or_cheap for lp in self.loadpoints
        ):
            wanted = BatteryMode.HOLD
        elif self.battery_mode in (BatteryMode.UNKNOWN, BatteryMode.NORMAL):
            return None
        else:
            wanted = BatteryMode.NORMAL
        if wanted == self.battery_mode:
            return None
        self.battery_mode = wanted
        return wanted

    def set_battery_mode_external(self, value: object, now: datetime) -> BatteryMode | None:
        """evcc's `batterymode`: hold, charge or normal from outside, for
        `EXTERNAL_BATTERY_MODE_S` unless asked again; None / "" clears it. Applied in the next
        cycle. Refused without battery control (and charge without a charge mode)."""
        if value is None or (isinstance(value, str) and value.strip().lower() in CLEAR_WORDS):
            if self.battery_mode_external is not None:
                self._external_ended = True
            self.battery_mode_external = self._external_at = None
            return None
        if not self.config.battery_controllable:
            raise SettingError("battery control not available")
        text = value.strip().lower() if isinstance(value, str) else ""
        if text not in (BatteryMode.NORMAL, BatteryMode.HOLD, BatteryMode.CHARGE):
            raise SettingError(f"invalid battery mode: {value}")
        mode = BatteryMode(text)
        if mode is BatteryMode.CHARGE and not self.config.battery_chargeable:
            raise SettingError("battery cannot be charged from the grid (no charge mode)")
        self.battery_mode_external, self._external_at = mode, now
        return mode

    def _external_mode(self, now: datetime) -> BatteryMode | None:
        at = self._external_at
        if at is not None and (now - at).total_seconds() > EXTERNAL_BATTERY_MODE_S:
            self.battery_mode_external = self._external_at = None
            self._external_ended = True
        return self.battery_mode_external

    def battery_mode_failed(self) -> None:
        """The battery did not take its new mode: it is sent again next cycle."""
        self.battery_mode = BatteryMode.UNKNOWN

    @staticmethod
    def _loadpoint_failed(lp: Loadpoint, step: str, err: Exception) -> str:
        """A bug while handling one loadpoint: it is unavailable this cycle, logged once."""
        lp.available = False
        if not lp.failing:
            lp.failing = True
            _LOGGER.exception("Loadpoint %s failed while %s", lp.config.title, step)
        return f"{step}: {type(err).__name__}: {err}"

    def _by_priority(self) -> list[Loadpoint]:
        return sorted(self.loadpoints, key=lambda lp: (-lp.settings.priority, lp.index))

    def _measure_site(self, readings: SiteReadings) -> SiteMeasurements:
        m = SiteMeasurements()
        m.pv = list(readings.pv)
        m.pv_power = sum(max(0.0, pv.power) for pv in readings.pv)
        pv_energies = [pv.energy for pv in readings.pv if pv.energy is not None]
        m.pv_energy = sum(pv_energies) if pv_energies else None
        m.battery = list(readings.battery)
        m.battery_power = sum(b.power for b in readings.battery)
        m.battery_soc, m.battery_capacity = _battery_soc(readings.battery)
        m.aux_power = sum(a.power for a in readings.aux)
        if readings.grid is not None:
            m.grid_power = readings.grid.power
            m.grid_powers = readings.grid.powers
            m.grid_currents = readings.grid.currents
            m.grid_energy = readings.grid.energy
        return m

    def _finish_measurements(self, m: SiteMeasurements) -> None:
        """Values that need the loadpoints' charge power (after `observe`)."""
        m.charge_power = sum(lp.charge_power for lp in self.loadpoints)
        if not self.config.grid_configured:
            m.grid_power = m.charge_power - m.pv_power
        m.home_power = max(0.0, m.grid_power + m.pv_power + m.battery_power - m.charge_power)
        m.green_share_home = self._green_share(m, 0.0, m.home_power)
        m.green_share_loadpoints = self._green_share(m, m.home_power, m.home_power + m.charge_power)
        m.site_power = self._site_power(m)

    def _site_power(self, m: SiteMeasurements) -> float:
        """sitePower = grid + battery' + residual − aux (negative = surplus)."""
        s = self.settings
        battery_power = m.battery_power
        residual = s.residual_power
        if self.config.battery_configured and m.battery_soc is not None:
            if m.battery_soc < s.priority_soc:
                if battery_power < 0:
                    battery_power = 0.0  # the home battery charges first
                if residual <= 0:
                    residual = PRIORITY_RESIDUAL_W
            else:
                m.battery_buffered = s.buffer_soc > 0 and m.battery_soc > s.buffer_soc
                m.battery_start = s.buffer_start_soc > 0 and m.battery_soc >= s.buffer_start_soc
        site_power = m.grid_power + battery_power + residual - m.aux_power
        m.priority_adjustment = (
            m.grid_power + m.battery_power + s.residual_power - m.aux_power - site_power
        )
        return site_power

    @staticmethod
    def _green_share(m: SiteMeasurements, power_from: float, power_to: float) -> float:
        green = max(0.0, m.pv_power) + max(0.0, m.battery_power)
        available = max(0.0, green - power_from)
        span = power_to - power_from
        if span <= 0:
            return 1.0 if available > 0 else 0.0
        return min(available, span) / span

    # --- the one write path --------------------------------------------------------------------

    def loadpoint(self, index: int) -> Loadpoint:
        if not 0 <= index < len(self.loadpoints):
            raise SettingError(f"loadpoint {index + 1} does not exist")
        return self.loadpoints[index]

    def set_loadpoint_setting(
        self, index: int, key: LoadpointKey | str, value: object, now: datetime
    ) -> tuple[object, ChargerCommand | None]:
        """Validate and store one loadpoint setting, then re-decide that loadpoint at once.

        Returns the stored value and the command to send now. A bad value raises
        `SettingError` and changes nothing.
        """
        resolved = loadpoint_key(key)
        stored, command = self.update_loadpoint_settings(index, [(resolved, value)], now)
        return stored[resolved], command

    def update_loadpoint_settings(
        self, index: int, changes: Iterable[tuple[LoadpointKey | str, object]], now: datetime
    ) -> tuple[dict[LoadpointKey, object], ChargerCommand | None]:
        """Several loadpoint settings as one change: validated together, stored together, one
        decision. A bad value raises `SettingError` and changes nothing."""
        lp = self.loadpoint(index)
        changes = list(changes)
        if any(loadpoint_key(key) is LoadpointKey.VEHICLE for key, _value in changes):
            if len(changes) > 1:
                raise SettingError("the vehicle is set on its own")
            trial, stored = apply_loadpoint_settings(lp.settings, changes, lp.setting_context(now))
            self._assign(lp, trial.vehicle)
            return stored, self.reevaluate(index, now)
        previous = lp.settings
        trial, stored = apply_loadpoint_settings(previous, changes, lp.setting_context(now))
        lp.settings = trial
        if trial.mode != previous.mode:
            lp.mode_changed(trial.mode)
        if LoadpointKey.PLAN_ENERGY in stored:
            lp.plan_energy_set()
        try:
            return stored, self.reevaluate(index, now)
        except Exception:
            lp.settings = previous  # a value the control cycle cannot handle is not kept
            raise

    def check_loadpoint_settings(
        self, index: int, changes: Iterable[tuple[LoadpointKey | str, object]], now: datetime
    ) -> None:
        """Raise the `SettingError` that `update_loadpoint_settings` would raise; store nothing
        (a change of several loadpoints is checked on all before it is made on any)."""
        lp = self.loadpoint(index)
        apply_loadpoint_settings(lp.settings, list(changes), lp.setting_context(now))

    def set_plan(
        self,
        index: int,
        now: datetime,
        time: object,
        *,
        soc: object = None,
        energy: object = None,
    ) -> tuple[dict[LoadpointKey, object], ChargerCommand | None]:
        """A plan as one change: charge to `soc` % (or `energy` kWh) by `time`; with neither,
        the plan aims at the limit SoC / limit energy (evcc's old target time)."""
        return self.update_loadpoint_settings(index, plan_changes(time, soc, energy), now)

    def clear_plan(self, index: int, now: datetime) -> ChargerCommand | None:
        """Delete the plan (time and goal) as one change."""
        changes = [
            (LoadpointKey.PLAN_TIME, None),
            (LoadpointKey.PLAN_SOC, 0),
            (LoadpointKey.PLAN_ENERGY, 0),
        ]
        return self.update_loadpoint_settings(index, changes, now)[1]

    # --- vehicles ------------------------------------------------------------------------------

    def vehicle_name(self, wanted: str) -> str:
        """The API name of the vehicle called `wanted` (name or title); unknown → SettingError."""
        name = find_vehicle(self.vehicles, wanted)
        if name is None:
            raise SettingError(f"vehicle not found: {wanted}")
        return name

    def vehicle_owner(self, name: str) -> Loadpoint | None:
        """The loadpoint the vehicle `name` is at, or None."""
        return next((lp for lp in self.loadpoints if lp.vehicle_name == name), None)

    def vehicle_settings(self, name: str) -> VehicleSettings:
        """The settings of vehicle `name`: its loadpoint's part, or its own while at none."""
        owner = self.vehicle_owner(name)
        if owner is not None:
            return VehicleSettings.of(owner.settings)
        return self.parked.get(name) or VehicleSettings()

    def update_vehicle_settings(
        self, wanted: str, changes: Iterable[tuple[LoadpointKey | str, object]], now: datetime
    ) -> tuple[dict[LoadpointKey, object], int | None, ChargerCommand | None]:
        """Settings of a vehicle (evcc's `vehicles/<name>/…`) as one change, wherever it is: at a
        loadpoint they are that loadpoint's (which is re-decided: its index and command are
        returned), else they wait for the vehicle. Only `VEHICLE_KEYS`; bad → SettingError."""
        name = self.vehicle_name(wanted)
        changes = vehicle_changes(changes)
        owner = self.vehicle_owner(name)
        if owner is not None:
            stored, command = self.update_loadpoint_settings(owner.index, changes, now)
            return stored, owner.index, command
        ctx = SettingContext(now, ChargerConfig(), self.vehicles[name], self.vehicles)
        self.parked[name], stored = apply_vehicle_settings(
            self.vehicle_settings(name), changes, ctx
        )
        return stored, None, None

    def set_vehicle_plan(
        self, wanted: str, now: datetime, time: object, soc: object
    ) -> tuple[dict[LoadpointKey, object], int | None, ChargerCommand | None]:
        """A vehicle's SoC plan as one change: `soc` % by `time`."""
        changes = [(LoadpointKey.PLAN_SOC, soc), (LoadpointKey.PLAN_TIME, time)]
        return self.update_vehicle_settings(wanted, changes, now)

    def clear_vehicle_plan(
        self, wanted: str, now: datetime
    ) -> tuple[dict[LoadpointKey, object], int | None, ChargerCommand | None]:
        changes = [
            (LoadpointKey.PLAN_TIME, None),
            (LoadpointKey.PLAN_SOC, 0),
            (LoadpointKey.PLAN_ENERGY, 0),
        ]
        return self.update_vehicle_settings(wanted, changes, now)

    def set_vehicle_mode(self, wanted: str, value: object) -> Mode | None:
        """evcc's vehicle mode: the charge mode a loadpoint takes when this vehicle arrives;
        None / "" clears it."""
        name = self.vehicle_name(wanted)
        if value is None or (isinstance(value, str) and value.strip().lower() in CLEAR_WORDS):
            self.vehicle_modes.pop(name, None)
            return None
        mode = parse_mode(value)
        self.vehicle_modes[name] = mode
        return mode

    def start_vehicle_detection(self, index: int, now: datetime) -> ChargerCommand | None:
        """evcc's PATCH vehicle: forget the vehicle at the loadpoint and look for the one whose
        integration says it is plugged in (the loadpoint's own vehicle if none is found)."""
        lp = self.loadpoint(index)
        self._assign(lp, "")
        if lp.connected and self.vehicles:
            lp.detecting_since = now
            self._detect_vehicles(now, self._vehicle_readings, {})  # what the cars said last
        return self.reevaluate(index, now)

    def _assign(self, lp: Loadpoint, chosen: str | None) -> None:
        """Put vehicle `chosen` (None: the loadpoint's own, "": none) at `lp`. The vehicle it
        had keeps its settings for later; one taken from another loadpoint leaves that one
        without a vehicle (evcc); the new vehicle brings its settings and its mode."""
        target = lp.default_vehicle if chosen is None else chosen
        chosen = None if target == lp.default_vehicle else target
        current = lp.vehicle_name
        if target == current:
            lp.settings.vehicle = chosen
            return
        if current:
            self.parked[current] = VehicleSettings.of(lp.settings)
        incoming = VehicleSettings()
        if target:
            other = self.vehicle_owner(target)
            if other is not None:
                incoming = VehicleSettings.of(other.settings)
                other.settings = VehicleSettings().applied_to(other.settings)
                other.settings.vehicle = ""
                other.vehicle_changed()
            else:
                incoming = self.parked.pop(target, VehicleSettings())
            lp.detecting_since = None
        lp.settings = incoming.applied_to(lp.settings)
        lp.settings.vehicle = chosen
        lp.vehicle_changed()
        mode = self.vehicle_modes.get(target) if target else None
        if mode is not None and mode != lp.settings.mode:
            lp.settings.mode = mode
            lp.mode_changed(mode)

    def _free_for(self, name: str, lp: Loadpoint) -> bool:
        """Vehicle `name` may come to `lp`: it is at no loadpoint, at `lp`, or at one without a
        car (a loadpoint's own vehicle waits there while it is away)."""
        owner = self.vehicle_owner(name)
        return owner is None or owner is lp or not owner.connected

    def _vehicle_on_event(
        self,
        lp: Loadpoint,
        event: EventType,
        now: datetime,
        vehicles: Mapping[str, VehicleReading],
    ) -> None:
        """evcc: a car that connects is the loadpoint's own vehicle, else the one detected; when
        it leaves, the loadpoint's own vehicle is back (if it is not charging elsewhere).
        Beyond evcc: when the own vehicle's integration says it is not plugged in, detection
        runs all the same, so another car that says it is takes the loadpoint."""
        own = lp.default_vehicle
        if event is EventType.CONNECT:
            # evcc's needsWelcomeCharge: the loadpoint's own vehicle or any free one needs it
            welcome = any(
                vehicle.welcome_charge and (name == own or self._free_for(name, lp))
                for name, vehicle in self.vehicles.items()
            )
            lp.welcome_until = now + timedelta(seconds=WELCOME_CHARGE_S) if welcome else None
            if own and self._free_for(own, lp):
                self._assign(lp, None)
                values = reading.values if (reading := vehicles.get(own)) else None
                if values is not None and values.connected is False and len(self.vehicles) > 1:
                    lp.detecting_since = now
            elif len(self.vehicles) > 0:
                self._assign(lp, "")
                lp.detecting_since = now
        elif event is EventType.DISCONNECT:
            self._assign(lp, None if own and self._free_for(own, lp) else "")

    def _detect_vehicles(
        self, now: datetime, readings: Mapping[str, VehicleReading], failed: Mapping[int, str]
    ) -> None:
        """evcc's detection by status: the one vehicle free for the loadpoint whose integration
        says it is plugged in; more than one or none → go on looking, for `VEHICLE_DETECT_S`."""
        for lp in self.loadpoints:
            since = lp.detecting_since
            if since is None or lp.index in failed:
                continue
            if not lp.connected or (now - since).total_seconds() > VEHICLE_DETECT_S:
                lp.detecting_since = None
                continue
            plugged = [
                name
                for name, reading in readings.items()
                if reading.values is not None
                and reading.values.connected
                and self._free_for(name, lp)
            ]
            if len(plugged) == 1:
                self._assign(lp, plugged[0])

    def reevaluate(self, index: int, now: datetime) -> ChargerCommand | None:
        """Decide one loadpoint again with the last readings (after a setting changed)."""
        lp = self.loadpoint(index)
        previous = lp.last_decision
        if previous is None or self.last_update is None or not lp.available:
            return None
        rates = self.planner_rates(now) if lp.needs_rates else None
        if lp.settings.smart_feed_in_priority_limit is not None:
            # a limit set just now: the last cycle did not look at the feed-in tariff
            previous = replace(previous, feedin_rates=self.feedin_rates(now))
        return lp.decide(now, previous, rates)

    def command_failed(self, index: int) -> None:
        """The charger of loadpoint `index` refused or missed its last command."""
        self.loadpoint(index).command_failed()

    def set_site_setting(self, key: SiteKey | str, value: object) -> object:
        """Validate and store a site setting (takes effect in the next cycle, as in evcc)."""
        resolved = site_key(key)
        self.settings, stored = apply_site_settings(
            self.settings,
            [(resolved, value)],
            battery_configured=self.config.battery_configured,
            battery_controllable=self.config.battery_controllable,
            battery_chargeable=self.config.battery_chargeable,
        )
        return stored[resolved]

    # --- the session log ---------------------------------------------------------------------

    def edit_session(self, session_id: int, body: object) -> Session:
        """evcc's session update (`parse_session_changes`). A session still open at its
        loadpoint (the car is connected) gets the change too, so its next entry keeps it."""
        changes = parse_session_changes(body)
        logged = self._logged_session(session_id)
        open_ones = [lp.session for lp in self.loadpoints if lp.session is not None]
        for session in {id(s): s for s in [logged, *open_ones] if s.id == session_id}.values():
            for key, value in changes.items():
                setattr(session, key, value)
        self.sessions.touched()
        return logged

    def delete_session(self, session_id: int) -> None:
        """Remove a logged session; one still open at its loadpoint is refused (its next charge
        stop would log it again)."""
        self._logged_session(session_id)
        if any(lp.session is not None and lp.session.id == session_id for lp in self.loadpoints):
            raise SettingError(f"session {session_id} is still open: its car is connected")
        self.sessions.delete(session_id)

    def _logged_session(self, session_id: int) -> Session:
        session = self.sessions.find(session_id)
        if session is None:
            raise UnknownSessionError(f"session not found: {session_id}")
        return session

    # --- persistence ---------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        return {
            "settings": self.settings.to_dict(),
            "loadpoints": [lp.to_dict() for lp in self.loadpoints],
            "vehicles": {
                name: {
                    "settings": self.parked[name].to_dict() if name in self.parked else None,
                    "mode": self.vehicle_modes[name].value if name in self.vehicle_modes else None,
                }
                for name in self.vehicles
            },
            "sessions": self.sessions.to_dict(),
            "battery_mode": self.battery_mode.value,
            "solar_day": self.solar_day.to_dict(),
        }

    def restore(self, data: object, now: datetime) -> None:
        """Take over what a previous run stored; every part is checked, a bad value is dropped
        with a warning and its default stays."""
        values = stored.mapping(data, "site state")
        self.settings = restore_site_settings(
            values.get("settings"),
            battery_configured=self.config.battery_configured,
            battery_controllable=self.config.battery_controllable,
            battery_chargeable=self.config.battery_chargeable,
        )
        loadpoints = values.get("loadpoints", [])
        if not isinstance(loadpoints, list):
            _LOGGER.warning("Stored loadpoints ignored: not a list")
            loadpoints = []
        for lp, lp_data in zip(self.loadpoints, loadpoints, strict=False):
            lp.restore(lp_data, now)
        seen: set[str] = set()
        for lp in self.loadpoints:  # a vehicle is at one loadpoint at most
            name = lp.vehicle_name
            if name and name in seen:
                _LOGGER.warning(
                    "Stored vehicle %s of %s ignored: it is elsewhere", name, lp.config.title
                )
                lp.settings.vehicle = ""
                lp.vehicle_changed()
            seen.add(name)
        self._restore_vehicles(values.get("vehicles"), now)
        if values.get("sessions") is not None:
            self.sessions = SessionLog.from_dict(values["sessions"])
        self._restore_battery_mode(values.get("battery_mode"))
        self.solar_day = SolarDay.from_dict(values.get("solar_day"))

    def _restore_battery_mode(self, value: object) -> None:
        """The mode the battery was last given, so that a hold or grid charge a restart cut
        short is ended when it is not wanted any more (evcc forgets it and leaves the battery
        held)."""
        if value is None or not self.config.battery_controllable:
            return
        if value in BatteryMode.__members__.values():
            self.battery_mode = BatteryMode(str(value))
        else:
            _LOGGER.warning("Stored battery mode ignored: %r", value)

    def _restore_vehicles(self, data: object, now: datetime) -> None:
        """Parked settings and modes of the vehicles that still exist; one at a loadpoint has
        its settings there already."""
        if data is None:
            return
        if not isinstance(data, Mapping):
            _LOGGER.warning("Stored vehicles ignored: not an object")
            return
        for name, entry in data.items():
            if name not in self.vehicles or not isinstance(entry, Mapping):
                continue
            if entry.get("mode") is not None:
                try:
                    self.vehicle_modes[name] = parse_mode(entry["mode"])
                except SettingError as err:
                    _LOGGER.warning("Stored mode of vehicle %s ignored: %s", name, err)
            if entry.get("settings") is not None and self.vehicle_owner(name) is None:
                ctx = SettingContext(now, ChargerConfig(), self.vehicles[name], self.vehicles)
                self.parked[name] = restore_vehicle_settings(entry["settings"], ctx)


def _with_vehicle_reading(
    readings: LoadpointReadings, vehicles: Mapping[str, VehicleReading], name: str
) -> LoadpointReadings:
    """A loadpoint's readings with those of the vehicle at it (its sources win)."""
    reading = vehicles.get(name) if name else None
    if reading is None:
        return readings
    return replace(
        readings,
        vehicle_soc=reading.soc if reading.soc is not None else readings.vehicle_soc,
        vehicle=reading.values if reading.values is not None else readings.vehicle,
    )


def _battery_soc(batteries: Sequence[MeterReading]) -> tuple[float | None, float | None]:
    """Capacity-weighted SoC when every capacity is known, else the mean (evcc)."""
    socs = [b.soc for b in batteries if b.soc is not None]
    if not socs:
        return None, None
    capacities = [b.capacity for b in batteries]
    if all(c is not None and c > 0 for c in capacities) and len(socs) == len(batteries):
        total = sum(c for c in capacities if c is not None)
        weighted = sum((b.soc or 0.0) * (b.capacity or 0.0) for b in batteries)
        return weighted / total, total
    return sum(socs) / len(socs), None


def plan_changes(
    time: object, soc: object = None, energy: object = None
) -> list[tuple[LoadpointKey, object]]:
    """The settings a plan is: its goal (SoC or energy, when given) and its time."""
    changes: list[tuple[LoadpointKey, object]] = []
    if soc is not None:
        changes.append((LoadpointKey.PLAN_SOC, soc))
    if energy is not None:
        changes.append((LoadpointKey.PLAN_ENERGY, energy))
    changes.append((LoadpointKey.PLAN_TIME, time))
    return changes

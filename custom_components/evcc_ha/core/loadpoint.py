"""One charging point: measurement, session, and evcc's per-cycle charge decision.

Follows current evcc (master, 0.31x) where it differs from the old documented API release 0.122:
decision order "off → minSoc/plan → limitEnergy → limitSoc → now → pv/minpv" (so minSoc and plans
beat limits and `now` no longer beats limits), no guard timer, PV timer reset after it fires,
projected site power while a phase-down timer runs, SoC estimator efficiency 0.85.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from . import stored
from .circuit import Circuit
from .model import (
    ChargerCommand,
    ChargerReading,
    ControlProfile,
    EventType,
    LoadpointConfig,
    LoadpointReadings,
    Mode,
    PhaseAction,
    PvAction,
    RepeatingPlan,
    Status,
    VehicleConfig,
    VehicleValues,
)
from .planner import Planner, required_duration_energy
from .session import EnergyMeter, Session
from .settings import (
    MIN_CHARGE_CURRENT,
    LoadpointSettings,
    SettingContext,
    default_loadpoint_settings,
    restore_loadpoint_settings,
)
from .soc import SocEstimator, remaining_charge_duration, remaining_energy_wh
from .tariff import Rate, TariffRates, current_rate

_LOGGER = logging.getLogger(__name__)

# A timer set to this moment counts as elapsed at once (evcc's "elapsed" PV timer after connect).
ELAPSED = datetime(1970, 1, 1, tzinfo=UTC)
# After an enable flip or phase switch, give the charger this long before adopting its own state.
SYNC_GRACE_S = 60.0
# Phase currents are not trusted for this long after a 1p/3p switch.
PHASE_MEASUREMENT_GRACE_S = 60.0
# A charger reporting a current this far from the one offered is out of sync (evcc: 0.23 A).
CURRENT_SYNC_TOLERANCE_A = 0.23
# A welcome charge lasts as long as one cycle of evcc's default interval (our cycles are faster).
WELCOME_CHARGE_S = 30.0
# Measured phase counts only phases drawing more than this.
PHASE_CURRENT_MIN_A = 1.0
ESTIMATOR_EFFICIENCY = 0.85
_ENABLED_WORD = {True: "enabled", False: "disabled"}
# The smooth control profile (beyond evcc; tuned with benchmarks/control_quality.py): the
# surplus without this car's own load is filtered, and switching waits longer and dwells.
SMOOTH_TIME_CONSTANT_S = 180.0
SMOOTH_ENABLE_DELAY_S = 120.0
SMOOTH_DISABLE_DELAY_S = 900.0
SMOOTH_PHASE_DOWN_DELAY_S = 900.0  # 3p → 1p while charging
SMOOTH_PHASE_UP_DELAY_S = 420.0  # 1p → 3p while charging
SMOOTH_MIN_ON_S = 900.0
SMOOTH_MIN_OFF_S = 300.0
SMOOTH_MINPV_DOWN_DELAY_S = 180.0  # minpv: 3p → 1p (it draws from the grid meanwhile)
SMOOTH_MINPV_UP_DELAY_S = 900.0  # minpv: 1p → 3p
SMOOTH_HOLD_SHARE = 0.5  # stays on while the filtered surplus covers this share of the minimum


@dataclass(frozen=True, slots=True)
class EffectivePlan:
    """The plan the loadpoint follows: reach `goal` (kind "soc" % or "energy" kWh) by `time`;
    `id` as evcc's planId (1 = the plan set with a time, 2 + n = repeating plan n)."""

    time: datetime
    kind: str
    goal: float
    id: int


def next_occurrence(plan: RepeatingPlan, now: datetime) -> datetime | None:
    """evcc's GetNextOccurrence: the first of the plan's weekdays at its time (in its time zone,
    "" = UTC) that is not before `now`; None without weekdays."""
    if not plan.weekdays:
        return None
    zone = ZoneInfo(plan.tz) if plan.tz else UTC
    hour, minute = (int(part) for part in plan.time.split(":"))
    local = now.astimezone(zone)
    day = local.date()
    for offset in range(8):
        candidate = datetime.combine(day + timedelta(days=offset), time(hour, minute), zone)
        weekday = (candidate.weekday() + 1) % 7  # Go: 0 = Sunday
        if candidate >= now and weekday in plan.weekdays:
            return candidate
    return None


@dataclass(slots=True)
class Decision:
    """The site's view of one loadpoint for one decision."""

    site_power: float
    battery_buffered: bool = False
    battery_start: bool = False
    battery_power: float = 0.0  # W, + discharging
    battery_soc: float | None = None
    residual_power: float = 0.0
    priority_adjustment: float = 0.0  # see SiteMeasurements.priority_adjustment
    feedin_rates: Sequence[Rate] = ()  # the feed-in tariff (smart feed-in priority)


def _smart_limit(
    now: datetime, limit: float | None, rates: Sequence[Rate], *, below: bool
) -> tuple[bool, datetime | None]:
    """evcc's checkSmartLimit: does the rate now meet the limit (at most it with `below`, at
    least it without); if not, when the next rate that does starts."""
    if limit is None:
        return False, None
    rate = current_rate(rates, now)

    def meets(price: float) -> bool:
        return price <= limit if below else price >= limit

    if rate is not None and meets(rate.price):
        return True, None
    ts = now.timestamp()
    return False, next((r.start for r in rates if r.start_ts > ts and meets(r.price)), None)


class Loadpoint:
    """State and control of one loadpoint. Only `Site` calls `observe` and `decide`."""

    def __init__(
        self,
        index: int,
        config: LoadpointConfig,
        settings: LoadpointSettings | None = None,
        voltage: float = 230.0,
    ) -> None:
        self.index = index
        self.config = config
        self.voltage = voltage
        self.settings = settings or default_loadpoint_settings(
            config.charger, config.control_profile
        )
        # measurement
        self.available = False
        self.failing = False  # a bug while handling this loadpoint was logged
        self.status: Status | None = None
        self.charge_power = 0.0
        self.charge_currents: tuple[float, float, float] | None = None
        self.charge_voltages: tuple[float, float, float] | None = None  # of the charge meter
        self.charge_total_kwh: float | None = None
        self.measured_phases = 0  # 0 = unknown
        self._switched_phases = config.charger.phases  # what a 1p/3p charger is switched to
        self.vehicle_soc: float | None = None
        # the last values the car's integration told (kept while it does not answer, as evcc)
        self.vehicle_values = VehicleValues()
        # session energy when the plan energy was set: an energy plan counts from there (evcc)
        self.plan_energy_offset_wh = 0.0
        # commanded state
        self.enabled = False
        self.unconfirmed_enable: bool | None = None  # asked for, but the charger did not follow
        self.offered_current = 0.0
        # timers
        self.pv_timer: datetime | None = None
        self.pv_action = PvAction.INACTIVE
        self.pv_remaining = 0.0
        self.phase_timer: datetime | None = None
        self.phase_action = PhaseAction.INACTIVE
        self.phase_remaining = 0.0
        self.last_enable_switch: datetime | None = None
        # the smooth profile's filtered site power (W) and when it was last updated
        self._smoothed_power = 0.0
        self._smoothed_at: datetime | None = None
        self.last_phase_switch: datetime | None = None
        self.last_update: datetime | None = None
        # session
        self.energy = EnergyMeter()
        self.session: Session | None = None
        self._session_to_log: Session | None = None
        self.session_solar_wh = 0.0
        self.session_cost: float | None = None  # currency; None while no price is known
        self.session_co2: float | None = None  # g CO₂eq; None while no CO₂ tariff tells
        self.charge_duration = 0.0
        self.connected_since: datetime | None = None
        self.planner = Planner()
        self.plan_active = False
        self.plan_lock: EffectivePlan | None = None
        # evcc's battery boost state while the setting is on: start, continue, hold
        self.boost_phase: str | None = None
        self._plans_locked_with: tuple[object, ...] | None = None
        self.smart_cost_active = False
        self.smart_cost_next_start: datetime | None = None
        # evcc's smart feed-in priority: while feeding in pays at least the limit, pv pauses
        # and minpv charges at its minimum
        self.smart_feed_in_active = False
        self.smart_feed_in_next_start: datetime | None = None
        # the site's vehicles by name and this loadpoint's own one (`join_fleet`)
        self.fleet: Mapping[str, VehicleConfig] = {}
        self.default_vehicle = ""
        if config.vehicle is not None:  # alone, without a site: its own vehicle only
            self.fleet, self.default_vehicle = {"vehicle": config.vehicle}, "vehicle"
        # vehicle detection (no vehicle of its own): since when a car is looked for
        self.detecting_since: datetime | None = None
        self.estimator: SocEstimator | None = None
        self._new_estimator()
        self.last_decision: Decision | None = None
        self.last_reading: ChargerReading | None = None
        # evcc's welcome charge: until when a car that just connected is offered the minimum
        # (set by `Site`); evcc offers it for one cycle, which is WELCOME_CHARGE_S by default
        self.welcome_until: datetime | None = None
        # the circuit it is behind (load management), linked by `Site`
        self.circuit: Circuit | None = None

    # --- derived state -----------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        return self.status in (Status.B, Status.C)

    @property
    def charging(self) -> bool:
        return self.status == Status.C

    @property
    def mode(self) -> Mode:
        return self.settings.mode

    @property
    def session_energy_wh(self) -> float:
        return self.energy.session_wh

    @property
    def session_co2_per_kwh(self) -> float | None:
        """evcc's sessionCo2PerKWh: the session's g CO₂eq per charged kWh."""
        kwh = self.energy.session_wh / 1000.0
        return self.session_co2 / kwh if self.session_co2 is not None and kwh > 0 else None

    @property
    def session_solar_percentage(self) -> float:
        wh = self.energy.session_wh
        return 100.0 * self.session_solar_wh / wh if wh > 0 else 0.0

    def join_fleet(self, fleet: Mapping[str, VehicleConfig], default_vehicle: str) -> None:
        """The site's vehicles (shared) and the name of this loadpoint's own one."""
        self.fleet, self.default_vehicle = fleet, default_vehicle
        self._new_estimator()

    @property
    def vehicle_name(self) -> str:
        """The name of the vehicle at the loadpoint ("": none known, a guest car)."""
        chosen = self.settings.vehicle
        return self.default_vehicle if chosen is None else chosen

    @property
    def vehicle(self) -> VehicleConfig | None:
        """The vehicle at the loadpoint: its own, a detected or chosen one, or None (a guest)."""
        name = self.vehicle_name
        return self.fleet.get(name) if name else None

    def _new_estimator(self) -> None:
        vehicle = self.vehicle
        self.estimator = (
            SocEstimator(vehicle.capacity_kwh, ESTIMATOR_EFFICIENCY)
            if vehicle is not None and vehicle.has_soc
            else None
        )

    @property
    def has_soc(self) -> bool:
        return self.vehicle is not None and self.vehicle.has_soc

    @property
    def physical_phases(self) -> int:
        """Phases the charger supplies: switched (1p/3p chargers), else as wired. Without a
        switch evcc's phases setting is the wiring (SetPhases: 1 or 3)."""
        charger = self.config.charger
        if charger.phases_switchable:
            return self._switched_phases
        configured = self.settings.phases_configured
        return configured if configured in (1, 3) else charger.phases

    @property
    def vehicle_phases(self) -> int:
        vehicle = self.vehicle
        return vehicle.phases if vehicle is not None else 0

    @property
    def active_phases(self) -> int:
        """min(physical, vehicle, measured) with unknown (0) counting as 3, like evcc."""
        candidates = [p for p in (self.physical_phases, self.vehicle_phases) if p > 0]
        if self.measured_phases > 0:
            candidates.append(self.measured_phases)
        return min(candidates) if candidates else 3

    @property
    def max_active_phases(self) -> int:
        """Most phases this loadpoint could use (respecting a fixed configuration)."""
        charger = self.config.charger
        phases = charger.phases if charger.phases_switchable else self.physical_phases
        if charger.phases_switchable and self.settings.phases_configured in (1, 3):
            phases = min(phases, self.settings.phases_configured)
        if self.vehicle_phases > 0:
            phases = min(phases, self.vehicle_phases)
        # a car seen drawing on fewer phases uses no more (evcc; not while 1p is all there is)
        if self.measured_phases > 0 and 1 not in (
            self.physical_phases,
            self.vehicle_phases,
            charger.phases,
        ):
            phases = min(phases, self.measured_phases)
        return phases

    @property
    def min_active_phases(self) -> int:
        """Fewest phases this loadpoint can charge on (1 where it switches or is fixed to 1p)."""
        if self.config.charger.phases_switchable or self.settings.phases_configured == 1:
            return 1
        return self.max_active_phases

    @property
    def effective_current(self) -> float:
        """The current the car really draws: measured +2 A, capped by the offer (evcc)."""
        if not self.charging:
            return 0.0
        if self.charge_currents is not None:
            return min(max(self.charge_currents) + 2.0, self.offered_current)
        return self.offered_current

    @property
    def actual_current(self) -> float:
        """The highest phase current drawn now, the offer while not measured (evcc's
        actualMaxChargeCurrent): what a circuit counts for this loadpoint."""
        if self.charge_currents is not None:
            return max(self.charge_currents)
        return self.offered_current if self.charging else 0.0

    def circuit_allows(self, phases: int) -> bool:
        """The circuit has room for the minimum current on `phases` (evcc's
        circuitAllowsPhases); always without a circuit."""
        if self.circuit is None:
            return True
        minimum = max(self.settings.min_current, MIN_CHARGE_CURRENT)
        min_power = minimum * phases * self.voltage
        return self.circuit.allowed_power(self.charge_power, min_power) >= min_power - 1e-6

    def circuit_current(self, current: float) -> float:
        """`current` as far as every circuit up the chain has room for it (evcc's setLimit)."""
        circuit = self.circuit
        if circuit is None or current <= 0:
            return current
        phases = self.active_phases
        per_amp = phases * self.voltage
        by_current = circuit.allowed_current(self.actual_current, current)
        by_power = circuit.allowed_power(self.charge_power, current * per_amp) / per_amp
        return min(current, by_current, by_power)

    @property
    def flexible_power(self) -> float:
        """Power a higher-priority loadpoint may take from this one (evcc's prioritizer)."""
        if (
            not self.charging
            or self.plan_active
            or self.smart_cost_active
            or self._min_soc_not_reached()
        ):
            return 0.0
        if self.mode == Mode.PV:
            return self.charge_power
        if self.mode == Mode.MINPV:
            minimum = self.voltage * self.settings.min_current * self.min_active_phases
            return max(0.0, self.charge_power - minimum)
        return 0.0

    @property
    def pv_charge_starting(self) -> bool:
        """evcc's PvChargeStarting: in pv mode, connected, its enable timer runs and the car is
        not at its goal, so it will draw its maximum soon (lower priorities keep it free)."""
        if self.mode != Mode.PV or not self.connected or self.enabled or self.pv_timer is None:
            return False
        soc = self.vehicle_soc
        at_limit = soc is not None and soc >= self.effective_limit_soc  # the limit is ≥ 1 %
        return not (at_limit or self.limit_energy_reached())

    @property
    def effective_limit_soc(self) -> int:
        limit = self.settings.limit_soc
        return limit if 0 < limit < 100 else 100

    def max_power(self) -> float:
        return self.voltage * self.settings.max_current * self.max_active_phases

    # --- limits --------------------------------------------------------------------------------

    def _min_soc_not_reached(self) -> bool:
        vehicle = self.vehicle
        min_soc = self.settings.min_soc
        if vehicle is None or min_soc <= 0:
            return False
        if self.vehicle_soc:  # evcc: a SoC of 0 is no SoC
            return self.vehicle_soc < min_soc
        # no SoC (yet, or ever): the energy min SoC % of the battery takes, as evcc
        needed_wh = vehicle.capacity_kwh * min_soc * 10 / ESTIMATOR_EFFICIENCY
        return self.energy.session_wh < needed_wh

    def limit_soc_reached(self) -> bool:
        limit = self.effective_limit_soc
        return limit < 100 and self.vehicle_soc is not None and self.vehicle_soc >= limit

    def limit_energy_reached(self) -> bool:
        if self.has_soc:
            return False  # energy limits apply to vehicles without SoC
        limit = self.settings.limit_energy
        return limit > 0 and self.energy.session_wh / 1000.0 >= limit

    def remaining_energy_wh(self) -> float:
        if self.vehicle_soc is not None and self.vehicle is not None:
            return remaining_energy_wh(
                self.vehicle_soc,
                self.effective_limit_soc,
                self.vehicle.capacity_kwh,
                ESTIMATOR_EFFICIENCY,
            )
        if self.settings.limit_energy > 0:
            return max(0.0, self.settings.limit_energy * 1000.0 - self.energy.session_wh)
        return 0.0

    def remaining_duration(self) -> float:
        """Seconds to the limit at the present power (evcc publishes it only while charging)."""
        if not self.charging or self.charge_power <= 0:
            return 0.0
        if self.vehicle_soc is not None and self.vehicle is not None:
            return remaining_charge_duration(
                self.vehicle_soc,
                self.effective_limit_soc,
                self.charge_power,
                self.vehicle.capacity_kwh,
                ESTIMATOR_EFFICIENCY,
            ).total_seconds()
        return self.remaining_energy_wh() / self.charge_power * 3600.0

    # --- plan ----------------------------------------------------------------------------------

    def _static_goal(self) -> tuple[str, float] | None:
        """The goal of the plan set with a time (`planSoc` / `planEnergy`, else the limits)."""
        s = self.settings
        if self.has_soc:
            return ("soc", float(s.plan_soc or self.effective_limit_soc))
        energy = s.plan_energy or s.limit_energy
        return ("energy", energy) if energy > 0 else None

    def effective_plan(self, now: datetime | None = None) -> EffectivePlan | None:
        """evcc's next vehicle plan: the locked one while a plan runs; else of the static plan
        (id 1) and the next occurrence of every active repeating plan (id 2, 3, …) the one
        that must start first and whose SoC is not reached yet. `now`: the last cycle's time."""
        if self.plan_lock is not None:
            return self.plan_lock
        s = self.settings
        plans: list[EffectivePlan] = []
        if s.plan_time is not None and (goal := self._static_goal()) is not None:
            plans.append(EffectivePlan(s.plan_time, goal[0], goal[1], 1))
        now = now or self.last_update
        if self.has_soc and s.repeating_plans and now is not None:
            for index, repeating in enumerate(s.repeating_plans):
                when = next_occurrence(repeating, now) if repeating.active else None
                if when is not None:
                    plans.append(EffectivePlan(when, "soc", float(repeating.soc), index + 2))
        if len(plans) > 1:
            plans.sort(key=lambda p: p.time - self.required_for(p.kind, p.goal))
        soc = self.vehicle_soc
        for plan in plans:
            if plan.kind != "soc" or not soc or soc < plan.goal:
                return plan
        return None

    def plan_goal(self, *, preview: bool = False) -> tuple[str, float] | None:
        """("soc", %) or ("energy", kWh) the plan aims for, or None without a plan.

        `preview`: the goal a plan would have even though no plan time is set (plan previews).
        """
        if preview:
            return self._static_goal()
        plan = self.effective_plan()
        return None if plan is None else (plan.kind, plan.goal)

    def plan_required(self, *, preview: bool = False) -> timedelta:
        """Charging time at full power the plan's goal needs (0 when reached or no plan)."""
        goal = self.plan_goal(preview=preview)
        if goal is None:
            return timedelta(0)
        return self.required_for(*goal)

    def required_for(self, kind: str, value: float) -> timedelta:
        if kind == "soc":
            if self.vehicle_soc is None or self.vehicle is None:
                return timedelta(0)
            return remaining_charge_duration(
                self.vehicle_soc,
                value,
                self.max_power(),
                self.vehicle.capacity_kwh,
                ESTIMATOR_EFFICIENCY,
            )
        remaining_kwh = value - self._plan_charged_wh() / 1000.0
        if remaining_kwh <= 0:
            return timedelta(0)
        return required_duration_energy(remaining_kwh, self.max_power())

    @property
    def needs_rates(self) -> bool:
        """A plan or a smart cost limit: the decision needs the planner tariff's rates."""
        s = self.settings
        return s.plan_time is not None or s.smart_cost_limit is not None

    def _update_smart_limits(
        self, now: datetime, rates: TariffRates | None, feedin: Sequence[Rate]
    ) -> None:
        self.smart_cost_active, self.smart_cost_next_start = _smart_limit(
            now,
            self.settings.smart_cost_limit,
            rates.rates if rates is not None and rates.dynamic else (),
            below=True,
        )
        self.smart_feed_in_active, self.smart_feed_in_next_start = _smart_limit(
            now, self.settings.smart_feed_in_priority_limit, feedin, below=False
        )

    def _static_plan_reached(self) -> bool:
        """The plan set with a time has reached its goal (a 100 % plan never does: evcc goes on
        with it while the car is connected, the car ends it)."""
        goal = self._static_goal()
        if goal is None:
            return False
        kind, value = goal
        if kind == "soc":
            return self.vehicle_soc is not None and value < 100 and self.vehicle_soc >= value
        return self._plan_charged_wh() / 1000.0 >= value

    def _plan_charged_wh(self) -> float:
        """What counts for an energy plan: the session's energy since the plan energy was set
        (evcc's planEnergyOffset; a plan on the limit energy counts the whole session)."""
        offset = self.plan_energy_offset_wh if self.settings.plan_energy > 0 else 0.0
        return max(0.0, self.energy.session_wh - offset)

    def plan_energy_set(self) -> None:
        """A new plan energy counts from the energy charged so far in this session."""
        self.plan_energy_offset_wh = self.energy.session_wh

    def _update_plan(self, now: datetime, rates: TariffRates | None) -> None:
        s = self.settings
        if self.connected and s.plan_time is not None and self._static_plan_reached():
            # evcc's finishPlan: a plan whose goal is reached is deleted, not left to expire
            s.plan_time, s.plan_soc, s.plan_energy = None, 0, 0.0
        plans = (s.plan_time, s.plan_soc, s.plan_energy, s.repeating_plans)
        if plans != self._plans_locked_with:
            self.plan_lock = None  # the plans changed: choose again (evcc clears its lock)
        plan = self.effective_plan(now)
        target = plan.time if plan is not None else None
        required = self.required_for(plan.kind, plan.goal) if plan is not None else timedelta(0)
        if target is None or not self.connected or required <= timedelta(0):
            if self.plan_active or self.planner.slots:
                self.planner.reset()
            self.plan_active = False
            self.plan_lock = None
            return
        self.plan_active = self.planner.update(
            now,
            required,
            target,
            rates.rates if rates is not None else None,
            precondition=timedelta(seconds=self.settings.plan_strategy.precondition),
            continuous=self.settings.plan_strategy.continuous,
            rates_key=rates.key if rates is not None else (),
        )
        if not self.plan_active:
            self.plan_lock = None
        elif self.plan_lock is None and plan is not None and plan.kind == "soc":
            # a SoC plan that started keeps its goal until it is reached (evcc's plan lock)
            self.plan_lock, self._plans_locked_with = plan, plans
        if self.planner.expired and plan is not None and plan.id == 1:
            # current evcc deletes a plan whose time has passed without it running
            self.settings.plan_time = None
            self.planner.reset()

    # --- measurement ---------------------------------------------------------------------------

    def observe(
        self,
        now: datetime,
        readings: LoadpointReadings,
        green_share: float,
        price: float | None = None,
        co2: float | None = None,
    ) -> list[EventType]:
        """Take this cycle's readings (`price` per kWh and `co2` g/kWh of the energy that flowed
        since the last cycle); returns the status events that happened."""
        if readings.vehicle is not None:
            self.vehicle_values = readings.vehicle
        charger = readings.charger
        if charger is None:
            self.available = False
            return []
        self.available = True
        self.last_reading = charger
        previous = self.status
        status = charger.status
        self.status = status
        # measure first, so a stop is logged with the energy of its last interval
        self._measure(
            now, readings, charger, green_share, price, co2, was_charging=previous == Status.C
        )
        events = self._transition(now, previous, status, charger)
        self._sync_charger(now, charger)
        self.last_update = now
        return events

    def _transition(
        self,
        now: datetime,
        previous: Status | None,
        status: Status,
        charger: ChargerReading,
    ) -> list[EventType]:
        events: list[EventType] = []
        was_connected = previous in (Status.B, Status.C)
        is_connected = status in (Status.B, Status.C)
        if previous == Status.C and status != Status.C:
            events.append(EventType.STOP)
            self._on_stop(now)
        if is_connected and not was_connected:
            events.append(EventType.CONNECT)
            self._on_connect(now, charger)
        if status == Status.C and previous != Status.C:
            events.append(EventType.START)
            if self.session is not None and self.session.created is None:
                self.session.created = now
        if was_connected and not is_connected:
            events.append(EventType.DISCONNECT)
            self._on_disconnect()
        return events

    def _on_connect(self, now: datetime, charger: ChargerReading) -> None:
        self.energy.reset_session()
        self.plan_energy_offset_wh = 0.0
        self.session_solar_wh = 0.0
        self.session_cost = None
        self.session_co2 = None
        self.charge_duration = 0.0
        self.connected_since = now
        self.pv_timer = ELAPSED  # pv may act at once after connect
        vehicle = self.vehicle
        self.session = Session(
            loadpoint=self.config.title,
            vehicle=vehicle.title if vehicle is not None else "",
            meter_start=self.charge_total_kwh if self.charge_total_kwh else None,
        )
        if self.estimator is not None:
            self.estimator.reset()

    def _on_stop(self, now: datetime) -> None:
        self._reset_pv_timer()
        if self.session is not None:
            self._fill_session(now)
            self._session_to_log = self.session

    def _on_disconnect(self) -> None:
        self.measured_phases = 0
        self.vehicle_soc = None
        self.connected_since = None
        # the plan stays (current evcc; 0.122 cleared it): it belongs to the vehicle, and one
        # whose time passed is deleted when a car next connects
        self.planner.reset()
        self.plan_active = False
        self.plan_lock = None
        self.settings.battery_boost = False  # a boost is for one charging session (evcc)
        self.detecting_since = None
        self.session = None

    def _fill_session(self, now: datetime) -> None:
        session = self.session
        assert session is not None
        session.finished = now
        session.charged_energy = self.energy.session_wh / 1000.0
        session.charge_duration = self.charge_duration
        session.solar_percentage = self.session_solar_percentage
        session.price = self.session_cost
        kwh = session.charged_energy
        session.price_per_kwh = self.session_cost / kwh if self.session_cost and kwh > 0 else None
        session.co2_per_kwh = self.session_co2_per_kwh
        session.meter_stop = self.charge_total_kwh

    def take_finished_session(self) -> Session | None:
        """The session to log after a stop event (upserted by the site's session log)."""
        session, self._session_to_log = self._session_to_log, None
        return session

    def _measure(
        self,
        now: datetime,
        readings: LoadpointReadings,
        charger: ChargerReading,
        green_share: float,
        price: float | None,
        co2: float | None,
        *,
        was_charging: bool,
    ) -> None:
        meter = readings.meter
        currents = meter.currents if meter and meter.currents else charger.currents
        if meter is not None:
            power = meter.power
        elif charger.power is not None:
            power = charger.power
        elif self.enabled and self.charging:
            power = self.offered_current * self.active_phases * self.voltage
        else:
            power = 0.0
        self.charge_power = max(0.0, power)
        self.charge_currents = currents
        self.charge_voltages = meter.voltages if meter and meter.voltages else charger.voltages
        total = meter.energy if meter is not None and meter.energy is not None else charger.energy
        self.charge_total_kwh = total
        if charger.phases in (1, 3) and self.config.charger.phases_switchable:
            self._switched_phases = charger.phases
        if self._phase_measurement_trusted(now) and currents is not None and self.charging:
            measured = sum(1 for c in currents if abs(c) > PHASE_CURRENT_MIN_A)
            if measured > 0:
                self.measured_phases = measured
        # energy and time
        dt = (now - self.last_update).total_seconds() if self.last_update else 0.0
        added = self.energy.update(now, self.charge_power, total)
        self.session_solar_wh += added * green_share
        if price is not None and added > 0:
            self.session_cost = (self.session_cost or 0.0) + added / 1000.0 * price
        if co2 is not None and added > 0:
            self.session_co2 = (self.session_co2 or 0.0) + added / 1000.0 * co2
        if was_charging and self.charging and dt > 0:
            self.charge_duration += dt
        # SoC: a vehicle source wins over the charger; estimated between readings
        soc = readings.vehicle_soc if readings.vehicle_soc is not None else charger.soc
        if self.vehicle is None:
            self.vehicle_soc = None  # a guest car: a vehicle's source tells about another car
        elif self.estimator is not None and self.connected:
            self.vehicle_soc = self.estimator.update(soc, self.energy.session_wh)
        elif self.has_soc and soc is not None:
            self.vehicle_soc = soc

    def _phase_switch_completed(self, now: datetime) -> bool:
        """evcc: a phase switch needs 60 s before phases are measured or switched again."""
        last = self.last_phase_switch
        return last is None or (now - last).total_seconds() > PHASE_MEASUREMENT_GRACE_S

    _phase_measurement_trusted = _phase_switch_completed

    def _sync_charger(self, now: datetime, charger: ChargerReading) -> None:
        """Adopt the charger's own state once it had time to follow our commands (evcc)."""
        last = self.last_enable_switch
        settled = last is None or (now - last).total_seconds() >= SYNC_GRACE_S
        if not settled:
            return
        enabled = charger.enabled
        if not enabled and self.charging:
            enabled = True  # a charging car proves the charger is enabled
        if self.unconfirmed_enable is not None and enabled == self.unconfirmed_enable:
            self.unconfirmed_enable = None  # the charger followed at last
        elif (
            enabled != self.enabled
            and self.unconfirmed_enable is None
            and last is not None
            and (self.connected or enabled)
        ):
            # evcc: believe the charger; the decision sends the command again, and the state
            # says what the charger does until it reports that it followed
            _LOGGER.warning(
                "%s: charger out of sync: expected %s, got %s",
                self.config.title,
                _ENABLED_WORD[self.enabled],
                _ENABLED_WORD[enabled],
            )
            self.unconfirmed_enable = self.enabled
        self.enabled = enabled
        offered = charger.offered_current
        if (
            self.enabled
            and offered is not None
            and offered > 0
            and abs(offered - self.offered_current) > CURRENT_SYNC_TOLERANCE_A
        ):
            self.offered_current = offered
        if not self.enabled:
            self.offered_current = 0.0

    # --- decision ------------------------------------------------------------------------------

    def decide(
        self,
        now: datetime,
        decision: Decision,
        rates: TariffRates | None = None,
    ) -> ChargerCommand | None:
        """evcc's Update() switch; returns the command for the charger (None = nothing to send)."""
        if not self.available:
            return None
        self.last_decision = decision
        self._update_boost(decision)
        self._update_smart_limits(now, rates, decision.feedin_rates)
        self._update_plan(now, rates)
        # evcc switches to fixed configured phases only with a car connected
        phases_command = self._fix_configured_phases(now) if self.connected else None
        settings = self.settings
        force = True
        if not self.connected or settings.mode == Mode.OFF:
            self._reset_pv_timer()
            self._reset_phase_timer()
            # a car that needs a welcome charge gets the minimum once, even in off (evcc)
            current = settings.min_current if self.welcome_active(now) else 0.0
        elif self._min_soc_not_reached() or self.plan_active:
            phases_command = self._fast_phases(now) or phases_command
            self._reset_phase_timer()
            self.pv_timer = ELAPSED
            self.pv_action, self.pv_remaining = PvAction.INACTIVE, 0.0
            current = settings.max_current
        elif self.limit_energy_reached() or self.limit_soc_reached():
            # the pv timer is left as it is (evcc): a limit raised later acts on it at once
            # evcc's disableUnlessClimater: the minimum keeps a preconditioning car supplied
            current = settings.min_current if self.climater_active else 0.0
        elif settings.mode == Mode.NOW:
            phases_command = self._fast_phases(now) or phases_command
            current = settings.max_current
        elif self.smart_cost_active:
            # pv or minpv, and the price is at most the limit: charge fast (evcc)
            phases_command = self._fast_phases(now) or phases_command
            self._reset_phase_timer()
            self.pv_timer = ELAPSED
            self.pv_action, self.pv_remaining = PvAction.INACTIVE, 0.0
            current = settings.max_current
        elif self.smart_feed_in_active:
            # feeding in pays at least the limit (evcc): pv pauses, minpv takes its minimum on
            # one phase where the charger can switch
            self._reset_phase_timer()
            self.pv_timer = ELAPSED  # pv may switch on at once when it is over
            self.pv_action, self.pv_remaining = PvAction.INACTIVE, 0.0
            current = 0.0
            if settings.mode == Mode.MINPV:
                phases_command = self._min_phases(now) or phases_command
                current = settings.min_current
        else:
            force = False
            scaled, current = self._pv_max_current(now, decision)
            if current == 0 and self.climater_active:
                current = settings.min_current  # evcc: the climater keeps the minimum
            if current == 0 and self.welcome_active(now):
                # evcc: the welcome charge starts at the minimum; the pv timer switches it off
                current = settings.min_current
                self._reset_pv_timer()
            phases_command = scaled or phases_command
        return self._set_limit(now, current, phases_command, force=force)

    def welcome_active(self, now: datetime) -> bool:
        """A car that needs a welcome charge connected less than `WELCOME_CHARGE_S` ago."""
        until = self.welcome_until
        return self.connected and until is not None and now < until

    @property
    def climater_active(self) -> bool:
        """The car's climater runs (from its integration): evcc holds the minimum current."""
        return self.vehicle_values.climater_active is True

    def _fix_configured_phases(self, now: datetime) -> int | None:
        """A fixed 1p/3p configuration the charger does not have yet is switched at once."""
        configured = self.settings.phases_configured
        if not self.config.charger.phases_switchable or configured not in (1, 3):
            return None
        if self.physical_phases == configured:
            return None
        self._switch_phases(now, configured)
        return configured

    def _fast_phases(self, now: datetime) -> int | None:
        """Fast charging uses 3p when automatic switching may (evcc's scalePhasesIfAvailable)."""
        charger = self.config.charger
        if not charger.phases_switchable or self.settings.phases_configured != 0:
            return None
        if not self.circuit_allows(3):
            # load management has no room for 3p at the minimum: 1p (evcc's fastCharging)
            return self._min_phases(now)
        if self.physical_phases == 3 or charger.phases < 3 or not self._phase_cooldown_over(now):
            return None
        self._switch_phases(now, 3)
        return 3

    def _min_phases(self, now: datetime) -> int | None:
        """Minimum charging uses 1p when automatic switching may (evcc's minCharging)."""
        charger = self.config.charger
        if not charger.phases_switchable or self.settings.phases_configured != 0:
            return None
        if self.physical_phases == 1 or not self._phase_cooldown_over(now):
            return None
        self._switch_phases(now, 1)
        return 1

    def _switch_phases(self, now: datetime, phases: int) -> None:
        self._switched_phases = phases
        self.measured_phases = 0
        self.last_phase_switch = now
        self._reset_phase_timer()

    def _phase_cooldown_over(self, now: datetime) -> bool:
        cooldown = self.settings.phase_switch_cooldown
        last = self.last_phase_switch
        return cooldown <= 0 or last is None or (now - last).total_seconds() >= cooldown

    def vehicle_changed(self) -> None:
        """Another car (or the configured one again): its SoC is not known, a plan started for
        the other car is not kept, the session tells which vehicle charges."""
        self.vehicle_soc = None
        self.vehicle_values = VehicleValues()
        self.plan_lock = None
        self._new_estimator()
        if self.session is not None:
            vehicle = self.vehicle
            self.session.vehicle = vehicle.title if vehicle is not None else ""

    def mode_changed(self, mode: Mode) -> None:
        """evcc's SetMode: every change of mode ends a battery boost (pv ↔ minpv too); now/off
        reset the PV and phase timers and the plan; minpv the PV timer."""
        self.settings.battery_boost = False
        if mode in (Mode.NOW, Mode.OFF):
            self._reset_phase_timer()
            self._reset_pv_timer()
            self.plan_active = False
        elif mode == Mode.MINPV:
            self._reset_pv_timer()

    def _reset_pv_timer(self) -> None:
        self.pv_timer = None
        self.pv_action, self.pv_remaining = PvAction.INACTIVE, 0.0

    def _reset_phase_timer(self) -> None:
        self.phase_timer = None
        self.phase_action, self.phase_remaining = PhaseAction.INACTIVE, 0.0

    def _run_pv_timer(self, now: datetime, delay: float, action: PvAction) -> bool:
        """Start or continue the PV timer; True once `delay` has elapsed (then it resets)."""
        if self.pv_timer is None:
            self.pv_timer = now
        elapsed = (now - self.pv_timer).total_seconds()
        if elapsed >= delay:
            self._reset_pv_timer()
            return True
        self.pv_action, self.pv_remaining = action, delay - elapsed
        return False

    def _run_phase_timer(self, now: datetime, delay: float, action: PhaseAction) -> bool:
        if self.phase_timer is None or self.phase_action != action:
            self.phase_timer = now
        elapsed = (now - self.phase_timer).total_seconds()
        self.phase_action, self.phase_remaining = action, max(0.0, delay - elapsed)
        return elapsed >= delay

    def _pv_scale_phases(self, now: datetime, site_power: float) -> int | None:
        """evcc's pvScalePhases: automatic 1p/3p switching. Returns the phases switched to.

        The smooth profile decides on the filtered surplus, waits longer while
        charging (`SMOOTH_PHASE_*`) and, while the charger is off, as long as its enable delay (evcc switches an
        idle charger at once, which is most of its idle phase switching)."""
        s = self.settings
        if not self.config.charger.phases_switchable or s.phases_configured != 0:
            return None
        if not self._phase_cooldown_over(now):
            return None
        smooth = s.control_profile is ControlProfile.SMOOTH
        down_delay, up_delay = s.disable_delay, s.enable_delay
        up_available = self.charge_power - site_power  # more sun: the surplus of this cycle
        if smooth:
            # less sun: the filtered surplus (a passing cloud does not switch down)
            site_power = self._smoothed_power + self.charge_power
            if self.charging and s.mode == Mode.MINPV:
                # minpv charges anyway, from the grid under a cloud: 1p sooner, 3p later
                down_delay = max(s.disable_delay, SMOOTH_MINPV_DOWN_DELAY_S)
                up_delay = max(s.enable_delay, SMOOTH_MINPV_UP_DELAY_S)
            elif self.charging:
                down_delay = max(s.disable_delay, SMOOTH_PHASE_DOWN_DELAY_S)
                up_delay = max(s.enable_delay, SMOOTH_PHASE_UP_DELAY_S)
            else:
                down_delay = up_delay = max(s.enable_delay, SMOOTH_ENABLE_DELAY_S)
        active = self.active_phases
        available = self.charge_power - site_power
        waiting = False
        scalable_down = (site_power > 0 or not self.enabled) and active > 1
        insufficient = scalable_down and available / (active * self.voltage) < s.min_current
        # scaling down also frees load management room for the minimum on fewer phases (evcc)
        if insufficient or (active > 1 and not self.circuit_allows(active)):
            due = self._run_phase_timer(now, down_delay, PhaseAction.SCALE1P)
            if due or (not self.charging and not smooth):
                self._switch_phases(now, 1)
                return 1
            waiting = True
        max_phases = self.max_active_phases
        if not smooth:
            up_available = available
        max_current = s.max_current
        if self.circuit is not None:  # load management may cap 1p far below the maximum
            max_current = self.circuit.allowed_current(self.actual_current, max_current)
        scalable_up = (
            max_phases > 1
            and self.physical_phases < max_phases
            and up_available / self.voltage > max_current
            and max_current >= s.min_current
            and self.circuit_allows(max_phases)
        )
        if scalable_up and up_available / (max_phases * self.voltage) >= s.min_current:
            due = self._run_phase_timer(now, up_delay, PhaseAction.SCALE3P)
            if due or (not self.charging and not smooth):
                self._switch_phases(now, max_phases)
                return max_phases
            waiting = True
        if not waiting:
            self._reset_phase_timer()
        return None

    def _smooth(self, now: datetime, site_power: float) -> float:
        """The site power filtered over `SMOOTH_TIME_CONSTANT_S` (exponential, by elapsed time):
        what the smooth profile decides on. A passing cloud moves it little."""
        # the car's own load is taken out first: switching it must not move the filter
        others = site_power - self.charge_power
        last = self._smoothed_at
        if last is None or not math.isfinite(self._smoothed_power):
            self._smoothed_power = others
        else:
            elapsed = max(0.0, (now - last).total_seconds())
            weight = 1.0 - math.exp(-elapsed / SMOOTH_TIME_CONSTANT_S)
            self._smoothed_power += weight * (others - self._smoothed_power)
        self._smoothed_at = now
        return self._smoothed_power + self.charge_power

    def _pv_max_current(self, now: datetime, decision: Decision) -> tuple[int | None, float]:
        """evcc's pvMaxCurrent: surplus current for pv/minpv, with enable/disable hysteresis.

        With the smooth profile the current still follows the surplus of this cycle, but
        switching on and off is decided on the filtered surplus, with longer delays and a
        minimum time on and off (`SMOOTH_*`)."""
        s = self.settings
        site_power = decision.site_power - self._boost_power(decision)
        min_current, max_current = s.min_current, s.max_current
        smooth = s.control_profile is ControlProfile.SMOOTH
        decision_power = self._smooth(now, site_power) if smooth else site_power
        scaled = None
        if self._phase_switch_completed(now):
            scaled = self._pv_scale_phases(now, site_power)
        effective = self.effective_current
        if scaled is not None and scaled > 1:
            effective /= scaled  # the same power spread over more phases (evcc)
        active = self.active_phases
        delta = -site_power / (active * self.voltage)
        target = max(effective + delta, 0.0)
        keep_minimum = (
            s.mode == Mode.MINPV
            or decision.battery_start
            or (decision.battery_buffered and self.charging)
            or self.boost_phase == "continue"
        )
        if keep_minimum and target < min_current:
            return scaled, min_current
        enable_delay, disable_delay = s.enable_delay, s.disable_delay
        decision_target = target
        if smooth:
            enable_delay = max(enable_delay, SMOOTH_ENABLE_DELAY_S)
            disable_delay = max(disable_delay, SMOOTH_DISABLE_DELAY_S)
            decision_target = max(effective - decision_power / (active * self.voltage), 0.0)
        if s.mode == Mode.PV and self.enabled and target < min_current:
            projected = decision_power
            if self.phase_timer is not None:
                projected -= self.voltage * min_current * (active - 1)
            held = smooth and (
                decision_target >= min_current * SMOOTH_HOLD_SHARE
                or not self._dwelt(now, SMOOTH_MIN_ON_S)
            )
            # no disable timer while the climater holds the minimum (it would never end)
            if projected >= s.disable_threshold and not held and not self.climater_active:
                if self._run_pv_timer(now, disable_delay, PvAction.DISABLE):
                    return scaled, 0.0
            else:
                self._reset_pv_timer()
            return scaled, min_current
        if s.mode == Mode.PV and not self.enabled:
            if (
                (s.enable_threshold == 0 and decision_target >= min_current)
                or (s.enable_threshold != 0 and decision_power <= s.enable_threshold)
            ) and (not smooth or self._dwelt(now, SMOOTH_MIN_OFF_S)):
                if self._run_pv_timer(now, enable_delay, PvAction.ENABLE):
                    return scaled, min_current
            else:
                self._reset_pv_timer()
            return scaled, 0.0
        self._reset_pv_timer()
        return scaled, min(target, max_current)

    def _update_boost(self, decision: Decision) -> None:
        """Battery boost starts when switched on and holds once the battery is below its limit
        (evcc: the car keeps its priority over recharging the battery until it leaves)."""
        s = self.settings
        if not s.battery_boost:
            self.boost_phase = None
            return
        if self.boost_phase is None:
            self.boost_phase = "start"
        soc = decision.battery_soc
        if s.battery_boost_limit < 100 and soc is not None and soc < s.battery_boost_limit:
            self.boost_phase = "hold"

    def _boost_power(self, decision: Decision) -> float:
        """evcc's boostPower: the power the car should take from the home battery on top of
        the surplus (and, while boosting at all, the battery priority given back)."""
        if self.boost_phase is None:
            return 0.0
        given_back = -decision.priority_adjustment
        if self.boost_phase == "hold":
            return given_back
        residual = decision.residual_power
        delta = max(100.0, abs(residual))
        step = self.config.charger.current_step
        if step >= 1.0:  # whole amps: make sure the next full amp is reached
            delta += step * self.active_phases * self.voltage
        if self.boost_phase == "start":
            delta = self.max_power()
            self.pv_timer = ELAPSED
            if self.config.charger.phases_switchable:
                self.phase_timer = ELAPSED
            if self.charging:
                self.boost_phase = "continue"
        return max(0.0, decision.battery_power) + delta + residual + given_back

    @property
    def fast_or_cheap(self) -> bool:
        """evcc's fast charging (now, a running plan, below minSoc) or cheap charging (smart
        cost): what battery discharge control holds the home battery for."""
        return (
            self.settings.mode == Mode.NOW
            or self.plan_active
            or self._min_soc_not_reached()
            or self.smart_cost_active
        )

    def _dwelt(self, now: datetime, seconds: float) -> bool:
        """The charger has been in its present on/off state for at least `seconds`."""
        last = self.last_enable_switch
        return last is None or (now - last).total_seconds() >= seconds

    def _round_current(self, current: float) -> float:
        step = self.config.charger.current_step
        if step <= 0:
            return current
        # floor to the charger's step; the epsilon keeps 8.0000001 from becoming 7.9
        return math.floor(current / step + 1e-9) * step

    def _set_limit(
        self, now: datetime, current: float, phases: int | None, *, force: bool
    ) -> ChargerCommand | None:
        """evcc's setLimit: send current and enable state only when they change.

        Physics wins over settings: an enabled charger is never offered less than 6 A or more
        than its hardware maximum, whatever the settings say.
        """
        s = self.settings
        ceiling = min(s.max_current, self.config.charger.max_current)
        current = min(self._round_current(current), ceiling)
        if self.circuit is not None:
            capped = self._round_current(self.circuit_current(current))
            if capped < current:
                force = True  # a fuse is not held back by contactor protection
                current = capped
        enable = current >= max(s.min_current, MIN_CHARGE_CURRENT)
        if (
            not force
            and enable != self.enabled
            and s.min_switch_interval > 0
            and self.last_enable_switch is not None
            and (now - self.last_enable_switch).total_seconds() < s.min_switch_interval
        ):
            # contactor protection (beyond evcc): hold the present state a little longer
            enable = self.enabled
            current = self.offered_current if enable else 0.0
        command_current: float | None = None
        if enable and current != self.offered_current:
            command_current = current
            self.offered_current = current
        command_enable: bool | None = None
        if enable != self.enabled:
            command_enable = enable
            if self.unconfirmed_enable is not None:
                # the charger did not follow last time: ask again, believe it when it reports it
                self.unconfirmed_enable = enable
            else:
                self.enabled = enable
                self.last_enable_switch = now
            if not enable:
                self.offered_current = 0.0
        if self.circuit is not None and enable:
            # what this loadpoint may now draw is taken before the next one decides
            self.circuit.take(
                current * self.active_phases * self.voltage - self.charge_power,
                current - self.actual_current,
            )
        command = ChargerCommand(enable=command_enable, current=command_current, phases=phases)
        return command if command else None

    def command_failed(self) -> None:
        """The charger did not take the last command: believe what it said it does, so the next
        cycle decides from the real state and sends the command again."""
        reading = self.last_reading
        self.last_enable_switch = None
        if reading is None:
            return
        self.enabled = reading.enabled
        offered = reading.offered_current
        self.offered_current = offered if reading.enabled and offered is not None else 0.0

    def expected_power_change(
        self, command: ChargerCommand | None, was_enabled: bool, effective_before: float
    ) -> float:
        """How much the charge power should move after `command` (for later loadpoints' share)."""
        if command is None or not self.connected:
            return 0.0
        phases = self.active_phases
        if command.enable is False:
            return -self.charge_power
        if command.enable is True and not was_enabled:
            return self.offered_current * phases * self.voltage
        if command.current is not None and self.charging:
            return (command.current - effective_before) * phases * self.voltage
        return 0.0

    # --- persistence ---------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        return {
            "settings": self.settings.to_dict(),
            "energy": self.energy.to_dict(),
            "session": self.session.to_dict() if self.session else None,
            "session_solar_wh": self.session_solar_wh,
            "session_cost": self.session_cost,
            "session_co2": self.session_co2,
            "charge_duration": self.charge_duration,
            "status": self.status.value if self.status else None,
            "connected_since": self.connected_since.isoformat() if self.connected_since else None,
        }

    def setting_context(self, now: datetime) -> SettingContext:
        return SettingContext(
            now, self.config.charger, self.vehicle, self.fleet, self.default_vehicle
        )

    def restore(self, data: object, now: datetime) -> None:
        """Continue where a previous run stopped: settings, running session, meter baseline.
        Every stored value is checked; a bad one is dropped with a warning (its default stays)."""
        values = stored.mapping(data, f"state of {self.config.title}")
        raw = values.get("settings")
        defaults = default_loadpoint_settings(self.config.charger, self.config.control_profile)
        # the vehicle first: the other settings are checked against it
        vehicle = restore_loadpoint_settings(
            {"vehicle": raw["vehicle"]} if isinstance(raw, Mapping) and "vehicle" in raw else {},
            self.setting_context(now),
            defaults,
        ).vehicle
        if isinstance(raw, Mapping) and raw.get("vehicle_present") is False:
            vehicle = ""  # stored before vehicles could move: a guest car
        self.settings.vehicle = vehicle
        self.settings = restore_loadpoint_settings(raw, self.setting_context(now), defaults)
        self.settings.vehicle = vehicle
        if values.get("energy") is not None:
            self.energy = EnergyMeter.from_dict(values["energy"])
        if values.get("session") is not None:
            self.session = Session.from_dict(values["session"])
        self.session_solar_wh = stored.number(values, "session_solar_wh", 0.0, high=1e9)
        self.session_solar_wh = min(self.session_solar_wh, self.energy.session_wh)
        self.session_cost = stored.optional_number(values, "session_cost", low=-1e9, high=1e9)
        self.session_co2 = stored.optional_number(values, "session_co2", low=0.0, high=1e12)
        self.charge_duration = stored.number(values, "charge_duration", 0.0, high=1e9)
        status = values.get("status")
        if status is not None:
            # the restored status keeps a running session from being counted as a new connect
            try:
                self.status = Status(status)
            except ValueError:
                _LOGGER.warning("Stored status of %s ignored: %r", self.config.title, status)
        connected_since = stored.time(values, "connected_since")
        if connected_since is not None and connected_since <= now:
            self.connected_since = connected_since

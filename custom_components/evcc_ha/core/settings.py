"""Settings of the site and of each loadpoint, and the one validation every write path uses.

Every setting has a typed key (`LoadpointKey`, `SiteKey`: current evcc's state key names) and one
row in a table (`LOADPOINT_RULES`, `SITE_RULES`): the settings field it is stored in, its parser
(type and range) and, where it has one, its check against the other settings. Entities, services,
REST, MQTT, the simulator's scenarios and restored storage all go through these rows, so the same
bad value gives the same error text everywhere and a rejected value changes nothing.

Validation follows current evcc (min ≤ max current, prioritySoc ≤ bufferSoc ≤ bufferStartSoc,
phases 0/1/3) and is stricter where evcc lets a value through that breaks control or physics:
every number must be finite and within a sane range, SoC 0–100, and the minimum current is never
below 6 A (IEC 61851 has no charging current below 6 A).
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Final, Protocol, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .model import (
    ChargerConfig,
    ControlProfile,
    Mode,
    PlanStrategy,
    RepeatingPlan,
    SettingError,
    VehicleConfig,
)

_LOGGER = logging.getLogger(__name__)

MIN_CHARGE_CURRENT = 6.0  # A, the lowest current IEC 61851 allows
MAX_POWER_SETTING_W = 1_000_000.0  # thresholds and residual power: far beyond any house
MAX_DURATION_S = 86_400.0  # delays and switch intervals: one day
MAX_ENERGY_KWH = 1_000.0  # limit and plan energy: larger than any vehicle battery
MAX_PRIORITY = 1_000
MAX_PLAN_AHEAD = timedelta(days=2 * 366)  # a plan time further ahead is a typo


class LoadpointKey(StrEnum):
    """A loadpoint setting, named as current evcc's state key."""

    MODE = "mode"
    PRIORITY = "priority"
    MIN_CURRENT = "minCurrent"
    MAX_CURRENT = "maxCurrent"
    PHASES_CONFIGURED = "phasesConfigured"
    ENABLE_THRESHOLD = "enableThreshold"
    DISABLE_THRESHOLD = "disableThreshold"
    ENABLE_DELAY = "enableDelay"
    DISABLE_DELAY = "disableDelay"
    MIN_SOC = "minSoc"
    LIMIT_SOC = "limitSoc"
    LIMIT_ENERGY = "limitEnergy"
    PLAN_TIME = "planTime"
    PLAN_SOC = "planSoc"
    PLAN_ENERGY = "planEnergy"
    PLAN_STRATEGY = "planStrategy"
    REPEATING_PLANS = "repeatingPlans"
    MIN_SWITCH_INTERVAL = "minSwitchInterval"
    CONTROL_PROFILE = "controlProfile"
    PHASE_SWITCH_COOLDOWN = "phaseSwitchCooldown"
    SMART_COST_LIMIT = "smartCostLimit"
    SMART_FEED_IN_PRIORITY_LIMIT = "smartFeedInPriorityLimit"
    BATTERY_BOOST = "batteryBoost"
    BATTERY_BOOST_LIMIT = "batteryBoostLimit"
    VEHICLE = "vehicle"  # the vehicle at the loadpoint, by name ("": none, a guest car)


class SiteKey(StrEnum):
    """A site setting, named as current evcc's state key."""

    RESIDUAL_POWER = "residualPower"
    PRIORITY_SOC = "prioritySoc"
    BUFFER_SOC = "bufferSoc"
    BUFFER_START_SOC = "bufferStartSoc"
    TELEMETRY = "telemetry"
    BATTERY_DISCHARGE_CONTROL = "batteryDischargeControl"
    BATTERY_GRID_CHARGE_LIMIT = "batteryGridChargeLimit"
    SOLAR_ADJUSTED = "solarAdjusted"


# Old evcc names (and API spellings) of the same settings.
LOADPOINT_ALIASES: Mapping[str, LoadpointKey] = {
    "phases": LoadpointKey.PHASES_CONFIGURED,
    "targetSoc": LoadpointKey.LIMIT_SOC,
    "targetEnergy": LoadpointKey.LIMIT_ENERGY,
    "targetTime": LoadpointKey.PLAN_TIME,
}


def loadpoint_key(name: str) -> LoadpointKey:
    """The key for a setting name (current or old evcc name); unknown → `SettingError`."""
    if isinstance(name, LoadpointKey):
        return name
    try:
        return LOADPOINT_ALIASES.get(name) or LoadpointKey(name)
    except ValueError:
        raise SettingError(f"unknown loadpoint setting: {name}") from None


def site_key(name: str) -> SiteKey:
    if isinstance(name, SiteKey):
        return name
    try:
        return SiteKey(name)
    except ValueError:
        raise SettingError(f"unknown site setting: {name}") from None


@dataclass(slots=True)
class LoadpointSettings:
    """User settings of one loadpoint (evcc's defaults). Delays in seconds, thresholds in W."""

    mode: Mode = Mode.OFF
    priority: int = 0
    min_current: float = 6.0
    max_current: float = 16.0
    phases_configured: int = 3  # 0 = automatic 1p/3p (switchable chargers only)
    enable_threshold: float = 0.0
    disable_threshold: float = 0.0
    enable_delay: float = 60.0
    disable_delay: float = 180.0
    min_soc: int = 0  # 0 = off
    limit_soc: int = 100  # 100 (or 0) = no limit; evcc's old name: targetSoc
    limit_energy: float = 0.0  # kWh, 0 = no limit; old name: targetEnergy
    plan_time: datetime | None = None  # old name: targetTime
    plan_soc: int = 0  # SoC goal of the plan (0 = use the limit SoC)
    plan_energy: float = 0.0  # kWh goal of the plan for vehicles without SoC
    plan_strategy: PlanStrategy = field(default_factory=PlanStrategy)
    repeating_plans: tuple[RepeatingPlan, ...] = ()  # the vehicle's weekly plans
    # evcc's battery boost: charge the car from the home battery once (until it disconnects),
    # down to `battery_boost_limit` % (100 = no limit)
    battery_boost: bool = False
    battery_boost_limit: int = 100
    # the vehicle at the loadpoint, by its name: None = the loadpoint's own (default) vehicle,
    # if it has one; "" = none known (a guest car: no SoC source, no vehicle limits or plans).
    # Back to None when the car leaves (evcc's default vehicle).
    vehicle: str | None = None
    # Beyond evcc, off (0) by default so evcc's behaviour stays exact: contactor wear protection.
    min_switch_interval: float = 0.0  # s between charger enable/disable flips
    phase_switch_cooldown: float = 0.0  # s between 1p/3p switches
    # evcc's "charge when cheap": full power in pv/minpv while the price is at most this (per
    # kWh, the planner tariff's currency); None = off
    smart_cost_limit: float | None = None
    # evcc's smart feed-in priority: pv pauses (minpv charges at its minimum) while the feed-in
    # price is at least this (per kWh); None = off
    smart_feed_in_priority_limit: float | None = None
    # Beyond evcc: "smooth" filters the surplus and switches the charger and its phases far less
    control_profile: ControlProfile = ControlProfile.EVCC

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["mode"] = self.mode.value
        data["control_profile"] = self.control_profile.value
        data["plan_time"] = self.plan_time.isoformat() if self.plan_time else None
        return data

    def copy(self) -> LoadpointSettings:
        return replace(self)


# The settings that belong to a vehicle, not to the loadpoint it charges at: they move with it
# (evcc's vehicle settings: minSoc, limitSoc, plan, repeatingPlans, planStrategy).
VEHICLE_KEYS: Final = (
    LoadpointKey.MIN_SOC,
    LoadpointKey.LIMIT_SOC,
    LoadpointKey.PLAN_TIME,
    LoadpointKey.PLAN_SOC,
    LoadpointKey.PLAN_ENERGY,
    LoadpointKey.PLAN_STRATEGY,
    LoadpointKey.REPEATING_PLANS,
)


@dataclass(frozen=True, slots=True)
class VehicleSettings:
    """A vehicle's own settings while it is at no loadpoint (at one, they are part of that
    loadpoint's settings); the defaults are a new vehicle's."""

    min_soc: int = 0
    limit_soc: int = 100
    plan_time: datetime | None = None
    plan_soc: int = 0
    plan_energy: float = 0.0
    plan_strategy: PlanStrategy = field(default_factory=PlanStrategy)
    repeating_plans: tuple[RepeatingPlan, ...] = ()

    @classmethod
    def of(cls, settings: LoadpointSettings) -> VehicleSettings:
        """The vehicle part of a loadpoint's settings."""
        return cls(**{name: getattr(settings, name) for name in _VEHICLE_FIELDS})

    def applied_to(self, settings: LoadpointSettings) -> LoadpointSettings:
        """A copy of the loadpoint's settings with this vehicle's part."""
        return replace(settings, **{name: getattr(self, name) for name in _VEHICLE_FIELDS})

    def to_dict(self) -> dict[str, Any]:
        data = self.applied_to(LoadpointSettings()).to_dict()
        return {name: data[name] for name in _VEHICLE_FIELDS}


@dataclass(slots=True)
class SiteSettings:
    residual_power: float = 0.0  # W; positive keeps that much export
    priority_soc: float = 0.0  # %; 0 = off
    buffer_soc: float = 0.0  # %; 0 = off
    buffer_start_soc: float = 0.0  # %; 0 = off
    telemetry: bool = False  # evcc's flag; this project never sends telemetry
    # hold the home battery while a car charges fast or cheaply (evcc); needs battery control
    battery_discharge_control: bool = False
    # charge the home battery from the grid at or below this price (per kWh); None = off
    battery_grid_charge_limit: float | None = None
    # show the solar forecast scaled to today's production (evcc's choice for its forecast
    # view; the control does not use it, in evcc neither outside its optimizer)
    solar_adjusted: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def copy(self) -> SiteSettings:
        return replace(self)


@dataclass(frozen=True, slots=True)
class SettingContext:
    """What a setting is checked against: the charger, the vehicle, the time."""

    now: datetime
    charger: ChargerConfig = field(default_factory=ChargerConfig)
    vehicle: VehicleConfig | None = None  # the vehicle the setting is for (None: a guest car)
    vehicles: Mapping[str, VehicleConfig] = field(default_factory=dict)  # the site's, by name
    default_vehicle: str = ""  # the loadpoint's own vehicle ("": it has none)


# --- parsers -----------------------------------------------------------------------------------


def parse_float(value: object, name: str) -> float:
    """A finite number from an int, float or numeric string; bools, NaN, Inf and huge integers
    are refused."""
    if isinstance(value, bool):
        raise SettingError(f"invalid {name}: {value!r}")
    if isinstance(value, int | float):
        try:
            number = float(value)
        except OverflowError:
            raise SettingError(f"invalid {name}: number too large") from None
    elif isinstance(value, str):
        text = value.strip()
        if len(text) > 64:
            raise SettingError(f"invalid {name}: number too long")
        try:
            number = float(text)
        except ValueError:
            raise SettingError(f"invalid {name}: {shown(value)}") from None
    else:
        raise SettingError(f"invalid {name}: {shown(value)}")
    if not math.isfinite(number):
        raise SettingError(f"invalid {name}: {shown(value)}")
    return number + 0.0  # no negative zero


_TRUE: Final = frozenset({"1", "t", "T", "true", "TRUE", "True"})
_FALSE: Final = frozenset({"0", "f", "F", "false", "FALSE", "False"})


def parse_bool(value: object, name: str) -> bool:
    """The words evcc takes (Go's strconv.ParseBool): 1/0, t/f, true/false in three cases;
    yes/no and on/off are errors there and here."""
    if isinstance(value, bool):
        return value
    text = str(value).strip() if isinstance(value, str | int) else ""
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise SettingError(f"invalid {name}: {shown(value)}")


def parse_int(value: object, name: str) -> int:
    number = parse_float(value, name)
    if number != int(number):
        raise SettingError(f"invalid {name}: {shown(value)} is not a whole number")
    return int(number)


def _ranged(number: float, name: str, low: float, high: float, unit: str = "") -> float:
    if not low <= number <= high:
        raise SettingError(f"{name} must be between {low:g} and {high:g}{unit}: {number:g}")
    return number


def parse_soc(value: object, name: str) -> int:
    return int(_ranged(parse_int(value, name), name, 0, 100))


def parse_percent(value: object, name: str) -> float:
    return _ranged(parse_float(value, name), name, 0, 100)


def parse_mode(value: object) -> Mode:
    if isinstance(value, Mode):
        return value
    text = value.strip().lower() if isinstance(value, str) else ""
    try:
        return Mode(text)
    except ValueError:
        raise SettingError(f"invalid value: {shown(value, quoted=False)}") from None


def parse_control_profile(value: object) -> ControlProfile:
    if isinstance(value, ControlProfile):
        return value
    text = value.strip().lower() if isinstance(value, str) else ""
    try:
        return ControlProfile(text)
    except ValueError:
        raise SettingError(f"invalid value: {shown(value, quoted=False)}") from None


MAX_PRECONDITION_S: Final = 86_400  # one day: longer is charging all along anyway


def parse_plan_strategy(value: object) -> PlanStrategy:
    """evcc's plan strategy object `{"continuous": bool, "precondition": seconds}` (a mapping or
    its JSON text, as REST bodies and MQTT payloads carry it). As evcc decodes it, a missing
    field is false / 0; a field of the wrong type, a negative or fractional precondition, or an
    unknown field is refused."""
    if isinstance(value, PlanStrategy):
        return value
    if isinstance(value, str | bytes):
        if len(value) > 1024:
            raise SettingError("invalid planStrategy: too long")
        try:
            value = json.loads(value)
        except ValueError:
            raise SettingError(f"invalid planStrategy: {shown(value)} is not JSON") from None
    if not isinstance(value, Mapping):
        raise SettingError(f"invalid planStrategy: {shown(value)} is not an object")
    unknown = sorted(str(key) for key in value if key not in ("continuous", "precondition"))
    if unknown:
        raise SettingError(f"invalid planStrategy: unknown field {shown(unknown[0])}")
    continuous = value.get("continuous", False)
    if not isinstance(continuous, bool):
        raise SettingError(f"invalid continuous: {shown(continuous)} is not a boolean")
    raw = value.get("precondition", 0)
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise SettingError(f"invalid precondition: {shown(raw)} is not a number of seconds")
    precondition = int(
        _ranged(parse_int(raw, "precondition"), "precondition", 0, MAX_PRECONDITION_S, " s")
    )
    return PlanStrategy(continuous=continuous, precondition=precondition)


MAX_REPEATING_PLANS: Final = 10
_HH_MM = re.compile(r"(\d{1,2}):(\d{2})")


def parse_repeating_plans(value: object, ctx: SettingContext) -> tuple[RepeatingPlan, ...]:
    """evcc's `repeatingPlans`: a list (or its JSON text) of `{weekdays, time, tz, soc, active}`.
    As evcc checks them: weekdays 0–6, time HH:MM, tz a known time zone ("" = UTC); and SoC
    0–100, at most `MAX_REPEATING_PLANS`, only for a vehicle with a SoC. `null` clears them."""
    if isinstance(value, str | bytes):
        if len(value) > 8192:
            raise SettingError("invalid repeatingPlans: too long")
        try:
            value = json.loads(value)
        except ValueError:
            raise SettingError(f"invalid repeatingPlans: {shown(value)} is not JSON") from None
    if value is None:
        return ()
    if not isinstance(value, list | tuple):
        raise SettingError(f"invalid repeatingPlans: {shown(value)} is not a list")
    if ctx.vehicle is None or not ctx.vehicle.has_soc:
        raise SettingError("repeating plans need a vehicle with a SoC")
    if len(value) > MAX_REPEATING_PLANS:
        raise SettingError(f"at most {MAX_REPEATING_PLANS} repeating plans")
    return tuple(_repeating_plan(item) for item in value)


def _repeating_plan(item: object) -> RepeatingPlan:
    if isinstance(item, RepeatingPlan):
        return item
    if not isinstance(item, Mapping):
        raise SettingError(f"invalid repeating plan: {shown(item)} is not an object")
    unknown = sorted(str(k) for k in item if k not in ("weekdays", "time", "tz", "soc", "active"))
    if unknown:
        raise SettingError(f"invalid repeating plan: unknown field {shown(unknown[0])}")
    weekdays = item.get("weekdays", [])
    if not isinstance(weekdays, list | tuple) or any(
        isinstance(day, bool) or not isinstance(day, int) for day in weekdays
    ):
        raise SettingError(f"invalid weekdays: {shown(weekdays)}")
    for day in weekdays:
        if not 0 <= day <= 6:
            raise SettingError(f"weekday out of range: {day}")
    time_text = item.get("time", "")
    match = _HH_MM.fullmatch(time_text) if isinstance(time_text, str) else None
    if match is None or int(match[1]) > 23 or int(match[2]) > 59:
        raise SettingError(f"invalid time: {shown(time_text)}")
    tz = item.get("tz", "")
    if not isinstance(tz, str) or (tz and not _known_zone(tz)):
        raise SettingError(f"invalid timezone: {shown(tz)}")
    soc = item.get("soc", 0)
    if isinstance(soc, bool) or not isinstance(soc, int | float):
        raise SettingError(f"invalid soc: {shown(soc)}")
    active = item.get("active", False)
    if not isinstance(active, bool):
        raise SettingError(f"invalid active: {shown(active)} is not a boolean")
    return RepeatingPlan(
        weekdays=tuple(sorted(set(weekdays))),
        time=f"{int(match[1]):02d}:{match[2]}",
        tz=tz,
        soc=parse_soc(soc, "soc"),
        active=active,
    )


def _known_zone(name: str) -> bool:
    if len(name) > 64:
        return False
    try:
        ZoneInfo(name)
    except (ValueError, ZoneInfoNotFoundError):
        return False
    return True


def parse_rfc3339(text: str) -> datetime:
    """RFC 3339 / ISO 8601 with `Z` or an offset (naive stays naive); ValueError otherwise."""
    text = text.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    return datetime.fromisoformat(text)


def parse_time(value: object, now: datetime, *, past_ok: bool = False) -> datetime | None:
    """A timezone-aware time after `now` (and not years ahead); None / "" / "null" clear it.
    A naive time is taken in `now`'s time zone."""
    if value is None or (
        isinstance(value, str) and value.strip().lower() in ("", "null", "none", "-", "nil")
    ):
        return None
    if isinstance(value, datetime):
        when = value
    elif isinstance(value, str) and len(value) <= 64:
        try:
            when = parse_rfc3339(value)
        except ValueError:
            raise SettingError(f"parsing time {shown(value)}: not RFC3339") from None
    else:
        raise SettingError(f"parsing time {shown(value)}: not RFC3339")
    if when.tzinfo is None or when.utcoffset() is None:
        when = when.replace(tzinfo=now.tzinfo)
    try:
        instant = when.astimezone(UTC)  # e.g. 9999-12-31T23:59:59-12:00 has no UTC instant
    except OverflowError:
        raise SettingError(f"parsing time {shown(value)}: out of range") from None
    if instant <= now and not past_ok:
        raise SettingError("timestamp is in the past")
    if instant - now > MAX_PLAN_AHEAD:
        raise SettingError(f"timestamp is too far in the future: {shown(value)}")
    return when


def shown(value: object, *, quoted: bool = True) -> str:
    """A value as an error message shows it: short, never a whole flood of input."""
    text = repr(value) if quoted or not isinstance(value, str) else value
    return text if len(text) <= 40 else text[:37] + "..."


# --- the loadpoint table -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Rule[S, C]:
    """One setting: the field of settings `S` it is stored in, its parser and its check against
    the other settings (both given the context `C` they are checked in)."""

    field: str
    parse: Callable[[object, C], object]
    check: Callable[[S, C], None] | None = None


class _Settings(Protocol):
    def copy(self) -> Self: ...


def _apply[S: _Settings, K, C](
    settings: S,
    rules: Mapping[K, Rule[S, C]],
    resolve: Callable[[str], K],
    changes: Iterable[tuple[str, object]],
    ctx: C,
) -> tuple[S, dict[K, object]]:
    """Validate `changes` (key, value) together; return the new settings and the stored values.

    Every value is parsed first; then the checks of the changed keys run against the settings
    with all changes applied, so related settings (min and max current) can change together in
    any order. Raises `SettingError` on the first bad value; `settings` itself is never changed.
    """
    trial = settings.copy()
    stored: dict[K, object] = {}
    for name, value in changes:
        key = resolve(name)
        rule = rules[key]
        parsed = rule.parse(value, ctx)
        setattr(trial, rule.field, parsed)
        stored[key] = parsed
    for key in stored:
        check = rules[key].check
        if check is not None:
            check(trial, ctx)
    return trial, stored


SettingRule = Rule[LoadpointSettings, SettingContext]
Parser = Callable[[object, SettingContext], object]


def _number(name: str, low: float, high: float, unit: str = "") -> Parser:
    return lambda value, _ctx: _ranged(parse_float(value, name), name, low, high, unit)


def _whole(name: str, low: int, high: int) -> Parser:
    return lambda value, _ctx: int(_ranged(parse_int(value, name), name, low, high))


def _soc(name: str) -> Parser:
    return lambda value, _ctx: parse_soc(value, name)


def _parse_min_current(value: object, ctx: SettingContext) -> float:
    current = parse_float(value, "minCurrent")
    if current < MIN_CHARGE_CURRENT:
        raise SettingError(f"min current must be at least {MIN_CHARGE_CURRENT:g} A: {current:g}")
    if current > ctx.charger.max_current:
        raise SettingError(
            f"min current must not exceed the charger's maximum of {ctx.charger.max_current:g} A"
        )
    return current


def _parse_max_current(value: object, ctx: SettingContext) -> float:
    current = parse_float(value, "maxCurrent")
    if current > ctx.charger.max_current:
        raise SettingError(
            f"max current must not exceed the charger's maximum of {ctx.charger.max_current:g} A"
        )
    if current < MIN_CHARGE_CURRENT:
        raise SettingError(f"max current must be at least {MIN_CHARGE_CURRENT:g} A: {current:g}")
    return current


def _check_min_current(s: LoadpointSettings, _ctx: SettingContext) -> None:
    if s.min_current > s.max_current:
        raise SettingError("min current must be smaller or equal than max current")


def _check_max_current(s: LoadpointSettings, _ctx: SettingContext) -> None:
    if s.max_current < s.min_current:
        raise SettingError("max current must be greater or equal than min current")


def _parse_phases(value: object, ctx: SettingContext) -> int:
    """evcc's SetPhases: 0 (automatic) needs a phase switch; without one, 1 or 3 is the number of
    phases the charger is wired with."""
    try:
        phases = parse_int(value, "phases")
    except SettingError:
        raise SettingError(f"invalid number of phases: {shown(value)}") from None
    if phases == 0 and not ctx.charger.phases_switchable:
        raise SettingError("charger does not support phase switching")
    if phases not in (0, 1, 3):
        raise SettingError(f"invalid number of phases: {phases}")
    return phases


def _parse_vehicle(value: object, ctx: SettingContext) -> str | None:
    """A vehicle of the site by name or title (→ its name); false / none / "" / "-" → "" (no
    vehicle known: a guest car); true or null → None (the loadpoint's own vehicle)."""
    if value is None or value is True:
        if not ctx.default_vehicle:
            raise SettingError("no vehicle configured at this loadpoint")
        return None
    if value is False or (isinstance(value, str) and value.strip().lower() in CLEAR_WORDS):
        return ""
    if not isinstance(value, str):
        raise SettingError(f"invalid vehicle: {shown(value)}")
    name = find_vehicle(ctx.vehicles, value)
    if name is None:
        raise SettingError(f"vehicle not found: {value.strip()}")
    return None if name == ctx.default_vehicle else name


def find_vehicle(vehicles: Mapping[str, VehicleConfig], wanted: str) -> str | None:
    """The name of the vehicle called `wanted`: its name, its title, its title in any case."""
    text = wanted.strip()
    if text in vehicles:
        return text
    folded = text.casefold()
    for name, vehicle in vehicles.items():
        if vehicle.title == text:
            return name
    for name, vehicle in vehicles.items():
        if folded in (vehicle.title.casefold(), name.casefold()):
            return name
    return None


def _check_boost(s: LoadpointSettings, _ctx: SettingContext) -> None:
    if s.battery_boost and s.mode not in (Mode.PV, Mode.MINPV):
        raise SettingError("battery boost is only available in PV modes")


def _parse_plan_time(value: object, ctx: SettingContext) -> datetime | None:
    return parse_time(value, ctx.now)


CLEAR_WORDS: Final = frozenset({"", "null", "none", "nil", "-"})
MAX_PRICE: Final = 1_000.0  # per kWh: far beyond any tariff


def _price_limit(name: str) -> Callable[[object, SettingContext], float | None]:
    """A price limit per kWh, or None (off) for null / "" / "null" / "none" / "-"."""

    def parse(value: object, _ctx: SettingContext) -> float | None:
        return _optional_price(name)(value)

    return parse


LOADPOINT_RULES: Mapping[LoadpointKey, SettingRule] = {
    LoadpointKey.MODE: SettingRule("mode", lambda value, _ctx: parse_mode(value)),
    LoadpointKey.CONTROL_PROFILE: SettingRule(
        "control_profile", lambda value, _ctx: parse_control_profile(value)
    ),
    LoadpointKey.PRIORITY: SettingRule("priority", _whole("priority", 0, MAX_PRIORITY)),
    LoadpointKey.MIN_CURRENT: SettingRule("min_current", _parse_min_current, _check_min_current),
    LoadpointKey.MAX_CURRENT: SettingRule("max_current", _parse_max_current, _check_max_current),
    LoadpointKey.PHASES_CONFIGURED: SettingRule("phases_configured", _parse_phases),
    LoadpointKey.ENABLE_THRESHOLD: SettingRule(
        "enable_threshold",
        _number("enableThreshold", -MAX_POWER_SETTING_W, MAX_POWER_SETTING_W, " W"),
    ),
    LoadpointKey.DISABLE_THRESHOLD: SettingRule(
        "disable_threshold",
        _number("disableThreshold", -MAX_POWER_SETTING_W, MAX_POWER_SETTING_W, " W"),
    ),
    LoadpointKey.ENABLE_DELAY: SettingRule(
        "enable_delay", _number("enableDelay", 0, MAX_DURATION_S, " s")
    ),
    LoadpointKey.DISABLE_DELAY: SettingRule(
        "disable_delay", _number("disableDelay", 0, MAX_DURATION_S, " s")
    ),
    LoadpointKey.MIN_SOC: SettingRule("min_soc", _soc("minSoc")),
    LoadpointKey.LIMIT_SOC: SettingRule("limit_soc", _soc("limitSoc")),
    LoadpointKey.LIMIT_ENERGY: SettingRule(
        "limit_energy", _number("limitEnergy", 0, MAX_ENERGY_KWH, " kWh")
    ),
    LoadpointKey.PLAN_TIME: SettingRule("plan_time", _parse_plan_time),
    LoadpointKey.PLAN_SOC: SettingRule("plan_soc", _soc("planSoc")),
    LoadpointKey.PLAN_ENERGY: SettingRule(
        "plan_energy", _number("planEnergy", 0, MAX_ENERGY_KWH, " kWh")
    ),
    LoadpointKey.PLAN_STRATEGY: SettingRule(
        "plan_strategy", lambda value, _ctx: parse_plan_strategy(value)
    ),
    LoadpointKey.REPEATING_PLANS: SettingRule("repeating_plans", parse_repeating_plans),
    LoadpointKey.MIN_SWITCH_INTERVAL: SettingRule(
        "min_switch_interval", _number("minSwitchInterval", 0, MAX_DURATION_S, " s")
    ),
    LoadpointKey.PHASE_SWITCH_COOLDOWN: SettingRule(
        "phase_switch_cooldown", _number("phaseSwitchCooldown", 0, MAX_DURATION_S, " s")
    ),
    LoadpointKey.SMART_COST_LIMIT: SettingRule("smart_cost_limit", _price_limit("smartCostLimit")),
    LoadpointKey.SMART_FEED_IN_PRIORITY_LIMIT: SettingRule(
        "smart_feed_in_priority_limit", _price_limit("smartFeedInPriorityLimit")
    ),
    LoadpointKey.BATTERY_BOOST: SettingRule(
        "battery_boost", lambda value, _ctx: parse_bool(value, "batteryBoost"), _check_boost
    ),
    LoadpointKey.BATTERY_BOOST_LIMIT: SettingRule("battery_boost_limit", _soc("batteryBoostLimit")),
    LoadpointKey.VEHICLE: SettingRule("vehicle", _parse_vehicle),
}

_LOADPOINT_KEY_OF_FIELD: Mapping[str, LoadpointKey] = {
    rule.field: key for key, rule in LOADPOINT_RULES.items()
}


_VEHICLE_FIELDS: Final = tuple(LOADPOINT_RULES[key].field for key in VEHICLE_KEYS)


def vehicle_changes(
    changes: Iterable[tuple[str, object]],
) -> list[tuple[LoadpointKey, object]]:
    """The changes with their keys, each a vehicle's (`VEHICLE_KEYS`); another → SettingError."""
    keyed = [(loadpoint_key(name), value) for name, value in changes]
    for key, _value in keyed:
        if key not in VEHICLE_KEYS:
            raise SettingError(f"{key.value} is not a vehicle setting")
    return keyed


def apply_vehicle_settings(
    settings: VehicleSettings, changes: Iterable[tuple[str, object]], ctx: SettingContext
) -> tuple[VehicleSettings, dict[LoadpointKey, object]]:
    """Validate settings of a vehicle that is at no loadpoint, by the loadpoint rules; a key
    that is not a vehicle's (`VEHICLE_KEYS`) is refused."""
    changes = vehicle_changes(changes)
    trial, stored = apply_loadpoint_settings(settings.applied_to(LoadpointSettings()), changes, ctx)
    return VehicleSettings.of(trial), stored


def restore_vehicle_settings(data: object, ctx: SettingContext) -> VehicleSettings:
    """A parked vehicle's stored settings, each field checked as a loadpoint's."""
    if isinstance(data, Mapping):
        data = {name: value for name, value in data.items() if name in _VEHICLE_FIELDS}
    return VehicleSettings.of(restore_loadpoint_settings(data, ctx, LoadpointSettings()))


def default_loadpoint_settings(
    charger: ChargerConfig, profile: ControlProfile = ControlProfile.EVCC
) -> LoadpointSettings:
    """evcc's defaults for a loadpoint with this charger (max current within the hardware),
    starting with the configured control profile."""
    return LoadpointSettings(
        phases_configured=0 if charger.phases_switchable else charger.phases,
        max_current=max(MIN_CHARGE_CURRENT, min(16.0, charger.max_current)),
        control_profile=profile,
    )


def apply_loadpoint_settings(
    settings: LoadpointSettings,
    changes: Iterable[tuple[str, object]],
    ctx: SettingContext,
) -> tuple[LoadpointSettings, dict[LoadpointKey, object]]:
    """Validate loadpoint `changes` together (see `_apply`)."""
    return _apply(settings, LOADPOINT_RULES, loadpoint_key, changes, ctx)


def restore_loadpoint_settings(
    data: object, ctx: SettingContext, defaults: LoadpointSettings
) -> LoadpointSettings:
    """Stored settings, each field through its rule: a bad value is dropped with a warning and the
    default stays; unknown fields (another version's) are skipped. A plan time that has passed is
    dropped quietly, as evcc deletes expired plans."""
    settings = defaults.copy()
    if not isinstance(data, Mapping):
        if data is not None:
            _LOGGER.warning("Stored loadpoint settings ignored: not an object")
        return settings
    restored: list[LoadpointKey] = []
    for field_name, value in data.items():
        key = _LOADPOINT_KEY_OF_FIELD.get(str(field_name))
        if key is None:
            continue
        try:
            parsed = _restored_value(key, value, ctx)
        except SettingError as err:
            _LOGGER.warning("Stored %s ignored: %s", key.value, err)
            continue
        setattr(settings, LOADPOINT_RULES[key].field, parsed)
        restored.append(key)
    for key in restored:
        rule = LOADPOINT_RULES[key]
        if rule.check is None:
            continue
        try:
            rule.check(settings, ctx)
        except SettingError as err:
            _LOGGER.warning("Stored %s ignored: %s", key.value, err)
            setattr(settings, rule.field, getattr(defaults, rule.field))
            # the partner of a failed pair check may still clash with the default: reset both
            settings.min_current, settings.max_current = defaults.min_current, defaults.max_current
    return settings


def _restored_value(key: LoadpointKey, value: object, ctx: SettingContext) -> object:
    if key is LoadpointKey.VEHICLE and value is None:
        return None  # the loadpoint's own vehicle, or none
    if key is not LoadpointKey.PLAN_TIME:
        return LOADPOINT_RULES[key].parse(value, ctx)
    if value is None:
        return None
    if not isinstance(value, str):
        raise SettingError(f"parsing time {shown(value)}: not RFC3339")
    try:
        aware = parse_rfc3339(value).utcoffset() is not None
    except ValueError:
        raise SettingError(f"parsing time {shown(value)}: not RFC3339") from None
    if not aware:
        raise SettingError(f"time without offset: {shown(value)}")
    when = parse_time(value, ctx.now, past_ok=True)
    return when if when is not None and when > ctx.now else None


# --- the site table ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SiteContext:
    battery_configured: bool
    battery_controllable: bool = False
    battery_chargeable: bool = False


def _battery_control(parse: Callable[[object], object]) -> Callable[[object, SiteContext], object]:
    """A setting that acts through the battery's mode: refused without battery control."""

    def parse_controlled(value: object, ctx: SiteContext) -> object:
        parsed = parse(value)
        if parsed not in (None, False) and not ctx.battery_controllable:
            raise SettingError("battery control not available")
        return parsed

    return parse_controlled


def _parse_grid_charge_limit(value: object, ctx: SiteContext) -> float | None:
    limit = _optional_price("batteryGridChargeLimit")(value)
    if limit is not None and not ctx.battery_controllable:
        raise SettingError("battery control not available")
    if limit is not None and not ctx.battery_chargeable:
        raise SettingError("battery cannot be charged from the grid (no charge mode)")
    return limit


def _optional_price(name: str) -> Callable[[object], float | None]:
    def parse(value: object) -> float | None:
        if value is None or (isinstance(value, str) and value.strip().lower() in CLEAR_WORDS):
            return None
        return _ranged(parse_float(value, name), name, -MAX_PRICE, MAX_PRICE)

    return parse


def _battery_soc(key: SiteKey) -> Callable[[object, SiteContext], float]:
    def parse(value: object, ctx: SiteContext) -> float:
        soc = parse_percent(value, key.value)
        if not ctx.battery_configured:
            raise SettingError("battery not configured")
        return soc

    return parse


def _check_priority_soc(s: SiteSettings, _ctx: SiteContext) -> None:
    if s.buffer_soc != 0 and s.priority_soc > s.buffer_soc:
        raise SettingError("priority soc must not be larger than buffer soc")


def _check_buffer_soc(s: SiteSettings, _ctx: SiteContext) -> None:
    if s.buffer_soc != 0 and s.buffer_soc < s.priority_soc:
        raise SettingError("buffer soc must not be smaller than priority soc")
    if s.buffer_start_soc != 0 and s.buffer_soc > s.buffer_start_soc:
        raise SettingError("buffer soc must not be larger than buffer start soc")


def _check_buffer_start_soc(s: SiteSettings, _ctx: SiteContext) -> None:
    if s.buffer_start_soc != 0 and s.buffer_start_soc < s.buffer_soc:
        raise SettingError("buffer start soc must not be smaller than buffer soc")


SiteRule = Rule[SiteSettings, SiteContext]

SITE_RULES: Mapping[SiteKey, SiteRule] = {
    SiteKey.RESIDUAL_POWER: SiteRule(
        "residual_power",
        lambda value, _ctx: _ranged(
            parse_float(value, "residualPower"),
            "residualPower",
            -MAX_POWER_SETTING_W,
            MAX_POWER_SETTING_W,
            " W",
        ),
    ),
    SiteKey.PRIORITY_SOC: SiteRule(
        "priority_soc", _battery_soc(SiteKey.PRIORITY_SOC), _check_priority_soc
    ),
    SiteKey.BUFFER_SOC: SiteRule("buffer_soc", _battery_soc(SiteKey.BUFFER_SOC), _check_buffer_soc),
    SiteKey.BUFFER_START_SOC: SiteRule(
        "buffer_start_soc", _battery_soc(SiteKey.BUFFER_START_SOC), _check_buffer_start_soc
    ),
    SiteKey.TELEMETRY: SiteRule("telemetry", lambda value, _ctx: parse_bool(value, "telemetry")),
    SiteKey.BATTERY_DISCHARGE_CONTROL: SiteRule(
        "battery_discharge_control",
        _battery_control(lambda value: parse_bool(value, "batteryDischargeControl")),
    ),
    SiteKey.BATTERY_GRID_CHARGE_LIMIT: SiteRule(
        "battery_grid_charge_limit", _parse_grid_charge_limit
    ),
    SiteKey.SOLAR_ADJUSTED: SiteRule(
        "solar_adjusted", lambda value, _ctx: parse_bool(value, "solarAdjusted")
    ),
}

# stored as JSON booleans: a stored "true" is a damaged file, not a setting
_STORED_BOOLEANS = frozenset({SiteKey.TELEMETRY, SiteKey.SOLAR_ADJUSTED})

_SITE_KEY_OF_FIELD: Mapping[str, SiteKey] = {rule.field: key for key, rule in SITE_RULES.items()}


def apply_site_settings(
    settings: SiteSettings,
    changes: Iterable[tuple[str, object]],
    *,
    battery_configured: bool,
    battery_controllable: bool = False,
    battery_chargeable: bool = False,
) -> tuple[SiteSettings, dict[SiteKey, object]]:
    """Validate site `changes` together (see `_apply`)."""
    ctx = SiteContext(battery_configured, battery_controllable, battery_chargeable)
    return _apply(settings, SITE_RULES, site_key, changes, ctx)


def restore_site_settings(
    data: object,
    *,
    battery_configured: bool,
    battery_controllable: bool = False,
    battery_chargeable: bool = False,
) -> SiteSettings:
    """Stored site settings field by field; bad values dropped with a warning."""
    settings = SiteSettings()
    if not isinstance(data, Mapping):
        if data is not None:
            _LOGGER.warning("Stored site settings ignored: not an object")
        return settings
    for field_name, value in data.items():
        key = _SITE_KEY_OF_FIELD.get(str(field_name))
        if key is None:
            continue
        if key in _STORED_BOOLEANS and not isinstance(value, bool):
            _LOGGER.warning("Stored %s ignored: %s is not a boolean", key.value, shown(value))
            continue
        try:
            settings, _ = apply_site_settings(
                settings,
                [(key, value)],
                battery_configured=battery_configured,
                battery_controllable=battery_controllable,
                battery_chargeable=battery_chargeable,
            )
        except SettingError as err:
            _LOGGER.warning("Stored %s ignored: %s", key.value, err)
    return settings

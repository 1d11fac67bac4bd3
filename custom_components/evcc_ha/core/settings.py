"""Settings of the site and of each loadpoint, and the one validation every write path uses.

Entities, services, REST and MQTT all hand their raw value to `coerce_*` through
`Site.set_site_setting` / `Site.set_loadpoint_setting`, so the same bad value gives the same error
text everywhere. Validation follows current evcc (min ≤ max current, prioritySoc ≤ bufferSoc ≤
bufferStartSoc, phases 0/1/3, no NaN/Inf) and adds range checks evcc lacks (SoC 0–100, no negative
energy); a rejected value raises `SettingError` and changes nothing.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime
from typing import Any

from .model import ChargerConfig, Mode, SettingError


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
    plan_soc: int = 0  # SoC goal of the plan (0 = use energy)
    plan_energy: float = 0.0  # kWh goal of the plan for vehicles without SoC
    # Beyond evcc, off (0) by default so evcc's behaviour stays exact: contactor wear protection.
    min_switch_interval: float = 0.0  # s between charger enable/disable flips
    phase_switch_cooldown: float = 0.0  # s between 1p/3p switches

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["mode"] = self.mode.value
        data["plan_time"] = self.plan_time.isoformat() if self.plan_time else None
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LoadpointSettings:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        if "mode" in values:
            values["mode"] = Mode(values["mode"])
        if values.get("plan_time"):
            values["plan_time"] = datetime.fromisoformat(values["plan_time"])
        return cls(**values)


@dataclass(slots=True)
class SiteSettings:
    residual_power: float = 0.0  # W; positive keeps that much export
    priority_soc: float = 0.0  # %; 0 = off
    buffer_soc: float = 0.0  # %; 0 = off
    buffer_start_soc: float = 0.0  # %; 0 = off

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SiteSettings:
        known = {f.name for f in fields(cls)}
        return cls(**{k: float(v) for k, v in data.items() if k in known})


# --- parsing -------------------------------------------------------------------------------


def coerce_float(value: object, name: str) -> float:
    """A finite number from an int, float or numeric string; bools and NaN/Inf are refused."""
    if isinstance(value, bool):
        raise SettingError(f"invalid {name}: {value!r}")
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            raise SettingError(f"invalid {name}: {value!r}") from None
    else:
        raise SettingError(f"invalid {name}: {value!r}")
    if not math.isfinite(number):
        raise SettingError(f"invalid {name}: {value!r}")
    return number


def coerce_bool(value: object, name: str) -> bool:
    """true/false, 1/0, t/f, yes/no, on/off (as evcc's lenient MQTT parsing)."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower() if isinstance(value, str | int) else ""
    if text in ("true", "1", "t", "yes", "on"):
        return True
    if text in ("false", "0", "f", "no", "off"):
        return False
    raise SettingError(f"invalid {name}: {value!r}")


def coerce_int(value: object, name: str) -> int:
    number = coerce_float(value, name)
    if number != int(number):
        raise SettingError(f"invalid {name}: {value!r} is not a whole number")
    return int(number)


def coerce_soc(value: object, name: str) -> int:
    soc = coerce_int(value, name)
    if not 0 <= soc <= 100:
        raise SettingError(f"{name} must be between 0 and 100: {soc}")
    return soc


def coerce_percent(value: object, name: str) -> float:
    soc = coerce_float(value, name)
    if not 0 <= soc <= 100:
        raise SettingError(f"{name} must be between 0 and 100: {soc:g}")
    return soc


def coerce_non_negative(value: object, name: str) -> float:
    number = coerce_float(value, name)
    if number < 0:
        raise SettingError(f"{name} must not be negative: {number:g}")
    return number


def coerce_mode(value: object) -> Mode:
    if isinstance(value, Mode):
        return value
    text = value.strip().lower() if isinstance(value, str) else ""
    try:
        return Mode(text)
    except ValueError:
        raise SettingError(f"invalid value: {value}") from None


def coerce_time(value: object, now: datetime) -> datetime | None:
    """A future, timezone-aware time; None / "" / "null" clear it."""
    if value is None or (isinstance(value, str) and value.strip().lower() in ("", "null", "none")):
        return None
    if isinstance(value, datetime):
        when = value
    elif isinstance(value, str):
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            when = datetime.fromisoformat(text)
        except ValueError:
            raise SettingError(f"parsing time {value!r}: not RFC3339") from None
    else:
        raise SettingError(f"parsing time {value!r}: not RFC3339")
    if when.tzinfo is None:
        when = when.replace(tzinfo=now.tzinfo)
    try:
        when.astimezone(UTC)  # e.g. 9999-12-31T23:59:59-12:00 has no UTC instant
    except OverflowError:
        raise SettingError(f"parsing time {value!r}: out of range") from None
    if when <= now:
        raise SettingError("timestamp is in the past")
    return when


# --- one validated setter per key --------------------------------------------------------------

# Canonical keys are current evcc's state keys; old names and API spellings map onto them.
LOADPOINT_KEY_ALIASES: dict[str, str] = {
    "phases": "phasesConfigured",
    "targetSoc": "limitSoc",
    "targetEnergy": "limitEnergy",
    "targetTime": "planTime",
}

SITE_KEYS = ("residualPower", "prioritySoc", "bufferSoc", "bufferStartSoc")


def apply_loadpoint_setting(
    settings: LoadpointSettings,
    charger: ChargerConfig,
    key: str,
    value: object,
    now: datetime,
) -> object:
    """Validate `value` for `key` and store it in `settings`. Returns the stored value."""
    key = LOADPOINT_KEY_ALIASES.get(key, key)
    s = settings
    stored: object
    if key == "mode":
        stored = s.mode = coerce_mode(value)
    elif key == "minSoc":
        stored = s.min_soc = coerce_soc(value, "minSoc")
    elif key == "limitSoc":
        stored = s.limit_soc = coerce_soc(value, "limitSoc")
    elif key == "limitEnergy":
        stored = s.limit_energy = coerce_non_negative(value, "limitEnergy")
    elif key == "planSoc":
        stored = s.plan_soc = coerce_soc(value, "planSoc")
    elif key == "planEnergy":
        stored = s.plan_energy = coerce_non_negative(value, "planEnergy")
    elif key == "planTime":
        stored = s.plan_time = coerce_time(value, now)
    elif key == "minCurrent":
        current = coerce_float(value, "minCurrent")
        if current <= 0:
            raise SettingError(f"min current must be positive: {current:g}")
        if current > s.max_current:
            raise SettingError("min current must be smaller or equal than max current")
        stored = s.min_current = current
    elif key == "maxCurrent":
        current = coerce_float(value, "maxCurrent")
        if current < s.min_current:
            raise SettingError("max current must be greater or equal than min current")
        if current > charger.max_current:
            raise SettingError(
                f"max current must not exceed the charger's maximum of {charger.max_current:g} A"
            )
        stored = s.max_current = current
    elif key == "phasesConfigured":
        try:
            phases = coerce_int(value, "phases")
        except SettingError:
            raise SettingError(f"invalid number of phases: {value}") from None
        if phases not in (0, 1, 3) or (phases == 0 and not charger.phases_switchable):
            raise SettingError(f"invalid number of phases: {value}")
        if phases != charger.phases and not charger.phases_switchable:
            raise SettingError("charger does not support phase switching")
        if phases > charger.phases:
            raise SettingError("cannot configure more phases than physically connected")
        stored = s.phases_configured = phases
    elif key == "enableThreshold":
        stored = s.enable_threshold = coerce_float(value, "enableThreshold")
    elif key == "disableThreshold":
        stored = s.disable_threshold = coerce_float(value, "disableThreshold")
    elif key == "enableDelay":
        stored = s.enable_delay = coerce_non_negative(value, "enableDelay")
    elif key == "disableDelay":
        stored = s.disable_delay = coerce_non_negative(value, "disableDelay")
    elif key == "priority":
        priority = coerce_int(value, "priority")
        if priority < 0:
            raise SettingError(f"priority must not be negative: {priority}")
        stored = s.priority = priority
    elif key == "minSwitchInterval":
        stored = s.min_switch_interval = coerce_non_negative(value, "minSwitchInterval")
    elif key == "phaseSwitchCooldown":
        stored = s.phase_switch_cooldown = coerce_non_negative(value, "phaseSwitchCooldown")
    else:
        raise SettingError(f"unknown loadpoint setting: {key}")
    return stored


def apply_site_setting(
    settings: SiteSettings, key: str, value: object, *, battery_configured: bool
) -> float:
    """Validate and store a site setting (current evcc's plausibility rules)."""
    s = settings
    if key == "residualPower":
        s.residual_power = coerce_float(value, "residualPower")
        return s.residual_power
    if key not in SITE_KEYS:
        raise SettingError(f"unknown site setting: {key}")
    soc = coerce_percent(value, key)
    if not battery_configured:
        raise SettingError("battery not configured")
    if key == "prioritySoc":
        if s.buffer_soc != 0 and soc > s.buffer_soc:
            raise SettingError("priority soc must not be larger than buffer soc")
        s.priority_soc = soc
    elif key == "bufferSoc":
        if soc != 0 and soc < s.priority_soc:
            raise SettingError("buffer soc must not be smaller than priority soc")
        if s.buffer_start_soc != 0 and soc > s.buffer_start_soc:
            raise SettingError("buffer soc must not be larger than buffer start soc")
        s.buffer_soc = soc
    else:  # bufferStartSoc
        if soc != 0 and soc < s.buffer_soc:
            raise SettingError("buffer start soc must not be smaller than buffer soc")
        s.buffer_start_soc = soc
    return soc

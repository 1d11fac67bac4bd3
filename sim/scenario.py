"""Scenario files: read, validate (voluptuous) and turn into the parts a run needs.

The format is described in the README's simulator section. A malformed scenario raises
`ScenarioError` naming the field (`loadpoints[0].vehicle.capacity_kwh: must be a positive
number`). Settings in a scenario (a loadpoint's initial settings, the site's, and the commands at
given times) are checked by the core's own setting rules, so a value the integration would refuse
is refused here too, with the same text.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Final

import voluptuous as vol

from custom_components.evcc_ha.core.model import (
    ChargerConfig,
    LoadpointConfig,
    SettingError,
    VehicleConfig,
)
from custom_components.evcc_ha.core.settings import (
    MIN_CHARGE_CURRENT,
    LoadpointKey,
    LoadpointSettings,
    SettingContext,
    SiteKey,
    SiteSettings,
    apply_loadpoint_settings,
    apply_site_settings,
    parse_rfc3339,
)
from custom_components.evcc_ha.core.tariff import Rate

__all__ = [
    "LOADPOINT_SETTING_NAMES",
    "BatterySpec",
    "ChargerSpec",
    "CommandSpec",
    "LoadpointSpec",
    "Scenario",
    "ScenarioError",
    "VehicleSpec",
    "load_scenario",
    "parse_scenario",
]


class ScenarioError(ValueError):
    """A malformed scenario; `field` names the offending field (``loadpoints[0].vehicle.soc``)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


# Scenario spellings of the loadpoint settings (the `_s` names say the unit).
LOADPOINT_SETTING_NAMES: Final[Mapping[str, LoadpointKey]] = {
    "mode": LoadpointKey.MODE,
    "minCurrent": LoadpointKey.MIN_CURRENT,
    "maxCurrent": LoadpointKey.MAX_CURRENT,
    "phases": LoadpointKey.PHASES_CONFIGURED,
    "enableThreshold": LoadpointKey.ENABLE_THRESHOLD,
    "disableThreshold": LoadpointKey.DISABLE_THRESHOLD,
    "enableDelay_s": LoadpointKey.ENABLE_DELAY,
    "enableDelay": LoadpointKey.ENABLE_DELAY,
    "disableDelay_s": LoadpointKey.DISABLE_DELAY,
    "disableDelay": LoadpointKey.DISABLE_DELAY,
    "minSoc": LoadpointKey.MIN_SOC,
    "limitSoc": LoadpointKey.LIMIT_SOC,
    "limitEnergy": LoadpointKey.LIMIT_ENERGY,
    "planSoc": LoadpointKey.PLAN_SOC,
    "planEnergy": LoadpointKey.PLAN_ENERGY,
    "planTime": LoadpointKey.PLAN_TIME,
    "priority": LoadpointKey.PRIORITY,
    "minSwitchInterval_s": LoadpointKey.MIN_SWITCH_INTERVAL,
    "minSwitchInterval": LoadpointKey.MIN_SWITCH_INTERVAL,
    "phaseSwitchCooldown_s": LoadpointKey.PHASE_SWITCH_COOLDOWN,
    "phaseSwitchCooldown": LoadpointKey.PHASE_SWITCH_COOLDOWN,
    "controlProfile": LoadpointKey.CONTROL_PROFILE,
}
SITE_SETTING_NAMES: Final[Mapping[str, SiteKey]] = {
    key.value: key
    for key in (
        SiteKey.RESIDUAL_POWER,
        SiteKey.PRIORITY_SOC,
        SiteKey.BUFFER_SOC,
        SiteKey.BUFFER_START_SOC,
    )
}

# --- the parsed scenario ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BatterySpec:
    capacity_kwh: float
    soc: float
    max_charge_w: float
    max_discharge_w: float


@dataclass(frozen=True, slots=True)
class ChargerSpec:
    phases: int = 3
    phases_switchable: bool = False
    max_current: float = 32.0
    response_delay_s: float = 0.0
    phase_switch_pause_s: float = 0.0


@dataclass(frozen=True, slots=True)
class VehicleSpec:
    title: str
    capacity_kwh: float
    soc: float | None  # None: the vehicle does not report a SoC (physically it starts empty)
    phases: int = 3
    max_current: float | None = None
    efficiency: float = 0.9
    arrive: datetime | None = None
    depart: datetime | None = None

    @property
    def has_soc(self) -> bool:
        return self.soc is not None


@dataclass(frozen=True, slots=True)
class CommandSpec:
    """Setting changes at a moment: `loadpoint` None = site settings."""

    at: datetime
    loadpoint: int | None
    values: tuple[tuple[LoadpointKey | SiteKey, Any], ...]
    path: str  # where it stands in the scenario, for error messages
    names: tuple[str, ...]  # the scenario's own spelling of each key


@dataclass(frozen=True, slots=True)
class LoadpointSpec:
    title: str
    settings: LoadpointSettings
    charger: ChargerSpec
    vehicle: VehicleSpec | None

    def charger_config(self) -> ChargerConfig:
        c = self.charger
        return ChargerConfig(
            phases=c.phases, phases_switchable=c.phases_switchable, max_current=c.max_current
        )

    def config(self) -> LoadpointConfig:
        v = self.vehicle
        vehicle = (
            VehicleConfig(
                title=v.title,
                capacity_kwh=v.capacity_kwh,
                phases=v.phases,
                max_current=v.max_current,
                has_soc=v.has_soc,
            )
            if v is not None
            else None
        )
        return LoadpointConfig(title=self.title, charger=self.charger_config(), vehicle=vehicle)


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    start: datetime
    step_s: float
    interval_s: float
    voltage: float
    pv_w: tuple[float, ...]
    home_w: tuple[float, ...]
    site_settings: SiteSettings
    battery: BatterySpec | None
    grid_rates: tuple[Rate, ...] | None  # None: no grid tariff (cost 0, plans start late)
    feedin: float | None
    loadpoints: tuple[LoadpointSpec, ...]
    commands: tuple[CommandSpec, ...]  # sorted by time (stable)

    @property
    def steps(self) -> int:
        return len(self.pv_w)

    @property
    def end(self) -> datetime:
        return self.start + timedelta(seconds=self.step_s * self.steps)

    @property
    def steps_per_cycle(self) -> int:
        return round(self.interval_s / self.step_s)


# --- validators (messages as the field error shows them) ----------------------------------------


def _is_number(value: object) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(float(value))
    )


def _number_where(ok: Callable[[float], bool], message: str) -> Callable[[object], float]:
    def validate(value: object) -> float:
        if not _is_number(value) or not ok(float(value)):  # type: ignore[arg-type]
            raise vol.Invalid(message)
        return float(value)  # type: ignore[arg-type]

    return validate


NUMBER = _number_where(lambda _: True, "must be a number")
POSITIVE = _number_where(lambda v: v > 0, "must be a positive number")
NON_NEGATIVE = _number_where(lambda v: v >= 0, "must be a non-negative number")
PERCENT = _number_where(lambda v: 0 <= v <= 100, "must be a number between 0 and 100")
EFFICIENCY = _number_where(lambda v: 0 < v <= 1, "must be in (0, 1]")


def _one_of(*choices: int) -> Callable[[object], int]:
    def validate(value: object) -> int:
        if not _is_number(value) or value not in choices:
            raise vol.Invalid(f"must be one of {', '.join(map(str, choices))}")
        return int(value)  # type: ignore[call-overload]

    return validate


def _boolean(value: object) -> bool:
    if not isinstance(value, bool):
        raise vol.Invalid("must be true or false")
    return value


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise vol.Invalid("must be a string")
    return value


def _time(value: object) -> datetime:
    if not isinstance(value, str):
        raise vol.Invalid("must be an ISO 8601 time with offset")
    try:
        when = parse_rfc3339(value)
    except ValueError:
        raise vol.Invalid(f"not an ISO 8601 time: {value!r}") from None
    if when.tzinfo is None or when.utcoffset() is None:
        raise vol.Invalid("needs a UTC offset (e.g. +02:00)")
    return when


def _series(value: object) -> tuple[float, ...]:
    if not isinstance(value, list) or not value:
        raise vol.Invalid("must be a non-empty list of numbers")
    for i, item in enumerate(value):
        if not _is_number(item) or item < 0:
            raise vol.Invalid("must be a non-negative number", path=[i])
    return tuple(float(v) for v in value)


def _object(schema: dict[Any, Any]) -> Callable[[object], dict[str, Any]]:
    """An object with these fields; fields starting with `_` are comments (dropped)."""
    known = {str(key) for key in schema}
    validate = vol.Schema(schema)

    def check(value: object) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise vol.Invalid("must be an object")
        fields = {k: v for k, v in value.items() if not str(k).startswith("_")}
        for key in fields:
            if key not in known:
                raise vol.Invalid("unknown field", path=[key])
        validated: dict[str, Any] = validate(fields)
        return validated

    return check


def _optional(key: str, default: Any = None) -> vol.Optional:
    return vol.Optional(key, default=default)


def _nullable(validator: Callable[[object], Any]) -> Callable[[object], Any]:
    return lambda value: None if value is None else validator(value)


def _list_of(item: Any) -> Callable[[object], list[Any]]:
    schema = vol.Schema([item])

    def validate(value: object) -> list[Any]:
        if not isinstance(value, list):
            raise vol.Invalid("must be a list")
        validated: list[Any] = schema(value)
        return validated

    return validate


_BATTERY = _object(
    {
        vol.Required("capacity_kwh"): POSITIVE,
        vol.Required("soc"): PERCENT,
        vol.Required("max_charge_w"): NON_NEGATIVE,
        vol.Required("max_discharge_w"): NON_NEGATIVE,
    }
)
_CHARGER = _object(
    {
        _optional("phases", 3): _nullable(_one_of(1, 3)),
        _optional("phases_switchable", False): _nullable(_boolean),
        _optional("max_current"): _nullable(POSITIVE),
        _optional("response_delay_s", 0.0): _nullable(NON_NEGATIVE),
        _optional("phase_switch_pause_s", 0.0): _nullable(NON_NEGATIVE),
    }
)
_VEHICLE = _object(
    {
        _optional("title", "Vehicle"): _nullable(_text),
        vol.Required("capacity_kwh"): POSITIVE,
        _optional("soc"): _nullable(PERCENT),
        _optional("phases", 3): _nullable(_one_of(1, 2, 3)),
        _optional("max_current"): _nullable(POSITIVE),
        _optional("efficiency", 0.9): _nullable(EFFICIENCY),
        _optional("arrive"): _nullable(_time),
        _optional("depart"): _nullable(_time),
    }
)
_COMMAND = _object(
    {
        vol.Required("at"): _time,
        vol.Required("set"): vol.Schema(
            vol.All(dict, vol.Length(min=1), msg="must be an object of settings"), extra=True
        ),
    }
)
_COMMANDS = _nullable(_list_of(_COMMAND))
_LOADPOINT = _object(
    {
        _optional("title"): _nullable(_text),
        _optional("charger"): _nullable(_CHARGER),
        _optional("vehicle"): _nullable(_VEHICLE),
        _optional("commands"): _COMMANDS,
        **{_optional(name): object for name in LOADPOINT_SETTING_NAMES},
    }
)
_RATE = _object(
    {
        vol.Required("start"): _time,
        vol.Required("end"): _time,
        _optional("price"): _nullable(NUMBER),
        _optional("value"): _nullable(NUMBER),
    }
)
_TARIFF = _object(
    {
        _optional("grid"): _nullable(
            vol.Any(
                NUMBER,
                vol.All([_RATE], vol.Length(min=1)),
                msg="must be a price or a non-empty list of rates",
            )
        ),
        _optional("feedin"): _nullable(NUMBER),
    }
)
_SITE = _object(
    {
        _optional("battery"): _nullable(_BATTERY),
        **{_optional(name): object for name in SITE_SETTING_NAMES},
    }
)
_SCENARIO = _object(
    {
        _optional("name", "scenario"): _nullable(_text),
        _optional("description"): object,
        vol.Required("start"): _time,
        vol.Required("step_s"): POSITIVE,
        vol.Required("interval_s"): POSITIVE,
        _optional("voltage", 230.0): _nullable(POSITIVE),
        vol.Required("series"): _object(
            {vol.Required("pv_w"): _series, vol.Required("home_w"): _series}
        ),
        _optional("site"): _nullable(_SITE),
        _optional("tariff"): _nullable(_TARIFF),
        vol.Required("loadpoints"): _list_of(_LOADPOINT),
        _optional("commands"): _COMMANDS,
    }
)


def _field(path: Sequence[object]) -> str:
    """`['loadpoints', 0, 'vehicle', 'soc']` → `loadpoints[0].vehicle.soc`."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text or "scenario"


def _message(error: vol.Invalid) -> str:
    if isinstance(error, vol.RequiredFieldInvalid):
        return "is required"
    return error.error_message or error.msg


def _validated(data: object) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ScenarioError("scenario", "must be an object")
    try:
        validated: dict[str, Any] = _SCENARIO(data)
    except vol.MultipleInvalid as err:
        first = min(err.errors, key=lambda e: len(e.path))  # the outermost problem first
        raise ScenarioError(_field(first.path), _message(first)) from None
    except vol.Invalid as err:
        raise ScenarioError(_field(err.path), _message(err)) from None
    return validated


# --- reading -----------------------------------------------------------------------------------


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario file; every problem is a `ScenarioError`."""
    name = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as err:
        raise ScenarioError(name, f"cannot read file: {err.strerror or err}") from None
    except UnicodeDecodeError:
        raise ScenarioError(name, "not UTF-8 text") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise ScenarioError(
            name, f"invalid JSON: {err.msg} (line {err.lineno}, column {err.colno})"
        ) from None
    return parse_scenario(data)


def parse_scenario(data: object) -> Scenario:
    """Validate a scenario given as parsed JSON; raises `ScenarioError` naming the field."""
    top = _validated(data)
    start: datetime = top["start"]
    step_s: float = top["step_s"]
    interval_s: float = top["interval_s"]
    ratio = interval_s / step_s
    if ratio < 1 or abs(ratio - round(ratio)) > 1e-9:
        raise ScenarioError("interval_s", f"must be a multiple of step_s ({step_s:g})")
    pv_w: tuple[float, ...] = top["series"]["pv_w"]
    home_w: tuple[float, ...] = top["series"]["home_w"]
    if len(home_w) != len(pv_w):
        raise ScenarioError(
            "series.home_w", f"has {len(home_w)} values but series.pv_w has {len(pv_w)}"
        )
    end = start + timedelta(seconds=step_s * len(pv_w))
    site = top.get("site") or {}
    battery = BatterySpec(**site["battery"]) if site.get("battery") else None
    site_settings = _site_settings(site, battery is not None)
    grid_rates, feedin = _tariff(top.get("tariff"), start, end)

    loadpoints: list[LoadpointSpec] = []
    commands: list[CommandSpec] = []
    for index, raw in enumerate(top["loadpoints"]):
        path = f"loadpoints[{index}]"
        loadpoints.append(_loadpoint(raw, path, index, start))
        commands += _commands(raw.get("commands"), f"{path}.commands", index, start, end)
    commands += _commands(top.get("commands"), "commands", None, start, end)
    commands.sort(key=lambda c: c.at.timestamp())
    _dry_run(commands, loadpoints, site_settings, battery is not None)
    return Scenario(
        name=top.get("name") or "scenario",
        start=start,
        step_s=step_s,
        interval_s=interval_s,
        voltage=top.get("voltage") or 230.0,
        pv_w=pv_w,
        home_w=home_w,
        site_settings=site_settings,
        battery=battery,
        grid_rates=grid_rates,
        feedin=feedin,
        loadpoints=tuple(loadpoints),
        commands=tuple(commands),
    )


def _site_settings(site: Mapping[str, Any], battery: bool) -> SiteSettings:
    settings = SiteSettings()
    for name, key in SITE_SETTING_NAMES.items():
        value = site.get(name)
        if value is None:
            continue
        if key is not SiteKey.RESIDUAL_POWER and not battery:
            if _is_number(value) and value == 0:
                continue  # 0 = off is fine without a battery
            raise ScenarioError(f"site.{name}", "needs a battery (site.battery)")
        try:
            settings, _ = apply_site_settings(settings, [(key, value)], battery_configured=battery)
        except SettingError as err:
            raise ScenarioError(f"site.{name}", str(err)) from None
    return settings


def _tariff(
    tariff: Mapping[str, Any] | None, start: datetime, end: datetime
) -> tuple[tuple[Rate, ...] | None, float | None]:
    if tariff is None:
        return None, None
    feedin = tariff.get("feedin")
    grid = tariff.get("grid")
    if grid is None:
        return None, feedin
    if isinstance(grid, float):
        return (Rate(start, end, grid),), feedin
    rates: list[Rate] = []
    for i, rate in enumerate(grid):
        if rate["end"] <= rate["start"]:
            raise ScenarioError(f"tariff.grid[{i}].end", "must be after start")
        price = rate.get("price") if rate.get("price") is not None else rate.get("value")
        if price is None:
            raise ScenarioError(f"tariff.grid[{i}].price", "is required")
        rates.append(Rate(rate["start"], rate["end"], price))
    rates.sort(key=lambda r: r.start.timestamp())
    covered = start
    for period in rates:
        if period.start > covered:
            break
        covered = max(covered, period.end)
    if covered < end:
        raise ScenarioError(
            "tariff.grid", f"rates do not cover the span from {covered.isoformat()}"
        )
    return tuple(rates), feedin


def _charger(raw: Mapping[str, Any] | None, path: str, max_current: object) -> ChargerSpec:
    charger = raw or {}
    default_max = max(32.0, float(max_current)) if _is_number(max_current) else 32.0  # type: ignore[arg-type]
    spec = ChargerSpec(
        phases=charger.get("phases") or 3,
        phases_switchable=bool(charger.get("phases_switchable")),
        max_current=charger.get("max_current") or default_max,
        response_delay_s=charger.get("response_delay_s") or 0.0,
        phase_switch_pause_s=charger.get("phase_switch_pause_s") or 0.0,
    )
    if spec.phases_switchable and spec.phases != 3:
        raise ScenarioError(f"{path}.phases_switchable", "needs a charger with 3 phases")
    return spec


def _vehicle(raw: Mapping[str, Any] | None, path: str) -> VehicleSpec | None:
    if raw is None:
        return None
    arrive, depart = raw.get("arrive"), raw.get("depart")
    if arrive is not None and depart is not None and depart <= arrive:
        raise ScenarioError(f"{path}.depart", "must be after arrive")
    return VehicleSpec(
        title=raw.get("title") or "Vehicle",
        capacity_kwh=raw["capacity_kwh"],
        soc=raw.get("soc"),
        phases=raw.get("phases") or 3,
        max_current=raw.get("max_current"),
        efficiency=raw.get("efficiency") or 0.9,
        arrive=arrive,
        depart=depart,
    )


def _loadpoint(raw: Mapping[str, Any], path: str, index: int, start: datetime) -> LoadpointSpec:
    charger = _charger(raw.get("charger"), f"{path}.charger", raw.get("maxCurrent", 16.0))
    vehicle = _vehicle(raw.get("vehicle"), f"{path}.vehicle")
    spec = LoadpointSpec(
        raw.get("title") or f"Loadpoint {index + 1}", LoadpointSettings(), charger, vehicle
    )
    config = spec.config()
    settings = LoadpointSettings(
        phases_configured=0 if charger.phases_switchable else charger.phases,
        max_current=min(16.0, charger.max_current),
        min_current=min(MIN_CHARGE_CURRENT, charger.max_current),
    )
    ctx = SettingContext(start, config.charger, config.vehicle)
    # one setting at a time, so an error names its field; all together for min/max current
    for name, key in LOADPOINT_SETTING_NAMES.items():
        value = raw.get(name)
        if value is None or key in (LoadpointKey.MIN_CURRENT, LoadpointKey.MAX_CURRENT):
            continue
        try:
            settings, _ = apply_loadpoint_settings(settings, [(key, value)], ctx)
        except SettingError as err:
            raise ScenarioError(f"{path}.{name}", str(err)) from None
    currents = [
        (name, key, raw[name])
        for name, key in LOADPOINT_SETTING_NAMES.items()
        if key in (LoadpointKey.MIN_CURRENT, LoadpointKey.MAX_CURRENT) and raw.get(name) is not None
    ]
    try:
        settings, _ = apply_loadpoint_settings(settings, [(k, v) for _, k, v in currents], ctx)
    except SettingError as err:
        # "min current must …" / "max current must …": the field the message is about
        about = str(err).split(" ", 1)[0]
        name = next((n for n, _, _ in currents if n.lower().startswith(about)), currents[0][0])
        raise ScenarioError(f"{path}.{name}", str(err)) from None
    return LoadpointSpec(spec.title, settings, charger, vehicle)


def _commands(
    raw: list[dict[str, Any]] | None,
    path: str,
    loadpoint: int | None,
    start: datetime,
    end: datetime,
) -> list[CommandSpec]:
    result: list[CommandSpec] = []
    for i, command in enumerate(raw or []):
        cpath = f"{path}[{i}]"
        at: datetime = command["at"]
        if at < start or at >= end:
            raise ScenarioError(f"{cpath}.at", "outside the simulated span")
        values: list[tuple[LoadpointKey | SiteKey, Any]] = []
        names: list[str] = []
        for name, value in command["set"].items():
            key: LoadpointKey | SiteKey | None = SITE_SETTING_NAMES.get(name)
            if key is None:
                if loadpoint is None:
                    raise ScenarioError(
                        f"{cpath}.set.{name}",
                        "not a site setting (loadpoint settings go in loadpoints[i].commands)",
                    )
                key = LOADPOINT_SETTING_NAMES.get(name)
                if key is None:
                    raise ScenarioError(f"{cpath}.set.{name}", "unknown setting")
            values.append((key, value))
            names.append(name)
        result.append(CommandSpec(at, loadpoint, tuple(values), cpath, tuple(names)))
    return result


def _dry_run(
    commands: Sequence[CommandSpec],
    loadpoints: Sequence[LoadpointSpec],
    site_settings: SiteSettings,
    battery: bool,
) -> None:
    """Apply every command to copies of the settings, so bad values fail before the run."""
    site = site_settings.copy()
    lp_settings = [lp.settings.copy() for lp in loadpoints]
    for command in commands:
        for (key, value), name in zip(command.values, command.names, strict=True):
            try:
                if isinstance(key, SiteKey):
                    site, _ = apply_site_settings(site, [(key, value)], battery_configured=battery)
                else:
                    assert command.loadpoint is not None
                    index = command.loadpoint
                    config = loadpoints[index].config()
                    ctx = SettingContext(command.at, config.charger, config.vehicle)
                    lp_settings[index], _ = apply_loadpoint_settings(
                        lp_settings[index], [(key, value)], ctx
                    )
            except SettingError as err:
                raise ScenarioError(f"{command.path}.set.{name}", str(err)) from None

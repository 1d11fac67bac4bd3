"""Scenarios: load and validate one, build the core `Site` for it, run it, measure the result.

The format, the physical model, the trace and the metrics are specified in
shared/spec/scenario-format.md. The run is the shell the integration also is: every
``interval_s`` the simulated meters and chargers are read, `Site.update` decides, and the
commands go to the simulated chargers; scheduled setting changes go through the same setters
Home Assistant, REST and MQTT use (`Site.set_loadpoint_setting` / `Site.set_site_setting`) and
their commands reach the charger at once. No control logic lives here.
"""

from __future__ import annotations

import csv
import json
import math
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any, Final, TypeGuard

from ..core.clock import ManualClock
from ..core.model import (
    ChargerCommand,
    ChargerConfig,
    LoadpointConfig,
    SettingError,
    SiteConfig,
    VehicleConfig,
)
from ..core.settings import (
    SITE_KEYS,
    LoadpointSettings,
    SiteSettings,
    apply_loadpoint_setting,
    apply_site_setting,
)
from ..core.site import Site
from ..core.tariff import FixedTariff, Rate, RatesTariff, Tariff
from .simulated import SimBattery, SimCharger, SimPowers, SimSite, SimVehicle

__all__ = [
    "CONTROLLERS",
    "TRACE_COLUMNS",
    "BatterySpec",
    "ChargerSpec",
    "CommandSpec",
    "LoadpointSpec",
    "LoadpointTrace",
    "Scenario",
    "ScenarioError",
    "Simulation",
    "SimulationResult",
    "TraceRow",
    "VehicleSpec",
    "build_devices",
    "build_site",
    "load_scenario",
    "parse_scenario",
    "run_scenario",
    "trace_header",
]

CONTROLLERS: Final = ("evcc",)
"""Control strategies `run_scenario` knows; ``evcc`` is the core's reproduction of evcc."""

TRACE_COLUMNS: Final = ("time", "pv_w", "home_w", "ev_w", "battery_w", "battery_soc", "grid_w")
LOADPOINT_TRACE_COLUMNS: Final = (
    "power_w",
    "current_a",
    "phases",
    "enabled",
    "connected",
    "soc",
    "mode",
)

_MISSING: Final = object()
_SOC_EPSILON = 1e-6
_ENERGY_EPSILON_KWH = 1e-6


class ScenarioError(ValueError):
    """A malformed scenario; `field` names the offending field (``loadpoints[0].vehicle.soc``)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


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
    """A setting change at a moment: ``loadpoint`` None = site settings only."""

    at: datetime
    loadpoint: int | None
    values: tuple[tuple[str, Any], ...]
    path: str  # where it stands in the scenario, for error messages


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


# --- validation helpers ------------------------------------------------------------------------


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _object(value: object, path: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ScenarioError(path or "scenario", "must be an object")
    return value


def _check_keys(obj: Mapping[str, Any], path: str, allowed: Sequence[str]) -> None:
    for key in obj:
        if key not in allowed and not key.startswith("_"):
            raise ScenarioError(_join(path, str(key)), "unknown field")


def _is_number(value: object) -> TypeGuard[int | float]:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(float(value))
    )


def _number(
    obj: Mapping[str, Any],
    key: str,
    path: str,
    *,
    default: object = _MISSING,
    positive: bool = False,
    non_negative: bool = False,
    maximum: float | None = None,
) -> float:
    """A finite number; with `default` the key may be missing (or null)."""
    name = _join(path, key)
    value = obj.get(key)
    if value is None:
        if default is _MISSING:
            raise ScenarioError(name, "is required")
        assert isinstance(default, int | float)
        return float(default)
    if positive:
        if not _is_number(value) or value <= 0:
            raise ScenarioError(name, "must be a positive number")
    elif non_negative and maximum is not None:
        if not _is_number(value) or not 0 <= value <= maximum:
            raise ScenarioError(name, f"must be a number between 0 and {maximum:g}")
    elif non_negative:
        if not _is_number(value) or value < 0:
            raise ScenarioError(name, "must be a non-negative number")
    elif not _is_number(value):
        raise ScenarioError(name, "must be a number")
    return float(value)


def _optional_number(
    obj: Mapping[str, Any], key: str, path: str, *, positive: bool = False
) -> float | None:
    if obj.get(key) is None:
        return None
    return _number(obj, key, path, positive=positive)


def _choice(
    obj: Mapping[str, Any], key: str, path: str, choices: Sequence[int], default: int
) -> int:
    value = obj.get(key)
    if value is None:
        return default
    if not _is_number(value) or value not in choices:
        raise ScenarioError(_join(path, key), f"must be one of {', '.join(map(str, choices))}")
    return int(value)


def _bool(obj: Mapping[str, Any], key: str, path: str, default: bool) -> bool:
    value = obj.get(key)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise ScenarioError(_join(path, key), "must be true or false")
    return value


def _text(obj: Mapping[str, Any], key: str, path: str, default: str) -> str:
    value = obj.get(key)
    if value is None:
        return default
    if not isinstance(value, str):
        raise ScenarioError(_join(path, key), "must be a string")
    return value


def _parse_time(value: object, name: str) -> datetime:
    if not isinstance(value, str):
        raise ScenarioError(name, "must be an ISO 8601 time with offset")
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise ScenarioError(name, f"not an ISO 8601 time: {value!r}") from None
    if when.tzinfo is None or when.utcoffset() is None:
        raise ScenarioError(name, "needs a UTC offset (e.g. +02:00)")
    return when


def _time(obj: Mapping[str, Any], key: str, path: str, *, required: bool) -> datetime | None:
    value = obj.get(key)
    if value is None:
        if required:
            raise ScenarioError(_join(path, key), "is required")
        return None
    return _parse_time(value, _join(path, key))


# --- parsing -----------------------------------------------------------------------------------

_TOP_KEYS = (
    "name",
    "description",
    "start",
    "step_s",
    "interval_s",
    "voltage",
    "series",
    "site",
    "tariff",
    "loadpoints",
    "commands",
)
_SITE_SCENARIO_KEYS = (*SITE_KEYS, "battery")
_BATTERY_KEYS = ("capacity_kwh", "soc", "max_charge_w", "max_discharge_w")
_CHARGER_KEYS = (
    "phases",
    "phases_switchable",
    "max_current",
    "response_delay_s",
    "phase_switch_pause_s",
)
_VEHICLE_KEYS = (
    "title",
    "capacity_kwh",
    "soc",
    "phases",
    "max_current",
    "efficiency",
    "arrive",
    "depart",
)
# scenario key → core setting key, in the order they are applied (see _loadpoint_settings)
_LOADPOINT_SETTING_KEYS: dict[str, str] = {
    "mode": "mode",
    "minCurrent": "minCurrent",
    "maxCurrent": "maxCurrent",
    "phases": "phasesConfigured",
    "enableThreshold": "enableThreshold",
    "disableThreshold": "disableThreshold",
    "enableDelay_s": "enableDelay",
    "enableDelay": "enableDelay",
    "disableDelay_s": "disableDelay",
    "disableDelay": "disableDelay",
    "minSoc": "minSoc",
    "limitSoc": "limitSoc",
    "limitEnergy": "limitEnergy",
    "planSoc": "planSoc",
    "planEnergy": "planEnergy",
    "planTime": "planTime",
    "priority": "priority",
    "minSwitchInterval_s": "minSwitchInterval",
    "minSwitchInterval": "minSwitchInterval",
    "phaseSwitchCooldown_s": "phaseSwitchCooldown",
    "phaseSwitchCooldown": "phaseSwitchCooldown",
}
_LOADPOINT_KEYS = (*_LOADPOINT_SETTING_KEYS, "title", "charger", "vehicle", "commands")
# command keys beyond the loadpoint settings: scenario spellings of the same settings
_COMMAND_ALIASES: dict[str, str] = {
    "enableDelay_s": "enableDelay",
    "disableDelay_s": "disableDelay",
    "minSwitchInterval_s": "minSwitchInterval",
    "phaseSwitchCooldown_s": "phaseSwitchCooldown",
}


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
    top = _object(data, "scenario")
    _check_keys(top, "", _TOP_KEYS)
    name = _text(top, "name", "", "scenario")
    start = _time(top, "start", "", required=True)
    assert start is not None
    step_s = _number(top, "step_s", "", positive=True)
    interval_s = _number(top, "interval_s", "", positive=True)
    ratio = interval_s / step_s
    if ratio < 1 or abs(ratio - round(ratio)) > 1e-9:
        raise ScenarioError("interval_s", f"must be a multiple of step_s ({step_s:g})")
    voltage = _number(top, "voltage", "", default=230.0, positive=True)
    pv_w, home_w = _series(top.get("series"))
    end = start + timedelta(seconds=step_s * len(pv_w))
    site_settings, battery = _site(top.get("site"))
    grid_rates, feedin = _tariff(top.get("tariff"), start, end)

    raw_loadpoints = top.get("loadpoints")
    if not isinstance(raw_loadpoints, list):
        raise ScenarioError("loadpoints", "must be a list" if raw_loadpoints else "is required")
    loadpoints: list[LoadpointSpec] = []
    commands: list[CommandSpec] = []
    for index, raw in enumerate(raw_loadpoints):
        path = f"loadpoints[{index}]"
        spec = _loadpoint(raw, path, index, start, end)
        loadpoints.append(spec)
        commands += _commands(
            _object(raw, path).get("commands"), f"{path}.commands", index, start, end
        )
    commands += _commands(top.get("commands"), "commands", None, start, end)
    commands.sort(key=lambda c: c.at.timestamp())
    _dry_run(commands, loadpoints, site_settings, battery is not None)
    return Scenario(
        name=name,
        start=start,
        step_s=step_s,
        interval_s=interval_s,
        voltage=voltage,
        pv_w=pv_w,
        home_w=home_w,
        site_settings=site_settings,
        battery=battery,
        grid_rates=grid_rates,
        feedin=feedin,
        loadpoints=tuple(loadpoints),
        commands=tuple(commands),
    )


def _series(raw: object) -> tuple[tuple[float, ...], tuple[float, ...]]:
    if raw is None:
        raise ScenarioError("series", "is required")
    series = _object(raw, "series")
    _check_keys(series, "series", ("pv_w", "home_w"))
    columns: list[tuple[float, ...]] = []
    for key in ("pv_w", "home_w"):
        name = f"series.{key}"
        values = series.get(key)
        if values is None:
            raise ScenarioError(name, "is required")
        if not isinstance(values, list) or not values:
            raise ScenarioError(name, "must be a non-empty list of numbers")
        for i, value in enumerate(values):
            if not _is_number(value) or value < 0:
                raise ScenarioError(f"{name}[{i}]", "must be a non-negative number")
        columns.append(tuple(float(v) for v in values))
    pv_w, home_w = columns
    if len(home_w) != len(pv_w):
        raise ScenarioError(
            "series.home_w", f"has {len(home_w)} values but series.pv_w has {len(pv_w)}"
        )
    return pv_w, home_w


def _site(raw: object) -> tuple[SiteSettings, BatterySpec | None]:
    site = _object(raw, "site") if raw is not None else {}
    _check_keys(site, "site", _SITE_SCENARIO_KEYS)
    battery: BatterySpec | None = None
    raw_battery = site.get("battery")
    if raw_battery is not None:
        b = _object(raw_battery, "site.battery")
        _check_keys(b, "site.battery", _BATTERY_KEYS)
        path = "site.battery"
        battery = BatterySpec(
            capacity_kwh=_number(b, "capacity_kwh", path, positive=True),
            soc=_number(b, "soc", path, non_negative=True, maximum=100),
            max_charge_w=_number(b, "max_charge_w", path, non_negative=True),
            max_discharge_w=_number(b, "max_discharge_w", path, non_negative=True),
        )
    settings = SiteSettings()
    for key in ("residualPower", "prioritySoc", "bufferSoc", "bufferStartSoc"):
        value = site.get(key)
        if value is None:
            continue
        if key != "residualPower" and battery is None:
            if _is_number(value) and value == 0:
                continue  # 0 = off is fine without a battery
            raise ScenarioError(f"site.{key}", "needs a battery (site.battery)")
        try:
            apply_site_setting(settings, key, value, battery_configured=battery is not None)
        except SettingError as err:
            raise ScenarioError(f"site.{key}", str(err)) from None
    return settings, battery


def _tariff(
    raw: object, start: datetime, end: datetime
) -> tuple[tuple[Rate, ...] | None, float | None]:
    if raw is None:
        return None, None
    tariff = _object(raw, "tariff")
    _check_keys(tariff, "tariff", ("grid", "feedin"))
    feedin = _optional_number(tariff, "feedin", "tariff")
    grid = tariff.get("grid")
    if grid is None:
        return None, feedin
    if _is_number(grid):
        return (Rate(start, end, float(grid)),), feedin
    if not isinstance(grid, list) or not grid:
        raise ScenarioError("tariff.grid", "must be a price or a non-empty list of rates")
    rates: list[Rate] = []
    for i, raw_rate in enumerate(grid):
        path = f"tariff.grid[{i}]"
        rate = _object(raw_rate, path)
        _check_keys(rate, path, ("start", "end", "price", "value"))
        rate_start = _time(rate, "start", path, required=True)
        rate_end = _time(rate, "end", path, required=True)
        assert rate_start is not None and rate_end is not None
        if rate_end <= rate_start:
            raise ScenarioError(f"{path}.end", "must be after start")
        price_key = "price" if "price" in rate or "value" not in rate else "value"
        rates.append(Rate(rate_start, rate_end, _number(rate, price_key, path)))
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


def _charger(raw: object, path: str, max_current: float) -> ChargerSpec:
    charger = _object(raw, path) if raw is not None else {}
    _check_keys(charger, path, _CHARGER_KEYS)
    spec = ChargerSpec(
        phases=_choice(charger, "phases", path, (1, 3), 3),
        phases_switchable=_bool(charger, "phases_switchable", path, False),
        max_current=_number(
            charger, "max_current", path, default=max(32.0, max_current), positive=True
        ),
        response_delay_s=_number(charger, "response_delay_s", path, default=0.0, non_negative=True),
        phase_switch_pause_s=_number(
            charger, "phase_switch_pause_s", path, default=0.0, non_negative=True
        ),
    )
    if spec.phases_switchable and spec.phases != 3:
        raise ScenarioError(f"{path}.phases_switchable", "needs a charger with 3 phases")
    return spec


def _vehicle(raw: object, path: str, start: datetime, end: datetime) -> VehicleSpec | None:
    if raw is None:
        return None
    vehicle = _object(raw, path)
    _check_keys(vehicle, path, _VEHICLE_KEYS)
    soc = vehicle.get("soc")
    arrive = _time(vehicle, "arrive", path, required=False)
    depart = _time(vehicle, "depart", path, required=False)
    if arrive is not None and depart is not None and depart <= arrive:
        raise ScenarioError(f"{path}.depart", "must be after arrive")
    return VehicleSpec(
        title=_text(vehicle, "title", path, "Vehicle"),
        capacity_kwh=_number(vehicle, "capacity_kwh", path, positive=True),
        soc=None if soc is None else _number(vehicle, "soc", path, non_negative=True, maximum=100),
        phases=_choice(vehicle, "phases", path, (1, 2, 3), 3),
        max_current=_optional_number(vehicle, "max_current", path, positive=True),
        efficiency=_efficiency(vehicle, path),
        arrive=arrive,
        depart=depart,
    )


def _efficiency(vehicle: Mapping[str, Any], path: str) -> float:
    value = _number(vehicle, "efficiency", path, default=0.9, positive=True)
    if value > 1:
        raise ScenarioError(f"{path}.efficiency", "must be in (0, 1]")
    return value


def _loadpoint(raw: object, path: str, index: int, start: datetime, end: datetime) -> LoadpointSpec:
    lp = _object(raw, path)
    _check_keys(lp, path, _LOADPOINT_KEYS)
    title = _text(lp, "title", path, f"Loadpoint {index + 1}")
    max_current = lp.get("maxCurrent")
    charger = _charger(
        lp.get("charger"),
        f"{path}.charger",
        float(max_current) if _is_number(max_current) else 16.0,
    )
    vehicle = _vehicle(lp.get("vehicle"), f"{path}.vehicle", start, end)
    spec = LoadpointSpec(title, LoadpointSettings(), charger, vehicle)
    settings = LoadpointSettings(
        phases_configured=0 if charger.phases_switchable else charger.phases,
        max_current=min(16.0, charger.max_current),
        min_current=min(6.0, charger.max_current),
    )
    keys = [k for k in _LOADPOINT_SETTING_KEYS if lp.get(k) is not None]
    # min before max unless the new minimum is above the present maximum
    if "minCurrent" in keys and "maxCurrent" in keys:
        minimum = lp["minCurrent"]
        if _is_number(minimum) and minimum > settings.max_current:
            keys.remove("maxCurrent")
            keys.insert(keys.index("minCurrent"), "maxCurrent")
    config = spec.charger_config()
    for key in keys:
        try:
            apply_loadpoint_setting(settings, config, _LOADPOINT_SETTING_KEYS[key], lp[key], start)
        except SettingError as err:
            raise ScenarioError(f"{path}.{key}", str(err)) from None
    return replace(spec, settings=settings)


def _commands(
    raw: object, path: str, loadpoint: int | None, start: datetime, end: datetime
) -> list[CommandSpec]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise ScenarioError(path, "must be a list")
    result: list[CommandSpec] = []
    for i, raw_command in enumerate(raw):
        cpath = f"{path}[{i}]"
        command = _object(raw_command, cpath)
        _check_keys(command, cpath, ("at", "set"))
        at = _time(command, "at", cpath, required=True)
        assert at is not None
        if at < start or at >= end:
            raise ScenarioError(f"{cpath}.at", "outside the simulated span")
        values = command.get("set")
        if not isinstance(values, dict) or not values:
            raise ScenarioError(f"{cpath}.set", "must be an object of settings")
        for key in values:
            if key in SITE_KEYS:
                continue
            if loadpoint is None:
                raise ScenarioError(
                    f"{cpath}.set.{key}",
                    "not a site setting (loadpoint settings go in loadpoints[i].commands)",
                )
        result.append(CommandSpec(at, loadpoint, tuple(values.items()), cpath))
    return result


def _command_key(key: str) -> str:
    return _COMMAND_ALIASES.get(key, key)


def _dry_run(
    commands: Sequence[CommandSpec],
    loadpoints: Sequence[LoadpointSpec],
    site_settings: SiteSettings,
    battery: bool,
) -> None:
    """Apply every command to copies of the settings, so bad values fail before the run."""
    site = replace(site_settings)
    lp_settings = [replace(lp.settings) for lp in loadpoints]
    for command in commands:
        for key, value in command.values:
            try:
                if key in SITE_KEYS:
                    apply_site_setting(site, key, value, battery_configured=battery)
                else:
                    assert command.loadpoint is not None
                    index = command.loadpoint
                    apply_loadpoint_setting(
                        lp_settings[index],
                        loadpoints[index].charger_config(),
                        _command_key(key),
                        value,
                        command.at,
                    )
            except SettingError as err:
                raise ScenarioError(f"{command.path}.set.{key}", str(err)) from None


# --- building ----------------------------------------------------------------------------------


def build_site(scenario: Scenario, interval_s: float | None = None) -> Site:
    """The core site for a scenario (fresh settings copies: the core changes its own)."""
    tariffs: dict[str, Tariff] = {}
    if scenario.grid_rates is not None:
        tariffs["grid"] = RatesTariff(scenario.grid_rates)
    if scenario.feedin is not None:
        tariffs["feedin"] = FixedTariff(scenario.feedin, tz=scenario.start.tzinfo or UTC)
    config = SiteConfig(
        title=scenario.name,
        voltage=scenario.voltage,
        battery_configured=scenario.battery is not None,
    )
    return Site(
        config,
        [lp.config() for lp in scenario.loadpoints],
        replace(scenario.site_settings),
        [replace(lp.settings) for lp in scenario.loadpoints],
        tariffs=tariffs,
        interval_s=interval_s if interval_s is not None else scenario.interval_s,
    )


def build_devices(scenario: Scenario) -> SimSite:
    """The simulated household of a scenario, in its initial state."""
    chargers: list[SimCharger] = []
    for lp in scenario.loadpoints:
        v = lp.vehicle
        vehicle = (
            SimVehicle(
                v.title,
                v.capacity_kwh,
                v.soc if v.soc is not None else 0.0,
                phases=v.phases,
                max_current=v.max_current,
                efficiency=v.efficiency,
                arrive=v.arrive,
                depart=v.depart,
                has_soc=v.has_soc,
            )
            if v is not None
            else None
        )
        c = lp.charger
        chargers.append(
            SimCharger(
                phases=c.phases,
                phases_switchable=c.phases_switchable,
                max_current=c.max_current,
                response_delay_s=c.response_delay_s,
                phase_switch_pause_s=c.phase_switch_pause_s,
                voltage=scenario.voltage,
                vehicle=vehicle,
            )
        )
    b = scenario.battery
    battery = (
        SimBattery(b.capacity_kwh, b.soc, b.max_charge_w, b.max_discharge_w)
        if b is not None
        else None
    )
    return SimSite(chargers, battery, scenario.voltage)


# --- the trace ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LoadpointTrace:
    power_w: float
    current_a: float  # offered while enabled, else 0
    phases: int  # phases switched on at the charger
    enabled: bool
    connected: bool
    soc: float | None
    mode: str


@dataclass(frozen=True, slots=True)
class TraceRow:
    """One step: the flows over ``[time, time + step_s)`` and the device state at `time`."""

    time: datetime
    pv_w: float
    home_w: float
    ev_w: float
    battery_w: float
    battery_soc: float | None
    grid_w: float
    loadpoints: tuple[LoadpointTrace, ...]

    def csv_fields(self) -> list[str]:
        fields = [
            self.time.isoformat(),
            _exact(self.pv_w),
            _exact(self.home_w),
            _num(self.ev_w),
            _num(self.battery_w),
            _num(self.battery_soc),
            _num(self.grid_w),
        ]
        for lp in self.loadpoints:
            fields += [
                _num(lp.power_w),
                _num(lp.current_a),
                str(lp.phases),
                "1" if lp.enabled else "0",
                "1" if lp.connected else "0",
                _num(lp.soc),
                lp.mode,
            ]
        return fields


def trace_header(loadpoints: int) -> list[str]:
    """The trace CSV header for `loadpoints` loadpoints."""
    header = list(TRACE_COLUMNS)
    for i in range(1, loadpoints + 1):
        header += [f"lp{i}_{column}" for column in LOADPOINT_TRACE_COLUMNS]
    return header


def _exact(value: float) -> str:
    """An input value, written so that it reads back identically."""
    return str(int(value)) if value.is_integer() else repr(value)


def _num(value: float | None) -> str:
    if value is None:
        return ""
    text = f"{value:.3f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


# --- running -----------------------------------------------------------------------------------


@dataclass(slots=True)
class SimulationResult:
    scenario: Scenario
    controller: str
    metrics: dict[str, Any]
    trace: list[TraceRow]
    wall_time_s: float = 0.0
    cycles: int = 0
    events: int = 0

    @property
    def trace_header(self) -> list[str]:
        return trace_header(len(self.scenario.loadpoints))

    def trace_rows(self) -> Iterator[list[str]]:
        for row in self.trace:
            yield row.csv_fields()

    def write_trace(self, target: str | Path | IO[str]) -> None:
        """Write the trace CSV (header first) to a path or an open text file."""
        if isinstance(target, str | Path):
            with open(target, "w", newline="", encoding="utf-8") as handle:
                self.write_trace(handle)
            return
        writer = csv.writer(target, lineterminator="\n")
        writer.writerow(self.trace_header)
        writer.writerows(self.trace_rows())


@dataclass(slots=True)
class _Goal:
    """What a loadpoint was asked for (follows the commands; the core clears plans itself)."""

    limit_soc: int
    limit_energy: float
    plan_time: datetime | None
    plan_soc: int
    plan_energy: float

    def update(self, settings: LoadpointSettings) -> None:
        self.limit_soc = settings.limit_soc
        self.limit_energy = settings.limit_energy
        self.plan_time = settings.plan_time
        self.plan_soc = settings.plan_soc
        self.plan_energy = settings.plan_energy


@dataclass(slots=True)
class _Counters:
    ev_wh: float = 0.0
    ev_solar_wh: float = 0.0
    ev_battery_wh: float = 0.0
    ev_grid_wh: float = 0.0
    import_wh: float = 0.0
    export_wh: float = 0.0
    cost: float = 0.0
    charger_switches: list[int] = field(default_factory=list)
    phase_switches: list[int] = field(default_factory=list)


class Simulation:
    """One run of a scenario through the core: step by step, a control cycle every interval."""

    def __init__(self, scenario: Scenario, controller: str = "evcc") -> None:
        if controller not in CONTROLLERS:
            raise ScenarioError(
                "controller", f"unknown controller {controller!r} (known: {', '.join(CONTROLLERS)})"
            )
        self.scenario = scenario
        self.controller = controller
        self.site = build_site(scenario)
        self.devices = build_devices(scenario)
        count = len(scenario.loadpoints)
        self._enabled = [False] * count  # last commanded enable state
        self._phases = [c.connected_phases for c in self.devices.chargers]
        self._counters = _Counters(charger_switches=[0] * count, phase_switches=[0] * count)
        self._goals = [
            _Goal(s.limit_soc, s.limit_energy, s.plan_time, s.plan_soc, s.plan_energy)
            for s in (lp.settings for lp in scenario.loadpoints)
        ]
        self._prices = _step_prices(scenario)
        self._feedin = scenario.feedin or 0.0
        self.cycles = 0
        self.events = 0

    # --- commands ------------------------------------------------------------------------------

    def _send(self, index: int, now: datetime, command: ChargerCommand | None) -> None:
        if command is None or not command:
            return
        counters = self._counters
        if command.enable is not None and command.enable != self._enabled[index]:
            counters.charger_switches[index] += 1
            self._enabled[index] = command.enable
        if command.phases is not None and command.phases != self._phases[index]:
            counters.phase_switches[index] += 1
            self._phases[index] = command.phases
        self.devices.command(index, now, command)

    def _apply_setting(self, command: CommandSpec, now: datetime) -> None:
        for key, value in command.values:
            try:
                if key in SITE_KEYS:
                    self.site.set_site_setting(key, value)
                    continue
                assert command.loadpoint is not None
                index = command.loadpoint
                _, charger_command = self.site.set_loadpoint_setting(
                    index, _command_key(key), value, now
                )
            except SettingError as err:
                raise ScenarioError(f"{command.path}.set.{key}", str(err)) from None
            self._goals[index].update(self.site.loadpoints[index].settings)
            self._send(index, now, charger_command)

    # --- the run -------------------------------------------------------------------------------

    def run(self) -> SimulationResult:
        started = time.perf_counter()
        sc = self.scenario
        site, devices = self.site, self.devices
        step_s = sc.step_s
        per_cycle = sc.steps_per_cycle
        commands = list(sc.commands)
        next_command = 0
        trace: list[TraceRow] = []
        count = len(sc.loadpoints)
        # state after each step, for target_met: SoC (physical) and charged energy per loadpoint
        soc_after: list[list[float]] = [[] for _ in range(count)]
        energy_after: list[list[float]] = [[] for _ in range(count)]
        clock = ManualClock(sc.start)
        for k in range(sc.steps):
            clock.set(sc.start + timedelta(seconds=k * step_s))  # no drift from summing steps
            now = clock.now()
            pv_w, home_w = sc.pv_w[k], sc.home_w[k]
            devices.advance(now)
            while next_command < len(commands) and commands[next_command].at <= now:
                self._apply_setting(commands[next_command], now)
                next_command += 1
            if k % per_cycle == 0:
                result = site.update(now, devices.readings(now, pv_w, home_w, step_s))
                self.cycles += 1
                self.events += len(result.events)
                for index, command in enumerate(result.commands):
                    self._send(index, now, command)
                devices.advance(now)
            row_state = self._state(now)
            battery_soc = devices.battery.soc if devices.battery is not None else None
            flows = devices.step(now, pv_w, home_w, step_s)
            self._account(k, flows)
            trace.append(
                TraceRow(
                    now,
                    pv_w,
                    home_w,
                    flows.ev_total_w,
                    flows.battery_w,
                    battery_soc,
                    flows.grid_w,
                    tuple(
                        replace(state, power_w=power)
                        for state, power in zip(row_state, flows.ev_w, strict=True)
                    ),
                )
            )
            for i, charger in enumerate(devices.chargers):
                vehicle = charger.vehicle
                soc_after[i].append(vehicle.soc if vehicle is not None else 0.0)
                energy_after[i].append(vehicle.charged_kwh if vehicle is not None else 0.0)
        metrics = self._metrics(soc_after, energy_after)
        return SimulationResult(
            scenario=sc,
            controller=self.controller,
            metrics=metrics,
            trace=trace,
            wall_time_s=time.perf_counter() - started,
            cycles=self.cycles,
            events=self.events,
        )

    def _state(self, now: datetime) -> tuple[LoadpointTrace, ...]:
        states: list[LoadpointTrace] = []
        for charger, lp in zip(self.devices.chargers, self.site.loadpoints, strict=True):
            vehicle = charger.vehicle
            states.append(
                LoadpointTrace(
                    power_w=0.0,
                    current_a=charger.current if charger.enabled else 0.0,
                    phases=charger.phases,
                    enabled=charger.enabled,
                    connected=charger.connected(now),
                    soc=vehicle.soc if vehicle is not None and vehicle.has_soc else None,
                    mode=lp.settings.mode.value,
                )
            )
        return tuple(states)

    def _account(self, k: int, flows: SimPowers) -> None:
        c = self._counters
        hours = self.scenario.step_s / 3600.0
        pv_w, home_w, ev_w = flows.pv_w, flows.home_w, flows.ev_total_w
        surplus = max(0.0, pv_w - home_w)
        ev_solar = min(ev_w, surplus)
        ev_battery = min(ev_w - ev_solar, max(0.0, -flows.battery_w - max(0.0, home_w - pv_w)))
        ev_grid = ev_w - ev_solar - ev_battery
        c.ev_wh += ev_w * hours
        c.ev_solar_wh += ev_solar * hours
        c.ev_battery_wh += ev_battery * hours
        c.ev_grid_wh += ev_grid * hours
        grid_import = max(0.0, flows.grid_w)
        grid_export = max(0.0, -flows.grid_w)
        c.import_wh += grid_import * hours
        c.export_wh += grid_export * hours
        c.cost += (grid_import * self._prices[k] - grid_export * self._feedin) * hours / 1000.0

    def _metrics(
        self, soc_after: Sequence[Sequence[float]], energy_after: Sequence[Sequence[float]]
    ) -> dict[str, Any]:
        c = self._counters
        sc = self.scenario
        final_soc: list[float | None] = []
        target_met: list[bool | None] = []
        for i, lp in enumerate(sc.loadpoints):
            vehicle = self.devices.chargers[i].vehicle
            has_soc = vehicle is not None and vehicle.has_soc
            final_soc.append(round(vehicle.soc, 2) if vehicle is not None and has_soc else None)
            target_met.append(self._target_met(i, lp, soc_after[i], energy_after[i]))
        ev_kwh = c.ev_wh / 1000.0
        return {
            "ev_energy_kwh": round(ev_kwh, 4),
            "ev_solar_kwh": round(c.ev_solar_wh / 1000.0, 4),
            "ev_battery_kwh": round(c.ev_battery_wh / 1000.0, 4),
            "ev_grid_kwh": round(c.ev_grid_wh / 1000.0, 4),
            "solar_share": round(c.ev_solar_wh / c.ev_wh, 4) if c.ev_wh > 0 else 0.0,
            "grid_import_kwh": round(c.import_wh / 1000.0, 4),
            "grid_export_kwh": round(c.export_wh / 1000.0, 4),
            "charger_switches": list(c.charger_switches),
            "phase_switches": list(c.phase_switches),
            "final_soc": final_soc,
            "target_met": target_met,
            "cost": round(c.cost, 4),
            "steps": sc.steps,
        }

    def _target_met(
        self,
        index: int,
        lp: LoadpointSpec,
        soc_after: Sequence[float],
        energy_after: Sequence[float],
    ) -> bool | None:
        """Limit or plan goal reached by the plan time or the departure (None: no goal set)."""
        vehicle = lp.vehicle
        if vehicle is None:
            return None
        goal = self._goals[index]
        sc = self.scenario
        deadline = vehicle.depart or sc.end
        if goal.plan_time is not None:
            deadline = min(deadline, goal.plan_time)
            if vehicle.has_soc:
                limit = goal.limit_soc if 0 < goal.limit_soc < 100 else 100
                soc_goal: float | None = float(goal.plan_soc or limit)
                energy_goal: float | None = None
            else:
                soc_goal, energy_goal = None, goal.plan_energy or goal.limit_energy or None
        elif vehicle.has_soc:
            soc_goal = float(goal.limit_soc) if 0 < goal.limit_soc < 100 else None
            energy_goal = None
        else:
            soc_goal, energy_goal = None, goal.limit_energy or None
        if soc_goal is None and energy_goal is None:
            return None
        done = math.floor((deadline - sc.start).total_seconds() / sc.step_s + 1e-9)
        done = min(max(done, 0), sc.steps)
        if soc_goal is not None:
            soc = soc_after[done - 1] if done > 0 else (vehicle.soc or 0.0)
            return soc >= soc_goal - _SOC_EPSILON
        assert energy_goal is not None
        energy = energy_after[done - 1] if done > 0 else 0.0
        return energy >= energy_goal - _ENERGY_EPSILON_KWH


def _step_prices(scenario: Scenario) -> list[float]:
    """The grid price of every step (0 without a tariff)."""
    rates = scenario.grid_rates
    if not rates:
        return [0.0] * scenario.steps
    prices: list[float] = []
    index = 0
    start_ts = scenario.start.timestamp()
    for k in range(scenario.steps):
        ts = start_ts + k * scenario.step_s
        while index < len(rates) - 1 and rates[index].end.timestamp() <= ts:
            index += 1
        rate = rates[index]
        inside = rate.start.timestamp() <= ts < rate.end.timestamp()
        prices.append(rate.price if inside else _price_at(rates, ts))
    return prices


def _price_at(rates: Sequence[Rate], ts: float) -> float:
    for rate in rates:
        if rate.start.timestamp() <= ts < rate.end.timestamp():
            return rate.price
    return 0.0


def run_scenario(
    scenario: Scenario | Mapping[str, Any] | str | Path, controller: str = "evcc"
) -> SimulationResult:
    """Run a scenario (parsed, as a JSON dict, or a file path) and return metrics and trace."""
    if isinstance(scenario, str | Path):
        parsed = load_scenario(scenario)
    elif isinstance(scenario, Scenario):
        parsed = scenario
    else:
        parsed = parse_scenario(scenario)
    return Simulation(parsed, controller).run()

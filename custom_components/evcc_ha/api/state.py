"""The evcc state document: what `/api/state`, `/ws`, MQTT and diagnostics all read.

`build_state(site, now)` turns the core's state after one cycle into the JSON document evcc serves
at `/api/state`. It is pure (no Home Assistant, no I/O, no wall clock) and is called once per
cycle by the shell; every reader shares that one document and never re-derives values.

The document carries the old key names of the documented API (evcc ≤ 0.122: `targetSoc`,
`targetTime`, `gridPower`, `chargeCurrent`, `batteryPower`, …) next to current evcc's (`limitSoc`,
`planTime`, `grid{…}`, `offeredCurrent`, `vehicles{name: …}`, …), so clients of either generation
find what they read. Encoding follows current evcc (≥ 0.127): durations in whole seconds, unset
times `null`, other times RFC 3339, floats rounded to 3 decimals (whole numbers as integers, as Go
prints them), NaN/Inf as `null`.

Shape decisions where old and current evcc disagree (the key name is the same):
* `battery` is the list of batteries `[{power, soc, capacity, energy, controllable}]` (evcc up to
  0.300) with the flat `batteryPower`/`batterySoc`/… keys beside it; ha-evcc picks list or object
  by shape, and the list belongs to the evcc generation announced in `version`.
* `vehicles` is current evcc's map `{name: {title, capacity, minSoc, limitSoc, plan}}` (old evcc
  had a list of titles); ha-evcc requires the map and a `title` in every vehicle.
* `version` is "0.207.0": the first evcc without the `{"result": …}` wrapper, with the `grid`
  object and tariff endpoints, which is what ha-evcc's version gates look for.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from datetime import datetime, time, timedelta, tzinfo
from typing import Any

from ..core.loadpoint import Loadpoint
from ..core.model import MeterReading
from ..core.site import Site
from ..core.tariff import Rate, current_rate, format_rfc3339

__all__ = [
    "EVCC_VERSION",
    "build_state",
    "clean",
    "flatten_state",
    "format_time",
]

EVCC_VERSION = "0.207.0"
"""The evcc version this API presents (clients gate features on it)."""

_INT_LIMIT = 2**53  # beyond this a float is not an exact integer in JSON readers


# --- value encoding ------------------------------------------------------------------------------


def _number(value: float, digits: int | None = 3) -> float | int | None:
    """3 decimals; whole numbers as int (Go prints 80, not 80.0); NaN/Inf → None."""
    if value == 0:
        return 0  # the most common value, and -0.0 prints as 0
    if not math.isfinite(value):
        return None
    rounded = round(value, digits) if digits is not None else value
    whole = int(rounded)
    if rounded == whole and abs(rounded) < _INT_LIMIT:
        return whole
    return rounded


def clean(value: Any, digits: int | None = 3) -> Any:
    """A JSON-ready copy: floats rounded to `digits` (None: kept) with whole numbers as int,
    datetimes RFC 3339, timedeltas whole seconds, tuples as lists, enums as their value."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, str):
        return str(value)  # a StrEnum becomes its plain value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return _number(value, digits)
    if isinstance(value, datetime):
        return format_time(value)
    if isinstance(value, timedelta):
        return _seconds(value.total_seconds())
    if isinstance(value, Mapping):
        return {str(k): clean(v, digits) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean(v, digits) for v in value]
    return str(value)  # other stringers, as evcc's encoder


def format_time(value: datetime | None) -> str | None:
    """RFC 3339 in the value's own offset (Z for UTC); None for an unset time."""
    # the offset is part of the key: equal instants in two zones hash alike
    return _rfc3339(value, value.utcoffset()) if value is not None else None


@functools.lru_cache(maxsize=1024)
def _rfc3339(value: datetime, _offset: timedelta | None) -> str:
    """Cached: the same few times (plan target, projected start, end) appear every cycle."""
    return format_rfc3339(value)


def _seconds(value: float) -> int:
    return round(value) if math.isfinite(value) else 0


# --- vehicles ------------------------------------------------------------------------------------


def _optional(value: float | None) -> float | int | None:
    return _number(value) if value is not None else None


# --- the document --------------------------------------------------------------------------------


def build_state(
    site: Site,
    now: datetime,
    *,
    version: str = EVCC_VERSION,
    currency: str = "EUR",
    tz: tzinfo | None = None,
) -> dict[str, Any]:
    """The evcc state document of `site` at `now` (bare, no `result` wrapper)."""
    doc: dict[str, Any] = {}
    doc.update(_site_keys(site))
    doc.update(_tariff_keys(site))
    doc.update(_forecast_keys(site, now, tz))
    doc["statistics"] = _statistics(site, now)
    doc["vehicles"] = {name: _vehicle(site, name, now) for name in site.vehicles}
    doc["telemetry"] = site.telemetry
    doc["version"] = version
    doc["currency"] = currency
    doc["loadpoints"] = [_loadpoint(lp, now) for lp in site.loadpoints]
    return doc


def _site_keys(site: Site) -> dict[str, Any]:
    config, m, s = site.config, site.measurements, site.settings
    doc: dict[str, Any] = {
        "siteTitle": config.title,
        "gridConfigured": config.grid_configured,
        "pvConfigured": config.pv_configured,
        "batteryConfigured": config.battery_configured,
        "interval": _number(site.interval_s),
    }
    # grid: old flat keys and current object
    grid: dict[str, Any] = {"power": _number(m.grid_power)}
    doc["gridPower"] = grid["power"]
    if m.grid_powers is not None:
        grid["powers"] = doc["gridPowers"] = [_number(p) for p in m.grid_powers]
    if m.grid_currents is not None:
        grid["currents"] = doc["gridCurrents"] = [_number(c) for c in m.grid_currents]
    if m.grid_energy is not None:
        grid["energy"] = doc["gridEnergy"] = _number(m.grid_energy)
    doc["grid"] = grid
    # pv
    doc["pvPower"] = _number(m.pv_power)
    if m.pv_energy is not None:
        doc["pvEnergy"] = _number(m.pv_energy)
    doc["pv"] = [_meter(pv) for pv in m.pv]
    # battery (list shape, see module doc)
    if config.battery_configured:
        doc["batteryPower"] = _number(m.battery_power)
        if m.battery_soc is not None:
            doc["batterySoc"] = _number(m.battery_soc)
        if m.battery_capacity is not None:
            doc["batteryCapacity"] = _number(m.battery_capacity)
        energies = [b.energy for b in m.battery if b.energy is not None]
        if energies:
            doc["batteryEnergy"] = _number(sum(energies))
        controllable = config.battery_controllable
        doc["battery"] = [{**_meter(b), "controllable": controllable} for b in m.battery]
        # battery control (evcc): the mode set, and what sets it
        doc["batteryMode"] = site.battery_mode.value
        doc["batteryDischargeControl"] = s.battery_discharge_control
        doc["batteryGridChargeLimit"] = _optional(s.battery_grid_charge_limit)
        doc["batteryGridChargeActive"] = site.battery_grid_charge_active
    doc["auxPower"] = _number(m.aux_power)
    doc["homePower"] = _number(m.home_power)
    doc["greenShareHome"] = _number(m.green_share_home)
    doc["greenShareLoadpoints"] = _number(m.green_share_loadpoints)
    doc["residualPower"] = _number(s.residual_power)
    doc["prioritySoc"] = _number(s.priority_soc)
    doc["bufferSoc"] = _number(s.buffer_soc)
    doc["bufferStartSoc"] = _number(s.buffer_start_soc)
    doc["solarAdjusted"] = s.solar_adjusted
    if site.circuits:  # evcc publishes circuits only where load management is configured
        doc["circuits"] = {name: clean(c.as_json()) for name, c in site.circuits.items()}
    return doc


def _meter(reading: MeterReading) -> dict[str, Any]:
    """One pv/battery entry: power always, the other values when the meter has them."""
    entry: dict[str, Any] = {"power": _number(reading.power)}
    if reading.energy is not None:
        entry["energy"] = _number(reading.energy)
    if reading.soc is not None:
        entry["soc"] = _number(reading.soc)
    if reading.capacity is not None:
        entry["capacity"] = _number(reading.capacity)
    return entry


def _tariff_keys(site: Site) -> dict[str, Any]:
    """This cycle's prices (`tariffGrid`, `tariffFeedIn`, green-share weighted home and loadpoint
    price) and evcc's planner tariff type."""
    doc: dict[str, Any] = {}
    prices, m = site.prices, site.measurements
    if prices.grid is not None:
        doc["tariffGrid"] = _number(prices.grid)
    if prices.feedin is not None:
        doc["tariffFeedIn"] = _number(prices.feedin)
    for key, share in (
        ("tariffPriceHome", m.green_share_home),
        ("tariffPriceLoadpoints", m.green_share_loadpoints),
    ):
        if (price := prices.effective(share)) is not None:
            doc[key] = _number(price)
    if prices.co2 is not None:
        doc["tariffCo2"] = _number(prices.co2)
    for key, share in (
        ("tariffCo2Home", m.green_share_home),
        ("tariffCo2Loadpoints", m.green_share_loadpoints),
    ):
        if (co2 := prices.effective_co2(share)) is not None:
            doc[key] = _number(co2)
    planner = site.planner_tariff()
    if planner is None:
        doc["smartCostType"] = None
    else:
        doc["smartCostType"] = "priceforecast" if planner.dynamic else "pricestatic"
    # evcc: the smart limits are offered where the tariff changes over the day
    doc["smartCostAvailable"] = planner is not None and planner.dynamic
    feedin = site.tariffs.get("feedin")
    doc["smartFeedInPriorityAvailable"] = feedin is not None and feedin.dynamic
    return doc


def _forecast_keys(site: Site, now: datetime, tz: tzinfo | None) -> dict[str, Any]:
    """evcc's `forecast`: the dynamic tariffs as `[start, end, value]` (unix seconds) and the
    solar forecast (`timeseries` of `[ts, W]`, the energy left today, tomorrow's and the day
    after's in Wh, complete when the forecast covers the whole day, `scale` = today's production
    ÷ its forecast so far); `tariffSolar` = W now."""
    forecast: dict[str, Any] = {}
    for key, tariff in (
        ("grid", site.tariffs.get("grid")),
        ("feedin", site.tariffs.get("feedin")),
        ("planner", site.planner_tariff()),
        ("co2", site.tariffs.get("co2")),
    ):
        if tariff is not None and tariff.dynamic and (rates := tariff.rates(now)):
            forecast[key] = [[r.start_ts, r.end_ts, _number(r.price)] for r in rates]
    doc: dict[str, Any] = {}
    solar = site.tariffs.get("solar")
    rates = solar.rates(now) if solar is not None else ()
    if rates:
        local = now.astimezone(tz) if tz is not None else now
        midnight = datetime.combine(local.date(), time(), local.tzinfo)
        days = [midnight + timedelta(days=n) for n in range(4)]
        last = rates[-1].end
        forecast["solar"] = {
            "scale": _number(round(site.solar_day.scale, 3)),
            "timeseries": [[int(r.start_ts), _number(r.price)] for r in rates],
            "today": _day(rates, now, days[1], last),
            "tomorrow": _day(rates, days[1], days[2], last),
            "dayAfterTomorrow": _day(rates, days[2], days[3], last),
        }
        if (current := current_rate(rates, now)) is not None:
            doc["tariffSolar"] = _number(current.price)
    if forecast:
        doc["forecast"] = forecast
    return doc


def _day(rates: Sequence[Rate], start: datetime, end: datetime, last: datetime) -> dict[str, Any]:
    """The forecast energy (Wh) from `start` to `end`, and whether the forecast reaches `end`."""
    a, b = start.timestamp(), end.timestamp()
    wh = sum(r.price * max(0.0, min(b, r.end_ts) - max(a, r.start_ts)) / 3600.0 for r in rates)
    return {"energy": _number(round(wh, 1)), "complete": last >= end}


def _statistics(site: Site, now: datetime) -> dict[str, Any]:
    """evcc's charging statistics (30 days, 365 days, this year, total)."""
    return {
        window: {
            "avgCo2": _number(totals.avg_co2),
            "avgPrice": _number(totals.avg_price),
            "chargedKWh": _number(totals.charged_kwh),
            "solarPercentage": _number(totals.solar_percentage),
        }
        for window, totals in site.sessions.statistics(now).items()
    }


def _vehicle(site: Site, name: str, now: datetime) -> dict[str, Any]:
    """evcc's entry of one vehicle: what it is and its own settings (wherever it is)."""
    vehicle = site.vehicles[name]
    s = site.vehicle_settings(name)
    entry: dict[str, Any] = {
        "title": vehicle.title,
        "icon": "car",
        "capacity": _number(vehicle.capacity_kwh),
        "phases": vehicle.phases,
        "minSoc": s.min_soc,
        "limitSoc": s.limit_soc,
        "features": [] if vehicle.has_soc else ["Offline"],
        "planStrategy": s.plan_strategy.as_json(),
        "repeatingPlans": [plan.as_json() for plan in s.repeating_plans],
    }
    if name in site.vehicle_modes:
        entry["mode"] = site.vehicle_modes[name].value
    owner = site.vehicle_owner(name)
    goal = owner.plan_goal() if owner is not None else ("soc", float(s.plan_soc or s.limit_soc))
    if goal is not None and goal[0] == "soc" and s.plan_time is not None and s.plan_time > now:
        entry["plan"] = {"soc": _number(goal[1]), "time": format_time(s.plan_time)}
    return entry


def _loadpoint(lp: Loadpoint, now: datetime) -> dict[str, Any]:
    s, charger, vehicle = lp.settings, lp.config.charger, lp.vehicle  # None: a guest car
    values = lp.vehicle_values
    plan = lp.effective_plan(now)
    planner = lp.planner
    connected_for = (
        (now - lp.connected_since).total_seconds()
        if lp.connected and lp.connected_since is not None
        else 0.0
    )
    offered = _number(lp.offered_current)
    session_wh = _number(lp.session_energy_wh)
    min_current, max_current = _number(s.min_current), _number(s.max_current)
    limit_energy = _number(s.limit_energy)
    plan_time = format_time(s.plan_time)
    doc: dict[str, Any] = {
        "title": lp.config.title,
        "mode": s.mode.value,
        "priority": s.priority,
        "enabled": lp.enabled,
        "connected": lp.connected,
        "charging": lp.charging,
        "chargePower": _number(lp.charge_power),
        "chargeCurrent": offered,  # old name of offeredCurrent
        "offeredCurrent": offered,
    }
    if lp.charge_currents is not None:
        doc["chargeCurrents"] = [_number(c) for c in lp.charge_currents]
    if lp.charge_voltages is not None:
        doc["chargeVoltages"] = [_number(v) for v in lp.charge_voltages]
    if lp.charge_total_kwh is not None:
        doc["chargeTotalImport"] = _number(lp.charge_total_kwh)
    doc.update(
        {
            # session (energies in Wh, as evcc publishes them)
            "sessionEnergy": session_wh,
            "chargedEnergy": session_wh,
            "sessionSolarPercentage": _number(lp.session_solar_percentage),
            "sessionPrice": _optional(lp.session_cost),
            "sessionPricePerKWh": _optional(
                lp.session_cost / (lp.session_energy_wh / 1000.0)
                if lp.session_cost is not None and lp.session_energy_wh > 0
                else None
            ),
            "sessionCo2PerKWh": _optional(lp.session_co2_per_kwh),
            "chargeDuration": _seconds(lp.charge_duration),
            "connectedDuration": _seconds(connected_for),
            "chargeRemainingDuration": _seconds(lp.remaining_duration()),
            "chargeRemainingEnergy": _number(lp.remaining_energy_wh()),
            # settings
            "minCurrent": min_current,
            "maxCurrent": max_current,
            "effectiveMinCurrent": min_current,
            "effectiveMaxCurrent": max_current,
            "enableThreshold": _number(s.enable_threshold),
            "disableThreshold": _number(s.disable_threshold),
            "enableDelay": _seconds(s.enable_delay),
            "disableDelay": _seconds(s.disable_delay),
            "effectivePriority": s.priority,
            # phases
            "phasesConfigured": s.phases_configured,
            "phasesEnabled": lp.physical_phases,
            "phasesActive": lp.active_phases,
            "chargerPhases1p3p": charger.phases_switchable,
            "chargerPhaseSwitching": charger.phases_switchable,
            "chargerSinglePhase": charger.phases == 1,
            "chargerFeatureIntegratedDevice": False,
            "chargerFeatureHeating": False,
            "chargerFeatureSwitchDevice": False,
            "disabled": False,  # a loadpoint evcc_ha knows is controlled
            "chargerIcon": None,
            # timers
            "controlProfile": s.control_profile.value,  # evcc_ha's own (evcc / smooth)
            "pvAction": lp.pv_action.value,
            "pvRemaining": _seconds(lp.pv_remaining),
            "phaseAction": lp.phase_action.value,
            "phaseRemaining": _seconds(lp.phase_remaining),
            # limits: old names, current names
            "minSoc": s.min_soc,
            "effectiveMinSoc": s.min_soc,
            "targetSoc": s.limit_soc,
            "limitSoc": s.limit_soc,
            "effectiveLimitSoc": lp.effective_limit_soc,
            "targetEnergy": limit_energy,
            "limitEnergy": limit_energy,
            # plan: old name, current names
            "targetTime": plan_time,
            "planTime": plan_time,
            "planSoc": s.plan_soc,
            "planEnergy": _number(s.plan_energy),
            # the plan followed: the static one or the next repeating plan (evcc's planId)
            "effectivePlanTime": format_time(plan.time) if plan is not None else None,
            "effectivePlanSoc": _number(plan.goal)
            if plan is not None and plan.kind == "soc"
            else 0,
            "effectivePlanId": plan.id if plan is not None else 0,
            "planActive": lp.plan_active,
            # one strategy per loadpoint, its vehicle's too: the effective one is the same
            "planStrategy": s.plan_strategy.as_json(),
            "effectivePlanStrategy": s.plan_strategy.as_json(),
            "planProjectedStart": format_time(planner.projected_start),
            "planProjectedEnd": format_time(planner.projected_end),
            "planOverrun": _seconds(planner.overrun.total_seconds()),
            # charge when cheap (evcc's smart cost limit)
            "smartCostLimit": _optional(s.smart_cost_limit),
            "smartCostActive": lp.smart_cost_active,
            "smartCostNextStart": format_time(lp.smart_cost_next_start),
            # feed in rather than charge while it pays (evcc's smart feed-in priority)
            "smartFeedInPriorityLimit": _optional(s.smart_feed_in_priority_limit),
            "smartFeedInPriorityActive": lp.smart_feed_in_active,
            "smartFeedInPriorityNextStart": format_time(lp.smart_feed_in_next_start),
            # charge the car from the home battery once (evcc's battery boost)
            "batteryBoost": s.battery_boost,
            "batteryBoostLimit": s.battery_boost_limit,
            # vehicle
            "vehicleName": lp.vehicle_name if vehicle is not None else "",
            "vehicleTitle": vehicle.title if vehicle is not None else "",
            "vehiclePresent": vehicle is not None,
            "vehicleSoc": _number(lp.vehicle_soc) if lp.vehicle_soc is not None else 0,
            "vehicleDetectionActive": lp.detecting_since is not None,
            # from the car's integration; 0 / false while unknown, as evcc
            "vehicleRange": _number(round(values.range_km)) if values.range_km is not None else 0,
            "vehicleOdometer": (
                _number(round(values.odometer_km, 1)) if values.odometer_km is not None else 0
            ),
            "vehicleLimitSoc": _number(values.limit_soc) if values.limit_soc is not None else 0,
            "vehicleClimaterActive": bool(values.climater_active),
            "vehicleWelcomeActive": lp.welcome_active(now),
            # evcc_ha's own: energy counted here over the loadpoint's life (survives restarts)
            "lifetimeEnergy": _number(lp.energy.lifetime_wh / 1000.0),
        }
    )
    if vehicle is not None:
        doc["vehicleCapacity"] = _number(vehicle.capacity_kwh)
        doc["vehicleFeatureOffline"] = not vehicle.has_soc
    return doc


# --- /ws -----------------------------------------------------------------------------------------


def flatten_state(state: Mapping[str, Any]) -> dict[str, Any]:
    """The /ws view of a state document: site keys as they are, loadpoint keys as
    `loadpoints.<0-based index>.<key>` (evcc's websocket keys)."""
    flat: dict[str, Any] = {}
    for key, value in state.items():
        if key == "loadpoints" and isinstance(value, list):
            for index, lp in enumerate(value):
                for lp_key, lp_value in lp.items():
                    flat[f"loadpoints.{index}.{lp_key}"] = lp_value
        else:
            flat[key] = value
    return flat

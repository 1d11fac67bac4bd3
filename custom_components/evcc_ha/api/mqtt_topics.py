"""The state document as evcc's MQTT topic tree, and the `/set` topics back to settings.

Encoding as current evcc's publisher (server/mqtt.go): site keys at `<root>/site/<key>`,
`<root>/loadpoints` = their number and each loadpoint's keys at `<root>/loadpoints/<1-based>/<key>`,
`<root>/vehicles` = their number and each vehicle at `<root>/vehicles/<name>/…`. Floats with up
to 3 decimals (trailing zeros removed), booleans `true`/`false`, times as unix seconds,
durations whole seconds (they already are in the document); a top-level list of three numbers
(phase values) as `/l1 /l2 /l3` plus the sum on the topic itself; other lists as their length
plus `/1…/n`; objects as sub-topics. A null, an empty text or an unset time has no payload:
it is not part of the tree (a retained topic that held a value is cleared).

This module is pure: the publisher (`mqtt.py`) decides what to send when.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from ..core.settings import LoadpointKey, SiteKey, parse_rfc3339

__all__ = [
    "LOADPOINT_SETTERS",
    "SITE_SETTERS",
    "VEHICLE_SETTERS",
    "SetTopic",
    "Setter",
    "encode_float",
    "parse_set_topic",
    "topic_tree",
]

# Keys of the state document that hold a time (RFC 3339 there, unix seconds on MQTT).
TIME_KEYS: Final = frozenset(
    {
        "planTime",
        "targetTime",
        "effectivePlanTime",
        "planProjectedStart",
        "planProjectedEnd",
        "smartCostNextStart",
        "smartFeedInPriorityNextStart",
        "time",
    }
)
# The user's document's readable loadpoint topics (evcc's old names) → the state key they show.
SEED_LOADPOINT_TOPICS: Final[Mapping[str, str]] = {
    "phases": "phasesEnabled",
    "enable/threshold": "enableThreshold",
    "disable/threshold": "disableThreshold",
    "target/soc": "limitSoc",
    "target/energy": "limitEnergy",
    "target/time": "planTime",
}
# Never published (as evcc: log lines, authentication, release notes).
SKIPPED_KEYS: Final = frozenset({"log", "auth", "releaseNotes", ""})


def roots_overlap(one: str, other: str) -> bool:
    """Two root topics whose trees would mix (the same, or one inside the other)."""
    return one == other or one.startswith(other + "/") or other.startswith(one + "/")


def encode_float(value: float) -> str:
    """evcc's `%.3f` with trailing zeros and the dot removed (`4140`, `1234.568`, `-0`)."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return f"{value:.3f}".rstrip("0").rstrip(".")


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _scalar(key: str, value: object) -> str | None:
    """The payload of one value, None when it has none (null, empty text, unset time)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return encode_float(value)
    text = str(value)
    if not text:
        return None
    if key in TIME_KEYS:
        try:
            return str(int(parse_rfc3339(text).timestamp()))
        except ValueError:
            return text
    return text


def _walk(tree: dict[str, str], topic: str, key: str, value: object) -> None:
    if isinstance(value, Mapping):
        for sub_key, sub_value in value.items():
            if str(sub_key) not in SKIPPED_KEYS:
                _walk(tree, f"{topic}/{sub_key}", str(sub_key), sub_value)
        return
    if isinstance(value, list | tuple):
        tree[topic] = str(len(value))
        for position, item in enumerate(value, start=1):
            _walk(tree, f"{topic}/{position}", key, item)
        return
    payload = _scalar(key, value)
    if payload is not None:
        tree[topic] = payload


def _top(tree: dict[str, str], topic: str, key: str, value: object) -> None:
    """A key of the site or of a loadpoint: three numbers are phase values (l1, l2, l3, sum)."""
    if isinstance(value, list | tuple) and len(value) == 3 and all(map(_is_number, value)):
        for phase, item in enumerate(value, start=1):
            tree[f"{topic}/l{phase}"] = encode_float(float(item))
        tree[topic] = encode_float(float(sum(value)))
        return
    _walk(tree, topic, key, value)


def topic_tree(root: str, state: Mapping[str, Any]) -> dict[str, str]:
    """Every topic → payload of the state document under `root`."""
    tree: dict[str, str] = {}
    for key, value in state.items():
        if key in SKIPPED_KEYS:
            continue
        if key == "loadpoints" and isinstance(value, list):
            tree[f"{root}/loadpoints"] = str(len(value))
            for number, loadpoint in enumerate(value, start=1):
                for lp_key, lp_value in loadpoint.items():
                    if lp_key not in SKIPPED_KEYS:
                        _top(tree, f"{root}/loadpoints/{number}/{lp_key}", lp_key, lp_value)
                for alias, lp_key in SEED_LOADPOINT_TOPICS.items():
                    if lp_key in loadpoint:
                        _top(tree, f"{root}/loadpoints/{number}/{alias}", lp_key, loadpoint[lp_key])
        elif key == "vehicles" and isinstance(value, Mapping):
            tree[f"{root}/vehicles"] = str(len(value))
            for name, vehicle in value.items():
                _walk(tree, f"{root}/vehicles/{name}", str(name), vehicle)
        elif key == "forecast" and isinstance(value, Mapping):
            _forecast(tree, f"{root}/site/forecast", value)
        else:
            _top(tree, f"{root}/site/{key}", key, value)
    return tree


def _forecast(tree: dict[str, str], topic: str, forecast: Mapping[str, Any]) -> None:
    """Series as one JSON payload each, as evcc (hundreds of slots are not topics of their own);
    the solar day totals as topics."""
    for name, value in forecast.items():
        if isinstance(value, Mapping):
            for sub_key, sub_value in value.items():
                if isinstance(sub_value, list):
                    tree[f"{topic}/{name}/{sub_key}"] = _json(sub_value)
                else:
                    _walk(tree, f"{topic}/{name}/{sub_key}", str(sub_key), sub_value)
        else:
            tree[f"{topic}/{name}"] = _json(value)


def _json(value: object) -> str:
    return json.dumps(value, separators=(",", ":"), allow_nan=False)


# --- writes ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Setter:
    """What a `/set` topic changes: one setting, or a plan (`plan`: "energy" / "soc"), with the
    value from the payload or (`value_in_topic`) from the topic (the seed's `target/soc/80`)."""

    key: LoadpointKey | SiteKey | None = None
    plan: str | None = None
    value_in_topic: bool = False
    battery_mode: bool = False  # the battery mode from outside (not a stored setting)
    vehicle_mode: bool = False  # the mode a loadpoint takes when the vehicle arrives


# Current evcc's loadpoint setters, old names (0.122) and the seed document's spellings.
LOADPOINT_SETTERS: Final[Mapping[str, Setter]] = {
    "mode": Setter(LoadpointKey.MODE),
    "controlProfile": Setter(LoadpointKey.CONTROL_PROFILE),
    "phasesConfigured": Setter(LoadpointKey.PHASES_CONFIGURED),
    "phases": Setter(LoadpointKey.PHASES_CONFIGURED),
    "limitSoc": Setter(LoadpointKey.LIMIT_SOC),
    "targetSoc": Setter(LoadpointKey.LIMIT_SOC),
    "target/soc": Setter(LoadpointKey.LIMIT_SOC),
    "minSoc": Setter(LoadpointKey.MIN_SOC),
    "priority": Setter(LoadpointKey.PRIORITY),
    "minCurrent": Setter(LoadpointKey.MIN_CURRENT),
    "maxCurrent": Setter(LoadpointKey.MAX_CURRENT),
    "limitEnergy": Setter(LoadpointKey.LIMIT_ENERGY),
    "targetEnergy": Setter(LoadpointKey.LIMIT_ENERGY),
    "target/energy": Setter(LoadpointKey.LIMIT_ENERGY),
    "targetTime": Setter(LoadpointKey.PLAN_TIME),
    "target/time": Setter(LoadpointKey.PLAN_TIME),
    "enableThreshold": Setter(LoadpointKey.ENABLE_THRESHOLD),
    "enable/threshold": Setter(LoadpointKey.ENABLE_THRESHOLD),
    "disableThreshold": Setter(LoadpointKey.DISABLE_THRESHOLD),
    "disable/threshold": Setter(LoadpointKey.DISABLE_THRESHOLD),
    "enableDelay": Setter(LoadpointKey.ENABLE_DELAY),
    "disableDelay": Setter(LoadpointKey.DISABLE_DELAY),
    "planEnergy": Setter(plan="energy"),
    "planStrategy": Setter(LoadpointKey.PLAN_STRATEGY),  # JSON {"continuous", "precondition"}
    "batteryBoost": Setter(LoadpointKey.BATTERY_BOOST),
    "vehicle": Setter(LoadpointKey.VEHICLE),  # a vehicle name or title; none / - : a guest car
    "batteryBoostLimit": Setter(LoadpointKey.BATTERY_BOOST_LIMIT),
    "smartCostLimit": Setter(LoadpointKey.SMART_COST_LIMIT),
    "smartFeedInPriorityLimit": Setter(LoadpointKey.SMART_FEED_IN_PRIORITY_LIMIT),
    # the seed document's form with the value in the topic
    "target/soc/+": Setter(LoadpointKey.LIMIT_SOC, value_in_topic=True),
    "target/energy/+": Setter(LoadpointKey.LIMIT_ENERGY, value_in_topic=True),
    "target/time/+": Setter(LoadpointKey.PLAN_TIME, value_in_topic=True),
}
SITE_SETTERS: Final[Mapping[str, Setter]] = {
    "bufferSoc": Setter(SiteKey.BUFFER_SOC),
    "bufferStartSoc": Setter(SiteKey.BUFFER_START_SOC),
    "prioritySoc": Setter(SiteKey.PRIORITY_SOC),
    "residualPower": Setter(SiteKey.RESIDUAL_POWER),
    "smartCostLimit": Setter(LoadpointKey.SMART_COST_LIMIT),  # every loadpoint's
    "smartFeedInPriorityLimit": Setter(LoadpointKey.SMART_FEED_IN_PRIORITY_LIMIT),  # every lp's
    "batteryDischargeControl": Setter(SiteKey.BATTERY_DISCHARGE_CONTROL),
    "batteryGridChargeLimit": Setter(SiteKey.BATTERY_GRID_CHARGE_LIMIT),
    "solarAdjusted": Setter(SiteKey.SOLAR_ADJUSTED),
    "batteryMode": Setter(battery_mode=True),  # normal / hold / charge; null ends it
}
VEHICLE_SETTERS: Final[Mapping[str, Setter]] = {
    "minSoc": Setter(LoadpointKey.MIN_SOC),
    "limitSoc": Setter(LoadpointKey.LIMIT_SOC),
    "planSoc": Setter(plan="soc"),
    "planStrategy": Setter(LoadpointKey.PLAN_STRATEGY),
    # beyond evcc's MQTT (REST only there): the mode (none / - clears it), the plans as JSON
    "mode": Setter(vehicle_mode=True),
    "repeatingPlans": Setter(LoadpointKey.REPEATING_PLANS),
}


@dataclass(frozen=True, slots=True)
class SetTopic:
    """A `/set` topic taken apart: where (site, loadpoint number, vehicle name) and what."""

    scope: str  # "site", "loadpoint", "vehicle"
    setter: Setter
    loadpoint: int | None = None  # 1-based
    vehicle: str | None = None
    topic_value: str | None = None  # the value of a seed-style topic


def parse_set_topic(root: str, topic: str) -> SetTopic | None:
    """The setter a `<root>/…/set` topic addresses, or None when it addresses none."""
    prefix = root + "/"
    if not topic.startswith(prefix) or not topic.endswith("/set"):
        return None
    parts = topic[len(prefix) : -len("/set")].split("/")
    if len(parts) >= 2 and parts[0] == "site":
        setter = SITE_SETTERS.get("/".join(parts[1:]))
        return SetTopic("site", setter) if setter else None
    if len(parts) >= 3 and parts[0] == "loadpoints":
        number = parts[1]
        if not number.isdigit() or len(number) > 6 or int(number) < 1:
            return None
        key = "/".join(parts[2:])
        if (setter := LOADPOINT_SETTERS.get(key)) is not None:
            return SetTopic("loadpoint", setter, loadpoint=int(number))
        wildcard = "/".join([*parts[2:-1], "+"])
        setter = LOADPOINT_SETTERS.get(wildcard)
        if setter is not None and setter.value_in_topic:
            return SetTopic("loadpoint", setter, loadpoint=int(number), topic_value=parts[-1])
        return None
    if len(parts) == 3 and parts[0] == "vehicles":
        setter = VEHICLE_SETTERS.get(parts[2])
        return SetTopic("vehicle", setter, vehicle=parts[1]) if setter else None
    return None

"""schemathesis checks for the evcc API fuzz run (scripts/fuzz).

`rejected_request_changes_nothing`: every request answered with a 4xx leaves all settings of the
site and of every loadpoint as they were (the live values of the demo site, such as powers, move
on by themselves and are not compared).
"""

from __future__ import annotations

import json
import os
import urllib.request
from typing import Any

import schemathesis

BASE_URL = os.environ.get("EVCC_FUZZ_URL", "http://127.0.0.1:7070")

SITE_SETTINGS = ("residualPower", "prioritySoc", "bufferSoc", "bufferStartSoc", "telemetry")
LOADPOINT_SETTINGS = (
    "mode",
    "minSoc",
    "limitSoc",
    "limitEnergy",
    "planTime",
    "planEnergy",
    "minCurrent",
    "maxCurrent",
    "phasesConfigured",
    "enableThreshold",
    "disableThreshold",
    "enableDelay",
    "disableDelay",
    "priority",
)

_before: dict[int, dict[str, Any]] = {}


def settings_snapshot() -> dict[str, Any]:
    with urllib.request.urlopen(BASE_URL + "/api/state", timeout=10) as response:
        state = json.loads(response.read())
    snapshot: dict[str, Any] = {key: state.get(key) for key in SITE_SETTINGS}
    for index, loadpoint in enumerate(state.get("loadpoints", [])):
        for key in LOADPOINT_SETTINGS:
            snapshot[f"loadpoints.{index}.{key}"] = loadpoint.get(key)
    for name, vehicle in (state.get("vehicles") or {}).items():
        for key in ("minSoc", "limitSoc", "plan"):
            snapshot[f"vehicles.{name}.{key}"] = vehicle.get(key)
    return snapshot


@schemathesis.hook
def before_call(ctx: Any, case: Any, kwargs: dict[str, Any]) -> None:
    if case.method.upper() != "GET":
        _before[id(case)] = settings_snapshot()


@schemathesis.check
def rejected_request_changes_nothing(ctx: Any, response: Any, case: Any) -> bool | None:
    before = _before.pop(id(case), None)
    if before is None or not 400 <= response.status_code < 500:
        return None
    after = settings_snapshot()
    changed = {k: (before[k], after.get(k)) for k in before if before[k] != after.get(k)}
    if changed:
        raise AssertionError(f"rejected {case.method} {case.path} changed settings: {changed}")
    return None

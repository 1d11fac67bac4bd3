"""schemathesis hooks and checks for the evcc API fuzz run (scripts/fuzz).

`hostile_path_values`: besides what schemathesis generates from the schema, every path value is
also tried as a huge number (300 and 5000 digits, 1e309), a long string and other values that
overflowed or crashed before.

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
from hypothesis import strategies as st

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

HOSTILE_VALUES = (
    "9" * 300,
    "9" * 5000,
    "1" + "0" * 400,
    "0." + "0" * 300 + "1",
    "1e309",
    "-" + "9" * 300,
    "." * 500,
    "a" * 2000,
    "2026-06-21T10:00:00." + "0" * 1000 + "Z",
    "99999-12-31T23:59:59Z",
)


@schemathesis.hook
def flatmap_path_parameters(ctx: Any, path_parameters: dict[str, Any]) -> Any:
    """The generated values, or one of them replaced by a hostile value."""
    if not path_parameters:
        return st.just(path_parameters)
    return st.one_of(
        st.just(path_parameters),
        st.builds(
            lambda key, value: {**path_parameters, key: value},
            st.sampled_from(sorted(path_parameters)),
            st.sampled_from(HOSTILE_VALUES),
        ),
    )


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

"""evcc's MQTT encoding of the state document (spec §3.1 and server/mqtt.go's test vectors)."""

from __future__ import annotations

import pytest

from custom_components.evcc_ha.api.mqtt_topics import (
    encode_float,
    parse_set_topic,
    topic_tree,
)
from custom_components.evcc_ha.core.settings import LoadpointKey, SiteKey


@pytest.mark.parametrize(
    ("value", "payload"),
    [
        (4140.0, "4140"),
        (1234.5678, "1234.568"),
        (0.0, "0"),
        (-0.0004, "-0"),
        (90.0, "90"),
        (0.1, "0.1"),
        (float("nan"), "NaN"),
        (float("inf"), "+Inf"),
    ],
)
def test_floats_as_evcc(value: float, payload: str) -> None:
    assert encode_float(value) == payload


def test_site_loadpoint_and_vehicle_topics() -> None:
    state = {
        "siteTitle": "Home",
        "gridPower": -1200.5,
        "batteryConfigured": True,
        "gridCurrents": [-1.83, -1.65, -1.74],
        "grid": {"power": -1200.5, "currents": [-1.83, -1.65, -1.74]},
        "pv": [{"power": 3000, "energy": 1234.5}],
        "statistics": {"30d": {"chargedKWh": 210.4}},
        "tariffGrid": None,
        "version": "0.207.0",
        "vehicles": {
            "id_3": {"title": "ID.3", "plan": {"soc": 80, "time": "2026-06-22T05:00:00Z"}}
        },
        "loadpoints": [
            {
                "mode": "pv",
                "charging": False,
                "chargeCurrents": [6, 6, 0],
                "planTime": "2026-06-22T07:00:00+02:00",
                "planProjectedStart": None,
                "smartFeedInPriorityNextStart": "2026-06-22T06:00:00+02:00",
                "chargeDuration": 2700,
                "vehicleName": "",
                "phasesEnabled": 3,
                "enableThreshold": -500,
                "limitSoc": 80,
            }
        ],
    }
    tree = topic_tree("evcc", state)
    assert tree == {
        "evcc/site/siteTitle": "Home",
        "evcc/site/gridPower": "-1200.5",
        "evcc/site/batteryConfigured": "true",
        # a top-level three-phase list: l1..l3 and the sum
        "evcc/site/gridCurrents/l1": "-1.83",
        "evcc/site/gridCurrents/l2": "-1.65",
        "evcc/site/gridCurrents/l3": "-1.74",
        "evcc/site/gridCurrents": "-5.22",
        # nested lists are plain lists: count and 1-based items
        "evcc/site/grid/power": "-1200.5",
        "evcc/site/grid/currents": "3",
        "evcc/site/grid/currents/1": "-1.83",
        "evcc/site/grid/currents/2": "-1.65",
        "evcc/site/grid/currents/3": "-1.74",
        "evcc/site/pv": "1",
        "evcc/site/pv/1/power": "3000",
        "evcc/site/pv/1/energy": "1234.5",
        "evcc/site/statistics/30d/chargedKWh": "210.4",
        "evcc/site/version": "0.207.0",
        "evcc/vehicles": "1",
        "evcc/vehicles/id_3/title": "ID.3",
        "evcc/vehicles/id_3/plan/soc": "80",
        "evcc/vehicles/id_3/plan/time": "1782104400",
        "evcc/loadpoints": "1",
        "evcc/loadpoints/1/mode": "pv",
        "evcc/loadpoints/1/charging": "false",
        "evcc/loadpoints/1/chargeCurrents/l1": "6",
        "evcc/loadpoints/1/chargeCurrents/l2": "6",
        "evcc/loadpoints/1/chargeCurrents/l3": "0",
        "evcc/loadpoints/1/chargeCurrents": "12",
        "evcc/loadpoints/1/planTime": "1782104400",  # unix seconds
        "evcc/loadpoints/1/smartFeedInPriorityNextStart": "1782100800",
        "evcc/loadpoints/1/chargeDuration": "2700",
        "evcc/loadpoints/1/phasesEnabled": "3",
        "evcc/loadpoints/1/enableThreshold": "-500",
        "evcc/loadpoints/1/limitSoc": "80",
        # the user's document's readable names, beside current evcc's
        "evcc/loadpoints/1/phases": "3",
        "evcc/loadpoints/1/enable/threshold": "-500",
        "evcc/loadpoints/1/target/soc": "80",
        "evcc/loadpoints/1/target/time": "1782104400",
    }  # null, empty text and an unset time have no topic


@pytest.mark.parametrize(
    ("topic", "scope", "key", "number", "value"),
    [
        ("evcc/site/bufferSoc/set", "site", SiteKey.BUFFER_SOC, None, None),
        ("evcc/loadpoints/1/mode/set", "loadpoint", LoadpointKey.MODE, 1, None),
        ("evcc/loadpoints/2/phases/set", "loadpoint", LoadpointKey.PHASES_CONFIGURED, 2, None),
        ("evcc/loadpoints/1/targetSoc/set", "loadpoint", LoadpointKey.LIMIT_SOC, 1, None),
        ("evcc/loadpoints/1/target/soc/set", "loadpoint", LoadpointKey.LIMIT_SOC, 1, None),
        ("evcc/loadpoints/1/target/soc/80/set", "loadpoint", LoadpointKey.LIMIT_SOC, 1, "80"),
        (
            "evcc/loadpoints/1/enable/threshold/set",
            "loadpoint",
            LoadpointKey.ENABLE_THRESHOLD,
            1,
            None,
        ),
        ("evcc/vehicles/id_3/limitSoc/set", "vehicle", LoadpointKey.LIMIT_SOC, None, None),
    ],
)
def test_set_topics(
    topic: str, scope: str, key: object, number: int | None, value: str | None
) -> None:
    target = parse_set_topic("evcc", topic)
    assert target is not None
    assert (target.scope, target.setter.key, target.loadpoint, target.topic_value) == (
        scope,
        key,
        number,
        value,
    )


@pytest.mark.parametrize(
    "topic",
    [
        "evcc/loadpoints/1/mode",
        "evcc/loadpoints/0/mode/set",
        "evcc/loadpoints/x/mode/set",
        "evcc/loadpoints/" + "9" * 20 + "/mode/set",
        "evcc/loadpoints/1/chargePower/set",
        "evcc/site/gridPower/set",
        "other/loadpoints/1/mode/set",
        "evcc/vehicles/id_3/title/set",
    ],
)
def test_topics_that_set_nothing(topic: str) -> None:
    assert parse_set_topic("evcc", topic) is None

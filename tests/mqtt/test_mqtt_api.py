"""evcc's MQTT API against a real Mosquitto, through Home Assistant's own MQTT connection, read and
written with mosquitto_sub / mosquitto_pub as evcc's users do."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Any
from unittest.mock import patch

import pytest
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.evcc_ha.api.mqtt_topics import topic_tree
from custom_components.evcc_ha.const import (
    CONF_DEMO,
    CONF_MQTT_ENABLED,
    CONF_MQTT_READ_ONLY,
    CONF_MQTT_TOPIC,
    CONF_SITE_TITLE,
    DOMAIN,
)
from tests.fakes import FakeSite, setup_entry, site_entry, use_devices

from .conftest import Broker, until


async def demo_site(hass: HomeAssistant, **options: Any) -> MockConfigEntry:
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Demo",
        data={CONF_SITE_TITLE: "Demo", CONF_DEMO: True},
        options=options,
        version=1,
        minor_version=2,
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    await until(lambda: entry.runtime_data.mqtt_api is not None)
    await asyncio.wait_for(entry.runtime_data.mqtt_api.ready.wait(), 15)
    return entry


def lp(entry: MockConfigEntry) -> dict[str, Any]:
    loadpoints: list[dict[str, Any]] = entry.runtime_data.controller.state()["loadpoints"]
    return loadpoints[0]


def state(entry: MockConfigEntry) -> dict[str, Any]:
    doc: dict[str, Any] = entry.runtime_data.controller.state()
    return doc


async def tree_matches(broker: Broker, entry: MockConfigEntry, root: str = "evcc") -> None:
    """The broker holds exactly the state document's tree (plus status and updated)."""
    expected = topic_tree(root, state(entry))
    for _ in range(20):
        retained = await broker.retained(f"{root}/#", wait_s=0.5)
        assert retained.pop(f"{root}/status") == "online"
        assert int(retained.pop(f"{root}/updated")) > 0
        if retained == expected:
            return
        await asyncio.sleep(0.1)
        expected = topic_tree(root, state(entry))
    missing = {k: v for k, v in expected.items() if retained.get(k) != v}
    extra = {k: v for k, v in retained.items() if k not in expected}
    raise AssertionError(f"tree differs: missing/changed {missing}, extra {extra}")


@pytest.mark.usefixtures("mqtt_entry")
async def test_demo_tree_is_the_state_document(hass: HomeAssistant, broker: Broker) -> None:
    """`mosquitto_sub -v -t 'evcc/#'` shows evcc's tree for the demo site."""
    entry = await demo_site(hass)
    await tree_matches(broker, entry)
    retained = await broker.retained()
    doc = state(entry)
    assert retained["evcc/loadpoints"] == "2"
    assert retained["evcc/loadpoints/1/title"] == "Carport"
    assert retained["evcc/loadpoints/2/title"] == "Garage"
    assert retained["evcc/loadpoints/1/mode"] == doc["loadpoints"][0]["mode"]
    assert retained["evcc/loadpoints/1/connected"] in ("true", "false")
    assert retained["evcc/vehicles"] == "2"  # the ID.3 of the Carport and the Zoe
    assert retained["evcc/vehicles/id_3/title"] == "ID.3"
    assert retained["evcc/site/siteTitle"] == "Demo"
    assert retained["evcc/site/batteryConfigured"] == "true"
    assert float(retained["evcc/site/pvPower"]) == pytest.approx(doc["pvPower"], abs=0.001)
    assert await hass.config_entries.async_unload(entry.entry_id)


@pytest.mark.usefixtures("mqtt_entry")
async def test_seed_example_changes_the_phases(hass: HomeAssistant, broker: Broker) -> None:
    """`mosquitto_pub -t "evcc/loadpoints/1/phases/set" -m "3"` (the user's document)."""
    entry = await demo_site(hass)
    assert lp(entry)["phasesConfigured"] == 0
    await broker.publish("evcc/loadpoints/1/phases/set", "3")
    await until(lambda: lp(entry)["phasesConfigured"] == 3)
    # the echo goes out at once, not at the next cycle (30 s away)
    for _ in range(10):
        if (await broker.retained("evcc/loadpoints/1/phasesConfigured")).get(
            "evcc/loadpoints/1/phasesConfigured"
        ) == "3":
            break
    else:
        raise AssertionError("phasesConfigured not echoed")
    assert await hass.config_entries.async_unload(entry.entry_id)


FUTURE = (dt_util.utcnow() + timedelta(hours=20)).replace(microsecond=0)
FUTURE_TEXT = FUTURE.strftime("%Y-%m-%dT%H:%M:%SZ")

# (topic under evcc/, valid payload, state key it changes and its new value, a bad payload)
SETTERS: list[tuple[str, str, str, Any, str]] = [
    ("site/bufferSoc", "50", "bufferSoc", 50, "150"),
    ("site/prioritySoc", "30", "prioritySoc", 30, "x"),
    ("site/bufferStartSoc", "90", "bufferStartSoc", 90, "-1"),
    ("site/residualPower", "100", "residualPower", 100, "abc"),
    ("site/batteryDischargeControl", "true", "batteryDischargeControl", True, "sometimes"),
    ("site/batteryGridChargeLimit", "0.1", "batteryGridChargeLimit", 0.1, "cheap"),
    ("site/batteryGridChargeLimit", "null", "batteryGridChargeLimit", None, None),
    ("site/solarAdjusted", "1", "solarAdjusted", True, "yes"),
    ("loadpoints/1/mode", "pv", "mode", "pv", None),
    ("loadpoints/1/batteryBoost", "true", "batteryBoost", True, "2"),
    ("loadpoints/1/batteryBoostLimit", "30", "batteryBoostLimit", 30, "130"),
    ("loadpoints/1/mode", "now", "mode", "now", "fast"),
    ("loadpoints/1/controlProfile", "smooth", "controlProfile", "smooth", "jerky"),
    ("loadpoints/1/phasesConfigured", "1", "phasesConfigured", 1, "7"),
    ("loadpoints/1/phases", "0", "phasesConfigured", 0, "2"),
    ("loadpoints/1/minSoc", "20", "minSoc", 20, "101"),
    ("loadpoints/1/limitSoc", "90", "limitSoc", 90, "x"),
    ("loadpoints/1/targetSoc", "85", "limitSoc", 85, "-3"),
    ("loadpoints/1/target/soc", "70", "limitSoc", 70, "1e309"),
    ("loadpoints/1/target/soc/75", "75", "limitSoc", 75, None),
    ("loadpoints/1/minCurrent", "7", "minCurrent", 7, "1"),
    ("loadpoints/1/maxCurrent", "20", "maxCurrent", 20, "100"),
    ("loadpoints/1/enableThreshold", "-500", "enableThreshold", -500, "nan"),
    ("loadpoints/1/enable/threshold", "-400", "enableThreshold", -400, "9" * 300),
    ("loadpoints/1/disableThreshold", "200", "disableThreshold", 200, "true"),
    ("loadpoints/1/disable/threshold", "300", "disableThreshold", 300, "-"),
    ("loadpoints/1/enableDelay", "30", "enableDelay", 30, "-5"),
    ("loadpoints/1/disableDelay", "120", "disableDelay", 120, "1e18"),
    ("loadpoints/1/priority", "2", "priority", 2, "1.5"),
    ("loadpoints/1/limitEnergy", "10", "limitEnergy", 10, "-1"),
    ("loadpoints/1/targetEnergy", "12", "limitEnergy", 12, "2000"),
    ("loadpoints/1/target/energy", "14", "limitEnergy", 14, "x"),
    ("loadpoints/1/targetTime", FUTURE_TEXT, "planTime", FUTURE_TEXT, "2000-01-01T00:00:00Z"),
    ("loadpoints/1/target/time", "null", "planTime", None, "tomorrow"),
    (
        "loadpoints/1/planEnergy",
        f'{{"value": 5, "time": "{FUTURE_TEXT}"}}',
        "planEnergy",
        5,
        '{"value": 5}',
    ),
    (
        "loadpoints/1/planStrategy",
        '{"continuous": true, "precondition": 900}',
        "planStrategy",
        {"continuous": True, "precondition": 900},
        '{"continuous": "yes"}',
    ),
    (
        "vehicles/id_3/planStrategy",
        '{"precondition": 1800}',
        "effectivePlanStrategy",
        {"continuous": False, "precondition": 1800},
        '{"precondition": -1}',
    ),
    (
        "vehicles/id_3/repeatingPlans",
        '[{"weekdays": [1], "time": "07:00", "tz": "UTC", "soc": 70, "active": true}]',
        "repeatingPlans",
        [{"weekdays": [1], "time": "07:00", "tz": "UTC", "soc": 70, "active": True}],
        '[{"weekdays": [9], "time": "07:00"}]',
    ),
    ("loadpoints/1/vehicle", "none", "vehicleName", "", "tesla"),
    ("loadpoints/1/vehicle", "Zoe", "vehicleName", "zoe", None),
    ("loadpoints/1/vehicle", "id_3", "vehicleName", "id_3", None),
    # the Zoe is at no loadpoint now: its settings wait for it
    ("vehicles/zoe/limitSoc", "70", "limitSoc", 70, "101"),
    ("vehicles/zoe/mode", "now", "mode", "now", "turbo"),
    ("loadpoints/1/smartCostLimit", "0.25", "smartCostLimit", 0.25, "nan"),
    ("loadpoints/1/smartCostLimit", "null", "smartCostLimit", None, None),
    ("loadpoints/1/smartFeedInPriorityLimit", "0.1", "smartFeedInPriorityLimit", 0.1, "lots"),
    ("vehicles/id_3/minSoc", "15", "minSoc", 15, "x"),
    ("vehicles/id_3/limitSoc", "80", "limitSoc", 80, "200"),
    (
        "vehicles/id_3/planSoc",
        f'{{"value": 60, "time": "{FUTURE_TEXT}"}}',
        "planSoc",
        60,
        "{broken",
    ),
]


def value_of(entry: MockConfigEntry, topic: str, key: str) -> Any:
    if key == "repeatingPlans" or topic.startswith("vehicles/zoe/"):  # a vehicle's own
        return state(entry)["vehicles"][topic.split("/")[1]].get(key)
    return (state(entry) if topic.startswith("site/") else lp(entry))[key]


@pytest.mark.usefixtures("mqtt_entry")
async def test_every_set_topic(
    hass: HomeAssistant, broker: Broker, caplog: pytest.LogCaptureFixture
) -> None:
    """Every writable topic: a valid payload changes the setting (and the /set topic is cleared
    afterwards), a bad one is logged once and changes nothing."""
    caplog.set_level(logging.WARNING, logger="custom_components.evcc_ha")
    entry = await demo_site(hass)
    for topic, good, key, expected, bad in SETTERS:
        await broker.publish(f"evcc/{topic}/set", good, retain=True)
        await until(lambda t=topic, k=key, e=expected: value_of(entry, t, k) == e)
        if bad is None:
            continue
        before = state(entry)
        await broker.publish(f"evcc/{topic}/set", bad)
        await until(lambda t=topic: f"set evcc/{t}/set: " in caplog.text)
        assert caplog.text.count(f"set evcc/{topic}/set: ") == 1
        assert state(entry) == before, topic
    assert "Traceback" not in caplog.text
    # evcc clears every handled /set topic (they were published retained)
    assert not [t for t in await broker.retained() if t.endswith("/set")]
    await tree_matches(broker, entry)
    assert await hass.config_entries.async_unload(entry.entry_id)


@pytest.mark.usefixtures("mqtt_entry")
async def test_a_burst_of_writes_ends_with_the_last(
    hass: HomeAssistant, broker: Broker, caplog: pytest.LogCaptureFixture
) -> None:
    entry = await demo_site(hass)
    modes = ["now", "pv", "turbo", "minpv", "off"]
    payloads = [modes[i % len(modes)] for i in range(199)] + ["minpv"]
    process = await asyncio.create_subprocess_exec(
        *("mosquitto_pub", "-h", "127.0.0.1", "-p", str(broker.port), "-q", "1"),
        *("-t", "evcc/loadpoints/1/mode/set", "-l"),
        stdin=asyncio.subprocess.PIPE,
    )
    await process.communicate("\n".join(payloads).encode() + b"\n")
    api = entry.runtime_data.mqtt_api
    await until(lambda: api._writes.empty() and lp(entry)["mode"] == "minpv", 20)
    await asyncio.sleep(0.5)
    assert lp(entry)["mode"] == "minpv"
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert caplog.text.count("set evcc/loadpoints/1/mode/set: invalid value: turbo") == 40
    assert await hass.config_entries.async_unload(entry.entry_id)


@pytest.mark.usefixtures("mqtt_entry")
async def test_broker_restart(hass: HomeAssistant, broker: Broker) -> None:
    """After the broker comes back: online again, the whole tree again, writes work again."""
    with patch("homeassistant.components.mqtt.client.RECONNECT_INTERVAL_SECONDS", 0.5):
        entry = await demo_site(hass)
        await tree_matches(broker, entry)
        broker.stop()
        await asyncio.sleep(1)
        broker.start()  # no persistence: the retained tree is gone
        for _ in range(30):
            retained = await broker.retained()
            if retained.get("evcc/status") == "online" and "evcc/loadpoints/1/mode" in retained:
                break
        else:
            raise AssertionError("tree not published again after the reconnect")
        await tree_matches(broker, entry)
        await broker.publish("evcc/loadpoints/1/mode/set", "now")
        await until(lambda: lp(entry)["mode"] == "now")
        assert await hass.config_entries.async_unload(entry.entry_id)


@pytest.mark.usefixtures("mqtt_entry")
async def test_unload_leaves_only_offline(hass: HomeAssistant, broker: Broker) -> None:
    entry = await demo_site(hass)
    runtime = entry.runtime_data
    assert len(await broker.retained()) > 50
    assert await hass.config_entries.async_unload(entry.entry_id)
    assert await broker.retained() == {"evcc/status": "offline"}
    assert runtime.mqtt_api is None


@pytest.mark.usefixtures("mqtt_entry")
async def test_topics_of_a_removed_loadpoint_are_cleared(
    hass: HomeAssistant, broker: Broker
) -> None:
    for topic, payload in (
        ("evcc/loadpoints/3/mode", "pv"),
        ("evcc/loadpoints/3/chargePower", "4140"),
        ("evcc/vehicles/old_car/title", "Old car"),
        ("evcc/status", "offline"),
    ):
        await broker.publish(topic, payload, retain=True)
    entry = await demo_site(hass)
    retained = await broker.retained()
    assert not [t for t in retained if t.startswith(("evcc/loadpoints/3", "evcc/vehicles/old"))]
    assert retained["evcc/status"] == "online"
    assert await hass.config_entries.async_unload(entry.entry_id)


@pytest.mark.usefixtures("mqtt_entry")
async def test_own_root_and_read_only(
    hass: HomeAssistant, broker: Broker, caplog: pytest.LogCaptureFixture
) -> None:
    entry = await demo_site(hass, **{CONF_MQTT_TOPIC: "home/evcc", CONF_MQTT_READ_ONLY: True})
    await tree_matches(broker, entry, "home/evcc")
    mode = lp(entry)["mode"]
    await broker.publish("home/evcc/loadpoints/1/mode/set", "now" if mode != "now" else "pv")
    await asyncio.sleep(1)
    assert lp(entry)["mode"] == mode  # read-only: /set is not even subscribed
    assert "evcc/loadpoints/1/mode" not in await broker.retained()
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_without_mqtt_in_home_assistant(
    hass: HomeAssistant, caplog: pytest.LogCaptureFixture
) -> None:
    """No MQTT broker configured: said once in the log, the site works."""
    caplog.set_level(logging.INFO, logger="custom_components.evcc_ha")
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Demo",
        data={CONF_SITE_TITLE: "Demo", CONF_DEMO: True},
        version=1,
        minor_version=2,
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    message = "MQTT API of Demo not started: Home Assistant's MQTT integration is not set up"
    assert caplog.text.count(message) == 1
    assert entry.runtime_data.mqtt_api is None
    assert hass.states.get("select.carport_charge_mode") is not None
    assert await hass.config_entries.async_unload(entry.entry_id)


@pytest.mark.usefixtures("mqtt_entry")
async def test_switched_off(hass: HomeAssistant, broker: Broker) -> None:
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Demo",
        data={CONF_SITE_TITLE: "Demo", CONF_DEMO: True},
        options={CONF_MQTT_ENABLED: False},
        version=1,
        minor_version=2,
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.runtime_data.mqtt_api is None
    assert await broker.retained(wait_s=0.5) == {}
    assert await hass.config_entries.async_unload(entry.entry_id)


@pytest.mark.usefixtures("mqtt_entry")
async def test_battery_mode_from_outside(
    hass: HomeAssistant, broker: Broker, caplog: pytest.LogCaptureFixture
) -> None:
    """evcc's site/batteryMode/set: a mode from outside (not stored), `null` ends it."""
    caplog.set_level(logging.WARNING, logger="custom_components.evcc_ha")
    entry = await demo_site(hass)
    site = entry.runtime_data.coordinator.site
    await broker.publish("evcc/site/batteryMode/set", "hold")
    await until(lambda: site.battery_mode_external is not None)
    assert site.battery_mode_external == "hold"
    await broker.publish("evcc/site/batteryMode/set", "turbo")
    await until(lambda: "set evcc/site/batteryMode/set: invalid battery mode: turbo" in caplog.text)
    assert site.battery_mode_external == "hold"
    await broker.publish("evcc/site/batteryMode/set", "null")
    await until(lambda: site.battery_mode_external is None)
    assert await hass.config_entries.async_unload(entry.entry_id)


@pytest.mark.usefixtures("mqtt_entry")
async def test_updated_beats_while_nothing_changes(hass: HomeAssistant, broker: Broker) -> None:
    """evcc/updated is evcc's heartbeat: a cycle that changes no value still renews it (at
    most once a second), so a quiet site looks different from a stopped one."""
    quiet = FakeSite()
    quiet.garage.connected = False  # no car anywhere: no timer runs, no value moves
    entry = site_entry()
    with use_devices(quiet):
        await setup_entry(hass, entry)
        await until(lambda: entry.runtime_data.mqtt_api is not None)
        await asyncio.wait_for(entry.runtime_data.mqtt_api.ready.wait(), 15)
        coordinator = entry.runtime_data.coordinator
        await coordinator.async_refresh()
        before = await broker.retained()
        await asyncio.sleep(1.1)
        await coordinator.async_refresh()
        for _ in range(5):  # the publisher sends on its own task
            after = await broker.retained()
            if after["evcc/updated"] != before["evcc/updated"]:
                break
        beat_before, beat_after = before.pop("evcc/updated"), after.pop("evcc/updated")
        assert after == before  # the cycle changed nothing else
        assert int(beat_after) > int(beat_before)
        assert await hass.config_entries.async_unload(entry.entry_id)

"""Hostile and unlucky input through the real Home Assistant paths: nothing stops the loop, no car
gets an illegal current, no energy is invented, a stored file cannot break setup."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import timedelta
from typing import Any

import aiohttp
import pytest
import voluptuous as vol
from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.evcc_ha.const import (
    CONF_API_ALLOWED_ORIGINS,
    CONF_API_ENABLED,
    CONF_API_HOST,
    CONF_API_PORT,
    DOMAIN,
)
from custom_components.evcc_ha.core.model import ChargerCommand

from .fakes import ENTRY_ID, FakeSite, setup_entry, site_entry, use_devices

START = "2026-06-21T10:00:00+00:00"
STORE_KEY = f"{DOMAIN}.{ENTRY_ID}"


async def tick(hass: HomeAssistant, freezer: FrozenDateTimeFactory, seconds: float = 30) -> None:
    freezer.tick(timedelta(seconds=seconds))
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)


@pytest.fixture
def fake_site() -> FakeSite:
    return FakeSite()


@pytest.fixture
async def entry(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, fake_site: FakeSite
) -> MockConfigEntry:
    freezer.move_to(START)
    entry = site_entry()
    with use_devices(fake_site):
        await setup_entry(hass, entry)
        yield entry
        assert await hass.config_entries.async_unload(entry.entry_id)


# --- one bad value never stops the loop ----------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"energy": 1e300}, "expected float|value must be at most"),
        ({"soc": 1e309}, "not a finite number"),
        ({"soc": "1e309"}, "not a finite number"),
        ({"energy": float("nan")}, "not a finite number"),
    ],
)
async def test_set_plan_refuses_non_finite_and_huge_goals(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    entry: MockConfigEntry,
    data: dict[str, Any],
    message: str,
) -> None:
    with pytest.raises(vol.Invalid, match=message):
        await hass.services.async_call(
            DOMAIN,
            "set_plan",
            {"config_entry_id": entry.entry_id, "time": "2026-06-22T07:00:00+00:00", **data},
            blocking=True,
        )
    assert entry.runtime_data.controller.state()["loadpoints"][0]["planTime"] is None
    await tick(hass, freezer)
    assert entry.runtime_data.coordinator.last_update_success
    assert hass.states.get("select.garage_charge_mode").state != STATE_UNAVAILABLE


async def test_min_current_below_6_a_is_refused_by_the_entity(
    hass: HomeAssistant, entry: MockConfigEntry
) -> None:
    for value in (1, 5.9):
        with pytest.raises(ServiceValidationError):
            await hass.services.async_call(
                "number",
                "set_value",
                {"entity_id": "number.garage_minimum_current", "value": value},
                blocking=True,
            )
    assert hass.states.get("number.garage_minimum_current").state == "6.0"


async def test_a_loadpoint_that_fails_leaves_the_others_running(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    fake_site: FakeSite,
    entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    controller = entry.runtime_data.controller
    fake_site.carport.connected = True
    await controller.async_set_loadpoint(1, "mode", "now")

    def broken(*_args: object) -> None:
        raise OverflowError("Python int too large to convert to C int")

    controller.site.loadpoints[0].decide = broken  # type: ignore[method-assign]
    for _ in range(3):
        await tick(hass, freezer)
    assert entry.runtime_data.coordinator.last_update_success
    assert hass.states.get("select.garage_charge_mode").state == STATE_UNAVAILABLE
    assert hass.states.get("select.carport_charge_mode").state == "now"
    assert fake_site.carport.enabled
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == ["Loadpoint Garage failed while deciding"]


# --- stored data is input too --------------------------------------------------------------------

GOOD_SITE = {"settings": {"residual_power": 300}, "loadpoints": []}


@pytest.mark.parametrize(
    ("stored", "warning"),
    [
        ({"version": 1, "minor_version": 2, "data": "garbage"}, "not a site"),
        ({"version": 1, "minor_version": 2, "data": [1, 2, 3]}, "not a site"),
        ({"version": 1, "minor_version": 2, "data": {"site": "x"}}, "not a site"),
        ({"version": 7, "minor_version": 1, "data": {"site": GOOD_SITE}}, "newer"),
        (
            {"version": 1, "minor_version": 2, "data": {"site": {"loadpoints": "x"}}},
            "Stored loadpoints ignored",
        ),
        (
            {
                "version": 1,
                "minor_version": 2,
                "data": {"site": {"loadpoints": [{"settings": {"max_current": "abc"}}]}},
            },
            "Stored maxCurrent ignored",
        ),
        (
            {
                "version": 1,
                "minor_version": 2,
                "data": {"site": {"loadpoints": [{"settings": {"priority": "x"}}]}},
            },
            "Stored priority ignored",
        ),
        (
            {
                "version": 1,
                "minor_version": 2,
                "data": {
                    "site": {"loadpoints": [{"settings": {"plan_time": "2026-06-22T07:00:00"}}]}
                },
            },
            "Stored planTime ignored: time without offset",
        ),
        (
            {
                "version": 1,
                "minor_version": 2,
                "data": {"site": {"loadpoints": [{"energy": {"session_wh": "x"}}]}},
            },
            "Stored session_wh ignored",
        ),
        (
            {
                "version": 1,
                "minor_version": 2,
                "data": {"site": {"settings": {"telemetry": "false"}}},
            },
            "Stored telemetry ignored",
        ),
        (
            {
                "version": 1,
                "minor_version": 2,
                "data": {"site": {"loadpoints": [{"settings": {"min_current": 0}}]}},
            },
            "Stored minCurrent ignored: min current must be at least 6 A: 0",
        ),
        (
            {
                "version": 1,
                "minor_version": 2,
                "data": {"site": {"loadpoints": [{"settings": {"min_current": 2}}]}},
            },
            "Stored minCurrent ignored: min current must be at least 6 A: 2",
        ),
        (
            {
                "version": 1,
                "minor_version": 2,
                "data": {"site": {"sessions": {"sessions": [7, {}]}}},
            },
            "1 stored sessions ignored",
        ),
        (
            {
                "version": 1,
                "minor_version": 2,
                "data": {"site": {"loadpoints": [{"session": {"created": "yesterday"}}]}},
            },
            "Stored created ignored",
        ),
    ],
)
async def test_corrupt_storage_never_breaks_setup(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    hass_storage: dict[str, Any],
    fake_site: FakeSite,
    caplog: pytest.LogCaptureFixture,
    stored: dict[str, Any],
    warning: str,
) -> None:
    freezer.move_to(START)
    hass_storage[STORE_KEY] = {"key": STORE_KEY, **stored}
    entry = site_entry()
    with use_devices(fake_site):
        await setup_entry(hass, entry)
        assert entry.runtime_data.coordinator.last_update_success
        assert warning in caplog.text
        assert "Traceback" not in caplog.text
        # defaults where the file was bad: mode off, telemetry off, the charger left alone
        state = entry.runtime_data.controller.state()
        assert state["telemetry"] is False
        assert state["loadpoints"][0]["mode"] == "off"
        assert state["loadpoints"][0]["minCurrent"] == 6
        assert fake_site.garage.commands == [] or not fake_site.garage.enabled
        await tick(hass, freezer)
        assert not fake_site.garage.enabled  # mode off: never enabled by a stored value
        assert await hass.config_entries.async_unload(entry.entry_id)


async def test_storage_1_1_is_migrated(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    hass_storage: dict[str, Any],
    fake_site: FakeSite,
) -> None:
    freezer.move_to(START)
    hass_storage[STORE_KEY] = {
        "key": STORE_KEY,
        "version": 1,
        "minor_version": 1,
        "data": {"site": {"settings": {"residual_power": 250}, "telemetry": True}},
    }
    entry = site_entry()
    with use_devices(fake_site):
        await setup_entry(hass, entry)
        state = entry.runtime_data.controller.state()
        assert (state["telemetry"], state["residualPower"]) == (True, 250)
        assert await hass.config_entries.async_unload(entry.entry_id)
    saved = hass_storage[STORE_KEY]
    assert (saved["version"], saved["minor_version"]) == (1, 2)
    assert saved["data"]["site"]["settings"]["telemetry"] is True


# --- no invented energy --------------------------------------------------------------------------


async def test_restart_counts_nothing_for_the_downtime(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, fake_site: FakeSite
) -> None:
    """A charger without an energy counter: power × the gap of a restart is not energy."""
    freezer.move_to(START)
    garage = fake_site.garage
    garage.energy = None  # type: ignore[assignment]  # no meter: energy from power
    entry = site_entry()
    with use_devices(fake_site):
        await setup_entry(hass, entry)
        await entry.runtime_data.controller.async_set_loadpoint(0, "mode", "now")
        await tick(hass, freezer)
        await tick(hass, freezer)
        before = float(hass.states.get("sensor.garage_session_energy").state)
        assert before > 0
        assert await hass.config_entries.async_unload(entry.entry_id)
        freezer.tick(timedelta(minutes=5))  # Home Assistant is down; the car is unplugged
        garage.connected = False
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
        await tick(hass, freezer)
        sessions = entry.runtime_data.controller.site.sessions.listed()
        assert sessions and sessions[0].charged_energy * 1000 == pytest.approx(before * 1000, abs=1)
        assert await hass.config_entries.async_unload(entry.entry_id)


# --- the charger does not follow -----------------------------------------------------------------


async def test_charger_out_of_sync_is_shown_and_asked_again(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    fake_site: FakeSite,
    entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    garage = fake_site.garage
    sent: list[ChargerCommand] = []

    async def ignore(command: ChargerCommand) -> None:
        sent.append(command)  # accepted, but the wallbox stays off

    garage.async_apply = ignore  # type: ignore[method-assign]
    await entry.runtime_data.controller.async_set_loadpoint(0, "mode", "now")
    assert sent[-1].enable is True
    await tick(hass, freezer, 61)  # the charger had its 60 s
    assert hass.states.get("binary_sensor.garage_charger_enabled").state == "off"
    assert "Garage: charger out of sync: expected enabled, got disabled" in caplog.text
    asked = len(sent)
    await tick(hass, freezer)
    assert len(sent) > asked and sent[-1].enable is True  # asked again
    assert hass.states.get("binary_sensor.garage_charger_enabled").state == "off"
    assert caplog.text.count("charger out of sync") == 1


# --- the evcc port: denial of service and cross-site writes ---------------------------------------


@pytest.fixture
async def evcc_port(
    socket_enabled: None, hass: HomeAssistant, fake_site: FakeSite, unused_tcp_port: int
) -> Any:
    options = {
        CONF_API_ENABLED: True,
        CONF_API_HOST: "127.0.0.1",
        CONF_API_PORT: unused_tcp_port,
        CONF_API_ALLOWED_ORIGINS: ["https://dashboard.example"],
    }
    entry = site_entry(options=options)
    with use_devices(fake_site):
        await setup_entry(hass, entry)
        async with aiohttp.ClientSession(f"http://127.0.0.1:{unused_tcp_port}") as client:
            yield client
        assert await hass.config_entries.async_unload(entry.entry_id)


async def test_slow_jq_filter_does_not_block_the_event_loop(
    hass: HomeAssistant, evcc_port: aiohttp.ClientSession
) -> None:
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    task = asyncio.create_task(ticker())
    started = time.monotonic()
    async with evcc_port.get("/api/state", params={"jq": "last(range(300000000))"}) as r:
        assert (r.status, await r.json()) == (400, {"error": "jq: timeout"})
    task.cancel()
    elapsed = time.monotonic() - started
    assert elapsed < 5
    assert ticks >= elapsed / 0.01 / 4  # the loop kept running while jq worked
    async with evcc_port.get("/api/state", params={"jq": ".siteTitle"}) as r:
        assert (r.status, await r.json()) == (200, "Home")  # a fresh filter process
    async with evcc_port.get("/api/state", params={"jq": '"ab" * 1000000'}) as r:
        assert (r.status, await r.json()) == (400, {"error": "jq: output too large"})


async def test_huge_loadpoint_id_is_404_without_traceback(
    evcc_port: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    async with evcc_port.post("/api/loadpoints/" + "9" * 5000 + "/mode/pv") as r:
        assert r.status == 404
    async with evcc_port.post("/api/loadpoints/1/limitenergy/" + "9" * 300) as r:
        assert r.status == 400
        assert (await r.json())["error"] == "invalid limitEnergy: number too long"
    assert "Traceback" not in caplog.text


async def test_writes_from_other_web_pages_are_refused(
    hass: HomeAssistant, evcc_port: aiohttp.ClientSession
) -> None:
    evil = {"Origin": "https://evil.example"}
    async with evcc_port.post("/api/loadpoints/1/mode/now", headers=evil) as r:
        assert (r.status, await r.json()) == (
            403,
            {"error": "origin not allowed: https://evil.example"},
        )
    async with evcc_port.get("/api/state", headers=evil) as r:
        assert r.status == 200  # reads stay open, as in evcc
        assert (await r.json())["loadpoints"][0]["mode"] == "off"
    ok = {"Origin": "https://dashboard.example"}
    async with evcc_port.post("/api/loadpoints/1/mode/pv", headers=ok) as r:
        assert r.status == 200
    async with evcc_port.post("/api/loadpoints/1/mode/now") as r:  # curl, apps: no Origin
        assert r.status == 200

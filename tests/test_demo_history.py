"""A new demo site has lived a few days: the controller's own sessions of both cars, the site
and the household going on from where those days left them (as after a restart), and the
demo's first settings."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from unittest.mock import patch
from zoneinfo import ZoneInfo

import pytest
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.evcc_ha.api.state import build_state
from custom_components.evcc_ha.const import (
    CONF_DEMO,
    CONF_DEMO_HISTORY_DAYS,
    CONF_SITE_TITLE,
    DOMAIN,
)
from custom_components.evcc_ha.core.clock import ManualClock
from custom_components.evcc_ha.core.controller import Controller
from custom_components.evcc_ha.core.site import Site
from custom_components.evcc_ha.devices.demo import (
    PLAN_BEFORE_DEPARTURE,
    START_ODOMETER_KM,
    DemoPrices,
    DemoSite,
    plan_next_departure,
)
from custom_components.evcc_ha.devices.demo_history import (
    DemoHistory,
    async_demo_history,
    demo_history,
)

BERLIN = ZoneInfo("Europe/Berlin")
THURSDAY_EVENING = datetime(2026, 6, 25, 20, 0, tzinfo=BERLIN)


def live_demo(past: DemoHistory, now: datetime) -> tuple[DemoSite, Site, ManualClock]:
    """The live demo as the coordinator starts it after its past (without Home Assistant)."""
    clock = ManualClock(now)
    demo = DemoSite(clock, tz=BERLIN)
    demo.restore(past.demo_state)
    devices = demo.site_devices()
    site = Site(devices.config, [lp.config for lp in devices.loadpoints])
    site.restore(past.site_state, now)
    return demo, site, clock


def test_four_days_give_sessions_of_both_cars() -> None:
    past = demo_history(THURSDAY_EVENING, BERLIN, "Europe/Berlin", 4)
    assert past.cycles == 4 * 24 * 60
    _demo, site, _clock = live_demo(past, THURSDAY_EVENING)
    sessions = site.sessions.listed()
    by_loadpoint = {(s.loadpoint, s.vehicle) for s in sessions}
    assert by_loadpoint == {("Carport", "ID.3"), ("Garage", "Zoe")}
    # one session of the Zoe's before its Wednesday outing, one since it came back at 16:00
    out = datetime(2026, 6, 24, 10, 0, tzinfo=BERLIN)
    back = datetime(2026, 6, 24, 16, 0, tzinfo=BERLIN)
    zoe = [s for s in sessions if s.vehicle == "Zoe"]
    assert any(s.finished is not None and s.finished <= out for s in zoe)
    assert any(s.created is not None and s.created >= back for s in zoe)
    assert all(s.charged_energy > 0 for s in sessions)
    assert all(s.price is not None and s.price > 0 for s in sessions)  # priced by the demo tariffs
    state = past.demo_state
    assert state["odometer_km"] > START_ODOMETER_KM  # the ID.3 drove every day
    assert state["meters"]["pv_kwh"] > 100
    assert datetime.fromisoformat(state["last"]) == THURSDAY_EVENING
    # back since 16:00: the Garage detected the Zoe when it plugged in again
    garage = site.loadpoints[1]
    assert state["second"]["away"] is False
    assert garage.session is not None and garage.session.vehicle == "Zoe"
    assert garage.session.created is not None and garage.session.created >= back


@pytest.mark.parametrize(
    ("now", "plugged", "zoe_home"),
    [
        (datetime(2026, 6, 25, 12, 0, tzinfo=BERLIN), False, True),  # the ID.3 is at work
        (datetime(2026, 6, 25, 22, 0, tzinfo=BERLIN), True, True),
        (datetime(2026, 6, 24, 12, 0, tzinfo=BERLIN), False, False),  # the Zoe is out, too
    ],
)
def test_first_settings_after_the_past_whether_the_car_is_home_or_not(
    now: datetime, plugged: bool, zoe_home: bool
) -> None:
    """The live demo takes the past's site and household at any time of day with the first
    settings the past started with; each car's one-off plan exists only while it is at home
    (before its next departure)."""
    past = demo_history(now, BERLIN, "Europe/Berlin", 1)
    demo, site, _clock = live_demo(past, now)
    assert demo.away is not plugged
    assert site.settings.buffer_soc == 80
    assert site.loadpoints[0].settings.limit_soc == 80
    assert len(site.vehicle_settings("id_3").repeating_plans) == 3
    plan_next_departure(site, demo, now)
    plan = site.loadpoints[0].settings.plan_time
    assert (plan is not None) is plugged
    if plan is not None:
        assert demo.vehicle.depart is not None and now < plan < demo.vehicle.depart
    assert len(site.vehicle_settings("zoe").repeating_plans) == 3
    assert demo.second_away is not zoe_home
    zoe = site.vehicle_settings("zoe")
    assert zoe.limit_soc == 80
    assert (zoe.plan_time is not None) is zoe_home
    if zoe.plan_time is not None:
        assert zoe.plan_soc == 90
        assert demo.second.depart is not None and now < zoe.plan_time < demo.second.depart


async def test_the_live_demo_goes_on_with_the_session_of_its_past() -> None:
    """At 22:00 the ID.3 has been at home since 17:30 and charged on the battery buffer: the
    live site's first cycle continues that session (its energy and price), as after a restart,
    instead of starting an empty one."""
    now = datetime(2026, 6, 25, 22, 0, tzinfo=BERLIN)
    past = await async_demo_history(now, BERLIN, "Europe/Berlin", 2)
    stored = past.site_state["loadpoints"][0]
    assert stored["status"] == "B" and stored["energy"]["session_wh"] > 1000
    demo, site, clock = live_demo(past, now)
    controller = Controller(site, demo.site_devices(), clock, build_state)
    await controller.async_setup()
    try:
        clock.set(now.replace(minute=1))
        await controller.async_cycle()
    finally:
        await controller.async_close()
    lp = controller.state()["loadpoints"][0]
    assert lp["connected"] is True
    assert lp["sessionEnergy"] == pytest.approx(stored["energy"]["session_wh"], abs=1)
    assert lp["sessionPrice"] == pytest.approx(stored["session_cost"], abs=0.001)
    assert lp["sessionPricePerKWh"] is not None
    session = site.loadpoints[0].session
    assert session is not None and session.created == datetime.fromisoformat(
        stored["session"]["created"]
    )


@pytest.mark.parametrize("days", [0, 32, -1])
def test_history_days_are_bounded(days: int) -> None:
    with pytest.raises(ValueError, match="days"):
        demo_history(THURSDAY_EVENING, BERLIN, "Europe/Berlin", days)


def test_demo_prices_show_tomorrow_from_one_o_clock() -> None:
    prices = DemoPrices(BERLIN)
    morning = prices.rates(datetime(2026, 6, 25, 9, 0, tzinfo=BERLIN))
    afternoon = prices.rates(datetime(2026, 6, 25, 14, 0, tzinfo=BERLIN))
    assert morning[-1].end == datetime(2026, 6, 26, tzinfo=BERLIN)
    assert afternoon[-1].end == datetime(2026, 6, 27, tzinfo=BERLIN)
    assert afternoon[0].start == datetime(2026, 6, 25, 14, 0, tzinfo=BERLIN)
    assert prices.price_at(datetime(2026, 6, 25, 14, 5, tzinfo=BERLIN)) == afternoon[0].price


def demo_entry(hass: HomeAssistant) -> MockConfigEntry:
    """A demo site entry as the config flow makes it, with a past of two days."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Demo site",
        data={CONF_SITE_TITLE: "Demo site", CONF_DEMO: True, CONF_DEMO_HISTORY_DAYS: 2},
        unique_id="demo_site",
    )
    entry.add_to_hass(hass)
    return entry


async def test_new_demo_entry_starts_with_its_past(hass: HomeAssistant) -> None:
    await hass.config.async_set_time_zone("Europe/Berlin")
    entry = demo_entry(hass)
    pasts: list[DemoHistory] = []

    def lived(*args: Any) -> DemoHistory:
        pasts.append(demo_history(*args))
        return pasts[-1]

    # a plain function: the test harness would run a Mock inline, in the event loop
    with patch("custom_components.evcc_ha.coordinator.demo_history", new=lived):
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
    controller = entry.runtime_data.coordinator.controller
    doc = controller.state()
    # the site goes on from the past's end: its session log, its charge meter baseline
    stored = pasts[0].site_state
    assert len(controller.site.sessions.listed()) == len(stored["sessions"]["sessions"])
    energy = stored["loadpoints"][0]["energy"]["session_wh"]
    assert doc["loadpoints"][0]["sessionEnergy"] >= energy - 1
    # the ID.3 charged for its first departure (the one-off plan) at the least
    sessions = controller.site.sessions.listed()
    assert "ID.3" in {s.vehicle for s in sessions}
    assert len({s.id for s in sessions}) == len(sessions)  # logged with ids of their own
    assert doc["statistics"]["total"]["chargedKWh"] > 0
    # the demo's first settings: every feature has a value
    assert (doc["bufferSoc"], doc["batteryGridChargeLimit"]) == (80, 0.17)
    lp = doc["loadpoints"][0]
    assert lp["smartCostLimit"] == 0.19
    vehicles = doc["vehicles"]
    assert len(vehicles["id_3"]["repeatingPlans"]) == 3
    assert len(vehicles["zoe"]["repeatingPlans"]) == 3
    # the one-off plan while the ID.3 is at home and its departure is more than half an hour
    # away (this test runs at any time of day)
    demo = entry.runtime_data.coordinator.demo
    depart = demo.vehicle.depart
    planned = (
        not demo.away and depart is not None and depart - PLAN_BEFORE_DEPARTURE > controller.now()
    )
    plan = vehicles["id_3"].get("plan", {})
    assert (plan.get("soc") == 90) is planned
    if planned:
        assert dt_util.parse_datetime(plan["time"]) == depart - PLAN_BEFORE_DEPARTURE
    assert float(hass.states.get("sensor.carport_vehicle_odometer").state) > START_ODOMETER_KM
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_a_past_that_fails_leaves_a_demo_without_one(
    hass: HomeAssistant, caplog: pytest.LogCaptureFixture
) -> None:
    entry = demo_entry(hass)
    with patch(
        "custom_components.evcc_ha.coordinator.demo_history", side_effect=RuntimeError("boom")
    ):
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
    assert "starts without its past" in caplog.text
    controller = entry.runtime_data.coordinator.controller
    assert controller.site.sessions.listed() == []
    assert controller.state()["bufferSoc"] == 80  # the first settings all the same
    assert await hass.config_entries.async_unload(entry.entry_id)

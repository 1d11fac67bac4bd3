"""Settings, running sessions and meter baselines survive a restart; nothing is counted twice."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import EVENT_HOMEASSISTANT_FINAL_WRITE, EVENT_HOMEASSISTANT_STOP
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
    async_fire_time_changed,
)

from custom_components.evcc_ha.const import CONF_DEMO, CONF_SITE_TITLE, DOMAIN
from custom_components.evcc_ha.coordinator import EVENT_NAME, SAVE_DELAY

from .fakes import ENTRY_ID, FakeSite, setup_entry, site_entry, use_devices

START = "2026-06-21T10:00:00+00:00"
STORE_KEY = f"{DOMAIN}.{ENTRY_ID}"


async def cycle(hass: HomeAssistant, freezer: FrozenDateTimeFactory, seconds: float = 30) -> None:
    freezer.tick(timedelta(seconds=seconds))
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)


def session_kwh(hass: HomeAssistant) -> float:
    return float(hass.states.get("sensor.garage_session_energy").state)


@pytest.fixture
def fake_site() -> FakeSite:
    return FakeSite()


async def test_restart_mid_charge(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    hass_storage: dict[str, Any],
    fake_site: FakeSite,
) -> None:
    """Unload while charging, set up again: the session goes on where it was."""
    freezer.move_to(START)
    events = async_capture_events(hass, EVENT_NAME)
    garage = fake_site.garage
    entry = site_entry()
    with use_devices(fake_site):
        await setup_entry(hass, entry)
        await entry.runtime_data.coordinator.controller.async_set_loadpoint(0, "mode", "now")
        await entry.runtime_data.coordinator.controller.async_set_loadpoint(0, "limitSoc", 90)
        for _ in range(3):
            garage.energy += 0.5
            await cycle(hass, freezer)
        assert session_kwh(hass) == 1.5
        assert await hass.config_entries.async_unload(entry.entry_id)
        await hass.async_block_till_done()

        saved = hass_storage[STORE_KEY]["data"]["site"]
        assert saved["loadpoints"][0]["energy"]["session_wh"] == 1500
        assert saved["loadpoints"][0]["settings"]["mode"] == "now"

        # while Home Assistant was down the charger kept charging 0.25 kWh
        garage.energy += 0.25
        freezer.tick(timedelta(minutes=5))
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
        assert session_kwh(hass) == 1.75  # the meter delta, counted once
        assert hass.states.get("select.garage_charge_mode").state == "now"
        assert hass.states.get("number.garage_limit_soc").state == "90"
        garage.energy += 0.5
        await cycle(hass, freezer)
        assert session_kwh(hass) == 2.25
        assert float(hass.states.get("sensor.garage_lifetime_energy").state) == 2.25
        assert await hass.config_entries.async_unload(entry.entry_id)

    # one connect and one start: the restart did not begin a new session
    garage_events = [e.data["type"] for e in events if e.data["loadpoint"] == 1]
    assert garage_events == ["connect", "start"]


async def test_meter_reset_during_restart_counts_nothing_negative(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, fake_site: FakeSite
) -> None:
    freezer.move_to(START)
    garage = fake_site.garage
    entry = site_entry()
    with use_devices(fake_site):
        await setup_entry(hass, entry)
        await entry.runtime_data.coordinator.controller.async_set_loadpoint(0, "mode", "now")
        garage.energy += 1.0
        await cycle(hass, freezer)
        assert await hass.config_entries.async_unload(entry.entry_id)
        garage.energy = 0.0  # a replaced charger: its meter starts at zero
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
        assert session_kwh(hass) == 1.0
        garage.energy += 0.5
        await cycle(hass, freezer)
        assert session_kwh(hass) == 1.5
        assert await hass.config_entries.async_unload(entry.entry_id)


async def test_saved_while_running_and_at_stop(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    hass_storage: dict[str, Any],
    fake_site: FakeSite,
) -> None:
    freezer.move_to(START)
    entry = site_entry()
    with use_devices(fake_site):
        await setup_entry(hass, entry)
        coordinator = entry.runtime_data.coordinator
        await coordinator.controller.async_set_loadpoint(0, "mode", "minpv")
        assert STORE_KEY not in hass_storage  # written with a delay, not on every change
        await cycle(hass, freezer, SAVE_DELAY + 1)
        assert (
            hass_storage[STORE_KEY]["data"]["site"]["loadpoints"][0]["settings"]["mode"] == "minpv"
        )

        # Home Assistant stops: the newest state is written in the final-write stage
        await coordinator.controller.async_set_loadpoint(0, "mode", "pv")
        hass.bus.async_fire(EVENT_HOMEASSISTANT_STOP)
        hass.bus.async_fire(EVENT_HOMEASSISTANT_FINAL_WRITE)
        await hass.async_block_till_done()
        assert hass_storage[STORE_KEY]["data"]["site"]["loadpoints"][0]["settings"]["mode"] == "pv"
        assert await hass.config_entries.async_unload(entry.entry_id)


async def test_broken_store_is_ignored(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    hass_storage: dict[str, Any],
    fake_site: FakeSite,
    caplog: pytest.LogCaptureFixture,
) -> None:
    freezer.move_to(START)
    hass_storage[STORE_KEY] = {
        "version": 1,
        "minor_version": 1,
        "key": STORE_KEY,
        # the site settings are fine, the loadpoint's mode is not: only the mode is dropped
        "data": {
            "site": {
                "settings": {"residual_power": 500},
                "loadpoints": [{"settings": {"mode": "turbo", "limit_soc": 70}}],
            }
        },
    }
    entry = site_entry()
    with use_devices(fake_site):
        await setup_entry(hass, entry)
        assert hass.states.get("number.home_residual_power").state == "500.0"
        assert hass.states.get("select.garage_charge_mode").state == "off"  # the default
        assert hass.states.get("number.garage_limit_soc").state == "70"
        assert "Stored mode ignored: invalid value: turbo" in caplog.text
        assert await hass.config_entries.async_unload(entry.entry_id)


async def test_removed_entry_forgets_its_state(
    hass: HomeAssistant, hass_storage: dict[str, Any], fake_site: FakeSite
) -> None:
    entry = site_entry()
    with use_devices(fake_site):
        await setup_entry(hass, entry)
        assert await hass.config_entries.async_unload(entry.entry_id)
        assert STORE_KEY in hass_storage
        await hass.config_entries.async_remove(entry.entry_id)
        await hass.async_block_till_done()
    assert STORE_KEY not in hass_storage


async def test_demo_restart_continues(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, hass_storage: dict[str, Any]
) -> None:
    """The demo's car, charger meter and battery go on after a restart."""
    freezer.move_to(START)
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Demo site",
        data={CONF_SITE_TITLE: "Demo site", CONF_DEMO: True},
        unique_id="demo_site",
        entry_id=ENTRY_ID,
    )
    await setup_entry(hass, entry)
    coordinator = entry.runtime_data.coordinator
    await coordinator.controller.async_set_loadpoint(0, "mode", "now")
    for _ in range(10):
        await cycle(hass, freezer)
    demo = coordinator.demo
    soc, meter = demo.vehicle.soc, demo.charger.energy_kwh
    session = float(hass.states.get("sensor.carport_session_energy").state)
    assert meter > 0.5 and session > 0.5
    assert await hass.config_entries.async_unload(entry.entry_id)
    assert hass_storage[STORE_KEY]["data"]["demo"]["vehicle"]["soc"] == soc

    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    demo = entry.runtime_data.coordinator.demo
    assert demo.vehicle.soc == pytest.approx(soc)
    assert demo.charger.energy_kwh == pytest.approx(meter)
    assert float(hass.states.get("sensor.carport_session_energy").state) == pytest.approx(
        session, abs=0.01
    )
    assert hass.states.get("select.carport_charge_mode").state == "now"
    assert await hass.config_entries.async_unload(entry.entry_id)

"""A real site, set up the way a user does it, driving a charger made of another integration's
entities: config flow → meters → loadpoint subentry → coordinator → entities → charger.

The "hardware" is Home Assistant helpers: a grid sensor (template over an input_number), a
wallbox whose enable switch is an input_boolean, whose current is an input_number (A) and whose
plug state is a template binary sensor. Nothing of evcc_ha is faked.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import aiohttp
import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntry, ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import async_fire_time_changed

from custom_components.evcc_ha.const import (
    CONF_API_ENABLED,
    CONF_API_HOST,
    CONF_API_PORT,
    CONF_API_READ_ONLY,
    CONF_CHARGER_CURRENT,
    CONF_CHARGER_ENABLE,
    CONF_CHARGER_MAX_CURRENT,
    CONF_CHARGER_PHASE_COUNT,
    CONF_CHARGER_POWER,
    CONF_CHARGER_STATUS,
    CONF_DEMO,
    CONF_GRID_POWER,
    CONF_SITE_TITLE,
    CONF_TITLE,
    DOMAIN,
    SUBENTRY_LOADPOINT,
)


@pytest.fixture
async def house(hass: HomeAssistant) -> None:
    """Grid meter and wallbox from helper and template entities."""
    assert await async_setup_component(
        hass, "input_boolean", {"input_boolean": {"wb_enable": None, "wb_plug": None}}
    )
    assert await async_setup_component(
        hass,
        "input_number",
        {
            "input_number": {
                "wb_current": {"min": 0, "max": 32, "step": 1, "initial": 6,
                               "unit_of_measurement": "A", "mode": "box"},
                "grid_w": {"min": -30000, "max": 30000, "step": 1, "initial": 0, "mode": "box"},
                "wb_power_w": {"min": 0, "max": 22000, "step": 1, "initial": 0, "mode": "box"},
            }
        },
    )  # fmt: skip
    assert await async_setup_component(
        hass,
        "template",
        {
            "template": [
                {
                    "sensor": [
                        {"name": "Grid power", "unit_of_measurement": "W", "device_class": "power",
                         "state": "{{ states('input_number.grid_w') }}"},
                        {"name": "Wallbox power", "unit_of_measurement": "W",
                         "device_class": "power", "state": "{{ states('input_number.wb_power_w') }}"},
                    ],
                    "binary_sensor": [
                        {"name": "Wallbox plug", "device_class": "plug",
                         "state": "{{ is_state('input_boolean.wb_plug', 'on') }}"},
                    ],
                }
            ]
        },
    )  # fmt: skip
    await hass.async_block_till_done()


async def tick(hass: HomeAssistant, freezer: FrozenDateTimeFactory) -> None:
    """Let one control interval pass and the scheduled cycle run."""
    freezer.tick(timedelta(seconds=31))
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)


async def set_number(hass: HomeAssistant, entity_id: str, value: float) -> None:
    await hass.services.async_call(
        "input_number", "set_value", {"entity_id": entity_id, "value": value}, blocking=True
    )


async def set_up_site(hass: HomeAssistant) -> ConfigEntry:
    """The site and its loadpoint, entered through the real config and subentry flows."""
    # 1. the site, as in the UI: title, then the meters
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": "user"})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_SITE_TITLE: "Home", CONF_DEMO: False}
    )
    assert result["type"] is FlowResultType.FORM and result["step_id"] == "meters"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_GRID_POWER: "sensor.grid_power"}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    entry = result["result"]
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED

    # 2. a loadpoint made of the helper entities, added as a subentry
    flow = await hass.config_entries.subentries.async_init(
        (entry.entry_id, SUBENTRY_LOADPOINT), context={"source": "user"}
    )
    flow = await hass.config_entries.subentries.async_configure(
        flow["flow_id"], {"next_step_id": "charger"}
    )
    flow = await hass.config_entries.subentries.async_configure(
        flow["flow_id"],
        {
            CONF_TITLE: "Garage",
            CONF_CHARGER_ENABLE: "input_boolean.wb_enable",
            CONF_CHARGER_CURRENT: "input_number.wb_current",
            CONF_CHARGER_STATUS: "binary_sensor.wallbox_plug",
            CONF_CHARGER_POWER: "sensor.wallbox_power",
            CONF_CHARGER_MAX_CURRENT: 16,
            CONF_CHARGER_PHASE_COUNT: "3",
        },
    )
    if flow["type"] is FlowResultType.FORM:  # the optional vehicle step
        assert flow["step_id"] == "vehicle"
        flow = await hass.config_entries.subentries.async_configure(flow["flow_id"], {})
    assert flow["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    assert hass.states.get("select.garage_charge_mode") is not None
    return entry


@pytest.mark.usefixtures("house")
async def test_user_setup_drives_a_helper_wallbox(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    entry = await set_up_site(hass)

    # 3. a car plugs in; mode "now" from the UI switches the wallbox on at 16 A at once
    await hass.services.async_call(
        "input_boolean", "turn_on", {"entity_id": "input_boolean.wb_plug"}, blocking=True
    )
    await tick(hass, freezer)
    assert hass.states.get("binary_sensor.garage_vehicle_connected").state == "on"
    assert hass.states.get("input_boolean.wb_enable").state == "off"  # mode off by default

    await hass.services.async_call(
        "select",
        "select_option",
        {"entity_id": "select.garage_charge_mode", "option": "now"},
        blocking=True,
    )
    assert hass.states.get("input_boolean.wb_enable").state == "on"
    assert float(hass.states.get("input_number.wb_current").state) == 16

    # 4. the current is never commanded above the hardware maximum
    await hass.services.async_call(
        "number",
        "set_value",
        {"entity_id": "number.garage_maximum_current", "value": 10},
        blocking=True,
    )
    assert float(hass.states.get("input_number.wb_current").state) == 10

    # 5. pv mode follows the surplus measured by the grid sensor
    await hass.services.async_call(
        "number",
        "set_value",
        {"entity_id": "number.garage_maximum_current", "value": 16},
        blocking=True,
    )
    assert float(hass.states.get("input_number.wb_current").state) == 16
    await set_number(hass, "input_number.wb_power_w", 11040)  # 16 A × 3 × 230 V
    await tick(hass, freezer)
    assert hass.states.get("binary_sensor.garage_charging").state == "on"
    await hass.services.async_call(
        "select",
        "select_option",
        {"entity_id": "select.garage_charge_mode", "option": "pv"},
        blocking=True,
    )
    await set_number(hass, "input_number.grid_w", 1380)  # importing 2 A × 3 phases
    await tick(hass, freezer)
    assert float(hass.states.get("input_number.wb_current").state) == 14
    assert hass.states.get("sensor.home_grid_power").state == "1380.0"
    await set_number(hass, "input_number.wb_power_w", 9660)  # the car follows: 14 A
    await set_number(hass, "input_number.grid_w", -690)  # exporting 1 A × 3 phases
    await tick(hass, freezer)
    assert float(hass.states.get("input_number.wb_current").state) == 15

    # 6. unplug: the wallbox is switched off
    await hass.services.async_call(
        "input_boolean", "turn_off", {"entity_id": "input_boolean.wb_plug"}, blocking=True
    )
    await set_number(hass, "input_number.wb_power_w", 0)
    await tick(hass, freezer)
    assert hass.states.get("input_boolean.wb_enable").state == "off"
    assert await hass.config_entries.async_unload(entry.entry_id)


@pytest.mark.usefixtures("house", "socket_enabled")
async def test_evcc_clients_drive_the_same_wallbox(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, hass_client: Any, unused_tcp_port: int
) -> None:
    """The evcc port (switched on in the options) and the Home Assistant view both reach the
    charger at once and show in the entities; a bad value changes nothing."""
    entry = await set_up_site(hass)
    await hass.services.async_call(
        "input_boolean", "turn_on", {"entity_id": "input_boolean.wb_plug"}, blocking=True
    )
    await tick(hass, freezer)

    # the evcc port is enabled through the real options flow
    flow = await hass.config_entries.options.async_init(entry.entry_id)
    flow = await hass.config_entries.options.async_configure(flow["flow_id"], {
        CONF_GRID_POWER: "sensor.grid_power",
    })  # fmt: skip
    assert flow["step_id"] == "api"
    flow = await hass.config_entries.options.async_configure(flow["flow_id"], {
        CONF_API_ENABLED: True, CONF_API_HOST: "127.0.0.1", CONF_API_PORT: unused_tcp_port,
        CONF_API_READ_ONLY: False,
    })  # fmt: skip
    assert flow["step_id"] == "mqtt"  # evcc's MQTT API: as offered
    flow = await hass.config_entries.options.async_configure(flow["flow_id"], {})
    assert flow["step_id"] == "tariffs"  # no prices
    flow = await hass.config_entries.options.async_configure(flow["flow_id"], {})
    assert flow["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    base = f"http://127.0.0.1:{unused_tcp_port}"

    async with aiohttp.ClientSession() as session:
        # the seed document's example: curl -X POST http://evcc:7070/api/loadpoints/1/mode/pv
        async with session.post(f"{base}/api/loadpoints/1/mode/now") as response:
            assert response.status == 200
            assert await response.json() == "now"
        assert hass.states.get("select.garage_charge_mode").state == "now"
        assert hass.states.get("input_boolean.wb_enable").state == "on"
        assert float(hass.states.get("input_number.wb_current").state) == 16

        async with session.post(f"{base}/api/loadpoints/1/maxcurrent/40") as response:
            assert response.status == 400
            assert "maximum of 16 A" in (await response.json())["error"]
        assert float(hass.states.get("input_number.wb_current").state) == 16

        async with session.post(f"{base}/api/loadpoints/1/target/soc/80") as response:
            assert await response.json() == {"result": 80}
        async with session.get(f"{base}/api/state") as response:
            assert response.headers["Content-Type"].startswith("application/json")
            state = await response.json()
        assert state["loadpoints"][0]["limitSoc"] == 80
        assert state["loadpoints"][0]["targetSoc"] == 80
        assert state["loadpoints"][0]["enabled"] is True

    # the same route inside Home Assistant, with its authentication
    client = await hass_client()
    response = await client.post("/api/evcc_ha/loadpoints/1/mode/off")
    assert response.status == 200
    assert hass.states.get("select.garage_charge_mode").state == "off"
    assert hass.states.get("input_boolean.wb_enable").state == "off"
    assert await hass.config_entries.async_unload(entry.entry_id)

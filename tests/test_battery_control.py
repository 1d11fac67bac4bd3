"""Home battery control and battery boost the way a user sets them up: the battery's mode entity
of the inverter's integration chosen in the meters step, evcc's discharge control switched on,
a car charging fast: evcc_ha selects the inverter's "hold" option, and "normal" again after.
A real site entry with input helpers for the wallbox and the inverter."""

from __future__ import annotations

from typing import Any

import pytest
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import ServiceValidationError

from custom_components.evcc_ha.const import (
    CONF_BATTERY_MODE_CHARGE,
    CONF_BATTERY_MODE_ENTITY,
    CONF_BATTERY_MODE_HOLD,
    CONF_BATTERY_MODE_NORMAL,
    CONF_BATTERY_POWER,
    CONF_BATTERY_SOC,
    CONF_GRID_POWER,
    DOMAIN,
)

from .ha_site import add_loadpoint, real_site, site_flow, wallbox_helpers
from .test_config_flow import set_sensor

INVERTER = "input_select.inverter_battery_mode"
METERS: dict[str, Any] = {
    CONF_GRID_POWER: "sensor.grid_power",
    CONF_BATTERY_POWER: "sensor.battery_power",
    CONF_BATTERY_SOC: "sensor.battery_soc",
    CONF_BATTERY_MODE_ENTITY: INVERTER,
    CONF_BATTERY_MODE_NORMAL: "Self consumption",
    CONF_BATTERY_MODE_HOLD: "Backup",
    CONF_BATTERY_MODE_CHARGE: "Force charge",
}


async def _house(hass: HomeAssistant) -> None:
    set_sensor(hass, "sensor.grid_power", "300", "W", "power")
    set_sensor(hass, "sensor.battery_power", "0", "W", "power")
    set_sensor(hass, "sensor.battery_soc", "80", "%", "battery")
    await wallbox_helpers(
        hass, inverter_battery_mode=["Self consumption", "Backup", "Force charge"]
    )


async def _status(hass: HomeAssistant, option: str) -> None:
    await hass.services.async_call(
        "input_select",
        "select_option",
        {"entity_id": "input_select.wallbox_status", "option": option},
        blocking=True,
    )


async def test_discharge_control_through_the_inverter_entity(hass: HomeAssistant) -> None:
    await _house(hass)
    entry = await real_site(hass, METERS)
    flow = await add_loadpoint(hass, entry)
    assert flow["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    coordinator = entry.runtime_data.coordinator
    assert coordinator.site.config.battery_controllable
    await hass.services.async_call(
        "input_select", "select_option", {"entity_id": INVERTER, "option": "Self consumption"}
    )
    switch = "switch.home_battery_discharge_control"
    assert hass.states.get(switch).state == "off"
    assert hass.states.get("sensor.home_battery_mode").state == "unknown"
    await hass.services.async_call("switch", "turn_on", {"entity_id": switch}, blocking=True)
    await hass.services.async_call(
        "select",
        "select_option",
        {"entity_id": "select.garage_charge_mode", "option": "now"},
        blocking=True,
    )
    await _status(hass, "charging")
    await coordinator.async_refresh()
    await hass.async_block_till_done()
    assert hass.states.get(INVERTER).state == "Backup"
    assert hass.states.get("sensor.home_battery_mode").state == "hold"
    doc = coordinator.controller.state()
    assert (doc["batteryMode"], doc["batteryDischargeControl"]) == ("hold", True)
    assert doc["battery"][0]["controllable"] is True

    # charging stops: the inverter goes back to normal
    await _status(hass, "connected")
    await coordinator.async_refresh()
    await hass.async_block_till_done()
    assert hass.states.get(INVERTER).state == "Self consumption"

    # battery boost: a switch of the loadpoint, only in the PV modes
    boost = "switch.garage_battery_boost"
    with pytest.raises(ServiceValidationError, match="only available in PV modes"):
        await hass.services.async_call("switch", "turn_on", {"entity_id": boost}, blocking=True)
    await hass.services.async_call(
        "select",
        "select_option",
        {"entity_id": "select.garage_charge_mode", "option": "pv"},
        blocking=True,
    )
    await hass.services.async_call("switch", "turn_on", {"entity_id": boost}, blocking=True)
    assert hass.states.get(boost).state == "on"
    assert hass.states.get("input_boolean.wallbox_enable").state == "on"  # boost starts at once
    assert await hass.config_entries.async_unload(entry.entry_id)


@pytest.mark.parametrize(
    ("changes", "errors"),
    [
        ({CONF_BATTERY_MODE_HOLD: "Hold"}, {CONF_BATTERY_MODE_HOLD: "battery_mode_option_unknown"}),
        ({CONF_BATTERY_MODE_NORMAL: ""}, {CONF_BATTERY_MODE_NORMAL: "battery_mode_option_missing"}),
        (
            {CONF_BATTERY_MODE_ENTITY: "sensor.grid_power"},
            {CONF_BATTERY_MODE_ENTITY: "invalid_battery_mode_entity"},
        ),
        (
            {CONF_BATTERY_POWER: None, CONF_BATTERY_SOC: None},
            {CONF_BATTERY_POWER: "battery_power_missing"},
        ),
    ],
)
async def test_battery_mode_fields_are_checked(
    hass: HomeAssistant, changes: dict[str, Any], errors: dict[str, str]
) -> None:
    await _house(hass)
    meters = {key: value for key, value in {**METERS, **changes}.items() if value is not None}
    result = await site_flow(hass, meters)
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == errors
    assert not hass.config_entries.async_entries(DOMAIN)

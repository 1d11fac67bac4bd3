"""Vehicles that charge at any loadpoint, end to end: a vehicle subentry added through its flow,
detected at a loadpoint by its integration's plugged-in sensor, chosen with the loadpoint's
vehicle select, and set through evcc's vehicle routes in Home Assistant's view (the real
factory, controller and HTTP stack; the wallbox and the car are helper entities)."""

from __future__ import annotations

from typing import Any

import pytest
from homeassistant.components.select import ATTR_OPTION, SERVICE_SELECT_OPTION
from homeassistant.config_entries import ConfigEntry
from homeassistant.const import ATTR_ENTITY_ID, Platform
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType

from custom_components.evcc_ha.const import (
    CONF_VEHICLE_CAPACITY,
    CONF_VEHICLE_CONNECTED,
    CONF_VEHICLE_PHASES,
    CONF_VEHICLE_SOC,
    CONF_VEHICLE_TITLE,
    CONF_VEHICLE_WELCOME_CHARGE,
    SUBENTRY_VEHICLE,
)

from .ha_site import add_loadpoint, real_site, wallbox_helpers
from .test_config_flow import set_sensor

ZOE: dict[str, Any] = {
    CONF_VEHICLE_TITLE: "Zoe",
    CONF_VEHICLE_CAPACITY: 52,
    CONF_VEHICLE_PHASES: "3",
    CONF_VEHICLE_SOC: "sensor.zoe_battery",
    CONF_VEHICLE_CONNECTED: "binary_sensor.zoe_plugged",
}


def _car(hass: HomeAssistant) -> None:
    set_sensor(hass, "sensor.zoe_battery", "55", "%", "battery")
    hass.states.async_set("binary_sensor.zoe_plugged", "off", {"device_class": "plug"})


async def _add_vehicle(hass: HomeAssistant, entry: ConfigEntry, data: dict[str, Any]) -> Any:
    flow = await hass.config_entries.subentries.async_init(
        (entry.entry_id, SUBENTRY_VEHICLE), context={"source": "user"}
    )
    assert flow["type"] is FlowResultType.FORM and flow["step_id"] == "user"
    return await hass.config_entries.subentries.async_configure(flow["flow_id"], data)


def _lp(entry: ConfigEntry) -> dict[str, Any]:
    doc: dict[str, Any] = entry.runtime_data.coordinator.controller.state()["loadpoints"][0]
    return doc


@pytest.mark.parametrize(
    ("changes", "errors"),
    [
        ({CONF_VEHICLE_TITLE: " "}, {CONF_VEHICLE_TITLE: "vehicle_title_missing"}),
        ({CONF_VEHICLE_TITLE: "ID.3"}, {CONF_VEHICLE_TITLE: "duplicate_vehicle"}),
        (
            {CONF_VEHICLE_CONNECTED: "sensor.zoe_battery"},
            {CONF_VEHICLE_CONNECTED: "invalid_connected_entity"},
        ),
        ({CONF_VEHICLE_SOC: "sensor.missing"}, {CONF_VEHICLE_SOC: "entity_not_found"}),
    ],
)
async def test_vehicle_flow_errors(
    hass: HomeAssistant, changes: dict[str, Any], errors: dict[str, str]
) -> None:
    await wallbox_helpers(hass)
    _car(hass)
    entry = await real_site(hass)
    flow = await add_loadpoint(hass, entry, vehicle={CONF_VEHICLE_TITLE: "ID.3"})
    assert flow["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    result = await _add_vehicle(hass, entry, {**ZOE, **changes})
    assert result["type"] is FlowResultType.FORM and result["errors"] == errors
    assert [s.subentry_type for s in entry.subentries.values()] == ["loadpoint"]
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_a_vehicle_is_detected_chosen_and_set(hass: HomeAssistant, hass_client: Any) -> None:
    await wallbox_helpers(hass)
    _car(hass)
    entry = await real_site(hass)
    assert (await add_loadpoint(hass, entry))["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    result = await _add_vehicle(hass, entry, ZOE)
    assert result["type"] is FlowResultType.CREATE_ENTRY and result["title"] == "Zoe"
    assert result["data"] == {
        CONF_VEHICLE_CAPACITY: 52.0,
        CONF_VEHICLE_PHASES: 3,
        CONF_VEHICLE_SOC: "sensor.zoe_battery",
        CONF_VEHICLE_CONNECTED: "binary_sensor.zoe_plugged",
    }
    await hass.async_block_till_done()  # the site reloads with its vehicle
    coordinator = entry.runtime_data.coordinator
    assert list(coordinator.controller.state()["vehicles"]) == ["zoe"]
    select = "select.garage_vehicle"
    assert hass.states.get(select).attributes["options"] == ["guest", "Zoe"]
    assert hass.states.get(select).state == "guest"

    # a car connects while the Zoe's integration says it is plugged in: it is the Zoe
    hass.states.async_set("binary_sensor.zoe_plugged", "on", {"device_class": "plug"})
    await hass.services.async_call(
        "input_select",
        "select_option",
        {ATTR_ENTITY_ID: "input_select.wallbox_status", "option": "connected"},
        blocking=True,
    )
    await coordinator.async_refresh()  # connect: detection starts, finds the Zoe
    await coordinator.async_refresh()  # its SoC sensor now tells the loadpoint
    await hass.async_block_till_done()
    assert (_lp(entry)["vehicleName"], _lp(entry)["vehicleTitle"]) == ("zoe", "Zoe")
    assert hass.states.get(select).state == "Zoe"
    assert hass.states.get("sensor.garage_vehicle_soc").state == "55.0"

    # evcc's vehicle routes in Home Assistant's view: the settings are the Zoe's
    client = await hass_client()
    response = await client.post("/api/evcc_ha/vehicles/zoe/limitsoc/80")
    assert response.status == 200 and await response.json() == {"soc": 80}
    assert _lp(entry)["limitSoc"] == 80
    response = await client.delete("/api/evcc_ha/loadpoints/1/vehicle")
    assert response.status == 200
    await hass.async_block_till_done()
    assert hass.states.get(select).state == "guest"
    assert _lp(entry)["limitSoc"] == 100  # the guest's; the Zoe keeps its 80 %
    assert coordinator.controller.state()["vehicles"]["zoe"]["limitSoc"] == 80

    # the select brings the Zoe back, with its settings
    await hass.services.async_call(
        Platform.SELECT,
        SERVICE_SELECT_OPTION,
        {ATTR_ENTITY_ID: select, ATTR_OPTION: "Zoe"},
        blocking=True,
    )
    assert (_lp(entry)["vehicleName"], _lp(entry)["limitSoc"]) == ("zoe", 80)
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_a_vehicle_that_needs_a_welcome_charge_gets_it_when_a_car_connects(
    hass: HomeAssistant,
) -> None:
    """The vehicle form's welcome charge (evcc's welcomecharge): in mode off the wallbox is
    switched on at the minimum when a car connects, and off again after it."""
    await wallbox_helpers(hass)
    _car(hass)
    entry = await real_site(hass)
    assert (await add_loadpoint(hass, entry))["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    result = await _add_vehicle(hass, entry, {**ZOE, CONF_VEHICLE_WELCOME_CHARGE: True})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_VEHICLE_WELCOME_CHARGE] is True
    await hass.async_block_till_done()
    coordinator = entry.runtime_data.coordinator
    assert _lp(entry)["mode"] == "off"
    await hass.services.async_call(
        "input_select",
        "select_option",
        {ATTR_ENTITY_ID: "input_select.wallbox_status", "option": "connected"},
        blocking=True,
    )
    await coordinator.async_refresh()
    await hass.async_block_till_done()
    assert _lp(entry)["vehicleWelcomeActive"] is True
    assert hass.states.get("input_boolean.wallbox_enable").state == "on"
    assert float(hass.states.get("input_number.wallbox_current").state) == 6.0
    assert await hass.config_entries.async_unload(entry.entry_id)

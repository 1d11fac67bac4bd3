"""What a car's own integration tells besides the SoC (range, odometer, the car's charge limit,
its climater): chosen in the loadpoint's vehicle step, read every cycle, shown as evcc's
vehicleRange / vehicleOdometer / vehicleLimitSoc / vehicleClimaterActive and as our entities.
A real site entry with a charger of input helpers, the real factory and controller."""

from __future__ import annotations

from typing import Any

import pytest
from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType

from custom_components.evcc_ha.const import (
    CONF_VEHICLE_CLIMATER,
    CONF_VEHICLE_LIMIT,
    CONF_VEHICLE_ODOMETER,
    CONF_VEHICLE_RANGE,
    CONF_VEHICLE_SOC,
    CONF_VEHICLE_TITLE,
)
from custom_components.evcc_ha.core.model import DeviceError
from custom_components.evcc_ha.devices.ha_entities import EntityVehicle

from .ha_site import add_loadpoint, real_site, wallbox_helpers
from .test_config_flow import set_sensor

CAR: dict[str, Any] = {
    CONF_VEHICLE_TITLE: "Zoe",
    CONF_VEHICLE_SOC: "sensor.zoe_battery",
    CONF_VEHICLE_RANGE: "sensor.zoe_range",
    CONF_VEHICLE_ODOMETER: "sensor.zoe_mileage",
    CONF_VEHICLE_LIMIT: "number.zoe_charge_limit",
    CONF_VEHICLE_CLIMATER: "climate.zoe_hvac",
}


def _car(hass: HomeAssistant, *, range_state: str = "186.4") -> None:
    set_sensor(hass, "sensor.zoe_battery", "55", "%", "battery")
    set_sensor(hass, "sensor.zoe_range", range_state, "mi", "distance")
    set_sensor(hass, "sensor.zoe_mileage", "20000", "km", "distance")
    set_sensor(hass, "number.zoe_charge_limit", "90", "%", min=50, max=100)
    hass.states.async_set("climate.zoe_hvac", "heat_cool")


def _lp(entry: ConfigEntry) -> dict[str, Any]:
    doc: dict[str, Any] = entry.runtime_data.coordinator.controller.state()["loadpoints"][0]
    return doc


async def test_vehicle_values_from_the_car_integration(hass: HomeAssistant) -> None:
    await wallbox_helpers(hass)
    _car(hass)
    entry = await real_site(hass)
    flow = await add_loadpoint(hass, entry, vehicle=CAR)
    assert flow["type"] is FlowResultType.CREATE_ENTRY
    assert {key: flow["data"][key] for key in CAR} == CAR
    await hass.async_block_till_done()
    coordinator = entry.runtime_data.coordinator
    await coordinator.async_refresh()

    lp = _lp(entry)
    assert lp["vehicleRange"] == 300  # 186.4 mi
    assert lp["vehicleOdometer"] == 20000
    assert lp["vehicleLimitSoc"] == 90
    assert lp["vehicleClimaterActive"] is True
    assert hass.states.get("sensor.garage_vehicle_range").state == "300.0"
    assert hass.states.get("sensor.garage_vehicle_odometer").state == "20000.0"
    assert hass.states.get("sensor.garage_vehicle_charge_limit").state == "90.0"
    assert hass.states.get("binary_sensor.garage_vehicle_climater").state == "on"

    # the car reports new values: the next cycle has them
    hass.states.async_set("climate.zoe_hvac", "off")
    set_sensor(hass, "sensor.zoe_range", "100", "km", "distance")
    await coordinator.async_refresh()
    assert (_lp(entry)["vehicleRange"], _lp(entry)["vehicleClimaterActive"]) == (100, False)

    # garbage from the car: its values are unavailable for the cycle, the loadpoint is not
    set_sensor(hass, "sensor.zoe_range", "-40", "km", "distance")
    await coordinator.async_refresh()
    await hass.async_block_till_done()
    assert "vehicle1_values" in coordinator.data.failed
    assert coordinator.data.loadpoint_ok(0)
    assert hass.states.get("select.garage_charge_mode").state != "unavailable"
    assert _lp(entry)["vehicleRange"] == 100  # the API keeps the last good values, as evcc
    # the entities of the car's values do not pass them off as current
    for entity_id in (
        "sensor.garage_vehicle_range",
        "sensor.garage_vehicle_odometer",
        "sensor.garage_vehicle_charge_limit",
        "binary_sensor.garage_vehicle_climater",
    ):
        assert hass.states.get(entity_id).state == "unavailable", entity_id
    assert hass.states.get("sensor.garage_vehicle_soc").state != "unavailable"
    # the car is back: so are they
    set_sensor(hass, "sensor.zoe_range", "90", "km", "distance")
    await coordinator.async_refresh()
    await hass.async_block_till_done()
    assert hass.states.get("sensor.garage_vehicle_range").state == "90.0"
    assert hass.states.get("binary_sensor.garage_vehicle_climater").state == "off"
    assert await hass.config_entries.async_unload(entry.entry_id)


@pytest.mark.parametrize(
    ("changes", "errors"),
    [
        (
            {CONF_VEHICLE_RANGE: "sensor.zoe_battery"},
            {CONF_VEHICLE_RANGE: "invalid_distance_sensor"},
        ),
        ({CONF_VEHICLE_ODOMETER: "sensor.missing"}, {CONF_VEHICLE_ODOMETER: "entity_not_found"}),
        ({CONF_VEHICLE_LIMIT: "sensor.zoe_range"}, {CONF_VEHICLE_LIMIT: "invalid_limit_entity"}),
        (
            {CONF_VEHICLE_CLIMATER: "sensor.zoe_range"},
            {CONF_VEHICLE_CLIMATER: "invalid_climater_entity"},
        ),
        ({CONF_VEHICLE_TITLE: " "}, {CONF_VEHICLE_TITLE: "vehicle_title_missing"}),
    ],
)
async def test_vehicle_value_errors(
    hass: HomeAssistant, changes: dict[str, Any], errors: dict[str, str]
) -> None:
    await wallbox_helpers(hass)
    _car(hass)
    entry = await real_site(hass)
    flow = await add_loadpoint(hass, entry, vehicle={**CAR, **changes})
    assert flow["type"] is FlowResultType.FORM
    assert flow["errors"] == errors
    assert not entry.subentries  # a rejected form stores nothing
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_entity_vehicle_reads(hass: HomeAssistant) -> None:
    values = EntityVehicle(
        hass,
        "car",
        range_entity="sensor.r",
        odometer_entity="sensor.o",
        limit_entity="sensor.l",
        climater_entity="switch.c",
    )
    empty = await values.async_read()  # nothing known yet
    assert (empty.range_km, empty.odometer_km, empty.limit_soc, empty.climater_active) == (
        None,
        None,
        None,
        None,
    )
    set_sensor(hass, "sensor.r", "250", None, "distance")  # no unit: km
    set_sensor(hass, "sensor.o", "1000", "mi", "distance")
    set_sensor(hass, "sensor.l", "80", "%")
    hass.states.async_set("switch.c", "on")
    read = await values.async_read()
    assert read.range_km == 250 and read.odometer_km == pytest.approx(1609.344)
    assert (read.limit_soc, read.climater_active) == (80, True)
    for entity_id, state, unit in (
        ("sensor.r", "far", "km"),
        ("sensor.r", "3", "kWh"),
        ("sensor.l", "180", "%"),
    ):
        set_sensor(hass, entity_id, state, unit)
        with pytest.raises(DeviceError):
            await values.async_read()
        set_sensor(hass, "sensor.r", "250", "km")
        set_sensor(hass, "sensor.l", "80", "%")
    hass.states.async_set("switch.c", "maybe")
    with pytest.raises(DeviceError):
        await values.async_read()

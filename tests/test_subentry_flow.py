"""Tests for the loadpoint subentry flow: add and reconfigure, with every validation error."""

from __future__ import annotations

from typing import Any

import pytest
from homeassistant.config_entries import SOURCE_RECONFIGURE, SOURCE_USER
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType, InvalidData
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.evcc_ha.config_flow import default_options
from custom_components.evcc_ha.const import (
    CONF_CHARGE_METER_POWER,
    CONF_CHARGER_CHARGING,
    CONF_CHARGER_CURRENT,
    CONF_CHARGER_ENABLE,
    CONF_CHARGER_ENERGY,
    CONF_CHARGER_MAX_CURRENT,
    CONF_CHARGER_PHASE_COUNT,
    CONF_CHARGER_PHASES,
    CONF_CHARGER_PHASES_ON_1P,
    CONF_CHARGER_POWER,
    CONF_CHARGER_STATUS,
    CONF_CONTROL_PROFILE,
    CONF_DEMO,
    CONF_GRID_POWER,
    CONF_SITE_TITLE,
    CONF_TITLE,
    CONF_VEHICLE_CAPACITY,
    CONF_VEHICLE_PHASES,
    CONF_VEHICLE_SOC,
    CONF_VEHICLE_TITLE,
    DOMAIN,
    SUBENTRY_LOADPOINT,
)

from .test_config_flow import check_form, set_sensor, with_changes

pytestmark = pytest.mark.usefixtures("mock_setup_entry")

SECTION = ("config_subentries", SUBENTRY_LOADPOINT)

CHARGER: dict[str, Any] = {
    CONF_TITLE: " Garage ",
    CONF_CHARGER_ENABLE: "switch.wallbox_charge",
    CONF_CHARGER_CURRENT: "number.wallbox_current",
    CONF_CHARGER_STATUS: "sensor.wallbox_status",
    CONF_CHARGER_CHARGING: "binary_sensor.wallbox_charging",
    CONF_CHARGER_POWER: "sensor.wallbox_power",
    CONF_CHARGER_ENERGY: "sensor.wallbox_energy",
    CONF_CHARGER_MAX_CURRENT: 32,
    CONF_CHARGER_PHASE_COUNT: "3",
    CONF_CHARGER_PHASES: "select.wallbox_phases",
    CONF_CHARGER_PHASES_ON_1P: False,
    CONF_CHARGE_METER_POWER: "sensor.meter_power",
    CONF_CONTROL_PROFILE: "smooth",
}
VEHICLE: dict[str, Any] = {
    CONF_VEHICLE_TITLE: " ID.3 ",
    CONF_VEHICLE_CAPACITY: 58,
    CONF_VEHICLE_PHASES: "2",
    CONF_VEHICLE_SOC: "sensor.car_soc",
}
STORED_CHARGER: dict[str, Any] = {
    CONF_TITLE: "Garage",
    CONF_CHARGER_ENABLE: "switch.wallbox_charge",
    CONF_CHARGER_CURRENT: "number.wallbox_current",
    CONF_CHARGER_STATUS: "sensor.wallbox_status",
    CONF_CHARGER_CHARGING: "binary_sensor.wallbox_charging",
    CONF_CHARGER_POWER: "sensor.wallbox_power",
    CONF_CHARGER_ENERGY: "sensor.wallbox_energy",
    CONF_CHARGER_MAX_CURRENT: 32.0,
    CONF_CHARGER_PHASE_COUNT: 3,
    CONF_CHARGER_PHASES: "select.wallbox_phases",
    CONF_CHARGER_PHASES_ON_1P: False,
    CONF_CHARGE_METER_POWER: "sensor.meter_power",
    CONF_CONTROL_PROFILE: "smooth",
}
STORED_VEHICLE: dict[str, Any] = {
    CONF_VEHICLE_TITLE: "ID.3",
    CONF_VEHICLE_CAPACITY: 58.0,
    CONF_VEHICLE_PHASES: 2,
    CONF_VEHICLE_SOC: "sensor.car_soc",
}
OTHER_LOADPOINT: dict[str, Any] = {
    CONF_TITLE: "Carport",
    CONF_CHARGER_ENABLE: "input_boolean.carport_enable",
    CONF_CHARGER_CURRENT: "input_number.carport_current",
    CONF_CHARGER_STATUS: "binary_sensor.carport_plug",
    CONF_CHARGER_MAX_CURRENT: 16.0,
    CONF_CHARGER_PHASE_COUNT: 1,
    CONF_CHARGER_PHASES_ON_1P: False,
}


def add_charger_entities(hass: HomeAssistant) -> None:
    """States of a wallbox integration (and a few misfits)."""
    set_sensor(hass, "switch.wallbox_charge", "off")
    set_sensor(
        hass, "number.wallbox_current", "16", "A", "current", min=6, max=32, step=1, mode="box"
    )
    set_sensor(hass, "number.wallbox_current_no_unit", "16", min=6, max=32)
    set_sensor(hass, "number.wallbox_current_min8", "16", "A", min=8, max=32)
    set_sensor(hass, "number.wallbox_current_max5", "5", "A", min=0, max=5)
    set_sensor(hass, "number.wallbox_current_max0", "0", "A", min=0, max=0)
    set_sensor(hass, "number.wallbox_current_step7", "7", "A", min=0, max=32, step=7)
    set_sensor(hass, "number.wallbox_current_max16", "16", "A", min=6, max=16)
    set_sensor(hass, "number.wallbox_current_unbounded", "16", "A")
    set_sensor(hass, "number.wallbox_voltage", "230", "V", "voltage", min=0, max=400)
    set_sensor(
        hass,
        "sensor.wallbox_status",
        "connected",
        device_class="enum",
        options=["disconnected", "connected", "charging", "error"],
    )
    set_sensor(hass, "binary_sensor.wallbox_plug", "on", device_class="plug")
    set_sensor(hass, "binary_sensor.wallbox_charging", "off", device_class="battery_charging")
    set_sensor(hass, "sensor.wallbox_power", "0", "W", "power")
    set_sensor(hass, "sensor.wallbox_energy", "1234.5", "kWh", "energy")
    set_sensor(hass, "sensor.meter_power", "0.0", "kW", "power")
    set_sensor(hass, "select.wallbox_phases", "3p", options=["1p", "3p", "auto"])
    set_sensor(hass, "select.wallbox_mode", "eco", options=["eco", "fast", "1p"])
    set_sensor(hass, "switch.wallbox_phases", "on")
    set_sensor(hass, "sensor.car_soc", "64", "%", "battery")
    set_sensor(hass, "input_boolean.carport_enable", "off")
    set_sensor(hass, "input_number.carport_current", "10", "A", min=0, max=16, step=1)
    set_sensor(hass, "binary_sensor.carport_plug", "off")


def _site(hass: HomeAssistant, *loadpoints: dict[str, Any]) -> MockConfigEntry:
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Home",
        data={CONF_SITE_TITLE: "Home", CONF_DEMO: False},
        options={**default_options(), CONF_GRID_POWER: "sensor.grid_power"},
        unique_id="home",
        subentries_data=[
            {
                "data": data,
                "subentry_id": f"lp{index}",
                "subentry_type": SUBENTRY_LOADPOINT,
                "title": data[CONF_TITLE],
                "unique_id": None,
            }
            for index, data in enumerate(loadpoints, start=1)
        ],
    )
    entry.add_to_hass(hass)
    return entry


async def _start(
    hass: HomeAssistant, entry: MockConfigEntry, subentry_id: str | None = None
) -> dict[str, Any]:
    context: dict[str, Any] = {"source": SOURCE_USER}
    if subentry_id is not None:
        context = {"source": SOURCE_RECONFIGURE, "subentry_id": subentry_id}
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, SUBENTRY_LOADPOINT), context=context
    )
    if subentry_id is None:
        # adding: the menu first (entities or Modbus), then the entity charger's form
        assert result["type"] is FlowResultType.MENU and result["step_id"] == "user"
        assert result["menu_options"] == ["charger", "modbus_charger"]
        result = await _configure(hass, result, {"next_step_id": "charger"})
    return result


async def _configure(hass: HomeAssistant, result: dict[str, Any], data: dict[str, Any]) -> Any:
    return await hass.config_entries.subentries.async_configure(result["flow_id"], data)


def _suggested(result: dict[str, Any]) -> dict[str, Any]:
    return {
        str(marker): marker.description["suggested_value"]
        for marker in result["data_schema"].schema
        if marker.description and "suggested_value" in marker.description
    }


async def test_add_loadpoint_with_vehicle(hass: HomeAssistant) -> None:
    """Charger step, vehicle step, then the subentry holds the cleaned data."""
    add_charger_entities(hass)
    entry = _site(hass)

    result = await _start(hass, entry)
    check_form(result, *SECTION)
    assert result["step_id"] == "charger"
    assert result["errors"] == {}
    assert _suggested(result) == {}

    result = await _configure(hass, result, CHARGER)
    check_form(result, *SECTION)
    assert result["step_id"] == "vehicle"
    assert result["errors"] == {}

    result = await _configure(hass, result, VEHICLE)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Garage"
    assert result["data"] == {**STORED_CHARGER, **STORED_VEHICLE}
    (subentry,) = entry.subentries.values()
    assert subentry.subentry_type == SUBENTRY_LOADPOINT
    assert subentry.title == "Garage"
    assert dict(subentry.data) == {**STORED_CHARGER, **STORED_VEHICLE}


async def test_add_minimal_loadpoint(hass: HomeAssistant) -> None:
    """Only title, enable switch, current and status are required; no vehicle."""
    add_charger_entities(hass)
    entry = _site(hass, OTHER_LOADPOINT)

    result = await _start(hass, entry)
    result = await _configure(
        hass,
        result,
        {
            CONF_TITLE: "Garage",
            CONF_CHARGER_ENABLE: "switch.wallbox_charge",
            CONF_CHARGER_CURRENT: "number.wallbox_current_unbounded",
            CONF_CHARGER_STATUS: "binary_sensor.wallbox_plug",
        },
    )
    assert result["step_id"] == "vehicle"
    result = await _configure(hass, result, {CONF_VEHICLE_TITLE: "   "})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"] == {
        CONF_TITLE: "Garage",
        CONF_CHARGER_ENABLE: "switch.wallbox_charge",
        CONF_CHARGER_CURRENT: "number.wallbox_current_unbounded",
        CONF_CHARGER_STATUS: "binary_sensor.wallbox_plug",
        CONF_CHARGER_MAX_CURRENT: 16.0,
        CONF_CHARGER_PHASE_COUNT: 3,
        CONF_CHARGER_PHASES_ON_1P: False,
        CONF_CONTROL_PROFILE: "evcc",  # evcc's rules unless chosen otherwise
    }
    # Subentries keep the order they were added in.
    assert [s.title for s in entry.subentries.values()] == ["Carport", "Garage"]


async def test_add_loadpoint_with_input_helpers_and_phase_switch(hass: HomeAssistant) -> None:
    """Input helpers work as charger entities; a phase switch may mean 1 phase when on."""
    add_charger_entities(hass)
    entry = _site(hass)
    result = await _start(hass, entry)
    result = await _configure(
        hass,
        result,
        {
            **{k: v for k, v in OTHER_LOADPOINT.items() if k != CONF_CHARGER_PHASE_COUNT},
            CONF_CHARGER_PHASES: "switch.wallbox_phases",
            CONF_CHARGER_PHASES_ON_1P: True,
        },
    )
    result = await _configure(hass, result, {CONF_VEHICLE_TITLE: "Zoe", CONF_VEHICLE_PHASES: "3"})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"] == {
        **OTHER_LOADPOINT,
        CONF_CHARGER_PHASE_COUNT: 3,
        CONF_CHARGER_PHASES: "switch.wallbox_phases",
        CONF_CHARGER_PHASES_ON_1P: True,
        CONF_VEHICLE_TITLE: "Zoe",
        CONF_VEHICLE_CAPACITY: 50.0,
        CONF_VEHICLE_PHASES: 3,
        CONF_CONTROL_PROFILE: "evcc",
    }


# (changes to CHARGER, field, error): every charger validation error.
CHARGER_ERRORS: list[tuple[dict[str, Any], str, str]] = [
    ({CONF_TITLE: "  "}, CONF_TITLE, "invalid_title"),
    ({CONF_TITLE: "x" * 65}, CONF_TITLE, "invalid_title"),
    ({CONF_TITLE: "CARPORT "}, CONF_TITLE, "duplicate_title"),
    ({CONF_CHARGER_ENABLE: "switch.missing"}, CONF_CHARGER_ENABLE, "entity_not_found"),
    ({CONF_CHARGER_ENABLE: "binary_sensor.wallbox_plug"}, CONF_CHARGER_ENABLE, "invalid_switch"),
    (
        {CONF_CHARGER_ENABLE: "input_boolean.carport_enable"},
        CONF_CHARGER_ENABLE,
        "entity_in_use",
    ),
    ({CONF_CHARGER_CURRENT: "number.missing"}, CONF_CHARGER_CURRENT, "entity_not_found"),
    (
        {CONF_CHARGER_CURRENT: "number.wallbox_current_no_unit"},
        CONF_CHARGER_CURRENT,
        "invalid_current_number",
    ),
    (
        {CONF_CHARGER_CURRENT: "number.wallbox_voltage"},
        CONF_CHARGER_CURRENT,
        "invalid_current_number",
    ),
    (
        {CONF_CHARGER_CURRENT: "sensor.wallbox_power"},
        CONF_CHARGER_CURRENT,
        "invalid_current_number",
    ),
    (
        {CONF_CHARGER_CURRENT: "input_number.carport_current"},
        CONF_CHARGER_CURRENT,
        "entity_in_use",
    ),
    (
        {CONF_CHARGER_CURRENT: "number.wallbox_current_min8"},
        CONF_CHARGER_CURRENT,
        "current_range",
    ),
    (
        {CONF_CHARGER_CURRENT: "number.wallbox_current_max5"},
        CONF_CHARGER_CURRENT,
        "current_range",
    ),
    (
        {CONF_CHARGER_CURRENT: "number.wallbox_current_max0"},
        CONF_CHARGER_CURRENT,
        "current_range",
    ),
    (
        {CONF_CHARGER_CURRENT: "number.wallbox_current_step7"},
        CONF_CHARGER_CURRENT,
        "current_range",
    ),
    ({CONF_CHARGER_STATUS: "sensor.missing"}, CONF_CHARGER_STATUS, "entity_not_found"),
    ({CONF_CHARGER_STATUS: "sensor.wallbox_power"}, CONF_CHARGER_STATUS, "invalid_status_entity"),
    ({CONF_CHARGER_STATUS: "switch.wallbox_charge"}, CONF_CHARGER_STATUS, "invalid_status_entity"),
    (
        {CONF_CHARGER_CHARGING: "sensor.wallbox_status"},
        CONF_CHARGER_CHARGING,
        "invalid_charging_entity",
    ),
    ({CONF_CHARGER_POWER: "sensor.wallbox_energy"}, CONF_CHARGER_POWER, "invalid_power_sensor"),
    ({CONF_CHARGER_ENERGY: "sensor.wallbox_power"}, CONF_CHARGER_ENERGY, "invalid_energy_sensor"),
    ({CONF_CHARGER_ENERGY: "sensor.missing"}, CONF_CHARGER_ENERGY, "entity_not_found"),
    ({CONF_CHARGER_PHASES: "select.wallbox_mode"}, CONF_CHARGER_PHASES, "invalid_phase_entity"),
    ({CONF_CHARGER_PHASES: "sensor.wallbox_power"}, CONF_CHARGER_PHASES, "invalid_phase_entity"),
    ({CONF_CHARGER_PHASE_COUNT: "1"}, CONF_CHARGER_PHASES, "phase_switch_needs_3p"),
    (
        {CONF_CHARGE_METER_POWER: "binary_sensor.wallbox_plug"},
        CONF_CHARGE_METER_POWER,
        "invalid_power_sensor",
    ),
    ({CONF_CHARGER_MAX_CURRENT: 5}, CONF_CHARGER_MAX_CURRENT, "max_current_too_low"),
    ({CONF_CHARGER_MAX_CURRENT: 40}, CONF_CHARGER_MAX_CURRENT, "max_current_above_entity"),
    (
        {CONF_CHARGER_CURRENT: "number.wallbox_current_max16"},
        CONF_CHARGER_MAX_CURRENT,
        "max_current_above_entity",
    ),
]


@pytest.mark.parametrize(("changes", "field", "error"), CHARGER_ERRORS)
async def test_add_charger_errors(
    hass: HomeAssistant, changes: dict[str, Any], field: str, error: str
) -> None:
    """Each problem shows its translated error in the form; no subentry is added."""
    add_charger_entities(hass)
    entry = _site(hass, OTHER_LOADPOINT)

    result = await _start(hass, entry)
    result = await _configure(hass, result, with_changes(CHARGER, changes))
    check_form(result, *SECTION)
    assert result["step_id"] == "charger"
    assert result["errors"] == {field: error}
    assert _suggested(result)[CONF_TITLE] == with_changes(CHARGER, changes)[CONF_TITLE]
    assert len(entry.subentries) == 1

    # Fixing the input continues in the same flow.
    result = await _configure(hass, result, CHARGER)
    assert result["step_id"] == "vehicle"


async def test_add_charger_several_errors(hass: HomeAssistant) -> None:
    """Problems in several fields show together; the hardware limit is checked on its own."""
    add_charger_entities(hass)
    entry = _site(hass)
    result = await _start(hass, entry)
    result = await _configure(
        hass,
        result,
        with_changes(
            CHARGER,
            {
                CONF_CHARGER_CURRENT: "number.wallbox_current_min8",
                CONF_CHARGER_MAX_CURRENT: 2,
                CONF_CHARGER_PHASES: "select.missing",
                CONF_CHARGER_PHASE_COUNT: "1",
            },
        ),
    )
    assert result["errors"] == {
        CONF_CHARGER_CURRENT: "current_range",
        CONF_CHARGER_MAX_CURRENT: "max_current_too_low",
        CONF_CHARGER_PHASES: "entity_not_found",
    }


@pytest.mark.parametrize(
    "changes",
    [
        {CONF_CHARGER_MAX_CURRENT: 81},
        {CONF_CHARGER_MAX_CURRENT: 0},
        {CONF_CHARGER_PHASE_COUNT: "2"},
        {CONF_CONTROL_PROFILE: "turbo"},
    ],
)
async def test_add_charger_selector_bounds(hass: HomeAssistant, changes: dict[str, Any]) -> None:
    """Values outside the selectors' ranges are refused by the schema."""
    add_charger_entities(hass)
    entry = _site(hass)
    result = await _start(hass, entry)
    with pytest.raises(InvalidData):
        await _configure(hass, result, with_changes(CHARGER, changes))


@pytest.mark.parametrize(
    ("changes", "errors"),
    [
        ({CONF_VEHICLE_SOC: "sensor.wallbox_power"}, {CONF_VEHICLE_SOC: "invalid_soc_sensor"}),
        ({CONF_VEHICLE_SOC: "sensor.missing"}, {CONF_VEHICLE_SOC: "entity_not_found"}),
        ({CONF_VEHICLE_TITLE: None}, {CONF_VEHICLE_TITLE: "vehicle_title_missing"}),
        (
            {CONF_VEHICLE_TITLE: " ", CONF_VEHICLE_SOC: "sensor.wallbox_energy"},
            {
                CONF_VEHICLE_TITLE: "vehicle_title_missing",
                CONF_VEHICLE_SOC: "invalid_soc_sensor",
            },
        ),
    ],
)
async def test_add_vehicle_errors(
    hass: HomeAssistant, changes: dict[str, Any], errors: dict[str, str]
) -> None:
    """A SoC sensor must report % and needs a vehicle name."""
    add_charger_entities(hass)
    entry = _site(hass)
    result = await _start(hass, entry)
    result = await _configure(hass, result, CHARGER)
    result = await _configure(hass, result, with_changes(VEHICLE, changes))
    check_form(result, *SECTION)
    assert result["step_id"] == "vehicle"
    assert result["errors"] == errors
    assert not entry.subentries

    result = await _configure(hass, result, VEHICLE)
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_reconfigure_loadpoint(hass: HomeAssistant) -> None:
    """Reconfigure shows the stored values, keeps its own title, and replaces the data."""
    add_charger_entities(hass)
    entry = _site(hass, {**STORED_CHARGER, **STORED_VEHICLE}, OTHER_LOADPOINT)
    updates: list[list[str]] = []

    async def listener(hass: HomeAssistant, changed: Any) -> None:
        updates.append([s.title for s in changed.subentries.values()])

    entry.add_update_listener(listener)

    result = await _start(hass, entry, "lp1")
    check_form(result, *SECTION)
    assert result["step_id"] == "reconfigure"
    assert _suggested(result) == {**STORED_CHARGER, CONF_CHARGER_PHASE_COUNT: "3"}

    # The own title and entities are no conflict; the vehicle is removed by clearing its name.
    result = await _configure(
        hass,
        result,
        with_changes(
            CHARGER,
            {
                CONF_TITLE: "GARAGE",
                CONF_CHARGER_PHASES: None,
                CONF_CHARGER_CHARGING: None,
                CONF_CHARGER_MAX_CURRENT: 20,
            },
        ),
    )
    check_form(result, *SECTION)
    assert result["step_id"] == "vehicle"
    assert _suggested(result) == {
        CONF_VEHICLE_TITLE: "ID.3",
        CONF_VEHICLE_CAPACITY: 58.0,
        CONF_VEHICLE_PHASES: "2",
        CONF_VEHICLE_SOC: "sensor.car_soc",
    }
    result = await _configure(hass, result, {})
    await hass.async_block_till_done()
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"

    subentry = entry.subentries["lp1"]
    assert subentry.title == "GARAGE"
    expected = {
        **STORED_CHARGER,
        CONF_TITLE: "GARAGE",
        CONF_CHARGER_MAX_CURRENT: 20.0,
    }
    del expected[CONF_CHARGER_PHASES], expected[CONF_CHARGER_CHARGING]
    assert dict(subentry.data) == expected
    # The order of the loadpoints stays; the update listener (the entry's reload) ran.
    assert [s.subentry_id for s in entry.subentries.values()] == ["lp1", "lp2"]
    assert updates == [["GARAGE", "Carport"]]


async def test_reconfigure_loadpoint_errors(hass: HomeAssistant) -> None:
    """Another loadpoint's title and entities are refused; nothing changes."""
    add_charger_entities(hass)
    entry = _site(hass, STORED_CHARGER, OTHER_LOADPOINT)
    result = await _start(hass, entry, "lp1")
    result = await _configure(
        hass,
        result,
        with_changes(
            CHARGER,
            {CONF_TITLE: "carport", CONF_CHARGER_ENABLE: "input_boolean.carport_enable"},
        ),
    )
    check_form(result, *SECTION)
    assert result["step_id"] == "reconfigure"
    assert result["errors"] == {
        CONF_TITLE: "duplicate_title",
        CONF_CHARGER_ENABLE: "entity_in_use",
    }
    assert _suggested(result)[CONF_TITLE] == "carport"
    result = await _configure(hass, result, CHARGER)
    result = await _configure(hass, result, {CONF_VEHICLE_TITLE: "eGolf", CONF_VEHICLE_SOC: "x.y"})
    check_form(result, *SECTION)
    assert result["errors"] == {CONF_VEHICLE_SOC: "entity_not_found"}
    assert dict(entry.subentries["lp1"].data) == STORED_CHARGER


async def test_add_loadpoint_with_a_vehicle_title_in_use(hass: HomeAssistant) -> None:
    """The vehicle step refuses a vehicle name the site has (compared by slug), as the vehicle
    subentry does; reconfiguring the loadpoint keeps its own vehicle's name."""
    add_charger_entities(hass)
    entry = _site(hass, {**OTHER_LOADPOINT, **STORED_VEHICLE})
    result = await _start(hass, entry)
    result = await _configure(hass, result, CHARGER)
    result = await _configure(hass, result, with_changes(VEHICLE, {CONF_VEHICLE_TITLE: "id 3"}))
    check_form(result, *SECTION)
    assert result["step_id"] == "vehicle"
    assert result["errors"] == {CONF_VEHICLE_TITLE: "duplicate_vehicle"}
    assert len(entry.subentries) == 1
    result = await _configure(hass, result, with_changes(VEHICLE, {CONF_VEHICLE_TITLE: "Zoe"}))
    assert result["type"] is FlowResultType.CREATE_ENTRY

"""Load management end to end: a circuit added through its subentry flow holds a loadpoint's
charger under its fuse and under an external limit (a helper standing in for the grid operator's
control box), shows as sensors and in `/api/state` of Home Assistant's view (the real factory,
controller and HTTP stack; the wallbox is helper entities)."""

from __future__ import annotations

from typing import Any

import pytest
from homeassistant.config_entries import ConfigEntry, ConfigEntryState
from homeassistant.const import ATTR_ENTITY_ID
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.setup import async_setup_component

from custom_components.evcc_ha.api.mqtt_topics import topic_tree
from custom_components.evcc_ha.const import (
    CONF_CIRCUIT_CURRENTS,
    CONF_CIRCUIT_GRID_METER,
    CONF_CIRCUIT_LIMIT,
    CONF_CIRCUIT_LOADPOINTS,
    CONF_CIRCUIT_MAX_CURRENT,
    CONF_CIRCUIT_MAX_POWER,
    CONF_CIRCUIT_METER,
    CONF_CIRCUIT_PARENT,
    CONF_CIRCUIT_TITLE,
    CONF_GRID_POWER,
    SUBENTRY_CIRCUIT,
    SUBENTRY_LOADPOINT,
)

from .ha_site import add_loadpoint, real_site, wallbox_helpers
from .test_config_flow import set_sensor


async def _limit_helper(hass: HomeAssistant) -> None:
    assert await async_setup_component(
        hass,
        "input_number",
        {
            "input_number": {
                "wallbox_current": {"min": 6, "max": 16, "step": 1, "unit_of_measurement": "A"},
                "grid_limit": {"min": 0, "max": 30000, "step": 1, "initial": 11000,
                               "unit_of_measurement": "W", "mode": "box"},
            }
        },
    )  # fmt: skip


async def _site_with_loadpoint(
    hass: HomeAssistant, meters: dict[str, Any] | None = None
) -> tuple[ConfigEntry, str]:
    assert await async_setup_component(
        hass, "input_boolean", {"input_boolean": {"wallbox_enable": None}}
    )
    await _limit_helper(hass)
    await wallbox_helpers(hass)  # the input_number and input_boolean exist already
    entry = await real_site(hass, meters)
    assert (await add_loadpoint(hass, entry))["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    loadpoint_id = next(
        s.subentry_id for s in entry.subentries.values() if s.subentry_type == SUBENTRY_LOADPOINT
    )
    return entry, loadpoint_id


async def _circuit_flow(
    hass: HomeAssistant, entry: ConfigEntry, data: dict[str, Any], *, reconfigure: str | None = None
) -> Any:
    context: dict[str, Any] = {"source": "user"}
    if reconfigure is not None:
        context = {"source": "reconfigure", "subentry_id": reconfigure}
    flow = await hass.config_entries.subentries.async_init(
        (entry.entry_id, SUBENTRY_CIRCUIT), context=context
    )
    assert flow["type"] is FlowResultType.FORM
    return await hass.config_entries.subentries.async_configure(flow["flow_id"], data)


async def _select(hass: HomeAssistant, domain: str, entity_id: str, **data: Any) -> None:
    service = "select_option" if domain == "input_select" else "set_value"
    await hass.services.async_call(
        domain, service, {ATTR_ENTITY_ID: entity_id, **data}, blocking=True
    )


def _subentry_of(device: dr.DeviceEntry) -> str | None:
    """The config subentry of a device of the site (newer Home Assistant: one per device)."""
    if hasattr(device, "config_subentry_id"):
        return device.config_subentry_id  # type: ignore[no-any-return]
    (subentry,) = next(iter(device.config_entries_subentries.values()))
    return subentry


async def _car_connects_in_mode_now(hass: HomeAssistant, entry: ConfigEntry) -> Any:
    """The car plugs in at the loadpoint, mode now, one cycle; the site's coordinator."""
    coordinator = entry.runtime_data.coordinator
    await _select(hass, "input_select", "input_select.wallbox_status", option="connected")
    await coordinator.controller.async_set_loadpoint(0, "mode", "now")
    await _cycle(hass, coordinator)
    return coordinator


async def _cycle(hass: HomeAssistant, coordinator: Any) -> None:
    """One control cycle now, and Home Assistant's states after it."""
    await coordinator.async_refresh()
    await hass.async_block_till_done()


async def test_a_circuit_holds_the_charger_under_its_fuse_and_the_external_limit(
    hass: HomeAssistant, hass_client: Any
) -> None:
    entry, loadpoint_id = await _site_with_loadpoint(hass)
    result = await _circuit_flow(
        hass,
        entry,
        {
            CONF_CIRCUIT_TITLE: "Main fuse",
            CONF_CIRCUIT_MAX_CURRENT: 10,
            CONF_CIRCUIT_LOADPOINTS: [loadpoint_id],
            CONF_CIRCUIT_LIMIT: "input_number.grid_limit",
        },
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY and result["title"] == "Main fuse"
    assert result["data"] == {
        CONF_CIRCUIT_MAX_CURRENT: 10.0,
        CONF_CIRCUIT_LOADPOINTS: [loadpoint_id],
        CONF_CIRCUIT_LIMIT: "input_number.grid_limit",
    }
    await hass.async_block_till_done()  # the site reloads with its circuit
    coordinator = entry.runtime_data.coordinator

    # a car connects in mode now: 16 A wanted, the 10 A fuse gives 10 A
    await _select(hass, "input_select", "input_select.wallbox_status", option="connected")
    client = await hass_client()
    response = await client.post("/api/evcc_ha/loadpoints/1/mode/now")
    assert response.status == 200
    await _cycle(hass, coordinator)
    assert hass.states.get("input_boolean.wallbox_enable").state == "on"
    assert float(hass.states.get("input_number.wallbox_current").state) == 10.0
    # the car charges: the circuit counts what it draws (the offer: no power sensor)
    await _select(hass, "input_select", "input_select.wallbox_status", option="charging")
    await _cycle(hass, coordinator)

    response = await client.get("/api/evcc_ha/state")
    circuits = (await response.json())["circuits"]
    assert circuits["main_fuse"]["maxCurrent"] == 10
    assert circuits["main_fuse"]["maxPower"] == 11000  # the external limit in force
    assert hass.states.get("sensor.main_fuse_power_limit").state == "11000.0"
    assert hass.states.get("sensor.main_fuse_current").state == "10.0"
    tree = topic_tree("evcc", coordinator.controller.state())
    assert tree["evcc/site/circuits/main_fuse/maxCurrent"] == "10"

    # the grid operator dims to 3 kW: no room for 6 A on three phases, the charger stops
    await _select(hass, "input_number", "input_number.grid_limit", value=3000)
    await _cycle(hass, coordinator)
    assert hass.states.get("input_boolean.wallbox_enable").state == "off"
    assert coordinator.controller.state()["circuits"]["main_fuse"]["dimmed"] is True

    # the limit lifted: charging at the fuse again
    await _select(hass, "input_number", "input_number.grid_limit", value=11000)
    await _cycle(hass, coordinator)
    assert hass.states.get("input_boolean.wallbox_enable").state == "on"
    assert float(hass.states.get("input_number.wallbox_current").state) == 10.0
    assert await hass.config_entries.async_unload(entry.entry_id)


@pytest.mark.parametrize(
    ("data", "errors"),
    [
        ({CONF_CIRCUIT_TITLE: "Garage"}, {"base": "circuit_without_limit"}),
        ({CONF_CIRCUIT_TITLE: " ", CONF_CIRCUIT_MAX_POWER: 5000}, {
            CONF_CIRCUIT_TITLE: "circuit_title_required"}),
        ({CONF_CIRCUIT_TITLE: "main fuse", CONF_CIRCUIT_MAX_POWER: 5000}, {
            CONF_CIRCUIT_TITLE: "duplicate_circuit"}),
        ({CONF_CIRCUIT_TITLE: "Garage", CONF_CIRCUIT_MAX_POWER: 5000, CONF_CIRCUIT_METER:
          "sensor.car_soc"}, {CONF_CIRCUIT_METER: "invalid_power_sensor"}),
        ({CONF_CIRCUIT_TITLE: "Garage", CONF_CIRCUIT_LIMIT: "input_number.wallbox_current"},
         {CONF_CIRCUIT_LIMIT: "invalid_circuit_limit_entity"}),
        ({CONF_CIRCUIT_TITLE: "Garage", CONF_CIRCUIT_MAX_POWER: 5000, CONF_CIRCUIT_LOADPOINTS:
          ["LOADPOINT"]}, {CONF_CIRCUIT_LOADPOINTS: "loadpoint_in_other_circuit"}),
        # this site has no grid meter
        ({CONF_CIRCUIT_TITLE: "Garage", CONF_CIRCUIT_MAX_POWER: 5000, CONF_CIRCUIT_GRID_METER:
          True}, {CONF_CIRCUIT_GRID_METER: "circuit_no_grid_meter"}),
        ({CONF_CIRCUIT_TITLE: "Garage", CONF_CIRCUIT_MAX_POWER: 5000, CONF_CIRCUIT_GRID_METER:
          True, CONF_CIRCUIT_METER: "sensor.house_power"}, {
            CONF_CIRCUIT_METER: "circuit_two_meters"}),
    ],
)  # fmt: skip
async def test_a_circuit_that_cannot_work_is_refused_in_the_form(
    hass: HomeAssistant, data: dict[str, Any], errors: dict[str, str]
) -> None:
    entry, loadpoint_id = await _site_with_loadpoint(hass)
    set_sensor(hass, "sensor.car_soc", "50", "%", "battery")
    set_sensor(hass, "sensor.house_power", "500", "W", "power")
    main = {CONF_CIRCUIT_TITLE: "Main fuse", CONF_CIRCUIT_MAX_CURRENT: 25}
    main[CONF_CIRCUIT_LOADPOINTS] = [loadpoint_id]
    assert (await _circuit_flow(hass, entry, main))["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    before = {s.subentry_id: dict(s.data) for s in entry.subentries.values()}
    if data.get(CONF_CIRCUIT_LOADPOINTS) == ["LOADPOINT"]:
        data = {**data, CONF_CIRCUIT_LOADPOINTS: [loadpoint_id]}
    result = await _circuit_flow(hass, entry, data)
    assert result["type"] is FlowResultType.FORM and result["errors"] == errors
    assert {s.subentry_id: dict(s.data) for s in entry.subentries.values()} == before
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_a_circuit_cannot_be_inside_its_own_child(hass: HomeAssistant) -> None:
    entry, _ = await _site_with_loadpoint(hass)
    house = {CONF_CIRCUIT_TITLE: "House", CONF_CIRCUIT_MAX_CURRENT: 35}
    assert (await _circuit_flow(hass, entry, house))["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    house_id = next(s.subentry_id for s in entry.subentries.values() if s.title == "House")
    garage = {CONF_CIRCUIT_TITLE: "Garage", CONF_CIRCUIT_MAX_POWER: 11000}
    garage[CONF_CIRCUIT_PARENT] = house_id
    assert (await _circuit_flow(hass, entry, garage))["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    garage_id = next(
        s.subentry_id
        for s in entry.subentries.values()
        if s.title == "Garage" and s.subentry_type == SUBENTRY_CIRCUIT
    )
    assert entry.runtime_data.coordinator.controller.state()["circuits"]["garage"]["parent"] == (
        "house"
    )
    result = await _circuit_flow(
        hass, entry, {**house, CONF_CIRCUIT_PARENT: garage_id}, reconfigure=house_id
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_CIRCUIT_PARENT: "invalid_circuit_parent"}
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_a_renamed_circuit_keeps_its_sensors_and_a_removed_one_takes_them_along(
    hass: HomeAssistant,
) -> None:
    entry, _ = await _site_with_loadpoint(hass)
    data = {CONF_CIRCUIT_TITLE: "Garage fuse", CONF_CIRCUIT_MAX_CURRENT: 16}
    assert (await _circuit_flow(hass, entry, data))["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    circuit_id = next(
        s.subentry_id for s in entry.subentries.values() if s.subentry_type == SUBENTRY_CIRCUIT
    )
    registry = er.async_get(hass)
    load = "sensor.garage_fuse_load"
    unique_id = registry.async_get(load).unique_id
    result = await _circuit_flow(
        hass, entry, {**data, CONF_CIRCUIT_TITLE: "Carport fuse"}, reconfigure=circuit_id
    )
    assert result["type"] is FlowResultType.ABORT and result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    state = entry.runtime_data.coordinator.controller.state()
    assert list(state["circuits"]) == ["carport_fuse"]  # the API name follows the title
    assert registry.async_get(load).unique_id == unique_id  # the same entity, not a second one
    loads = [
        e.entity_id
        for e in er.async_entries_for_config_entry(registry, entry.entry_id)
        if e.translation_key == "circuit_power"
    ]
    assert loads == [load]
    assert hass.states.get(load).state == "0.0"
    # the circuit's own device, in its subentry, under the site (which keeps its sensors)
    devices = dr.async_get(hass)
    device = devices.async_get(registry.async_get(load).device_id)
    site = devices.async_get(device.via_device_id)
    assert (device.name, _subentry_of(device)) == ("Carport fuse", circuit_id)
    assert (site.name, _subentry_of(site)) == ("Home", None)
    assert hass.states.get("sensor.home_home_power") is not None

    assert hass.config_entries.async_remove_subentry(entry, circuit_id)
    await hass.async_block_till_done()
    assert registry.async_get(load) is None
    assert devices.async_get(device.id) is None
    assert "circuits" not in entry.runtime_data.coordinator.controller.state()
    assert await hass.config_entries.async_unload(entry.entry_id)


@pytest.mark.parametrize(
    ("stored", "reason"),
    [
        ({CONF_CIRCUIT_MAX_CURRENT: -5}, "max current -5.0 A"),
        ({CONF_CIRCUIT_MAX_POWER: "lots"}, "could not convert string to float"),
        ({CONF_CIRCUIT_GRID_METER: True}, "metered by the grid meter, but the site has none"),
    ],
)
async def test_a_stored_circuit_the_flow_would_refuse_is_a_setup_error(
    hass: HomeAssistant, stored: dict[str, Any], reason: str
) -> None:
    """Stored data no form would have written (edited by hand) fails setup with the reason;
    nothing is commanded."""
    entry, loadpoint_id = await _site_with_loadpoint(hass)
    data = {CONF_CIRCUIT_TITLE: "Main", CONF_CIRCUIT_MAX_CURRENT: 16}
    data[CONF_CIRCUIT_LOADPOINTS] = [loadpoint_id]
    assert (await _circuit_flow(hass, entry, data))["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    circuit = next(s for s in entry.subentries.values() if s.subentry_type == SUBENTRY_CIRCUIT)
    hass.config_entries.async_update_subentry(entry, circuit, data={**circuit.data, **stored})
    await hass.async_block_till_done()  # the site reloads and fails
    assert entry.state is ConfigEntryState.SETUP_ERROR
    assert reason in (entry.reason or "")
    assert hass.states.get("input_boolean.wallbox_enable").state == "off"


async def test_a_metered_circuit_with_phase_currents_counts_the_other_loads(
    hass: HomeAssistant,
) -> None:
    """The load meter's phase current sensors see 14 A of other load on L1: a 20 A fuse leaves
    the car 6 A; at 17 A there is no room for 6 A and the charger stops. A phase sensor that
    fails makes the circuit's sensors unavailable."""
    entry, loadpoint_id = await _site_with_loadpoint(hass)
    set_sensor(hass, "sensor.house_power", "3220", "W", "power")
    for phase, amps in (("l1", "14"), ("l2", "2"), ("l3", "1")):
        set_sensor(hass, f"sensor.house_{phase}", amps, "A", "current")
    currents = ["sensor.house_l1", "sensor.house_l2", "sensor.house_l3"]
    data = {
        CONF_CIRCUIT_TITLE: "House",
        CONF_CIRCUIT_MAX_CURRENT: 20,
        CONF_CIRCUIT_LOADPOINTS: [loadpoint_id],
        CONF_CIRCUIT_METER: "sensor.house_power",
        CONF_CIRCUIT_CURRENTS: currents,
    }
    unmetered = {key: value for key, value in data.items() if key != CONF_CIRCUIT_METER}
    for bad, error in (
        ({**data, CONF_CIRCUIT_CURRENTS: currents[:2]}, "circuit_currents_three"),
        (unmetered, "circuit_currents_need_meter"),
        (
            {**data, CONF_CIRCUIT_CURRENTS: [*currents[:2], "sensor.house_power"]},
            "invalid_current_sensor",
        ),
    ):
        result = await _circuit_flow(hass, entry, bad)
        assert result["errors"] == {CONF_CIRCUIT_CURRENTS: error}
    assert (await _circuit_flow(hass, entry, data))["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    coordinator = await _car_connects_in_mode_now(hass, entry)
    assert hass.states.get("input_boolean.wallbox_enable").state == "on"
    assert float(hass.states.get("input_number.wallbox_current").state) == 6.0
    assert hass.states.get("sensor.house_current").state == "14.0"

    set_sensor(hass, "sensor.house_l1", "20", "A", "current")  # the car's 6 A and 14 A more
    await _cycle(hass, coordinator)
    assert hass.states.get("input_boolean.wallbox_enable").state == "off"

    hass.states.async_set("sensor.house_l2", "unavailable")
    await _cycle(hass, coordinator)
    assert hass.states.get("sensor.house_current").state == "unavailable"
    assert hass.states.get("select.garage_charge_mode").state == "now"
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_a_removed_loadpoint_leaves_its_circuit_working_and_is_not_offered_again(
    hass: HomeAssistant,
) -> None:
    entry, loadpoint_id = await _site_with_loadpoint(hass)
    data = {CONF_CIRCUIT_TITLE: "Main", CONF_CIRCUIT_MAX_CURRENT: 16}
    data[CONF_CIRCUIT_LOADPOINTS] = [loadpoint_id]
    assert (await _circuit_flow(hass, entry, data))["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    circuit_id = next(
        s.subentry_id for s in entry.subentries.values() if s.subentry_type == SUBENTRY_CIRCUIT
    )
    assert hass.config_entries.async_remove_subentry(entry, loadpoint_id)
    await hass.async_block_till_done()  # the site reloads without the loadpoint
    state = entry.runtime_data.coordinator.controller.state()
    assert state["loadpoints"] == [] and state["circuits"]["main"]["power"] == 0
    flow = await hass.config_entries.subentries.async_init(
        (entry.entry_id, SUBENTRY_CIRCUIT),
        context={"source": "reconfigure", "subentry_id": circuit_id},
    )
    suggested = {
        str(key): (key.description or {}).get("suggested_value")
        for key in flow["data_schema"].schema
    }
    assert suggested[CONF_CIRCUIT_LOADPOINTS] == []
    assert suggested[CONF_CIRCUIT_TITLE] == "Main"
    result = await hass.config_entries.subentries.async_configure(
        flow["flow_id"], {CONF_CIRCUIT_TITLE: "Main", CONF_CIRCUIT_MAX_CURRENT: 16}
    )
    assert result["type"] is FlowResultType.ABORT
    await hass.async_block_till_done()  # the site reloads with the changed circuit
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_a_circuit_metered_by_the_grid_meter_counts_the_whole_house(
    hass: HomeAssistant,
) -> None:
    """The house connection (4 kW here) metered by the site's grid sensor: 3.2 kW imported
    leave no room for 6 A on three phases, 8 kW exported leave room for 16 A. The grid sensor
    and the circuit share one reading; when it fails, both are unavailable."""
    set_sensor(hass, "sensor.grid_power", "3220", "W", "power")
    entry, loadpoint_id = await _site_with_loadpoint(hass, {CONF_GRID_POWER: "sensor.grid_power"})
    set_sensor(hass, "sensor.house_power", "500", "W", "power")
    data = {
        CONF_CIRCUIT_TITLE: "House",
        CONF_CIRCUIT_MAX_POWER: 4000,
        CONF_CIRCUIT_LOADPOINTS: [loadpoint_id],
        CONF_CIRCUIT_GRID_METER: True,
    }
    result = await _circuit_flow(hass, entry, {**data, CONF_CIRCUIT_METER: "sensor.house_power"})
    assert result["errors"] == {CONF_CIRCUIT_METER: "circuit_two_meters"}
    result = await _circuit_flow(hass, entry, data)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_CIRCUIT_GRID_METER] is True
    await hass.async_block_till_done()
    coordinator = await _car_connects_in_mode_now(hass, entry)
    assert hass.states.get("sensor.house_load").state == "3220.0"
    assert coordinator.controller.state()["circuits"]["house"]["power"] == 3220
    assert hass.states.get("input_boolean.wallbox_enable").state == "off"

    set_sensor(hass, "sensor.grid_power", "-8000", "W", "power")
    await _cycle(hass, coordinator)
    assert hass.states.get("input_boolean.wallbox_enable").state == "on"
    assert float(hass.states.get("input_number.wallbox_current").state) == 16.0
    assert hass.states.get("sensor.house_load").state == "-8000.0"

    hass.states.async_set("sensor.grid_power", "unavailable")
    await _cycle(hass, coordinator)
    assert hass.states.get("sensor.house_load").state == "unavailable"
    assert hass.states.get("sensor.home_grid_power").state == "unavailable"
    assert hass.states.get("select.garage_charge_mode").state == "now"
    assert await hass.config_entries.async_unload(entry.entry_id)

"""A site of Modbus hardware set up the way a user does it: the config flow without a grid sensor,
a Modbus meter and a Modbus charger added as subentries (each tested on the wire before it is
stored), then the controller reading the meter and commanding the wallbox over pymodbus' server
on 127.0.0.1. A wallbox that stops answering makes only its own entities unavailable."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import pytest
from homeassistant.config_entries import ConfigEntry, ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType

from custom_components.evcc_ha.const import (
    CONF_CHARGER_MAX_CURRENT,
    CONF_CHARGER_PHASE_COUNT,
    CONF_CIRCUIT_GRID_METER,
    CONF_CIRCUIT_LOADPOINTS,
    CONF_CIRCUIT_MAX_CURRENT,
    CONF_CIRCUIT_TITLE,
    CONF_DEMO,
    CONF_SITE_TITLE,
    CONF_TITLE,
    DOMAIN,
    SUBENTRY_CIRCUIT,
    SUBENTRY_LOADPOINT,
    SUBENTRY_MODBUS_METER,
)
from custom_components.evcc_ha.devices.modbus.client import Framing
from custom_components.evcc_ha.devices.modbus.const import (
    CONF_MODBUS_DATA_TYPE,
    CONF_MODBUS_FRAMING,
    CONF_MODBUS_HOST,
    CONF_MODBUS_KIND,
    CONF_MODBUS_MILLI_CURRENT,
    CONF_MODBUS_PORT,
    CONF_MODBUS_REGISTER,
    CONF_MODBUS_REGISTER_TYPE,
    CONF_MODBUS_UNIT_ID,
    CONF_MODBUS_USAGE,
)
from custom_components.evcc_ha.diagnostics import async_get_config_entry_diagnostics

from .conftest import FakeServer, FakeUnit, ServerFactory
from .maps import (
    alfen,
    alfen_setpoint,
    at,
    f32,
    heidelberg,
    model_common,
    model_meter_int,
    phoenix,
    sdm630,
    sunspec_unit,
    words,
)


async def tick(hass: HomeAssistant, entry: ConfigEntry) -> None:
    """One control cycle now (real time: pymodbus and the hub wait on the real clock)."""
    await entry.runtime_data.coordinator.async_refresh()
    await hass.async_block_till_done()


def connection(server: FakeServer, unit_id: int) -> dict[str, Any]:
    return {
        CONF_MODBUS_HOST: server.host,
        CONF_MODBUS_PORT: server.port,
        CONF_MODBUS_UNIT_ID: unit_id,
        CONF_MODBUS_FRAMING: str(Framing.TCP),
    }


async def set_up_site(hass: HomeAssistant) -> ConfigEntry:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": "user"})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_SITE_TITLE: "Home", CONF_DEMO: False}
    )
    assert result["step_id"] == "meters"
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY  # no grid sensor: a Modbus one follows
    await hass.async_block_till_done()
    entry: ConfigEntry = result["result"]
    assert entry.state is ConfigEntryState.LOADED
    return entry


async def add_subentry(
    hass: HomeAssistant, entry: ConfigEntry, kind: str, *steps: dict[str, Any]
) -> Any:
    flow = await hass.config_entries.subentries.async_init(
        (entry.entry_id, kind), context={"source": "user"}
    )
    for data in steps:
        flow = await hass.config_entries.subentries.async_configure(flow["flow_id"], data)
    return flow


def sunspec_grid(watts: int) -> FakeUnit:
    """A SunSpec grid meter (model 203, integer, scale factor 0): + import."""
    return sunspec_unit(
        1,
        [
            (1, model_common("Fronius", "Smart Meter TS 65A-3")),
            (
                203,
                model_meter_int(
                    w=watts,
                    w_sf=0,
                    wph=(watts // 3, watts // 3, watts - 2 * (watts // 3)),
                    amps=(10, 10, 10),
                    a_sf=0,
                    wh_imp=1_000_000,
                    wh_exp=2_000_000,
                    wh_sf=0,
                ),
            ),
        ],
    )


def generic_grid(watts: int) -> FakeUnit:
    unit = FakeUnit(1)
    unit.holding.update(at(100, words(">i", watts)))
    return unit


# (meter kind: its unit for a grid power, how to change that power, its extra form fields)
METERS: dict[
    str, tuple[Callable[[int], FakeUnit], Callable[[FakeUnit, int], None], dict[str, Any]]
] = {
    "sunspec": (
        sunspec_grid,
        lambda unit, watts: unit.holding.update(sunspec_grid(watts).holding),
        {},
    ),
    "sdm630": (
        lambda watts: sdm630(1, power=float(watts)),
        lambda unit, watts: unit.input.update(at(0x34, f32(float(watts)))),
        {},
    ),
    "generic": (
        generic_grid,
        lambda unit, watts: unit.holding.update(at(100, words(">i", watts))),
        {
            CONF_MODBUS_REGISTER: 100,
            CONF_MODBUS_REGISTER_TYPE: "holding",
            CONF_MODBUS_DATA_TYPE: "int32",
        },
    ),
}


# (kind, the wallbox with a car plugged in but not charging, is it enabled, unit id)
CHARGERS: dict[str, tuple[Callable[[], FakeUnit], Callable[[FakeUnit], bool], int]] = {
    "phoenix_ev_eth": (
        lambda: phoenix(255, status="B", enabled=False, current=6),
        lambda unit: bool(unit.coils[400]),
        255,
    ),
    "wallbe": (
        lambda: phoenix(255, status="B", enabled=False, current=60),  # 0.1 A firmware
        lambda unit: bool(unit.coils[400]),
        255,
    ),
    "alfen": (lambda: alfen(1, status="B1", setpoint=0.0), lambda u: alfen_setpoint(u) > 0, 1),
    "heidelberg": (lambda: heidelberg(1, status=4, current=0), lambda u: u.holding[261] > 0, 1),
}


@pytest.mark.parametrize(
    ("kind", "meter_kind"),
    [(kind, "sunspec") for kind in CHARGERS] + [("phoenix_ev_eth", "sdm630"), ("alfen", "generic")],
)
async def test_a_site_of_modbus_hardware(
    hass: HomeAssistant, modbus_server: ServerFactory, kind: str, meter_kind: str
) -> None:
    """Set up in the UI; charges from a surplus on the Modbus grid meter and stops when the
    surplus vanishes; a wallbox that stops answering is unavailable alone and comes back."""
    make_box, enabled, unit_id = CHARGERS[kind]
    make_meter, change_meter, meter_fields = METERS[meter_kind]
    meter = make_meter(-9000)  # exporting 9 kW

    def set_grid(unit: FakeUnit, watts: int) -> None:
        change_meter(unit, watts)

    box = make_box()
    gateway = await modbus_server(meter)
    wallbox = await modbus_server(box)
    entry = await set_up_site(hass)

    # the grid meter: a wrong unit id is found by the connection test, then the right one
    meter_form = {
        CONF_TITLE: "Grid meter",
        CONF_MODBUS_KIND: meter_kind,
        CONF_MODBUS_USAGE: "grid",
        **meter_fields,
    }
    flow = await add_subentry(
        hass, entry, SUBENTRY_MODBUS_METER, meter_form | connection(gateway, 7)
    )
    assert flow["type"] is FlowResultType.FORM
    assert flow["errors"] == {"base": "wrong_unit_id"}
    assert flow["description_placeholders"]["detail"]
    flow = await hass.config_entries.subentries.async_configure(
        flow["flow_id"], meter_form | connection(gateway, 1)
    )
    assert flow["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()

    # the wallbox, through the loadpoint menu
    charger_form = {
        CONF_TITLE: "Garage",
        CONF_MODBUS_KIND: kind,
        CONF_CHARGER_MAX_CURRENT: 16,
        CONF_CHARGER_PHASE_COUNT: "3",
        CONF_MODBUS_MILLI_CURRENT: False,
        **connection(wallbox, unit_id),
    }
    flow = await add_subentry(
        hass, entry, SUBENTRY_LOADPOINT, {"next_step_id": "modbus_charger"}, charger_form
    )
    assert flow["step_id"] == "vehicle", flow.get("errors")
    flow = await hass.config_entries.subentries.async_configure(flow["flow_id"], {})
    assert flow["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    # the same wallbox again: refused before anything is tested
    flow = await add_subentry(
        hass,
        entry,
        SUBENTRY_LOADPOINT,
        {"next_step_id": "modbus_charger"},
        charger_form | {CONF_TITLE: "Garage 2"},
    )
    assert flow["errors"] == {"base": "modbus_in_use"}
    # a blank host: said at the host field, not as another device's address
    flow = await add_subentry(
        hass,
        entry,
        SUBENTRY_LOADPOINT,
        {"next_step_id": "modbus_charger"},
        charger_form | {CONF_TITLE: "Garage 3", CONF_MODBUS_HOST: "  "},
    )
    assert flow["errors"] == {CONF_MODBUS_HOST: "invalid_host"}
    flow = await add_subentry(
        hass,
        entry,
        SUBENTRY_MODBUS_METER,
        meter_form
        | connection(gateway, 1)
        | {CONF_TITLE: "PV meter", CONF_MODBUS_USAGE: "pv", CONF_MODBUS_HOST: " "},
    )
    assert flow["errors"] == {CONF_MODBUS_HOST: "invalid_host"}

    await tick(hass, entry)
    assert float(hass.states.get("sensor.home_grid_power").state) == -9000.0
    assert hass.states.get("binary_sensor.garage_vehicle_connected").state == "on"
    assert not enabled(box)

    # pv mode without delays: the surplus switches the wallbox on, over the wire
    for number, value in (("enable_delay", 0), ("disable_delay", 0)):
        await hass.services.async_call(
            "number",
            "set_value",
            {"entity_id": f"number.garage_{number}", "value": value},
            blocking=True,
        )
    await hass.services.async_call(
        "select",
        "select_option",
        {"entity_id": "select.garage_charge_mode", "option": "pv"},
        blocking=True,
    )
    for _ in range(3):
        await tick(hass, entry)
    assert enabled(box), kind
    assert hass.states.get("binary_sensor.garage_charger_enabled").state == "on"

    # diagnostics: the last registers of each device, no host names
    diagnostics = await async_get_config_entry_diagnostics(hass, entry)
    exchanges = diagnostics["devices"]["last_exchange"]
    assert exchanges["lp1"]["registers"]
    assert exchanges["grid"]["registers"]
    assert gateway.host not in json.dumps(diagnostics, default=str)

    # the surplus vanishes: 3 kW import, the wallbox is switched off
    set_grid(meter, 3000)
    for _ in range(3):
        await tick(hass, entry)
    assert not enabled(box), kind
    assert float(hass.states.get("sensor.home_grid_power").state) == 3000.0

    # the wallbox stops answering: its entities become unavailable, the grid meter goes on
    await wallbox.stop()
    await tick(hass, entry)
    assert hass.states.get("select.garage_charge_mode").state == "unavailable"
    set_grid(meter, 2000)
    await tick(hass, entry)
    assert float(hass.states.get("sensor.home_grid_power").state) == 2000.0
    # and back (the hub reconnects after its back-off)
    await wallbox.start()
    for _ in range(30):  # the hub's back-off: 1 s, then 2 s …
        await asyncio.sleep(0.25)
        await tick(hass, entry)
        if hass.states.get("select.garage_charge_mode").state != "unavailable":
            break
    assert hass.states.get("select.garage_charge_mode").state == "pv"

    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    assert gateway.connections == 0 and wallbox.connections == 0


async def test_the_house_connection_metered_by_a_modbus_grid_meter(
    hass: HomeAssistant, modbus_server: ServerFactory
) -> None:
    """A 20 A house connection metered by the site's SDM630 grid meter: 14 A on L1 leave the
    car 6 A; 20 A on L1 (the car's 6 A and 14 A more) leave none and the wallbox is switched
    off. The meter serves the grid and the circuit with one read a cycle."""
    meter = sdm630(1, power=3220.0, currents=(14.0, 2.0, 1.0))
    box = phoenix(255, status="B", enabled=False, current=6, currents=(0, 0, 0), power=0)
    gateway = await modbus_server(meter)
    wallbox = await modbus_server(box)
    entry = await set_up_site(hass)
    house = {CONF_CIRCUIT_TITLE: "House", CONF_CIRCUIT_MAX_CURRENT: 20}
    flow = await add_subentry(
        hass, entry, SUBENTRY_CIRCUIT, house | {CONF_CIRCUIT_GRID_METER: True}
    )
    assert flow["errors"] == {CONF_CIRCUIT_GRID_METER: "circuit_no_grid_meter"}
    meter_form = {CONF_TITLE: "Grid meter", CONF_MODBUS_KIND: "sdm630", CONF_MODBUS_USAGE: "grid"}
    flow = await add_subentry(
        hass, entry, SUBENTRY_MODBUS_METER, meter_form | connection(gateway, 1)
    )
    assert flow["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    charger_form = {
        CONF_TITLE: "Garage",
        CONF_MODBUS_KIND: "phoenix_ev_eth",
        CONF_CHARGER_MAX_CURRENT: 16,
        CONF_CHARGER_PHASE_COUNT: "3",
        CONF_MODBUS_MILLI_CURRENT: False,
        **connection(wallbox, 255),
    }
    flow = await add_subentry(
        hass, entry, SUBENTRY_LOADPOINT, {"next_step_id": "modbus_charger"}, charger_form, {}
    )
    assert flow["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    loadpoint_id = next(
        s.subentry_id for s in entry.subentries.values() if s.subentry_type == SUBENTRY_LOADPOINT
    )
    flow = await add_subentry(
        hass,
        entry,
        SUBENTRY_CIRCUIT,
        house | {CONF_CIRCUIT_GRID_METER: True, CONF_CIRCUIT_LOADPOINTS: [loadpoint_id]},
    )
    assert flow["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED

    await hass.services.async_call(
        "select",
        "select_option",
        {"entity_id": "select.garage_charge_mode", "option": "now"},
        blocking=True,
    )
    power_reads = meter.reads_of("input").count(0x34)
    await tick(hass, entry)
    assert meter.reads_of("input").count(0x34) == power_reads + 1  # grid and circuit: one read
    assert box.coils[400] and box.holding[528] == 6
    assert hass.states.get("sensor.house_current").state == "14.0"
    assert float(hass.states.get("sensor.home_grid_power").state) == 3220.0

    meter.input.update(sdm630(1, power=3220.0, currents=(20.0, 2.0, 1.0)).input)
    await tick(hass, entry)
    assert not box.coils[400]
    assert hass.states.get("sensor.house_current").state == "20.0"
    assert await hass.config_entries.async_unload(entry.entry_id)

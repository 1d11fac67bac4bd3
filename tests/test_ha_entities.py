"""Home Assistant entities as devices, end to end against real helper and template entities.

A wallbox is modelled with core integrations that run in both test lanes: input_boolean,
input_number, input_select and template (switch, sensors, binary sensors). The adapters read their
states and command them through their services.
"""

from __future__ import annotations

from typing import Any

import pytest
from homeassistant.const import EVENT_CALL_SERVICE
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_capture_events

from custom_components.evcc_ha.config_flow import default_options
from custom_components.evcc_ha.const import (
    CONF_BATTERY_CAPACITY,
    CONF_BATTERY_INVERT,
    CONF_BATTERY_POWER,
    CONF_BATTERY_SOC,
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
    CONF_DEMO,
    CONF_GRID_ENERGY,
    CONF_GRID_INVERT,
    CONF_GRID_POWER,
    CONF_PV_POWER,
    CONF_SITE_TITLE,
    CONF_TITLE,
    CONF_VEHICLE_CAPACITY,
    CONF_VEHICLE_PHASES,
    CONF_VEHICLE_SOC,
    CONF_VEHICLE_TITLE,
    DOMAIN,
    SUBENTRY_LOADPOINT,
)
from custom_components.evcc_ha.core.model import (
    ChargerCommand,
    ChargerConfig,
    ChargerReading,
    DeviceError,
    LoadpointConfig,
    MeterReading,
    SiteConfig,
    Status,
    VehicleConfig,
)
from custom_components.evcc_ha.devices.factory import async_build_devices, loadpoint_subentries
from custom_components.evcc_ha.devices.ha_entities import (
    EntityCharger,
    EntityMeter,
    EntitySoc,
    map_status,
    phases_of_option,
)
from custom_components.evcc_ha.devices.modbus.client import ModbusHub


def _toggle(entity: str, service: str) -> dict[str, Any]:
    return {"action": f"input_boolean.{service}", "target": {"entity_id": entity}}


@pytest.fixture
async def wallbox(hass: HomeAssistant) -> None:
    """A wallbox built from helpers: template switch and sensors over input helpers."""
    assert await async_setup_component(
        hass,
        "input_boolean",
        {"input_boolean": {"wallbox_enable": None, "wallbox_plug": None, "wallbox_3p": None}},
    )
    assert await async_setup_component(
        hass,
        "input_number",
        {
            "input_number": {
                "wallbox_current": {
                    "min": 6,
                    "max": 32,
                    "step": 1,
                    "initial": 6,
                    "unit_of_measurement": "A",
                    "mode": "box",
                },
                "wallbox_power_w": {"min": 0, "max": 22000, "step": 1, "initial": 0},
                "wallbox_energy_wh": {"min": 0, "max": 1e9, "step": 1, "initial": 1500},
            }
        },
    )
    assert await async_setup_component(
        hass,
        "input_select",
        {
            "input_select": {
                "wallbox_status": {
                    "options": ["disconnected", "connected", "Charging", "error", "B", "whatever"],
                    "initial": "disconnected",
                },
                "wallbox_phases": {"options": ["1p", "3p", "auto"], "initial": "3p"},
            }
        },
    )
    assert await async_setup_component(
        hass,
        "template",
        {
            "template": [
                {
                    "switch": [
                        {
                            "name": "Wallbox charge",
                            "state": "{{ is_state('input_boolean.wallbox_enable', 'on') }}",
                            "turn_on": _toggle("input_boolean.wallbox_enable", "turn_on"),
                            "turn_off": _toggle("input_boolean.wallbox_enable", "turn_off"),
                        },
                        {
                            "name": "Wallbox three phases",
                            "state": "{{ is_state('input_boolean.wallbox_3p', 'on') }}",
                            "turn_on": _toggle("input_boolean.wallbox_3p", "turn_on"),
                            "turn_off": _toggle("input_boolean.wallbox_3p", "turn_off"),
                        },
                    ],
                    "sensor": [
                        {
                            "name": "Wallbox power",
                            "unit_of_measurement": "W",
                            "device_class": "power",
                            "state": "{{ states('input_number.wallbox_power_w') }}",
                        },
                        {
                            "name": "Wallbox power kW",
                            "unit_of_measurement": "kW",
                            "device_class": "power",
                            "state": "{{ states('input_number.wallbox_power_w') | float / 1000 }}",
                        },
                        {
                            "name": "Wallbox energy",
                            "unit_of_measurement": "Wh",
                            "device_class": "energy",
                            "state": "{{ states('input_number.wallbox_energy_wh') }}",
                        },
                        {
                            "name": "Wallbox status",
                            "state": "{{ states('input_select.wallbox_status') }}",
                        },
                    ],
                    "binary_sensor": [
                        {
                            "name": "Wallbox plug",
                            "device_class": "plug",
                            "state": "{{ is_state('input_boolean.wallbox_plug', 'on') }}",
                        },
                        {
                            "name": "Wallbox charging",
                            "device_class": "battery_charging",
                            "state": "{{ states('input_number.wallbox_power_w') | float > 0 }}",
                        },
                    ],
                }
            ]
        },
    )
    await hass.async_block_till_done()


async def _set(hass: HomeAssistant, domain: str, service: str, entity_id: str, **data: Any) -> None:
    await hass.services.async_call(domain, service, {"entity_id": entity_id, **data}, blocking=True)
    await hass.async_block_till_done()


async def _plug(hass: HomeAssistant, on: bool) -> None:
    await _set(hass, "input_boolean", "turn_on" if on else "turn_off", "input_boolean.wallbox_plug")


async def _power(hass: HomeAssistant, watts: float) -> None:
    await _set(hass, "input_number", "set_value", "input_number.wallbox_power_w", value=watts)


async def _status(hass: HomeAssistant, option: str) -> None:
    await _set(hass, "input_select", "select_option", "input_select.wallbox_status", option=option)


def _charger(hass: HomeAssistant, **kwargs: Any) -> EntityCharger:
    config: dict[str, Any] = {
        "enable_entity": "switch.wallbox_charge",
        "current_entity": "input_number.wallbox_current",
        "status_entity": "binary_sensor.wallbox_plug",
        "power_entity": "sensor.wallbox_power",
        "energy_entity": "sensor.wallbox_energy",
        "max_current": 16.0,
    }
    return EntityCharger(hass, "Garage charger", **(config | kwargs))


def _service_calls(events: list[Any], *domains: str) -> list[tuple[str, str, Any]]:
    return [
        (e.data["domain"], e.data["service"], e.data["service_data"])
        for e in events
        if e.data["domain"] in domains
    ]


@pytest.mark.usefixtures("wallbox")
async def test_charger_end_to_end(hass: HomeAssistant) -> None:
    """Reads follow the entities; commands switch and set them, capped at the hardware max."""
    charger = _charger(hass)
    assert charger.watched == ()  # the echo of our own commands must not start cycles
    assert await charger.async_read() == ChargerReading(
        status=Status.A, enabled=False, power=0.0, energy=1.5, offered_current=6.0
    )

    await _plug(hass, True)
    assert (await charger.async_read()).status is Status.B

    await charger.async_apply(ChargerCommand(enable=True, current=10))
    await hass.async_block_till_done()
    assert hass.states.get("input_boolean.wallbox_enable").state == "on"
    assert hass.states.get("switch.wallbox_charge").state == "on"
    assert hass.states.get("input_number.wallbox_current").state == "10.0"
    reading = await charger.async_read()
    assert (reading.enabled, reading.offered_current, reading.status) == (True, 10.0, Status.B)

    # Plug sensor only: above ~100 W a connected car is charging.
    await _power(hass, 100)
    assert (await charger.async_read()).status is Status.B
    await _power(hass, 6900)
    reading = await charger.async_read()
    assert (reading.status, reading.power) == (Status.C, 6900.0)

    # Never above the configured hardware maximum.
    await charger.async_apply(ChargerCommand(current=25))
    assert hass.states.get("input_number.wallbox_current").state == "16.0"
    await charger.async_apply(ChargerCommand(current=12.7))
    assert hass.states.get("input_number.wallbox_current").state == "12.0"  # the entity's step

    await charger.async_apply(ChargerCommand(enable=False))
    await hass.async_block_till_done()
    assert hass.states.get("switch.wallbox_charge").state == "off"
    assert (await charger.async_read()).enabled is False

    await _plug(hass, False)
    assert (await charger.async_read()).status is Status.A


@pytest.mark.usefixtures("wallbox")
async def test_charger_commands_order_and_no_repeats(hass: HomeAssistant) -> None:
    """Phases, then current, then enable; values already in place are not written again."""
    charger = _charger(hass, phases_entity="input_select.wallbox_phases", max_current=40)
    events = async_capture_events(hass, EVENT_CALL_SERVICE)

    await charger.async_apply(ChargerCommand(enable=True, current=40, phases=1))
    await hass.async_block_till_done()
    # 40 A is within the hardware max here, but the entity allows only 32 A.
    assert _service_calls(events, "input_select", "input_number", "switch") == [
        (
            "input_select",
            "select_option",
            {"entity_id": "input_select.wallbox_phases", "option": "1p"},
        ),
        ("input_number", "set_value", {"entity_id": "input_number.wallbox_current", "value": 32}),
        ("switch", "turn_on", {"entity_id": "switch.wallbox_charge"}),
    ]
    assert (await charger.async_read()).phases == 1

    events.clear()
    await charger.async_apply(ChargerCommand(enable=True, current=32, phases=1))
    await charger.async_apply(ChargerCommand())
    await hass.async_block_till_done()
    assert _service_calls(events, "input_select", "input_number", "switch") == []

    await charger.async_apply(ChargerCommand(phases=3))
    assert hass.states.get("input_select.wallbox_phases").state == "3p"
    assert (await charger.async_read()).phases == 3

    # "auto" stands for no phase count.
    await _set(hass, "input_select", "select_option", "input_select.wallbox_phases", option="auto")
    assert (await charger.async_read()).phases is None


@pytest.mark.usefixtures("wallbox")
@pytest.mark.parametrize("on_1p", [False, True])
async def test_charger_phase_switch(hass: HomeAssistant, on_1p: bool) -> None:
    """A switch selects 3 phases when on, or 1 phase when `phases_on_1p`."""
    charger = _charger(hass, phases_entity="switch.wallbox_three_phases", phases_on_1p=on_1p)
    await charger.async_apply(ChargerCommand(phases=1))
    await hass.async_block_till_done()
    assert hass.states.get("input_boolean.wallbox_3p").state == ("on" if on_1p else "off")
    assert (await charger.async_read()).phases == 1
    await charger.async_apply(ChargerCommand(phases=3))
    await hass.async_block_till_done()
    assert hass.states.get("input_boolean.wallbox_3p").state == ("off" if on_1p else "on")
    assert (await charger.async_read()).phases == 3
    # Already there: nothing to do.
    events = async_capture_events(hass, EVENT_CALL_SERVICE)
    await charger.async_apply(ChargerCommand(phases=3))
    assert _service_calls(events, "switch") == []


@pytest.mark.usefixtures("wallbox")
async def test_charger_phases_without_phase_entity(hass: HomeAssistant) -> None:
    """A phase command to a charger without phase switching is ignored."""
    charger = _charger(hass)
    events = async_capture_events(hass, EVENT_CALL_SERVICE)
    await charger.async_apply(ChargerCommand(phases=1))
    assert events == []
    assert (await charger.async_read()).phases is None


@pytest.mark.usefixtures("wallbox")
async def test_charger_enum_status(hass: HomeAssistant) -> None:
    """A status sensor with words or letters maps to A/B/C; errors and garbage raise."""
    charger = _charger(hass, status_entity="sensor.wallbox_status", power_entity=None)
    assert (await charger.async_read()).status is Status.A
    await _status(hass, "connected")
    assert (await charger.async_read()).status is Status.B
    await _status(hass, "Charging")
    assert (await charger.async_read()).status is Status.C
    await _status(hass, "B")
    assert (await charger.async_read()).status is Status.B
    await _status(hass, "error")
    with pytest.raises(DeviceError, match="error status"):
        await charger.async_read()
    await _status(hass, "whatever")
    with pytest.raises(DeviceError, match="unknown charger status"):
        await charger.async_read()

    # An input_select works as the status source itself.
    charger = _charger(hass, status_entity="input_select.wallbox_status")
    await _status(hass, "connected")
    assert (await charger.async_read()).status is Status.B


@pytest.mark.usefixtures("wallbox")
async def test_charger_charging_sensor(hass: HomeAssistant) -> None:
    """A charging binary sensor turns a connected car into C (and wins over the power)."""
    charger = _charger(
        hass,
        charging_entity="binary_sensor.wallbox_charging",
        power_entity="sensor.wallbox_power_kw",
    )
    await _plug(hass, True)
    assert (await charger.async_read()).status is Status.B
    await _power(hass, 50)  # below the threshold, but the charging sensor says so
    reading = await charger.async_read()
    assert (reading.status, reading.power) == (Status.C, 50.0)
    # Without a value from the charging sensor the power decides again.
    hass.states.async_set("binary_sensor.wallbox_charging", "unavailable")
    assert (await charger.async_read()).status is Status.B

    charger = _charger(
        hass,
        status_entity="sensor.wallbox_status",
        charging_entity="binary_sensor.wallbox_charging",
    )
    await _status(hass, "connected")
    await _power(hass, 0)
    assert (await charger.async_read()).status is Status.B
    await _power(hass, 3000)
    assert (await charger.async_read()).status is Status.C


@pytest.mark.usefixtures("wallbox")
@pytest.mark.parametrize(
    ("entity_id", "state", "attributes", "match"),
    [
        ("switch.wallbox_charge", "unavailable", {}, "is unavailable"),
        ("switch.wallbox_charge", "unknown", {}, "is unknown"),
        ("switch.wallbox_charge", "maybe", {}, "neither on nor off"),
        ("input_number.wallbox_current", "abc", {}, "not a number"),
        ("input_number.wallbox_current", "nan", {}, "not a finite number"),
        ("input_number.wallbox_current", "unavailable", {}, "is unavailable"),
        ("binary_sensor.wallbox_plug", "unknown", {}, "is unknown"),
        ("binary_sensor.wallbox_plug", "1", {}, "neither on nor off"),
        ("sensor.wallbox_power", "many", {"unit_of_measurement": "W"}, "not a number"),
        ("sensor.wallbox_power", "5", {"unit_of_measurement": "A"}, "has unit 'A'"),
        ("sensor.wallbox_energy", "5", {"unit_of_measurement": "J"}, "has unit 'J'"),
    ],
)
async def test_charger_garbage(
    hass: HomeAssistant, entity_id: str, state: str, attributes: dict[str, Any], match: str
) -> None:
    """Unusable states of required entities, and garbage in optional ones, raise DeviceError."""
    charger = _charger(hass)
    await _plug(hass, True)
    hass.states.async_set(entity_id, state, attributes)
    with pytest.raises(DeviceError, match=match):
        await charger.async_read()


@pytest.mark.usefixtures("wallbox")
async def test_charger_missing_entities(hass: HomeAssistant) -> None:
    """A missing required entity raises; missing optional values read as None."""
    charger = _charger(hass, energy_entity="sensor.gone", phases_entity="select.gone")
    await _plug(hass, True)
    hass.states.async_set("sensor.wallbox_power", "unavailable")
    reading = await charger.async_read()
    assert (reading.status, reading.power, reading.energy, reading.phases) == (
        Status.B,
        None,
        None,
        None,
    )
    charger = _charger(hass, enable_entity="switch.gone")
    with pytest.raises(DeviceError, match="does not exist"):
        await charger.async_read()


@pytest.mark.usefixtures("wallbox")
async def test_charger_command_failures(hass: HomeAssistant) -> None:
    """Refused service calls and impossible commands raise DeviceError."""
    charger = _charger(hass, phases_entity="input_select.wallbox_status")
    with pytest.raises(DeviceError, match="no option for 1 phase"):
        await charger.async_apply(ChargerCommand(phases=1))
    # Below 6 A is never sent (the entity would take it)
    with pytest.raises(DeviceError, match=r"refusing to set input_number\.wallbox_current to 2 A"):
        await charger.async_apply(ChargerCommand(current=2))
    with pytest.raises(DeviceError, match="refusing"):
        await charger.async_apply(ChargerCommand(current=-1))
    charger = _charger(hass, phases_entity="select.gone", enable_entity="light.gone")
    with pytest.raises(DeviceError, match="no option"):
        await charger.async_apply(ChargerCommand(phases=3))
    with pytest.raises(DeviceError, match=r"light\.turn_on"):
        await charger.async_apply(ChargerCommand(enable=True))


@pytest.mark.usefixtures("wallbox")
@pytest.mark.parametrize(
    ("attributes", "problem"),
    [
        ({"min": 0, "max": 16, "step": 7}, "step 7 A cannot set whole amperes"),
        ({"min": 0, "max": 5, "step": 1}, "maximum 5 A is below 6 A"),
        ({"min": 0, "max": 0, "step": 1}, "maximum 0 A is below 6 A"),
        ({"min": 6.5, "max": 16, "step": 1}, "minimum 6.5 A is above 6 A"),
        ({"min": 0.5, "max": 16, "step": 1}, "minimum 0.5 A and step 1 A miss 6 A"),
    ],
)
async def test_current_entity_that_cannot_offer_legal_currents(
    hass: HomeAssistant, attributes: dict[str, Any], problem: str
) -> None:
    """A number that changes its range later: the charger is unavailable, nothing is sent."""
    charger = _charger(hass)
    current = hass.states.get("input_number.wallbox_current")
    assert current is not None
    hass.states.async_set(current.entity_id, "6", {**current.attributes, **attributes})
    with pytest.raises(DeviceError, match=problem):
        await charger.async_read()
    with pytest.raises(DeviceError, match="refusing"):
        await charger.async_apply(ChargerCommand(enable=True, current=6))
    assert hass.states.get(current.entity_id).state == "6"


async def test_charger_without_entity_states(hass: HomeAssistant) -> None:
    """Commands to entities without a state yet are sent anyway (number without bounds)."""
    calls: list[tuple[str, dict[str, Any]]] = []

    async def record(call: Any) -> None:
        calls.append((call.service, dict(call.data)))

    for service in ("set_value", "turn_on", "turn_off", "select_option"):
        hass.services.async_register("number", service, record)
        hass.services.async_register("switch", service, record)
    charger = EntityCharger(
        hass,
        "bare",
        enable_entity="switch.bare",
        current_entity="number.bare",
        status_entity="binary_sensor.bare",
        phases_entity="switch.bare_phases",
        max_current=32,
    )
    await charger.async_apply(ChargerCommand(enable=False, current=7.5, phases=3))
    assert calls == [
        ("turn_on", {"entity_id": "switch.bare_phases"}),
        ("set_value", {"entity_id": "number.bare", "value": 7.5}),
        ("turn_off", {"entity_id": "switch.bare"}),
    ]


async def test_meter(hass: HomeAssistant) -> None:
    """Power in W or kW (optionally inverted), energy in kWh, SoC and capacity."""
    hass.states.async_set("sensor.grid", "-1.5", {"unit_of_measurement": "kW"})
    hass.states.async_set("sensor.grid_energy", "2500", {"unit_of_measurement": "Wh"})
    grid = EntityMeter(hass, "grid", "sensor.grid", invert=True, energy_entity="sensor.grid_energy")
    assert grid.watched == ("sensor.grid", "sensor.grid_energy")
    assert await grid.async_read() == MeterReading(power=1500.0, energy=2.5)

    hass.states.async_set("sensor.grid", "0", {"unit_of_measurement": "W"})
    reading = await grid.async_read()
    assert str(reading.power) == "0.0"  # no negative zero from inverting

    hass.states.async_set("sensor.grid_energy", "unknown")
    assert (await grid.async_read()).energy is None
    hass.states.async_set("sensor.grid_energy", "lots", {"unit_of_measurement": "kWh"})
    with pytest.raises(DeviceError, match="not a number"):
        await grid.async_read()
    hass.states.async_set("sensor.grid", "unavailable")
    with pytest.raises(DeviceError, match="unavailable"):
        await grid.async_read()

    hass.states.async_set("sensor.battery", "800")  # no unit: W
    hass.states.async_set("sensor.battery_soc", "42.5", {"unit_of_measurement": "%"})
    battery = EntityMeter(
        hass, "battery", "sensor.battery", soc_entity="sensor.battery_soc", capacity=10.0
    )
    assert await battery.async_read() == MeterReading(power=800.0, soc=42.5, capacity=10.0)
    hass.states.async_set("sensor.battery_soc", "120", {"unit_of_measurement": "%"})
    with pytest.raises(DeviceError, match="not a percentage"):
        await battery.async_read()

    with pytest.raises(DeviceError, match="does not exist"):
        await EntityMeter(hass, "pv", "sensor.pv_gone").async_read()


async def test_soc(hass: HomeAssistant) -> None:
    """A car's battery level: a number, None while unknown, garbage raises."""
    soc = EntitySoc(hass, "car", "sensor.car_soc")
    assert (soc.entity_id, soc.watched) == ("sensor.car_soc", ())
    assert await soc.async_read() is None
    hass.states.async_set("sensor.car_soc", "80", {"unit_of_measurement": "%"})
    assert await soc.async_read() == 80.0
    hass.states.async_set("sensor.car_soc", "unavailable")
    assert await soc.async_read() is None
    hass.states.async_set("sensor.car_soc", "-3")
    with pytest.raises(DeviceError):
        await soc.async_read()


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        ("A", Status.A),
        ("b", Status.B),
        ("C2", Status.C),
        ("D", Status.C),
        ("C1", Status.B),
        ("disconnected", Status.A),
        ("Available", Status.A),  # OCPP
        ("Idle", Status.A),  # go-e
        ("Ready", Status.A),  # Wallbox
        ("no_ev_connected", Status.A),  # peblar
        ("Charger ready, no car", Status.A),
        ("connected", Status.B),
        ("Preparing", Status.B),
        ("SuspendedEV", Status.B),
        ("suspended_evse", Status.B),
        ("Finishing", Status.B),
        ("Occupied", Status.B),
        ("plugged_in", Status.B),
        ("awaiting_start", Status.B),  # Easee
        ("ready_to_charge", Status.B),
        ("completed", Status.B),
        ("Complete", Status.B),
        ("wait_car", Status.B),
        ("Connected: waiting for car demand", Status.B),  # Wallbox
        ("connected_finished", Status.B),  # Zaptec
        ("Paused by user", Status.B),
        ("charging", Status.C),
        ("Charging", Status.C),
        ("connected_charging", Status.C),
    ],
)
def test_map_status(raw: str, status: Status) -> None:
    """evcc letters and common charger status words."""
    assert map_status(raw) is status


@pytest.mark.parametrize("raw", ["E", "F", "error", "Faulted", "Unavailable", "fault", "Updating"])
def test_map_status_errors(raw: str) -> None:
    with pytest.raises(DeviceError, match="error status"):
        map_status(raw)


@pytest.mark.parametrize("raw", ["", "G", "banana", "42"])
def test_map_status_unknown(raw: str) -> None:
    with pytest.raises(DeviceError):
        map_status(raw)


@pytest.mark.parametrize(
    ("option", "phases"),
    [
        ("1", 1),
        ("1p", 1),
        ("1-phase", 1),
        ("Single phase", 1),
        ("einphasig", 1),
        ("3", 3),
        ("3P", 3),
        ("three_phases", 3),
        ("Dreiphasig", 3),
        ("auto", None),
        ("13", None),
        ("2p", None),
    ],
)
def test_phases_of_option(option: str, phases: int | None) -> None:
    assert phases_of_option(option) == phases


def _loadpoint(index: int, title: str, **data: Any) -> dict[str, Any]:
    return {
        "data": {CONF_TITLE: title, **data},
        "subentry_id": f"lp{index}",
        "subentry_type": SUBENTRY_LOADPOINT,
        "title": title,
        "unique_id": None,
    }


async def test_build_devices(hass: HomeAssistant) -> None:
    """Meters from the options, one loadpoint per subentry in creation order."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Home",
        data={CONF_SITE_TITLE: "Home", CONF_DEMO: False},
        options={
            **default_options(),
            CONF_GRID_POWER: "sensor.grid",
            CONF_GRID_INVERT: True,
            CONF_GRID_ENERGY: "sensor.grid_energy",
            CONF_PV_POWER: ["sensor.pv1", "sensor.pv2"],
            CONF_BATTERY_POWER: "sensor.battery",
            CONF_BATTERY_INVERT: True,
            CONF_BATTERY_SOC: "sensor.battery_soc",
            CONF_BATTERY_CAPACITY: 9.6,
        },
        subentries_data=[
            _loadpoint(
                2,
                "Garage",
                **{
                    CONF_CHARGER_ENABLE: "switch.garage",
                    CONF_CHARGER_CURRENT: "number.garage",
                    CONF_CHARGER_STATUS: "sensor.garage_status",
                    CONF_CHARGER_CHARGING: "binary_sensor.garage_charging",
                    CONF_CHARGER_POWER: "sensor.garage_power",
                    CONF_CHARGER_ENERGY: "sensor.garage_energy",
                    CONF_CHARGER_MAX_CURRENT: 32.0,
                    CONF_CHARGER_PHASE_COUNT: 3,
                    CONF_CHARGER_PHASES: "switch.garage_1p",
                    CONF_CHARGER_PHASES_ON_1P: True,
                    CONF_CHARGE_METER_POWER: "sensor.garage_meter",
                    CONF_VEHICLE_TITLE: "ID.3",
                    CONF_VEHICLE_CAPACITY: 58.0,
                    CONF_VEHICLE_PHASES: 2,
                    CONF_VEHICLE_SOC: "sensor.id3_soc",
                },
            ),
            _loadpoint(
                1,
                "Carport",
                **{
                    CONF_CHARGER_ENABLE: "input_boolean.carport",
                    CONF_CHARGER_CURRENT: "input_number.carport",
                    CONF_CHARGER_STATUS: "binary_sensor.carport_plug",
                    CONF_CHARGER_MAX_CURRENT: 16.0,
                    CONF_CHARGER_PHASE_COUNT: 1,
                    CONF_CHARGE_METER_POWER: "sensor.carport_meter",
                    CONF_VEHICLE_TITLE: "Zoe",
                    CONF_VEHICLE_CAPACITY: 52.0,
                    CONF_VEHICLE_PHASES: 3,
                },
            ),
        ],
    )
    entry.add_to_hass(hass)
    assert [s.title for s in loadpoint_subentries(entry)] == ["Garage", "Carport"]

    devices = await async_build_devices(hass, entry, ModbusHub())
    assert devices.config == SiteConfig(
        title="Home", grid_configured=True, pv_configured=True, battery_configured=True
    )
    assert isinstance(devices.grid, EntityMeter)
    assert (devices.grid.watched, devices.grid.invert) == (
        ("sensor.grid", "sensor.grid_energy"),
        True,
    )
    assert [m.watched for m in devices.pv] == [("sensor.pv1",), ("sensor.pv2",)]
    (battery,) = devices.battery
    assert isinstance(battery, EntityMeter)
    assert (battery.watched, battery.invert, battery.capacity) == (
        ("sensor.battery", "sensor.battery_soc"),
        True,
        9.6,
    )
    assert devices.aux == []

    garage, carport = devices.loadpoints
    assert garage.config == LoadpointConfig(
        title="Garage",
        charger=ChargerConfig(phases=3, phases_switchable=True, max_current=32.0),
        vehicle=VehicleConfig(title="ID.3", capacity_kwh=58.0, phases=2, has_soc=True),
    )
    assert isinstance(garage.charger, EntityCharger)
    assert (
        garage.charger.enable_entity,
        garage.charger.current_entity,
        garage.charger.status_entity,
        garage.charger.charging_entity,
        garage.charger.power_entity,
        garage.charger.energy_entity,
        garage.charger.phases_entity,
    ) == (
        "switch.garage",
        "number.garage",
        "sensor.garage_status",
        "binary_sensor.garage_charging",
        "sensor.garage_power",
        "sensor.garage_energy",
        "switch.garage_1p",
    )
    assert garage.charger.phases_on_1p is True
    assert isinstance(garage.meter, EntityMeter)
    assert garage.meter.watched == ("sensor.garage_meter",)
    assert isinstance(garage.soc, EntitySoc)
    assert garage.soc.entity_id == "sensor.id3_soc"

    assert carport.config == LoadpointConfig(
        title="Carport",
        charger=ChargerConfig(phases=1, phases_switchable=False, max_current=16.0),
        vehicle=VehicleConfig(title="Zoe", capacity_kwh=52.0, phases=3, has_soc=False),
    )
    assert isinstance(carport.charger, EntityCharger)
    # Without its own power sensor the charger uses the charge meter to tell "charging".
    assert carport.charger.power_entity == "sensor.carport_meter"
    assert carport.soc is None


async def test_build_devices_bare_site(hass: HomeAssistant) -> None:
    """A site without options (or meters) and loadpoints without vehicle or meter."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Flat",
        data={CONF_SITE_TITLE: "Flat"},
        subentries_data=[
            _loadpoint(
                1,
                "Street",
                **{
                    CONF_CHARGER_ENABLE: "switch.street",
                    CONF_CHARGER_CURRENT: "number.street",
                    CONF_CHARGER_STATUS: "binary_sensor.street",
                },
            ),
            {
                "data": {},
                "subentry_id": "x",
                "subentry_type": "something_else",
                "title": "Other",
                "unique_id": None,
            },
        ],
    )
    entry.add_to_hass(hass)
    devices = await async_build_devices(hass, entry, ModbusHub())
    assert devices.config == SiteConfig(
        title="Flat", grid_configured=False, pv_configured=False, battery_configured=False
    )
    assert (devices.grid, devices.pv, devices.battery) == (None, [], [])
    (street,) = devices.loadpoints
    assert street.config == LoadpointConfig(
        title="Street", charger=ChargerConfig(phases=3, max_current=16.0), vehicle=None
    )
    assert (street.meter, street.soc) == (None, None)

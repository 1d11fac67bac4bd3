"""Builders from plain config dicts and the kinds table the config flow uses."""

from __future__ import annotations

from typing import Any

import pytest

from custom_components.evcc_ha.core.model import ChargerCommand, MeterReading
from custom_components.evcc_ha.devices.modbus import CHARGER_KINDS, METER_KINDS
from custom_components.evcc_ha.devices.modbus.chargers import (
    AlfenCharger,
    HeidelbergCharger,
    PhoenixEvEthCharger,
)
from custom_components.evcc_ha.devices.modbus.client import Framing, ModbusHub, RegisterTable
from custom_components.evcc_ha.devices.modbus.codec import DataType, WordOrder
from custom_components.evcc_ha.devices.modbus.const import (
    CONF_MODBUS_DATA_TYPE,
    CONF_MODBUS_ENERGY_REGISTER,
    CONF_MODBUS_FRAMING,
    CONF_MODBUS_HOST,
    CONF_MODBUS_INVERT,
    CONF_MODBUS_MAX_CURRENT,
    CONF_MODBUS_MILLI_CURRENT,
    CONF_MODBUS_PORT,
    CONF_MODBUS_REGISTER,
    CONF_MODBUS_REGISTER_TYPE,
    CONF_MODBUS_SCALE,
    CONF_MODBUS_UNIT_ID,
    CONF_MODBUS_USAGE,
    CONF_MODBUS_WORD_ORDER,
    Usage,
)
from custom_components.evcc_ha.devices.modbus.errors import ModbusConfigError
from custom_components.evcc_ha.devices.modbus.kinds import CONNECTION_FIELDS, kind_of
from custom_components.evcc_ha.devices.modbus.meters import RegisterMeter, Sdm630Meter
from custom_components.evcc_ha.devices.modbus.sunspec import SunSpecMeter

from .conftest import FakeUnit, ServerFactory
from .maps import words

EXPECTED = {
    "sunspec": (SunSpecMeter, 1, Framing.TCP),
    "sdm630": (Sdm630Meter, 1, Framing.RTU_OVER_TCP),
    "generic": (RegisterMeter, 1, Framing.TCP),
    "phoenix_ev_eth": (PhoenixEvEthCharger, 255, Framing.TCP),
    "wallbe": (PhoenixEvEthCharger, 255, Framing.TCP),
    "alfen": (AlfenCharger, 1, Framing.TCP),
    "heidelberg": (HeidelbergCharger, 1, Framing.RTU_OVER_TCP),
}


def _minimal(kind: str) -> dict[str, Any]:
    """Host plus the required fields, each at its default (the generic register: 0)."""
    config: dict[str, Any] = {CONF_MODBUS_HOST: " 192.0.2.1 "}
    for form_field in kind_of(kind).fields:
        if form_field.required:
            config[form_field.key] = 0 if form_field.default is None else form_field.default
    return config


def test_the_tables_hold_every_kind() -> None:
    assert set(METER_KINDS) | set(CHARGER_KINDS) == set(EXPECTED)
    assert not set(METER_KINDS) & set(CHARGER_KINDS)
    assert CONNECTION_FIELDS == (
        CONF_MODBUS_HOST,
        CONF_MODBUS_PORT,
        CONF_MODBUS_UNIT_ID,
        CONF_MODBUS_FRAMING,
    )


@pytest.mark.parametrize("kind", sorted(EXPECTED))
def test_every_kind_builds_from_its_defaults(hub: ModbusHub, kind: str) -> None:
    device_class, unit_id, framing = EXPECTED[kind]
    entry = kind_of(kind)
    assert entry.key == kind
    assert (entry.default_unit_id, entry.default_framing, entry.default_port) == (
        unit_id,
        framing,
        502,
    )
    assert entry.default_framing in entry.framings
    for form_field in entry.fields:
        if form_field.choices:
            assert form_field.default in form_field.choices
    device = entry.build({**entry.defaults(), **_minimal(kind)}, hub)
    assert type(device) is device_class
    assert device.unit.unit_id == unit_id  # type: ignore[attr-defined]
    assert device.unit.connection.framing is framing  # type: ignore[attr-defined]
    assert device.unit.connection.host == "192.0.2.1"  # type: ignore[attr-defined]
    name: str = device.name  # type: ignore[attr-defined]
    assert name.startswith(entry.title)


def test_builders_share_the_connection_of_one_gateway(hub: ModbusHub) -> None:
    base = {CONF_MODBUS_HOST: "192.0.2.9", CONF_MODBUS_PORT: 8899}
    grid = METER_KINDS["sdm630"].build({**base, CONF_MODBUS_UNIT_ID: 1}, hub, name="grid")
    box = CHARGER_KINDS["heidelberg"].build(
        {**base, CONF_MODBUS_UNIT_ID: 2, CONF_MODBUS_MAX_CURRENT: 16.0}, hub
    )
    assert grid.name == "grid"
    assert grid.unit.connection is box.unit.connection  # type: ignore[attr-defined]
    assert box.unit.connection.min_gap == 0.1  # type: ignore[attr-defined]


def test_numbers_from_a_form_may_be_floats_or_strings(hub: ModbusHub) -> None:
    meter = METER_KINDS["sdm630"].build(
        {
            CONF_MODBUS_HOST: "192.0.2.1",
            CONF_MODBUS_PORT: 502.0,
            CONF_MODBUS_UNIT_ID: "3",
            CONF_MODBUS_USAGE: "PV",
            CONF_MODBUS_FRAMING: "tcp",
        },
        hub,
    )
    assert isinstance(meter, Sdm630Meter)
    assert meter.unit.unit_id == 3
    assert meter.usage is Usage.PV


def test_generic_meter_config(hub: ModbusHub) -> None:
    meter = METER_KINDS["generic"].build(
        {
            CONF_MODBUS_HOST: "192.0.2.1",
            CONF_MODBUS_REGISTER: 40083,
            CONF_MODBUS_REGISTER_TYPE: "input",
            CONF_MODBUS_DATA_TYPE: "int32",
            CONF_MODBUS_WORD_ORDER: "little",
            CONF_MODBUS_SCALE: 0.1,
            CONF_MODBUS_INVERT: True,
        },
        hub,
    )
    assert isinstance(meter, RegisterMeter)
    assert meter.power.address == 40083
    assert meter.power.table is RegisterTable.INPUT
    assert meter.power.data_type is DataType.INT32
    assert meter.power.word_order is WordOrder.LITTLE
    assert meter.power.scale == 0.1
    assert meter.invert is True
    assert meter.energy is None


@pytest.mark.parametrize(
    ("kind", "change"),
    [
        ("phoenix_ev_eth", {CONF_MODBUS_FRAMING: "rtuovertcp"}),  # Modbus TCP only
        ("sdm630", {CONF_MODBUS_FRAMING: "ascii"}),
        ("sdm630", {CONF_MODBUS_USAGE: "heating"}),
        ("sdm630", {CONF_MODBUS_UNIT_ID: 256}),
        ("sdm630", {CONF_MODBUS_PORT: "x"}),
        ("sdm630", {CONF_MODBUS_HOST: ""}),
        ("generic", {CONF_MODBUS_REGISTER: None}),
        ("generic", {CONF_MODBUS_DATA_TYPE: "float64"}),
        ("generic", {CONF_MODBUS_INVERT: "yes"}),
        ("generic", {CONF_MODBUS_SCALE: float("nan")}),
        ("generic", {CONF_MODBUS_ENERGY_REGISTER: 70000}),
        ("alfen", {CONF_MODBUS_MAX_CURRENT: None}),
        ("alfen", {CONF_MODBUS_MAX_CURRENT: 4}),
        ("wallbe", {CONF_MODBUS_MILLI_CURRENT: 1}),
    ],
)
def test_invalid_config_is_refused(hub: ModbusHub, kind: str, change: dict[str, Any]) -> None:
    with pytest.raises(ModbusConfigError):
        kind_of(kind).build({**_minimal(kind), **change}, hub)


def test_unknown_kind() -> None:
    with pytest.raises(ModbusConfigError, match="unknown Modbus device kind"):
        kind_of("abl")


async def test_built_devices_work_end_to_end(hub: ModbusHub, modbus_server: ServerFactory) -> None:
    device = FakeUnit(5)
    device.set("input", 100, words(">f", -1500.0))
    device.set("input", 200, words(">I", 12_345_678))
    server = await modbus_server(device)
    meter = METER_KINDS["generic"].build(
        {
            CONF_MODBUS_HOST: server.host,
            CONF_MODBUS_PORT: server.port,
            CONF_MODBUS_UNIT_ID: 5,
            CONF_MODBUS_USAGE: "grid",
            CONF_MODBUS_REGISTER: 100,
            CONF_MODBUS_REGISTER_TYPE: "input",
            CONF_MODBUS_DATA_TYPE: "float32",
            CONF_MODBUS_ENERGY_REGISTER: 200,
            "modbus_energy_register_type": "input",
        },
        hub,
    )
    await meter.async_setup()
    assert await meter.async_read() == MeterReading(power=-1500.0, energy=12345.678)
    await meter.async_close()
    assert hub.connections == []


def test_charger_builders_take_the_max_current(hub: ModbusHub) -> None:
    charger = CHARGER_KINDS["alfen"].build(
        {CONF_MODBUS_HOST: "192.0.2.1", CONF_MODBUS_MAX_CURRENT: "32"}, hub
    )
    assert isinstance(charger, AlfenCharger)
    assert charger.max_current == 32.0
    assert bool(ChargerCommand()) is False


def test_form_defaults_are_the_builder_defaults(hub: ModbusHub) -> None:
    entry = METER_KINDS["generic"]
    config = {**_minimal("generic"), CONF_MODBUS_ENERGY_REGISTER: 10}
    implicit = entry.build(config, hub)
    explicit = entry.build({**entry.defaults(), **config}, hub)
    assert isinstance(implicit, RegisterMeter)
    assert isinstance(explicit, RegisterMeter)
    assert (implicit.power, implicit.energy, implicit.invert) == (
        explicit.power,
        explicit.energy,
        explicit.invert,
    )

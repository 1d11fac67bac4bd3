"""Eastron SDM630 and the generic register meter against real servers."""

from __future__ import annotations

from dataclasses import replace

import pytest
from pymodbus.constants import ExcCodes

from custom_components.evcc_ha.core.model import DeviceError, MeterReading
from custom_components.evcc_ha.devices.modbus.client import Framing, ModbusHub, RegisterTable
from custom_components.evcc_ha.devices.modbus.codec import DataType, WordOrder
from custom_components.evcc_ha.devices.modbus.const import Usage
from custom_components.evcc_ha.devices.modbus.errors import (
    ModbusConfigError,
    ModbusExceptionResponseError,
)
from custom_components.evcc_ha.devices.modbus.meters import RegisterMeter, RegisterSpec, Sdm630Meter

from .conftest import FakeUnit, ServerFactory
from .maps import NAN32, f32, sdm630, words


async def _sdm(
    hub: ModbusHub, modbus_server: ServerFactory, device: FakeUnit, usage: Usage, framing: Framing
) -> Sdm630Meter:
    server = await modbus_server(device, framing=framing)
    return Sdm630Meter(
        hub.unit(server.host, server.port, framing, device.unit_id), name="sdm", usage=usage
    )


@pytest.mark.parametrize("framing", list(Framing))
async def test_sdm630_grid(hub: ModbusHub, modbus_server: ServerFactory, framing: Framing) -> None:
    device = sdm630(unit_id=2)
    meter = await _sdm(hub, modbus_server, device, Usage.GRID, framing)
    reading = await meter.async_read()
    assert reading.voltages == pytest.approx((230.1, 231.2, 229.3))  # float32 on the wire
    assert replace(reading, voltages=None) == MeterReading(
        power=400.0,
        energy=12345.5,  # import
        currents=(5.5, -4.25, 0.5),  # signed like the phase power
        powers=(1200.0, -900.0, 100.0),
    )
    assert sorted(device.reads_of("input")) == [0x0000, 0x0034, 0x0048]


async def test_sdm630_pv_negates_and_counts_the_export(
    hub: ModbusHub, modbus_server: ServerFactory
) -> None:
    device = sdm630(power=-3000.0, powers=(-1000.0, -1000.0, -1000.0), currents=(4.5, 4.5, 4.5))
    meter = await _sdm(hub, modbus_server, device, Usage.PV, Framing.RTU_OVER_TCP)
    reading = await meter.async_read()
    assert reading.voltages == pytest.approx((230.1, 231.2, 229.3))  # voltages keep their sign
    assert replace(reading, voltages=None) == MeterReading(
        power=3000.0,
        energy=6789.25,  # export
        currents=(4.5, 4.5, 4.5),
        powers=(1000.0, 1000.0, 1000.0),
    )


async def test_sdm630_battery_is_positive_when_discharging(
    hub: ModbusHub, modbus_server: ServerFactory
) -> None:
    device = sdm630(power=-2000.0)  # the battery inverter feeds the house
    meter = await _sdm(hub, modbus_server, device, Usage.BATTERY, Framing.TCP)
    assert (await meter.async_read()).power == 2000.0


async def test_sdm630_nan_and_absurd_values_are_errors(
    hub: ModbusHub, modbus_server: ServerFactory
) -> None:
    device = sdm630()
    meter = await _sdm(hub, modbus_server, device, Usage.GRID, Framing.RTU_OVER_TCP)
    device.set("input", 0x0034, NAN32)
    with pytest.raises(DeviceError, match="not a finite number"):
        await meter.async_read()
    device.set("input", 0x0034, f32(100.0))
    device.set("input", 0x0006, f32(1500.0))  # 1500 A on L1
    with pytest.raises(DeviceError, match="current L1"):
        await meter.async_read()
    device.set("input", 0x0006, f32(1.0))
    device.set("input", 0x0048, f32(-1.0))
    with pytest.raises(DeviceError, match="not a meter total"):
        await meter.async_read()


async def test_sdm630_exception_code(hub: ModbusHub, modbus_server: ServerFactory) -> None:
    device = sdm630()
    device.fail[("input", 0x0048)] = ExcCodes.ILLEGAL_ADDRESS
    meter = await _sdm(hub, modbus_server, device, Usage.GRID, Framing.TCP)
    with pytest.raises(ModbusExceptionResponseError, match="illegal data address"):
        await meter.async_read()


async def test_sdm630_probe_checks_voltages(hub: ModbusHub, modbus_server: ServerFactory) -> None:
    device = sdm630()
    meter = await _sdm(hub, modbus_server, device, Usage.GRID, Framing.TCP)
    found = await meter.async_probe()
    assert found["power"] == 400.0
    assert found["voltages"] == pytest.approx([230.1, 231.2, 229.3])
    device.set("input", 0x0000, NAN32)
    with pytest.raises(DeviceError, match="voltage L1"):
        await meter.async_probe()
    device.set("input", 0x0000, f32(-230.0))
    with pytest.raises(DeviceError, match="not a phase voltage"):
        await meter.async_read()


GENERIC = [
    (DataType.INT16, ">h", -1234),
    (DataType.UINT16, ">H", 40000),
    (DataType.INT32, ">i", -123456),
    (DataType.UINT32, ">I", 1_234_567),
    (DataType.FLOAT32, ">f", 1234.5),
]


@pytest.mark.parametrize(("data_type", "fmt", "raw"), GENERIC)
@pytest.mark.parametrize("word_order", list(WordOrder))
@pytest.mark.parametrize("table", [RegisterTable.HOLDING, RegisterTable.INPUT])
async def test_generic_meter_decodes_every_type(
    hub: ModbusHub,
    modbus_server: ServerFactory,
    data_type: DataType,
    fmt: str,
    raw: float,
    word_order: WordOrder,
    table: RegisterTable,
) -> None:
    registers = words(fmt, raw)
    if word_order is WordOrder.LITTLE:
        registers.reverse()
    device = FakeUnit(1)
    device.set("holding" if table is RegisterTable.HOLDING else "input", 300, registers)
    server = await modbus_server(device)
    meter = RegisterMeter(
        hub.unit(server.host, server.port, Framing.TCP, 1),
        name="generic",
        usage=Usage.GRID,
        power=RegisterSpec(300, table, data_type, word_order, scale=0.5),
    )
    assert (await meter.async_read()).power == raw * 0.5


@pytest.mark.parametrize("framing", list(Framing))
async def test_generic_meter_invert_and_energy_register(
    hub: ModbusHub, modbus_server: ServerFactory, framing: Framing
) -> None:
    device = FakeUnit(1)
    device.set("input", 10, words(">h", 1500))
    device.set("holding", 20, list(reversed(words(">I", 7_654_321))))  # Wh, low word first
    server = await modbus_server(device, framing=framing)
    meter = RegisterMeter(
        hub.unit(server.host, server.port, framing, 1),
        name="generic",
        usage=Usage.PV,
        power=RegisterSpec(10, RegisterTable.INPUT, DataType.INT16),
        energy=RegisterSpec(20, RegisterTable.HOLDING, DataType.UINT32, WordOrder.LITTLE, 0.001),
        invert=True,
    )
    assert await meter.async_read() == MeterReading(power=-1500.0, energy=7654.321)


async def test_generic_meter_garbage(hub: ModbusHub, modbus_server: ServerFactory) -> None:
    device = FakeUnit(1)
    device.set("holding", 0, NAN32)
    device.set("holding", 2, words(">i", -5))
    server = await modbus_server(device)
    unit = hub.unit(server.host, server.port, Framing.TCP, 1)
    nan_power = RegisterMeter(
        unit, name="g", usage=Usage.GRID, power=RegisterSpec(0, data_type=DataType.FLOAT32)
    )
    with pytest.raises(DeviceError):
        await nan_power.async_read()
    negative_energy = RegisterMeter(
        unit,
        name="g",
        usage=Usage.GRID,
        power=RegisterSpec(2, data_type=DataType.INT32),
        energy=RegisterSpec(2, data_type=DataType.INT32),
    )
    with pytest.raises(DeviceError, match="not a meter total"):
        await negative_energy.async_read()


@pytest.mark.parametrize(
    "spec",
    [
        {"address": 70000},
        {"address": 1, "data_type": DataType.UINT64},
        {"address": 1, "scale": 0.0},
        {"address": 1, "table": RegisterTable.COIL},
    ],
)
def test_register_spec_refuses_bad_config(spec: dict[str, object]) -> None:
    with pytest.raises(ModbusConfigError):
        RegisterSpec(**spec)  # type: ignore[arg-type]

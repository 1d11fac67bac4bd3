"""SunSpec: the model chain, int + scale factor and float models, usages, faults."""

from __future__ import annotations

import asyncio

import pytest
from pymodbus.constants import ExcCodes

from custom_components.evcc_ha.core.model import DeviceError, MeterReading
from custom_components.evcc_ha.devices.modbus.client import Framing, ModbusHub
from custom_components.evcc_ha.devices.modbus.const import Usage
from custom_components.evcc_ha.devices.modbus.errors import NotSunSpecError, RegisterMapError
from custom_components.evcc_ha.devices.modbus.sunspec import SunSpecMeter, async_discover

from .conftest import FakeUnit, ServerFactory
from .maps import (
    NAN32,
    NOT_IMPLEMENTED_I16,
    f32,
    model_battery,
    model_common,
    model_inverter_float,
    model_inverter_int,
    model_meter_float,
    model_meter_int,
    model_storage,
    sunspec_chain,
    sunspec_unit,
)

INVERTER_103 = model_inverter_int(
    w=5432, w_sf=0, wh=1_234_567, wh_sf=1, amps=(801, 802, 803), a_sf=-2
)
METER_203 = model_meter_int(
    w=-1234,
    w_sf=1,
    wph=(-400, -500, -334),
    amps=(-185, -221, -150),
    a_sf=-2,
    wh_imp=987_654,
    wh_exp=123_456,
    wh_sf=0,
)
CHAIN = [(1, model_common()), (103, INVERTER_103), (203, METER_203)]


async def _meter(
    hub: ModbusHub,
    modbus_server: ServerFactory,
    device: FakeUnit,
    usage: Usage,
    framing: Framing = Framing.TCP,
) -> SunSpecMeter:
    server = await modbus_server(device, framing=framing)
    meter = SunSpecMeter(
        hub.unit(server.host, server.port, framing, device.unit_id), name="sunspec", usage=usage
    )
    await meter.async_setup()
    return meter


async def test_discovers_the_model_chain(hub: ModbusHub, modbus_server: ServerFactory) -> None:
    server = await modbus_server(sunspec_unit(1, CHAIN))
    chain = await async_discover(hub.unit(server.host, server.port, Framing.TCP, 1))
    assert chain.base == 40000
    assert chain.model_ids == [1, 103, 203]
    assert [m.address for m in chain.models] == [40002, 40070, 40122]
    assert chain.first((203, 103)) is chain.models[2]


@pytest.mark.parametrize("usage", [Usage.GRID, Usage.CHARGE])
async def test_grid_and_charge_read_the_int_meter_model(
    hub: ModbusHub, modbus_server: ServerFactory, usage: Usage
) -> None:
    meter = await _meter(hub, modbus_server, sunspec_unit(1, CHAIN), usage)
    assert await meter.async_read() == MeterReading(
        power=-12340.0,  # -1234 × 10^1, + = import
        energy=987.654,  # TotWhImp / 1000
        currents=(-1.85, -2.21, -1.5),
        powers=(-4000.0, -5000.0, -3340.0),
    )


async def test_pv_reads_the_int_inverter_model(
    hub: ModbusHub, modbus_server: ServerFactory
) -> None:
    meter = await _meter(hub, modbus_server, sunspec_unit(1, CHAIN), Usage.PV)
    assert await meter.async_read() == MeterReading(
        power=5432.0, energy=12345.67, currents=(8.01, 8.02, 8.03)
    )


async def test_float_models(hub: ModbusHub, modbus_server: ServerFactory) -> None:
    device = sunspec_unit(
        1,
        [
            (113, model_inverter_float(w=3210.5, wh=5_000_500.0, amps=(4.5, 4.5, 4.75))),
            (
                213,
                model_meter_float(
                    w=812.5,
                    wph=(300.0, 312.5, 200.0),
                    amps=(1.5, 1.25, 1.0),
                    wh_imp=2e6,
                    wh_exp=5e5,
                ),
            ),
        ],
    )
    server = await modbus_server(device)
    grid = SunSpecMeter(
        hub.unit(server.host, server.port, Framing.TCP, 1), name="g", usage=Usage.GRID
    )
    pv = SunSpecMeter(hub.unit(server.host, server.port, Framing.TCP, 1), name="p", usage=Usage.PV)
    assert await grid.async_read() == MeterReading(
        power=812.5, energy=2000.0, currents=(1.5, 1.25, 1.0), powers=(300.0, 312.5, 200.0)
    )
    assert await pv.async_read() == MeterReading(
        power=3210.5, energy=5000.5, currents=(4.5, 4.5, 4.75)
    )


async def test_battery_reads_inverter_power_and_storage_soc(
    hub: ModbusHub, modbus_server: ServerFactory
) -> None:
    device = sunspec_unit(1, [(103, INVERTER_103), (124, model_storage(soc=655, soc_sf=-1))])
    meter = await _meter(hub, modbus_server, device, Usage.BATTERY)
    assert await meter.async_read() == MeterReading(power=5432.0, soc=65.5)


async def test_battery_soc_and_capacity_from_model_802(
    hub: ModbusHub, modbus_server: ServerFactory
) -> None:
    device = sunspec_unit(
        1,
        [
            (113, model_inverter_float(w=-2500.0, wh=1.0, amps=(1.0, 1.0, 1.0))),
            (802, model_battery(soc=42, soc_sf=0, wh_rating=1010, wh_sf=1)),
        ],
    )
    meter = await _meter(hub, modbus_server, device, Usage.BATTERY)
    assert await meter.async_read() == MeterReading(power=-2500.0, soc=42.0, capacity=10.1)


async def test_pv_through_a_meter_model_only_is_taken_as_evcc_does(
    hub: ModbusHub, modbus_server: ServerFactory
) -> None:
    device = sunspec_unit(1, [(203, METER_203)])
    meter = await _meter(hub, modbus_server, device, Usage.PV)
    assert await meter.async_read() == MeterReading(power=-12340.0, energy=123.456)


async def test_fronius_meter_at_unit_200(hub: ModbusHub, modbus_server: ServerFactory) -> None:
    smart_meter_model = model_meter_float(
        w=-3000.0,
        wph=(-1000.0, -1000.0, -1000.0),
        amps=(4.25, 4.25, 4.25),
        wh_imp=1500.0,
        wh_exp=0.0,
    )
    inverter = sunspec_unit(1, [(103, INVERTER_103)])
    smart_meter = sunspec_unit(200, [(1, model_common()), (213, smart_meter_model)])
    server = await modbus_server(inverter, smart_meter)
    at_200 = hub.unit(server.host, server.port, Framing.TCP, 200)
    at_1 = hub.unit(server.host, server.port, Framing.TCP, 1)
    meter = SunSpecMeter(at_200, name="m", usage=Usage.GRID)
    assert await meter.async_read() == MeterReading(
        power=-3000.0,
        energy=1.5,
        currents=(4.25, 4.25, 4.25),
        powers=(-1000.0, -1000.0, -1000.0),
    )
    with pytest.raises(RegisterMapError, match="no SunSpec meter"):
        await SunSpecMeter(at_1, name="inverter", usage=Usage.GRID).async_read()


async def test_sunspec_over_rtu_framing(hub: ModbusHub, modbus_server: ServerFactory) -> None:
    meter = await _meter(
        hub, modbus_server, sunspec_unit(1, CHAIN), Usage.GRID, Framing.RTU_OVER_TCP
    )
    assert (await meter.async_read()).power == -12340.0


async def test_the_chain_is_walked_once(hub: ModbusHub, modbus_server: ServerFactory) -> None:
    device = sunspec_unit(1, CHAIN)
    meter = await _meter(hub, modbus_server, device, Usage.GRID)
    walked = len(device.requests)
    assert walked == 5  # marker, three model headers, the end block
    for _ in range(3):
        await meter.async_read()
    assert device.reads_of("holding")[walked:] == [40122] * 3  # one request a read


async def test_a_changed_chain_is_walked_again(
    hub: ModbusHub, modbus_server: ServerFactory
) -> None:
    device = sunspec_unit(1, CHAIN, padding=200)
    meter = await _meter(hub, modbus_server, device, Usage.GRID)
    assert (await meter.async_read()).power == -12340.0
    # A firmware update puts another model in front: the meter model moves.
    moved = sunspec_chain(
        [(1, model_common()), (120, [0] * 26), (103, INVERTER_103), (203, METER_203)]
    )
    device.holding.update(moved)
    with pytest.raises(RegisterMapError, match="walked again"):
        await meter.async_read()
    assert meter.chain is None
    assert (await meter.async_read()).power == -12340.0
    assert meter.chain is not None
    assert meter.chain.model_ids == [1, 120, 103, 203]


async def test_the_second_base_address_is_tried(
    hub: ModbusHub, modbus_server: ServerFactory
) -> None:
    device = sunspec_unit(1, [(203, METER_203)], base=50000)
    meter = await _meter(hub, modbus_server, device, Usage.GRID)
    assert meter.chain is not None
    assert meter.chain.base == 50000
    assert (await meter.async_read()).energy == 987.654


async def test_a_chain_without_end_block_is_used_as_far_as_it_goes(
    hub: ModbusHub, modbus_server: ServerFactory
) -> None:
    device = sunspec_unit(1, CHAIN, end=False)
    meter = await _meter(hub, modbus_server, device, Usage.GRID)
    assert meter.chain is not None
    assert meter.chain.model_ids == [1, 103, 203]


async def test_not_a_sunspec_device(hub: ModbusHub, modbus_server: ServerFactory) -> None:
    device = FakeUnit(1)
    device.holding.update({40000: 0, 40001: 0})
    server = await modbus_server(device)
    meter = SunSpecMeter(
        hub.unit(server.host, server.port, Framing.TCP, 1), name="x", usage=Usage.GRID
    )
    await meter.async_setup()  # does not raise: the first read tells
    with pytest.raises(NotSunSpecError):
        await meter.async_read()


async def test_grid_usage_needs_a_meter_model(hub: ModbusHub, modbus_server: ServerFactory) -> None:
    meter = await _meter(hub, modbus_server, sunspec_unit(1, [(103, INVERTER_103)]), Usage.GRID)
    with pytest.raises(RegisterMapError, match="no SunSpec meter model"):
        await meter.async_read()


async def test_power_not_implemented_is_an_error_a_missing_total_is_none(
    hub: ModbusHub, modbus_server: ServerFactory
) -> None:
    no_total = model_meter_int(
        w=100, w_sf=0, wph=(50, 50, 0), amps=(1, 1, 0), a_sf=0, wh_imp=0, wh_exp=0, wh_sf=0
    )
    device = sunspec_unit(1, [(203, no_total)])
    meter = await _meter(hub, modbus_server, device, Usage.GRID)
    assert (await meter.async_read()).energy is None  # acc32 0 = not accumulated
    device.holding[40004 + 16] = NOT_IMPLEMENTED_I16  # W
    with pytest.raises(DeviceError, match="no power"):
        await meter.async_read()


async def test_single_phase_meter_reports_missing_phases_as_zero(
    hub: ModbusHub, modbus_server: ServerFactory
) -> None:
    single = model_meter_int(
        w=2300,
        w_sf=0,
        wph=(2300, NOT_IMPLEMENTED_I16, NOT_IMPLEMENTED_I16),
        amps=(100, NOT_IMPLEMENTED_I16, NOT_IMPLEMENTED_I16),
        a_sf=-1,
        wh_imp=5000,
        wh_exp=0,
        wh_sf=0,
    )
    meter = await _meter(hub, modbus_server, sunspec_unit(1, [(201, single)]), Usage.GRID)
    reading = await meter.async_read()
    assert reading.currents == (10.0, 0.0, 0.0)
    assert reading.powers == (2300.0, 0.0, 0.0)


async def test_nan_float_power_is_an_error(hub: ModbusHub, modbus_server: ServerFactory) -> None:
    data = model_meter_float(
        w=1.0, wph=(1.0, 1.0, 1.0), amps=(1.0, 1.0, 1.0), wh_imp=1.0, wh_exp=1.0
    )
    data[26:28] = NAN32
    meter = await _meter(hub, modbus_server, sunspec_unit(1, [(213, data)]), Usage.GRID)
    with pytest.raises(DeviceError, match="no power"):
        await meter.async_read()


async def test_garbage_values_are_errors(hub: ModbusHub, modbus_server: ServerFactory) -> None:
    data = model_meter_float(
        w=1.0, wph=(1.0, 1.0, 1.0), amps=(1.0, 1.0, 1.0), wh_imp=1.0, wh_exp=1.0
    )
    device = sunspec_unit(1, [(213, data)])
    meter = await _meter(hub, modbus_server, device, Usage.GRID)
    device.set("holding", 40004 + 26, f32(5e9))  # 5 GW
    with pytest.raises(DeviceError, match="beyond"):
        await meter.async_read()
    device.set("holding", 40004 + 26, f32(100.0))
    device.set("holding", 40004 + 66, f32(-5.0))  # negative import total
    with pytest.raises(DeviceError, match="not a meter total"):
        await meter.async_read()


async def test_a_scale_factor_out_of_range_is_an_error(
    hub: ModbusHub, modbus_server: ServerFactory
) -> None:
    bad = model_inverter_int(w=100, w_sf=20, wh=1, wh_sf=0, amps=(1, 1, 1), a_sf=0)
    meter = await _meter(hub, modbus_server, sunspec_unit(1, [(103, bad)]), Usage.PV)
    with pytest.raises(RegisterMapError, match="scale factor"):
        await meter.async_read()


async def test_a_device_down_at_setup_is_discovered_on_the_first_read(
    hub: ModbusHub, modbus_server: ServerFactory
) -> None:
    device = sunspec_unit(1, CHAIN)
    server = await modbus_server(device)
    await server.stop()
    meter = SunSpecMeter(
        hub.unit(server.host, server.port, Framing.TCP, 1), name="m", usage=Usage.PV
    )
    await meter.async_setup()  # no exception: not reachable now
    assert meter.chain is None
    await server.start()
    await asyncio.sleep(0.1)  # past the back-off
    assert (await meter.async_read()).power == 5432.0


async def test_illegal_address_at_the_model_forces_a_new_walk(
    hub: ModbusHub, modbus_server: ServerFactory
) -> None:
    device = sunspec_unit(1, CHAIN)
    meter = await _meter(hub, modbus_server, device, Usage.GRID)
    device.fail[("holding", 40122)] = ExcCodes.ILLEGAL_ADDRESS
    with pytest.raises(DeviceError):
        await meter.async_read()
    assert meter.chain is None
    del device.fail[("holding", 40122)]
    assert (await meter.async_read()).power == -12340.0


async def test_diagnostics(hub: ModbusHub, modbus_server: ServerFactory) -> None:
    meter = await _meter(hub, modbus_server, sunspec_unit(1, CHAIN), Usage.GRID)
    await meter.async_read()
    diagnostics = meter.diagnostics()
    assert diagnostics["sunspec_models"] == [1, 103, 203]
    assert diagnostics["unit_id"] == 1
    assert "holding:40122" in diagnostics["registers"]  # type: ignore[operator]

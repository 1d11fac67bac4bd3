"""The hub: shared connections, one request at a time per gateway, back-off, recovery, cleanup."""

from __future__ import annotations

import asyncio
import socket
import time
from itertools import pairwise

import pytest
from pymodbus.constants import ExcCodes

from custom_components.evcc_ha.devices.modbus.client import Framing, ModbusHub
from custom_components.evcc_ha.devices.modbus.errors import (
    ModbusClosedError,
    ModbusConnectError,
    ModbusExceptionResponseError,
    ModbusNoResponseError,
    RegisterMapError,
)

from .conftest import FakeUnit, ServerFactory, open_sockets


def _unit(unit_id: int, **holding: int) -> FakeUnit:
    unit = FakeUnit(unit_id)
    unit.holding.update({int(k.removeprefix("r")): v for k, v in holding.items()})
    return unit


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


async def test_units_behind_one_gateway_share_one_connection(hub: ModbusHub) -> None:
    first = hub.unit("127.0.0.1", 5020, "tcp", 1)
    second = hub.unit("127.0.0.1", 5020, Framing.TCP, 2)
    other_framing = hub.unit("127.0.0.1", 5020, Framing.RTU_OVER_TCP, 1)
    other_port = hub.unit("127.0.0.1", 5021, Framing.TCP, 1)
    assert first.connection is second.connection
    assert other_framing.connection is not first.connection
    assert other_port.connection is not first.connection
    assert len(hub.connections) == 3


@pytest.mark.parametrize("framing", list(Framing))
async def test_reads_and_writes_through_the_real_client(
    hub: ModbusHub, modbus_server: ServerFactory, framing: Framing
) -> None:
    device = _unit(3, r100=7, r101=8)
    device.coils[10] = False
    server = await modbus_server(device, framing=framing)
    unit = hub.unit(server.host, server.port, framing, 3)
    assert await unit.read_holding(100, 2) == [7, 8]
    await unit.write_register(100, 42)
    await unit.write_registers(100, [1, 2])
    await unit.write_coil(10, True)
    assert await unit.read_coils(10, 1) == [True]
    assert device.writes == [("holding", 100, [42]), ("holding", 100, [1, 2]), ("coil", 10, [1])]
    assert device.holding[100] == 1


async def test_two_devices_behind_one_gateway_never_overlap(
    hub: ModbusHub, modbus_server: ServerFactory
) -> None:
    first, second = _unit(1, r0=11), _unit(2, r0=22)
    first.delay = second.delay = 0.01
    server = await modbus_server(first, second, framing=Framing.RTU_OVER_TCP)
    a = hub.unit(server.host, server.port, Framing.RTU_OVER_TCP, 1)
    b = hub.unit(server.host, server.port, Framing.RTU_OVER_TCP, 2)
    results = await asyncio.gather(*(u.read_holding(0, 1) for _ in range(8) for u in (a, b)))
    assert results == [[11], [22]] * 8  # every answer reached the unit that asked
    assert server.max_in_flight == 1
    assert a.connection.connects == 1
    assert server.connections == 1


async def test_concurrent_first_requests_open_one_socket(
    hub: ModbusHub, modbus_server: ServerFactory
) -> None:
    server = await modbus_server(_unit(1, r0=11), _unit(2, r0=22))
    units = [hub.unit(server.host, server.port, Framing.TCP, i) for i in (1, 2, 1, 2)]
    assert await asyncio.gather(*(u.read_holding(0, 1) for u in units)) == [[11], [22]] * 2
    assert units[0].connection.connects == 1
    assert server.connections == 1


async def test_a_second_connection_would_overlap(modbus_server: ServerFactory) -> None:
    """The fake gateway notices concurrent requests (so the test above can fail)."""
    first, second = _unit(1, r0=11), _unit(2, r0=22)
    first.delay = second.delay = 0.05
    server = await modbus_server(first, second)
    hubs = [ModbusHub(timeout=1.0), ModbusHub(timeout=1.0)]
    try:
        a = hubs[0].unit(server.host, server.port, Framing.TCP, 1)
        b = hubs[1].unit(server.host, server.port, Framing.TCP, 2)
        await asyncio.gather(a.read_holding(0, 1), b.read_holding(0, 1))
    finally:
        for modbus_hub in hubs:
            await modbus_hub.async_close()
    assert server.max_in_flight == 2


async def test_devices_on_two_hosts_are_read_concurrently(
    hub: ModbusHub, modbus_server: ServerFactory
) -> None:
    slow_a, slow_b = _unit(1, r0=1), _unit(1, r0=2)
    slow_a.delay = slow_b.delay = 0.2
    server_a, server_b = await modbus_server(slow_a), await modbus_server(slow_b)
    a = hub.unit(server_a.host, server_a.port, Framing.TCP, 1)
    b = hub.unit(server_b.host, server_b.port, Framing.TCP, 1)
    await asyncio.gather(a.read_holding(0, 1), b.read_holding(0, 1))  # connect first
    started = time.monotonic()
    assert await asyncio.gather(a.read_holding(0, 1), b.read_holding(0, 1)) == [[1], [2]]
    assert time.monotonic() - started < 0.35


async def test_exception_code_is_raised_with_its_code(
    hub: ModbusHub, modbus_server: ServerFactory
) -> None:
    device = _unit(1, r0=1, r1=2)
    device.fail[("holding", 1)] = ExcCodes.ILLEGAL_ADDRESS
    server = await modbus_server(device)
    unit = hub.unit(server.host, server.port, Framing.TCP, 1)
    with pytest.raises(ModbusExceptionResponseError) as caught:
        await unit.read_holding(1, 1)
    assert caught.value.code == 2
    assert not caught.value.from_gateway
    assert await unit.read_holding(0, 1) == [1]  # the connection stays usable


async def test_unknown_unit_id_gets_the_gateway_exception(
    hub: ModbusHub, modbus_server: ServerFactory
) -> None:
    server = await modbus_server(_unit(1, r0=1))
    unit = hub.unit(server.host, server.port, Framing.TCP, 9)
    with pytest.raises(ModbusExceptionResponseError) as caught:
        await unit.read_holding(0, 1)
    assert caught.value.code == 11
    assert caught.value.from_gateway


async def test_an_answer_past_the_timeout_is_never_taken_for_the_next_one(
    hub: ModbusHub, modbus_server: ServerFactory
) -> None:
    device = _unit(1, r100=111, r200=222)
    server = await modbus_server(device, framing=Framing.RTU_OVER_TCP)  # RTU: no transaction id
    unit = hub.unit(server.host, server.port, Framing.RTU_OVER_TCP, 1)
    assert await unit.read_holding(100, 1) == [111]
    device.delay = 0.7  # past the hub's 0.5 s
    with pytest.raises(ModbusNoResponseError):
        await unit.read_holding(100, 1)
    device.delay = 0.0
    assert await unit.read_holding(200, 1) == [222]
    assert unit.connection.connects == 2  # the socket with the late answer was dropped


async def test_a_cancelled_request_drops_the_socket(
    hub: ModbusHub, modbus_server: ServerFactory
) -> None:
    device = _unit(1, r100=111, r200=222)
    server = await modbus_server(device, framing=Framing.RTU_OVER_TCP)
    unit = hub.unit(server.host, server.port, Framing.RTU_OVER_TCP, 1)
    await unit.read_holding(100, 1)
    device.delay = 0.3
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.1):  # the caller's own timeout
            await unit.read_holding(100, 1)
    device.delay = 0.0
    assert await unit.read_holding(200, 1) == [222]
    assert unit.connection.connects == 2


async def test_a_closed_port_fails_fast_with_a_growing_back_off(hub: ModbusHub) -> None:
    unit = hub.unit("127.0.0.1", _free_port(), Framing.TCP, 1)
    delays = []
    for _ in range(4):
        with pytest.raises(ModbusConnectError, match="cannot connect"):
            await unit.read_holding(0, 1)
        delays.append(unit.connection.backoff)
        started = time.monotonic()
        with pytest.raises(ModbusConnectError, match="next attempt in"):
            await unit.read_holding(0, 1)  # inside the back-off: no connect attempt
        assert time.monotonic() - started < 0.02
        await asyncio.sleep(unit.connection.backoff + 0.01)
    assert delays == [0.05, 0.1, 0.2, 0.2]  # doubles up to backoff_max


async def test_recovers_when_the_server_comes_back(
    hub: ModbusHub, modbus_server: ServerFactory
) -> None:
    device = _unit(1, r0=5)
    server = await modbus_server(device)
    unit = hub.unit(server.host, server.port, Framing.TCP, 1)
    assert await unit.read_holding(0, 1) == [5]
    await server.stop()
    for _ in range(2):
        with pytest.raises((ModbusConnectError, ModbusNoResponseError)):
            await unit.read_holding(0, 1)
    await server.start()  # same port, same map
    device.holding[0] = 6
    await asyncio.sleep(0.25)  # past the longest back-off
    assert await unit.read_holding(0, 1) == [6]
    assert unit.connection.backoff == 0.0


async def test_min_gap_spaces_the_requests(hub: ModbusHub, modbus_server: ServerFactory) -> None:
    device = _unit(1, r0=5)
    server = await modbus_server(device)
    paced = hub.unit(server.host, server.port, Framing.TCP, 1, min_gap=0.1)
    for _ in range(3):
        await paced.read_holding(0, 1)
    gaps = [b - a for a, b in pairwise(device.request_times)]
    assert min(gaps) >= 0.095


async def test_close_leaves_no_task_and_no_socket(modbus_server: ServerFactory) -> None:
    devices = [_unit(1, r0=1), _unit(2, r0=2)]
    servers = [await modbus_server(devices[0]), await modbus_server(devices[1])]
    baseline_tasks = asyncio.all_tasks()
    baseline_sockets = open_sockets()
    modbus_hub = ModbusHub(timeout=0.5)
    units = [
        modbus_hub.unit(server.host, server.port, Framing.TCP, d.unit_id)
        for server, d in zip(servers, devices, strict=True)
    ]
    units.append(modbus_hub.unit(servers[0].host, servers[0].port, Framing.TCP, 1))
    await asyncio.gather(*(u.read_holding(0, 1) for u in units))
    ticker = modbus_hub.start_task(asyncio.sleep(3600), name="a background job")
    assert open_sockets() > baseline_sockets
    await modbus_hub.async_close()
    await asyncio.sleep(0.05)  # the servers see the connections close
    assert ticker.cancelled()
    assert asyncio.all_tasks() - baseline_tasks == set()
    assert open_sockets() == baseline_sockets
    assert [s.connections for s in servers] == [0, 0]
    with pytest.raises(ModbusClosedError):
        await units[0].read_holding(0, 1)
    with pytest.raises(ModbusClosedError):
        modbus_hub.unit("127.0.0.1", 502, Framing.TCP, 1)


@pytest.mark.parametrize("framing", list(Framing))
async def test_an_answer_with_the_wrong_register_count_is_refused(
    hub: ModbusHub, modbus_server: ServerFactory, framing: Framing
) -> None:
    server = await modbus_server(_unit(1, r0=1, r1=2, r2=3), framing=framing)
    unit = hub.unit(server.host, server.port, framing, 1)
    assert await unit.read_holding(0, 3) == [1, 2, 3]
    server.short_answers = True
    with pytest.raises(RegisterMapError, match="asked for 3 registers, got 2"):
        await unit.read_holding(0, 3)


async def test_the_last_release_closes_the_connection(
    hub: ModbusHub, modbus_server: ServerFactory
) -> None:
    server = await modbus_server(_unit(1, r0=1))
    first = hub.unit(server.host, server.port, Framing.TCP, 1)
    second = hub.unit(server.host, server.port, Framing.TCP, 1)
    await first.read_holding(0, 1)
    first.release()
    first.release()  # idempotent
    assert await second.read_holding(0, 1) == [1]
    with pytest.raises(ModbusClosedError):
        await first.read_holding(0, 1)
    second.release()
    assert hub.connections == []
    assert second.connection.closed
    await asyncio.sleep(0.05)
    assert server.connections == 0


async def test_diagnostics_show_framing_unit_and_raw_registers_but_no_host(
    hub: ModbusHub, modbus_server: ServerFactory
) -> None:
    server = await modbus_server(_unit(4, r7=70, r8=80))
    unit = hub.unit(server.host, server.port, Framing.TCP, 4)
    await unit.read_holding(7, 2)
    await unit.write_register(8, 81)
    diagnostics = unit.diagnostics()
    assert diagnostics == {
        "framing": "tcp",
        "unit_id": 4,
        "registers": {"holding:7": [70, 80]},
        "written": {"holding:8": [81]},
    }
    assert "127.0.0.1" not in repr(diagnostics)

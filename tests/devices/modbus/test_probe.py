"""The config flow's connection test tells apart every way a device can fail to be found."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable, Iterator

import pytest

from custom_components.evcc_ha.devices.modbus.client import Framing
from custom_components.evcc_ha.devices.modbus.const import (
    CONF_MODBUS_FRAMING,
    CONF_MODBUS_HOST,
    CONF_MODBUS_MAX_CURRENT,
    CONF_MODBUS_PORT,
    CONF_MODBUS_UNIT_ID,
    CONF_MODBUS_USAGE,
)
from custom_components.evcc_ha.devices.modbus.probe import ProbeError, async_probe

from .conftest import FakeServer, FakeUnit, ServerFactory
from .maps import (
    NAN32,
    alfen,
    heidelberg,
    model_common,
    model_inverter_int,
    phoenix,
    sdm630,
    sunspec_unit,
)

INVERTER = model_inverter_int(w=2500, w_sf=0, wh=100, wh_sf=0, amps=(1, 1, 1), a_sf=0)


def _config(server: FakeServer, unit_id: int, **extra: object) -> dict[str, object]:
    return {
        CONF_MODBUS_HOST: server.host,
        CONF_MODBUS_PORT: server.port,
        CONF_MODBUS_UNIT_ID: unit_id,
        CONF_MODBUS_FRAMING: str(server.framing),
        **extra,
    }


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@pytest.fixture
def unresponsive_port() -> Iterator[int]:
    """A listener whose accept queue is full: new connections get no answer."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port: int = listener.getsockname()[1]
    fillers = []
    for _ in range(3):
        filler = socket.socket()
        filler.setblocking(False)
        try:
            filler.connect(("127.0.0.1", port))
        except BlockingIOError:
            pass
        fillers.append(filler)
    yield port
    for filler in fillers:
        filler.close()
    listener.close()


async def test_sunspec_found(modbus_server: ServerFactory) -> None:
    server = await modbus_server(sunspec_unit(1, [(1, model_common()), (103, INVERTER)]))
    result = await async_probe("sunspec", _config(server, 1, **{CONF_MODBUS_USAGE: "pv"}))
    assert result.ok, result.message
    assert result.found == {
        "framing": "tcp",
        "unit_id": 1,
        "sunspec_base": 40000,
        "sunspec_models": [1, 103],
        "manufacturer": "Fronius",
        "device_model": "Symo 8.2-3-M",
        "version": "1.2.3",
        "power": 2500.0,
    }


async def test_connection_refused(closed_port: int) -> None:
    config = {CONF_MODBUS_HOST: "127.0.0.1", CONF_MODBUS_PORT: closed_port}
    result = await async_probe("sdm630", config, timeout=0.5)
    assert result.error is ProbeError.CANNOT_CONNECT


async def test_connect_timeout(unresponsive_port: int) -> None:
    config = {CONF_MODBUS_HOST: "127.0.0.1", CONF_MODBUS_PORT: unresponsive_port}
    result = await async_probe("sdm630", config, timeout=0.3)
    assert result.error is ProbeError.TIMEOUT


async def test_wrong_unit_id_answered_by_the_gateway(modbus_server: ServerFactory) -> None:
    server = await modbus_server(sdm630(unit_id=1), framing=Framing.RTU_OVER_TCP)
    result = await async_probe("sdm630", _config(server, 7), timeout=0.5)
    assert result.error is ProbeError.WRONG_UNIT_ID
    assert "gateway" in result.message


async def test_wrong_unit_id_not_answered_at_all(modbus_server: ServerFactory) -> None:
    server = await modbus_server(sdm630(unit_id=1), framing=Framing.RTU_OVER_TCP, gateway="silent")
    result = await async_probe("sdm630", _config(server, 7), timeout=0.3)
    assert result.error is ProbeError.WRONG_UNIT_ID


async def test_answers_slower_than_the_timeout(modbus_server: ServerFactory) -> None:
    device = sdm630()
    device.delay = 0.5
    server = await modbus_server(device)
    result = await async_probe("sdm630", _config(server, 1), timeout=0.2)
    assert result.error is ProbeError.WRONG_UNIT_ID  # connected, but the unit stays silent


async def test_not_sunspec(modbus_server: ServerFactory) -> None:
    server = await modbus_server(sdm630())  # an SDM has no SunSpec map
    result = await async_probe("sunspec", _config(server, 1))
    assert result.error is ProbeError.NOT_SUNSPEC


@pytest.mark.parametrize(
    ("kind", "device", "extra"),
    [
        ("sdm630", lambda: _nan_voltages(sdm630()), {}),
        ("alfen", lambda: alfen(status="??"), {CONF_MODBUS_MAX_CURRENT: 16}),
        ("heidelberg", lambda: heidelberg(status=99), {CONF_MODBUS_MAX_CURRENT: 16}),
        ("phoenix_ev_eth", lambda: phoenix(status="?"), {CONF_MODBUS_MAX_CURRENT: 16}),
        ("sunspec", lambda: alfen(), {}),  # holding registers, but no SunS: a different error
        ("alfen", lambda: FakeUnit(1), {CONF_MODBUS_MAX_CURRENT: 16}),  # illegal addresses
    ],
)
async def test_register_mismatch(
    modbus_server: ServerFactory,
    kind: str,
    device: Callable[[], FakeUnit],
    extra: dict[str, object],
) -> None:
    unit = device()
    server = await modbus_server(unit)
    result = await async_probe(kind, _config(server, unit.unit_id, **extra))
    expected = ProbeError.NOT_SUNSPEC if kind == "sunspec" else ProbeError.REGISTER_MISMATCH
    assert result.error is expected, result.message


async def test_phoenix_probe_reports_the_firmware_and_writes_nothing(
    modbus_server: ServerFactory,
) -> None:
    device = phoenix(current=160)
    server = await modbus_server(device)
    result = await async_probe(
        "wallbe", _config(server, 255, **{CONF_MODBUS_MAX_CURRENT: 16}), timeout=1.0
    )
    assert result.ok, result.message
    assert result.found["milli_current"] is True
    assert result.found["meter"] is True
    assert result.found["offered_current"] == 16.0
    assert device.writes == []


async def test_heidelberg_and_alfen_probes_write_nothing(modbus_server: ServerFactory) -> None:
    box, eve = heidelberg(watchdog_ms=9000), alfen(status="A")
    box_server = await modbus_server(box, framing=Framing.RTU_OVER_TCP)
    eve_server = await modbus_server(eve)
    tasks = asyncio.all_tasks()
    box_result = await async_probe(
        "heidelberg", _config(box_server, 1, **{CONF_MODBUS_MAX_CURRENT: 16})
    )
    eve_result = await async_probe("alfen", _config(eve_server, 1, **{CONF_MODBUS_MAX_CURRENT: 16}))
    assert box_result.ok and eve_result.ok
    assert box_result.found["watchdog_ms"] == 9000
    assert eve_result.found["phases_switchable"] is True
    assert box.writes == eve.writes == []
    assert asyncio.all_tasks() == tasks


@pytest.mark.parametrize(
    ("kind", "config"),
    [
        ("nonsense", {CONF_MODBUS_HOST: "127.0.0.1"}),
        ("sdm630", {}),
        ("sdm630", {CONF_MODBUS_HOST: "127.0.0.1", CONF_MODBUS_PORT: 70000}),
        ("sdm630", {CONF_MODBUS_HOST: "127.0.0.1", CONF_MODBUS_UNIT_ID: 1.5}),
        ("alfen", {CONF_MODBUS_HOST: "127.0.0.1", CONF_MODBUS_FRAMING: "rtuovertcp"}),
    ],
)
async def test_invalid_config(kind: str, config: dict[str, object]) -> None:
    result = await async_probe(kind, config)
    assert result.error is ProbeError.INVALID_CONFIG


async def test_a_builder_config_error_is_invalid_config(modbus_server: ServerFactory) -> None:
    server = await modbus_server(alfen())
    result = await async_probe("alfen", _config(server, 1))  # no max current
    assert result.error is ProbeError.INVALID_CONFIG
    assert "modbus_max_current" in result.message


def _nan_voltages(unit: FakeUnit) -> FakeUnit:
    unit.set("input", 0, NAN32)
    return unit

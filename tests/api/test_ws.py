"""/ws: welcome with the flattened state, one message per changed value, keep-alive, clean close."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import aiohttp
import pytest

from custom_components.evcc_ha.api.server import EvccApiServer
from custom_components.evcc_ha.api.state import flatten_state

from .backend import HarnessBackend


async def receive_json(ws: aiohttp.ClientWebSocketResponse, timeout: float = 2.0) -> dict[str, Any]:
    msg = await ws.receive(timeout=timeout)
    assert msg.type == aiohttp.WSMsgType.TEXT, msg
    data = json.loads(msg.data)
    assert isinstance(data, dict)
    return data


async def drain(ws: aiohttp.ClientWebSocketResponse, quiet: float = 0.3) -> list[dict[str, Any]]:
    """Every message until none arrives for `quiet` seconds."""
    messages = []
    while True:
        try:
            messages.append(await receive_json(ws, quiet))
        except TimeoutError:
            return messages


async def test_welcome_then_one_message_per_changed_value(
    server: EvccApiServer, client: aiohttp.ClientSession, backend: HarnessBackend
) -> None:
    async with client.ws_connect("/ws") as ws:
        welcome = await receive_json(ws)
        assert welcome == flatten_state(backend.state())
        assert welcome["loadpoints.0.mode"] == "off"
        assert "loadpoints.0.chargePower" in welcome and welcome["siteTitle"] == "Home"

        async with client.post("/api/loadpoints/1/mode/now") as response:
            assert response.status == 200
        messages = await drain(ws)
        assert all(len(m) == 1 for m in messages)  # one value per message
        changes = {k: v for m in messages for k, v in m.items()}
        assert changes["loadpoints.0.mode"] == "now"
        assert changes["loadpoints.0.enabled"] is True
        assert changes["loadpoints.0.offeredCurrent"] == 16
        assert "siteTitle" not in changes and "loadpoints.0.title" not in changes

        await backend.cycle(status={0: "C"})  # a new cycle: the car draws power now
        changes = {k: v for m in await drain(ws) for k, v in m.items()}
        assert changes["loadpoints.0.charging"] is True
        assert changes["loadpoints.0.chargePower"] == 11040
        assert "loadpoints.0.mode" not in changes


async def test_keepalive_when_nothing_changes(
    backend: HarnessBackend, start_server: Callable[..., EvccApiServer]
) -> None:
    srv = start_server(backend, ws_heartbeat=0.2)
    await srv.start()
    try:
        async with (
            aiohttp.ClientSession(f"http://127.0.0.1:{srv.port}") as client,
            client.ws_connect("/ws") as ws,
        ):
            welcome = await receive_json(ws)
            beats = [await receive_json(ws, 1.0) for _ in range(2)]
            for beat in beats:
                assert beat == {k: welcome[k] for k in ("gridPower", "pvPower", "homePower")}
    finally:
        await srv.stop()


async def test_server_stop_closes_sockets_cleanly(
    backend: HarnessBackend, start_server: Callable[..., EvccApiServer]
) -> None:
    srv = start_server(backend)
    await srv.start()
    async with (
        aiohttp.ClientSession(f"http://127.0.0.1:{srv.port}") as client,
        client.ws_connect("/ws") as ws,
    ):
        await receive_json(ws)
        assert backend.listeners == 1
        stopping = asyncio.create_task(srv.stop())
        msg = await ws.receive(timeout=3)
        assert msg.type == aiohttp.WSMsgType.CLOSE
        assert msg.data == aiohttp.WSCloseCode.GOING_AWAY
        await asyncio.wait_for(stopping, 5)
    assert backend.listeners == 0
    assert not srv.running


async def test_client_leaving_unsubscribes(
    server: EvccApiServer, client: aiohttp.ClientSession, backend: HarnessBackend
) -> None:
    async with client.ws_connect("/ws") as ws:
        await receive_json(ws)
        await ws.send_str("anything: clients send nothing, the server ignores it")
        assert backend.listeners == 1
        assert server.api.hub.clients == 1
    for _ in range(50):
        if backend.listeners == 0:
            break
        await asyncio.sleep(0.02)
    assert backend.listeners == 0
    assert server.api.hub.clients == 0


async def test_many_states_quickly_send_only_the_latest(
    server: EvccApiServer, client: aiohttp.ClientSession, backend: HarnessBackend
) -> None:
    async with client.ws_connect("/ws") as ws:
        await receive_json(ws)
        for value in (1, 2, 3):
            await backend.async_set_site("residualPower", value)
        changes = [m for m in await drain(ws) if "residualPower" in m]
        assert changes[-1] == {"residualPower": 3}
        assert len(changes) <= 3


@pytest.mark.parametrize("heartbeat", [30.0])
async def test_heartbeat_default_is_below_ha_evcc_watchdog(heartbeat: float) -> None:
    from custom_components.evcc_ha.api.ws import HEARTBEAT_S

    assert HEARTBEAT_S == heartbeat < 50  # ha-evcc reconnects after 50 s of silence


async def test_a_broken_document_closes_the_socket_and_is_logged(
    server: EvccApiServer,
    client: aiohttp.ClientSession,
    backend: HarnessBackend,
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with client.ws_connect("/ws") as ws:
        await receive_json(ws)
        backend._state = {**backend.state(), "broken": float("nan")}  # not JSON: a bug
        for listener in list(backend._listeners):
            listener(backend._state)
        msg = await ws.receive(timeout=3)
        assert msg.type == aiohttp.WSMsgType.CLOSE
        assert msg.data == aiohttp.WSCloseCode.INTERNAL_ERROR
    assert "evcc /ws stream failed" in caplog.text
    caplog.clear()  # expected here; the autouse fixture fails on logged errors otherwise

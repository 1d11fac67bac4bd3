"""EvccApiServer life cycle: start/stop, taken port, restart, the route table itself."""

from __future__ import annotations

import errno
import re
import socket
from collections.abc import Callable

import aiohttp
import pytest
from aiohttp import web

from custom_components.evcc_ha.api.routes import ROUTES
from custom_components.evcc_ha.api.server import ApiServerError, EvccApiServer, PortInUseError

from .backend import HarnessBackend


async def test_taken_port_raises_a_clear_oserror(
    backend: HarnessBackend, start_server: Callable[..., EvccApiServer]
) -> None:
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        srv = start_server(backend, port=port)
        with pytest.raises(PortInUseError) as info:
            await srv.start()
    err = info.value
    assert isinstance(err, OSError) and isinstance(err, ApiServerError)
    assert err.errno == errno.EADDRINUSE
    assert f"127.0.0.1:{port}" in str(err) and "already in use" in str(err)
    assert not srv.running


async def test_two_servers_on_one_port(
    backend: HarnessBackend, start_server: Callable[..., EvccApiServer]
) -> None:
    first = start_server(backend)
    await first.start()
    try:
        second = start_server(backend, port=first.port)
        with pytest.raises(PortInUseError):
            await second.start()
    finally:
        await first.stop()


async def test_other_bind_errors_raise_api_server_error(
    backend: HarnessBackend,
    start_server: Callable[..., EvccApiServer],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def refuse(self: web.TCPSite) -> None:
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(web.TCPSite, "start", refuse)
    srv = start_server(backend, port=80)
    with pytest.raises(ApiServerError) as info:
        await srv.start()
    assert not isinstance(info.value, PortInUseError)
    assert info.value.errno == errno.EACCES
    assert str(info.value) == "[Errno 13] evcc API cannot listen on 127.0.0.1:80: Permission denied"
    assert not srv.running


async def test_stop_is_idempotent_and_restart_works(
    backend: HarnessBackend, start_server: Callable[..., EvccApiServer]
) -> None:
    srv = start_server(backend)
    await srv.stop()  # never started: nothing to do
    await srv.start()
    await srv.start()  # already running: nothing to do
    port = srv.port
    await srv.stop()
    await srv.stop()
    srv = start_server(backend, port=port)
    await srv.start()
    try:
        async with (
            aiohttp.ClientSession(f"http://127.0.0.1:{srv.port}") as client,
            client.get("/api/health") as response,
        ):
            assert response.status == 200
            async with client.ws_connect("/ws") as ws:
                assert (await ws.receive(timeout=2)).type == aiohttp.WSMsgType.TEXT
    finally:
        await srv.stop()


def test_default_address_is_evccs() -> None:
    srv = EvccApiServer(HarnessBackend.__new__(HarnessBackend))
    assert (srv.host, srv.port, srv.read_only) == ("0.0.0.0", 7070, False)


def test_route_table_is_consistent() -> None:
    seen: set[tuple[str, str]] = set()
    for route in ROUTES:
        key = (route.method, route.path)
        assert key not in seen, key
        seen.add(key)
        assert route.envelope in ("result", "bare", "text", "csv", "html", "ws")
        assert route.summary
        assert route.write == (route.method != "GET")
        for name, regex in re.findall(r"\{(\w+):([^}]+)\}", route.path):
            re.compile(regex)
            assert name in ("id", "name", "value", "time", "type")
        if route.path.startswith("/api/"):
            assert route.ha_path == "/api/evcc_ha/" + route.path[5:]
    assert ("GET", "/ws") in seen
    # every route of the seed document is in the table
    seed = [
        ("GET", "/api/state"), ("GET", "/api/health"), ("POST", "/api/buffersoc/"),
        ("POST", "/api/prioritysoc/"), ("POST", "/api/residualpower/"), ("GET", "/api/tariff/"),
        ("GET", "/api/sessions"), ("GET", "/api/telemetry"), ("POST", "/api/telemetry/"),
        ("POST", "/mode/"), ("POST", "/minsoc/"), ("POST", "/target/soc/"),
        ("POST", "/target/energy/"), ("POST", "/target/time/"), ("DELETE", "/target/time"),
        ("GET", "/target/plan"), ("POST", "/phases/"), ("POST", "/mincurrent/"),
        ("POST", "/maxcurrent/"), ("POST", "/enable/threshold/"), ("POST", "/disable/threshold/"),
    ]  # fmt: skip
    for method, fragment in seed:
        assert any(m == method and fragment in p for m, p in seen), (method, fragment)

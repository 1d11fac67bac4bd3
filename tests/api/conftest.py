"""Fixtures for the API tests: a harness backend, the evcc port on 127.0.0.1, an HTTP client."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Iterator

import aiohttp
import pytest

from custom_components.evcc_ha.api.server import EvccApiServer
from custom_components.evcc_ha.core.model import ChargerConfig, LoadpointConfig, VehicleConfig

from .backend import HarnessBackend, make_site

ID3 = VehicleConfig(title="ID.3", capacity_kwh=58.0)


@pytest.fixture(autouse=True)
def no_api_errors_logged(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """The routes answer unexpected exceptions with 400 and log them: in tests that is a bug."""
    caplog.set_level(logging.WARNING, logger="custom_components.evcc_ha.api")
    yield
    errors = [
        r
        for r in caplog.get_records("call")
        if r.name.startswith("custom_components.evcc_ha.api") and r.levelno >= logging.ERROR
    ]
    assert not errors, f"API logged errors: {[r.getMessage() for r in errors]}"


def garage(**charger: object) -> LoadpointConfig:
    return LoadpointConfig(title="Garage", charger=ChargerConfig(**charger), vehicle=ID3)  # type: ignore[arg-type]


@pytest.fixture
async def backend() -> HarnessBackend:
    """One loadpoint "Garage" (3p, 16 A) with vehicle "ID.3", home battery, vehicle connected."""
    b = HarnessBackend(make_site([garage()], battery=True))
    await b.cycle(status={0: "B"}, soc={0: 40.0})
    return b


@pytest.fixture
async def server(backend: HarnessBackend, socket_enabled: None) -> AsyncIterator[EvccApiServer]:
    srv = EvccApiServer(backend, host="127.0.0.1", port=0, ws_heartbeat=30.0)
    await srv.start()
    yield srv
    await srv.stop()


@pytest.fixture
async def client(server: EvccApiServer) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(base_url=f"http://127.0.0.1:{server.port}") as session:
        yield session


@pytest.fixture
def start_server(socket_enabled: None) -> Iterator[Callable[..., EvccApiServer]]:
    """Factory for extra servers (stopped by the test, or here when it forgets)."""
    servers: list[EvccApiServer] = []

    def factory(backend: HarnessBackend, **kwargs: object) -> EvccApiServer:
        options: dict[str, object] = {"host": "127.0.0.1", "port": 0, **kwargs}
        srv = EvccApiServer(backend, **options)  # type: ignore[arg-type]
        servers.append(srv)
        return srv

    yield factory
    for srv in servers:
        assert not srv.running, "stop the servers a test starts"

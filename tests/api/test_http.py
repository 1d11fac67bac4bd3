"""The Home Assistant views (`/api/evcc_ha/…`) on Home Assistant's own HTTP stack."""

from __future__ import annotations

import json

import pytest
from aiohttp import WSMsgType
from homeassistant.const import EVENT_HOMEASSISTANT_STOP
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.evcc_ha.api.http import DATA_API, async_register_views
from custom_components.evcc_ha.api.routes import ROUTES
from custom_components.evcc_ha.api.state import flatten_state
from custom_components.evcc_ha.core.model import Mode

from .backend import HarnessBackend, make_site
from .conftest import garage


@pytest.fixture
async def http(hass: HomeAssistant) -> None:
    assert await async_setup_component(hass, "http", {})


async def test_state_and_writes_through_home_assistant(
    hass: HomeAssistant, http: None, hass_client: ClientSessionGenerator, backend: HarnessBackend
) -> None:
    async_register_views(hass, lambda: backend)
    client = await hass_client()

    response = await client.get("/api/evcc_ha/state")
    assert response.status == 200
    assert response.content_type == "application/json"
    assert await response.json() == backend.state()

    response = await client.post("/api/evcc_ha/loadpoints/1/mode/pv")
    assert (response.status, await response.json()) == (200, "pv")
    assert backend.site.loadpoints[0].settings.mode == Mode.PV

    response = await client.post("/api/evcc_ha/loadpoints/1/target/soc/80")
    assert (response.status, await response.json()) == (200, {"result": 80})

    response = await client.get("/api/evcc_ha/state", params={"jq": ".loadpoints[0].limitSoc"})
    assert await response.json() == 80

    response = await client.get("/api/evcc_ha/health")
    assert (response.status, await response.text()) == (200, "OK\n")

    response = await client.post("/api/evcc_ha/vehicles/id_3/limitsoc/70")
    assert await response.json() == {"soc": 70}


async def test_errors_through_home_assistant(
    hass: HomeAssistant, http: None, hass_client: ClientSessionGenerator, backend: HarnessBackend
) -> None:
    async_register_views(hass, lambda: backend)
    client = await hass_client()

    response = await client.post("/api/evcc_ha/loadpoints/2/mode/pv")
    assert (response.status, await response.text()) == (404, "404 page not found\n")

    before = backend.site.to_dict()
    response = await client.post("/api/evcc_ha/loadpoints/1/mode/fast")
    assert (response.status, await response.json()) == (400, {"error": "invalid value: fast"})
    assert backend.site.to_dict() == before

    response = await client.get("/api/evcc_ha/loadpoints/1/mode/pv")
    assert response.status == 405

    response = await client.get("/api/evcc_ha/loadpoints/1/target/plan?targetTime=bad")
    assert (response.status, await response.read()) == (400, b"")


async def test_no_site_loaded_is_503_json(
    hass: HomeAssistant, http: None, hass_client: ClientSessionGenerator
) -> None:
    async_register_views(hass, lambda: None)
    client = await hass_client()
    for method, path in (("GET", "/api/evcc_ha/state"), ("POST", "/api/evcc_ha/buffersoc/50")):
        response = await client.request(method, path)
        assert response.status == 503
        assert response.content_type == "application/json"
        assert "error" in await response.json()


async def test_authentication_required(
    hass: HomeAssistant,
    http: None,
    hass_client_no_auth: ClientSessionGenerator,
    backend: HarnessBackend,
) -> None:
    async_register_views(hass, lambda: backend)
    client = await hass_client_no_auth()
    assert (await client.get("/api/evcc_ha/state")).status == 401
    assert (await client.post("/api/evcc_ha/loadpoints/1/mode/now")).status == 401
    assert backend.site.loadpoints[0].settings.mode == Mode.OFF


async def test_writes_need_an_admin(
    hass: HomeAssistant,
    http: None,
    hass_client: ClientSessionGenerator,
    hass_read_only_access_token: str,
    backend: HarnessBackend,
) -> None:
    async_register_views(hass, lambda: backend)
    client = await hass_client(hass_read_only_access_token)
    assert (await client.get("/api/evcc_ha/state")).status == 200
    assert (await client.post("/api/evcc_ha/loadpoints/1/mode/now")).status == 401
    assert backend.site.loadpoints[0].settings.mode == Mode.OFF


async def test_registered_once_backend_swapped(
    hass: HomeAssistant, http: None, hass_client: ClientSessionGenerator, backend: HarnessBackend
) -> None:
    async_register_views(hass, lambda: backend)
    views = len(hass.http.app.router.routes())
    other = HarnessBackend(make_site([garage()], title="Reloaded"))
    async_register_views(hass, lambda: other)  # an entry reload: no second registration
    assert len(hass.http.app.router.routes()) == views
    assert hass.data[DATA_API].get_backend() is other
    client = await hass_client()
    response = await client.get("/api/evcc_ha/state")
    assert (await response.json())["siteTitle"] == "Reloaded"
    paths = {route.resource.canonical for route in hass.http.app.router.routes() if route.resource}
    for route in ROUTES:
        if not route.evcc_port_only:
            plain = route.ha_path
            assert any(p.split("{")[0] == plain.split("{")[0] for p in paths), plain


async def test_websocket_through_home_assistant(
    hass: HomeAssistant, http: None, hass_client: ClientSessionGenerator, backend: HarnessBackend
) -> None:
    async_register_views(hass, lambda: backend)
    client = await hass_client()
    async with client.ws_connect("/api/evcc_ha/ws") as ws:
        welcome = json.loads((await ws.receive(timeout=2)).data)
        assert welcome == flatten_state(backend.state())
        await backend.async_set_loadpoint(0, "mode", "minpv")
        assert json.loads((await ws.receive(timeout=2)).data) == {"loadpoints.0.mode": "minpv"}
        # the site is reloaded: the socket closes so the client reconnects to the new one
        other = HarnessBackend(make_site([garage()], title="Reloaded"))
        async_register_views(hass, lambda: other)
        backend.publish()
        while (msg := await ws.receive(timeout=2)).type == WSMsgType.TEXT:
            pass  # the rest of the last delta
        assert msg.type == WSMsgType.CLOSE
    async with client.ws_connect("/api/evcc_ha/ws") as ws:
        welcome = json.loads((await ws.receive(timeout=2)).data)
        assert welcome["siteTitle"] == "Reloaded"
        hass.bus.async_fire(EVENT_HOMEASSISTANT_STOP)
        msg = await ws.receive(timeout=5)
        assert msg.type == WSMsgType.CLOSE
    assert other.listeners == 0

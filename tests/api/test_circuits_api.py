"""Load management on the evcc port: `circuits` in `/api/state` and `/ws`, and a mode change
through REST that the circuit holds under its fuse (the real controller and server)."""

from __future__ import annotations

from collections.abc import Callable

import aiohttp

from custom_components.evcc_ha.api.server import EvccApiServer
from custom_components.evcc_ha.core.model import CircuitConfig, LoadpointConfig, SiteConfig
from custom_components.evcc_ha.core.site import Site

from .backend import HarnessBackend


async def test_the_fuse_holds_a_fast_charge_asked_for_over_rest(
    start_server: Callable[..., EvccApiServer],
) -> None:
    site = Site(
        SiteConfig(circuits=(CircuitConfig(name="main", title="Main fuse", max_current=10.0),)),
        [LoadpointConfig(title="Garage", circuit="main")],
    )
    backend = HarnessBackend(site)
    await backend.cycle(status={0: "B"})
    server = start_server(backend)
    await server.start()
    try:
        async with aiohttp.ClientSession(base_url=f"http://127.0.0.1:{server.port}") as http:
            async with http.post("/api/loadpoints/1/mode/now") as response:
                assert response.status == 200
            await backend.cycle()
            await backend.cycle(status={0: "C"})  # the circuit measures what the car draws
            async with http.get("/api/state") as response:
                state = await response.json()
            async with http.ws_connect("/ws") as ws:
                welcome = await ws.receive_json(timeout=5)
    finally:
        await server.stop()
    assert state["loadpoints"][0]["offeredCurrent"] == 10
    assert backend.chargers[0].offered == 10.0  # what the charger was told
    assert state["circuits"] == {
        "main": {"title": "Main fuse", "power": 6900, "current": 10, "maxCurrent": 10,
                 "dimmed": False},
    }  # fmt: skip
    assert welcome["circuits"] == state["circuits"]

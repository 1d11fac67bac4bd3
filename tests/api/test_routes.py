"""Route by route against the evcc port on 127.0.0.1 (EvccApiServer, real sockets)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import aiohttp
import pytest

from custom_components.evcc_ha.api.server import EvccApiServer
from custom_components.evcc_ha.core.model import (
    ChargerConfig,
    LoadpointConfig,
    Mode,
    VehicleConfig,
)
from custom_components.evcc_ha.core.settings import LoadpointSettings
from custom_components.evcc_ha.core.tariff import Rate, RatesTariff

from .backend import T0, HarnessBackend, make_site
from .conftest import garage

JSON = "application/json"
NOT_FOUND = "404 page not found\n"


@asynccontextmanager
async def serving(
    start_server: Callable[..., EvccApiServer], backend: HarnessBackend
) -> AsyncIterator[aiohttp.ClientSession]:
    """An extra evcc port for `backend` and a client of it (stopped afterwards)."""
    srv = start_server(backend)
    await srv.start()
    try:
        async with aiohttp.ClientSession(f"http://127.0.0.1:{srv.port}") as client:
            yield client
    finally:
        await srv.stop()


async def fetch(
    client: aiohttp.ClientSession, method: str, path: str, **kwargs: Any
) -> tuple[int, str, Any]:
    """(status, content type, body as JSON when it is JSON else text)."""
    async with client.request(method, path, **kwargs) as response:
        text = await response.text()
        ctype = response.content_type
        body: Any = text
        if ctype == JSON:
            body = await response.json()
        return response.status, ctype, body


async def state(client: aiohttp.ClientSession) -> dict[str, Any]:
    status, ctype, body = await fetch(client, "GET", "/api/state")
    assert status == 200 and ctype == JSON
    assert isinstance(body, dict)
    return body


def lp_of(doc: dict[str, Any]) -> dict[str, Any]:
    lp: dict[str, Any] = doc["loadpoints"][0]
    return lp


# --- every route of the seed document ------------------------------------------------------------

SEED_WRITES = [
    # (method, path, body, where the state shows it: (loadpoint?, key, value))
    ("POST", "/api/buffersoc/50", 50, (False, "bufferSoc", 50)),
    ("POST", "/api/prioritysoc/30", 30, (False, "prioritySoc", 30)),
    ("POST", "/api/residualpower/-690", -690, (False, "residualPower", -690)),
    ("POST", "/api/telemetry/true", {"result": True}, (False, "telemetry", True)),
    ("POST", "/api/loadpoints/1/mode/pv", "pv", (True, "mode", "pv")),
    (
        "POST",
        "/api/loadpoints/1/controlprofile/smooth",
        "smooth",
        (True, "controlProfile", "smooth"),
    ),
    ("POST", "/api/loadpoints/1/minsoc/20", {"result": 20}, (True, "minSoc", 20)),
    ("POST", "/api/loadpoints/1/target/soc/80", {"result": 80}, (True, "targetSoc", 80)),
    (
        "POST",
        "/api/loadpoints/1/target/energy/12.5",
        {"result": 12.5},
        (True, "targetEnergy", 12.5),
    ),
    (
        "POST",
        "/api/loadpoints/1/target/time/2026-06-22T07:00:00Z",
        {"result": {"soc": 100, "energy": 0, "time": "2026-06-22T07:00:00Z"}},
        (True, "targetTime", "2026-06-22T07:00:00Z"),
    ),
    ("POST", "/api/loadpoints/1/phases/3", 3, (True, "phasesConfigured", 3)),
    ("POST", "/api/loadpoints/1/mincurrent/8", 8, (True, "minCurrent", 8)),
    ("POST", "/api/loadpoints/1/maxcurrent/14", 14, (True, "maxCurrent", 14)),
    ("POST", "/api/loadpoints/1/enable/threshold/-500", -500, (True, "enableThreshold", -500)),
    ("POST", "/api/loadpoints/1/disable/threshold/200.5", 200.5, (True, "disableThreshold", 200.5)),
]


@pytest.mark.parametrize(("method", "path", "expected", "shown"), SEED_WRITES)
async def test_seed_write_routes(
    client: aiohttp.ClientSession,
    method: str,
    path: str,
    expected: object,
    shown: tuple[bool, str, object],
) -> None:
    status, ctype, body = await fetch(client, method, path)
    assert (status, ctype, body) == (200, JSON, expected)
    doc = await state(client)  # the next /api/state shows the new value at once
    in_lp, key, value = shown
    assert (lp_of(doc) if in_lp else doc)[key] == value


async def test_seed_read_routes(client: aiohttp.ClientSession) -> None:
    assert await fetch(client, "GET", "/api/health") == (200, "text/plain", "OK\n")
    assert await fetch(client, "GET", "/api/sessions") == (200, JSON, [])
    assert await fetch(client, "GET", "/api/telemetry") == (200, JSON, {"result": False})
    assert await fetch(client, "GET", "/api/loadpoints/1/target/plan") == (
        200,
        JSON,
        {"result": {"duration": 0, "plan": None, "unit": "", "power": 11040}},
    )
    status, ctype, doc = await fetch(client, "GET", "/api/state")
    assert (status, ctype) == (200, JSON)
    assert doc["siteTitle"] == "Home" and "result" not in doc


async def test_delete_target_time(client: aiohttp.ClientSession) -> None:
    await fetch(client, "POST", "/api/loadpoints/1/target/time/2026-06-22T07:00:00Z")
    assert await fetch(client, "DELETE", "/api/loadpoints/1/target/time") == (
        200,
        JSON,
        {"result": {}},
    )
    lp = lp_of(await state(client))
    assert lp["targetTime"] is None and lp["planTime"] is None


async def test_curl_example_from_the_seed_document(server: EvccApiServer) -> None:
    """`curl -X POST http://evcc:7070/api/loadpoints/1/mode/pv` (the seed's example)."""
    import asyncio
    import shutil

    curl = shutil.which("curl")
    if curl is None:
        pytest.skip("curl not installed")
    proc = await asyncio.create_subprocess_exec(
        curl, "-sS", "-i", "-X", "POST", f"http://127.0.0.1:{server.port}/api/loadpoints/1/mode/pv",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await proc.communicate()
    assert proc.returncode == 0, err
    head, _, body = out.decode().partition("\r\n\r\n")
    assert head.startswith("HTTP/1.1 200")
    assert "Content-Type: application/json" in head
    assert body == '"pv"'
    assert server.backend.site.loadpoints[0].settings.mode == Mode.PV


# --- current evcc's names: aliases onto the same settings ----------------------------------------


async def test_limitsoc_and_target_soc_are_one_setting(client: aiohttp.ClientSession) -> None:
    assert await fetch(client, "POST", "/api/loadpoints/1/limitsoc/75") == (200, JSON, 75)
    lp = lp_of(await state(client))
    assert lp["limitSoc"] == lp["targetSoc"] == lp["effectiveLimitSoc"] == 75
    await fetch(client, "POST", "/api/loadpoints/1/target/soc/85")
    assert lp_of(await state(client))["limitSoc"] == 85


async def test_limitenergy_and_target_energy_are_one_setting(client: aiohttp.ClientSession) -> None:
    assert await fetch(client, "POST", "/api/loadpoints/1/limitenergy/7.5") == (200, JSON, 7.5)
    lp = lp_of(await state(client))
    assert lp["limitEnergy"] == lp["targetEnergy"] == 7.5


async def test_energy_plan(client: aiohttp.ClientSession, backend: HarnessBackend) -> None:
    status, _, body = await fetch(
        client, "POST", "/api/loadpoints/1/plan/energy/10/2026-06-22T07:00:00.000Z"
    )
    assert (status, body) == (200, {"energy": 10, "time": "2026-06-22T07:00:00Z"})
    lp = lp_of(await state(client))
    assert lp["planEnergy"] == 10 and lp["planTime"] == "2026-06-22T07:00:00Z"
    assert lp["targetTime"] == "2026-06-22T07:00:00Z"
    assert await fetch(client, "DELETE", "/api/loadpoints/1/plan/energy") == (200, JSON, {})
    lp = lp_of(await state(client))
    assert lp["planEnergy"] == 0 and lp["planTime"] is None


@pytest.mark.parametrize(
    ("path", "key", "value"),
    [
        ("/api/loadpoints/1/enable/delay/90", "enableDelay", 90),
        ("/api/loadpoints/1/disable/delay/300", "disableDelay", 300),
        ("/api/loadpoints/1/priority/2", "priority", 2),
    ],
)
async def test_current_loadpoint_aliases(
    client: aiohttp.ClientSession, path: str, key: str, value: int
) -> None:
    assert await fetch(client, "POST", path) == (200, JSON, value)
    assert lp_of(await state(client))[key] == value


async def test_bufferstartsoc(client: aiohttp.ClientSession) -> None:
    assert await fetch(client, "POST", "/api/bufferstartsoc/90") == (200, JSON, 90)
    assert (await state(client))["bufferStartSoc"] == 90


async def test_settings_telemetry_real_path(client: aiohttp.ClientSession) -> None:
    assert await fetch(client, "GET", "/api/settings/telemetry") == (200, JSON, {"result": False})
    assert await fetch(client, "POST", "/api/settings/telemetry/1") == (200, JSON, True)
    assert await fetch(client, "GET", "/api/telemetry") == (200, JSON, {"result": True})
    assert await fetch(client, "POST", "/api/settings/telemetry/false") == (200, JSON, False)
    assert (await state(client))["telemetry"] is False
    status, _, body = await fetch(client, "POST", "/api/telemetry/maybe")
    assert (status, body) == (400, {"error": "invalid telemetry: 'maybe'"})
    # Go's strconv.ParseBool, as evcc: no yes/no, on/off
    for word in ("yes", "on", "no", "off"):
        status, _, body = await fetch(client, "POST", f"/api/telemetry/{word}")
        assert (status, body) == (400, {"error": f"invalid telemetry: '{word}'"})
    assert (await state(client))["telemetry"] is False
    assert await fetch(client, "POST", "/api/telemetry/t") == (200, JSON, {"result": True})


@pytest.mark.parametrize("name", ["id_3", "ID.3", "id.3"])
async def test_vehicle_routes_by_name_or_title(client: aiohttp.ClientSession, name: str) -> None:
    assert await fetch(client, "POST", f"/api/vehicles/{name}/minsoc/25") == (
        200,
        JSON,
        {"soc": 25},
    )
    assert await fetch(client, "POST", f"/api/vehicles/{name}/limitsoc/90") == (
        200,
        JSON,
        {"soc": 90},
    )
    doc = await state(client)
    assert doc["vehicles"]["id_3"]["minSoc"] == 25 and doc["vehicles"]["id_3"]["limitSoc"] == 90
    assert lp_of(doc)["minSoc"] == 25 and lp_of(doc)["limitSoc"] == 90


async def test_vehicle_plan(client: aiohttp.ClientSession) -> None:
    status, _, body = await fetch(
        client, "POST", "/api/vehicles/id_3/plan/soc/80/2026-06-22T09:00:00+02:00?precondition=600"
    )
    assert (status, body) == (200, {"soc": 80, "time": "2026-06-22T09:00:00+02:00"})
    doc = await state(client)
    assert doc["vehicles"]["id_3"]["plan"] == {"soc": 80, "time": "2026-06-22T09:00:00+02:00"}
    lp = lp_of(doc)
    assert lp["planSoc"] == lp["effectivePlanSoc"] == 80
    assert lp["effectivePlanTime"] == "2026-06-22T09:00:00+02:00"
    status, _, plan = await fetch(client, "GET", "/api/loadpoints/1/plan")
    assert status == 200
    assert plan["planId"] == 1 and plan["planTime"] == "2026-06-22T09:00:00+02:00"
    assert plan["duration"] > 0 and plan["power"] == 11040
    assert plan["plan"][-1]["end"] == "2026-06-22T07:00:00Z"  # late start, no tariff
    assert await fetch(client, "DELETE", "/api/vehicles/id_3/plan/soc") == (200, JSON, {})
    doc = await state(client)
    assert "plan" not in doc["vehicles"]["id_3"] and lp_of(doc)["planTime"] is None


async def test_static_plan_preview_is_the_plan_it_would_be(
    client: aiohttp.ClientSession, backend: HarnessBackend
) -> None:
    """evcc's plan/static/preview: the plan a goal would get, without setting it; once set,
    GET /plan shows the same."""
    before = backend.site.to_dict()
    path = "/api/loadpoints/1/plan/static/preview/soc/80/2026-06-22T09:00:00+02:00"
    status, _, preview = await fetch(client, "GET", path)
    assert status == 200 and preview["planTime"] == "2026-06-22T09:00:00+02:00"
    assert preview["duration"] > 0 and preview["power"] == 11040 and preview["plan"]
    assert backend.site.to_dict() == before  # a preview changes nothing
    await fetch(client, "POST", "/api/vehicles/id_3/plan/soc/80/2026-06-22T09:00:00+02:00")
    status, _, plan = await fetch(client, "GET", "/api/loadpoints/1/plan")
    assert {k: plan[k] for k in preview} == preview


@pytest.mark.parametrize(
    ("path", "status", "message"),
    [
        ("energy/10/2026-06-22T07:00:00Z", 400, "energy planning not available for vehicles with known soc and capacity"),
        ("soc/150/2026-06-22T07:00:00Z", 400, "soc must be between 0 and 100: 150"),
        ("soc/1.2.3/2026-06-22T07:00:00Z", 400, "invalid soc: '1.2.3'"),
        ("soc/80/2026-13-40T07:00:00Z", 400, None),
        ("soc/80/tomorrow", 404, None),
        ("kwh/80/2026-06-22T07:00:00Z", 404, None),
    ],
)  # fmt: skip
async def test_static_plan_preview_refuses(
    client: aiohttp.ClientSession, path: str, status: int, message: str | None
) -> None:
    got, _, body = await fetch(client, "GET", "/api/loadpoints/1/plan/static/preview/" + path)
    assert got == status
    if message is not None:
        assert body == {"error": message}


async def test_static_plan_preview_of_energy_for_a_guest_car(
    start_server: Callable[..., EvccApiServer],
) -> None:
    backend = HarnessBackend(make_site([LoadpointConfig(title="Carport")]))
    await backend.cycle(status={0: "B"})
    async with serving(start_server, backend) as client:
        base = "/api/loadpoints/1/plan/static/preview"
        status, _, preview = await fetch(client, "GET", f"{base}/energy/11.04/2026-06-22T07:00:00Z")
        assert status == 200 and preview["duration"] == 3600  # 11.04 kWh at 11.04 kW
        status, _, body = await fetch(client, "GET", f"{base}/soc/80/2026-06-22T07:00:00Z")
        assert (status, body) == (
            400,
            {"error": "soc planning only available for vehicles with known soc and capacity"},
        )


async def test_unknown_vehicle_is_404(client: aiohttp.ClientSession) -> None:
    status, ctype, body = await fetch(client, "POST", "/api/vehicles/tesla/minsoc/20")
    assert (status, ctype, body) == (404, JSON, {"error": "vehicle not found: tesla"})


async def test_vehicle_name_with_colon_and_spaces(
    start_server: Callable[..., EvccApiServer],
) -> None:
    site = make_site([LoadpointConfig(title="A", vehicle=VehicleConfig(title="My Car"))])
    srv = start_server(HarnessBackend(site))
    await srv.start()
    try:
        async with aiohttp.ClientSession(f"http://127.0.0.1:{srv.port}") as client:
            assert (await fetch(client, "POST", "/api/vehicles/my_car/minsoc/10"))[0] == 200
            assert (await fetch(client, "POST", "/api/vehicles/My%20Car/minsoc/15"))[0] == 200
            assert (await fetch(client, "POST", "/api/vehicles/db:12/minsoc/15"))[0] == 404
    finally:
        await srv.stop()
    assert site.loadpoints[0].settings.min_soc == 15


# --- errors: 404, 400 (nothing changes), 405 -----------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/api/loadpoints/2/mode/pv"),  # only one loadpoint (vector 32)
        ("POST", "/api/loadpoints/0/mode/pv"),
        ("POST", "/api/loadpoints/01/mode/pv"),
        ("POST", "/api/loadpoints/99999999999999999999/mode/pv"),
        ("POST", "/api/loadpoints/1/mode/PV"),  # regex (vector 31)
        ("POST", "/api/loadpoints/1/minsoc/-5"),
        ("POST", "/api/loadpoints/1/target/time/tomorrow"),
        ("POST", "/api/loadpoints/1/mode"),
        ("GET", "/api/nothing"),
        ("GET", "/api/loadpoints/2/target/plan"),
        ("DELETE", "/api/loadpoints/3/target/time"),
    ],
)
async def test_unknown_path_or_loadpoint_is_404_text(
    client: aiohttp.ClientSession, method: str, path: str
) -> None:
    assert await fetch(client, method, path) == (404, "text/plain", NOT_FOUND)


BAD_VALUES = [
    ("/api/loadpoints/1/mode/fast", "invalid value: fast"),  # vector 31
    ("/api/loadpoints/1/controlprofile/jerky", "invalid value: jerky"),
    (
        "/api/loadpoints/1/minsoc/150",
        "minSoc must be between 0 and 100: 150",
    ),  # vector 36 (see README)
    ("/api/loadpoints/1/target/soc/101", "limitSoc must be between 0 and 100: 101"),
    ("/api/loadpoints/1/target/energy/1.2.3", "invalid limitEnergy: '1.2.3'"),
    ("/api/loadpoints/1/target/time/2020-01-01T00:00:00Z", "timestamp is in the past"),  # vector 33
    (
        "/api/loadpoints/1/target/time/2026-13-01T00:00:00Z",
        "parsing time '2026-13-01T00:00:00Z': not RFC3339",
    ),
    (
        "/api/loadpoints/1/target/time/9999-12-31T23:59:59-12:00",
        "parsing time '9999-12-31T23:59:59-12:00': out of range",
    ),
    ("/api/loadpoints/1/phases/2", "invalid number of phases: 2"),  # vector 17
    ("/api/loadpoints/1/phases/0", "charger does not support phase switching"),
    ("/api/loadpoints/1/mincurrent/20", "min current must be smaller or equal than max current"),
    ("/api/loadpoints/1/mincurrent/0", "min current must be at least 6 A: 0"),
    ("/api/loadpoints/1/mincurrent/0.000001", "min current must be at least 6 A: 1e-06"),
    ("/api/loadpoints/1/maxcurrent/4", "max current must be at least 6 A: 4"),
    (
        "/api/loadpoints/1/maxcurrent/40",
        "max current must not exceed the charger's maximum of 32 A",
    ),
    ("/api/loadpoints/1/enable/threshold/-1.2.3", "invalid enableThreshold: '-1.2.3'"),
    ("/api/loadpoints/1/priority/1.5", "invalid priority: '1.5' is not a whole number"),
    ("/api/loadpoints/1/limitsoc/80.5", "invalid limitSoc: '80.5' is not a whole number"),
    ("/api/loadpoints/1/plan/energy/5/2020-01-01T00:00:00Z", "timestamp is in the past"),
    ("/api/loadpoints/1/plan/energy/1..2/2030-01-01T00:00:00Z", "invalid planEnergy: '1..2'"),
    (
        "/api/vehicles/id_3/plan/soc/120/2030-01-01T00:00:00Z",
        "planSoc must be between 0 and 100: 120",
    ),
    ("/api/vehicles/id_3/plan/soc/80/2020-01-01T00:00:00Z", "timestamp is in the past"),
    ("/api/buffersoc/101", "bufferSoc must be between 0 and 100: 101"),
    ("/api/residualpower/1.2.3", "invalid residualPower: '1.2.3'"),
]


@pytest.mark.parametrize(("path", "message"), BAD_VALUES)
async def test_bad_value_is_400_json_and_changes_nothing(
    client: aiohttp.ClientSession, backend: HarnessBackend, path: str, message: str
) -> None:
    before = backend.site.to_dict()
    doc_before = await state(client)
    assert await fetch(client, "POST", path) == (400, JSON, {"error": message})
    assert backend.site.to_dict() == before
    assert await state(client) == doc_before


async def test_site_plausibility_errors(client: aiohttp.ClientSession) -> None:
    await fetch(client, "POST", "/api/buffersoc/50")
    assert await fetch(client, "POST", "/api/prioritysoc/60") == (
        400,
        JSON,
        {"error": "priority soc must not be larger than buffer soc"},
    )


async def test_battery_not_configured(start_server: Callable[..., EvccApiServer]) -> None:
    """Vector 34."""
    srv = start_server(HarnessBackend(make_site([garage()])))
    await srv.start()
    try:
        async with aiohttp.ClientSession(f"http://127.0.0.1:{srv.port}") as client:
            assert await fetch(client, "POST", "/api/buffersoc/50") == (
                400,
                JSON,
                {"error": "battery not configured"},
            )
    finally:
        await srv.stop()


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/loadpoints/1/mode/pv"),  # vector 31
        ("PUT", "/api/loadpoints/1/mode/pv"),
        ("POST", "/api/state"),
        ("DELETE", "/api/health"),
        ("POST", "/api/loadpoints/1/target/time"),
        ("GET", "/api/loadpoints/1/plan/energy"),
        ("POST", "/api/sessions"),
        ("PATCH", "/api/vehicles/id_3/plan/soc"),
    ],
)
async def test_wrong_method_is_405_empty(
    client: aiohttp.ClientSession, backend: HarnessBackend, method: str, path: str
) -> None:
    before = backend.site.to_dict()
    async with client.request(method, path) as response:
        assert response.status == 405
        assert await response.read() == b""
    assert backend.site.to_dict() == before


async def test_request_bodies_are_ignored(client: aiohttp.ClientSession) -> None:
    """ioBroker's axios sends `{"timeout": 5000}` as the body of its writes."""
    status, _, body = await fetch(
        client, "POST", "/api/loadpoints/1/mode/now", json={"timeout": 5000}
    )
    assert (status, body) == (200, "now")
    status, _, body = await fetch(
        client, "POST", "/api/loadpoints/1/maxcurrent/10", data=b"\xff\x00garbage"
    )
    assert (status, body) == (200, 10)


async def test_read_only_port_refuses_every_write(
    backend: HarnessBackend, start_server: Callable[..., EvccApiServer]
) -> None:
    srv = start_server(backend, read_only=True)
    await srv.start()
    before = backend.site.to_dict()
    try:
        async with aiohttp.ClientSession(f"http://127.0.0.1:{srv.port}") as client:
            for method, path, *_ in SEED_WRITES:
                status, ctype, body = await fetch(client, method, path)
                assert (status, ctype) == (403, JSON), path
                assert "read-only" in body["error"]
            assert (await fetch(client, "DELETE", "/api/loadpoints/1/target/time"))[0] == 403
            assert (await fetch(client, "POST", "/api/vehicles/id_3/minsoc/5"))[0] == 403
            assert (await fetch(client, "GET", "/api/state"))[0] == 200
            assert (await fetch(client, "GET", "/api/health"))[0] == 200
    finally:
        await srv.stop()
    assert backend.site.to_dict() == before


# --- a setting reaches the charger at once -------------------------------------------------------


async def test_setting_is_sent_to_the_charger_at_once(
    client: aiohttp.ClientSession, backend: HarnessBackend
) -> None:
    charger = backend.chargers[0]
    assert not charger.enabled
    assert await fetch(client, "POST", "/api/loadpoints/1/mode/now") == (200, JSON, "now")
    assert charger.enabled and charger.offered == 16  # before the next cycle
    assert lp_of(await state(client))["enabled"] is True
    assert await fetch(client, "POST", "/api/loadpoints/1/maxcurrent/10") == (200, JSON, 10)
    assert charger.offered == 10
    assert lp_of(await state(client))["offeredCurrent"] == 10
    assert await fetch(client, "POST", "/api/loadpoints/1/mode/off") == (200, JSON, "off")
    assert not charger.enabled


# --- /api/state?jq= ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (".siteTitle", "Home"),
        (".result.siteTitle", "Home"),  # old clients wrote .result…
        (".result", None),  # → the whole document (checked below)
        (".loadpoints[0].vehicleTitle", "ID.3"),
        (".result.loadpoints[0].mode", "off"),
        ("{title: .siteTitle, n: (.loadpoints | length)}", {"title": "Home", "n": 1}),
        (".loadpoints | map(select(.connected)) | map(.title)", ["Garage"]),
        (".missing // 42", 42),
        ("empty", None),
        (".version", "0.207.0"),
        (".results", None),  # not the old envelope: nothing stripped
    ],
)
async def test_jq(client: aiohttp.ClientSession, query: str, expected: object) -> None:
    status, ctype, body = await fetch(client, "GET", "/api/state", params={"jq": query})
    assert (status, ctype) == (200, JSON)
    if query == ".result":
        assert body == await state(client)
    else:
        assert body == expected


@pytest.mark.parametrize(
    "query", [".foo[", '.siteTitle | error("boom")', ".siteTitle.x", "x" * 5000]
)
async def test_jq_error_is_400_json(client: aiohttp.ClientSession, query: str) -> None:
    status, ctype, body = await fetch(client, "GET", "/api/state", params={"jq": query})
    assert (status, ctype) == (400, JSON)
    assert isinstance(body["error"], str) and body["error"]


# --- health, tariffs, plan -----------------------------------------------------------------------


async def test_health_follows_the_cycle(
    client: aiohttp.ClientSession, backend: HarnessBackend
) -> None:
    """Vector 37: 20 s after a good cycle (interval 30 s) healthy, 95 s after not."""
    backend.clock.advance(20)
    assert await fetch(client, "GET", "/api/health") == (200, "text/plain", "OK\n")
    backend.clock.advance(75)
    async with client.get("/api/health") as response:
        assert response.status == 500
        assert await response.read() == b""


TZ2 = timedelta(hours=2)


async def tariff_backend() -> HarnessBackend:
    hour = timedelta(hours=1)
    grid = RatesTariff(
        [Rate(T0 + i * hour, T0 + (i + 1) * hour, p) for i, p in enumerate([0.3, 0.2, 0.1, 0.25])]
    )
    feedin = RatesTariff([Rate(T0, T0 + 4 * hour, 0.08)])
    site = make_site([garage()], tariffs={"grid": grid, "feedin": feedin})
    b = HarnessBackend(site)
    await b.cycle(status={0: "B"}, soc={0: 70.0}, after=0)
    return b


async def test_tariffs(start_server: Callable[..., EvccApiServer]) -> None:
    srv = start_server(await tariff_backend())
    await srv.start()
    try:
        async with aiohttp.ClientSession(f"http://127.0.0.1:{srv.port}") as client:
            status, ctype, body = await fetch(client, "GET", "/api/tariff/grid")
            assert (status, ctype) == (200, JSON)
            assert body["rates"][0] == {
                "start": "2026-06-21T10:00:00Z",
                "end": "2026-06-21T11:00:00Z",
                "price": 0.3,
                "value": 0.3,  # current evcc's name, next to the old one
            }
            assert [r["price"] for r in body["rates"]] == [0.3, 0.2, 0.1, 0.25]
            status, _, body = await fetch(client, "GET", "/api/tariff/planner")
            assert status == 200 and len(body["rates"]) == 4  # the grid tariff plans
            status, _, body = await fetch(client, "GET", "/api/tariff/feedin")
            assert status == 200 and body["rates"][0]["value"] == 0.08
            for kind in ("co2", "solar"):  # vector 35
                assert await fetch(client, "GET", f"/api/tariff/{kind}") == (
                    404,
                    JSON,
                    {"error": "tariff not available"},
                )
            assert (await fetch(client, "GET", "/api/tariff/Grid"))[0] == 404
    finally:
        await srv.stop()


async def test_tariff_not_configured(client: aiohttp.ClientSession) -> None:
    for kind in ("grid", "feedin", "planner"):
        assert await fetch(client, "GET", f"/api/tariff/{kind}") == (
            404,
            JSON,
            {"error": "tariff not available"},
        )


async def test_target_plan_empty_time_means_the_set_one(client: aiohttp.ClientSession) -> None:
    status, _, body = await fetch(client, "GET", "/api/loadpoints/1/target/plan?targetTime=")
    assert (status, body["result"]["duration"], body["result"]["plan"]) == (200, 0, None)


async def test_target_plan_with_tariff(start_server: Callable[..., EvccApiServer]) -> None:
    backend = await tariff_backend()
    backend.site.loadpoints[0].settings.limit_soc = 80
    srv = start_server(backend)
    await srv.start()
    try:
        async with aiohttp.ClientSession(f"http://127.0.0.1:{srv.port}") as client:
            status, _, body = await fetch(
                client,
                "GET",
                "/api/loadpoints/1/target/plan",
                params={"targetTime": "2026-06-21T14:00:00Z"},
            )
            assert status == 200
            result = body["result"]
            assert result["unit"] == "" and result["power"] == 11040
            # 58 kWh, 70 → 80 % at 11.04 kW: well under one hour, in the cheapest slot (0.1)
            assert 0 < result["duration"] < 3600
            assert [slot["price"] for slot in result["plan"]] == [0.1]
            assert result["plan"][0]["start"] == "2026-06-21T12:00:00Z"
            # a `+` offset arrives as a blank in a query string: accepted
            status, _, body2 = await fetch(
                client, "GET", "/api/loadpoints/1/target/plan?targetTime=2026-06-21T16:00:00+02:00"
            )
            assert status == 200 and body2 == body
    finally:
        await srv.stop()


@pytest.mark.parametrize(
    "value", ["bad", "2026-06-21", "2026-06-21T14:00:00", "0001-01-01T00:00:00Z"]
)
async def test_target_plan_bad_time_is_400_empty(client: aiohttp.ClientSession, value: str) -> None:
    """Vector 27."""
    async with client.get(
        "/api/loadpoints/1/target/plan", params={"targetTime": value}
    ) as response:
        assert response.status == 400
        assert await response.read() == b""


async def test_target_plan_offline_vehicle_energy(
    start_server: Callable[..., EvccApiServer],
) -> None:
    """Vector 25: 10 kWh at 3p 16 A (11040 W) → 3260 s."""
    lp = LoadpointConfig(
        title="Garage",
        charger=ChargerConfig(),
        vehicle=VehicleConfig(title="Old", has_soc=False),
    )
    backend = HarnessBackend(make_site([lp], settings=[LoadpointSettings(limit_energy=10.0)]))
    await backend.cycle(status={0: "B"})
    srv = start_server(backend)
    await srv.start()
    try:
        async with aiohttp.ClientSession(f"http://127.0.0.1:{srv.port}") as client:
            status, _, body = await fetch(
                client, "GET", "/api/loadpoints/1/target/plan?targetTime=2026-06-22T07:00:00Z"
            )
            assert status == 200
            assert body["result"]["duration"] == 3260
            assert body["result"]["plan"] == [
                {"start": "2026-06-22T06:05:39.130435Z", "end": "2026-06-22T07:00:00Z", "price": 0}
            ]
            # the preview did not set a plan
            assert backend.site.loadpoints[0].settings.plan_time is None
    finally:
        await srv.stop()


# --- everything JSON is application/json ---------------------------------------------------------


async def test_cors_and_options(client: aiohttp.ClientSession) -> None:
    async with client.options("/api/loadpoints/1/mode/pv") as response:
        assert response.status == 204
        assert response.headers["Access-Control-Allow-Origin"] == "*"
        assert "POST" in response.headers["Access-Control-Allow-Methods"]
    async with client.get("/api/state") as response:
        assert response.headers["Access-Control-Allow-Origin"] == "*"


async def test_root_page_is_evcc_app_compatible(client: aiohttp.ClientSession) -> None:
    status, ctype, body = await fetch(client, "GET", "/")
    assert (status, ctype) == (200, "text/html")
    assert "evcc-app-compatible" in body


async def test_plan_is_one_change(client: aiohttp.ClientSession, backend: HarnessBackend) -> None:
    """Energy and time of a plan are validated and stored together: one call, one new state
    document; a bad time stores nothing of the plan."""
    published: list[dict[str, Any]] = []
    backend.subscribe(published.append)
    path = "/api/loadpoints/1/plan/energy/5/2026-06-21T09:00:00Z"  # an hour before the clock
    assert await fetch(client, "POST", path) == (400, JSON, {"error": "timestamp is in the past"})
    settings = backend.site.loadpoints[0].settings
    assert (settings.plan_energy, settings.plan_time) == (0.0, None)
    assert published == []
    assert backend.set_calls[-1] == ("lp0", "plan", ("2026-06-21T09:00:00Z", None, "5"))
    status, _, body = await fetch(
        client, "POST", "/api/loadpoints/1/plan/energy/5/2026-06-21T18:00:00Z"
    )
    assert status == 200 and body == {"energy": 5, "time": "2026-06-21T18:00:00Z"}
    assert len(published) == 1
    assert published[0]["loadpoints"][0]["planEnergy"] == 5
    assert published[0]["loadpoints"][0]["planTime"] == "2026-06-21T18:00:00Z"


async def test_smart_cost_limit_routes(start_server: Callable[..., EvccApiServer]) -> None:
    backend = await tariff_backend()  # prices 0.3, 0.2, 0.1, 0.25 from 10:00 UTC
    srv = start_server(backend)
    await srv.start()
    try:
        async with aiohttp.ClientSession(f"http://127.0.0.1:{srv.port}") as client:
            assert await fetch(client, "POST", "/api/loadpoints/1/smartcostlimit/0.2") == (
                200,
                JSON,
                0.2,
            )
            await backend.cycle(status={0: "B"}, soc={0: 70.0})
            lp = lp_of(await state(client))
            assert lp["smartCostLimit"] == 0.2 and lp["smartCostActive"] is False
            assert lp["smartCostNextStart"] == "2026-06-21T11:00:00Z"
            assert await fetch(client, "POST", "/api/loadpoints/1/smartcostlimit/0.3") == (
                200,
                JSON,
                0.3,
            )
            await backend.cycle(status={0: "B"}, soc={0: 70.0})
            lp = lp_of(await state(client))
            assert lp["smartCostActive"] is True and lp["smartCostNextStart"] is None
            # bad values: 400, the limit stays
            for bad in ("nan", "abc", "1e9"):
                status, _, body = await fetch(
                    client, "POST", f"/api/loadpoints/1/smartcostlimit/{bad}"
                )
                assert status in (400, 404), (bad, status, body)
            assert lp_of(await state(client))["smartCostLimit"] == 0.3
            assert await fetch(client, "DELETE", "/api/loadpoints/1/smartcostlimit") == (
                200,
                JSON,
                None,
            )
            assert lp_of(await state(client))["smartCostLimit"] is None
            # the site route sets every loadpoint
            assert (await fetch(client, "POST", "/api/smartcostlimit/0.15"))[0] == 200
            assert lp_of(await state(client))["smartCostLimit"] == 0.15
            assert (await fetch(client, "DELETE", "/api/smartcostlimit"))[0] == 200
            assert lp_of(await state(client))["smartCostLimit"] is None
    finally:
        await srv.stop()


async def test_smart_feed_in_priority_routes(start_server: Callable[..., EvccApiServer]) -> None:
    backend = await tariff_backend()  # feed-in 0.08 from 10:00 UTC for 4 hours
    async with serving(start_server, backend) as client:
        doc = await state(client)
        assert doc["smartFeedInPriorityAvailable"] is True  # a feed-in tariff of rates
        assert lp_of(doc)["smartFeedInPriorityLimit"] is None
        path = "/api/loadpoints/1/smartfeedinprioritylimit"
        assert await fetch(client, "POST", f"{path}/0.07") == (200, JSON, 0.07)
        lp = lp_of(await state(client))
        assert (lp["smartFeedInPriorityLimit"], lp["smartFeedInPriorityActive"]) == (0.07, True)
        assert await fetch(client, "POST", f"{path}/0.09") == (200, JSON, 0.09)
        await backend.cycle(status={0: "B"}, soc={0: 70.0})
        lp = lp_of(await state(client))
        assert (lp["smartFeedInPriorityActive"], lp["smartFeedInPriorityNextStart"]) == (
            False,
            None,
        )
        status, _, body = await fetch(client, "POST", f"{path}/5000")
        assert status == 400 and "smartFeedInPriorityLimit" in body["error"]
        assert await fetch(client, "DELETE", path) == (200, JSON, None)
        assert (await fetch(client, "POST", "/api/smartfeedinprioritylimit/-0.5"))[0] == 200
        assert lp_of(await state(client))["smartFeedInPriorityLimit"] == -0.5
        assert (await fetch(client, "DELETE", "/api/smartfeedinprioritylimit"))[0] == 200
        assert lp_of(await state(client))["smartFeedInPriorityLimit"] is None


# --- plan strategy (evcc's JSON body) ------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/api/loadpoints/1/plan/strategy", "/api/vehicles/id_3/plan/strategy"]
)
async def test_plan_strategy(client: aiohttp.ClientSession, path: str) -> None:
    body = {"continuous": True, "precondition": 1800}
    assert await fetch(client, "POST", path, json=body) == (200, JSON, body)
    doc = await state(client)
    assert lp_of(doc)["planStrategy"] == lp_of(doc)["effectivePlanStrategy"] == body
    assert doc["vehicles"]["id_3"]["planStrategy"] == body
    # as evcc decodes it: a missing field is false / 0
    expected = {"continuous": False, "precondition": 600}
    assert await fetch(client, "POST", path, data='{"precondition": 600}') == (200, JSON, expected)
    assert lp_of(await state(client))["effectivePlanStrategy"] == expected


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("", "invalid planStrategy: '' is not JSON"),
        ("{broken", "invalid planStrategy: '{broken' is not JSON"),
        ("[]", "invalid planStrategy: [] is not an object"),
        ('{"continuous": "yes"}', "invalid continuous: 'yes' is not a boolean"),
        ('{"precondition": -60}', "precondition must be between 0 and 86400 s: -60"),
        ('{"precondition": 1.5}', "invalid precondition: 1.5 is not a whole number"),
        ('{"precondition": "900"}', "invalid precondition: '900' is not a number of seconds"),
        ('{"precondition": 1e400}', "invalid precondition: inf"),
        ('{"continous": true}', "invalid planStrategy: unknown field 'continous'"),
        ("x" * 2000, "body longer than 1024 bytes"),
    ],
)
async def test_plan_strategy_bad_body_is_400_and_changes_nothing(
    client: aiohttp.ClientSession, backend: HarnessBackend, body: str, message: str
) -> None:
    before = backend.site.to_dict()
    result = await fetch(client, "POST", "/api/loadpoints/1/plan/strategy", data=body)
    assert result == (400, JSON, {"error": message})
    assert backend.site.to_dict() == before


async def test_plan_strategy_shapes_the_plan(start_server: Callable[..., EvccApiServer]) -> None:
    """The preview follows the strategy as the running plan does: cheapest hours by default, one
    block with `continuous`, the last minutes before the target with `precondition`."""
    hour = timedelta(hours=1)
    prices = [0.1, 0.4, 0.1, 0.4, 0.3, 0.35]
    grid = RatesTariff([Rate(T0 + i * hour, T0 + (i + 1) * hour, p) for i, p in enumerate(prices)])
    backend = HarnessBackend(make_site([garage()], tariffs={"grid": grid}))
    await backend.cycle(status={0: "B"}, soc={0: 80.0}, after=0)
    target = "2026-06-21T16:00:00Z"  # T0 + 6 h
    async with serving(start_server, backend) as client:

        async def plan(strategy: dict[str, Any]) -> list[tuple[str, str]]:
            await fetch(client, "POST", "/api/loadpoints/1/plan/strategy", json=strategy)
            _, _, body = await fetch(
                client, "GET", "/api/loadpoints/1/target/plan", params={"targetTime": target}
            )
            duration = body["result"]["duration"]
            assert 3600 < duration < 7200  # 80 → 100 % of 58 kWh at 11 kW
            return [(s["start"][11:16], s["end"][11:16]) for s in body["result"]["plan"]]

        cheapest = await plan({"continuous": False, "precondition": 0})
        assert cheapest[0][1] == "11:00" and cheapest[-1] == ("12:00", "13:00")
        block = await plan({"continuous": True, "precondition": 0})
        assert block == [("12:00", "13:00"), ("13:00", "13:45")]  # cheapest 1.75 h window
        precondition = await plan({"continuous": False, "precondition": 1800})
        assert precondition[-1] == ("15:30", "16:00")


# --- repeating plans (evcc's JSON body) ----------------------------------------------------------


async def test_repeating_plans(client: aiohttp.ClientSession) -> None:
    plans = [
        {"weekdays": [1, 2, 3, 4, 5], "time": "07:00", "tz": "UTC", "soc": 80, "active": True},
        {"weekdays": [6], "time": "9:30", "tz": "", "soc": 60, "active": False},
    ]
    status, _, body = await fetch(client, "POST", "/api/vehicles/id_3/plan/repeating", json=plans)
    assert status == 200
    assert body == [plans[0], {**plans[1], "time": "09:30"}]
    doc = await state(client)
    assert doc["vehicles"]["id_3"]["repeatingPlans"] == body
    # T0 is Sunday 10:00 UTC: the next plan is Monday 07:00 UTC (id 2 = the first repeating plan)
    lp = lp_of(doc)
    assert (lp["effectivePlanTime"], lp["effectivePlanSoc"], lp["effectivePlanId"]) == (
        "2026-06-22T07:00:00Z",
        80,
        2,
    )
    assert lp["planTime"] is None  # no plan set with a time
    status, _, plan = await fetch(client, "GET", "/api/loadpoints/1/plan")
    assert (status, plan["planId"], plan["planTime"]) == (200, 2, "2026-06-22T07:00:00Z")
    assert plan["duration"] > 0
    # an empty list deletes them
    assert await fetch(client, "POST", "/api/vehicles/id_3/plan/repeating", json=[]) == (
        200,
        JSON,
        [],
    )
    assert lp_of(await state(client))["effectivePlanId"] == 0


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("", "invalid repeatingPlans: '' is not JSON"),
        ('{"weekdays": [1]}', "invalid repeatingPlans: {'weekdays': [1]} is not a list"),
        ('[{"weekdays": [8], "time": "07:00"}]', "weekday out of range: 8"),
        ('[{"weekdays": [1], "time": "7 am"}]', "invalid time: '7 am'"),
        ('[{"weekdays": [1], "time": "07:00", "tz": "Nowhere"}]', "invalid timezone: 'Nowhere'"),
    ],
)
async def test_repeating_plans_bad_body(
    client: aiohttp.ClientSession, backend: HarnessBackend, body: str, message: str
) -> None:
    before = backend.site.to_dict()
    result = await fetch(client, "POST", "/api/vehicles/id_3/plan/repeating", data=body)
    assert result == (400, JSON, {"error": message})
    assert backend.site.to_dict() == before


# --- home battery control and battery boost ------------------------------------------------------


async def test_battery_control_routes(start_server: Callable[..., EvccApiServer]) -> None:
    backend = HarnessBackend(make_site([garage()], battery=True, controllable=True))
    await backend.cycle(status={0: "B"}, soc={0: 40.0})
    async with serving(start_server, backend) as client:
        assert await fetch(client, "POST", "/api/batterydischargecontrol/1") == (
            200,
            JSON,
            True,
        )
        assert await fetch(client, "POST", "/api/batterygridchargelimit/0.12") == (
            200,
            JSON,
            0.12,
        )
        doc = await state(client)
        assert (doc["batteryDischargeControl"], doc["batteryGridChargeLimit"]) == (True, 0.12)
        assert (doc["batteryMode"], doc["batteryGridChargeActive"]) == ("unknown", False)
        assert await fetch(client, "DELETE", "/api/batterygridchargelimit") == (200, JSON, None)
        assert (await state(client))["batteryGridChargeLimit"] is None
        status, _, body = await fetch(client, "POST", "/api/batterydischargecontrol/perhaps")
        assert (status, body) == (400, {"error": "invalid batteryDischargeControl: 'perhaps'"})


async def test_battery_control_needs_a_controllable_battery(client: aiohttp.ClientSession) -> None:
    for path in ("/api/batterydischargecontrol/true", "/api/batterygridchargelimit/0.1"):
        assert await fetch(client, "POST", path) == (
            400,
            JSON,
            {"error": "battery control not available"},
        )
    assert await fetch(client, "POST", "/api/batterydischargecontrol/false") == (200, JSON, False)


async def test_solar_adjusted_route(client: aiohttp.ClientSession, backend: HarnessBackend) -> None:
    """evcc's forecast view choice: stored and shown, changes no decision; garbage → 400."""
    assert (await state(client))["solarAdjusted"] is False
    assert await fetch(client, "POST", "/api/solaradjusted/true") == (200, JSON, True)
    assert (await state(client))["solarAdjusted"] is True
    before = backend.site.to_dict()
    status, _, body = await fetch(client, "POST", "/api/solaradjusted/maybe")
    assert (status, body) == (400, {"error": "invalid solarAdjusted: 'maybe'"})
    assert backend.site.to_dict() == before
    assert await fetch(client, "POST", "/api/solaradjusted/0") == (200, JSON, False)


async def test_battery_boost_routes(client: aiohttp.ClientSession) -> None:
    status, _, body = await fetch(client, "POST", "/api/loadpoints/1/batteryboost/1")
    assert (status, body) == (400, {"error": "battery boost is only available in PV modes"})
    await fetch(client, "POST", "/api/loadpoints/1/mode/pv")
    assert await fetch(client, "POST", "/api/loadpoints/1/batteryboost/1") == (200, JSON, True)
    assert await fetch(client, "POST", "/api/loadpoints/1/batteryboostlimit/40") == (200, JSON, 40)
    lp = lp_of(await state(client))
    assert (lp["batteryBoost"], lp["batteryBoostLimit"]) == (True, 40)
    status, _, body = await fetch(client, "POST", "/api/loadpoints/1/batteryboostlimit/140")
    assert (status, body) == (400, {"error": "batteryBoostLimit must be between 0 and 100: 140"})
    await fetch(client, "POST", "/api/loadpoints/1/mode/now")  # boost ends outside the PV modes
    assert lp_of(await state(client))["batteryBoost"] is False


async def test_solar_forecast_tariff_and_state(start_server: Callable[..., EvccApiServer]) -> None:
    hour = timedelta(hours=1)
    solar = RatesTariff(
        [Rate(T0 + i * hour, T0 + (i + 1) * hour, w) for i, w in enumerate([4000, 2000])]
    )
    backend = HarnessBackend(make_site([garage()], tariffs={"solar": solar}))
    await backend.cycle(status={0: "B"}, soc={0: 40.0}, after=0)
    async with serving(start_server, backend) as client:
        status, _, body = await fetch(client, "GET", "/api/tariff/solar")
        assert status == 200 and [r["value"] for r in body["rates"]] == [4000, 2000]
        doc = await state(client)
        assert doc["tariffSolar"] == 4000
        assert [point[1] for point in doc["forecast"]["solar"]["timeseries"]] == [4000, 2000]


# --- the vehicle at a loadpoint ------------------------------------------------------------------


async def test_vehicle_assignment(start_server: Callable[..., EvccApiServer]) -> None:
    """Each loadpoint starts with its own vehicle; DELETE makes it a guest car (no SoC source),
    POST with a name or title puts that vehicle there, taken from another loadpoint (evcc);
    a vehicle's settings move with it; its own vehicle returns when the car leaves."""
    site = make_site(
        [
            LoadpointConfig(title="A", vehicle=VehicleConfig(title="ID.3")),
            LoadpointConfig(title="B", vehicle=VehicleConfig(title="Zoe")),
        ],
        vehicles=[VehicleConfig(title="Tesla", capacity_kwh=75.0)],
    )
    backend = HarnessBackend(site)
    await backend.cycle(status={0: "B", 1: "B"}, soc={0: 40.0, 1: 50.0})
    async with serving(start_server, backend) as client:
        doc = await state(client)
        assert list(doc["vehicles"]) == ["id_3", "zoe", "tesla"]
        assert [lp["vehicleName"] for lp in doc["loadpoints"]] == ["id_3", "zoe"]
        assert await fetch(client, "DELETE", "/api/loadpoints/1/vehicle") == (200, JSON, {})
        lp = lp_of(await state(client))
        assert (lp["vehicleName"], lp["vehicleTitle"], lp["vehicleSoc"]) == ("", "", 0)
        await backend.cycle(status={0: "B", 1: "B"}, soc={0: 40.0, 1: 50.0})
        assert lp_of(await state(client))["vehicleSoc"] == 0  # not a known car's SoC
        # a vehicle at no loadpoint keeps its settings until it arrives
        assert await fetch(client, "POST", "/api/vehicles/id_3/limitsoc/70") == (
            200,
            JSON,
            {"soc": 70},
        )
        assert (await state(client))["vehicles"]["id_3"]["limitSoc"] == 70
        assert lp_of(await state(client))["limitSoc"] == 100  # the guest's
        assert await fetch(client, "POST", "/api/loadpoints/1/vehicle/ID.3") == (
            200,
            JSON,
            {"vehicle": "ID.3"},
        )
        lp = lp_of(await state(client))
        assert (lp["vehicleName"], lp["limitSoc"]) == ("id_3", 70)
        # Zoe moves from B to A: B has no vehicle now, ID.3's settings wait for it
        assert (await fetch(client, "POST", "/api/loadpoints/1/vehicle/zoe"))[0] == 200
        doc = await state(client)
        assert [lp["vehicleName"] for lp in doc["loadpoints"]] == ["zoe", ""]
        assert (doc["loadpoints"][0]["limitSoc"], doc["vehicles"]["id_3"]["limitSoc"]) == (100, 70)
        status, _, body = await fetch(client, "POST", "/api/loadpoints/1/vehicle/renault")
        assert (status, body) == (400, {"error": "vehicle not found: renault"})
        assert [lp["vehicleName"] for lp in (await state(client))["loadpoints"]] == ["zoe", ""]
        # the car at A leaves: ID.3 is A's again, with its settings; Zoe waits (B has a car)
        await backend.cycle(status={0: "A", 1: "B"})
        doc = await state(client)
        assert [lp["vehicleName"] for lp in doc["loadpoints"]] == ["id_3", ""]
        assert doc["loadpoints"][0]["limitSoc"] == 70


async def test_vehicle_detection(start_server: Callable[..., EvccApiServer]) -> None:
    """A loadpoint without a vehicle of its own looks for the one whose integration says it is
    plugged in (evcc's detection by status): none or two → it goes on looking, for 10 min."""
    site = make_site(
        [LoadpointConfig(title="Garage"), LoadpointConfig(title="Drive")],
        vehicles=[VehicleConfig(title="Tesla"), VehicleConfig(title="Zoe")],
    )
    backend = HarnessBackend(site)
    await backend.cycle(status={0: "A", 1: "A"})
    async with serving(start_server, backend) as client:
        lp = lp_of(await state(client))
        assert (lp["vehicleName"], lp["vehicleDetectionActive"]) == ("", False)
        await backend.cycle(status={0: "B", 1: "A"}, plugged={"Tesla": True, "Zoe": True})
        lp = lp_of(await state(client))
        assert (lp["vehicleName"], lp["vehicleDetectionActive"]) == ("", True)  # two: unsure
        await backend.cycle(
            status={0: "B", 1: "A"}, plugged={"Tesla": False, "Zoe": True}, car_soc={"Zoe": 35}
        )
        lp = lp_of(await state(client))
        assert (lp["vehicleName"], lp["vehicleTitle"]) == ("zoe", "Zoe")
        assert lp["vehicleDetectionActive"] is False
        await backend.cycle(status={0: "B", 1: "A"})
        assert lp_of(await state(client))["vehicleSoc"] == 35  # Zoe's own SoC sensor
        # Zoe is taken: the second loadpoint finds nobody, then gives up after 10 minutes
        await backend.cycle(status={0: "B", 1: "B"}, plugged={"Tesla": False, "Zoe": True})
        second = (await state(client))["loadpoints"][1]
        assert (second["vehicleName"], second["vehicleDetectionActive"]) == ("", True)
        await backend.cycle(status={0: "B", 1: "B"}, after=601)
        assert (await state(client))["loadpoints"][1]["vehicleDetectionActive"] is False
        # PATCH: detect again (Tesla now says it is plugged in)
        await backend.cycle(status={0: "B", 1: "B"}, plugged={"Tesla": True, "Zoe": True})
        assert await fetch(client, "PATCH", "/api/loadpoints/2/vehicle") == (200, JSON, {})
        # at once, from what the cars said in the last cycle
        assert (await state(client))["loadpoints"][1]["vehicleName"] == "tesla"


async def test_vehicle_assignment_without_vehicles(
    start_server: Callable[..., EvccApiServer],
) -> None:
    backend = HarnessBackend(make_site([LoadpointConfig(title="Garage")]))
    await backend.cycle(status={0: "B"})
    async with serving(start_server, backend) as client:
        assert await fetch(client, "PATCH", "/api/loadpoints/1/vehicle") == (200, JSON, {})
        assert lp_of(await state(client))["vehicleDetectionActive"] is False  # nobody to find
        assert await fetch(client, "DELETE", "/api/loadpoints/1/vehicle") == (200, JSON, {})
        status, _, body = await fetch(client, "POST", "/api/loadpoints/1/vehicle/zoe")
        assert (status, body) == (400, {"error": "vehicle not found: zoe"})


async def test_vehicle_mode_is_taken_when_it_arrives(
    start_server: Callable[..., EvccApiServer],
) -> None:
    site = make_site([LoadpointConfig(title="Garage")], vehicles=[VehicleConfig(title="Zoe")])
    backend = HarnessBackend(site)
    await backend.cycle(status={0: "A"})
    async with serving(start_server, backend) as client:
        assert await fetch(client, "POST", "/api/vehicles/zoe/mode/now") == (
            200,
            JSON,
            {"mode": "now"},
        )
        assert (await state(client))["vehicles"]["zoe"]["mode"] == "now"
        status, _, body = await fetch(client, "POST", "/api/vehicles/zoe/mode/fast")
        assert status == 400 and "fast" in body["error"]
        assert lp_of(await state(client))["mode"] == "off"
        await fetch(client, "POST", "/api/loadpoints/1/vehicle/zoe")
        assert lp_of(await state(client))["mode"] == "now"
        assert await fetch(client, "DELETE", "/api/vehicles/zoe/mode") == (200, JSON, {})
        assert "mode" not in (await state(client))["vehicles"]["zoe"]
        status, _, _body = await fetch(client, "POST", "/api/vehicles/tesla/mode/pv")
        assert status == 404


async def test_battery_mode_from_outside(start_server: Callable[..., EvccApiServer]) -> None:
    backend = HarnessBackend(make_site([garage()], battery=True, controllable=True))
    await backend.cycle(status={0: "B"}, soc={0: 40.0})
    async with serving(start_server, backend) as client:
        assert await fetch(client, "POST", "/api/batterymode/hold") == (200, JSON, "hold")
        await backend.cycle(status={0: "B"}, soc={0: 40.0})
        assert (await state(client))["batteryMode"] == "hold"
        status, _, body = await fetch(client, "POST", "/api/batterymode/turbo")
        assert (status, body) == (400, {"error": "invalid battery mode: turbo"})
        assert await fetch(client, "DELETE", "/api/batterymode") == (200, JSON, None)
        await backend.cycle(status={0: "B"}, soc={0: 40.0})
        assert (await state(client))["batteryMode"] == "normal"

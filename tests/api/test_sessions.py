"""/api/sessions: evcc's session JSON, the CSV export (golden files en/de), filters."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import aiohttp
import pytest

from custom_components.evcc_ha.api.server import EvccApiServer
from custom_components.evcc_ha.api.sessions_csv import (
    csv_filename,
    go_duration,
    pick_language,
    session_to_json,
    sessions_to_csv,
)
from custom_components.evcc_ha.core.clock import ManualClock
from custom_components.evcc_ha.core.session import Session

from .backend import T0, HarnessBackend, make_site
from .conftest import garage

GOLDEN = Path(__file__).parent / "golden"
BERLIN = ZoneInfo("Europe/Berlin")


def sample_sessions() -> list[Session]:
    """Newest first, as the session log lists them; awkward texts and missing values included."""
    return [
        Session(
            id=2,
            created=datetime(2026, 3, 14, 17, 5, tzinfo=UTC),
            finished=datetime(2026, 3, 14, 18, 28, 45, tzinfo=UTC),
            loadpoint="Garage",
            vehicle="ID.3",
            odometer=18234.44,
            meter_start=1534.2,
            meter_stop=1545.323,
            charged_energy=11.1234,
            charge_duration=5025.0,
            solar_percentage=78.25,
            price=2.5,
            price_per_kwh=0.2248,
        ),
        Session(
            id=1,
            created=datetime(2026, 3, 1, 6, 0, tzinfo=UTC),
            finished=datetime(2026, 3, 1, 6, 1, 30, 500000, tzinfo=UTC),
            loadpoint="Carport; links, hinten",
            identifier=" RFID 0815",
            vehicle='Zoë "blau"',
            charged_energy=0.5,
            charge_duration=90.5,
            solar_percentage=0.0,
        ),
    ]


@pytest.mark.parametrize("lang", ["en", "de"])
def test_csv_matches_golden_file(lang: str) -> None:
    data = sessions_to_csv(sample_sessions(), lang, BERLIN)
    assert data == (GOLDEN / f"sessions_{lang}.csv").read_bytes()


def test_csv_shape() -> None:
    de = sessions_to_csv(sample_sessions(), "de", BERLIN).decode("utf-8")
    assert de.startswith("\ufeffStartzeit;Endzeit;Ladepunkt;")
    lines = de.splitlines()
    assert len(lines) == 3
    assert lines[1].startswith("2026-03-14 18:05:00;2026-03-14 19:28:45;Garage;;ID.3;18234;")
    assert ";11,123;1h23m45s;78,25;2,5;0,225;" in lines[1] + ";"
    en = sessions_to_csv(sample_sessions(), "en", BERLIN).decode("utf-8")
    assert ",11.123,1h23m45s,78.25,2.5,0.225," in en.splitlines()[1] + ","
    assert (
        sessions_to_csv([], "en", None)
        == "\ufeffCreated,Finished,Charging point,Identifier,Vehicle,Mileage (km),Meter start (kWh),Meter stop (kWh),Energy (kWh),Charge Duration,Solar (%),Price,Price/kWh,CO2/kWh (gCO2eq)\n".encode()
    )


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0s"),
        (45, "45s"),
        (90.5, "1m30.5s"),
        (120, "2m0s"),
        (3600, "1h0m0s"),
        (5025, "1h23m45s"),
        (0.25, "250ms"),
        (0.0000015, "1.5µs"),
        (100000, "27h46m40s"),
        (-61, "-1m1s"),
    ],
)
def test_go_duration(seconds: float, text: str) -> None:
    assert go_duration(seconds) == text


def test_language_and_filename() -> None:
    assert pick_language("de", None) == "de"
    assert pick_language(None, "de-DE,de;q=0.9,en;q=0.8") == "de"
    assert pick_language("", "en-US") == "en"
    assert pick_language("fr", "de") == "en"  # unknown languages fall back to English
    assert pick_language(None, None) == "en"
    assert csv_filename(None, None) == "session.csv"
    assert csv_filename(2026, None) == "session-2026.csv"
    assert csv_filename(2026, 3) == "session-2026-03.csv"


def test_session_json_fields() -> None:
    doc = session_to_json(sample_sessions()[0], BERLIN)
    assert doc == {
        "id": 2,
        "created": "2026-03-14T18:05:00+01:00",
        "finished": "2026-03-14T19:28:45+01:00",
        "loadpoint": "Garage",
        "identifier": "",
        "vehicle": "ID.3",
        "odometer": 18234.4,
        "meterStart": 1534.2,
        "meterStop": 1545.323,
        "chargedEnergy": 11.123,
        "chargeDuration": 5025 * 10**9,  # nanoseconds, what ha-evcc divides by 1e9
        "solarPercentage": 78.25,
        "price": 2.5,
        "pricePerKWh": 0.225,
        "co2PerKWh": None,
    }
    unset = session_to_json(Session(), None)
    assert unset["created"] == unset["finished"] == "0001-01-01T00:00:00Z"


@pytest.fixture
async def sessions_client(
    start_server: Callable[..., EvccApiServer],
) -> AsyncIterator[aiohttp.ClientSession]:
    backend = HarnessBackend(make_site([garage()]), ManualClock(T0.astimezone(BERLIN)))
    for logged in reversed(sample_sessions()):
        backend.site.sessions.upsert(logged)
    backend.site.sessions.upsert(Session(id=3, created=T0, charged_energy=0.01))  # < 0.05 kWh
    srv = start_server(backend)
    await srv.start()
    async with aiohttp.ClientSession(f"http://127.0.0.1:{srv.port}") as client:
        yield client
    await srv.stop()


@pytest.mark.parametrize("lang", ["en", "de"])
async def test_csv_route(sessions_client: aiohttp.ClientSession, lang: str) -> None:
    async with sessions_client.get("/api/sessions", params={"format": "csv", "lang": lang}) as r:
        assert r.status == 200
        assert r.content_type == "text/csv" and r.charset == "utf-8"
        assert r.headers["Content-Disposition"] == 'attachment; filename="session.csv"'
        assert await r.read() == (GOLDEN / f"sessions_{lang}.csv").read_bytes()


async def test_csv_language_from_accept_language(sessions_client: aiohttp.ClientSession) -> None:
    headers = {"Accept-Language": "de-DE,de;q=0.9"}
    async with sessions_client.get(
        "/api/sessions?format=csv&year=2026&month=3", headers=headers
    ) as r:
        assert r.headers["Content-Disposition"] == 'attachment; filename="session-2026-03.csv"'
        assert await r.read() == (GOLDEN / "sessions_de.csv").read_bytes()


async def test_json_route_and_filters(sessions_client: aiohttp.ClientSession) -> None:
    async with sessions_client.get("/api/sessions") as r:
        assert r.status == 200 and r.content_type == "application/json"
        body = await r.json()
    assert [s["id"] for s in body] == [2, 1]  # newest first, tiny sessions left out
    assert body[0] == session_to_json(sample_sessions()[0], BERLIN)
    for query, ids in [
        ("year=2026", [2, 1]),
        ("year=2026&month=3", [2, 1]),
        ("year=2026&month=2", []),
        ("year=2025", []),
        ("month=2", [2, 1]),  # a month alone does not filter (evcc)
        ("format=json", [2, 1]),
    ]:
        async with sessions_client.get(f"/api/sessions?{query}") as r:
            assert [s["id"] for s in await r.json()] == ids, query
    for query in ("year=abc", "year=2026&month=13", "format=xlsx"):
        async with sessions_client.get(f"/api/sessions?{query}") as r:
            assert r.status == 400, query
            assert "error" in await r.json()


async def test_sessions_from_a_real_charge(
    client: aiohttp.ClientSession, backend: HarnessBackend
) -> None:
    """Connect, charge for 10 minutes at 16 A 3p, stop: one session with 1.84 kWh."""
    async with client.post("/api/loadpoints/1/mode/now"):
        pass
    for _ in range(20):
        await backend.cycle(status={0: "C"})
    await backend.cycle(status={0: "B"})
    async with client.get("/api/sessions") as r:
        sessions = await r.json()
    assert len(sessions) == 1
    s = sessions[0]
    assert s["loadpoint"] == "Garage" and s["vehicle"] == "ID.3"
    assert s["chargedEnergy"] == pytest.approx(11.04 * 600 / 3600, abs=0.001)
    assert s["chargeDuration"] == 570 * 10**9
    assert s["finished"] != "0001-01-01T00:00:00Z"


async def test_edit_and_delete_a_session(
    client: aiohttp.ClientSession, backend: HarnessBackend
) -> None:
    """evcc's PUT/DELETE /api/session/{id}: a session charged by the real cycle gets another
    vehicle and odometer; the edit survives the next charge stop of the same session (the car
    is still connected), which refuses deletion until it leaves."""
    async with client.post("/api/loadpoints/1/mode/now"):
        pass
    for _ in range(5):
        await backend.cycle(status={0: "C"})
    await backend.cycle(status={0: "B"})
    async with client.get("/api/sessions") as r:
        (logged,) = await r.json()
    path = f"/api/session/{logged['id']}"
    async with client.put(path, json={"vehicle": "Zoe", "odometer": 12345, "price": 0}) as r:
        assert r.status == 200
        edited = await r.json()
    assert (edited["vehicle"], edited["odometer"], edited["loadpoint"]) == ("Zoe", 12345, "Garage")
    assert edited["price"] == logged["price"]  # other fields are ignored, as in evcc
    for _ in range(3):  # the same session charges again and is logged again at its stop
        await backend.cycle(status={0: "C"})
    await backend.cycle(status={0: "B"})
    async with client.get("/api/sessions") as r:
        (again,) = await r.json()
    assert (again["id"], again["vehicle"], again["odometer"]) == (logged["id"], "Zoe", 12345)
    assert again["chargedEnergy"] > logged["chargedEnergy"]
    async with client.delete(path) as r:
        assert (r.status, await r.json()) == (
            400,
            {"error": f"session {logged['id']} is still open: its car is connected"},
        )
    await backend.cycle(status={0: "A"})
    async with client.put(path, json={"vehicle": None}) as r:
        assert (await r.json())["vehicle"] == ""
    async with client.delete(path) as r:
        assert (r.status, await r.json()) == (200, None)
    async with client.get("/api/sessions") as r:
        assert await r.json() == []
    assert backend.state()["statistics"]["total"]["chargedKWh"] == 0


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "error"),
    [
        ("PUT", "/api/session/2", '{"vehicle": 5}', 400, "invalid vehicle: 5 is not text"),
        ("PUT", "/api/session/2", '{"odometer": -1}', 400, "odometer must be between 0 and 10000000 km"),
        ("PUT", "/api/session/2", '{"odometer": "far"}', 400, "invalid odometer: 'far' is not a number"),
        ("PUT", "/api/session/2", '{"vehicle": "' + "x" * 101 + '"}', 400, "invalid vehicle: longer than 100 characters"),
        ("PUT", "/api/session/2", '{"price": 1}', 400, "nothing to update"),
        ("PUT", "/api/session/2", "[1]", 400, "invalid session: [1] is not an object"),
        ("PUT", "/api/session/2", "{", 400, "invalid session: '{' is not JSON"),
        ("PUT", "/api/session/9", '{"vehicle": "Zoe"}', 404, "session not found: 9"),
        ("DELETE", "/api/session/9", None, 404, "session not found: 9"),
        ("DELETE", "/api/session/" + "9" * 30, None, 404, "session not found: " + "9" * 20 + "…"),
    ],
)  # fmt: skip
async def test_bad_session_changes_change_nothing(
    sessions_client: aiohttp.ClientSession,
    method: str,
    path: str,
    body: str | None,
    status: int,
    error: str,
) -> None:
    async with sessions_client.get("/api/sessions") as r:
        before = await r.json()
    async with sessions_client.request(method, path, data=body) as r:
        assert (r.status, await r.json()) == (status, {"error": error})
    async with sessions_client.get("/api/sessions") as r:
        assert await r.json() == before

"""No input yields a 5xx: every route with awkward path values, query strings and methods.

A small deterministic fuzz run (the schemathesis run against api/openapi.yaml goes further).
Besides the status codes, the autouse `no_api_errors_logged` fixture fails the test when a
handler hit an unexpected exception (the server answers those with 400 and logs them).
"""

from __future__ import annotations

import re
from urllib.parse import quote

import aiohttp
import pytest
from yarl import URL

from custom_components.evcc_ha.api.routes import ROUTES, Route
from custom_components.evcc_ha.api.server import EvccApiServer

from .backend import HarnessBackend

NASTY = [
    "", "0", "-0", "1", "2", "3", "100", "0.125", "-500", "1e309", "1e-999", "nan", "NaN", "inf",
    "-inf", "99999999999999999999999", "1" * 400, "1.2.3", "..", ".", "-", "+1", " 1", "\x00",
    "%", "ä", "😀", "a" * 3000, "1/2", "true", "false", "null", "PV", "now", "id_3", "ID.3",
    "2030-01-01T07:00:00+01:00", "2030-01-01T07:00:00+14:00", "2030-13-45T99:99:99Z",
    "9999-12-31T23:59:59Z", "9999-12-31T23:59:59-12:00", "0001-01-01T00:00:00Z",
    "0001-01-01T00:00:00+14:00", "2030-01-01T07:00:00.123456789Z", "2030-01-01", "T", "Z", ":",
    "2026-06-21T10:00:00Z", "2026-06-21T10:00:30Z",
]  # fmt: skip

VALID = {
    "id": "1",
    "name": "id_3",
    "value": "50",
    "time": "2030-01-01T07:00:00Z",
    "type": "grid",
}

QUERIES = [
    "jq=.", "jq=.foo[", "jq=" + quote("[range(100)]|length"), "jq=" + quote("def f: f; 1"),
    "jq=%ff", "jq=" + "x" * 5000, "format=csv", "format=csv&lang=%ff", "format=xlsx",
    "year=-1", "year=0", "year=2026&month=0", "year=99999999999999999999", "month=abc",
    "targetTime=bad", "targetTime=9999-12-31T23:59:59Z", "targetTime=0001-01-01T00:00:00Z",
    "targetTime=" + quote("2030-01-01T07:00:00+01:00"), "targetTime=", "x=%00",
]  # fmt: skip


def paths(route: Route) -> list[str]:
    params = re.findall(r"\{(\w+):[^}]+\}", route.path)
    out = []
    for name in params:
        for value in NASTY:
            path = route.path
            for other in params:
                chosen = value if other == name else VALID[other]
                path = re.sub(r"\{" + other + r":[^}]+\}", quote(chosen, safe=""), path, count=1)
            out.append(path)
    if not params:
        out = [route.path + "?" + q for q in QUERIES] + [route.path]
    return out


@pytest.mark.parametrize(
    "route", [r for r in ROUTES if r.envelope != "ws"], ids=lambda r: f"{r.method} {r.path}"
)
async def test_no_server_errors(
    server: EvccApiServer, backend: HarnessBackend, route: Route
) -> None:
    base = f"http://127.0.0.1:{server.port}"
    extra = (
        [r"/api/loadpoints/1/target/plan?" + q for q in QUERIES]
        if "target/plan" in route.path
        else []
    )
    wrong = "PUT" if route.method == "GET" else "GET"
    async with aiohttp.ClientSession() as client:
        for number, path in enumerate(paths(route) + extra):
            # the wrong method: 405 or 404 whatever the values, so a few suffice
            for method in (route.method, wrong) if number % 10 == 0 else (route.method,):
                url = URL(base + path, encoded=True)
                async with client.request(method, url) as response:
                    body = await response.read()
                    if route.path == "/api/health" and response.status == 500:
                        assert body == b""
                        continue
                    assert response.status < 500, (method, path, response.status, body[:200])
                    if response.content_type == "application/json":
                        await response.json()

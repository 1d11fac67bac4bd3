"""evcc's REST routes, built once and shared by both ways in (evcc port and Home Assistant views).

`ROUTES` is the route table: method, evcc path (aiohttp pattern with evcc's path regexes),
handler, envelope and a one-line description. `ApiContext.handle(route, request)` runs one route
with everything around it (read-only and permission checks, the backend lookup, error mapping,
the envelope); `server.py` and `http.py` only attach it to their routers.

Envelopes (spec §1.1): routes that exist only in the old documented API (evcc ≤ 0.206) answer
`{"result": value}`; routes that exist in current evcc (also those that existed before) answer the
bare value, as evcc ≥ 0.207 does, since this API announces version 0.207.0.

Errors: a path whose parameters do not match the route's regex, or an unknown loadpoint id, is
404 `404 page not found` (text, as evcc's router); a known path with the wrong method is 405; a
value the core's one validated write path rejects is 400 `{"error": "<SettingError text>"}` and
nothing changes; a charger that refuses the command a setting caused is 502 `{"error": …}` (the
setting is kept, the next cycle retries); request bodies are never read. Any other exception is
a bug: it is not turned into an answer (aiohttp logs it and answers 500).

Path regexes are evcc's (spec §1.2) with these extensions: times also accept `+` offsets (current
evcc does; 0.122's `[0-9TZ:.-]+` did not); the tariff type takes digits too, so `co2` reaches the
handler and gets evcc's JSON 404 (vector 35); telemetry takes `1`/`0`; routes only current evcc
has (limitsoc, delays, priority, vehicle routes) accept a decimal point, as values from Home
Assistant number entities have one; the core rejects non-whole values with 400. Values are range
checked by the core where 0.122 was not (`minsoc/150` is 400, not 200).

Vehicles: `/api/vehicles/<name>/…` addresses a vehicle of the site by its API name (the key in the
state's `vehicles`) or its title; its settings (minSoc, limitSoc, plan, repeating plans, plan
strategy) move with it: at a loadpoint they are that loadpoint's, else they wait for it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from aiohttp import web

from ..core.loadpoint import Loadpoint
from ..core.model import CommandError, PlanStrategy, SettingError
from ..core.planner import plan_slots
from ..core.session import UnknownSessionError
from ..core.settings import (
    MAX_ENERGY_KWH,
    LoadpointKey,
    SiteKey,
    parse_float,
    parse_rfc3339,
    parse_time,
)
from ..core.tariff import format_rfc3339, rates_to_json
from .backend import Backend
from .jq_filter import JqError, JqRunner
from .sessions_csv import (
    csv_filename,
    filter_sessions,
    pick_language,
    session_to_json,
    sessions_to_csv,
)
from .state import EVCC_VERSION, clean
from .ws import HEARTBEAT_S, WsHub

__all__ = [
    "ROUTES",
    "ApiContext",
    "Call",
    "HttpError",
    "Route",
    "StateCache",
    "error_response",
    "json_response",
    "not_found_response",
]

Envelope = Literal["result", "bare", "text", "csv", "html", "ws"]
Handler = Callable[["Call"], Awaitable[object]]

JQ_MAX_LENGTH = 4096
TARIFF_KINDS = ("grid", "feedin", "planner", "solar", "co2")

# evcc's path parameter regexes (spec §1.2); an id longer than this cannot name a loadpoint
MAX_ID_DIGITS = 6
MAX_BODY_BYTES = 1024  # a JSON setting (the plan strategy) is a few dozen bytes
LP = "/api/loadpoints/{id:[1-9][0-9]*}"
VEHICLE = "/api/vehicles/{name:[^/]+}"
TIME = "{time:[0-9TZ:.+-]+}"
UINT = "[0-9]+"
UFLOAT = "[0-9.]+"
SFLOAT = "-?[0-9.]+"


# --- responses -----------------------------------------------------------------------------------


def _dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def json_response(value: Any, status: int = 200) -> web.Response:
    """`value` as JSON (`Content-Type: application/json`)."""
    return web.Response(
        body=_dumps(clean(value, digits=None)), status=status, content_type="application/json"
    )


def error_response(status: int, message: str) -> web.Response:
    """evcc's error body `{"error": "<message>"}`."""
    return json_response({"error": message}, status)


def not_found_response() -> web.Response:
    """evcc's (gorilla/mux's) 404 for an unknown path or loadpoint id."""
    return web.Response(status=404, text="404 page not found\n", content_type="text/plain")


class HttpError(Exception):
    """Stop a handler and answer with `response`."""

    def __init__(self, response: web.Response) -> None:
        super().__init__(response.status)
        self.response = response


class StateCache:
    """The serialized state document, encoded once per document (the backend hands out a new
    dict after every cycle or setting and never mutates a published one)."""

    __slots__ = ("_body", "_doc", "_text")

    def __init__(self) -> None:
        self._doc: dict[str, Any] | None = None
        self._body = b""
        self._text = ""

    def body(self, doc: dict[str, Any]) -> bytes:
        if doc is not self._doc:
            self._text = json.dumps(doc, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
            self._body = self._text.encode()
            self._doc = doc
        return self._body

    def text(self, doc: dict[str, Any]) -> str:
        self.body(doc)
        return self._text


# --- the call ------------------------------------------------------------------------------------


@dataclass(slots=True)
class Call:
    """One request as the handlers see it."""

    backend: Backend
    request: web.Request
    params: Mapping[str, str]
    api: ApiContext

    def value(self, name: str = "value") -> str:
        return self.params[name]

    def loadpoint(self) -> int:
        """The 0-based index of the path's loadpoint id; unknown → 404 as evcc."""
        raw = self.params["id"]
        index = int(raw) - 1 if len(raw) <= MAX_ID_DIGITS else -1
        if not 0 <= index < len(self.backend.site.loadpoints):
            raise HttpError(not_found_response())
        return index

    def vehicle(self) -> str:
        """The API name of the path's vehicle (name or title); unknown → 404."""
        name = self.params["name"]
        try:
            return self.backend.site.vehicle_name(name)
        except SettingError:
            raise HttpError(error_response(404, f"vehicle not found: {name}")) from None

    async def set_vehicle(self, key: LoadpointKey, value: object) -> object:
        """One setting of the path's vehicle; bad → 400."""
        stored = await self.backend.async_set_vehicle_settings(self.vehicle(), [(key, value)])
        return stored[key]

    async def body_text(self) -> str:
        """The request body as text (a JSON setting such as the plan strategy); too long → 400."""
        raw = await self.request.content.read(MAX_BODY_BYTES + 1)
        if len(raw) > MAX_BODY_BYTES:
            raise HttpError(error_response(400, f"body longer than {MAX_BODY_BYTES} bytes"))
        try:
            return raw.decode()
        except UnicodeDecodeError:
            raise HttpError(error_response(400, "body is not UTF-8")) from None

    async def set_lp(self, index: int, key: LoadpointKey, value: object) -> object:
        return await self.backend.async_set_loadpoint(index, key, value)


# --- the route table -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Route:
    """One evcc route. `path` is the evcc path as an aiohttp pattern (regexes as evcc)."""

    method: str
    path: str
    handler: Handler
    envelope: Envelope
    summary: str
    errors: tuple[int, ...] = ()
    schema: dict[str, Any] = field(default_factory=dict)  # OpenAPI schema of the value
    evcc_port_only: bool = False

    @property
    def write(self) -> bool:
        return self.method != "GET"

    @property
    def ha_path(self) -> str:
        """The same route under Home Assistant's `/api/evcc_ha` prefix."""
        if self.path.startswith("/api/"):
            return "/api/evcc_ha/" + self.path.removeprefix("/api/")
        return "/api/evcc_ha" + self.path


# --- site handlers -------------------------------------------------------------------------------


async def _state(call: Call) -> object:
    doc = call.backend.state()
    query = call.request.query.get("jq")
    if query is None:
        return web.Response(body=call.api.state_cache.body(doc), content_type="application/json")
    return await _run_jq(call.api.jq, query, call.api.state_cache.text(doc))


def _strip_result(query: str) -> str:
    """evcc strips a leading `.result` (the old envelope) from jq queries."""
    query = query.strip()
    if not query.startswith(".result"):
        return query
    rest = query[len(".result") :]
    if rest == "":
        return "."
    if rest[0] == ".":
        return rest
    if rest[0] in "[| \t?":
        return "." + rest
    return query  # e.g. `.results`: not the envelope


async def _run_jq(runner: JqRunner, query: str, text: str) -> web.Response:
    if len(query) > JQ_MAX_LENGTH:
        raise HttpError(error_response(400, f"jq query longer than {JQ_MAX_LENGTH} characters"))
    try:
        result = await runner.run(_strip_result(query), text)
    except JqError as err:
        raise HttpError(error_response(400, str(err))) from None
    return json_response(result)


async def _health(call: Call) -> object:
    backend = call.backend
    if backend.site.healthy(backend.now()):
        return web.Response(text="OK\n", content_type="text/plain")
    return web.Response(status=500)


def _site_setting(key: SiteKey) -> Handler:
    async def handler(call: Call) -> object:
        return await call.backend.async_set_site(key, call.value())

    return handler


async def _battery_mode_set(call: Call) -> object:
    mode = await call.backend.async_set_battery_mode_external(call.value())
    return str(mode) if mode is not None else None


async def _battery_mode_delete(call: Call) -> object:
    await call.backend.async_set_battery_mode_external(None)
    return None


async def _battery_grid_charge_limit_delete(call: Call) -> object:
    return await call.backend.async_set_site(SiteKey.BATTERY_GRID_CHARGE_LIMIT, None)


async def _tariff(call: Call) -> object:
    kind = call.params["type"]
    backend = call.backend
    if kind not in TARIFF_KINDS:
        raise HttpError(error_response(404, "tariff not available"))
    site = backend.site
    tariff = site.planner_tariff() if kind == "planner" else site.tariffs.get(kind)
    rates = tariff.rates(backend.now()) if tariff is not None else None
    if not rates:  # unconfigured, or a price source without prices right now
        raise HttpError(error_response(404, "tariff not available"))
    return {"rates": [{**rate, "value": rate["price"]} for rate in rates_to_json(rates)]}


def _int_query(call: Call, name: str, low: int, high: int) -> int | None:
    raw = call.request.query.get(name)
    if raw is None or raw == "":
        return None
    try:
        number = int(raw)
    except ValueError:
        number = low - 1
    if not low <= number <= high:
        raise HttpError(error_response(400, f"invalid {name}: {raw}"))
    return number


async def _sessions(call: Call) -> object:
    backend, query = call.backend, call.request.query
    year = _int_query(call, "year", 1, 9999)
    month = _int_query(call, "month", 1, 12) if year is not None else None
    tz = backend.now().tzinfo
    sessions = filter_sessions(backend.site.sessions.listed(), tz, year, month)
    kind = query.get("format", "json").lower()
    if kind == "csv":
        lang = pick_language(query.get("lang"), call.request.headers.get("Accept-Language"))
        return web.Response(
            body=sessions_to_csv(sessions, lang, tz),
            content_type="text/csv",
            charset="utf-8",
            headers={"Content-Disposition": f'attachment; filename="{csv_filename(year, month)}"'},
        )
    if kind not in ("json", ""):
        raise HttpError(error_response(400, f"invalid format: {query.get('format')}"))
    return [session_to_json(s, tz) for s in sessions]


def _site_limit(key: LoadpointKey) -> Handler:
    """evcc's site route of a smart limit: the limit of every loadpoint (DELETE: off)."""

    async def handler(call: Call) -> object:
        value = call.params.get("value") if call.request.method == "POST" else None
        stored: object = None
        for index in range(len(call.backend.site.loadpoints)):
            stored = await call.set_lp(index, key, value)
        return stored

    return handler


async def _telemetry_get(call: Call) -> object:
    return call.backend.site.telemetry


async def _telemetry_set(call: Call) -> object:
    return await call.backend.async_set_site(SiteKey.TELEMETRY, call.value())


async def _ws(call: Call) -> object:
    return await call.api.hub.handle(call.request, call.backend, call.api.still_current)


async def _root(call: Call) -> object:
    return web.Response(text=_ROOT_PAGE, content_type="text/html")


_ROOT_PAGE = f"""<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><meta name="evcc-app-compatible" content="true">
<title>evcc_ha</title></head>
<body><h1>evcc_ha</h1>
<p>evcc-compatible API ({EVCC_VERSION}) of the evcc_ha Home Assistant integration:
<a href="/api/state">/api/state</a>, websocket /ws.</p>
<!-- evcc-app-compatible -->
</body></html>
"""


# --- loadpoint handlers --------------------------------------------------------------------------


def _lp_setting(key: LoadpointKey) -> Handler:
    async def handler(call: Call) -> object:
        return await call.set_lp(call.loadpoint(), key, call.value())

    return handler


def _limit_delete(key: LoadpointKey) -> Handler:
    async def handler(call: Call) -> object:
        return await call.set_lp(call.loadpoint(), key, None)

    return handler


async def _target_time_set(call: Call) -> object:
    index = call.loadpoint()
    await call.set_lp(index, LoadpointKey.PLAN_TIME, call.value("time"))
    s = call.backend.site.loadpoints[index].settings
    return {"soc": s.limit_soc, "energy": s.limit_energy, "time": s.plan_time}


async def _target_time_delete(call: Call) -> object:
    await call.set_lp(call.loadpoint(), LoadpointKey.PLAN_TIME, None)
    return {}


_OFFSET_AS_SPACE = re.compile(r" (\d{2}:?\d{2})$")


def _parse_target_time(raw: str, now: datetime) -> datetime:
    """RFC 3339 from a query string (a `+` offset arrives decoded as a blank)."""
    when = parse_rfc3339(_OFFSET_AS_SPACE.sub(r"+\1", raw.strip()))
    if when.tzinfo is None:
        raise ValueError("time without offset")
    return when.astimezone(now.tzinfo)


def _plan(
    call: Call, lp: Loadpoint, target: datetime | None, goal: tuple[str, float] | None = None
) -> dict[str, Any]:
    """duration (s), slots (or None) and power of the plan for `target` (and `goal`; default:
    the goal a plan set with a time would have)."""
    power = lp.max_power()
    if target is None:
        return {"duration": 0, "plan": None, "power": power}
    backend = call.backend
    now = backend.now()
    # as if a plan ended at `target`
    required = lp.plan_required(preview=True) if goal is None else lp.required_for(*goal)
    rates = backend.site.planner_rates(now)
    strategy = lp.settings.plan_strategy
    slots = plan_slots(
        now,
        required,
        target,
        rates.rates if rates is not None else None,
        precondition=timedelta(seconds=strategy.precondition),
        continuous=strategy.continuous,
    )
    plan = [
        {"start": format_rfc3339(s.start), "end": format_rfc3339(s.end), "price": s.price}
        for s in slots
    ]
    return {"duration": int(required.total_seconds()), "plan": plan or None, "power": power}


async def _target_plan(call: Call) -> object:
    index = call.loadpoint()
    lp = call.backend.site.loadpoints[index]
    raw = call.request.query.get("targetTime")
    try:
        target = _parse_target_time(raw, call.backend.now()) if raw else lp.settings.plan_time
        plan = _plan(call, lp, target)
    except (ValueError, OverflowError):
        raise HttpError(web.Response(status=400)) from None  # evcc: 400 with an empty body
    return {"duration": plan["duration"], "plan": plan["plan"], "unit": "", "power": plan["power"]}


async def _plan_get(call: Call) -> object:
    index = call.loadpoint()
    lp = call.backend.site.loadpoints[index]
    effective = lp.effective_plan(call.backend.now())
    if effective is None:
        return {"planId": 0, "planTime": None, **_plan(call, lp, None)}
    goal = (effective.kind, effective.goal)
    return {
        "planId": effective.id,
        "planTime": effective.time,
        **_plan(call, lp, effective.time, goal),
    }


def _session_id(call: Call) -> int:
    raw = call.value("id")
    if len(raw) > 12:  # names no session (ids count up from 1)
        raise HttpError(error_response(404, f"session not found: {raw[:20]}…"))
    return int(raw)


async def _session_edit(call: Call) -> object:
    """evcc's PUT /api/session/{id}: the JSON body's `vehicle`, `loadpoint`, `odometer` (null
    clears) → the session as `/api/sessions` lists it."""
    text = await call.body_text()
    try:
        body = json.loads(text)
    except ValueError:
        raise SettingError(f"invalid session: {text[:40]!r} is not JSON") from None
    try:
        session = await call.backend.async_edit_session(_session_id(call), body)
    except UnknownSessionError as err:
        raise HttpError(error_response(404, str(err))) from None
    return session_to_json(session, call.backend.now().tzinfo)


async def _session_delete(call: Call) -> object:
    try:
        await call.backend.async_delete_session(_session_id(call))
    except UnknownSessionError as err:
        raise HttpError(error_response(404, str(err))) from None
    return None


async def _static_plan_preview(call: Call) -> object:
    """evcc's preview of a plan not set yet: reach `value` (% for a car with a SoC, else kWh) by
    `time` → `{planTime, duration (s), plan, power (W)}`; changes nothing."""
    index = call.loadpoint()
    lp = call.backend.site.loadpoints[index]
    kind = call.value("type")
    when = parse_time(call.value("time"), call.backend.now(), past_ok=True)
    if when is None:
        raise SettingError("invalid time: null")
    if kind == "soc" and not lp.has_soc:
        raise SettingError("soc planning only available for vehicles with known soc and capacity")
    if kind == "energy" and lp.has_soc:
        raise SettingError("energy planning not available for vehicles with known soc and capacity")
    high = 100.0 if kind == "soc" else MAX_ENERGY_KWH
    goal = parse_float(call.value(), kind)
    if not 0 <= goal <= high:
        raise SettingError(f"{kind} must be between 0 and {high:g}: {goal:g}")
    return {"planTime": format_rfc3339(when), **_plan(call, lp, when, (kind, goal))}


async def _plan_energy_set(call: Call) -> object:
    stored = await call.backend.async_set_plan(
        call.loadpoint(), call.value("time"), energy=call.value()
    )
    return {"energy": stored[LoadpointKey.PLAN_ENERGY], "time": stored[LoadpointKey.PLAN_TIME]}


async def _plan_strategy_set(call: Call) -> object:
    """evcc's plan/strategy: the JSON body `{"continuous": bool, "precondition": s}` → the
    strategy now set (of the loadpoint's vehicle, or the loadpoint's own for a guest car)."""
    body = await call.body_text()
    stored = await call.set_lp(call.loadpoint(), LoadpointKey.PLAN_STRATEGY, body)
    assert isinstance(stored, PlanStrategy)
    return stored.as_json()


async def _vehicle_plan_strategy_set(call: Call) -> object:
    stored = await call.set_vehicle(LoadpointKey.PLAN_STRATEGY, await call.body_text())
    assert isinstance(stored, PlanStrategy)
    return stored.as_json()


async def _repeating_plans_set(call: Call) -> object:
    """evcc's plan/repeating: the JSON body is the vehicle's whole list of repeating plans."""
    stored = await call.set_vehicle(LoadpointKey.REPEATING_PLANS, await call.body_text())
    assert isinstance(stored, tuple)
    return [plan.as_json() for plan in stored]


async def _vehicle_select(call: Call) -> object:
    """evcc's vehicle/{name}: that vehicle is at the loadpoint (taken from another loadpoint
    if it was there) → `{"vehicle": name}`; unknown → 400."""
    index, name = call.loadpoint(), call.value("name")
    await call.set_lp(index, LoadpointKey.VEHICLE, name)
    return {"vehicle": name}


async def _vehicle_remove(call: Call) -> object:
    """evcc's DELETE vehicle: no known vehicle (a guest car) → `{}`."""
    await call.set_lp(call.loadpoint(), LoadpointKey.VEHICLE, False)
    return {}


async def _vehicle_detect(call: Call) -> object:
    """evcc's PATCH vehicle: detect the vehicle again (the one whose integration says it is
    plugged in; else the loadpoint's own when the car leaves) → `{}`."""
    await call.backend.async_start_vehicle_detection(call.loadpoint())
    return {}


async def _plan_energy_delete(call: Call) -> object:
    await call.backend.async_clear_plan(call.loadpoint())
    return {}


# --- vehicle handlers ----------------------------------------------------------------------------


def _vehicle_soc(key: LoadpointKey) -> Handler:
    async def handler(call: Call) -> object:
        return {"soc": await call.set_vehicle(key, call.value())}

    return handler


async def _vehicle_plan_set(call: Call) -> object:
    stored = await call.backend.async_set_vehicle_plan(
        call.vehicle(), call.value("time"), call.value()
    )
    return {"soc": stored[LoadpointKey.PLAN_SOC], "time": stored[LoadpointKey.PLAN_TIME]}


async def _vehicle_plan_delete(call: Call) -> object:
    await call.backend.async_clear_vehicle_plan(call.vehicle())
    return {}


async def _vehicle_mode_set(call: Call) -> object:
    """evcc's vehicles/<name>/mode/<mode>: the mode a loadpoint takes when it arrives."""
    mode = await call.backend.async_set_vehicle_mode(call.vehicle(), call.value())
    return {"mode": str(mode)}


async def _vehicle_mode_delete(call: Call) -> object:
    await call.backend.async_set_vehicle_mode(call.vehicle(), None)
    return {}


# --- the table -----------------------------------------------------------------------------------

# OpenAPI 3.0 schemas of the values (api/openapi.yaml is generated from the table)
_NUMBER: dict[str, Any] = {"type": "number"}
_INTEGER: dict[str, Any] = {"type": "integer"}
_BOOL: dict[str, Any] = {"type": "boolean"}
_TIME: dict[str, Any] = {"type": "string", "format": "date-time", "nullable": True}
_EMPTY: dict[str, Any] = {"type": "object", "maxProperties": 0}
_SLOTS: dict[str, Any] = {
    "type": "array",
    "nullable": True,
    "items": {
        "type": "object",
        "required": ["start", "end", "price"],
        "properties": {
            "start": {"type": "string"},
            "end": {"type": "string"},
            "price": _NUMBER,
        },
    },
}


def _obj(**props: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "required": list(props), "properties": props}


_STRATEGY = _obj(continuous=_BOOL, precondition=_INTEGER)
_REPEATING: dict[str, Any] = {
    "type": "array",
    "items": _obj(
        weekdays={"type": "array", "items": _INTEGER},
        time={"type": "string"},
        tz={"type": "string"},
        soc=_INTEGER,
        active=_BOOL,
    ),
}


def _routes() -> tuple[Route, ...]:
    lp_err = (400, 403, 404)
    site_err = (400, 403)
    r = Route
    # one route per line: method, evcc path (regexes), handler, envelope, summary, errors, schema
    # fmt: off
    return (
        # site
        r("GET", "/api/state", _state, "bare", "State document; `?jq=<filter>` returns the filter's result (a leading `.result` is dropped), a jq error is 400.", (400,), {}),
        r("GET", "/api/health", _health, "text", "`OK` (200) while the control cycle runs, else 500 with an empty body.", (500,)),
        r("POST", f"/api/buffersoc/{{value:{UFLOAT}}}", _site_setting(SiteKey.BUFFER_SOC), "bare", "Battery buffer SoC (%).", site_err, _NUMBER),
        r("POST", f"/api/bufferstartsoc/{{value:{UFLOAT}}}", _site_setting(SiteKey.BUFFER_START_SOC), "bare", "Battery buffer start SoC (%).", site_err, _NUMBER),
        r("POST", f"/api/prioritysoc/{{value:{UFLOAT}}}", _site_setting(SiteKey.PRIORITY_SOC), "bare", "Battery priority SoC (%).", site_err, _NUMBER),
        r("POST", f"/api/residualpower/{{value:{SFLOAT}}}", _site_setting(SiteKey.RESIDUAL_POWER), "bare", "Grid residual power (W).", site_err, _NUMBER),
        r("POST", f"/api/smartcostlimit/{{value:{SFLOAT}}}", _site_limit(LoadpointKey.SMART_COST_LIMIT), "bare", "Smart cost limit (price per kWh) of every loadpoint: charge at full power in pv/minpv while the price is at most this.", site_err, _NUMBER),
        r("DELETE", "/api/smartcostlimit", _site_limit(LoadpointKey.SMART_COST_LIMIT), "bare", "Switch the smart cost limit of every loadpoint off.", (403,), {"type": "number", "nullable": True}),
        r("POST", f"/api/smartfeedinprioritylimit/{{value:{SFLOAT}}}", _site_limit(LoadpointKey.SMART_FEED_IN_PRIORITY_LIMIT), "bare", "Smart feed-in priority limit (price per kWh) of every loadpoint: pv pauses and minpv charges at its minimum while the feed-in price is at least this.", site_err, _NUMBER),
        r("DELETE", "/api/smartfeedinprioritylimit", _site_limit(LoadpointKey.SMART_FEED_IN_PRIORITY_LIMIT), "bare", "Switch the smart feed-in priority limit of every loadpoint off.", (403,), {"type": "number", "nullable": True}),
        r("GET", "/api/tariff/{type:[a-z0-9]+}", _tariff, "bare", "Rates of the `grid`, `feedin`, `planner`, `solar` or `co2` tariff (solar: the forecast W; co2: g/kWh), each rate with `price` (old) and `value` (current); other or unconfigured tariffs 404 `{\"error\":\"tariff not available\"}`.", (404,), _obj(rates={"type": "array"})),
        r("GET", "/api/sessions", _sessions, "bare", "Charging sessions, newest first (`chargeDuration` in ns); `?year=&month=` filter; `?format=csv&lang=` CSV export.", (400,), {"type": "array"}),
        r("PUT", "/api/session/{id:[0-9]+}", _session_edit, "bare", "Change a logged session: the JSON body's `vehicle`, `loadpoint` (text) and `odometer` (km), `null` clears; other fields are ignored → the session as listed. Unknown id → 404, nothing to update or a bad value → 400.", (400, 403, 404), {"type": "object"}),
        r("DELETE", "/api/session/{id:[0-9]+}", _session_delete, "bare", "Delete a logged session → `null`; one still open (its car is connected) → 400, unknown id → 404.", (400, 403, 404), {"type": "object", "nullable": True}),
        r("POST", "/api/batterydischargecontrol/{value:[a-z0-9]+}", _site_setting(SiteKey.BATTERY_DISCHARGE_CONTROL), "bare", "Hold the home battery while a car charges fast or cheaply, `true`/`false`/`1`/`0` (needs battery control).", site_err, _BOOL),
        r("POST", f"/api/batterygridchargelimit/{{value:{SFLOAT}}}", _site_setting(SiteKey.BATTERY_GRID_CHARGE_LIMIT), "bare", "Charge the home battery from the grid while the price is at most this (per kWh; needs battery control).", site_err, _NUMBER),
        r("POST", "/api/batterymode/{value:[a-z]+}", _battery_mode_set, "bare", "Battery mode from outside: `normal`, `hold` or `charge` for 60 s unless sent again (applied in the next cycle; needs battery control).", site_err, {"type": "string"}),
        r("DELETE", "/api/batterymode", _battery_mode_delete, "bare", "End the battery mode from outside → `null` (back to normal, then evcc_ha's own rules).", (403,), {"type": "string", "nullable": True}),
        r("DELETE", "/api/batterygridchargelimit", _battery_grid_charge_limit_delete, "bare", "Switch grid charging of the home battery off.", (403,), {"type": "number", "nullable": True}),
        r("POST", "/api/solaradjusted/{value:[a-z0-9]+}", _site_setting(SiteKey.SOLAR_ADJUSTED), "bare", "Show the solar forecast scaled to today's production (`forecast.solar.scale`), `true`/`false`/`1`/`0`; changes no decision.", site_err, _BOOL),
        r("GET", "/api/telemetry", _telemetry_get, "result", "Telemetry flag (documented old path).", (), _BOOL),
        r("POST", "/api/telemetry/{value:[a-z0-9]+}", _telemetry_set, "result", "Set the telemetry flag, `true`/`false`/`1`/`0` (documented old path; nothing is ever sent).", site_err, _BOOL),
        r("GET", "/api/settings/telemetry", _telemetry_get, "result", "Telemetry flag (evcc ≤ 0.206's real path).", (), _BOOL),
        r("POST", "/api/settings/telemetry/{value:[a-z0-9]+}", _telemetry_set, "bare", "Set the telemetry flag (evcc's real path).", site_err, _BOOL),
        # loadpoint, paths of old and current evcc
        r("POST", LP + "/mode/{value:[a-z]+}", _lp_setting(LoadpointKey.MODE), "bare", "Charge mode `off`, `pv`, `minpv`, `now`.", lp_err, {"type": "string"}),
        r("POST", LP + "/controlprofile/{value:[a-z]+}", _lp_setting(LoadpointKey.CONTROL_PROFILE), "bare", "Control profile `evcc` (evcc's rules) or `smooth` (evcc_ha's: far less switching).", lp_err, {"type": "string"}),
        r("POST", LP + "/batteryboost/{value:[a-z0-9]+}", _lp_setting(LoadpointKey.BATTERY_BOOST), "bare", "Battery boost: charge the car from the home battery once (pv/minpv only), `true`/`false`/`1`/`0`.", lp_err, _BOOL),
        r("POST", LP + f"/batteryboostlimit/{{value:{UINT}}}", _lp_setting(LoadpointKey.BATTERY_BOOST_LIMIT), "bare", "Battery boost limit: the home battery SoC it stops at (%, 100 = none).", lp_err, _INTEGER),
        r("POST", LP + f"/phases/{{value:{UINT}}}", _lp_setting(LoadpointKey.PHASES_CONFIGURED), "bare", "Phases 0 (automatic), 1, 3; returns the configured value.", lp_err, _INTEGER),
        r("POST", LP + f"/mincurrent/{{value:{UFLOAT}}}", _lp_setting(LoadpointKey.MIN_CURRENT), "bare", "Minimum current (A).", lp_err, _NUMBER),
        r("POST", LP + f"/maxcurrent/{{value:{UFLOAT}}}", _lp_setting(LoadpointKey.MAX_CURRENT), "bare", "Maximum current (A).", lp_err, _NUMBER),
        r("POST", LP + f"/enable/threshold/{{value:{SFLOAT}}}", _lp_setting(LoadpointKey.ENABLE_THRESHOLD), "bare", "PV enable threshold (W).", lp_err, _NUMBER),
        r("POST", LP + f"/disable/threshold/{{value:{SFLOAT}}}", _lp_setting(LoadpointKey.DISABLE_THRESHOLD), "bare", "PV disable threshold (W).", lp_err, _NUMBER),
        # loadpoint, old paths only
        r("POST", LP + f"/minsoc/{{value:{UINT}}}", _lp_setting(LoadpointKey.MIN_SOC), "result", "Minimum SoC (%) (old; current: vehicles/<name>/minsoc).", lp_err, _INTEGER),
        r("POST", LP + f"/target/soc/{{value:{UINT}}}", _lp_setting(LoadpointKey.LIMIT_SOC), "result", "Target SoC (%) = limitSoc (old).", lp_err, _INTEGER),
        r("POST", LP + f"/target/energy/{{value:{UFLOAT}}}", _lp_setting(LoadpointKey.LIMIT_ENERGY), "result", "Target energy (kWh) = limitEnergy (old).", lp_err, _NUMBER),
        r("POST", LP + "/target/time/" + TIME, _target_time_set, "result", "Target time (RFC 3339, `Z` or offset) = plan time for the limit SoC/energy (old); past → 400.", lp_err, _obj(soc=_INTEGER, energy=_NUMBER, time=_TIME)),
        r("DELETE", LP + "/target/time", _target_time_delete, "result", "Clear the target time (old).", (403, 404), _EMPTY),
        r("GET", LP + "/target/plan", _target_plan, "result", "Plan for the target time or `?targetTime=`: `{duration (s), plan, unit, power (W)}`; a bad time is 400 with an empty body (old).", (400, 404), _obj(duration=_INTEGER, plan=_SLOTS, unit={"type": "string"}, power=_NUMBER)),
        # loadpoint, current evcc's names
        r("POST", LP + f"/limitsoc/{{value:{UFLOAT}}}", _lp_setting(LoadpointKey.LIMIT_SOC), "bare", "Limit SoC (%).", lp_err, _INTEGER),
        r("POST", LP + f"/limitenergy/{{value:{UFLOAT}}}", _lp_setting(LoadpointKey.LIMIT_ENERGY), "bare", "Limit energy (kWh).", lp_err, _NUMBER),
        r("POST", LP + f"/plan/energy/{{value:{UFLOAT}}}/" + TIME, _plan_energy_set, "bare", "Energy plan: kWh by time → `{energy, time}`.", lp_err, _obj(energy=_NUMBER, time=_TIME)),
        r("DELETE", LP + "/plan/energy", _plan_energy_delete, "bare", "Delete the energy plan → `{}`.", (403, 404), _EMPTY),
        r("POST", LP + "/plan/strategy", _plan_strategy_set, "bare", "Plan strategy from the JSON body `{\"continuous\": bool, \"precondition\": s}` → the strategy set.", lp_err, _STRATEGY),
        r("POST", LP + "/vehicle/{name:[a-zA-Z0-9_.:-]+}", _vehicle_select, "bare", "The vehicle (name or title) at the loadpoint, taken from another loadpoint if it was there → `{vehicle}`; an unknown one → 400.", lp_err, _obj(vehicle={"type": "string"})),
        r("DELETE", LP + "/vehicle", _vehicle_remove, "bare", "No known vehicle at the loadpoint (a guest car: no SoC source, limits by energy) → `{}`; the loadpoint's own vehicle returns when the car leaves.", (403, 404), _EMPTY),
        r("PATCH", LP + "/vehicle", _vehicle_detect, "bare", "Vehicle detection: the vehicle whose integration says it is plugged in (for 10 min) → `{}`.", lp_err, _EMPTY),
        r("GET", LP + "/plan/static/preview/{type:(?:soc|energy)}/{value:[0-9.]+}/" + TIME, _static_plan_preview, "bare", "Preview of a plan not set yet: `soc` (%, a car with a SoC) or `energy` (kWh, one without) by the time → `{planTime, duration (s), plan, power (W)}`; the other kind, a goal out of range or a bad time → 400.", (400, 404), _obj(planTime=_TIME, duration=_INTEGER, plan=_SLOTS, power=_NUMBER)),
        r("GET", LP + "/plan", _plan_get, "bare", "The active plan: `{planId, planTime, duration (s), plan, power (W)}`.", (404,), _obj(planId=_INTEGER, planTime=_TIME, duration=_INTEGER, plan=_SLOTS, power=_NUMBER)),
        r("POST", LP + f"/enable/delay/{{value:{UFLOAT}}}", _lp_setting(LoadpointKey.ENABLE_DELAY), "bare", "PV enable delay (s).", lp_err, _NUMBER),
        r("POST", LP + f"/disable/delay/{{value:{UFLOAT}}}", _lp_setting(LoadpointKey.DISABLE_DELAY), "bare", "PV disable delay (s).", lp_err, _NUMBER),
        r("POST", LP + f"/priority/{{value:{UFLOAT}}}", _lp_setting(LoadpointKey.PRIORITY), "bare", "Loadpoint priority (whole number ≥ 0).", lp_err, _INTEGER),
        r("POST", LP + f"/smartcostlimit/{{value:{SFLOAT}}}", _lp_setting(LoadpointKey.SMART_COST_LIMIT), "bare", "Smart cost limit (price per kWh): charge at full power in pv/minpv while the price is at most this.", lp_err, _NUMBER),
        r("DELETE", LP + "/smartcostlimit", _limit_delete(LoadpointKey.SMART_COST_LIMIT), "bare", "Switch the smart cost limit off → null.", (403, 404), {"type": "number", "nullable": True}),
        r("POST", LP + f"/smartfeedinprioritylimit/{{value:{SFLOAT}}}", _lp_setting(LoadpointKey.SMART_FEED_IN_PRIORITY_LIMIT), "bare", "Smart feed-in priority limit (price per kWh): pv pauses and minpv charges at its minimum (1 phase where it can switch) while the feed-in price is at least this.", lp_err, _NUMBER),
        r("DELETE", LP + "/smartfeedinprioritylimit", _limit_delete(LoadpointKey.SMART_FEED_IN_PRIORITY_LIMIT), "bare", "Switch the smart feed-in priority limit off → null.", (403, 404), {"type": "number", "nullable": True}),
        # vehicles: the vehicle configured at a loadpoint; name = slug of its title, or the title
        r("POST", VEHICLE + f"/minsoc/{{value:{UFLOAT}}}", _vehicle_soc(LoadpointKey.MIN_SOC), "bare", "Vehicle minimum SoC (%) → `{soc}`.", lp_err, _obj(soc=_INTEGER)),
        r("POST", VEHICLE + f"/limitsoc/{{value:{UFLOAT}}}", _vehicle_soc(LoadpointKey.LIMIT_SOC), "bare", "Vehicle limit SoC (%) → `{soc}`.", lp_err, _obj(soc=_INTEGER)),
        r("POST", VEHICLE + f"/plan/soc/{{value:{UFLOAT}}}/" + TIME, _vehicle_plan_set, "bare", "Vehicle SoC plan: SoC by time → `{soc, time}`.", lp_err, _obj(soc=_INTEGER, time=_TIME)),
        r("POST", VEHICLE + "/plan/strategy", _vehicle_plan_strategy_set, "bare", "The vehicle's plan strategy from the JSON body → the strategy set.", lp_err, _STRATEGY),
        r("POST", VEHICLE + "/mode/{value:[a-z]+}", _vehicle_mode_set, "bare", "The mode a loadpoint takes when this vehicle arrives (off, now, minpv, pv) → `{mode}`.", lp_err, _obj(mode={"type": "string"})),
        r("DELETE", VEHICLE + "/mode", _vehicle_mode_delete, "bare", "The vehicle no longer sets a mode when it arrives → `{}`.", (403, 404), _EMPTY),
        r("POST", VEHICLE + "/plan/repeating", _repeating_plans_set, "bare", "The vehicle's repeating plans from the JSON body `[{weekdays, time, tz, soc, active}]` (weekdays 0 = Sunday … 6, time HH:MM) → the plans set.", lp_err, _REPEATING),
        r("DELETE", VEHICLE + "/plan/soc", _vehicle_plan_delete, "bare", "Delete the vehicle's SoC plan → `{}`.", (403, 404), _EMPTY),
        # websocket, root page
        r("GET", "/ws", _ws, "ws", "Websocket: the flattened state, then one message per changed value, at least every 30 s."),
        r("GET", "/", _root, "html", "HTML page (contains `evcc-app-compatible` for the evcc app's server check); evcc port only.", (), {}, True),
    )
    # fmt: on


ROUTES: tuple[Route, ...] = _routes()


# --- running a route -----------------------------------------------------------------------------


class ApiContext:
    """What a route runs with: where the backend comes from and the policy around it.

    * `get_backend()` → the running site's backend, None → 503 `{"error": …}`.
    * `read_only` → every write answers 403 `{"error": …}`.
    * `allowed_origins` (evcc port): a write that carries an `Origin` header not in this list is
      403 — a web page in a browser cannot change charging; curl, apps and Node-RED send no
      `Origin`. None: no check (the Home Assistant views, which need a token anyway).
    * `authorize_write(request)` may raise (Home Assistant: non-admin users).
    * `still_current(backend)` lets /ws clients notice that the site was reloaded.
    """

    def __init__(
        self,
        get_backend: Callable[[], Backend | None],
        *,
        read_only: bool = False,
        allowed_origins: Iterable[str] | None = None,
        authorize_write: Callable[[web.Request], None] | None = None,
        ws_heartbeat: float = HEARTBEAT_S,
    ) -> None:
        self.get_backend = get_backend
        self.read_only = read_only
        self.allowed_origins = None if allowed_origins is None else frozenset(allowed_origins)
        self.authorize_write = authorize_write
        self.state_cache = StateCache()
        self.hub = WsHub(ws_heartbeat)
        self.jq = JqRunner()

    def still_current(self, backend: Backend) -> bool:
        return self.get_backend() is backend

    async def handle(self, route: Route, request: web.Request) -> web.StreamResponse:
        if route.write:
            if self.read_only:
                return error_response(403, "read-only: this API does not accept changes")
            origin = request.headers.get("Origin")
            if (
                origin is not None
                and self.allowed_origins is not None
                and origin not in self.allowed_origins
            ):
                return error_response(403, f"origin not allowed: {origin[:100]}")
            if self.authorize_write is not None:
                self.authorize_write(request)
        backend = self.get_backend()
        if backend is None:
            return error_response(503, "no evcc_ha site is loaded")
        call = Call(backend, request, request.match_info, self)
        if route.envelope == "ws":  # the socket handles its own errors
            socket = await route.handler(call)
            assert isinstance(socket, web.StreamResponse)
            return socket
        try:
            result = await route.handler(call)
        except HttpError as err:
            return err.response
        except SettingError as err:
            return error_response(400, str(err))
        except CommandError as err:
            return error_response(502, str(err))
        if isinstance(result, web.StreamResponse):
            return result
        return json_response({"result": result} if route.envelope == "result" else result)

    async def close(self) -> None:
        await self.hub.close()
        await self.jq.close()

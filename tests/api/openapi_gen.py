"""Generate `custom_components/evcc_ha/api/openapi.yaml` (and the README route table) from the
route table, so the document always describes what is served.

    .cache/venv-min/bin/python -m tests.api.openapi_gen            # rewrite openapi.yaml
    .cache/venv-min/bin/python -m tests.api.openapi_gen --markdown # print the route table

`tests/api/test_openapi.py` fails when the committed file differs from the generated one.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped]

import custom_components.evcc_ha  # noqa: F401  # isort: skip
from custom_components.evcc_ha.api.routes import LP, ROUTES, VEHICLE, Route
from custom_components.evcc_ha.api.state import EVCC_VERSION

OPENAPI_FILE = Path(__file__).parents[2] / "custom_components" / "evcc_ha" / "api" / "openapi.yaml"

_PARAM = re.compile(r"\{(\w+):([^}]+)\}")

_PARAM_TEXT = {
    "id": "Loadpoint id, 1-based; an id without a loadpoint is 404.",
    "name": "Vehicle name (slug of its title, see `vehicles` in the state) or its title.",
    "value": "The new value (path segment; the core validates it).",
    "time": "RFC 3339 time, `Z` or an offset (`+` accepted, unlike evcc 0.122).",
    "type": "Tariff: `grid`, `feedin` or `planner`.",
}

_QUERY: dict[str, list[dict[str, Any]]] = {
    "/api/state": [
        {
            "name": "jq",
            "in": "query",
            "required": False,
            "description": "jq filter applied to the state document.",
            "schema": {"type": "string"},
        }
    ],
    "/api/sessions": [
        {
            "name": "format",
            "in": "query",
            "required": False,
            "schema": {"type": "string", "enum": ["json", "csv"]},
        },
        {
            "name": "lang",
            "in": "query",
            "required": False,
            "description": "CSV language (`en`, `de`); default from Accept-Language.",
            "schema": {"type": "string"},
        },
        {
            "name": "year",
            "in": "query",
            "required": False,
            "schema": {"type": "integer", "minimum": 1, "maximum": 9999},
        },
        {
            "name": "month",
            "in": "query",
            "required": False,
            "description": "Only together with `year`.",
            "schema": {"type": "integer", "minimum": 1, "maximum": 12},
        },
    ],
    LP + "/target/plan": [
        {
            "name": "targetTime",
            "in": "query",
            "required": False,
            "description": "RFC 3339 time to plan for instead of the set target time.",
            "schema": {"type": "string", "format": "date-time"},
        }
    ],
}

_ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {"type": "string"}},
}
_JSON_ERROR = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
_NOT_FOUND_TEXT = {"text/plain": {"schema": {"type": "string", "example": "404 page not found\n"}}}


def openapi_path(route: Route) -> str:
    return _PARAM.sub(r"{\1}", route.path)


def _parameters(route: Route) -> list[dict[str, Any]]:
    params: list[dict[str, Any]] = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "description": _PARAM_TEXT[name],
            "schema": {"type": "string", "pattern": f"^{regex}$"},
        }
        for name, regex in _PARAM.findall(route.path)
    ]
    return params + _QUERY.get(route.path, [])


def _success(route: Route) -> dict[str, Any]:
    if route.envelope == "text":
        return {
            "description": "Healthy.",
            "content": {"text/plain": {"schema": {"type": "string", "enum": ["OK\n"]}}},
        }
    if route.envelope == "html":
        return {
            "description": "HTML page.",
            "content": {"text/html": {"schema": {"type": "string"}}},
        }
    schema = dict(route.schema)
    if route.envelope == "result":
        schema = {
            "type": "object",
            "required": ["result"],
            "properties": {"result": schema},
            "description": "Old envelope (evcc ≤ 0.206).",
        }
    content: dict[str, Any] = {"application/json": {"schema": schema}}
    if route.path == "/api/sessions":
        content["text/csv"] = {"schema": {"type": "string"}}
    return {
        "description": "The value after the change (or the requested data).",
        "content": content,
    }


def _errors(route: Route) -> dict[str, Any]:
    responses: dict[str, Any] = {}
    for code in route.errors:
        if code == 400:
            if route.path == LP + "/target/plan":
                responses["400"] = {"description": "Bad `targetTime` (empty body, as evcc)."}
            else:
                responses["400"] = {"description": "Invalid value.", "content": _JSON_ERROR}
        elif code == 403:
            responses["403"] = {"description": "Read-only port.", "content": _JSON_ERROR}
        elif code == 500:
            responses["500"] = {"description": "Not healthy (empty body)."}
    if "{" in route.path or 404 in route.errors:
        content: dict[str, Any] = dict(_NOT_FOUND_TEXT)
        if route.path.startswith(VEHICLE) or route.path.startswith("/api/tariff/"):
            content.update(_JSON_ERROR)
        responses["404"] = {
            "description": "Path value not matching, unknown loadpoint, vehicle or tariff.",
            "content": content,
        }
    return responses


_REPEATING_BODY: dict[str, Any] = {
    "type": "array",
    "maxItems": 10,
    "items": {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "weekdays": {
                "type": "array",
                "items": {"type": "integer", "minimum": 0, "maximum": 6},
            },
            "time": {"type": "string", "pattern": "^([01][0-9]|2[0-3]):[0-5][0-9]$"},
            "tz": {"type": "string", "enum": ["", "UTC", "Europe/Berlin"]},
            "soc": {"type": "integer", "minimum": 0, "maximum": 100},
            "active": {"type": "boolean"},
        },
    },
}


def build_openapi() -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for route in ROUTES:
        if route.envelope == "ws":
            continue  # a websocket is not an OpenAPI operation
        item = paths.setdefault(openapi_path(route), {})
        params = _parameters(route)
        operation: dict[str, Any] = {
            "summary": route.summary,
            "operationId": _operation_id(route),
            "tags": [_tag(route)],
        }
        if params:
            operation["parameters"] = params
        if route.path.endswith("/plan/strategy"):
            # evcc's only JSON request body: the strategy object, as the response carries it
            operation["requestBody"] = {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "additionalProperties": False,
                            "properties": {
                                "continuous": {"type": "boolean"},
                                "precondition": {
                                    "type": "integer",
                                    "minimum": 0,
                                    "maximum": 86400,
                                },
                            },
                        }
                    }
                },
            }
        if route.path.endswith("/plan/repeating"):
            operation["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": _REPEATING_BODY}},
            }
        if route.path == "/api/session/{id:[0-9]+}" and route.method == "PUT":
            text = {"type": "string", "maxLength": 100, "nullable": True}
            operation["requestBody"] = {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "properties": {
                                "vehicle": text,
                                "loadpoint": text,
                                "odometer": {
                                    "type": "number",
                                    "minimum": 0,
                                    "maximum": 10_000_000,
                                    "nullable": True,
                                },
                            },
                        }
                    }
                },
            }
        operation["responses"] = {"200": _success(route), **_errors(route)}
        item[route.method.lower()] = operation
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "evcc_ha: evcc-compatible REST API",
            "version": EVCC_VERSION,
            "description": (
                "The routes evcc_ha serves on its evcc port (default 7070, no authentication) "
                "and, with the prefix /api/evcc_ha instead of /api, as Home Assistant views "
                '(bearer token). Old routes (evcc <= 0.206) answer {"result": value}, current '
                "routes the bare value. Generated from api/routes.py by tests/api/openapi_gen.py."
            ),
        },
        "servers": [{"url": "http://127.0.0.1:7070"}],
        "paths": paths,
        "components": {"schemas": {"Error": _ERROR}},
    }


def _tag(route: Route) -> str:
    if route.path.startswith("/api/loadpoints/"):
        return "loadpoints"
    if route.path.startswith("/api/vehicles/"):
        return "vehicles"
    return "site"


def _operation_id(route: Route) -> str:
    words = re.sub(r"\{(\w+):[^}]+\}", r"\1", route.path).strip("/").split("/")
    words = [w for w in words if w != "api"] or ["root"]
    name = "_".join(re.sub(r"\W", "", w) for w in words)
    return f"{route.method.lower()}_{name}"


class _PlainDumper(yaml.SafeDumper):
    """No `&id001` anchors: every repeated schema is written out."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def render_yaml() -> str:
    header = "# Generated by `python -m tests.api.openapi_gen` from api/routes.py: do not edit.\n"
    body = yaml.dump(
        build_openapi(), Dumper=_PlainDumper, sort_keys=False, allow_unicode=True, width=100
    )
    return header + body


def markdown_table() -> str:
    """The route table for the README (evcc port paths; HA: /api/evcc_ha/… instead of /api/…)."""
    lines = [
        "| Method | Path | Envelope | Notes |",
        "|---|---|---|---|",
    ]
    envelope = {
        "result": '`{"result": …}`',
        "bare": "bare value",
        "text": "text",
        "html": "HTML",
        "ws": "websocket",
        "csv": "CSV",
    }
    for route in ROUTES:
        path = openapi_path(route).replace("|", "\\|")
        notes = route.summary.replace("|", "\\|")
        lines.append(f"| {route.method} | `{path}` | {envelope[route.envelope]} | {notes} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> None:
    if "--markdown" in argv:
        sys.stdout.write(markdown_table())
        return
    OPENAPI_FILE.write_text(render_yaml(), encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1:])

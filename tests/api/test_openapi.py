"""api/openapi.yaml describes exactly the served routes."""

from __future__ import annotations

import re
from typing import Any

import yaml  # type: ignore[import-untyped]

from custom_components.evcc_ha.api.routes import ROUTES

from .openapi_gen import OPENAPI_FILE, build_openapi, openapi_path, render_yaml


def test_committed_document_is_up_to_date() -> None:
    text = OPENAPI_FILE.read_text(encoding="utf-8")
    assert text == render_yaml(), "run: python -m tests.api.openapi_gen"
    assert yaml.safe_load(text) == build_openapi()


def test_every_route_is_documented_with_its_regexes() -> None:
    doc: dict[str, Any] = yaml.safe_load(OPENAPI_FILE.read_text(encoding="utf-8"))
    assert doc["openapi"].startswith("3.")
    operations = {(method.upper(), path) for path, item in doc["paths"].items() for method in item}
    for route in ROUTES:
        if route.envelope == "ws":
            continue
        path = openapi_path(route)
        assert (route.method, path) in operations
        operation = doc["paths"][path][route.method.lower()]
        assert "200" in operation["responses"]
        patterns = {
            p["name"]: p["schema"]["pattern"]
            for p in operation.get("parameters", [])
            if p["in"] == "path"
        }
        for name, regex in re.findall(r"\{(\w+):([^}]+)\}", route.path):
            assert patterns[name] == f"^{regex}$"
            assert "404" in operation["responses"]
        if route.write:
            assert "403" in operation["responses"]
    assert len(operations) == len([r for r in ROUTES if r.envelope != "ws"])

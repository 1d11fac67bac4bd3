"""Static checks of manifest.json, hacs.json and the translations."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
INTEGRATION = ROOT / "custom_components" / "evcc_ha"

HACS_KEYS = {
    "name",
    "content_in_root",
    "zip_release",
    "filename",
    "hide_default_branch",
    "country",
    "homeassistant",
    "render_readme",
    "hacs",
    "persistent_directory",
}
MANIFEST_REQUIRED = {
    "domain",
    "name",
    "codeowners",
    "config_flow",
    "documentation",
    "integration_type",
    "iot_class",
    "issue_tracker",
    "requirements",
    "version",
}


def _load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _leaf_keys(tree: dict[str, Any], prefix: str = "") -> set[str]:
    keys: set[str] = set()
    for key, value in tree.items():
        if isinstance(value, dict):
            keys |= _leaf_keys(value, f"{prefix}{key}.")
        else:
            keys.add(f"{prefix}{key}")
    return keys


def _flow_keys(kind: str) -> set[str]:
    """Error or abort keys the config flow source can produce."""
    tree = ast.parse((INTEGRATION / "config_flow.py").read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if kind == "error" and isinstance(node, ast.Assign):
            # errors[...] = "key"
            for target in node.targets:
                if (
                    isinstance(target, ast.Subscript)
                    and isinstance(target.value, ast.Name)
                    and target.value.id == "errors"
                    and isinstance(node.value, ast.Constant)
                ):
                    found.add(node.value.value)
        if kind == "abort" and isinstance(node, ast.Call):
            # self.async_abort(reason="key")
            func = node.func
            if isinstance(func, ast.Attribute) and func.attr == "async_abort":
                for keyword in node.keywords:
                    if keyword.arg == "reason" and isinstance(keyword.value, ast.Constant):
                        found.add(keyword.value.value)
    return found


@pytest.fixture(scope="module")
def manifest() -> dict[str, Any]:
    return _load(INTEGRATION / "manifest.json")


def test_manifest_key_order(manifest: dict[str, Any]) -> None:
    """hassfest wants domain, name, then the other keys in alphabetical order."""
    keys = list(manifest)
    assert keys[:2] == ["domain", "name"]
    assert keys[2:] == sorted(keys[2:])


def test_manifest_content(manifest: dict[str, Any]) -> None:
    assert set(manifest) >= MANIFEST_REQUIRED
    assert manifest["domain"] == "evcc_ha"
    assert manifest["config_flow"] is True
    assert manifest["documentation"].startswith("https://")
    assert manifest["issue_tracker"].startswith("https://")
    assert manifest["codeowners"]
    assert all(owner.startswith("@") for owner in manifest["codeowners"])
    assert re.fullmatch(r"\d+\.\d+\.\d+", manifest["version"])


def test_manifest_domain_matches_code(manifest: dict[str, Any]) -> None:
    from custom_components.evcc_ha.const import DOMAIN

    assert manifest["domain"] == DOMAIN == INTEGRATION.name


def test_requirements_are_ranges(manifest: dict[str, Any]) -> None:
    """Exact pins clash with other integrations (core's modbus pins pymodbus)."""
    for requirement in manifest["requirements"]:
        assert "==" not in requirement, requirement
        assert re.search(r"[<>~]", requirement), requirement


def test_hacs_json() -> None:
    hacs = _load(ROOT / "hacs.json")
    assert set(hacs) <= HACS_KEYS
    assert hacs["name"]
    assert re.fullmatch(r"\d{4}\.\d+\.\d+", hacs["homeassistant"])
    if hacs.get("zip_release"):
        assert hacs.get("filename")


def test_hacs_name_matches_manifest(manifest: dict[str, Any]) -> None:
    """The manifest name and the HACS name agree."""
    assert _load(ROOT / "hacs.json")["name"] == manifest["name"]


def test_translations_have_same_keys() -> None:
    en = _load(INTEGRATION / "translations" / "en.json")
    de = _load(INTEGRATION / "translations" / "de.json")
    assert _leaf_keys(en) == _leaf_keys(de)


@pytest.mark.parametrize("language", ["en", "de"])
def test_translations_not_empty(language: str) -> None:
    tree = _load(INTEGRATION / "translations" / f"{language}.json")

    def values(node: Any) -> list[Any]:
        if isinstance(node, dict):
            return [v for child in node.values() for v in values(child)]
        return [node]

    assert all(isinstance(v, str) and v.strip() for v in values(tree))


FLOW_SECTIONS = {
    "ConfigFlow": ("config",),
    "OptionsFlow": ("options",),
    "ConfigSubentryFlow": ("config_subentries", "loadpoint"),
}
# subentry flows by class: their translation sections
SUBENTRY_SECTIONS = {
    "ModbusMeterSubentryFlow": ("config_subentries", "modbus_meter"),
    "VehicleSubentryFlow": ("config_subentries", "vehicle"),
    "CircuitSubentryFlow": ("config_subentries", "circuit"),
}


def _flow_classes() -> list[tuple[str, dict[str, Any], set[str], set[str]]]:
    """(class, translation section, step names, error keys) of each flow in config_flow.py."""
    strings = _load(INTEGRATION / "translations" / "en.json")
    tree = ast.parse((INTEGRATION / "config_flow.py").read_text(encoding="utf-8"))
    found = []
    for cls in (n for n in tree.body if isinstance(n, ast.ClassDef)):
        bases = [b.id for b in cls.bases if isinstance(b, ast.Name) and b.id in FLOW_SECTIONS]
        if not bases:
            continue
        section: Any = strings
        for key in SUBENTRY_SECTIONS.get(cls.name, FLOW_SECTIONS[bases[0]]):
            section = section[key]
        steps = {
            f.name.removeprefix("async_step_")
            for f in cls.body
            if isinstance(f, ast.AsyncFunctionDef) and f.name.startswith("async_step_")
        }
        errors = {
            node.value.value
            for node in ast.walk(cls)
            if isinstance(node, ast.Assign)
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
            and any(
                isinstance(t, ast.Subscript)
                and isinstance(t.value, ast.Name)
                and t.value.id == "errors"
                for t in node.targets
            )
        }
        found.append((cls.name, section, steps, errors))
    return found


def test_every_flow_step_and_error_is_translated() -> None:
    classes = _flow_classes()
    assert len(classes) == 6
    for name, section, steps, errors in classes:
        assert steps == set(section["step"]), name
        for step in steps:
            texts = section["step"][step]
            assert {"title", "data", "data_description"} <= set(texts), (name, step)
            assert set(texts["data"]) == set(texts["data_description"]), (name, step)
        assert errors <= set(section.get("error", {})), name


def test_flow_aborts_are_translated() -> None:
    strings = _load(INTEGRATION / "translations" / "en.json")
    known = (
        set(strings["config"]["abort"])
        | set(strings["config_subentries"]["loadpoint"].get("abort", {}))
        | set(strings.get("options", {}).get("abort", {}))
    )
    # already_configured and reconfigure_successful come from Home Assistant helpers.
    assert _flow_keys("abort") <= known | {"already_configured", "reconfigure_successful"}


def test_icons_and_brand() -> None:
    assert isinstance(_load(INTEGRATION / "icons.json"), dict)
    png = (INTEGRATION / "brand" / "icon.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width = int.from_bytes(png[16:20], "big")
    height = int.from_bytes(png[20:24], "big")
    assert (width, height) == (256, 256)


def test_quality_scale() -> None:
    """Every rule has a known status; todo and exempt rules say why."""
    import yaml

    rules = yaml.safe_load((INTEGRATION / "quality_scale.yaml").read_text(encoding="utf-8"))
    rules = rules["rules"]
    assert len(rules) == 54
    for name, rule in rules.items():
        status = rule if isinstance(rule, str) else rule["status"]
        assert status in {"done", "todo", "exempt"}, name
        if status == "exempt":
            assert isinstance(rule, dict) and rule.get("comment"), name

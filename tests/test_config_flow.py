"""Tests for the evcc_ha config flow (site entries), plus helpers the other flow tests share."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from unittest.mock import AsyncMock

import pytest
from homeassistant.config_entries import SOURCE_IGNORE, SOURCE_USER, ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.evcc_ha.config_flow import (
    clean_site_title,
    default_options,
    title_key,
)
from custom_components.evcc_ha.const import (
    CONF_API_ALLOWED_ORIGINS,
    CONF_API_ENABLED,
    CONF_API_HOST,
    CONF_API_PORT,
    CONF_API_READ_ONLY,
    CONF_BATTERY_CAPACITY,
    CONF_BATTERY_INVERT,
    CONF_BATTERY_POWER,
    CONF_BATTERY_SOC,
    CONF_DEMO,
    CONF_DEMO_HISTORY_DAYS,
    CONF_GRID_ENERGY,
    CONF_GRID_INVERT,
    CONF_GRID_POWER,
    CONF_INTERVAL,
    CONF_MQTT_ENABLED,
    CONF_MQTT_READ_ONLY,
    CONF_MQTT_TOPIC,
    CONF_PV_POWER,
    CONF_SITE_TITLE,
    DEFAULT_SITE_TITLE,
    DOMAIN,
    SUBENTRY_CIRCUIT,
    SUBENTRY_LOADPOINT,
    SUBENTRY_MODBUS_METER,
    SUBENTRY_VEHICLE,
)
from custom_components.evcc_ha.devices.demo_history import DEMO_HISTORY_DAYS

pytestmark = pytest.mark.usefixtures("mock_setup_entry")

TRANSLATIONS = Path(__file__).parents[1] / "custom_components" / DOMAIN / "translations"
LANGUAGES = ("en", "de")


def load_translations() -> dict[str, dict[str, Any]]:
    return {
        lang: json.loads((TRANSLATIONS / f"{lang}.json").read_text(encoding="utf-8"))
        for lang in LANGUAGES
    }


def check_form(result: Mapping[str, Any], *section: str) -> None:
    """Every field of the form and every error it shows is translated in every language.

    `section` is the path to the flow's strings, e.g. ("config",) or
    ("config_subentries", "loadpoint").
    """
    assert result["type"] is FlowResultType.FORM
    for lang, strings in load_translations().items():
        for part in section:
            strings = strings[part]
        step = strings["step"][result["step_id"]]
        assert step["title"], (lang, result["step_id"])
        for marker in result["data_schema"].schema:
            assert step["data"][str(marker)], (lang, result["step_id"], str(marker))
            assert step["data_description"][str(marker)], (lang, result["step_id"], str(marker))
        for error in (result.get("errors") or {}).values():
            assert strings["error"][error], (lang, error)


def set_sensor(
    hass: HomeAssistant,
    entity_id: str,
    state: str = "0",
    unit: str | None = None,
    device_class: str | None = None,
    **attributes: Any,
) -> str:
    """Create or update an entity state with a unit and device class."""
    if unit is not None:
        attributes["unit_of_measurement"] = unit
    if device_class is not None:
        attributes["device_class"] = device_class
    hass.states.async_set(entity_id, state, attributes)
    return entity_id


def add_site_sensors(hass: HomeAssistant) -> None:
    """Sensors a real site uses: grid (W, kW), energy, PV, battery, SoC, and misfits."""
    set_sensor(hass, "sensor.grid_power", "350", "W", "power")
    set_sensor(hass, "sensor.grid_power_kw", "0.35", "kW", "power")
    set_sensor(hass, "sensor.grid_energy", "12345.6", "kWh", "energy")
    set_sensor(hass, "sensor.pv_east", "1200", "W", "power")
    set_sensor(hass, "sensor.pv_west", "0.9", "kW", "power")
    set_sensor(hass, "sensor.battery_power", "-500", "W", "power")
    set_sensor(hass, "sensor.battery_soc", "55", "%", "battery")
    set_sensor(hass, "sensor.untyped_power", "10", "W")  # template sensor without device class
    set_sensor(hass, "sensor.temperature", "21", "°C", "temperature")
    set_sensor(hass, "sensor.power_as_energy", "1", "W", "energy")
    set_sensor(hass, "sensor.voltage", "230", "V", "voltage")
    set_sensor(hass, "binary_sensor.door", "off")


METERS: dict[str, Any] = {
    CONF_GRID_POWER: "sensor.grid_power",
    CONF_GRID_INVERT: False,
    CONF_GRID_ENERGY: "sensor.grid_energy",
    CONF_PV_POWER: ["sensor.pv_east", "sensor.pv_west"],
    CONF_BATTERY_POWER: "sensor.battery_power",
    CONF_BATTERY_INVERT: True,
    CONF_BATTERY_SOC: "sensor.battery_soc",
    CONF_BATTERY_CAPACITY: 10,
}

# (field changes, field, error): every meter validation error.
METER_ERRORS: list[tuple[dict[str, Any], str, str]] = [
    ({CONF_GRID_POWER: "sensor.missing"}, CONF_GRID_POWER, "entity_not_found"),
    ({CONF_GRID_POWER: "binary_sensor.door"}, CONF_GRID_POWER, "invalid_power_sensor"),
    ({CONF_GRID_POWER: "sensor.temperature"}, CONF_GRID_POWER, "invalid_power_sensor"),
    ({CONF_GRID_POWER: "sensor.power_as_energy"}, CONF_GRID_POWER, "invalid_power_sensor"),
    ({CONF_GRID_ENERGY: "sensor.grid_power"}, CONF_GRID_ENERGY, "invalid_energy_sensor"),
    ({CONF_PV_POWER: ["sensor.pv_east", "sensor.voltage"]}, CONF_PV_POWER, "invalid_power_sensor"),
    ({CONF_PV_POWER: ["sensor.grid_power"]}, CONF_PV_POWER, "entity_used_twice"),
    ({CONF_BATTERY_POWER: "sensor.pv_east"}, CONF_BATTERY_POWER, "entity_used_twice"),
    ({CONF_BATTERY_POWER: "sensor.battery_soc"}, CONF_BATTERY_POWER, "invalid_power_sensor"),
    ({CONF_BATTERY_SOC: "sensor.battery_power"}, CONF_BATTERY_SOC, "invalid_soc_sensor"),
    ({CONF_BATTERY_POWER: None}, CONF_BATTERY_POWER, "battery_power_missing"),
    (
        {CONF_BATTERY_POWER: None, CONF_BATTERY_SOC: None},
        CONF_BATTERY_POWER,
        "battery_power_missing",
    ),
]


def with_changes(base: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """`base` with `changes` applied; a change to None leaves the field out (cleared)."""
    data = {**base, **changes}
    return {key: value for key, value in data.items() if value is not None}


def _default_of(result: Mapping[str, Any], key: str) -> object:
    """The default value the form schema offers for key."""
    for marker in result["data_schema"].schema:
        if marker == key:
            return marker.default()
    raise AssertionError(f"{key} not in form")


async def _start_user(hass: HomeAssistant) -> dict[str, Any]:
    return await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})


async def test_user_creates_demo_entry(hass: HomeAssistant, mock_setup_entry: AsyncMock) -> None:
    """A demo site needs only its title: no meters step, default options."""
    result = await _start_user(hass)
    check_form(result, "config")
    assert result["step_id"] == "user"
    assert result["errors"] == {}
    assert _default_of(result, CONF_SITE_TITLE) == DEFAULT_SITE_TITLE
    assert _default_of(result, CONF_DEMO) is False

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_SITE_TITLE: "  Demo Home  ", CONF_DEMO: True}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Demo Home"
    # a new demo site has lived a few days before it starts (sessions, statistics)
    assert result["data"] == {
        CONF_SITE_TITLE: "Demo Home",
        CONF_DEMO: True,
        CONF_DEMO_HISTORY_DAYS: DEMO_HISTORY_DAYS,
    }
    entry = result["result"]
    assert re.fullmatch(r"[0-9a-f]{32}", entry.unique_id)  # generated, not from the title
    assert entry.version == 1
    assert entry.minor_version == 2
    assert dict(entry.options) == default_options()
    assert entry.options == {
        CONF_INTERVAL: 30,
        CONF_API_ENABLED: False,
        CONF_API_HOST: "0.0.0.0",
        CONF_API_PORT: 7070,
        CONF_API_READ_ONLY: False,
        CONF_API_ALLOWED_ORIGINS: [],
        CONF_MQTT_ENABLED: True,
        CONF_MQTT_TOPIC: "evcc",
        CONF_MQTT_READ_ONLY: False,
    }
    assert len(mock_setup_entry.mock_calls) == 1
    # A demo site brings its own simulated loadpoints.
    assert entry.supported_subentry_types == {}


async def test_user_creates_real_site_with_meters(
    hass: HomeAssistant, mock_setup_entry: AsyncMock
) -> None:
    """A real site asks for its meters and stores them as options."""
    add_site_sensors(hass)
    result = await _start_user(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_SITE_TITLE: "My Home"}
    )
    check_form(result, "config")
    assert result["step_id"] == "meters"
    assert result["errors"] == {}

    result = await hass.config_entries.flow.async_configure(result["flow_id"], METERS)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "My Home"
    assert result["data"] == {CONF_SITE_TITLE: "My Home", CONF_DEMO: False}
    entry = result["result"]
    assert re.fullmatch(r"[0-9a-f]{32}", entry.unique_id)
    assert entry.options == {
        **default_options(),
        CONF_GRID_POWER: "sensor.grid_power",
        CONF_GRID_INVERT: False,
        CONF_GRID_ENERGY: "sensor.grid_energy",
        CONF_PV_POWER: ["sensor.pv_east", "sensor.pv_west"],
        CONF_BATTERY_POWER: "sensor.battery_power",
        CONF_BATTERY_INVERT: True,
        CONF_BATTERY_SOC: "sensor.battery_soc",
        CONF_BATTERY_CAPACITY: 10.0,
    }
    assert len(mock_setup_entry.mock_calls) == 1
    assert list(entry.supported_subentry_types) == [
        SUBENTRY_LOADPOINT,
        SUBENTRY_VEHICLE,
        SUBENTRY_MODBUS_METER,
        SUBENTRY_CIRCUIT,
    ]


async def test_user_minimal_real_site(hass: HomeAssistant) -> None:
    """Only the grid meter is required; a kW sensor and a sensor without device class do."""
    add_site_sensors(hass)
    result = await _start_user(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_SITE_TITLE: "Flat", CONF_DEMO: False}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {CONF_GRID_POWER: "sensor.grid_power_kw", CONF_PV_POWER: ["sensor.untyped_power"]},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["result"].options == {
        **default_options(),
        CONF_GRID_POWER: "sensor.grid_power_kw",
        CONF_GRID_INVERT: False,
        CONF_PV_POWER: ["sensor.untyped_power"],
        CONF_BATTERY_INVERT: False,
    }


@pytest.mark.parametrize(("changes", "field", "error"), METER_ERRORS)
async def test_user_meter_errors(
    hass: HomeAssistant,
    mock_setup_entry: AsyncMock,
    changes: dict[str, Any],
    field: str,
    error: str,
) -> None:
    """Unfit meters keep the form open with a translated error; nothing is created."""
    add_site_sensors(hass)
    result = await _start_user(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_SITE_TITLE: "Home"}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], with_changes(METERS, changes)
    )
    check_form(result, "config")
    assert result["step_id"] == "meters"
    assert result["errors"] == {field: error}
    assert hass.config_entries.async_entries(DOMAIN) == []

    # Correcting the input creates the entry in the same flow.
    result = await hass.config_entries.flow.async_configure(result["flow_id"], METERS)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert len(mock_setup_entry.mock_calls) == 1


async def test_user_meters_aborts_when_site_appeared(hass: HomeAssistant) -> None:
    """A site set up meanwhile (another flow) aborts the meters step."""
    add_site_sensors(hass)
    result = await _start_user(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_SITE_TITLE: "Home"}
    )
    MockConfigEntry(domain=DOMAIN, title="Home", unique_id="home").add_to_hass(hass)
    result = await hass.config_entries.flow.async_configure(result["flow_id"], METERS)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


async def test_user_duplicate_title_aborts(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry
) -> None:
    """A second entry for the same site (same slug) aborts."""
    mock_config_entry.add_to_hass(hass)
    result = await _start_user(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_SITE_TITLE: "HOME", CONF_DEMO: True}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


async def test_ignored_site_does_not_block_its_title(hass: HomeAssistant) -> None:
    """An ignored entry is no site: its title can be used."""
    MockConfigEntry(
        domain=DOMAIN, source=SOURCE_IGNORE, title="Home", unique_id="home"
    ).add_to_hass(hass)
    result = await _start_user(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_SITE_TITLE: "Home", CONF_DEMO: True}
    )
    await hass.async_block_till_done()
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_user_title_of_renamed_site_aborts(hass: HomeAssistant) -> None:
    """A renamed site keeps its unique id, but its new title is taken as well."""
    MockConfigEntry(
        domain=DOMAIN, title="Garage", data={CONF_SITE_TITLE: "Garage"}, unique_id="home"
    ).add_to_hass(hass)
    result = await _start_user(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_SITE_TITLE: "garage"}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


@pytest.mark.parametrize("title", ["", "   ", "--- !", "x" * 65])
async def test_user_invalid_title(
    hass: HomeAssistant, mock_setup_entry: AsyncMock, title: str
) -> None:
    """Titles that cannot name a site show an error and keep the form open."""
    result = await _start_user(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_SITE_TITLE: title, CONF_DEMO: True}
    )
    check_form(result, "config")
    assert result["step_id"] == "user"
    assert result["errors"] == {CONF_SITE_TITLE: "invalid_title"}
    schema_keys = list(result["data_schema"].schema)
    assert schema_keys[1].description == {"suggested_value": True}

    # The user can correct the title in the same flow.
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_SITE_TITLE: "Office", CONF_DEMO: True}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["result"].title == "Office"
    assert len(mock_setup_entry.mock_calls) == 1


async def test_reconfigure_renames_site(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry
) -> None:
    """Reconfigure changes title and data, keeps the unique id and the other data."""
    mock_config_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        mock_config_entry, data={CONF_SITE_TITLE: "Home", CONF_DEMO: False}
    )
    result = await mock_config_entry.start_reconfigure_flow(hass)
    check_form(result, "config")
    assert result["step_id"] == "reconfigure"
    schema_keys = list(result["data_schema"].schema)
    assert schema_keys[0].description == {"suggested_value": "Home"}

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_SITE_TITLE: " Holiday Home "}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert mock_config_entry.title == "Holiday Home"
    assert mock_config_entry.data == {CONF_SITE_TITLE: "Holiday Home", CONF_DEMO: False}
    assert mock_config_entry.unique_id == "home"


async def test_reconfigure_reload(hass: HomeAssistant, mock_config_entry: MockConfigEntry) -> None:
    """Without an update listener the flow reloads a changed site; with one, the listener does."""
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert mock_config_entry.state is ConfigEntryState.LOADED

    reloads: list[str] = []

    async def fake_reload(entry_id: str) -> bool:
        reloads.append(entry_id)
        return True

    hass.config_entries.async_reload = fake_reload  # type: ignore[method-assign]

    result = await mock_config_entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_SITE_TITLE: "Cottage"}
    )
    await hass.async_block_till_done()
    assert result["reason"] == "reconfigure_successful"
    assert reloads == [mock_config_entry.entry_id]

    # Unchanged: nothing to reload.
    result = await mock_config_entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_SITE_TITLE: "Cottage"}
    )
    await hass.async_block_till_done()
    assert result["reason"] == "reconfigure_successful"
    assert reloads == [mock_config_entry.entry_id]

    # With an update listener the flow leaves the reload to it.
    listener_calls: list[str] = []

    async def listener(hass: HomeAssistant, entry: Any) -> None:
        listener_calls.append(entry.title)

    mock_config_entry.add_update_listener(listener)
    result = await mock_config_entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_SITE_TITLE: "Chalet"}
    )
    await hass.async_block_till_done()
    assert result["reason"] == "reconfigure_successful"
    assert listener_calls == ["Chalet"]
    assert reloads == [mock_config_entry.entry_id]


async def test_reconfigure_errors(hass: HomeAssistant, mock_config_entry: MockConfigEntry) -> None:
    """Invalid titles and titles of other sites are refused; the own title is fine."""
    mock_config_entry.add_to_hass(hass)
    MockConfigEntry(
        domain=DOMAIN, title="Office", data={CONF_SITE_TITLE: "Office"}, unique_id="office"
    ).add_to_hass(hass)
    result = await mock_config_entry.start_reconfigure_flow(hass)

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_SITE_TITLE: "  "}
    )
    check_form(result, "config")
    assert result["errors"] == {CONF_SITE_TITLE: "invalid_title"}
    schema_keys = list(result["data_schema"].schema)
    assert schema_keys[0].description == {"suggested_value": "  "}

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_SITE_TITLE: "OFFICE"}
    )
    check_form(result, "config")
    assert result["errors"] == {CONF_SITE_TITLE: "title_in_use"}

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_SITE_TITLE: "home"}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert mock_config_entry.title == "home"
    assert mock_config_entry.unique_id == "home"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Home", "Home"),
        ("  Zuhause Süd ", "Zuhause Süd"),
        ("", None),
        ("\t ", None),
        ("-_-", None),
        ("a" * 64, "a" * 64),
        ("a" * 65, None),
    ],
)
def test_clean_site_title(raw: str, expected: str | None) -> None:
    """Titles are trimmed and must contain a letter or digit."""
    assert clean_site_title(raw) == expected


def test_title_key() -> None:
    """Two titles are the same site when their slugs are."""
    assert title_key("Zuhause Süd") == "zuhause_sud"
    assert title_key("My  Home!") == title_key("my home") == "my_home"


def test_translations_match() -> None:
    """English and German have the same keys in the sections of the setup flows, and every
    form field has a label and a description."""

    def keys(tree: Any, prefix: str = "") -> set[str]:
        if not isinstance(tree, dict):
            return {prefix}
        return {k for key, sub in tree.items() for k in keys(sub, f"{prefix}/{key}")}

    strings = load_translations()
    for section in ("config", "options", "config_subentries"):
        assert keys(strings["en"][section]) == keys(strings["de"][section]), section
    for lang in LANGUAGES:
        flows = [strings[lang]["config"], strings[lang]["options"]]
        flows += list(strings[lang]["config_subentries"].values())
        for flow in flows:
            for step_id, step in flow["step"].items():
                assert set(step["data"]) == set(step["data_description"]), (lang, step_id)


async def test_second_site_gets_its_own_mqtt_root(
    hass: HomeAssistant, mock_setup_entry: AsyncMock
) -> None:
    roots = []
    for title in ("Home", "Office"):
        result = await _start_user(hass)
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {CONF_SITE_TITLE: title, CONF_DEMO: True}
        )
        roots.append(result["result"].options[CONF_MQTT_TOPIC])
    assert roots == ["evcc", "evcc_office"]

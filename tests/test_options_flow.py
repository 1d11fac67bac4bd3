"""Tests for the options flow: control interval, meters and the evcc-compatible API port."""

from __future__ import annotations

from typing import Any

import pytest
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType, InvalidData
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.evcc_ha.config_flow import default_options
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
    CONF_GRID_ENERGY,
    CONF_GRID_INVERT,
    CONF_GRID_POWER,
    CONF_INTERVAL,
    CONF_MQTT_ENABLED,
    CONF_MQTT_READ_ONLY,
    CONF_MQTT_TOPIC,
    CONF_PV_POWER,
    CONF_SITE_TITLE,
    DOMAIN,
)

from .test_config_flow import METER_ERRORS, METERS, add_site_sensors, check_form, with_changes

pytestmark = pytest.mark.usefixtures("mock_setup_entry")

API = {
    CONF_API_ENABLED: True,
    CONF_API_HOST: "127.0.0.1",
    CONF_API_PORT: 7071,
    CONF_API_READ_ONLY: True,
    CONF_API_ALLOWED_ORIGINS: [],
}


def _entry(hass: HomeAssistant, *, demo: bool = False, **options: Any) -> MockConfigEntry:
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Home",
        data={CONF_SITE_TITLE: "Home", CONF_DEMO: demo},
        options=options,
        unique_id="home",
    )
    entry.add_to_hass(hass)
    return entry


async def mqtt_defaults(hass: HomeAssistant, result: Any) -> Any:
    """Take the MQTT and tariff steps as they are offered (the steps after the API port)."""
    for step in ("mqtt", "tariffs"):
        if result.get("step_id") == step:
            result = await hass.config_entries.options.async_configure(result["flow_id"], {})
    return result


def _suggested(result: dict[str, Any]) -> dict[str, Any]:
    """The values the form shows: suggested values, else defaults."""
    shown: dict[str, Any] = {}
    for marker in result["data_schema"].schema:
        if marker.description and "suggested_value" in marker.description:
            shown[str(marker)] = marker.description["suggested_value"]
        elif callable(marker.default):
            shown[str(marker)] = marker.default()
    return shown


async def test_options_real_site(hass: HomeAssistant) -> None:
    """Interval and meters, then the API port; the options are replaced as a whole."""
    add_site_sensors(hass)
    entry = _entry(hass, **default_options(), grid_power="sensor.grid_power_kw", other="kept")

    result = await hass.config_entries.options.async_init(entry.entry_id)
    check_form(result, "options")
    assert result["step_id"] == "init"
    shown = _suggested(result)
    assert shown[CONF_INTERVAL] == 30
    assert shown[CONF_GRID_POWER] == "sensor.grid_power_kw"
    assert CONF_PV_POWER not in shown

    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_INTERVAL: 10.0, **METERS}
    )
    check_form(result, "options")
    assert result["step_id"] == "api"
    assert _suggested(result) == {
        CONF_API_ENABLED: False,
        CONF_API_HOST: "0.0.0.0",
        CONF_API_PORT: 7070,
        CONF_API_READ_ONLY: False,
        CONF_API_ALLOWED_ORIGINS: [],
    }

    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**API, CONF_API_HOST: " 127.0.0.1 ", CONF_API_PORT: 7071.0}
    )
    result = await mqtt_defaults(hass, result)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert entry.options == {
        "other": "kept",
        CONF_INTERVAL: 10,
        CONF_GRID_POWER: "sensor.grid_power",
        CONF_GRID_INVERT: False,
        CONF_GRID_ENERGY: "sensor.grid_energy",
        CONF_PV_POWER: ["sensor.pv_east", "sensor.pv_west"],
        CONF_BATTERY_POWER: "sensor.battery_power",
        CONF_BATTERY_INVERT: True,
        CONF_BATTERY_SOC: "sensor.battery_soc",
        CONF_BATTERY_CAPACITY: 10.0,
        **API,
        CONF_MQTT_ENABLED: True,
        CONF_MQTT_TOPIC: "evcc",
        CONF_MQTT_READ_ONLY: False,
    }
    assert isinstance(entry.options[CONF_INTERVAL], int)
    assert isinstance(entry.options[CONF_API_PORT], int)


async def test_options_clear_meters(hass: HomeAssistant) -> None:
    """Optional meters the user clears disappear from the options."""
    add_site_sensors(hass)
    entry = _entry(hass, **default_options(), **METERS)

    result = await hass.config_entries.options.async_init(entry.entry_id)
    shown = _suggested(result)
    assert shown[CONF_PV_POWER] == ["sensor.pv_east", "sensor.pv_west"]
    assert shown[CONF_BATTERY_CAPACITY] == 10
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_INTERVAL: 30, CONF_GRID_POWER: "sensor.grid_power"}
    )
    result = await hass.config_entries.options.async_configure(result["flow_id"], {})
    result = await mqtt_defaults(hass, result)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert entry.options == {
        **default_options(),
        CONF_GRID_POWER: "sensor.grid_power",
        CONF_GRID_INVERT: False,
        CONF_PV_POWER: [],
        CONF_BATTERY_INVERT: False,
    }


async def test_options_demo_site(hass: HomeAssistant) -> None:
    """A demo site has no meters to choose: interval, then API port."""
    entry = _entry(hass, demo=True, **default_options())

    result = await hass.config_entries.options.async_init(entry.entry_id)
    check_form(result, "options")
    assert [str(marker) for marker in result["data_schema"].schema] == [CONF_INTERVAL]
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_INTERVAL: 60}
    )
    assert result["step_id"] == "api"
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_API_ENABLED: True, CONF_API_HOST: "::"}
    )
    result = await mqtt_defaults(hass, result)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert entry.options == {
        **default_options(),
        CONF_INTERVAL: 60,
        CONF_API_ENABLED: True,
        CONF_API_HOST: "::",
    }


@pytest.mark.parametrize(("changes", "field", "error"), METER_ERRORS)
async def test_options_meter_errors(
    hass: HomeAssistant, changes: dict[str, Any], field: str, error: str
) -> None:
    """Every meter error shows in the init step and changes nothing."""
    add_site_sensors(hass)
    entry = _entry(hass, **default_options(), grid_power="sensor.grid_power")

    result = await hass.config_entries.options.async_init(entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_INTERVAL: 30, **with_changes(METERS, changes)}
    )
    check_form(result, "options")
    assert result["step_id"] == "init"
    assert result["errors"] == {field: error}
    # The form keeps what the user entered.
    assert _suggested(result)[CONF_GRID_POWER] == with_changes(METERS, changes)[CONF_GRID_POWER]
    assert entry.options == {**default_options(), CONF_GRID_POWER: "sensor.grid_power"}


@pytest.mark.parametrize("host", ["", "localhost", "999.1.1.1", "0.0.0.0:7070"])
async def test_options_invalid_host(hass: HomeAssistant, host: str) -> None:
    """The API host must be an IP address."""
    entry = _entry(hass, demo=True, **default_options())
    result = await hass.config_entries.options.async_init(entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_INTERVAL: 30}
    )
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**API, CONF_API_HOST: host}
    )
    check_form(result, "options")
    assert result["step_id"] == "api"
    assert result["errors"] == {CONF_API_HOST: "invalid_host"}
    assert _suggested(result)[CONF_API_HOST] == host
    assert entry.options == default_options()

    result = await hass.config_entries.options.async_configure(result["flow_id"], API)
    result = await mqtt_defaults(hass, result)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert entry.options == {**default_options(), **API}


@pytest.mark.parametrize(
    ("step", "data"),
    [
        ("init", {CONF_INTERVAL: 4}),
        ("init", {CONF_INTERVAL: 61}),
        ("api", {CONF_API_PORT: 0}),
        ("api", {CONF_API_PORT: 65536}),
    ],
)
async def test_options_ranges(hass: HomeAssistant, step: str, data: dict[str, Any]) -> None:
    """Interval (5–60 s) and port (1–65535) are bounded by their selectors."""
    entry = _entry(hass, demo=True, **default_options())
    result = await hass.config_entries.options.async_init(entry.entry_id)
    if step == "api":
        result = await hass.config_entries.options.async_configure(
            result["flow_id"], {CONF_INTERVAL: 30}
        )
    with pytest.raises(InvalidData):
        await hass.config_entries.options.async_configure(result["flow_id"], data)
    assert entry.options == default_options()


async def test_options_allowed_origins(hass: HomeAssistant) -> None:
    """Web pages that may write through the evcc port: origins only, stored trimmed."""
    entry = _entry(hass, demo=True, **default_options())
    result = await hass.config_entries.options.async_init(entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_INTERVAL: 30}
    )
    bad = {**API, CONF_API_ALLOWED_ORIGINS: ["https://ok.example", "https://x.example/path"]}
    result = await hass.config_entries.options.async_configure(result["flow_id"], bad)
    assert result["errors"] == {CONF_API_ALLOWED_ORIGINS: "invalid_origin"}
    assert entry.options == default_options()
    good = {**API, CONF_API_ALLOWED_ORIGINS: [" https://ok.example ", "http://10.0.0.2:8080", ""]}
    result = await hass.config_entries.options.async_configure(result["flow_id"], good)
    result = await mqtt_defaults(hass, result)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert entry.options[CONF_API_ALLOWED_ORIGINS] == ["https://ok.example", "http://10.0.0.2:8080"]


async def test_options_mqtt(hass: HomeAssistant) -> None:
    """Root topic and read-only; a root another site uses (or nests with) is refused."""
    MockConfigEntry(
        domain=DOMAIN,
        title="Office",
        data={CONF_SITE_TITLE: "Office", CONF_DEMO: True},
        options={CONF_MQTT_TOPIC: "evcc"},
    ).add_to_hass(hass)
    entry = _entry(hass, demo=True, **{**default_options(), CONF_MQTT_TOPIC: "evcc_home"})
    result = await hass.config_entries.options.async_init(entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_INTERVAL: 30}
    )
    result = await hass.config_entries.options.async_configure(result["flow_id"], API)
    assert result["step_id"] == "mqtt"
    check_form(result, "options")
    assert result["errors"] == {"base": "mqtt_not_configured"}  # a note: HA has no MQTT yet
    assert _suggested(result)[CONF_MQTT_TOPIC] == "evcc_home"
    for topic, error in (
        ("evcc", "topic_in_use"),
        ("evcc/home", "topic_in_use"),
        ("evcc/#", "invalid_topic"),
        ("/evcc", "invalid_topic"),
        ("evcc/", "invalid_topic"),
        ("my evcc", "invalid_topic"),
        ("", "invalid_topic"),
    ):
        result = await hass.config_entries.options.async_configure(
            result["flow_id"], {CONF_MQTT_ENABLED: True, CONF_MQTT_TOPIC: topic}
        )
        assert result["errors"] == {CONF_MQTT_TOPIC: error}, topic
    assert entry.options[CONF_MQTT_TOPIC] == "evcc_home"
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {CONF_MQTT_ENABLED: True, CONF_MQTT_TOPIC: " home/evcc ", CONF_MQTT_READ_ONLY: True},
    )
    assert result["step_id"] == "tariffs"
    result = await hass.config_entries.options.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert (entry.options[CONF_MQTT_TOPIC], entry.options[CONF_MQTT_READ_ONLY]) == (
        "home/evcc",
        True,
    )

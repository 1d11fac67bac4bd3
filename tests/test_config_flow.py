"""Tests for the evcc_ha config flow."""

from __future__ import annotations

from unittest.mock import AsyncMock

import pytest
from homeassistant.config_entries import SOURCE_IGNORE, SOURCE_USER
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.evcc_ha.config_flow import clean_site_title, site_unique_id
from custom_components.evcc_ha.const import CONF_SITE_TITLE, DEFAULT_SITE_TITLE, DOMAIN

pytestmark = pytest.mark.usefixtures("mock_setup_entry")


def _default_of(result: dict, key: str) -> object:
    """The default value the form schema offers for key."""
    for marker in result["data_schema"].schema:
        if marker == key:
            return marker.default()
    raise AssertionError(f"{key} not in form")


async def test_user_creates_entry(hass: HomeAssistant, mock_setup_entry: AsyncMock) -> None:
    """The user step offers 'Home' and creates an entry named after the title."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    assert result["errors"] == {}
    assert _default_of(result, CONF_SITE_TITLE) == DEFAULT_SITE_TITLE

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_SITE_TITLE: "  My Home  "}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "My Home"
    assert result["data"] == {CONF_SITE_TITLE: "My Home"}
    entry = result["result"]
    assert entry.unique_id == "my_home"
    assert entry.version == 1
    assert entry.minor_version == 1
    assert len(mock_setup_entry.mock_calls) == 1


async def test_user_duplicate_title_aborts(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry
) -> None:
    """A second entry for the same site (same slug) aborts."""
    mock_config_entry.add_to_hass(hass)
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_SITE_TITLE: "HOME"}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


async def test_user_replaces_ignored_site(hass: HomeAssistant) -> None:
    """Setting up a site by hand replaces an ignored entry with the same unique id."""
    MockConfigEntry(domain=DOMAIN, source=SOURCE_IGNORE, unique_id="home").add_to_hass(hass)
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_SITE_TITLE: "Home"}
    )
    await hass.async_block_till_done()
    assert result["type"] is FlowResultType.CREATE_ENTRY
    entries = hass.config_entries.async_entries(DOMAIN, include_ignore=True)
    assert [(e.source, e.unique_id) for e in entries] == [(SOURCE_USER, "home")]


async def test_user_title_of_renamed_site_aborts(hass: HomeAssistant) -> None:
    """A renamed site keeps its unique id, but its new title is taken as well."""
    MockConfigEntry(
        domain=DOMAIN, title="Garage", data={CONF_SITE_TITLE: "Garage"}, unique_id="home"
    ).add_to_hass(hass)
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
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
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_SITE_TITLE: title}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    assert result["errors"] == {CONF_SITE_TITLE: "invalid_title"}

    # The user can correct the title in the same flow.
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_SITE_TITLE: "Office"}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["result"].unique_id == "office"
    assert len(mock_setup_entry.mock_calls) == 1


async def test_reconfigure_renames_site(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry
) -> None:
    """Reconfigure changes title and data, and keeps the unique id."""
    mock_config_entry.add_to_hass(hass)
    result = await mock_config_entry.start_reconfigure_flow(hass)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reconfigure"
    schema_keys = list(result["data_schema"].schema)
    assert schema_keys[0].description == {"suggested_value": "Home"}

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_SITE_TITLE: " Holiday Home "}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert mock_config_entry.title == "Holiday Home"
    assert mock_config_entry.data == {CONF_SITE_TITLE: "Holiday Home"}
    assert mock_config_entry.unique_id == "home"


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
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_SITE_TITLE: "invalid_title"}
    schema_keys = list(result["data_schema"].schema)
    assert schema_keys[0].description == {"suggested_value": "  "}

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_SITE_TITLE: "OFFICE"}
    )
    assert result["type"] is FlowResultType.FORM
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


def test_site_unique_id() -> None:
    """The unique id is the slug of the title."""
    assert site_unique_id("Zuhause Süd") == "zuhause_sud"
    assert site_unique_id("My  Home!") == "my_home"

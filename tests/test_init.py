"""Tests for setting up and unloading a site entry."""

from __future__ import annotations

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.evcc_ha.coordinator import EvccRuntimeData


async def test_setup_and_unload(hass: HomeAssistant, mock_config_entry: MockConfigEntry) -> None:
    """The entry loads with typed runtime data and unloads cleanly."""
    mock_config_entry.add_to_hass(hass)

    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert mock_config_entry.state is ConfigEntryState.LOADED
    assert isinstance(mock_config_entry.runtime_data, EvccRuntimeData)
    assert mock_config_entry.runtime_data.site_title == "Home"

    assert await hass.config_entries.async_unload(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert mock_config_entry.state is ConfigEntryState.NOT_LOADED


async def test_reload_after_reconfigure(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry
) -> None:
    """Renaming a loaded site reloads it with the new title."""
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()

    result = await mock_config_entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"site_title": "Cottage"}
    )
    await hass.async_block_till_done()
    assert result["reason"] == "reconfigure_successful"
    assert mock_config_entry.state is ConfigEntryState.LOADED
    assert mock_config_entry.runtime_data.site_title == "Cottage"


async def test_migration_replaces_the_title_based_unique_id(hass: HomeAssistant) -> None:
    """Entries of version 1.1 had the slug of the (editable) title as unique id."""
    entry = MockConfigEntry(
        domain="evcc_ha",
        title="Home",
        data={"site_title": "Home"},
        unique_id="home",
        version=1,
        minor_version=1,
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    assert (entry.version, entry.minor_version) == (1, 2)
    assert entry.unique_id != "home" and len(entry.unique_id or "") == 32
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_entry_of_a_newer_version_is_not_loaded(hass: HomeAssistant) -> None:
    entry = MockConfigEntry(domain="evcc_ha", title="Home", data={"site_title": "Home"}, version=2)
    entry.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.MIGRATION_ERROR

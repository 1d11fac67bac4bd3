"""The evcc_ha integration: an evcc-class EV charge controller for Home Assistant."""

from __future__ import annotations

from homeassistant.const import Platform
from homeassistant.core import HomeAssistant

from .const import CONF_SITE_TITLE, LOGGER
from .data import EvccConfigEntry, EvccRuntimeData

# Entity platforms forwarded for every site entry; filled in as platforms are added.
PLATFORMS: list[Platform] = []


async def async_setup_entry(hass: HomeAssistant, entry: EvccConfigEntry) -> bool:
    """Set up one site from its config entry."""
    entry.runtime_data = EvccRuntimeData(site_title=entry.data[CONF_SITE_TITLE])
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    LOGGER.debug("Site %s set up", entry.runtime_data.site_title)
    return True


async def async_unload_entry(hass: HomeAssistant, entry: EvccConfigEntry) -> bool:
    """Unload a site; everything registered with entry.async_on_unload is released too."""
    return await hass.config_entries.async_unload_platforms(entry, PLATFORMS)

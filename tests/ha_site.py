"""A real site the way a user builds it, for end-to-end tests: a wallbox of input helpers, the
site's config flow and the loadpoint subentry flow (no fakes: the real factory and controller)."""

from __future__ import annotations

from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.setup import async_setup_component

from custom_components.evcc_ha.const import (
    CONF_CHARGER_CURRENT,
    CONF_CHARGER_ENABLE,
    CONF_CHARGER_STATUS,
    CONF_DEMO,
    CONF_SITE_TITLE,
    CONF_TITLE,
    DOMAIN,
    SUBENTRY_LOADPOINT,
)

CHARGER: dict[str, Any] = {
    CONF_TITLE: "Garage",
    CONF_CHARGER_ENABLE: "input_boolean.wallbox_enable",
    CONF_CHARGER_CURRENT: "input_number.wallbox_current",
    CONF_CHARGER_STATUS: "input_select.wallbox_status",
}


async def wallbox_helpers(hass: HomeAssistant, **selects: list[str]) -> None:
    """The wallbox's enable switch, current and status as input helpers (plus `selects`)."""
    assert await async_setup_component(
        hass, "input_boolean", {"input_boolean": {"wallbox_enable": None}}
    )
    assert await async_setup_component(
        hass,
        "input_number",
        {
            "input_number": {
                "wallbox_current": {"min": 6, "max": 16, "step": 1, "unit_of_measurement": "A"}
            }
        },
    )
    options = {"wallbox_status": ["disconnected", "connected", "charging"], **selects}
    assert await async_setup_component(
        hass,
        "input_select",
        {"input_select": {name: {"options": values} for name, values in options.items()}},
    )


async def site_flow(hass: HomeAssistant, meters: dict[str, Any] | None = None) -> Any:
    """The site's config flow (title, then the meters step); its last result."""
    flow = await hass.config_entries.flow.async_init(DOMAIN, context={"source": "user"})
    flow = await hass.config_entries.flow.async_configure(
        flow["flow_id"], {CONF_SITE_TITLE: "Home", CONF_DEMO: False}
    )
    return await hass.config_entries.flow.async_configure(flow["flow_id"], meters or {})


async def real_site(hass: HomeAssistant, meters: dict[str, Any] | None = None) -> ConfigEntry:
    result = await site_flow(hass, meters)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    entry: ConfigEntry = result["result"]
    return entry


async def add_loadpoint(
    hass: HomeAssistant,
    entry: ConfigEntry,
    charger: dict[str, Any] | None = None,
    vehicle: dict[str, Any] | None = None,
) -> Any:
    """Add a loadpoint through its subentry flow (charger step, vehicle step); the result."""
    flow = await hass.config_entries.subentries.async_init(
        (entry.entry_id, SUBENTRY_LOADPOINT), context={"source": "user"}
    )
    flow = await hass.config_entries.subentries.async_configure(
        flow["flow_id"], {"next_step_id": "charger"}
    )
    flow = await hass.config_entries.subentries.async_configure(flow["flow_id"], charger or CHARGER)
    return await hass.config_entries.subentries.async_configure(flow["flow_id"], vehicle or {})

"""The control profile in the UI, the way a user sets it: chosen when a loadpoint is added, changed
with its select, and shown (and changed) again when the loadpoint is reconfigured. A real site
entry with a charger of input helpers, the real factory and the real reloads."""

from __future__ import annotations

from typing import Any

from homeassistant.config_entries import ConfigEntry, ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.setup import async_setup_component

from custom_components.evcc_ha.const import (
    CONF_CHARGER_CURRENT,
    CONF_CHARGER_ENABLE,
    CONF_CHARGER_STATUS,
    CONF_CONTROL_PROFILE,
    CONF_DEMO,
    CONF_SITE_TITLE,
    CONF_TITLE,
    DOMAIN,
    SUBENTRY_LOADPOINT,
)
from custom_components.evcc_ha.core.model import ControlProfile

SELECT = "select.garage_control_profile"
CHARGER = {
    CONF_TITLE: "Garage",
    CONF_CHARGER_ENABLE: "input_boolean.wallbox_enable",
    CONF_CHARGER_CURRENT: "input_number.wallbox_current",
    CONF_CHARGER_STATUS: "input_select.wallbox_status",
}


async def _helpers(hass: HomeAssistant) -> None:
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
    assert await async_setup_component(
        hass,
        "input_select",
        {"input_select": {"wallbox_status": {"options": ["disconnected", "connected"]}}},
    )


async def _site(hass: HomeAssistant) -> ConfigEntry:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": "user"})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_SITE_TITLE: "Home", CONF_DEMO: False}
    )
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    entry: ConfigEntry = result["result"]
    return entry


def _profile(entry: ConfigEntry) -> ControlProfile:
    profile: ControlProfile = entry.runtime_data.coordinator.site.loadpoint(
        0
    ).settings.control_profile
    return profile


async def _reconfigure(hass: HomeAssistant, entry: ConfigEntry, subentry_id: str) -> Any:
    return await hass.config_entries.subentries.async_init(
        (entry.entry_id, SUBENTRY_LOADPOINT),
        context={"source": "reconfigure", "subentry_id": subentry_id},
    )


def _suggested(form: Any, key: str) -> Any:
    for marker in form["data_schema"].schema:
        if marker == key:
            return (marker.description or {}).get("suggested_value")
    raise AssertionError(f"{key} not in the form")


async def test_profile_chosen_in_the_form_changed_by_select_and_reconfigure(
    hass: HomeAssistant,
) -> None:
    await _helpers(hass)
    entry = await _site(hass)

    # added with the smooth profile: the running loadpoint starts with it
    flow = await hass.config_entries.subentries.async_init(
        (entry.entry_id, SUBENTRY_LOADPOINT), context={"source": "user"}
    )
    flow = await hass.config_entries.subentries.async_configure(
        flow["flow_id"], {"next_step_id": "charger"}
    )
    flow = await hass.config_entries.subentries.async_configure(
        flow["flow_id"], {**CHARGER, CONF_CONTROL_PROFILE: "smooth"}
    )
    flow = await hass.config_entries.subentries.async_configure(flow["flow_id"], {})
    assert flow["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    (subentry_id,) = entry.subentries
    assert _profile(entry) is ControlProfile.SMOOTH
    state = hass.states.get(SELECT)
    assert state is not None and state.state == "smooth"
    assert state.attributes["options"] == ["evcc", "smooth"]

    # the select changes it; the reconfigure form shows what runs, not what was first chosen
    await hass.services.async_call(
        "select", "select_option", {"entity_id": SELECT, "option": "evcc"}, blocking=True
    )
    assert _profile(entry) is ControlProfile.EVCC
    form = await _reconfigure(hass, entry, subentry_id)
    assert _suggested(form, CONF_CONTROL_PROFILE) == "evcc"

    # reconfigured to smooth: set through the write path, kept over the reload
    flow = await hass.config_entries.subentries.async_configure(
        form["flow_id"], {**CHARGER, CONF_CONTROL_PROFILE: "smooth"}
    )
    flow = await hass.config_entries.subentries.async_configure(flow["flow_id"], {})
    assert flow["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    assert _profile(entry) is ControlProfile.SMOOTH
    assert hass.states.get(SELECT).state == "smooth"  # type: ignore[union-attr]
    assert entry.subentries[subentry_id].data[CONF_CONTROL_PROFILE] == "smooth"

    # a reload alone keeps the setting the select made (stored with the settings)
    await hass.services.async_call(
        "select", "select_option", {"entity_id": SELECT, "option": "evcc"}, blocking=True
    )
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    assert _profile(entry) is ControlProfile.EVCC
    assert await hass.config_entries.async_unload(entry.entry_id)

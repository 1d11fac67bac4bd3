"""The control profile in the UI, the way a user sets it: chosen when a loadpoint is added, changed
with its select, and shown (and changed) again when the loadpoint is reconfigured. A real site
entry with a charger of input helpers, the real factory and the real reloads."""

from __future__ import annotations

from typing import Any

import pytest
from homeassistant.config_entries import ConfigEntry, ConfigEntryState
from homeassistant.core import HomeAssistant, ServiceCall
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import HomeAssistantError

from custom_components.evcc_ha.const import CONF_CONTROL_PROFILE, SUBENTRY_LOADPOINT
from custom_components.evcc_ha.core.model import ControlProfile

from .ha_site import CHARGER, add_loadpoint, real_site, wallbox_helpers

SELECT = "select.garage_control_profile"


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


async def _reconfigured_to_smooth(
    hass: HomeAssistant, entry: ConfigEntry, form: Any, subentry_id: str
) -> None:
    """The reconfigure form sent with the smooth profile: stored, reloaded, running."""
    flow = await hass.config_entries.subentries.async_configure(
        form["flow_id"], {**CHARGER, CONF_CONTROL_PROFILE: "smooth"}
    )
    flow = await hass.config_entries.subentries.async_configure(flow["flow_id"], {})
    assert flow["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    assert _profile(entry) is ControlProfile.SMOOTH
    assert entry.subentries[subentry_id].data[CONF_CONTROL_PROFILE] == "smooth"


def _suggested(form: Any, key: str) -> Any:
    for marker in form["data_schema"].schema:
        if marker == key:
            return (marker.description or {}).get("suggested_value")
    raise AssertionError(f"{key} not in the form")


async def test_profile_chosen_in_the_form_changed_by_select_and_reconfigure(
    hass: HomeAssistant,
) -> None:
    await wallbox_helpers(hass)
    entry = await real_site(hass)

    # added with the smooth profile: the running loadpoint starts with it
    flow = await add_loadpoint(hass, entry, {**CHARGER, CONF_CONTROL_PROFILE: "smooth"})
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
    await _reconfigured_to_smooth(hass, entry, form, subentry_id)
    assert hass.states.get(SELECT).state == "smooth"  # type: ignore[union-attr]

    # a reload alone keeps the setting the select made (stored with the settings)
    await hass.services.async_call(
        "select", "select_option", {"entity_id": SELECT, "option": "evcc"}, blocking=True
    )
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    assert _profile(entry) is ControlProfile.EVCC
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_reconfigure_while_the_charger_refuses_commands(hass: HomeAssistant) -> None:
    """A wallbox whose writes fail does not break the reconfigure form (often opened to fix
    just such a charger): the profile is stored, the form ends, the loadpoint reloads."""
    await wallbox_helpers(hass)
    entry = await real_site(hass)
    await add_loadpoint(hass, entry, CHARGER)
    await hass.async_block_till_done()
    (subentry_id,) = entry.subentries
    await hass.services.async_call(
        "input_select",
        "select_option",
        {"entity_id": "input_select.wallbox_status", "option": "connected"},
        blocking=True,
    )
    await entry.runtime_data.coordinator.async_refresh()  # the cycle sees the car

    async def refuse(_call: ServiceCall) -> None:
        raise HomeAssistantError("wallbox offline")

    for domain, service in (
        ("input_boolean", "turn_on"),
        ("input_boolean", "turn_off"),
        ("input_number", "set_value"),
    ):
        hass.services.async_register(domain, service, refuse)
    with pytest.raises(HomeAssistantError):  # the charger refuses: said at the select
        await hass.services.async_call(
            "select",
            "select_option",
            {"entity_id": "select.garage_charge_mode", "option": "now"},
            blocking=True,
        )

    form = await _reconfigure(hass, entry, subentry_id)
    await _reconfigured_to_smooth(hass, entry, form, subentry_id)
    assert await hass.config_entries.async_unload(entry.entry_id)

"""The diagnostics download: settings, the state document and the core's state, redacted."""

from __future__ import annotations

import json

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from syrupy.assertion import SnapshotAssertion

from custom_components.evcc_ha.const import (
    CONF_API_ENABLED,
    CONF_API_HOST,
    CONF_API_PORT,
    CONF_INTERVAL,
)
from custom_components.evcc_ha.diagnostics import async_get_config_entry_diagnostics

from .fakes import FakeSite, SnapshotExtension, setup_entry, site_entry, use_devices

START = "2026-06-21T10:00:00+00:00"


@pytest.fixture
def snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    return snapshot.use_extension(SnapshotExtension)


async def test_diagnostics(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, snapshot: SnapshotAssertion
) -> None:
    """Called directly: the download view of the oldest supported Home Assistant fails to import
    the supervisor client library in the test environment. The JSON round trip checks what the
    view would check (the result is plain JSON)."""
    freezer.move_to(START)
    site = FakeSite()
    # the API port stays off; its host is still an address and gets redacted
    entry = site_entry(
        options={
            CONF_INTERVAL: 30,
            CONF_API_ENABLED: False,
            CONF_API_HOST: "192.168.1.20",
            CONF_API_PORT: 7070,
        }
    )
    with use_devices(site):
        await setup_entry(hass, entry)
        site.garage.error = ConnectionError("gone")
        await entry.runtime_data.coordinator.async_refresh()
        result = await async_get_config_entry_diagnostics(hass, entry)
        diagnostics = json.loads(json.dumps(result))
        coordinator = entry.runtime_data.coordinator
        # the state document and the core's state as they are (their shapes have own tests)
        assert diagnostics.pop("state") == json.loads(json.dumps(coordinator.controller.state()))
        assert diagnostics.pop("site") == json.loads(json.dumps(coordinator.site.to_dict()))
        assert await hass.config_entries.async_unload(entry.entry_id)

    assert diagnostics["entry"]["options"][CONF_API_HOST] == "**REDACTED**"
    assert diagnostics["cycle"]["failed_devices"] == ["lp1"]
    assert result["state"]["loadpoints"][1]["title"] == "Carport"
    assert result["site"]["loadpoints"][0]["settings"]["mode"] == "off"
    assert diagnostics == snapshot

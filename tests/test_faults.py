"""Failing devices: only their own entities go unavailable, the rest of the site keeps working.

Devices that raise, that hang past the timeout and that report garbage; a failing grid meter
(control skipped); a charger that rejects a command; the evcc API port already taken.
"""

from __future__ import annotations

import logging
import socket
from datetime import timedelta
from unittest.mock import patch

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.evcc_ha.const import (
    CONF_API_ENABLED,
    CONF_API_HOST,
    CONF_API_PORT,
    DOMAIN,
)
from custom_components.evcc_ha.core.model import (
    ChargerCommand,
    CommandError,
    DeviceError,
    MeterReading,
)

from .fakes import FakeSite, setup_entry, site_entry, use_devices

GARAGE_ENTITIES = (
    "sensor.garage_charge_power",
    "sensor.garage_session_energy",
    "binary_sensor.garage_vehicle_connected",
    "select.garage_charge_mode",
    "number.garage_maximum_current",
    "datetime.garage_plan_time",
)
CARPORT_ENTITIES = (
    "sensor.carport_charge_power",
    "binary_sensor.carport_vehicle_connected",
    "select.carport_charge_mode",
)


async def cycle(hass: HomeAssistant, freezer: FrozenDateTimeFactory | None = None) -> None:
    if freezer is not None:
        freezer.tick(timedelta(seconds=30))
        async_fire_time_changed(hass)
        await hass.async_block_till_done(wait_background_tasks=True)
        return
    # without a frozen clock (timeout tests): run a cycle directly
    for entry in hass.config_entries.async_loaded_entries(DOMAIN):
        await entry.runtime_data.coordinator.async_refresh()
    await hass.async_block_till_done()


def states(hass: HomeAssistant, entity_ids: tuple[str, ...]) -> list[str]:
    return [hass.states.get(entity_id).state for entity_id in entity_ids]


def unavailable_logs(caplog: pytest.LogCaptureFixture, name: str) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.getMessage().startswith(f"{name} is unavailable")
    ]


def recovered_logs(caplog: pytest.LogCaptureFixture, name: str) -> list[str]:
    return [
        r.getMessage() for r in caplog.records if r.getMessage() == f"{name} is available again"
    ]


@pytest.fixture
def fake_site() -> FakeSite:
    site = FakeSite()
    site.carport.connected = True
    return site


@pytest.fixture
async def entry(hass: HomeAssistant, fake_site: FakeSite) -> MockConfigEntry:
    entry = site_entry()
    with use_devices(fake_site):
        await setup_entry(hass, entry)
        yield entry
        assert await hass.config_entries.async_unload(entry.entry_id)


@pytest.mark.parametrize(
    ("error", "message"),
    [
        (ConnectionError("modbus gateway gone"), "modbus gateway gone"),
        (DeviceError("charger reports error status 'F'"), "error status 'F'"),
        (RuntimeError(), "RuntimeError"),
    ],
)
async def test_charger_that_raises(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    fake_site: FakeSite,
    entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
    error: Exception,
    message: str,
) -> None:
    caplog.set_level(logging.INFO, logger="custom_components.evcc_ha")
    await entry.runtime_data.coordinator.controller.async_set_loadpoint(1, "mode", "now")
    assert STATE_UNAVAILABLE not in states(hass, GARAGE_ENTITIES)
    fake_site.garage.error = error
    await cycle(hass, freezer)
    await cycle(hass, freezer)
    assert states(hass, GARAGE_ENTITIES) == [STATE_UNAVAILABLE] * len(GARAGE_ENTITIES)
    assert STATE_UNAVAILABLE not in states(hass, CARPORT_ENTITIES)
    assert hass.states.get("sensor.home_grid_power").state != STATE_UNAVAILABLE
    # the other loadpoint is still controlled
    assert float(hass.states.get("sensor.carport_charge_power").state) > 0
    logs = unavailable_logs(caplog, "Garage charger")
    assert len(logs) == 1  # logged once, not every cycle
    assert message in logs[0]

    fake_site.garage.error = None
    await cycle(hass, freezer)
    await cycle(hass, freezer)
    assert STATE_UNAVAILABLE not in states(hass, GARAGE_ENTITIES)
    assert len(recovered_logs(caplog, "Garage charger")) == 1


async def test_charger_that_times_out(
    hass: HomeAssistant,
    fake_site: FakeSite,
    entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="custom_components.evcc_ha")
    fake_site.garage.delay = 0.5  # longer than the (patched) device timeout
    with patch.object(entry.runtime_data.controller, "device_timeout", 0.02):
        await cycle(hass)
        await cycle(hass)
    assert states(hass, GARAGE_ENTITIES) == [STATE_UNAVAILABLE] * len(GARAGE_ENTITIES)
    assert STATE_UNAVAILABLE not in states(hass, CARPORT_ENTITIES)
    logs = unavailable_logs(caplog, "Garage charger")
    assert logs == ["Garage charger is unavailable: no answer within 0.02 s"]
    fake_site.garage.delay = 0
    await cycle(hass)
    assert STATE_UNAVAILABLE not in states(hass, GARAGE_ENTITIES)


async def test_charger_with_garbage_status(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    fake_site: FakeSite,
    entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="custom_components.evcc_ha")
    fake_site.garage.raw_status = "X"
    await cycle(hass, freezer)
    await cycle(hass, freezer)
    assert states(hass, GARAGE_ENTITIES) == [STATE_UNAVAILABLE] * len(GARAGE_ENTITIES)
    assert STATE_UNAVAILABLE not in states(hass, CARPORT_ENTITIES)
    assert unavailable_logs(caplog, "Garage charger") == [
        "Garage charger is unavailable: invalid charger status 'X'"
    ]
    fake_site.garage.raw_status = "C2"  # a status string as adapters report it: fine
    await cycle(hass, freezer)
    assert hass.states.get("select.garage_charge_mode").state == "off"


@pytest.mark.parametrize(
    "garbage",
    [
        "12 W",
        MeterReading(power=float("nan")),
        MeterReading(power=100.0, energy=float("inf")),
    ],
)
async def test_meter_with_garbage(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    fake_site: FakeSite,
    entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
    garbage: object,
) -> None:
    caplog.set_level(logging.INFO, logger="custom_components.evcc_ha")
    fake_site.pv.garbage = garbage
    await cycle(hass, freezer)
    assert hass.states.get("sensor.home_solar_power").state == STATE_UNAVAILABLE
    assert hass.states.get("sensor.home_grid_power").state != STATE_UNAVAILABLE
    assert STATE_UNAVAILABLE not in states(hass, GARAGE_ENTITIES)
    assert len(unavailable_logs(caplog, "PV meter")) == 1


async def test_grid_meter_failure_skips_control(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    fake_site: FakeSite,
    entry: MockConfigEntry,
) -> None:
    coordinator = entry.runtime_data.coordinator
    await coordinator.controller.async_set_loadpoint(0, "mode", "pv")
    fake_site.garage.commands.clear()
    fake_site.grid.error = TimeoutError("no answer")
    for _ in range(4):
        await cycle(hass, freezer)
    assert coordinator.data.skipped == "grid meter unavailable"
    assert fake_site.garage.commands == []  # no decisions without the grid meter
    for entity_id in ("sensor.home_grid_power", "sensor.home_home_power"):
        assert hass.states.get(entity_id).state == STATE_UNAVAILABLE
    assert hass.states.get("sensor.home_solar_power").state == "6000.0"
    assert hass.states.get("sensor.garage_charge_power").state == "0.0"
    fake_site.grid.error = None
    await cycle(hass, freezer)
    assert coordinator.data.skipped is None
    assert hass.states.get("sensor.home_grid_power").state == "-3000.0"


async def test_failing_command_does_not_stop_others(
    hass: HomeAssistant,
    fake_site: FakeSite,
    entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    coordinator = entry.runtime_data.coordinator
    fake_site.garage.apply_error = ConnectionError("write failed")
    with pytest.raises(CommandError, match="Garage charger rejected"):
        await coordinator.controller.async_set_loadpoint(0, "mode", "now")
    assert coordinator.controller.state()["loadpoints"][0]["mode"] == "now"  # the setting stays
    assert coordinator.controller.state()["loadpoints"][0]["enabled"] is False  # not what was asked
    assert "Garage charger rejected" in caplog.text
    assert "write failed" in caplog.text
    await coordinator.controller.async_set_loadpoint(1, "mode", "now")
    assert fake_site.carport.commands == [ChargerCommand(enable=True, current=16.0)]
    assert fake_site.carport.enabled


async def test_hanging_command_times_out(
    hass: HomeAssistant,
    fake_site: FakeSite,
    entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def hang(_command: ChargerCommand) -> None:
        await __import__("asyncio").sleep(0.5)

    fake_site.garage.async_apply = hang  # type: ignore[method-assign]
    with (
        patch.object(entry.runtime_data.controller, "device_timeout", 0.02),
        pytest.raises(CommandError, match="did not accept"),
    ):
        await entry.runtime_data.controller.async_set_loadpoint(0, "mode", "now")
    assert "Garage charger did not accept" in caplog.text


@pytest.mark.usefixtures("socket_enabled")
async def test_api_port_in_use_raises_repair_issue(
    hass: HomeAssistant, fake_site: FakeSite, unused_tcp_port: int, issue_registry: ir.IssueRegistry
) -> None:
    """A taken evcc API port is a repair issue, not a failed setup."""
    blocker = socket.socket()
    blocker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    blocker.bind(("127.0.0.1", unused_tcp_port))
    blocker.listen()
    options = {CONF_API_ENABLED: True, CONF_API_HOST: "127.0.0.1", CONF_API_PORT: unused_tcp_port}
    entry = site_entry(options=options)
    try:
        with use_devices(fake_site):
            await setup_entry(hass, entry)
            assert entry.runtime_data.api_server is None
            issue = issue_registry.async_get_issue(DOMAIN, f"api_port_{entry.entry_id}")
            assert issue is not None
            assert issue.translation_key == "api_port_unavailable"
            assert issue.translation_placeholders["port"] == str(unused_tcp_port)
            assert hass.states.get("select.garage_charge_mode").state == "off"  # site works
            blocker.close()
            # the port is free again: a reload serves it and the issue goes away
            assert await hass.config_entries.async_reload(entry.entry_id)
            await hass.async_block_till_done()
            server = entry.runtime_data.api_server
            assert server is not None
            assert server.running
            assert server.port == unused_tcp_port
            assert issue_registry.async_get_issue(DOMAIN, f"api_port_{entry.entry_id}") is None
            assert await hass.config_entries.async_unload(entry.entry_id)
            await hass.async_block_till_done()
            assert not server.running
    finally:
        blocker.close()


async def test_failing_cycle_makes_everything_unavailable(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, entry: MockConfigEntry
) -> None:
    """A bug in a cycle (not a device) is an UpdateFailed: every entity is unavailable."""
    coordinator = entry.runtime_data.coordinator
    with patch.object(coordinator.site, "update", side_effect=ValueError("boom")):
        await cycle(hass, freezer)
    assert not coordinator.last_update_success
    assert hass.states.get("sensor.home_grid_power").state == STATE_UNAVAILABLE
    assert hass.states.get("select.carport_charge_mode").state == STATE_UNAVAILABLE
    await cycle(hass, freezer)
    assert coordinator.last_update_success
    assert hass.states.get("sensor.home_grid_power").state != STATE_UNAVAILABLE


async def test_unusable_configuration_is_a_setup_error(hass: HomeAssistant) -> None:
    from homeassistant.config_entries import ConfigEntryState

    entry = site_entry()
    entry.add_to_hass(hass)
    with patch(
        "custom_components.evcc_ha.async_build_site_devices",
        side_effect=KeyError("charger_enable"),
    ):
        assert not await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.SETUP_ERROR
    assert "charger_enable" in (entry.reason or "")

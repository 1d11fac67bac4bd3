"""The control cycle shell: reads, core, commands, events, state document, the Backend."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
    async_fire_time_changed,
)

from custom_components.evcc_ha.const import (
    CONF_DEMO,
    CONF_INTERVAL,
    CONF_SITE_TITLE,
    DOMAIN,
)
from custom_components.evcc_ha.coordinator import EVENT_NAME, EvccCoordinator
from custom_components.evcc_ha.core.model import ChargerCommand, SettingError

from .fakes import FakeSite, find_device, setup_entry, site_entry, use_devices

START = "2026-06-21T10:00:00+00:00"


async def tick(hass: HomeAssistant, freezer: FrozenDateTimeFactory, seconds: float = 30) -> None:
    """Let the clock move on and the scheduled cycle run."""
    freezer.tick(timedelta(seconds=seconds))
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)


@pytest.fixture
def fake_site() -> FakeSite:
    return FakeSite()


@pytest.fixture
async def entry(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, fake_site: FakeSite
) -> MockConfigEntry:
    freezer.move_to(START)
    entry = site_entry()
    with use_devices(fake_site):
        await setup_entry(hass, entry)
        yield entry
        if entry.state is ConfigEntryState.LOADED:
            assert await hass.config_entries.async_unload(entry.entry_id)


def coordinator_of(entry: MockConfigEntry) -> EvccCoordinator:
    coordinator: EvccCoordinator = entry.runtime_data.coordinator
    return coordinator


async def test_demo_site_cycles(hass: HomeAssistant, freezer: FrozenDateTimeFactory) -> None:
    """The demo entry runs on simulated devices: a connected car that charges from the sun."""
    # noon in Home Assistant's (test) time zone: the demo's PV is near its peak
    freezer.move_to(dt_util.as_utc(dt_util.now().replace(hour=12, minute=0, second=0)))
    events = async_capture_events(hass, EVENT_NAME)
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Demo site",
        data={CONF_SITE_TITLE: "Demo site", CONF_DEMO: True},
        unique_id="demo_site",
    )
    await setup_entry(hass, entry)
    coordinator = coordinator_of(entry)
    assert coordinator.demo is not None
    state = coordinator.controller.state()
    assert state["siteTitle"] == "Demo site"
    assert state["pvPower"] > 4000
    lp = state["loadpoints"][0]
    assert lp["connected"] is True
    assert lp["mode"] == "pv"  # the demo starts in solar mode
    # the Carport's car (the Garage's Zoe connects too unless it is out on its weekly errands)
    carport = [e.data for e in events if e.data["loadpoint"] == 1]
    assert [data["type"] for data in carport] == ["connect"]
    assert carport[0] == {
        "config_entry_id": entry.entry_id,
        "loadpoint": 1,
        "title": "Carport",
        "type": "connect",
    }
    assert hass.states.get("binary_sensor.carport_vehicle_connected").state == "on"

    for _ in range(4):
        await tick(hass, freezer)
    state = coordinator.controller.state()
    assert state["loadpoints"][0]["charging"] is True
    assert state["loadpoints"][0]["chargePower"] > 4000
    assert "start" in [e.data["type"] for e in events]
    assert float(hass.states.get("sensor.carport_charge_power").state) > 4000
    assert float(hass.states.get("sensor.carport_session_energy").state) > 0
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_one_state_document_per_cycle(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, entry: MockConfigEntry
) -> None:
    coordinator = coordinator_of(entry)
    received: list[dict[str, Any]] = []
    unsubscribe = coordinator.controller.subscribe(received.append)
    await tick(hass, freezer)
    assert len(received) == 1
    assert received[0] is coordinator.controller.state() is coordinator.data.state
    assert coordinator.data.now == dt_util.now()
    unsubscribe()
    unsubscribe()  # twice is harmless
    await tick(hass, freezer)
    assert len(received) == 1


async def test_cycle_reads_every_device_and_sends_commands(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, fake_site: FakeSite, entry: MockConfigEntry
) -> None:
    reads = fake_site.garage.reads
    assert fake_site.grid.reads == fake_site.pv.reads == fake_site.battery.reads == reads
    await coordinator_of(entry).controller.async_set_loadpoint(0, "mode", "pv")
    # 3 kW export is too little for 3 phases: the charger is switched to 1p at once
    assert fake_site.garage.commands == [ChargerCommand(phases=1)]
    await tick(hass, freezer)
    assert fake_site.garage.reads == reads + 1
    assert not fake_site.garage.enabled
    await tick(hass, freezer, 31)  # the enable delay (60 s) has passed
    assert fake_site.garage.enabled
    assert fake_site.garage.commands[-1] == ChargerCommand(enable=True, current=6.0)
    assert fake_site.carport.commands == []  # not connected, mode off: nothing to say


async def test_set_loadpoint_reaches_charger_at_once(
    hass: HomeAssistant, fake_site: FakeSite, entry: MockConfigEntry
) -> None:
    coordinator = coordinator_of(entry)
    received: list[dict[str, Any]] = []
    coordinator.controller.subscribe(received.append)
    stored = await coordinator.controller.async_set_loadpoint(0, "mode", "now")
    assert stored == "now"
    assert fake_site.garage.commands == [ChargerCommand(enable=True, current=16.0, phases=None)]
    assert coordinator.controller.state()["loadpoints"][0]["mode"] == "now"
    assert received[-1]["loadpoints"][0]["mode"] == "now"
    assert hass.states.get("select.garage_charge_mode").state == "now"


async def test_set_loadpoint_rejects_bad_values(
    hass: HomeAssistant, fake_site: FakeSite, entry: MockConfigEntry
) -> None:
    coordinator = coordinator_of(entry)
    with pytest.raises(SettingError, match="invalid value"):
        await coordinator.controller.async_set_loadpoint(0, "mode", "turbo")
    with pytest.raises(SettingError, match="does not exist"):
        await coordinator.controller.async_set_loadpoint(5, "mode", "now")
    assert fake_site.garage.commands == []
    assert coordinator.controller.state()["loadpoints"][0]["mode"] == "off"


async def test_set_site(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    coordinator = coordinator_of(entry)
    assert await coordinator.controller.async_set_site("residualPower", "150") == 150.0
    assert coordinator.controller.state()["residualPower"] == 150
    assert hass.states.get("number.home_residual_power").state == "150.0"
    with pytest.raises(SettingError):
        await coordinator.controller.async_set_site("bufferSoc", 120)


async def test_events_connect_start_stop_disconnect(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, fake_site: FakeSite, entry: MockConfigEntry
) -> None:
    events = async_capture_events(hass, EVENT_NAME)
    carport = fake_site.carport
    carport.connected = True
    await tick(hass, freezer)
    await coordinator_of(entry).controller.async_set_loadpoint(1, "mode", "now")
    await tick(hass, freezer)
    carport.enabled = False  # the car stops drawing
    await tick(hass, freezer)
    carport.connected = False
    await tick(hass, freezer)
    assert [(e.data["loadpoint"], e.data["title"], e.data["type"]) for e in events] == [
        (2, "Carport", "connect"),
        (2, "Carport", "start"),
        (2, "Carport", "stop"),
        (2, "Carport", "disconnect"),
    ]


async def test_interval_from_options(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, fake_site: FakeSite
) -> None:
    freezer.move_to(START)
    with use_devices(fake_site):
        entry = site_entry(options={CONF_INTERVAL: 10})
        await setup_entry(hass, entry)
        assert coordinator_of(entry).update_interval == timedelta(seconds=10)
        assert coordinator_of(entry).site.interval_s == 10
        reads = fake_site.grid.reads
        await tick(hass, freezer, 10)
        assert fake_site.grid.reads == reads + 1
        hass.config_entries.async_update_entry(entry, options={CONF_INTERVAL: 600})
        await hass.async_block_till_done()  # the update listener reloads the site
        assert coordinator_of(entry).update_interval == timedelta(seconds=60)
        assert await hass.config_entries.async_unload(entry.entry_id)


async def test_meter_entity_change_runs_an_early_cycle(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, fake_site: FakeSite
) -> None:
    """A meter backed by an entity: its change starts a cycle about a second later."""
    freezer.move_to(START)
    fake_site.grid.watched = ("sensor.grid_power",)
    hass.states.async_set("sensor.grid_power", "-3000")
    with use_devices(fake_site):
        entry = site_entry()
        await setup_entry(hass, entry)
        reads = fake_site.grid.reads
        hass.states.async_set("sensor.grid_power", "-2000")
        hass.states.async_set("sensor.grid_power", "-1000")  # debounced into one cycle
        await hass.async_block_till_done()
        assert fake_site.grid.reads == reads
        await tick(hass, freezer, 1.5)
        assert fake_site.grid.reads == reads + 1
        assert await hass.config_entries.async_unload(entry.entry_id)
        # after unload the entity is not watched any more
        hass.states.async_set("sensor.grid_power", "0")
        await hass.async_block_till_done()
        assert fake_site.grid.reads == reads + 1


async def test_reload_builds_a_new_coordinator(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    first = coordinator_of(entry)
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    assert coordinator_of(entry) is not first
    assert entry.state is ConfigEntryState.LOADED


async def test_devices_registered(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    site = find_device(hass, entry.entry_id, entry.entry_id)
    garage = find_device(hass, entry.entry_id, f"{entry.entry_id}_lp1")
    carport = find_device(hass, entry.entry_id, f"{entry.entry_id}_lp2")
    assert site.name == "Home"
    assert (garage.name, garage.model) == ("Garage", "Loadpoint 3p (1p/3p)")
    assert (carport.name, carport.model) == ("Carport", "Loadpoint 3p")
    assert garage.via_device_id == site.id
    assert carport.via_device_id == site.id


async def test_stale_devices(hass: HomeAssistant, fake_site: FakeSite) -> None:
    """A loadpoint that is gone loses its device; only such devices may be deleted by hand."""
    from homeassistant.helpers import device_registry as dr

    from custom_components.evcc_ha import async_remove_config_entry_device

    entry = site_entry()
    entry.add_to_hass(hass)
    registry = dr.async_get(hass)
    registry.async_get_or_create(
        config_entry_id=entry.entry_id, identifiers={(DOMAIN, f"{entry.entry_id}_lp9")}
    )
    with use_devices(fake_site):
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
        devices = dr.async_entries_for_config_entry(registry, entry.entry_id)
        assert len(devices) == 3  # the site and its two loadpoints
        site = find_device(hass, entry.entry_id, entry.entry_id)
        garage = find_device(hass, entry.entry_id, f"{entry.entry_id}_lp1")
        assert not await async_remove_config_entry_device(hass, entry, site)
        assert not await async_remove_config_entry_device(hass, entry, garage)
        assert await hass.config_entries.async_unload(entry.entry_id)
        assert await async_remove_config_entry_device(hass, entry, garage)
        assert not await async_remove_config_entry_device(hass, entry, site)


async def test_home_assistant_api_views(
    hass: HomeAssistant, hass_client: Any, fake_site: FakeSite
) -> None:
    """evcc's API under /api/evcc_ha/ serves the first loaded site."""
    entry = site_entry()
    with use_devices(fake_site):
        await setup_entry(hass, entry)
        client = await hass_client()
        response = await client.get("/api/evcc_ha/state")
        assert response.status == 200
        body = await response.json()
        state = body.get("result", body)
        assert state["siteTitle"] == "Home"
        assert [lp["title"] for lp in state["loadpoints"]] == ["Garage", "Carport"]
        assert await hass.config_entries.async_unload(entry.entry_id)
    response = await client.get("/api/evcc_ha/state")
    assert response.status == 503


async def test_vehicle_soc_source(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, fake_site: FakeSite
) -> None:
    """A separate SoC source wins over the charger's; a broken one is only logged."""
    from .fakes import FakeSoc

    freezer.move_to(START)
    soc = FakeSoc("ID.3 SoC", soc=61.0)

    async def build(*_args: Any) -> tuple[Any, None]:
        devices = fake_site.devices()
        devices.loadpoints[0].soc = soc
        return devices, None

    from unittest.mock import patch

    entry = site_entry()
    with patch("custom_components.evcc_ha.async_build_site_devices", side_effect=build):
        await setup_entry(hass, entry)
        assert hass.states.get("sensor.garage_vehicle_soc").state == "61.0"
        soc.soc = 140.0  # nonsense: ignored this cycle, the loadpoint stays available
        await tick(hass, freezer)
        assert entry.runtime_data.coordinator.data.failed == frozenset({"vehicle1_soc"})
        assert hass.states.get("select.garage_charge_mode").state == "off"
        soc.soc = None  # unknown is fine
        await tick(hass, freezer)
        assert entry.runtime_data.coordinator.data.failed == frozenset()
        assert await hass.config_entries.async_unload(entry.entry_id)


async def test_broken_state_listener_does_not_stop_others(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    coordinator = coordinator_of(entry)
    received: list[dict[str, Any]] = []

    def broken(_state: dict[str, Any]) -> None:
        raise RuntimeError("reader bug")

    coordinator.controller.subscribe(broken)
    coordinator.controller.subscribe(received.append)
    await tick(hass, freezer)
    assert len(received) == 1
    assert "State listener failed" in caplog.text


async def test_loadpoint_subentries(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, fake_site: FakeSite
) -> None:
    """Loadpoints configured as subentries: their entities and devices belong to the subentry
    and keep their ids when another loadpoint is removed."""
    from homeassistant.helpers import entity_registry as er

    from custom_components.evcc_ha.const import SUBENTRY_LOADPOINT

    freezer.move_to(START)
    subentries = [
        {
            "data": {},
            "subentry_id": sid,
            "subentry_type": SUBENTRY_LOADPOINT,
            "title": title,
            "unique_id": None,
        }
        for sid, title in (("garage_sub", "Garage"), ("carport_sub", "Carport"))
    ]
    entry = site_entry(subentries_data=subentries)
    registry = er.async_get(hass)
    with use_devices(fake_site):
        await setup_entry(hass, entry)
        garage = registry.async_get("select.garage_charge_mode")
        carport = registry.async_get("select.carport_charge_mode")
        assert garage is not None and carport is not None
        assert garage.unique_id == f"{entry.entry_id}_garage_sub_mode"
        assert garage.config_subentry_id == "garage_sub"
        assert carport.config_subentry_id == "carport_sub"
        device = find_device(hass, entry.entry_id, f"{entry.entry_id}_carport_sub")
        assert device.name == "Carport"

    # the garage goes: the site is set up again with the carport alone
    only_carport = FakeSite()

    async def build(*_args: Any) -> tuple[Any, None]:
        devices = only_carport.devices()
        devices.loadpoints = devices.loadpoints[1:]
        return devices, None

    from unittest.mock import patch

    with patch("custom_components.evcc_ha.async_build_site_devices", side_effect=build):
        hass.config_entries.async_remove_subentry(entry, "garage_sub")
        await hass.async_block_till_done()
        assert entry.runtime_data.coordinator.site.loadpoints[0].config.title == "Carport"
        assert registry.async_get("select.garage_charge_mode") is None
        carport_after = registry.async_get("select.carport_charge_mode")
        assert carport_after is not None
        assert carport_after.unique_id == carport.unique_id
        assert hass.states.get("select.carport_charge_mode").state == "off"
        assert await hass.config_entries.async_unload(entry.entry_id)

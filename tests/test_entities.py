"""Entities of every platform (snapshots) and their actions through the one write path."""

from __future__ import annotations

from collections.abc import Generator
from datetime import datetime, timedelta
from typing import Any
from unittest.mock import PropertyMock, patch

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.datetime import DOMAIN as DATETIME_DOMAIN, SERVICE_SET_VALUE
from homeassistant.components.datetime.const import ATTR_DATETIME
from homeassistant.components.number import (
    ATTR_VALUE,
    DOMAIN as NUMBER_DOMAIN,
    SERVICE_SET_VALUE as NUMBER_SET_VALUE,
)
from homeassistant.components.select import (
    ATTR_OPTION,
    DOMAIN as SELECT_DOMAIN,
    SERVICE_SELECT_OPTION,
)
from homeassistant.const import ATTR_ENTITY_ID, Platform
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry
from syrupy.assertion import SnapshotAssertion

from custom_components.evcc_ha.const import DOMAIN
from custom_components.evcc_ha.core.model import ChargerCommand

from .fakes import FakeSite, SnapshotExtension, plain, setup_entry, site_entry, use_devices

START = "2026-06-21T10:00:00+00:00"


@pytest.fixture
def snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    return snapshot.use_extension(SnapshotExtension)


@pytest.fixture
def entity_registry_enabled_by_default() -> Generator[None]:
    """Every entity enabled, also those disabled by default."""
    with patch(
        "homeassistant.helpers.entity.Entity.entity_registry_enabled_default",
        new_callable=PropertyMock,
        return_value=True,
    ):
        yield


@pytest.fixture
def fake_site() -> FakeSite:
    return FakeSite()


@pytest.fixture
def platforms() -> list[Platform] | None:
    return None  # all


@pytest.fixture
async def entry(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    fake_site: FakeSite,
    platforms: list[Platform] | None,
) -> MockConfigEntry:
    freezer.move_to(START)
    entry = site_entry()
    with use_devices(fake_site):
        if platforms is None:
            await setup_entry(hass, entry)
        else:
            with patch("custom_components.evcc_ha.PLATFORMS", platforms):
                await setup_entry(hass, entry)
        yield entry
        assert await hass.config_entries.async_unload(entry.entry_id)


def describe(
    hass: HomeAssistant, entity_registry: er.EntityRegistry, entry_id: str
) -> dict[str, Any]:
    """Registry entry and state of every entity, in fields stable across Home Assistant versions."""
    devices = dr.async_get(hass)
    result: dict[str, Any] = {}
    for entity in sorted(
        er.async_entries_for_config_entry(entity_registry, entry_id), key=lambda e: e.entity_id
    ):
        state = hass.states.get(entity.entity_id)
        assert state is not None, entity.entity_id
        device = devices.async_get(entity.device_id) if entity.device_id else None
        result[entity.entity_id] = {
            "unique_id": entity.unique_id,
            "device": device.name if device else None,
            "translation_key": entity.translation_key,
            "has_entity_name": entity.has_entity_name,
            "original_name": entity.original_name,
            "device_class": entity.original_device_class,
            "entity_category": entity.entity_category,
            "unit": entity.unit_of_measurement,
            "capabilities": entity.capabilities,
            "disabled_by": entity.disabled_by,
            "state": state.state,
            "attributes": dict(state.attributes),
        }
    return plain(result)


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
@pytest.mark.parametrize(
    "platforms",
    [
        [Platform.BINARY_SENSOR],
        [Platform.DATETIME],
        [Platform.NUMBER],
        [Platform.SELECT],
        [Platform.SWITCH],
        [Platform.SENSOR],
    ],
    ids=lambda platforms: str(platforms[0]),
)
async def test_platform_snapshot(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
    entry: MockConfigEntry,
    platforms: list[Platform],
) -> None:
    entities = describe(hass, entity_registry, entry.entry_id)
    assert entities
    assert {entity_id.split(".")[0] for entity_id in entities} == {str(platforms[0])}
    assert entities == snapshot


async def test_entities_on_their_devices(
    hass: HomeAssistant, entity_registry: er.EntityRegistry, entry: MockConfigEntry
) -> None:
    devices = dr.async_get(hass)
    for entity in er.async_entries_for_config_entry(entity_registry, entry.entry_id):
        device = devices.async_get(entity.device_id)
        assert device is not None
        ident = next(iter(device.identifiers))
        if "_lp1_" in entity.unique_id:
            assert ident == (DOMAIN, f"{entry.entry_id}_lp1"), entity.entity_id
        elif "_lp2_" in entity.unique_id:
            assert ident == (DOMAIN, f"{entry.entry_id}_lp2"), entity.entity_id
        else:
            assert ident == (DOMAIN, entry.entry_id), entity.entity_id


async def test_limit_energy_disabled_for_vehicles_with_soc(
    hass: HomeAssistant, entity_registry: er.EntityRegistry, entry: MockConfigEntry
) -> None:
    garage = entity_registry.async_get("number.garage_limit_energy")
    carport = entity_registry.async_get("number.carport_limit_energy")
    assert garage is not None and garage.disabled_by is er.RegistryEntryDisabler.INTEGRATION
    assert carport is not None and carport.disabled_by is None
    # no vehicle of its own, but the Garage's ID.3 (with a SoC) may come to the Carport
    assert entity_registry.async_get("sensor.carport_vehicle_soc") is not None
    assert entity_registry.async_get("select.carport_phases") is None  # not switchable


async def test_select_mode_reaches_charger(
    hass: HomeAssistant, fake_site: FakeSite, entry: MockConfigEntry
) -> None:
    """The command goes out within the service call, and the entity shows it at once."""
    await hass.services.async_call(
        SELECT_DOMAIN,
        SERVICE_SELECT_OPTION,
        {ATTR_ENTITY_ID: "select.garage_charge_mode", ATTR_OPTION: "now"},
        blocking=True,
    )
    assert fake_site.garage.commands == [ChargerCommand(enable=True, current=16.0)]
    assert fake_site.garage.enabled
    assert hass.states.get("select.garage_charge_mode").state == "now"
    assert hass.states.get("binary_sensor.garage_charger_enabled").state == "on"
    assert hass.states.get("sensor.garage_offered_current").state == "16.0"

    await hass.services.async_call(
        SELECT_DOMAIN,
        SERVICE_SELECT_OPTION,
        {ATTR_ENTITY_ID: "select.garage_charge_mode", ATTR_OPTION: "off"},
        blocking=True,
    )
    assert fake_site.garage.commands[-1] == ChargerCommand(enable=False)


async def test_select_phases(
    hass: HomeAssistant, fake_site: FakeSite, entry: MockConfigEntry
) -> None:
    assert hass.states.get("select.garage_phases").state == "auto"
    await hass.services.async_call(
        SELECT_DOMAIN,
        SERVICE_SELECT_OPTION,
        {ATTR_ENTITY_ID: "select.garage_phases", ATTR_OPTION: "1p"},
        blocking=True,
    )
    assert fake_site.garage.commands == [ChargerCommand(phases=1)]
    assert hass.states.get("select.garage_phases").state == "1p"


async def test_number_sets_and_validates(
    hass: HomeAssistant, fake_site: FakeSite, entry: MockConfigEntry
) -> None:
    await hass.services.async_call(
        NUMBER_DOMAIN,
        NUMBER_SET_VALUE,
        {ATTR_ENTITY_ID: "number.garage_maximum_current", ATTR_VALUE: 20},
        blocking=True,
    )
    assert hass.states.get("number.garage_maximum_current").state == "20.0"
    assert entry.runtime_data.coordinator.controller.state()["loadpoints"][0]["maxCurrent"] == 20

    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            NUMBER_DOMAIN,
            NUMBER_SET_VALUE,
            {ATTR_ENTITY_ID: "number.garage_minimum_current", ATTR_VALUE: 25},
            blocking=True,
        )
    assert err.value.translation_domain == DOMAIN
    assert err.value.translation_key == "invalid_setting"
    assert err.value.translation_placeholders == {
        "setting": "minCurrent",
        "error": "min current must be smaller or equal than max current",
    }
    assert hass.states.get("number.garage_minimum_current").state == "6.0"

    # in "now" a new maximum current is sent to the charger right away
    await entry.runtime_data.coordinator.controller.async_set_loadpoint(0, "mode", "now")
    await hass.services.async_call(
        NUMBER_DOMAIN,
        NUMBER_SET_VALUE,
        {ATTR_ENTITY_ID: "number.garage_maximum_current", ATTR_VALUE: 10},
        blocking=True,
    )
    assert fake_site.garage.commands[-1] == ChargerCommand(current=10.0)


async def test_site_numbers(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    for entity_id, value in (
        ("number.home_battery_priority_soc", 20),
        ("number.home_battery_buffer_soc", 50),
        ("number.home_battery_buffer_start_soc", 80),
        ("number.home_residual_power", -200),
    ):
        await hass.services.async_call(
            NUMBER_DOMAIN,
            NUMBER_SET_VALUE,
            {ATTR_ENTITY_ID: entity_id, ATTR_VALUE: value},
            blocking=True,
        )
        assert float(hass.states.get(entity_id).state) == value
    with pytest.raises(ServiceValidationError, match="priority soc must not be larger"):
        await hass.services.async_call(
            NUMBER_DOMAIN,
            NUMBER_SET_VALUE,
            {ATTR_ENTITY_ID: "number.home_battery_priority_soc", ATTR_VALUE: 60},
            blocking=True,
        )
    settings = entry.runtime_data.coordinator.site.settings
    assert (settings.priority_soc, settings.buffer_soc, settings.buffer_start_soc) == (20, 50, 80)
    assert settings.residual_power == -200


async def test_plan_time(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    assert hass.states.get("datetime.garage_plan_time").state == "unknown"
    when = dt_util.utcnow() + timedelta(hours=8)
    await hass.services.async_call(
        DATETIME_DOMAIN,
        SERVICE_SET_VALUE,
        {ATTR_ENTITY_ID: "datetime.garage_plan_time", ATTR_DATETIME: when},
        blocking=True,
    )
    state = hass.states.get("datetime.garage_plan_time").state
    assert datetime.fromisoformat(state) == when.replace(microsecond=0)
    settings = entry.runtime_data.coordinator.site.loadpoints[0].settings
    assert settings.plan_time is not None
    assert (
        entry.runtime_data.coordinator.controller.state()["loadpoints"][0]["planTime"] is not None
    )

    with pytest.raises(ServiceValidationError, match="timestamp is in the past"):
        await hass.services.async_call(
            DATETIME_DOMAIN,
            SERVICE_SET_VALUE,
            {ATTR_ENTITY_ID: "datetime.garage_plan_time", ATTR_DATETIME: dt_util.utcnow()},
            blocking=True,
        )


async def test_values_follow_the_cycle(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, fake_site: FakeSite, entry: MockConfigEntry
) -> None:
    from pytest_homeassistant_custom_component.common import async_fire_time_changed

    await entry.runtime_data.coordinator.controller.async_set_loadpoint(0, "mode", "now")
    for _ in range(3):
        fake_site.garage.energy += 0.5
        freezer.tick(timedelta(seconds=30))
        async_fire_time_changed(hass)
        await hass.async_block_till_done(wait_background_tasks=True)
    assert hass.states.get("sensor.garage_charger_status").state == "c"
    assert hass.states.get("binary_sensor.garage_charging").state == "on"
    assert hass.states.get("sensor.garage_charge_power").state == "11040.0"
    assert hass.states.get("sensor.garage_session_energy").state == "1.5"
    assert hass.states.get("sensor.garage_lifetime_energy").state == "1.5"
    assert hass.states.get("sensor.garage_charge_duration").state == "1.0"  # min
    assert hass.states.get("sensor.garage_active_phases").state == "3"


async def test_plan_strategy_switch_and_number(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    """The two halves of the plan strategy: each entity changes its own half, keeps the other."""
    controller = entry.runtime_data.coordinator.controller
    switch, number = "switch.garage_plan_in_one_block", "number.garage_plan_precondition"
    assert hass.states.get(switch).state == "off"
    assert hass.states.get(number).state == "0"
    await hass.services.async_call(
        NUMBER_DOMAIN, NUMBER_SET_VALUE, {ATTR_ENTITY_ID: number, ATTR_VALUE: 1800}, blocking=True
    )
    await hass.services.async_call(
        Platform.SWITCH, "turn_on", {ATTR_ENTITY_ID: switch}, blocking=True
    )
    lp = controller.state()["loadpoints"][0]
    assert lp["planStrategy"] == {"continuous": True, "precondition": 1800}
    assert hass.states.get(switch).state == "on"
    assert hass.states.get(number).state == "1800"
    await hass.services.async_call(
        Platform.SWITCH, "turn_off", {ATTR_ENTITY_ID: switch}, blocking=True
    )
    assert controller.state()["loadpoints"][0]["effectivePlanStrategy"] == {
        "continuous": False,
        "precondition": 1800,
    }
    # above its range the number is refused by Home Assistant; nothing changes
    with pytest.raises(ServiceValidationError):
        await hass.services.async_call(
            NUMBER_DOMAIN,
            NUMBER_SET_VALUE,
            {ATTR_ENTITY_ID: number, ATTR_VALUE: 100_000},
            blocking=True,
        )
    assert controller.state()["loadpoints"][0]["planStrategy"]["precondition"] == 1800


async def test_vehicle_select(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    """The site's vehicles (each loadpoint's own ones) and `guest` are the options; choosing
    moves the vehicle, leaving its loadpoint without one (evcc); an unknown option is refused."""
    controller = entry.runtime_data.coordinator.controller
    garage, carport = "select.garage_vehicle", "select.carport_vehicle"
    state = hass.states.get(garage)
    assert state.state == "ID.3" and state.attributes["options"] == ["guest", "ID.3", "Van"]
    assert hass.states.get(carport).state == "Van"
    await hass.services.async_call(
        SELECT_DOMAIN,
        SERVICE_SELECT_OPTION,
        {ATTR_ENTITY_ID: carport, ATTR_OPTION: "ID.3"},
        blocking=True,
    )
    assert [lp["vehicleName"] for lp in controller.state()["loadpoints"]] == ["", "id_3"]
    assert (hass.states.get(garage).state, hass.states.get(carport).state) == ("guest", "ID.3")
    await hass.services.async_call(
        SELECT_DOMAIN,
        SERVICE_SELECT_OPTION,
        {ATTR_ENTITY_ID: carport, ATTR_OPTION: "guest"},
        blocking=True,
    )
    assert controller.state()["loadpoints"][1]["vehicleName"] == ""
    with pytest.raises(ServiceValidationError):
        await hass.services.async_call(
            SELECT_DOMAIN,
            SERVICE_SELECT_OPTION,
            {ATTR_ENTITY_ID: garage, ATTR_OPTION: "Zoe"},
            blocking=True,
        )

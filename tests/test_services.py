"""The service actions evcc_ha.set_plan and evcc_ha.clear_plan."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import voluptuous as vol
from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.evcc_ha.const import DOMAIN
from custom_components.evcc_ha.core.settings import LoadpointSettings

from .fakes import ENTRY_ID, FakeSite, find_device, setup_entry, site_entry, use_devices

START = "2026-06-21T10:00:00+00:00"


@pytest.fixture
async def entry(hass: HomeAssistant, freezer: FrozenDateTimeFactory) -> MockConfigEntry:
    freezer.move_to(START)
    entry = site_entry()
    with use_devices(FakeSite()):
        await setup_entry(hass, entry)
        yield entry
        assert await hass.config_entries.async_unload(entry.entry_id)


def settings(entry: MockConfigEntry, index: int) -> LoadpointSettings:
    return entry.runtime_data.coordinator.site.loadpoints[index].settings  # type: ignore[no-any-return]


async def call(hass: HomeAssistant, service: str, data: dict[str, Any]) -> None:
    await hass.services.async_call(DOMAIN, service, data, blocking=True)


def device_id(hass: HomeAssistant, identifier: str) -> str:
    return find_device(hass, ENTRY_ID, identifier).id


async def test_set_plan_by_entry(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    when = dt_util.now() + timedelta(hours=10)
    await call(hass, "set_plan", {"config_entry_id": entry.entry_id, "time": when, "soc": 80})
    garage = settings(entry, 0)
    assert garage.plan_time == when
    assert garage.plan_soc == 80
    assert settings(entry, 1).plan_time is None
    state = entry.runtime_data.coordinator.controller.state()["loadpoints"][0]
    assert state["planSoc"] == 80
    assert state["effectivePlanSoc"] == 80
    assert hass.states.get("datetime.garage_plan_time").state != "unknown"


async def test_set_plan_by_loadpoint_device(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    when = dt_util.now() + timedelta(hours=5)
    carport = device_id(hass, f"{entry.entry_id}_lp2")
    await call(hass, "set_plan", {"device_id": carport, "time": when.isoformat(), "energy": 20})
    assert settings(entry, 1).plan_time == when
    assert settings(entry, 1).plan_energy == 20
    assert settings(entry, 0).plan_time is None


async def test_set_plan_by_site_device_and_number(
    hass: HomeAssistant, entry: MockConfigEntry
) -> None:
    when = dt_util.now() + timedelta(hours=5)
    site = device_id(hass, entry.entry_id)
    await call(hass, "set_plan", {"device_id": [site], "loadpoint": 2, "time": when})
    assert settings(entry, 1).plan_time == when


async def test_naive_time_is_local(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    local = (dt_util.now() + timedelta(hours=3)).replace(microsecond=0)
    naive = local.replace(tzinfo=None).isoformat()
    await call(hass, "set_plan", {"config_entry_id": entry.entry_id, "time": naive})
    assert settings(entry, 0).plan_time == local


async def test_clear_plan(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    when = dt_util.now() + timedelta(hours=10)
    await call(hass, "set_plan", {"config_entry_id": entry.entry_id, "time": when, "soc": 70})
    await call(hass, "clear_plan", {"config_entry_id": entry.entry_id})
    garage = settings(entry, 0)
    assert (garage.plan_time, garage.plan_soc, garage.plan_energy) == (None, 0, 0)
    assert hass.states.get("datetime.garage_plan_time").state == "unknown"


@pytest.mark.parametrize(
    ("data", "key", "placeholders"),
    [
        ({"config_entry_id": "nope"}, "entry_not_found", {"entry_id": "nope"}),
        ({"loadpoint": 3}, "loadpoint_not_found", {"loadpoint": "3", "title": "Home"}),
        ({"device_id": "nope"}, "device_not_found", {"device_id": "nope"}),
        ({}, "no_target", None),
    ],
)
async def test_bad_targets(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    data: dict[str, Any],
    key: str,
    placeholders: dict[str, str] | None,
) -> None:
    if "loadpoint" in data:
        data = {**data, "config_entry_id": entry.entry_id}
    when = dt_util.now() + timedelta(hours=1)
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, "set_plan", {**data, "time": when})
    assert err.value.translation_domain == DOMAIN
    assert err.value.translation_key == key
    assert err.value.translation_placeholders == placeholders


async def test_entry_not_loaded(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    other = MockConfigEntry(domain=DOMAIN, title="Cottage", data={"site_title": "Cottage"})
    other.add_to_hass(hass)
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, "clear_plan", {"config_entry_id": other.entry_id})
    assert err.value.translation_key == "entry_not_loaded"


async def test_past_time_changes_nothing(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    with pytest.raises(ServiceValidationError, match="timestamp is in the past") as err:
        await call(
            hass,
            "set_plan",
            {
                "config_entry_id": entry.entry_id,
                "time": dt_util.now() - timedelta(minutes=1),
                "soc": 90,
            },
        )
    assert err.value.translation_key == "invalid_setting"
    assert settings(entry, 0).plan_soc == 0


async def test_soc_and_energy_exclude_each_other(
    hass: HomeAssistant, entry: MockConfigEntry
) -> None:
    with pytest.raises(vol.Invalid):
        await call(
            hass,
            "set_plan",
            {
                "config_entry_id": entry.entry_id,
                "time": dt_util.now() + timedelta(hours=1),
                "soc": 80,
                "energy": 10,
            },
        )


async def test_services_registered_without_entries(hass: HomeAssistant) -> None:
    from homeassistant.setup import async_setup_component

    assert await async_setup_component(hass, DOMAIN, {})
    assert hass.services.has_service(DOMAIN, "set_plan")
    assert hass.services.has_service(DOMAIN, "clear_plan")
    with pytest.raises(ServiceValidationError):
        await call(hass, "clear_plan", {"config_entry_id": "missing"})


async def test_set_repeating_plans_and_their_switches(
    hass: HomeAssistant, entry: MockConfigEntry
) -> None:
    """The action sets the vehicle's weekly plans (time zone: Home Assistant's); the switches
    turn each one on and off and are unavailable while the vehicle has fewer plans."""
    first, second = "switch.garage_repeating_plan_1", "switch.garage_repeating_plan_2"
    assert hass.states.get(first).state == "unavailable"
    # the Carport's Van has no SoC and no plans (the switch is there for the ID.3, if it comes)
    assert hass.states.get("switch.carport_repeating_plan_1").state == "unavailable"
    await call(
        hass,
        "set_repeating_plans",
        {
            "config_entry_id": entry.entry_id,
            "plans": [{"weekdays": [1, 2, 3, 4, 5], "time": "07:00", "soc": 80}],
        },
    )
    (plan,) = settings(entry, 0).repeating_plans
    assert (plan.weekdays, plan.time, plan.soc, plan.active) == ((1, 2, 3, 4, 5), "07:00", 80, True)
    assert plan.tz == hass.config.time_zone
    await hass.async_block_till_done()
    assert hass.states.get(first).state == "on"
    assert hass.states.get(first).attributes["soc"] == 80
    assert hass.states.get(second).state == "unavailable"
    await hass.services.async_call("switch", "turn_off", {"entity_id": first}, blocking=True)
    assert settings(entry, 0).repeating_plans[0].active is False
    assert hass.states.get(first).state == "off"
    # a bad plan is refused with the core's message and changes nothing
    with pytest.raises(ServiceValidationError) as err:
        await call(
            hass,
            "set_repeating_plans",
            {"config_entry_id": entry.entry_id, "plans": [{"weekdays": [9], "time": "07:00"}]},
        )
    assert err.value.translation_placeholders == {
        "setting": "repeatingPlans",
        "error": "weekday out of range: 9",
    }
    assert settings(entry, 0).repeating_plans[0].active is False
    # an empty list deletes them
    await call(hass, "set_repeating_plans", {"config_entry_id": entry.entry_id, "plans": []})
    assert settings(entry, 0).repeating_plans == ()
    await hass.async_block_till_done()
    assert hass.states.get(first).state == "unavailable"


async def test_a_change_one_target_refuses_changes_none(
    hass: HomeAssistant, entry: MockConfigEntry
) -> None:
    """Both loadpoints targeted, the second (the Van, no SoC) refuses repeating plans: the
    Garage's are not changed either (every target is checked before any is changed)."""
    garage, carport = (device_id(hass, f"{entry.entry_id}_lp{n}") for n in (1, 2))
    with pytest.raises(ServiceValidationError) as err:
        await call(
            hass,
            "set_repeating_plans",
            {
                "device_id": [garage, carport],
                "plans": [{"weekdays": [1], "time": "07:00", "soc": 80}],
            },
        )
    assert err.value.translation_placeholders == {
        "setting": "repeatingPlans",
        "error": "repeating plans need a vehicle with a SoC",
    }
    assert settings(entry, 0).repeating_plans == ()

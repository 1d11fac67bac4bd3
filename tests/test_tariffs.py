"""Tariffs in Home Assistant: price entities of other integrations (as states with their real
attribute layouts), the options flow's tariff steps, the price sensors, the smart cost limit
entities and action, and the demo's day-ahead price sensor driving a plan."""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntry, ConfigEntryState
from homeassistant.core import HomeAssistant, ServiceCall, SupportsResponse
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.evcc_ha.const import (
    CONF_CO2_ENTITY,
    CONF_DEMO,
    CONF_FEEDIN_PRICE,
    CONF_FEEDIN_PRICE_ENTITY,
    CONF_GRID_POWER,
    CONF_GRID_PRICE,
    CONF_GRID_PRICE_ENTITY,
    CONF_GRID_ZONES,
    CONF_SITE_TITLE,
    DOMAIN,
)
from custom_components.evcc_ha.devices.demo import demo_day_ahead_prices
from tests.price_shapes import (
    BERLIN,
    Q,
    eds_attrs,
    epex_attrs,
    generic_today_tomorrow,
    nordpool_attrs,
    nordpool_response,
    octopus_attrs,
    tibber_points,
)
from tests.test_config_flow import check_form, set_sensor
from tests.test_end_to_end import house, set_up_site  # noqa: F401 (fixture)

# a Tuesday in winter, after the test's auth tokens were issued (they are made at real time)
DAY = date(2027, 1, 12)
TOMORROW = DAY + timedelta(days=1)
PRICES = "sensor.day_ahead_prices"


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=BERLIN)


@pytest.fixture(autouse=True)
async def berlin(hass: HomeAssistant) -> None:
    await hass.config.async_set_time_zone("Europe/Berlin")
    hass.config.currency = "EUR"


async def tick(hass: HomeAssistant, freezer: FrozenDateTimeFactory, seconds: float = 31) -> None:
    freezer.tick(timedelta(seconds=seconds))
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)


async def options_to_tariffs(hass: HomeAssistant, entry: ConfigEntry) -> dict[str, Any]:
    """Walk the options flow to its tariffs step, keeping what the other steps offer."""
    result = await hass.config_entries.options.async_init(entry.entry_id)
    meters = (
        {CONF_GRID_POWER: entry.options[CONF_GRID_POWER]}
        if CONF_GRID_POWER in entry.options
        else {}
    )
    result = await hass.config_entries.options.async_configure(result["flow_id"], meters)
    for step in ("api", "mqtt"):
        assert result["step_id"] == step
        result = await hass.config_entries.options.async_configure(result["flow_id"], {})
    assert result["step_id"] == "tariffs"
    check_form(result, "options")
    return result


async def configure(hass: HomeAssistant, result: dict[str, Any], data: dict[str, Any]) -> Any:
    return await hass.config_entries.options.async_configure(result["flow_id"], data)


def state_doc(entry: ConfigEntry) -> dict[str, Any]:
    doc: dict[str, Any] = entry.runtime_data.coordinator.data.state
    return doc


@pytest.fixture
def hass_client(hass: HomeAssistant, hass_client_no_auth: Any, hass_admin_user: Any) -> Any:
    """A client of Home Assistant's HTTP API whose token is made at the frozen time (the
    tests move the clock by days, beyond the lifetime of the usual fixture's token)."""

    async def client() -> Any:
        refresh = await hass.auth.async_create_refresh_token(hass_admin_user, "http://test/")
        token = hass.auth.async_create_access_token(refresh)
        return await hass_client_no_auth(), {"Authorization": f"Bearer {token}"}

    return client


async def tariff_rates(hass_client: Any, kind: str = "grid") -> tuple[int, Any]:
    client, headers = await hass_client()
    response = await client.get(f"/api/evcc_ha/tariff/{kind}", headers=headers)
    return response.status, await response.json()


# (name, state, attributes, platform, expected rates today+tomorrow, first price per kWh)
def _shapes() -> list[tuple[str, str, dict[str, Any], int, float]]:
    tibber = {"today": tibber_points(DAY, BERLIN), "tomorrow": tibber_points(TOMORROW, BERLIN)}
    return [
        ("nordpool 15 min", "0.2", nordpool_attrs(DAY, TOMORROW, step=Q), 192, 0.2),
        ("nordpool €/MWh", "200", nordpool_attrs(DAY, TOMORROW, uom="EUR/MWh", unit="MWh",
                                                 scale=10.0), 48, 0.2),
        ("energi data service", "2.0", eds_attrs(DAY, TOMORROW, tz=BERLIN), 48, 2.0),
        ("epex spot €/MWh", "80", epex_attrs(DAY, old=True), 96, 0.08),
        ("tibber", "0.32", {**tibber, "unit_of_measurement": "EUR/kWh"}, 48, 0.32),
        ("generic ct/kWh", "20", generic_today_tomorrow(DAY, TOMORROW, BERLIN), 48, 0.2),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("state", "attributes", "count", "first"),
    [pytest.param(*shape[1:], id=shape[0]) for shape in _shapes()],
)
@pytest.mark.usefixtures("house")
async def test_price_entity_of_every_shape_becomes_the_grid_tariff(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    hass_client: Any,
    state: str,
    attributes: dict[str, Any],
    count: int,
    first: float,
) -> None:
    """Picked in the options, previewed (count and next prices), then the site's grid tariff:
    `/api/tariff/grid`, the planner tariff, the state document and the price sensor."""
    freezer.move_to(at(DAY, 0, 5))
    entry = await set_up_site(hass)
    hass.states.async_set(PRICES, state, attributes)
    result = await options_to_tariffs(hass, entry)
    result = await configure(
        hass, result, {CONF_GRID_PRICE_ENTITY: PRICES, CONF_FEEDIN_PRICE: 0.08}
    )
    assert result["step_id"] == "tariff_preview", result.get("errors")
    check_form(result, "options")
    placeholders = result["description_placeholders"]
    assert placeholders["count"] == str(count)
    assert placeholders["next"].count("EUR/kWh") == 3
    result = await configure(hass, result, {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert entry.options[CONF_GRID_PRICE_ENTITY] == PRICES
    await tick(hass, freezer)

    status, body = await tariff_rates(hass_client)
    assert status == 200 and len(body["rates"]) == count
    assert body["rates"][0]["value"] == pytest.approx(first)
    status, planner = await tariff_rates(hass_client, "planner")
    assert (status, planner) == (200, body)
    doc = state_doc(entry)
    assert doc["tariffGrid"] == pytest.approx(first)
    assert doc["tariffFeedIn"] == 0.08
    assert doc["smartCostType"] == "priceforecast"
    assert float(hass.states.get("sensor.home_grid_price").state) == pytest.approx(first)
    assert hass.states.get("sensor.home_grid_price").attributes["unit_of_measurement"] == (
        "EUR/kWh"
    )
    assert float(hass.states.get("sensor.home_feed_in_price").state) == 0.08
    assert await hass.config_entries.async_unload(entry.entry_id)


@pytest.mark.usefixtures("house")
async def test_octopus_rates_event_entity(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    freezer.move_to(datetime(DAY.year, DAY.month, DAY.day, 0, 5, tzinfo=dt_util.UTC))
    await hass.config.async_set_time_zone("Europe/London")
    hass.config.currency = "GBP"
    entry = await set_up_site(hass)
    entity = "event.octopus_energy_electricity_current_day_rates"
    hass.states.async_set(entity, "2027-01-12T00:00:00+00:00", octopus_attrs(DAY))
    result = await options_to_tariffs(hass, entry)
    result = await configure(hass, result, {CONF_GRID_PRICE_ENTITY: entity})
    assert result["step_id"] == "tariff_preview"
    assert result["description_placeholders"]["count"] == "48"
    await configure(hass, result, {})
    await hass.async_block_till_done()
    await tick(hass, freezer)
    assert state_doc(entry)["tariffGrid"] == pytest.approx(0.12)
    assert await hass.config_entries.async_unload(entry.entry_id)


async def real_site(hass: HomeAssistant, **options: Any) -> MockConfigEntry:
    set_sensor(hass, "sensor.grid_power", "300", "W", "power")
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Home",
        data={CONF_SITE_TITLE: "Home", CONF_DEMO: False},
        options={CONF_GRID_POWER: "sensor.grid_power", **options},
        unique_id="home",
        version=1,
        minor_version=2,
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    return entry


async def test_prices_are_read_again_when_the_entity_changes(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    hass_client: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Tomorrow's prices arrive in the afternoon; garbage makes the tariff empty with one log
    line while control goes on; good prices come back with one more."""
    freezer.move_to(at(DAY, 12, 0))
    hass.states.async_set(PRICES, "0.2", nordpool_attrs(DAY, None))
    entry = await real_site(hass, **{CONF_GRID_PRICE_ENTITY: PRICES})
    tariff = entry.runtime_data.coordinator.site.tariffs["grid"]
    assert len(tariff.rates(dt_util.now())) == 12  # the rest of today, hourly
    version = tariff.version

    # 13:05: tomorrow's prices are published (the entity changes)
    freezer.move_to(at(DAY, 13, 5))
    hass.states.async_set(PRICES, "0.2", nordpool_attrs(DAY, TOMORROW))
    await hass.async_block_till_done()
    assert tariff.version > version
    status, body = await tariff_rates(hass_client)
    assert status == 200 and len(body["rates"]) == 11 + 24
    # and in the state document at once, not only after the next cycle
    assert len(state_doc(entry)["forecast"]["grid"]) == 11 + 24
    # the same prices again (the state changed, the prices did not): nothing to replan
    version = tariff.version
    hass.states.async_set(PRICES, "0.21", nordpool_attrs(DAY, TOMORROW))
    await hass.async_block_till_done()
    assert tariff.version == version

    # garbage: no prices, one warning however often it comes; the cycle goes on
    caplog.set_level(logging.INFO, logger="custom_components.evcc_ha")
    for garbage in ({"raw_today": "nonsense", "price_in_cents": False}, {"raw_today": [{"x": 1}]}):
        hass.states.async_set(PRICES, "unknown", garbage)
        await hass.async_block_till_done()
        await tick(hass, freezer)
    assert caplog.text.count("has no prices from sensor.day_ahead_prices") == 1
    assert (await tariff_rates(hass_client))[0] == 404
    assert entry.runtime_data.coordinator.last_update_success
    assert state_doc(entry).get("tariffGrid") is None
    assert hass.states.get("sensor.home_grid_price").state == "unknown"
    assert hass.states.get("sensor.home_grid_power").state == "300.0"

    # the day changed while the entity was broken: today's prices are back
    freezer.move_to(at(TOMORROW, 0, 10))
    hass.states.async_set(PRICES, "0.2", nordpool_attrs(TOMORROW, None))
    await hass.async_block_till_done()
    await tick(hass, freezer)
    assert "has prices from sensor.day_ahead_prices again" in caplog.text
    status, body = await tariff_rates(hass_client)
    assert status == 200 and len(body["rates"]) == 24
    assert body["rates"][0]["start"] == "2027-01-13T00:00:00+01:00"
    # no exception of ours (aiohttp's access log trips over the frozen clock on Python 3.14)
    assert not [r for r in caplog.records if r.name.startswith("custom_components") and r.exc_info]
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_nord_pool_core_sensor_asks_its_action(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    """The core Nord Pool sensors carry one price; the prices come from its action."""
    freezer.move_to(at(DAY, 14, 0))
    nordpool_entry = MockConfigEntry(domain="nordpool", title="Nord Pool")
    nordpool_entry.add_to_hass(hass)
    registered = er.async_get(hass).async_get_or_create(
        "sensor", "nordpool", "SE3-current_price", config_entry=nordpool_entry
    )
    hass.states.async_set(
        registered.entity_id,
        "0.42",
        {"unit_of_measurement": "SEK/kWh", "friendly_name": "Nord Pool SE3 Current price"},
    )
    calls: list[dict[str, Any]] = []

    async def get_prices_for_date(call: ServiceCall) -> dict[str, Any]:
        calls.append(dict(call.data))
        day = date.fromisoformat(call.data["date"])
        return nordpool_response(day, BERLIN)

    hass.services.async_register(
        "nordpool",
        "get_prices_for_date",
        get_prices_for_date,
        supports_response=SupportsResponse.ONLY,
    )
    hass.config.currency = "SEK"
    entry = await real_site(hass)
    result = await options_to_tariffs(hass, entry)
    result = await configure(hass, result, {CONF_GRID_PRICE_ENTITY: registered.entity_id})
    assert result["step_id"] == "tariff_preview", result.get("errors")
    assert result["description_placeholders"]["count"] == "192"
    assert {call["config_entry"] for call in calls} == {nordpool_entry.entry_id}
    assert {call["date"] for call in calls} == {DAY.isoformat(), TOMORROW.isoformat()}
    await configure(hass, result, {})
    await hass.async_block_till_done()
    rates = entry.runtime_data.coordinator.site.tariffs["grid"].rates(dt_util.now())
    assert len(rates) == 192 - 14 * 4
    # €/MWh-style per-MWh prices of the action are per kWh here
    assert rates[0].price == pytest.approx(
        nordpool_response(DAY, BERLIN)["SE3"][56]["price"] / 1000
    )
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_tariffs_step_refuses_what_it_cannot_use(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    freezer.move_to(at(DAY, 9, 0))  # a Tuesday
    entry = await real_site(hass)
    result = await options_to_tariffs(hass, entry)
    hass.states.async_set("sensor.no_prices", "12.3", {"unit_of_measurement": "EUR/kWh"})
    hass.states.async_set("sensor.feedin_text", "cheap", {})
    for data, errors, detail in (
        ({CONF_GRID_ZONES: "Mo-Fr 22-6"}, {CONF_GRID_ZONES: "invalid_zones"}, "line 1"),
        ({CONF_GRID_ZONES: "Xy 1-2 0.2"}, {CONF_GRID_ZONES: "invalid_zones"}, "Xy"),
        ({CONF_GRID_ZONES: "Mo-Fr 8-20 0.35"}, {CONF_GRID_PRICE: "zones_need_price"}, ""),
        (
            {CONF_GRID_PRICE_ENTITY: PRICES, CONF_GRID_PRICE: 0.3},
            {CONF_GRID_PRICE_ENTITY: "grid_price_twice"},
            "",
        ),
        (
            {CONF_GRID_PRICE_ENTITY: "sensor.no_prices"},
            {CONF_GRID_PRICE_ENTITY: "price_entity_unusable"},
            "",
        ),
        (
            {CONF_FEEDIN_PRICE_ENTITY: "sensor.feedin_text"},
            {CONF_FEEDIN_PRICE_ENTITY: "invalid_price_sensor"},
            "",
        ),
        (
            {CONF_FEEDIN_PRICE_ENTITY: "sensor.missing"},
            {CONF_FEEDIN_PRICE_ENTITY: "entity_not_found"},
            "",
        ),
    ):
        result = await configure(hass, result, data)
        assert result["type"] is FlowResultType.FORM and result["errors"] == errors, data
        check_form(result, "options")
        assert detail in result["description_placeholders"]["detail"]
    assert result["description_placeholders"]["detail"] == ""
    result = await configure(hass, result, {CONF_GRID_PRICE_ENTITY: "sensor.no_prices"})
    assert result["description_placeholders"]["detail"]  # why: shown in the message
    assert not any(key in entry.options for key in (CONF_GRID_PRICE, CONF_GRID_ZONES))

    # fixed price with time-of-use zones, feed-in from a sensor
    hass.states.async_set("sensor.feedin", "0.075", {"unit_of_measurement": "EUR/kWh"})
    result = await configure(
        hass,
        result,
        {
            CONF_GRID_PRICE: 0.32,
            CONF_GRID_ZONES: "Mo-Fr 8-20 0.35\nSa,Su 0-24 0.25  # weekend",
            CONF_FEEDIN_PRICE_ENTITY: "sensor.feedin",
        },
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    await tick(hass, freezer)
    doc = state_doc(entry)
    assert (doc["tariffGrid"], doc["tariffFeedIn"]) == (0.35, 0.075)
    assert doc["smartCostType"] == "priceforecast"  # zones make it vary (evcc)
    freezer.move_to(at(DAY, 21, 0))
    await tick(hass, freezer)
    assert state_doc(entry)["tariffGrid"] == 0.32
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_demo_prices_a_plan_and_the_smart_cost_limit(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, hass_client: Any
) -> None:
    """The demo's day-ahead sensor is its grid tariff (tomorrow's prices from 13:00); a plan
    charges in the cheapest quarter hours; the smart cost limit through entity and action."""
    freezer.move_to(at(DAY, 12, 50))
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Demo site",
        data={CONF_SITE_TITLE: "Demo site", CONF_DEMO: True},
        unique_id="demo_site",
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    sensor = hass.states.get("sensor.demo_site_day_ahead_price")
    today = demo_day_ahead_prices(DAY, BERLIN)
    assert float(sensor.state) == next(p for s, e, p in today if s <= at(DAY, 12, 50) < e)
    assert len(sensor.attributes["raw_today"]) == 96 and sensor.attributes["raw_tomorrow"] == []
    status, body = await tariff_rates(hass_client)
    assert status == 200 and len(body["rates"]) == 96 - 51  # from 12:45
    assert state_doc(entry)["tariffFeedIn"] == 0.05  # the demo's feed-in pays less at noon
    assert state_doc(entry)["smartFeedInPriorityAvailable"] is True

    freezer.move_to(at(DAY, 13, 0))
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)
    status, body = await tariff_rates(hass_client)
    assert len(body["rates"]) == 96 - 52 + 96

    # a plan for tomorrow 07:00 charges in the cheapest quarter hours before then
    await hass.services.async_call(
        DOMAIN,
        "set_plan",
        {"config_entry_id": entry.entry_id, "time": at(TOMORROW, 7, 0), "soc": 100},
        blocking=True,
    )
    await tick(hass, freezer)
    planner = entry.runtime_data.coordinator.site.loadpoints[0].planner
    slots = planner.slots
    assert slots, "a plan"
    window = [
        price
        for start, end, price in today + demo_day_ahead_prices(TOMORROW, BERLIN)
        if at(DAY, 13, 0) <= start and end <= at(TOMORROW, 7, 0)
    ]
    planned = sorted(slot.price for slot in slots)
    assert planned == sorted(window)[: len(planned)]  # the cheapest of the window
    lp = state_doc(entry)["loadpoints"][0]
    assert lp["planProjectedStart"] is not None
    assert hass.states.get("sensor.carport_plan_projected_start").state != "unknown"

    # smart cost limit: above the price now → cheap now; the action without a limit: off
    price_now = state_doc(entry)["tariffGrid"]
    await hass.services.async_call(
        "number",
        "set_value",
        {"entity_id": "number.carport_smart_cost_limit", "value": price_now + 0.01},
        blocking=True,
    )
    await tick(hass, freezer)
    assert hass.states.get("binary_sensor.carport_cheap_now").state == "on"
    assert float(hass.states.get("number.carport_smart_cost_limit").state) == pytest.approx(
        price_now + 0.01
    )
    await hass.services.async_call(
        DOMAIN, "set_smart_cost_limit", {"config_entry_id": entry.entry_id}, blocking=True
    )
    await tick(hass, freezer)
    assert hass.states.get("number.carport_smart_cost_limit").state == "unknown"
    assert hass.states.get("binary_sensor.carport_cheap_now").state == "off"
    with pytest.raises(Exception, match="not a valid value"):
        await hass.services.async_call(
            DOMAIN,
            "set_smart_cost_limit",
            {"config_entry_id": entry.entry_id, "limit": float("nan")},
            blocking=True,
        )

    # smart feed-in priority: the demo's feed-in pays 0.05 at noon; a limit at or below it
    # pauses pv
    feedin = "number.carport_smart_feed_in_priority_limit"
    assert hass.states.get(feedin).state == "unknown"  # off
    await hass.services.async_call(
        "number", "set_value", {"entity_id": feedin, "value": 0.05}, blocking=True
    )
    await tick(hass, freezer)
    lp = state_doc(entry)["loadpoints"][0]
    assert (lp["smartFeedInPriorityLimit"], lp["smartFeedInPriorityActive"]) == (0.05, True)
    assert float(hass.states.get(feedin).state) == 0.05
    await hass.services.async_call(
        DOMAIN,
        "set_smart_feed_in_priority_limit",
        {"config_entry_id": entry.entry_id},
        blocking=True,
    )
    await tick(hass, freezer)
    assert hass.states.get(feedin).state == "unknown"
    assert state_doc(entry)["loadpoints"][0]["smartFeedInPriorityActive"] is False
    # the demo's CO₂ curve is its co2 tariff
    assert 240 <= state_doc(entry)["tariffCo2"] <= 420
    status, body = await tariff_rates(hass_client, "co2")
    assert status == 200 and len(body["rates"]) > 96
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_co2_intensity_sensor_is_the_co2_tariff(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, hass_client: Any
) -> None:
    """A grid CO₂ sensor (CO2 Signal's unit) becomes evcc's co2 tariff: `tariffCo2` and the
    green-share weighted home and loadpoint values, `/api/tariff/co2`; a sensor without a CO₂
    unit is refused in the form."""
    freezer.move_to(at(DAY, 9, 0))
    entry = await real_site(hass)
    assert await tariff_rates(hass_client, "co2") == (404, {"error": "tariff not available"})
    result = await options_to_tariffs(hass, entry)
    hass.states.async_set("sensor.grid_co2", "0.38", {"unit_of_measurement": "kg/kWh"})
    hass.states.async_set("sensor.fossil_share", "62", {"unit_of_measurement": "%"})
    result = await configure(hass, result, {CONF_CO2_ENTITY: "sensor.fossil_share"})
    assert result["errors"] == {CONF_CO2_ENTITY: "invalid_co2_sensor"}
    result = await configure(hass, result, {CONF_CO2_ENTITY: "sensor.missing"})
    assert result["errors"] == {CONF_CO2_ENTITY: "entity_not_found"}
    result = await configure(hass, result, {CONF_CO2_ENTITY: "sensor.grid_co2"})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    await tick(hass, freezer)
    doc = state_doc(entry)
    assert doc["tariffCo2"] == 380  # kg/kWh → g/kWh
    # no PV, no battery: everything comes from the grid
    assert (doc["tariffCo2Home"], doc["tariffCo2Loadpoints"]) == (380, 380)
    status, body = await tariff_rates(hass_client, "co2")
    assert status == 200 and [rate["value"] for rate in body["rates"]] == [380]
    # CO2 Signal's own unit; a value no grid has is not used
    hass.states.async_set("sensor.grid_co2", "212", {"unit_of_measurement": "gCO2eq/kWh"})
    await tick(hass, freezer)
    assert state_doc(entry)["tariffCo2"] == 212
    hass.states.async_set("sensor.grid_co2", "-5", {"unit_of_measurement": "gCO2eq/kWh"})
    await tick(hass, freezer)
    assert "tariffCo2" not in state_doc(entry)
    assert await hass.config_entries.async_unload(entry.entry_id)

"""The solar forecast from Home Assistant's forecast integrations, as evcc's forecast.solar:
each entity shape as a real state (Solcast, Open-Meteo / `watts`, Forecast.Solar through its
energy platform), several entities adding up, re-read on change, garbage skipped; the options
step; the state keys and /api/tariff/solar."""

from __future__ import annotations

import sys
import types
from datetime import datetime, timedelta
from typing import Any

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.evcc_ha.api.state import build_state
from custom_components.evcc_ha.const import (
    CONF_GRID_POWER,
    CONF_PV_POWER,
    CONF_SOLAR_FORECAST,
    DOMAIN,
)
from custom_components.evcc_ha.core.model import SiteConfig
from custom_components.evcc_ha.core.site import Site
from custom_components.evcc_ha.devices.solar_forecast import (
    EntitySolarForecast,
    ForecastError,
    async_read_solar_forecast,
)

from .ha_site import real_site
from .test_config_flow import set_sensor

UTC = dt_util.UTC
DAY = datetime(2026, 6, 21, tzinfo=UTC)


def solcast(start: datetime, kw: list[float]) -> dict[str, Any]:
    return {
        "detailedForecast": [
            {"period_start": (start + i * timedelta(minutes=30)).isoformat(), "pv_estimate": v}
            for i, v in enumerate(kw)
        ]
    }


async def test_shapes_and_combination(hass: HomeAssistant) -> None:
    hass.states.async_set("sensor.solcast_today", "20.5", solcast(DAY.replace(hour=10), [2, 4]))
    hass.states.async_set(
        "sensor.open_meteo_today",
        "10",
        {"watts": {DAY.replace(hour=10).isoformat(): 1000, DAY.replace(hour=11).isoformat(): 500}},
    )
    rates = await async_read_solar_forecast(hass, "sensor.solcast_today")
    assert [(r.start.hour, r.start.minute, r.price) for r in rates] == [
        (10, 0, 2000),
        (10, 30, 4000),
    ]
    assert rates[-1].end == DAY.replace(hour=11)  # the last period lasts its half hour
    forecast = EntitySolarForecast(
        hass, ["sensor.solcast_today", "sensor.open_meteo_today"], name="test"
    )
    await forecast.async_refresh()
    summed = [(r.start.hour, r.start.minute, r.price) for r in forecast.rates(DAY)]
    # Solcast's half hours and Open-Meteo's hours are separate periods; equal periods add up
    assert (10, 0, 2000) in summed and (10, 0, 1000) in summed
    hass.states.async_set("sensor.second_plane", "1", solcast(DAY.replace(hour=10), [1, 1]))
    forecast.entity_ids.append("sensor.second_plane")
    await forecast.async_refresh()
    assert (10, 30, 5000) in [(r.start.hour, r.start.minute, r.price) for r in forecast.rates(DAY)]


@pytest.mark.parametrize(
    ("attributes", "message"),
    [
        ({}, "no forecast in its attributes"),
        ({"detailedForecast": [{"period_start": "soon", "pv_estimate": 1}]}, "not a time"),
        ({"detailedForecast": [{"period_start": DAY.isoformat(), "pv_estimate": -3}]}, "plausible"),
        ({"watts": {DAY.isoformat(): "lots"}}, "not a power"),
        ({"watts": {}}, "empty forecast"),
    ],
)
async def test_garbage_is_a_clear_error(
    hass: HomeAssistant, attributes: dict[str, Any], message: str
) -> None:
    hass.states.async_set("sensor.forecast", "1", attributes)
    with pytest.raises(ForecastError, match=message):
        await async_read_solar_forecast(hass, "sensor.forecast")


async def test_forecast_solar_through_its_energy_platform(
    hass: HomeAssistant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Forecast.Solar's sensors carry no series; its energy platform has them (the integration's
    own module is replaced here: its library is not in the test environment)."""
    config = MockConfigEntry(domain="forecast_solar")
    config.add_to_hass(hass)
    entity = er.async_get(hass).async_get_or_create(
        "sensor", "forecast_solar", "east_today", config_entry=config
    )
    hass.states.async_set(entity.entity_id, "12.3", {"unit_of_measurement": "kWh"})
    seen: list[str] = []

    async def fake(_hass: HomeAssistant, entry_id: str) -> dict[str, Any]:
        seen.append(entry_id)
        return {"wh_hours": {DAY.replace(hour=12).isoformat(): 3000}}

    module = types.ModuleType("homeassistant.components.forecast_solar.energy")
    module.async_get_solar_forecast = fake  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "homeassistant.components.forecast_solar.energy", module)
    (rate,) = await async_read_solar_forecast(hass, entity.entity_id)
    assert (rate.start, rate.end, rate.price, seen) == (
        DAY.replace(hour=12),
        DAY.replace(hour=13),
        3000,
        [config.entry_id],
    )


async def test_forecast_in_the_state_document(hass: HomeAssistant) -> None:
    hass.states.async_set("sensor.solcast", "1", solcast(DAY.replace(hour=10), [2, 4, 4, 2]))
    forecast = EntitySolarForecast(hass, ["sensor.solcast"], name="test")
    await forecast.async_refresh()
    site = Site(SiteConfig(), [], tariffs={"solar": forecast})
    doc = build_state(site, DAY.replace(hour=10, minute=45), tz=UTC)
    solar = doc["forecast"]["solar"]
    assert solar["timeseries"][0] == [int(DAY.replace(hour=10, minute=30).timestamp()), 4000]
    # left today: 15 min of 4000 W, 30 min of 4000 W, 30 min of 2000 W
    assert solar["today"] == {"energy": 1000 + 2000 + 1000, "complete": False}
    assert solar["tomorrow"] == {"energy": 0, "complete": False}
    assert doc["tariffSolar"] == 4000


async def test_options_step_checks_the_forecast(hass: HomeAssistant) -> None:
    entry = MockConfigEntry(
        domain=DOMAIN, title="Home", data={"site_title": "Home", "demo": True}, unique_id="home"
    )
    entry.add_to_hass(hass)
    hass.states.async_set("sensor.no_forecast", "3", {})
    hass.states.async_set("sensor.solcast", "1", solcast(DAY, [1]))
    flow = await hass.config_entries.options.async_init(entry.entry_id)
    for step in ("init", "api", "mqtt"):
        assert flow["step_id"] == step
        flow = await hass.config_entries.options.async_configure(flow["flow_id"], {})
    assert flow["step_id"] == "tariffs"
    result = await hass.config_entries.options.async_configure(
        flow["flow_id"], {CONF_SOLAR_FORECAST: ["sensor.no_forecast"]}
    )
    assert result["errors"] == {CONF_SOLAR_FORECAST: "forecast_unusable"}
    assert "no forecast in its attributes" in result["description_placeholders"]["detail"]
    result = await hass.config_entries.options.async_configure(
        flow["flow_id"], {CONF_SOLAR_FORECAST: ["sensor.solcast"]}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert entry.options[CONF_SOLAR_FORECAST] == ["sensor.solcast"]


async def test_read_again_when_the_entity_changes(hass: HomeAssistant) -> None:
    hass.states.async_set("sensor.solcast", "1", solcast(DAY.replace(hour=10), [2]))
    forecast = EntitySolarForecast(hass, ["sensor.solcast"], name="test")
    await forecast.async_watch()
    assert [r.price for r in forecast.rates(DAY)] == [2000]
    hass.states.async_set("sensor.solcast", "2", solcast(DAY.replace(hour=10), [3]))
    await hass.async_block_till_done()
    assert [r.price for r in forecast.rates(DAY)] == [3000]
    hass.states.async_set("sensor.solcast", "unavailable", {})  # gone: no forecast, logged
    await hass.async_block_till_done()
    assert list(forecast.rates(DAY)) == []
    assert "sensor.solcast" in forecast.problems
    forecast.close()


async def test_solar_scale_and_adjusted_forecast_entities(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    """A site with a PV meter and a forecast: the cycles count today's production against the
    forecast (evcc's `forecast.solar.scale`), the diagnostic sensor shows it, and the "Solar
    forecast adjusted" switch (evcc's solarAdjusted) scales the remaining-today sensor by it."""
    freezer.move_to(DAY.replace(hour=8))
    set_sensor(hass, "sensor.grid_power", "-700", "W", "power")
    set_sensor(hass, "sensor.pv_power", "1000", "W", "power")
    hass.states.async_set("sensor.solcast", "48", solcast(DAY, [2.0] * 48))  # 2 kW all day
    entry = await real_site(
        hass, {CONF_GRID_POWER: "sensor.grid_power", CONF_PV_POWER: ["sensor.pv_power"]}
    )
    flow = await hass.config_entries.options.async_init(entry.entry_id)
    flow = await hass.config_entries.options.async_configure(
        flow["flow_id"],
        {CONF_GRID_POWER: "sensor.grid_power", CONF_PV_POWER: ["sensor.pv_power"]},
    )
    for step in ("api", "mqtt"):
        assert flow["step_id"] == step
        flow = await hass.config_entries.options.async_configure(flow["flow_id"], {})
    result = await hass.config_entries.options.async_configure(
        flow["flow_id"], {CONF_SOLAR_FORECAST: ["sensor.solcast"]}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    scale, today, switch = (
        "sensor.home_solar_production_vs_forecast",
        "sensor.home_solar_forecast_remaining_today",
        "switch.home_solar_forecast_adjusted",
    )
    assert hass.states.get(scale).state == "100.0"  # nothing produced yet
    for _ in range(96):  # 48 minutes of 1 kW against a forecast of 2 kW
        freezer.tick(timedelta(seconds=30))
        async_fire_time_changed(hass)
        await hass.async_block_till_done()
    doc = entry.runtime_data.coordinator.controller.state()
    assert doc["forecast"]["solar"]["scale"] == pytest.approx(0.5, abs=0.01)
    assert float(hass.states.get(scale).state) == pytest.approx(50.0, abs=1.0)
    raw = doc["forecast"]["solar"]["today"]["energy"] / 1000
    assert float(hass.states.get(today).state) == pytest.approx(raw, abs=0.01)
    assert (hass.states.get(switch).state, doc["solarAdjusted"]) == ("off", False)
    await hass.services.async_call("switch", "turn_on", {"entity_id": switch}, blocking=True)
    assert hass.states.get(switch).state == "on"
    assert entry.runtime_data.coordinator.controller.state()["solarAdjusted"] is True
    assert float(hass.states.get(today).state) == pytest.approx(raw * 0.5, abs=0.2)
    assert await hass.config_entries.async_unload(entry.entry_id)

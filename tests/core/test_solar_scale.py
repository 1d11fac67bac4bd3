"""evcc's solar forecast scale: today's PV production ÷ its forecast, counted by the site cycle."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from custom_components.evcc_ha.core.model import (
    ChargerReading,
    LoadpointConfig,
    LoadpointReadings,
    MeterReading,
    SiteConfig,
    SiteReadings,
    Status,
)
from custom_components.evcc_ha.core.site import Site
from custom_components.evcc_ha.core.solar import SolarDay
from custom_components.evcc_ha.core.tariff import Rate, RatesTariff

from .harness import T0

BERLIN = ZoneInfo("Europe/Berlin")


def _site(forecast_w: float = 2000.0) -> Site:
    forecast = RatesTariff([Rate(T0 - timedelta(days=2), T0 + timedelta(days=2), forecast_w)])
    return Site(SiteConfig(), [LoadpointConfig()], tariffs={"solar": forecast}, tz=BERLIN)


def _readings(pv_w: float) -> SiteReadings:
    idle = LoadpointReadings(charger=ChargerReading(status=Status.A, enabled=False))
    return SiteReadings(grid=MeterReading(-pv_w), pv=(MeterReading(pv_w),), loadpoints=(idle,))


def _run(site: Site, start: datetime, minutes: int, pv_w: float, step_s: int = 30) -> None:
    for second in range(0, minutes * 60 + 1, step_s):
        site.update(start + timedelta(seconds=second), _readings(pv_w))


def test_scale_is_production_over_forecast() -> None:
    site = _site(2000.0)
    _run(site, T0, 60, 1000.0)  # 1 kWh produced against 2 kWh forecast
    assert site.solar_day.produced_wh == pytest.approx(1000.0)
    assert site.solar_day.forecast_wh == pytest.approx(2000.0)
    assert site.solar_day.scale == pytest.approx(0.5)


def test_scale_is_one_until_half_a_kwh_is_produced() -> None:
    site = _site(2000.0)
    _run(site, T0, 29, 1000.0)  # 483 Wh
    assert site.solar_day.scale == 1.0
    _run(site, T0 + timedelta(minutes=29, seconds=30), 2, 1000.0)
    assert site.solar_day.scale == pytest.approx(0.5)


def test_without_a_forecast_nothing_is_counted() -> None:
    site = Site(SiteConfig(), [LoadpointConfig()], tz=BERLIN)
    _run(site, T0, 60, 1000.0)
    assert (site.solar_day.produced_wh, site.solar_day.scale) == (0.0, 1.0)


def test_the_day_starts_at_local_midnight() -> None:
    site = _site(2000.0)
    before_midnight = datetime(2026, 6, 21, 21, 0, tzinfo=UTC)  # 23:00 in Berlin
    _run(site, before_midnight, 60, 1500.0)  # 23:00–00:00 Berlin
    assert site.solar_day.day is not None and site.solar_day.day.isoformat() == "2026-06-22"
    # the new day began at 22:00 UTC: only the cycles since then count
    assert site.solar_day.produced_wh == 0.0
    _run(site, before_midnight + timedelta(hours=1, seconds=30), 30, 1500.0)
    assert site.solar_day.produced_wh == pytest.approx(1500.0 * 30.5 / 60)  # since 22:00 UTC


def test_a_gap_counts_for_neither_energy() -> None:
    site = _site(2000.0)
    _run(site, T0, 30, 1200.0)
    produced, forecast = site.solar_day.produced_wh, site.solar_day.forecast_wh
    site.update(T0 + timedelta(hours=2), _readings(1200.0))  # the loop stood still 90 min
    assert (site.solar_day.produced_wh, site.solar_day.forecast_wh) == (produced, forecast)


def test_solar_day_survives_a_restart_and_bad_files_are_dropped(
    caplog: pytest.LogCaptureFixture,
) -> None:
    site = _site(2000.0)
    _run(site, T0, 60, 1000.0)
    again = _site(2000.0)
    again.restore(site.to_dict(), T0 + timedelta(hours=1))
    assert again.solar_day.scale == pytest.approx(0.5)
    assert again.solar_day.day == site.solar_day.day
    caplog.set_level(logging.WARNING)
    for bad in ({"day": "21.06.2026"}, {"day": 5}, "nonsense"):
        damaged = _site(2000.0)
        damaged.restore({**site.to_dict(), "solar_day": bad}, T0)
        assert damaged.solar_day == SolarDay()
    bad_energy = _site(2000.0)
    bad_energy.restore(
        {**site.to_dict(), "solar_day": {"day": "2026-06-21", "produced_wh": "lots"}}, T0
    )
    assert bad_energy.solar_day.produced_wh == 0.0
    assert "Stored day ignored" in caplog.text and "Stored produced_wh ignored" in caplog.text

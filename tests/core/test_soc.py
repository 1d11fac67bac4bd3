"""SoC estimation, remaining duration and energy (spec §5.11, vectors 28–29)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given, strategies as st

from custom_components.evcc_ha.core.soc import (
    CHARGE_EFFICIENCY,
    CHARGE_EFFICIENCY_OLD,
    SocEstimator,
    remaining_charge_duration,
    remaining_energy_wh,
    taper_soc,
)


def test_efficiency_constants() -> None:
    assert CHARGE_EFFICIENCY == 0.85  # HEAD
    assert CHARGE_EFFICIENCY_OLD == 0.9  # OLD


# --- vector 29: remaining duration ---------------------------------------------------------------


def test_vector29_taper_point() -> None:
    assert taper_soc(11000) == pytest.approx(89.796, abs=1e-3)  # rrp 89.8 %
    assert taper_soc(50000) == pytest.approx(50.0)
    assert taper_soc(1000) == pytest.approx(100.0)


def test_vector29_head_40_to_80() -> None:
    # HEAD efficiency 0.85 (vector 29 states 7701 s for HEAD)
    assert remaining_charge_duration(40, 80, 11000, 50) == timedelta(seconds=7701)


def test_vector29_old_40_to_80() -> None:
    d = remaining_charge_duration(40, 80, 11000, 50, CHARGE_EFFICIENCY_OLD)
    assert d == timedelta(seconds=7273)  # 2.0202 h


def test_vector29_old_40_to_100_includes_taper() -> None:
    d = remaining_charge_duration(40, 100, 11000, 50, CHARGE_EFFICIENCY_OLD)
    assert d == timedelta(seconds=12455)


def test_duration_above_taper_only() -> None:
    # soc already above the taper point: only the degressive part, mean power (11000+1000)/2
    d = remaining_charge_duration(90, 100, 11000, 50, 1.0)
    assert d.total_seconds() == pytest.approx(10 / 100 * 50000 / 6000 * 3600, abs=0.5)


def test_duration_low_power_never_tapers() -> None:
    # below 1 kW the taper point lies above 100 %: full power all the way
    assert taper_soc(900) > 100
    d = remaining_charge_duration(20, 100, 900, 40, 1.0)
    assert d.total_seconds() == pytest.approx(0.8 * 40000 / 900 * 3600, abs=0.5)


@pytest.mark.parametrize(
    ("soc", "target", "power"),
    [(80, 80, 11000), (85, 80, 11000), (40, 80, 0), (40, 80, -100)],
)
def test_duration_zero_when_reached_or_no_power(soc: float, target: float, power: float) -> None:
    assert remaining_charge_duration(soc, target, power, 50) == timedelta(0)


def test_duration_zero_without_capacity() -> None:
    assert remaining_charge_duration(40, 80, 11000, 0) == timedelta(0)


# --- remaining energy ----------------------------------------------------------------------------


def test_remaining_energy() -> None:
    assert remaining_energy_wh(40, 80, 50) == pytest.approx(0.4 * 50000 / 0.85)
    assert remaining_energy_wh(40, 80, 50, 0.9) == pytest.approx(0.4 * 50000 / 0.9)
    assert remaining_energy_wh(80, 80, 50) == 0.0
    assert remaining_energy_wh(90, 80, 50) == 0.0


# --- vector 28: estimator ------------------------------------------------------------------------


def test_vector28_head_efficiency() -> None:
    est = SocEstimator(50)
    assert est.energy_per_soc_wh == pytest.approx(50000 / 0.85 / 100)
    assert est.update(40, 0) == 40
    soc = est.update(None, 2000)
    assert soc == pytest.approx(43.4, abs=0.005)
    assert est.soc == soc


def test_vector28_old_efficiency() -> None:
    est = SocEstimator(50, CHARGE_EFFICIENCY_OLD)
    assert est.virtual_capacity_wh == pytest.approx(55555.6, abs=0.1)
    assert est.energy_per_soc_wh == pytest.approx(555.56, abs=0.01)
    est.update(40, 0)
    assert est.update(None, 2000) == pytest.approx(43.6, abs=0.005)


def test_estimator_without_any_reading() -> None:
    est = SocEstimator(50)
    assert est.soc is None
    assert est.update(None, 0) is None
    assert est.update(None, 5000) is None
    assert est.soc is None


def test_estimator_reading_anchors_at_charged_energy() -> None:
    est = SocEstimator(50, 1.0)  # 500 Wh per %
    est.update(40, 1000)  # reading while 1000 Wh already charged
    assert est.update(None, 2000) == pytest.approx(42.0)
    # a new (different) reading is the truth, interpolation restarts from it
    assert est.update(41, 2000) == 41
    assert est.update(None, 2500) == pytest.approx(42.0)


def test_estimator_same_reading_keeps_interpolating() -> None:
    # evcc passes the cached API value every cycle: an unchanged value is not a new anchor
    est = SocEstimator(50, 1.0)
    est.update(40, 0)
    assert est.update(40, 1000) == pytest.approx(42.0)
    assert est.update(40, 1500) == pytest.approx(43.0)


def test_estimator_capped_at_100() -> None:
    est = SocEstimator(50, 1.0)
    est.update(99, 0)
    assert est.update(None, 5000) == 100.0


def test_estimator_energy_reset_reanchors() -> None:
    est = SocEstimator(50, 1.0)
    est.update(40, 3000)
    assert est.update(40, 500) == 40  # energy went backwards: reading taken as is
    assert est.update(None, 1000) == pytest.approx(41.0)


def test_estimator_relearns_after_more_than_10_percent() -> None:
    est = SocEstimator(50, 1.0)  # initial 500 Wh/%
    est.update(20, 0)
    est.update(30, 4000)  # exactly 10 % progress: not more than 10 -> keep 500
    assert est.energy_per_soc_wh == pytest.approx(500)
    est.update(32, 6600)  # 12 % for 6600 Wh -> 550 Wh/%
    assert est.energy_per_soc_wh == pytest.approx(550)
    assert est.update(None, 7150) == pytest.approx(33.0)
    # HEAD: virtual capacity never below the physical capacity
    est2 = SocEstimator(50, 1.0)
    est2.update(20, 0)
    est2.update(40, 8000)  # 400 Wh/% learnt
    assert est2.energy_per_soc_wh == pytest.approx(400)
    assert est2.virtual_capacity_wh == pytest.approx(50000)


def test_estimator_reset() -> None:
    est = SocEstimator(50, 1.0)
    est.update(20, 0)
    est.update(40, 8000)
    est.reset()
    assert est.soc is None
    assert est.update(None, 100) is None
    assert est.energy_per_soc_wh == pytest.approx(500)


def test_estimator_without_capacity_passes_readings_through() -> None:
    est = SocEstimator(0)
    assert est.update(55, 0) == 55
    assert est.update(None, 3000) == 55


def test_estimator_remaining_duration_and_energy() -> None:
    est = SocEstimator(50)
    est.update(40, 0)
    assert est.remaining_charge_duration(80, 11000) == timedelta(seconds=7701)
    assert est.remaining_energy_wh(80) == pytest.approx(0.4 * 50000 / 0.85)
    old = SocEstimator(50, CHARGE_EFFICIENCY_OLD)
    old.update(40, 0)
    assert old.remaining_charge_duration(80, 11000) == timedelta(seconds=7273)
    assert old.remaining_charge_duration(100, 11000) == timedelta(seconds=12455)


# --- properties ----------------------------------------------------------------------------------

socs = st.floats(min_value=0, max_value=100, allow_nan=False)


@given(socs, socs, socs, st.floats(min_value=100, max_value=100000))
def test_property_duration_monotonic_in_target(
    soc: float, t1: float, t2: float, power: float
) -> None:
    lo, hi = sorted((t1, t2))
    d_lo = remaining_charge_duration(soc, lo, power, 60)
    d_hi = remaining_charge_duration(soc, hi, power, 60)
    assert timedelta(0) <= d_lo <= d_hi + timedelta(seconds=1)


@given(socs, st.lists(st.floats(min_value=0, max_value=5000), min_size=1, max_size=20))
def test_property_estimate_monotonic_and_capped(start: float, steps: list[float]) -> None:
    est = SocEstimator(40)
    est.update(start, 0)
    energy, last = 0.0, start
    for step in steps:
        energy += step
        soc = est.update(None, energy)
        assert soc is not None
        assert last - 1e-9 <= soc <= max(100.0, start)
        last = soc

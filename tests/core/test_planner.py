"""Planner: cheapest slots and plan activation (spec §5.9, vectors 23–26)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings, strategies as st

from custom_components.evcc_ha.core.planner import (
    HEAD_THRESHOLDS,
    OLD_THRESHOLDS,
    Planner,
    PlanThresholds,
    plan_slots,
    required_duration_energy,
)
from custom_components.evcc_ha.core.tariff import Rate

BERLIN = ZoneInfo("Europe/Berlin")
H = timedelta(hours=1)
M = timedelta(minutes=1)
DAY = datetime(2024, 1, 2, tzinfo=BERLIN)


def t(hour: float) -> datetime:
    """Hours relative to 2024-01-02 00:00 Berlin (negative = the evening before)."""
    return DAY + timedelta(hours=hour)


def spans(plan: Sequence[Rate]) -> list[tuple[datetime, datetime]]:
    return [(r.start, r.end) for r in plan]


def total(plan: Sequence[Rate]) -> timedelta:
    return sum((r.end - r.start for r in plan), timedelta())


# vector 24: hourly rates 00-07, earlier rates (from 22:00) at 0.30
V24_PRICES = [0.30, 0.20, 0.10, 0.15, 0.10, 0.40, 0.25]
V24_RATES = [Rate(t(-2), t(-1), 0.30), Rate(t(-1), t(0), 0.30)] + [
    Rate(t(h), t(h + 1), p) for h, p in enumerate(V24_PRICES)
]
NOW = t(-2)  # 22:00
TARGET = t(7)  # 07:00


# --- plan_slots: vectors -------------------------------------------------------------------------


@pytest.mark.parametrize("rates", [None, []])
def test_vector23_no_tariff_late_start(rates: list[Rate] | None) -> None:
    plan = plan_slots(NOW, 2 * H, TARGET, rates)
    assert spans(plan) == [(t(5), t(7))]


def test_vector24_two_hours_equal_price_later_first() -> None:
    plan = plan_slots(NOW, 2 * H, TARGET, V24_RATES)
    assert spans(plan) == [(t(2), t(3)), (t(4), t(5))]
    assert [r.price for r in plan] == [0.10, 0.10]


def test_vector24_one_and_a_half_hours_moves_earliest_start() -> None:
    plan = plan_slots(NOW, 1.5 * H, TARGET, V24_RATES)
    assert spans(plan) == [(t(2.5), t(3)), (t(4), t(5))]


def test_vector24_two_and_a_half_hours_shortens_end() -> None:
    plan = plan_slots(NOW, 2.5 * H, TARGET, V24_RATES)
    assert spans(plan) == [(t(2), t(3)), (t(3), t(3.5)), (t(4), t(5))]
    assert [r.price for r in plan] == [0.10, 0.15, 0.10]


def test_vector24_independent_of_input_order_and_timezone() -> None:
    shuffled = list(reversed(V24_RATES))
    utc_rates = [Rate(r.start.astimezone(UTC), r.end.astimezone(UTC), r.price) for r in shuffled]
    plan = plan_slots(NOW, 2 * H, TARGET, utc_rates)
    assert spans(plan) == [(t(2), t(3)), (t(4), t(5))]
    assert all(r.start.tzinfo is BERLIN for r in plan)  # returned in now's timezone


def test_vector25_energy_duration() -> None:
    # maxPower = 230 V * 16 A * 3 = 11040 W; not rounded (evcc keeps ns): 3260.87 s ≈ 3261 s
    required = required_duration_energy(10, 230 * 16 * 3)
    assert required.total_seconds() == pytest.approx(3260.8696, abs=1e-3)
    assert round(required.total_seconds()) == 3261
    assert required_duration_energy(0, 11040) == timedelta(0)
    assert required_duration_energy(-1, 11040) == timedelta(0)
    assert required_duration_energy(10, 0) == timedelta(0)


@pytest.mark.parametrize("thresholds", [HEAD_THRESHOLDS, OLD_THRESHOLDS])
def test_vector26_short_last_slot_ignored(thresholds: PlanThresholds) -> None:
    planner = Planner(thresholds)
    now = t(4) + 55 * M
    active = planner.update(now, 5 * M, TARGET, V24_RATES)
    assert spans(planner.slots) == [(now, t(5))]  # the plan has a slot now …
    assert active is False  # … but 5 min without successor is ignored (OLD < 10 min, HEAD < 14)
    assert planner.active is False


# --- plan_slots: edge cases ----------------------------------------------------------------------


def test_required_zero_or_negative_no_plan() -> None:
    assert plan_slots(NOW, timedelta(0), TARGET, V24_RATES) == []
    assert plan_slots(NOW, -H, TARGET, None) == []


def test_target_in_past_charges_from_now_head() -> None:
    # HEAD: latest start clamped to now, target moved to now + required (OLD: slot in the past)
    now = t(8)
    assert spans(plan_slots(now, H, TARGET, None)) == [(now, t(9))]
    plan = plan_slots(now, H, TARGET, V24_RATES)
    assert spans(plan) == [(now, t(9))]  # no rates there: one price-0 slot
    assert plan[0].price == 0.0


def test_time_until_target_not_enough_continuous_from_now_head() -> None:
    # HEAD: until target <= required -> continuous plan from now, per rate, overrunning the target
    now = t(6.5)
    plan = plan_slots(now, H, TARGET, V24_RATES)
    assert spans(plan) == [(t(6.5), t(7)), (t(7), t(7.5))]
    assert [r.price for r in plan] == [0.25, 0.0]  # gap after the last rate filled at price 0


def test_time_until_target_equal_required_is_continuous() -> None:
    plan = plan_slots(t(5), 2 * H, TARGET, V24_RATES)
    assert spans(plan) == [(t(5), t(6)), (t(6), t(7))]
    assert [r.price for r in plan] == [0.40, 0.25]


def test_target_beyond_rates_enough_time_after_no_plan() -> None:
    assert plan_slots(NOW, 2 * H, t(9), V24_RATES) == []
    assert plan_slots(NOW, 2 * H, t(10), V24_RATES) == []


def test_target_beyond_rates_plans_the_shortfall() -> None:
    # target 09:00, rates end 07:00: 2 h after them, 3 h required -> 1 h within the rates
    plan = plan_slots(NOW, 3 * H, t(9), V24_RATES)
    assert spans(plan) == [(t(4), t(5))]


def test_insufficient_rate_coverage_simple_plan_head() -> None:
    # rates only 02:00-07:00 (5 h), 6 h required before 07:00 -> HEAD: simple late-start plan
    rates = [r for r in V24_RATES if r.start >= t(2)]
    plan = plan_slots(NOW, 6 * H, TARGET, rates)
    assert spans(plan) == [(t(1), t(7))]


def test_rates_starting_before_now_are_clipped() -> None:
    now = t(2.5)
    plan = plan_slots(now, H, TARGET, V24_RATES)
    assert spans(plan) == [(t(4), t(5))]
    plan = plan_slots(now, 1.25 * H, TARGET, V24_RATES)
    assert spans(plan) == [(t(2.75), t(3)), (t(4), t(5))]


def test_now_truncated_to_seconds_head() -> None:
    now = t(6.5) + timedelta(microseconds=400_000)
    plan = plan_slots(now, H, TARGET, V24_RATES)
    assert plan[0].start == t(6.5)


def test_naive_datetimes_rejected() -> None:
    with pytest.raises(ValueError):
        plan_slots(datetime(2024, 1, 1), H, TARGET, None)
    with pytest.raises(ValueError):
        plan_slots(NOW, H, datetime(2024, 1, 2, 7), None)


def test_precondition_always_charges_last_minutes_head() -> None:
    plan = plan_slots(NOW, 2 * H, TARGET, V24_RATES, precondition=30 * M)
    assert spans(plan) == [(t(2.5), t(3)), (t(4), t(5)), (t(6.5), t(7))]
    assert total(plan) == 2 * H
    # precondition longer than required: only the precondition slot(s)
    plan = plan_slots(NOW, 30 * M, TARGET, V24_RATES, precondition=H)
    assert spans(plan) == [(t(6.5), t(7))]


def test_continuous_strategy_cheapest_window_head() -> None:
    plan = plan_slots(NOW, 2 * H, TARGET, V24_RATES, continuous=True)
    # windows: 02-04 = 0.25, 03-05 = 0.25 (equal -> later), 01-03 = 0.30
    assert spans(plan) == [(t(3), t(4)), (t(4), t(5))]


# --- Planner activation --------------------------------------------------------------------------


def test_planner_activates_in_slot_and_exposes_plan() -> None:
    planner = Planner()
    assert planner.update(NOW, 2 * H, TARGET, V24_RATES) is False
    assert spans(planner.slots) == [(t(2), t(3)), (t(4), t(5))]
    assert planner.projected_start == t(2)
    assert planner.projected_end == t(5)
    assert planner.overrun == timedelta(0)
    assert planner.update(t(2), 2 * H, TARGET, V24_RATES) is True
    assert planner.active is True


def test_planner_no_target_or_nothing_required() -> None:
    planner = Planner()
    assert planner.update(NOW, 2 * H, None, V24_RATES) is False
    assert planner.slots == [] and planner.projected_start is None
    assert planner.update(t(2), timedelta(0), TARGET, V24_RATES) is False
    assert planner.slots == []


@pytest.mark.parametrize(
    ("thresholds", "remaining", "expected"),
    [
        (OLD_THRESHOLDS, 10 * M, True),  # not < 10 min
        (OLD_THRESHOLDS, 10 * M - timedelta(seconds=1), False),
        (HEAD_THRESHOLDS, 10 * M, False),  # HEAD: < 14 min ignored
        (HEAD_THRESHOLDS, 14 * M, True),
        (HEAD_THRESHOLDS, 14 * M - timedelta(seconds=1), False),
    ],
)
def test_planner_short_slot_boundary(
    thresholds: PlanThresholds, remaining: timedelta, expected: bool
) -> None:
    planner = Planner(thresholds)
    now = t(5) - remaining
    assert planner.update(now, remaining, TARGET, V24_RATES) is expected
    assert spans(planner.slots) == [(now, t(5))]


def test_planner_short_slot_with_successor_not_ignored() -> None:
    # at 03:55 with 65 min required: 03:55-04:00 (0.15) is followed directly by 04:00-05:00
    planner = Planner()
    now = t(4) - 5 * M
    assert planner.update(now, 65 * M, TARGET, V24_RATES) is True
    assert spans(planner.slots) == [(now, t(4)), (t(4), t(5))]


def test_planner_already_active_short_slot_continues() -> None:
    planner = Planner()
    assert planner.update(t(4), 60 * M, TARGET, V24_RATES) is True
    assert planner.update(t(4) + 55 * M, 5 * M, TARGET, V24_RATES) is True


def _activate_then_drop_required(planner: Planner) -> None:
    assert planner.update(t(2), 2 * H, TARGET, V24_RATES) is True
    # charging went faster: at 02:30 only 45 min remain -> new plan [04:00-04:45]
    assert planner.update(t(2.5), 45 * M, TARGET, V24_RATES) is True  # until the slot's end
    assert spans(planner.slots) == [(t(4), t(4.75))]


def test_planner_continues_until_slot_end_then_stops_head() -> None:
    planner = Planner()
    _activate_then_drop_required(planner)
    # 03:00: slot over, 45 min required (>= 15 min), next slot in 60 min (>= 14 min) -> stop
    assert planner.update(t(3), 45 * M, TARGET, V24_RATES) is False
    assert planner.active is False


def test_planner_continues_with_small_remaining_old() -> None:
    planner = Planner(OLD_THRESHOLDS)
    _activate_then_drop_required(planner)
    assert planner.update(t(3), 45 * M, TARGET, V24_RATES) is True  # < 60 min required


def test_planner_continues_when_little_required_head() -> None:
    planner = Planner()
    _activate_then_drop_required(planner)
    assert planner.update(t(3), 10 * M, TARGET, V24_RATES) is True  # < 15 min required


def test_planner_continues_when_next_slot_soon() -> None:
    planner = Planner()
    assert planner.update(t(2), 2 * H, TARGET, V24_RATES) is True
    # 03:50, next slot 04:00 (10 min < 14 min) -> keep charging through the gap
    assert planner.update(t(3) + 50 * M, 61 * M, TARGET, V24_RATES) is True
    # an inactive planner does not start in the gap
    assert Planner().update(t(3) + 50 * M, 61 * M, TARGET, V24_RATES) is False


def test_planner_continues_after_target_time() -> None:
    planner = Planner()
    assert planner.update(t(6.5), H, TARGET, V24_RATES) is True  # continuous from now
    assert planner.overrun == 30 * M
    assert planner.update(t(7.5), 10 * M, TARGET, V24_RATES) is True
    assert planner.expired is False


def test_planner_expired_target_when_inactive_head() -> None:
    planner = Planner()
    assert planner.update(t(8), H, TARGET, V24_RATES) is False
    assert planner.expired is True
    assert planner.slots == []


def test_planner_no_plan_yet_is_inactive() -> None:
    planner = Planner()
    assert planner.update(NOW, 2 * H, t(10), V24_RATES) is False
    assert planner.slots == [] and planner.projected_start is None


def test_planner_reset() -> None:
    planner = Planner()
    assert planner.update(t(2), 2 * H, TARGET, V24_RATES) is True
    planner.reset()
    assert planner.active is False
    assert planner.slots == []
    assert planner.projected_start is None and planner.projected_end is None
    # after reset a short slot is treated as newly starting again
    assert planner.update(t(4) + 55 * M, 5 * M, TARGET, V24_RATES) is False


def test_planner_continuous_strategy_does_not_restart() -> None:
    planner = Planner()
    assert planner.update(t(3), 2 * H, TARGET, V24_RATES, continuous=True) is True
    # the window moved away (rates cheaper later): still continuing, projected from now
    cheaper = [Rate(r.start, r.end, 0.01 if r.start >= t(5) else r.price) for r in V24_RATES]
    assert planner.update(t(4) + 30 * M, 90 * M, TARGET, cheaper, continuous=True) is True
    assert planner.projected_start == t(4.5)


# --- properties ----------------------------------------------------------------------------------

BASE = datetime(2024, 1, 2, tzinfo=UTC)


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[datetime, timedelta, datetime, list[Rate]]:
    slot = draw(st.sampled_from([15, 30, 60])) * M
    count = draw(st.integers(min_value=2, max_value=48))
    prices = draw(st.lists(st.sampled_from([0.1, 0.2, 0.25, 0.3]), min_size=count, max_size=count))
    rates = [Rate(BASE + i * slot, BASE + (i + 1) * slot, p) for i, p in enumerate(prices)]
    end = rates[-1].end
    now = BASE + timedelta(seconds=draw(st.integers(0, int((end - BASE).total_seconds()) - 60)))
    target_s = draw(
        st.integers(int((now - BASE).total_seconds()) + 60, int((end - BASE).total_seconds()))
    )
    target = BASE + timedelta(seconds=target_s)
    required = timedelta(seconds=draw(st.integers(1, 2 * int((target - now).total_seconds()))))
    return now, required, target, rates


def _check_shape(plan: Sequence[Rate]) -> None:
    for r in plan:
        assert r.end > r.start
    for a, b in pairwise(plan):
        assert a.start < b.start  # sorted
        assert a.end <= b.start  # no overlap


@settings(max_examples=300)
@given(scenarios())
def test_property_plan_within_window_and_complete(
    scenario: tuple[datetime, timedelta, datetime, list[Rate]],
) -> None:
    now, required, target, rates = scenario
    plan = plan_slots(now, required, target, rates)
    _check_shape(plan)
    available = target - now
    if required < available:
        assert plan[0].start >= now
        assert plan[-1].end <= target
        assert abs(total(plan) - min(required, available)) <= timedelta(seconds=1)
    else:
        # HEAD: not enough time -> continuous from now for the full required time (overrun)
        assert plan[0].start == now
        assert plan[-1].end == now + required
        assert all(a.end == b.start for a, b in pairwise(plan))
        assert total(plan) == required


@settings(max_examples=300)
@given(scenarios())
def test_property_plan_is_cheapest(
    scenario: tuple[datetime, timedelta, datetime, list[Rate]],
) -> None:
    now, required, target, rates = scenario
    if required >= target - now:
        return
    plan = plan_slots(now, required, target, rates)
    cost = sum(r.price * (r.end - r.start).total_seconds() for r in plan)
    # independent bound: fill the required time from the cheapest clipped rate pieces
    pieces = sorted(
        (r.price, (min(r.end, target) - max(r.start, now)).total_seconds())
        for r in rates
        if min(r.end, target) > max(r.start, now)
    )
    left, best = required.total_seconds(), 0.0
    for price, seconds in pieces:
        use = min(left, seconds)
        best += price * use
        left -= use
    assert cost == pytest.approx(best, abs=1e-6)


@settings(max_examples=200)
@given(scenarios())
def test_property_no_tariff_single_late_slot(
    scenario: tuple[datetime, timedelta, datetime, list[Rate]],
) -> None:
    now, required, target, _ = scenario
    plan = plan_slots(now, required, target, None)
    assert len(plan) == 1
    assert plan[0].end - plan[0].start == required
    assert plan[0].end == max(target, now + required)


@settings(max_examples=200)
@given(scenarios(), st.booleans())
def test_property_planner_never_raises_and_active_means_slot_or_hysteresis(
    scenario: tuple[datetime, timedelta, datetime, list[Rate]], continuous: bool
) -> None:
    now, required, target, rates = scenario
    planner = Planner()
    active = planner.update(now, required, target, rates, continuous=continuous)
    # a fresh planner is only active inside a slot of its plan
    if active:
        assert any(r.contains(now) for r in planner.slots)


# --- plan strategies: properties over random tariffs ---------------------------------------------


@settings(max_examples=200, deadline=None)
@given(
    prices=st.lists(st.floats(-0.2, 0.8, allow_nan=False), min_size=8, max_size=24),
    required_min=st.integers(15, 6 * 60),
    precondition_min=st.integers(0, 3 * 60),
    continuous=st.booleans(),
)
def test_strategies_hold_for_any_tariff(
    prices: list[float], required_min: int, precondition_min: int, continuous: bool
) -> None:
    """Whatever the prices: the plan gives exactly the required time before the target; with
    `continuous` it is one block; with a precondition the last minutes before the target are
    in it; and the strategy never makes the plan cheaper than the cheapest slots allow."""
    rates = [Rate(t(h), t(h + 1), p) for h, p in enumerate(prices)]
    target = t(len(prices))
    required = required_min * M
    precondition = precondition_min * M
    plan = plan_slots(
        t(0), required, target, rates, precondition=precondition, continuous=continuous
    )
    ordered = sorted(plan, key=lambda r: r.start)
    assert total(ordered) == required
    assert all(a.end <= b.start for a, b in pairwise(ordered))  # no overlap
    assert ordered[0].start >= t(0) and ordered[-1].end <= target
    kept = min(precondition, required)
    if kept:
        assert total([r for r in ordered if r.start >= target - kept]) == kept
    if continuous and kept == 0:
        assert all(a.end == b.start for a, b in pairwise(ordered))
    cost = sum(r.price * (r.end - r.start).total_seconds() for r in ordered)
    cheapest = plan_slots(t(0), required, target, rates)
    best = sum(r.price * (r.end - r.start).total_seconds() for r in cheapest)
    assert cost >= best - 1e-6

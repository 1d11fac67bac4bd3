"""Tariffs: rates, fixed time-of-use tariff, JSON form (spec §4.3)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest

from custom_components.evcc_ha.core.planner import plan_slots
from custom_components.evcc_ha.core.tariff import (
    FixedTariff,
    Rate,
    RatesTariff,
    Tariff,
    Zone,
    current_rate,
    format_rfc3339,
    rates_to_json,
)

BERLIN = ZoneInfo("Europe/Berlin")
H = timedelta(hours=1)


def at(day: int, hour: int, minute: int = 0, *, month: int = 1, tz: ZoneInfo = BERLIN) -> datetime:
    return datetime(2024, month, day, hour, minute, tzinfo=tz)


# --- Rate ----------------------------------------------------------------------------------------


def test_rate_contains_is_half_open() -> None:
    rate = Rate(at(2, 1), at(2, 2), 0.2)
    assert rate.contains(at(2, 1))
    assert rate.contains(at(2, 1, 59))
    assert not rate.contains(at(2, 2))
    assert not rate.contains(at(2, 0, 59))
    assert rate.duration == H


def test_rate_contains_compares_instants_across_zones() -> None:
    rate = Rate(at(2, 1), at(2, 2), 0.2)  # 00:00-01:00 UTC
    assert rate.contains(datetime(2024, 1, 2, 0, 30, tzinfo=UTC))
    assert not rate.contains(datetime(2024, 1, 2, 1, 30, tzinfo=UTC))


def test_rate_rejects_naive_and_reversed() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        Rate(datetime(2024, 1, 2, 1), at(2, 2), 0.1)
    with pytest.raises(ValueError, match="ends before"):
        Rate(at(2, 2), at(2, 1), 0.1)


def test_current_rate() -> None:
    rates = [Rate(at(2, h), at(2, h + 1), float(h)) for h in range(3)]
    found = current_rate(rates, at(2, 1, 30))
    assert found is not None and found.price == 1.0
    assert current_rate(rates, at(2, 3)) is None
    assert current_rate([], at(2, 3)) is None


# --- RatesTariff ---------------------------------------------------------------------------------


def test_rates_tariff_sorts_and_drops_past_rates() -> None:
    rates = [Rate(at(2, h), at(2, h + 1), float(h)) for h in (3, 0, 2, 1)]
    tariff = RatesTariff(rates)
    got = tariff.rates(at(2, 1, 30))
    assert [r.price for r in got] == [1.0, 2.0, 3.0]  # ends after now, sorted by start
    assert tariff.rates(at(2, 4)) == []
    assert [r.price for r in tariff.rates(at(1, 0))] == [0.0, 1.0, 2.0, 3.0]


def test_tariffs_satisfy_protocol() -> None:
    tariffs: list[Tariff] = [FixedTariff(0.3), RatesTariff([Rate(at(2, 0), at(2, 1), 0.1)])]
    for tariff in tariffs:
        rates = tariff.rates(at(2, 0, 30))
        assert rates == sorted(rates, key=lambda r: r.start)
        assert current_rate(rates, at(2, 0, 30)) is not None


# --- FixedTariff ---------------------------------------------------------------------------------


def _assert_contiguous(rates: list[Rate]) -> None:
    for a, b in pairwise(rates):
        assert a.end == b.start
        assert a.end.timestamp() > a.start.timestamp()


def test_fixed_single_price_hourly_head() -> None:
    rates = FixedTariff(0.3, tz=BERLIN).rates(at(3, 13, 17))
    assert len(rates) == 7 * 24
    assert rates[0].start == at(3, 0)  # today 00:00 local
    assert rates[-1].end == at(10, 0)
    assert {r.price for r in rates} == {0.3}
    _assert_contiguous(rates)


def test_fixed_single_price_zone_boundaries_old() -> None:
    rates = FixedTariff(0.3, tz=BERLIN, hourly=False).rates(at(3, 13))
    assert len(rates) == 7  # one rate per day: only the midnight marker
    assert [r.start for r in rates] == [at(3 + i, 0) for i in range(7)]
    _assert_contiguous(rates)


def test_fixed_default_timezone_is_utc() -> None:
    now = datetime(2024, 1, 3, 0, 30, tzinfo=BERLIN)  # 2 Jan 23:30 UTC
    rates = FixedTariff(0.3, hourly=False).rates(now)
    assert rates[0].start == datetime(2024, 1, 2, tzinfo=UTC)


def test_fixed_night_zone_one_rate_per_boundary() -> None:
    tariff = FixedTariff(
        0.3, [Zone(0.2, hours=(22, 0)), Zone(0.2, hours=(0, 6))], BERLIN, hourly=False
    )
    day = tariff.rates(at(2, 12))[:3]
    assert [(r.start, r.end, r.price) for r in day] == [
        (at(2, 0), at(2, 6), 0.2),
        (at(2, 6), at(2, 22), 0.3),
        (at(2, 22), at(3, 0), 0.2),
    ]


def test_fixed_zone_hourly_prices() -> None:
    tariff = FixedTariff(0.3, [Zone(0.2, hours=(22, 0)), Zone(0.2, hours=(0, 6))], BERLIN)
    rates = tariff.rates(at(2, 12))
    assert len(rates) == 7 * 24
    prices = [r.price for r in rates[:24]]
    assert prices == [0.2] * 6 + [0.3] * 16 + [0.2] * 2


def test_fixed_zone_days_filter() -> None:
    # 2024-01-06 is a Saturday (weekday 5)
    weekend = Zone(0.1, days=frozenset({5, 6}))
    tariff = FixedTariff(0.3, [weekend], BERLIN, hourly=False)
    rates = tariff.rates(at(5, 8))  # Friday
    assert [(r.start.day, r.price) for r in rates] == [
        (5, 0.3),
        (6, 0.1),
        (7, 0.1),
        (8, 0.3),
        (9, 0.3),
        (10, 0.3),
        (11, 0.3),
    ]


def test_fixed_more_specific_zone_wins() -> None:
    # a long cheap zone with a short expensive peak at the same start hour
    tariff = FixedTariff(0.3, [Zone(0.5, hours=(8, 10)), Zone(0.2, hours=(8, 20))], BERLIN)
    prices = {r.start.hour: r.price for r in tariff.rates(at(2, 0))[:24]}
    assert prices[8] == prices[9] == 0.5
    assert prices[10] == prices[19] == 0.2
    assert prices[20] == prices[7] == 0.3


def test_fixed_dst_spring_forward_drops_missing_hour() -> None:
    # 2024-03-31: 02:00 -> 03:00 in Berlin
    rates = FixedTariff(0.3, tz=BERLIN).rates(datetime(2024, 3, 31, 12, tzinfo=BERLIN))
    assert len(rates) == 7 * 24 - 1
    _assert_contiguous(rates)
    assert sum((r.duration for r in rates[:23]), timedelta()) == timedelta(hours=23)
    assert rates[2].start == datetime(2024, 3, 31, 3, tzinfo=BERLIN)


def test_fixed_dst_fall_back_keeps_instants_contiguous() -> None:
    rates = FixedTariff(0.3, tz=BERLIN).rates(datetime(2024, 10, 27, 12, tzinfo=BERLIN))
    _assert_contiguous(rates)
    first_day = [r for r in rates if r.start.date() == datetime(2024, 10, 27).date()]
    assert sum((r.duration for r in first_day), timedelta()) == timedelta(hours=25)


@pytest.mark.parametrize(
    "zone_args",
    [
        {"price": 0.1, "days": frozenset({7})},
        {"price": 0.1, "hours": (6, 6)},
        {"price": 0.1, "hours": (8, 6)},
        {"price": 0.1, "hours": (24, 0)},
        {"price": 0.1, "hours": (0, 25)},
    ],
)
def test_zone_validation(zone_args: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        Zone(**zone_args)  # type: ignore[arg-type]


def test_fixed_zone_end_24_equals_midnight() -> None:
    a = FixedTariff(0.3, [Zone(0.2, hours=(22, 24))], BERLIN, hourly=False).rates(at(2, 0))
    b = FixedTariff(0.3, [Zone(0.2, hours=(22, 0))], BERLIN, hourly=False).rates(at(2, 0))
    assert a == b
    assert FixedTariff(0.3, [Zone(0.2, hours=(22, 0))]).dynamic
    assert not FixedTariff(0.3).dynamic


def test_fixed_hourly_lets_planner_charge_late_in_cheap_zone() -> None:
    """HEAD's hourly rates + "equal price → later first" put charging at the end of the cheap
    zone; with OLD's zone-sized rates the single needed slot is cut at its end instead."""
    zones = [Zone(0.2, hours=(0, 6))]
    now, target = at(1, 20), at(2, 7)
    head = FixedTariff(0.3, zones, BERLIN).rates(now)
    old = FixedTariff(0.3, zones, BERLIN, hourly=False).rates(now)
    assert [(r.start, r.end) for r in plan_slots(now, 2 * H, target, head)] == [
        (at(2, 4), at(2, 5)),
        (at(2, 5), at(2, 6)),
    ]
    assert [(r.start, r.end) for r in plan_slots(now, 2 * H, target, old)] == [(at(2, 0), at(2, 2))]


# --- JSON ----------------------------------------------------------------------------------------


def test_rfc3339_formatting() -> None:
    assert format_rfc3339(at(2, 7)) == "2024-01-02T07:00:00+01:00"
    assert format_rfc3339(datetime(2024, 7, 2, 7, tzinfo=BERLIN)) == "2024-07-02T07:00:00+02:00"
    assert format_rfc3339(datetime(2024, 1, 2, 6, tzinfo=UTC)) == "2024-01-02T06:00:00Z"
    minus = timezone(-timedelta(hours=3, minutes=30))
    assert format_rfc3339(datetime(2024, 1, 2, 6, tzinfo=minus)) == "2024-01-02T06:00:00-03:30"
    frac = datetime(2024, 1, 2, 6, 0, 1, 250000, tzinfo=UTC)
    assert format_rfc3339(frac) == "2024-01-02T06:00:01.25Z"
    with pytest.raises(ValueError):
        format_rfc3339(datetime(2024, 1, 2))


def test_rates_to_json_old_and_head_keys() -> None:
    rates = [Rate(at(2, 0), at(2, 1), 0.25), Rate(at(2, 1), at(2, 2), 0.3)]
    assert rates_to_json(rates) == [
        {"start": "2024-01-02T00:00:00+01:00", "end": "2024-01-02T01:00:00+01:00", "price": 0.25},
        {"start": "2024-01-02T01:00:00+01:00", "end": "2024-01-02T02:00:00+01:00", "price": 0.3},
    ]
    assert rates_to_json(rates, key="value")[0] == {
        "start": "2024-01-02T00:00:00+01:00",
        "end": "2024-01-02T01:00:00+01:00",
        "value": 0.25,
    }
    assert rates_to_json([]) == []

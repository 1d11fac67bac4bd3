"""Repeating (weekly) plans of a vehicle, as current evcc: validation, the next occurrence, which
plan the loadpoint follows, and that a started plan keeps its goal."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, strategies as st

from custom_components.evcc_ha.core.loadpoint import next_occurrence
from custom_components.evcc_ha.core.model import (
    ChargerReading,
    LoadpointConfig,
    LoadpointReadings,
    MeterReading,
    RepeatingPlan,
    SettingError,
    SiteConfig,
    SiteReadings,
    Status,
)
from custom_components.evcc_ha.core.settings import LoadpointSettings
from custom_components.evcc_ha.core.site import Site

from .harness import T0, with_vehicle

BERLIN = ZoneInfo("Europe/Berlin")
# T0 is Sunday 2026-06-21 10:00 UTC (12:00 in Berlin)
WEEKDAYS = {"sun": 0, "mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6}


def plan(days: list[int], time: str = "07:00", soc: int = 80, **kw: object) -> dict[str, object]:
    return {"weekdays": days, "time": time, "tz": "Europe/Berlin", "soc": soc, **kw}


@pytest.mark.parametrize(
    ("days", "time", "expected"),
    [
        ([1], "07:00", datetime(2026, 6, 22, 7, 0, tzinfo=BERLIN)),  # Monday
        ([0], "13:00", datetime(2026, 6, 21, 13, 0, tzinfo=BERLIN)),  # today, still ahead
        ([0], "11:59", datetime(2026, 6, 28, 11, 59, tzinfo=BERLIN)),  # today, passed: a week
        ([0], "12:00", datetime(2026, 6, 21, 12, 0, tzinfo=BERLIN)),  # exactly now: now
        ([5, 3], "22:30", datetime(2026, 6, 24, 22, 30, tzinfo=BERLIN)),  # Wednesday first
    ],
)
def test_next_occurrence(days: list[int], time: str, expected: datetime) -> None:
    when = next_occurrence(RepeatingPlan(tuple(days), time, "Europe/Berlin", 80), T0)
    assert when == expected


def test_next_occurrence_in_utc_and_without_weekdays() -> None:
    assert next_occurrence(RepeatingPlan((1,), "07:00", "", 80), T0) == datetime(
        2026, 6, 22, 7, 0, tzinfo=UTC
    )
    assert next_occurrence(RepeatingPlan((), "07:00", "", 80), T0) is None


@given(
    st.lists(st.integers(0, 6), min_size=1, max_size=7),
    st.integers(0, 23),
    st.integers(0, 59),
    st.datetimes(datetime(2026, 1, 1), datetime(2027, 12, 31), timezones=st.just(UTC)),
)
def test_next_occurrence_properties(days: list[int], hour: int, minute: int, now: datetime) -> None:
    """Never before now, at most a week ahead, on one of the days, at the time (local)."""
    when = next_occurrence(
        RepeatingPlan(tuple(days), f"{hour:02d}:{minute:02d}", "Europe/Berlin", 80), now
    )
    assert when is not None
    assert now <= when <= now + timedelta(days=7, hours=1)
    local = when.astimezone(BERLIN)
    assert (local.weekday() + 1) % 7 in days
    if local.utcoffset() == local.replace(fold=1).utcoffset():  # not a DST gap or overlap
        assert (local.hour, local.minute) == (hour, minute)


def site_with_vehicle(soc_limit: int = 100) -> Site:
    car = with_vehicle(capacity_kwh=50.0)
    return Site(
        SiteConfig(), [LoadpointConfig(vehicle=car)], None, [LoadpointSettings(limit_soc=soc_limit)]
    )


def cycle(site: Site, now: datetime, soc: float) -> None:
    charger = ChargerReading(status=Status.B, enabled=False)
    site.update(
        now,
        SiteReadings(
            grid=MeterReading(0), loadpoints=(LoadpointReadings(charger, vehicle_soc=soc),)
        ),
    )


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("{", "invalid repeatingPlans: '{' is not JSON"),
        ({"weekdays": [1]}, "is not a list"),
        ([plan([7])], "weekday out of range: 7"),
        ([plan([True])], "invalid weekdays: [True]"),
        ([plan([1], time="7h")], "invalid time: '7h'"),
        ([plan([1], time="24:00")], "invalid time: '24:00'"),
        ([plan([1], tz="Mars/Olympus")], "invalid timezone: 'Mars/Olympus'"),
        ([plan([1], tz="../../etc/passwd")], "invalid timezone"),
        ([plan([1], soc=120)], "soc must be between 0 and 100: 120"),
        ([plan([1], active="yes")], "invalid active: 'yes' is not a boolean"),
        ([plan([1], repeat=True)], "unknown field 'repeat'"),
        ([plan([1])] * 11, "at most 10 repeating plans"),
    ],
)
def test_bad_repeating_plans_change_nothing(value: object, message: str) -> None:
    site = site_with_vehicle()
    site.set_loadpoint_setting(0, "repeatingPlans", [plan([1], active=True)], T0)
    before = site.loadpoints[0].settings.repeating_plans
    with pytest.raises(SettingError, match=message.replace("[", r"\[").replace("(", r"\(")):
        site.set_loadpoint_setting(0, "repeatingPlans", value, T0)
    assert site.loadpoints[0].settings.repeating_plans == before


def test_repeating_plans_need_a_vehicle_with_soc() -> None:
    site = Site(SiteConfig(), [LoadpointConfig()], None, [LoadpointSettings()])
    with pytest.raises(SettingError, match="need a vehicle with a SoC"):
        site.set_loadpoint_setting(0, "repeatingPlans", [plan([1])], T0)


def test_the_plan_that_must_start_first_is_followed() -> None:
    site = site_with_vehicle()
    lp = site.loadpoints[0]
    cycle(site, T0, 20)
    assert lp.effective_plan(T0) is None
    # Tuesday 07:00 to 90 % and Monday 22:00 to 30 %: Monday's needs less time but is earlier
    site.set_loadpoint_setting(
        0,
        "repeatingPlans",
        [plan([2], soc=90, active=True), plan([1], "22:00", soc=30, active=True)],
        T0,
    )
    cycle(site, T0 + timedelta(minutes=1), 20)
    effective = lp.effective_plan()
    assert effective is not None and effective.id == 3
    assert effective.time == datetime(2026, 6, 22, 22, 0, tzinfo=BERLIN)
    # the car already has 35 %: Monday's goal is reached, Tuesday's is next
    cycle(site, T0 + timedelta(minutes=2), 35)
    effective = lp.effective_plan()
    assert effective is not None and (effective.id, effective.goal) == (2, 90)
    # a static plan that must start earlier wins (id 1)
    site.set_plan(0, T0 + timedelta(minutes=2), T0 + timedelta(hours=6), soc=60)
    cycle(site, T0 + timedelta(minutes=3), 35)
    effective = lp.effective_plan()
    assert effective is not None and effective.id == 1
    # an inactive plan is skipped
    site.clear_plan(0, T0 + timedelta(minutes=3))
    site.set_loadpoint_setting(0, "repeatingPlans", [plan([2], soc=90, active=False)], T0)
    cycle(site, T0 + timedelta(minutes=4), 35)
    assert lp.effective_plan() is None


def test_a_started_repeating_plan_keeps_its_goal_and_repeats() -> None:
    """Monday 07:00 to 80 %: it starts in time, keeps running past the target (locked), and
    after the goal is reached the next Monday is planned; the plan is never deleted."""
    site = site_with_vehicle()
    lp = site.loadpoints[0]
    site.set_loadpoint_setting(0, "repeatingPlans", [plan([1], soc=80, active=True)], T0)
    monday_7 = datetime(2026, 6, 22, 7, 0, tzinfo=BERLIN)
    cycle(site, monday_7 - timedelta(hours=8), 40)
    assert not lp.plan_active
    cycle(site, monday_7 - timedelta(hours=1), 40)  # 20 kWh at 11 kW: must run now
    assert lp.plan_active
    locked = lp.plan_lock
    assert locked is not None and locked.time == monday_7
    cycle(site, monday_7 + timedelta(minutes=30), 70)  # late: still on, for the same goal
    assert lp.plan_active and lp.effective_plan() == locked
    cycle(site, monday_7 + timedelta(hours=1), 80)  # reached
    assert not lp.plan_active and lp.plan_lock is None
    effective = lp.effective_plan()
    assert effective is None  # 80 % reached: nothing to do until the SoC drops
    cycle(site, monday_7 + timedelta(hours=2), 50)
    effective = lp.effective_plan()
    assert effective is not None and effective.time == monday_7 + timedelta(days=7)
    assert lp.settings.repeating_plans  # still there


def test_repeating_plans_are_stored_and_restored() -> None:
    site = site_with_vehicle()
    site.set_loadpoint_setting(0, "repeatingPlans", [plan([1, 3], soc=70, active=True)], T0)
    saved = site.to_dict()
    again = site_with_vehicle()
    again.restore(saved, T0)
    assert again.loadpoints[0].settings.repeating_plans == (
        RepeatingPlan((1, 3), "07:00", "Europe/Berlin", 70, True),
    )

"""Price entities → rates (custom_components/evcc_ha/devices/price_entity.py).

The attribute dicts are built the way each integration builds them (see the module docstring for
the source of each layout); the slot lists are generated here, 24 hourly or 96 quarter-hour
slots a day, with 23/25-hour days on the DST changes.
"""

from __future__ import annotations

import json
import random
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from custom_components.evcc_ha.core.tariff import Rate
from custom_components.evcc_ha.devices.price_entity import (
    PriceParse,
    PriceParseError,
    PriceShape,
    combine_parses,
    detect_shape,
    parse_nordpool_response,
    parse_prices,
    parse_tibber_response,
    parse_unit,
    summary,
)
from tests.price_shapes import (
    AUTUMN,
    BERLIN,
    COPENHAGEN,
    DAY,
    LONDON,
    NEW_YORK,
    SPRING,
    STOCKHOLM,
    H,
    Q,
    assert_well_formed,
    day_slots,
    durations,
    eds_attrs,
    epex_attrs,
    generic_today_tomorrow,
    local,
    nordpool_attrs,
    nordpool_response,
    octopus_attrs,
    price_of,
    tibber_points,
)

# --- Nord Pool (custom) --------------------------------------------------------------------------


def test_nordpool_today_and_tomorrow_late_in_the_day() -> None:
    tomorrow = DAY + timedelta(days=1)
    attrs = nordpool_attrs(DAY, tomorrow)
    parse = parse_prices("0.21", attrs, now=local(DAY, 23, 30), tz=BERLIN)
    assert detect_shape("0.21", attrs) is PriceShape.NORDPOOL
    assert parse.shape is PriceShape.NORDPOOL
    assert len(parse.rates) == 48
    assert_well_formed(parse.rates)
    assert parse.rates[0].start == local(DAY)
    assert parse.rates[-1].end == local(DAY + timedelta(days=2))
    assert parse.rates[24].start == local(tomorrow)
    assert parse.rates[5].price == pytest.approx(round(price_of(5) * 0.01, 5))
    assert (parse.unit, parse.factor, parse.currency) == ("EUR/kWh", 1.0, "EUR")
    assert parse.unit_source == "attribute"
    assert parse.attributes_read == ("raw_today", "raw_tomorrow")
    assert parse.warnings == ()


def test_nordpool_missing_tomorrow_is_normal() -> None:
    attrs = nordpool_attrs(DAY, None)
    assert attrs["tomorrow_valid"] is False
    parse = parse_prices("0.21", attrs, now=local(DAY, 10), tz=BERLIN)
    assert len(parse.rates) == 24
    assert parse.rates[-1].end == local(DAY + timedelta(days=1))
    assert parse.warnings == ()


def test_nordpool_quarter_hours() -> None:
    parse = parse_prices("0.2", nordpool_attrs(DAY, None, step=Q), now=local(DAY, 1), tz=BERLIN)
    assert len(parse.rates) == 96
    assert durations(parse.rates) == {Q}
    assert_well_formed(parse.rates)


@pytest.mark.parametrize(
    ("uom", "currency", "cents", "factor", "expected_currency"),
    [
        ("c/kWh", "EUR", True, 0.01, "EUR"),
        ("Öre/kWh", "SEK", True, 0.01, "SEK"),
        ("Øre/kWh", "DKK", True, 0.01, "DKK"),
        ("NOK/kWh", "NOK", False, 1.0, "NOK"),
    ],
)
def test_nordpool_cents(
    uom: str, currency: str, cents: bool, factor: float, expected_currency: str
) -> None:
    attrs = nordpool_attrs(DAY, None, uom=uom, currency=currency, cents=cents, scale=1.0)
    parse = parse_prices("21", attrs, now=local(DAY, 10), tz=BERLIN)
    assert parse.factor == factor
    assert parse.currency == expected_currency
    assert parse.rates[3].price == pytest.approx(price_of(3) * factor)
    assert parse.warnings == ()


def test_nordpool_without_unit_of_measurement_uses_currency_unit_and_cents() -> None:
    attrs = nordpool_attrs(DAY, None, uom=None, currency="SEK", cents=True, scale=1.0)
    parse = parse_prices("21", attrs, now=local(DAY, 10), tz=BERLIN)
    assert parse.factor == 0.01
    assert parse.currency == "SEK"
    assert parse.unit_source == "attribute"


def test_nordpool_price_per_mwh() -> None:
    attrs = nordpool_attrs(DAY, None, uom="EUR/MWh", unit="MWh", scale=10.0)
    parse = parse_prices("210", attrs, now=local(DAY, 10), tz=BERLIN)
    assert parse.factor == 0.001
    assert parse.rates[0].price == pytest.approx(price_of(0) * 10 / 1000)


def test_nordpool_unit_conflict_trusts_unit_of_measurement() -> None:
    attrs = nordpool_attrs(DAY, None, uom="EUR/kWh", cents=True)
    parse = parse_prices("0.21", attrs, now=local(DAY, 10), tz=BERLIN)
    assert parse.factor == 1.0
    assert [w.code for w in parse.warnings] == ["unit_conflict"]


def test_nordpool_none_values_are_skipped_with_one_warning() -> None:
    attrs = nordpool_attrs(DAY, None)
    attrs["raw_today"][3]["value"] = None  # the API had inf there
    attrs["raw_today"][4]["value"] = None
    parse = parse_prices("0.21", attrs, now=local(DAY, 10), tz=BERLIN)
    assert len(parse.rates) == 22
    assert_well_formed(parse.rates, contiguous=False)
    assert [w.code for w in parse.warnings] == ["bad_price"]
    assert parse.warnings[0].message.startswith("2 slot(s) skipped")
    assert "raw_today[3]" in parse.warnings[0].message


def test_nordpool_currency_mismatch_warns() -> None:
    attrs = nordpool_attrs(DAY, None, uom="SEK/kWh", currency="SEK")
    parse = parse_prices("0.21", attrs, now=local(DAY, 10), tz=BERLIN, currency="eur")
    assert parse.currency == "SEK"
    assert [w.code for w in parse.warnings] == ["currency_mismatch"]


# --- DST -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("tz", [BERLIN, COPENHAGEN])
@pytest.mark.parametrize(
    ("day", "step", "count"),
    [(SPRING, H, 23), (AUTUMN, H, 25), (SPRING, Q, 92), (AUTUMN, Q, 100)],
)
def test_dst_day_nordpool(tz: ZoneInfo, day: date, step: timedelta, count: int) -> None:
    parse = parse_prices(
        "0.2", nordpool_attrs(day, None, tz=tz, step=step), now=local(day, 12, tz=tz), tz=tz
    )
    assert len(parse.rates) == count
    assert durations(parse.rates) == {step}
    assert_well_formed(parse.rates)
    assert parse.rates[-1].end == local(day + timedelta(days=1), tz=tz)


@pytest.mark.parametrize(("day", "count"), [(SPRING, 23), (AUTUMN, 25)])
def test_dst_day_energidataservice_infers_ends(day: date, count: int) -> None:
    """No end in the items: the spacing is measured in absolute time, so DST needs nothing."""
    attrs = eds_attrs(day, day + timedelta(days=1))
    parse = parse_prices("2.1", attrs, now=local(day, 20, tz=COPENHAGEN), tz=COPENHAGEN)
    assert len(parse.rates) == count + 24
    assert durations(parse.rates) == {H}
    assert_well_formed(parse.rates)


@pytest.mark.parametrize("step", [H, Q])
@pytest.mark.parametrize("day", [SPRING, AUTUMN])
def test_dst_day_naive_starts_and_ends(day: date, step: timedelta) -> None:
    """Naive ends too: the end of the first 02:45 is a naive 02:00, read as the second one."""
    items = [
        {
            "start": s.replace(tzinfo=None).isoformat(),
            "end": e.replace(tzinfo=None).isoformat(),
            "price": 0.3,
        }
        for s, e in day_slots(day, BERLIN, step)
    ]
    parse = parse_prices(
        "0.3", {"prices": items}, now=local(day, 5), tz=BERLIN, unit_hint="EUR/kWh"
    )
    assert len(parse.rates) == len(items)
    assert durations(parse.rates) == {step}
    assert_well_formed(parse.rates)
    assert parse.warnings == ()


@pytest.mark.parametrize("day", [SPRING, AUTUMN])
def test_dst_day_naive_wall_clock_ends(day: date) -> None:
    """A template that writes end = start + 1 hour on the wall clock makes the first 02:00 two
    hours long on the autumn change; the next slot's start cuts it back, without a warning."""
    items = []
    for s, _ in day_slots(day, BERLIN):
        wall = s.replace(tzinfo=None)
        items.append({"start": wall.isoformat(), "end": (wall + H).isoformat(), "price": 0.3})
    parse = parse_prices(
        "0.3", {"prices": items}, now=local(day, 5), tz=BERLIN, unit_hint="EUR/kWh"
    )
    assert len(parse.rates) == len(items)
    assert durations(parse.rates) == {H}
    assert_well_formed(parse.rates)
    assert parse.warnings == ()


@pytest.mark.parametrize(("day", "count"), [(SPRING, 23), (AUTUMN, 25)])
def test_dst_day_naive_strings(day: date, count: int) -> None:
    """Naive local times: on the autumn change 02:00 appears twice and means two hours."""
    items: list[dict[str, Any]] = [
        {"start": s.replace(tzinfo=None).isoformat(), "price": price_of(i)}
        for i, (s, _) in enumerate(day_slots(day, BERLIN))
    ]
    wall = [item["start"][11:16] for item in items]
    assert (wall.count("02:00") == 2) is (day == AUTUMN)
    parse = parse_prices("20", {"prices": items}, now=local(day, 5), tz=BERLIN, unit_hint="ct/kWh")
    assert len(parse.rates) == count
    assert durations(parse.rates) == {H}
    assert_well_formed(parse.rates)
    assert parse.warnings == ()


# --- Energi Data Service -------------------------------------------------------------------------


def test_energidataservice_today_only_and_cents() -> None:
    attrs = eds_attrs(DAY, None, cent=True)
    assert attrs["raw_tomorrow"] is None
    assert detect_shape("210", attrs) is PriceShape.ENERGI_DATA_SERVICE
    parse = parse_prices("210", attrs, now=local(DAY, 9, tz=COPENHAGEN), tz=COPENHAGEN)
    assert len(parse.rates) == 24
    assert (parse.factor, parse.currency) == (0.01, "DKK")
    assert parse.rates[2].price == pytest.approx(round(price_of(2) / 10 * 100, 3) / 100)
    assert parse.warnings == ()


def test_energidataservice_quarter_hours() -> None:
    attrs = eds_attrs(DAY, DAY + timedelta(days=1), step=Q)
    parse = parse_prices("2.1", attrs, now=local(DAY, 21, tz=COPENHAGEN), tz=COPENHAGEN)
    assert len(parse.rates) == 192
    assert durations(parse.rates) == {Q}
    assert_well_formed(parse.rates)


def test_energidataservice_forecast_only_when_asked_and_after_known_prices() -> None:
    tomorrow = DAY + timedelta(days=1)
    # The forecast starts tomorrow, which is already known: only the day after is added.
    attrs = eds_attrs(DAY, tomorrow, forecast=tomorrow)
    attrs["forecast"] += [
        {"hour": s, "price": 9.99} for s, _ in day_slots(tomorrow + timedelta(days=1), COPENHAGEN)
    ]
    now = local(DAY, 20, tz=COPENHAGEN)
    plain = parse_prices("2.1", attrs, now=now, tz=COPENHAGEN)
    assert len(plain.rates) == 48 and plain.forecast_count == 0
    with_forecast = parse_prices("2.1", attrs, now=now, tz=COPENHAGEN, include_forecast=True)
    assert len(with_forecast.rates) == 72
    assert with_forecast.forecast_count == 24
    assert with_forecast.rates[:48] == plain.rates  # known prices win over the forecast
    assert {r.price for r in with_forecast.rates[48:]} == {9.99}
    assert_well_formed(with_forecast.rates)
    assert with_forecast.warnings == ()


# --- Tibber --------------------------------------------------------------------------------------


def test_tibber_today_tomorrow_startsat_total() -> None:
    tomorrow = DAY + timedelta(days=1)
    attrs: dict[str, Any] = {
        "today": tibber_points(DAY, STOCKHOLM),
        "tomorrow": tibber_points(tomorrow, STOCKHOLM),
        "unit_of_measurement": "SEK/kWh",
        "currency": "SEK",
    }
    assert detect_shape("1.2", attrs) is PriceShape.TIBBER
    parse = parse_prices("1.2", attrs, now=local(DAY, 18, tz=STOCKHOLM), tz=STOCKHOLM)
    assert len(parse.rates) == 48
    assert parse.rates[0].price == attrs["today"][0]["total"]  # total, not energy
    assert parse.currency == "SEK"
    assert_well_formed(parse.rates)
    assert parse.warnings == ()


def test_tibber_quarter_hours_in_prices_without_unit_assumes_site_currency() -> None:
    attrs = {"prices": tibber_points(DAY, BERLIN, Q)}
    parse = parse_prices("0.3", attrs, now=local(DAY, 12), tz=BERLIN, currency="EUR")
    assert parse.shape is PriceShape.TIBBER
    assert len(parse.rates) == 96
    assert parse.unit is None and parse.unit_source == "assumed"
    assert parse.currency == "EUR"
    assert [w.code for w in parse.warnings] == ["unit_assumed"]
    assert "EUR/kWh" in parse.warnings[0].message


# --- EPEX Spot -----------------------------------------------------------------------------------


def test_epex_spot_price_per_kwh() -> None:
    attrs = epex_attrs(DAY)
    assert detect_shape("0.08", attrs) is PriceShape.EPEX_SPOT
    parse = parse_prices("0.08", attrs, now=local(DAY, 12), tz=BERLIN)
    assert len(parse.rates) == 96
    assert (parse.factor, parse.currency) == (1.0, "EUR")
    assert parse.rates[8].price == round(price_of(2) * 4 / 1000, 6)
    assert_well_formed(parse.rates)
    assert parse.warnings == ()


def test_epex_spot_old_keys_carry_their_unit() -> None:
    """Before 2024-09 the items had per-MWh and ct/kWh keys; the state was in EUR/MWh."""
    attrs = epex_attrs(DAY, old=True)
    attrs["unit_of_measurement"] = "EUR/MWh"
    state = str(attrs["price_eur_per_mwh"])
    parse = parse_prices(state, attrs, now=local(DAY, 0, 5), tz=BERLIN)
    assert parse.unit_source == "key"
    assert parse.unit == "ct/kWh" and parse.factor == 0.01
    assert parse.rates[8].price == pytest.approx(price_of(2) * 4 / 1000, rel=1e-4)
    assert parse.warnings == ()  # the state agrees once read in its own unit


def test_epex_spot_gb_pence_key() -> None:
    items = [
        {"start_time": s.isoformat(), "end_time": e.isoformat(), "price_pence_per_kwh": 25.0}
        for s, e in day_slots(DAY, LONDON)
    ]
    parse = parse_prices("25", {"data": items}, now=local(DAY, 3, tz=LONDON), tz=LONDON)
    assert parse.shape is PriceShape.EPEX_SPOT
    assert parse.currency == "GBP"
    assert {r.price for r in parse.rates} == {0.25}


# --- Octopus Energy ------------------------------------------------------------------------------


def test_octopus_current_day_rates_event() -> None:
    attrs = octopus_attrs(DAY)
    state = "2024-11-05T00:00:12.345+00:00"  # an event entity's state is the event's time
    assert detect_shape(state, attrs) is PriceShape.OCTOPUS
    parse = parse_prices(state, attrs, now=local(DAY, 8, tz=LONDON), tz=LONDON)
    assert len(parse.rates) == 48
    assert durations(parse.rates) == {timedelta(minutes=30)}
    assert (parse.unit, parse.currency, parse.unit_source) == ("GBP/kWh", "GBP", "shape")
    assert parse.rates[1].price == pytest.approx(0.13)
    assert parse.warnings == ()


def test_octopus_legacy_pence_are_recognised() -> None:
    parse = parse_prices(
        "x", octopus_attrs(DAY, pence=True), now=local(DAY, 8, tz=LONDON), tz=LONDON
    )
    assert parse.factor == 0.01
    assert parse.rates[1].price == pytest.approx(0.13)
    assert [w.code for w in parse.warnings] == ["unit_guessed"]


def test_octopus_unit_hint_wins_over_the_guess() -> None:
    attrs = octopus_attrs(DAY, pence=True)
    parse = parse_prices("x", attrs, now=local(DAY, 8, tz=LONDON), tz=LONDON, unit_hint="GBP/kWh")
    assert parse.factor == 1.0 and parse.unit_source == "hint"
    assert parse.warnings == ()


def test_octopus_current_and_next_day_combined() -> None:
    now = local(DAY, 20, tz=LONDON)
    today = parse_prices("x", octopus_attrs(DAY), now=now, tz=LONDON)
    tomorrow = parse_prices("x", octopus_attrs(DAY + timedelta(days=1)), now=now, tz=LONDON)
    combined = combine_parses(tomorrow, today)
    assert len(combined.rates) == 96
    assert_well_formed(combined.rates)
    assert combined.shape is PriceShape.OCTOPUS
    twice = combine_parses(today, today)
    assert twice.rates == today.rates  # duplicates with an equal price vanish, silently
    assert twice.warnings == ()
    with pytest.raises(PriceParseError) as err:
        combine_parses()
    assert err.value.code == "no_prices"


# --- generic -------------------------------------------------------------------------------------


def test_generic_ev_smart_charging_format() -> None:
    """prices_today/prices_tomorrow of {time: "2024-11-05 00:00:00+01:00", price}."""
    attrs = generic_today_tomorrow(DAY, DAY + timedelta(days=1), BERLIN)
    assert attrs["prices_today"][0]["time"] == "2024-11-05 00:00:00+01:00"
    assert detect_shape("20", attrs) is PriceShape.GENERIC
    parse = parse_prices("20", attrs, now=local(DAY, 22), tz=BERLIN)
    assert len(parse.rates) == 48
    assert durations(parse.rates) == {H}
    assert parse.factor == 0.01
    assert parse.rates[1].price == pytest.approx(price_of(1) / 100)
    assert_well_formed(parse.rates)
    assert parse.warnings == ()


def test_generic_json_string_attribute() -> None:
    """A template sensor may hand the list over as JSON text."""
    attrs = generic_today_tomorrow(DAY, None, BERLIN)
    attrs["prices_today"] = json.dumps(attrs["prices_today"])
    attrs["prices_tomorrow"] = "[]"
    parse = parse_prices("20", attrs, now=local(DAY, 12), tz=BERLIN)
    assert len(parse.rates) == 24


def test_generic_datetime_objects_and_epoch_seconds() -> None:
    by_datetime = generic_today_tomorrow(DAY, None, BERLIN, fmt=lambda s: s)
    by_epoch = generic_today_tomorrow(DAY, None, BERLIN, fmt=lambda s: int(s.timestamp()))
    now = local(DAY, 12)
    a = parse_prices("20", by_datetime, now=now, tz=BERLIN)
    b = parse_prices("20", by_epoch, now=now, tz=BERLIN)
    assert a.rates == b.rates
    assert len(a.rates) == 24


def test_generic_start_with_duration() -> None:
    """A duration (ISO, minutes, clock text or timedelta) ends a slot before the next start."""
    forms: list[Any] = ["PT15M", 15, "00:15:00", timedelta(minutes=15)]
    items = [
        {"start": s.isoformat(), "duration": forms[i % 4], "value": 0.2}
        for i, (s, _) in enumerate(day_slots(DAY, BERLIN))
    ]
    attrs = {"rates": items, "unit_of_measurement": "EUR/kWh"}
    parse = parse_prices("0.2", attrs, now=local(DAY, 12), tz=BERLIN)
    assert len(parse.rates) == 24
    assert durations(parse.rates) == {Q}  # hourly starts, quarter-hour slots
    assert_well_formed(parse.rates, contiguous=False)


def test_generic_time_price_mapping() -> None:
    prices = {s.isoformat(): price_of(i) for i, (s, _) in enumerate(day_slots(DAY, BERLIN))}
    parse = parse_prices(
        "20", {"forecast": prices, "unit_of_measurement": "€/MWh"}, now=local(DAY, 12), tz=BERLIN
    )
    assert parse.shape is PriceShape.GENERIC
    assert len(parse.rates) == 24
    assert parse.factor == 0.001


def test_generic_any_attribute_name() -> None:
    items = [{"from": s, "to": e, "price": 0.3} for s, e in day_slots(DAY, BERLIN)]
    attrs = {"electricity_schedule": items, "unit_of_measurement": "EUR/kWh"}
    parse = parse_prices("0.3", attrs, now=local(DAY, 12), tz=BERLIN)
    assert parse.attributes_read == ("electricity_schedule",)
    assert len(parse.rates) == 24


def test_generic_naive_times_are_local_to_the_site() -> None:
    items = [
        {
            "start": s.replace(tzinfo=None).isoformat(),
            "end": e.replace(tzinfo=None).isoformat(),
            "price": 0.3,
        }
        for s, e in day_slots(DAY, NEW_YORK)
    ]
    parse = parse_prices(
        "0.3", {"prices": items}, now=local(DAY, 12, tz=NEW_YORK), tz=NEW_YORK, unit_hint="USD/kWh"
    )
    assert parse.rates[0].start == local(DAY, tz=NEW_YORK)
    assert parse.rates[0].start.utcoffset() == timedelta(hours=-5)
    assert parse.rates[0].start.tzinfo is NEW_YORK
    assert parse.currency == "USD"


def test_rates_are_in_the_site_time_zone() -> None:
    """The source's zone (UTC in the Nord Pool response, Stockholm here) becomes the site's."""
    attrs = nordpool_attrs(DAY, None, tz=STOCKHOLM)
    parse = parse_prices("0.2", attrs, now=local(DAY, 12), tz=BERLIN)
    assert all(r.start.tzinfo is BERLIN for r in parse.rates)


def test_yesterdays_rates_are_dropped() -> None:
    items = [
        {"start": s, "end": e, "price": 0.3}
        for day in (DAY - timedelta(days=1), DAY)
        for s, e in day_slots(day, BERLIN)
    ]
    parse = parse_prices(
        "0.3", {"prices": items, "unit_of_measurement": "EUR/kWh"}, now=local(DAY, 0, 10), tz=BERLIN
    )
    assert parse.rates[0].start == local(DAY)
    assert len(parse.rates) == 24


def test_state_far_from_the_current_slot_warns() -> None:
    """The state is the current price: far off the list's current slot means a unit mix-up."""
    attrs = generic_today_tomorrow(DAY, None, BERLIN)  # values in ct, unit ct/kWh
    current_in_cents = str(price_of(12))
    parse = parse_prices(current_in_cents, attrs, now=local(DAY, 12, 30), tz=BERLIN)
    assert parse.warnings == ()
    attrs["unit_of_measurement"] = "EUR/kWh"  # a template sensor: state in €, list in ct
    parse = parse_prices("0.25", attrs, now=local(DAY, 12, 30), tz=BERLIN)
    assert [w.code for w in parse.warnings] == ["state_mismatch"]
    # A non-numeric state (an event entity's timestamp) is no evidence either way.
    parse = parse_prices("2024-11-05T00:00:00+00:00", attrs, now=local(DAY, 12), tz=BERLIN)
    assert parse.warnings == ()


# --- units ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "currency", "factor", "code"),
    [
        ("EUR/kWh", None, 1.0, "EUR"),
        ("€/kWh", None, 1.0, "EUR"),
        ("ct/kWh", None, 0.01, "EUR"),
        ("c/kWh", None, 0.01, "EUR"),
        ("€/MWh", None, 0.001, "EUR"),
        ("EUR/MWh", None, 0.001, "EUR"),
        ("öre/kWh", None, 0.01, "SEK"),
        ("Öre/kWh", None, 0.01, "SEK"),
        ("øre/kWh", "NOK", 0.01, "NOK"),
        ("kr/kWh", None, 1.0, None),
        ("kr/kWh", "DKK", 1.0, "DKK"),
        ("p/kWh", None, 0.01, "GBP"),
        ("pence/kWh", None, 0.01, "GBP"),
        ("£/kWh", None, 1.0, "GBP"),
        ("GBP/kWh", None, 1.0, "GBP"),
        ("SEK/MWh", None, 0.001, "SEK"),
        ("EUR/Wh", None, 1000.0, "EUR"),
        ("zł/kWh", None, 1.0, "PLN"),
        ("ct per kWh", None, 0.01, "EUR"),
        ("¢/kWh", None, 0.01, "USD"),
        ("c/kWh", "USD", 0.01, "USD"),  # the entity's currency names a subunit's currency
        ("EUR/kWh", "SEK", 1.0, "EUR"),  # an ISO code in the unit wins
    ],
)
def test_parse_unit(text: str, currency: str | None, factor: float, code: str | None) -> None:
    unit = parse_unit(text, currency=currency)
    assert unit is not None
    assert unit.factor == pytest.approx(factor)
    assert unit.currency == code


@pytest.mark.parametrize("text", ["kWh", "EUR", "W", "foo/bar", "", None, 42, "EUR/kW"])
def test_parse_unit_rejects(text: Any) -> None:
    assert parse_unit(text) is None


def test_unit_hint_overrides_the_entity() -> None:
    attrs = generic_today_tomorrow(DAY, None, BERLIN)
    del attrs["unit_of_measurement"]
    parse = parse_prices("20", attrs, now=local(DAY, 12), tz=BERLIN, unit_hint="ct/kWh")
    assert (parse.factor, parse.unit_source, parse.unit) == (0.01, "hint", "ct/kWh")
    assert parse.warnings == ()


def test_unknown_unit_is_assumed_per_kwh_with_a_warning() -> None:
    attrs = generic_today_tomorrow(DAY, None, BERLIN)
    del attrs["unit_of_measurement"]
    parse = parse_prices("20", attrs, now=local(DAY, 12), tz=BERLIN)
    assert parse.factor == 1.0 and parse.unit is None
    assert [w.code for w in parse.warnings] == ["unit_assumed"]
    assert "ct/kWh" in parse.warnings[0].message  # values of 20+ look like cents


def test_bad_unit_hint_is_an_error() -> None:
    with pytest.raises(PriceParseError) as err:
        parse_prices(
            "20", nordpool_attrs(DAY, None), now=local(DAY, 12), tz=BERLIN, unit_hint="potatoes"
        )
    assert err.value.code == "bad_unit"


# --- garbage -------------------------------------------------------------------------------------


def parse_error(
    state: str, attributes: Any, now: datetime | None = None, **kwargs: Any
) -> PriceParseError:
    with pytest.raises(PriceParseError) as err:
        parse_prices(state, attributes, now=now or local(DAY, 12), tz=BERLIN, **kwargs)
    assert err.value.message and str(err.value) == err.value.message
    return err.value


def test_no_shape() -> None:
    assert parse_error("0.2", {"unit_of_measurement": "EUR/kWh"}).code == "unknown_shape"
    assert parse_error("0.2", None).code == "unknown_shape"
    assert parse_error("0.2", ["not", "a", "mapping"]).code == "unknown_shape"
    assert detect_shape("0.2", {"friendly_name": "Temperature", "data": "abc"}) is None


def test_unavailable_entity() -> None:
    assert parse_error("unavailable", {"friendly_name": "Elspot"}).code == "unavailable"
    attrs = nordpool_attrs(None, None)
    assert parse_error("unavailable", attrs).code == "unavailable"
    assert parse_error("unknown", attrs).code == "no_prices"  # the list is just not there yet


def test_empty_lists_have_no_prices() -> None:
    assert parse_error("0.2", nordpool_attrs(None, None)).code == "no_prices"
    assert parse_error("0.2", {"prices_today": [], "prices_tomorrow": None}).code == "no_prices"
    assert parse_error("2.1", eds_attrs(None, None)).code == "no_prices"


def test_all_slots_garbage() -> None:
    attrs = nordpool_attrs(DAY, None)
    for item in attrs["raw_today"]:
        item["value"] = "unavailable"
    err = parse_error("0.2", attrs)
    assert err.code == "bad_values"
    assert "'unavailable'" in err.message


def test_mixed_garbage_is_skipped_with_counted_warnings() -> None:
    items: list[Any] = [{"start": s, "end": e, "price": 0.25} for s, e in day_slots(DAY, BERLIN)]
    items[1]["price"] = None
    items[2]["price"] = "n/a"
    items[3]["price"] = float("nan")
    items[4]["price"] = True
    items[5] = {"end": items[5]["end"], "price": 0.2}  # no start
    items[6]["start"] = "yesterday-ish"
    items[7]["end"] = items[7]["start"] - H  # ends before it starts
    items.append("garbage")
    items.append(None)
    items.append({"start": local(DAY, 23, 30), "end": local(DAY, 23), "price": 0.1})
    parse = parse_prices(
        "0.25", {"prices": items, "unit_of_measurement": "EUR/kWh"}, now=local(DAY, 12), tz=BERLIN
    )
    assert len(parse.rates) == 17
    assert_well_formed(parse.rates, contiguous=False)
    counts = {w.code: w.message.split(" ")[0] for w in parse.warnings}
    assert counts == {"bad_price": "4", "bad_time": "2", "empty_slot": "2", "not_a_slot": "2"}


def test_string_numbers_with_decimal_comma() -> None:
    items = [{"start": s, "end": e, "price": "0,25"} for s, e in day_slots(DAY, BERLIN)]
    parse = parse_prices(
        "0,25", {"prices": items, "unit_of_measurement": "EUR/kWh"}, now=local(DAY, 12), tz=BERLIN
    )
    assert {r.price for r in parse.rates} == {0.25}


def test_unsorted_slots_are_sorted_with_a_warning() -> None:
    items = [
        {"start": s.isoformat(), "price": price_of(i)}
        for i, (s, _) in enumerate(day_slots(DAY, BERLIN))
    ]
    random.Random(4).shuffle(items)
    parse = parse_prices("20", {"prices": items}, now=local(DAY, 12), tz=BERLIN, unit_hint="ct/kWh")
    assert len(parse.rates) == 24
    assert_well_formed(parse.rates)
    assert [w.code for w in parse.warnings] == ["unsorted"]
    assert parse.rates[7].price == pytest.approx(price_of(7) / 100)


def test_overlaps_are_shortened_and_duplicates_dropped() -> None:
    items: list[dict[str, Any]] = [
        {"start": s, "end": e, "price": 0.2} for s, e in day_slots(DAY, BERLIN)
    ]
    items[3]["end"] = items[3]["end"] + timedelta(minutes=30)  # runs into the next hour
    items.append({"start": items[10]["start"], "end": items[10]["end"], "price": 0.9})  # clash
    items.append(dict(items[12]))  # an exact copy: harmless
    parse = parse_prices(
        "0.2", {"prices": items, "unit_of_measurement": "EUR/kWh"}, now=local(DAY, 12), tz=BERLIN
    )
    assert len(parse.rates) == 24
    assert_well_formed(parse.rates)
    assert parse.rates[3].duration == H
    assert parse.rates[10].price == 0.2  # the first one listed wins
    assert sorted(w.code for w in parse.warnings) == ["duplicate", "overlap", "unsorted"]


def test_gap_in_the_list_does_not_stretch_the_slot_before_it() -> None:
    items = [{"start": s.isoformat(), "price": 0.2} for s, _ in day_slots(DAY, BERLIN)]
    del items[5:8]
    parse = parse_prices(
        "0.2", {"prices": items}, now=local(DAY, 12), tz=BERLIN, unit_hint="EUR/kWh"
    )
    assert len(parse.rates) == 21
    assert durations(parse.rates) == {H}
    assert parse.rates[4].end == local(DAY, 5)
    assert parse.rates[5].start == local(DAY, 8)


def test_single_slot_without_end_assumes_an_hour() -> None:
    parse = parse_prices(
        "0.2",
        {"prices": [{"start": local(DAY, 12), "price": 0.2}]},
        now=local(DAY, 12, 30),
        tz=BERLIN,
        unit_hint="EUR/kWh",
    )
    assert parse.rates == (Rate(local(DAY, 12), local(DAY, 13), 0.2),)
    assert [w.code for w in parse.warnings] == ["duration_assumed"]


def test_times_out_of_range_are_bad_times() -> None:
    """Near datetime's limits adding an hour fails: such starts are skipped, not crashed on."""
    items: list[Any] = [{"start": s, "end": e, "price": 0.2} for s, e in day_slots(DAY, BERLIN)]
    items.append({"start": "9999-12-31T23:30:00+00:00", "price": 0.2})
    items.append({"start": datetime(1, 1, 1), "price": 0.2})
    parse = parse_prices(
        "0.2", {"prices": items}, now=local(DAY, 12), tz=BERLIN, unit_hint="EUR/kWh"
    )
    assert len(parse.rates) == 24
    assert [(w.code, w.message[0]) for w in parse.warnings] == [("bad_time", "2")]


def test_prices_that_ended_this_morning_are_stale() -> None:
    items = [{"start": s, "end": e, "price": 0.2} for s, e in day_slots(DAY, BERLIN)[:6]]
    err = parse_error("0.2", {"prices": items, "unit_of_measurement": "EUR/kWh"})
    assert err.code == "stale_prices"
    assert "2024-11-05T06:00:00+01:00" in err.message


def test_stale_prices() -> None:
    attrs = nordpool_attrs(DAY - timedelta(days=1), None)  # Nord Pool has not turned the day yet
    assert parse_error("0.2", attrs, now=local(DAY, 0, 5)).code == "stale_prices"
    # Late in the day without tomorrow: only the rest of today, still fine.
    parse = parse_prices("0.2", nordpool_attrs(DAY, None), now=local(DAY, 23, 59), tz=BERLIN)
    assert len(parse.rates) == 24
    assert (
        parse_error("0.2", nordpool_attrs(DAY, None), now=local(DAY + timedelta(days=1), 0, 0)).code
        == "stale_prices"
    )


def test_core_nordpool_sensor_needs_the_action() -> None:
    attrs = {
        "state_class": "measurement",
        "unit_of_measurement": "SEK/kWh",
        "friendly_name": "Nord Pool SE3 Current price",
    }
    assert detect_shape("0.51", attrs) is PriceShape.NORDPOOL_CORE
    assert (
        detect_shape("0.51", {"unit_of_measurement": "SEK/kWh"}, platform="nordpool")
        is PriceShape.NORDPOOL_CORE
    )
    assert detect_shape("0.51", {"unit_of_measurement": "SEK/kWh"}) is None
    err = parse_error("0.51", attrs)
    assert err.code == "action_required"
    assert "nordpool.get_prices_for_date" in err.message
    assert parse_error("unavailable", {}, platform="nordpool").code == "unavailable"


def test_core_tibber_sensor_needs_the_action() -> None:
    attrs = {
        "max_price": 0.4,
        "avg_price": 0.3,
        "min_price": 0.2,
        "intraday_price_ranking": 0.4,
        "unit_of_measurement": "EUR/kWh",
    }
    assert detect_shape("0.3", attrs) is PriceShape.TIBBER_CORE
    assert (
        detect_shape("0.3", {"unit_of_measurement": "EUR/kWh"}, platform="tibber")
        is PriceShape.TIBBER_CORE
    )
    err = parse_error("0.3", attrs)
    assert err.code == "action_required" and "tibber.get_prices" in err.message


def test_platform_tells_nordpool_and_energidataservice_apart_when_lists_are_empty() -> None:
    attrs: dict[str, Any] = {"raw_today": [], "raw_tomorrow": []}
    assert detect_shape("1", attrs, platform="nordpool") is PriceShape.NORDPOOL
    assert detect_shape("1", attrs, platform="energidataservice") is PriceShape.ENERGI_DATA_SERVICE
    assert detect_shape("1", attrs) is PriceShape.GENERIC


# --- action responses ----------------------------------------------------------------------------


def test_nordpool_response_today_and_tomorrow() -> None:
    responses = [
        nordpool_response(DAY, STOCKHOLM),
        nordpool_response(DAY + timedelta(days=1), STOCKHOLM),
    ]
    parse = parse_nordpool_response(
        responses, now=local(DAY, 22, tz=STOCKHOLM), tz=STOCKHOLM, currency="sek"
    )
    assert parse.shape is PriceShape.NORDPOOL_CORE
    assert len(parse.rates) == 192
    assert durations(parse.rates) == {Q}
    assert_well_formed(parse.rates)
    assert (parse.unit, parse.factor, parse.currency) == ("SEK/MWh", 0.001, "SEK")
    assert parse.rates[0].price == pytest.approx(price_of(0) * 3 / 1000)
    assert parse.rates[0].start == local(DAY, tz=STOCKHOLM)
    assert parse.warnings == ()


def test_nordpool_response_dst_day() -> None:
    parse = parse_nordpool_response(
        nordpool_response(AUTUMN, COPENHAGEN, "DK1"),
        now=local(AUTUMN, 1, tz=COPENHAGEN),
        tz=COPENHAGEN,
    )
    assert len(parse.rates) == 100
    assert_well_formed(parse.rates)


def test_nordpool_response_areas() -> None:
    both = nordpool_response(DAY, STOCKHOLM, "SE3") | nordpool_response(DAY, STOCKHOLM, "SE4")
    now = local(DAY, 12, tz=STOCKHOLM)
    with pytest.raises(PriceParseError) as err:
        parse_nordpool_response(both, now=now, tz=STOCKHOLM)
    assert err.value.code == "ambiguous_area"
    assert len(parse_nordpool_response(both, now=now, tz=STOCKHOLM, area="se4").rates) == 96
    with pytest.raises(PriceParseError) as err:
        parse_nordpool_response(both, now=now, tz=STOCKHOLM, area="FI")
    assert err.value.code == "unknown_area"
    for bad in ("text", {"SE3": "nope"}, [1, 2]):
        with pytest.raises(PriceParseError) as err:
            parse_nordpool_response(bad, now=now, tz=STOCKHOLM)  # type: ignore[arg-type]
        assert err.value.code == "bad_response"
    with pytest.raises(PriceParseError) as err:
        parse_nordpool_response({"SE3": []}, now=now, tz=STOCKHOLM)
    assert err.value.code == "no_prices"


def test_tibber_response() -> None:
    points = [
        {"start_time": p["startsAt"], "price": p["total"], "level": p["level"]}
        for p in tibber_points(DAY, BERLIN, Q)
    ]
    response = {"prices": {"Home": points}}
    parse = parse_tibber_response(response, now=local(DAY, 12), tz=BERLIN, currency="EUR")
    assert parse.shape is PriceShape.TIBBER_CORE
    assert len(parse.rates) == 96
    assert (parse.factor, parse.currency) == (1.0, "EUR")
    assert parse.warnings == ()
    two = {"prices": {"Home": points, "Cabin": points}}
    with pytest.raises(PriceParseError) as err:
        parse_tibber_response(two, now=local(DAY, 12), tz=BERLIN)
    assert err.value.code == "ambiguous_area"
    assert len(parse_tibber_response(two, now=local(DAY, 12), tz=BERLIN, home="Cabin").rates) == 96
    with pytest.raises(PriceParseError) as err:
        parse_tibber_response({"prices": 3}, now=local(DAY, 12), tz=BERLIN)
    assert err.value.code == "bad_response"


# --- summary -------------------------------------------------------------------------------------


def test_summary() -> None:
    parse = parse_prices(
        "0.2", nordpool_attrs(DAY, DAY + timedelta(days=1)), now=local(DAY, 22), tz=BERLIN
    )
    now = local(DAY, 22, 30)
    s = summary(parse, now)
    assert s.count == 48
    assert s.first_start == local(DAY)
    assert s.last_end == local(DAY + timedelta(days=2))
    assert s.current == parse.rates[22]
    assert s.next_rates == parse.rates[22:25]
    ahead = [r.price for r in parse.rates[22:]]
    assert (s.min_price, s.max_price) == (min(ahead), max(ahead))
    data = s.as_dict()
    assert json.loads(json.dumps(data)) == data
    assert data["next_rates"][0]["start"] == "2024-11-05T22:00:00+01:00"
    assert data["shape"] == "nordpool" and data["unit"] == "EUR/kWh"
    assert len(summary(parse, now, count=5).next_rates) == 5
    later = summary(parse, local(DAY + timedelta(days=3)))
    assert later.current is None and later.next_rates == () and later.min_price is None


# --- properties ----------------------------------------------------------------------------------

ZONES = [BERLIN, COPENHAGEN, NEW_YORK, ZoneInfo("UTC")]
DAYS = [
    DAY,
    SPRING,
    AUTUMN,
    date(2025, 3, 30),
    date(2025, 10, 26),
    date(2024, 3, 10),
    date(2024, 11, 3),
]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    tz=st.sampled_from(ZONES),
    day=st.sampled_from(DAYS) | st.dates(min_value=date(2023, 1, 1), max_value=date(2026, 12, 31)),
    step=st.sampled_from([Q, timedelta(minutes=30), H]),
    fmt=st.sampled_from(["datetime", "iso", "naive", "epoch"]),
    with_end=st.booleans(),
    shuffle_seed=st.none() | st.integers(0, 1000),
    drop=st.sets(st.integers(0, 200), max_size=3),
)
def test_property_rates_are_sorted_and_contiguous(
    tz: ZoneInfo,
    day: date,
    step: timedelta,
    fmt: str,
    with_end: bool,
    shuffle_seed: int | None,
    drop: set[int],
) -> None:
    def show(value: datetime) -> Any:
        match fmt:
            case "iso":
                return value.isoformat()
            case "naive":
                return value.replace(tzinfo=None).isoformat()
            case "epoch":
                return value.timestamp()
        return value

    slots = day_slots(day, tz, step)
    kept = [(i, s, e) for i, (s, e) in enumerate(slots) if i not in drop or i == 0]
    items: list[dict[str, Any]] = []
    for i, s, e in kept:
        item: dict[str, Any] = {"start": show(s), "price": float(i)}
        if with_end:
            item["end"] = show(e)
        items.append(item)
    if shuffle_seed is not None and fmt != "naive":  # a repeated naive hour needs the order
        random.Random(shuffle_seed).shuffle(items)
    parse = parse_prices(
        "0", {"prices": items}, now=local(day, 0, 1, tz=tz), tz=tz, unit_hint="EUR/kWh"
    )

    assert_well_formed(parse.rates, contiguous=False)
    assert len(parse.rates) == len(kept)
    assert [r.price for r in parse.rates] == [float(i) for i, _, _ in kept]
    assert durations(parse.rates) == {step}
    if len(kept) == len(slots):
        assert_well_formed(parse.rates)
        total = parse.rates[-1].end.timestamp() - parse.rates[0].start.timestamp()
        expected = local(day + timedelta(days=1), tz=tz).timestamp() - local(day, tz=tz).timestamp()
        assert total == expected


# Times around the test's ``now`` (so that some garbage parses), and anything else.
_near = st.datetimes(
    min_value=datetime(2024, 11, 4), max_value=datetime(2024, 11, 7), timezones=st.just(BERLIN)
)
_values = st.one_of(
    _near,
    _near.map(datetime.isoformat),
    st.floats(min_value=-1, max_value=1),
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.sampled_from(
        [
            "unavailable",
            "unknown",
            "2024-11-05T10:00:00+01:00",
            "2024-11-05 10:00",
            "PT15M",
            "[]",
            "[1, 2",
            "0,5",
        ]
    ),
    st.datetimes(timezones=st.none() | st.just(UTC) | st.just(BERLIN)),
    st.dates(),
    st.timedeltas(),
)
_item_keys = st.sampled_from(
    [
        "start",
        "end",
        "time",
        "hour",
        "startsAt",
        "start_time",
        "end_time",
        "price",
        "value",
        "total",
        "value_inc_vat",
        "price_ct_per_kwh",
        "price_eur_per_mwh",
        "duration",
        "from",
        "to",
    ]
)
# Mostly-plausible slots (a start and a price, plus random extra keys), and pure noise.
_plausible = st.tuples(
    st.sampled_from(["start", "time", "hour", "startsAt", "start_time", "from"]),
    st.one_of(_near, _near.map(datetime.isoformat)),
    st.sampled_from(["price", "value", "total", "value_inc_vat", "price_ct_per_kwh"]),
    st.one_of(st.floats(min_value=-1, max_value=1), _values),
    st.dictionaries(_item_keys, _values, max_size=3),
).map(lambda t: {**t[4], t[0]: t[1], t[2]: t[3]})
_items = st.lists(
    st.one_of(_plausible, _values, st.dictionaries(_item_keys, _values, max_size=6)), max_size=8
)
_json_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(max_size=30),
    st.sampled_from(["2024-11-05T10:00:00+01:00", "2024-11-05 10:00", "PT15M", "unavailable"]),
    _near.map(datetime.isoformat),
)
_json_items = st.lists(
    st.one_of(_json_values, st.dictionaries(_item_keys, _json_values, max_size=6)), max_size=8
).map(json.dumps)
_attr_keys = st.sampled_from(
    [
        "raw_today",
        "raw_tomorrow",
        "prices",
        "prices_today",
        "data",
        "rates",
        "today",
        "tomorrow",
        "forecast",
        "unit_of_measurement",
        "unit",
        "currency",
        "price_in_cents",
        "use_cent",
        "event_type",
        "friendly_name",
        "other",
    ]
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    attributes=st.dictionaries(
        _attr_keys, st.one_of(_items, _items, _items, _json_items, _values), max_size=6
    ),
    state=st.one_of(st.text(max_size=10), st.sampled_from(["unavailable", "0.25", "25"])),
    unit_hint=st.none() | st.sampled_from(["ct/kWh", "EUR/MWh", "bogus"]),
    platform=st.none() | st.sampled_from(["nordpool", "tibber", "energidataservice", "epex_spot"]),
)
def test_property_garbage_never_escapes(
    attributes: dict[str, Any], state: str, unit_hint: str | None, platform: str | None
) -> None:
    """Whatever the attributes hold: a well-formed parse or a PriceParseError, nothing else."""
    now = local(DAY, 12)
    try:
        parse = parse_prices(
            state,
            attributes,
            now=now,
            tz=BERLIN,
            unit_hint=unit_hint,
            platform=platform,
            include_forecast=True,
        )
    except PriceParseError as err:
        assert err.code in {
            "unavailable",
            "unknown_shape",
            "no_prices",
            "bad_values",
            "stale_prices",
            "action_required",
            "bad_unit",
        }
        return
    assert isinstance(parse, PriceParse)
    assert parse.rates
    assert_well_formed(parse.rates, contiguous=False)
    assert any(r.end > now for r in parse.rates)
    summary(parse, now).as_dict()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    name=st.sampled_from(["prices", "raw_today", "data", "rates", "today", "forecast"]),
    items=st.lists(
        st.one_of(
            _plausible, _plausible, _values, st.dictionaries(_item_keys, _values, max_size=6)
        ),
        min_size=1,
        max_size=12,
    ),
)
def test_property_noisy_slot_lists(name: str, items: list[Any]) -> None:
    """Plausible slots among noise: the good ones survive, well-formed, never more than given."""
    now = local(DAY, 12)
    items.insert(0, {"start": local(DAY, 12), "price": 0.5})  # one slot that must parse
    parse = parse_prices("0.5", {name: items}, now=now, tz=BERLIN, unit_hint="EUR/kWh")
    assert 1 <= len(parse.rates) <= len(items)
    assert_well_formed(parse.rates, contiguous=False)
    assert any(r.contains(now) for r in parse.rates) or any(
        w.code in {"overlap", "duplicate"} for w in parse.warnings
    )


def test_keyed_units_need_no_entity_unit() -> None:
    """Old EPEX items name their unit in the key: no unit attribute, and no warning."""
    attrs = epex_attrs(DAY, old=True)
    parse = parse_prices("x", {"data": attrs["data"]}, now=local(DAY, 12), tz=BERLIN)
    assert parse.unit_source == "key"
    assert parse.warnings == ()


def test_end_that_is_not_a_time_falls_back_to_the_next_start() -> None:
    items = [{"start": s, "end": e, "price": 0.2} for s, e in day_slots(DAY, BERLIN)]
    items[4]["end"] = "soon"
    parse = parse_prices(
        "0.2", {"prices": items}, now=local(DAY, 12), tz=BERLIN, unit_hint="EUR/kWh"
    )
    assert len(parse.rates) == 24
    assert_well_formed(parse.rates)
    assert [w.code for w in parse.warnings] == ["bad_end"]

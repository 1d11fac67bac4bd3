"""Price entities as the integrations people use build them (Nord Pool, Energi Data Service,
Tibber, EPEX Spot, Octopus Energy, ev_smart_charging's generic lists): attribute builders shared
by the parser tests and the Home Assistant tariff tests. Slots are generated here, 24 hourly or
96 quarter-hour slots a day, with 23/25-hour days on the DST changes."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta, tzinfo
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

from custom_components.evcc_ha.core.tariff import Rate

BERLIN = ZoneInfo("Europe/Berlin")
COPENHAGEN = ZoneInfo("Europe/Copenhagen")
STOCKHOLM = ZoneInfo("Europe/Stockholm")
LONDON = ZoneInfo("Europe/London")
NEW_YORK = ZoneInfo("America/New_York")

DAY = date(2024, 11, 5)  # an ordinary 24-hour day
SPRING = date(2024, 3, 31)  # 23 hours in Europe
AUTUMN = date(2024, 10, 27)  # 25 hours in Europe
H = timedelta(hours=1)
Q = timedelta(minutes=15)


# --- slot generation -----------------------------------------------------------------------------


def local(day: date, hour: int = 0, minute: int = 0, tz: tzinfo = BERLIN) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=tz)


def day_slots(day: date, tz: tzinfo, step: timedelta = H) -> list[tuple[datetime, datetime]]:
    """The ``[start, end)`` slots of a local day, stepping in absolute time (DST-correct)."""
    start = local(day, tz=tz)
    stop = local(day + timedelta(days=1), tz=tz)
    slots = []
    t = start.astimezone(UTC)
    while t < stop.astimezone(UTC):
        slots.append((t.astimezone(tz), (t + step).astimezone(tz)))
        t += step
    return slots


def price_of(i: int) -> float:
    """A daily price curve: cheap at night, expensive in the evening."""
    return round(20.0 + 10.0 * ((i * 7) % 24) / 24, 4)


def assert_well_formed(rates: Sequence[Rate], *, contiguous: bool = True) -> None:
    """Sorted, non-overlapping, positive length, aware; contiguous when asked."""
    for rate in rates:
        assert rate.start.tzinfo is not None and rate.end.tzinfo is not None
        assert rate.end.timestamp() > rate.start.timestamp()
    for a, b in pairwise(rates):
        assert a.start.timestamp() < b.start.timestamp()
        assert a.end.timestamp() <= b.start.timestamp()
        if contiguous:
            assert a.end.timestamp() == b.start.timestamp()


def durations(rates: Sequence[Rate]) -> set[timedelta]:
    return {rate.duration for rate in rates}


# --- integration attribute builders --------------------------------------------------------------


def nordpool_attrs(
    today: date | None,
    tomorrow: date | None,
    *,
    tz: tzinfo = BERLIN,
    step: timedelta = H,
    currency: str = "EUR",
    uom: str | None = "EUR/kWh",
    cents: bool = False,
    unit: str = "kWh",
    scale: float = 0.01,
) -> dict[str, Any]:
    """custom-components/nordpool: raw_today/raw_tomorrow of {start, end, value} datetimes."""

    def raw(day: date | None) -> list[dict[str, Any]]:
        if day is None:
            return []
        return [
            {"start": s, "end": e, "value": round(price_of(i) * scale, 5)}
            for i, (s, e) in enumerate(day_slots(day, tz, step))
        ]

    raw_today, raw_tomorrow = raw(today), raw(tomorrow)
    attrs: dict[str, Any] = {
        "average": 0.25,
        "unit": unit,
        "currency": currency,
        "country": "Germany",
        "region": "DE-LU",
        "low_price": False,
        "today": [r["value"] for r in raw_today],
        "tomorrow": [r["value"] for r in raw_tomorrow],
        "tomorrow_valid": len(raw_tomorrow) >= 23,
        "raw_today": raw_today,
        "raw_tomorrow": raw_tomorrow,
        "current_price": raw_today[0]["value"] if raw_today else None,
        "additional_costs_current_hour": 0.0,
        "price_in_cents": cents,
        "state_class": "total",
        "friendly_name": "Elspot kWh de lu EUR 3 10 0",
    }
    if uom is not None:
        attrs["unit_of_measurement"] = uom
    return attrs


def eds_attrs(
    today: date | None,
    tomorrow: date | None,
    *,
    tz: tzinfo = COPENHAGEN,
    step: timedelta = H,
    cent: bool = False,
    forecast: date | None = None,
) -> dict[str, Any]:
    """MTrab/energidataservice: raw_today/raw_tomorrow of {hour, price}, None when unknown."""
    scale = 100.0 if cent else 1.0

    def raw(day: date | None) -> list[dict[str, Any]] | None:
        if day is None:
            return None
        return [
            {"hour": s, "price": round(price_of(i) / 10 * scale, 3)}
            for i, (s, _) in enumerate(day_slots(day, tz, step))
        ]

    attrs: dict[str, Any] = {
        "current_price": 2.1,
        "unit": "kWh",
        "currency": "DKK",
        "region": "Denmark East of the great belt",
        "region_code": "DK2",
        "tomorrow_valid": tomorrow is not None,
        "next_data_update": "13:22:03",
        "today": [2.1] * 24,
        "tomorrow": None,
        "raw_today": raw(today),
        "raw_tomorrow": raw(tomorrow),
        "today_min": 1.0,
        "use_cent": cent,
        "attribution": "Data sourced from Energi Data Service",
        "unit_of_measurement": "Øre/kWh" if cent else "DKK/kWh",
        "friendly_name": "Energi Data Service",
    }
    if forecast is not None:
        attrs["forecast"] = [
            {"hour": s, "price": 9.99 * scale} for s, _ in day_slots(forecast, tz, H)
        ]
    return attrs


def tibber_points(day: date, tz: tzinfo, step: timedelta = H) -> list[dict[str, Any]]:
    """Tibber API priceInfo points: startsAt as ISO with milliseconds, total = energy + tax."""
    points = []
    for i, (s, _) in enumerate(day_slots(day, tz, step)):
        energy = round(price_of(i) / 100, 4)
        points.append(
            {
                "total": round(energy + 0.12, 4),
                "energy": energy,
                "tax": 0.12,
                "startsAt": s.isoformat(timespec="milliseconds"),
                "level": "NORMAL",
            }
        )
    return points


def epex_attrs(day: date, *, tz: tzinfo = BERLIN, old: bool = False) -> dict[str, Any]:
    """mampfes/ha_epex_spot: data of {start_time, end_time, price_per_kwh} ISO strings."""
    data = []
    for i, (s, e) in enumerate(day_slots(day, tz, Q)):
        eur_per_mwh = price_of(i // 4) * 4
        item: dict[str, Any] = {"start_time": s.isoformat(), "end_time": e.isoformat()}
        if old:  # before 2024-09-17: both per-MWh and ct/kWh
            item["price_eur_per_mwh"] = eur_per_mwh
            item["price_ct_per_kwh"] = round(eur_per_mwh / 10, 4)
        else:
            item["price_per_kwh"] = round(eur_per_mwh / 1000, 6)
        data.append(item)
    if old:
        return {"data": data, "price_eur_per_mwh": data[0]["price_eur_per_mwh"]}
    return {
        "data": data,
        "price_per_kwh": data[0]["price_per_kwh"],
        "unit_of_measurement": "€/kWh",
        "icon": "mdi:currency-eur",
        "friendly_name": "EPEX Spot Data Market Price",
    }


def octopus_attrs(day: date, *, pence: bool = False) -> dict[str, Any]:
    """BottlecapDave/HomeAssistant-OctopusEnergy current-day rates event entity (30 minutes)."""
    rates = []
    for i, (s, e) in enumerate(day_slots(day, LONDON, timedelta(minutes=30))):
        pounds = round(0.12 + 0.01 * (i % 10), 6)
        rates.append(
            {
                "start": s,
                "end": e,
                "value_inc_vat": round(pounds * 100, 4) if pence else pounds,
                "is_capped": False,
                "is_intelligent_adjusted": False,
            }
        )
    return {
        "event_types": ["octopus_energy_electricity_current_day_rates"],
        "event_type": "octopus_energy_electricity_current_day_rates",
        "rates": rates,
        "min_rate": 0.12,
        "max_rate": 0.21,
        "average_rate": 0.165,
        "tariff_code": "E-1R-AGILE-24-10-01-C",
        "mpan": "1000000000000",
        "serial_number": "22L0000000",
        "friendly_name": "Current Day Rates Electricity (22L0000000/1000000000000)",
    }


def generic_today_tomorrow(
    today: date, tomorrow: date | None, tz: tzinfo, *, fmt: Callable[[datetime], Any] = str
) -> dict[str, Any]:
    """ev_smart_charging's generic format: prices_today/prices_tomorrow of {time, price}."""

    def items(day: date | None) -> list[dict[str, Any]]:
        if day is None:
            return []
        return [
            {"time": fmt(s), "price": price_of(i)} for i, (s, _) in enumerate(day_slots(day, tz))
        ]

    return {
        "prices_today": items(today),
        "prices_tomorrow": items(tomorrow),
        "unit_of_measurement": "ct/kWh",
        "friendly_name": "my_price_sensor",
    }


def nordpool_response(day: date, tz: tzinfo, area: str = "SE3") -> dict[str, Any]:
    """nordpool.get_prices_for_date: {area: [{start, end, price €/MWh}]}, UTC ISO, 15 minutes."""
    return {
        area: [
            {
                "start": s.astimezone(UTC).isoformat(),
                "end": e.astimezone(UTC).isoformat(),
                "price": price_of(i // 4) * 3,
            }
            for i, (s, e) in enumerate(day_slots(day, tz, Q))
        ]
    }

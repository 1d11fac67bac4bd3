"""Price rates from the entity of a Home Assistant price integration.

The user picks an entity of a price integration; this module turns its state and attributes into
a list of ``core.tariff.Rate`` s in **the site's currency per kWh**. It is pure Python: the
caller passes the state, the attributes, ``now`` and the site's time zone (used for naive times
and dates). Nothing here imports Home Assistant or reads the clock.

Supported shapes (what each expects, and where the layout was checked):

* ``nordpool`` — custom-components/nordpool (sensor.py ``extra_state_attributes`` and
  const.py at 1eaa249, 2025-12-30): ``raw_today`` / ``raw_tomorrow`` lists of
  ``{start, end, value}`` (datetimes, ``value`` None where the API had no price),
  ``tomorrow_valid``, ``unit`` (the energy unit only: ``kWh``/``MWh``/``Wh``), ``currency``,
  ``price_in_cents`` and ``unit_of_measurement`` such as ``EUR/kWh``, ``c/kWh``, ``Öre/kWh``.
* ``nordpool_core`` — homeassistant/components/nordpool (sensor.py, services.py): the sensors
  carry only the current price (``<currency>/kWh``), no list. Rates come from the action
  ``nordpool.get_prices_for_date``, whose response ``{area: [{start, end, price}]}`` (ISO times,
  price per MWh) :func:`parse_nordpool_response` reads. Recognised by ``platform="nordpool"``
  without raw lists, or by a friendly name starting "Nord Pool" and a ``…/kWh`` unit.
* ``energidataservice`` — MTrab/energidataservice (sensor.py ``_add_raw``, const.py at
  8584122, 2026-08-08): ``raw_today`` / ``raw_tomorrow`` lists of ``{hour, price}`` (no end:
  hourly or 15-minute, taken from the spacing; a list is None when not known), ``forecast``
  (Carnot predictions, same layout, read only with ``include_forecast``), ``tomorrow_valid``,
  ``unit`` (``kWh``…), ``currency``, ``use_cent``, ``unit_of_measurement`` (``DKK/kWh``,
  ``Øre/kWh``).
* ``tibber`` — lists of Tibber API price points ``{startsAt, total, energy, tax, level}`` in
  ``today`` / ``tomorrow`` or ``prices`` / ``data`` (the GraphQL ``priceInfo`` layout, also used
  by jpawlowski/hass.tibber_prices at fa4ceeb). The price is ``total``.
* ``tibber_core`` — homeassistant/components/tibber (coordinator.py ``TibberHomeData``,
  services.py): the price sensor has statistics (``max_price``, ``intraday_price_ranking``, …)
  but no list. Rates come from the action ``tibber.get_prices``, whose response
  ``{"prices": {home: [{start_time, price, level}]}}`` :func:`parse_tibber_response` reads.
  Recognised by ``platform="tibber"`` or the ``intraday_price_ranking`` attribute.
* ``epex_spot`` — mampfes/ha_epex_spot (sensor.py, const.py, localization.py at 886e49e,
  2026-01-29): ``data`` = list of ``{start_time, end_time, price_per_kwh}`` (ISO strings, in
  €/kWh or £/kWh). Before 2024-09-17 (88cb99d) the items had ``price_eur_per_mwh`` /
  ``price_ct_per_kwh`` (GB: ``price_gbp_per_mwh`` / ``price_pence_per_kwh``); on 2025-11-21 for a
  few hours ``net_price_per_kwh``. These keys carry their own unit.
* ``octopus_energy`` — BottlecapDave/HomeAssistant-OctopusEnergy (coordinators/__init__.py
  ``__raise_rate_event``, utils/__init__.py ``private_rates_to_public_rates`` at 4c25c72,
  2026-06-07): event entities (current/previous/next day rates) with ``rates`` = list of
  ``{start, end, value_inc_vat, is_capped, …}`` in £/kWh; releases before 2023-10-30 (439c081)
  gave pence, recognised by the size of the values. Half-hourly slots.
* ``generic`` — what jonasbkarlsson/ev_smart_charging accepts (helpers/price_adaptor.py,
  helpers/raw.py at 0d4411d, 2026-07-06, and its wiki "Price sensor"), which covers Entso-e,
  GE-Spot, TGE and template sensors: list attributes ``prices_today``/``prices_tomorrow``,
  ``raw_today``/``raw_tomorrow``, ``today_interval_prices``/``tomorrow_interval_prices``,
  ``today``/``tomorrow``, or one of ``prices``, ``rates``, ``data``, ``forecast`` — else any
  attribute holding such a list. Items have a start (``start``, ``time``, ``hour``,
  ``start_time``, ``datetime``, ``from``…), optionally an end (``end``, ``end_time``, ``stop``,
  ``to``…) or a ``duration``, and a price (``price``, ``value``, …). A list may also come as a
  JSON string (template sensors) or as a mapping ``{time: price}``.

Times may be datetimes, ISO strings with or without offset (naive ones are local to ``tz``; a
repeated naive hour on the autumn DST change is read as the second one), dates, or epoch seconds.
A slot without an end lasts until the next slot, at most the list's usual spacing. Every
comparison is done on absolute instants, so 23- and 25-hour days need no special case. Rates
that ended before today (in ``tz``) are dropped; missing tomorrow prices are normal.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from enum import StrEnum
from itertools import pairwise
from statistics import median
from typing import Any, Final, Literal

from ..core.tariff import Rate

__all__ = [
    "PriceParse",
    "PriceParseError",
    "PriceShape",
    "PriceSummary",
    "PriceUnit",
    "PriceWarning",
    "UnitSource",
    "combine_parses",
    "detect_shape",
    "parse_nordpool_response",
    "parse_prices",
    "parse_tibber_response",
    "parse_unit",
    "summary",
]


class PriceShape(StrEnum):
    """The attribute layout (source format) of a price entity."""

    NORDPOOL = "nordpool"
    NORDPOOL_CORE = "nordpool_core"
    ENERGI_DATA_SERVICE = "energidataservice"
    TIBBER = "tibber"
    TIBBER_CORE = "tibber_core"
    EPEX_SPOT = "epex_spot"
    OCTOPUS = "octopus_energy"
    GENERIC = "generic"


#: Where the unit applied came from: the caller's ``unit_hint``, the item's price key (EPEX
#: ``price_ct_per_kwh``), the entity's attributes, the shape's documented unit, or assumed.
UnitSource = Literal["hint", "key", "attribute", "shape", "assumed"]


@dataclass(frozen=True, slots=True)
class PriceUnit:
    """A price unit: ``value * factor`` is the price in ``currency`` per kWh."""

    text: str
    factor: float
    currency: str | None = None


@dataclass(frozen=True, slots=True)
class PriceWarning:
    """Something odd that did not stop the parse; ``code`` is stable, ``message`` is for people."""

    code: str
    message: str


@dataclass(frozen=True, slots=True)
class PriceParse:
    """The result of reading a price entity (or an action response).

    ``rates`` are sorted, non-overlapping, in currency per kWh and in the site's zone. ``unit`` is
    the source's unit as found (None when assumed) and ``factor`` what turned its values into
    currency per kWh. ``attributes_read`` names the lists read; ``forecast_count`` counts the
    rates that came from a forecast (Energi Data Service with ``include_forecast``).
    """

    rates: tuple[Rate, ...]
    shape: PriceShape
    unit: str | None
    factor: float
    currency: str | None
    unit_source: UnitSource
    warnings: tuple[PriceWarning, ...] = ()
    attributes_read: tuple[str, ...] = ()
    forecast_count: int = 0


class PriceParseError(Exception):
    """The entity has no usable prices. ``code`` is machine-readable, ``message`` short English.

    Codes: ``unavailable``, ``unknown_shape``, ``no_prices``, ``bad_values``, ``stale_prices``,
    ``action_required``, ``bad_unit``, ``unknown_area``, ``ambiguous_area``, ``bad_response``.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def __repr__(self) -> str:
        return f"PriceParseError({self.code!r}, {self.message!r})"


@dataclass(frozen=True, slots=True)
class PriceSummary:
    """What a config form shows about a parse: counts, range and the next few rates."""

    count: int
    first_start: datetime | None
    last_end: datetime | None
    current: Rate | None
    next_rates: tuple[Rate, ...]
    min_price: float | None
    max_price: float | None
    unit: str | None
    currency: str | None
    shape: PriceShape
    warnings: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (ISO times) for form placeholders, diagnostics and logs."""

        def rate(r: Rate) -> dict[str, Any]:
            return {"start": r.start.isoformat(), "end": r.end.isoformat(), "price": r.price}

        return {
            "count": self.count,
            "first_start": self.first_start.isoformat() if self.first_start else None,
            "last_end": self.last_end.isoformat() if self.last_end else None,
            "current": rate(self.current) if self.current else None,
            "next_rates": [rate(r) for r in self.next_rates],
            "min_price": self.min_price,
            "max_price": self.max_price,
            "unit": self.unit,
            "currency": self.currency,
            "shape": str(self.shape),
            "warnings": list(self.warnings),
        }


# --- units ---------------------------------------------------------------------------------------

# Subunits are a hundredth of the main unit; the currency is a guess where the subunit is shared.
_SUBUNITS: Final[dict[str, str | None]] = {
    "ct": "EUR",
    "c": "EUR",
    "cent": "EUR",
    "cents": "EUR",
    "eurocent": "EUR",
    "¢": "USD",
    "öre": "SEK",
    "øre": None,  # DKK or NOK
    "ore": None,
    "p": "GBP",
    "pence": "GBP",
    "penny": "GBP",
    "gr": "PLN",
    "rp": "CHF",
}
_SYMBOLS: Final[dict[str, str | None]] = {
    "€": "EUR",
    "£": "GBP",
    "$": "USD",
    "kr": None,  # SEK, NOK or DKK
    "zł": "PLN",
    "zl": "PLN",
    "fr": "CHF",
}
_ENERGY: Final[dict[str, float]] = {"kwh": 1.0, "mwh": 0.001, "wh": 1000.0}
_CURRENCY_CODE: Final = re.compile(r"^[a-z]{3}$")


def _money(token: str) -> tuple[float, str | None, bool] | None:
    """``(factor to the main unit, ISO code or None, code named explicitly)`` of ``öre``, ``EUR``."""
    key = token.strip().lower().rstrip(".")
    if key in _SUBUNITS:
        return 0.01, _SUBUNITS[key], False
    if key in _SYMBOLS:
        return 1.0, _SYMBOLS[key], False
    if _CURRENCY_CODE.match(key):
        return 1.0, key.upper(), True
    return None


def _energy(token: str) -> float | None:
    return _ENERGY.get(token.strip().lower().replace(" ", ""))


def parse_unit(text: Any, *, currency: str | None = None) -> PriceUnit | None:
    """Read a price unit such as ``EUR/kWh``, ``ct/kWh``, ``öre/kWh``, ``€/MWh``, ``p/kWh``.

    ``currency`` (e.g. the entity's ``currency`` attribute) names the currency of a symbol or
    subunit (``kr``, ``øre``, ``c``); an ISO code in the unit itself wins. None when ``text`` is
    not a price-per-energy unit.
    """
    if not isinstance(text, str):
        return None
    parts = re.split(r"\s*/\s*|\s+per\s+", text.strip(), maxsplit=1)
    if len(parts) != 2:
        return None
    money = _money(parts[0])
    energy = _energy(parts[1])
    if money is None or energy is None:
        return None
    factor, code, explicit = money
    if not explicit and isinstance(currency, str) and _CURRENCY_CODE.match(currency.lower()):
        code = currency.upper()
    return PriceUnit(text.strip(), factor * energy, code)


def _entity_unit(attributes: Mapping[str, Any]) -> tuple[PriceUnit | None, list[PriceWarning]]:
    """The unit an entity states: ``unit_of_measurement``, else ``currency`` + ``unit`` + cents."""
    warnings: list[PriceWarning] = []
    currency_attr = attributes.get("currency")
    currency = currency_attr if isinstance(currency_attr, str) else None
    cents_flag = _true_flag(attributes.get("price_in_cents"), attributes.get("use_cent"))
    from_uom = parse_unit(attributes.get("unit_of_measurement"), currency=currency)
    if from_uom is not None:
        if cents_flag is not None and _is_subunit(from_uom.text) != cents_flag:
            warnings.append(
                PriceWarning(
                    "unit_conflict",
                    f"The unit {from_uom.text!r} and the cents setting disagree; using the unit.",
                )
            )
        return from_uom, warnings
    energy_attr = attributes.get("unit")
    energy = _energy(energy_attr) if isinstance(energy_attr, str) else None
    if currency is None and cents_flag is None and energy is None:
        return None, warnings
    money_factor = 0.01 if cents_flag else 1.0
    energy_name = energy_attr if energy is not None and isinstance(energy_attr, str) else "kWh"
    money_name = f"{currency or 'currency'} cents" if cents_flag else currency or "currency"
    code = currency.upper() if currency and _CURRENCY_CODE.match(currency.lower()) else None
    return PriceUnit(f"{money_name}/{energy_name}", money_factor * (energy or 1.0), code), warnings


def _is_subunit(text: str) -> bool:
    parts = re.split(r"\s*/\s*|\s+per\s+", text, maxsplit=1)
    return parts[0].strip().lower().rstrip(".") in _SUBUNITS


def _true_flag(*values: Any) -> bool | None:
    """The first boolean among ``values`` (``price_in_cents`` / ``use_cent``), else None."""
    for value in values:
        if isinstance(value, bool):
            return value
    return None


# Price keys that carry their own unit (EPEX Spot before 2024-09 and GB variants).
_KEYED_UNITS: Final[dict[str, PriceUnit]] = {
    "price_ct_per_kwh": PriceUnit("ct/kWh", 0.01, "EUR"),
    "price_eur_per_mwh": PriceUnit("EUR/MWh", 0.001, "EUR"),
    "price_pence_per_kwh": PriceUnit("p/kWh", 0.01, "GBP"),
    "price_gbp_per_mwh": PriceUnit("GBP/MWh", 0.001, "GBP"),
}

# Item keys, most specific first.
_START_KEYS: Final = (
    "start",
    "start_time",
    "startsAt",
    "starts_at",
    "time",
    "hour",
    "datetime",
    "from",
    "valid_from",
    "period_start",
    "date",
)
_END_KEYS: Final = (
    "end",
    "end_time",
    "endsAt",
    "ends_at",
    "stop",
    "to",
    "valid_to",
    "till",
    "until",
    "period_end",
)
_DURATION_KEYS: Final = ("duration", "duration_minutes")
_PRICE_KEYS: Final = (
    "price_per_kwh",
    "net_price_per_kwh",
    "total",
    "value_inc_vat",
    "price",
    "value",
    "price_ct_per_kwh",
    "price_pence_per_kwh",
    "price_eur_per_mwh",
    "price_gbp_per_mwh",
    "electricity_price",
    "value_exc_vat",
)
_EPEX_KEYS: Final = (
    "price_per_kwh",
    "net_price_per_kwh",
    "price_ct_per_kwh",
    "price_eur_per_mwh",
    "price_pence_per_kwh",
    "price_gbp_per_mwh",
)
_PAIRS: Final = (
    ("prices_today", "prices_tomorrow"),
    ("raw_today", "raw_tomorrow"),
    ("today_interval_prices", "tomorrow_interval_prices"),
    ("today", "tomorrow"),
)
_SINGLES: Final = ("prices", "rates", "data", "forecast")
_UNAVAILABLE: Final = frozenset({"unavailable", "unknown", "none", ""})


# --- attribute access ----------------------------------------------------------------------------


def _as_items(value: Any) -> list[Any] | None:
    """A list attribute as a list: lists, JSON strings, ``{time: price}`` mappings; None if none.

    ``None`` (and an empty or "None" string) is an empty list: integrations set the tomorrow list
    to None until the prices are published.
    """
    if value is None:
        return []
    if isinstance(value, str):
        text = value.strip()
        if text.lower() in _UNAVAILABLE or text == "[]":
            return []
        if text[0] not in "[{":
            return None
        try:
            value = json.loads(text)
        except (ValueError, RecursionError):
            return None
    if isinstance(value, Mapping):
        # ``{time: price}``: only when every key reads as a time and no value is a container.
        if (
            value
            and all(_instant(k, UTC) is not None for k in value)
            and not any(isinstance(v, Mapping | list) for v in value.values())
        ):
            return [{"start": k, "price": v} for k, v in value.items()]
        return None
    if isinstance(value, list | tuple):
        return list(value)
    return None


def _first_mapping(items: Sequence[Any] | None) -> Mapping[str, Any] | None:
    for item in items or ():
        if isinstance(item, Mapping):
            return item
    return None


def _is_slot_list(items: Sequence[Any] | None) -> bool:
    """True when the list's first mapping has a start key and a price key."""
    first = _first_mapping(items)
    return (
        first is not None
        and any(k in first for k in _START_KEYS)
        and any(k in first for k in _PRICE_KEYS)
    )


def _attr_items(attributes: Mapping[str, Any], name: str) -> list[Any] | None:
    return _as_items(attributes[name]) if name in attributes else None


def _is_unavailable(state: Any) -> bool:
    """``unavailable`` (or no state at all); ``unknown`` only means no current price yet."""
    return not isinstance(state, str) or state.strip().lower() in ("unavailable", "")


# --- shape detection -----------------------------------------------------------------------------


def detect_shape(
    state: str, attributes: Mapping[str, Any], *, platform: str | None = None
) -> PriceShape | None:
    """Name the layout of a price entity, or None when it is none we know.

    ``platform`` (the entity's integration domain, when the caller knows it) settles what the
    attributes cannot: a core Nord Pool or Tibber sensor has no price list at all.
    """
    del state  # the state is the current price; the layout lives in the attributes
    attrs: Mapping[str, Any] = attributes if isinstance(attributes, Mapping) else {}
    domain = (platform or "").strip().lower()

    raw = [_attr_items(attrs, "raw_today"), _attr_items(attrs, "raw_tomorrow")]
    if any(items is not None for items in raw):
        first = _first_mapping(raw[0]) or _first_mapping(raw[1])
        if "price_in_cents" in attrs or domain == "nordpool" or (first and "value" in first):
            return PriceShape.NORDPOOL
        if "use_cent" in attrs or domain == "energidataservice" or (first and "hour" in first):
            return PriceShape.ENERGI_DATA_SERVICE

    data = _attr_items(attrs, "data")
    first_data = _first_mapping(data)
    if (
        first_data is not None
        and "start_time" in first_data
        and any(k in first_data for k in _EPEX_KEYS)
    ):
        return PriceShape.EPEX_SPOT
    if domain == "epex_spot" and data is not None:
        return PriceShape.EPEX_SPOT

    first_rate = _first_mapping(_attr_items(attrs, "rates"))
    event_type = attrs.get("event_type")
    if (first_rate is not None and "value_inc_vat" in first_rate) or (
        isinstance(event_type, str) and event_type.startswith("octopus_energy_")
    ):
        return PriceShape.OCTOPUS

    for name in ("today", "tomorrow", "prices", "data"):
        first = _first_mapping(_attr_items(attrs, name))
        if first is not None and "startsAt" in first:
            return PriceShape.TIBBER

    if _generic_sources(attrs):
        return PriceShape.GENERIC

    if domain == "nordpool" or (
        str(attrs.get("friendly_name", "")).startswith("Nord Pool")
        and str(attrs.get("unit_of_measurement", "")).endswith("/kWh")
    ):
        return PriceShape.NORDPOOL_CORE
    if domain == "tibber" or "intraday_price_ranking" in attrs:
        return PriceShape.TIBBER_CORE
    return None


@dataclass(frozen=True, slots=True)
class _Source:
    name: str
    items: list[Any]
    forecast: bool = False


def _generic_sources(attrs: Mapping[str, Any]) -> list[_Source]:
    """The lists a generic price entity holds: a today/tomorrow pair, one list, or any list."""
    for today, tomorrow in _PAIRS:
        today_items = _attr_items(attrs, today)
        tomorrow_items = _attr_items(attrs, tomorrow)
        lists = [(today, today_items), (tomorrow, tomorrow_items)]
        if any(_is_slot_list(items) for _, items in lists) or (
            # an empty pair still names the layout, except today/tomorrow (Nord Pool floats)
            today != "today" and today_items is not None and not today_items
        ):
            return [_Source(name, items) for name, items in lists if items is not None]
    for name in _SINGLES:
        items = _attr_items(attrs, name)
        if _is_slot_list(items) or (items is not None and not items and name in attrs):
            return [_Source(name, items or [])]
    for name in attrs:
        items = _attr_items(attrs, name)
        if _is_slot_list(items):
            return [_Source(str(name), items or [])]
    return []


def _sources(shape: PriceShape, attrs: Mapping[str, Any], include_forecast: bool) -> list[_Source]:
    def named(*names: str) -> list[_Source]:
        found = ((name, _attr_items(attrs, name)) for name in names)
        return [_Source(name, items) for name, items in found if items is not None]

    match shape:
        case PriceShape.NORDPOOL:
            return named("raw_today", "raw_tomorrow")
        case PriceShape.ENERGI_DATA_SERVICE:
            sources = named("raw_today", "raw_tomorrow")
            if include_forecast:
                sources += [_Source(s.name, s.items, forecast=True) for s in named("forecast")]
            return sources
        case PriceShape.EPEX_SPOT:
            return named("data")
        case PriceShape.OCTOPUS:
            return named("rates")
        case PriceShape.TIBBER:
            pair = [s for s in named("today", "tomorrow") if _first_mapping(s.items) or not s.items]
            if any(s.items for s in pair):
                return pair
            return [s for s in named("prices", "data") if _is_slot_list(s.items)] or pair
        case _:
            return _generic_sources(attrs)


# --- values --------------------------------------------------------------------------------------


def _number(value: Any) -> float | None:
    """A finite float from a number or numeric string (``"0,123"`` too), else None."""
    if isinstance(value, bool):
        return None
    try:
        if isinstance(value, int | float):
            result = float(value)
        elif isinstance(value, str):
            text = value.strip()
            if "," in text and "." not in text:
                text = text.replace(",", ".")
            result = float(text)
        else:
            return None
    except (ValueError, OverflowError):  # "unavailable", or an int too big for a float
        return None
    return result if math.isfinite(result) else None


_MIN_YEAR: Final = 1971
_MAX_YEAR: Final = 2200


def _instant(value: Any, tz: tzinfo) -> tuple[datetime, bool] | None:
    """``(aware datetime, was naive)`` from a datetime, ISO string, date or epoch; else None."""
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, date):
        parsed = datetime.combine(value, time())
    elif isinstance(value, str):
        text = value.strip()
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            return None
    elif isinstance(value, int | float) and not isinstance(value, bool):
        # Epoch seconds or milliseconds; small numbers (an hour index 0..23) are no instant.
        seconds = _number(value)
        if seconds is None or abs(seconds) < 1e8:
            return None
        if abs(seconds) > 1e11:
            seconds /= 1000
        try:
            return datetime.fromtimestamp(seconds, UTC), False
        except (OverflowError, OSError, ValueError):
            return None
    else:
        return None
    if not _MIN_YEAR <= parsed.year <= _MAX_YEAR:
        return None  # far outside any price list, and near datetime's limits arithmetic fails
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        return parsed.replace(tzinfo=tz), True
    return parsed, False


_MAX_DURATION: Final = timedelta(days=7)
_ISO_DURATION: Final = re.compile(r"^P(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+)S)?)$")
_CLOCK_DURATION: Final = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?$")


def _duration(value: Any) -> timedelta | None:
    """A duration of up to a week: timedelta, minutes (number), ``PT15M`` or ``HH:MM[:SS]``."""
    result: timedelta | None = None
    try:
        if isinstance(value, timedelta):
            result = value
        elif isinstance(value, str) and (m := _ISO_DURATION.match(value.strip().upper())):
            hours, minutes, seconds = (float(g) if g else 0.0 for g in m.groups())
            result = timedelta(hours=hours, minutes=minutes, seconds=seconds)
        elif isinstance(value, str) and (m := _CLOCK_DURATION.match(value.strip())):
            result = timedelta(hours=int(m[1]), minutes=int(m[2]), seconds=int(m[3] or 0))
        elif (count := _number(value)) is not None:
            result = timedelta(minutes=count)
    except OverflowError:
        return None
    if result is None or not timedelta(0) < result <= _MAX_DURATION:
        return None
    return result


# --- slot reading --------------------------------------------------------------------------------


@dataclass(slots=True)
class _Slot:
    start: datetime
    end: datetime | None
    end_naive: bool
    value: float
    unit: PriceUnit | None  # a unit the price key implies
    forecast: bool
    order: int


class _Issues:
    """Counts skipped or repaired slots per reason, so 96 bad slots give one warning."""

    def __init__(self) -> None:
        self._counts: dict[str, list[Any]] = {}
        self.extra: list[PriceWarning] = []

    def add(self, code: str, example: str) -> None:
        entry = self._counts.setdefault(code, [0, example])
        entry[0] += 1

    def warnings(self) -> list[PriceWarning]:
        texts = {
            "not_a_slot": "{n} item(s) skipped: not a price slot (first: {ex})",
            "bad_time": "{n} slot(s) skipped: start time missing or not a time (first: {ex})",
            "bad_price": "{n} slot(s) skipped: price missing or not a number (first: {ex})",
            "empty_slot": "{n} slot(s) skipped: slot ends before it starts (first: {ex})",
            "duplicate": "{n} duplicate slot(s) with another price dropped (first at {ex})",
            "overlap": "{n} overlapping slot(s) shortened (first at {ex})",
            "bad_end": "{n} slot(s) with an end that is not a time; ended them at the next slot "
            "(first: {ex})",
            "unsorted": "Slots were not sorted by time; sorted them ({ex}).",
        }
        found = [
            PriceWarning(code, texts[code].format(n=n, ex=ex))
            for code, (n, ex) in self._counts.items()
        ]
        return found + self.extra


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _pick(item: Mapping[str, Any], keys: Iterable[str]) -> tuple[str, Any] | None:
    for key in keys:
        if key in item and item[key] is not None:
            return key, item[key]
    return None


def _read_source(source: _Source, tz: tzinfo, issues: _Issues, order_start: int) -> list[_Slot]:
    slots: list[_Slot] = []
    previous: datetime | None = None
    unsorted = False
    for index, item in enumerate(source.items):
        where = f"{source.name}[{index}]"
        if not isinstance(item, Mapping):
            issues.add("not_a_slot", f"{where}: {_short(item)}")
            continue
        start_raw = _pick(item, _START_KEYS)
        start = _instant(start_raw[1], tz) if start_raw else None
        if start is None:
            issues.add("bad_time", f"{where}: {_short(start_raw[1] if start_raw else None)}")
            continue
        start_at, naive = start
        if naive and previous is not None and start_at.timestamp() <= previous.timestamp():
            # A naive list repeats 02:00 on the autumn change: the second one is the later hour.
            later = start_at.replace(fold=1)
            if later.timestamp() > previous.timestamp():
                start_at = later
        price_raw = _pick(item, _PRICE_KEYS)
        value = _number(price_raw[1]) if price_raw else None
        if value is None or price_raw is None:
            issues.add("bad_price", f"{where}: {_short(price_raw[1] if price_raw else None)}")
            continue
        end_at: datetime | None = None
        end_naive = False
        end_raw = _pick(item, _END_KEYS)
        if end_raw is not None and (end := _instant(end_raw[1], tz)) is not None:
            end_at, end_naive = end
            if end_naive and end_at.timestamp() <= start_at.timestamp():
                end_at = end_at.replace(fold=1)
        elif end_raw is not None:
            issues.add("bad_end", f"{where}: {_short(end_raw[1])}")
        elif (duration_raw := _pick(item, _DURATION_KEYS)) is not None and (
            length := _duration(duration_raw[1])
        ) is not None:
            end_at = datetime.fromtimestamp(start_at.timestamp(), UTC) + length
        if end_at is not None and end_at.timestamp() <= start_at.timestamp():
            issues.add("empty_slot", f"{where}: {start_at.isoformat()}")
            continue
        if previous is not None and start_at.timestamp() < previous.timestamp():
            unsorted = True
        previous = start_at
        slots.append(
            _Slot(
                start=start_at,
                end=end_at,
                end_naive=end_naive,
                value=value,
                unit=_KEYED_UNITS.get(price_raw[0]),
                forecast=source.forecast,
                order=order_start + index,
            )
        )
    if unsorted:
        issues.add("unsorted", source.name)
    return slots


def _fill_ends(slots: list[_Slot], issues: _Issues) -> None:
    """Give every slot an end: the next slot's start, at most the list's usual spacing."""
    ordered = sorted(slots, key=lambda s: (s.start.timestamp(), s.order))
    starts = sorted({s.start.timestamp() for s in ordered})
    steps = Counter(b - a for a, b in pairwise(starts) if b > a)
    if steps:
        # The most common spacing; on a tie the shorter one (a gap is the rarer case).
        step = min(steps.items(), key=lambda kv: (-kv[1], kv[0]))[0]
    else:
        step = 3600.0 if ordered and ordered[0].start.minute == 0 else 900.0
        if any(s.end is None for s in ordered):
            issues.extra.append(
                PriceWarning(
                    "duration_assumed",
                    f"Only one slot and no end given; assuming {int(step // 60)} minutes.",
                )
            )
    next_start: dict[float, float] = {a: b for a, b in pairwise(starts)}
    for slot in ordered:
        ts = slot.start.timestamp()
        following = next_start.get(ts)
        if slot.end is None:
            span = following - ts if following is not None and following - ts <= step else step
            slot.end = datetime.fromtimestamp(ts + span, UTC)
        elif slot.end_naive and following is not None and slot.end.timestamp() > following:
            # A naive end on a DST change may read an hour long; the next slot knows better.
            slot.end = datetime.fromtimestamp(following, UTC)


def _merge(items: list[tuple[Rate, bool, int]], issues: _Issues) -> list[tuple[Rate, bool]]:
    """Sort and make non-overlapping: drop duplicates, shorten overlaps, forecasts yield.

    ``items`` are ``(rate, is forecast, input order)``; the result keeps the forecast flag.
    """
    ordered = sorted(items, key=lambda x: (x[0].start.timestamp(), x[1], x[2]))
    result: list[tuple[Rate, bool]] = []
    for rate, forecast, _ in ordered:
        if not result or rate.start.timestamp() >= result[-1][0].end.timestamp():
            result.append((rate, forecast))
            continue
        previous, previous_forecast = result[-1]
        if forecast:
            continue  # a forecast never overrides known prices
        if rate.start.timestamp() == previous.start.timestamp():
            if not math.isclose(rate.price, previous.price, rel_tol=1e-9, abs_tol=1e-12):
                issues.add("duplicate", rate.start.isoformat())
            continue
        if not previous_forecast:
            issues.add("overlap", rate.start.isoformat())
        result[-1] = (Rate(previous.start, rate.start, previous.price), previous_forecast)
        result.append((rate, forecast))
    return result


# --- building a parse ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _UnitChoice:
    unit: PriceUnit | None
    source: UnitSource


def _build(
    shape: PriceShape,
    sources: list[_Source],
    *,
    now: datetime,
    tz: tzinfo,
    default: _UnitChoice,
    site_currency: str | None,
    state: Any = None,
    state_unit: PriceUnit | None = None,
    extra_warnings: Sequence[PriceWarning] = (),
) -> PriceParse:
    now = _aware(now, tz)
    issues = _Issues()
    issues.extra.extend(extra_warnings)
    slots: list[_Slot] = []
    offset = 0  # slot order across lists, so that equal starts keep the input order
    for source in sources:
        slots += _read_source(source, tz, issues, order_start=offset)
        offset += len(source.items)
    if not slots:
        if not any(source.items for source in sources):
            raise PriceParseError("no_prices", "The entity has no price list yet.")
        first = issues.warnings()[0].message if issues.warnings() else "no slot could be read"
        raise PriceParseError("bad_values", f"No usable price slot: {first}.")

    _fill_ends([s for s in slots if not s.forecast], issues)
    _fill_ends([s for s in slots if s.forecast], issues)

    choice = default
    plain = [abs(s.value) for s in slots if s.unit is None]
    # Octopus releases before 2023-10-30 gave pence; no UK tariff is over £2/kWh.
    if shape is PriceShape.OCTOPUS and choice.source == "shape" and plain and median(plain) > 2:
        choice = _UnitChoice(PriceUnit("p/kWh", 0.01, "GBP"), "shape")
        issues.extra.append(
            PriceWarning("unit_guessed", "The rates look like pence per kWh; converted to £/kWh.")
        )
    if choice.unit is None and plain:  # slots whose price key names no unit either
        assumed = f"{site_currency}/kWh" if site_currency else "currency per kWh"
        message = f"The unit was not found; assuming {assumed}."
        if plain and median(plain) > 5:
            message += " The values look like ct/kWh or per MWh; set the unit."
        issues.extra.append(PriceWarning("unit_assumed", message))

    assumed_unit = PriceUnit(f"{site_currency}/kWh" if site_currency else "per kWh", 1.0)
    units_used: Counter[tuple[PriceUnit, UnitSource]] = Counter()
    built: list[tuple[Rate, bool, int]] = []
    for slot in slots:
        unit_source: UnitSource
        if slot.unit is not None:
            unit, unit_source = slot.unit, "key"
        elif choice.unit is not None:
            unit, unit_source = choice.unit, choice.source
        else:
            unit, unit_source = assumed_unit, "assumed"
        units_used[(unit, unit_source)] += 1
        assert slot.end is not None  # _fill_ends gave every slot one
        rate = Rate(slot.start.astimezone(tz), slot.end.astimezone(tz), slot.value * unit.factor)
        built.append((rate, slot.forecast, slot.order))

    merged = _merge(built, issues)
    today_start = datetime.combine(now.astimezone(tz).date(), time(), tzinfo=tz).timestamp()
    kept = [(r, forecast) for r, forecast in merged if r.end.timestamp() > today_start]
    rates = tuple(r for r, _ in kept)
    if not any(r.end.timestamp() > now.timestamp() for r in rates):
        last = merged[-1][0].end.astimezone(tz).isoformat() if merged else "?"
        raise PriceParseError(
            "stale_prices", f"The prices end in the past (last slot ends {last})."
        )

    (used, used_source), _ = units_used.most_common(1)[0]
    currency = used.currency
    if site_currency and currency and currency.upper() != site_currency.upper():
        issues.extra.append(
            PriceWarning(
                "currency_mismatch",
                f"The prices are in {currency}, the site uses {site_currency.upper()}.",
            )
        )
    mismatch = _state_mismatch(state, state_unit or choice.unit, rates, now)
    if mismatch:
        issues.extra.append(mismatch)
    return PriceParse(
        rates=rates,
        shape=shape,
        unit=used.text if used_source != "assumed" else None,
        factor=used.factor,
        currency=currency or site_currency,
        unit_source=used_source,
        warnings=tuple(issues.warnings()),
        attributes_read=tuple(s.name for s in sources),
        forecast_count=sum(1 for _, forecast in kept if forecast),
    )


def _state_mismatch(
    state: Any, unit: PriceUnit | None, rates: Sequence[Rate], now: datetime
) -> PriceWarning | None:
    """Warn when the state (the current price) is far off the current slot: a unit mix-up."""
    value = _number(state)
    current = next((r for r in rates if r.contains(now)), None)
    if value is None or current is None:
        return None
    state_price = value * (unit.factor if unit else 1.0)
    if abs(state_price) < 1e-3 or abs(current.price) < 1e-3:
        return None
    ratio = abs(state_price / current.price)
    if 1 / 20 <= ratio <= 20:
        return None
    return PriceWarning(
        "state_mismatch",
        f"The entity's state ({state}) is far from the current slot's price "
        f"({current.price:.4g} per kWh); check the unit.",
    )


def _aware(value: datetime, tz: tzinfo) -> datetime:
    return value.replace(tzinfo=tz) if value.tzinfo is None or value.utcoffset() is None else value


def _site_currency(currency: str | None) -> str | None:
    return currency.strip().upper() if isinstance(currency, str) and currency.strip() else None


def _hint(unit_hint: str | None, site_currency: str | None) -> PriceUnit | None:
    if unit_hint is None or (isinstance(unit_hint, str) and not unit_hint.strip()):
        return None
    parsed = parse_unit(unit_hint, currency=site_currency)
    if parsed is None:
        raise PriceParseError("bad_unit", f"Unknown price unit {unit_hint!r}; use e.g. ct/kWh.")
    return parsed


# --- public entry points -------------------------------------------------------------------------


def parse_prices(
    state: str,
    attributes: Mapping[str, Any],
    *,
    now: datetime,
    tz: tzinfo,
    unit_hint: str | None = None,
    currency: str | None = None,
    platform: str | None = None,
    include_forecast: bool = False,
) -> PriceParse:
    """Read the rates of a price entity, in currency per kWh.

    ``unit_hint`` (e.g. ``"ct/kWh"``) overrides the entity's unit (not a unit the price key
    names); ``currency`` is the site's currency (ISO code), used for a mismatch warning and for
    units that leave it open; ``platform`` is the entity's integration domain if known;
    ``include_forecast`` adds Energi Data Service's ``forecast`` after the known prices.

    Rates that ended before today (in ``tz``) are dropped. Raises :class:`PriceParseError`
    when no usable price remains.
    """
    attrs: Mapping[str, Any] = attributes if isinstance(attributes, Mapping) else {}
    site_currency = _site_currency(currency)
    shape = detect_shape(state, attrs, platform=platform)
    if shape in (None, PriceShape.NORDPOOL_CORE, PriceShape.TIBBER_CORE) and _is_unavailable(state):
        # Home Assistant drops the attributes of an unavailable entity: nothing to tell apart.
        raise PriceParseError("unavailable", "The price entity is unavailable.")
    if shape is None:
        raise PriceParseError("unknown_shape", "The entity has no price list evcc_ha can read.")
    if shape is PriceShape.NORDPOOL_CORE:
        raise PriceParseError(
            "action_required",
            "Nord Pool sensors hold only the current price; "
            "the prices come from the action nordpool.get_prices_for_date.",
        )
    if shape is PriceShape.TIBBER_CORE:
        raise PriceParseError(
            "action_required",
            "The Tibber price sensor holds no price list; "
            "the prices come from the action tibber.get_prices.",
        )
    sources = _sources(shape, attrs, include_forecast)
    if not any(source.items for source in sources) and _is_unavailable(state):
        raise PriceParseError("unavailable", "The price entity is unavailable.")

    hint = _hint(unit_hint, site_currency)
    entity_unit, unit_warnings = _entity_unit(attrs)
    if hint is not None:
        default = _UnitChoice(hint, "hint")
    elif entity_unit is not None:
        default = _UnitChoice(entity_unit, "attribute")
    elif shape is PriceShape.OCTOPUS:
        default = _UnitChoice(PriceUnit("GBP/kWh", 1.0, "GBP"), "shape")
    else:
        default = _UnitChoice(None, "assumed")
    return _build(
        shape,
        sources,
        now=now,
        tz=tz,
        default=default,
        site_currency=site_currency,
        state=state,
        state_unit=hint or entity_unit,
        extra_warnings=unit_warnings,
    )


def _responses(response: Any) -> list[Mapping[str, Any]] | None:
    if isinstance(response, Mapping):
        return [response]
    if isinstance(response, list | tuple) and all(isinstance(r, Mapping) for r in response):
        return list(response)
    return None


def parse_nordpool_response(
    response: Mapping[str, Any] | Sequence[Mapping[str, Any]],
    *,
    now: datetime,
    tz: tzinfo,
    area: str | None = None,
    currency: str | None = None,
) -> PriceParse:
    """Read the response(s) of ``nordpool.get_prices_for_date`` (core integration).

    The response is ``{area: [{"start": iso, "end": iso, "price": per MWh}]}``; pass one per
    asked date (today, tomorrow) as a list. ``area`` picks one when the entry has several;
    ``currency`` is the entry's currency (prices are in it per MWh).
    """
    responses = _responses(response)
    if responses is None:
        raise PriceParseError("bad_response", "The Nord Pool response is not a mapping.")
    areas = {str(key).upper() for r in responses for key in r}
    if area is None:
        if len(areas) > 1:
            raise PriceParseError(
                "ambiguous_area", f"The response has several areas ({', '.join(sorted(areas))})."
            )
        wanted = next(iter(areas), None)
    else:
        wanted = area.strip().upper()
        if wanted not in areas:
            raise PriceParseError("unknown_area", f"The response has no prices for {area}.")
    sources: list[_Source] = []
    for index, r in enumerate(responses):
        for key, value in r.items():
            if str(key).upper() == wanted:
                items = _as_items(value)
                if items is None:
                    raise PriceParseError("bad_response", f"Prices for {key} are not a list.")
                sources.append(_Source(f"{key}#{index}" if len(responses) > 1 else str(key), items))
    code = _site_currency(currency)
    unit = PriceUnit(f"{code}/MWh" if code else "per MWh", 0.001, code)
    return _build(
        PriceShape.NORDPOOL_CORE,
        sources,
        now=now,
        tz=tz,
        default=_UnitChoice(unit, "shape"),
        site_currency=code,
    )


def parse_tibber_response(
    response: Mapping[str, Any],
    *,
    now: datetime,
    tz: tzinfo,
    home: str | None = None,
    currency: str | None = None,
) -> PriceParse:
    """Read the response of ``tibber.get_prices`` (core integration).

    The response is ``{"prices": {home: [{"start_time": iso, "price": per kWh, "level": …}]}}``;
    ``home`` (the home's nickname) picks one when the account has several.
    """
    if not isinstance(response, Mapping):
        raise PriceParseError("bad_response", "The Tibber response is not a mapping.")
    homes = response.get("prices", response)
    if not isinstance(homes, Mapping):
        raise PriceParseError("bad_response", "The Tibber response has no prices.")
    if home is None:
        if len(homes) > 1:
            names = ", ".join(sorted(str(k) for k in homes))
            raise PriceParseError("ambiguous_area", f"The response has several homes ({names}).")
        key = next(iter(homes), None)
    else:
        key = home if home in homes else None
        if key is None:
            raise PriceParseError("unknown_area", f"The response has no prices for {home}.")
    items = _as_items(homes[key]) if key is not None else []
    if items is None:
        raise PriceParseError("bad_response", f"Prices for {key} are not a list.")
    code = _site_currency(currency)
    unit = PriceUnit(f"{code}/kWh" if code else "per kWh", 1.0, code)
    return _build(
        PriceShape.TIBBER_CORE,
        [_Source(str(key), items)],
        now=now,
        tz=tz,
        default=_UnitChoice(unit, "shape"),
        site_currency=code,
    )


def combine_parses(*parses: PriceParse) -> PriceParse:
    """Merge parses of several entities (Octopus' current-day and next-day rate events).

    Rates are merged with the same rules as within one entity; the first parse names the shape
    and unit. Warnings are kept, plus one when the currencies differ.
    """
    if not parses:
        raise PriceParseError("no_prices", "No prices to combine.")
    issues = _Issues()
    items = [(rate, False, i) for i, rate in enumerate(r for p in parses for r in p.rates)]
    rates = tuple(rate for rate, _ in _merge(items, issues))
    first = parses[0]
    currencies = {p.currency for p in parses if p.currency}
    if len(currencies) > 1:
        issues.extra.append(
            PriceWarning(
                "currency_mismatch", f"Combined prices in {', '.join(sorted(currencies))}."
            )
        )
    return PriceParse(
        rates=rates,
        shape=first.shape,
        unit=first.unit,
        factor=first.factor,
        currency=first.currency,
        unit_source=first.unit_source,
        warnings=tuple(w for p in parses for w in p.warnings) + tuple(issues.warnings()),
        attributes_read=tuple(a for p in parses for a in p.attributes_read),
        forecast_count=sum(p.forecast_count for p in parses),
    )


def summary(parse: PriceParse, now: datetime, count: int = 3) -> PriceSummary:
    """Counts, range, the current rate and the next ``count`` rates (the current one first)."""
    ts = now.timestamp() if now.tzinfo is not None else now.replace(tzinfo=UTC).timestamp()
    ahead = [r for r in parse.rates if r.end.timestamp() > ts]
    prices = [r.price for r in ahead]
    return PriceSummary(
        count=len(parse.rates),
        first_start=parse.rates[0].start if parse.rates else None,
        last_end=parse.rates[-1].end if parse.rates else None,
        current=next((r for r in ahead if r.start.timestamp() <= ts), None),
        next_rates=tuple(ahead[: max(count, 0)]),
        min_price=min(prices) if prices else None,
        max_price=max(prices) if prices else None,
        unit=parse.unit,
        currency=parse.currency,
        shape=parse.shape,
        warnings=tuple(w.message for w in parse.warnings),
    )

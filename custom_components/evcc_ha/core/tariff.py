"""Tariffs: price rates over time, as evcc's ``api.Rate`` / ``api.Tariff`` (spec §4.3).

A tariff is a list of :class:`Rate` s (``[start, end)`` with a price), sorted by start. The planner
(:mod:`.planner`) picks the cheapest of them; the REST API publishes them under
``/api/tariff/<grid|feedin|planner>`` (:func:`rates_to_json`).

Time is always passed in (``now``); nothing here reads the wall clock. All datetimes must be
timezone-aware. Comparisons are done on the absolute instant (``timestamp()``), never on wall-clock
fields, so rates in a zone with daylight-saving changes behave.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Protocol

__all__ = [
    "FixedTariff",
    "Rate",
    "RatesTariff",
    "Tariff",
    "TariffRates",
    "Zone",
    "ZoneError",
    "current_rate",
    "format_rfc3339",
    "parse_zones",
    "rates_to_json",
    "require_aware",
]


def require_aware(value: datetime, name: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got {value!r}")


@dataclass(frozen=True, slots=True)
class Rate:
    """One price period ``[start, end)``; ``price`` is evcc's ``Price`` (OLD) / ``Value`` (HEAD)."""

    start: datetime
    end: datetime
    price: float
    # the instants as POSIX seconds, computed once: rates are compared and searched a lot
    start_ts: float = field(init=False, repr=False, compare=False)
    end_ts: float = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        require_aware(self.start, "Rate.start")
        require_aware(self.end, "Rate.end")
        start_ts, end_ts = self.start.timestamp(), self.end.timestamp()
        if end_ts < start_ts:
            raise ValueError(f"rate ends before it starts: {self.start} > {self.end}")
        object.__setattr__(self, "start_ts", start_ts)
        object.__setattr__(self, "end_ts", end_ts)

    @property
    def duration(self) -> timedelta:
        """Length of the rate (absolute time, correct across DST changes)."""
        return timedelta(seconds=self.end_ts - self.start_ts)

    def contains(self, t: datetime) -> bool:
        """True if ``start <= t < end`` (evcc's ``SlotAt`` test)."""
        return self.start_ts <= t.timestamp() < self.end_ts


class Tariff(Protocol):
    """A price source: its known rates (sorted by start, not overlapping) and its price now.

    ``version`` changes whenever the rates change (new day-ahead prices), so whatever was
    computed from them (a plan) knows when to be computed again. ``dynamic``: the price varies
    over time (evcc reports such a planner tariff as a price forecast)."""

    @property
    def version(self) -> int: ...

    @property
    def dynamic(self) -> bool: ...

    def rates(self, now: datetime) -> Sequence[Rate]: ...

    def price_at(self, when: datetime) -> float | None: ...


def current_rate(rates: Sequence[Rate], now: datetime) -> Rate | None:
    """The rate containing ``now`` (rates sorted by start, not overlapping), or None."""
    require_aware(now, "now")
    ts = now.timestamp()
    index = bisect.bisect_right(rates, ts, key=lambda r: r.start_ts) - 1
    if index >= 0 and ts < rates[index].end_ts:
        return rates[index]
    return None


@dataclass(frozen=True, slots=True)
class TariffRates:
    """A tariff's rates at one moment, with what identifies them: `key` changes exactly when
    the rates do (the tariff's identity and version), so plans made from them can be kept."""

    rates: Sequence[Rate]
    key: tuple[int, int]
    # the price varies: smart cost and battery grid charging look at such rates only (evcc's
    # tariffRates gives none for a single price; a plan uses them either way)
    dynamic: bool = True


class RatesTariff:
    """A tariff given as an explicit list of rates (a scenario, a dynamic tariff's forecast).

    `replace()` swaps in new rates (tomorrow's prices arrived) and bumps `version`; lookups are
    O(log n) on the instants."""

    dynamic = True

    def __init__(self, rates: Iterable[Rate] = ()) -> None:
        self.version = 0
        self._set(rates)

    def _set(self, rates: Iterable[Rate]) -> None:
        self._rates = sorted(rates, key=lambda r: r.start_ts)
        self._ends = [r.end_ts for r in self._rates]

    def replace(self, rates: Iterable[Rate]) -> None:
        self._set(rates)
        self.version += 1

    def rates(self, now: datetime) -> Sequence[Rate]:
        """The rates that end after ``now``, sorted by start."""
        require_aware(now, "now")
        return self._rates[bisect.bisect_right(self._ends, now.timestamp()) :]

    def price_at(self, when: datetime) -> float | None:
        rate = current_rate(self._rates, when)
        return rate.price if rate is not None else None


@dataclass(frozen=True, slots=True)
class Zone:
    """A price zone of a fixed tariff (evcc ``zones:`` entry with one hour range).

    ``days``: weekdays 0=Mon … 6=Sun, empty = every day. ``hours``: ``(start, end)`` whole hours,
    start inclusive, end exclusive, ``end == 0`` (or 24) meaning midnight at the end of the day;
    ``(0, 0)`` = the whole day.
    """

    price: float
    days: frozenset[int] = field(default_factory=frozenset)
    hours: tuple[int, int] = (0, 0)

    def __post_init__(self) -> None:
        if any(not 0 <= d <= 6 for d in self.days):
            raise ValueError(f"zone days must be 0 (Mon) .. 6 (Sun), got {sorted(self.days)}")
        start, end = self.hours
        if not 0 <= start <= 23 or not 0 <= end <= 24:
            raise ValueError(f"zone hours out of range: {self.hours}")
        if end not in (0, 24) and start >= end:
            raise ValueError(f"zone hours: start must be before end: {self.hours}")

    @property
    def end_hour(self) -> int:
        """End hour with midnight as 24."""
        return 24 if self.hours[1] == 0 else self.hours[1]

    def applies_on(self, weekday: int) -> bool:
        return not self.days or weekday in self.days

    def covers_hour(self, hour: int) -> bool:
        return self.hours[0] <= hour < self.end_hour


class FixedTariff:
    """evcc's ``fixed`` tariff: a base price plus optional time-of-use zones (tariff/fixed.go).

    ``rates(now)`` yields 7 days starting today 00:00 in ``tz``. Within a day, a new rate starts at
    every zone boundary; where zones overlap, the more specific one wins (zones are ordered by start
    hour ascending, then by length descending, and the last matching zone applies; the base price is
    an implicit all-week zone in front of them).

    HEAD (tariff/fixed.go@HEAD) additionally splits every day into 1-hour rates, so that the
    planner's "equal price → later slot first" rule can move charging to the end of a cheap zone.
    That is the default (``hourly=True``); ``hourly=False`` gives OLD's one rate per zone boundary.
    """

    version = 0  # its rates follow from the price and zones, which never change

    def __init__(
        self,
        price: float,
        zones: Sequence[Zone] = (),
        tz: tzinfo = UTC,
        *,
        hourly: bool = True,
    ) -> None:
        self.price = price
        self.tz = tz
        self.hourly = hourly
        self._week: tuple[date, list[Rate]] | None = None  # rates from that day on
        # stable sort: start hour ascending, longer zone first, so the shorter one overrides it
        self.zones: tuple[Zone, ...] = (
            Zone(price),
            *sorted(zones, key=lambda z: (z.hours[0], -z.end_hour)),
        )

    @property
    def dynamic(self) -> bool:
        """True when zones make the price vary (evcc reports the type as a price forecast)."""
        return len(self.zones) > 1

    def _wall(self, day: date, hour: int) -> datetime:
        """``day hour:00`` in ``tz``, normalised to a real instant (DST gaps shift forward)."""
        naive = datetime(day.year, day.month, day.day) + timedelta(hours=hour)
        return naive.replace(tzinfo=self.tz).astimezone(UTC).astimezone(self.tz)

    def price_at(self, when: datetime) -> float | None:
        """The price at `when` from the zones (no rates are built)."""
        require_aware(when, "when")
        local = when.astimezone(self.tz)
        zones = [z for z in self.zones if z.applies_on(local.weekday())]
        return next(z.price for z in reversed(zones) if z.covers_hour(local.hour))

    def rates(self, now: datetime) -> list[Rate]:
        """7 days of rates from today 00:00 (built once per day)."""
        require_aware(now, "now")
        today = now.astimezone(self.tz).date()
        if self._week is None or self._week[0] != today:
            self._week = (today, self._build(today))
        return self._week[1]

    def _build(self, today: date) -> list[Rate]:
        result: list[Rate] = []
        for offset in range(7):
            day = today + timedelta(days=offset)
            zones = [z for z in self.zones if z.applies_on(day.weekday())]
            markers = {0}
            for zone in zones:
                markers.add(zone.hours[0])
                markers.add(zone.end_hour % 24)
            if self.hourly:
                markers.update(range(24))
            hours = sorted(markers)
            for i, hour in enumerate(hours):
                price = next(z.price for z in reversed(zones) if z.covers_hour(hour))
                start = self._wall(day, hour)
                end = self._wall(day, hours[i + 1] if i + 1 < len(hours) else 24)
                if end.timestamp() > start.timestamp():  # DST gap: zero-length hour dropped
                    result.append(Rate(start, end, price))
        return result


_DAY_NAMES: dict[str, int] = {
    **{name: i for i, name in enumerate(("mo", "tu", "we", "th", "fr", "sa", "su"))},
    **{name: i for i, name in enumerate(("mon", "tue", "wed", "thu", "fri", "sat", "sun"))},
    **{name: i for i, name in enumerate(("mo", "di", "mi", "do", "fr", "sa", "so"))},
}


class ZoneError(ValueError):
    """A line of time-of-use zones that does not parse; the message names the line."""


def _days(text: str, line: int) -> frozenset[int]:
    days: set[int] = set()
    for part in text.lower().split(","):
        first, _, last = part.partition("-")
        try:
            start, end = _DAY_NAMES[first.strip()], _DAY_NAMES[(last or first).strip()]
        except KeyError:
            raise ZoneError(f"line {line}: unknown weekday in {text!r}") from None
        day = start
        while True:
            days.add(day)
            if day == end:
                break
            day = (day + 1) % 7
    return frozenset(days)


MAX_ZONE_PRICE = 1000.0  # per kWh, in any currency


def parse_zones(text: str) -> list[Zone]:
    """Time-of-use zones, one per line: `[weekdays] <from>-<to> <price>`, e.g. `Mo-Fr 22-6 0.21`
    (hours 0–24, a range over midnight is split; weekdays `Mo-Fr`, `Sa,Su`, German `Mo-So` too;
    no weekdays: every day). Empty lines and `#` comments are skipped."""
    zones: list[Zone] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        if len(parts) not in (2, 3):
            raise ZoneError(f"line {number}: expected [weekdays] <from>-<to> <price>: {raw!r}")
        days = _days(parts[0], number) if len(parts) == 3 else frozenset()
        hours, price_text = parts[-2], parts[-1]
        start_text, _, end_text = hours.partition("-")
        try:
            start, end = int(start_text), int(end_text)
            price = float(price_text.replace(",", "."))
        except ValueError:
            raise ZoneError(
                f"line {number}: expected hours like 22-6 and a price: {raw!r}"
            ) from None
        if not (0 <= start <= 23 and 0 <= end <= 24):
            raise ZoneError(f"line {number}: hours are 0 to 24: {raw!r}")
        if not math.isfinite(price) or abs(price) > MAX_ZONE_PRICE:
            raise ZoneError(f"line {number}: a price between -1000 and 1000: {raw!r}")
        if start == end % 24:
            zones.append(Zone(price, days, (0, 0)))
        elif end != 0 and end < start:  # over midnight
            zones += [Zone(price, days, (start, 0)), Zone(price, days, (0, end))]
        else:
            zones.append(Zone(price, days, (start, end)))
    return zones


def format_rfc3339(value: datetime) -> str:
    """RFC 3339 as Go marshals ``time.Time``: the value's own offset, ``Z`` for offset zero,
    fractional seconds only when non-zero (trailing zeros trimmed)."""
    require_aware(value, "value")
    text = value.strftime("%Y-%m-%dT%H:%M:%S")
    if value.microsecond:
        text += f".{value.microsecond:06d}".rstrip("0")
    offset = value.utcoffset()
    assert offset is not None
    minutes = int(offset.total_seconds()) // 60
    if minutes == 0:
        return text + "Z"
    sign = "+" if minutes > 0 else "-"
    hh, mm = divmod(abs(minutes), 60)
    return f"{text}{sign}{hh:02d}:{mm:02d}"


def rates_to_json(rates: Iterable[Rate], *, key: str = "price") -> list[dict[str, str | float]]:
    """``/api/tariff/<type>`` body ``[{"start", "end", key}]``: OLD ``price``, HEAD ``value``."""
    return [
        {"start": format_rfc3339(r.start), "end": format_rfc3339(r.end), key: r.price}
        for r in rates
    ]

"""Tariffs: price rates over time, as evcc's ``api.Rate`` / ``api.Tariff`` (spec §4.3).

A tariff is a list of :class:`Rate` s (``[start, end)`` with a price), sorted by start. The planner
(:mod:`.planner`) picks the cheapest of them; the REST API publishes them under
``/api/tariff/<grid|feedin|planner>`` (:func:`rates_to_json`).

Time is always passed in (``now``); nothing here reads the wall clock. All datetimes must be
timezone-aware. Comparisons are done on the absolute instant (``timestamp()``), never on wall-clock
fields, so rates in a zone with daylight-saving changes behave.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Protocol

__all__ = [
    "FixedTariff",
    "Rate",
    "RatesTariff",
    "Tariff",
    "Zone",
    "current_rate",
    "format_rfc3339",
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

    def __post_init__(self) -> None:
        require_aware(self.start, "Rate.start")
        require_aware(self.end, "Rate.end")
        if self.end.timestamp() < self.start.timestamp():
            raise ValueError(f"rate ends before it starts: {self.start} > {self.end}")

    @property
    def duration(self) -> timedelta:
        """Length of the rate (absolute time, correct across DST changes)."""
        return timedelta(seconds=self.end.timestamp() - self.start.timestamp())

    def contains(self, t: datetime) -> bool:
        """True if ``start <= t < end`` (evcc's ``SlotAt`` test)."""
        ts = t.timestamp()
        return self.start.timestamp() <= ts < self.end.timestamp()


class Tariff(Protocol):
    """A price source: returns its known rates, sorted by start."""

    def rates(self, now: datetime) -> list[Rate]: ...


def current_rate(rates: Sequence[Rate], now: datetime) -> Rate | None:
    """The rate containing ``now``, or None when ``now`` is not covered."""
    require_aware(now, "now")
    for rate in rates:
        if rate.contains(now):
            return rate
    return None


class RatesTariff:
    """A tariff given as an explicit list of rates (a scenario, a dynamic tariff's forecast)."""

    def __init__(self, rates: Iterable[Rate]) -> None:
        self._rates = sorted(rates, key=lambda r: r.start.timestamp())

    def rates(self, now: datetime) -> list[Rate]:
        """The rates that end after ``now``, sorted by start."""
        require_aware(now, "now")
        ts = now.timestamp()
        return [r for r in self._rates if r.end.timestamp() > ts]


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

    def rates(self, now: datetime) -> list[Rate]:
        require_aware(now, "now")
        today = now.astimezone(self.tz).date()
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

"""Charging sessions and the energy metering behind them (evcc's ChargeRater and session table).

A session opens when a vehicle connects, gets its `created` time at the first charge start, is
written to the log at every charge stop (upsert) and closes on disconnect. A connection that never
charged is not logged, as in evcc.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from . import stored
from .model import SettingError
from .settings import shown

_LOGGER = logging.getLogger(__name__)

MAX_INTEGRATION_GAP_S = 300.0
"""Power is integrated over gaps up to this long; a longer gap (an outage) counts nothing."""
MAX_STORED_SESSIONS = 100_000
MAX_ODOMETER_KM = 10_000_000.0


@dataclass(slots=True)
class Session:
    """One charging session; field names follow evcc's session JSON."""

    id: int = 0
    created: datetime | None = None
    finished: datetime | None = None
    loadpoint: str = ""
    identifier: str = ""
    vehicle: str = ""
    odometer: float | None = None
    meter_start: float | None = None  # kWh
    meter_stop: float | None = None  # kWh
    charged_energy: float = 0.0  # kWh
    charge_duration: float = 0.0  # s
    solar_percentage: float = 0.0  # %
    price: float | None = None
    price_per_kwh: float | None = None
    co2_per_kwh: float | None = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("created", "finished"):
            value = getattr(self, key)
            data[key] = value.isoformat() if value else None
        return data

    @classmethod
    def from_dict(cls, data: object) -> Session | None:
        """A stored session, its fields checked; None when it is not a session at all."""
        if not isinstance(data, dict):
            return None
        whole = stored.number(data, "id", 0, high=1e12)
        return cls(
            id=int(whole),
            created=stored.time(data, "created"),
            finished=stored.time(data, "finished"),
            loadpoint=stored.text(data, "loadpoint"),
            identifier=stored.text(data, "identifier"),
            vehicle=stored.text(data, "vehicle"),
            odometer=stored.optional_number(data, "odometer"),
            meter_start=stored.optional_number(data, "meter_start"),
            meter_stop=stored.optional_number(data, "meter_stop"),
            charged_energy=stored.number(data, "charged_energy", 0.0, high=1e6),
            charge_duration=stored.number(data, "charge_duration", 0.0, high=1e9),
            solar_percentage=stored.number(data, "solar_percentage", 0.0, high=100.0),
            price=stored.optional_number(data, "price", low=-1e9, high=1e9),
            price_per_kwh=stored.optional_number(data, "price_per_kwh", low=-1e6, high=1e6),
            co2_per_kwh=stored.optional_number(data, "co2_per_kwh", high=1e6),
        )


@dataclass(frozen=True, slots=True)
class SessionTotals:
    """evcc's statistics of one time window: energy, solar share, mean price and CO₂."""

    charged_kwh: float = 0.0
    solar_percentage: float = 0.0
    avg_price: float = 0.0
    avg_co2: float = 0.0


STATISTICS_WINDOWS = ("30d", "365d", "thisYear", "total")


class UnknownSessionError(SettingError):
    """No logged session has this id."""


MAX_SESSION_TEXT = 100  # a vehicle or loadpoint title written into a session


def parse_session_changes(body: object) -> dict[str, object]:
    """evcc's session update: only `vehicle`, `loadpoint` (text, null clears) and `odometer`
    (km, null clears) of the object change; other fields are ignored, as in evcc. Nothing of
    the three → `SettingError` ("nothing to update"), so does a wrong type or range."""
    if not isinstance(body, Mapping):
        raise SettingError(f"invalid session: {shown(body)} is not an object")
    changes: dict[str, object] = {}
    for key in ("vehicle", "loadpoint"):
        if key not in body:
            continue
        value = body[key]
        if value is not None and not isinstance(value, str):
            raise SettingError(f"invalid {key}: {shown(value)} is not text")
        text = (value or "").strip()
        if len(text) > MAX_SESSION_TEXT:
            raise SettingError(f"invalid {key}: longer than {MAX_SESSION_TEXT} characters")
        changes[key] = text
    if "odometer" in body:
        value = body["odometer"]
        if value is not None:
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise SettingError(f"invalid odometer: {shown(value)} is not a number")
            if not math.isfinite(value) or not 0 <= value <= MAX_ODOMETER_KM:
                raise SettingError(f"odometer must be between 0 and {MAX_ODOMETER_KM:.0f} km")
            value = float(value)
        changes["odometer"] = value
    if not changes:
        raise SettingError("nothing to update")
    return changes


@dataclass(slots=True)
class SessionLog:
    """Finished (and running, upserted) sessions of the site, newest last."""

    sessions: list[Session] = field(default_factory=list)
    next_id: int = 1
    revision: int = 0  # counts changes, so derived figures know when to be recomputed
    _statistics: tuple[tuple[int, datetime], dict[str, SessionTotals]] | None = field(
        default=None, repr=False, compare=False
    )

    def statistics(self, now: datetime) -> dict[str, SessionTotals]:
        """Totals for the last 30 and 365 days, this year and all time (evcc's `statistics`).

        Recomputed when a session is logged or the hour changes (evcc updates them hourly), not
        in every cycle.
        """
        hour = now.replace(minute=0, second=0, microsecond=0)
        key = (self.revision, hour)
        if self._statistics is not None and self._statistics[0] == key:
            return self._statistics[1]
        listed = self.listed()
        year_start = now.replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0)
        windows: dict[str, datetime | None] = {
            "30d": hour - timedelta(days=30),
            "365d": hour - timedelta(days=365),
            "thisYear": year_start,
            "total": None,
        }
        totals = {
            name: _totals(s for s in listed if since is None or (s.created or now) >= since)
            for name, since in windows.items()
        }
        self._statistics = (key, totals)
        return totals

    def upsert(self, session: Session) -> None:
        """Add a new session or replace the logged one with the same id."""
        self.revision += 1
        if session.id == 0:
            session.id = self.next_id
            self.next_id += 1
            self.sessions.append(session)
            return
        for i, logged in enumerate(self.sessions):
            if logged.id == session.id:
                self.sessions[i] = session
                return
        self.sessions.append(session)

    def find(self, session_id: int) -> Session | None:
        return next((s for s in self.sessions if s.id == session_id), None)

    def delete(self, session_id: int) -> None:
        """Remove the logged session `session_id` (it must exist)."""
        self.sessions = [s for s in self.sessions if s.id != session_id]
        self.revision += 1

    def touched(self) -> None:
        """A logged session was edited in place: derived figures are stale."""
        self.revision += 1

    def listed(self, min_kwh: float = 0.05) -> list[Session]:
        """Sessions as evcc's `/api/sessions` lists them: ≥ 0.05 kWh, newest first."""
        chosen = [s for s in self.sessions if s.charged_energy >= min_kwh]
        return sorted(chosen, key=lambda s: s.created or datetime.min, reverse=True)

    def to_dict(self) -> dict[str, Any]:
        return {"next_id": self.next_id, "sessions": [s.to_dict() for s in self.sessions]}

    @classmethod
    def from_dict(cls, data: object) -> SessionLog:
        """The stored log; sessions that are not sessions are dropped with a warning."""
        values = stored.mapping(data, "session log")
        raw = values.get("sessions", [])
        if not isinstance(raw, list):
            _LOGGER.warning("Stored sessions ignored: not a list")
            raw = []
        restored = [Session.from_dict(item) for item in raw[-MAX_STORED_SESSIONS:]]
        sessions = [s for s in restored if s is not None]
        if len(sessions) < len(restored):
            _LOGGER.warning(
                "%d stored sessions ignored: not objects", len(restored) - len(sessions)
            )
        next_id = int(stored.number(values, "next_id", 1, low=1, high=1e12))
        next_id = max(next_id, max((s.id for s in sessions), default=0) + 1)
        return cls(sessions=sessions, next_id=next_id)


def _totals(sessions: Iterable[Session]) -> SessionTotals:
    kwh = solar = priced_kwh = price = co2_kwh = co2 = 0.0
    for s in sessions:
        kwh += s.charged_energy
        solar += s.charged_energy * s.solar_percentage
        if s.price is not None:
            priced_kwh += s.charged_energy
            price += s.price
        if s.co2_per_kwh is not None:
            co2_kwh += s.charged_energy
            co2 += s.co2_per_kwh * s.charged_energy
    return SessionTotals(
        charged_kwh=kwh,
        solar_percentage=solar / kwh if kwh > 0 else 0.0,
        avg_price=price / priced_kwh if priced_kwh > 0 else 0.0,
        avg_co2=co2 / co2_kwh if co2_kwh > 0 else 0.0,
    )


@dataclass(slots=True)
class EnergyMeter:
    """Session energy in Wh from meter totals where there are any, else from integrated power.

    A meter total that goes backwards (meter replaced or reset) re-bases instead of counting
    negative energy; nothing is ever counted twice, also across a restart (the baseline is saved).
    """

    session_wh: float = 0.0
    lifetime_wh: float = 0.0
    last_total_kwh: float | None = None
    last_power_w: float = 0.0
    last_time: datetime | None = None

    def reset_session(self) -> None:
        self.session_wh = 0.0

    def update(self, now: datetime, power_w: float, total_kwh: float | None) -> float:
        """Account this cycle; returns the Wh added since the previous cycle."""
        added = 0.0
        if total_kwh is not None:
            if self.last_total_kwh is not None and total_kwh >= self.last_total_kwh:
                added = (total_kwh - self.last_total_kwh) * 1000.0
            self.last_total_kwh = total_kwh
        elif self.last_time is not None:
            # A long gap (an outage) is not integrated: nobody knows what flowed meanwhile.
            seconds = max(0.0, (now - self.last_time).total_seconds())
            if seconds <= MAX_INTEGRATION_GAP_S:
                added = max(0.0, self.last_power_w) * seconds / 3600.0
        self.last_time = now
        self.last_power_w = power_w
        self.session_wh += added
        self.lifetime_wh += added
        return added

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["last_time"] = self.last_time.isoformat() if self.last_time else None
        return data

    @classmethod
    def from_dict(cls, data: object) -> EnergyMeter:
        """The stored counters. The power of the last cycle before the restart is not kept:
        energy is never extrapolated across a restart (only a meter total proves it)."""
        values = stored.mapping(data, "energy meter")
        return cls(
            session_wh=stored.number(values, "session_wh", 0.0, high=1e9),
            lifetime_wh=stored.number(values, "lifetime_wh", 0.0, high=1e12),
            last_total_kwh=stored.optional_number(values, "last_total_kwh", high=1e12),
        )

"""Charging sessions and the energy metering behind them (evcc's ChargeRater and session table).

A session opens when a vehicle connects, gets its `created` time at the first charge start, is
written to the log at every charge stop (upsert) and closes on disconnect. A connection that never
charged is not logged, as in evcc.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

MAX_INTEGRATION_GAP_S = 300.0


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
    def from_dict(cls, data: dict[str, Any]) -> Session:
        values = dict(data)
        for key in ("created", "finished"):
            if values.get(key):
                values[key] = datetime.fromisoformat(values[key])
        return cls(**values)


@dataclass(frozen=True, slots=True)
class SessionTotals:
    """evcc's statistics of one time window: energy, solar share, mean price and CO₂."""

    charged_kwh: float = 0.0
    solar_percentage: float = 0.0
    avg_price: float = 0.0
    avg_co2: float = 0.0


STATISTICS_WINDOWS = ("30d", "365d", "thisYear", "total")


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

    def listed(self, min_kwh: float = 0.05) -> list[Session]:
        """Sessions as evcc's `/api/sessions` lists them: ≥ 0.05 kWh, newest first."""
        chosen = [s for s in self.sessions if s.charged_energy >= min_kwh]
        return sorted(chosen, key=lambda s: s.created or datetime.min, reverse=True)

    def to_dict(self) -> dict[str, Any]:
        return {"next_id": self.next_id, "sessions": [s.to_dict() for s in self.sessions]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SessionLog:
        return cls(
            sessions=[Session.from_dict(s) for s in data.get("sessions", [])],
            next_id=int(data.get("next_id", 1)),
        )


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
            # A long gap (restart, outage) is not integrated: nobody knows what flowed meanwhile.
            seconds = min(MAX_INTEGRATION_GAP_S, max(0.0, (now - self.last_time).total_seconds()))
            hours = seconds / 3600.0
            added = max(0.0, self.last_power_w) * hours
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
    def from_dict(cls, data: dict[str, Any]) -> EnergyMeter:
        values = dict(data)
        if values.get("last_time"):
            values["last_time"] = datetime.fromisoformat(values["last_time"])
        return cls(**values)

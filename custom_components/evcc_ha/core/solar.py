"""How today's solar production compares with its forecast: evcc's solar forecast `scale`.

evcc divides the PV energy produced since midnight by the forecast energy for the same time
(its `solarScale`) and shows the forecast scaled by it when `solarAdjusted` is on. Below 0.5 kWh
produced, or without forecast energy yet, the scale is 1: a morning's first minutes say nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from . import stored

MIN_PRODUCED_WH = 500.0  # evcc: below 0.5 kWh produced the ratio means nothing
# a longer gap (a restart, a stopped loop) is not counted: neither energy is known for it, so
# both skip it and the ratio still compares the same times
MAX_GAP_S = 300.0


@dataclass(slots=True)
class SolarDay:
    """The PV energy produced and the forecast energy since local midnight (Wh), counted over
    the cycles that had a forecast value."""

    day: date | None = None
    produced_wh: float = 0.0
    forecast_wh: float = 0.0
    last: datetime | None = None

    def add(
        self, now: datetime, today: date, pv_power: float, forecast_power: float | None
    ) -> None:
        """Count the time since the last call at this cycle's PV and forecast power (W)."""
        if self.day != today:
            self.day, self.produced_wh, self.forecast_wh = today, 0.0, 0.0
            self.last = None
        if forecast_power is None:
            self.last = None  # no forecast for this time: neither energy counts it
            return
        if self.last is not None:
            seconds = (now - self.last).total_seconds()
            if 0.0 < seconds <= MAX_GAP_S:
                self.produced_wh += max(0.0, pv_power) * seconds / 3600.0
                self.forecast_wh += max(0.0, forecast_power) * seconds / 3600.0
        self.last = now

    @property
    def scale(self) -> float:
        """Produced ÷ forecast so far today; 1 while that says nothing yet."""
        if self.forecast_wh <= 0.0 or self.produced_wh <= MIN_PRODUCED_WH:
            return 1.0
        return self.produced_wh / self.forecast_wh

    def to_dict(self) -> dict[str, Any]:
        return {
            "day": self.day.isoformat() if self.day else None,
            "produced_wh": self.produced_wh,
            "forecast_wh": self.forecast_wh,
        }

    @classmethod
    def from_dict(cls, data: object) -> SolarDay:
        """What a previous run counted today (checked; a bad part gives an empty day)."""
        values: Mapping[str, Any] = stored.mapping(data, "solar day")
        day = stored.day(values, "day")
        if day is None:
            return cls()
        return cls(
            day,
            stored.number(values, "produced_wh", 0.0, high=1e9),
            stored.number(values, "forecast_wh", 0.0, high=1e9),
        )

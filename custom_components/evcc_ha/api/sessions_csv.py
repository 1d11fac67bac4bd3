"""`/api/sessions`: the session log as evcc's JSON list and as its CSV export.

JSON: one object per session with evcc's field names; `chargeDuration` in **nanoseconds** (evcc
serialises the session's Go duration as such in every version, and ha-evcc divides by 1e9);
`created`/`finished` RFC 3339 in local time, an unset time as Go's zero time
`0001-01-01T00:00:00Z` (the session JSON never used the `null` encoding of the state).

CSV: UTF-8 with BOM, one header line with localized column titles, then one line per session.
Times local `YYYY-MM-DD HH:MM:SS`, unknown values empty, the charge duration in Go's duration
notation (`1h23m45s`), numbers with at most 3 decimals (odometer whole km). English uses `,` and a
decimal point; German uses `;` and a decimal comma, as evcc's old export did.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from datetime import datetime, tzinfo
from typing import Any

from ..core.session import Session
from ..core.tariff import format_rfc3339

__all__ = [
    "GO_ZERO_TIME",
    "csv_filename",
    "filter_sessions",
    "go_duration",
    "pick_language",
    "session_to_json",
    "sessions_to_csv",
]

GO_ZERO_TIME = "0001-01-01T00:00:00Z"

# Column titles per language, in column order (see sessions_to_csv).
_HEADERS: dict[str, tuple[str, ...]] = {
    "en": (
        "Created",
        "Finished",
        "Charging point",
        "Identifier",
        "Vehicle",
        "Mileage (km)",
        "Meter start (kWh)",
        "Meter stop (kWh)",
        "Energy (kWh)",
        "Charge Duration",
        "Solar (%)",
        "Price",
        "Price/kWh",
        "CO2/kWh (gCO2eq)",
    ),
    "de": (
        "Startzeit",
        "Endzeit",
        "Ladepunkt",
        "Kennung",
        "Fahrzeug",
        "Kilometerstand (km)",
        "Anfangszählerstand (kWh)",
        "Endzählerstand (kWh)",
        "Energie (kWh)",
        "Charge Duration",
        "Solar (%)",
        "Price",
        "Price/kWh",
        "CO2/kWh (gCO2eq)",
    ),
}
_SEPARATOR = {"en": ",", "de": ";"}
_DECIMAL = {"en": ".", "de": ","}


# --- JSON ----------------------------------------------------------------------------------------


def _round(value: float | None, digits: int = 3) -> float | int | None:
    if value is None or not math.isfinite(value):
        return None
    rounded = round(value, digits)
    return int(rounded) if rounded == int(rounded) else rounded


def _json_time(value: datetime | None, tz: tzinfo | None) -> str:
    if value is None:
        return GO_ZERO_TIME
    return format_rfc3339(value.astimezone(tz) if tz is not None else value)


def session_to_json(session: Session, tz: tzinfo | None = None) -> dict[str, Any]:
    """evcc's session object (times in `tz`, default: as stored)."""
    return {
        "id": session.id,
        "created": _json_time(session.created, tz),
        "finished": _json_time(session.finished, tz),
        "loadpoint": session.loadpoint,
        "identifier": session.identifier,
        "vehicle": session.vehicle,
        "odometer": _round(session.odometer, 1),
        "meterStart": _round(session.meter_start),
        "meterStop": _round(session.meter_stop),
        "chargedEnergy": _round(session.charged_energy),
        "chargeDuration": round(session.charge_duration * 1e9),
        "solarPercentage": _round(session.solar_percentage),
        "price": _round(session.price),
        "pricePerKWh": _round(session.price_per_kwh),
        "co2PerKWh": _round(session.co2_per_kwh),
    }


def filter_sessions(
    sessions: Iterable[Session], tz: tzinfo | None, year: int | None, month: int | None
) -> list[Session]:
    """Sessions created in `year` (and `month`, only together with a year), in local time."""
    if year is None:
        return list(sessions)
    chosen: list[Session] = []
    for s in sessions:
        if s.created is None:
            continue
        local = s.created.astimezone(tz) if tz is not None else s.created
        if local.year == year and (month is None or local.month == month):
            chosen.append(s)
    return chosen


# --- CSV -----------------------------------------------------------------------------------------


def pick_language(lang: str | None, accept_language: str | None) -> str:
    """`lang` parameter, else the first Accept-Language tag; primary subtag; unknown → en."""
    raw = lang or (accept_language or "").split(",")[0].split(";")[0]
    primary = raw.strip().replace("_", "-").split("-")[0].lower()
    return primary if primary in _HEADERS else "en"


def csv_filename(year: int | None, month: int | None) -> str:
    """evcc's download name: session.csv, session-2024.csv, session-2024-03.csv."""
    name = "session"
    if year is not None:
        name += f"-{year}"
        if month is not None:
            name += f"-{month:02d}"
    return name + ".csv"


def _frac(value: int, digits: int) -> str:
    """`value / 10**digits` printed without trailing zeros (Go's fmtFrac + fmtInt)."""
    whole, part = divmod(value, 10**digits)
    text = str(whole)
    if part:
        text += "." + f"{part:0{digits}d}".rstrip("0")
    return text


def go_duration(seconds: float) -> str:
    """A duration in Go's `Duration.String()` notation: 0s, 1.5s, 2m0s, 1h23m45s, 250ms."""
    ns = round(seconds * 1e9)
    sign = "-" if ns < 0 else ""
    ns = abs(ns)
    if ns == 0:
        return "0s"
    if ns < 1_000:
        return f"{sign}{ns}ns"
    if ns < 1_000_000:
        return f"{sign}{_frac(ns, 3)}µs"
    if ns < 1_000_000_000:
        return f"{sign}{_frac(ns, 6)}ms"
    minutes, rest = divmod(ns, 60 * 1_000_000_000)
    text = _frac(rest, 9) + "s"
    if minutes:
        hours, minutes = divmod(minutes, 60)
        text = f"{minutes}m" + text
        if hours:
            text = f"{hours}h" + text
    return sign + text


def _number(value: float | None, decimal: str, digits: int = 3) -> str:
    if value is None or not math.isfinite(value):
        return ""
    text = f"{round(value, digits):.{digits}f}"
    if digits:
        text = text.rstrip("0").rstrip(".")
    if text in ("-0", ""):
        text = "0"
    return text.replace(".", decimal)


def _time(value: datetime | None, tz: tzinfo | None) -> str:
    if value is None:
        return ""
    local = value.astimezone(tz) if tz is not None else value
    return local.strftime("%Y-%m-%d %H:%M:%S")


def _quote(field: str, separator: str) -> str:
    """Quote like Go's encoding/csv: fields with the separator, quotes, line breaks or a
    leading blank."""
    if field == "":
        return field
    if any(c in field for c in (separator, '"', "\r", "\n")) or field[0] in " \t":
        return '"' + field.replace('"', '""') + '"'
    return field


def sessions_to_csv(sessions: Sequence[Session], lang: str, tz: tzinfo | None) -> bytes:
    """The CSV export (UTF-8 with BOM, `\\n` line ends) in `lang` ("en" or "de")."""
    lang = lang if lang in _HEADERS else "en"
    sep, dec = _SEPARATOR[lang], _DECIMAL[lang]
    lines = [sep.join(_quote(h, sep) for h in _HEADERS[lang])]
    for s in sessions:
        fields = (
            _time(s.created, tz),
            _time(s.finished, tz),
            s.loadpoint,
            s.identifier,
            s.vehicle,
            _number(s.odometer, dec, 0),
            _number(s.meter_start, dec),
            _number(s.meter_stop, dec),
            _number(s.charged_energy, dec),
            go_duration(s.charge_duration),
            _number(s.solar_percentage, dec),
            _number(s.price, dec),
            _number(s.price_per_kwh, dec),
            _number(s.co2_per_kwh, dec),
        )
        lines.append(sep.join(_quote(f, sep) for f in fields))
    return ("\ufeff" + "\n".join(lines) + "\n").encode("utf-8")

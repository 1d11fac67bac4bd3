"""Reading back what the integration stored: every value is input and checked like any other.

A stored file can be damaged, edited by hand, or written by another version. Each reader here
takes the raw value and a default; a value of the wrong type or outside its range is dropped with
one warning naming the field, and the default is used. Nothing raises.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

_LOGGER = logging.getLogger(__name__)


def mapping(value: object, what: str) -> Mapping[str, Any]:
    """`value` if it is an object, else {} (with a warning when something else was stored)."""
    if isinstance(value, Mapping):
        return value
    if value is not None:
        _LOGGER.warning("Stored %s ignored: not an object", what)
    return {}


def number(
    data: Mapping[str, Any],
    key: str,
    default: float,
    *,
    low: float = 0.0,
    high: float = math.inf,
) -> float:
    """A finite number within [low, high], else `default`."""
    value = data.get(key, default)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        _LOGGER.warning("Stored %s ignored: %r is not a number", key, _short(value))
        return default
    if not low <= value <= high:
        _LOGGER.warning("Stored %s ignored: %r is out of range", key, value)
        return default
    return float(value)


def optional_number(
    data: Mapping[str, Any], key: str, *, low: float = 0.0, high: float = math.inf
) -> float | None:
    """A finite number within [low, high], or None (missing, null or bad)."""
    if data.get(key) is None:
        return None
    value = number(data, key, math.nan, low=low, high=high)
    return None if math.isnan(value) else value


def time(data: Mapping[str, Any], key: str) -> datetime | None:
    """A timezone-aware ISO time, or None (missing, null or bad)."""
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        _LOGGER.warning("Stored %s ignored: %r is not a time", key, _short(value))
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        _LOGGER.warning("Stored %s ignored: %r is not a time", key, _short(value))
        return None
    if when.tzinfo is None or when.utcoffset() is None:
        _LOGGER.warning("Stored %s ignored: %r has no time zone", key, _short(value))
        return None
    return when


def day(data: Mapping[str, Any], key: str) -> date | None:
    """An ISO date (YYYY-MM-DD), or None (missing, null or bad)."""
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    _LOGGER.warning("Stored %s ignored: %r is not a date", key, _short(value))
    return None


def text(data: Mapping[str, Any], key: str, default: str = "") -> str:
    value = data.get(key, default)
    if not isinstance(value, str):
        _LOGGER.warning("Stored %s ignored: %r is not text", key, _short(value))
        return default
    return value


def _short(value: object) -> object:
    shown = repr(value)
    return value if len(shown) <= 40 else shown[:37] + "..."

"""A site's solar forecast from Home Assistant's forecast integrations, as evcc's solar tariff:
rates whose value is the forecast PV power (W) of their period.

Shapes read (one or several entities; the power of periods that start together is summed, so two
roof planes add up and a today and a tomorrow entity fill each other's gaps):

* Solcast (HACS): a sensor with the attribute `detailedForecast`, a list of `{period_start,
  pv_estimate}` (kW per half hour);
* Open-Meteo Solar Forecast (HACS) and the older Forecast.Solar attributes: `watts`, a mapping of
  times to W;
* Forecast.Solar (Home Assistant core): no attributes; its energy platform's
  `async_get_solar_forecast` gives `wh_hours` (Wh per hour = the hour's mean W).

Like the price entities, an entity is read when it changes, never in the control cycle. An
entity without a usable forecast is skipped with one log line; the others still count.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util

from ..const import LOGGER
from ..core.tariff import Rate
from .tariffs import WatchedRatesTariff

__all__ = ["EntitySolarForecast", "ForecastError", "async_read_solar_forecast"]

MAX_POINTS = 2000  # a week in quarter hours is 672
MAX_PLANT_W = 1_000_000.0
HALF_HOUR = timedelta(minutes=30)
HOUR = timedelta(hours=1)


class ForecastError(ValueError):
    """An entity that holds no solar forecast this module can read."""


def _time(value: object) -> datetime:
    if isinstance(value, datetime):
        when = value
    elif isinstance(value, str):
        parsed = dt_util.parse_datetime(value)
        if parsed is None:
            raise ForecastError(f"not a time: {value!r}")
        when = parsed
    else:
        raise ForecastError(f"not a time: {value!r}")
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt_util.get_default_time_zone())
    return when


def _watts(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ForecastError(f"not a power: {value!r}")
    try:
        watts = float(value)
    except ValueError:
        raise ForecastError(f"not a power: {value!r}") from None
    if not 0.0 <= watts <= MAX_PLANT_W:  # also refuses NaN
        raise ForecastError(f"not a plausible power: {value!r}")
    return watts


def _periods(points: Iterable[tuple[datetime, float]], last: timedelta) -> list[Rate]:
    """Points (start, W) as rates that last until the next point (the last one `last`)."""
    ordered = sorted(points, key=lambda point: point[0])
    if len(ordered) > MAX_POINTS:
        raise ForecastError(f"more than {MAX_POINTS} forecast points")
    rates: list[Rate] = []
    for index, (start, watts) in enumerate(ordered):
        end = ordered[index + 1][0] if index + 1 < len(ordered) else start + last
        if end > start:
            rates.append(Rate(start, end, watts))
    return rates


def parse_attributes(attributes: Mapping[str, Any]) -> list[Rate]:
    """The forecast in an entity's attributes (Solcast or `watts`); ForecastError otherwise."""
    detailed = attributes.get("detailedForecast")
    if isinstance(detailed, list):
        points = []
        for item in detailed:
            if not isinstance(item, Mapping):
                raise ForecastError(f"not a forecast period: {item!r}")
            kw = _watts(item.get("pv_estimate"))
            points.append((_time(item.get("period_start")), kw * 1000.0))
        return _periods(points, HALF_HOUR)
    watts = attributes.get("watts")
    if isinstance(watts, Mapping):
        return _periods(((_time(k), _watts(v)) for k, v in watts.items()), HOUR)
    raise ForecastError("no forecast in its attributes (detailedForecast or watts)")


async def _forecast_solar(hass: HomeAssistant, entity_id: str) -> list[Rate] | None:
    """Forecast.Solar's hourly energy through its energy platform, or None for other entities."""
    entry = er.async_get(hass).async_get(entity_id)
    if entry is None or entry.platform != "forecast_solar" or entry.config_entry_id is None:
        return None
    try:  # its library is there whenever its entities are
        energy = importlib.import_module("homeassistant.components.forecast_solar.energy")
    except ImportError as err:
        raise ForecastError(f"Forecast.Solar cannot be read: {err}") from None
    result = await energy.async_get_solar_forecast(hass, entry.config_entry_id)
    wh_hours = (result or {}).get("wh_hours")
    if not isinstance(wh_hours, Mapping):
        raise ForecastError("Forecast.Solar has no forecast yet")
    return _periods(((_time(k), _watts(v)) for k, v in wh_hours.items()), HOUR)


async def async_read_solar_forecast(hass: HomeAssistant, entity_id: str) -> list[Rate]:
    """The forecast of one entity (rates of W), or ForecastError with the reason."""
    state = hass.states.get(entity_id)
    if state is None:
        raise ForecastError(f"{entity_id} does not exist")
    rates = await _forecast_solar(hass, entity_id)
    if rates is None:
        rates = parse_attributes(state.attributes)
    if not rates:
        raise ForecastError(f"{entity_id} has an empty forecast")
    return rates


def combine(forecasts: Iterable[list[Rate]]) -> list[Rate]:
    """Several forecasts as one: periods that start together add up (roof planes), the rest
    keep their own periods (today's and tomorrow's entities)."""
    by_start: dict[tuple[datetime, datetime], float] = {}
    for rates in forecasts:
        for rate in rates:
            key = (rate.start, rate.end)
            by_start[key] = by_start.get(key, 0.0) + rate.price
    return [Rate(start, end, watts) for (start, end), watts in sorted(by_start.items())]


class EntitySolarForecast(WatchedRatesTariff):
    """The site's solar forecast from its entities, read again whenever one changes."""

    def __init__(self, hass: HomeAssistant, entity_ids: Iterable[str], *, name: str) -> None:
        super().__init__(hass, name)
        self.entity_ids = list(entity_ids)
        self.problems: dict[str, str] = {}  # entity → why it has no forecast (logged once)

    async def async_watch(self) -> None:
        """Read the entities now and every time one changes (until `close`)."""
        await self._async_follow(self.entity_ids)

    async def async_refresh(self) -> None:
        forecasts: list[list[Rate]] = []
        for entity_id in self.entity_ids:
            try:
                forecasts.append(await async_read_solar_forecast(self.hass, entity_id))
            except ForecastError as err:
                if entity_id not in self.problems:
                    LOGGER.warning("%s: no solar forecast from %s: %s", self.name, entity_id, err)
                self.problems[entity_id] = str(err)
                continue
            if self.problems.pop(entity_id, None) is not None:
                LOGGER.info("%s: solar forecast from %s again", self.name, entity_id)
        rates = combine(forecasts)
        if rates != list(self._rates):
            self._replace(rates)

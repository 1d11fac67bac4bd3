"""A site's tariffs from its options: a fixed price, time-of-use zones, or a price entity of
another integration (Nord Pool, Tibber, EPEX Spot, Energi Data Service, Octopus Energy, any list
of slots); the feed-in price fixed or from a sensor.

A price entity is read when it changes (tomorrow's prices arrive in the afternoon), never in the
control cycle: `EntityPriceTariff` keeps the parsed rates in a `RatesTariff`, whose version tells
the planner when to plan again. An entity without usable prices leaves the tariff empty (no price,
plans start late) with one log line, and one more when prices are back; control goes on.
"""

from __future__ import annotations

import math
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import ATTR_UNIT_OF_MEASUREMENT, STATE_UNAVAILABLE, STATE_UNKNOWN
from homeassistant.core import Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.event import async_track_state_change_event
from homeassistant.util import dt as dt_util

from ..const import (
    CONF_CO2_ENTITY,
    CONF_FEEDIN_PRICE,
    CONF_FEEDIN_PRICE_ENTITY,
    CONF_GRID_PRICE,
    CONF_GRID_PRICE_ENTITY,
    CONF_GRID_ZONES,
    LOGGER,
)
from ..core.tariff import FixedTariff, Rate, RatesTariff, Tariff, parse_zones
from .price_entity import (
    PriceParse,
    PriceParseError,
    PriceShape,
    detect_shape,
    parse_nordpool_response,
    parse_prices,
    parse_tibber_response,
    parse_unit,
)

__all__ = [
    "DEMO_PRICE_KEY",
    "EntityPriceTariff",
    "SensorPriceTariff",
    "WatchedRatesTariff",
    "async_read_price_entity",
    "build_tariffs",
    "demo_price_unique_id",
]

DEMO_PRICE_KEY = "day_ahead_price"


def demo_price_unique_id(entry: ConfigEntry) -> str:
    """The unique id of a demo site's day-ahead price sensor (its grid tariff's source)."""
    return f"{entry.entry_id}_{DEMO_PRICE_KEY}"


async def async_read_price_entity(
    hass: HomeAssistant, entity_id: str, *, tz: tzinfo, currency: str
) -> PriceParse:
    """The prices of a Home Assistant entity, whatever its integration; `PriceParseError` when
    it has none. Core Nord Pool and Tibber sensors carry no list: their action is asked."""
    state = hass.states.get(entity_id)
    if state is None:
        raise PriceParseError("unavailable", f"{entity_id} does not exist")
    entry = er.async_get(hass).async_get(entity_id)
    platform = entry.platform if entry is not None else None
    now = dt_util.now()
    shape = detect_shape(state.state, state.attributes, platform=platform)
    if shape is PriceShape.NORDPOOL_CORE and entry is not None:
        responses = []
        for day in (now.date(), now.date() + timedelta(days=1)):
            response = await _action(
                hass,
                "nordpool",
                "get_prices_for_date",
                {"config_entry": entry.config_entry_id, "date": day.isoformat()},
            )
            if response is not None:
                responses.append(response)
        if not responses:
            raise PriceParseError("no_prices", "Nord Pool returned no prices")
        return parse_nordpool_response(responses, now=now, tz=tz, currency=currency)
    if shape is PriceShape.TIBBER_CORE:
        start = datetime.combine(now.date(), time(), tz)
        response = await _action(
            hass,
            "tibber",
            "get_prices",
            {"start": start.isoformat(), "end": (start + timedelta(days=2)).isoformat()},
        )
        if response is None:
            raise PriceParseError("no_prices", "Tibber returned no prices")
        return parse_tibber_response(response, now=now, tz=tz, currency=currency)
    return parse_prices(
        state.state, state.attributes, now=now, tz=tz, currency=currency, platform=platform
    )


async def _action(
    hass: HomeAssistant, domain: str, service: str, data: dict[str, Any]
) -> Mapping[str, Any] | None:
    """Ask a price integration's action (None when it refuses, e.g. tomorrow before 13:00)."""
    if not hass.services.has_service(domain, service):
        raise PriceParseError("action_required", f"{domain}.{service} is not available")
    try:
        response = await hass.services.async_call(
            domain, service, data, blocking=True, return_response=True
        )
    except (HomeAssistantError, ValueError) as err:
        LOGGER.debug("%s.%s %s: %s", domain, service, data, err)
        return None
    return response if isinstance(response, Mapping) else None


class WatchedRatesTariff(RatesTariff, ABC):
    """Rates read from entities whenever one of them changes (`async_refresh`, written by the
    subclass); `on_change` is told after the rates changed."""

    def __init__(self, hass: HomeAssistant, name: str) -> None:
        super().__init__()
        self.hass = hass
        self.name = name
        self.on_change: Callable[[], None] | None = None
        self._unsubscribe: Callable[[], None] | None = None

    @abstractmethod
    async def async_refresh(self) -> None:
        """Read the entities and `_replace` the rates when they changed."""

    async def _async_follow(self, entity_ids: list[str]) -> None:
        """Read now, and again every time one of `entity_ids` changes (until `close`)."""
        self.close()

        @callback
        def changed(_event: Event[EventStateChangedData]) -> None:
            self.hass.async_create_background_task(self.async_refresh(), f"read {self.name}")

        self._unsubscribe = async_track_state_change_event(self.hass, entity_ids, changed)
        await self.async_refresh()

    def _replace(self, rates: Iterable[Rate]) -> None:
        self.replace(rates)
        if self.on_change is not None:
            self.on_change()

    def close(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None


class EntityPriceTariff(WatchedRatesTariff):
    """The rates of a price entity, read again whenever the entity changes."""

    def __init__(
        self,
        hass: HomeAssistant,
        entity_id: str | None,
        *,
        tz: tzinfo,
        currency: str,
        name: str,
    ) -> None:
        super().__init__(hass, name)
        self.entity_id = entity_id
        self.tz = tz
        self.currency = currency
        self.problem: str | None = None  # why there are no prices now (logged once)
        self.parse: PriceParse | None = None

    async def async_watch(self, entity_id: str | None = None) -> None:
        """Read the entity now and every time it changes (until `close`)."""
        if entity_id is not None:
            self.entity_id = entity_id
        if self.entity_id is not None:
            await self._async_follow([self.entity_id])

    async def async_refresh(self) -> None:
        assert self.entity_id is not None
        try:
            parse = await async_read_price_entity(
                self.hass, self.entity_id, tz=self.tz, currency=self.currency
            )
        except PriceParseError as err:
            if self.problem is None:
                LOGGER.warning("%s has no prices from %s: %s", self.name, self.entity_id, err)
            self.problem = str(err)
            self.parse = None
            if self.rates(dt_util.now()):
                self._replace([])
            return
        if self.problem is not None:
            LOGGER.info("%s has prices from %s again", self.name, self.entity_id)
            self.problem = None
        self.parse = parse
        if list(parse.rates) != list(self._rates):
            self._replace(parse.rates)


class SensorPriceTariff:
    """A price that is the state of a sensor (a feed-in price helper): no forecast, the price of
    the day is the sensor's value now."""

    dynamic = False
    version = 0

    def __init__(self, hass: HomeAssistant, entity_id: str, *, tz: tzinfo, currency: str) -> None:
        self.hass = hass
        self.entity_id = entity_id
        self.tz = tz
        self.currency = currency

    def price_at(self, when: datetime) -> float | None:
        state = self.hass.states.get(self.entity_id)
        if state is None or state.state in (STATE_UNAVAILABLE, STATE_UNKNOWN):
            return None
        try:
            value = float(state.state)
        except ValueError:
            return None
        factor = self._factor(state.attributes.get(ATTR_UNIT_OF_MEASUREMENT))
        return value * factor if factor is not None and math.isfinite(value) else None

    def _factor(self, unit_text: object) -> float | None:
        """What turns the sensor's value into the tariff's unit (None: it cannot be used)."""
        unit = parse_unit(unit_text, currency=self.currency)
        return unit.factor if unit is not None else 1.0

    def rates(self, now: datetime) -> list[Rate]:
        price = self.price_at(now)
        if price is None:
            return []
        day: date = now.astimezone(self.tz).date()
        start = datetime.combine(day, time(), self.tz)
        return [Rate(start, datetime.combine(day + timedelta(days=1), time(), self.tz), price)]


# gCO₂eq/kWh as CO2 Signal / Electricity Maps write it, g/kWh, kg/kWh (and kgCO2/MWh = g/kWh)
_CO2_UNIT = re.compile(r"^(k?g)\s*(?:co2|co₂)?(?:eq|e|-eq)?\s*/\s*([km]?wh)$", re.IGNORECASE)
MAX_CO2 = 5_000.0  # g/kWh: lignite is about 1 100


def co2_factor(unit_text: object) -> float | None:
    """The factor from a CO₂ intensity unit to g/kWh; None for anything else."""
    match = _CO2_UNIT.match(str(unit_text or "").strip())
    if match is None:
        return None
    mass = 1000.0 if match.group(1).lower() == "kg" else 1.0
    energy = {"wh": 1000.0, "kwh": 1.0, "mwh": 0.001}[match.group(2).lower()]
    return mass * energy


class SensorCo2Tariff(SensorPriceTariff):
    """evcc's co2 tariff from a sensor of the grid's CO₂ intensity (CO2 Signal, Electricity
    Maps, a template): its value now in g CO₂eq/kWh; no forecast."""

    def __init__(self, hass: HomeAssistant, entity_id: str, *, tz: tzinfo) -> None:
        super().__init__(hass, entity_id, tz=tz, currency="")

    def _factor(self, unit_text: object) -> float | None:
        return co2_factor(unit_text)

    def price_at(self, when: datetime) -> float | None:
        value = super().price_at(when)
        return value if value is not None and 0.0 <= value <= MAX_CO2 else None


def co2_sensor_problem(hass: HomeAssistant, entity_id: str) -> str | None:
    """Why an entity cannot be the CO₂ tariff (None: it can)."""
    state = hass.states.get(entity_id)
    if state is None:
        return "entity_not_found"
    if co2_factor(state.attributes.get(ATTR_UNIT_OF_MEASUREMENT)) is None:
        return "invalid_co2_sensor"
    return None


def build_tariffs(
    hass: HomeAssistant, options: Mapping[str, Any], *, tz: tzinfo, currency: str, site: str
) -> tuple[dict[str, Tariff], list[EntityPriceTariff]]:
    """The tariffs of a site's options, and the price entities to watch (started by the caller).
    A bad zone text raises `ValueError` (the options flow never stores one)."""
    tariffs: dict[str, Tariff] = {}
    watched: list[EntityPriceTariff] = []
    if entity_id := options.get(CONF_GRID_PRICE_ENTITY):
        grid = EntityPriceTariff(
            hass, entity_id, tz=tz, currency=currency, name=f"Grid tariff of {site}"
        )
        tariffs["grid"] = grid
        watched.append(grid)
    elif options.get(CONF_GRID_PRICE) is not None or options.get(CONF_GRID_ZONES):
        zones = parse_zones(options.get(CONF_GRID_ZONES) or "")
        tariffs["grid"] = FixedTariff(float(options.get(CONF_GRID_PRICE) or 0.0), zones, tz)
    if entity_id := options.get(CONF_FEEDIN_PRICE_ENTITY):
        tariffs["feedin"] = SensorPriceTariff(hass, entity_id, tz=tz, currency=currency)
    elif options.get(CONF_FEEDIN_PRICE) is not None:
        tariffs["feedin"] = FixedTariff(float(options[CONF_FEEDIN_PRICE]), tz=tz)
    if entity_id := options.get(CONF_CO2_ENTITY):
        tariffs["co2"] = SensorCo2Tariff(hass, entity_id, tz=tz)
    return tariffs, watched

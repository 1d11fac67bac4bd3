"""Sensors: what the site measures and what each loadpoint does."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, tzinfo
from typing import Any

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import (
    PERCENTAGE,
    EntityCategory,
    UnitOfElectricCurrent,
    UnitOfEnergy,
    UnitOfLength,
    UnitOfPower,
    UnitOfTime,
)
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.event import async_track_time_change
from homeassistant.helpers.typing import StateType
from homeassistant.util import dt as dt_util

from .coordinator import EvccConfigEntry, EvccCoordinator
from .core.circuit import Circuit
from .core.controller import circuit_device_key
from .core.loadpoint import Loadpoint
from .core.model import (
    BatteryMode,
    PhaseAction,
    PvAction,
    SiteConfig,
    Status,
)
from .devices.demo import demo_day_ahead_prices, demo_prices_published
from .devices.tariffs import DEMO_PRICE_KEY, demo_price_unique_id
from .entity import (
    EvccEntity,
    add_loadpoint_entities,
    circuit_device_info,
    circuit_key,
    site_device_info,
    vehicle_reports,
)

PARALLEL_UPDATES = 0

Doc = dict[str, Any]


@dataclass(frozen=True, kw_only=True)
class EvccLoadpointSensorEntityDescription(SensorEntityDescription):
    """A loadpoint sensor: `value_fn` reads the loadpoint's part of the state document."""

    value_fn: Callable[[Doc], StateType | datetime]
    exists_fn: Callable[[Loadpoint], bool] = lambda _: True
    vehicle_values: bool = False  # from the car's integration: unavailable while it fails


@dataclass(frozen=True, kw_only=True)
class EvccSiteSensorEntityDescription(SensorEntityDescription):
    """A site sensor; unavailable while one of the meter groups in `meters` fails."""

    value_fn: Callable[[Doc], StateType]
    exists_fn: Callable[[SiteConfig], bool] = lambda _: True
    meters: tuple[str, ...] = ()
    tariff: str | None = None  # exists when the site has this tariff


def _float(value: float | None) -> float | None:
    """A measured value as a float (the state document prints whole numbers as integers)."""
    return None if value is None else float(value)


def _kwh(wh: float | None) -> float | None:
    return None if wh is None else round(wh / 1000.0, 4)


def _percent(share: float | None) -> float | None:
    return None if share is None else round(share * 100.0, 2)


def _time(value: str | None) -> datetime | None:
    return dt_util.parse_datetime(value) if value else None


def _site_power(
    key: str,
    meters: tuple[str, ...],
    state_key: str,
    exists_fn: Callable[[SiteConfig], bool] = lambda _: True,
) -> EvccSiteSensorEntityDescription:
    """A site power sensor in W, unavailable while one of its `meters` fails."""
    return EvccSiteSensorEntityDescription(
        key=key,
        translation_key=key,
        device_class=SensorDeviceClass.POWER,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfPower.WATT,
        suggested_display_precision=0,
        meters=meters,
        exists_fn=exists_fn,
        value_fn=lambda doc: _float(doc.get(state_key)),
    )


def _status(lp: Doc) -> str:
    """IEC 61851 status from what the state document says (A/B/C as evcc reduces it)."""
    if lp["charging"]:
        return Status.C.value.lower()
    return (Status.B if lp["connected"] else Status.A).value.lower()


LOADPOINT_SENSORS: tuple[EvccLoadpointSensorEntityDescription, ...] = (
    EvccLoadpointSensorEntityDescription(
        key="charge_power",
        translation_key="charge_power",
        device_class=SensorDeviceClass.POWER,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfPower.WATT,
        suggested_display_precision=0,
        value_fn=lambda lp: _float(lp["chargePower"]),
    ),
    EvccLoadpointSensorEntityDescription(
        key="offered_current",
        translation_key="offered_current",
        device_class=SensorDeviceClass.CURRENT,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfElectricCurrent.AMPERE,
        suggested_display_precision=1,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda lp: _float(lp["offeredCurrent"]),
    ),
    EvccLoadpointSensorEntityDescription(
        key="active_phases",
        translation_key="active_phases",
        state_class=SensorStateClass.MEASUREMENT,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda lp: lp["phasesActive"],
    ),
    EvccLoadpointSensorEntityDescription(
        key="session_energy",
        translation_key="session_energy",
        device_class=SensorDeviceClass.ENERGY,
        state_class=SensorStateClass.TOTAL_INCREASING,
        native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        suggested_display_precision=2,
        value_fn=lambda lp: _kwh(lp["sessionEnergy"]),
    ),
    EvccLoadpointSensorEntityDescription(
        key="lifetime_energy",
        translation_key="lifetime_energy",
        device_class=SensorDeviceClass.ENERGY,
        state_class=SensorStateClass.TOTAL_INCREASING,
        native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        suggested_display_precision=2,
        value_fn=lambda lp: _float(lp["lifetimeEnergy"]),
    ),
    EvccLoadpointSensorEntityDescription(
        key="charge_duration",
        translation_key="charge_duration",
        device_class=SensorDeviceClass.DURATION,
        native_unit_of_measurement=UnitOfTime.SECONDS,
        suggested_unit_of_measurement=UnitOfTime.MINUTES,
        suggested_display_precision=0,
        value_fn=lambda lp: lp["chargeDuration"],
    ),
    EvccLoadpointSensorEntityDescription(
        key="charge_remaining_duration",
        translation_key="charge_remaining_duration",
        device_class=SensorDeviceClass.DURATION,
        native_unit_of_measurement=UnitOfTime.SECONDS,
        suggested_unit_of_measurement=UnitOfTime.MINUTES,
        suggested_display_precision=0,
        value_fn=lambda lp: lp["chargeRemainingDuration"],
    ),
    EvccLoadpointSensorEntityDescription(
        key="charge_remaining_energy",
        translation_key="charge_remaining_energy",
        device_class=SensorDeviceClass.ENERGY,
        native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        suggested_display_precision=2,
        value_fn=lambda lp: _kwh(lp["chargeRemainingEnergy"]),
    ),
    EvccLoadpointSensorEntityDescription(
        key="vehicle_soc",
        translation_key="vehicle_soc",
        device_class=SensorDeviceClass.BATTERY,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=PERCENTAGE,
        suggested_display_precision=0,
        exists_fn=lambda lp: vehicle_reports(lp, "soc"),
        # evcc publishes 0 while the SoC is unknown; unplugged it is unknown here
        value_fn=lambda lp: _float(lp["vehicleSoc"]) if lp["connected"] else None,
    ),
    # from the car's integration (configured with the vehicle); 0 while it tells nothing
    EvccLoadpointSensorEntityDescription(
        key="vehicle_range",
        translation_key="vehicle_range",
        device_class=SensorDeviceClass.DISTANCE,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfLength.KILOMETERS,
        exists_fn=lambda lp: vehicle_reports(lp, "range"),
        vehicle_values=True,
        # 0: not known (evcc's state has no other word for it; a car at 0 km is at 0 % too)
        value_fn=lambda lp: _float(lp["vehicleRange"]) or None,
    ),
    EvccLoadpointSensorEntityDescription(
        key="vehicle_odometer",
        translation_key="vehicle_odometer",
        device_class=SensorDeviceClass.DISTANCE,
        state_class=SensorStateClass.TOTAL_INCREASING,
        native_unit_of_measurement=UnitOfLength.KILOMETERS,
        exists_fn=lambda lp: vehicle_reports(lp, "odometer"),
        vehicle_values=True,
        value_fn=lambda lp: _float(lp["vehicleOdometer"]) or None,  # 0: not known
    ),
    EvccLoadpointSensorEntityDescription(
        key="vehicle_limit_soc",
        translation_key="vehicle_limit_soc",
        device_class=SensorDeviceClass.BATTERY,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=PERCENTAGE,
        exists_fn=lambda lp: vehicle_reports(lp, "limit_soc"),
        vehicle_values=True,
        value_fn=lambda lp: _float(lp["vehicleLimitSoc"]) or None,  # 0: not known
    ),
    EvccLoadpointSensorEntityDescription(
        key="session_solar_percentage",
        translation_key="session_solar_percentage",
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=PERCENTAGE,
        suggested_display_precision=0,
        value_fn=lambda lp: _float(lp["sessionSolarPercentage"]),
    ),
    EvccLoadpointSensorEntityDescription(
        key="charger_status",
        translation_key="charger_status",
        device_class=SensorDeviceClass.ENUM,
        options=[status.value.lower() for status in Status],
        value_fn=_status,
    ),
    EvccLoadpointSensorEntityDescription(
        key="pv_action",
        translation_key="pv_action",
        device_class=SensorDeviceClass.ENUM,
        options=[action.value for action in PvAction],
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda lp: lp["pvAction"],
    ),
    EvccLoadpointSensorEntityDescription(
        key="phase_action",
        translation_key="phase_action",
        device_class=SensorDeviceClass.ENUM,
        options=[action.value for action in PhaseAction],
        entity_category=EntityCategory.DIAGNOSTIC,
        exists_fn=lambda lp: lp.config.charger.phases_switchable,
        value_fn=lambda lp: lp["phaseAction"],
    ),
    EvccLoadpointSensorEntityDescription(
        key="plan_projected_start",
        translation_key="plan_projected_start",
        device_class=SensorDeviceClass.TIMESTAMP,
        value_fn=lambda lp: _time(lp["planProjectedStart"]),
    ),
)

SITE_SENSORS: tuple[EvccSiteSensorEntityDescription, ...] = (
    _site_power("grid_power", ("grid",), "gridPower"),
    _site_power("pv_power", ("pv",), "pvPower", lambda config: config.pv_configured),
    _site_power("home_power", ("grid", "pv", "battery"), "homePower"),
    _site_power(
        "battery_power", ("battery",), "batteryPower", lambda config: config.battery_configured
    ),
    EvccSiteSensorEntityDescription(
        key="battery_soc",
        translation_key="battery_soc",
        device_class=SensorDeviceClass.BATTERY,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=PERCENTAGE,
        suggested_display_precision=0,
        meters=("battery",),
        exists_fn=lambda config: config.battery_configured,
        value_fn=lambda doc: _float(doc.get("batterySoc")),
    ),
    # the mode battery control set (evcc's batteryMode)
    EvccSiteSensorEntityDescription(
        key="battery_mode",
        translation_key="battery_mode",
        device_class=SensorDeviceClass.ENUM,
        options=[mode.value for mode in BatteryMode],
        exists_fn=lambda config: config.battery_controllable,
        value_fn=lambda doc: doc.get("batteryMode"),
    ),
    EvccSiteSensorEntityDescription(
        key="green_share_home",
        translation_key="green_share_home",
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=PERCENTAGE,
        suggested_display_precision=0,
        meters=("grid", "pv", "battery"),
        value_fn=lambda doc: _percent(doc.get("greenShareHome")),
    ),
    EvccSiteSensorEntityDescription(
        key="green_share_loadpoints",
        translation_key="green_share_loadpoints",
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=PERCENTAGE,
        suggested_display_precision=0,
        meters=("grid", "pv", "battery"),
        value_fn=lambda doc: _percent(doc.get("greenShareLoadpoints")),
    ),
)

PRICE_SENSORS: tuple[EvccSiteSensorEntityDescription, ...] = (
    EvccSiteSensorEntityDescription(
        key="grid_price",
        translation_key="grid_price",
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=3,
        tariff="grid",
        value_fn=lambda doc: _float(doc.get("tariffGrid")),
    ),
    EvccSiteSensorEntityDescription(
        key="feedin_price",
        translation_key="feedin_price",
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=3,
        tariff="feedin",
        value_fn=lambda doc: _float(doc.get("tariffFeedIn")),
    ),
)


def _solar(doc: Doc) -> Doc | None:
    solar: Doc | None = doc.get("forecast", {}).get("solar")
    return solar


def _solar_today_kwh(doc: Doc) -> float | None:
    """The forecast energy left today, scaled to today's production while `solarAdjusted` is
    on (as evcc's energy flow shows it)."""
    if (solar := _solar(doc)) is None:
        return None
    factor = solar["scale"] if doc.get("solarAdjusted") else 1
    return _kwh(solar["today"]["energy"] * factor)


def _solar_scale_percent(doc: Doc) -> float | None:
    solar = _solar(doc)
    return None if solar is None else _percent(solar["scale"])


FORECAST_SENSORS: tuple[EvccSiteSensorEntityDescription, ...] = (
    EvccSiteSensorEntityDescription(
        key="solar_forecast_today",
        translation_key="solar_forecast_today",
        device_class=SensorDeviceClass.ENERGY,
        native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        suggested_display_precision=1,
        tariff="solar",
        value_fn=_solar_today_kwh,
    ),
    # evcc's forecast scale: today's production so far as a share of its forecast
    EvccSiteSensorEntityDescription(
        key="solar_forecast_scale",
        translation_key="solar_forecast_scale",
        entity_category=EntityCategory.DIAGNOSTIC,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=PERCENTAGE,
        suggested_display_precision=0,
        tariff="solar",
        value_fn=_solar_scale_percent,
    ),
)


@dataclass(frozen=True, kw_only=True)
class EvccCircuitSensorEntityDescription(SensorEntityDescription):
    """A value of one circuit (load management), from `circuits.<name>` of the state."""

    value_fn: Callable[[Doc], StateType]
    exists_fn: Callable[[Circuit], bool] = lambda _: True


CIRCUIT_SENSORS: tuple[EvccCircuitSensorEntityDescription, ...] = (
    EvccCircuitSensorEntityDescription(
        key="power",
        translation_key="circuit_power",
        device_class=SensorDeviceClass.POWER,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfPower.WATT,
        suggested_display_precision=0,
        value_fn=lambda c: _float(c["power"]),
    ),
    EvccCircuitSensorEntityDescription(
        key="current",
        translation_key="circuit_current",
        device_class=SensorDeviceClass.CURRENT,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfElectricCurrent.AMPERE,
        suggested_display_precision=1,
        exists_fn=lambda c: c.max_current > 0,
        value_fn=lambda c: _float(c.get("current")),
    ),
    # the maximum power in force: an external limit (§14a dimming) shows here
    EvccCircuitSensorEntityDescription(
        key="max_power",
        translation_key="circuit_max_power",
        device_class=SensorDeviceClass.POWER,
        entity_category=EntityCategory.DIAGNOSTIC,
        native_unit_of_measurement=UnitOfPower.WATT,
        suggested_display_precision=0,
        exists_fn=lambda c: c.config.max_power > 0 or c.config.limited,
        value_fn=lambda c: _float(c.get("maxPower")),
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: EvccConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Set up the sensors of a site and its loadpoints."""
    coordinator = entry.runtime_data.coordinator
    config = coordinator.site.config
    async_add_entities(
        EvccSiteSensor(coordinator, description)
        for description in SITE_SENSORS
        if description.exists_fn(config)
    )
    currency = hass.config.currency or "EUR"
    async_add_entities(
        EvccSiteSensor(coordinator, description, unit=f"{currency}/kWh")
        for description in PRICE_SENSORS
        if description.tariff in coordinator.site.tariffs
    )
    async_add_entities(
        EvccSiteSensor(coordinator, description)
        for description in FORECAST_SENSORS
        if description.tariff in coordinator.site.tariffs
    )
    # each circuit's sensors are on its device in its subentry: removing the circuit removes them
    for index, circuit in enumerate(coordinator.site.circuits.values()):
        async_add_entities(
            (
                EvccCircuitSensor(coordinator, description, index, circuit)
                for description in CIRCUIT_SENSORS
                if description.exists_fn(circuit)
            ),
            config_subentry_id=coordinator.circuit_subentry_ids[index],
        )
    if coordinator.demo is not None:
        async_add_entities(
            [DemoDayAheadPriceSensor(entry, coordinator.demo.tz or dt_util.get_default_time_zone())]
        )
    add_loadpoint_entities(
        coordinator,
        async_add_entities,
        lambda lp: (
            EvccLoadpointSensor(coordinator, description, lp.index)
            for description in LOADPOINT_SENSORS
            if description.exists_fn(lp)
        ),
    )


class EvccLoadpointSensor(EvccEntity, SensorEntity):
    entity_description: EvccLoadpointSensorEntityDescription

    @property
    def native_value(self) -> StateType | datetime:
        return self.entity_description.value_fn(self.loadpoint_doc)


class EvccSiteSensor(EvccEntity, SensorEntity):
    entity_description: EvccSiteSensorEntityDescription

    def __init__(
        self,
        coordinator: EvccCoordinator,
        description: EvccSiteSensorEntityDescription,
        *,
        unit: str | None = None,
    ) -> None:
        super().__init__(coordinator, description)
        if unit is not None:
            self._attr_native_unit_of_measurement = unit

    @property
    def available(self) -> bool:
        return super().available and self.coordinator.data.meters_ok(
            *self.entity_description.meters
        )

    @property
    def native_value(self) -> StateType:
        return self.entity_description.value_fn(self.state_doc)


class EvccCircuitSensor(EvccEntity, SensorEntity):
    """A value of a circuit, on the circuit's device; unavailable while the circuit's meter
    fails (its last values stand in the state for evcc's timeout)."""

    entity_description: EvccCircuitSensorEntityDescription

    def __init__(
        self,
        coordinator: EvccCoordinator,
        description: EvccCircuitSensorEntityDescription,
        index: int,
        circuit: Circuit,
    ) -> None:
        key = f"circuit_{circuit_key(coordinator, index)}_{description.key}"
        super().__init__(coordinator, replace(description, key=key))
        self._attr_device_info = circuit_device_info(coordinator.config_entry, index)
        self.circuit_name = circuit.name
        self.device_key = circuit_device_key(index)

    @property
    def available(self) -> bool:
        return super().available and self.device_key not in self.coordinator.data.failed

    @property
    def native_value(self) -> StateType:
        return self.entity_description.value_fn(self.state_doc["circuits"][self.circuit_name])


class DemoDayAheadPriceSensor(SensorEntity):
    """The demo site's simulated day-ahead market price, shaped like the custom Nord Pool
    sensor (`raw_today`, `raw_tomorrow`): today's quarter hours, tomorrow's from 13:00. The demo
    reads its grid tariff from it the way a real site reads a price entity."""

    _attr_has_entity_name = True
    _attr_translation_key = DEMO_PRICE_KEY
    _attr_state_class = SensorStateClass.MEASUREMENT
    _attr_suggested_display_precision = 3
    _attr_should_poll = False
    # the price lists change twice a day and are long: kept out of the recorder
    _unrecorded_attributes = frozenset({"raw_today", "raw_tomorrow", "today", "tomorrow"})

    def __init__(self, entry: EvccConfigEntry, tz: tzinfo) -> None:
        self._tz = tz
        self._attr_unique_id = demo_price_unique_id(entry)
        self._attr_device_info = site_device_info(entry, entry.runtime_data.coordinator.site)
        self._currency = entry.runtime_data.coordinator.hass.config.currency or "EUR"
        self._attr_native_unit_of_measurement = f"{self._currency}/kWh"

    async def async_added_to_hass(self) -> None:
        self._refresh()
        # a new quarter hour is a new price (and at 13:00 tomorrow's prices appear)
        self.async_on_remove(
            async_track_time_change(
                self.hass, self._async_quarter, minute=(0, 15, 30, 45), second=0
            )
        )

    @callback
    def _async_quarter(self, _now: datetime) -> None:
        self._refresh()
        self.async_write_ha_state()

    def _refresh(self) -> None:
        now = dt_util.now()
        days = [
            demo_day_ahead_prices(day, self._tz) for day in demo_prices_published(now, self._tz)
        ]
        self._attr_native_value = next(
            (price for start, end, price in days[0] if start <= now < end), None
        )
        today, tomorrow = [
            [{"start": start, "end": end, "value": price} for start, end, price in slots]
            for slots in (days[0], days[1] if len(days) > 1 else [])
        ]
        self._attr_extra_state_attributes = {
            "currency": self._currency,
            "unit": "kWh",
            "price_in_cents": False,
            "today": [slot["value"] for slot in today],
            "tomorrow": [slot["value"] for slot in tomorrow],
            "tomorrow_valid": bool(tomorrow),
            "raw_today": today,
            "raw_tomorrow": tomorrow,
        }

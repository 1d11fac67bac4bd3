"""Sensors: what the site measures and what each loadpoint does."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

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
    UnitOfPower,
    UnitOfTime,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.typing import StateType

from .coordinator import EvccCoordinator
from .core.loadpoint import Loadpoint
from .core.model import PhaseAction, PvAction, Status
from .core.site import Site, SiteMeasurements
from .data import EvccConfigEntry
from .entity import EvccEntity, add_loadpoint_entities

PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class EvccLoadpointSensorEntityDescription(SensorEntityDescription):
    """A loadpoint sensor: `value_fn` reads the core's loadpoint."""

    value_fn: Callable[[Loadpoint], StateType | datetime]
    exists_fn: Callable[[Loadpoint], bool] = lambda _: True


@dataclass(frozen=True, kw_only=True)
class EvccSiteSensorEntityDescription(SensorEntityDescription):
    """A site sensor; unavailable while one of the meter groups in `meters` fails."""

    value_fn: Callable[[Site], StateType]
    exists_fn: Callable[[Site], bool] = lambda _: True
    meters: tuple[str, ...] = ()


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def _site_power(
    key: str,
    meters: tuple[str, ...],
    value_fn: Callable[[SiteMeasurements], float],
    exists_fn: Callable[[Site], bool] = lambda _: True,
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
        value_fn=lambda site: round(value_fn(site.measurements), 1),
    )


def _status(lp: Loadpoint) -> str | None:
    return lp.status.value.lower() if lp.status is not None else None


LOADPOINT_SENSORS: tuple[EvccLoadpointSensorEntityDescription, ...] = (
    EvccLoadpointSensorEntityDescription(
        key="charge_power",
        translation_key="charge_power",
        device_class=SensorDeviceClass.POWER,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfPower.WATT,
        suggested_display_precision=0,
        value_fn=lambda lp: round(lp.charge_power, 1),
    ),
    EvccLoadpointSensorEntityDescription(
        key="offered_current",
        translation_key="offered_current",
        device_class=SensorDeviceClass.CURRENT,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfElectricCurrent.AMPERE,
        suggested_display_precision=1,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda lp: round(lp.offered_current, 2),
    ),
    EvccLoadpointSensorEntityDescription(
        key="active_phases",
        translation_key="active_phases",
        state_class=SensorStateClass.MEASUREMENT,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda lp: lp.active_phases,
    ),
    EvccLoadpointSensorEntityDescription(
        key="session_energy",
        translation_key="session_energy",
        device_class=SensorDeviceClass.ENERGY,
        state_class=SensorStateClass.TOTAL_INCREASING,
        native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        suggested_display_precision=2,
        value_fn=lambda lp: round(lp.session_energy_wh / 1000.0, 4),
    ),
    EvccLoadpointSensorEntityDescription(
        key="lifetime_energy",
        translation_key="lifetime_energy",
        device_class=SensorDeviceClass.ENERGY,
        state_class=SensorStateClass.TOTAL_INCREASING,
        native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        suggested_display_precision=2,
        value_fn=lambda lp: round(lp.energy.lifetime_wh / 1000.0, 4),
    ),
    EvccLoadpointSensorEntityDescription(
        key="charge_duration",
        translation_key="charge_duration",
        device_class=SensorDeviceClass.DURATION,
        native_unit_of_measurement=UnitOfTime.SECONDS,
        suggested_unit_of_measurement=UnitOfTime.MINUTES,
        suggested_display_precision=0,
        value_fn=lambda lp: round(lp.charge_duration),
    ),
    EvccLoadpointSensorEntityDescription(
        key="charge_remaining_duration",
        translation_key="charge_remaining_duration",
        device_class=SensorDeviceClass.DURATION,
        native_unit_of_measurement=UnitOfTime.SECONDS,
        suggested_unit_of_measurement=UnitOfTime.MINUTES,
        suggested_display_precision=0,
        value_fn=lambda lp: round(lp.remaining_duration()),
    ),
    EvccLoadpointSensorEntityDescription(
        key="charge_remaining_energy",
        translation_key="charge_remaining_energy",
        device_class=SensorDeviceClass.ENERGY,
        native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        suggested_display_precision=2,
        value_fn=lambda lp: round(lp.remaining_energy_wh() / 1000.0, 4),
    ),
    EvccLoadpointSensorEntityDescription(
        key="vehicle_soc",
        translation_key="vehicle_soc",
        device_class=SensorDeviceClass.BATTERY,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=PERCENTAGE,
        suggested_display_precision=0,
        exists_fn=lambda lp: lp.has_soc,
        value_fn=lambda lp: _round(lp.vehicle_soc, 1),
    ),
    EvccLoadpointSensorEntityDescription(
        key="session_solar_percentage",
        translation_key="session_solar_percentage",
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=PERCENTAGE,
        suggested_display_precision=0,
        value_fn=lambda lp: round(lp.session_solar_percentage, 2),
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
        value_fn=lambda lp: lp.pv_action.value,
    ),
    EvccLoadpointSensorEntityDescription(
        key="phase_action",
        translation_key="phase_action",
        device_class=SensorDeviceClass.ENUM,
        options=[action.value for action in PhaseAction],
        entity_category=EntityCategory.DIAGNOSTIC,
        exists_fn=lambda lp: lp.config.charger.phases_switchable,
        value_fn=lambda lp: lp.phase_action.value,
    ),
    EvccLoadpointSensorEntityDescription(
        key="plan_projected_start",
        translation_key="plan_projected_start",
        device_class=SensorDeviceClass.TIMESTAMP,
        value_fn=lambda lp: lp.planner.projected_start,
    ),
)

SITE_SENSORS: tuple[EvccSiteSensorEntityDescription, ...] = (
    _site_power("grid_power", ("grid",), lambda m: m.grid_power),
    _site_power("pv_power", ("pv",), lambda m: m.pv_power, lambda site: site.config.pv_configured),
    _site_power("home_power", ("grid", "pv", "battery"), lambda m: m.home_power),
    _site_power(
        "battery_power",
        ("battery",),
        lambda m: m.battery_power,
        lambda site: site.config.battery_configured,
    ),
    EvccSiteSensorEntityDescription(
        key="battery_soc",
        translation_key="battery_soc",
        device_class=SensorDeviceClass.BATTERY,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=PERCENTAGE,
        suggested_display_precision=0,
        meters=("battery",),
        exists_fn=lambda site: site.config.battery_configured,
        value_fn=lambda site: _round(site.measurements.battery_soc, 1),
    ),
    EvccSiteSensorEntityDescription(
        key="green_share_home",
        translation_key="green_share_home",
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=PERCENTAGE,
        suggested_display_precision=0,
        meters=("grid", "pv", "battery"),
        value_fn=lambda site: round(site.measurements.green_share_home * 100.0, 2),
    ),
    EvccSiteSensorEntityDescription(
        key="green_share_loadpoints",
        translation_key="green_share_loadpoints",
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=PERCENTAGE,
        suggested_display_precision=0,
        meters=("grid", "pv", "battery"),
        value_fn=lambda site: round(site.measurements.green_share_loadpoints * 100.0, 2),
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: EvccConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Set up the sensors of a site and its loadpoints."""
    coordinator = entry.runtime_data.coordinator
    site = coordinator.site
    async_add_entities(
        EvccSiteSensor(coordinator, description)
        for description in SITE_SENSORS
        if description.exists_fn(site)
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
        return self.entity_description.value_fn(self.loadpoint)


class EvccSiteSensor(EvccEntity, SensorEntity):
    entity_description: EvccSiteSensorEntityDescription

    def __init__(
        self, coordinator: EvccCoordinator, description: EvccSiteSensorEntityDescription
    ) -> None:
        super().__init__(coordinator, description)

    @property
    def available(self) -> bool:
        data = self.coordinator.data
        return (
            super().available
            and data is not None
            and data.meters_ok(*self.entity_description.meters)
        )

    @property
    def native_value(self) -> StateType:
        return self.entity_description.value_fn(self.coordinator.site)

"""Binary sensors: is a vehicle connected, is it charging, is the charger enabled, is a plan on."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from homeassistant.components.binary_sensor import (
    BinarySensorDeviceClass,
    BinarySensorEntity,
    BinarySensorEntityDescription,
)
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .coordinator import EvccConfigEntry
from .core.loadpoint import Loadpoint
from .entity import EvccEntity, add_loadpoint_entities, vehicle_reports

PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class EvccBinarySensorEntityDescription(BinarySensorEntityDescription):
    """A loadpoint binary sensor: `is_on_fn` reads the loadpoint's state document."""

    is_on_fn: Callable[[dict[str, Any]], bool]
    needs_tariff: bool = False  # only on sites with a grid (planner) tariff
    exists_fn: Callable[[Loadpoint], bool] = lambda _lp: True
    vehicle_values: bool = False  # from the car's integration: unavailable while it fails


LOADPOINT_BINARY_SENSORS: tuple[EvccBinarySensorEntityDescription, ...] = (
    EvccBinarySensorEntityDescription(
        key="connected",
        translation_key="connected",
        device_class=BinarySensorDeviceClass.PLUG,
        is_on_fn=lambda lp: lp["connected"],
    ),
    EvccBinarySensorEntityDescription(
        key="charging",
        translation_key="charging",
        device_class=BinarySensorDeviceClass.BATTERY_CHARGING,
        is_on_fn=lambda lp: lp["charging"],
    ),
    EvccBinarySensorEntityDescription(
        key="enabled",
        translation_key="enabled",
        entity_category=EntityCategory.DIAGNOSTIC,
        is_on_fn=lambda lp: lp["enabled"],
    ),
    EvccBinarySensorEntityDescription(
        key="plan_active",
        translation_key="plan_active",
        is_on_fn=lambda lp: lp["planActive"],
    ),
    # the price now is at most the loadpoint's smart cost limit: it charges at full power
    EvccBinarySensorEntityDescription(
        key="smart_cost_active",
        translation_key="smart_cost_active",
        needs_tariff=True,
        is_on_fn=lambda lp: lp["smartCostActive"],
    ),
    # from the car's integration (configured with the vehicle)
    EvccBinarySensorEntityDescription(
        key="vehicle_climater",
        translation_key="vehicle_climater",
        exists_fn=lambda lp: vehicle_reports(lp, "climater"),
        vehicle_values=True,
        is_on_fn=lambda lp: lp["vehicleClimaterActive"],
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: EvccConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Set up the binary sensors of every loadpoint."""
    coordinator = entry.runtime_data.coordinator
    has_tariff = coordinator.site.planner_tariff() is not None
    if coordinator.site.config.battery_chargeable:
        async_add_entities([GridChargeBinarySensor(coordinator, GRID_CHARGE)])
    add_loadpoint_entities(
        coordinator,
        async_add_entities,
        lambda lp: (
            EvccBinarySensor(coordinator, description, lp.index)
            for description in LOADPOINT_BINARY_SENSORS
            if (has_tariff or not description.needs_tariff) and description.exists_fn(lp)
        ),
    )


# the home battery charges from the grid now (evcc's batteryGridChargeActive)
GRID_CHARGE = BinarySensorEntityDescription(
    key="battery_grid_charge", translation_key="battery_grid_charge"
)


class GridChargeBinarySensor(EvccEntity, BinarySensorEntity):
    @property
    def is_on(self) -> bool:
        return bool(self.state_doc.get("batteryGridChargeActive"))


class EvccBinarySensor(EvccEntity, BinarySensorEntity):
    entity_description: EvccBinarySensorEntityDescription

    @property
    def is_on(self) -> bool:
        return self.entity_description.is_on_fn(self.loadpoint_doc)

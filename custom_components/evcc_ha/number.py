"""Numbers: the charge settings of every loadpoint and the battery rules of the site."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from homeassistant.components.number import (
    NumberDeviceClass,
    NumberEntity,
    NumberEntityDescription,
    NumberMode,
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

from .coordinator import EvccConfigEntry, EvccCoordinator
from .core.model import LoadpointConfig, SiteConfig
from .core.settings import MAX_PRECONDITION_S, MIN_CHARGE_CURRENT, LoadpointKey, SiteKey
from .core.site import Site
from .core.tariff import Tariff
from .entity import EvccEntity, add_loadpoint_entities

PARALLEL_UPDATES = 1

MAX_THRESHOLD_W = 50_000.0
MAX_DELAY_S = 3600.0
MAX_LIMIT_ENERGY_KWH = 200.0


@dataclass(frozen=True, kw_only=True)
class EvccNumberEntityDescription(NumberEntityDescription):
    """A setting: `value_fn` reads it from the state document, `setting` names it on the write
    path. Loadpoint descriptions may take their range from the charger (`max_fn`, `step_fn`)."""

    setting: LoadpointKey | SiteKey
    value_fn: Callable[[dict[str, Any]], float | None]
    max_fn: Callable[[LoadpointConfig], float] | None = None
    step_fn: Callable[[LoadpointConfig], float] | None = None
    enabled_fn: Callable[[LoadpointConfig], bool] = lambda _: True
    price: bool = False  # a price: unit is the site's currency per kWh
    tariff: str = "planner"  # a price limit exists where this tariff does
    needs_battery: bool = False  # only on sites with a home battery
    # the setting's value from the number and the state document (a part of a compound setting)
    to_setting: Callable[[float, dict[str, Any]], object] = lambda value, _doc: value


# The fixed part of each kind of number: device class, unit, range, step, mode.
_SOC: dict[str, Any] = {
    "device_class": NumberDeviceClass.BATTERY,
    "native_unit_of_measurement": PERCENTAGE,
    "native_min_value": 0,
    "native_max_value": 100,
    "native_step": 1,
    "mode": NumberMode.SLIDER,
}
_POWER: dict[str, Any] = {
    "device_class": NumberDeviceClass.POWER,
    "native_unit_of_measurement": UnitOfPower.WATT,
    "native_min_value": -MAX_THRESHOLD_W,
    "native_max_value": MAX_THRESHOLD_W,
    "native_step": 1,
    "mode": NumberMode.BOX,
}
_DELAY: dict[str, Any] = {
    "device_class": NumberDeviceClass.DURATION,
    "native_unit_of_measurement": UnitOfTime.SECONDS,
    "native_min_value": 0,
    "native_max_value": MAX_DELAY_S,
    "native_step": 1,
    "mode": NumberMode.BOX,
}
_ENERGY: dict[str, Any] = {
    "device_class": NumberDeviceClass.ENERGY,
    "native_unit_of_measurement": UnitOfEnergy.KILO_WATT_HOUR,
    "native_min_value": 0,
    "native_max_value": MAX_LIMIT_ENERGY_KWH,
    "native_step": 0.5,
    "mode": NumberMode.BOX,
}
_PRICE: dict[str, Any] = {
    "native_min_value": -1.0,  # negative prices happen on day-ahead markets
    "native_max_value": 5.0,
    "native_step": 0.001,
    "mode": NumberMode.BOX,
    "price": True,
}
_CURRENT: dict[str, Any] = {
    "device_class": NumberDeviceClass.CURRENT,
    "native_unit_of_measurement": UnitOfElectricCurrent.AMPERE,
    "native_min_value": MIN_CHARGE_CURRENT,
    "mode": NumberMode.SLIDER,
    "max_fn": lambda config: config.charger.max_current,
    "step_fn": lambda config: config.charger.current_step or 1.0,
}


def _value(value: float | None, whole: bool) -> float | None:
    """The state document prints whole numbers as integers; the entity keeps the setting's type."""
    if value is None:
        return None
    return int(value) if whole else float(value)


def _number(
    key: str,
    setting: LoadpointKey | SiteKey,
    kind: dict[str, Any],
    *,
    whole: bool = False,
    **extra: Any,
) -> EvccNumberEntityDescription:
    """A setting number of one kind, reading the state key named like its setting."""
    return EvccNumberEntityDescription(
        key=key,
        translation_key=key,
        setting=setting,
        entity_category=EntityCategory.CONFIG,
        value_fn=lambda doc: _value(doc.get(setting.value), whole),
        **(kind | extra),
    )


LOADPOINT_NUMBERS: tuple[EvccNumberEntityDescription, ...] = (
    _number("min_soc", LoadpointKey.MIN_SOC, _SOC, whole=True),
    _number("limit_soc", LoadpointKey.LIMIT_SOC, _SOC, whole=True),
    # evcc applies energy limits to vehicles that do not report a SoC
    _number(
        "limit_energy",
        LoadpointKey.LIMIT_ENERGY,
        _ENERGY,
        enabled_fn=lambda config: config.vehicle is None or not config.vehicle.has_soc,
    ),
    _number("min_current", LoadpointKey.MIN_CURRENT, _CURRENT),
    _number("max_current", LoadpointKey.MAX_CURRENT, _CURRENT),
    _number("enable_threshold", LoadpointKey.ENABLE_THRESHOLD, _POWER),
    _number("disable_threshold", LoadpointKey.DISABLE_THRESHOLD, _POWER),
    _number("enable_delay", LoadpointKey.ENABLE_DELAY, _DELAY),
    _number("disable_delay", LoadpointKey.DISABLE_DELAY, _DELAY),
    # unknown while off; the action evcc_ha.set_smart_cost_limit without a limit switches it off
    _number("smart_cost_limit", LoadpointKey.SMART_COST_LIMIT, _PRICE),
    # likewise; evcc_ha.set_smart_feed_in_priority_limit without a limit switches it off
    _number(
        "smart_feed_in_priority_limit",
        LoadpointKey.SMART_FEED_IN_PRIORITY_LIMIT,
        _PRICE,
        tariff="feedin",
    ),
    _number(
        "battery_boost_limit",
        LoadpointKey.BATTERY_BOOST_LIMIT,
        _SOC,
        whole=True,
        needs_battery=True,
    ),
    # the precondition part of the plan strategy; the continuous part is a switch
    EvccNumberEntityDescription(
        key="plan_precondition",
        translation_key="plan_precondition",
        setting=LoadpointKey.PLAN_STRATEGY,
        entity_category=EntityCategory.CONFIG,
        value_fn=lambda doc: int(doc["planStrategy"]["precondition"]),
        to_setting=lambda value, doc: {**doc["planStrategy"], "precondition": round(value)},
        **(_DELAY | {"native_max_value": MAX_PRECONDITION_S, "native_step": 60}),
    ),
)

SITE_NUMBERS: tuple[EvccNumberEntityDescription, ...] = (
    _number("residual_power", SiteKey.RESIDUAL_POWER, _POWER),
    _number("priority_soc", SiteKey.PRIORITY_SOC, _SOC),
    _number("buffer_soc", SiteKey.BUFFER_SOC, _SOC),
    _number("buffer_start_soc", SiteKey.BUFFER_START_SOC, _SOC),
    # unknown while off (0 … set a price; clear it with the REST/MQTT path)
    _number("battery_grid_charge_limit", SiteKey.BATTERY_GRID_CHARGE_LIMIT, _PRICE),
)
BATTERY_SITE_SETTINGS = (SiteKey.PRIORITY_SOC, SiteKey.BUFFER_SOC, SiteKey.BUFFER_START_SOC)


def _site_number_exists(description: EvccNumberEntityDescription, config: SiteConfig) -> bool:
    if description.setting is SiteKey.BATTERY_GRID_CHARGE_LIMIT:
        return config.battery_chargeable
    return config.battery_configured or description.setting not in BATTERY_SITE_SETTINGS


async def async_setup_entry(
    hass: HomeAssistant,
    entry: EvccConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Set up the setting numbers of a site and its loadpoints."""
    coordinator = entry.runtime_data.coordinator
    config = coordinator.site.config
    async_add_entities(
        EvccSiteNumber(coordinator, description)
        for description in SITE_NUMBERS
        if _site_number_exists(description, config)
    )
    add_loadpoint_entities(
        coordinator,
        async_add_entities,
        lambda lp: (
            EvccLoadpointNumber(coordinator, description, lp.index)
            for description in LOADPOINT_NUMBERS
            if (not description.price or _tariff_of(coordinator.site, description) is not None)
            and (not description.needs_battery or config.battery_configured)
        ),
    )


def _tariff_of(site: Site, description: EvccNumberEntityDescription) -> Tariff | None:
    if description.tariff == "planner":
        return site.planner_tariff()
    return site.tariffs.get(description.tariff)


class EvccLoadpointNumber(EvccEntity, NumberEntity):
    entity_description: EvccNumberEntityDescription

    def __init__(
        self,
        coordinator: EvccCoordinator,
        description: EvccNumberEntityDescription,
        loadpoint: int,
    ) -> None:
        super().__init__(coordinator, description, loadpoint)
        config = self.loadpoint_config
        if description.max_fn is not None:
            self._attr_native_max_value = description.max_fn(config)
        if description.step_fn is not None:
            self._attr_native_step = description.step_fn(config)
        if description.price:
            self._attr_native_unit_of_measurement = (
                f"{coordinator.hass.config.currency or 'EUR'}/kWh"
            )
        self._attr_entity_registry_enabled_default = description.enabled_fn(config)

    @property
    def native_value(self) -> float | None:
        return self.entity_description.value_fn(self.loadpoint_doc)

    async def async_set_native_value(self, value: float) -> None:
        description = self.entity_description
        await self.async_write_setting(
            description.setting, description.to_setting(value, self.loadpoint_doc)
        )


class EvccSiteNumber(EvccEntity, NumberEntity):
    entity_description: EvccNumberEntityDescription

    def __init__(
        self, coordinator: EvccCoordinator, description: EvccNumberEntityDescription
    ) -> None:
        super().__init__(coordinator, description)
        if description.price:
            self._attr_native_unit_of_measurement = (
                f"{coordinator.hass.config.currency or 'EUR'}/kWh"
            )

    @property
    def native_value(self) -> float | None:
        return self.entity_description.value_fn(self.state_doc)

    async def async_set_native_value(self, value: float) -> None:
        await self.async_write_setting(self.entity_description.setting, value)

"""Numbers: the charge settings of every loadpoint and the battery rules of the site."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

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

from .coordinator import EvccCoordinator
from .core.loadpoint import Loadpoint
from .core.site import Site
from .data import EvccConfigEntry
from .entity import EvccEntity, add_loadpoint_entities

PARALLEL_UPDATES = 1

MAX_THRESHOLD_W = 50_000.0
MAX_DELAY_S = 3600.0
MAX_LIMIT_ENERGY_KWH = 200.0


@dataclass(frozen=True, kw_only=True)
class EvccLoadpointNumberEntityDescription(NumberEntityDescription):
    """A loadpoint setting: `value_fn` reads it, `setting` names it on the write path."""

    setting: str
    value_fn: Callable[[Loadpoint], float | None]
    max_fn: Callable[[Loadpoint], float] | None = None
    step_fn: Callable[[Loadpoint], float] | None = None
    exists_fn: Callable[[Loadpoint], bool] = lambda _: True
    enabled_fn: Callable[[Loadpoint], bool] = lambda _: True


@dataclass(frozen=True, kw_only=True)
class EvccSiteNumberEntityDescription(NumberEntityDescription):
    """A site setting."""

    setting: str
    value_fn: Callable[[Site], float | None]
    exists_fn: Callable[[Site], bool] = lambda _: True


def _charger_max(lp: Loadpoint) -> float:
    return lp.config.charger.max_current


def _charger_step(lp: Loadpoint) -> float:
    return lp.config.charger.current_step or 1.0


def _soc_number(
    key: str, setting: str, value_fn: Callable[[Loadpoint], float | None]
) -> EvccLoadpointNumberEntityDescription:
    return EvccLoadpointNumberEntityDescription(
        key=key,
        translation_key=key,
        setting=setting,
        device_class=NumberDeviceClass.BATTERY,
        native_unit_of_measurement=PERCENTAGE,
        native_min_value=0,
        native_max_value=100,
        native_step=1,
        mode=NumberMode.SLIDER,
        entity_category=EntityCategory.CONFIG,
        value_fn=value_fn,
    )


def _threshold(
    key: str, setting: str, value_fn: Callable[[Loadpoint], float]
) -> EvccLoadpointNumberEntityDescription:
    return EvccLoadpointNumberEntityDescription(
        key=key,
        translation_key=key,
        setting=setting,
        device_class=NumberDeviceClass.POWER,
        native_unit_of_measurement=UnitOfPower.WATT,
        native_min_value=-MAX_THRESHOLD_W,
        native_max_value=MAX_THRESHOLD_W,
        native_step=1,
        mode=NumberMode.BOX,
        entity_category=EntityCategory.CONFIG,
        value_fn=value_fn,
    )


def _delay(
    key: str, setting: str, value_fn: Callable[[Loadpoint], float]
) -> EvccLoadpointNumberEntityDescription:
    return EvccLoadpointNumberEntityDescription(
        key=key,
        translation_key=key,
        setting=setting,
        device_class=NumberDeviceClass.DURATION,
        native_unit_of_measurement=UnitOfTime.SECONDS,
        native_min_value=0,
        native_max_value=MAX_DELAY_S,
        native_step=1,
        mode=NumberMode.BOX,
        entity_category=EntityCategory.CONFIG,
        value_fn=value_fn,
    )


def _current(
    key: str, setting: str, value_fn: Callable[[Loadpoint], float]
) -> EvccLoadpointNumberEntityDescription:
    return EvccLoadpointNumberEntityDescription(
        key=key,
        translation_key=key,
        setting=setting,
        device_class=NumberDeviceClass.CURRENT,
        native_unit_of_measurement=UnitOfElectricCurrent.AMPERE,
        native_min_value=1,
        mode=NumberMode.SLIDER,
        entity_category=EntityCategory.CONFIG,
        value_fn=value_fn,
        max_fn=_charger_max,
        step_fn=_charger_step,
    )


LOADPOINT_NUMBERS: tuple[EvccLoadpointNumberEntityDescription, ...] = (
    _soc_number("min_soc", "minSoc", lambda lp: lp.settings.min_soc),
    _soc_number("limit_soc", "limitSoc", lambda lp: lp.settings.limit_soc),
    EvccLoadpointNumberEntityDescription(
        key="limit_energy",
        translation_key="limit_energy",
        setting="limitEnergy",
        device_class=NumberDeviceClass.ENERGY,
        native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        native_min_value=0,
        native_max_value=MAX_LIMIT_ENERGY_KWH,
        native_step=0.5,
        mode=NumberMode.BOX,
        entity_category=EntityCategory.CONFIG,
        value_fn=lambda lp: lp.settings.limit_energy,
        # evcc applies energy limits to vehicles that do not report a SoC
        enabled_fn=lambda lp: not lp.has_soc,
    ),
    _current("min_current", "minCurrent", lambda lp: lp.settings.min_current),
    _current("max_current", "maxCurrent", lambda lp: lp.settings.max_current),
    _threshold("enable_threshold", "enableThreshold", lambda lp: lp.settings.enable_threshold),
    _threshold("disable_threshold", "disableThreshold", lambda lp: lp.settings.disable_threshold),
    _delay("enable_delay", "enableDelay", lambda lp: lp.settings.enable_delay),
    _delay("disable_delay", "disableDelay", lambda lp: lp.settings.disable_delay),
)


def _battery_soc(
    key: str, setting: str, value_fn: Callable[[Site], float]
) -> EvccSiteNumberEntityDescription:
    return EvccSiteNumberEntityDescription(
        key=key,
        translation_key=key,
        setting=setting,
        device_class=NumberDeviceClass.BATTERY,
        native_unit_of_measurement=PERCENTAGE,
        native_min_value=0,
        native_max_value=100,
        native_step=1,
        mode=NumberMode.SLIDER,
        entity_category=EntityCategory.CONFIG,
        exists_fn=lambda site: site.config.battery_configured,
        value_fn=value_fn,
    )


SITE_NUMBERS: tuple[EvccSiteNumberEntityDescription, ...] = (
    EvccSiteNumberEntityDescription(
        key="residual_power",
        translation_key="residual_power",
        setting="residualPower",
        device_class=NumberDeviceClass.POWER,
        native_unit_of_measurement=UnitOfPower.WATT,
        native_min_value=-MAX_THRESHOLD_W,
        native_max_value=MAX_THRESHOLD_W,
        native_step=1,
        mode=NumberMode.BOX,
        entity_category=EntityCategory.CONFIG,
        value_fn=lambda site: site.settings.residual_power,
    ),
    _battery_soc("priority_soc", "prioritySoc", lambda site: site.settings.priority_soc),
    _battery_soc("buffer_soc", "bufferSoc", lambda site: site.settings.buffer_soc),
    _battery_soc("buffer_start_soc", "bufferStartSoc", lambda site: site.settings.buffer_start_soc),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: EvccConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Set up the setting numbers of a site and its loadpoints."""
    coordinator = entry.runtime_data.coordinator
    site = coordinator.site
    async_add_entities(
        EvccSiteNumber(coordinator, description)
        for description in SITE_NUMBERS
        if description.exists_fn(site)
    )
    add_loadpoint_entities(
        coordinator,
        async_add_entities,
        lambda lp: (
            EvccLoadpointNumber(coordinator, description, lp.index)
            for description in LOADPOINT_NUMBERS
            if description.exists_fn(lp)
        ),
    )


class EvccLoadpointNumber(EvccEntity, NumberEntity):
    entity_description: EvccLoadpointNumberEntityDescription

    def __init__(
        self,
        coordinator: EvccCoordinator,
        description: EvccLoadpointNumberEntityDescription,
        loadpoint: int,
    ) -> None:
        super().__init__(coordinator, description, loadpoint)
        lp = self.loadpoint
        if description.max_fn is not None:
            self._attr_native_max_value = description.max_fn(lp)
        if description.step_fn is not None:
            self._attr_native_step = description.step_fn(lp)
        self._attr_entity_registry_enabled_default = description.enabled_fn(lp)

    @property
    def native_value(self) -> float | None:
        return self.entity_description.value_fn(self.loadpoint)

    async def async_set_native_value(self, value: float) -> None:
        await self.async_write_setting(self.entity_description.setting, value)


class EvccSiteNumber(EvccEntity, NumberEntity):
    entity_description: EvccSiteNumberEntityDescription

    def __init__(
        self, coordinator: EvccCoordinator, description: EvccSiteNumberEntityDescription
    ) -> None:
        super().__init__(coordinator, description)

    @property
    def native_value(self) -> float | None:
        return self.entity_description.value_fn(self.coordinator.site)

    async def async_set_native_value(self, value: float) -> None:
        await self.async_write_setting(self.entity_description.setting, value)

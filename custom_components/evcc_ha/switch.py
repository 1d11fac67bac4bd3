"""Switches: the on/off settings of the site and of every loadpoint."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from homeassistant.components.switch import SwitchEntity, SwitchEntityDescription
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .coordinator import EvccConfigEntry, EvccCoordinator
from .core.model import SiteConfig
from .core.settings import LoadpointKey, SiteKey
from .core.site import Site
from .entity import EvccEntity, add_loadpoint_entities, vehicle_reports

PARALLEL_UPDATES = 1


@dataclass(frozen=True, kw_only=True)
class EvccSwitchEntityDescription(SwitchEntityDescription):
    """A loadpoint switch: `is_on_fn` reads the state document, `to_setting` gives the value of
    `setting` for on/off (the document holds the rest of a compound setting)."""

    setting: LoadpointKey
    is_on_fn: Callable[[dict[str, Any]], bool]
    to_setting: Callable[[bool, dict[str, Any]], object]
    exists_fn: Callable[[SiteConfig], bool] = lambda _config: True


LOADPOINT_SWITCHES: tuple[EvccSwitchEntityDescription, ...] = (
    # evcc's plan strategy "continuous": the plan charges in one block
    EvccSwitchEntityDescription(
        key="plan_continuous",
        translation_key="plan_continuous",
        entity_category=EntityCategory.CONFIG,
        setting=LoadpointKey.PLAN_STRATEGY,
        is_on_fn=lambda doc: bool(doc["planStrategy"]["continuous"]),
        to_setting=lambda on, doc: {**doc["planStrategy"], "continuous": on},
    ),
    # evcc's battery boost: charge the car from the home battery once (pv and minpv)
    EvccSwitchEntityDescription(
        key="battery_boost",
        translation_key="battery_boost",
        setting=LoadpointKey.BATTERY_BOOST,
        is_on_fn=lambda doc: bool(doc["batteryBoost"]),
        to_setting=lambda on, _doc: on,
        exists_fn=lambda config: config.battery_configured,
    ),
)


@dataclass(frozen=True, kw_only=True)
class EvccSiteSwitchEntityDescription(SwitchEntityDescription):
    """A site switch: a boolean site setting, read from the state document key of its name."""

    setting: SiteKey
    exists_fn: Callable[[Site], bool]


SITE_SWITCHES: tuple[EvccSiteSwitchEntityDescription, ...] = (
    # evcc's battery discharge control: hold the home battery while a car charges fast or cheaply
    EvccSiteSwitchEntityDescription(
        key="battery_discharge_control",
        translation_key="battery_discharge_control",
        entity_category=EntityCategory.CONFIG,
        setting=SiteKey.BATTERY_DISCHARGE_CONTROL,
        exists_fn=lambda site: site.config.battery_controllable,
    ),
    # evcc's solarAdjusted: the forecast scaled to today's production (the forecast sensor)
    EvccSiteSwitchEntityDescription(
        key="solar_adjusted",
        translation_key="solar_adjusted",
        entity_category=EntityCategory.CONFIG,
        setting=SiteKey.SOLAR_ADJUSTED,
        exists_fn=lambda site: "solar" in site.tariffs,
    ),
)


REPEATING_PLAN_SWITCHES = 3  # as ha-evcc: the first three plans of the vehicle


async def async_setup_entry(
    hass: HomeAssistant,
    entry: EvccConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Set up the switches of every loadpoint."""
    coordinator = entry.runtime_data.coordinator
    config = coordinator.site.config
    async_add_entities(
        EvccSiteSwitch(coordinator, description)
        for description in SITE_SWITCHES
        if description.exists_fn(coordinator.site)
    )
    add_loadpoint_entities(
        coordinator,
        async_add_entities,
        lambda lp: (
            *(
                EvccSwitch(coordinator, description, lp.index)
                for description in LOADPOINT_SWITCHES
                if description.exists_fn(config)
            ),
            *(
                RepeatingPlanSwitch(coordinator, lp.index, number)
                for number in range(1, REPEATING_PLAN_SWITCHES + 1)
                if vehicle_reports(lp, "soc")
            ),
        ),
    )


class EvccSwitch(EvccEntity, SwitchEntity):
    entity_description: EvccSwitchEntityDescription

    @property
    def is_on(self) -> bool:
        return self.entity_description.is_on_fn(self.loadpoint_doc)

    async def _async_switch(self, on: bool) -> None:
        description = self.entity_description
        await self.async_write_setting(
            description.setting, description.to_setting(on, self.loadpoint_doc)
        )

    async def async_turn_on(self, **kwargs: Any) -> None:
        await self._async_switch(True)

    async def async_turn_off(self, **kwargs: Any) -> None:
        await self._async_switch(False)


class EvccSiteSwitch(EvccEntity, SwitchEntity):
    entity_description: EvccSiteSwitchEntityDescription

    @property
    def is_on(self) -> bool:
        return bool(self.state_doc.get(self.entity_description.setting.value))

    async def async_turn_on(self, **kwargs: Any) -> None:
        await self.async_write_setting(self.entity_description.setting, True)

    async def async_turn_off(self, **kwargs: Any) -> None:
        await self.async_write_setting(self.entity_description.setting, False)


class RepeatingPlanSwitch(EvccEntity, SwitchEntity):
    """Repeating plan `number` of the loadpoint's vehicle on or off (unavailable while the
    vehicle has fewer plans); the plan itself is set with `evcc_ha.set_repeating_plans`, REST
    or MQTT."""

    def __init__(self, coordinator: EvccCoordinator, loadpoint: int, number: int) -> None:
        description = SwitchEntityDescription(
            key=f"repeating_plan_{number}",
            translation_key="repeating_plan",
            translation_placeholders={"number": str(number)},
            entity_category=EntityCategory.CONFIG,
        )
        super().__init__(coordinator, description, loadpoint)
        self._position = number - 1

    def _plans(self) -> list[dict[str, Any]]:
        vehicle = self.state_doc["vehicles"].get(self.loadpoint_doc["vehicleName"], {})
        plans: list[dict[str, Any]] = vehicle.get("repeatingPlans", [])
        return plans

    @property
    def available(self) -> bool:
        return super().available and self._position < len(self._plans())

    @property
    def is_on(self) -> bool | None:
        plans = self._plans()
        return bool(plans[self._position]["active"]) if self._position < len(plans) else None

    @property
    def extra_state_attributes(self) -> dict[str, Any] | None:
        plans = self._plans()
        return dict(plans[self._position]) if self._position < len(plans) else None

    async def _async_switch(self, on: bool) -> None:
        plans = [dict(plan) for plan in self._plans()]
        if self._position < len(plans):
            plans[self._position]["active"] = on
        await self.async_write_setting(LoadpointKey.REPEATING_PLANS, plans)

    async def async_turn_on(self, **kwargs: Any) -> None:
        await self._async_switch(True)

    async def async_turn_off(self, **kwargs: Any) -> None:
        await self._async_switch(False)

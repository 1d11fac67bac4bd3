"""Switches: the on/off settings of every loadpoint."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from homeassistant.components.switch import SwitchEntity, SwitchEntityDescription
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .coordinator import EvccConfigEntry
from .core.settings import LoadpointKey
from .entity import EvccEntity, add_loadpoint_entities

PARALLEL_UPDATES = 1


@dataclass(frozen=True, kw_only=True)
class EvccSwitchEntityDescription(SwitchEntityDescription):
    """A loadpoint switch: `is_on_fn` reads the state document, `to_setting` gives the value of
    `setting` for on/off (the document holds the rest of a compound setting)."""

    setting: LoadpointKey
    is_on_fn: Callable[[dict[str, Any]], bool]
    to_setting: Callable[[bool, dict[str, Any]], object]


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
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: EvccConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Set up the switches of every loadpoint."""
    coordinator = entry.runtime_data.coordinator
    add_loadpoint_entities(
        coordinator,
        async_add_entities,
        lambda lp: (
            EvccSwitch(coordinator, description, lp.index) for description in LOADPOINT_SWITCHES
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

"""Datetime: the plan time (target time) of every loadpoint."""

from __future__ import annotations

from datetime import datetime

from homeassistant.components.datetime import DateTimeEntity, DateTimeEntityDescription
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.util import dt as dt_util

from .coordinator import EvccConfigEntry
from .core.settings import LoadpointKey
from .entity import EvccEntity, add_loadpoint_entities

PARALLEL_UPDATES = 1

PLAN_TIME = DateTimeEntityDescription(key="plan_time", translation_key="plan_time")


async def async_setup_entry(
    hass: HomeAssistant,
    entry: EvccConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Set up the plan time of every loadpoint."""
    coordinator = entry.runtime_data.coordinator
    add_loadpoint_entities(
        coordinator, async_add_entities, lambda lp: [EvccPlanTime(coordinator, PLAN_TIME, lp.index)]
    )


class EvccPlanTime(EvccEntity, DateTimeEntity):
    """When the plan must be done; unknown without a plan (clear it with `evcc_ha.clear_plan`)."""

    @property
    def native_value(self) -> datetime | None:
        plan_time: str | None = self.loadpoint_doc["planTime"]
        return dt_util.parse_datetime(plan_time) if plan_time else None

    async def async_set_value(self, value: datetime) -> None:
        await self.async_write_setting(LoadpointKey.PLAN_TIME, value)

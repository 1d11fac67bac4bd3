"""Service actions: set and clear the charging plan (target time) of a loadpoint."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any, Final

import voluptuous as vol
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import ATTR_DEVICE_ID
from homeassistant.core import HomeAssistant, ServiceCall, callback
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import config_validation as cv, device_registry as dr
from homeassistant.util import dt as dt_util

from .const import DOMAIN
from .coordinator import EvccConfigEntry
from .core.controller import Controller
from .core.model import CommandError, SettingError
from .core.settings import MAX_ENERGY_KWH, LoadpointKey
from .core.site import plan_changes
from .entity import loadpoint_identifier, setting_error

SERVICE_SET_PLAN: Final = "set_plan"
SERVICE_CLEAR_PLAN: Final = "clear_plan"
SERVICE_SET_SMART_COST_LIMIT: Final = "set_smart_cost_limit"
SERVICE_SET_SMART_FEED_IN_PRIORITY_LIMIT: Final = "set_smart_feed_in_priority_limit"
SERVICE_SET_REPEATING_PLANS: Final = "set_repeating_plans"
ATTR_PLANS: Final = "plans"
ATTR_LIMIT: Final = "limit"
ATTR_CONFIG_ENTRY_ID: Final = "config_entry_id"
ATTR_LOADPOINT: Final = "loadpoint"
ATTR_TIME: Final = "time"
ATTR_SOC: Final = "soc"
ATTR_ENERGY: Final = "energy"

_TARGET: dict[vol.Marker, Any] = {
    vol.Optional(ATTR_CONFIG_ENTRY_ID): cv.string,
    vol.Optional(ATTR_DEVICE_ID): vol.All(cv.ensure_list, [cv.string]),
    vol.Optional(ATTR_LOADPOINT): vol.All(vol.Coerce(int), vol.Range(min=1)),
}


def _finite(value: float) -> float:
    if not math.isfinite(value):
        raise vol.Invalid("not a finite number")
    return value


SET_PLAN_SCHEMA = vol.Schema(
    {
        **_TARGET,
        vol.Required(ATTR_TIME): cv.datetime,
        vol.Exclusive(ATTR_SOC, "goal"): vol.All(
            vol.Coerce(float), _finite, vol.Range(min=1, max=100), vol.Coerce(int)
        ),
        vol.Exclusive(ATTR_ENERGY, "goal"): vol.All(
            vol.Coerce(float), _finite, vol.Range(min=0.1, max=MAX_ENERGY_KWH)
        ),
    }
)
CLEAR_PLAN_SCHEMA = vol.Schema(_TARGET)
# no limit (or null): smart cost charging off
SET_SMART_COST_LIMIT_SCHEMA = vol.Schema(
    {**_TARGET, vol.Optional(ATTR_LIMIT): vol.Any(None, vol.All(vol.Coerce(float), _finite))}
)

# the plans are checked by the core's parser (the same errors as REST and MQTT); here only
# that a list arrives
SET_REPEATING_PLANS_SCHEMA = vol.Schema(
    {**_TARGET, vol.Required(ATTR_PLANS): vol.All(cv.ensure_list, [dict])}
)


def _loaded_entry(hass: HomeAssistant, entry_id: str) -> EvccConfigEntry:
    entry: EvccConfigEntry | None = hass.config_entries.async_get_entry(entry_id)
    if entry is None or entry.domain != DOMAIN:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="entry_not_found",
            translation_placeholders={"entry_id": entry_id},
        )
    if entry.state is not ConfigEntryState.LOADED:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="entry_not_loaded",
            translation_placeholders={"title": entry.title},
        )
    return entry


def _loadpoint_index(entry: EvccConfigEntry, number: int) -> int:
    count = len(entry.runtime_data.controller.site.loadpoints)
    if not 1 <= number <= count:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="loadpoint_not_found",
            translation_placeholders={"loadpoint": str(number), "title": entry.title},
        )
    return number - 1


def _device_target(
    hass: HomeAssistant, device_id: str, number: int | None
) -> tuple[Controller, int]:
    """The loadpoint a device stands for (the site device: loadpoint `number`, default 1)."""
    device = dr.async_get(hass).async_get(device_id)
    idents = (
        {value for domain, value in device.identifiers if domain == DOMAIN} if device else set()
    )
    if device is None or not idents:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="device_not_found",
            translation_placeholders={"device_id": device_id},
        )
    for entry_id in device.config_entries:
        entry = hass.config_entries.async_get_entry(entry_id)
        if entry is None or entry.domain != DOMAIN:
            continue
        entry = _loaded_entry(hass, entry_id)
        controller = entry.runtime_data.controller
        if entry.entry_id in idents:
            return controller, _loadpoint_index(entry, number or 1)
        for lp in controller.site.loadpoints:
            if loadpoint_identifier(entry, lp.index)[1] in idents:
                return controller, lp.index
    raise ServiceValidationError(
        translation_domain=DOMAIN,
        translation_key="device_not_found",
        translation_placeholders={"device_id": device_id},
    )


def _targets(hass: HomeAssistant, data: dict[str, Any]) -> list[tuple[Controller, int]]:
    """The loadpoints a call is for: devices (loadpoint or site) or an entry + number."""
    number: int | None = data.get(ATTR_LOADPOINT)
    targets = [
        _device_target(hass, device_id, number) for device_id in data.get(ATTR_DEVICE_ID, [])
    ]
    if config_entry_id := data.get(ATTR_CONFIG_ENTRY_ID):
        entry = _loaded_entry(hass, config_entry_id)
        targets.append((entry.runtime_data.controller, _loadpoint_index(entry, number or 1)))
    if not targets:
        raise ServiceValidationError(translation_domain=DOMAIN, translation_key="no_target")
    return targets


def _check_all(
    targets: list[tuple[Controller, int]], changes: list[tuple[LoadpointKey, object]]
) -> None:
    """Check the change on every target before making it on any: a value one target refuses
    (a plan in the past, repeating plans at a loadpoint whose car has no SoC) changes none."""
    for controller, index in targets:
        try:
            controller.check_loadpoint_settings(index, changes)
        except SettingError as err:
            raise setting_error(err, changes[-1][0]) from err


async def _async_set_plan(hass: HomeAssistant, call: ServiceCall) -> None:
    when: datetime = call.data[ATTR_TIME]
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt_util.get_default_time_zone())
    targets = _targets(hass, dict(call.data))
    _check_all(targets, plan_changes(when, call.data.get(ATTR_SOC), call.data.get(ATTR_ENERGY)))
    for controller, index in targets:
        try:
            await controller.async_set_plan(
                index, when, soc=call.data.get(ATTR_SOC), energy=call.data.get(ATTR_ENERGY)
            )
        except (SettingError, CommandError) as err:
            raise setting_error(err, LoadpointKey.PLAN_TIME) from err


async def _async_clear_plan(hass: HomeAssistant, call: ServiceCall) -> None:
    for controller, index in _targets(hass, dict(call.data)):
        try:
            await controller.async_clear_plan(index)
        except CommandError as err:
            raise setting_error(err, LoadpointKey.PLAN_TIME) from err


async def _async_set_limit(hass: HomeAssistant, call: ServiceCall, key: LoadpointKey) -> None:
    """A smart limit (price per kWh) of the targeted loadpoints; none = off."""
    limit = call.data.get(ATTR_LIMIT)
    targets = _targets(hass, dict(call.data))
    _check_all(targets, [(key, limit)])
    for controller, index in targets:
        try:
            await controller.async_set_loadpoint(index, key, limit)
        except (SettingError, CommandError) as err:
            raise setting_error(err, key) from err


async def _async_set_repeating_plans(hass: HomeAssistant, call: ServiceCall) -> None:
    """A plan without a time zone is in Home Assistant's."""
    zone = str(hass.config.time_zone)
    plans = [{"tz": zone, "active": True, **plan} for plan in call.data[ATTR_PLANS]]
    targets = _targets(hass, dict(call.data))
    _check_all(targets, [(LoadpointKey.REPEATING_PLANS, plans)])
    for controller, index in targets:
        try:
            await controller.async_set_loadpoint(index, LoadpointKey.REPEATING_PLANS, plans)
        except (SettingError, CommandError) as err:
            raise setting_error(err, LoadpointKey.REPEATING_PLANS) from err


@callback
def async_setup_services(hass: HomeAssistant) -> None:
    """Register the service actions (once, in async_setup)."""

    async def set_plan(call: ServiceCall) -> None:
        await _async_set_plan(hass, call)

    async def clear_plan(call: ServiceCall) -> None:
        await _async_clear_plan(hass, call)

    hass.services.async_register(DOMAIN, SERVICE_SET_PLAN, set_plan, schema=SET_PLAN_SCHEMA)

    async def set_smart_cost_limit(call: ServiceCall) -> None:
        await _async_set_limit(hass, call, LoadpointKey.SMART_COST_LIMIT)

    async def set_smart_feed_in_priority_limit(call: ServiceCall) -> None:
        await _async_set_limit(hass, call, LoadpointKey.SMART_FEED_IN_PRIORITY_LIMIT)

    hass.services.async_register(DOMAIN, SERVICE_CLEAR_PLAN, clear_plan, schema=CLEAR_PLAN_SCHEMA)
    hass.services.async_register(
        DOMAIN,
        SERVICE_SET_SMART_COST_LIMIT,
        set_smart_cost_limit,
        schema=SET_SMART_COST_LIMIT_SCHEMA,
    )
    hass.services.async_register(
        DOMAIN,
        SERVICE_SET_SMART_FEED_IN_PRIORITY_LIMIT,
        set_smart_feed_in_priority_limit,
        schema=SET_SMART_COST_LIMIT_SCHEMA,  # the same fields
    )

    async def set_repeating_plans(call: ServiceCall) -> None:
        await _async_set_repeating_plans(hass, call)

    hass.services.async_register(
        DOMAIN,
        SERVICE_SET_REPEATING_PLANS,
        set_repeating_plans,
        schema=SET_REPEATING_PLANS_SCHEMA,
    )

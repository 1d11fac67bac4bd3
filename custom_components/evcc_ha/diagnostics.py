"""Diagnostics download: entry settings, the evcc state document and the core's stored state."""

from __future__ import annotations

from typing import Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.core import HomeAssistant

from .const import CONF_API_HOST
from .coordinator import EvccConfigEntry
from .core.controller import devices_by_key
from .devices.modbus.const import CONF_MODBUS_HOST

# Entity ids, titles and measurements help a bug report; addresses and secrets do not.
TO_REDACT = {
    CONF_API_HOST,
    CONF_MODBUS_HOST,
    "host",
    "password",
    "token",
    "api_key",
    "username",
    "serial",
}


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: EvccConfigEntry
) -> dict[str, Any]:
    """What the site is configured with, what it measured and decided last, and its state."""
    coordinator = entry.runtime_data.coordinator
    controller = coordinator.controller
    devices = controller.devices
    data = coordinator.data
    return {
        "entry": {
            "title": entry.title,
            "version": f"{entry.version}.{entry.minor_version}",
            "data": async_redact_data(dict(entry.data), TO_REDACT),
            "options": async_redact_data(dict(entry.options), TO_REDACT),
            "subentries": [
                {
                    "type": subentry.subentry_type,
                    "title": subentry.title,
                    "data": async_redact_data(dict(subentry.data), TO_REDACT),
                }
                for subentry in (getattr(entry, "subentries", None) or {}).values()
            ],
        },
        "devices": {
            "grid": devices.grid.name if devices.grid else None,
            "pv": [meter.name for meter in devices.pv],
            "battery": [meter.name for meter in devices.battery],
            "aux": [meter.name for meter in devices.aux],
            "loadpoints": [
                {
                    "title": lp.config.title,
                    "charger": lp.charger.name,
                    "meter": lp.meter.name if lp.meter else None,
                    "soc": lp.soc.name if lp.soc else None,
                }
                for lp in devices.loadpoints
            ],
            "last_exchange": {
                key: async_redact_data(device.diagnostics(), TO_REDACT)
                for key, device in devices_by_key(devices).items()
                if device.diagnostics()
            },
        },
        "cycle": {
            "last_update_success": coordinator.last_update_success,
            "time": data.now.isoformat() if data else None,
            "failed_devices": sorted(data.failed) if data else [],
            "skipped": data.skipped if data else None,
            "interval_s": controller.site.interval_s,
        },
        "state": controller.state(),
        "site": controller.site.to_dict(),
    }

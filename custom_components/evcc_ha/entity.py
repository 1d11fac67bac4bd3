"""The entity base class and the devices: one site device, one device per loadpoint and one
per circuit (each under its config subentry: Home Assistant keeps a device in one subentry).

Entities read the evcc state document of the last cycle (`coordinator.data.state`, the same
document `/api/state`, `/ws` and MQTT serve) and write through the controller's one validated
write path. Only static configuration (what a charger can do) comes from the core's config.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.entity import Entity, EntityDescription
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from .const import DOMAIN
from .coordinator import EvccConfigEntry, EvccCoordinator
from .core.loadpoint import Loadpoint
from .core.model import CommandError, LoadpointConfig, SettingError
from .core.settings import LoadpointKey, SiteKey
from .core.site import Site

MANUFACTURER = "evcc_ha"


def site_identifier(entry: EvccConfigEntry) -> tuple[str, str]:
    return (DOMAIN, entry.entry_id)


def loadpoint_key(coordinator: EvccCoordinator, index: int) -> str:
    """What names loadpoint `index` (0-based) in unique ids and device identifiers: its config
    subentry, so its entities stay with it when another loadpoint is removed; `lp<number>` for
    loadpoints without one (demo site)."""
    return coordinator.loadpoint_subentry_ids[index] or f"lp{index + 1}"


def loadpoint_identifier(entry: EvccConfigEntry, index: int) -> tuple[str, str]:
    """Device identifier of loadpoint `index` (0-based)."""
    return (DOMAIN, f"{entry.entry_id}_{loadpoint_key(entry.runtime_data.coordinator, index)}")


def circuit_key(coordinator: EvccCoordinator, index: int) -> str:
    """What names circuit `index` (0-based, the site's order) in unique ids and device
    identifiers: its config subentry, so a renamed circuit keeps its entities; its API name
    for circuits without one (demo site)."""
    return coordinator.circuit_subentry_ids[index] or list(coordinator.site.circuits)[index]


def circuit_device_info(entry: EvccConfigEntry, index: int) -> DeviceInfo:
    """Device of circuit `index`; linked to the site device in `async_register_devices`."""
    coordinator = entry.runtime_data.coordinator
    circuit = list(coordinator.site.circuits.values())[index]
    return DeviceInfo(
        identifiers={(DOMAIN, f"{entry.entry_id}_circuit_{circuit_key(coordinator, index)}")},
        name=circuit.title,
        manufacturer=MANUFACTURER,
        model="Circuit",
    )


def site_device_info(entry: EvccConfigEntry, site: Site) -> DeviceInfo:
    return DeviceInfo(
        identifiers={site_identifier(entry)},
        name=entry.title,
        manufacturer=MANUFACTURER,
        model="Demo site" if entry.runtime_data.coordinator.demo is not None else "Site",
    )


def loadpoint_device_info(entry: EvccConfigEntry, lp: Loadpoint) -> DeviceInfo:
    """Loadpoint device; its link to the site device is set in `async_register_devices`
    (DeviceInfo's `via_device` is deprecated in newer Home Assistant, `via_device_id` missing
    in older)."""
    charger = lp.config.charger
    model = f"Loadpoint {charger.phases}p" + (" (1p/3p)" if charger.phases_switchable else "")
    return DeviceInfo(
        identifiers={loadpoint_identifier(entry, lp.index)},
        name=lp.config.title,
        manufacturer=MANUFACTURER,
        model=model,
    )


def async_register_devices(entry: EvccConfigEntry, registry: dr.DeviceRegistry) -> None:
    """Create the site and loadpoint devices, link them, and drop devices no longer configured."""
    coordinator = entry.runtime_data.coordinator
    site = coordinator.site
    site_device = registry.async_get_or_create(
        config_entry_id=entry.entry_id, **site_device_info(entry, site)
    )
    wanted = {site_identifier(entry)}
    children = [
        (coordinator.loadpoint_subentry_ids[lp.index], loadpoint_device_info(entry, lp))
        for lp in site.loadpoints
    ] + [
        (coordinator.circuit_subentry_ids[index], circuit_device_info(entry, index))
        for index in range(len(site.circuits))
    ]
    for subentry_id, info in children:
        device = registry.async_get_or_create(
            config_entry_id=entry.entry_id, config_subentry_id=subentry_id, **info
        )
        wanted |= info["identifiers"]
        if device.via_device_id != site_device.id:
            registry.async_update_device(device.id, via_device_id=site_device.id)
    for device in dr.async_entries_for_config_entry(registry, entry.entry_id):
        if not device.identifiers & wanted:
            registry.async_remove_device(device.id)


def add_loadpoint_entities(
    coordinator: EvccCoordinator,
    async_add_entities: AddConfigEntryEntitiesCallback,
    entities_of: Callable[[Loadpoint], Iterable[Entity]],
) -> None:
    """Add each loadpoint's entities, under its config subentry where it has one."""
    for lp in coordinator.site.loadpoints:
        async_add_entities(
            entities_of(lp), config_subentry_id=coordinator.loadpoint_subentry_ids[lp.index]
        )


def vehicle_reports(lp: Loadpoint, value: str) -> bool:
    """A vehicle that may come to `lp` (any of the site's) has an entity for `value`
    (`core.model.VEHICLE_VALUES`; "soc" for its SoC)."""
    if value == "soc":
        return any(vehicle.has_soc for vehicle in lp.fleet.values())
    return any(value in vehicle.reports for vehicle in lp.fleet.values())


def setting_error(err: SettingError | CommandError, key: str) -> HomeAssistantError:
    """The user-facing error for a rejected setting (same text as the REST API gives) or for a
    charger that did not take the command the setting caused."""
    if isinstance(err, CommandError):
        return HomeAssistantError(
            str(err),
            translation_domain=DOMAIN,
            translation_key="command_failed",
            translation_placeholders={"setting": key, "error": str(err)},
        )
    return ServiceValidationError(
        str(err),
        translation_domain=DOMAIN,
        translation_key="invalid_setting",
        translation_placeholders={"setting": key, "error": str(err)},
    )


class EvccEntity(CoordinatorEntity[EvccCoordinator]):
    """An entity of a site (`loadpoint` None) or of one of its loadpoints (0-based index)."""

    _attr_has_entity_name = True

    def __init__(
        self,
        coordinator: EvccCoordinator,
        description: EntityDescription,
        loadpoint: int | None = None,
    ) -> None:
        super().__init__(coordinator)
        self.entity_description = description
        self.loadpoint_index = loadpoint
        entry = coordinator.config_entry
        if loadpoint is None:
            self._attr_unique_id = f"{entry.entry_id}_{description.key}"
            self._attr_device_info = site_device_info(entry, coordinator.site)
        else:
            key = loadpoint_key(coordinator, loadpoint)
            self._attr_unique_id = f"{entry.entry_id}_{key}_{description.key}"
            self._attr_device_info = loadpoint_device_info(
                entry, coordinator.site.loadpoints[loadpoint]
            )

    @property
    def state_doc(self) -> dict[str, Any]:
        """The site's evcc state document of the last cycle or setting change."""
        return self.coordinator.data.state

    @property
    def loadpoint_doc(self) -> dict[str, Any]:
        """This loadpoint's part of the state document."""
        assert self.loadpoint_index is not None
        loadpoints: list[dict[str, Any]] = self.coordinator.data.state["loadpoints"]
        return loadpoints[self.loadpoint_index]

    @property
    def loadpoint_config(self) -> LoadpointConfig:
        assert self.loadpoint_index is not None
        return self.coordinator.site.loadpoints[self.loadpoint_index].config

    @property
    def available(self) -> bool:
        """Unavailable while the cycle fails or, for loadpoint entities, the charger does (or,
        for a value of the car's integration, that integration: the state document keeps the
        last good value, as evcc's, the entity does not pass it off as current)."""
        report = self.coordinator.data
        if not super().available or report is None:
            return False
        if self.loadpoint_index is None:
            return True
        if not report.loadpoint_ok(self.loadpoint_index):
            return False
        if getattr(self.entity_description, "vehicle_values", False):
            return report.vehicle_values_ok(self.loadpoint_doc["vehicleName"])
        return True

    async def async_write_setting(self, key: LoadpointKey | SiteKey, value: object) -> None:
        """The one write path: the controller validates, stores and sends the command."""
        controller = self.coordinator.controller
        try:
            if self.loadpoint_index is None:
                await controller.async_set_site(key, value)
            else:
                await controller.async_set_loadpoint(self.loadpoint_index, key, value)
        except (SettingError, CommandError) as err:
            raise setting_error(err, key) from err

"""Selects: the charge mode, the phase configuration and the vehicle of every loadpoint."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from homeassistant.components.select import SelectEntity, SelectEntityDescription
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .coordinator import EvccConfigEntry, EvccCoordinator
from .core.loadpoint import Loadpoint
from .core.model import ControlProfile, LoadpointConfig, Mode, VehicleConfig
from .core.settings import LoadpointKey
from .entity import EvccEntity, add_loadpoint_entities

PARALLEL_UPDATES = 1

# evcc's phasesConfigured: 0 = automatic switching, 1 or 3 fixed.
PHASE_OPTIONS: dict[str, int] = {"auto": 0, "1p": 1, "3p": 3}
GUEST_OPTION = "guest"  # no known vehicle at the loadpoint (evcc's guest vehicle)


@dataclass(frozen=True, kw_only=True)
class EvccSelectEntityDescription(SelectEntityDescription):
    """A loadpoint select: `current_fn` reads the state document, `setting` and `to_value`
    write it."""

    setting: LoadpointKey
    current_fn: Callable[[dict[str, Any]], str | None]
    to_value: Callable[[str], object] = lambda option: option
    exists_fn: Callable[[LoadpointConfig], bool] = lambda _: True


def _phases_option(lp: dict[str, Any]) -> str | None:
    configured = lp["phasesConfigured"]
    return next((name for name, value in PHASE_OPTIONS.items() if value == configured), None)


LOADPOINT_SELECTS: tuple[EvccSelectEntityDescription, ...] = (
    EvccSelectEntityDescription(
        key="mode",
        translation_key="mode",
        options=[Mode.OFF.value, Mode.PV.value, Mode.MINPV.value, Mode.NOW.value],
        setting=LoadpointKey.MODE,
        current_fn=lambda lp: lp["mode"],
    ),
    EvccSelectEntityDescription(
        key="phases",
        translation_key="phases",
        options=list(PHASE_OPTIONS),
        entity_category=EntityCategory.CONFIG,
        setting=LoadpointKey.PHASES_CONFIGURED,
        current_fn=_phases_option,
        to_value=lambda option: PHASE_OPTIONS[option],
        exists_fn=lambda config: config.charger.phases_switchable,
    ),
    # beyond evcc: how pv/minpv follow the surplus (evcc's rules, or far less switching)
    EvccSelectEntityDescription(
        key="control_profile",
        translation_key="control_profile",
        options=[profile.value for profile in ControlProfile],
        entity_category=EntityCategory.CONFIG,
        setting=LoadpointKey.CONTROL_PROFILE,
        current_fn=lambda lp: lp["controlProfile"],
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: EvccConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Set up the selects of every loadpoint."""
    coordinator = entry.runtime_data.coordinator
    vehicles = vehicle_options(coordinator.site.vehicles)

    def selects(lp: Loadpoint) -> list[SelectEntity]:
        found: list[SelectEntity] = [
            EvccSelect(coordinator, description, lp.index)
            for description in LOADPOINT_SELECTS
            if description.exists_fn(lp.config)
        ]
        if vehicles:
            found.append(EvccVehicleSelect(coordinator, VEHICLE_SELECT, lp.index, vehicles))
        return found

    add_loadpoint_entities(coordinator, async_add_entities, selects)


def vehicle_options(vehicles: Mapping[str, VehicleConfig]) -> dict[str, str]:
    """Option → vehicle name: each vehicle by its title (by its API name where two share a
    title), and `guest` for none."""
    titles = [vehicle.title for vehicle in vehicles.values()]
    options = {
        (vehicle.title if titles.count(vehicle.title) == 1 else name): name
        for name, vehicle in vehicles.items()
    }
    return {GUEST_OPTION: ""} | options if options else {}


# evcc's vehicle at the loadpoint (its own, a detected or a chosen one, or a guest car)
VEHICLE_SELECT = EvccSelectEntityDescription(
    key="vehicle",
    translation_key="vehicle",
    setting=LoadpointKey.VEHICLE,
    current_fn=lambda lp: lp["vehicleName"],
)


class EvccSelect(EvccEntity, SelectEntity):
    entity_description: EvccSelectEntityDescription

    @property
    def current_option(self) -> str | None:
        return self.entity_description.current_fn(self.loadpoint_doc)

    async def async_select_option(self, option: str) -> None:
        description = self.entity_description
        await self.async_write_setting(description.setting, description.to_value(option))


class EvccVehicleSelect(EvccSelect):
    """The vehicle at the loadpoint; the options are the site's vehicles (fixed until reload)."""

    def __init__(
        self,
        coordinator: EvccCoordinator,
        description: EvccSelectEntityDescription,
        index: int,
        options: Mapping[str, str],
    ) -> None:
        super().__init__(coordinator, description, index)
        self._names = dict(options)
        self._attr_options = list(options)

    @property
    def current_option(self) -> str | None:
        name = self.loadpoint_doc["vehicleName"]
        return next((option for option, known in self._names.items() if known == name), None)

    async def async_select_option(self, option: str) -> None:
        await self.async_write_setting(LoadpointKey.VEHICLE, self._names[option])

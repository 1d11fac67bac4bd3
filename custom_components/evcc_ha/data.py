"""Typed runtime data stored on the config entry while it is loaded."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from homeassistant.config_entries import ConfigEntry

if TYPE_CHECKING:
    from .api.server import EvccApiServer
    from .coordinator import EvccCoordinator


@dataclass(kw_only=True, slots=True)
class EvccRuntimeData:
    """Everything a loaded site entry owns; platforms reach it through ``entry.runtime_data``."""

    site_title: str
    coordinator: EvccCoordinator
    api_server: EvccApiServer | None = None  # the evcc API port, while it is served


type EvccConfigEntry = ConfigEntry[EvccRuntimeData]

"""Typed runtime data stored on the config entry while it is loaded."""

from __future__ import annotations

from dataclasses import dataclass

from homeassistant.config_entries import ConfigEntry


@dataclass(kw_only=True, slots=True)
class EvccRuntimeData:
    """Everything a loaded site entry owns.

    Later work adds the coordinator (and the device clients it drives) here, so
    platforms reach it through ``entry.runtime_data``.
    """

    site_title: str


type EvccConfigEntry = ConfigEntry[EvccRuntimeData]

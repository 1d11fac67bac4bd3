"""The site's vehicles: their API names, and which loadpoint has which as its own."""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Sequence

from .model import LoadpointConfig, VehicleConfig


@functools.lru_cache(maxsize=1024)
def vehicle_slug(title: str) -> str:
    """The API name made from a title: lower case ASCII, other characters `_`."""
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "_", ascii_title.lower()).strip("_")
    return slug or "vehicle"


def build_fleet(
    loadpoints: Sequence[LoadpointConfig], extra: Sequence[VehicleConfig]
) -> tuple[dict[str, VehicleConfig], list[str]]:
    """Every vehicle of the site under a unique API name (its `name`, else the slug of its
    title; `_2`, `_3`, … where names repeat): the loadpoints' own vehicles first, in loadpoint
    order, then the others. Also the name of each loadpoint's own vehicle ("" = none)."""
    fleet: dict[str, VehicleConfig] = {}

    def add(vehicle: VehicleConfig) -> str:
        base = vehicle.name or vehicle_slug(vehicle.title)
        name, n = base, 2
        while name in fleet:
            name, n = f"{base}_{n}", n + 1
        fleet[name] = vehicle
        return name

    defaults = [add(lp.vehicle) if lp.vehicle is not None else "" for lp in loadpoints]
    for vehicle in extra:
        add(vehicle)
    return fleet, defaults

"""What the API layers need from the running site: `core.controller.Controller` implements it.

Keeping this a Protocol lets the REST routes, the /ws stream and the MQTT publisher be tested
and reused without knowing how devices are read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any, Protocol

from ..core.session import Session
from ..core.settings import LoadpointKey, SiteKey
from ..core.site import Site

StateListener = Callable[[dict[str, Any]], None]


class Backend(Protocol):
    """A running site: its state document and the one validated write path.

    Every setter raises `SettingError` (nothing changed) on a bad value and `CommandError` when
    the charger refused the command the change caused (the setting is kept)."""

    @property
    def site(self) -> Site: ...

    def now(self) -> datetime:
        """The controller's clock (timezone-aware)."""

    def state(self) -> dict[str, Any]:
        """The evcc state document of the last cycle (built once, shared by every reader)."""

    async def async_set_loadpoint(
        self, index: int, key: LoadpointKey | str, value: object
    ) -> object:
        """Validate and apply one loadpoint setting (0-based index); the charger command goes
        out before this returns."""

    async def async_set_loadpoint_settings(
        self, index: int, changes: Iterable[tuple[LoadpointKey | str, object]]
    ) -> dict[LoadpointKey, object]:
        """Several loadpoint settings as one change."""

    async def async_set_plan(
        self, index: int, time: object, *, soc: object = None, energy: object = None
    ) -> dict[LoadpointKey, object]:
        """A plan (time and SoC or energy goal) as one change."""

    async def async_clear_plan(self, index: int) -> None:
        """Delete the plan."""

    async def async_set_vehicle_settings(
        self, name: str, changes: Iterable[tuple[LoadpointKey | str, object]]
    ) -> dict[LoadpointKey, object]:
        """Settings of a vehicle (by name or title), at whatever loadpoint it is or none."""

    async def async_set_vehicle_plan(
        self, name: str, time: object, soc: object
    ) -> dict[LoadpointKey, object]:
        """A vehicle's SoC plan as one change."""

    async def async_clear_vehicle_plan(self, name: str) -> None:
        """Delete a vehicle's plan."""

    async def async_set_vehicle_mode(self, name: str, value: object) -> object:
        """The mode a loadpoint takes when the vehicle arrives; None clears it."""

    async def async_start_vehicle_detection(self, index: int) -> None:
        """evcc's PATCH vehicle: forget the vehicle at the loadpoint and detect it again."""

    async def async_set_battery_mode_external(self, value: object) -> object: ...

    async def async_edit_session(self, session_id: int, body: object) -> Session:
        """Change a logged session's vehicle, loadpoint or odometer."""
        ...

    async def async_delete_session(self, session_id: int) -> None: ...

    async def async_set_site(self, key: SiteKey | str, value: object) -> object:
        """Validate and apply one site setting."""

    def subscribe(self, listener: StateListener) -> Callable[[], None]:
        """Call `listener(state)` after every new state document; returns the unsubscribe."""

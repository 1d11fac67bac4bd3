"""What the API layers need from the running controller (the coordinator implements it).

Keeping this a Protocol lets the REST routes, the /ws stream and the MQTT publisher be tested
and reused without knowing how devices are read.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from ..core.site import Site

StateListener = Callable[[dict[str, Any]], None]


class Backend(Protocol):
    """A running site: its state document and the one validated write path."""

    @property
    def site(self) -> Site: ...

    def now(self) -> datetime:
        """The controller's clock (timezone-aware)."""

    def state(self) -> dict[str, Any]:
        """The evcc state document of the last cycle (built once, shared by every reader)."""

    async def async_set_loadpoint(self, index: int, key: str, value: object) -> object:
        """Validate and apply one loadpoint setting (0-based index); the charger command goes
        out before this returns. Raises `SettingError` (nothing changed) on a bad value."""

    async def async_set_site(self, key: str, value: object) -> object:
        """Validate and apply one site setting. Raises `SettingError` on a bad value."""

    def subscribe(self, listener: StateListener) -> Callable[[], None]:
        """Call `listener(state)` after every new state document; returns the unsubscribe."""

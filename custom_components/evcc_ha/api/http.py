"""Home Assistant glue: evcc's routes as `HomeAssistantView`s under `/api/evcc_ha/…`.

Call `async_register_views(hass, get_backend)` from the integration's `async_setup` (or the first
`async_setup_entry`); views cannot be removed, so they are registered once and ask
`get_backend()` on every request for the Backend of the loaded site (None → 503 JSON error). A
later call only replaces `get_backend`.

The paths are evcc's with `/api/` replaced by `/api/evcc_ha/` (`/api/evcc_ha/state`,
`/api/evcc_ha/loadpoints/1/mode/pv`, `/api/evcc_ha/ws`); the handlers, envelopes and errors are the
shared ones of `routes.py`. Home Assistant authentication applies (bearer token); writes need an
admin user (401 otherwise).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from homeassistant.const import EVENT_HOMEASSISTANT_STOP
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.exceptions import Unauthorized
from homeassistant.helpers.http import HomeAssistantView
from homeassistant.util.hass_dict import HassKey

from ..const import DOMAIN
from .backend import Backend
from .routes import ROUTES, ApiContext, Route

__all__ = ["DATA_API", "EvccApiView", "async_register_views"]

GetBackend = Callable[[], Backend | None]


@dataclass(slots=True)
class _Registration:
    """The registered views' link to the integration (replaceable `get_backend`)."""

    get_backend: GetBackend
    api: ApiContext


DATA_API: HassKey[_Registration] = HassKey(f"{DOMAIN}_api_views")


def _authorize_write(request: web.Request) -> None:
    user = request.get("hass_user")
    if user is None or not user.is_admin:
        raise Unauthorized(perm_category="evcc_ha", permission="write")


class EvccApiView(HomeAssistantView):
    """All methods of one evcc path (`/api/evcc_ha/<evcc path after /api/>`)."""

    requires_auth = True

    def __init__(self, api: ApiContext, path: str, routes: list[Route]) -> None:
        self.url = routes[0].ha_path
        plain = re.sub(r"\{(\w+):[^}]*\}", r"{\1}", path)  # drop the regexes
        self.name = "api:evcc_ha:" + plain.strip("/").replace("/", ":")
        for route in routes:
            setattr(self, route.method.lower(), self._method(api, route))

    @staticmethod
    def _method(api: ApiContext, route: Route) -> Callable[..., Any]:
        async def handle(request: web.Request, **_params: str) -> web.StreamResponse:
            return await api.handle(route, request)

        return handle


@callback
def async_register_views(hass: HomeAssistant, get_backend: GetBackend) -> None:
    """Register the evcc API views once; later calls only swap `get_backend`."""
    registration = hass.data.get(DATA_API)
    if registration is not None:
        registration.get_backend = get_backend
        return

    def current_backend() -> Backend | None:
        return hass.data[DATA_API].get_backend()

    api = ApiContext(current_backend, authorize_write=_authorize_write)
    hass.data[DATA_API] = _Registration(get_backend, api)
    by_path: dict[str, list[Route]] = {}
    for route in ROUTES:
        if not route.evcc_port_only:
            by_path.setdefault(route.path, []).append(route)
    for path, routes in by_path.items():
        hass.http.register_view(EvccApiView(api, path, routes))

    async def _close_sockets(_event: Event) -> None:
        await api.close()

    hass.bus.async_listen_once(EVENT_HOMEASSISTANT_STOP, _close_sockets)

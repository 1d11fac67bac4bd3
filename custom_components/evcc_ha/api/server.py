"""The evcc-compatible port: evcc's exact paths (`/api/state`, `/api/loadpoints/1/mode/pv`, `/ws`)
on their own aiohttp server, without a token, so every evcc client works unchanged.

Beyond the shared routes (`routes.py`) this server behaves like evcc's router: an unknown path is
404 `404 page not found` (text), a known path with the wrong method is 405 with an empty body,
`OPTIONS` answers CORS pre-flights and every answer carries `Access-Control-Allow-Origin: *`.
"""

from __future__ import annotations

import errno
import logging
from collections.abc import Awaitable, Callable, Iterable

from aiohttp import web

from .backend import Backend
from .routes import ROUTES, ApiContext, Route, not_found_response
from .ws import HEARTBEAT_S

__all__ = ["ApiServerError", "EvccApiServer", "PortInUseError", "build_app"]

_LOGGER = logging.getLogger(__name__)

_CORS_HEADERS = "Content-Type"


class ApiServerError(OSError):
    """The evcc API port could not be opened (the integration raises a repair issue)."""


class PortInUseError(ApiServerError):
    """Another program already listens on the evcc API port."""


def _cors(response: web.StreamResponse) -> web.StreamResponse:
    if not response.prepared:
        response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@web.middleware
async def _evcc_router_quirks(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """evcc's answers for unmatched paths and methods, and CORS."""
    try:
        return _cors(await handler(request))
    except web.HTTPMethodNotAllowed as err:
        allowed = ", ".join(sorted(err.allowed_methods))
        if request.method == "OPTIONS":
            return _cors(
                web.Response(
                    status=204,
                    headers={
                        "Access-Control-Allow-Methods": allowed,
                        "Access-Control-Allow-Headers": _CORS_HEADERS,
                    },
                )
            )
        return _cors(web.Response(status=405, headers={"Allow": allowed}))
    except web.HTTPNotFound:
        return _cors(not_found_response())


def _handler(
    api: ApiContext, route: Route
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handle(request: web.Request) -> web.StreamResponse:
        return await api.handle(route, request)

    return handle


def build_app(api: ApiContext) -> web.Application:
    """An aiohttp application serving every route at evcc's own paths."""
    app = web.Application(middlewares=[_evcc_router_quirks])
    for route in ROUTES:
        app.router.add_route(route.method, route.path, _handler(api, route))
    return app


class EvccApiServer:
    """evcc's REST API and /ws on `host:port` (default 0.0.0.0:7070), no authentication.

    `read_only=True` answers every write with 403; so does a write from a web page whose
    `Origin` is not in `allowed_origins` (default: none). `start()` raises `PortInUseError` (an
    `OSError` with errno EADDRINUSE) when the port is taken and `ApiServerError` for other bind
    failures; `port=0` picks a free port (see `port` after `start()`).
    """

    def __init__(
        self,
        backend: Backend,
        host: str = "0.0.0.0",
        port: int = 7070,
        read_only: bool = False,
        *,
        allowed_origins: Iterable[str] = (),
        ws_heartbeat: float = HEARTBEAT_S,
    ) -> None:
        self.backend = backend
        self.host = host
        self.read_only = read_only
        self.allowed_origins = tuple(allowed_origins)
        self._requested_port = port
        self._port: int | None = None
        self.ws_heartbeat = ws_heartbeat
        self.api = self._new_api()
        self._runner: web.AppRunner | None = None

    def _new_api(self) -> ApiContext:
        return ApiContext(
            lambda: self.backend,
            read_only=self.read_only,
            allowed_origins=self.allowed_origins,
            ws_heartbeat=self.ws_heartbeat,
        )

    @property
    def port(self) -> int:
        """The port listened on (the requested one until started)."""
        return self._port if self._port is not None else self._requested_port

    @property
    def running(self) -> bool:
        return self._runner is not None

    async def start(self) -> None:
        if self._runner is not None:
            return
        self.api = self._new_api()  # a fresh websocket hub after a stop
        runner = web.AppRunner(build_app(self.api), access_log=None, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self._requested_port)
        try:
            await site.start()
        except OSError as err:
            await runner.cleanup()
            where = f"{self.host}:{self._requested_port}"
            if err.errno == errno.EADDRINUSE:
                raise PortInUseError(
                    errno.EADDRINUSE,
                    f"evcc API port {where} is already in use by another program",
                ) from err
            raise ApiServerError(
                err.errno, f"evcc API cannot listen on {where}: {err.strerror or err}"
            ) from err
        self._runner = runner
        addresses = runner.addresses
        self._port = addresses[0][1] if addresses else self._requested_port
        _LOGGER.info(
            "evcc API listening on %s:%s%s",
            self.host,
            self._port,
            " (read-only)" if self.read_only else "",
        )

    async def stop(self) -> None:
        """Close the websocket clients and the port; safe to call twice."""
        runner, self._runner = self._runner, None
        if runner is None:
            return
        await self.api.close()
        await runner.cleanup()
        self._port = None

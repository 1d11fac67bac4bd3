"""`/ws`: evcc's websocket stream of the state document.

Plain websocket, text frames, the client sends nothing. On connect one object with every value
of the flattened state (`flatten_state`: site keys, `loadpoints.<0-based>.<key>`); after each new
state document one object `{key: value}` per value that changed since the last message to that
client (a value gone from the document is sent once as `null`). When nothing changed for
`heartbeat_s` (30 s; ha-evcc reconnects after 50 s of silence) the current values of a few per-cycle
keys are sent again. Closing the hub (server stop, Home Assistant stop) closes every socket with
"going away".
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web

from .backend import Backend
from .state import flatten_state

__all__ = ["HEARTBEAT_S", "WsHub"]

_LOGGER = logging.getLogger(__name__)

HEARTBEAT_S = 30.0
# Keys re-sent as the keep-alive message: evcc publishes them every cycle anyway.
HEARTBEAT_KEYS = ("gridPower", "pvPower", "homePower")
_CLOSE_TIMEOUT_S = 2.0


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


class _Connection:
    """One client: the latest state handed over by the backend, and a wake-up flag."""

    __slots__ = ("done", "latest", "server_close", "stop", "wake", "ws")

    def __init__(self, ws: web.WebSocketResponse) -> None:
        self.ws = ws
        self.latest: dict[str, Any] | None = None
        self.wake = asyncio.Event()
        self.stop = False  # the hub is closing
        self.server_close = False  # the sender closes the socket (not the client)
        self.done = asyncio.Event()

    def push(self, state: dict[str, Any]) -> None:
        """Backend listener: remember the newest document (older ones are skipped)."""
        self.latest = state
        self.wake.set()


class WsHub:
    """All websocket clients of one server (or of the Home Assistant views)."""

    def __init__(self, heartbeat_s: float = HEARTBEAT_S) -> None:
        self.heartbeat_s = heartbeat_s
        self._connections: set[_Connection] = set()
        self._closing = False
        self._flat_for: dict[str, Any] | None = None
        self._flat: dict[str, Any] = {}

    @property
    def clients(self) -> int:
        return len(self._connections)

    def _flatten(self, state: dict[str, Any]) -> dict[str, Any]:
        """Flatten once per state document, whatever the number of clients."""
        if state is not self._flat_for:
            self._flat = flatten_state(state)
            self._flat_for = state
        return self._flat

    async def handle(
        self,
        request: web.Request,
        backend: Backend,
        still_current: Callable[[Backend], bool] | None = None,
    ) -> web.StreamResponse:
        """Serve one websocket client until it or the server goes away.

        `still_current(backend)` is asked on every wake-up; when it answers False (the site was
        unloaded) the socket is closed so the client reconnects to the new one.
        """
        if self._closing:
            return web.Response(status=503)
        ws = web.WebSocketResponse(timeout=_CLOSE_TIMEOUT_S)
        await ws.prepare(request)
        conn = _Connection(ws)
        self._connections.add(conn)
        unsubscribe = backend.subscribe(conn.push)
        sender = asyncio.create_task(self._send_loop(conn, backend, still_current))
        try:
            async for msg in ws:
                if msg.type == WSMsgType.ERROR:
                    break
                # evcc clients send nothing; anything received is ignored
        finally:
            unsubscribe()
            self._connections.discard(conn)
            if conn.server_close:
                # the sender is closing the socket: let it finish the close handshake
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(asyncio.shield(sender), 2 * _CLOSE_TIMEOUT_S)
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sender
            if not ws.closed:
                await ws.close()
            conn.done.set()
        return ws

    async def _send_loop(
        self,
        conn: _Connection,
        backend: Backend,
        still_current: Callable[[Backend], bool] | None,
    ) -> None:
        ws = conn.ws
        loop = asyncio.get_running_loop()
        try:
            sent = dict(self._flatten(backend.state()))
            await ws.send_str(_dumps(sent))
            last_send = loop.time()
            while not ws.closed:
                wait = max(0.0, self.heartbeat_s - (loop.time() - last_send))
                try:
                    await asyncio.wait_for(conn.wake.wait(), timeout=wait)
                except TimeoutError:
                    if conn.stop or (still_current is not None and not still_current(backend)):
                        break
                    await ws.send_str(_dumps(self._heartbeat(sent)))
                    last_send = loop.time()
                    continue
                conn.wake.clear()
                if conn.stop or (still_current is not None and not still_current(backend)):
                    break
                state, conn.latest = conn.latest, None
                if state is None:
                    continue
                flat = self._flatten(state)
                changed = [(k, v) for k, v in flat.items() if k not in sent or sent[k] != v]
                changed += [(k, None) for k in sent if k not in flat]
                for key, value in changed:
                    await ws.send_str(_dumps({key: value}))
                sent = dict(flat)
                if changed:
                    last_send = loop.time()
        except ConnectionError:
            return  # the client went away while we were sending
        except Exception:
            _LOGGER.exception("evcc /ws stream failed")
            conn.server_close = True
            await ws.close(code=WSCloseCode.INTERNAL_ERROR, message=b"internal error")
            return
        if not ws.closed:
            conn.server_close = True
            message = b"server shutdown" if conn.stop else b"site unloaded"
            await ws.close(code=WSCloseCode.GOING_AWAY, message=message)

    @staticmethod
    def _heartbeat(sent: dict[str, Any]) -> dict[str, Any]:
        beat = {key: sent[key] for key in HEARTBEAT_KEYS if key in sent}
        return beat or {"siteTitle": sent.get("siteTitle", "")}

    async def close(self) -> None:
        """Close every client ("going away"), wait for them, and refuse new ones."""
        self._closing = True
        connections = list(self._connections)
        for conn in connections:
            conn.stop = True
            conn.wake.set()
        for conn in connections:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(conn.done.wait(), 3 * _CLOSE_TIMEOUT_S)
        if connections:
            _LOGGER.debug("closed %d websocket clients", len(connections))

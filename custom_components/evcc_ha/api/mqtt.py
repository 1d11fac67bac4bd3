"""evcc's MQTT API over any MQTT connection: the topic tree of the state document, and `/set`.

`MqttApi` reads the one state document the REST API and `/ws` read (every new document the
controller publishes) and writes through the same validated setters, so a bad value gets the
same error text on every path. The connection is a `MqttTransport` (Home Assistant's own MQTT
client in the integration, `mqtt_ha.py`).

Behaviour, as evcc (server/mqtt.go) unless noted:
* `<root>/status` `online` (retained) at start and after every reconnect, `offline` at stop;
  `<root>/updated` unix seconds whenever values are published, at most once a second.
* The tree (`mqtt_topics.topic_tree`), retained, QoS 1. Deliberate difference: a value is
  published when it changed, not every cycle; after a reconnect the whole tree is published
  again (the broker may have lost it). At start, retained topics under the root that this site
  no longer publishes (a deleted loadpoint's) are cleared; at stop the whole tree is cleared,
  only `status` `offline` stays.
* `<topic>/set`: empty payloads are ignored; the value goes to the setter; a rejected one is
  logged once (`set <topic>: <error>`) and changes nothing; after handling, the `/set` topic is
  cleared with an empty retained message. Read-only: no `/set` topic is subscribed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable, Coroutine
from typing import Any, Final, Protocol

from ..core.model import CommandError, SettingError
from ..core.settings import CLEAR_WORDS, LoadpointKey
from .backend import Backend
from .mqtt_topics import SetTopic, parse_set_topic, topic_tree

__all__ = ["MqttApi", "MqttTransport"]

_LOGGER = logging.getLogger(__name__)

RETAINED_SCAN_QUIET_S: Final = 1.0  # the retained replay at start is over after this silence
RETAINED_SCAN_MAX_S: Final = 10.0
UPDATED_EVERY_S: Final = 1.0

# `/set` topics: site keys, loadpoint keys (one level, two levels as `target/soc`, three as the
# seed's `target/soc/<value>`), vehicle keys.
_SET_PATTERNS: Final = (
    "site/+/set",
    "loadpoints/+/+/set",
    "loadpoints/+/+/+/set",
    "loadpoints/+/+/+/+/set",
    "vehicles/+/+/set",
)

MessageCallback = Callable[[str, str, bool], None]  # (topic, payload, retained)


class MqttTransport(Protocol):
    """An MQTT connection: publish retained or not, subscribe, and say when it (re)connects."""

    async def publish(self, topic: str, payload: str, *, retain: bool) -> None:
        """QoS 1; raises when not connected."""

    async def subscribe(self, topic: str, callback: MessageCallback) -> Callable[[], None]:
        """QoS 1; returns the unsubscribe."""

    def on_connection(self, callback: Callable[[bool], None]) -> Callable[[], None]:
        """Call `callback(True)` after each (re)connect, `callback(False)` on a disconnect."""


class MqttApi:
    """evcc's MQTT API for one site."""

    def __init__(
        self,
        backend: Backend,
        transport: MqttTransport,
        root: str,
        *,
        read_only: bool = False,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.backend = backend
        self.transport = transport
        self.root = root
        self.read_only = read_only
        self._monotonic = monotonic
        self._published: dict[str, str] = {}
        self._latest: dict[str, Any] | None = None
        self._dirty = asyncio.Event()
        self._unsubscribe: list[Callable[[], None]] = []
        self._tasks: set[asyncio.Task[Any]] = set()
        self._writes: asyncio.Queue[tuple[str, str]] = asyncio.Queue()
        self._updated_at: float | None = None
        self._stopping = False
        self.ready = asyncio.Event()  # the tree is published and the setters listen

    # --- lifecycle -----------------------------------------------------------------------------

    async def async_start(self) -> None:
        """Clear what a previous configuration left, listen, publish the tree."""
        if not self.read_only:  # first: they are active at the broker once the scan is over
            for pattern in _SET_PATTERNS:
                self._unsubscribe.append(
                    await self.transport.subscribe(f"{self.root}/{pattern}", self._on_message)
                )
        retained = await self._scan_retained()
        self._unsubscribe.append(self.transport.on_connection(self._on_connection))
        self._unsubscribe.append(self.backend.subscribe(self._on_state))
        self._latest = self.backend.state()
        try:
            await self._publish_status("online")
            await self._flush(full=True)
            stale = retained - set(self._published) - {f"{self.root}/status"}
            await self._send({topic: "" for topic in stale})
        except Exception as err:  # the broker is away: the next connect publishes everything
            _LOGGER.debug("MQTT start of %s incomplete: %s", self.root, err)
        self._spawn(self._publisher())
        self._spawn(self._writer())
        self.ready.set()
        _LOGGER.debug("MQTT API of %s on %s/#", self.backend.site.config.title, self.root)

    async def async_stop(self) -> None:
        """Stop listening, clear the tree, leave `status` `offline` (no task is left)."""
        self._stopping = True
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe.clear()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        with contextlib.suppress(Exception):  # the broker may be gone: nothing to clear then
            await self._send({topic: "" for topic in self._published})
            await self._publish_status("offline")
        self._published.clear()

    async def _scan_retained(self) -> set[str]:
        """The retained topics under the root right now (the broker replays them)."""
        found: set[str] = set()
        last = self._monotonic()

        def collect(topic: str, payload: str, retained: bool) -> None:
            nonlocal last
            if retained and payload:
                found.add(topic)
                last = self._monotonic()

        unsubscribe = await self.transport.subscribe(f"{self.root}/#", collect)
        started = self._monotonic()
        try:
            while self._monotonic() - max(last, started) < RETAINED_SCAN_QUIET_S:
                if self._monotonic() - started > RETAINED_SCAN_MAX_S:
                    break
                await asyncio.sleep(0.1)
        finally:
            unsubscribe()
        return found

    # --- publishing ----------------------------------------------------------------------------

    def _on_state(self, state: dict[str, Any]) -> None:
        self._latest = state
        self._dirty.set()

    async def _publisher(self) -> None:
        """Publish every new state document's changes, newest first (older ones are skipped)."""
        while True:
            await self._dirty.wait()
            self._dirty.clear()
            try:
                await self._flush()
            except Exception as err:  # the broker is away: the reconnect publishes everything
                _LOGGER.debug("MQTT publish of %s failed: %s", self.root, err)

    async def _flush(self, *, full: bool = False) -> None:
        state = self._latest
        if state is None:
            return
        tree = topic_tree(self.root, state)
        changes = {
            topic: payload
            for topic, payload in tree.items()
            if full or self._published.get(topic) != payload
        }
        own = {f"{self.root}/status", f"{self.root}/updated"}
        changes |= {t: "" for t in self._published if t not in tree and t not in own}
        # the heartbeat goes out every cycle (at most once a second), as evcc's, also when no
        # value changed: a quiet site and a stopped one look different
        now = self._monotonic()
        if self._updated_at is None or now - self._updated_at >= UPDATED_EVERY_S:
            self._updated_at = now
            changes[f"{self.root}/updated"] = str(int(self.backend.now().timestamp()))
        await self._send(changes)

    async def _send(self, changes: dict[str, str]) -> None:
        """Publish retained, all at once (QoS 1 waits for each acknowledgement)."""
        if not changes:
            return
        results = await asyncio.gather(
            *(self.transport.publish(t, p, retain=True) for t, p in changes.items()),
            return_exceptions=True,
        )
        for (topic, payload), result in zip(changes.items(), results, strict=True):
            if isinstance(result, BaseException):
                if isinstance(result, asyncio.CancelledError):
                    raise result
                continue  # not sent: published again after the reconnect
            if payload:
                self._published[topic] = payload
            else:
                self._published.pop(topic, None)
        if any(isinstance(r, BaseException) for r in results):
            raise ConnectionError("not every MQTT message was sent")

    async def _publish_status(self, status: str) -> None:
        await self.transport.publish(f"{self.root}/status", status, retain=True)

    def _on_connection(self, connected: bool) -> None:
        if connected and not self._stopping and self.ready.is_set():
            self._spawn(self._republish())

    async def _republish(self) -> None:
        """After a reconnect: status, and the whole tree again."""
        try:
            await self._publish_status("online")
            await self._flush(full=True)
        except Exception as err:
            _LOGGER.debug("MQTT republish of %s failed: %s", self.root, err)

    # --- writes --------------------------------------------------------------------------------

    def _on_message(self, topic: str, payload: str, _retained: bool) -> None:
        if not payload or self._stopping:
            return  # evcc ignores empty payloads (and our own clearing of the /set topic)
        self._writes.put_nowait((topic, payload))

    async def _writer(self) -> None:
        """One write after the other, in the order they arrived (the last one wins)."""
        while True:
            topic, payload = await self._writes.get()
            await self._handle_set(topic, payload)

    async def _handle_set(self, topic: str, payload: str) -> None:
        try:
            target = parse_set_topic(self.root, topic)
            if target is None:
                raise SettingError("unknown topic")
            await self._apply(target, payload.strip())
        except (SettingError, CommandError) as err:
            _LOGGER.warning("set %s: %s", topic, err)
        finally:
            with contextlib.suppress(Exception):
                await self.transport.publish(topic, "", retain=True)  # cleared, as evcc

    async def _apply(self, target: SetTopic, payload: str) -> None:
        backend, setter = self.backend, target.setter
        value: object = target.topic_value if setter.value_in_topic else payload
        if target.scope == "site":
            if setter.battery_mode:
                await backend.async_set_battery_mode_external(
                    None if payload.lower() in CLEAR_WORDS else payload
                )
                return
            if isinstance(setter.key, LoadpointKey):  # a site topic for every loadpoint
                for index in range(len(backend.site.loadpoints)):
                    await backend.async_set_loadpoint(index, setter.key, value)
                return
            assert setter.key is not None
            await backend.async_set_site(setter.key, value)
            return
        if target.scope == "vehicle":
            await self._apply_vehicle(target, payload)
            return
        index = self._loadpoint_index(target)
        if setter.plan is not None:
            goal, when = _plan_goal(payload)
            if goal in (0, 0.0, None):
                await backend.async_clear_plan(index)
            elif setter.plan == "soc":
                await backend.async_set_plan(index, when, soc=goal)
            else:
                await backend.async_set_plan(index, when, energy=goal)
            return
        assert setter.key is not None
        await backend.async_set_loadpoint(index, setter.key, value)

    async def _apply_vehicle(self, target: SetTopic, payload: str) -> None:
        """`vehicles/<name>/…/set`: the vehicle's own settings, wherever it is."""
        backend, setter, name = self.backend, target.setter, target.vehicle
        assert name is not None
        if setter.plan is not None:
            goal, when = _plan_goal(payload)
            if goal in (0, 0.0, None):
                await backend.async_clear_vehicle_plan(name)
            else:
                await backend.async_set_vehicle_plan(name, when, goal)
            return
        if setter.vehicle_mode:
            await backend.async_set_vehicle_mode(name, payload)
            return
        assert setter.key is not None
        await backend.async_set_vehicle_settings(name, [(setter.key, payload)])

    def _loadpoint_index(self, target: SetTopic) -> int:
        count = len(self.backend.site.loadpoints)
        assert target.loadpoint is not None
        if not 1 <= target.loadpoint <= count:
            raise SettingError(f"loadpoint {target.loadpoint} does not exist")
        return target.loadpoint - 1

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


def _plan_goal(payload: str) -> tuple[object, object]:
    """evcc's plan payload `{"value": …, "time": "RFC 3339"}` → (value, time)."""
    try:
        data = json.loads(payload)
    except ValueError:
        raise SettingError(f"invalid plan: {payload[:40]!r} is not JSON") from None
    if not isinstance(data, dict) or "value" not in data:
        raise SettingError('invalid plan: expected {"value": …, "time": …}')
    if data.get("value") not in (0, None) and not data.get("time"):
        raise SettingError("invalid plan: time missing")
    return data.get("value"), data.get("time")

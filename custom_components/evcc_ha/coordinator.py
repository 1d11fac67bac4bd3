"""The control cycle shell: read every device, run the core, send the commands, publish.

One `EvccCoordinator` per site entry. Each cycle reads all meters and chargers concurrently
(each with its own timeout), hands the readings to `Site.update`, sends the returned commands
concurrently, fires `evcc_ha_event` for connect/start/stop/disconnect, builds the evcc state
document once and tells every reader (entities, REST, /ws). It also is the `Backend` of the API
layers: settings from entities, services, REST and MQTT all come through `async_set_loadpoint` /
`async_set_site`, and the command a setting causes goes to the charger before the call returns.

No control logic lives here; a device that fails is "unavailable this cycle" for the core and for
its own entities, never an error for the whole site.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Final

from homeassistant.core import Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.helpers.debounce import Debouncer
from homeassistant.helpers.event import async_track_state_change_event
from homeassistant.helpers.storage import Store
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed
from homeassistant.util import dt as dt_util

from .api.backend import StateListener
from .api.state import build_state
from .const import (
    CONF_DEMO,
    CONF_INTERVAL,
    DEFAULT_INTERVAL,
    DOMAIN,
    LOGGER,
    MAX_INTERVAL,
    MIN_INTERVAL,
    STORAGE_VERSION,
    SUBENTRY_LOADPOINT,
)
from .core.model import (
    ChargerCommand,
    ChargerReading,
    DeviceError,
    Event as CoreEvent,
    LoadpointReadings,
    MeterReading,
    SettingError,
    SiteReadings,
    Status,
    parse_status,
)
from .core.site import Site
from .devices.base import Charger, Meter, SiteDevices, SocSource
from .devices.demo import DEMO_LOADPOINT_SETTINGS, DemoSite

if TYPE_CHECKING:
    from .data import EvccConfigEntry

# Seconds one device may take to answer a read or accept a command.
DEVICE_TIMEOUT: Final = 5.0
# A meter entity that changes triggers a cycle this long after its first change.
EARLY_REFRESH_COOLDOWN: Final = 1.0
# Settings, sessions and meter baselines are written at most this often (and on unload/stop).
SAVE_DELAY: Final = 60.0
EVENT_NAME: Final = f"{DOMAIN}_event"


class HassClock:
    """Home Assistant's clock (follows the test clock in tests), timezone-aware."""

    def now(self) -> datetime:
        return dt_util.now()


@dataclass(frozen=True, slots=True)
class EvccData:
    """What one cycle produced, for entities: the time, the state document, what failed."""

    now: datetime
    state: dict[str, Any]
    failed: frozenset[str] = field(default_factory=frozenset)
    skipped: str | None = None

    def meters_ok(self, *groups: str) -> bool:
        """True when no meter of the named groups (grid, pv, battery, aux) failed this cycle."""
        return not any(key.rstrip("0123456789") in groups for key in self.failed)


def device_key_loadpoint(index: int) -> str:
    """The availability key of loadpoint `index` (0-based): its charger."""
    return f"lp{index + 1}"


async def async_build_site_devices(
    hass: HomeAssistant, entry: EvccConfigEntry, clock: HassClock
) -> tuple[SiteDevices, DemoSite | None]:
    """The devices of a site entry: the demo household, or Home Assistant entities."""
    if entry.data.get(CONF_DEMO):
        demo = DemoSite(clock, tz=dt_util.get_default_time_zone())
        return demo.site_devices(entry.title), demo
    from .devices.factory import async_build_devices

    return await async_build_devices(hass, entry), None


class EvccCoordinator(DataUpdateCoordinator[EvccData]):
    """One site's control cycle and the API backend."""

    config_entry: EvccConfigEntry

    def __init__(
        self,
        hass: HomeAssistant,
        entry: EvccConfigEntry,
        devices: SiteDevices,
        *,
        demo: DemoSite | None = None,
        clock: HassClock | None = None,
    ) -> None:
        interval = int(entry.options.get(CONF_INTERVAL, DEFAULT_INTERVAL))
        interval = min(max(interval, MIN_INTERVAL), MAX_INTERVAL)
        super().__init__(
            hass,
            LOGGER,
            config_entry=entry,
            name=f"{DOMAIN} {entry.title}",
            update_interval=timedelta(seconds=interval),
            request_refresh_debouncer=Debouncer(
                hass, LOGGER, cooldown=EARLY_REFRESH_COOLDOWN, immediate=False
            ),
        )
        self.clock = clock or HassClock()
        self.devices = devices
        self.demo = demo
        self.loadpoint_subentry_ids = _loadpoint_subentry_ids(entry, len(devices.loadpoints))
        self._interval = float(interval)
        self._site = self._new_site()
        self._store: Store[dict[str, Any]] = Store(
            hass, STORAGE_VERSION, f"{DOMAIN}.{entry.entry_id}", private=False
        )
        self._save_pending = False
        self._state: dict[str, Any] | None = None
        self._state_listeners: list[StateListener] = []
        self._unavailable: set[str] = set()  # devices whose loss was logged
        self._cycle_lock = asyncio.Lock()  # one cycle at a time
        self._command_lock = asyncio.Lock()  # decisions go out in the order they were made

    def _new_site(self) -> Site:
        return Site(
            self.devices.config,
            [lp.config for lp in self.devices.loadpoints],
            interval_s=self._interval,
        )

    # --- Backend -------------------------------------------------------------------------------

    @property
    def site(self) -> Site:
        return self._site

    def now(self) -> datetime:
        return self.clock.now()

    def state(self) -> dict[str, Any]:
        if self._state is None:
            self._state = self._build_state(self.now())
        return self._state

    def subscribe(self, listener: StateListener) -> Callable[[], None]:
        self._state_listeners.append(listener)

        def unsubscribe() -> None:
            if listener in self._state_listeners:
                self._state_listeners.remove(listener)

        return unsubscribe

    async def async_set_loadpoint(self, index: int, key: str, value: object) -> object:
        """Validate and store one loadpoint setting; its command reaches the charger at once."""
        async with self._command_lock:
            now = self.now()
            stored, command = self._site.set_loadpoint_setting(index, key, value, now)
            if command:
                await self._async_send(index, command)
        LOGGER.debug("Loadpoint %s: %s set to %r", index + 1, key, stored)
        self._async_publish(now)
        self._schedule_save()
        return stored

    async def async_set_site(self, key: str, value: object) -> object:
        """Validate and store one site setting (used from the next cycle on, as in evcc)."""
        stored = self._site.set_site_setting(key, value)
        LOGGER.debug("Site: %s set to %r", key, stored)
        self._async_publish(self.now())
        self._schedule_save()
        return stored

    # --- setup and teardown --------------------------------------------------------------------

    async def async_restore(self) -> None:
        """Load the stored settings, sessions and meter baselines (before the first cycle)."""
        stored = await self._store.async_load()
        if stored and isinstance(stored.get("site"), Mapping):
            try:
                self._site.restore(stored["site"])
            except (KeyError, TypeError, ValueError, AttributeError) as err:
                LOGGER.warning("Stored state of %s ignored: %s", self.config_entry.title, err)
                self._site = self._new_site()  # nothing half restored
            if self.demo is not None and isinstance(stored.get("demo"), dict):
                self.demo.restore(stored["demo"])
            return
        if self.demo is not None:
            now = self.now()
            for lp in self._site.loadpoints:
                for key, value in DEMO_LOADPOINT_SETTINGS.items():
                    self._site.set_loadpoint_setting(lp.index, key, value, now)

    @callback
    def async_watch_entities(self) -> None:
        """Run a cycle soon after a meter entity changes (debounced)."""
        entity_ids = sorted(_watched_entities(self.devices))
        if not entity_ids:
            return

        @callback
        def _changed(event: Event[EventStateChangedData]) -> None:
            self.hass.async_create_task(self.async_request_refresh(), eager_start=True)

        self.config_entry.async_on_unload(
            async_track_state_change_event(self.hass, entity_ids, _changed)
        )

    async def async_save(self) -> None:
        """Write the state now (unload)."""
        self._save_pending = False
        await self._store.async_save(self._data_to_save())

    @callback
    def async_on_stop(self, _event: Event) -> None:
        """Home Assistant stops: the state is written in its final-write stage."""
        self._save_pending = True
        self._store.async_delay_save(self._data_to_save, SAVE_DELAY)

    def _schedule_save(self) -> None:
        if not self._save_pending:
            self._save_pending = True
            self._store.async_delay_save(self._data_to_save, SAVE_DELAY)

    def _data_to_save(self) -> dict[str, Any]:
        self._save_pending = False
        data: dict[str, Any] = {"site": self._site.to_dict()}
        if self.demo is not None:
            data["demo"] = self.demo.to_dict()
        return data

    # --- the cycle -----------------------------------------------------------------------------

    async def _async_update_data(self) -> EvccData:
        async with self._cycle_lock:
            try:
                return await self._async_cycle()
            except (DeviceError, SettingError, ValueError, TypeError, ArithmeticError) as err:
                # Only a bug gets here: device errors are handled per device below.
                raise UpdateFailed(f"control cycle failed: {err}") from err

    async def _async_cycle(self) -> EvccData:
        devices = self.devices
        lps = devices.loadpoints
        # read everything at once
        grid_task = self._read_meter("grid", devices.grid) if devices.grid else None
        pv = [self._read_meter(f"pv{i + 1}", m) for i, m in enumerate(devices.pv)]
        battery = [self._read_meter(f"battery{i + 1}", m) for i, m in enumerate(devices.battery)]
        aux = [self._read_meter(f"aux{i + 1}", m) for i, m in enumerate(devices.aux)]
        chargers = [
            self._read_charger(device_key_loadpoint(i), lp.charger) for i, lp in enumerate(lps)
        ]
        lp_meters = [
            self._read_meter(f"{device_key_loadpoint(i)}_meter", lp.meter) if lp.meter else _none()
            for i, lp in enumerate(lps)
        ]
        socs = [
            self._read_soc(f"{device_key_loadpoint(i)}_soc", lp.soc) if lp.soc else _none()
            for i, lp in enumerate(lps)
        ]
        site_reads = asyncio.gather(
            grid_task if grid_task is not None else _none(),
            asyncio.gather(*pv),
            asyncio.gather(*battery),
            asyncio.gather(*aux),
        )
        lp_reads = asyncio.gather(
            asyncio.gather(*chargers), asyncio.gather(*lp_meters), asyncio.gather(*socs)
        )
        (
            (grid_reading, pv_readings, battery_readings, aux_readings),
            (charger_readings, meter_readings, soc_readings),
        ) = await asyncio.gather(site_reads, lp_reads)

        failed = set(self._unavailable)
        readings = SiteReadings(
            grid=grid_reading,
            pv=tuple(r for r in pv_readings if r is not None),
            battery=tuple(r for r in battery_readings if r is not None),
            aux=tuple(r for r in aux_readings if r is not None),
            loadpoints=tuple(
                LoadpointReadings(charger=c, meter=m, vehicle_soc=s)
                for c, m, s in zip(charger_readings, meter_readings, soc_readings, strict=True)
            ),
        )

        async with self._command_lock:
            now = self.now()
            result = self._site.update(now, readings)
            if result.skipped:
                LOGGER.debug("Cycle of %s skipped: %s", self.config_entry.title, result.skipped)
            await asyncio.gather(
                *(
                    self._async_send(index, command)
                    for index, command in enumerate(result.commands)
                    if command
                )
            )
        self._fire_events(result.events)
        state = self._build_state(now)
        self._state = state
        self._notify(state)
        self._schedule_save()
        return EvccData(now=now, state=state, failed=frozenset(failed), skipped=result.skipped)

    def _fire_events(self, events: list[CoreEvent]) -> None:
        for event in events:
            lp = self._site.loadpoints[event.loadpoint]
            self.hass.bus.async_fire(
                EVENT_NAME,
                {
                    "config_entry_id": self.config_entry.entry_id,
                    "loadpoint": event.loadpoint + 1,
                    "title": lp.config.title,
                    "type": event.type.value,
                },
            )

    # --- device I/O ----------------------------------------------------------------------------

    async def _guarded[T](self, key: str, name: str, call: Awaitable[T]) -> T | None:
        """Await a device call with the timeout; a failure is logged once and gives None."""
        try:
            async with asyncio.timeout(DEVICE_TIMEOUT):
                value = await call
        except TimeoutError:
            self._lost(key, name, f"no answer within {DEVICE_TIMEOUT:g} s")
            return None
        except Exception as err:  # any device failure is "unavailable"
            self._lost(key, name, str(err) or type(err).__name__)
            return None
        self._recovered(key, name)
        return value

    async def _read_meter(self, key: str, meter: Meter) -> MeterReading | None:
        return await self._guarded(key, meter.name, _checked_meter(meter))

    async def _read_charger(self, key: str, charger: Charger) -> ChargerReading | None:
        return await self._guarded(key, charger.name, _checked_charger(charger))

    async def _read_soc(self, key: str, source: SocSource) -> float | None:
        return await self._guarded(key, source.name, _checked_soc(source))

    async def _async_send(self, index: int, command: ChargerCommand) -> None:
        """Send one command; a failure is logged and does not stop the others."""
        charger = self.devices.loadpoints[index].charger
        try:
            async with asyncio.timeout(DEVICE_TIMEOUT):
                await charger.async_apply(command)
        except TimeoutError:
            LOGGER.warning(
                "%s did not accept %s within %g s", charger.name, command, DEVICE_TIMEOUT
            )
        except Exception as err:  # a failing charger must not stop the others
            LOGGER.warning("%s rejected %s: %s", charger.name, command, err)
        else:
            LOGGER.debug("%s: sent %s", charger.name, command)

    def _lost(self, key: str, name: str, reason: str) -> None:
        if key not in self._unavailable:
            self._unavailable.add(key)
            LOGGER.info("%s is unavailable: %s", name, reason)

    def _recovered(self, key: str, name: str) -> None:
        if key in self._unavailable:
            self._unavailable.discard(key)
            LOGGER.info("%s is available again", name)

    # --- publishing ----------------------------------------------------------------------------

    def _build_state(self, now: datetime) -> dict[str, Any]:
        currency = self.hass.config.currency or "EUR"
        return build_state(self._site, now, currency=currency)

    @callback
    def _async_publish(self, now: datetime) -> None:
        """After a setting change: new state document, entities and API readers updated."""
        state = self._build_state(now)
        self._state = state
        if self.data is not None:
            self.data = replace(self.data, state=state)
        self._notify(state)
        self.async_update_listeners()

    def _notify(self, state: dict[str, Any]) -> None:
        for listener in list(self._state_listeners):
            try:
                listener(state)
            except Exception:  # one broken reader must not stop the others
                LOGGER.exception("State listener failed")


def _loadpoint_subentry_ids(entry: EvccConfigEntry, count: int) -> list[str | None]:
    """The config subentry of each loadpoint (the factory builds them in subentry order); None
    for all when the numbers differ (demo site, or loadpoints without subentries)."""
    subentries = getattr(entry, "subentries", None) or {}
    ids: list[str | None] = [
        subentry_id
        for subentry_id, subentry in subentries.items()
        if subentry.subentry_type == SUBENTRY_LOADPOINT
    ]
    return ids if len(ids) == count else [None] * count


async def _none() -> None:
    return None


async def _checked_meter(meter: Meter) -> MeterReading:
    reading = await meter.async_read()
    if not isinstance(reading, MeterReading):
        raise DeviceError(f"not a meter reading: {reading!r}")
    if not _finite(reading.power):
        raise DeviceError(f"invalid power {reading.power!r}")
    for name in ("energy", "soc", "capacity"):
        value = getattr(reading, name)
        if value is not None and not _finite(value):
            raise DeviceError(f"invalid {name} {value!r}")
    return reading


async def _checked_charger(charger: Charger) -> ChargerReading:
    reading = await charger.async_read()
    if not isinstance(reading, ChargerReading):
        raise DeviceError(f"not a charger reading: {reading!r}")
    if not isinstance(reading.status, Status):
        # a plain string from an adapter: map it as evcc does (garbage raises DeviceError)
        reading = replace(reading, status=parse_status(str(reading.status)))
    for name in ("power", "energy", "offered_current", "soc"):
        value = getattr(reading, name)
        if value is not None and not _finite(value):
            raise DeviceError(f"invalid {name} {value!r}")
    return reading


async def _checked_soc(source: SocSource) -> float | None:
    soc = await source.async_read()
    if soc is None:
        return None
    if not _finite(soc) or not 0 <= float(soc) <= 100:
        raise DeviceError(f"invalid SoC {soc!r}")
    return float(soc)


def _finite(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _watched_entities(devices: SiteDevices) -> set[str]:
    """Entity ids read by the meters (`entity_id` / `entity_ids` of Home Assistant entity
    meters); chargers are left out, so a command's own echo does not start a cycle."""
    candidates: list[object] = [devices.grid, *devices.pv, *devices.battery, *devices.aux]
    candidates += [lp.meter for lp in devices.loadpoints]
    found: set[str] = set()
    for device in candidates:
        if device is None:
            continue
        single = getattr(device, "entity_id", None)
        if isinstance(single, str) and single:
            found.add(single)
        many = getattr(device, "entity_ids", None)
        if isinstance(many, list | tuple | set | frozenset):
            found.update(e for e in many if isinstance(e, str) and e)
    return found

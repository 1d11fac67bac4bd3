"""The Home Assistant shell around the controller: scheduling, storage, events.

The control cycle itself is `core.controller.Controller` (the same object the simulator, the API
tests and the benchmarks run). The coordinator only schedules it (every interval, and about a
second after a watched meter entity changed), fires `evcc_ha_event` for connect/start/stop/
disconnect, stores settings, sessions and meter baselines with Home Assistant's storage helper,
and tells the entities about every new state document — also the ones a setting change from
REST, MQTT, a service or an entity publishes between cycles.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Final

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.debounce import Debouncer
from homeassistant.helpers.event import async_track_state_change_event
from homeassistant.helpers.storage import Store
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator
from homeassistant.util import dt as dt_util

from .const import (
    CONF_DEMO_HISTORY_DAYS,
    CONF_INTERVAL,
    DEFAULT_INTERVAL,
    DOMAIN,
    LOGGER,
    MAX_INTERVAL,
    MIN_INTERVAL,
    STORAGE_MINOR_VERSION,
    STORAGE_VERSION,
    SUBENTRY_CIRCUIT,
    SUBENTRY_LOADPOINT,
)
from .core.controller import Controller, CycleReport
from .core.model import Event as CoreEvent
from .core.site import Site
from .devices.demo import DemoSite, apply_demo_settings, plan_next_departure
from .devices.demo_history import demo_history

if TYPE_CHECKING:
    from .api.mqtt import MqttApi
    from .api.server import EvccApiServer

# A meter entity that changes triggers a cycle this long after its first change.
EARLY_REFRESH_COOLDOWN: Final = 1.0
# Settings, sessions and meter baselines are written at most this often (and on unload/stop).
SAVE_DELAY: Final = 60.0
EVENT_NAME: Final = f"{DOMAIN}_event"


class HassClock:
    """Home Assistant's clock (follows the test clock in tests), timezone-aware."""

    def now(self) -> datetime:
        return dt_util.now()


@dataclass(kw_only=True, slots=True)
class EvccRuntimeData:
    """Everything a loaded site entry owns; platforms reach it through ``entry.runtime_data``."""

    site_title: str
    coordinator: EvccCoordinator
    api_server: EvccApiServer | None = None  # the evcc API port, while it is served
    mqtt_api: MqttApi | None = None  # evcc's MQTT API, while it runs

    @property
    def controller(self) -> Controller:
        return self.coordinator.controller


type EvccConfigEntry = ConfigEntry[EvccRuntimeData]


class SiteStore(Store[dict[str, Any]]):
    """The stored state of one site, migrated from older versions of the file."""

    async def _async_migrate_func(
        self, old_major_version: int, old_minor_version: int, old_data: dict[str, Any]
    ) -> dict[str, Any]:
        if old_major_version > STORAGE_VERSION:
            LOGGER.warning(
                "Stored state %s was written by a newer version (%s.%s) and is not used",
                self.key,
                old_major_version,
                old_minor_version,
            )
            return {}
        data = old_data if isinstance(old_data, dict) else {}
        site = data.get("site")
        if old_minor_version < 2 and isinstance(site, dict) and "telemetry" in site:
            # 1.1 kept the telemetry flag beside the site settings
            settings = site.get("settings")
            settings = dict(settings) if isinstance(settings, dict) else {}
            settings["telemetry"] = site.pop("telemetry")
            site["settings"] = settings
        return data


def interval_of(entry: ConfigEntry) -> int:
    """The control interval (s) of a site entry, within the allowed range."""
    interval = int(entry.options.get(CONF_INTERVAL, DEFAULT_INTERVAL))
    return min(max(interval, MIN_INTERVAL), MAX_INTERVAL)


class EvccCoordinator(DataUpdateCoordinator[CycleReport]):
    """Schedules one site's controller and tells the entities about its state documents."""

    config_entry: EvccConfigEntry

    def __init__(
        self,
        hass: HomeAssistant,
        entry: EvccConfigEntry,
        controller: Controller,
        *,
        demo: DemoSite | None = None,
    ) -> None:
        super().__init__(
            hass,
            LOGGER,
            config_entry=entry,
            name=f"{DOMAIN} {entry.title}",
            update_interval=timedelta(seconds=interval_of(entry)),
            request_refresh_debouncer=Debouncer(
                hass, LOGGER, cooldown=EARLY_REFRESH_COOLDOWN, immediate=False
            ),
        )
        self.controller = controller
        self.demo = demo
        self.loadpoint_subentry_ids = _subentry_ids(
            entry, SUBENTRY_LOADPOINT, len(controller.site.loadpoints)
        )
        self.circuit_subentry_ids = _subentry_ids(
            entry, SUBENTRY_CIRCUIT, len(controller.site.circuits)
        )
        self._store = SiteStore(
            hass,
            STORAGE_VERSION,
            f"{DOMAIN}.{entry.entry_id}",
            private=False,
            minor_version=STORAGE_MINOR_VERSION,
        )
        self._save_pending = False
        self._in_cycle = False

    @property
    def site(self) -> Site:
        return self.controller.site

    # --- setup and teardown --------------------------------------------------------------------

    async def async_restore(self) -> None:
        """Load the stored settings, sessions and meter baselines (before the first cycle)."""
        try:
            stored = await self._store.async_load()
        except HomeAssistantError as err:  # a file that is not JSON any more
            LOGGER.warning("Stored state of %s ignored: %s", self.config_entry.title, err)
            stored = None
        now = self.controller.now()
        if isinstance(stored, Mapping) and isinstance(stored.get("site"), Mapping):
            self.site.restore(stored["site"], now)
            if self.demo is not None and isinstance(stored.get("demo"), dict):
                self.demo.restore(stored["demo"])
            return
        if stored is not None:
            LOGGER.warning("Stored state of %s ignored: not a site", self.config_entry.title)
        if self.demo is not None:
            if await self._async_demo_past(now):
                plan_next_departure(self.site, self.demo, now)
            else:
                apply_demo_settings(self.site, self.demo, now, str(self.hass.config.time_zone))

    async def _async_demo_past(self, now: datetime) -> bool:
        """A new demo site has lived its history days (simulated in a worker thread): the site
        and the household go on from where they left them, as after a restart. False: no past
        (none configured, or it failed)."""
        assert self.demo is not None
        days = self.config_entry.data.get(CONF_DEMO_HISTORY_DAYS)
        if not isinstance(days, int) or isinstance(days, bool) or not 0 < days <= 31:
            return False
        tz = dt_util.get_default_time_zone()
        try:
            past = await self.hass.async_add_executor_job(
                demo_history, now, tz, str(self.hass.config.time_zone), days
            )
        except Exception:  # a demo without its past is still a demo
            LOGGER.exception("Demo site %s starts without its past", self.config_entry.title)
            return False
        self.demo.restore(past.demo_state)
        self.site.restore(past.site_state, now)
        LOGGER.info(
            "Demo site %s: %d days lived before it started (%d sessions)",
            self.config_entry.title,
            days,
            len(self.site.sessions.listed()),
        )
        return True

    @callback
    def async_start(self) -> None:
        """Follow the controller's state documents and the watched meter entities."""
        entry = self.config_entry
        entry.async_on_unload(self.controller.subscribe(self._on_state))
        watched = sorted(
            {entity_id for device in self.controller.devices.all() for entity_id in device.watched}
        )
        if not watched:
            return

        @callback
        def _changed(_event: Event[EventStateChangedData]) -> None:
            self.hass.async_create_task(self.async_request_refresh(), eager_start=True)

        entry.async_on_unload(async_track_state_change_event(self.hass, watched, _changed))

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
        data: dict[str, Any] = {"site": self.site.to_dict()}
        if self.demo is not None:
            data["demo"] = self.demo.to_dict()
        return data

    # --- the cycle -----------------------------------------------------------------------------

    async def _async_update_data(self) -> CycleReport:
        self._in_cycle = True
        try:
            report = await self.controller.async_cycle()
        finally:
            self._in_cycle = False
        self._fire_events(report.events)
        self._schedule_save()
        return report

    @callback
    def _on_state(self, _state: dict[str, Any]) -> None:
        """A setting changed between cycles: the entities show the new state document."""
        if self._in_cycle or self.data is None or self.controller.report is None:
            return  # the cycle's own document reaches the entities when the cycle returns
        self.data = self.controller.report
        self.async_update_listeners()
        self._schedule_save()

    def _fire_events(self, events: tuple[CoreEvent, ...]) -> None:
        for event in events:
            lp = self.site.loadpoints[event.loadpoint]
            self.hass.bus.async_fire(
                EVENT_NAME,
                {
                    "config_entry_id": self.config_entry.entry_id,
                    "loadpoint": event.loadpoint + 1,
                    "title": lp.config.title,
                    "type": event.type.value,
                },
            )


def _subentry_ids(entry: EvccConfigEntry, kind: str, count: int) -> list[str | None]:
    """The config subentry of each loadpoint or circuit (`kind`; the factory builds them in
    subentry order); None for all when the numbers differ (demo site: none of its own)."""
    subentries = getattr(entry, "subentries", None) or {}
    ids: list[str | None] = [
        subentry_id
        for subentry_id, subentry in subentries.items()
        if subentry.subentry_type == kind
    ]
    return ids if len(ids) == count else [None] * count

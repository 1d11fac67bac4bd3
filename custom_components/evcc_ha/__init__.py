"""The evcc_ha integration: an evcc-class EV charge controller for Home Assistant."""

from __future__ import annotations

from functools import partial
from uuid import uuid4

from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import EVENT_HOMEASSISTANT_STOP, Platform
from homeassistant.core import Event, HomeAssistant
from homeassistant.exceptions import ConfigEntryError
from homeassistant.helpers import (
    config_validation as cv,
    device_registry as dr,
    entity_registry as er,
    issue_registry as ir,
)
from homeassistant.helpers.storage import Store
from homeassistant.helpers.typing import ConfigType
from homeassistant.util import dt as dt_util

from .api.backend import Backend
from .api.http import async_register_views
from .api.mqtt_topics import roots_overlap
from .api.server import EvccApiServer
from .api.state import build_state
from .const import (
    CONF_API_ALLOWED_ORIGINS,
    CONF_API_ENABLED,
    CONF_API_HOST,
    CONF_API_PORT,
    CONF_API_READ_ONLY,
    CONF_MQTT_ENABLED,
    CONF_MQTT_READ_ONLY,
    CONF_MQTT_TOPIC,
    CONF_SITE_TITLE,
    CONF_SOLAR_FORECAST,
    DEFAULT_API_HOST,
    DEFAULT_API_PORT,
    DEFAULT_MQTT_TOPIC,
    DOMAIN,
    LOGGER,
    STORAGE_VERSION,
)
from .coordinator import (
    EvccConfigEntry,
    EvccCoordinator,
    EvccRuntimeData,
    HassClock,
    interval_of,
)
from .core.controller import Controller
from .core.site import Site
from .devices.demo import DemoCo2Tariff, DemoSolarForecast, demo_feedin_tariff
from .devices.factory import async_build_site_devices
from .devices.modbus.client import ModbusHub
from .devices.solar_forecast import EntitySolarForecast
from .devices.tariffs import EntityPriceTariff, build_tariffs, demo_price_unique_id
from .entity import async_register_devices, loadpoint_identifier, site_identifier
from .services import async_setup_services

CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)

PLATFORMS: list[Platform] = [
    Platform.BINARY_SENSOR,
    Platform.DATETIME,
    Platform.NUMBER,
    Platform.SELECT,
    Platform.SENSOR,
    Platform.SWITCH,
]


def _first_backend(hass: HomeAssistant) -> Backend | None:
    """The site the Home Assistant API views serve: the first loaded entry."""
    entries: list[EvccConfigEntry] = hass.config_entries.async_loaded_entries(DOMAIN)
    return entries[0].runtime_data.controller if entries else None


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Register the service actions and the evcc API views (once for all sites)."""
    async_setup_services(hass)
    async_register_views(hass, partial(_first_backend, hass))
    return True


async def async_setup_entry(hass: HomeAssistant, entry: EvccConfigEntry) -> bool:
    """Set up one site: devices, stored state, first control cycle, entities, API port."""
    clock = HassClock()
    # one Modbus hub per site: it opens nothing until a Modbus device is read; closed after the
    # controller closed its devices (unload callbacks run last registered first)
    hub = ModbusHub()
    entry.async_on_unload(hub.async_close)
    try:
        devices, demo = await async_build_site_devices(
            hass, entry, clock, dt_util.get_default_time_zone(), hub
        )
    except (KeyError, ValueError, TypeError) as err:
        # a configuration the device adapters cannot use: retrying will not help
        raise ConfigEntryError(
            translation_domain=DOMAIN,
            translation_key="invalid_configuration",
            translation_placeholders={"site": entry.title, "error": str(err) or repr(err)},
        ) from err
    currency = hass.config.currency or "EUR"
    tz = dt_util.get_default_time_zone()
    try:
        tariffs, price_entities = build_tariffs(
            hass, entry.options, tz=tz, currency=currency, site=entry.title
        )
    except ValueError as err:  # zones the options flow would not have stored
        raise ConfigEntryError(
            translation_domain=DOMAIN,
            translation_key="invalid_configuration",
            translation_placeholders={"site": entry.title, "error": str(err)},
        ) from err
    demo_prices: EntityPriceTariff | None = None
    if demo is not None:
        # the demo's own day-ahead price sensor (made by the sensor platform) and feed-in price
        if "grid" not in tariffs:
            demo_prices = EntityPriceTariff(
                hass, None, tz=tz, currency=currency, name=f"Grid tariff of {entry.title}"
            )
            tariffs["grid"] = demo_prices
            price_entities.append(demo_prices)
        tariffs.setdefault("feedin", demo_feedin_tariff(tz))
        tariffs.setdefault("solar", DemoSolarForecast(demo))
        tariffs.setdefault("co2", DemoCo2Tariff(demo))
    solar: EntitySolarForecast | None = None
    if forecast_entities := entry.options.get(CONF_SOLAR_FORECAST):
        solar = EntitySolarForecast(
            hass, forecast_entities, name=f"Solar forecast of {entry.title}"
        )
        tariffs["solar"] = solar
        entry.async_on_unload(solar.close)
        await solar.async_watch()
    for tariff in price_entities:
        entry.async_on_unload(tariff.close)
        if tariff is not demo_prices:
            await tariff.async_watch()
    try:
        site = Site(
            devices.config,
            [lp.config for lp in devices.loadpoints],
            tariffs=tariffs,
            interval_s=float(interval_of(entry)),
            tz=tz,
        )
    except ValueError as err:  # e.g. circuits the subentry flow would not have stored
        raise ConfigEntryError(
            translation_domain=DOMAIN,
            translation_key="invalid_configuration",
            translation_placeholders={"site": entry.title, "error": str(err)},
        ) from err
    controller = Controller(site, devices, clock, partial(build_state, currency=currency, tz=tz))
    await controller.async_setup()
    entry.async_on_unload(controller.async_close)
    coordinator = EvccCoordinator(hass, entry, controller, demo=demo)
    entry.runtime_data = EvccRuntimeData(
        site_title=entry.data.get(CONF_SITE_TITLE, entry.title), coordinator=coordinator
    )
    await coordinator.async_restore()
    await coordinator.async_config_entry_first_refresh()

    def new_rates() -> None:  # new prices or forecast: in the state now, not a cycle later
        entry.async_create_task(hass, coordinator.async_request_refresh(), "new rates")

    for watched in (*price_entities, solar):
        if watched is not None:
            watched.on_change = new_rates
    async_register_devices(entry, dr.async_get(hass))
    coordinator.async_start()
    entry.async_on_unload(
        hass.bus.async_listen(EVENT_HOMEASSISTANT_STOP, coordinator.async_on_stop)
    )
    await _async_start_api(hass, entry, coordinator)
    _async_start_mqtt(hass, entry)
    # options, loadpoint subentries or the title changed: set the site up again
    entry.async_on_unload(entry.add_update_listener(_async_entry_updated))
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    if demo_prices is not None:
        entity_id = er.async_get(hass).async_get_entity_id(
            "sensor", DOMAIN, demo_price_unique_id(entry)
        )
        await demo_prices.async_watch(entity_id)
    LOGGER.debug("Site %s set up with %d loadpoint(s)", entry.title, len(devices.loadpoints))
    return True


async def _async_entry_updated(hass: HomeAssistant, entry: EvccConfigEntry) -> None:
    hass.config_entries.async_schedule_reload(entry.entry_id)


def _api_issue_id(entry: EvccConfigEntry) -> str:
    return f"api_port_{entry.entry_id}"


async def _async_start_api(
    hass: HomeAssistant, entry: EvccConfigEntry, coordinator: EvccCoordinator
) -> None:
    """Serve evcc's API on its own port when enabled; a port in use becomes a repair issue."""
    options = entry.options
    issue_id = _api_issue_id(entry)
    if not options.get(CONF_API_ENABLED):
        ir.async_delete_issue(hass, DOMAIN, issue_id)
        return
    host = str(options.get(CONF_API_HOST) or DEFAULT_API_HOST)
    port = int(options.get(CONF_API_PORT) or DEFAULT_API_PORT)
    server = EvccApiServer(
        coordinator.controller,
        host,
        port,
        bool(options.get(CONF_API_READ_ONLY, False)),
        allowed_origins=options.get(CONF_API_ALLOWED_ORIGINS) or (),
    )
    try:
        await server.start()
    except OSError as err:
        LOGGER.warning("evcc API of %s not started: %s", entry.title, err)
        ir.async_create_issue(
            hass,
            DOMAIN,
            issue_id,
            is_fixable=False,
            is_persistent=False,
            severity=ir.IssueSeverity.ERROR,
            translation_key="api_port_unavailable",
            translation_placeholders={
                "site": entry.title,
                "host": host,
                "port": str(port),
                "error": str(err),
            },
        )
        return
    ir.async_delete_issue(hass, DOMAIN, issue_id)
    entry.runtime_data.api_server = server
    entry.async_on_unload(server.stop)


def _async_start_mqtt(hass: HomeAssistant, entry: EvccConfigEntry) -> None:
    """evcc's MQTT API on Home Assistant's MQTT connection (on unless switched off); it waits
    for the MQTT client in the background, so the site does not wait for the broker."""
    options = entry.options
    if not options.get(CONF_MQTT_ENABLED, True):
        return
    from .api.mqtt_ha import async_start_mqtt_api

    runtime = entry.runtime_data
    root = str(options.get(CONF_MQTT_TOPIC) or DEFAULT_MQTT_TOPIC)
    for other in hass.config_entries.async_loaded_entries(DOMAIN):
        api = other.runtime_data.mqtt_api if other is not entry else None
        if api is not None and roots_overlap(api.root, root):
            LOGGER.warning(
                "MQTT API of %s not started: %s already publishes under %s (choose another "
                "root topic in the options)",
                entry.title,
                other.title,
                api.root,
            )
            return

    async def start() -> None:
        runtime.mqtt_api = await async_start_mqtt_api(
            hass,
            runtime.controller,
            root,
            read_only=bool(options.get(CONF_MQTT_READ_ONLY, False)),
            site=entry.title,
            started=lambda api: setattr(runtime, "mqtt_api", api),
        )

    async def stop(_event: Event | None = None) -> None:
        api, runtime.mqtt_api = runtime.mqtt_api, None
        if api is not None:
            await api.async_stop()

    entry.async_create_background_task(hass, start(), f"{DOMAIN} MQTT API of {entry.title}")
    entry.async_on_unload(stop)
    entry.async_on_unload(hass.bus.async_listen_once(EVENT_HOMEASSISTANT_STOP, stop))


async def async_unload_entry(hass: HomeAssistant, entry: EvccConfigEntry) -> bool:
    """Unload a site and write its state; listeners, timers and the API port go with it."""
    unloaded = await hass.config_entries.async_unload_platforms(entry, PLATFORMS)
    if unloaded:
        await entry.runtime_data.coordinator.async_save()
    return unloaded


async def async_remove_entry(hass: HomeAssistant, entry: EvccConfigEntry) -> None:
    """A deleted site forgets its stored settings and sessions."""
    await Store[dict[str, object]](
        hass, STORAGE_VERSION, f"{DOMAIN}.{entry.entry_id}"
    ).async_remove()
    ir.async_delete_issue(hass, DOMAIN, _api_issue_id(entry))


async def async_remove_config_entry_device(
    hass: HomeAssistant, entry: EvccConfigEntry, device: dr.DeviceEntry
) -> bool:
    """Allow deleting a device only when it no longer stands for the site or a loadpoint."""
    current = {site_identifier(entry)}
    if entry.state is ConfigEntryState.LOADED:
        loadpoints = entry.runtime_data.coordinator.site.loadpoints
        current |= {loadpoint_identifier(entry, lp.index) for lp in loadpoints}
    return not device.identifiers & current


async def async_migrate_entry(hass: HomeAssistant, entry: EvccConfigEntry) -> bool:
    """1.1 → 1.2: the unique id no longer comes from the (editable) site title."""
    if entry.version > 1:
        return False  # a newer version of the integration wrote this entry
    if entry.minor_version < 2:
        hass.config_entries.async_update_entry(entry, unique_id=uuid4().hex, minor_version=2)
        LOGGER.debug("Site %s migrated to version 1.2", entry.title)
    return True

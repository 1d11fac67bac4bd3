"""Config flow for evcc_ha.

* Config flow: one entry per site; two sites may not share a title. A demo site (simulated
  devices) needs nothing else; a real site asks for its meters (Home Assistant sensors) right away.
  The entry's unique id is generated, not derived from the title (which the user may change).
* Options flow: control interval, meters, and the evcc-compatible API port.
* Subentry flow (type ``loadpoint``): one subentry per charging point, with the charger's entities,
  its limits and an optional vehicle of its own; reconfigurable.
* Subentry flow (type ``vehicle``): a vehicle without a loadpoint of its own (it is detected or
  chosen wherever it charges); reconfigurable.

Every check shows a translated error in the form and leaves the entry untouched. Reloading after a
change is the job of the entry's update listener (set up in ``__init__``): it also sees subentries
being added or deleted, which no flow step does.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal
from uuid import uuid4

import voluptuous as vol
from homeassistant.config_entries import (
    SOURCE_RECONFIGURE,
    ConfigEntry,
    ConfigEntryState,
    ConfigFlow,
    ConfigFlowResult,
    ConfigSubentry,
    ConfigSubentryFlow,
    OptionsFlow,
    SubentryFlowResult,
)
from homeassistant.const import (
    ATTR_DEVICE_CLASS,
    ATTR_UNIT_OF_MEASUREMENT,
    PERCENTAGE,
    UnitOfElectricCurrent,
    UnitOfEnergy,
    UnitOfPower,
    UnitOfTime,
)
from homeassistant.core import HomeAssistant, callback, split_entity_id
from homeassistant.helpers.selector import (
    BooleanSelector,
    EntityFilterSelectorConfig,
    EntitySelector,
    EntitySelectorConfig,
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
    TextSelectorConfig,
)
from homeassistant.util import dt as dt_util, slugify
from homeassistant.util.unit_conversion import DistanceConverter

from .api.mqtt_topics import roots_overlap
from .const import (
    CHARGER_KIND_MODBUS,
    CONF_API_ALLOWED_ORIGINS,
    CONF_API_ENABLED,
    CONF_API_HOST,
    CONF_API_PORT,
    CONF_API_READ_ONLY,
    CONF_BATTERY_CAPACITY,
    CONF_BATTERY_INVERT,
    CONF_BATTERY_MODE_CHARGE,
    CONF_BATTERY_MODE_ENTITY,
    CONF_BATTERY_MODE_HOLD,
    CONF_BATTERY_MODE_NORMAL,
    CONF_BATTERY_POWER,
    CONF_BATTERY_SOC,
    CONF_CHARGE_METER_POWER,
    CONF_CHARGER_CHARGING,
    CONF_CHARGER_CURRENT,
    CONF_CHARGER_ENABLE,
    CONF_CHARGER_ENERGY,
    CONF_CHARGER_KIND,
    CONF_CHARGER_MAX_CURRENT,
    CONF_CHARGER_PHASE_COUNT,
    CONF_CHARGER_PHASES,
    CONF_CHARGER_PHASES_ON_1P,
    CONF_CHARGER_POWER,
    CONF_CHARGER_STATUS,
    CONF_CIRCUIT_CURRENTS,
    CONF_CIRCUIT_GRID_METER,
    CONF_CIRCUIT_LIMIT,
    CONF_CIRCUIT_LOADPOINTS,
    CONF_CIRCUIT_MAX_CURRENT,
    CONF_CIRCUIT_MAX_POWER,
    CONF_CIRCUIT_METER,
    CONF_CIRCUIT_PARENT,
    CONF_CIRCUIT_TITLE,
    CONF_CO2_ENTITY,
    CONF_CONTROL_PROFILE,
    CONF_DEMO,
    CONF_DEMO_HISTORY_DAYS,
    CONF_FEEDIN_PRICE,
    CONF_FEEDIN_PRICE_ENTITY,
    CONF_GRID_ENERGY,
    CONF_GRID_INVERT,
    CONF_GRID_POWER,
    CONF_GRID_PRICE,
    CONF_GRID_PRICE_ENTITY,
    CONF_GRID_ZONES,
    CONF_INTERVAL,
    CONF_MQTT_ENABLED,
    CONF_MQTT_READ_ONLY,
    CONF_MQTT_TOPIC,
    CONF_PV_POWER,
    CONF_SITE_TITLE,
    CONF_SOLAR_FORECAST,
    CONF_TITLE,
    CONF_VEHICLE_CAPACITY,
    CONF_VEHICLE_CLIMATER,
    CONF_VEHICLE_CONNECTED,
    CONF_VEHICLE_LIMIT,
    CONF_VEHICLE_ODOMETER,
    CONF_VEHICLE_PHASES,
    CONF_VEHICLE_RANGE,
    CONF_VEHICLE_SOC,
    CONF_VEHICLE_TITLE,
    CONF_VEHICLE_WELCOME_CHARGE,
    DEFAULT_API_HOST,
    DEFAULT_API_PORT,
    DEFAULT_CHARGER_MAX_CURRENT,
    DEFAULT_CHARGER_PHASE_COUNT,
    DEFAULT_INTERVAL,
    DEFAULT_MQTT_TOPIC,
    DEFAULT_SITE_TITLE,
    DEFAULT_VEHICLE_CAPACITY,
    DEFAULT_VEHICLE_PHASES,
    DOMAIN,
    MAX_API_PORT,
    MAX_BATTERY_CAPACITY,
    MAX_HARDWARE_CURRENT,
    MAX_INTERVAL,
    MAX_SITE_TITLE_LENGTH,
    MAX_VEHICLE_CAPACITY,
    MIN_API_PORT,
    MIN_CHARGE_CURRENT,
    MIN_INTERVAL,
    SUBENTRY_CIRCUIT,
    SUBENTRY_LOADPOINT,
    SUBENTRY_MODBUS_METER,
    SUBENTRY_VEHICLE,
)
from .core.circuit import MAX_CIRCUIT_CURRENT_A, MAX_CIRCUIT_POWER_W
from .core.model import CommandError, ControlProfile
from .core.settings import MAX_PRICE, LoadpointKey
from .core.tariff import ZoneError, parse_zones
from .devices.demo_history import DEMO_HISTORY_DAYS
from .devices.factory import circuit_subentries, has_grid_meter, loadpoint_subentries
from .devices.ha_entities import (
    CURRENT_UNITS,
    ENERGY_UNITS,
    POWER_UNITS,
    current_entity_problem,
    phases_of_option,
)
from .devices.modbus.client import Framing
from .devices.modbus.const import (
    CONF_MODBUS_DATA_TYPE,
    CONF_MODBUS_ENERGY_DATA_TYPE,
    CONF_MODBUS_ENERGY_REGISTER,
    CONF_MODBUS_ENERGY_REGISTER_TYPE,
    CONF_MODBUS_ENERGY_SCALE,
    CONF_MODBUS_ENERGY_WORD_ORDER,
    CONF_MODBUS_FRAMING,
    CONF_MODBUS_HOST,
    CONF_MODBUS_INVERT,
    CONF_MODBUS_KIND,
    CONF_MODBUS_MAX_CURRENT,
    CONF_MODBUS_MILLI_CURRENT,
    CONF_MODBUS_PORT,
    CONF_MODBUS_REGISTER,
    CONF_MODBUS_REGISTER_TYPE,
    CONF_MODBUS_SCALE,
    CONF_MODBUS_UNIT_ID,
    CONF_MODBUS_USAGE,
    CONF_MODBUS_WORD_ORDER,
    Usage,
)
from .devices.modbus.kinds import (
    CHARGER_KINDS as MODBUS_CHARGER_KINDS,
    METER_KINDS as MODBUS_METER_KINDS,
)
from .devices.modbus.probe import async_probe as async_modbus_probe
from .devices.price_entity import PriceParseError, PriceSummary, summary
from .devices.solar_forecast import ForecastError, async_read_solar_forecast
from .devices.tariffs import async_read_price_entity, co2_sensor_problem


def clean_site_title(raw: str) -> str | None:
    """Return the title without surrounding blanks, or None when it cannot name a site."""
    title = raw.strip()
    if not title or len(title) > MAX_SITE_TITLE_LENGTH or not any(c.isalnum() for c in title):
        return None
    return title


def title_key(title: str) -> str:
    """What makes two site (or loadpoint) titles the same: their slug."""
    return slugify(title)


# Entity checks


@dataclass(frozen=True, slots=True)
class EntityKind:
    """What an entity must look like for one role; `error` is the form error otherwise."""

    domains: tuple[str, ...]
    error: str
    units: frozenset[str] | None = None  # None: any unit; empty: no unit at all
    device_class: str | None = None  # a device class, if the entity has one, must be this


POWER_SENSOR = EntityKind(("sensor",), "invalid_power_sensor", frozenset(POWER_UNITS), "power")
ENERGY_SENSOR = EntityKind(("sensor",), "invalid_energy_sensor", frozenset(ENERGY_UNITS), "energy")
SOC_SENSOR = EntityKind(("sensor",), "invalid_soc_sensor", frozenset({PERCENTAGE}), "battery")
ENABLE_SWITCH = EntityKind(("switch", "input_boolean"), "invalid_switch")
CURRENT_NUMBER = EntityKind(
    ("number", "input_number"),
    "invalid_current_number",
    frozenset({UnitOfElectricCurrent.AMPERE}),
    "current",
)
STATUS_SOURCE = EntityKind(
    ("binary_sensor", "sensor", "select", "input_select"), "invalid_status_entity", frozenset()
)
CHARGING_SENSOR = EntityKind(("binary_sensor", "input_boolean"), "invalid_charging_entity")
DISTANCE_SENSOR = EntityKind(
    ("sensor",),
    "invalid_distance_sensor",
    frozenset(unit for unit in DistanceConverter.VALID_UNITS if unit is not None),
    "distance",
)
LIMIT_SOC_ENTITY = EntityKind(
    ("sensor", "number", "input_number"), "invalid_limit_entity", frozenset({PERCENTAGE})
)
CLIMATER_ENTITY = EntityKind(
    ("binary_sensor", "switch", "input_boolean", "climate"), "invalid_climater_entity"
)
CONNECTED_ENTITY = EntityKind(("binary_sensor", "input_boolean"), "invalid_connected_entity")
BATTERY_MODE_ENTITY = EntityKind(
    ("select", "input_select", "switch", "input_boolean"), "invalid_battery_mode_entity"
)
CURRENT_SENSOR = EntityKind(
    ("sensor",), "invalid_current_sensor", frozenset(CURRENT_UNITS), "current"
)
CIRCUIT_LIMIT_ENTITY = EntityKind(
    ("sensor", "number", "input_number"),
    "invalid_circuit_limit_entity",
    frozenset(POWER_UNITS),
    "power",
)
PHASE_SWITCH = EntityKind(
    ("select", "input_select", "switch", "input_boolean"), "invalid_phase_entity"
)

ERROR_NOT_FOUND = "entity_not_found"


def entity_error(hass: HomeAssistant, entity_id: str, kind: EntityKind) -> str | None:
    """The form error for using `entity_id` in the role `kind`, or None when it fits."""
    state = hass.states.get(entity_id)
    if state is None:
        return ERROR_NOT_FOUND
    domain = split_entity_id(state.entity_id)[0]
    if domain not in kind.domains:
        return kind.error
    unit = state.attributes.get(ATTR_UNIT_OF_MEASUREMENT)
    if kind.units is not None and (unit not in kind.units if kind.units else unit is not None):
        return kind.error
    device_class = state.attributes.get(ATTR_DEVICE_CLASS)
    if kind.device_class is not None and device_class not in (None, kind.device_class):
        return kind.error
    if kind is PHASE_SWITCH and domain in ("select", "input_select"):
        options = state.attributes.get("options") or []
        if not {1, 3} <= {phases_of_option(str(option)) for option in options}:
            return kind.error
    return None


def _check_entities(
    hass: HomeAssistant,
    data: Mapping[str, Any],
    roles: Iterable[tuple[str, EntityKind]],
    errors: dict[str, str],
) -> None:
    """Add an error for each configured field whose entity does not fit its role."""
    for key, kind in roles:
        value = data.get(key)
        for entity_id in value if isinstance(value, list) else [value] if value else []:
            if error := entity_error(hass, entity_id, kind):
                errors[key] = error
                break


# Selectors


def _entities(*filters: EntityFilterSelectorConfig, multiple: bool = False) -> EntitySelector:
    return EntitySelector(EntitySelectorConfig(filter=list(filters), multiple=multiple))


# The selectors filter what the frontend offers; their backend check is by format only, so a
# wrong entity is reported by `entity_error` with a translated message.
_POWER = EntityFilterSelectorConfig(domain="sensor", device_class="power")
_ENERGY = EntityFilterSelectorConfig(domain="sensor", device_class="energy")
_SOC = EntityFilterSelectorConfig(domain="sensor", device_class="battery")
_DISTANCE = EntityFilterSelectorConfig(domain="sensor", device_class="distance")


def _number(
    low: float,
    high: float,
    step: float | Literal["any"],
    unit: str | None = None,
    mode: NumberSelectorMode = NumberSelectorMode.BOX,
) -> NumberSelector:
    config = NumberSelectorConfig(min=low, max=high, step=step, mode=mode)
    if unit is not None:
        config["unit_of_measurement"] = unit
    return NumberSelector(config)


def _choice(*options: str) -> SelectSelector:
    return SelectSelector(
        SelectSelectorConfig(options=list(options), mode=SelectSelectorMode.DROPDOWN)
    )


# Site: meters and API


_METER_KEYS = (
    CONF_GRID_POWER,
    CONF_GRID_INVERT,
    CONF_GRID_ENERGY,
    CONF_PV_POWER,
    CONF_BATTERY_POWER,
    CONF_BATTERY_INVERT,
    CONF_BATTERY_SOC,
    CONF_BATTERY_CAPACITY,
    CONF_BATTERY_MODE_ENTITY,
    CONF_BATTERY_MODE_NORMAL,
    CONF_BATTERY_MODE_HOLD,
    CONF_BATTERY_MODE_CHARGE,
)
_API_KEYS = (
    CONF_API_ENABLED,
    CONF_API_HOST,
    CONF_API_PORT,
    CONF_API_READ_ONLY,
    CONF_API_ALLOWED_ORIGINS,
)
# A web page's origin as browsers send it: scheme, host and an optional port, nothing else.
_ORIGIN = re.compile(r"^https?://[A-Za-z0-9.\-\[\]:]+$")


def default_options() -> dict[str, Any]:
    """Options of a new site: default interval, API port off."""
    return {
        CONF_INTERVAL: DEFAULT_INTERVAL,
        CONF_API_ENABLED: False,
        CONF_API_HOST: DEFAULT_API_HOST,
        CONF_API_PORT: DEFAULT_API_PORT,
        CONF_API_READ_ONLY: False,
        CONF_API_ALLOWED_ORIGINS: [],
        CONF_MQTT_ENABLED: True,
        CONF_MQTT_TOPIC: DEFAULT_MQTT_TOPIC,
        CONF_MQTT_READ_ONLY: False,
    }


def _interval_schema() -> dict[vol.Marker, Any]:
    return {
        vol.Required(CONF_INTERVAL, default=DEFAULT_INTERVAL): _number(
            MIN_INTERVAL, MAX_INTERVAL, 1, UnitOfTime.SECONDS, NumberSelectorMode.SLIDER
        )
    }


def _meter_schema() -> dict[vol.Marker, Any]:
    return {
        vol.Optional(CONF_GRID_POWER): _entities(_POWER),
        vol.Required(CONF_GRID_INVERT, default=False): BooleanSelector(),
        vol.Optional(CONF_GRID_ENERGY): _entities(_ENERGY),
        vol.Optional(CONF_PV_POWER): _entities(_POWER, multiple=True),
        vol.Optional(CONF_BATTERY_POWER): _entities(_POWER),
        vol.Required(CONF_BATTERY_INVERT, default=False): BooleanSelector(),
        vol.Optional(CONF_BATTERY_SOC): _entities(_SOC),
        vol.Optional(CONF_BATTERY_CAPACITY): _number(
            0.1, MAX_BATTERY_CAPACITY, 0.1, UnitOfEnergy.KILO_WATT_HOUR
        ),
        vol.Optional(CONF_BATTERY_MODE_ENTITY): _entities(
            EntityFilterSelectorConfig(domain=list(BATTERY_MODE_ENTITY.domains))
        ),
        vol.Optional(CONF_BATTERY_MODE_NORMAL): TextSelector(),
        vol.Optional(CONF_BATTERY_MODE_HOLD): TextSelector(),
        vol.Optional(CONF_BATTERY_MODE_CHARGE): TextSelector(),
    }


def _api_schema() -> vol.Schema:
    return vol.Schema(
        {
            vol.Required(CONF_API_ENABLED, default=False): BooleanSelector(),
            vol.Required(CONF_API_HOST, default=DEFAULT_API_HOST): TextSelector(),
            vol.Required(CONF_API_PORT, default=DEFAULT_API_PORT): _number(
                MIN_API_PORT, MAX_API_PORT, 1
            ),
            vol.Required(CONF_API_READ_ONLY, default=False): BooleanSelector(),
            vol.Optional(CONF_API_ALLOWED_ORIGINS, default=[]): TextSelector(
                TextSelectorConfig(multiple=True)
            ),
        }
    )


def validate_meters(hass: HomeAssistant, data: Mapping[str, Any]) -> dict[str, str]:
    """Form errors of the meter fields."""
    errors: dict[str, str] = {}
    _check_entities(
        hass,
        data,
        (
            (CONF_GRID_POWER, POWER_SENSOR),
            (CONF_GRID_ENERGY, ENERGY_SENSOR),
            (CONF_PV_POWER, POWER_SENSOR),
            (CONF_BATTERY_POWER, POWER_SENSOR),
            (CONF_BATTERY_SOC, SOC_SENSOR),
            (CONF_BATTERY_MODE_ENTITY, BATTERY_MODE_ENTITY),
        ),
        errors,
    )
    _check_battery_modes(hass, data, errors)
    seen: set[str] = set()
    for key in (CONF_GRID_POWER, CONF_PV_POWER, CONF_BATTERY_POWER):
        value = data.get(key)
        for entity_id in value if isinstance(value, list) else [value] if value else []:
            if entity_id in seen:
                errors.setdefault(key, "entity_used_twice")
            seen.add(entity_id)
    if not data.get(CONF_BATTERY_POWER) and (
        data.get(CONF_BATTERY_SOC)
        or data.get(CONF_BATTERY_CAPACITY) is not None
        or data.get(CONF_BATTERY_MODE_ENTITY)
    ):
        errors[CONF_BATTERY_POWER] = "battery_power_missing"
    return errors


def meter_options(data: Mapping[str, Any]) -> dict[str, Any]:
    """The options stored for validated meter fields (cleared optional fields are left out)."""
    options: dict[str, Any] = {
        CONF_GRID_INVERT: bool(data[CONF_GRID_INVERT]),
        CONF_PV_POWER: list(data.get(CONF_PV_POWER) or []),
        CONF_BATTERY_INVERT: bool(data[CONF_BATTERY_INVERT]),
    }
    for key in (CONF_GRID_POWER, CONF_GRID_ENERGY, CONF_BATTERY_POWER, CONF_BATTERY_SOC):
        if data.get(key):
            options[key] = data[key]
    if data.get(CONF_BATTERY_CAPACITY) is not None:
        options[CONF_BATTERY_CAPACITY] = float(data[CONF_BATTERY_CAPACITY])
    if data.get(CONF_BATTERY_MODE_ENTITY):
        options[CONF_BATTERY_MODE_ENTITY] = data[CONF_BATTERY_MODE_ENTITY]
        for key in _BATTERY_MODE_OPTIONS:
            if text := str(data.get(key) or "").strip():
                options[key] = text
    return options


_BATTERY_MODE_OPTIONS = (CONF_BATTERY_MODE_NORMAL, CONF_BATTERY_MODE_HOLD, CONF_BATTERY_MODE_CHARGE)


def _check_battery_modes(
    hass: HomeAssistant, data: Mapping[str, Any], errors: dict[str, str]
) -> None:
    """A select needs its options for normal and hold (and charge, if given) among its own."""
    entity_id = data.get(CONF_BATTERY_MODE_ENTITY)
    if not entity_id or CONF_BATTERY_MODE_ENTITY in errors:
        return
    if split_entity_id(entity_id)[0] not in ("select", "input_select"):
        return
    state = hass.states.get(entity_id)
    offered = (
        {str(option) for option in (state.attributes.get("options") or [])} if state else set()
    )
    for key in _BATTERY_MODE_OPTIONS:
        text = str(data.get(key) or "").strip()
        if not text and key != CONF_BATTERY_MODE_CHARGE:
            errors[key] = "battery_mode_option_missing"
        elif text and text not in offered:
            errors[key] = "battery_mode_option_unknown"


def _valid_host(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


# Config flow


class EvccConfigFlow(ConfigFlow, domain=DOMAIN):
    """Create and reconfigure evcc_ha site entries."""

    VERSION = 1
    MINOR_VERSION = 2

    def __init__(self) -> None:
        self._title = ""

    @staticmethod
    @callback
    def async_get_options_flow(config_entry: ConfigEntry) -> EvccOptionsFlow:
        """Meters, interval and API port of a site."""
        return EvccOptionsFlow()

    @classmethod
    @callback
    def async_get_supported_subentry_types(
        cls, config_entry: ConfigEntry
    ) -> dict[str, type[ConfigSubentryFlow]]:
        """Loadpoints of a real site; a demo site brings its own simulated ones."""
        if config_entry.data.get(CONF_DEMO):
            return {}
        return {
            SUBENTRY_LOADPOINT: LoadpointSubentryFlow,
            SUBENTRY_VEHICLE: VehicleSubentryFlow,
            SUBENTRY_MODBUS_METER: ModbusMeterSubentryFlow,
            SUBENTRY_CIRCUIT: CircuitSubentryFlow,
        }

    def _site_in_use(self, title: str, *, ignore_entry_id: str | None = None) -> bool:
        """Tell whether another site entry already has this title (compared by slug)."""
        key = title_key(title)
        return any(
            entry.entry_id != ignore_entry_id and title_key(entry.title) == key
            for entry in self._async_current_entries(include_ignore=False)
        )

    def _new_site_options(self) -> dict[str, Any]:
        """Defaults, with an MQTT root no other site uses (`evcc` for the first site)."""
        used = mqtt_roots(self.hass)
        root = DEFAULT_MQTT_TOPIC
        if any(roots_overlap(root, other) for other in used):
            root = f"{DEFAULT_MQTT_TOPIC}_{title_key(self._title)}"
        return default_options() | {CONF_MQTT_TOPIC: root}

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask for the site title and whether it is a demo site."""
        errors: dict[str, str] = {}
        if user_input is not None:
            title = clean_site_title(user_input[CONF_SITE_TITLE])
            if title is None:
                errors[CONF_SITE_TITLE] = "invalid_title"
            else:
                if self._site_in_use(title):
                    return self.async_abort(reason="already_configured")
                self._title = title
                await self.async_set_unique_id(uuid4().hex)
                if user_input[CONF_DEMO]:
                    return self.async_create_entry(
                        title=title,
                        data={
                            CONF_SITE_TITLE: title,
                            CONF_DEMO: True,
                            CONF_DEMO_HISTORY_DAYS: DEMO_HISTORY_DAYS,
                        },
                        options=self._new_site_options(),
                    )
                return await self.async_step_meters()

        schema = vol.Schema(
            {
                vol.Required(CONF_SITE_TITLE, default=DEFAULT_SITE_TITLE): TextSelector(),
                vol.Required(CONF_DEMO, default=False): BooleanSelector(),
            }
        )
        return self.async_show_form(
            step_id="user",
            data_schema=self.add_suggested_values_to_schema(schema, user_input),
            errors=errors,
        )

    async def async_step_meters(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask for the meters of a real site."""
        errors: dict[str, str] = {}
        if user_input is not None:
            errors = validate_meters(self.hass, user_input)
            if not errors:
                if self._site_in_use(self._title):
                    return self.async_abort(reason="already_configured")
                return self.async_create_entry(
                    title=self._title,
                    data={CONF_SITE_TITLE: self._title, CONF_DEMO: False},
                    options=self._new_site_options() | meter_options(user_input),
                )
        return self.async_show_form(
            step_id="meters",
            data_schema=self.add_suggested_values_to_schema(
                vol.Schema(_meter_schema()), user_input
            ),
            errors=errors,
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Rename the site. Its unique id and entity ids stay."""
        entry = self._get_reconfigure_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            title = clean_site_title(user_input[CONF_SITE_TITLE])
            if title is None:
                errors[CONF_SITE_TITLE] = "invalid_title"
            elif self._site_in_use(title, ignore_entry_id=entry.entry_id):
                errors[CONF_SITE_TITLE] = "title_in_use"
            else:
                changed = self.hass.config_entries.async_update_entry(
                    entry, title=title, data={**entry.data, CONF_SITE_TITLE: title}
                )
                # With an update listener the entry reloads itself (and HA wants it that way).
                if changed and not entry.update_listeners:
                    self.hass.config_entries.async_schedule_reload(entry.entry_id)
                return self.async_abort(reason="reconfigure_successful")

        return self.async_show_form(
            step_id="reconfigure",
            data_schema=self.add_suggested_values_to_schema(
                vol.Schema({vol.Required(CONF_SITE_TITLE): TextSelector()}),
                user_input or {CONF_SITE_TITLE: entry.data[CONF_SITE_TITLE]},
            ),
            errors=errors,
        )


# Options flow


class EvccOptionsFlow(OptionsFlow):
    """Interval and meters (step init), then the evcc-compatible API port (step api)."""

    def __init__(self) -> None:
        self._options: dict[str, Any] = {}
        self._tariffs: dict[str, Any] = {}
        self._preview: PriceSummary | None = None

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Control interval and, for a real site, its meters."""
        demo = bool(self.config_entry.data.get(CONF_DEMO))
        schema = _interval_schema() if demo else _interval_schema() | _meter_schema()
        errors: dict[str, str] = {}
        if user_input is not None:
            errors = {} if demo else validate_meters(self.hass, user_input)
            if not errors:
                # Keep options this flow does not manage; drop meters the user cleared.
                self._options = {
                    key: value
                    for key, value in self.config_entry.options.items()
                    if key not in _METER_KEYS
                }
                self._options[CONF_INTERVAL] = int(user_input[CONF_INTERVAL])
                if not demo:
                    self._options |= meter_options(user_input)
                return await self.async_step_api()
        return self.async_show_form(
            step_id="init",
            data_schema=self.add_suggested_values_to_schema(
                vol.Schema(schema), user_input or self.config_entry.options
            ),
            errors=errors,
        )

    async def async_step_api(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """The evcc-compatible REST/websocket port."""
        errors: dict[str, str] = {}
        if user_input is not None:
            host = user_input[CONF_API_HOST].strip()
            origins = [
                o.strip() for o in user_input.get(CONF_API_ALLOWED_ORIGINS) or [] if o.strip()
            ]
            if not _valid_host(host):
                errors[CONF_API_HOST] = "invalid_host"
            if not all(_ORIGIN.match(origin) for origin in origins):
                errors[CONF_API_ALLOWED_ORIGINS] = "invalid_origin"
            if not errors:
                self._options |= {
                    CONF_API_ENABLED: bool(user_input[CONF_API_ENABLED]),
                    CONF_API_HOST: host,
                    CONF_API_PORT: int(user_input[CONF_API_PORT]),
                    CONF_API_READ_ONLY: bool(user_input[CONF_API_READ_ONLY]),
                    CONF_API_ALLOWED_ORIGINS: origins,
                }
                return await self.async_step_mqtt()
        return self.async_show_form(
            step_id="api",
            data_schema=self.add_suggested_values_to_schema(
                _api_schema(),
                user_input
                or {k: v for k, v in self.config_entry.options.items() if k in _API_KEYS},
            ),
            errors=errors,
        )

    async def async_step_mqtt(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """evcc's MQTT API on Home Assistant's MQTT connection."""
        errors: dict[str, str] = {}
        if user_input is not None:
            topic = str(user_input[CONF_MQTT_TOPIC]).strip()
            enabled = bool(user_input[CONF_MQTT_ENABLED])
            if not valid_root_topic(topic):
                errors[CONF_MQTT_TOPIC] = "invalid_topic"
            elif enabled and any(
                roots_overlap(topic, other)
                for other in mqtt_roots(self.hass, but=self.config_entry.entry_id)
            ):
                errors[CONF_MQTT_TOPIC] = "topic_in_use"
            else:
                self._options |= {
                    CONF_MQTT_ENABLED: enabled,
                    CONF_MQTT_TOPIC: topic,
                    CONF_MQTT_READ_ONLY: bool(user_input[CONF_MQTT_READ_ONLY]),
                }
                return await self.async_step_tariffs()
        current = self.config_entry.options
        suggested = user_input or {
            CONF_MQTT_ENABLED: current.get(CONF_MQTT_ENABLED, True),
            CONF_MQTT_TOPIC: current.get(CONF_MQTT_TOPIC, DEFAULT_MQTT_TOPIC),
            CONF_MQTT_READ_ONLY: current.get(CONF_MQTT_READ_ONLY, False),
        }
        if not errors and not self.hass.config_entries.async_entries(
            "mqtt", include_disabled=False
        ):
            # a note, not a refusal: the options can be saved before MQTT is set up
            errors["base"] = "mqtt_not_configured"
        return self.async_show_form(
            step_id="mqtt",
            data_schema=self.add_suggested_values_to_schema(_mqtt_schema(), suggested),
            errors=errors,
        )

    async def async_step_tariffs(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Grid price (fixed, zones or a price entity) and feed-in price (fixed or a sensor)."""
        errors: dict[str, str] = {}
        placeholders = {"detail": "", "currency": self.hass.config.currency or "EUR"}
        if user_input is not None:
            values = {key: user_input.get(key) for key in _TARIFF_KEYS}
            for key in (
                CONF_GRID_ZONES,
                CONF_GRID_PRICE_ENTITY,
                CONF_FEEDIN_PRICE_ENTITY,
                CONF_CO2_ENTITY,
            ):
                values[key] = str(values[key] or "").strip() or None
            values[CONF_SOLAR_FORECAST] = list(values[CONF_SOLAR_FORECAST] or []) or None
            errors, detail = self._validate_tariffs(values)
            placeholders["detail"] = detail
            for entity_id in values[CONF_SOLAR_FORECAST] or []:
                try:
                    await async_read_solar_forecast(self.hass, entity_id)
                except ForecastError as err:
                    errors[CONF_SOLAR_FORECAST] = "forecast_unusable"
                    placeholders["detail"] = str(err)
                    break
            if not errors and values[CONF_GRID_PRICE_ENTITY]:
                try:
                    parse = await async_read_price_entity(
                        self.hass,
                        values[CONF_GRID_PRICE_ENTITY],
                        tz=dt_util.get_default_time_zone(),
                        currency=placeholders["currency"],
                    )
                except PriceParseError as err:
                    errors[CONF_GRID_PRICE_ENTITY] = "price_entity_unusable"
                    placeholders["detail"] = str(err)
                else:
                    self._tariffs = values
                    self._preview = summary(parse, dt_util.now())
                    return await self.async_step_tariff_preview()
            if not errors:
                return self.async_create_entry(data=self._with_tariffs(values))
        suggested = user_input or {
            key: value
            for key, value in self.config_entry.options.items()
            if key in _TARIFF_KEYS and value is not None
        }
        return self.async_show_form(
            step_id="tariffs",
            data_schema=self.add_suggested_values_to_schema(_tariff_schema(), suggested),
            errors=errors,
            description_placeholders=placeholders,
        )

    def _validate_tariffs(self, values: Mapping[str, Any]) -> tuple[dict[str, str], str]:
        """Field errors of the tariffs step (and a detail for the message)."""
        errors: dict[str, str] = {}
        detail = ""
        if values[CONF_GRID_PRICE_ENTITY] and (
            values[CONF_GRID_PRICE] is not None or values[CONF_GRID_ZONES]
        ):
            errors[CONF_GRID_PRICE_ENTITY] = "grid_price_twice"
        if values[CONF_GRID_ZONES]:
            try:
                parse_zones(values[CONF_GRID_ZONES])
            except ZoneError as err:
                errors[CONF_GRID_ZONES] = "invalid_zones"
                detail = str(err)
            else:
                if values[CONF_GRID_PRICE] is None:
                    errors[CONF_GRID_PRICE] = "zones_need_price"
        if values[CONF_FEEDIN_PRICE_ENTITY]:
            if values[CONF_FEEDIN_PRICE] is not None:
                errors[CONF_FEEDIN_PRICE_ENTITY] = "feedin_price_twice"
            elif problem := price_sensor_problem(self.hass, values[CONF_FEEDIN_PRICE_ENTITY]):
                errors[CONF_FEEDIN_PRICE_ENTITY] = problem
        if values[CONF_CO2_ENTITY] and (
            problem := co2_sensor_problem(self.hass, values[CONF_CO2_ENTITY])
        ):
            errors[CONF_CO2_ENTITY] = problem
        return errors, detail

    def _with_tariffs(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """The options with the tariff keys of this flow (cleared ones dropped)."""
        options = {k: v for k, v in self._options.items() if k not in _TARIFF_KEYS}
        return options | {key: value for key, value in values.items() if value is not None}

    async def async_step_tariff_preview(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """What was read from the price entity: how many prices, from when to when, the next 3."""
        assert self._preview is not None
        if user_input is not None:
            return self.async_create_entry(data=self._with_tariffs(self._tariffs))
        preview = self._preview
        currency = self.hass.config.currency or "EUR"
        upcoming = ([preview.current] if preview.current is not None else []) + list(
            preview.next_rates
        )
        lines = [
            f"- {dt_util.as_local(rate.start):%a %H:%M}–{dt_util.as_local(rate.end):%H:%M}: "
            f"{rate.price:.4f} {currency}/kWh"
            for rate in upcoming[:3]
        ]
        return self.async_show_form(
            step_id="tariff_preview",
            data_schema=vol.Schema({}),
            description_placeholders={
                "count": str(preview.count),
                "shape": str(preview.shape),
                "unit": str(preview.unit or f"{currency}/kWh"),
                "first": f"{dt_util.as_local(preview.first_start):%Y-%m-%d %H:%M}"
                if preview.first_start is not None
                else "–",
                "last": f"{dt_util.as_local(preview.last_end):%Y-%m-%d %H:%M}"
                if preview.last_end is not None
                else "–",
                "next": "\n".join(lines) or "–",
                "warnings": "; ".join(preview.warnings) or "–",
            },
        )


_TARIFF_KEYS = (
    CONF_GRID_PRICE,
    CONF_GRID_ZONES,
    CONF_GRID_PRICE_ENTITY,
    CONF_FEEDIN_PRICE,
    CONF_FEEDIN_PRICE_ENTITY,
    CONF_SOLAR_FORECAST,
    CONF_CO2_ENTITY,
)


def _tariff_schema() -> vol.Schema:
    price = _number(-MAX_PRICE, MAX_PRICE, "any")  # prices have 4 or 5 decimals
    return vol.Schema(
        {
            vol.Optional(CONF_GRID_PRICE_ENTITY): _entities(
                EntityFilterSelectorConfig(domain=["sensor", "event"])
            ),
            vol.Optional(CONF_GRID_PRICE): price,
            vol.Optional(CONF_GRID_ZONES): TextSelector(TextSelectorConfig(multiline=True)),
            vol.Optional(CONF_FEEDIN_PRICE): price,
            vol.Optional(CONF_FEEDIN_PRICE_ENTITY): _entities(
                EntityFilterSelectorConfig(domain=["sensor", "input_number", "number"])
            ),
            vol.Optional(CONF_SOLAR_FORECAST): _entities(
                EntityFilterSelectorConfig(domain="sensor"), multiple=True
            ),
            vol.Optional(CONF_CO2_ENTITY): _entities(EntityFilterSelectorConfig(domain="sensor")),
        }
    )


def price_sensor_problem(hass: HomeAssistant, entity_id: str) -> str | None:
    """Why an entity cannot be a feed-in price (None: it can)."""
    state = hass.states.get(entity_id)
    if state is None:
        return "entity_not_found"
    try:
        value = float(state.state)
    except ValueError:
        return "invalid_price_sensor"
    return None if abs(value) <= MAX_PRICE else "invalid_price_sensor"


def mqtt_roots(hass: HomeAssistant, *, but: str | None = None) -> set[str]:
    """The MQTT roots the evcc_ha sites (except `but`) publish under."""
    return {
        str(entry.options.get(CONF_MQTT_TOPIC) or DEFAULT_MQTT_TOPIC)
        for entry in hass.config_entries.async_entries(DOMAIN)
        if entry.entry_id != but and entry.options.get(CONF_MQTT_ENABLED, True)
    }


def valid_root_topic(topic: str) -> bool:
    """An MQTT root topic evcc would accept: no wildcards, no leading or trailing `/`."""
    return (
        0 < len(topic) <= 100
        and not topic.startswith("/")
        and not topic.endswith("/")
        and "//" not in topic
        and not any(c in topic for c in "+#\x00")
        and not any(c.isspace() for c in topic)
    )


def _mqtt_schema() -> vol.Schema:
    return vol.Schema(
        {
            vol.Required(CONF_MQTT_ENABLED, default=True): BooleanSelector(),
            vol.Required(CONF_MQTT_TOPIC, default=DEFAULT_MQTT_TOPIC): TextSelector(),
            vol.Required(CONF_MQTT_READ_ONLY, default=False): BooleanSelector(),
        }
    )


# Loadpoint subentries

_CHARGER_ROLES: tuple[tuple[str, EntityKind], ...] = (
    (CONF_CHARGER_ENABLE, ENABLE_SWITCH),
    (CONF_CHARGER_CURRENT, CURRENT_NUMBER),
    (CONF_CHARGER_STATUS, STATUS_SOURCE),
    (CONF_CHARGER_CHARGING, CHARGING_SENSOR),
    (CONF_CHARGER_POWER, POWER_SENSOR),
    (CONF_CHARGER_ENERGY, ENERGY_SENSOR),
    (CONF_CHARGER_PHASES, PHASE_SWITCH),
    (CONF_CHARGE_METER_POWER, POWER_SENSOR),
)
# Entities that command a charger: two loadpoints must not share them.
_COMMAND_KEYS = (CONF_CHARGER_ENABLE, CONF_CHARGER_CURRENT, CONF_CHARGER_PHASES)
_VEHICLE_VALUE_ROLES = (
    (CONF_VEHICLE_RANGE, DISTANCE_SENSOR),
    (CONF_VEHICLE_ODOMETER, DISTANCE_SENSOR),
    (CONF_VEHICLE_LIMIT, LIMIT_SOC_ENTITY),
    (CONF_VEHICLE_CLIMATER, CLIMATER_ENTITY),
    (CONF_VEHICLE_CONNECTED, CONNECTED_ENTITY),
)
_VEHICLE_KEYS = (
    CONF_VEHICLE_TITLE,
    CONF_VEHICLE_CAPACITY,
    CONF_VEHICLE_PHASES,
    CONF_VEHICLE_SOC,
    *(key for key, _kind in _VEHICLE_VALUE_ROLES),
)


def _charger_schema() -> vol.Schema:
    return vol.Schema(
        {
            vol.Required(CONF_TITLE): TextSelector(),
            vol.Required(CONF_CHARGER_ENABLE): _entities(
                EntityFilterSelectorConfig(domain=["switch", "input_boolean"])
            ),
            vol.Required(CONF_CHARGER_CURRENT): _entities(
                EntityFilterSelectorConfig(domain=["number", "input_number"])
            ),
            vol.Required(CONF_CHARGER_STATUS): _entities(
                EntityFilterSelectorConfig(
                    domain=["binary_sensor", "sensor", "select", "input_select"]
                )
            ),
            vol.Optional(CONF_CHARGER_CHARGING): _entities(
                EntityFilterSelectorConfig(domain=["binary_sensor", "input_boolean"])
            ),
            vol.Optional(CONF_CHARGER_POWER): _entities(_POWER),
            vol.Optional(CONF_CHARGER_ENERGY): _entities(_ENERGY),
            vol.Required(CONF_CHARGER_MAX_CURRENT, default=DEFAULT_CHARGER_MAX_CURRENT): _number(
                1, MAX_HARDWARE_CURRENT, 1, UnitOfElectricCurrent.AMPERE
            ),
            vol.Required(
                CONF_CHARGER_PHASE_COUNT, default=str(DEFAULT_CHARGER_PHASE_COUNT)
            ): _choice("1", "3"),
            vol.Optional(CONF_CHARGER_PHASES): _entities(
                EntityFilterSelectorConfig(
                    domain=["select", "input_select", "switch", "input_boolean"]
                )
            ),
            vol.Required(CONF_CHARGER_PHASES_ON_1P, default=False): BooleanSelector(),
            vol.Optional(CONF_CHARGE_METER_POWER): _entities(_POWER),
            **_control_profile_schema(),
        }
    )


def _control_profile_schema() -> dict[vol.Marker, Any]:
    return {
        vol.Required(CONF_CONTROL_PROFILE, default=str(ControlProfile.EVCC)): _translated_choice(
            "control_profile", ControlProfile
        )
    }


def _vehicle_schema() -> vol.Schema:
    return vol.Schema(
        {
            vol.Optional(CONF_VEHICLE_TITLE): TextSelector(),
            vol.Required(CONF_VEHICLE_CAPACITY, default=DEFAULT_VEHICLE_CAPACITY): _number(
                1, MAX_VEHICLE_CAPACITY, 0.1, UnitOfEnergy.KILO_WATT_HOUR
            ),
            vol.Required(CONF_VEHICLE_PHASES, default=str(DEFAULT_VEHICLE_PHASES)): _choice(
                "1", "2", "3"
            ),
            vol.Optional(CONF_VEHICLE_SOC): _entities(_SOC),
            vol.Optional(CONF_VEHICLE_RANGE): _entities(_DISTANCE),
            vol.Optional(CONF_VEHICLE_ODOMETER): _entities(_DISTANCE),
            vol.Optional(CONF_VEHICLE_LIMIT): _entities(
                EntityFilterSelectorConfig(domain=["sensor", "number", "input_number"])
            ),
            vol.Optional(CONF_VEHICLE_CLIMATER): _entities(
                EntityFilterSelectorConfig(
                    domain=["binary_sensor", "switch", "input_boolean", "climate"]
                )
            ),
            vol.Optional(CONF_VEHICLE_CONNECTED): _entities(
                EntityFilterSelectorConfig(domain=["binary_sensor", "input_boolean"])
            ),
            vol.Optional(CONF_VEHICLE_WELCOME_CHARGE, default=False): BooleanSelector(),
        }
    )


def validate_vehicle(
    hass: HomeAssistant, user_input: Mapping[str, Any], *, title_required: bool = False
) -> tuple[dict[str, str], dict[str, Any]]:
    """The errors of a vehicle form, and the `CONF_VEHICLE_…` data to store ({} for none)."""
    errors: dict[str, str] = {}
    vehicle_title = (user_input.get(CONF_VEHICLE_TITLE) or "").strip()
    soc = user_input.get(CONF_VEHICLE_SOC)
    if soc and (error := entity_error(hass, soc, SOC_SENSOR)):
        errors[CONF_VEHICLE_SOC] = error
    _check_entities(hass, user_input, _VEHICLE_VALUE_ROLES, errors)
    values = [key for key, _kind in _VEHICLE_VALUE_ROLES if user_input.get(key)]
    if (soc or values or title_required) and not vehicle_title:
        errors[CONF_VEHICLE_TITLE] = "vehicle_title_missing"
    if errors or not vehicle_title:
        return errors, {}
    data: dict[str, Any] = {
        CONF_VEHICLE_TITLE: vehicle_title,
        CONF_VEHICLE_CAPACITY: float(user_input[CONF_VEHICLE_CAPACITY]),
        CONF_VEHICLE_PHASES: int(user_input[CONF_VEHICLE_PHASES]),
    }
    if soc:
        data[CONF_VEHICLE_SOC] = soc
    data.update({key: user_input[key] for key in values})
    if user_input.get(CONF_VEHICLE_WELCOME_CHARGE) is True:
        data[CONF_VEHICLE_WELCOME_CHARGE] = True
    return errors, data


def _vehicle_titles(entry: ConfigEntry, *, but: str | None = None) -> set[str]:
    """The slugs of the vehicle titles of a site (loadpoints' and vehicle subentries'), but
    the subentry `but`."""
    titles = set()
    for subentry in entry.subentries.values():
        if subentry.subentry_id == but:
            continue
        if subentry.subentry_type == SUBENTRY_VEHICLE:
            titles.add(slugify(subentry.title))
        elif (title := subentry.data.get(CONF_VEHICLE_TITLE)) is not None:
            titles.add(slugify(title))
    return titles


def _vehicle_title_taken(flow: ConfigSubentryFlow, title: str) -> bool:
    """Another vehicle of the flow's site has this title (by slug; the subentry being
    reconfigured does not count)."""
    own = (
        flow._get_reconfigure_subentry().subentry_id if flow.source == SOURCE_RECONFIGURE else None
    )
    return slugify(title) in _vehicle_titles(flow._get_entry(), but=own)


class VehicleSubentryFlow(ConfigSubentryFlow):
    """Add or reconfigure a vehicle that charges at any loadpoint: what it is and the entities
    of its car integration (SoC, range, odometer, limit, climater, plugged in)."""

    def _stored(self) -> Mapping[str, Any]:
        if self.source == SOURCE_RECONFIGURE:
            return self._get_reconfigure_subentry().data
        return {}

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """A new vehicle."""
        return await self._async_step("user", user_input)

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Change a vehicle."""
        return await self._async_step("reconfigure", user_input)

    async def _async_step(
        self, step_id: str, user_input: dict[str, Any] | None
    ) -> SubentryFlowResult:
        errors: dict[str, str] = {}
        if user_input is not None:
            errors, data = validate_vehicle(self.hass, user_input, title_required=True)
            if not errors and _vehicle_title_taken(self, data[CONF_VEHICLE_TITLE]):
                errors[CONF_VEHICLE_TITLE] = "duplicate_vehicle"
            if not errors:
                title = data.pop(CONF_VEHICLE_TITLE)
                if self.source == SOURCE_RECONFIGURE:
                    return self.async_update_and_abort(
                        self._get_entry(), self._get_reconfigure_subentry(), title=title, data=data
                    )
                return self.async_create_entry(title=title, data=data)
        stored = {**self._stored()}
        if self.source == SOURCE_RECONFIGURE:
            stored[CONF_VEHICLE_TITLE] = self._get_reconfigure_subentry().title
        return self.async_show_form(
            step_id=step_id,
            data_schema=self.add_suggested_values_to_schema(
                _vehicle_schema(), user_input or _as_form_values(stored)
            ),
            errors=errors,
        )


def _as_form_values(data: Mapping[str, Any]) -> dict[str, Any]:
    """Stored subentry data as the form shows it (select options are strings)."""
    values = dict(data)
    for key in (CONF_CHARGER_PHASE_COUNT, CONF_VEHICLE_PHASES):
        if key in values:
            values[key] = str(values[key])
    return values


class LoadpointSubentryFlow(ConfigSubentryFlow):
    """Add or reconfigure a loadpoint: charger entities and limits, then an optional vehicle."""

    def __init__(self) -> None:
        self._data: dict[str, Any] = {}

    def _stored(self) -> Mapping[str, Any]:
        """The data of the subentry being reconfigured ({} while adding one)."""
        if self.source == SOURCE_RECONFIGURE:
            return self._get_reconfigure_subentry().data
        return {}

    def _form_values(self) -> dict[str, Any]:
        """What the charger form shows: the stored data, and the control profile the running
        loadpoint has now (its select, REST or MQTT may have changed it since)."""
        values = _as_form_values(self._stored())
        if (index := self._running_index()) is not None:
            settings = self._get_entry().runtime_data.coordinator.site.loadpoint(index).settings
            values[CONF_CONTROL_PROFILE] = str(settings.control_profile)
        return values

    def _running_index(self) -> int | None:
        """The loadpoint index of the subentry being reconfigured while its site runs."""
        entry = self._get_entry()
        if self.source != SOURCE_RECONFIGURE or entry.state is not ConfigEntryState.LOADED:
            return None
        ids = entry.runtime_data.coordinator.loadpoint_subentry_ids
        subentry_id = self._get_reconfigure_subentry().subentry_id
        return ids.index(subentry_id) if subentry_id in ids else None

    def _other_loadpoints(self) -> list[Mapping[str, Any]]:
        own_id = (
            self._get_reconfigure_subentry().subentry_id
            if self.source == SOURCE_RECONFIGURE
            else None
        )
        return [
            {**subentry.data, CONF_TITLE: subentry.title}
            for subentry in self._get_entry().subentries.values()
            if subentry.subentry_type == SUBENTRY_LOADPOINT and subentry.subentry_id != own_id
        ]

    def _validate_charger(self, data: Mapping[str, Any]) -> dict[str, str]:
        errors: dict[str, str] = {}
        others = self._other_loadpoints()
        title = clean_site_title(data[CONF_TITLE])
        if title is None:
            errors[CONF_TITLE] = "invalid_title"
        elif slugify(title) in {slugify(other[CONF_TITLE]) for other in others}:
            errors[CONF_TITLE] = "duplicate_title"

        _check_entities(self.hass, data, _CHARGER_ROLES, errors)
        in_use = {other.get(key) for other in others for key in _COMMAND_KEYS} - {None}
        for key in _COMMAND_KEYS:
            if key not in errors and data.get(key) in in_use:
                errors[key] = "entity_in_use"

        max_current = float(data[CONF_CHARGER_MAX_CURRENT])
        if max_current < MIN_CHARGE_CURRENT:
            errors[CONF_CHARGER_MAX_CURRENT] = "max_current_too_low"
        if CONF_CHARGER_CURRENT not in errors:
            state = self.hass.states.get(data[CONF_CHARGER_CURRENT])
            assert state is not None  # entity_error found it
            high = state.attributes.get("max")
            if current_entity_problem(state.attributes) is not None:
                errors[CONF_CHARGER_CURRENT] = "current_range"
            elif high is not None and max_current > float(high):
                errors.setdefault(CONF_CHARGER_MAX_CURRENT, "max_current_above_entity")
        if data.get(CONF_CHARGER_PHASES) and data[CONF_CHARGER_PHASE_COUNT] == "1":
            errors.setdefault(CONF_CHARGER_PHASES, "phase_switch_needs_3p")
        return errors

    async def _async_step_charger(
        self, step_id: str, user_input: dict[str, Any] | None
    ) -> SubentryFlowResult:
        errors: dict[str, str] = {}
        if user_input is not None:
            errors = self._validate_charger(user_input)
            if not errors:
                self._data = {
                    key: value
                    for key, value in user_input.items()
                    if key not in _VEHICLE_KEYS and value not in (None, "", [])
                }
                self._data[CONF_TITLE] = clean_site_title(user_input[CONF_TITLE])
                self._data[CONF_CHARGER_MAX_CURRENT] = float(user_input[CONF_CHARGER_MAX_CURRENT])
                self._data[CONF_CHARGER_PHASE_COUNT] = int(user_input[CONF_CHARGER_PHASE_COUNT])
                self._data[CONF_CHARGER_PHASES_ON_1P] = bool(user_input[CONF_CHARGER_PHASES_ON_1P])
                return await self.async_step_vehicle()
        return self.async_show_form(
            step_id=step_id,
            data_schema=self.add_suggested_values_to_schema(
                _charger_schema(), user_input or self._form_values()
            ),
            errors=errors,
        )

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """Add a loadpoint: a charger of Home Assistant entities, or a Modbus charger."""
        return self.async_show_menu(step_id="user", menu_options=["charger", "modbus_charger"])

    async def async_step_charger(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """The loadpoint's title and the charger's entities and limits."""
        return await self._async_step_charger("charger", user_input)

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Change a loadpoint's title, charger and limits."""
        if self._stored().get(CONF_CHARGER_KIND) == CHARGER_KIND_MODBUS:
            return await self.async_step_modbus_charger(user_input)
        return await self._async_step_charger("reconfigure", user_input)

    async def async_step_modbus_charger(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """A Modbus TCP charger: kind, connection and limits, tested before it is stored."""
        errors: dict[str, str] = {}
        placeholders = {"detail": ""}
        if user_input is not None:
            title = clean_site_title(user_input[CONF_TITLE])
            others = self._other_loadpoints()
            max_current = float(user_input[CONF_CHARGER_MAX_CURRENT])
            config = modbus_config(user_input) | {CONF_MODBUS_MAX_CURRENT: max_current}
            if title is None:
                errors[CONF_TITLE] = "invalid_title"
            elif slugify(title) in {slugify(other[CONF_TITLE]) for other in others}:
                errors[CONF_TITLE] = "duplicate_title"
            if max_current < MIN_CHARGE_CURRENT:
                errors[CONF_CHARGER_MAX_CURRENT] = "max_current_too_low"
            address = modbus_address(config)
            if address is not None and address in {modbus_address(o) for o in others}:
                errors["base"] = "modbus_in_use"
            if not errors:
                errors, placeholders["detail"] = await _async_modbus_probe(config)
            if not errors:
                assert title is not None
                self._data = config | {
                    CONF_TITLE: title,
                    CONF_CHARGER_KIND: CHARGER_KIND_MODBUS,
                    CONF_CHARGER_MAX_CURRENT: max_current,
                    CONF_CHARGER_PHASE_COUNT: int(user_input[CONF_CHARGER_PHASE_COUNT]),
                    CONF_CONTROL_PROFILE: user_input[CONF_CONTROL_PROFILE],
                }
                self._data.pop(CONF_MODBUS_MAX_CURRENT)  # the loadpoint's maximum is the one
                return await self.async_step_vehicle()
        return self.async_show_form(
            step_id="modbus_charger",
            data_schema=self.add_suggested_values_to_schema(
                _modbus_charger_schema(), user_input or self._form_values()
            ),
            errors=errors,
            description_placeholders=placeholders,
        )

    async def async_step_vehicle(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """The vehicle usually charged here (optional)."""
        errors: dict[str, str] = {}
        if user_input is not None:
            errors, vehicle = validate_vehicle(self.hass, user_input)
            title = vehicle.get(CONF_VEHICLE_TITLE)
            if not errors and title is not None and _vehicle_title_taken(self, title):
                errors[CONF_VEHICLE_TITLE] = "duplicate_vehicle"  # as in the vehicle subentry
            if not errors:
                return await self._async_finish(self._data | vehicle)
        return self.async_show_form(
            step_id="vehicle",
            data_schema=self.add_suggested_values_to_schema(
                _vehicle_schema(), user_input or _as_form_values(self._stored())
            ),
            errors=errors,
        )

    async def _async_finish(self, data: dict[str, Any]) -> SubentryFlowResult:
        title: str = data[CONF_TITLE]
        if (index := self._running_index()) is not None:
            # the running loadpoint takes the profile through the one write path (it is stored
            # with the settings before the reload)
            controller = self._get_entry().runtime_data.coordinator.controller
            try:
                await controller.async_set_loadpoint(
                    index,
                    LoadpointKey.CONTROL_PROFILE,
                    data.get(CONF_CONTROL_PROFILE, ControlProfile.EVCC),
                )
            except CommandError:
                # stored all the same; the charger refused the command the new profile caused
                # (the controller logged it) — often the very charger this form is to fix
                pass
        if self.source == SOURCE_RECONFIGURE:
            return self.async_update_and_abort(
                self._get_entry(), self._get_reconfigure_subentry(), title=title, data=data
            )
        return self.async_create_entry(title=title, data=data)


# Modbus devices (devices/modbus): a charger of a loadpoint, or a meter of the site


def _modbus_connection_schema(framings: Iterable[str]) -> dict[vol.Marker, Any]:
    return {
        vol.Required(CONF_MODBUS_HOST): TextSelector(),
        vol.Required(CONF_MODBUS_PORT, default=502): _number(1, MAX_API_PORT, 1),
        vol.Optional(CONF_MODBUS_UNIT_ID): _number(0, 255, 1),
        vol.Required(CONF_MODBUS_FRAMING, default=str(Framing.TCP)): _translated_choice(
            "modbus_framing", framings
        ),
    }


def _translated_choice(key: str, options: Iterable[str]) -> SelectSelector:
    return SelectSelector(
        SelectSelectorConfig(
            options=[str(option) for option in options],
            mode=SelectSelectorMode.DROPDOWN,
            translation_key=key,
        )
    )


def _modbus_charger_schema() -> vol.Schema:
    return vol.Schema(
        {
            vol.Required(CONF_TITLE): TextSelector(),
            vol.Required(CONF_MODBUS_KIND): _translated_choice(
                "modbus_charger_kind", MODBUS_CHARGER_KINDS
            ),
            **_modbus_connection_schema(f for f in Framing),
            vol.Required(CONF_CHARGER_MAX_CURRENT, default=DEFAULT_CHARGER_MAX_CURRENT): _number(
                MIN_CHARGE_CURRENT, MAX_HARDWARE_CURRENT, 1, UnitOfElectricCurrent.AMPERE
            ),
            vol.Required(
                CONF_CHARGER_PHASE_COUNT, default=str(DEFAULT_CHARGER_PHASE_COUNT)
            ): _choice("1", "3"),
            vol.Required(CONF_MODBUS_MILLI_CURRENT, default=False): BooleanSelector(),
            **_control_profile_schema(),
        }
    )


_GENERIC_REGISTER_KEYS = (
    CONF_MODBUS_REGISTER,
    CONF_MODBUS_REGISTER_TYPE,
    CONF_MODBUS_DATA_TYPE,
    CONF_MODBUS_WORD_ORDER,
    CONF_MODBUS_SCALE,
    CONF_MODBUS_INVERT,
    CONF_MODBUS_ENERGY_REGISTER,
    CONF_MODBUS_ENERGY_REGISTER_TYPE,
    CONF_MODBUS_ENERGY_DATA_TYPE,
    CONF_MODBUS_ENERGY_WORD_ORDER,
    CONF_MODBUS_ENERGY_SCALE,
)


def _modbus_meter_schema() -> vol.Schema:
    generic = {f.key: f for f in MODBUS_METER_KINDS["generic"].fields}
    fields: dict[vol.Marker, Any] = {
        vol.Required(CONF_TITLE): TextSelector(),
        vol.Required(CONF_MODBUS_KIND): _translated_choice("modbus_meter_kind", MODBUS_METER_KINDS),
        vol.Required(CONF_MODBUS_USAGE, default=str(Usage.GRID)): _translated_choice(
            "modbus_usage", (Usage.GRID, Usage.PV, Usage.BATTERY, Usage.AUX)
        ),
        **_modbus_connection_schema(f for f in Framing),
    }
    # the generic register meter's fields (ignored by the other kinds)
    for key in _GENERIC_REGISTER_KEYS:
        field = generic[key]
        selector: Any
        if field.choices:
            selector = _choice(*field.choices)
        elif isinstance(field.default, bool):
            selector = BooleanSelector()
        elif key in (CONF_MODBUS_REGISTER, CONF_MODBUS_ENERGY_REGISTER):
            selector = _number(0, 65535, 1)
        else:
            selector = _number(-1e6, 1e6, "any")
        fields[vol.Optional(key)] = selector
    return vol.Schema(fields)


def modbus_config(data: Mapping[str, Any]) -> dict[str, Any]:
    """The Modbus keys of a form, cleaned: blanks dropped, whole numbers as int."""
    config: dict[str, Any] = {}
    for key, value in data.items():
        if key == CONF_MODBUS_HOST and value is not None:
            value = str(value).strip()
        if not key.startswith("modbus_") or value in (None, ""):
            continue
        if key in (CONF_MODBUS_PORT, CONF_MODBUS_UNIT_ID, CONF_MODBUS_REGISTER,
                     CONF_MODBUS_ENERGY_REGISTER) and isinstance(value, float):  # fmt: skip
            value = int(value)
        config[key] = value
    return config


def modbus_address(data: Mapping[str, Any]) -> tuple[object, ...] | None:
    """What a Modbus device is reached by (host, port, unit id), None for other devices."""
    if CONF_MODBUS_HOST not in data:
        return None
    kind = MODBUS_CHARGER_KINDS.get(str(data.get(CONF_MODBUS_KIND))) or MODBUS_METER_KINDS.get(
        str(data.get(CONF_MODBUS_KIND))
    )
    default_unit = kind.default_unit_id if kind is not None else None
    return (
        str(data[CONF_MODBUS_HOST]).strip().lower(),
        int(data.get(CONF_MODBUS_PORT, 502)),
        int(data.get(CONF_MODBUS_UNIT_ID, default_unit if default_unit is not None else 1)),
    )


async def _async_modbus_probe(config: Mapping[str, Any]) -> tuple[dict[str, str], str]:
    """The connection test of a Modbus form: (errors, a detail for the message)."""
    if CONF_MODBUS_HOST not in config:  # blank: nothing to connect to
        return {CONF_MODBUS_HOST: "invalid_host"}, ""
    result = await async_modbus_probe(str(config.get(CONF_MODBUS_KIND)), config)
    if result.error is None:
        return {}, ""
    return {"base": result.error}, result.message or ""


class ModbusMeterSubentryFlow(ConfigSubentryFlow):
    """Add or reconfigure a Modbus meter of the site (grid, PV, battery or another consumer)."""

    def _others(self) -> list[ConfigSubentry]:
        own = (
            self._get_reconfigure_subentry().subentry_id
            if self.source == SOURCE_RECONFIGURE
            else None
        )
        return [
            subentry
            for subentry in self._get_entry().subentries.values()
            if subentry.subentry_type == SUBENTRY_MODBUS_METER and subentry.subentry_id != own
        ]

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """A Modbus meter: kind, what it measures, connection; tested before it is stored."""
        errors: dict[str, str] = {}
        placeholders = {"detail": ""}
        if user_input is not None:
            title = clean_site_title(user_input[CONF_TITLE])
            config = modbus_config(user_input)
            others = self._others()
            if title is None:
                errors[CONF_TITLE] = "invalid_title"
            elif slugify(title) in {slugify(other.title) for other in others}:
                errors[CONF_TITLE] = "duplicate_title"
            if config[CONF_MODBUS_USAGE] == Usage.GRID and any(
                other.data.get(CONF_MODBUS_USAGE) == Usage.GRID for other in others
            ):
                errors[CONF_MODBUS_USAGE] = "grid_meter_twice"
            if not errors:
                errors, placeholders["detail"] = await _async_modbus_probe(config)
            if not errors:
                assert title is not None
                if self.source == SOURCE_RECONFIGURE:
                    return self.async_update_and_abort(
                        self._get_entry(),
                        self._get_reconfigure_subentry(),
                        title=title,
                        data=config,
                    )
                return self.async_create_entry(title=title, data=config)
        stored: Mapping[str, Any] = {}
        if self.source == SOURCE_RECONFIGURE:
            subentry = self._get_reconfigure_subentry()
            stored = {**subentry.data, CONF_TITLE: subentry.title}
        return self.async_show_form(
            step_id="user" if self.source != SOURCE_RECONFIGURE else "reconfigure",
            data_schema=self.add_suggested_values_to_schema(
                _modbus_meter_schema(), user_input or stored
            ),
            errors=errors,
            description_placeholders=placeholders,
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Change a Modbus meter."""
        return await self.async_step_user(user_input)


# Load management (evcc's circuits)


def _circuit_schema(
    circuits: Iterable[ConfigSubentry], loadpoints: Iterable[ConfigSubentry]
) -> vol.Schema:
    def options(subentries: Iterable[ConfigSubentry]) -> list[SelectOptionDict]:
        return [SelectOptionDict(value=s.subentry_id, label=s.title) for s in subentries]

    return vol.Schema(
        {
            vol.Required(CONF_CIRCUIT_TITLE): TextSelector(),
            vol.Optional(CONF_CIRCUIT_MAX_CURRENT): _number(
                0, MAX_CIRCUIT_CURRENT_A, 0.1, UnitOfElectricCurrent.AMPERE
            ),
            vol.Optional(CONF_CIRCUIT_MAX_POWER): _number(
                0, MAX_CIRCUIT_POWER_W, 1, UnitOfPower.WATT
            ),
            vol.Optional(CONF_CIRCUIT_LOADPOINTS): SelectSelector(
                SelectSelectorConfig(options=options(loadpoints), multiple=True)
            ),
            vol.Optional(CONF_CIRCUIT_PARENT): SelectSelector(
                SelectSelectorConfig(options=options(circuits), mode=SelectSelectorMode.DROPDOWN)
            ),
            vol.Optional(CONF_CIRCUIT_GRID_METER): BooleanSelector(),
            vol.Optional(CONF_CIRCUIT_METER): _entities(_POWER),
            vol.Optional(CONF_CIRCUIT_CURRENTS): _entities(
                EntityFilterSelectorConfig(domain="sensor", device_class="current"), multiple=True
            ),
            vol.Optional(CONF_CIRCUIT_LIMIT): _entities(
                EntityFilterSelectorConfig(domain=["sensor", "number", "input_number"])
            ),
        }
    )


def validate_circuit(
    hass: HomeAssistant, entry: ConfigEntry, own_id: str | None, user_input: Mapping[str, Any]
) -> tuple[dict[str, str], dict[str, Any]]:
    """Form errors and the data to store for one circuit (`own_id`: the one reconfigured)."""
    errors: dict[str, str] = {}
    data = {key: value for key, value in user_input.items() if value not in (None, "", [])}
    title = str(data.get(CONF_CIRCUIT_TITLE, "")).strip()
    data[CONF_CIRCUIT_TITLE] = title
    circuits = {s.subentry_id: s for s in circuit_subentries(entry)}
    if not slugify(title):
        errors[CONF_CIRCUIT_TITLE] = "circuit_title_required"
    elif any(slugify(s.title) == slugify(title) for sid, s in circuits.items() if sid != own_id):
        errors[CONF_CIRCUIT_TITLE] = "duplicate_circuit"
    for key in (CONF_CIRCUIT_MAX_CURRENT, CONF_CIRCUIT_MAX_POWER):
        if key in data:
            data[key] = float(data[key])
    if not (
        data.get(CONF_CIRCUIT_MAX_CURRENT) or data.get(CONF_CIRCUIT_MAX_POWER)
    ) and not data.get(CONF_CIRCUIT_LIMIT):
        errors["base"] = "circuit_without_limit"
    parent = data.get(CONF_CIRCUIT_PARENT)
    if parent is not None:
        # walk up from the parent: reaching this circuit would make it its own parent
        seen: set[str] = set()
        node: str | None = parent
        while node is not None and node not in seen:
            if node == own_id or node not in circuits:
                errors[CONF_CIRCUIT_PARENT] = "invalid_circuit_parent"
                break
            seen.add(node)
            node = circuits[node].data.get(CONF_CIRCUIT_PARENT)
    loadpoint_ids = {s.subentry_id for s in loadpoint_subentries(entry)}
    taken = {
        lp
        for sid, s in circuits.items()
        if sid != own_id
        for lp in s.data.get(CONF_CIRCUIT_LOADPOINTS, [])
    }
    chosen = list(data.get(CONF_CIRCUIT_LOADPOINTS, []))
    if any(lp not in loadpoint_ids for lp in chosen):
        errors[CONF_CIRCUIT_LOADPOINTS] = "invalid_circuit_loadpoint"
    elif any(lp in taken for lp in chosen):
        errors[CONF_CIRCUIT_LOADPOINTS] = "loadpoint_in_other_circuit"
    if not data.get(CONF_CIRCUIT_GRID_METER):
        data.pop(CONF_CIRCUIT_GRID_METER, None)
    elif data.get(CONF_CIRCUIT_METER):
        errors[CONF_CIRCUIT_METER] = "circuit_two_meters"
    elif not has_grid_meter(entry):
        errors[CONF_CIRCUIT_GRID_METER] = "circuit_no_grid_meter"
    currents = data.get(CONF_CIRCUIT_CURRENTS)
    if currents is not None:
        if len(currents) != 3 or len(set(currents)) != 3:
            errors[CONF_CIRCUIT_CURRENTS] = "circuit_currents_three"
        elif not data.get(CONF_CIRCUIT_METER):
            errors[CONF_CIRCUIT_CURRENTS] = "circuit_currents_need_meter"
    _check_entities(
        hass,
        data,
        (
            (CONF_CIRCUIT_METER, POWER_SENSOR),
            (CONF_CIRCUIT_CURRENTS, CURRENT_SENSOR),
            (CONF_CIRCUIT_LIMIT, CIRCUIT_LIMIT_ENTITY),
        ),
        errors,
    )
    return errors, data


class CircuitSubentryFlow(ConfigSubentryFlow):
    """Add or reconfigure a circuit (load management): a fuse or power limit that the loadpoints
    chosen here share, optionally inside a bigger circuit, with its own meter and an external
    limit (e.g. the grid operator's §14a dimming)."""

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """A new circuit."""
        return await self._async_step("user", user_input)

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Change a circuit."""
        return await self._async_step("reconfigure", user_input)

    async def _async_step(
        self, step_id: str, user_input: dict[str, Any] | None
    ) -> SubentryFlowResult:
        entry = self._get_entry()
        own = self._get_reconfigure_subentry() if self.source == SOURCE_RECONFIGURE else None
        own_id = None if own is None else own.subentry_id
        errors: dict[str, str] = {}
        if user_input is not None:
            errors, data = validate_circuit(self.hass, entry, own_id, user_input)
            if not errors:
                title = data.pop(CONF_CIRCUIT_TITLE)
                if own is not None:
                    return self.async_update_and_abort(entry, own, title=title, data=data)
                return self.async_create_entry(title=title, data=data)
        others = [s for s in circuit_subentries(entry) if s.subentry_id != own_id]
        loadpoints = loadpoint_subentries(entry)
        stored: dict[str, Any] = {}
        if own is not None:
            stored = {**own.data, CONF_CIRCUIT_TITLE: own.title}
            # a loadpoint or parent removed since is not offered again (the form would refuse it)
            ids = {s.subentry_id for s in loadpoints}
            stored[CONF_CIRCUIT_LOADPOINTS] = [
                lp for lp in stored.get(CONF_CIRCUIT_LOADPOINTS, []) if lp in ids
            ]
            if stored.get(CONF_CIRCUIT_PARENT) not in {s.subentry_id for s in others}:
                stored.pop(CONF_CIRCUIT_PARENT, None)
        schema = _circuit_schema(others, loadpoints)
        return self.async_show_form(
            step_id=step_id,
            data_schema=self.add_suggested_values_to_schema(schema, user_input or stored),
            errors=errors,
        )

"""Build the devices of a site entry from its data, options and loadpoint subentries.

The demo site brings its simulated household; a real site gets its meters from the options (Home
Assistant sensors) and its Modbus meter subentries, and one `LoadpointDevices` per loadpoint
subentry. The charger's kind is stored in the subentry (`CONF_CHARGER_KIND`, Home Assistant
entities when missing) and picked from `CHARGER_KINDS`, so a new kind of charger is one builder
here and one branch of the subentry flow. Every Modbus device of a site shares the site's
`ModbusHub` (one connection per host, one request at a time per gateway).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import tzinfo
from typing import Any, Final

from homeassistant.config_entries import ConfigEntry, ConfigSubentry
from homeassistant.core import HomeAssistant
from homeassistant.util import slugify

from ..const import (
    CHARGER_KIND_ENTITIES,
    CHARGER_KIND_MODBUS,
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
    CONF_CONTROL_PROFILE,
    CONF_DEMO,
    CONF_GRID_ENERGY,
    CONF_GRID_INVERT,
    CONF_GRID_POWER,
    CONF_PV_POWER,
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
    DEFAULT_CHARGER_MAX_CURRENT,
    DEFAULT_CHARGER_PHASE_COUNT,
    DEFAULT_VEHICLE_CAPACITY,
    DEFAULT_VEHICLE_PHASES,
    LOGGER,
    SUBENTRY_CIRCUIT,
    SUBENTRY_LOADPOINT,
    SUBENTRY_MODBUS_METER,
    SUBENTRY_VEHICLE,
)
from ..core.clock import Clock
from ..core.devices import (
    Charger,
    CircuitDevices,
    LoadpointDevices,
    Meter,
    SiteDevices,
    VehicleDevices,
)
from ..core.model import (
    BatteryMode,
    ChargerConfig,
    CircuitConfig,
    ControlProfile,
    LoadpointConfig,
    SiteConfig,
    VehicleConfig,
)
from .demo import DemoSite
from .ha_entities import (
    EntityBatteryControl,
    EntityCharger,
    EntityMeter,
    EntitySoc,
    EntityVehicle,
)
from .modbus.client import ModbusHub
from .modbus.const import (
    CONF_MODBUS_KIND,
    CONF_MODBUS_MAX_CURRENT,
    CONF_MODBUS_MILLI_CURRENT,
    CONF_MODBUS_USAGE,
    Usage,
)
from .modbus.kinds import CHARGER_KINDS as MODBUS_CHARGER_KINDS, METER_KINDS as MODBUS_METER_KINDS

__all__ = [
    "CHARGER_KINDS",
    "async_build_devices",
    "async_build_site_devices",
    "build_loadpoint",
    "loadpoint_subentries",
    "modbus_meter_subentries",
    "vehicle_subentries",
]

ChargerBuilder = Callable[[HomeAssistant, ModbusHub, str, Mapping[str, Any], float], Charger]
"""(hass, the site's Modbus hub, loadpoint title, subentry data, hardware maximum) → charger."""


def loadpoint_subentries(entry: ConfigEntry) -> list[ConfigSubentry]:
    """The loadpoint subentries of a site in creation order (the order of `SiteDevices.loadpoints`)."""
    return [s for s in entry.subentries.values() if s.subentry_type == SUBENTRY_LOADPOINT]


def vehicle_subentries(entry: ConfigEntry) -> list[ConfigSubentry]:
    """The vehicle subentries of a site in creation order (`SiteConfig.vehicles`)."""
    return [s for s in entry.subentries.values() if s.subentry_type == SUBENTRY_VEHICLE]


def _entity_charger(
    hass: HomeAssistant, _hub: ModbusHub, title: str, data: Mapping[str, Any], max_current: float
) -> Charger:
    return EntityCharger(
        hass,
        f"{title} charger",
        enable_entity=data[CONF_CHARGER_ENABLE],
        current_entity=data[CONF_CHARGER_CURRENT],
        status_entity=data[CONF_CHARGER_STATUS],
        max_current=max_current,
        # Without its own power sensor the charger tells "charging" from the charge meter.
        power_entity=data.get(CONF_CHARGER_POWER) or data.get(CONF_CHARGE_METER_POWER),
        energy_entity=data.get(CONF_CHARGER_ENERGY),
        charging_entity=data.get(CONF_CHARGER_CHARGING),
        phases_entity=data.get(CONF_CHARGER_PHASES),
        phases_on_1p=bool(data.get(CONF_CHARGER_PHASES_ON_1P, False)),
    )


def _modbus_charger(
    _hass: HomeAssistant, hub: ModbusHub, title: str, data: Mapping[str, Any], max_current: float
) -> Charger:
    kind = MODBUS_CHARGER_KINDS.get(str(data.get(CONF_MODBUS_KIND)))
    if kind is None:
        raise ValueError(f"unknown Modbus charger {data.get(CONF_MODBUS_KIND)!r}")
    return kind.build({**data, CONF_MODBUS_MAX_CURRENT: max_current}, hub, name=f"{title} charger")


CHARGER_KINDS: dict[str, ChargerBuilder] = {
    CHARGER_KIND_ENTITIES: _entity_charger,
    CHARGER_KIND_MODBUS: _modbus_charger,
}
"""Charger kind (as stored in a loadpoint subentry) → its builder."""

# The current steps the Modbus chargers can set (A): what the current entities' step is for
# entity chargers.
_MODBUS_CURRENT_STEP = {"phoenix_ev_eth": 1.0, "wallbe": 0.1, "alfen": 0.1, "heidelberg": 0.1}


# VehicleConfig.reports name → the subentry field of its entity
_VEHICLE_VALUE_KEYS: Final = {
    "range": CONF_VEHICLE_RANGE,
    "odometer": CONF_VEHICLE_ODOMETER,
    "limit_soc": CONF_VEHICLE_LIMIT,
    "climater": CONF_VEHICLE_CLIMATER,
    "connected": CONF_VEHICLE_CONNECTED,
}


def _control_profile(data: Mapping[str, Any]) -> ControlProfile:
    """The profile a new loadpoint starts with; evcc's for subentries from before the field."""
    try:
        return ControlProfile(data.get(CONF_CONTROL_PROFILE, ControlProfile.EVCC))
    except ValueError:
        LOGGER.warning("Unknown control profile %r ignored", data.get(CONF_CONTROL_PROFILE))
        return ControlProfile.EVCC


def _current_step(data: Mapping[str, Any]) -> float:
    if data.get(CONF_CHARGER_KIND) != CHARGER_KIND_MODBUS:
        return 1.0
    if data.get(CONF_MODBUS_MILLI_CURRENT):
        return 0.1
    return _MODBUS_CURRENT_STEP.get(str(data.get(CONF_MODBUS_KIND)), 1.0)


def build_loadpoint(
    hass: HomeAssistant, subentry: ConfigSubentry, hub: ModbusHub
) -> LoadpointDevices:
    """The devices and the static configuration of one loadpoint subentry."""
    data = subentry.data
    title = subentry.title
    max_current = float(data.get(CONF_CHARGER_MAX_CURRENT, DEFAULT_CHARGER_MAX_CURRENT))
    kind = data.get(CONF_CHARGER_KIND, CHARGER_KIND_ENTITIES)
    builder = CHARGER_KINDS.get(kind)
    if builder is None:
        raise ValueError(f"unknown charger kind {kind!r}")
    charger = builder(hass, hub, title, data, max_current)
    phases_switchable = data.get(CONF_CHARGER_PHASES) is not None
    charge_meter_power: str | None = data.get(CONF_CHARGE_METER_POWER)
    vehicle = soc = values = None
    if vehicle_title := data.get(CONF_VEHICLE_TITLE):
        vehicle, soc, values = build_vehicle(hass, vehicle_title, data)
    config = LoadpointConfig(
        title=title,
        charger=ChargerConfig(
            phases=int(data.get(CONF_CHARGER_PHASE_COUNT, DEFAULT_CHARGER_PHASE_COUNT)),
            phases_switchable=phases_switchable,
            max_current=max_current,
            current_step=_current_step(data),
        ),
        vehicle=vehicle,
        control_profile=_control_profile(data),
    )
    meter = (
        None
        if charge_meter_power is None
        else EntityMeter(hass, f"{title} charge meter", charge_meter_power)
    )
    return LoadpointDevices(config=config, charger=charger, meter=meter, soc=soc, vehicle=values)


def build_vehicle(
    hass: HomeAssistant, title: str, data: Mapping[str, Any]
) -> tuple[VehicleConfig, EntitySoc | None, EntityVehicle | None]:
    """A vehicle from the `CONF_VEHICLE_…` fields of a loadpoint or vehicle subentry: what it
    is, its SoC sensor and the other entities of its car integration."""
    soc_entity: str | None = data.get(CONF_VEHICLE_SOC)
    value_entities = {name: data.get(key) for name, key in _VEHICLE_VALUE_KEYS.items()}
    reports = frozenset(name for name, entity in value_entities.items() if entity)
    vehicle = VehicleConfig(
        title=title,
        capacity_kwh=float(data.get(CONF_VEHICLE_CAPACITY, DEFAULT_VEHICLE_CAPACITY)),
        phases=int(data.get(CONF_VEHICLE_PHASES, DEFAULT_VEHICLE_PHASES)),
        has_soc=soc_entity is not None,
        reports=reports,
        welcome_charge=data.get(CONF_VEHICLE_WELCOME_CHARGE) is True,
    )
    values = None
    if reports:
        values = EntityVehicle(
            hass,
            f"{title} values",
            range_entity=value_entities["range"],
            odometer_entity=value_entities["odometer"],
            limit_entity=value_entities["limit_soc"],
            climater_entity=value_entities["climater"],
            connected_entity=value_entities["connected"],
        )
    soc = EntitySoc(hass, f"{title} SoC", soc_entity) if soc_entity is not None else None
    return vehicle, soc, values


def _site_meters(
    hass: HomeAssistant, options: Mapping[str, Any]
) -> tuple[Meter | None, list[Meter], list[Meter]]:
    grid: Meter | None = None
    if grid_power := options.get(CONF_GRID_POWER):
        grid = EntityMeter(
            hass,
            "grid",
            grid_power,
            invert=bool(options.get(CONF_GRID_INVERT, False)),
            energy_entity=options.get(CONF_GRID_ENERGY),
        )
    pv: list[Meter] = [
        EntityMeter(hass, f"pv {index}", entity_id)
        for index, entity_id in enumerate(options.get(CONF_PV_POWER) or [], start=1)
    ]
    battery: list[Meter] = []
    if battery_power := options.get(CONF_BATTERY_POWER):
        capacity = options.get(CONF_BATTERY_CAPACITY)
        battery.append(
            EntityMeter(
                hass,
                "battery",
                battery_power,
                invert=bool(options.get(CONF_BATTERY_INVERT, False)),
                soc_entity=options.get(CONF_BATTERY_SOC),
                capacity=None if capacity is None else float(capacity),
            )
        )
    return grid, pv, battery


def _battery_control(
    hass: HomeAssistant, options: Mapping[str, Any]
) -> EntityBatteryControl | None:
    entity_id = options.get(CONF_BATTERY_MODE_ENTITY)
    if not entity_id:
        return None
    modes = {
        BatteryMode.NORMAL: options.get(CONF_BATTERY_MODE_NORMAL),
        BatteryMode.HOLD: options.get(CONF_BATTERY_MODE_HOLD),
        BatteryMode.CHARGE: options.get(CONF_BATTERY_MODE_CHARGE),
    }
    return EntityBatteryControl(
        hass,
        "battery control",
        entity_id,
        {mode: str(option) for mode, option in modes.items() if option},
    )


def _can_charge(control: EntityBatteryControl) -> bool:
    """Only a select with a charge option charges the battery from the grid."""
    return control.entity_id.split(".")[0] in ("select", "input_select") and (
        BatteryMode.CHARGE in control.options
    )


def modbus_meter_subentries(entry: ConfigEntry) -> list[ConfigSubentry]:
    """The Modbus meter subentries of a site in creation order."""
    return [s for s in entry.subentries.values() if s.subentry_type == SUBENTRY_MODBUS_METER]


def _modbus_meters(entry: ConfigEntry, hub: ModbusHub) -> dict[Usage, list[Meter]]:
    """The site's Modbus meters by what they measure."""
    meters: dict[Usage, list[Meter]] = {}
    for subentry in modbus_meter_subentries(entry):
        kind = MODBUS_METER_KINDS.get(str(subentry.data.get(CONF_MODBUS_KIND)))
        if kind is None:
            raise ValueError(f"unknown Modbus meter {subentry.data.get(CONF_MODBUS_KIND)!r}")
        usage = Usage(subentry.data.get(CONF_MODBUS_USAGE, Usage.GRID))
        meters.setdefault(usage, []).append(kind.build(subentry.data, hub, name=subentry.title))
    return meters


def circuit_subentries(entry: ConfigEntry) -> list[ConfigSubentry]:
    """The circuit subentries of a site in creation order."""
    return [s for s in entry.subentries.values() if s.subentry_type == SUBENTRY_CIRCUIT]


def has_grid_meter(entry: ConfigEntry) -> bool:
    """Whether the site has a grid meter: the grid sensor of its options or a Modbus grid meter."""
    return bool(entry.options.get(CONF_GRID_POWER)) or any(
        s.data.get(CONF_MODBUS_USAGE, Usage.GRID) == Usage.GRID
        for s in modbus_meter_subentries(entry)
    )


def build_circuits(
    hass: HomeAssistant, entry: ConfigEntry, grid: Meter | None
) -> tuple[list[CircuitDevices], dict[str, str]]:
    """The site's circuits (API name = the title's slug) and the circuit name of each loadpoint
    subentry id that one of them holds. A parent or loadpoint removed since is left out. A
    circuit metered by the grid meter shares the site's `grid` meter object (read once a cycle).
    """
    subentries = circuit_subentries(entry)
    names = {s.subentry_id: slugify(s.title) for s in subentries}
    circuits: list[CircuitDevices] = []
    circuit_of: dict[str, str] = {}
    for subentry in subentries:
        data, name = subentry.data, names[subentry.subentry_id]
        meter_entity, limit_entity = data.get(CONF_CIRCUIT_METER), data.get(CONF_CIRCUIT_LIMIT)
        by_grid_meter = bool(data.get(CONF_CIRCUIT_GRID_METER))
        if by_grid_meter and (grid is None or meter_entity):
            raise ValueError(
                f"circuit {subentry.title!r} is metered by the grid meter, "
                + ("but the site has none" if grid is None else "and by its own load meter")
            )
        config = CircuitConfig(
            name=name,
            title=subentry.title,
            parent=names.get(str(data.get(CONF_CIRCUIT_PARENT))),
            max_current=float(data.get(CONF_CIRCUIT_MAX_CURRENT) or 0.0),
            max_power=float(data.get(CONF_CIRCUIT_MAX_POWER) or 0.0),
            metered=bool(meter_entity) or by_grid_meter,
            limited=bool(limit_entity),
        )
        currents = data.get(CONF_CIRCUIT_CURRENTS)
        meter = grid if by_grid_meter else None
        if meter_entity:
            meter = EntityMeter(
                hass,
                f"{subentry.title} meter",
                meter_entity,
                current_entities=(str(currents[0]), str(currents[1]), str(currents[2]))
                if currents and len(currents) == 3
                else None,
            )
        limit = EntityMeter(hass, f"{subentry.title} limit", limit_entity) if limit_entity else None
        circuits.append(CircuitDevices(config, meter, limit))
        for loadpoint_id in data.get(CONF_CIRCUIT_LOADPOINTS) or []:
            circuit_of.setdefault(str(loadpoint_id), name)
    return circuits, circuit_of


async def async_build_devices(
    hass: HomeAssistant, entry: ConfigEntry, hub: ModbusHub
) -> SiteDevices:
    """Meters from the site options and Modbus meter subentries (a Modbus grid meter replaces
    the grid sensor), one `LoadpointDevices` per loadpoint subentry."""
    grid, pv, battery = _site_meters(hass, entry.options)
    modbus = _modbus_meters(entry, hub)
    if modbus.get(Usage.GRID):
        grid = modbus[Usage.GRID][0]
    pv += modbus.get(Usage.PV, [])
    battery += modbus.get(Usage.BATTERY, [])
    aux = modbus.get(Usage.AUX, []) + modbus.get(Usage.CHARGE, [])
    control = _battery_control(hass, entry.options) if battery else None
    vehicles = [
        VehicleDevices(*build_vehicle(hass, subentry.title, subentry.data))
        for subentry in vehicle_subentries(entry)
    ]
    loadpoints = [build_loadpoint(hass, s, hub) for s in loadpoint_subentries(entry)]
    circuits, circuit_of = build_circuits(hass, entry, grid)
    for lp, subentry in zip(loadpoints, loadpoint_subentries(entry), strict=True):
        if (name := circuit_of.get(subentry.subentry_id)) is not None:
            lp.config = replace(lp.config, circuit=name)
    return SiteDevices(
        config=SiteConfig(
            title=entry.title,
            grid_configured=grid is not None,
            pv_configured=bool(pv),
            battery_configured=bool(battery),
            battery_controllable=control is not None,
            battery_chargeable=control is not None and _can_charge(control),
            vehicles=tuple(vehicle.config for vehicle in vehicles),
            circuits=tuple(circuit.config for circuit in circuits),
        ),
        circuits=circuits,
        vehicles=vehicles,
        battery_control=control,
        grid=grid,
        pv=pv,
        battery=battery,
        aux=aux,
        loadpoints=loadpoints,
    )


async def async_build_site_devices(
    hass: HomeAssistant, entry: ConfigEntry, clock: Clock, tz: tzinfo, hub: ModbusHub
) -> tuple[SiteDevices, DemoSite | None]:
    """The devices of a site entry: the demo household, or what its options and subentries say."""
    if entry.data.get(CONF_DEMO):
        demo = DemoSite(clock, tz=tz)
        return demo.site_devices(entry.title), demo
    return await async_build_devices(hass, entry, hub), None

"""Builders of the Modbus devices from plain config dicts, and the kinds table for the config flow.

Every builder takes the config (keys from `const`), the site's `ModbusHub` and an optional name,
validates the config (`ModbusConfigError`) and returns the device; it opens nothing (the device
connects on its first exchange). `METER_KINDS` and `CHARGER_KINDS` map a kind name to its
builder, its connection defaults and the fields its form needs.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final, Protocol

from ...core.devices import Charger, Meter
from .chargers import HEC_MIN_GAP_S, AlfenCharger, HeidelbergCharger, PhoenixEvEthCharger
from .client import Framing, ModbusHub, ModbusUnit, RegisterTable
from .codec import DataType, WordOrder
from .const import (
    CONF_MODBUS_DATA_TYPE,
    CONF_MODBUS_ENERGY_DATA_TYPE,
    CONF_MODBUS_ENERGY_REGISTER,
    CONF_MODBUS_ENERGY_REGISTER_TYPE,
    CONF_MODBUS_ENERGY_SCALE,
    CONF_MODBUS_ENERGY_WORD_ORDER,
    CONF_MODBUS_FRAMING,
    CONF_MODBUS_HOST,
    CONF_MODBUS_INVERT,
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
from .errors import ModbusConfigError
from .meters import GENERIC_DATA_TYPES, RegisterMeter, RegisterSpec, Sdm630Meter
from .sunspec import SunSpecMeter

__all__ = [
    "CHARGER_KINDS",
    "CONNECTION_FIELDS",
    "METER_KINDS",
    "ConnectionConfig",
    "FormField",
    "ModbusCharger",
    "ModbusKind",
    "ModbusMeter",
    "build_alfen_charger",
    "build_heidelberg_charger",
    "build_phoenix_charger",
    "build_register_meter",
    "build_sdm630_meter",
    "build_sunspec_meter",
    "connection_config",
    "kind_of",
]


class ModbusMeter(Meter, Protocol):
    """A Modbus meter: a `Meter` with a read-only connection test."""

    async def async_probe(self) -> dict[str, object]: ...


class ModbusCharger(Charger, Protocol):
    """A Modbus charger: a `Charger` with a read-only connection test."""

    async def async_probe(self) -> dict[str, object]: ...


class Builder[T](Protocol):
    def __call__(
        self, config: Mapping[str, Any], hub: ModbusHub, *, name: str | None = None
    ) -> T: ...


@dataclass(frozen=True, slots=True)
class FormField:
    """One kind-specific field of the config form: key, default, required, allowed values."""

    key: str
    default: object = None
    required: bool = False
    choices: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ModbusKind[T]:
    """A device kind: how to build it and what its config form needs."""

    key: str
    title: str
    build: Builder[T]
    default_port: int
    default_unit_id: int
    default_framing: Framing
    framings: tuple[Framing, ...]
    fields: tuple[FormField, ...] = ()
    usages: tuple[Usage, ...] = ()  # meters: what they can measure

    def defaults(self) -> dict[str, object]:
        """A config with every default of this kind (no host)."""
        values: dict[str, object] = {
            CONF_MODBUS_PORT: self.default_port,
            CONF_MODBUS_UNIT_ID: self.default_unit_id,
            CONF_MODBUS_FRAMING: str(self.default_framing),
        }
        values.update({f.key: f.default for f in self.fields if f.default is not None})
        return values


CONNECTION_FIELDS: Final = (
    CONF_MODBUS_HOST,
    CONF_MODBUS_PORT,
    CONF_MODBUS_UNIT_ID,
    CONF_MODBUS_FRAMING,
)
"""Fields every kind's form has (defaults from `ModbusKind`)."""


# --- config values -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ConnectionConfig:
    host: str
    port: int
    unit_id: int
    framing: Framing

    def unit(self, hub: ModbusHub, *, min_gap: float = 0.0) -> ModbusUnit:
        return hub.unit(self.host, self.port, self.framing, self.unit_id, min_gap=min_gap)


def _int(config: Mapping[str, Any], key: str, default: int | None, low: int, high: int) -> int:
    value = config.get(key, default)
    if value is None:
        raise ModbusConfigError(f"{key} is required")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ModbusConfigError(f"{key} is not a number: {value!r}") from None
    if isinstance(value, bool) or not number.is_integer() or not low <= number <= high:
        raise ModbusConfigError(f"{key} must be a whole number {low} … {high}: {value!r}")
    return int(number)


def _float(config: Mapping[str, Any], key: str, default: float | None) -> float:
    value = config.get(key, default)
    if value is None:
        raise ModbusConfigError(f"{key} is required")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ModbusConfigError(f"{key} is not a number: {value!r}") from None
    if isinstance(value, bool) or not math.isfinite(number):
        raise ModbusConfigError(f"{key} is not a finite number: {value!r}")
    return number


def _bool(config: Mapping[str, Any], key: str) -> bool:
    value = config.get(key, False)
    if not isinstance(value, bool):
        raise ModbusConfigError(f"{key} must be true or false: {value!r}")
    return value


def _choice[E: StrEnum](config: Mapping[str, Any], key: str, enum: type[E], default: E) -> E:
    value = config.get(key, default)
    try:
        return enum(str(value).strip().lower())
    except ValueError:
        choices = ", ".join(e.value for e in enum)
        raise ModbusConfigError(f"{key} must be one of {choices}: {value!r}") from None


def connection_config(config: Mapping[str, Any], kind: ModbusKind[Any]) -> ConnectionConfig:
    """Host, port, unit id and framing of `config`, with the kind's defaults."""
    host = config.get(CONF_MODBUS_HOST)
    if not isinstance(host, str) or not host.strip():
        raise ModbusConfigError(f"{CONF_MODBUS_HOST} is required")
    framing = _choice(config, CONF_MODBUS_FRAMING, Framing, kind.default_framing)
    if framing not in kind.framings:
        raise ModbusConfigError(f"{kind.title} does not support framing {framing}")
    return ConnectionConfig(
        host=host.strip(),
        port=_int(config, CONF_MODBUS_PORT, kind.default_port, 1, 65535),
        unit_id=_int(config, CONF_MODBUS_UNIT_ID, kind.default_unit_id, 0, 255),
        framing=framing,
    )


def _usage(config: Mapping[str, Any], kind: ModbusKind[Any]) -> Usage:
    usage = _choice(config, CONF_MODBUS_USAGE, Usage, Usage.GRID)
    if usage not in kind.usages:
        raise ModbusConfigError(f"{kind.title} cannot be used as {usage} meter")
    return usage


def _name(name: str | None, kind: ModbusKind[Any], usage: Usage | None = None) -> str:
    if name:
        return name
    return f"{kind.title} ({usage})" if usage else kind.title


# --- builders ------------------------------------------------------------------------------------


def build_sunspec_meter(
    config: Mapping[str, Any], hub: ModbusHub, *, name: str | None = None
) -> SunSpecMeter:
    kind = METER_KINDS["sunspec"]
    connection = connection_config(config, kind)
    usage = _usage(config, kind)
    return SunSpecMeter(connection.unit(hub), name=_name(name, kind, usage), usage=usage)


def build_sdm630_meter(
    config: Mapping[str, Any], hub: ModbusHub, *, name: str | None = None
) -> Sdm630Meter:
    kind = METER_KINDS["sdm630"]
    connection = connection_config(config, kind)
    usage = _usage(config, kind)
    return Sdm630Meter(connection.unit(hub), name=_name(name, kind, usage), usage=usage)


def _register_spec(
    config: Mapping[str, Any], prefix: str, data_type_default: DataType, scale: float
) -> RegisterSpec:
    keys = {
        "": (
            CONF_MODBUS_REGISTER,
            CONF_MODBUS_REGISTER_TYPE,
            CONF_MODBUS_DATA_TYPE,
            CONF_MODBUS_WORD_ORDER,
            CONF_MODBUS_SCALE,
        ),
        "energy": (
            CONF_MODBUS_ENERGY_REGISTER,
            CONF_MODBUS_ENERGY_REGISTER_TYPE,
            CONF_MODBUS_ENERGY_DATA_TYPE,
            CONF_MODBUS_ENERGY_WORD_ORDER,
            CONF_MODBUS_ENERGY_SCALE,
        ),
    }[prefix]
    address, table, data_type, word_order, scale_key = keys
    spec_table = _choice(config, table, RegisterTable, RegisterTable.HOLDING)
    spec_type = _choice(config, data_type, DataType, data_type_default)
    if spec_type not in GENERIC_DATA_TYPES:
        raise ModbusConfigError(f"{data_type} {spec_type} is not supported")
    return RegisterSpec(
        address=_int(config, address, None, 0, 65535),
        table=spec_table,
        data_type=spec_type,
        word_order=_choice(config, word_order, WordOrder, WordOrder.BIG),
        scale=_float(config, scale_key, scale),
    )


def build_register_meter(
    config: Mapping[str, Any], hub: ModbusHub, *, name: str | None = None
) -> RegisterMeter:
    kind = METER_KINDS["generic"]
    connection = connection_config(config, kind)
    usage = _usage(config, kind)
    power = _register_spec(config, "", DataType.INT16, 1.0)
    energy = None
    if config.get(CONF_MODBUS_ENERGY_REGISTER) not in (None, ""):
        energy = _register_spec(config, "energy", DataType.UINT32, 0.001)
    return RegisterMeter(
        connection.unit(hub),
        name=_name(name, kind, usage),
        usage=usage,
        power=power,
        energy=energy,
        invert=_bool(config, CONF_MODBUS_INVERT),
    )


def _max_current(config: Mapping[str, Any]) -> float:
    return _float(config, CONF_MODBUS_MAX_CURRENT, None)


def build_phoenix_charger(
    config: Mapping[str, Any], hub: ModbusHub, *, name: str | None = None
) -> PhoenixEvEthCharger:
    kind = CHARGER_KINDS["phoenix_ev_eth"]
    connection = connection_config(config, kind)
    return PhoenixEvEthCharger(
        connection.unit(hub),
        name=_name(name, kind),
        max_current=_max_current(config),
        milli_current=_bool(config, CONF_MODBUS_MILLI_CURRENT),
    )


def build_wallbe_charger(
    config: Mapping[str, Any], hub: ModbusHub, *, name: str | None = None
) -> PhoenixEvEthCharger:
    return build_phoenix_charger(config, hub, name=name or CHARGER_KINDS["wallbe"].title)


def build_alfen_charger(
    config: Mapping[str, Any], hub: ModbusHub, *, name: str | None = None
) -> AlfenCharger:
    kind = CHARGER_KINDS["alfen"]
    connection = connection_config(config, kind)
    return AlfenCharger(
        connection.unit(hub), name=_name(name, kind), max_current=_max_current(config)
    )


def build_heidelberg_charger(
    config: Mapping[str, Any], hub: ModbusHub, *, name: str | None = None
) -> HeidelbergCharger:
    kind = CHARGER_KINDS["heidelberg"]
    connection = connection_config(config, kind)
    return HeidelbergCharger(
        connection.unit(hub, min_gap=HEC_MIN_GAP_S),
        name=_name(name, kind),
        max_current=_max_current(config),
    )


# --- the kinds -----------------------------------------------------------------------------------

_USAGE_FIELD: Final = FormField(
    CONF_MODBUS_USAGE, default=str(Usage.GRID), required=True, choices=tuple(Usage)
)
_MAX_CURRENT_FIELD: Final = FormField(CONF_MODBUS_MAX_CURRENT, default=16.0, required=True)
_TABLES: Final = (str(RegisterTable.HOLDING), str(RegisterTable.INPUT))
_TYPES: Final = tuple(str(t) for t in GENERIC_DATA_TYPES)
_ORDERS: Final = tuple(str(o) for o in WordOrder)
_BOTH: Final = (Framing.TCP, Framing.RTU_OVER_TCP)

METER_KINDS: Final[Mapping[str, ModbusKind[ModbusMeter]]] = {
    "sunspec": ModbusKind(
        key="sunspec",
        title="SunSpec",
        build=build_sunspec_meter,
        default_port=502,
        default_unit_id=1,  # Fronius smart meters: 200 or 240
        default_framing=Framing.TCP,
        framings=_BOTH,
        fields=(_USAGE_FIELD,),
        usages=tuple(Usage),
    ),
    "sdm630": ModbusKind(
        key="sdm630",
        title="Eastron SDM630",
        build=build_sdm630_meter,
        default_port=502,
        default_unit_id=1,
        default_framing=Framing.RTU_OVER_TCP,
        framings=_BOTH,
        fields=(_USAGE_FIELD,),
        usages=tuple(Usage),
    ),
    "generic": ModbusKind(
        key="generic",
        title="Modbus register",
        build=build_register_meter,
        default_port=502,
        default_unit_id=1,
        default_framing=Framing.TCP,
        framings=_BOTH,
        fields=(
            _USAGE_FIELD,
            FormField(CONF_MODBUS_REGISTER, required=True),
            FormField(CONF_MODBUS_REGISTER_TYPE, default="holding", choices=_TABLES),
            FormField(CONF_MODBUS_DATA_TYPE, default="int16", choices=_TYPES),
            FormField(CONF_MODBUS_WORD_ORDER, default="big", choices=_ORDERS),
            FormField(CONF_MODBUS_SCALE, default=1.0),
            FormField(CONF_MODBUS_INVERT, default=False),
            FormField(CONF_MODBUS_ENERGY_REGISTER),
            FormField(CONF_MODBUS_ENERGY_REGISTER_TYPE, default="holding", choices=_TABLES),
            FormField(CONF_MODBUS_ENERGY_DATA_TYPE, default="uint32", choices=_TYPES),
            FormField(CONF_MODBUS_ENERGY_WORD_ORDER, default="big", choices=_ORDERS),
            FormField(CONF_MODBUS_ENERGY_SCALE, default=0.001),
        ),
        usages=tuple(Usage),
    ),
}

CHARGER_KINDS: Final[Mapping[str, ModbusKind[ModbusCharger]]] = {
    "phoenix_ev_eth": ModbusKind(
        key="phoenix_ev_eth",
        title="Phoenix Contact EV-CC/EV-ETH",
        build=build_phoenix_charger,
        default_port=502,
        default_unit_id=255,
        default_framing=Framing.TCP,
        framings=(Framing.TCP,),
        fields=(_MAX_CURRENT_FIELD, FormField(CONF_MODBUS_MILLI_CURRENT, default=False)),
    ),
    "wallbe": ModbusKind(
        key="wallbe",
        title="Wallbe",
        build=build_wallbe_charger,
        default_port=502,
        default_unit_id=255,
        default_framing=Framing.TCP,
        framings=(Framing.TCP,),
        fields=(_MAX_CURRENT_FIELD, FormField(CONF_MODBUS_MILLI_CURRENT, default=False)),
    ),
    "alfen": ModbusKind(
        key="alfen",
        title="Alfen Eve",
        build=build_alfen_charger,
        default_port=502,
        default_unit_id=1,  # socket 2 of a double charger: 2
        default_framing=Framing.TCP,
        framings=(Framing.TCP,),
        fields=(_MAX_CURRENT_FIELD,),
    ),
    "heidelberg": ModbusKind(
        key="heidelberg",
        title="Heidelberg Energy Control",
        build=build_heidelberg_charger,
        default_port=502,
        default_unit_id=1,
        default_framing=Framing.RTU_OVER_TCP,
        framings=_BOTH,
        fields=(_MAX_CURRENT_FIELD,),
    ),
}


def kind_of(key: str) -> ModbusKind[Any]:
    """The meter or charger kind called `key` (`ModbusConfigError` when there is none)."""
    kind: ModbusKind[Any] | None = METER_KINDS.get(key) or CHARGER_KINDS.get(key)
    if kind is None:
        known = ", ".join([*METER_KINDS, *CHARGER_KINDS])
        raise ModbusConfigError(f"unknown Modbus device kind {key!r} (known: {known})")
    return kind

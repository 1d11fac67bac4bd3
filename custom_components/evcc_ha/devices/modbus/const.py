"""Configuration keys, usages and defaults of the Modbus devices (plain strings for the config flow)."""

from __future__ import annotations

from enum import StrEnum
from typing import Final

__all__ = [
    "CONF_MODBUS_DATA_TYPE",
    "CONF_MODBUS_ENERGY_DATA_TYPE",
    "CONF_MODBUS_ENERGY_REGISTER",
    "CONF_MODBUS_ENERGY_REGISTER_TYPE",
    "CONF_MODBUS_ENERGY_SCALE",
    "CONF_MODBUS_ENERGY_WORD_ORDER",
    "CONF_MODBUS_FRAMING",
    "CONF_MODBUS_HOST",
    "CONF_MODBUS_INVERT",
    "CONF_MODBUS_KIND",
    "CONF_MODBUS_MAX_CURRENT",
    "CONF_MODBUS_MILLI_CURRENT",
    "CONF_MODBUS_PORT",
    "CONF_MODBUS_REGISTER",
    "CONF_MODBUS_REGISTER_TYPE",
    "CONF_MODBUS_SCALE",
    "CONF_MODBUS_UNIT_ID",
    "CONF_MODBUS_USAGE",
    "CONF_MODBUS_WORD_ORDER",
    "MIN_CURRENT_A",
    "Usage",
]

# Connection (every kind)
CONF_MODBUS_KIND: Final = "modbus_kind"  # a key of METER_KINDS / CHARGER_KINDS
CONF_MODBUS_HOST: Final = "modbus_host"
CONF_MODBUS_PORT: Final = "modbus_port"
CONF_MODBUS_UNIT_ID: Final = "modbus_unit_id"
CONF_MODBUS_FRAMING: Final = "modbus_framing"  # "tcp" | "rtuovertcp" (`client.Framing`)

# Meters
CONF_MODBUS_USAGE: Final = "modbus_usage"  # `Usage`

# Generic register meter: the power register …
CONF_MODBUS_REGISTER: Final = "modbus_register"  # address (0-based, as sent on the wire)
CONF_MODBUS_REGISTER_TYPE: Final = "modbus_register_type"  # "holding" | "input"
CONF_MODBUS_DATA_TYPE: Final = "modbus_data_type"  # "int16" … "float32" (`codec.DataType`)
CONF_MODBUS_WORD_ORDER: Final = "modbus_word_order"  # "big" | "little"
CONF_MODBUS_SCALE: Final = "modbus_scale"  # raw × scale = W
CONF_MODBUS_INVERT: Final = "modbus_invert"  # flip the sign of the power
# … and the optional energy register (raw × scale = kWh)
CONF_MODBUS_ENERGY_REGISTER: Final = "modbus_energy_register"
CONF_MODBUS_ENERGY_REGISTER_TYPE: Final = "modbus_energy_register_type"
CONF_MODBUS_ENERGY_DATA_TYPE: Final = "modbus_energy_data_type"
CONF_MODBUS_ENERGY_WORD_ORDER: Final = "modbus_energy_word_order"
CONF_MODBUS_ENERGY_SCALE: Final = "modbus_energy_scale"

# Chargers
CONF_MODBUS_MAX_CURRENT: Final = "modbus_max_current"  # A, the hardware maximum (required)
CONF_MODBUS_MILLI_CURRENT: Final = "modbus_milli_current"  # Phoenix/Wallbe: force 0.1 A steps

MIN_CURRENT_A: Final = 6.0
"""The lowest current IEC 61851 allows while charging; never written while enabled."""


class Usage(StrEnum):
    """What a meter measures; decides the sign and the energy register (evcc's ``usage``)."""

    GRID = "grid"  # + import, energy = import total
    PV = "pv"  # + production, energy = production total
    BATTERY = "battery"  # + discharge
    CHARGE = "charge"  # + consumption of a loadpoint, energy = import total
    AUX = "aux"  # + consumption of another consumer (like charge)

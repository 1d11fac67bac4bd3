"""Register codecs and plausibility checks shared by every Modbus device.

Decoding uses pymodbus' own ``convert_from_registers`` / ``convert_to_registers``. Word order is
applied here (the registers are reversed for "little") because pymodbus 3.8 has no
``word_order`` argument; within a register the byte order is always big-endian (Modbus).

Every check raises `RegisterMapError` (a `DeviceError`): a reading outside physics is not used.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from enum import StrEnum
from typing import Final

from pymodbus.client.mixin import ModbusClientMixin

from .errors import RegisterMapError

__all__ = [
    "MAX_CURRENT_A",
    "MAX_ENERGY_KWH",
    "MAX_POWER_W",
    "DataType",
    "WordOrder",
    "check_current",
    "check_energy",
    "check_power",
    "check_soc",
    "decode",
    "decode_ascii",
    "decode_many",
    "encode",
    "register_count",
]

# Plausibility limits of one household device (the controller has looser ones on top).
MAX_POWER_W: Final = 1_000_000.0
MAX_CURRENT_A: Final = 1_000.0
MAX_VOLTAGE_V: Final = 1_000.0
MAX_ENERGY_KWH: Final = 1e9


class DataType(StrEnum):
    """How a value is stored in one or more 16-bit registers."""

    INT16 = "int16"
    UINT16 = "uint16"
    INT32 = "int32"
    UINT32 = "uint32"
    INT64 = "int64"
    UINT64 = "uint64"
    FLOAT32 = "float32"
    FLOAT64 = "float64"


class WordOrder(StrEnum):
    """Order of the registers of a multi-register value: most significant first or last."""

    BIG = "big"
    LITTLE = "little"


_TYPES: Final = ModbusClientMixin.DATATYPE
_PYMODBUS_TYPE: Final = {
    DataType.INT16: _TYPES.INT16,
    DataType.UINT16: _TYPES.UINT16,
    DataType.INT32: _TYPES.INT32,
    DataType.UINT32: _TYPES.UINT32,
    DataType.INT64: _TYPES.INT64,
    DataType.UINT64: _TYPES.UINT64,
    DataType.FLOAT32: _TYPES.FLOAT32,
    DataType.FLOAT64: _TYPES.FLOAT64,
}
_REGISTERS: Final = {
    DataType.INT16: 1,
    DataType.UINT16: 1,
    DataType.INT32: 2,
    DataType.UINT32: 2,
    DataType.INT64: 4,
    DataType.UINT64: 4,
    DataType.FLOAT32: 2,
    DataType.FLOAT64: 4,
}


def register_count(data_type: DataType) -> int:
    """How many registers one value of `data_type` takes."""
    return _REGISTERS[data_type]


def decode(
    registers: Sequence[int], data_type: DataType, word_order: WordOrder = WordOrder.BIG
) -> float:
    """One value from exactly `register_count(data_type)` registers (ints stay exact)."""
    count = _REGISTERS[data_type]
    if len(registers) != count:
        raise RegisterMapError(
            f"{data_type} needs {count} register(s), got {len(registers)}: {list(registers)}"
        )
    words = list(registers) if word_order is WordOrder.BIG else list(reversed(registers))
    value = ModbusClientMixin.convert_from_registers(words, _PYMODBUS_TYPE[data_type])
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise RegisterMapError(f"{data_type} did not decode to a number: {value!r}")
    return value


def decode_many(
    registers: Sequence[int],
    data_type: DataType,
    count: int,
    word_order: WordOrder = WordOrder.BIG,
) -> list[float]:
    """`count` consecutive values of `data_type`."""
    size = _REGISTERS[data_type]
    if len(registers) != size * count:
        raise RegisterMapError(
            f"{count} × {data_type} need {size * count} registers, got {len(registers)}"
        )
    return [
        decode(registers[i * size : (i + 1) * size], data_type, word_order) for i in range(count)
    ]


def encode(value: float, data_type: DataType, word_order: WordOrder = WordOrder.BIG) -> list[int]:
    """The registers that hold `value` as `data_type` (ints must fit the type)."""
    if data_type in (DataType.FLOAT32, DataType.FLOAT64):
        words = ModbusClientMixin.convert_to_registers(float(value), _PYMODBUS_TYPE[data_type])
    else:
        if value != int(value):
            raise ValueError(f"{value!r} is not an integer for {data_type}")
        words = ModbusClientMixin.convert_to_registers(int(value), _PYMODBUS_TYPE[data_type])
    return list(words) if word_order is WordOrder.BIG else list(reversed(words))


def decode_ascii(registers: Sequence[int]) -> str:
    """Text stored two characters per register, high byte first; NULs and blanks trimmed."""
    raw = b"".join(int(r).to_bytes(2, "big") for r in registers)
    return raw.decode("latin-1").strip("\x00 ")


# --- plausibility --------------------------------------------------------------------------------


def _finite(value: float, what: str) -> float:
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
        raise RegisterMapError(f"{what} is not a finite number: {value!r}")
    return float(value)


def check_power(value: float, what: str = "power") -> float:
    """A power in W within ±`MAX_POWER_W` (never negative zero)."""
    power = _finite(value, what)
    if abs(power) > MAX_POWER_W:
        raise RegisterMapError(f"{what} {power:g} W is beyond any household device")
    return power + 0.0


def check_current(value: float, what: str = "current") -> float:
    """A current in A within ±`MAX_CURRENT_A`."""
    current = _finite(value, what)
    if abs(current) > MAX_CURRENT_A:
        raise RegisterMapError(f"{what} {current:g} A is beyond any household device")
    return current + 0.0


def check_voltage(value: float, what: str = "voltage") -> float:
    """A phase voltage in V: 0 (no phase) up to `MAX_VOLTAGE_V`."""
    voltage = _finite(value, what)
    if not 0.0 <= voltage <= MAX_VOLTAGE_V:
        raise RegisterMapError(f"{what} {voltage:g} V is not a phase voltage")
    return voltage + 0.0


def check_energy(value: float, what: str = "energy") -> float:
    """A meter total in kWh: not negative, below `MAX_ENERGY_KWH`."""
    energy = _finite(value, what)
    if not 0.0 <= energy <= MAX_ENERGY_KWH:
        raise RegisterMapError(f"{what} {energy:g} kWh is not a meter total")
    return energy + 0.0


def check_soc(value: float, what: str = "soc") -> float:
    """A state of charge in % (0 … 100)."""
    soc = _finite(value, what)
    if not 0.0 <= soc <= 100.0:
        raise RegisterMapError(f"{what} {soc:g} % is not a state of charge")
    return soc + 0.0

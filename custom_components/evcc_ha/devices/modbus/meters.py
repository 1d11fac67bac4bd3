"""Register meters: the Eastron SDM630 and a generic one-register meter.

**Eastron SDM630** (also SDM72D-M v2 and the meters evcc's ``eastron`` template covers): input
registers (FC4), each value a big-endian IEEE-754 float32 in two registers (volkszaehler/mbmd
``sdm`` producer; evcc templates/definition/meter/eastron-sdm72v2_630.yaml):

====================  =======  ====
value                 address  unit
====================  =======  ====
voltage L1/L2/L3      0/2/4    V
current L1/L2/L3      6/8/10   A (magnitude)
power L1/L2/L3        12/14/16 W (+ import)
total power           52       W (+ import)
import / export       72 / 74  kWh
====================  =======  ====

Three requests a read (0–17, 52–53, 72–75; nothing in between, which an SDM72 does not map).
Usage as evcc's template: grid, charge and aux take the power as it is and the import total;
pv negates power, phase powers and currents and takes the export total. A battery is measured
like PV (+ = energy leaving the battery towards the house = discharge). The SDM's currents have
no sign; they get the sign of their phase's power (`MeterReading.currents` is "signed like the
phase power").

**Generic register meter**: one power register (holding or input; int16/uint16/int32/uint32/
float32; big or little word order; × scale = W; optional sign inversion) and an optional energy
register with its own table, type, word order and scale (× scale = kWh). The usage does not
change its sign: ``invert`` does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ...core.devices import Device
from ...core.model import MeterReading, Triple
from .client import ModbusUnit, RegisterTable
from .codec import (
    DataType,
    WordOrder,
    check_current,
    check_energy,
    check_power,
    check_voltage,
    decode,
    decode_many,
    register_count,
)
from .const import Usage
from .errors import ModbusConfigError, RegisterMapError

__all__ = ["GENERIC_DATA_TYPES", "RegisterMeter", "RegisterSpec", "Sdm630Meter"]

# Data types a generic meter may read (64-bit values are not offered for a single register).
GENERIC_DATA_TYPES = (
    DataType.INT16,
    DataType.UINT16,
    DataType.INT32,
    DataType.UINT32,
    DataType.FLOAT32,
)

SDM_PHASES = 0x0000  # 9 floats: voltages, currents, powers
SDM_POWER = 0x0034
SDM_ENERGY = 0x0048  # import, export


def _negated_usage(usage: Usage) -> bool:
    """Usages that see the meter's import as negative (energy into an inverter or battery)."""
    return usage in (Usage.PV, Usage.BATTERY)


class Sdm630Meter(Device):
    """An Eastron SDM630 (Modbus RTU through a gateway, or Modbus TCP)."""

    def __init__(self, unit: ModbusUnit, *, name: str, usage: Usage) -> None:
        self.unit = unit
        self.name = name
        self.usage = Usage(usage)

    async def async_close(self) -> None:
        self.unit.release()

    def diagnostics(self) -> dict[str, object]:
        return {**self.unit.diagnostics(), "usage": str(self.usage)}

    async def async_probe(self) -> dict[str, object]:
        """One reading plus the phase voltages (nothing is written)."""
        reading = await self.async_read()
        voltages = list(reading.voltages or ())
        return {"power": reading.power, "energy": reading.energy, "voltages": voltages}

    async def async_read(self) -> MeterReading:
        phases = decode_many(await self.unit.read_input(SDM_PHASES, 18), DataType.FLOAT32, 9)
        total = decode(await self.unit.read_input(SDM_POWER, 2), DataType.FLOAT32)
        energy_import, energy_export = decode_many(
            await self.unit.read_input(SDM_ENERGY, 4), DataType.FLOAT32, 2
        )
        sign = -1.0 if _negated_usage(self.usage) else 1.0
        powers = [check_power(sign * p, f"power L{i + 1}") for i, p in enumerate(phases[6:9])]
        currents = [
            check_current(math.copysign(abs(i), p) if p else abs(i), f"current L{n + 1}")
            for n, (i, p) in enumerate(zip(phases[3:6], powers, strict=True))
        ]
        energy = energy_export if _negated_usage(self.usage) else energy_import
        return MeterReading(
            power=check_power(sign * total),
            energy=check_energy(energy),
            currents=_triple(currents),
            powers=_triple(powers),
            voltages=_triple(
                [check_voltage(v, f"voltage L{n + 1}") for n, v in enumerate(phases[0:3])]
            ),
        )


def _triple(values: list[float]) -> Triple:
    a, b, c = values
    return (a, b, c)


@dataclass(frozen=True, slots=True)
class RegisterSpec:
    """Where and how one value is stored: table, address, type, word order, scale."""

    address: int
    table: RegisterTable = RegisterTable.HOLDING
    data_type: DataType = DataType.INT16
    word_order: WordOrder = WordOrder.BIG
    scale: float = 1.0

    def __post_init__(self) -> None:
        if not 0 <= self.address <= 0xFFFF:
            raise ModbusConfigError(f"register address {self.address} is not 0 … 65535")
        if self.table not in (RegisterTable.HOLDING, RegisterTable.INPUT):
            raise ModbusConfigError(f"register type {self.table!r} is not holding or input")
        if self.data_type not in GENERIC_DATA_TYPES:
            raise ModbusConfigError(f"data type {self.data_type!r} is not supported here")
        if not math.isfinite(self.scale) or self.scale == 0:
            raise ModbusConfigError(f"scale {self.scale!r} must be a finite non-zero number")

    async def read(self, unit: ModbusUnit) -> float:
        """The scaled value."""
        count = register_count(self.data_type)
        if self.table is RegisterTable.INPUT:
            registers = await unit.read_input(self.address, count)
        else:
            registers = await unit.read_holding(self.address, count)
        value = decode(registers, self.data_type, self.word_order)
        if math.isnan(value) or math.isinf(value):
            raise RegisterMapError(f"register {self.address} holds {value!r}")
        return value * self.scale


class RegisterMeter(Device):
    """A meter of one power register (and optionally one energy register)."""

    def __init__(
        self,
        unit: ModbusUnit,
        *,
        name: str,
        usage: Usage,
        power: RegisterSpec,
        energy: RegisterSpec | None = None,
        invert: bool = False,
    ) -> None:
        self.unit = unit
        self.name = name
        self.usage = Usage(usage)
        self.power = power
        self.energy = energy
        self.invert = invert

    async def async_close(self) -> None:
        self.unit.release()

    def diagnostics(self) -> dict[str, object]:
        return {**self.unit.diagnostics(), "usage": str(self.usage), "invert": self.invert}

    async def async_read(self) -> MeterReading:
        power = await self.power.read(self.unit)
        energy = None if self.energy is None else check_energy(await self.energy.read(self.unit))
        return MeterReading(power=check_power(-power if self.invert else power), energy=energy)

    async def async_probe(self) -> dict[str, object]:
        """One reading (nothing is written)."""
        reading = await self.async_read()
        return {"power": reading.power, "energy": reading.energy}

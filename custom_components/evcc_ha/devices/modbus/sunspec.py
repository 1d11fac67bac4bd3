"""SunSpec over Modbus TCP: the model chain, the model layouts this integration reads, the meter.

**Chain.** A SunSpec device holds the marker "SunS" (0x5375 0x6E53) at a base address (40000,
else 50000, else 0; holding registers), then blocks ``ID, L, L registers…`` up to ID 0xFFFF.
`async_discover` walks it once (`SunSpecMeter.async_setup`, or the first read when the device
was not reachable then). Every later read fetches the model's header with its data and checks
that ID and length are unchanged; when they are not (a firmware update, a restart with other
models), or the block's address answers "illegal address", the chain is walked again on the
next read.

**Models** (offsets after the header; andig/gosunspec models, SunSpec Information Model):

* inverter 101/102/103 (int + scale factor): A 0, AphA–C 1–3, A_SF 4, W 12, W_SF 13,
  WH 22 (acc32), WH_SF 24; inverter 111/112/113 (float32): A 0, AphA–C 2/4/6, W 20, WH 30.
* meter 201–204 (int + SF): A 0, AphA–C 1–3, A_SF 4, W 16, WphA–C 17–19, W_SF 20,
  TotWhExp 36 (acc32), TotWhImp 44 (acc32), TotWh_SF 52; meter 211–214 (float32): AphA–C 2/4/6,
  W 26, WphA–C 28/30/32, TotWhExp 58, TotWhImp 66.
* storage 124: ChaState 6 (uint16), ChaState_SF 20; battery 802: WHRtg 1, SoC 9,
  WHRtg_SF 51, SoC_SF 54.

Value = raw × 10^SF. "Not implemented" values (int16 0x8000, uint16 0xFFFF, acc32 0 or
0xFFFFFFFF, float NaN, SF 0x8000) read as missing: a missing power is an error, a missing total
or phase value is ``None`` (single-phase models report phases B and C as 0).

**Usage** (as evcc's sunspec-inverter / sunspec-meter templates): grid, charge and aux read the
first meter model (power + = import, energy = TotWhImp); pv reads the first inverter model (W,
WH), or, without one, a meter model (W as it is, energy = TotWhExp, like evcc); battery reads
the inverter's W (+ = discharge) and the SoC from model 124, else 802 (capacity from 802 WHRtg).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Final

from ...core.devices import Device
from ...core.model import MeterReading, Triple
from .client import ModbusUnit
from .codec import (
    DataType,
    check_current,
    check_energy,
    check_power,
    check_soc,
    decode,
    decode_ascii,
)
from .const import Usage
from .errors import (
    ModbusError,
    ModbusExceptionResponseError,
    NotSunSpecError,
    RegisterMapError,
)

__all__ = [
    "BASE_ADDRESSES",
    "INVERTER_MODELS",
    "METER_MODELS",
    "ModelBlock",
    "SunSpecChain",
    "SunSpecMeter",
    "async_discover",
]

_LOGGER = logging.getLogger(__name__)

MARKER: Final = (0x5375, 0x6E53)  # "SunS"
BASE_ADDRESSES: Final = (40000, 50000, 0)
END_OF_CHAIN: Final = 0xFFFF
MAX_MODELS: Final = 100  # a chain longer than this is garbage

# Search order of evcc's templates (single, split, three phase; int before float each), plus
# the delta meters 204/214 that evcc's templates leave out.
INVERTER_MODELS: Final = (101, 111, 102, 112, 103, 113)
METER_MODELS: Final = (201, 211, 202, 212, 203, 213, 204, 214)
STORAGE_MODEL: Final = 124
BATTERY_MODEL: Final = 802
COMMON_MODEL: Final = 1
_SINGLE_PHASE: Final = frozenset({101, 111, 201, 211})


@dataclass(frozen=True, slots=True)
class ModelBlock:
    """One model of the chain: its id, the address of its ID register, its length L."""

    model_id: int
    address: int
    length: int


@dataclass(frozen=True, slots=True)
class SunSpecChain:
    """The models a device offers, in chain order."""

    base: int
    models: tuple[ModelBlock, ...]

    @property
    def model_ids(self) -> list[int]:
        return [m.model_id for m in self.models]

    def first(self, model_ids: Sequence[int]) -> ModelBlock | None:
        """The first model of the chain whose id is earliest in `model_ids`."""
        for model_id in model_ids:
            for model in self.models:
                if model.model_id == model_id:
                    return model
        return None


async def async_discover(unit: ModbusUnit) -> SunSpecChain:
    """Find the "SunS" marker and walk the model chain (`NotSunSpecError` without a marker).

    A read error after at least one model ends the walk: the models found so far are used
    (some devices end their chain without the 0xFFFF block).
    """
    base: int | None = None
    for candidate in BASE_ADDRESSES:
        try:
            marker = await unit.read_holding(candidate, 2)
        except ModbusExceptionResponseError as err:
            if err.from_gateway:
                raise
            continue  # nothing mapped there: try the next base
        if tuple(marker) == MARKER:
            base = candidate
            break
    if base is None:
        raise NotSunSpecError(
            f"no SunSpec marker 'SunS' at {', '.join(map(str, BASE_ADDRESSES))} "
            f"(unit {unit.unit_id})"
        )
    models: list[ModelBlock] = []
    address = base + 2
    while len(models) < MAX_MODELS and address + 1 <= 0xFFFF:
        try:
            model_id, length = await unit.read_holding(address, 2)
        except ModbusExceptionResponseError:
            if models:
                break
            raise
        if model_id == END_OF_CHAIN:
            break
        models.append(ModelBlock(model_id, address, length))
        address += 2 + length
    if not models:
        raise RegisterMapError(f"the SunSpec chain at {base} holds no model")
    return SunSpecChain(base, tuple(models))


# --- points --------------------------------------------------------------------------------------


class PointType(Enum):
    INT16 = "int16"
    UINT16 = "uint16"
    ACC32 = "acc32"
    FLOAT32 = "float32"


@dataclass(frozen=True, slots=True)
class Point:
    """A value at `offset` after the model header; `sf` is the offset of its scale factor."""

    offset: int
    type: PointType
    sf: int | None = None

    @property
    def end(self) -> int:
        size = 2 if self.type in (PointType.ACC32, PointType.FLOAT32) else 1
        return max(self.offset + size, (self.sf or 0) + 1)


def _raw(data: Sequence[int], point: Point) -> float | None:
    """The unscaled value, None when "not implemented"."""
    at = point.offset
    match point.type:
        case PointType.INT16:
            value = decode(data[at : at + 1], DataType.INT16)
            return None if value == -0x8000 else value
        case PointType.UINT16:
            value = decode(data[at : at + 1], DataType.UINT16)
            return None if value == 0xFFFF else value
        case PointType.ACC32:
            value = decode(data[at : at + 2], DataType.UINT32)
            return None if value in (0, 0xFFFFFFFF) else value
        case PointType.FLOAT32:
            value = decode(data[at : at + 2], DataType.FLOAT32)
            if math.isnan(value):
                return None
            if math.isinf(value):
                raise RegisterMapError(f"SunSpec value at offset {at} is infinite")
            return value


def _scale_factor(data: Sequence[int], offset: int) -> int | None:
    value = int(decode(data[offset : offset + 1], DataType.INT16))
    if value == -0x8000:
        return None
    if not -10 <= value <= 10:
        raise RegisterMapError(f"SunSpec scale factor {value} at offset {offset} is out of range")
    return value


def point_value(data: Sequence[int], point: Point) -> float | None:
    """The scaled value of `point` in the model data (after the header); None = not implemented."""
    raw = _raw(data, point)
    if raw is None or point.sf is None:
        return raw
    sf = _scale_factor(data, point.sf)
    if sf is None:
        return None
    return raw * 10.0**sf


@dataclass(frozen=True, slots=True)
class Layout:
    """Where one family of models keeps the values read here."""

    power: Point
    currents: tuple[Point, Point, Point]
    energy: Point | None = None  # inverter: production total
    energy_import: Point | None = None  # meter
    energy_export: Point | None = None  # meter
    powers: tuple[Point, Point, Point] | None = None

    @property
    def span(self) -> int:
        points = [self.power, *self.currents, *(self.powers or ())]
        points += [p for p in (self.energy, self.energy_import, self.energy_export) if p]
        return max(p.end for p in points)


_INT, _U16, _ACC, _F32 = PointType.INT16, PointType.UINT16, PointType.ACC32, PointType.FLOAT32
INVERTER_INT: Final = Layout(
    power=Point(12, _INT, 13),
    currents=(Point(1, _U16, 4), Point(2, _U16, 4), Point(3, _U16, 4)),
    energy=Point(22, _ACC, 24),
)
INVERTER_FLOAT: Final = Layout(
    power=Point(20, _F32),
    currents=(Point(2, _F32), Point(4, _F32), Point(6, _F32)),
    energy=Point(30, _F32),
)
METER_INT: Final = Layout(
    power=Point(16, _INT, 20),
    currents=(Point(1, _INT, 4), Point(2, _INT, 4), Point(3, _INT, 4)),
    powers=(Point(17, _INT, 20), Point(18, _INT, 20), Point(19, _INT, 20)),
    energy_export=Point(36, _ACC, 52),
    energy_import=Point(44, _ACC, 52),
)
METER_FLOAT: Final = Layout(
    power=Point(26, _F32),
    currents=(Point(2, _F32), Point(4, _F32), Point(6, _F32)),
    powers=(Point(28, _F32), Point(30, _F32), Point(32, _F32)),
    energy_export=Point(58, _F32),
    energy_import=Point(66, _F32),
)
STORAGE_SOC: Final = Point(6, _U16, 20)  # model 124 ChaState
BATTERY_SOC: Final = Point(9, _U16, 54)  # model 802 SoC
BATTERY_CAPACITY: Final = Point(1, _U16, 51)  # model 802 WHRtg (Wh)


def layout_of(model_id: int) -> Layout:
    if model_id in (101, 102, 103):
        return INVERTER_INT
    if model_id in (111, 112, 113):
        return INVERTER_FLOAT
    if model_id in (201, 202, 203, 204):
        return METER_INT
    if model_id in (211, 212, 213, 214):
        return METER_FLOAT
    raise KeyError(model_id)


# --- the meter -----------------------------------------------------------------------------------


class SunSpecMeter(Device):
    """A SunSpec inverter, meter or battery as a grid, PV, battery or charge meter."""

    def __init__(self, unit: ModbusUnit, *, name: str, usage: Usage) -> None:
        self.unit = unit
        self.name = name
        self.usage = Usage(usage)
        self.chain: SunSpecChain | None = None

    async def async_setup(self) -> None:
        """Walk the model chain; a device that does not answer now is walked on the first read."""
        try:
            await self._chain()
        except ModbusError as err:
            _LOGGER.debug("%s: SunSpec discovery deferred: %s", self.name, err)

    async def async_close(self) -> None:
        self.unit.release()

    def diagnostics(self) -> dict[str, object]:
        return {
            **self.unit.diagnostics(),
            "usage": str(self.usage),
            "sunspec_base": None if self.chain is None else self.chain.base,
            "sunspec_models": None if self.chain is None else self.chain.model_ids,
        }

    async def async_read(self) -> MeterReading:
        chain = await self._chain()
        if self.usage in (Usage.GRID, Usage.CHARGE, Usage.AUX):
            return await self._read_meter(
                self._required(chain, METER_MODELS, "meter"), export=False
            )
        if self.usage is Usage.PV:
            if (inverter := chain.first(INVERTER_MODELS)) is not None:
                return await self._read_inverter(inverter)
            return await self._read_meter(self._required(chain, METER_MODELS, "meter"), export=True)
        return await self._read_battery(chain)

    async def async_probe(self) -> dict[str, object]:
        """Walk the chain, read the common model and one reading (nothing is written)."""
        chain = await self._chain()
        found: dict[str, object] = {"sunspec_base": chain.base, "sunspec_models": chain.model_ids}
        if (common := chain.first((COMMON_MODEL,))) is not None and common.length >= 48:
            data = await self._block(common, 48)
            found["manufacturer"] = decode_ascii(data[0:16])
            found["device_model"] = decode_ascii(data[16:32])
            found["version"] = decode_ascii(data[40:48])
        reading = await self.async_read()
        found["power"] = reading.power
        if reading.soc is not None:
            found["soc"] = reading.soc
        return found

    # --- reading ---------------------------------------------------------------------------------

    async def _chain(self) -> SunSpecChain:
        if self.chain is None:
            self.chain = await async_discover(self.unit)
            _LOGGER.debug("%s: SunSpec models %s", self.name, self.chain.model_ids)
        return self.chain

    def _required(self, chain: SunSpecChain, ids: Sequence[int], what: str) -> ModelBlock:
        block = chain.first(ids)
        if block is None:
            raise RegisterMapError(
                f"{self.name}: no SunSpec {what} model ({', '.join(map(str, ids))}) "
                f"in {chain.model_ids}"
            )
        return block

    async def _block(self, block: ModelBlock, span: int) -> list[int]:
        """The first `span` registers of the model after its header, checked against the chain."""
        if block.length < span:
            raise RegisterMapError(
                f"SunSpec model {block.model_id} is {block.length} registers long, "
                f"{span} are needed"
            )
        try:
            registers = await self.unit.read_holding(block.address, 2 + span)
        except ModbusExceptionResponseError as err:
            if not err.from_gateway:
                self.chain = None  # the map moved: walk it again next time
            raise
        if registers[0] != block.model_id or registers[1] != block.length:
            self.chain = None
            raise RegisterMapError(
                f"SunSpec model {block.model_id} is no longer at {block.address} "
                f"(found id {registers[0]}, length {registers[1]}); the chain is walked again"
            )
        return registers[2:]

    async def _read_inverter(self, block: ModelBlock) -> MeterReading:
        layout = layout_of(block.model_id)
        data = await self._block(block, layout.span)
        energy = None if layout.energy is None else point_value(data, layout.energy)
        return MeterReading(
            power=self._power(data, layout, block.model_id),
            energy=None if energy is None else check_energy(energy / 1000.0),
            currents=self._triple(data, layout.currents, block.model_id, check_current),
        )

    async def _read_meter(self, block: ModelBlock, *, export: bool) -> MeterReading:
        layout = layout_of(block.model_id)
        data = await self._block(block, layout.span)
        energy_point = layout.energy_export if export else layout.energy_import
        energy = None if energy_point is None else point_value(data, energy_point)
        power = self._power(data, layout, block.model_id)
        if export:  # evcc's sunspec-meter "pv": power as it is, production = export total
            return MeterReading(
                power=power, energy=None if energy is None else check_energy(energy / 1000.0)
            )
        powers = layout.powers
        return MeterReading(
            power=power,
            energy=None if energy is None else check_energy(energy / 1000.0),
            currents=self._triple(data, layout.currents, block.model_id, check_current),
            powers=None
            if powers is None
            else self._triple(data, powers, block.model_id, check_power),
        )

    async def _read_battery(self, chain: SunSpecChain) -> MeterReading:
        inverter = self._required(chain, INVERTER_MODELS, "inverter")
        layout = layout_of(inverter.model_id)
        power = self._power(await self._block(inverter, layout.span), layout, inverter.model_id)
        soc: float | None = None
        capacity: float | None = None
        if (storage := chain.first((STORAGE_MODEL,))) is not None:
            value = point_value(await self._block(storage, STORAGE_SOC.end), STORAGE_SOC)
            soc = None if value is None else check_soc(value, "ChaState")
        if (battery := chain.first((BATTERY_MODEL,))) is not None:
            data = await self._block(battery, BATTERY_SOC.end)
            if soc is None and (value := point_value(data, BATTERY_SOC)) is not None:
                soc = check_soc(value, "SoC")
            if (wh := point_value(data, BATTERY_CAPACITY)) is not None:
                capacity = check_energy(wh / 1000.0, "capacity")
        return MeterReading(power=power, soc=soc, capacity=capacity)

    def _power(self, data: Sequence[int], layout: Layout, model_id: int) -> float:
        value = point_value(data, layout.power)
        if value is None:
            raise RegisterMapError(f"{self.name}: SunSpec model {model_id} reports no power (W)")
        return check_power(value)

    @staticmethod
    def _triple(
        data: Sequence[int],
        points: tuple[Point, Point, Point],
        model_id: int,
        check: Callable[[float, str], float],
    ) -> Triple | None:
        values = [point_value(data, p) for p in points]
        if model_id in _SINGLE_PHASE:  # phases B and C are "not implemented" there
            values = [values[0], values[1] or 0.0, values[2] or 0.0]
        a, b, c = values
        if a is None or b is None or c is None:
            return None
        return (check(a, "phase A"), check(b, "phase B"), check(c, "phase C"))

"""Register maps of the devices under test, built with `struct` (not with the package's codec).

Sources: evcc's drivers (charger/phoenix-ev-eth.go, charger/alfen.go, charger/heidelberg-ec.go),
its Eastron template and the SunSpec models of andig/gosunspec.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

from .conftest import FakeUnit

# --- encoders ------------------------------------------------------------------------------------


def words(fmt: str, value: float | int) -> list[int]:
    """Big-endian registers of `value` packed with the struct format `fmt` (e.g. ">f")."""
    raw = struct.pack(fmt, value)
    return [int.from_bytes(raw[i : i + 2], "big") for i in range(0, len(raw), 2)]


def f32(value: float) -> list[int]:
    return words(">f", value)


def f64(value: float) -> list[int]:
    return words(">d", value)


def i16(value: int) -> list[int]:
    return words(">h", value)


def u32(value: int) -> list[int]:
    return words(">I", value)


def lsw_first(registers: list[int]) -> list[int]:
    """The same value with its low word first."""
    return list(reversed(registers))


def ascii_registers(text: str, count: int) -> list[int]:
    raw = text.encode("latin-1").ljust(2 * count, b"\x00")
    return [int.from_bytes(raw[i : i + 2], "big") for i in range(0, 2 * count, 2)]


def at(address: int, registers: Sequence[int]) -> dict[int, int]:
    return {address + i: v for i, v in enumerate(registers)}


# --- Eastron SDM630 (input registers, float32) ---------------------------------------------------


def sdm630(
    unit_id: int = 1,
    *,
    voltages: tuple[float, float, float] = (230.1, 231.2, 229.3),
    currents: tuple[float, float, float] = (5.5, 4.25, 0.5),
    powers: tuple[float, float, float] = (1200.0, -900.0, 100.0),
    power: float = 400.0,
    energy_import: float = 12345.5,
    energy_export: float = 6789.25,
) -> FakeUnit:
    registers: list[int] = []
    for value in (*voltages, *currents, *powers):
        registers += f32(value)
    unit = FakeUnit(unit_id)
    unit.input.update(at(0x0000, registers))
    unit.input.update(at(0x0034, f32(power)))
    unit.input.update(at(0x0048, f32(energy_import) + f32(energy_export)))
    return unit


# --- SunSpec -------------------------------------------------------------------------------------

NOT_IMPLEMENTED_I16 = 0x8000
NAN32 = [0x7FC0, 0x0000]


def model_common(
    manufacturer: str = "Fronius", model: str = "Symo 8.2-3-M", version: str = "1.2.3"
) -> list[int]:
    data = [0] * 66
    data[0:16] = ascii_registers(manufacturer, 16)
    data[16:32] = ascii_registers(model, 16)
    data[40:48] = ascii_registers(version, 8)
    return data


def model_inverter_int(
    *, w: int, w_sf: int, wh: int, wh_sf: int, amps: tuple[int, int, int], a_sf: int
) -> list[int]:
    """Models 101–103: 50 registers."""
    data = [0] * 50
    data[1:4] = list(amps)
    data[4] = i16(a_sf)[0]
    data[12] = i16(w)[0] if w != NOT_IMPLEMENTED_I16 else NOT_IMPLEMENTED_I16
    data[13] = i16(w_sf)[0]
    data[22:24] = u32(wh)
    data[24] = i16(wh_sf)[0]
    return data


def model_inverter_float(*, w: float, wh: float, amps: tuple[float, float, float]) -> list[int]:
    """Models 111–113: 60 registers."""
    data = [0] * 60
    for i, a in enumerate(amps):
        data[2 + 2 * i : 4 + 2 * i] = f32(a)
    data[20:22] = f32(w)
    data[30:32] = f32(wh)
    return data


def model_meter_int(
    *,
    w: int,
    w_sf: int,
    wph: tuple[int, int, int],
    amps: tuple[int, int, int],
    a_sf: int,
    wh_imp: int,
    wh_exp: int,
    wh_sf: int,
) -> list[int]:
    """Models 201–204: 105 registers."""
    data = [0] * 105
    data[1:4] = [i16(a)[0] if a != NOT_IMPLEMENTED_I16 else a for a in amps]
    data[4] = i16(a_sf)[0]
    data[16] = i16(w)[0] if w != NOT_IMPLEMENTED_I16 else w
    data[17:20] = [i16(p)[0] if p != NOT_IMPLEMENTED_I16 else p for p in wph]
    data[20] = i16(w_sf)[0]
    data[36:38] = u32(wh_exp)
    data[44:46] = u32(wh_imp)
    data[52] = i16(wh_sf)[0]
    return data


def model_meter_float(
    *,
    w: float,
    wph: tuple[float, float, float],
    amps: tuple[float, float, float],
    wh_imp: float,
    wh_exp: float,
) -> list[int]:
    """Models 211–214: 124 registers."""
    data = [0] * 124
    for i, a in enumerate(amps):
        data[2 + 2 * i : 4 + 2 * i] = f32(a)
    data[26:28] = f32(w)
    for i, p in enumerate(wph):
        data[28 + 2 * i : 30 + 2 * i] = f32(p)
    data[58:60] = f32(wh_exp)
    data[66:68] = f32(wh_imp)
    return data


def model_storage(*, soc: int, soc_sf: int) -> list[int]:
    """Model 124: 24 registers."""
    data = [0] * 24
    data[6] = soc
    data[20] = i16(soc_sf)[0]
    return data


def model_battery(*, soc: int, soc_sf: int, wh_rating: int, wh_sf: int) -> list[int]:
    """Model 802: 62 registers."""
    data = [0] * 62
    data[1] = wh_rating
    data[9] = soc
    data[51] = i16(wh_sf)[0]
    data[54] = i16(soc_sf)[0]
    return data


def sunspec_chain(
    models: Sequence[tuple[int, list[int]]],
    *,
    base: int = 40000,
    end: bool = True,
    padding: int = 0,
) -> dict[int, int]:
    """Holding registers: "SunS", the models (ID, L, data) and the end block (ID 0xFFFF)."""
    registers = [0x5375, 0x6E53]
    for model_id, data in models:
        registers += [model_id, len(data), *data]
    if end:
        registers += [0xFFFF, 0]
    registers += [0] * padding
    return at(base, registers)


def sunspec_unit(
    unit_id: int, models: Sequence[tuple[int, list[int]]], **chain: int | bool
) -> FakeUnit:
    unit = FakeUnit(unit_id)
    unit.holding.update(sunspec_chain(models, **chain))  # type: ignore[arg-type]
    return unit


# --- Phoenix Contact EV-ETH / Wallbe -------------------------------------------------------------


def phoenix(
    unit_id: int = 255,
    *,
    status: str = "C",
    enabled: bool = True,
    current: int = 16,
    voltages: tuple[int, int, int] = (230, 231, 229),
    currents: tuple[int, int, int] = (15, 14, 13),
    power: int = 10350,
    energy_wh: int = 1_234_567,
    wallbe_energy_wh: int = 9_876_543_210,
) -> FakeUnit:
    unit = FakeUnit(unit_id)
    unit.input[100] = ord(status)  # low byte: the letter
    unit.input[102] = 0
    registers: list[int] = []
    for value in (*voltages, *currents, power):
        registers += lsw_first(words(">i", value))
    unit.input.update(at(108, registers))
    unit.coils[400] = enabled
    unit.holding[528] = current
    unit.holding.update(at(904, lsw_first(u32(energy_wh))))
    unit.holding.update(at(2980, lsw_first(words(">Q", wallbe_energy_wh))))
    return unit


# --- Alfen Eve -----------------------------------------------------------------------------------


def alfen(
    unit_id: int = 1,
    *,
    status: str = "C2",
    setpoint: float = 16.0,
    phases: int = 3,
    voltages: tuple[float, float, float] = (230.0, 231.0, 232.0),
    currents: tuple[float, float, float] = (15.5, 15.25, 15.0),
    power: float = 10_650.5,
    energy_wh: float = 4_321_987.5,
) -> FakeUnit:
    unit = FakeUnit(unit_id)
    unit.holding.update(at(306, f32(voltages[0]) + f32(voltages[1]) + f32(voltages[2])))
    unit.holding.update(at(320, f32(currents[0]) + f32(currents[1]) + f32(currents[2])))
    unit.holding.update(at(344, f32(power)))
    unit.holding.update(at(374, f64(energy_wh)))
    unit.holding.update(at(1201, ascii_registers(status, 5)))
    unit.holding.update(at(1210, f32(setpoint)))
    unit.holding[1215] = phases
    return unit


def alfen_setpoint(unit: FakeUnit) -> float:
    value: float = struct.unpack(">f", struct.pack(">HH", unit.holding[1210], unit.holding[1211]))[
        0
    ]
    return value


# --- Heidelberg Energy Control -------------------------------------------------------------------


def heidelberg(
    unit_id: int = 1,
    *,
    status: int = 7,
    currents: tuple[int, int, int] = (158, 157, 156),  # 0.1 A
    voltages: tuple[int, int, int] = (230, 231, 229),
    power: int = 10_900,
    energy_wh: int = 3_456_789,
    current: int = 160,  # 0.1 A
    watchdog_ms: int = 15_000,
) -> FakeUnit:
    unit = FakeUnit(unit_id)
    block = [0] * 15  # input 4 … 18
    block[0] = 0x0108  # layout version
    block[1] = status
    block[2:5] = list(currents)
    block[5] = 250  # temperature 25.0 °C
    block[6:9] = list(voltages)
    block[9] = 0
    block[10] = power
    block[11:13] = u32(1000)
    block[13:15] = u32(energy_wh)
    unit.input.update(at(4, block))
    unit.holding.update({257: watchdog_ms, 258: 0, 259: 1, 261: current, 262: 0})
    return unit

"""Register codecs and plausibility checks."""

from __future__ import annotations

import math
import struct
from collections.abc import Callable

import pytest

from custom_components.evcc_ha.devices.modbus.client import keyword_of, unit_keyword
from custom_components.evcc_ha.devices.modbus.codec import (
    DataType,
    WordOrder,
    check_current,
    check_energy,
    check_power,
    check_soc,
    decode,
    decode_ascii,
    decode_many,
    encode,
    register_count,
)
from custom_components.evcc_ha.devices.modbus.errors import RegisterMapError

from .maps import words

CASES = [
    (DataType.INT16, ">h", -1234),
    (DataType.UINT16, ">H", 54321),
    (DataType.INT32, ">i", -123_456_789),
    (DataType.UINT32, ">I", 3_000_000_000),
    (DataType.INT64, ">q", -9_000_000_000_000),
    (DataType.UINT64, ">Q", 18_000_000_000_000_000_000),
    (DataType.FLOAT32, ">f", 1234.5),
    (DataType.FLOAT64, ">d", -98765.4321),
]


@pytest.mark.parametrize(("data_type", "fmt", "value"), CASES)
@pytest.mark.parametrize("word_order", list(WordOrder))
def test_decode_matches_struct(
    data_type: DataType, fmt: str, value: float, word_order: WordOrder
) -> None:
    registers = words(fmt, value)
    if word_order is WordOrder.LITTLE:
        registers.reverse()
    assert register_count(data_type) == len(registers)
    assert decode(registers, data_type, word_order) == value


@pytest.mark.parametrize(("data_type", "fmt", "value"), CASES)
@pytest.mark.parametrize("word_order", list(WordOrder))
def test_encode_is_the_inverse(
    data_type: DataType, fmt: str, value: float, word_order: WordOrder
) -> None:
    expected = words(fmt, value)
    if word_order is WordOrder.LITTLE:
        expected.reverse()
    assert encode(value, data_type, word_order) == expected


def test_word_order_swaps_registers_not_bytes() -> None:
    # 0x00010002 with the low word first is [0x0002, 0x0001].
    assert decode([0x0002, 0x0001], DataType.UINT32, WordOrder.LITTLE) == 0x00010002
    assert decode([0x0002, 0x0001], DataType.UINT32, WordOrder.BIG) == 0x00020001


def test_decode_needs_the_exact_register_count() -> None:
    with pytest.raises(RegisterMapError, match="needs 2"):
        decode([1], DataType.FLOAT32)
    with pytest.raises(RegisterMapError, match="need 6"):
        decode_many([1, 2, 3, 4], DataType.FLOAT32, 3)


def test_decode_many() -> None:
    registers = words(">f", 1.5) + words(">f", -2.5)
    assert decode_many(registers, DataType.FLOAT32, 2) == [1.5, -2.5]


def test_encode_refuses_a_fraction_for_an_integer_type() -> None:
    with pytest.raises(ValueError, match="not an integer"):
        encode(1.5, DataType.UINT16)


def test_decode_ascii_trims_nul_and_blanks() -> None:
    assert decode_ascii([0x4332, 0x0000, 0x0000]) == "C2"
    assert decode_ascii([0x2041, 0x2000]) == "A"


@pytest.mark.parametrize(
    ("check", "bad"),
    [
        (check_power, math.nan),
        (check_power, math.inf),
        (check_power, 2e6),
        (check_current, 1000.5),
        (check_current, -math.inf),
        (check_energy, -0.001),
        (check_energy, math.nan),
        (check_soc, 100.5),
        (check_soc, -1.0),
    ],
)
def test_checks_refuse_values_outside_physics(check: Callable[[float], float], bad: float) -> None:
    with pytest.raises(RegisterMapError):
        check(bad)


def test_checks_pass_plausible_values_without_negative_zero() -> None:
    assert check_power(-0.0) == 0.0
    assert math.copysign(1.0, check_power(-0.0)) == 1.0
    assert check_current(-32.0) == -32.0
    assert check_energy(0.0) == 0.0
    assert check_soc(100.0) == 100.0


def test_unit_keyword_of_the_installed_pymodbus() -> None:
    import pymodbus

    major, minor = (int(part) for part in pymodbus.__version__.split(".")[:2])
    assert unit_keyword() == ("device_id" if (major, minor) >= (3, 10) else "slave")


def test_keyword_of_old_and_new_signatures() -> None:
    def new(address: int, *, count: int = 1, device_id: int = 1) -> None: ...

    def old(address: int, *, count: int = 1, slave: int = 1) -> None: ...

    def neither(address: int) -> None: ...

    assert keyword_of(new) == "device_id"
    assert keyword_of(old) == "slave"
    with pytest.raises(RuntimeError):
        keyword_of(neither)


def test_float32_encoding_is_ieee754_big_endian() -> None:
    assert encode(16.0, DataType.FLOAT32) == [0x4180, 0x0000]
    assert struct.unpack(">f", bytes.fromhex("41800000"))[0] == 16.0

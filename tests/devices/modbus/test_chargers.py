"""Phoenix/Wallbe, Alfen and Heidelberg chargers against real servers: reads, writes, rules."""

from __future__ import annotations

import asyncio
from itertools import pairwise

import pytest

from custom_components.evcc_ha.core.model import (
    ChargerCommand,
    ChargerReading,
    DeviceError,
    Status,
)
from custom_components.evcc_ha.devices.modbus.chargers import (
    AlfenCharger,
    HeidelbergCharger,
    PhoenixEvEthCharger,
)
from custom_components.evcc_ha.devices.modbus.client import Framing, ModbusHub
from custom_components.evcc_ha.devices.modbus.errors import ModbusConfigError

from .conftest import FakeServer, FakeUnit, ServerFactory
from .maps import NAN32, alfen, alfen_setpoint, ascii_registers, f32, heidelberg, phoenix

# --- Phoenix Contact EV-ETH / Wallbe -------------------------------------------------------------


async def _phoenix(
    hub: ModbusHub, modbus_server: ServerFactory, device: FakeUnit, **options: bool
) -> tuple[PhoenixEvEthCharger, FakeServer]:
    server = await modbus_server(device)
    charger = PhoenixEvEthCharger(
        hub.unit(server.host, server.port, Framing.TCP, 255),
        name="phoenix",
        max_current=16,
        **options,
    )
    await charger.async_setup()
    return charger, server


async def test_phoenix_reads_status_enable_current_and_meter(
    hub: ModbusHub, modbus_server: ServerFactory
) -> None:
    charger, _ = await _phoenix(hub, modbus_server, phoenix(current=13))
    assert charger.has_meter is True
    assert charger.milli is False
    assert await charger.async_read() == ChargerReading(
        status=Status.C,
        enabled=True,
        power=10350.0,
        energy=1234.567,  # holding 904, uint32 Wh low word first
        currents=(15.0, 14.0, 13.0),
        voltages=(230.0, 231.0, 229.0),  # input 108, read with the currents in one request
        offered_current=13.0,
    )


async def test_phoenix_without_meter_reads_no_meter_registers(
    hub: ModbusHub, modbus_server: ServerFactory
) -> None:
    device = phoenix(status="B", enabled=False, voltages=(0, 0, 0), current=6)
    charger, _ = await _phoenix(hub, modbus_server, device)
    reading = await charger.async_read()
    assert (reading.status, reading.enabled, reading.power, reading.energy) == (
        Status.B,
        False,
        None,
        None,
    )
    assert 114 not in device.reads_of("input")
    assert device.reads_of("holding").count(904) == 0


async def test_wallbe_firmware_counts_tenths_of_an_ampere(
    hub: ModbusHub, modbus_server: ServerFactory
) -> None:
    device = phoenix(current=160)  # ≥ 60 at setup: 0.1 A firmware
    charger, _ = await _phoenix(hub, modbus_server, device)
    assert charger.milli is True
    reading = await charger.async_read()
    assert reading.offered_current == 16.0
    assert reading.energy == 9_876_543.21  # holding 2980, uint64 Wh low word first
    await charger.async_apply(ChargerCommand(current=10.55))
    assert device.holding[528] == 105


async def test_milli_current_can_be_forced(hub: ModbusHub, modbus_server: ServerFactory) -> None:
    device = phoenix(current=0)
    charger, _ = await _phoenix(hub, modbus_server, device, milli_current=True)
    assert charger.milli is True
    assert device.reads_of("holding").count(528) == 0  # not detected, forced
    await charger.async_read()
    await charger.async_apply(ChargerCommand(enable=True, current=7.0))
    assert device.holding[528] == 70


async def test_phoenix_writes_only_what_changed(
    hub: ModbusHub, modbus_server: ServerFactory
) -> None:
    device = phoenix(status="B", enabled=False, current=6)
    charger, _ = await _phoenix(hub, modbus_server, device)
    await charger.async_read()
    await charger.async_apply(ChargerCommand(enable=True, current=10))
    assert device.writes == [("holding", 528, [10]), ("coil", 400, [1])]
    assert device.coils[400] is True
    await charger.async_apply(ChargerCommand(enable=True, current=10))
    await charger.async_read()
    await charger.async_apply(ChargerCommand(enable=True, current=10.9))  # floored to 10 A
    assert len(device.writes) == 2
    device.holding[528] = 12  # changed at the box itself
    await charger.async_read()
    await charger.async_apply(ChargerCommand(current=10))
    assert device.writes[-1] == ("holding", 528, [10])


async def test_phoenix_clamps_to_max_and_refuses_below_six_amperes(
    hub: ModbusHub, modbus_server: ServerFactory
) -> None:
    device = phoenix(current=6)
    charger, _ = await _phoenix(hub, modbus_server, device)
    await charger.async_read()
    await charger.async_apply(ChargerCommand(current=32))
    assert device.holding[528] == 16  # max_current
    writes = list(device.writes)
    with pytest.raises(DeviceError, match="minimum 6 A"):
        await charger.async_apply(ChargerCommand(enable=True, current=5))
    with pytest.raises(DeviceError, match="minimum 6 A"):
        await charger.async_apply(ChargerCommand(current=4))  # still enabled
    with pytest.raises(DeviceError, match="invalid current"):
        await charger.async_apply(ChargerCommand(current=float("nan")))
    assert device.writes == writes  # nothing written


async def test_phoenix_disable_writes_only_the_coil(
    hub: ModbusHub, modbus_server: ServerFactory
) -> None:
    device = phoenix(current=16)
    charger, _ = await _phoenix(hub, modbus_server, device)
    await charger.async_read()
    await charger.async_apply(ChargerCommand(enable=False, current=0, phases=1))
    assert device.writes == [("coil", 400, [0])]


@pytest.mark.parametrize(
    ("letter", "match"), [("X", "invalid"), ("F", "error"), ("\x00", "invalid")]
)
async def test_phoenix_unknown_or_error_status(
    hub: ModbusHub, modbus_server: ServerFactory, letter: str, match: str
) -> None:
    device = phoenix()
    device.input[100] = 0x4100 | ord(letter)  # the high byte is not the status
    charger, _ = await _phoenix(hub, modbus_server, device)
    with pytest.raises(DeviceError, match=match):
        await charger.async_read()


async def test_phoenix_absurd_meter_values(hub: ModbusHub, modbus_server: ServerFactory) -> None:
    device = phoenix(currents=(15_000, 14, 13))  # mA where A are expected
    charger, _ = await _phoenix(hub, modbus_server, device)
    with pytest.raises(DeviceError, match="phase current"):
        await charger.async_read()


async def test_phoenix_recovers_after_a_restart(
    hub: ModbusHub, modbus_server: ServerFactory
) -> None:
    device = phoenix()
    charger, server = await _phoenix(hub, modbus_server, device)
    assert (await charger.async_read()).status is Status.C
    await server.stop()
    with pytest.raises(DeviceError):
        await charger.async_read()
    device.input[100] = ord("B")
    await server.start()
    await asyncio.sleep(0.1)
    assert (await charger.async_read()).status is Status.B


# --- Alfen Eve -----------------------------------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def _alfen(
    hub: ModbusHub, modbus_server: ServerFactory, device: FakeUnit, clock: FakeClock | None = None
) -> AlfenCharger:
    server = await modbus_server(device)
    charger = AlfenCharger(
        hub.unit(server.host, server.port, Framing.TCP, 1),
        name="alfen",
        max_current=16,
        clock=clock or FakeClock(),
    )
    await charger.async_setup()
    return charger


async def test_alfen_reads(hub: ModbusHub, modbus_server: ServerFactory) -> None:
    charger = await _alfen(hub, modbus_server, alfen(setpoint=10.5))
    assert charger.phases_switchable is True
    assert await charger.async_read() == ChargerReading(
        status=Status.C,
        enabled=True,
        power=10650.5,
        energy=4321.9875,  # float64 Wh
        currents=(15.5, 15.25, 15.0),
        voltages=(230.0, 231.0, 232.0),  # holding 306
        offered_current=10.5,
        phases=3,
    )


async def test_alfen_single_phase_reads_nan_phases_as_zero(
    hub: ModbusHub, modbus_server: ServerFactory
) -> None:
    device = alfen(voltages=(230.0, 0.0, 0.0), currents=(7.0, 0.0, 0.0))
    device.set("holding", 322, NAN32)
    charger = await _alfen(hub, modbus_server, device)
    assert charger.phases_switchable is False
    reading = await charger.async_read()
    assert reading.currents == (7.0, 0.0, 0.0)
    assert reading.phases is None
    await charger.async_apply(ChargerCommand(phases=1))
    assert device.writes == []


@pytest.mark.parametrize(
    ("text", "status"), [("A", Status.A), ("B1", Status.B), ("C1", Status.B), ("E0", Status.A)]
)
async def test_alfen_status_strings(
    hub: ModbusHub, modbus_server: ServerFactory, text: str, status: Status
) -> None:
    charger = await _alfen(hub, modbus_server, alfen(status=text))
    assert (await charger.async_read()).status is status


@pytest.mark.parametrize("text", ["F", "Z9", ""])
async def test_alfen_bad_status(hub: ModbusHub, modbus_server: ServerFactory, text: str) -> None:
    charger = await _alfen(hub, modbus_server, alfen(status=text))
    with pytest.raises(DeviceError):
        await charger.async_read()


async def test_alfen_nan_power_is_an_error(hub: ModbusHub, modbus_server: ServerFactory) -> None:
    device = alfen()
    device.set("holding", 344, NAN32)
    charger = await _alfen(hub, modbus_server, device)
    with pytest.raises(DeviceError, match="power"):
        await charger.async_read()


async def test_alfen_setpoint_is_the_switch(hub: ModbusHub, modbus_server: ServerFactory) -> None:
    device = alfen(status="B2", setpoint=0.0)
    charger = await _alfen(hub, modbus_server, device)
    assert (await charger.async_read()).enabled is False
    await charger.async_apply(ChargerCommand(enable=True, current=10))
    assert device.writes == [("holding", 1210, f32(10.0))]  # FC16, float32 big-endian
    await charger.async_apply(ChargerCommand(enable=False, current=12))  # remembered, not written
    assert alfen_setpoint(device) == 0.0
    await charger.async_apply(ChargerCommand(enable=True))
    assert alfen_setpoint(device) == 12.0
    await charger.async_apply(ChargerCommand(current=40))  # clamped
    assert alfen_setpoint(device) == 16.0
    with pytest.raises(DeviceError, match="minimum"):
        await charger.async_apply(ChargerCommand(current=5.9))
    assert alfen_setpoint(device) == 16.0


async def test_alfen_keepalive_rewrites_an_old_setpoint(
    hub: ModbusHub, modbus_server: ServerFactory
) -> None:
    clock = FakeClock()
    device = alfen(setpoint=0.0)
    charger = await _alfen(hub, modbus_server, device, clock)
    await charger.async_read()
    clock.now += 100
    await charger.async_read()
    assert device.writes == []  # nothing to keep alive before the first command
    await charger.async_apply(ChargerCommand(enable=True, current=8))
    await charger.async_apply(ChargerCommand(enable=True, current=8))
    assert len(device.writes) == 1
    clock.now += 24
    await charger.async_read()
    await charger.async_apply(ChargerCommand())
    assert len(device.writes) == 1  # younger than 25 s
    clock.now += 1
    await charger.async_apply(ChargerCommand())  # nothing new, but the setpoint is 25 s old
    assert device.writes[-1] == ("holding", 1210, f32(8.0))
    assert len(device.writes) == 2
    clock.now += 25
    await charger.async_read()  # the cycle's read keeps it alive too
    assert len(device.writes) == 3
    assert await charger.async_keepalive() is False


async def test_alfen_switches_phases_first(hub: ModbusHub, modbus_server: ServerFactory) -> None:
    device = alfen(setpoint=0.0, phases=3)
    charger = await _alfen(hub, modbus_server, device)
    await charger.async_read()
    await charger.async_apply(ChargerCommand(enable=True, current=6, phases=1))
    assert device.writes == [("holding", 1215, [1]), ("holding", 1210, f32(6.0))]
    await charger.async_read()
    await charger.async_apply(ChargerCommand(phases=1))
    assert len(device.writes) == 2
    with pytest.raises(DeviceError, match="phase count"):
        await charger.async_apply(ChargerCommand(phases=2))


# --- Heidelberg Energy Control -------------------------------------------------------------------


async def _heidelberg(
    hub: ModbusHub,
    modbus_server: ServerFactory,
    device: FakeUnit,
    framing: Framing = Framing.RTU_OVER_TCP,
) -> tuple[HeidelbergCharger, FakeServer]:
    server = await modbus_server(device, framing=framing)
    charger = HeidelbergCharger(
        hub.unit(server.host, server.port, framing, 1, min_gap=0.01),
        name="heidelberg",
        max_current=16,
    )
    await charger.async_setup()
    return charger, server


async def test_heidelberg_setup_disables_standby_and_reads_the_watchdog(
    hub: ModbusHub, modbus_server: ServerFactory
) -> None:
    device = heidelberg(watchdog_ms=15_000)
    charger, _ = await _heidelberg(hub, modbus_server, device)
    assert device.writes == [("holding", 258, [4])]
    assert device.holding[258] == 4
    assert charger.watchdog_ms == 15_000
    assert charger.heartbeat_interval == 3.75  # watchdog / 4, as evcc


@pytest.mark.parametrize("framing", list(Framing))
async def test_heidelberg_reads(
    hub: ModbusHub, modbus_server: ServerFactory, framing: Framing
) -> None:
    charger, _ = await _heidelberg(hub, modbus_server, heidelberg(), framing)
    assert await charger.async_read() == ChargerReading(
        status=Status.C,
        enabled=True,
        power=10900.0,
        energy=3456.789,
        currents=(15.8, 15.7, 15.6),
        voltages=(230.0, 231.0, 229.0),  # input 10–12
        offered_current=16.0,
    )


@pytest.mark.parametrize(
    ("code", "status"),
    [(2, Status.A), (3, Status.A), (4, Status.B), (5, Status.B), (6, Status.C), (7, Status.C)],
)
async def test_heidelberg_status_codes(
    hub: ModbusHub, modbus_server: ServerFactory, code: int, status: Status
) -> None:
    charger, _ = await _heidelberg(hub, modbus_server, heidelberg(status=code))
    assert (await charger.async_read()).status is status


async def test_heidelberg_error_state_releases_the_remote_lock(
    hub: ModbusHub, modbus_server: ServerFactory
) -> None:
    device = heidelberg(status=10)
    device.holding[259] = 0
    charger, _ = await _heidelberg(hub, modbus_server, device)
    with pytest.raises(DeviceError, match="error state 10"):
        await charger.async_read()
    assert device.holding[259] == 1


@pytest.mark.parametrize("code", [0, 1, 8, 9, 11, 999])
async def test_heidelberg_unknown_status(
    hub: ModbusHub, modbus_server: ServerFactory, code: int
) -> None:
    charger, _ = await _heidelberg(hub, modbus_server, heidelberg(status=code))
    with pytest.raises(DeviceError, match="invalid charger status"):
        await charger.async_read()


async def test_heidelberg_current_register_is_the_switch(
    hub: ModbusHub, modbus_server: ServerFactory
) -> None:
    device = heidelberg(status=5, current=0)
    charger, _ = await _heidelberg(hub, modbus_server, device)
    assert (await charger.async_read()).enabled is False
    device.writes.clear()
    await charger.async_apply(ChargerCommand(enable=True))  # no current known yet: 6 A
    assert device.holding[261] == 60
    await charger.async_apply(ChargerCommand(current=13.37))
    assert device.holding[261] == 133
    await charger.async_apply(ChargerCommand(enable=False, current=9))
    assert device.holding[261] == 0
    await charger.async_apply(ChargerCommand(enable=True))  # the last current again
    assert device.holding[261] == 90
    await charger.async_apply(ChargerCommand(enable=True, current=9))
    assert device.writes == [
        ("holding", 261, [60]),
        ("holding", 261, [133]),
        ("holding", 261, [0]),
        ("holding", 261, [90]),
    ]
    with pytest.raises(DeviceError, match="minimum"):
        await charger.async_apply(ChargerCommand(enable=True, current=3))


async def test_heidelberg_adopts_the_current_it_reads(
    hub: ModbusHub, modbus_server: ServerFactory
) -> None:
    device = heidelberg(current=110)
    charger, _ = await _heidelberg(hub, modbus_server, device)
    await charger.async_read()
    await charger.async_apply(ChargerCommand(enable=False))
    await charger.async_apply(ChargerCommand(enable=True))
    assert device.holding[261] == 110


async def test_heidelberg_heartbeat_feeds_the_watchdog_until_closed(
    modbus_server: ServerFactory,
) -> None:
    device = heidelberg(watchdog_ms=200)  # a beat every 50 ms
    server = await modbus_server(device, framing=Framing.RTU_OVER_TCP)
    modbus_hub = ModbusHub(timeout=0.5)
    charger = HeidelbergCharger(
        modbus_hub.unit(server.host, server.port, Framing.RTU_OVER_TCP, 1),
        name="heidelberg",
        max_current=16,
    )
    tasks_before = asyncio.all_tasks()
    await charger.async_setup()
    assert len(asyncio.all_tasks() - tasks_before) == 1
    await asyncio.sleep(0.3)
    assert charger.heartbeats >= 3
    assert device.reads_of("input").count(5) == charger.heartbeats
    await modbus_hub.async_close()
    assert asyncio.all_tasks() - tasks_before == set()
    beats = charger.heartbeats
    await asyncio.sleep(0.15)
    assert charger.heartbeats == beats
    await charger.async_close()  # after the hub: still fine


async def test_heidelberg_skips_a_beat_after_a_recent_answer(
    modbus_server: ServerFactory,
) -> None:
    device = heidelberg(watchdog_ms=400)  # a beat every 100 ms
    server = await modbus_server(device, framing=Framing.RTU_OVER_TCP)
    modbus_hub = ModbusHub(timeout=0.5)
    try:
        charger = HeidelbergCharger(
            modbus_hub.unit(server.host, server.port, Framing.RTU_OVER_TCP, 1),
            name="heidelberg",
            max_current=16,
        )
        await charger.async_setup()
        for _ in range(8):  # a busy control cycle: a read every 40 ms
            await charger.async_read()
            await asyncio.sleep(0.04)
        assert charger.heartbeats == 0
    finally:
        await charger.async_close()
        await modbus_hub.async_close()


async def test_heidelberg_pauses_between_requests(modbus_server: ServerFactory) -> None:
    device = heidelberg()
    server = await modbus_server(device, framing=Framing.RTU_OVER_TCP)
    modbus_hub = ModbusHub(timeout=0.5)
    try:
        charger = HeidelbergCharger(
            modbus_hub.unit(server.host, server.port, Framing.RTU_OVER_TCP, 1, min_gap=0.1),
            name="heidelberg",
            max_current=16,
        )
        await charger.async_read()
    finally:
        await modbus_hub.async_close()
    times = device.request_times
    assert len(times) == 4  # standby, watchdog, status block, current
    assert min(b - a for a, b in pairwise(times)) >= 0.095


# --- common --------------------------------------------------------------------------------------


@pytest.mark.parametrize("charger_class", [PhoenixEvEthCharger, AlfenCharger, HeidelbergCharger])
def test_max_current_below_six_is_a_config_error(
    hub: ModbusHub, charger_class: type[PhoenixEvEthCharger | AlfenCharger | HeidelbergCharger]
) -> None:
    with pytest.raises(ModbusConfigError):
        charger_class(hub.unit("127.0.0.1", 502, Framing.TCP, 1), name="c", max_current=5)


async def test_charger_diagnostics_have_raw_registers_and_no_host(
    hub: ModbusHub, modbus_server: ServerFactory
) -> None:
    charger = await _alfen(hub, modbus_server, alfen())
    await charger.async_read()
    diagnostics = charger.diagnostics()
    assert diagnostics["framing"] == "tcp"
    assert diagnostics["unit_id"] == 1
    registers = diagnostics["registers"]
    assert isinstance(registers, dict)
    assert registers["holding:1201"] == ascii_registers("C2", 5)
    assert "127.0.0.1" not in repr(diagnostics)


async def test_heidelberg_voltage_garbage_is_an_error(
    hub: ModbusHub, modbus_server: ServerFactory
) -> None:
    charger, _ = await _heidelberg(hub, modbus_server, heidelberg(voltages=(230, 2000, 229)))
    with pytest.raises(DeviceError, match="not a phase voltage"):
        await charger.async_read()

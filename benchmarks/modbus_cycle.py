"""Modbus read cycle: 8 devices on 8 hosts vs. the same 8 behind one gateway (prints Markdown).

    python benchmarks/modbus_cycle.py            # from the repository root

Every device is a register meter reading one input register (one request a read) from a
pymodbus server on 127.0.0.1 that answers after 20 ms. A cycle reads all 8 concurrently with
`asyncio.gather`, as the controller does. "One round trip" is one device read alone. Reported:
cycle time ÷ one round trip, min and median over repeated cycles. Targets: ≤ 1.5 for 8 hosts
(the hub reads different hosts concurrently) and ≤ 8.5 for one gateway (one request at a time
on a shared connection, so about 8 round trips). Never fails: an error is printed in the table.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from pymodbus.constants import ExcCodes  # noqa: E402
from pymodbus.server import ModbusTcpServer  # noqa: E402
from pymodbus.simulator import (  # noqa: E402
    DataType as SimType,
    SimData,
    SimDevice,
)

from custom_components.evcc_ha.devices.modbus.client import (  # noqa: E402
    Framing,
    ModbusHub,
    RegisterTable,
)
from custom_components.evcc_ha.devices.modbus.codec import DataType  # noqa: E402
from custom_components.evcc_ha.devices.modbus.const import Usage  # noqa: E402
from custom_components.evcc_ha.devices.modbus.meters import (  # noqa: E402
    RegisterMeter,
    RegisterSpec,
)

DEVICES = 8
ANSWER_DELAY_S = 0.020
CYCLES = 15
WARMUP = 2
TARGET_HOSTS = 1.5
TARGET_GATEWAY = 8.5


async def _slow_answer(*_args: object) -> ExcCodes | None:
    await asyncio.sleep(ANSWER_DELAY_S)
    return None


def _device(unit_id: int) -> SimDevice:
    return SimDevice(
        id=unit_id,
        simdata=(
            [SimData(address=0, values=[False] * 16, datatype=SimType.BITS)],
            [SimData(address=0, values=[False] * 16, datatype=SimType.BITS)],
            [SimData(address=0, values=[0], datatype=SimType.REGISTERS)],
            [SimData(address=0, values=[1000 + unit_id], datatype=SimType.REGISTERS)],
        ),
        action=_slow_answer,
    )


async def _serve(unit_ids: list[int]) -> tuple[ModbusTcpServer, int]:
    server = ModbusTcpServer([_device(u) for u in unit_ids], address=("127.0.0.1", 0))
    await server.serve_forever(background=True)
    listener: asyncio.Server = server.transport  # type: ignore[assignment]
    return server, listener.sockets[0].getsockname()[1]


def _meter(hub: ModbusHub, port: int, unit_id: int) -> RegisterMeter:
    return RegisterMeter(
        hub.unit("127.0.0.1", port, Framing.TCP, unit_id),
        name=f"meter {unit_id}",
        usage=Usage.AUX,
        power=RegisterSpec(0, RegisterTable.INPUT, DataType.UINT16),
    )


async def _timed(job: Callable[[], Awaitable[object]]) -> float:
    started = time.perf_counter()
    await job()
    return time.perf_counter() - started


async def _ratios(meters: list[RegisterMeter]) -> list[float]:
    """Each cycle's time ÷ the median round trip of one device read alone (taken between cycles)."""

    async def one() -> object:
        return await meters[0].async_read()

    async def cycle() -> object:
        return await asyncio.gather(*(m.async_read() for m in meters))

    for _ in range(WARMUP):  # connect and warm up
        await cycle()
    round_trips, cycles = [], []
    for _ in range(CYCLES):
        round_trips.append(await _timed(one))
        cycles.append(await _timed(cycle))
    round_trip = statistics.median(round_trips)
    return [c / round_trip for c in cycles]


async def _scenario(name: str, gateway: bool) -> tuple[str, list[float] | str]:
    servers: list[ModbusTcpServer] = []
    hub = ModbusHub(timeout=2.0)
    try:
        if gateway:
            server, port = await _serve(list(range(1, DEVICES + 1)))
            servers.append(server)
            meters = [_meter(hub, port, unit) for unit in range(1, DEVICES + 1)]
        else:
            meters = []
            for unit in range(1, DEVICES + 1):
                server, port = await _serve([unit])
                servers.append(server)
                meters.append(_meter(hub, port, unit))
        return name, await _ratios(meters)
    except Exception as err:  # a benchmark reports, it does not fail
        return name, f"error: {type(err).__name__}: {err}"
    finally:
        await hub.async_close()
        for server in servers:
            await server.shutdown()
        await asyncio.sleep(0.05)


async def main() -> None:
    rows = [
        (await _scenario(f"{DEVICES} devices on {DEVICES} hosts", gateway=False), TARGET_HOSTS),
        (await _scenario(f"{DEVICES} devices behind one gateway", gateway=True), TARGET_GATEWAY),
    ]
    print(f"Modbus cycle: {DEVICES} devices, answers after {ANSWER_DELAY_S * 1000:g} ms, ")
    print(f"{CYCLES} cycles each (cycle time ÷ one round trip)\n")
    print("| setup | min | median | target | ok |")
    print("| --- | ---: | ---: | ---: | :-: |")
    for (name, result), target in rows:
        if isinstance(result, str):
            print(f"| {name} | – | – | ≤ {target:g} | {result} |")
            continue
        low, median = min(result), statistics.median(result)
        verdict = "yes" if median <= target else "no"
        print(f"| {name} | {low:.2f} | {median:.2f} | ≤ {target:g} | {verdict} |")


if __name__ == "__main__":
    asyncio.run(main())

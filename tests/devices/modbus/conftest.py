"""A real pymodbus server on 127.0.0.1 holding a device's register map, with fault injection.

`FakeUnit` is the register map of one unit id (plain dicts the tests read and change) plus its
faults: a delay before every answer, exception codes for given addresses, silence. `FakeServer`
serves one or more units through pymodbus' `ModbusTcpServer` (Modbus TCP or RTU framing on
TCP), on a free port chosen by the OS; `stop()` and `start()` again keep the port and the maps.
`short_answers` makes the server drop the last register of its answers (a broken gateway).
Requests of one server are answered one at a time, like a gateway on one RS485 bus; the server
counts requests arriving while another is still being answered (`max_in_flight`), which only a
second client connection can cause.

The server keeps its maps in the dicts: a pymodbus action hook copies them into the simulator's
registers before every request and copies written values back.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Literal

import pytest
from pymodbus.constants import ExcCodes
from pymodbus.framer import FramerType
from pymodbus.pdu import ModbusPDU
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from custom_components.evcc_ha.devices.modbus.client import Framing, ModbusHub

Table = Literal["holding", "input", "coil"]
_TABLE_OF_FC: dict[int, Table] = {
    1: "coil",
    5: "coil",
    15: "coil",
    3: "holding",
    6: "holding",
    16: "holding",
    4: "input",
}
_FRAMER = {Framing.TCP: FramerType.SOCKET, Framing.RTU_OVER_TCP: FramerType.RTU}


@pytest.fixture(autouse=True)
def _loopback_sockets(socket_enabled: None) -> None:
    """These tests talk real Modbus over 127.0.0.1 (pytest-socket allows only that host)."""


@dataclass
class FakeUnit:
    """The register map of one unit id and its faults."""

    unit_id: int
    holding: dict[int, int] = field(default_factory=dict)
    input: dict[int, int] = field(default_factory=dict)
    coils: dict[int, bool] = field(default_factory=dict)
    delay: float = 0.0  # seconds before every answer
    silent: bool = False  # never answer
    fail: dict[tuple[Table, int], ExcCodes] = field(default_factory=dict)  # (table, address)
    requests: list[tuple[Table, int, int]] = field(default_factory=list)  # (table, address, count)
    writes: list[tuple[Table, int, list[int]]] = field(default_factory=list)
    request_times: list[float] = field(default_factory=list)  # monotonic start of each answer

    def set(self, table: Table, address: int, values: Iterable[int]) -> None:
        target = self.holding if table == "holding" else self.input
        for offset, value in enumerate(values):
            target[address + offset] = value

    def reads_of(self, table: Table) -> list[int]:
        """Start addresses of the reads of `table`, in order."""
        return [address for t, address, _count in self.requests if t == table]


class FakeServer:
    """A pymodbus TCP server for fake units (see module doc)."""

    def __init__(
        self,
        units: Iterable[FakeUnit],
        framing: Framing = Framing.TCP,
        *,
        gateway: Literal["exception", "silent"] = "exception",
    ) -> None:
        self.units = {unit.unit_id: unit for unit in units}
        self.framing = framing
        self.gateway = gateway  # how unknown unit ids are answered
        self.port = 0
        self.server: ModbusTcpServer | None = None
        self.in_flight = 0
        self.max_in_flight = 0
        self.short_answers = False  # drop the last register of every read answer
        self._bus = asyncio.Lock()
        self._pending: set[asyncio.Task[object]] = set()

    @property
    def host(self) -> str:
        return "127.0.0.1"

    @property
    def connections(self) -> int:
        """Client connections the server holds open."""
        return 0 if self.server is None else len(self.server.active_connections)

    async def start(self) -> None:
        devices = [self._sim_device(unit) for unit in self.units.values()]
        devices.append(
            SimDevice(
                id=0,  # every unit id not defined: the gateway answers
                simdata=(
                    [SimData(address=0, count=64, values=[False] * 16, datatype=DataType.BITS)],
                    [SimData(address=0, values=[False] * 16, datatype=DataType.BITS)],
                    [SimData(address=0, count=0xFFFF, values=0, datatype=DataType.REGISTERS)],
                    [SimData(address=0, count=0xFFFF, values=0, datatype=DataType.REGISTERS)],
                ),
                action=self._gateway_action,
            )
        )
        self.server = ModbusTcpServer(
            devices,
            framer=_FRAMER[self.framing],
            address=(self.host, self.port),
            trace_pdu=self._trace_pdu,
        )
        await self.server.serve_forever(background=True)
        listener: asyncio.Server = self.server.transport  # type: ignore[assignment]
        self.port = listener.sockets[0].getsockname()[1]

    def _trace_pdu(self, sending: bool, pdu: ModbusPDU) -> ModbusPDU:
        if sending and self.short_answers and len(pdu.registers) > 1:
            pdu.registers = pdu.registers[:-1]
        return pdu

    async def stop(self) -> None:
        if self.server is not None:
            await self.server.shutdown()
            self.server = None
        for task in list(self._pending):
            task.cancel()
        if self._pending:
            await asyncio.wait(self._pending)
        await asyncio.sleep(0.01)  # let the transports finish closing

    def _sim_device(self, unit: FakeUnit) -> SimDevice:
        def registers(values: dict[int, int]) -> list[SimData]:
            blocks: list[SimData] = []
            for start, run in _runs(sorted(values)):
                blocks.append(
                    SimData(
                        address=start,
                        values=[values[a] for a in run],
                        datatype=DataType.REGISTERS,
                    )
                )
            return blocks or [SimData(address=0, datatype=DataType.INVALID)]

        coils = [
            SimData(
                address=start, values=[bool(unit.coils[a]) for a in run], datatype=DataType.BITS
            )
            for start, run in _runs(sorted(unit.coils))
        ] or [SimData(address=0, values=[False] * 16, datatype=DataType.BITS)]
        return SimDevice(
            id=unit.unit_id,
            simdata=(
                coils,
                [SimData(address=0, values=[False] * 16, datatype=DataType.BITS)],
                registers(unit.holding),
                registers(unit.input),
            ),
            action=functools.partial(self._action, unit),
        )

    async def _enter(self) -> None:
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        task = asyncio.current_task()
        if task is not None:
            self._pending.add(task)
            task.add_done_callback(self._pending.discard)

    async def _action(
        self,
        unit: FakeUnit,
        function_code: int,
        start_address: int,
        address: int,
        count: int,
        registers: list[int],
        values: list[int] | list[bool] | None,
    ) -> ExcCodes | None:
        table = _TABLE_OF_FC[function_code]
        await self._enter()
        try:
            async with self._bus:
                unit.request_times.append(time.monotonic())
                if unit.delay:
                    await asyncio.sleep(unit.delay)
                if unit.silent:
                    await asyncio.sleep(3600)
                if values is None:
                    unit.requests.append((table, address, count))
                if (code := unit.fail.get((table, address))) is not None:
                    return code
                if table == "coil":
                    for bit_address, on in unit.coils.items():
                        index, bit = divmod(bit_address, 16)
                        index -= start_address
                        if 0 <= index < len(registers):
                            registers[index] = (
                                registers[index] | 1 << bit
                                if on
                                else registers[index] & ~(1 << bit)
                            )
                    if values is not None:
                        unit.writes.append((table, address, [int(bool(v)) for v in values]))
                        for offset, value in enumerate(values):
                            unit.coils[address + offset] = bool(value)
                    return None
                target = unit.holding if table == "holding" else unit.input
                for register_address, value in target.items():
                    index = register_address - start_address
                    if 0 <= index < len(registers):
                        registers[index] = value
                if values is not None:
                    unit.writes.append((table, address, [int(v) for v in values]))
                    for offset, value in enumerate(values):
                        target[address + offset] = int(value)
                return None
        finally:
            self.in_flight -= 1

    async def _gateway_action(
        self,
        function_code: int,
        start_address: int,
        address: int,
        count: int,
        registers: list[int],
        values: list[int] | list[bool] | None,
    ) -> ExcCodes | None:
        await self._enter()
        try:
            if self.gateway == "silent":
                await asyncio.sleep(3600)
            return ExcCodes.GATEWAY_NO_RESPONSE
        finally:
            self.in_flight -= 1


def _runs(addresses: list[int]) -> Iterable[tuple[int, list[int]]]:
    """Consecutive runs of sorted addresses."""
    run: list[int] = []
    for address in addresses:
        if run and address != run[-1] + 1:
            yield run[0], run
            run = []
        run.append(address)
    if run:
        yield run[0], run


ServerFactory = Callable[..., Awaitable[FakeServer]]


@pytest.fixture
async def modbus_server() -> AsyncIterator[ServerFactory]:
    """Start fake servers: ``await modbus_server(unit, …, framing=…, gateway=…)``."""
    servers: list[FakeServer] = []

    async def start(
        *units: FakeUnit,
        framing: Framing = Framing.TCP,
        gateway: Literal["exception", "silent"] = "exception",
    ) -> FakeServer:
        server = FakeServer(units, framing, gateway=gateway)
        await server.start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        await server.stop()


@pytest.fixture
async def hub() -> AsyncIterator[ModbusHub]:
    """A hub with short timeouts and back-off, closed after the test."""
    modbus_hub = ModbusHub(timeout=0.5, backoff_initial=0.05, backoff_max=0.2)
    yield modbus_hub
    await modbus_hub.async_close()


def open_sockets() -> int:
    """Sockets this process holds open."""
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):
            if os.readlink(f"/proc/self/fd/{fd}").startswith("socket:"):
                count += 1
    return count

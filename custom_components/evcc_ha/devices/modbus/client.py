"""Shared Modbus connections: one pymodbus client per (host, port, framing), owned by a hub.

A site owns one `ModbusHub`. Every device asks it for a `ModbusUnit` (a connection plus a unit
id); devices behind the same gateway share one `ModbusConnection` and so one TCP socket.

* **One request at a time per connection.** An `asyncio.Lock` serialises the requests of every
  device behind a gateway (RS485 gateways break under concurrent requests); different hosts have
  different connections and are read concurrently. A device may ask for a pause between two
  requests (`min_gap`, e.g. Heidelberg's 100 ms); the connection keeps the largest one asked.
* **Reconnect with back-off.** A failed connect makes the connection fail fast (without touching
  the network) for a delay that doubles from `backoff_initial` up to `backoff_max` (1 s → 60 s);
  the first connect after the delay that succeeds resets it. pymodbus' own background reconnect
  is switched off (``reconnect_delay=0``), so no task runs between requests.
* **A timed-out or cancelled request drops the socket.** A late answer would otherwise be taken
  as the answer to the next request (RTU framing has no transaction id); the next request opens
  a fresh connection. pymodbus' retries are off for the same reason.
* **Lifetime.** `ModbusHub.unit` counts the units of each connection; `ModbusUnit.release` (a
  device's ``async_close``) closes the connection with its last unit. `ModbusHub.async_close`
  cancels the hub's background tasks and closes every connection: no task or socket is left.
* **pymodbus versions.** The unit keyword is ``device_id`` since pymodbus 3.10 and ``slave``
  before; `unit_keyword` inspects the client once and picks the right one.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
import math
import time
from collections.abc import Callable, Coroutine, Sequence
from enum import StrEnum
from typing import Any, Final

from pymodbus.client import AsyncModbusTcpClient
from pymodbus.exceptions import ConnectionException, ModbusException, ModbusIOException
from pymodbus.framer import FramerType

from .errors import (
    ModbusClosedError,
    ModbusConnectError,
    ModbusError,
    ModbusExceptionResponseError,
    ModbusNoResponseError,
    RegisterMapError,
)

__all__ = [
    "DEFAULT_BACKOFF_INITIAL_S",
    "DEFAULT_BACKOFF_MAX_S",
    "DEFAULT_TIMEOUT_S",
    "Framing",
    "ModbusConnection",
    "ModbusHub",
    "ModbusUnit",
    "RegisterTable",
    "keyword_of",
    "unit_keyword",
]

_LOGGER = logging.getLogger(__name__)

DEFAULT_TIMEOUT_S: Final = 2.0
"""Seconds to connect or to wait for one answer (the controller allows a device 5 s a read)."""
DEFAULT_BACKOFF_INITIAL_S: Final = 1.0
DEFAULT_BACKOFF_MAX_S: Final = 60.0


class Framing(StrEnum):
    """How requests are framed on the TCP connection."""

    TCP = "tcp"  # Modbus TCP (MBAP header, transaction ids)
    RTU_OVER_TCP = "rtuovertcp"  # Modbus RTU frames (with CRC) through a transparent gateway


_FRAMER: Final = {Framing.TCP: FramerType.SOCKET, Framing.RTU_OVER_TCP: FramerType.RTU}


class RegisterTable(StrEnum):
    """The four Modbus tables, named as they appear in diagnostics."""

    HOLDING = "holding"  # FC3 read, FC6/FC16 write
    INPUT = "input"  # FC4 read
    COIL = "coil"  # FC1 read, FC5 write


def keyword_of(method: Callable[..., Any]) -> str:
    """The unit keyword `method` takes: ``device_id`` (pymodbus ≥ 3.10) or ``slave`` (3.8, 3.9)."""
    parameters = inspect.signature(method).parameters
    for name in ("device_id", "slave"):
        if name in parameters:
            return name
    raise RuntimeError("this pymodbus version takes neither device_id= nor slave=")


@functools.cache
def unit_keyword() -> str:
    """The unit keyword of the installed pymodbus (inspected once)."""
    return keyword_of(AsyncModbusTcpClient.read_holding_registers)


class ModbusConnection:
    """One TCP connection to a device or gateway, shared by every unit behind it."""

    def __init__(
        self,
        host: str,
        port: int,
        framing: Framing,
        *,
        timeout: float,
        backoff_initial: float,
        backoff_max: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.host = host
        self.port = port
        self.framing = framing
        self.timeout = timeout
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self._clock = clock
        self._lock = asyncio.Lock()
        self._client: AsyncModbusTcpClient | None = None
        self._retry_at = -math.inf  # no connect attempt before this (back-off)
        self._backoff = 0.0  # the delay after the next failed connect is max(2 × this, initial)
        self._last_done = -math.inf  # end of the last request (for `min_gap`)
        self._gaps: list[float] = []  # `min_gap` of every unit that uses the connection
        self._closed = False
        self.connects = 0  # successful connects so far
        self.requests = 0  # requests sent so far

    @property
    def label(self) -> str:
        return f"{self.host}:{self.port} ({self.framing})"

    @property
    def connected(self) -> bool:
        return self._client is not None and self._client.connected

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def backoff(self) -> float:
        """Seconds the connection waits after the last failed connect (0 after a success)."""
        return self._backoff

    @property
    def min_gap(self) -> float:
        """Seconds between the end of one request and the start of the next."""
        return max(self._gaps, default=0.0)

    @property
    def users(self) -> int:
        return len(self._gaps)

    def attach(self, min_gap: float) -> None:
        self._gaps.append(max(0.0, min_gap))

    def detach(self, min_gap: float) -> None:
        gap = max(0.0, min_gap)
        if gap in self._gaps:
            self._gaps.remove(gap)

    async def request(self, method: str, unit_id: int, *args: Any, **kwargs: Any) -> Any:
        """Send one request (a pymodbus client method name) and return its answer.

        Raises `ModbusConnectError`, `ModbusNoResponseError`, `ModbusExceptionResponseError`
        (the device answered with an exception code) or `ModbusClosedError`.
        """
        what = f"{method}({', '.join(map(str, args))}) to unit {unit_id} at {self.label}"
        async with self._lock:
            client = await self._connected_client()
            if (wait := self._last_done + self.min_gap - self._clock()) > 0:
                await asyncio.sleep(wait)
            self.requests += 1
            call = getattr(client, method)
            try:
                response = await call(*args, **kwargs, **{unit_keyword(): unit_id})
            except asyncio.CancelledError:
                # The caller gave up (its timeout); an answer arriving later must not be taken
                # for the answer to the next request.
                self._drop()
                raise
            except ConnectionException as err:
                self._drop()
                raise ModbusConnectError(f"{what}: connection lost ({err})") from err
            except ModbusIOException as err:
                self._drop()
                raise ModbusNoResponseError(f"{what}: no answer within {self.timeout:g} s") from err
            except ModbusException as err:
                self._drop()
                raise ModbusError(f"{what}: {err}") from err
            except OSError as err:
                self._drop()
                raise ModbusConnectError(f"{what}: {err}") from err
            finally:
                self._last_done = self._clock()
        if response is None:
            raise ModbusNoResponseError(f"{what}: no answer")
        if response.isError():
            raise ModbusExceptionResponseError(getattr(response, "exception_code", None), what)
        return response

    async def _connected_client(self) -> AsyncModbusTcpClient:
        if self._closed:
            raise ModbusClosedError(f"the connection to {self.label} is closed")
        if self._client is not None and self._client.connected:
            return self._client
        self._drop()
        now = self._clock()
        if now < self._retry_at:
            raise ModbusConnectError(
                f"{self.label} did not accept a connection; next attempt in "
                f"{self._retry_at - now:.1f} s"
            )
        client = AsyncModbusTcpClient(
            self.host,
            port=self.port,
            framer=_FRAMER[self.framing],
            timeout=self.timeout,
            retries=0,
            reconnect_delay=0,  # no background reconnect task: the next request reconnects
            name=f"evcc_ha {self.label}",
        )
        try:
            connected = await client.connect()
        except BaseException:
            client.close()
            raise
        if not connected:
            client.close()
            self._backoff = min(max(2 * self._backoff, self.backoff_initial), self.backoff_max)
            self._retry_at = self._clock() + self._backoff
            raise ModbusConnectError(
                f"cannot connect to {self.label}; next attempt in {self._backoff:g} s"
            )
        self._backoff = 0.0
        self._retry_at = -math.inf
        self._client = client
        self.connects += 1
        _LOGGER.debug("Connected to %s", self.label)
        return client

    def _drop(self) -> None:
        """Close the socket (if any); the next request opens a new one."""
        if self._client is not None:
            self._client.close()
            self._client = None

    def close(self) -> None:
        """Close for good: every later request raises `ModbusClosedError`."""
        self._closed = True
        self._drop()


class ModbusUnit:
    """One unit id behind a connection: typed reads and writes, and the raw values for diagnostics.

    Every read checks the register count of the answer (`RegisterMapError` otherwise).
    """

    def __init__(
        self, hub: ModbusHub, connection: ModbusConnection, unit_id: int, min_gap: float
    ) -> None:
        self._hub = hub
        self.connection = connection
        self.unit_id = unit_id
        self.min_gap = min_gap
        self.released = False
        self.last_success = -math.inf  # monotonic time of the last answered request
        self.registers: dict[str, list[int]] = {}  # "table:address" → last raw values read
        self.written: dict[str, list[int]] = {}  # "table:address" → last raw values written

    @property
    def hub(self) -> ModbusHub:
        """The hub that owns the connection (for background tasks)."""
        return self._hub

    async def read_holding(self, address: int, count: int) -> list[int]:
        """FC3: `count` holding registers from `address`."""
        response = await self._request("read_holding_registers", address, count=count)
        return self._registers(RegisterTable.HOLDING, address, count, response)

    async def read_input(self, address: int, count: int) -> list[int]:
        """FC4: `count` input registers from `address`."""
        response = await self._request("read_input_registers", address, count=count)
        return self._registers(RegisterTable.INPUT, address, count, response)

    async def read_coils(self, address: int, count: int = 1) -> list[bool]:
        """FC1: `count` coils from `address`."""
        response = await self._request("read_coils", address, count=count)
        bits = list(getattr(response, "bits", None) or [])
        if len(bits) < count:
            raise RegisterMapError(f"coil {address}: asked for {count} coils, got {len(bits)}")
        values = [bool(b) for b in bits[:count]]
        self.registers[f"{RegisterTable.COIL}:{address}"] = [int(b) for b in values]
        return values

    async def write_register(self, address: int, value: int) -> None:
        """FC6: one holding register."""
        await self._request("write_register", address, value)
        self.written[f"{RegisterTable.HOLDING}:{address}"] = [value]

    async def write_registers(self, address: int, values: Sequence[int]) -> None:
        """FC16: consecutive holding registers."""
        await self._request("write_registers", address, list(values))
        self.written[f"{RegisterTable.HOLDING}:{address}"] = list(values)

    async def write_coil(self, address: int, value: bool) -> None:
        """FC5: one coil (0xFF00 on, 0x0000 off)."""
        await self._request("write_coil", address, value)
        self.written[f"{RegisterTable.COIL}:{address}"] = [int(value)]

    def diagnostics(self) -> dict[str, object]:
        """Framing, unit id and the last raw registers (no host names)."""
        return {
            "framing": str(self.connection.framing),
            "unit_id": self.unit_id,
            "registers": {key: list(values) for key, values in self.registers.items()},
            "written": {key: list(values) for key, values in self.written.items()},
        }

    def release(self) -> None:
        """Give the unit back; the connection closes with its last unit. Idempotent."""
        if not self.released:
            self.released = True
            self._hub.release(self)

    async def _request(self, method: str, *args: Any, **kwargs: Any) -> Any:
        if self.released:
            raise ModbusClosedError(f"unit {self.unit_id} at {self.connection.label} is released")
        response = await self.connection.request(method, self.unit_id, *args, **kwargs)
        self.last_success = time.monotonic()
        return response

    def _registers(
        self, table: RegisterTable, address: int, count: int, response: Any
    ) -> list[int]:
        registers = [int(r) for r in (getattr(response, "registers", None) or [])]
        if len(registers) != count:
            raise RegisterMapError(
                f"{table} {address}: asked for {count} registers, got {len(registers)}"
            )
        self.registers[f"{table}:{address}"] = registers
        return registers


class ModbusHub:
    """The Modbus connections of one site: shared per (host, port, framing), closed together."""

    def __init__(
        self,
        *,
        timeout: float = DEFAULT_TIMEOUT_S,
        backoff_initial: float = DEFAULT_BACKOFF_INITIAL_S,
        backoff_max: float = DEFAULT_BACKOFF_MAX_S,
    ) -> None:
        if timeout <= 0:
            raise ValueError(f"timeout must be positive: {timeout!r}")
        self.timeout = timeout
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self._connections: dict[tuple[str, int, Framing], ModbusConnection] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._closed = False

    @property
    def connections(self) -> list[ModbusConnection]:
        """The open connections (one per host, port and framing)."""
        return list(self._connections.values())

    def unit(
        self,
        host: str,
        port: int,
        framing: Framing | str,
        unit_id: int,
        *,
        min_gap: float = 0.0,
    ) -> ModbusUnit:
        """A unit behind the shared connection to (host, port, framing); created on first use."""
        if self._closed:
            raise ModbusClosedError("the Modbus hub is closed")
        key = (host.strip().lower(), int(port), Framing(framing))
        connection = self._connections.get(key)
        if connection is None:
            connection = ModbusConnection(
                key[0],
                key[1],
                key[2],
                timeout=self.timeout,
                backoff_initial=self.backoff_initial,
                backoff_max=self.backoff_max,
            )
            self._connections[key] = connection
        connection.attach(min_gap)
        return ModbusUnit(self, connection, unit_id, min_gap)

    def release(self, unit: ModbusUnit) -> None:
        """Called by `ModbusUnit.release`: close the connection when its last unit is gone."""
        connection = unit.connection
        connection.detach(unit.min_gap)
        if connection.users == 0:
            connection.close()
            key = (connection.host, connection.port, connection.framing)
            if self._connections.get(key) is connection:
                del self._connections[key]

    def start_task(self, coro: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None]:
        """Run a device's background job (a heartbeat); the hub cancels it when it closes."""
        if self._closed:
            coro.close()
            raise ModbusClosedError("the Modbus hub is closed")
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def async_close(self) -> None:
        """Cancel the background tasks and close every connection. Idempotent."""
        self._closed = True
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        for connection in self._connections.values():
            connection.close()
        self._connections.clear()
        # Let the transports run their close callbacks, so no socket outlives the hub.
        await asyncio.sleep(0)

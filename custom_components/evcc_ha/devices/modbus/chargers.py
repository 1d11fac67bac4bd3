"""Modbus chargers: Phoenix Contact EV-CC/EV-ETH (and Wallbe), Alfen Eve, Heidelberg Energy Control.

Rules every charger here follows (`_ModbusCharger`):

* A current is never written above the configured hardware ``max_current`` (it is clamped) and
  never below 6 A while the charger is, or is being, enabled: such a command raises
  `DeviceError` before anything is written. While disabled, a current below 6 A is ignored.
* A command that disables never writes "enable" (for the chargers whose current register is
  the switch, the current of that command is only remembered).
* Only what changed is written: each charger remembers the value of every register it writes,
  as last written *or* last read (so a value changed on the device itself is written again).
  The Alfen re-writes its setpoint anyway when it is older than its keep-alive interval.
* Phases are switched only by a charger that can (an Alfen with three phases connected); the
  others ignore the phases of a command.
* The detection at setup (meter present, 0.1 A firmware, 3-phase Alfen, Heidelberg watchdog)
  runs in `async_setup`; when the charger does not answer then, it runs before the first read.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable
from typing import Final

from ...core.devices import Device
from ...core.model import ChargerCommand, ChargerReading, DeviceError, Status, parse_status
from .client import ModbusUnit
from .codec import (
    DataType,
    WordOrder,
    check_current,
    check_energy,
    check_power,
    check_voltage,
    decode,
    decode_ascii,
    decode_many,
    encode,
)
from .const import MIN_CURRENT_A
from .errors import ModbusConfigError, ModbusError, ModbusExceptionResponseError, RegisterMapError

__all__ = [
    "ALFEN_KEEPALIVE_S",
    "AlfenCharger",
    "HeidelbergCharger",
    "PhoenixEvEthCharger",
]

_LOGGER = logging.getLogger(__name__)

_MAX_OFFERED_A: Final = 100.0  # an offered current above this is a misread register


class _ModbusCharger(Device):
    """What every Modbus charger shares: the current rules and the lazy setup."""

    def __init__(self, unit: ModbusUnit, *, name: str, max_current: float) -> None:
        if not math.isfinite(max_current) or max_current < MIN_CURRENT_A:
            raise ModbusConfigError(
                f"max current must be at least {MIN_CURRENT_A:g} A: {max_current!r}"
            )
        self.unit = unit
        self.name = name
        self.max_current = float(max_current)
        self._setup_done = False

    async def async_setup(self) -> None:
        """Detect the device's features; a charger that does not answer now is set up later."""
        try:
            await self._ensure_setup()
        except ModbusError as err:
            _LOGGER.debug("%s: setup deferred to the first read: %s", self.name, err)

    async def async_close(self) -> None:
        self.unit.release()

    def diagnostics(self) -> dict[str, object]:
        return {**self.unit.diagnostics(), "max_current": self.max_current}

    async def _ensure_setup(self) -> None:
        if not self._setup_done:
            await self._setup()
            self._setup_done = True

    async def _setup(self) -> None:
        """Feature detection (override)."""

    def _current_for(self, current: float, step: float, *, enabled: bool | None) -> float | None:
        """The current to write for a commanded `current`: clamped to the maximum, floored to
        `step`. Below 6 A it raises while (being) enabled and gives None while disabled."""
        if not math.isfinite(current) or current < 0:
            raise DeviceError(f"{self.name}: invalid current {current!r} A")
        value = round(math.floor(min(current, self.max_current) / step + 1e-6) * step, 3)
        if value < MIN_CURRENT_A:
            if enabled is False:
                return None
            raise DeviceError(
                f"{self.name}: refusing {current:g} A while enabled (minimum {MIN_CURRENT_A:g} A)"
            )
        return value

    @staticmethod
    def _check_phases(command: ChargerCommand) -> None:
        if command.phases is not None and command.phases not in (1, 3):
            raise DeviceError(f"invalid phase count {command.phases!r}")


# --- Phoenix Contact EV-CC / EV-ETH, Wallbe ------------------------------------------------------

PHX_STATUS: Final = 100  # input: low byte = IEC 61851 letter
PHX_VOLTAGES: Final = 108  # input: 3 × int32 V, 3 × int32 A (114), int32 W (120); low word first
PHX_ENABLE: Final = 400  # coil
PHX_CURRENT: Final = 528  # holding: A, or 0.1 A with the extended Wallbe firmware
PHX_ENERGY: Final = 904  # holding: uint32 Wh, low word first (Phoenix firmware)
PHX_ENERGY_WALLBE: Final = 2980  # holding: uint64 Wh, low word first (Wallbe firmware)
PHX_MILLI_THRESHOLD: Final = 60  # register 528 ≥ 60 at setup → it counts 0.1 A (evcc)


class PhoenixEvEthCharger(_ModbusCharger):
    """Phoenix Contact EV-CC-AC1-M3-…-ETH controllers, with Phoenix or Wallbe firmware.

    Unit id 255 (DIP switch 10 on). Status: input 100, low byte an ASCII letter. Enable: coil 400.
    Current: holding 528 in A, or in 0.1 A with the extended Wallbe firmware (detected as evcc
    does: 528 reads ≥ 60 at setup; ``milli_current`` forces it). Meter (present when input 108,
    the L1 voltage, reads > 0): voltages input 108–113, currents 114–119 and power 120–121
    (int32, low word first, one request), energy holding 904 (uint32 Wh, low word first) or,
    Wallbe, 2980 (uint64 Wh).
    """

    def __init__(
        self, unit: ModbusUnit, *, name: str, max_current: float, milli_current: bool = False
    ) -> None:
        super().__init__(unit, name=name, max_current=max_current)
        self.force_milli = milli_current
        self.milli: bool | None = True if milli_current else None  # 0.1 A steps
        self.has_meter: bool | None = None
        self._enabled: bool | None = None  # coil 400 as last read or written
        self._current_raw: int | None = None  # register 528 as last read or written

    def diagnostics(self) -> dict[str, object]:
        return {**super().diagnostics(), "milli_current": self.milli, "meter": self.has_meter}

    async def _setup(self) -> None:
        try:
            voltage = decode(
                await self.unit.read_input(PHX_VOLTAGES, 2), DataType.UINT32, WordOrder.LITTLE
            )
            has_meter = voltage > 0
        except ModbusExceptionResponseError as err:
            if err.from_gateway:
                raise
            has_meter = False  # no meter registers on this controller
        if self.force_milli:
            milli = True
        else:
            milli = (await self.unit.read_holding(PHX_CURRENT, 1))[0] >= PHX_MILLI_THRESHOLD
        self.has_meter, self.milli = has_meter, milli

    @property
    def _step(self) -> float:
        return 0.1 if self.milli else 1.0

    async def async_read(self) -> ChargerReading:
        await self._ensure_setup()
        status = self._status((await self.unit.read_input(PHX_STATUS, 1))[0])
        enabled = (await self.unit.read_coils(PHX_ENABLE, 1))[0]
        raw_current = (await self.unit.read_holding(PHX_CURRENT, 1))[0]
        offered = raw_current * self._step
        if offered > _MAX_OFFERED_A:
            raise RegisterMapError(f"{self.name}: offered current {offered:g} A is not plausible")
        power = energy = None
        currents = voltages = None
        if self.has_meter:
            meter = await self.unit.read_input(PHX_VOLTAGES, 14)  # voltages, currents, power
            u1, u2, u3 = (
                check_voltage(v, "phase voltage")
                for v in decode_many(meter[0:6], DataType.INT32, 3, WordOrder.LITTLE)
            )
            voltages = (u1, u2, u3)
            i1, i2, i3 = (
                check_current(v, "phase current")
                for v in decode_many(meter[6:12], DataType.INT32, 3, WordOrder.LITTLE)
            )
            currents = (i1, i2, i3)
            power = check_power(decode(meter[12:14], DataType.INT32, WordOrder.LITTLE))
            if self.milli:
                wh = decode(
                    await self.unit.read_holding(PHX_ENERGY_WALLBE, 4),
                    DataType.UINT64,
                    WordOrder.LITTLE,
                )
            else:
                wh = decode(
                    await self.unit.read_holding(PHX_ENERGY, 2), DataType.UINT32, WordOrder.LITTLE
                )
            energy = check_energy(wh / 1000.0)
        self._enabled, self._current_raw = enabled, raw_current
        return ChargerReading(
            status=status,
            enabled=enabled,
            power=power,
            energy=energy,
            currents=currents,
            voltages=voltages,
            offered_current=round(offered, 1),
        )

    def _status(self, register: int) -> Status:
        letter = chr(register & 0xFF)
        if not letter.isalpha():
            raise DeviceError(f"{self.name}: invalid charger status {register:#06x}")
        return parse_status(letter)

    async def async_apply(self, command: ChargerCommand) -> None:
        """Current (register 528), then enable (coil 400); phases cannot be switched."""
        self._check_phases(command)
        await self._ensure_setup()
        enable_after = command.enable if command.enable is not None else self._enabled
        raw: int | None = None
        if command.current is not None:
            current = self._current_for(command.current, self._step, enabled=enable_after)
            if current is not None:
                raw = round(current / self._step)
        if raw is not None and raw != self._current_raw:
            self._current_raw = None  # unknown until the write is confirmed
            await self.unit.write_register(PHX_CURRENT, raw)
            self._current_raw = raw
        if command.enable is not None and command.enable != self._enabled:
            self._enabled = None
            await self.unit.write_coil(PHX_ENABLE, command.enable)
            self._enabled = command.enable

    async def async_probe(self) -> dict[str, object]:
        """Detect the features and check the status and current registers (nothing is written)."""
        await self._ensure_setup()
        register = (await self.unit.read_input(PHX_STATUS, 1))[0]
        letter = chr(register & 0xFF)
        if letter not in "ABCDEF":
            raise RegisterMapError(f"{self.name}: status register holds {register:#06x}")
        enabled = (await self.unit.read_coils(PHX_ENABLE, 1))[0]
        offered = (await self.unit.read_holding(PHX_CURRENT, 1))[0] * self._step
        if offered > _MAX_OFFERED_A:
            raise RegisterMapError(f"{self.name}: offered current {offered:g} A is not plausible")
        return {
            "status": letter,
            "enabled": enabled,
            "offered_current": round(offered, 1),
            "meter": self.has_meter,
            "milli_current": self.milli,
        }


# --- Alfen Eve -----------------------------------------------------------------------------------

ALFEN_VOLTAGES: Final = 306  # holding: 3 × float32 V (L-N)
ALFEN_CURRENTS: Final = 320  # holding: 3 × float32 A
ALFEN_POWER: Final = 344  # holding: float32 W
ALFEN_ENERGY: Final = 374  # holding: float64 Wh
ALFEN_STATUS: Final = 1201  # holding: 5 registers ASCII, the Mode 3 state ("C2")
ALFEN_SETPOINT: Final = 1210  # holding: float32 A, written with FC16; 0 = disabled
ALFEN_PHASES: Final = 1215  # holding: 1 or 3
ALFEN_KEEPALIVE_S: Final = 25.0  # evcc re-writes the setpoint this often


class AlfenCharger(_ModbusCharger):
    """Alfen Eve ("Active load balancing" with "Energy Management System" as data source).

    The setpoint (holding 1210, float32 A) is the switch: 0 = disabled, > 0 = enabled at that
    current. The Alfen falls back to its safe current when the setpoint is older than its
    validity time, so the last setpoint written is written again when it is older than
    ``keepalive_interval`` (25 s, as evcc): by `async_read` (every cycle, so nothing else is
    needed while the cycle is shorter than the validity time), by `async_apply` and by
    `async_keepalive`. Nothing is re-written before the first command. Phases (holding 1215) are
    switched when L2 and L3 carry a voltage at setup.
    """

    def __init__(
        self,
        unit: ModbusUnit,
        *,
        name: str,
        max_current: float,
        keepalive_interval: float = ALFEN_KEEPALIVE_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(unit, name=name, max_current=max_current)
        self.keepalive_interval = keepalive_interval
        self._clock = clock
        self.phases_switchable: bool | None = None
        self._setpoint: float | None = None  # register 1210 as last read or written
        self._current: float | None = None  # the current enabling writes
        self._phases: int | None = None  # register 1215 as last read or written
        self._written: float | None = None  # the last setpoint written …
        self._written_at = -math.inf  # … and when

    def diagnostics(self) -> dict[str, object]:
        return {**super().diagnostics(), "phases_switchable": self.phases_switchable}

    async def _setup(self) -> None:
        voltages = await self._floats(ALFEN_VOLTAGES)
        self.phases_switchable = voltages[1] != 0 and voltages[2] != 0

    async def _floats(self, address: int) -> list[float]:
        """Three float32 (NaN on a phase that is not there reads 0, as evcc)."""
        values = decode_many(await self.unit.read_holding(address, 6), DataType.FLOAT32, 3)
        return [0.0 if math.isnan(v) else v for v in values]

    async def async_read(self) -> ChargerReading:
        await self._ensure_setup()
        status = self._status(decode_ascii(await self.unit.read_holding(ALFEN_STATUS, 5)))
        setpoint = decode(await self.unit.read_holding(ALFEN_SETPOINT, 2), DataType.FLOAT32)
        if not (math.isfinite(setpoint) and 0.0 <= setpoint <= _MAX_OFFERED_A):
            raise RegisterMapError(f"{self.name}: setpoint {setpoint!r} A is not plausible")
        phases: int | None = None
        if self.phases_switchable:
            phases = (await self.unit.read_holding(ALFEN_PHASES, 1))[0]
            if phases not in (1, 3):
                raise RegisterMapError(f"{self.name}: phases register holds {phases}")
        u1, u2, u3 = (check_voltage(v, "phase voltage") for v in await self._floats(ALFEN_VOLTAGES))
        i1, i2, i3 = (check_current(v, "phase current") for v in await self._floats(ALFEN_CURRENTS))
        power = check_power(decode(await self.unit.read_holding(ALFEN_POWER, 2), DataType.FLOAT32))
        wh = decode(await self.unit.read_holding(ALFEN_ENERGY, 4), DataType.FLOAT64)
        energy = check_energy(wh / 1000.0)
        self._setpoint, self._phases = setpoint, phases
        if self._current is None and setpoint >= MIN_CURRENT_A:
            self._current = min(setpoint, self.max_current)
        try:
            await self.async_keepalive()
        except ModbusError as err:  # the reading holds; the next cycle tries again
            _LOGGER.warning("%s: keep-alive write failed: %s", self.name, err)
        return ChargerReading(
            status=status,
            enabled=setpoint > 0,
            power=power,
            energy=energy,
            currents=(i1, i2, i3),
            voltages=(u1, u2, u3),
            offered_current=round(setpoint, 2),
            phases=phases,
        )

    def _status(self, text: str) -> Status:
        # Alfen reports E (no power to the vehicle) while idle: evcc maps it to A.
        if text.upper().startswith("E"):
            return Status.A
        return parse_status(text)

    async def async_keepalive(self) -> bool:
        """Write the last setpoint again when it is older than the keep-alive interval."""
        if self._written is None or self._clock() - self._written_at < self.keepalive_interval:
            return False
        await self._write_setpoint(self._written)
        return True

    async def async_apply(self, command: ChargerCommand) -> None:
        """Phases (1215), then the setpoint (1210: the current when enabled, else 0)."""
        self._check_phases(command)
        await self._ensure_setup()
        enable_after = command.enable
        if enable_after is None and self._setpoint is not None:
            enable_after = self._setpoint > 0
        current = self._current
        if command.current is not None:
            wanted = self._current_for(command.current, 0.01, enabled=enable_after)
            if wanted is not None:
                current = wanted
        if command.phases is not None and self.phases_switchable and command.phases != self._phases:
            self._phases = None
            await self.unit.write_register(ALFEN_PHASES, command.phases)
            self._phases = command.phases
        elif command.phases is not None and not self.phases_switchable:
            _LOGGER.debug("%s: single-phase installation, phases not switched", self.name)
        self._current = current
        if enable_after is None:  # state unknown (never read) and not commanded: nothing to set
            await self.async_keepalive()
            return
        setpoint = (current or MIN_CURRENT_A) if enable_after else 0.0
        if self._setpoint is None or abs(setpoint - self._setpoint) > 0.005:
            await self._write_setpoint(setpoint)
        else:
            await self.async_keepalive()

    async def _write_setpoint(self, setpoint: float) -> None:
        self._setpoint = None
        await self.unit.write_registers(ALFEN_SETPOINT, encode(setpoint, DataType.FLOAT32))
        self._setpoint = self._written = setpoint
        self._written_at = self._clock()

    async def async_probe(self) -> dict[str, object]:
        """Detect the phases and check the status and setpoint registers (nothing is written)."""
        await self._ensure_setup()
        text = decode_ascii(await self.unit.read_holding(ALFEN_STATUS, 5))
        if not text or text[0].upper() not in "ABCDEF":
            raise RegisterMapError(f"{self.name}: status registers hold {text!r}")
        setpoint = decode(await self.unit.read_holding(ALFEN_SETPOINT, 2), DataType.FLOAT32)
        if not (math.isfinite(setpoint) and 0.0 <= setpoint <= _MAX_OFFERED_A):
            raise RegisterMapError(f"{self.name}: setpoint {setpoint!r} A is not plausible")
        return {
            "status": text,
            "offered_current": round(setpoint, 2),
            "phases_switchable": self.phases_switchable,
        }


# --- Heidelberg Energy Control -------------------------------------------------------------------

HEC_STATUS: Final = 5  # input: 5 … 18 are read in one request
HEC_BLOCK: Final = 14  # status 5, currents 6–8 (0.1 A), temperature 9, voltages 10–12, lock 13,
# power 14 (W), energy since power-on 15–16, energy 17–18 (uint32 Wh, high word first)
HEC_WATCHDOG: Final = 257  # holding: watchdog timeout in ms (0 = off)
HEC_STANDBY: Final = 258  # holding: 4 = standby disabled
HEC_REMOTE_LOCK: Final = 259  # holding: 1 = unlocked
HEC_CURRENT: Final = 261  # holding: 0.1 A; 0 = disabled
HEC_STANDBY_DISABLED: Final = 4
HEC_MIN_GAP_S: Final = 0.1  # pause between two requests (evcc-io/evcc#15437)
HEC_ERROR_STATE: Final = 10
_HEC_STATUS: Final = {2: Status.A, 3: Status.A, 4: Status.B, 5: Status.B, 6: Status.C, 7: Status.C}


class HeidelbergCharger(_ModbusCharger):
    """Heidelberg Energy Control (follower mode), RS485 through a gateway.

    Setup writes 4 to holding 258 (standby off, so the box keeps talking) and reads the watchdog
    timeout (holding 257, ms). The box falls back to its failsafe current when it sees no
    request within that time; evcc polls the status every timeout / 4, and so does a heartbeat
    task here (owned by the hub, cancelled by `async_close` or the hub's close). A beat is
    skipped when the box answered more recently, so a short control cycle is the heartbeat.
    The current (holding 261, 0.1 A) is the switch: 0 = disabled; enabling writes the last
    current again (6 A before any is known). Status (input 5): 2/3 A, 4/5 B, 6/7 C; 10 is the
    error state (the remote lock, holding 259, is released as evcc does); others are invalid.
    """

    def __init__(self, unit: ModbusUnit, *, name: str, max_current: float) -> None:
        super().__init__(unit, name=name, max_current=max_current)
        self.watchdog_ms: int | None = None
        self.heartbeats = 0  # status reads sent by the heartbeat
        self._heartbeat: asyncio.Task[None] | None = None
        self._raw_current: int | None = None  # register 261 as last read or written
        self._current_raw = round(MIN_CURRENT_A * 10)  # what enabling writes

    def diagnostics(self) -> dict[str, object]:
        return {**super().diagnostics(), "watchdog_ms": self.watchdog_ms}

    @property
    def heartbeat_interval(self) -> float | None:
        """Seconds between two heartbeats (watchdog / 4), None without a watchdog."""
        if not self.watchdog_ms:
            return None
        return max(self.watchdog_ms / 4000.0, 0.05)

    async def _setup(self) -> None:
        await self.unit.write_registers(HEC_STANDBY, [HEC_STANDBY_DISABLED])
        self.watchdog_ms = (await self.unit.read_holding(HEC_WATCHDOG, 1))[0]
        interval = self.heartbeat_interval
        if interval is not None and self._heartbeat is None:
            self._heartbeat = self.unit.hub.start_task(
                self._beat(interval), name=f"evcc_ha heartbeat {self.name}"
            )

    async def async_close(self) -> None:
        if self._heartbeat is not None:
            self._heartbeat.cancel()
            try:
                await self._heartbeat
            except asyncio.CancelledError:
                pass
            self._heartbeat = None
        await super().async_close()

    async def _beat(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            if time.monotonic() - self.unit.last_success < interval:
                continue  # answered recently: the watchdog is fed
            try:
                await self.unit.read_input(HEC_STATUS, 1)
                self.heartbeats += 1
            except ModbusError as err:
                _LOGGER.debug("%s: heartbeat failed: %s", self.name, err)

    async def async_read(self) -> ChargerReading:
        await self._ensure_setup()
        block = await self.unit.read_input(HEC_STATUS, HEC_BLOCK)
        status = await self._status(block[0])
        raw_current = (await self.unit.read_holding(HEC_CURRENT, 1))[0]
        if raw_current > _MAX_OFFERED_A * 10:
            raise RegisterMapError(f"{self.name}: current register holds {raw_current}")
        currents = tuple(check_current(r / 10.0, "phase current") for r in block[1:4])
        u1, u2, u3 = (check_voltage(float(r), "phase voltage") for r in block[5:8])
        power = check_power(float(block[9]))
        energy = check_energy(decode(block[12:14], DataType.UINT32) / 1000.0)
        self._raw_current = raw_current
        if raw_current:
            self._current_raw = raw_current
        i1, i2, i3 = currents
        return ChargerReading(
            status=status,
            enabled=raw_current != 0,
            power=power,
            energy=energy,
            currents=(i1, i2, i3),
            voltages=(u1, u2, u3),
            offered_current=raw_current / 10.0,
        )

    async def _status(self, code: int) -> Status:
        if (status := _HEC_STATUS.get(code)) is not None:
            return status
        if code == HEC_ERROR_STATE:
            if (await self.unit.read_holding(HEC_REMOTE_LOCK, 1))[0] != 1:
                await self.unit.write_registers(HEC_REMOTE_LOCK, [1])
            raise DeviceError(f"{self.name}: charger reports error state {code}")
        raise DeviceError(f"{self.name}: invalid charger status {code}")

    async def async_apply(self, command: ChargerCommand) -> None:
        """The current register 261 (the current when enabled, else 0); no phase switching."""
        self._check_phases(command)
        await self._ensure_setup()
        enable_after = command.enable
        if enable_after is None and self._raw_current is not None:
            enable_after = self._raw_current != 0
        if command.current is not None:
            current = self._current_for(command.current, 0.1, enabled=enable_after)
            if current is not None:
                self._current_raw = round(current * 10)
        if enable_after is None:
            return
        target = self._current_raw if enable_after else 0
        if target != self._raw_current:
            self._raw_current = None
            await self.unit.write_registers(HEC_CURRENT, [target])
            self._raw_current = target

    async def async_probe(self) -> dict[str, object]:
        """Read the watchdog timeout and the status (nothing is written)."""
        watchdog = (await self.unit.read_holding(HEC_WATCHDOG, 1))[0]
        block = await self.unit.read_input(HEC_STATUS, HEC_BLOCK)
        code = block[0]
        if code not in _HEC_STATUS and code != HEC_ERROR_STATE:
            raise RegisterMapError(f"{self.name}: status register holds {code}")
        return {"status_code": code, "watchdog_ms": watchdog}

"""The control cycle, written once: every host runs this controller.

Home Assistant's coordinator, the simulator, the API tests and the benchmarks all host the same
`Controller` with their own devices and clock, so what the simulator measures is what Home
Assistant runs. One cycle (`async_cycle`):

1. read every meter, charger and SoC source concurrently, each with its own timeout;
2. check each reading for garbage (a device that fails or lies is unavailable this cycle, logged
   once on loss and once on recovery, at most once a minute);
3. let the core decide (`Site.update`);
4. send the commands concurrently (a charger that refuses is told to the core, which re-decides
   from what the charger really does);
5. build the evcc state document once and hand it to every subscriber.

It is also the one write path of every API (`api.backend.Backend`): a setting is validated and
stored by the core, its command reaches the charger before the call returns, and one new state
document is published. A charger that refuses that command raises `CommandError` (the setting is
kept: the next cycle sends the command again).

No Home Assistant, no wall clock: the clock and the state builder are passed in.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Final

from .clock import Clock
from .devices import Charger, DevicePort, Meter, SiteDevices, SocSource, VehicleSource
from .model import (
    BatteryMode,
    ChargerCommand,
    ChargerReading,
    CircuitReading,
    CommandError,
    DeviceError,
    Event,
    LoadpointReadings,
    MeterReading,
    SiteReadings,
    Status,
    VehicleReading,
    VehicleValues,
    parse_status,
)
from .session import Session
from .settings import MIN_CHARGE_CURRENT, LoadpointKey, SiteKey
from .site import Site

_LOGGER = logging.getLogger(__name__)

DEVICE_TIMEOUT_S: Final = 5.0
"""Seconds one device may take to answer a read or accept a command."""
LOG_REPEAT_S: Final = 60.0
"""A device that flaps logs its loss (and its recovery) at most this often."""

# What a reading may hold at most before it is garbage (beyond any household hardware).
MAX_METER_POWER_W: Final = 10_000_000.0
MAX_CHARGER_POWER_W: Final = 500_000.0
MAX_CHARGER_CURRENT_A: Final = 1_000.0
MAX_PHASE_VOLTAGE_V: Final = 1_000.0  # far beyond any household phase (230 V, 120 V)
MAX_ENERGY_KWH: Final = 1e12

StateBuilder = Callable[[Site, datetime], dict[str, Any]]
StateListener = Callable[[dict[str, Any]], None]


def loadpoint_device_key(index: int) -> str:
    """The availability key of loadpoint `index` (0-based): its charger (and the loadpoint)."""
    return f"lp{index + 1}"


@dataclass(frozen=True, slots=True)
class CycleReport:
    """What one cycle produced: the time, the state document, what failed, what happened."""

    now: datetime
    state: dict[str, Any]
    failed: frozenset[str] = frozenset()
    events: tuple[Event, ...] = ()
    skipped: str | None = None
    vehicle_keys: Mapping[str, str] = field(default_factory=dict)  # name → vehicle1, …

    def meters_ok(self, *groups: str) -> bool:
        """True when no meter of the named groups (grid, pv, battery, aux) failed this cycle."""
        return not any(key.rstrip("0123456789") in groups for key in self.failed)

    def loadpoint_ok(self, index: int) -> bool:
        return loadpoint_device_key(index) not in self.failed

    def vehicle_values_ok(self, name: str) -> bool:
        """False while the car integration's values (range, odometer, …) of vehicle `name` fail
        (a guest car or a vehicle without them: True)."""
        key = self.vehicle_keys.get(name)
        return key is None or f"{key}_values" not in self.failed


class _Health:
    """Loss and recovery of one device, logged at most once a minute each."""

    __slots__ = ("lost", "lost_logged", "recovered_logged")

    def __init__(self) -> None:
        self.lost = False
        self.lost_logged: float | None = None
        self.recovered_logged: float | None = None


class Controller:
    """One site's control cycle and the API backend, for every host."""

    def __init__(
        self,
        site: Site,
        devices: SiteDevices,
        clock: Clock,
        build_state: StateBuilder,
        *,
        device_timeout: float = DEVICE_TIMEOUT_S,
    ) -> None:
        if len(devices.loadpoints) != len(site.loadpoints):
            raise ValueError("the site and its devices have different loadpoints")
        if len(devices.vehicle_sources()) != len(site.vehicles):
            raise ValueError("the site and its devices have different vehicles")
        self._site = site
        self.devices = devices
        self.clock = clock
        self._build_state = build_state
        self.device_timeout = device_timeout
        self._state: dict[str, Any] | None = None
        self._listeners: list[StateListener] = []
        self._health: dict[str, _Health] = {}
        self._cycle_lock = asyncio.Lock()  # one cycle at a time
        self._command_lock = asyncio.Lock()  # decisions go out in the order they were made
        self.report: CycleReport | None = None  # the last cycle's

    # --- Backend -------------------------------------------------------------------------------

    @property
    def site(self) -> Site:
        return self._site

    def now(self) -> datetime:
        return self.clock.now()

    def state(self) -> dict[str, Any]:
        """The state document of the last cycle or setting change (built once, shared)."""
        if self._state is None:
            self._state = self._build_state(self._site, self.now())
        return self._state

    def subscribe(self, listener: StateListener) -> Callable[[], None]:
        """Call `listener(state)` after every new state document; returns the unsubscribe."""
        self._listeners.append(listener)

        def unsubscribe() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return unsubscribe

    async def async_set_loadpoint(
        self, index: int, key: LoadpointKey | str, value: object
    ) -> object:
        """Validate and store one loadpoint setting; its command reaches the charger at once."""
        stored = await self.async_set_loadpoint_settings(index, [(key, value)])
        return next(iter(stored.values()))

    async def async_set_loadpoint_settings(
        self, index: int, changes: Iterable[tuple[LoadpointKey | str, object]]
    ) -> dict[LoadpointKey, object]:
        """Several loadpoint settings as one change (one decision, one state document)."""
        changes = list(changes)
        return await self._async_change(
            index, lambda now: self._site.update_loadpoint_settings(index, changes, now)
        )

    def check_loadpoint_settings(
        self, index: int, changes: Iterable[tuple[LoadpointKey | str, object]]
    ) -> None:
        """Raise the `SettingError` the same change would raise now; change nothing."""
        self._site.check_loadpoint_settings(index, changes, self.now())

    async def async_set_plan(
        self, index: int, time: object, *, soc: object = None, energy: object = None
    ) -> dict[LoadpointKey, object]:
        """Charge to `soc` % or `energy` kWh by `time` (one validated change)."""
        return await self._async_change(
            index, lambda now: self._site.set_plan(index, now, time, soc=soc, energy=energy)
        )

    async def async_clear_plan(self, index: int) -> None:
        """Delete the plan of loadpoint `index`."""
        await self._async_change(index, lambda now: ({}, self._site.clear_plan(index, now)))

    async def async_set_vehicle_settings(
        self, name: str, changes: Iterable[tuple[LoadpointKey | str, object]]
    ) -> dict[LoadpointKey, object]:
        """Settings of the vehicle `name` (or title) as one change, wherever it is."""
        changes = list(changes)
        return await self._async_vehicle_change(
            lambda now: self._site.update_vehicle_settings(name, changes, now)
        )

    async def async_set_vehicle_plan(
        self, name: str, time: object, soc: object
    ) -> dict[LoadpointKey, object]:
        return await self._async_vehicle_change(
            lambda now: self._site.set_vehicle_plan(name, now, time, soc)
        )

    async def async_clear_vehicle_plan(self, name: str) -> None:
        await self._async_vehicle_change(lambda now: self._site.clear_vehicle_plan(name, now))

    async def async_set_vehicle_mode(self, name: str, value: object) -> object:
        """The charge mode a loadpoint takes when the vehicle arrives (None clears it)."""
        mode = self._site.set_vehicle_mode(name, value)
        self._publish(self.now())
        return mode

    async def async_start_vehicle_detection(self, index: int) -> None:
        """Forget the vehicle at loadpoint `index` and look for the plugged-in one."""
        await self._async_change(
            index, lambda now: ({}, self._site.start_vehicle_detection(index, now))
        )

    async def async_set_site(self, key: SiteKey | str, value: object) -> object:
        """Validate and store one site setting (used from the next cycle on, as in evcc)."""
        stored = self._site.set_site_setting(key, value)
        _LOGGER.debug("Site: %s set to %r", key, stored)
        self._publish(self.now())
        return stored

    async def async_set_battery_mode_external(self, value: object) -> BatteryMode | None:
        """A battery mode from outside (evcc's batterymode), used from the next cycle on."""
        mode = self._site.set_battery_mode_external(value, self.now())
        self._publish(self.now())
        return mode

    async def async_edit_session(self, session_id: int, body: object) -> Session:
        """Change the vehicle, loadpoint or odometer of a logged session (evcc's PUT)."""
        session = self._site.edit_session(session_id, body)
        self._publish(self.now())
        return session

    async def async_delete_session(self, session_id: int) -> None:
        self._site.delete_session(session_id)
        self._publish(self.now())

    async def _async_change(
        self,
        index: int,
        change: Callable[[datetime], tuple[dict[LoadpointKey, object], ChargerCommand | None]],
    ) -> dict[LoadpointKey, object]:
        async with self._command_lock:
            now = self.now()
            stored, command = change(now)
            error = await self._async_send(index, command) if command else None
        _LOGGER.debug("Loadpoint %s: set %s", index + 1, stored)
        self._publish(now)
        if error is not None:
            raise CommandError(error)
        return stored

    async def _async_vehicle_change(
        self,
        change: Callable[
            [datetime], tuple[dict[LoadpointKey, object], int | None, ChargerCommand | None]
        ],
    ) -> dict[LoadpointKey, object]:
        """A vehicle's change: sent to the charger of the loadpoint it is at, if any."""
        async with self._command_lock:
            now = self.now()
            stored, index, command = change(now)
            error = None
            if index is not None and command:
                error = await self._async_send(index, command)
        self._publish(now)
        if error is not None:
            raise CommandError(error)
        return stored

    # --- lifecycle -----------------------------------------------------------------------------

    async def async_setup(self) -> None:
        """Open every device's connection; on a failure the opened ones are closed again."""
        opened: list[DevicePort] = []
        try:
            for device in self.devices.all():
                await device.async_setup()
                opened.append(device)
        except BaseException:
            await self._async_close(opened)
            raise

    async def async_close(self) -> None:
        """Close every device (a device that fails to close is only logged)."""
        await self._async_close(self.devices.all())

    @staticmethod
    async def _async_close(devices: Iterable[DevicePort]) -> None:
        for device in devices:
            try:
                await device.async_close()
            except Exception:
                _LOGGER.exception("Closing %s failed", device.name)

    # --- the cycle -----------------------------------------------------------------------------

    async def async_cycle(self) -> CycleReport:
        """Read, decide, command, publish: one control cycle."""
        async with self._cycle_lock:
            readings, failed = await self._async_read_all()
            async with self._command_lock:
                now = self.now()
                result = self._site.update(now, readings)
                sends = [
                    self._async_send(index, command)
                    for index, command in enumerate(result.commands)
                    if command
                ]
                if result.battery_mode is not None:
                    sends.append(self._async_set_battery_mode(result.battery_mode))
                await asyncio.gather(*sends)
            if result.skipped:
                _LOGGER.debug("Cycle of %s skipped: %s", self._site.config.title, result.skipped)
            failed |= {loadpoint_device_key(index) for index in result.failed}
            state = self._publish(now)
            self.report = CycleReport(
                now=now,
                state=state,
                failed=frozenset(failed),
                events=tuple(result.events),
                skipped=result.skipped,
                vehicle_keys=dict(
                    zip(self._site.vehicles, _vehicle_keys(self.devices), strict=True)
                ),
            )
            return self.report

    async def _async_read_all(self) -> tuple[SiteReadings, set[str]]:
        """Every device at once (one task each, one timer for all); None for a device that
        failed or did not answer within the timeout."""
        keyed = devices_by_key(self.devices)
        # a device under two keys (the grid meter that also meters a circuit) is read once
        reads: dict[tuple[int, object], asyncio.Future[Any]] = {}
        tasks: dict[str, asyncio.Future[Any]] = {}
        for key, device in keyed.items():
            check = _check_of(key)
            read = reads.get((id(device), check))
            if read is None:
                read = reads[id(device), check] = asyncio.ensure_future(check(device))
            tasks[key] = read
        pending = [task for task in reads.values() if not task.done()]
        if pending:
            _done, late = await asyncio.wait(pending, timeout=self.device_timeout)
            for task in late:
                task.cancel()
            if late:
                # let the cancelled reads finish their cleanup before the cycle goes on
                await asyncio.wait(late)
        results = [self._result(key, keyed[key], task) for key, task in tasks.items()]
        values: dict[str, Any] = dict(zip(keyed, results, strict=True))

        def group(prefix: str, count: int) -> tuple[MeterReading, ...]:
            found = (values[f"{prefix}{i + 1}"] for i in range(count))
            return tuple(reading for reading in found if reading is not None)

        devices = self.devices
        readings = SiteReadings(
            grid=values.get("grid"),
            pv=group("pv", len(devices.pv)),
            battery=group("battery", len(devices.battery)),
            aux=group("aux", len(devices.aux)),
            loadpoints=tuple(
                LoadpointReadings(
                    charger=values[key],
                    meter=values.get(f"{key}_meter"),
                )
                for key in (loadpoint_device_key(i) for i in range(len(devices.loadpoints)))
            ),
            vehicles={
                name: VehicleReading(values.get(f"{key}_soc"), values.get(f"{key}_values"))
                for name, key in zip(self._site.vehicles, _vehicle_keys(devices), strict=True)
            },
            circuits={
                circuit.config.name: _circuit_reading(values, circuit_device_key(i))
                for i, circuit in enumerate(devices.circuits)
            },
        )
        failed = {key for key, health in self._health.items() if health.lost}
        return readings, failed

    def _result(self, key: str, device: Any, task: asyncio.Future[Any]) -> Any:
        """A finished (or cancelled) read: its value, or None with the failure logged
        (rate-limited)."""
        if task.cancelled():
            self._lost(key, device.name, f"no answer within {self.device_timeout:g} s")
            return None
        err = task.exception()
        if err is not None:  # any device failure is "unavailable this cycle"
            self._lost(key, device.name, str(err) or type(err).__name__)
            return None
        self._recovered(key, device.name)
        return task.result()

    async def _async_send(self, index: int, command: ChargerCommand) -> str | None:
        """Send one command; a failure is logged, told to the core and returned as text."""
        lp = self.devices.loadpoints[index]
        charger = lp.charger
        command = _within_physics(command, lp.config.charger.max_current)
        try:
            async with asyncio.timeout(self.device_timeout):
                await charger.async_apply(command)
        except TimeoutError:
            error = f"{charger.name} did not accept {command} within {self.device_timeout:g} s"
        except Exception as err:  # a failing charger must not stop the others
            error = f"{charger.name} rejected {command}: {err or type(err).__name__}"
        else:
            _LOGGER.debug("%s: sent %s", charger.name, command)
            return None
        _LOGGER.warning("%s", error)
        self._site.command_failed(index)
        return error

    async def _async_set_battery_mode(self, mode: BatteryMode) -> None:
        control = self.devices.battery_control
        if control is None:
            return
        try:
            async with asyncio.timeout(self.device_timeout):
                await control.async_set_mode(mode)
        except Exception as err:
            _LOGGER.warning("%s did not take battery mode %s: %s", control.name, mode, err)
            self._site.battery_mode_failed()
        else:
            _LOGGER.debug("%s: battery mode %s", control.name, mode)

    def _lost(self, key: str, name: str, reason: str) -> None:
        health = self._health.setdefault(key, _Health())
        if health.lost:
            return
        health.lost = True
        at = self._monotonic()
        if health.lost_logged is None or at - health.lost_logged >= LOG_REPEAT_S:
            health.lost_logged = at
            _LOGGER.info("%s is unavailable: %s", name, reason)
        else:
            _LOGGER.debug("%s is unavailable again: %s", name, reason)

    def _recovered(self, key: str, name: str) -> None:
        health = self._health.get(key)
        if health is None or not health.lost:
            return
        health.lost = False
        at = self._monotonic()
        if health.recovered_logged is None or at - health.recovered_logged >= LOG_REPEAT_S:
            health.recovered_logged = at
            _LOGGER.info("%s is available again", name)
        else:
            _LOGGER.debug("%s is available again", name)

    def _monotonic(self) -> float:
        return self.now().timestamp()

    # --- publishing ----------------------------------------------------------------------------

    def _publish(self, now: datetime) -> dict[str, Any]:
        """Build the new state document and hand it to every reader."""
        state = self._build_state(self._site, now)
        self._state = state
        if self.report is not None:
            self.report = replace(self.report, state=state)
        for listener in list(self._listeners):
            try:
                listener(state)
            except Exception:  # one broken reader must not stop the others
                _LOGGER.exception("State listener failed")
        return state


# --- reading checks ------------------------------------------------------------------------------


async def _none() -> None:
    return None


def _finite(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _require(ok: bool, what: str, value: object) -> None:
    if not ok:
        raise DeviceError(f"invalid {what} {value!r}")


def _check_optional(value: object, what: str, low: float, high: float) -> None:
    if value is not None:
        _require(_finite(value) and low <= float(value) <= high, what, value)  # type: ignore[arg-type]


def _check_voltages(value: object) -> None:
    """Phase voltages: three values from 0 (a phase that is not there) to `MAX_PHASE_VOLTAGE_V`."""
    _check_triple(value, "voltages", MAX_PHASE_VOLTAGE_V)
    if value is not None:
        assert isinstance(value, tuple)
        _require(all(v >= 0 for v in value), "voltages", value)


def _check_triple(value: object, what: str, limit: float) -> None:
    if value is None:
        return
    _require(isinstance(value, tuple) and len(value) == 3, what, value)
    assert isinstance(value, tuple)
    _require(all(_finite(v) and abs(v) <= limit for v in value), what, value)


async def _checked_meter(meter: Meter) -> MeterReading:
    reading = await meter.async_read()
    if not isinstance(reading, MeterReading):
        raise DeviceError(f"not a meter reading: {reading!r}")
    _require(
        _finite(reading.power) and abs(reading.power) <= MAX_METER_POWER_W, "power", reading.power
    )
    _check_optional(reading.energy, "energy", 0.0, MAX_ENERGY_KWH)
    _check_optional(reading.soc, "soc", 0.0, 100.0)
    _check_optional(reading.capacity, "capacity", 0.0, MAX_ENERGY_KWH)
    _check_triple(reading.currents, "currents", MAX_CHARGER_CURRENT_A * 10)
    _check_triple(reading.powers, "powers", MAX_METER_POWER_W)
    _check_voltages(reading.voltages)
    return reading


async def _checked_charger(charger: Charger) -> ChargerReading:
    reading = await charger.async_read()
    if not isinstance(reading, ChargerReading):
        raise DeviceError(f"not a charger reading: {reading!r}")
    if not isinstance(reading.status, Status):
        # a plain string from an adapter: map it as evcc does (garbage raises DeviceError)
        reading = replace(reading, status=parse_status(str(reading.status)))
    _require(isinstance(reading.enabled, bool), "enabled", reading.enabled)
    _check_optional(reading.power, "power", -MAX_CHARGER_POWER_W, MAX_CHARGER_POWER_W)
    _check_optional(reading.energy, "energy", 0.0, MAX_ENERGY_KWH)
    _check_optional(reading.soc, "soc", 0.0, 100.0)
    offered = reading.offered_current
    if offered is not None:
        # a negative sign (even -0) is no current a charger can offer
        _require(
            _finite(offered)
            and math.copysign(1.0, offered) > 0
            and offered <= MAX_CHARGER_CURRENT_A,
            "offered current",
            offered,
        )
    _check_triple(reading.currents, "currents", MAX_CHARGER_CURRENT_A)
    _check_voltages(reading.voltages)
    _require(reading.phases in (None, 1, 2, 3), "phases", reading.phases)
    return reading


async def _checked_soc(source: SocSource) -> float | None:
    soc = await source.async_read()
    if soc is None:
        return None
    _require(_finite(soc) and 0 <= float(soc) <= 100, "SoC", soc)
    return float(soc)


MAX_RANGE_KM = 5_000.0  # no car gets further on one charge
MAX_ODOMETER_KM = 10_000_000.0


async def _checked_vehicle(source: VehicleSource) -> VehicleValues:
    values = await source.async_read()
    _check_optional(values.range_km, "range", 0.0, MAX_RANGE_KM)
    _check_optional(values.odometer_km, "odometer", 0.0, MAX_ODOMETER_KM)
    _check_optional(values.limit_soc, "limit SoC", 0.0, 100.0)
    _require(values.climater_active in (None, True, False), "climater", values.climater_active)
    _require(values.connected in (None, True, False), "connected", values.connected)
    return values


def _within_physics(command: ChargerCommand, hardware_max: float) -> ChargerCommand:
    """The last guard before the wire: an offered current is never below 6 A nor above the
    charger's hardware maximum (the core never asks for that; a bug must not reach a car)."""
    current = command.current
    if current is None:
        return command
    safe = min(max(current, MIN_CHARGE_CURRENT), hardware_max)
    if safe != current:
        _LOGGER.error("Refusing to offer %s A: sending %s A instead", current, safe)
        return replace(command, current=safe)
    return command


def _check_of(key: str) -> Callable[[Any], Awaitable[object]]:
    """How the reading of the device under `key` is checked (see `devices_by_key`)."""
    if key.endswith("_soc"):
        return _checked_soc
    if key.endswith("_values"):
        return _checked_vehicle
    if key.startswith("lp") and not key.endswith("_meter"):
        return _checked_charger
    return _checked_meter


def devices_by_key(devices: SiteDevices) -> Mapping[str, DevicePort]:
    """Every device under its availability key (grid, pv1, lp1, lp1_meter, …)."""
    found: dict[str, DevicePort] = {}
    if devices.grid is not None:
        found["grid"] = devices.grid
    for group, meters in (("pv", devices.pv), ("battery", devices.battery), ("aux", devices.aux)):
        for i, meter in enumerate(meters):
            found[f"{group}{i + 1}"] = meter
    for i, lp in enumerate(devices.loadpoints):
        key = loadpoint_device_key(i)
        found[key] = lp.charger
        if lp.meter is not None:
            found[f"{key}_meter"] = lp.meter
    for key, (soc, values) in zip(_vehicle_keys(devices), devices.vehicle_sources(), strict=True):
        if soc is not None:
            found[f"{key}_soc"] = soc
        if values is not None:
            found[f"{key}_values"] = values
    for i, circuit in enumerate(devices.circuits):
        if circuit.meter is not None:
            found[circuit_device_key(i)] = circuit.meter
        if circuit.limit is not None:
            found[f"{circuit_device_key(i)}_limit"] = circuit.limit
    return found


def _circuit_reading(values: Mapping[str, Any], key: str) -> CircuitReading:
    limit = values.get(f"{key}_limit")
    return CircuitReading(meter=values.get(key), limit=None if limit is None else limit.power)


def circuit_device_key(index: int) -> str:
    """The availability key of circuit `index`'s meter (circuit1, …; its limit: `_limit`)."""
    return f"circuit{index + 1}"


def _vehicle_keys(devices: SiteDevices) -> list[str]:
    """The availability key prefix of each vehicle (vehicle1, …), in the site's order."""
    return [f"vehicle{i + 1}" for i in range(len(devices.vehicle_sources()))]

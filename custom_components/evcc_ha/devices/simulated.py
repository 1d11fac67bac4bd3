"""Simulated devices: vehicles, chargers, a home battery and the household around them.

Pure Python (no Home Assistant), driven by the caller's clock. The physics follow
shared/spec/scenario-format.md:

* A vehicle is connected from ``arrive`` to ``depart``. While its charger is enabled and it is
  below 100 % it draws ``min(offered current, vehicle max current)`` on
  ``min(vehicle phases, charger phases)`` phases; its SoC rises by the drawn energy × efficiency.
* A charger applies each command ``response_delay_s`` after it was sent; a 1p/3p switch
  interrupts charging for ``phase_switch_pause_s`` (the charger reports status B meanwhile).
* A home battery runs an ideal zero-grid controller: it charges with what PV leaves over after
  home and cars and discharges to cover the rest, within its power and SoC limits.
* Grid balance: ``grid_w = home_w + ev_w + battery_w − pv_w`` (positive = import).

Sign conventions: ``battery_w`` here is positive while *charging* (the scenario's convention); the
battery's `MeterReading` for the core is positive while *discharging* (evcc's convention).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from ..core.devices import Device
from ..core.model import (
    VOLTAGE,
    BatteryMode,
    ChargerCommand,
    ChargerReading,
    LoadpointReadings,
    MeterReading,
    SiteReadings,
    Status,
)

__all__ = [
    "SimBattery",
    "SimCharger",
    "SimPowers",
    "SimSite",
    "SimVehicle",
    "SimulatedCharger",
    "SimulatedHousehold",
    "SimulatedMeter",
]

_WS_PER_KWH = 3_600_000.0


class SimVehicle:
    """An electric vehicle with a battery, an on-board charger and a stay at the charger."""

    def __init__(
        self,
        title: str = "Vehicle",
        capacity_kwh: float = 50.0,
        soc: float = 50.0,
        *,
        phases: int = 3,
        max_current: float | None = None,
        efficiency: float = 0.9,
        arrive: datetime | None = None,
        depart: datetime | None = None,
        has_soc: bool = True,
    ) -> None:
        if capacity_kwh <= 0:
            raise ValueError("capacity_kwh must be positive")
        if not 0 < efficiency <= 1:
            raise ValueError("efficiency must be in (0, 1]")
        self.title = title
        self.capacity_kwh = capacity_kwh
        self.soc = min(max(soc, 0.0), 100.0)
        self.phases = phases
        self.max_current = max_current
        self.efficiency = efficiency
        self.arrive = arrive
        self.depart = depart
        self.has_soc = has_soc  # False: the vehicle does not tell its SoC (an "offline" vehicle)
        self.charged_kwh = 0.0  # energy taken from the charger (before losses)

    def connected(self, now: datetime) -> bool:
        """Plugged in: ``arrive <= now < depart`` (a missing bound is open)."""
        if self.arrive is not None and now < self.arrive:
            return False
        return self.depart is None or now < self.depart

    @property
    def full(self) -> bool:
        return self.soc >= 100.0

    def acceptable_kwh(self) -> float:
        """Energy from the charger that fills the battery to 100 %."""
        return (100.0 - self.soc) / 100.0 * self.capacity_kwh / self.efficiency

    def charge(self, energy_kwh: float) -> None:
        """Take `energy_kwh` from the charger; the battery gets it times the efficiency."""
        if energy_kwh <= 0:
            return
        self.charged_kwh += energy_kwh
        self.soc = min(100.0, self.soc + energy_kwh * self.efficiency / self.capacity_kwh * 100.0)

    def reported_soc(self) -> float | None:
        """What the vehicle tells: whole percent (as vehicle APIs do), None without SoC."""
        if not self.has_soc:
            return None
        return float(math.floor(self.soc + 1e-9))


@dataclass(frozen=True, slots=True)
class _Pending:
    due: datetime
    command: ChargerCommand


class SimCharger:
    """A wallbox that follows `ChargerCommand`s after a response delay and meters its energy."""

    def __init__(
        self,
        *,
        phases: int = 3,
        phases_switchable: bool = False,
        max_current: float = 32.0,
        response_delay_s: float = 0.0,
        phase_switch_pause_s: float = 0.0,
        voltage: float = VOLTAGE,
        vehicle: SimVehicle | None = None,
    ) -> None:
        if phases not in (1, 3):
            raise ValueError("phases must be 1 or 3")
        self.connected_phases = phases
        self.phases_switchable = phases_switchable
        self.max_current = max_current
        self.response_delay = timedelta(seconds=response_delay_s)
        self.phase_switch_pause = timedelta(seconds=phase_switch_pause_s)
        self.voltage = voltage
        self.vehicle = vehicle
        # the state the charger is really in
        self.enabled = False
        self.current = 0.0  # A, the current it offers while enabled
        self.phases = phases  # phases switched on (1p3p chargers)
        self.paused_until: datetime | None = None  # charging interrupted by a phase switch
        self.energy_kwh = 0.0  # meter total
        self._pending: list[_Pending] = []

    # --- commands ------------------------------------------------------------------------------

    def command(self, now: datetime, command: ChargerCommand | None) -> None:
        """Receive a command; it takes effect `response_delay_s` later (at once without delay)."""
        if command is None or not command:
            return
        due = now + self.response_delay
        self._pending.append(_Pending(due, command))
        self.advance(now)

    def advance(self, now: datetime) -> None:
        """Carry out every command that is due at `now`, in the order they were sent."""
        while self._pending and self._pending[0].due <= now:
            pending = self._pending.pop(0)
            self._apply(pending.due, pending.command)

    @property
    def pending(self) -> int:
        """Commands received but not carried out yet."""
        return len(self._pending)

    def _apply(self, at: datetime, command: ChargerCommand) -> None:
        if command.phases is not None and command.phases in (1, 3):
            phases = min(command.phases, self.connected_phases)
            if self.phases_switchable and phases != self.phases:
                self.phases = phases
                if self.phase_switch_pause:
                    self.paused_until = at + self.phase_switch_pause
        if command.current is not None:
            self.current = max(0.0, min(command.current, self.max_current))
        if command.enable is not None:
            self.enabled = command.enable

    # --- physics -------------------------------------------------------------------------------

    def connected(self, now: datetime) -> bool:
        return self.vehicle is not None and self.vehicle.connected(now)

    def paused(self, now: datetime) -> bool:
        return self.paused_until is not None and now < self.paused_until

    def drawn_current(self, now: datetime) -> float:
        """Current per phase the vehicle draws now (0 when it does not charge)."""
        vehicle = self.vehicle
        if (
            vehicle is None
            or not self.enabled
            or self.current <= 0
            or not vehicle.connected(now)
            or vehicle.full
            or self.paused(now)
        ):
            return 0.0
        if vehicle.max_current is not None:
            return min(self.current, vehicle.max_current)
        return self.current

    def active_phases(self) -> int:
        """Phases the vehicle draws on: min(vehicle phases, switched phases)."""
        vehicle_phases = self.vehicle.phases if self.vehicle is not None else 3
        return min(vehicle_phases, self.phases)

    def power(self, now: datetime) -> float:
        """Charge power (W) right now."""
        return self.drawn_current(now) * self.active_phases() * self.voltage

    def step_power(self, now: datetime, dt_s: float) -> float:
        """Mean power (W) over ``[now, now + dt_s)``: the vehicle stops when it is full."""
        power = self.power(now)
        if power <= 0 or self.vehicle is None or dt_s <= 0:
            return power
        return min(power, self.vehicle.acceptable_kwh() * _WS_PER_KWH / dt_s)

    def step(self, power_w: float, dt_s: float) -> None:
        """Deliver `power_w` for `dt_s` seconds (meter and vehicle)."""
        if power_w <= 0 or dt_s <= 0:
            return
        energy = power_w * dt_s / _WS_PER_KWH
        self.energy_kwh += energy
        if self.vehicle is not None:
            self.vehicle.charge(energy)

    def status(self, now: datetime) -> Status:
        if not self.connected(now):
            return Status.A
        return Status.C if self.drawn_current(now) > 0 else Status.B

    def reading(self, now: datetime) -> ChargerReading:
        """What the charger reports now."""
        current = self.drawn_current(now)
        phases = self.active_phases()
        currents = (
            current,
            current if phases >= 2 else 0.0,
            current if phases >= 3 else 0.0,
        )
        vehicle = self.vehicle
        connected = self.connected(now)
        soc = vehicle.reported_soc() if vehicle is not None and connected else None
        return ChargerReading(
            status=self.status(now),
            enabled=self.enabled,
            power=current * phases * self.voltage,
            energy=self.energy_kwh,
            currents=currents,
            # the charger's meter sees the supply on the phases its contactors switched on
            voltages=(
                self.voltage,
                self.voltage if self.phases >= 3 and self.connected_phases >= 3 else 0.0,
                self.voltage if self.phases >= 3 and self.connected_phases >= 3 else 0.0,
            ),
            offered_current=self.current if self.enabled else None,
            phases=self.phases,
            soc=soc,
        )


class SimBattery:
    """A home battery behind its own zero-grid controller (positive power = charging)."""

    def __init__(
        self,
        capacity_kwh: float,
        soc: float,
        max_charge_w: float,
        max_discharge_w: float,
    ) -> None:
        if capacity_kwh <= 0:
            raise ValueError("capacity_kwh must be positive")
        self.capacity_kwh = capacity_kwh
        self.soc = min(max(soc, 0.0), 100.0)
        self.max_charge_w = max_charge_w
        self.max_discharge_w = max_discharge_w
        # set by battery control: hold = no discharging, charge = full power from the grid
        self.mode = BatteryMode.NORMAL

    def power_for(self, balance_w: float, dt_s: float) -> float:
        """The power the controller sets for a balance of ``pv − home − cars`` (W)."""
        power = min(max(balance_w, -self.max_discharge_w), self.max_charge_w)
        if self.mode is BatteryMode.HOLD:
            power = max(power, 0.0)
        elif self.mode is BatteryMode.CHARGE:
            power = self.max_charge_w
        if dt_s <= 0:
            return power
        if power > 0:
            room = (100.0 - self.soc) / 100.0 * self.capacity_kwh * _WS_PER_KWH / dt_s
            return min(power, room)
        if power < 0:
            stored = self.soc / 100.0 * self.capacity_kwh * _WS_PER_KWH / dt_s
            return max(power, -stored)
        return 0.0

    def step(self, power_w: float, dt_s: float) -> None:
        energy = power_w * dt_s / _WS_PER_KWH
        self.soc = min(100.0, max(0.0, self.soc + energy / self.capacity_kwh * 100.0))

    def reading(self, power_w: float) -> MeterReading:
        """The battery meter as the core sees it (evcc sign: positive = discharging)."""
        return MeterReading(power=-power_w, soc=self.soc, capacity=self.capacity_kwh)


@dataclass(frozen=True, slots=True)
class SimPowers:
    """The power flows of one moment or step (W). ``battery_w`` positive = charging."""

    pv_w: float
    home_w: float
    ev_w: tuple[float, ...]
    battery_w: float
    grid_w: float

    @property
    def ev_total_w(self) -> float:
        return sum(self.ev_w)


class SimSite:
    """A household: PV, home consumption, chargers with their vehicles, an optional battery.

    ``powers(now, pv_w, home_w, dt_s)`` gives the flows of a moment without changing anything,
    ``readings(...)`` what the meters show then, and ``step(...)`` moves the physics on by
    ``dt_s`` seconds (energy into vehicles, battery and meter totals) and returns the flows.
    """

    def __init__(
        self,
        chargers: Sequence[SimCharger],
        battery: SimBattery | None = None,
        voltage: float = VOLTAGE,
    ) -> None:
        self.chargers = list(chargers)
        self.battery = battery
        self.voltage = voltage
        self.grid_import_kwh = 0.0
        self.grid_export_kwh = 0.0
        self.pv_kwh = 0.0

    def command(self, index: int, now: datetime, command: ChargerCommand | None) -> None:
        self.chargers[index].command(now, command)

    def advance(self, now: datetime) -> None:
        """Let every charger carry out the commands due by `now`."""
        for charger in self.chargers:
            charger.advance(now)

    def powers(self, now: datetime, pv_w: float, home_w: float, dt_s: float) -> SimPowers:
        ev = tuple(charger.step_power(now, dt_s) for charger in self.chargers)
        ev_total = sum(ev)
        battery_w = 0.0
        if self.battery is not None:
            battery_w = self.battery.power_for(pv_w - home_w - ev_total, dt_s)
        grid_w = home_w + ev_total + battery_w - pv_w
        return SimPowers(pv_w, home_w, ev, battery_w, grid_w)

    def readings(self, now: datetime, pv_w: float, home_w: float, dt_s: float) -> SiteReadings:
        """Meters and chargers as the core reads them at `now`."""
        flows = self.powers(now, pv_w, home_w, dt_s)
        battery = (self.battery.reading(flows.battery_w),) if self.battery is not None else ()
        return SiteReadings(
            grid=MeterReading(power=flows.grid_w, energy=self.grid_import_kwh),
            pv=(MeterReading(power=pv_w, energy=self.pv_kwh),),
            battery=battery,
            loadpoints=tuple(
                LoadpointReadings(charger=charger.reading(now)) for charger in self.chargers
            ),
        )

    def step(self, now: datetime, pv_w: float, home_w: float, dt_s: float) -> SimPowers:
        """Run the physics over ``[now, now + dt_s)`` and return the flows of that step."""
        flows = self.powers(now, pv_w, home_w, dt_s)
        for charger, power in zip(self.chargers, flows.ev_w, strict=True):
            charger.step(power, dt_s)
        if self.battery is not None:
            self.battery.step(flows.battery_w, dt_s)
        hours = dt_s / 3600.0
        self.grid_import_kwh += max(0.0, flows.grid_w) * hours / 1000.0
        self.grid_export_kwh += max(0.0, -flows.grid_w) * hours / 1000.0
        self.pv_kwh += max(0.0, pv_w) * hours / 1000.0
        return flows

    def step_and_read(self, now: datetime, pv_w: float, home_w: float, dt_s: float) -> SiteReadings:
        """Run the physics over ``[now, now + dt_s)`` and return the readings at its end.

        For a shell that polls at its own pace (the demo site): commands sent before `now` are
        carried out when due, then the meters are read at ``now + dt_s``.
        """
        self.advance(now)
        self.step(now, pv_w, home_w, dt_s)
        later = now + timedelta(seconds=dt_s)
        self.advance(later)
        return self.readings(later, pv_w, home_w, dt_s)


class SimulatedHousehold(Protocol):
    """What the simulated devices read and command: one consistent snapshot of the household
    (the demo site, a simulator run)."""

    def readings(self) -> SiteReadings:
        """Every meter and charger as they show now."""

    def command(self, index: int, command: ChargerCommand) -> None:
        """Hand a command to charger `index`."""


class SimulatedMeter(Device):
    """The grid, PV or battery meter of a simulated household."""

    def __init__(self, household: SimulatedHousehold, kind: str, name: str) -> None:
        if kind not in ("grid", "pv", "battery"):
            raise ValueError(f"unknown simulated meter {kind!r}")
        self.household = household
        self.kind = kind
        self.name = name

    async def async_read(self) -> MeterReading:
        readings = self.household.readings()
        if self.kind == "grid":
            assert readings.grid is not None
            return readings.grid
        if self.kind == "pv":
            return readings.pv[0]
        return readings.battery[0]


class SimulatedCharger(Device):
    """Charger `index` of a simulated household."""

    def __init__(self, household: SimulatedHousehold, index: int, name: str) -> None:
        self.household = household
        self.index = index
        self.name = name

    async def async_read(self) -> ChargerReading:
        reading = self.household.readings().loadpoints[self.index].charger
        assert reading is not None
        return reading

    async def async_apply(self, command: ChargerCommand) -> None:
        self.household.command(self.index, command)

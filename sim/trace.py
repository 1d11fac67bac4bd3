"""The trace of a run (one row per step) and the metrics computed from it."""

from __future__ import annotations

import csv
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import pairwise
from pathlib import Path
from typing import IO, Any, Final

from .scenario import Scenario

TRACE_COLUMNS: Final = ("time", "pv_w", "home_w", "ev_w", "battery_w", "battery_soc", "grid_w")
LOADPOINT_TRACE_COLUMNS: Final = (
    "power_w",
    "current_a",
    "phases",
    "enabled",
    "connected",
    "soc",
    "mode",
)
_SOC_EPSILON: Final = 1e-6
_ENERGY_EPSILON_KWH: Final = 1e-6


@dataclass(frozen=True, slots=True)
class LoadpointTrace:
    power_w: float
    current_a: float  # offered while enabled, else 0
    phases: int  # phases switched on at the charger
    enabled: bool
    connected: bool
    soc: float | None
    mode: str


@dataclass(frozen=True, slots=True)
class TraceRow:
    """One step: the flows over ``[time, time + step_s)`` and the device state at `time`."""

    time: datetime
    pv_w: float
    home_w: float
    ev_w: float
    battery_w: float
    battery_soc: float | None
    grid_w: float
    loadpoints: tuple[LoadpointTrace, ...]

    def csv_fields(self) -> list[str]:
        fields = [
            self.time.isoformat(),
            _exact(self.pv_w),
            _exact(self.home_w),
            _num(self.ev_w),
            _num(self.battery_w),
            _num(self.battery_soc),
            _num(self.grid_w),
        ]
        for lp in self.loadpoints:
            fields += [
                _num(lp.power_w),
                _num(lp.current_a),
                str(lp.phases),
                "1" if lp.enabled else "0",
                "1" if lp.connected else "0",
                _num(lp.soc),
                lp.mode,
            ]
        return fields


def trace_header(loadpoints: int) -> list[str]:
    """The trace CSV header for `loadpoints` loadpoints."""
    header = list(TRACE_COLUMNS)
    for i in range(1, loadpoints + 1):
        header += [f"lp{i}_{column}" for column in LOADPOINT_TRACE_COLUMNS]
    return header


def _exact(value: float) -> str:
    """An input value, written so that it reads back identically."""
    return str(int(value)) if value.is_integer() else repr(value)


def _num(value: float | None) -> str:
    if value is None:
        return ""
    text = f"{value:.3f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


@dataclass(frozen=True, slots=True)
class Goal:
    """What a loadpoint was asked for, by when (from the core's own plan and limit rules)."""

    deadline: datetime | None  # the plan time; None: the departure
    soc: float | None = None
    energy_kwh: float | None = None


@dataclass(slots=True)
class SimulationResult:
    scenario: Scenario
    controller: str
    metrics: dict[str, Any]
    trace: list[TraceRow]
    wall_time_s: float = 0.0
    cycles: int = 0
    events: int = 0

    @property
    def trace_header(self) -> list[str]:
        return trace_header(len(self.scenario.loadpoints))

    def trace_rows(self) -> Iterator[list[str]]:
        for row in self.trace:
            yield row.csv_fields()

    def write_trace(self, target: str | Path | IO[str]) -> None:
        """Write the trace CSV (header first) to a path or an open text file."""
        if isinstance(target, str | Path):
            with open(target, "w", newline="", encoding="utf-8") as handle:
                self.write_trace(handle)
            return
        writer = csv.writer(target, lineterminator="\n")
        writer.writerow(self.trace_header)
        writer.writerows(self.trace_rows())


@dataclass(slots=True)
class EnergyAccount:
    """The energy split of the run, summed step by step from the trace rows."""

    step_h: float
    prices: Sequence[float]
    feedin: float
    ev_wh: float = 0.0
    ev_solar_wh: float = 0.0
    ev_battery_wh: float = 0.0
    ev_grid_wh: float = 0.0
    import_wh: float = 0.0
    export_wh: float = 0.0
    cost: float = 0.0
    steps: int = field(default=0)

    def add(self, row: TraceRow) -> None:
        hours = self.step_h
        pv_w, home_w, ev_w = row.pv_w, row.home_w, row.ev_w
        surplus = max(0.0, pv_w - home_w)
        ev_solar = min(ev_w, surplus)
        ev_battery = min(ev_w - ev_solar, max(0.0, -row.battery_w - max(0.0, home_w - pv_w)))
        self.ev_wh += ev_w * hours
        self.ev_solar_wh += ev_solar * hours
        self.ev_battery_wh += ev_battery * hours
        self.ev_grid_wh += (ev_w - ev_solar - ev_battery) * hours
        grid_import, grid_export = max(0.0, row.grid_w), max(0.0, -row.grid_w)
        self.import_wh += grid_import * hours
        self.export_wh += grid_export * hours
        price = self.prices[self.steps]
        self.cost += (grid_import * price - grid_export * self.feedin) * hours / 1000.0
        self.steps += 1


def metrics(
    scenario: Scenario,
    account: EnergyAccount,
    trace: Sequence[TraceRow],
    goals: Sequence[Goal | None],
    final_soc: Sequence[float | None],
    charger_switches: Sequence[int],
    phase_switches: Sequence[int],
) -> dict[str, Any]:
    a = account
    plan_costs = [
        _ev_cost(scenario, i, trace, a.prices) if goal is not None and goal.deadline else None
        for i, goal in enumerate(goals)
    ]
    return {
        "ev_energy_kwh": round(a.ev_wh / 1000.0, 4),
        "ev_solar_kwh": round(a.ev_solar_wh / 1000.0, 4),
        "ev_battery_kwh": round(a.ev_battery_wh / 1000.0, 4),
        "ev_grid_kwh": round(a.ev_grid_wh / 1000.0, 4),
        "solar_share": round(a.ev_solar_wh / a.ev_wh, 4) if a.ev_wh > 0 else 0.0,
        "grid_import_kwh": round(a.import_wh / 1000.0, 4),
        "grid_export_kwh": round(a.export_wh / 1000.0, 4),
        "charger_switches": list(charger_switches),
        "phase_switches": list(phase_switches),
        "final_soc": [round(soc, 2) if soc is not None else None for soc in final_soc],
        "target_met": [_target_met(scenario, i, goal, trace) for i, goal in enumerate(goals)],
        "cost": round(a.cost, 4),
        "solar_bound_kwh": round(_solar_bound_wh(scenario, trace) / 1000.0, 4),
        "charger_cycles": [_cycles(trace, i) for i in range(len(scenario.loadpoints))],
        "phase_switches_load": [
            _phase_changes(trace, i, loaded=True) for i in range(len(scenario.loadpoints))
        ],
        "phase_switches_idle": [
            _phase_changes(trace, i, loaded=False) for i in range(len(scenario.loadpoints))
        ],
        "longest_interruption_min": [
            _longest_interruption_min(scenario, trace, i) for i in range(len(scenario.loadpoints))
        ],
        "plan_cost": plan_costs,
        "plan_cheapest_cost": [
            _cheapest_cost(scenario, i, goal, trace, a.prices) for i, goal in enumerate(goals)
        ],
        "steps": scenario.steps,
    }


def _solar_bound_wh(scenario: Scenario, trace: Sequence[TraceRow]) -> float:
    """The solar energy the cars could have taken at all: in each step the surplus (PV minus
    home) up to a car's maximum power, shared in loadpoint order, while it is connected; capped
    per car by what it needed to reach its limit from its start SoC. Surplus below the car's
    minimum power counts too: a car charging at its minimum (minpv, a held pv charge) takes it,
    topped up from the grid or the battery, and the EV solar energy counts that part as solar.
    Independent of any controller."""
    hours = scenario.step_s / 3600.0
    specs = scenario.loadpoints
    need_wh: list[float] = []
    high_w: list[float] = []
    for spec in specs:
        v = spec.vehicle
        vehicle_phases = v.phases if v is not None else 3
        top = min(spec.charger.max_current, (v.max_current if v else None) or math.inf)
        high_w.append(top * min(spec.charger.phases, vehicle_phases) * scenario.voltage)
        if v is None or not v.has_soc:
            need_wh.append(math.inf)
            continue
        limit = spec.settings.limit_soc or 100
        need_wh.append(
            max(0.0, (limit - (v.soc or 0.0)) / 100.0 * v.capacity_kwh * 1000.0 / v.efficiency)
        )
    taken = [0.0] * len(specs)
    for row in trace:
        surplus = max(0.0, row.pv_w - row.home_w)
        for i in range(len(specs)):
            if surplus <= 0 or not row.loadpoints[i].connected or taken[i] >= need_wh[i]:
                continue
            power = min(surplus, high_w[i])
            taken[i] += min(power * hours, need_wh[i] - taken[i])
            surplus -= power
    return sum(taken)


def _cycles(trace: Sequence[TraceRow], index: int) -> int:
    """Charger on/off cycles: steps where the charger goes from off to on (from the trace)."""
    count, before = 0, False
    for row in trace:
        on = row.loadpoints[index].enabled
        if on and not before:
            count += 1
        before = on
    return count


def _phase_changes(trace: Sequence[TraceRow], index: int, *, loaded: bool) -> int:
    """Changes of the switched-on phases, under load (the car was drawing power just before)
    or idle."""
    count = 0
    for before, row in pairwise(trace):
        a, b = before.loadpoints[index], row.loadpoints[index]
        if a.phases != b.phases and (a.power_w > 0) == loaded:
            count += 1
    return count


def _longest_interruption_min(scenario: Scenario, trace: Sequence[TraceRow], index: int) -> float:
    """The longest pause in charging between the first and the last step that charged, while the
    car stayed connected (minutes)."""
    longest = gap = 0
    started = False
    for row in trace:
        lp = row.loadpoints[index]
        if lp.power_w > 0:
            started = True
            longest, gap = max(longest, gap), 0
        elif started and lp.connected:
            gap += 1
        else:
            gap = 0
    return round(longest * scenario.step_s / 60.0, 1)


def _ev_cost(
    scenario: Scenario, index: int, trace: Sequence[TraceRow], prices: Sequence[float]
) -> float:
    """What the loadpoint's energy cost at the grid price of each step (as if all from the
    grid: a plan at night is)."""
    hours = scenario.step_s / 3600.0
    return round(
        sum(row.loadpoints[index].power_w * prices[k] for k, row in enumerate(trace))
        * hours
        / 1000.0,
        4,
    )


def _cheapest_cost(
    scenario: Scenario,
    index: int,
    goal: Goal | None,
    trace: Sequence[TraceRow],
    prices: Sequence[float],
) -> float | None:
    """The least the same energy could have cost: charged at the loadpoint's full power in the
    cheapest steps between the car's arrival and the plan's deadline (None without a plan)."""
    spec = scenario.loadpoints[index]
    if goal is None or goal.deadline is None or spec.vehicle is None or not scenario.grid_rates:
        return None
    vehicle = spec.vehicle
    phases = min(spec.charger.phases, vehicle.phases)
    current = min(spec.charger.max_current, vehicle.max_current or spec.charger.max_current)
    full_w = current * phases * scenario.voltage
    hours = scenario.step_s / 3600.0
    energy_wh = sum(row.loadpoints[index].power_w for row in trace) * hours
    arrive = vehicle.arrive or scenario.start
    first = max(0, math.ceil((arrive - scenario.start).total_seconds() / scenario.step_s))
    last = min(
        scenario.steps,
        math.floor((goal.deadline - scenario.start).total_seconds() / scenario.step_s),
    )
    cost, left = 0.0, energy_wh
    for price in sorted(prices[first:last]):
        if left <= 0:
            break
        step_wh = min(left, full_w * hours)
        cost += price * step_wh / 1000.0
        left -= step_wh
    return round(cost, 4)


def _target_met(
    scenario: Scenario, index: int, goal: Goal | None, trace: Sequence[TraceRow]
) -> bool | None:
    """The goal reached by its deadline (plan time, else the departure, else the end)?"""
    vehicle = scenario.loadpoints[index].vehicle
    if goal is None or vehicle is None:
        return None
    deadline = vehicle.depart or scenario.end
    if goal.deadline is not None:
        deadline = min(deadline, goal.deadline)
    done = math.floor((deadline - scenario.start).total_seconds() / scenario.step_s + 1e-9)
    done = min(max(done, 0), scenario.steps)
    if goal.soc is not None:
        soc = _physical_soc_after(scenario, index, trace, done)
        return soc >= goal.soc - _SOC_EPSILON
    assert goal.energy_kwh is not None
    charged = sum(row.loadpoints[index].power_w for row in trace[:done]) * scenario.step_s / 3.6e6
    return charged >= goal.energy_kwh - _ENERGY_EPSILON_KWH


def _physical_soc_after(
    scenario: Scenario, index: int, trace: Sequence[TraceRow], steps: int
) -> float:
    """The vehicle's real SoC after `steps` steps: the start plus what it took, times efficiency."""
    vehicle = scenario.loadpoints[index].vehicle
    assert vehicle is not None
    charged_kwh = (
        sum(row.loadpoints[index].power_w for row in trace[:steps]) * scenario.step_s / 3.6e6
    )
    return min(
        100.0,
        (vehicle.soc or 0.0) + charged_kwh * vehicle.efficiency / vehicle.capacity_kwh * 100.0,
    )


def step_prices(scenario: Scenario) -> list[float]:
    """The grid price of every step (0 without a tariff or where no rate covers the step)."""
    rates = scenario.grid_rates
    if not rates:
        return [0.0] * scenario.steps
    prices: list[float] = []
    index = 0
    start_ts = scenario.start.timestamp()
    for k in range(scenario.steps):
        ts = start_ts + k * scenario.step_s
        while index < len(rates) - 1 and rates[index].end.timestamp() <= ts:
            index += 1
        rate = rates[index]
        if rate.start.timestamp() <= ts < rate.end.timestamp():
            prices.append(rate.price)
        else:
            prices.append(
                next((r.price for r in rates if r.start.timestamp() <= ts < r.end.timestamp()), 0.0)
            )
    return prices

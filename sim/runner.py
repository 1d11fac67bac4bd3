"""One run of a scenario through the controller Home Assistant runs.

Every `step_s` the household's physics moves on; every `interval_s` the controller runs one cycle
(`Controller.async_cycle`: read the simulated meters and chargers, decide, command, publish).
Scheduled setting changes go through the controller's write path (`async_set_loadpoint`,
`async_set_site`) exactly as an entity, a service, REST or MQTT would, and their commands reach
the simulated charger at once. Nothing here decides anything.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Final

from custom_components.evcc_ha.api.state import build_state
from custom_components.evcc_ha.core.clock import ManualClock
from custom_components.evcc_ha.core.controller import Controller
from custom_components.evcc_ha.core.devices import SiteDevices
from custom_components.evcc_ha.core.loadpoint import Loadpoint
from custom_components.evcc_ha.core.model import ControlProfile, SettingError
from custom_components.evcc_ha.core.settings import SiteKey
from custom_components.evcc_ha.core.site import Site
from custom_components.evcc_ha.core.tariff import FixedTariff, RatesTariff, Tariff

from .household import ScenarioHousehold
from .scenario import CommandSpec, Scenario, ScenarioError, load_scenario, parse_scenario
from .trace import (
    EnergyAccount,
    Goal,
    LoadpointTrace,
    SimulationResult,
    TraceRow,
    metrics,
    step_prices,
)

__all__ = ["CONTROLLERS", "Simulation", "build_site", "run_scenario"]

CONTROLLERS: Final = ("evcc", "smooth")
"""Control strategies a run knows: ``evcc`` is the core's reproduction of evcc (each loadpoint
with the `controlProfile` of the scenario, evcc's by default), ``smooth`` runs every loadpoint
with the smooth profile."""


def build_site(scenario: Scenario, devices: SiteDevices) -> Site:
    """The core site for a scenario (fresh settings copies: the core changes its own)."""
    tariffs: dict[str, Tariff] = {}
    if scenario.grid_rates is not None:
        tariffs["grid"] = RatesTariff(scenario.grid_rates)
    if scenario.feedin is not None:
        tz = scenario.start.tzinfo
        assert tz is not None
        tariffs["feedin"] = FixedTariff(scenario.feedin, tz=tz)
    return Site(
        devices.config,
        [lp.config for lp in devices.loadpoints],
        scenario.site_settings.copy(),
        [lp.settings.copy() for lp in scenario.loadpoints],
        tariffs=tariffs,
        interval_s=scenario.interval_s,
    )


def goal_of(lp: Loadpoint) -> Goal | None:
    """What the core aims a loadpoint at: its plan's goal, else its limit (None: no goal)."""
    plan = lp.plan_goal()
    if plan is not None:
        kind, value = plan
        deadline = lp.settings.plan_time
        return Goal(deadline, soc=value) if kind == "soc" else Goal(deadline, energy_kwh=value)
    if lp.has_soc:
        limit = lp.effective_limit_soc
        return Goal(None, soc=float(limit)) if limit < 100 else None
    energy = lp.settings.limit_energy
    return Goal(None, energy_kwh=energy) if energy > 0 else None


class Simulation:
    """One run of a scenario: step by step, a controller cycle every interval."""

    def __init__(self, scenario: Scenario, controller: str = "evcc") -> None:
        if controller not in CONTROLLERS:
            raise ScenarioError(
                "controller", f"unknown controller {controller!r} (known: {', '.join(CONTROLLERS)})"
            )
        self.scenario = scenario
        self.controller_name = controller
        self.household = ScenarioHousehold(scenario)
        self.clock = ManualClock(scenario.start)
        devices = self.household.site_devices()
        site = build_site(scenario, devices)
        if controller == "smooth":
            for lp in site.loadpoints:
                lp.settings.control_profile = ControlProfile.SMOOTH
        self.controller = Controller(site, devices, self.clock, build_state)
        self.goals = [goal_of(lp) for lp in self.controller.site.loadpoints]
        self.cycles = 0
        self.events = 0

    @property
    def site(self) -> Site:
        return self.controller.site

    def run(self) -> SimulationResult:
        with asyncio.Runner() as runner:
            # simulated devices answer at once: eager tasks finish without a trip through the loop
            runner.get_loop().set_task_factory(asyncio.eager_task_factory)
            return runner.run(self.async_run())

    async def async_run(self) -> SimulationResult:
        started = time.perf_counter()
        sc = self.scenario
        household, controller = self.household, self.controller
        per_cycle = sc.steps_per_cycle
        commands = list(sc.commands)
        next_command = 0
        trace: list[TraceRow] = []
        account = EnergyAccount(sc.step_s / 3600.0, step_prices(sc), sc.feedin or 0.0)
        await controller.async_setup()
        for k in range(sc.steps):
            now = sc.start + timedelta(seconds=k * sc.step_s)  # no drift from summing steps
            self.clock.set(now)
            pv_w, home_w = sc.pv_w[k], sc.home_w[k]
            household.moment(now, pv_w, home_w)
            while next_command < len(commands) and commands[next_command].at <= now:
                await self._apply(commands[next_command])
                next_command += 1
            if k % per_cycle == 0:
                report = await controller.async_cycle()
                self.cycles += 1
                self.events += len(report.events)
                household.sim.advance(now)
            row_state = self._state(now)
            battery = household.sim.battery
            battery_soc = battery.soc if battery is not None else None
            flows = household.sim.step(now, pv_w, home_w, sc.step_s)
            row = TraceRow(
                now,
                pv_w,
                home_w,
                flows.ev_total_w,
                flows.battery_w,
                battery_soc,
                flows.grid_w,
                tuple(
                    LoadpointTrace(power, *state)
                    for state, power in zip(row_state, flows.ev_w, strict=True)
                ),
            )
            account.add(row)
            trace.append(row)
        await controller.async_close()
        final_soc = [
            charger.vehicle.soc if charger.vehicle is not None and charger.vehicle.has_soc else None
            for charger in household.sim.chargers
        ]
        return SimulationResult(
            scenario=sc,
            controller=self.controller_name,
            metrics=metrics(
                sc,
                account,
                trace,
                self.goals,
                final_soc,
                household.charger_switches,
                household.phase_switches,
            ),
            trace=trace,
            wall_time_s=time.perf_counter() - started,
            cycles=self.cycles,
            events=self.events,
        )

    async def _apply(self, command: CommandSpec) -> None:
        controller = self.controller
        for (key, value), name in zip(command.values, command.names, strict=True):
            try:
                if isinstance(key, SiteKey):
                    await controller.async_set_site(key, value)
                    continue
                assert command.loadpoint is not None
                await controller.async_set_loadpoint(command.loadpoint, key, value)
            except SettingError as err:
                raise ScenarioError(f"{command.path}.set.{name}", str(err)) from None
            self.goals[command.loadpoint] = goal_of(self.site.loadpoints[command.loadpoint])

    def _state(self, now: datetime) -> list[tuple[float, int, bool, bool, float | None, str]]:
        """The chargers' physical state at `now` and each loadpoint's mode (state document)."""
        modes = [lp["mode"] for lp in self.controller.state()["loadpoints"]]
        states: list[tuple[float, int, bool, bool, float | None, str]] = []
        for charger, mode in zip(self.household.sim.chargers, modes, strict=True):
            vehicle = charger.vehicle
            states.append(
                (
                    charger.current if charger.enabled else 0.0,
                    charger.phases,
                    charger.enabled,
                    charger.connected(now),
                    vehicle.soc if vehicle is not None and vehicle.has_soc else None,
                    mode,
                )
            )
        return states


def run_scenario(
    scenario: Scenario | Mapping[str, Any] | str | Path, controller: str = "evcc"
) -> SimulationResult:
    """Run a scenario (parsed, as a JSON dict, or a file path) and return metrics and trace."""
    if isinstance(scenario, str | Path):
        parsed = load_scenario(scenario)
    elif isinstance(scenario, Scenario):
        parsed = scenario
    else:
        parsed = parse_scenario(scenario)
    return Simulation(parsed, controller).run()

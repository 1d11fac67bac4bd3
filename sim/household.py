"""The simulated household of a scenario, behind the device interfaces the controller reads.

`ScenarioHousehold` holds the physics (`devices.simulated.SimSite`: chargers with their vehicles,
a home battery) and the PV and home power of the current step. Its meters and chargers are the
same `SimulatedMeter` / `SimulatedCharger` the demo site uses; every read within one cycle sees
the same moment. Each command that reaches a charger is counted here, at the device edge: the
enable/disable flips and the 1p/3p switches the controller really sent.
"""

from __future__ import annotations

from datetime import datetime

from custom_components.evcc_ha.core.devices import LoadpointDevices, SiteDevices
from custom_components.evcc_ha.core.model import ChargerCommand, SiteConfig, SiteReadings
from custom_components.evcc_ha.devices.simulated import (
    SimBattery,
    SimCharger,
    SimSite,
    SimulatedCharger,
    SimulatedMeter,
    SimVehicle,
)

from .scenario import Scenario


class ScenarioHousehold:
    """The scenario's household at the moment the runner last moved it to."""

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self.sim = _build(scenario)
        self.now = scenario.start
        self.pv_w = 0.0
        self.home_w = 0.0
        self._snapshot: SiteReadings | None = None
        count = len(scenario.loadpoints)
        self.enabled = [False] * count  # last commanded enable state
        self.phases = [charger.connected_phases for charger in self.sim.chargers]
        self.charger_switches = [0] * count
        self.phase_switches = [0] * count

    def moment(self, now: datetime, pv_w: float, home_w: float) -> None:
        """Move to the step at `now` with these inputs (chargers carry out what is due)."""
        self.now, self.pv_w, self.home_w = now, pv_w, home_w
        self.sim.advance(now)
        self._snapshot = None

    # --- SimulatedHousehold ----------------------------------------------------------------

    def readings(self) -> SiteReadings:
        if self._snapshot is None:
            self._snapshot = self.sim.readings(
                self.now, self.pv_w, self.home_w, self.scenario.step_s
            )
        return self._snapshot

    def command(self, index: int, command: ChargerCommand) -> None:
        if command.enable is not None and command.enable != self.enabled[index]:
            self.charger_switches[index] += 1
            self.enabled[index] = command.enable
        if command.phases is not None and command.phases != self.phases[index]:
            self.phase_switches[index] += 1
            self.phases[index] = command.phases
        self.sim.command(index, self.now, command)
        self._snapshot = None

    # --- the devices -----------------------------------------------------------------------

    def site_devices(self) -> SiteDevices:
        sc = self.scenario
        return SiteDevices(
            config=SiteConfig(
                title=sc.name, voltage=sc.voltage, battery_configured=sc.battery is not None
            ),
            grid=SimulatedMeter(self, "grid", "grid meter"),
            pv=[SimulatedMeter(self, "pv", "pv meter")],
            battery=[SimulatedMeter(self, "battery", "battery meter")] if sc.battery else [],
            loadpoints=[
                LoadpointDevices(
                    config=lp.config(), charger=SimulatedCharger(self, i, f"{lp.title} charger")
                )
                for i, lp in enumerate(sc.loadpoints)
            ],
        )


def _build(scenario: Scenario) -> SimSite:
    """The physics of a scenario in its initial state."""
    chargers: list[SimCharger] = []
    for lp in scenario.loadpoints:
        v = lp.vehicle
        vehicle = (
            SimVehicle(
                v.title,
                v.capacity_kwh,
                v.soc if v.soc is not None else 0.0,
                phases=v.phases,
                max_current=v.max_current,
                efficiency=v.efficiency,
                arrive=v.arrive,
                depart=v.depart,
                has_soc=v.has_soc,
            )
            if v is not None
            else None
        )
        c = lp.charger
        chargers.append(
            SimCharger(
                phases=c.phases,
                phases_switchable=c.phases_switchable,
                max_current=c.max_current,
                response_delay_s=c.response_delay_s,
                phase_switch_pause_s=c.phase_switch_pause_s,
                voltage=scenario.voltage,
                vehicle=vehicle,
            )
        )
    b = scenario.battery
    battery = (
        SimBattery(b.capacity_kwh, b.soc, b.max_charge_w, b.max_discharge_w)
        if b is not None
        else None
    )
    return SimSite(chargers, battery, scenario.voltage)

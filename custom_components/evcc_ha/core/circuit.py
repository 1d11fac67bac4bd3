"""Load management (evcc's circuits): fuses and power limits that the loadpoints behind them
share.

A circuit has a maximum phase current and/or a maximum power (0 = not limited), an optional
parent (a circuit inside a bigger one), and either its own meter or the sum of its loadpoints
and child circuits as its load. A loadpoint behind a circuit may raise its current only as far as
every circuit up the chain has room (evcc's ValidateCurrent/ValidatePower): the loadpoints that
decide first take the room, as in evcc. Beyond evcc, what a loadpoint takes is counted at once,
so a second loadpoint deciding in the same cycle does not take the same room again.

An external limit (a grid operator's §14a dimming, a HEMS) replaces the maximum power while it is
readable. A metered circuit whose meter stays unreadable longer than its timeout counts as
overloaded: its loadpoints stop until the meter answers again (evcc's fail-safe).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .model import CircuitConfig, CircuitReading

MAX_CIRCUIT_CURRENT_A = 1000.0
MAX_CIRCUIT_POWER_W = 1_000_000.0


@dataclass(slots=True)
class Circuit:
    """A circuit's limits and the load it carries this cycle."""

    config: CircuitConfig
    parent: Circuit | None = None
    children: list[Circuit] = field(default_factory=list)
    power: float = 0.0  # W, measured (or summed) this cycle
    current: float = 0.0  # A, the highest phase, measured (or summed) this cycle
    # what loadpoints were allowed on top since (`take`), until the next measurement
    reserved_power: float = 0.0
    reserved_current: float = 0.0
    external_limit: float | None = None  # W, the readable external limit of this cycle
    meter_ok_at: datetime | None = None
    overloaded: bool = False  # the meter has been unreadable longer than the timeout

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def title(self) -> str:
        return self.config.title or self.config.name

    @property
    def max_power(self) -> float:
        """The maximum power in force: the external limit while readable, else the configured."""
        if self.external_limit is not None:
            return self.external_limit
        return self.config.max_power

    @property
    def max_current(self) -> float:
        return self.config.max_current

    @property
    def dimmed(self) -> bool:
        """An external limit is in force below the configured maximum power (or without one)."""
        limit = self.external_limit
        if limit is None:
            return False
        return self.config.max_power <= 0 or limit < self.config.max_power

    def update(
        self,
        now: datetime,
        loads: Sequence[tuple[str | None, float, float]],
        readings: Mapping[str, CircuitReading],
    ) -> None:
        """Children first, then this circuit: its meter, or its loadpoints' and children's sum.
        `loads` are the loadpoints' (circuit name, charge power W, highest phase current A)."""
        for child in self.children:
            child.update(now, loads, readings)
        self.reserved_power = self.reserved_current = 0.0
        reading = readings.get(self.name, CircuitReading())
        limit = reading.limit
        self.external_limit = limit if limit is not None and limit >= 0 else None
        own_power = sum(p for name, p, _ in loads if name == self.name)
        own_current = sum(i for name, _, i in loads if name == self.name)
        summed_power = own_power + sum(child.power for child in self.children)
        summed_current = own_current + sum(child.current for child in self.children)
        if not self.config.metered:
            self.power, self.current = summed_power, summed_current
            return
        meter = reading.meter
        if meter is None:
            # the last good values stand until the timeout; then nothing more may be drawn
            last = self.meter_ok_at
            if last is None or (now - last).total_seconds() > self.config.timeout_s:
                self.overloaded = True
            return
        self.meter_ok_at, self.overloaded = now, False
        self.power = meter.power
        # a meter without phase currents: its loadpoints' and children's currents stand in
        self.current = max(meter.currents) if meter.currents is not None else summed_current

    def _room(self, limit: float, load: float, old: float, new: float) -> float:
        """evcc's validate: the increase (new − old) may use what is left up to `limit`."""
        if limit <= 0:
            return new
        potential = -math.inf if self.overloaded else limit - load
        if max(0.0, new - old) > potential:
            return min(new, max(0.0, old + potential))
        return new

    def allowed_current(self, old: float, new: float) -> float:
        """The phase current a loadpoint drawing `old` A may take instead of `new`."""
        allowed = self._room(self.max_current, self.current + self.reserved_current, old, new)
        return allowed if self.parent is None else self.parent.allowed_current(old, allowed)

    def allowed_power(self, old: float, new: float) -> float:
        """The power a loadpoint drawing `old` W may take instead of `new`."""
        allowed = self._room(self.max_power, self.power + self.reserved_power, old, new)
        return allowed if self.parent is None else self.parent.allowed_power(old, allowed)

    def take(self, power: float, current: float) -> None:
        """A loadpoint was just allowed more: count it up the chain until it is measured."""
        node: Circuit | None = self
        while node is not None:
            node.reserved_power += max(0.0, power)
            node.reserved_current += max(0.0, current)
            node = node.parent

    def as_json(self) -> dict[str, Any]:
        """evcc's circuit in the state (`circuits.<name>`)."""
        data: dict[str, Any] = {"title": self.title, "power": self.power}
        if self.parent is not None:
            data["parent"] = self.parent.name
        if self.max_current > 0:
            data["current"] = self.current
            data["maxCurrent"] = self.max_current
        if self.max_power > 0:
            data["maxPower"] = self.max_power
        data["dimmed"] = self.dimmed
        return data


def build_circuits(configs: Sequence[CircuitConfig]) -> dict[str, Circuit]:
    """The circuits by name, linked to their parents; a duplicate name, an unknown parent, a
    cycle or a limit out of range is a `ValueError` (the configuration cannot work)."""
    circuits: dict[str, Circuit] = {}
    for config in configs:
        if not config.name:
            raise ValueError("a circuit needs a name")
        if config.name in circuits:
            raise ValueError(f"circuit {config.name!r} exists twice")
        if not 0 <= config.max_current <= MAX_CIRCUIT_CURRENT_A:
            raise ValueError(f"circuit {config.name!r}: max current {config.max_current} A")
        if not 0 <= config.max_power <= MAX_CIRCUIT_POWER_W:
            raise ValueError(f"circuit {config.name!r}: max power {config.max_power} W")
        circuits[config.name] = Circuit(config)
    for circuit in circuits.values():
        parent_name = circuit.config.parent
        if not parent_name:
            continue
        parent = circuits.get(parent_name)
        if parent is None:
            raise ValueError(f"circuit {circuit.name!r}: unknown parent {parent_name!r}")
        circuit.parent = parent
        parent.children.append(circuit)
    for circuit in circuits.values():
        seen = {circuit.name}
        node = circuit.parent
        while node is not None:
            if node.name in seen:
                raise ValueError(f"circuit {circuit.name!r} is inside itself")
            seen.add(node.name)
            node = node.parent
    return circuits


def roots(circuits: Mapping[str, Circuit]) -> list[Circuit]:
    """The circuits without a parent (updated first-children-first from there)."""
    return [c for c in circuits.values() if c.parent is None]

"""Load management (evcc's circuits): loadpoints behind a fuse or a power limit share it."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import timedelta

import pytest

from custom_components.evcc_ha.api.state import build_state
from custom_components.evcc_ha.core.circuit import build_circuits
from custom_components.evcc_ha.core.model import (
    ChargerCommand,
    ChargerConfig,
    ChargerReading,
    CircuitConfig,
    CircuitReading,
    LoadpointConfig,
    LoadpointReadings,
    MeterReading,
    Mode,
    SiteConfig,
    SiteReadings,
    Status,
)
from custom_components.evcc_ha.core.settings import LoadpointSettings
from custom_components.evcc_ha.core.site import Site

from .harness import T0, follow


@dataclass
class IdealCharger:
    """A charger and car that draw exactly what is offered, on the phases switched to."""

    phases: int = 3
    enabled: bool = False
    offered: float = 0.0
    commands: list[ChargerCommand | None] = field(default_factory=list)

    def reading(self) -> LoadpointReadings:
        current = self.offered if self.enabled else 0.0
        currents = (
            current,
            current if self.phases == 3 else 0.0,
            current if self.phases == 3 else 0.0,
        )
        return LoadpointReadings(
            charger=ChargerReading(
                status=Status.C if self.enabled else Status.B,
                enabled=self.enabled,
                offered_current=self.offered if self.enabled else None,
                currents=currents,
                power=sum(currents) * 230.0,
                phases=self.phases,
            )
        )

    def apply(self, command: ChargerCommand | None) -> None:
        self.commands.append(command)
        follow(self, command)


class Garage:
    """A site whose loadpoints are all behind circuits, driven cycle by cycle."""

    def __init__(
        self,
        circuits: tuple[CircuitConfig, ...],
        loadpoint_circuits: tuple[str, ...],
        *,
        mode: Mode = Mode.NOW,
        switchable: bool = False,
    ) -> None:
        charger = ChargerConfig(phases_switchable=switchable)
        configs = [
            LoadpointConfig(title=f"LP{i + 1}", charger=charger, circuit=name)
            for i, name in enumerate(loadpoint_circuits)
        ]
        settings = [
            LoadpointSettings(
                mode=mode, priority=len(configs) - i, phases_configured=0 if switchable else 3
            )
            for i in range(len(configs))
        ]
        self.site = Site(SiteConfig(circuits=circuits), configs, None, settings)
        self.chargers = [IdealCharger() for _ in configs]
        self.now = T0

    def cycle(
        self, circuits: dict[str, CircuitReading] | None = None, *, grid: float = 0.0
    ) -> list[ChargerCommand | None]:
        self.now += timedelta(seconds=30)
        readings = SiteReadings(
            grid=MeterReading(grid),
            loadpoints=tuple(c.reading() for c in self.chargers),
            circuits=circuits or {},
        )
        commands = self.site.update(self.now, readings).commands
        for charger, command in zip(self.chargers, commands, strict=True):
            charger.apply(command)
        return commands

    def offered(self) -> list[float]:
        return [c.offered if c.enabled else 0.0 for c in self.chargers]


MAIN_20A = CircuitConfig(name="main", title="Main fuse", max_current=20.0)


def test_two_fast_loadpoints_never_take_more_than_the_fuse() -> None:
    """Two cars in `now` behind 20 A: the first gets its 16 A, the second's 4 A are below the
    minimum, so it stays off — in the very first cycle (evcc lets both start at 16 A there and
    corrects one cycle later; here what the first takes counts at once)."""
    garage = Garage((MAIN_20A,), ("main", "main"))
    for _ in range(4):
        garage.cycle()
        assert sum(garage.offered()) <= 20.0
    assert garage.offered() == [16.0, 0.0]
    assert garage.site.circuits["main"].current == pytest.approx(16.0)


def test_the_second_loadpoint_gets_what_is_left() -> None:
    garage = Garage((replace(MAIN_20A, max_current=25.0),), ("main", "main"))
    garage.cycle()
    garage.cycle()
    assert garage.offered() == [16.0, 9.0]


def test_a_fuse_reached_by_measurement_stops_the_last_one() -> None:
    """A loadpoint that lowers the fuse's headroom makes the other give way, never below 6 A:
    disabled instead."""
    garage = Garage((replace(MAIN_20A, max_current=25.0),), ("main", "main"))
    garage.cycle()
    garage.cycle()
    # the fuse is lowered (e.g. by a dynamic limit): 18 A for two cars → 16 A + nothing
    garage.site.circuits["main"].config = replace(MAIN_20A, max_current=18.0)
    garage.cycle()
    garage.cycle()
    assert garage.offered() == [16.0, 0.0]
    assert not garage.chargers[1].enabled


def test_max_power_caps_the_current() -> None:
    """7 kW for a 3p car: 7000 / 690 = 10.1 → 10 A."""
    garage = Garage((CircuitConfig(name="main", max_power=7000.0),), ("main",))
    garage.cycle()
    assert garage.offered() == [10.0]


def test_a_parent_circuit_limits_its_children() -> None:
    circuits = (
        CircuitConfig(name="house", max_current=16.0),
        CircuitConfig(name="garage", parent="house", max_current=32.0),
    )
    garage = Garage(circuits, ("garage", "garage"))
    garage.cycle()
    garage.cycle()
    assert garage.offered() == [16.0, 0.0]
    house, inner = garage.site.circuits["house"], garage.site.circuits["garage"]
    assert inner.parent is house and house.children == [inner]
    assert house.current == pytest.approx(16.0)


def test_a_metered_circuit_counts_the_other_loads() -> None:
    """The circuit's own meter sees 8 A of other load on top of the car's 6 A: a 20 A fuse leaves
    the car 12 A."""
    circuit = CircuitConfig(name="main", max_current=20.0, metered=True)
    garage = Garage((circuit,), ("main",))
    garage.chargers[0].enabled, garage.chargers[0].offered = True, 6.0
    meter = MeterReading(power=14 * 690.0, currents=(14.0, 14.0, 14.0))
    commands = garage.cycle({"main": CircuitReading(meter=meter)})
    assert commands[0] == ChargerCommand(current=12.0)


def test_an_unreadable_circuit_meter_stops_its_loadpoints_after_the_timeout() -> None:
    """evcc's fail-safe: the last values stand for the timeout (60 s), then the circuit counts as
    overloaded and its loadpoints stop until the meter answers again."""
    circuit = CircuitConfig(name="main", max_current=20.0, metered=True)
    garage = Garage((circuit,), ("main",))
    meter = MeterReading(power=0.0, currents=(0.0, 0.0, 0.0))
    garage.cycle({"main": CircuitReading(meter=meter)})
    assert garage.offered() == [16.0]
    garage.cycle({"main": CircuitReading(meter=None)})  # 30 s: the last values stand
    garage.cycle({"main": CircuitReading(meter=None)})  # 60 s
    assert garage.offered() == [16.0]
    garage.cycle({"main": CircuitReading(meter=None)})  # 90 s > 60 s: overloaded
    assert garage.offered() == [0.0]
    assert garage.site.circuits["main"].overloaded
    measured = MeterReading(power=0.0, currents=(0.0, 0.0, 0.0))
    garage.cycle({"main": CircuitReading(meter=measured)})
    assert garage.offered() == [16.0]


def test_an_external_limit_dims_the_site_and_scales_to_one_phase() -> None:
    """A grid operator's limit of 3 kW (§14a): no room for 6 A on three phases (4.14 kW), so a
    switchable charger goes to 1p at 13 A (3000 / 230). The limit gone, 3p at 16 A again."""
    circuit = CircuitConfig(name="main", max_power=22000.0, limited=True)
    garage = Garage((circuit,), ("main",), switchable=True)
    garage.cycle({"main": CircuitReading(limit=None)})
    assert garage.offered() == [16.0] and garage.chargers[0].phases == 3
    main = garage.site.circuits["main"]
    assert not main.dimmed
    garage.cycle({"main": CircuitReading(limit=3000.0)})
    garage.cycle({"main": CircuitReading(limit=3000.0)})
    assert garage.chargers[0].phases == 1
    assert garage.offered() == [13.0]
    assert main.dimmed and main.max_power == 3000.0
    for _ in range(12):  # past the phase switch cool-down
        garage.cycle({"main": CircuitReading(limit=None)})
    assert garage.chargers[0].phases == 3
    assert garage.offered() == [16.0]
    assert not main.dimmed


def test_pv_surplus_is_capped_by_the_circuit() -> None:
    """pv mode with 11 kW of surplus behind a 10 A fuse: 10 A, not 16 A."""
    garage = Garage((replace(MAIN_20A, max_current=10.0),), ("main",), mode=Mode.PV)
    garage.chargers[0].enabled, garage.chargers[0].offered = True, 6.0
    garage.cycle(grid=-11000.0)
    garage.cycle(grid=-11000.0)
    assert garage.offered() == [10.0]


def test_a_loadpoint_without_circuit_is_not_limited() -> None:
    garage = Garage((MAIN_20A,), ("main", ""))
    assert garage.site.loadpoints[1].circuit is None
    garage.cycle()
    garage.cycle()
    assert garage.offered() == [16.0, 16.0]


def test_circuits_in_the_state_document() -> None:
    circuits = (
        CircuitConfig(name="house", title="House", max_current=25.0, max_power=11000.0),
        CircuitConfig(name="garage", title="Garage", parent="house", max_power=0.0),
    )
    garage = Garage(circuits, ("garage",))
    garage.cycle()
    garage.cycle()
    doc = build_state(garage.site, garage.now)
    # 11 kW on three phases: 11000 / 690 = 15.9 → 15 A
    assert doc["circuits"] == {
        "house": {
            "title": "House",
            "power": 10350.0,
            "current": 15.0,
            "maxCurrent": 25.0,
            "maxPower": 11000.0,
            "dimmed": False,
        },
        "garage": {"title": "Garage", "power": 10350.0, "parent": "house", "dimmed": False},
    }


def test_no_circuits_key_without_load_management() -> None:
    site = Site(SiteConfig(), [LoadpointConfig()])
    assert "circuits" not in build_state(site, T0)


@pytest.mark.parametrize(
    ("configs", "message"),
    [
        ((CircuitConfig(name="a"), CircuitConfig(name="a")), "exists twice"),
        ((CircuitConfig(name="a", parent="b"),), "unknown parent 'b'"),
        (
            (CircuitConfig(name="a", parent="b"), CircuitConfig(name="b", parent="a")),
            "inside itself",
        ),
        ((CircuitConfig(name="a", max_current=-1.0),), "max current -1.0 A"),
        ((CircuitConfig(name="a", max_power=float("nan")),), "max power nan W"),
        ((CircuitConfig(name=""),), "needs a name"),
    ],
)
def test_a_configuration_that_cannot_work_is_refused(
    configs: tuple[CircuitConfig, ...], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        build_circuits(configs)


def test_a_loadpoint_behind_an_unknown_circuit_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown circuit 'nowhere'"):
        Site(SiteConfig(), [LoadpointConfig(title="A", circuit="nowhere")])


def test_pv_on_a_narrow_circuit_charges_on_one_phase_and_does_not_scale_up() -> None:
    """11 kW of surplus, but the circuit allows 3 kW: no room for 6 A on 3p (4.14 kW), so a
    switchable charger switches to 1p before it starts and stays there (evcc's pvScalePhases
    with circuitAllowsPhases), charging at 13 A (3000 / 230)."""
    garage = Garage(
        (CircuitConfig(name="main", max_power=3000.0),), ("main",), mode=Mode.PV, switchable=True
    )
    for _ in range(6):  # past the enable delay
        garage.cycle(grid=-11000.0)
    assert garage.chargers[0].phases == 1
    assert garage.offered() == [13.0]
    for _ in range(10):
        garage.cycle(grid=-11000.0 + 13 * 230.0)
    assert garage.chargers[0].phases == 1  # 3p would have the surplus, not the circuit room
    assert garage.offered() == [13.0]

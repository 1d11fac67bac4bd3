"""evcc's welcome charge: a car that gives up unless offered current right after it is plugged
in gets the minimum when it connects, even in off or without surplus."""

from __future__ import annotations

from custom_components.evcc_ha.api.state import build_state
from custom_components.evcc_ha.core.model import (
    ChargerCommand,
    LoadpointConfig,
    Mode,
    SiteConfig,
    VehicleConfig,
)
from custom_components.evcc_ha.core.site import Site

from .harness import Driver, charging_at, with_vehicle


def _welcome_active(d: Driver) -> bool:
    active: bool = build_state(d.site, d.now)["loadpoints"][0]["vehicleWelcomeActive"]
    return active


def test_off_mode_offers_the_minimum_once_when_the_car_connects() -> None:
    d = Driver(mode=Mode.OFF, vehicle=with_vehicle(welcome_charge=True))
    d.cycle(status="A")
    result = d.cycle(status="B", after=1)
    assert result.commands[0] == ChargerCommand(enable=True, current=6.0)
    assert _welcome_active(d)
    d.cycle(status="C", currents=charging_at(6), after=10)
    assert d.enabled  # still within the welcome (30 s, one evcc cycle)
    d.cycle(status="C", currents=charging_at(6), after=25)
    assert not d.enabled
    assert not _welcome_active(d)


def test_pv_without_surplus_starts_and_the_disable_timer_ends_it() -> None:
    d = Driver(mode=Mode.PV, vehicle=with_vehicle(welcome_charge=True), disable_delay=120.0)
    d.cycle(status="A", grid=500)
    d.cycle(status="B", grid=500, after=1)
    assert d.enabled and d.offered == 6.0
    for _ in range(4):  # 120 s of disable delay after the welcome
        d.cycle(status="C", grid=1500, currents=charging_at(6), after=30)
        assert d.enabled
    d.cycle(status="C", grid=1500, currents=charging_at(6), after=30)
    assert not d.enabled


def test_a_car_without_the_feature_gets_nothing() -> None:
    d = Driver(mode=Mode.OFF, vehicle=with_vehicle())
    d.cycle(status="A")
    result = d.cycle(status="B", after=1)
    assert result.commands[0] is None
    assert not _welcome_active(d)


def test_a_free_vehicle_of_the_site_that_needs_it_counts() -> None:
    """evcc: any vehicle that may come to the loadpoint and needs a welcome charge."""
    site = Site(
        SiteConfig(vehicles=(VehicleConfig(title="Zoe", welcome_charge=True),)),
        [LoadpointConfig(title="Garage")],
    )
    d = Driver(mode=Mode.OFF)
    d.site, d.lp = site, site.loadpoints[0]
    site.set_loadpoint_setting(0, "mode", "off", d.now)
    d.cycle(status="A")
    result = d.cycle(status="B", after=1)
    assert result.commands[0] == ChargerCommand(enable=True, current=6.0)

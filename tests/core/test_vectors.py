"""The control test vectors of evcc-behaviour.md §8 (1–22), plus the behaviour around them."""

from __future__ import annotations

import pytest

from custom_components.evcc_ha.core.model import (
    ChargerCommand,
    ChargerConfig,
    MeterReading,
    Mode,
    PhaseAction,
    PvAction,
    SettingError,
)
from custom_components.evcc_ha.core.settings import SiteSettings
from custom_components.evcc_ha.core.tariff import FixedTariff, parse_zones

from .harness import Driver, charging_at, with_vehicle


def charging_driver(grid: float = 0.0, **kwargs: object) -> Driver:
    """A loadpoint charging 3p at 6 A for a while, PV timer idle."""
    d = Driver(**kwargs)  # type: ignore[arg-type]
    d.cycle(grid=grid, currents=charging_at(6), enabled=True, offered=6)
    if d.lp.mode in (Mode.PV, Mode.MINPV):
        assert d.lp.enabled and d.lp.offered_current == 6
        assert d.lp.pv_timer is None
    return d


# --- PV current ---------------------------------------------------------------------------


def test_v1_surplus_raises_current_integer_charger() -> None:
    d = charging_driver()
    result = d.cycle(grid=-2000, currents=charging_at(6))
    assert result.commands[0] == ChargerCommand(current=8.0)


@pytest.mark.parametrize(("step", "expected"), [(0.1, 8.8), (0.001, 8.898)])
def test_v1_surplus_raises_current_fine_charger(step: float, expected: float) -> None:
    d = charging_driver(charger=ChargerConfig(current_step=step))
    result = d.cycle(grid=-2000, currents=charging_at(6))
    command = result.commands[0]
    assert command is not None and command.current == pytest.approx(expected)


def test_v2_import_starts_disable_timer_then_disables() -> None:
    d = charging_driver()
    assert d.cycle(grid=500, currents=charging_at(6)).commands[0] is None
    assert d.lp.pv_action == PvAction.DISABLE
    assert d.lp.pv_remaining == pytest.approx(180)
    assert d.lp.offered_current == 6
    d.cycle(grid=500, currents=charging_at(6), after=149)
    assert d.lp.enabled
    assert d.lp.pv_remaining == pytest.approx(31)
    result = d.cycle(grid=500, currents=charging_at(6), after=31)
    assert result.commands[0] == ChargerCommand(enable=False)
    assert not d.lp.enabled and d.lp.pv_action == PvAction.INACTIVE


def test_v2_below_disable_threshold_keeps_charging() -> None:
    d = charging_driver(disable_threshold=1000.0)
    for _ in range(10):
        assert d.cycle(grid=500, currents=charging_at(6)).commands[0] is None
    assert d.lp.enabled and d.lp.pv_timer is None


def test_disable_timer_resets_when_surplus_returns() -> None:
    d = charging_driver()
    d.cycle(grid=500, currents=charging_at(6))
    d.cycle(grid=500, currents=charging_at(6), after=170)
    d.cycle(grid=-100, currents=charging_at(6), after=5)  # surplus again: timer reset
    assert d.lp.pv_timer is None
    d.cycle(grid=500, currents=charging_at(6), after=10)
    assert d.lp.enabled and d.lp.pv_remaining == pytest.approx(180)


def idle_driver(**kwargs: object) -> Driver:
    """Connected, disabled, PV timer idle (a cycle without surplus after connect)."""
    d = Driver(**kwargs)  # type: ignore[arg-type]
    d.cycle(grid=0, status="B")  # connect: timer elapsed → no condition → reset
    assert not d.lp.enabled and d.lp.pv_timer is None
    return d


def test_v3_surplus_enables_after_delay() -> None:
    d = idle_driver()
    assert d.cycle(grid=-5000, status="B").commands[0] is None
    assert d.lp.pv_action == PvAction.ENABLE and d.lp.pv_remaining == pytest.approx(60)
    assert d.cycle(grid=-5000, status="B", after=59).commands[0] is None
    result = d.cycle(grid=-5000, status="B", after=1)
    assert result.commands[0] == ChargerCommand(enable=True, current=6.0)


def test_v3_too_little_surplus_for_3p_stays_off() -> None:
    d = idle_driver()
    for _ in range(5):
        assert d.cycle(grid=-3000, status="B").commands[0] is None
    assert d.lp.pv_timer is None


def test_v3_same_surplus_enables_at_1p() -> None:
    d = idle_driver(charger=ChargerConfig(phases=1))
    d.cycle(grid=-3000, status="B")
    result = d.cycle(grid=-3000, status="B", after=60)
    assert result.commands[0] == ChargerCommand(enable=True, current=6.0)


def test_connect_with_surplus_enables_at_once() -> None:
    d = Driver()
    result = d.cycle(grid=-5000, status="B")
    assert result.commands[0] == ChargerCommand(enable=True, current=6.0)


def test_v4_enable_threshold() -> None:
    d = idle_driver(enable_threshold=-1500.0)
    d.cycle(grid=-1200, status="B")
    assert d.lp.pv_timer is None
    d.cycle(grid=-1600, status="B")
    assert d.lp.pv_action == PvAction.ENABLE


def test_v5_minpv_never_disables() -> None:
    d = charging_driver(mode=Mode.MINPV)
    for _ in range(20):
        assert d.cycle(grid=2000, currents=charging_at(6), after=60).commands[0] is None
    assert d.lp.enabled and d.lp.offered_current == 6


def test_minpv_enables_without_surplus() -> None:
    d = Driver(mode=Mode.MINPV)
    assert d.cycle(grid=1000, status="B").commands[0] == ChargerCommand(enable=True, current=6.0)


def test_v6_capped_at_max_current() -> None:
    d = charging_driver()
    result = d.cycle(grid=-19 * 690, currents=charging_at(6))
    assert result.commands[0] == ChargerCommand(current=16.0)


def test_v7_effective_current_from_measured_phases() -> None:
    d = Driver(mode=Mode.NOW, max_current=10.0)
    d.cycle(currents=(4.1, 4.0, 4.2), enabled=True, offered=10)
    assert d.lp.effective_current == pytest.approx(6.2)


# --- battery / site power -----------------------------------------------------------------


def battery(power: float, soc: float) -> MeterReading:
    return MeterReading(power=power, soc=soc, capacity=10.0)


def test_v8_priority_soc_head() -> None:
    # HEAD: below prioritySoc residual power is forced to 100 W (OLD spec vector: −500)
    d = Driver(battery=True, site=SiteSettings(priority_soc=50))
    d.cycle(grid=-500, status="B", battery=battery(-3000, 40))
    assert d.site.measurements.site_power == pytest.approx(-400)
    d.cycle(grid=-500, status="B", battery=battery(-3000, 60))
    assert d.site.measurements.site_power == pytest.approx(-3500)


def test_v9_discharging_battery_counts_as_import() -> None:
    d = Driver(battery=True)
    d.cycle(grid=0, status="B", battery=battery(2000, 50))
    assert d.site.measurements.site_power == pytest.approx(2000)


def test_v10_buffer_soc_keeps_charging_car_at_min() -> None:
    d = charging_driver(battery=True, site=SiteSettings(buffer_soc=80))
    for _ in range(10):
        result = d.cycle(grid=0, currents=charging_at(6), battery=battery(2000, 85), after=60)
        assert result.commands[0] is None
    assert d.lp.enabled and d.lp.offered_current == 6


def test_v10_buffer_soc_does_not_start_charging() -> None:
    d = idle_driver(battery=True, site=SiteSettings(buffer_soc=80))
    for _ in range(5):
        assert d.cycle(status="B", battery=battery(0, 85), after=60).commands[0] is None


def test_v11_buffer_start_soc_starts_charging() -> None:
    d = idle_driver(battery=True, site=SiteSettings(buffer_soc=80, buffer_start_soc=90))
    result = d.cycle(status="B", battery=battery(0, 95))
    assert result.commands[0] == ChargerCommand(enable=True, current=6.0)


def test_v12_residual_power_equilibrium() -> None:
    d = charging_driver(grid=-100, site=SiteSettings(residual_power=100))
    d.cycle(grid=-2000, currents=charging_at(6))  # → 8 A
    assert d.cycle(grid=-100, currents=charging_at(8)).commands[0] is None
    assert d.site.measurements.site_power == pytest.approx(0)


def test_v13_priority_residual_head() -> None:
    d = Driver(battery=True, site=SiteSettings(priority_soc=50))
    d.cycle(grid=0, status="B", battery=battery(0, 40))
    assert d.site.measurements.site_power == pytest.approx(100)


# --- phases ---------------------------------------------------------------------------------

SWITCHABLE = ChargerConfig(phases_switchable=True)


def test_v14_scale_down_to_1p_after_disable_delay() -> None:
    d = charging_driver(charger=SWITCHABLE)
    result = d.cycle(grid=1000, power=4140, currents=charging_at(6))
    assert result.commands[0] is None
    assert d.lp.phase_action == PhaseAction.SCALE1P
    assert d.lp.pv_timer is None  # projected site power < 0: no disable timer meanwhile
    d.cycle(grid=1000, power=4140, currents=charging_at(6), after=150)
    result = d.cycle(grid=1000, power=4140, currents=charging_at(6), after=30)
    # evcc keeps the per-phase current after a switch down (6 A); PV control takes over from there
    assert result.commands[0] == ChargerCommand(phases=1)
    assert d.lp.active_phases == 1
    result = d.cycle(grid=-2000, power=1380, currents=charging_at(6, 1), after=30)
    assert result.commands[0] == ChargerCommand(current=14.0)


def test_v15_scale_up_to_3p_after_enable_delay() -> None:
    d = Driver(charger=SWITCHABLE)
    d.phases = 1
    d.cycle(grid=0, power=3680, currents=charging_at(16, 1), enabled=True, offered=16)
    assert d.lp.physical_phases == 1
    d.cycle(grid=-1500, power=3680, currents=charging_at(16, 1))
    assert d.lp.phase_action == PhaseAction.SCALE3P
    result = d.cycle(grid=-1500, power=3680, currents=charging_at(16, 1), after=60)
    command = result.commands[0]
    assert command is not None and command.phases == 3
    assert d.lp.physical_phases == 3


def test_v16_not_charging_switches_at_once() -> None:
    d = Driver(charger=SWITCHABLE)
    result = d.cycle(grid=0, status="B")
    assert result.commands[0] == ChargerCommand(phases=1)


def test_no_phase_switch_within_60_s_of_the_last() -> None:
    d = Driver(charger=SWITCHABLE)
    d.cycle(grid=0, status="B")  # → 1p at once (not charging)
    assert d.phases == 1
    d.cycle(grid=-9000, status="B", after=30)
    assert d.phases == 1  # evcc's phaseSwitchCompleted: 60 s must pass
    d.cycle(grid=-9000, status="B", after=31)
    assert d.phases == 3


def test_phase_switch_cooldown_beyond_evcc() -> None:
    d = Driver(charger=SWITCHABLE, phase_switch_cooldown=300.0)
    d.cycle(grid=0, status="B")  # → 1p at once
    assert d.phases == 1
    # plenty of surplus right away: 3p would be due, but the cooldown holds it
    d.cycle(grid=-9000, status="B", after=30)
    assert d.phases == 1
    d.cycle(grid=-9000, status="B", after=300)
    assert d.phases == 3


def test_v17_phases_validation() -> None:
    """Current evcc (SetPhasesConfigured): 0 needs a phase switch; the spec's vector gives 0.122's
    text "invalid number of phases: 0" — current evcc wins."""
    d = Driver()
    with pytest.raises(SettingError, match=r"^charger does not support phase switching$"):
        d.set("phases", 0)
    with pytest.raises(SettingError, match=r"^invalid number of phases: 2$"):
        d.set("phases", "2")
    assert d.lp.settings.phases_configured == 3


def test_phases_without_switch_are_the_wiring() -> None:
    """evcc's SetPhases on a charger without 1p/3p switch: 1 or 3 is how it is wired, and the
    current it is offered is computed for that many phases."""
    d = charging_driver()
    assert d.lp.active_phases == 3
    assert d.set("phases", 1) is None  # nothing to switch
    assert d.lp.settings.phases_configured == 1
    assert d.lp.physical_phases == d.lp.active_phases == 1
    # 1 kW more export on one phase: + 4 A (not 1.4 A as on three)
    result = d.cycle(grid=-1000, currents=(6.0, 0.0, 0.0))
    assert result.commands[0] == ChargerCommand(current=10.0)


def test_fixed_phases_on_switchable_charger_switches_at_once() -> None:
    d = charging_driver(charger=SWITCHABLE)
    command = d.set("phases", 1)
    assert command is not None and command.phases == 1


def test_fixed_phases_wait_for_a_car() -> None:
    """evcc: `!connected` comes before the phase switch, so an empty charger is left alone."""
    d = Driver(charger=SWITCHABLE, mode=Mode.PV)
    d.phases = 3
    d.cycle(status="A")
    d.set("phases", 1)
    result = d.cycle(status="A")
    assert all(c is None or c.phases is None for c in d.commands) and d.phases == 3
    result = d.cycle(status="B")
    command = result.commands[0]
    assert command is not None and command.phases == 1


def test_now_mode_scales_to_3p() -> None:
    d = Driver(charger=SWITCHABLE, mode=Mode.NOW)
    d.phases = 1
    result = d.cycle(status="B")
    assert result.commands[0] == ChargerCommand(enable=True, current=16.0, phases=3)


# --- limits / minSoc ------------------------------------------------------------------------

CAR = with_vehicle(capacity_kwh=50.0)
OFFLINE = with_vehicle(capacity_kwh=50.0, has_soc=False)


@pytest.mark.parametrize("mode", [Mode.PV, Mode.NOW])
def test_v18_limit_soc_reached_disables(mode: Mode) -> None:
    d = Driver(vehicle=CAR, mode=mode, limit_soc=80)
    d.cycle(grid=-9000, soc=79.0, currents=charging_at(16), enabled=True, offered=16)
    assert d.lp.enabled
    result = d.cycle(grid=-9000, soc=80.0, currents=charging_at(16))
    assert result.commands[0] == ChargerCommand(enable=False)


def test_v19_limit_100_is_never_reached() -> None:
    d = Driver(vehicle=CAR, mode=Mode.NOW, limit_soc=100)
    d.cycle(soc=100.0, currents=charging_at(16), enabled=True, offered=16)
    assert not d.lp.limit_soc_reached() and d.lp.enabled


def test_v20_min_soc_fast_charges_in_pv() -> None:
    d = Driver(vehicle=CAR, min_soc=20)
    result = d.cycle(grid=500, soc=15.0, status="B")
    assert result.commands[0] == ChargerCommand(enable=True, current=16.0)


def test_min_soc_beats_limit_head() -> None:
    d = Driver(vehicle=CAR, min_soc=50, limit_soc=40)
    result = d.cycle(grid=500, soc=45.0, status="B")
    assert result.commands[0] == ChargerCommand(enable=True, current=16.0)


def test_v21_min_soc_without_soc_by_energy() -> None:
    d = Driver(vehicle=OFFLINE, mode=Mode.PV, min_soc=20)
    d.cycle(grid=500, status="C", energy=100.0, enabled=True, offered=16, currents=charging_at(16))
    assert d.lp.enabled
    d.cycle(grid=500, status="C", energy=111.7, currents=charging_at(16))
    assert d.lp.energy.session_wh == pytest.approx(11700)
    assert d.lp.enabled  # 11700 Wh < 11764.7 Wh
    result = d.cycle(grid=500, status="C", energy=111.8, currents=charging_at(16))
    # minSoc energy reached: back to PV control (16 A + 2 A measured, −500 W → 15.27 A)
    assert result.commands[0] == ChargerCommand(current=15.0)


def test_v22_limit_energy_reached() -> None:
    d = Driver(vehicle=OFFLINE, mode=Mode.NOW, limit_energy=10.0)
    d.cycle(energy=50.0, enabled=True, offered=16, currents=charging_at(16))
    d.cycle(energy=59.99, currents=charging_at(16))
    assert d.lp.enabled
    result = d.cycle(energy=60.0, currents=charging_at(16))
    assert result.commands[0] == ChargerCommand(enable=False)


def test_limit_energy_ignored_for_vehicle_with_soc() -> None:
    d = Driver(vehicle=CAR, mode=Mode.NOW, limit_energy=1.0)
    d.cycle(energy=50.0, soc=40.0, enabled=True, offered=16, currents=charging_at(16))
    d.cycle(energy=60.0, soc=50.0, currents=charging_at(16))
    assert d.lp.enabled


# --- modes ----------------------------------------------------------------------------------


def test_off_disables_and_never_enables() -> None:
    d = charging_driver(mode=Mode.OFF)
    assert not d.lp.enabled
    for grid in (-20000, 0, 5000):
        d.cycle(grid=grid, status="B")
        assert not d.lp.enabled


def test_disconnect_disables() -> None:
    d = charging_driver(mode=Mode.NOW)
    result = d.cycle(status="A")
    assert result.commands[0] == ChargerCommand(enable=False)


def test_mode_change_resets_timers_as_evcc() -> None:
    d = Driver(mode=Mode.PV)
    d.cycle(grid=0, status="B")  # connect: PV timer elapsed, then reset (no surplus)
    d.cycle(grid=-9000, status="B")
    assert d.lp.pv_action == PvAction.ENABLE
    d.set("mode", "minpv")  # minpv resets the PV timer
    assert d.lp.pv_timer is None
    assert d.enabled  # minpv charges at minimum current
    d.set("mode", "pv")
    d.cycle(grid=3000, status="C", currents=charging_at(6))
    assert d.lp.pv_action == PvAction.DISABLE
    d.set("mode", "now")  # now resets it too
    assert d.lp.pv_timer is None and d.lp.phase_timer is None
    # back to pv with a charging car and no surplus: the disable delay runs from here, no
    # immediate stop left over from the connect
    d.cycle(grid=10000, status="C", currents=charging_at(16))
    d.set("mode", "pv")
    assert d.enabled
    assert d.lp.pv_action == PvAction.DISABLE


def test_a_car_seen_on_one_phase_plans_with_one_phase() -> None:
    """evcc's maxActivePhases counts the measured phases: a guest car drawing on one phase of
    a 3p charger can take 1 × 230 V × max current, and a plan is made with that."""
    d = Driver(mode=Mode.NOW)
    d.cycle(status="B")
    d.cycle(status="C", currents=(16.0, 0.0, 0.0))
    d.cycle(status="C", currents=(16.0, 0.0, 0.0))
    assert d.lp.max_power() == 230 * 16 * 1
    d = Driver(mode=Mode.NOW, charger=ChargerConfig(phases=1))
    d.cycle(status="B")
    d.cycle(status="C", currents=(16.0, 0.0, 0.0))
    assert d.lp.max_active_phases == 1  # 1p all along: nothing to learn from it


@pytest.mark.parametrize(("switchable", "flexible"), [(True, 11040 - 1380), (False, 11040 - 4140)])
def test_minpv_gives_away_what_is_above_its_minimum(switchable: bool, flexible: float) -> None:
    """evcc's GetChargePowerFlexibility: above EffectiveMinPower, over the fewest phases the
    loadpoint can charge on (1 where it switches)."""
    d = Driver(mode=Mode.MINPV, charger=ChargerConfig(phases_switchable=switchable))
    d.cycle(grid=-11040, status="B")
    d.cycle(grid=0, currents=charging_at(16), power=11040)
    assert d.lp.flexible_power == pytest.approx(flexible)
    d.site.tariffs["grid"] = FixedTariff(0.30, parse_zones("0-24 0.05"))
    d.set("smartCostLimit", 0.10)
    d.cycle(grid=0, currents=charging_at(16), power=11040)
    assert d.lp.smart_cost_active and d.lp.flexible_power == 0  # cheap: it keeps its power

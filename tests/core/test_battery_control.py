"""evcc's home battery control: discharge control (hold while a car charges fast or cheaply),
grid charging below a price, and battery boost (the car takes the home battery once)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from custom_components.evcc_ha.core.model import (
    BatteryMode,
    ChargerConfig,
    MeterReading,
    Mode,
    SettingError,
)
from custom_components.evcc_ha.core.tariff import Rate, RatesTariff

from .harness import T0, Driver, charging_at


def battery(soc: float, power: float = 0.0) -> MeterReading:
    return MeterReading(power=power, soc=soc, capacity=10.0)


def test_discharge_control_holds_while_charging_fast() -> None:
    d = Driver(mode=Mode.PV, battery=True, controllable=True)
    # not on: the battery is never touched
    assert d.cycle(grid=500, battery=battery(60)).battery_mode is None
    d.site.set_site_setting("batteryDischargeControl", True)
    assert d.cycle(grid=500, battery=battery(60), status="B").battery_mode is None
    d.set("mode", "now")
    d.cycle(grid=500, battery=battery(60), status="B")  # connected, not charging yet
    assert d.site.battery_mode is BatteryMode.UNKNOWN
    result = d.cycle(grid=11000, battery=battery(60), status="C", currents=charging_at(16))
    assert result.battery_mode is BatteryMode.HOLD
    assert d.cycle(grid=11000, battery=battery(60), status="C").battery_mode is None  # once
    d.set("mode", "pv")  # no more fast charging: back to normal
    result = d.cycle(grid=11000, battery=battery(60), status="C", currents=charging_at(16))
    assert result.battery_mode is BatteryMode.NORMAL
    assert d.cycle(grid=0, battery=battery(60)).battery_mode is None


def test_grid_charging_below_the_limit() -> None:
    d = Driver(mode=Mode.PV, battery=True, controllable=True)
    hour = timedelta(hours=1)
    d.site.tariffs["grid"] = RatesTariff(
        [Rate(T0 + i * hour, T0 + (i + 1) * hour, p) for i, p in enumerate([0.30, 0.10, 0.30])]
    )
    d.site.set_site_setting("batteryGridChargeLimit", 0.15)
    assert d.cycle(battery=battery(40), status="A").battery_mode is None
    assert d.site.battery_grid_charge_active is False
    d.now = T0 + hour
    assert d.cycle(battery=battery(40), status="A").battery_mode is BatteryMode.CHARGE
    assert d.site.battery_grid_charge_active is True
    d.now = T0 + 2 * hour
    assert d.cycle(battery=battery(60), status="A").battery_mode is BatteryMode.NORMAL
    # a failed command is sent again next cycle
    d.now = T0 + hour
    d.cycle(battery=battery(40), status="A")
    d.site.battery_mode_failed()
    assert d.cycle(battery=battery(40), status="A").battery_mode is BatteryMode.CHARGE


@pytest.mark.parametrize(
    ("controllable", "chargeable", "key", "value", "message"),
    [
        (False, False, "batteryDischargeControl", True, "battery control not available"),
        (False, False, "batteryGridChargeLimit", 0.1, "battery control not available"),
        (True, False, "batteryGridChargeLimit", 0.1, "cannot be charged from the grid"),
        (True, True, "batteryGridChargeLimit", "cheap", "invalid batteryGridChargeLimit"),
        (True, True, "batteryDischargeControl", "maybe", "invalid batteryDischargeControl"),
    ],
)
def test_battery_control_settings_are_validated(
    controllable: bool, chargeable: bool, key: str, value: object, message: str
) -> None:
    d = Driver(battery=True, controllable=controllable)
    d.site.config = replace(d.site.config, battery_chargeable=chargeable)
    before = d.site.settings.to_dict()
    with pytest.raises(SettingError, match=message):
        d.site.set_site_setting(key, value)
    assert d.site.settings.to_dict() == before
    # switching off is always allowed
    d.site.set_site_setting("batteryGridChargeLimit", None)
    d.site.set_site_setting("batteryDischargeControl", False)


def test_battery_boost_drains_the_battery_down_to_its_limit() -> None:
    """No surplus, a full home battery: with boost the car starts at full power and keeps
    charging; once the battery is below the limit the boost holds and the car follows the
    surplus again (which is none: it stops after the disable delay)."""
    d = Driver(mode=Mode.PV, battery=True, charger=ChargerConfig(max_current=16.0))
    d.cycle(grid=0, battery=battery(90), status="B")
    assert not d.enabled  # no surplus: nothing
    with pytest.raises(SettingError, match="only available in PV modes"):
        d.site.update_loadpoint_settings(0, [("mode", "now"), ("batteryBoost", True)], d.now)
    d.set("batteryBoostLimit", 50)
    d.set("batteryBoost", True)
    d.cycle(grid=0, battery=battery(90), status="B")
    assert d.enabled and d.offered == 16  # start: full power at once
    for soc in (85, 70, 55):  # the car takes the battery: battery discharges, grid ~ 0
        d.cycle(
            grid=50, battery=battery(soc, power=11000), status="C", currents=charging_at(d.offered)
        )
        assert d.enabled and d.offered >= 6
    assert d.site.loadpoints[0].boost_phase == "continue"
    d.cycle(grid=50, battery=battery(45, power=11000), status="C", currents=charging_at(d.offered))
    assert d.site.loadpoints[0].boost_phase == "hold"
    for _ in range(8):  # 4 min: past the 3 min disable delay, no boost power any more
        d.cycle(grid=11000, battery=battery(45), status="C", currents=charging_at(d.offered))
    assert not d.enabled
    # the boost ends with the session
    d.cycle(status="A")
    assert d.site.loadpoints[0].settings.battery_boost is False


@pytest.mark.parametrize("mode", ["minpv", "now", "off"])
def test_a_change_of_mode_ends_the_battery_boost(mode: str) -> None:
    """evcc's SetMode turns the boost off on every change of mode, pv → minpv as well."""
    d = Driver(mode=Mode.PV, battery=True)
    d.cycle(grid=0, battery=battery(90), status="B")
    d.set("batteryBoost", True)
    d.set("mode", "pv")  # the same mode: no change, the boost stays
    assert d.site.loadpoints[0].settings.battery_boost is True
    d.set("mode", mode)
    assert d.site.loadpoints[0].settings.battery_boost is False


def test_new_settings_survive_a_restart_and_garbage_is_dropped() -> None:
    d = Driver(mode=Mode.PV, battery=True, controllable=True)
    d.set("batteryBoost", True)
    d.set("batteryBoostLimit", 30)
    d.set("planStrategy", {"continuous": True, "precondition": 600})
    d.site.set_site_setting("batteryDischargeControl", True)
    d.site.set_site_setting("batteryGridChargeLimit", 0.1)
    saved = d.site.to_dict()
    again = Driver(mode=Mode.PV, battery=True, controllable=True)
    again.site.restore(saved, d.now)
    lp = again.site.loadpoints[0].settings
    assert (lp.battery_boost, lp.battery_boost_limit) == (True, 30)
    assert (lp.plan_strategy.continuous, lp.plan_strategy.precondition) == (True, 600)
    assert again.site.settings.battery_discharge_control is True
    assert again.site.settings.battery_grid_charge_limit == 0.1
    # the battery mode entity was removed meanwhile: its settings are dropped, not kept
    bare = Driver(mode=Mode.PV, battery=True)
    bare.site.restore(saved, d.now)
    assert bare.site.settings.battery_discharge_control is False
    assert bare.site.settings.battery_grid_charge_limit is None
    # garbage in the file: each bad value falls back to its default
    saved["loadpoints"][0]["settings"].update(
        plan_strategy={"continuous": "yes"}, battery_boost_limit=400, battery_boost="maybe"
    )
    broken = Driver(mode=Mode.PV, battery=True, controllable=True)
    broken.site.restore(saved, d.now)
    lp = broken.site.loadpoints[0].settings
    assert (lp.plan_strategy.continuous, lp.battery_boost_limit, lp.battery_boost) == (
        False,
        100,
        False,
    )


@pytest.mark.parametrize(
    ("stored", "restored", "first_command"),
    [
        ("hold", BatteryMode.HOLD, BatteryMode.NORMAL),  # a hold a restart cut short ends
        ("normal", BatteryMode.NORMAL, None),
        ("unknown", BatteryMode.UNKNOWN, None),  # never set: the battery is left alone
        ("boost", BatteryMode.UNKNOWN, None),  # garbage: dropped
        (None, BatteryMode.UNKNOWN, None),  # stored before battery modes were kept
    ],
)
def test_the_battery_mode_survives_a_restart(
    stored: str | None, restored: BatteryMode, first_command: BatteryMode | None
) -> None:
    d = Driver(mode=Mode.PV, battery=True, controllable=True)
    saved = d.site.to_dict()
    assert saved["battery_mode"] == "unknown"
    saved["battery_mode"] = stored
    again = Driver(mode=Mode.PV, battery=True, controllable=True)
    again.site.restore(saved, d.now)
    assert again.site.battery_mode is restored
    assert again.cycle(grid=0, battery=battery(60)).battery_mode is first_command
    # without battery control the stored mode means nothing
    bare = Driver(mode=Mode.PV, battery=True)
    bare.site.restore(saved, d.now)
    assert bare.site.battery_mode is BatteryMode.UNKNOWN


def test_battery_mode_from_outside_lasts_a_minute() -> None:
    """evcc's batterymode: applied in the next cycle, kept while it is sent again within 60 s,
    back to normal once it ends (then the site's own rules)."""
    d = Driver(mode=Mode.PV, battery=True, controllable=True)
    d.cycle(battery=battery(60), status="A")
    d.site.set_battery_mode_external("Hold", d.now)
    assert d.cycle(battery=battery(60), status="A", after=10).battery_mode is BatteryMode.HOLD
    assert d.cycle(battery=battery(60), status="A", after=30).battery_mode is None  # kept
    d.site.set_battery_mode_external("charge", d.now)  # sent again: a new minute
    assert d.cycle(battery=battery(60), status="A", after=30).battery_mode is BatteryMode.CHARGE
    assert d.cycle(battery=battery(60), status="A", after=20).battery_mode is None  # 50 s
    # not sent again: after 60 s it ends, and the battery goes back to normal once
    assert d.cycle(battery=battery(60), status="A", after=30).battery_mode is BatteryMode.NORMAL
    assert d.cycle(battery=battery(60), status="A").battery_mode is None
    # ended by hand
    d.site.set_battery_mode_external("hold", d.now)
    assert d.cycle(battery=battery(60), status="A", after=1).battery_mode is BatteryMode.HOLD
    d.site.set_battery_mode_external(None, d.now)
    assert d.cycle(battery=battery(60), status="A", after=1).battery_mode is BatteryMode.NORMAL


@pytest.mark.parametrize(
    ("controllable", "chargeable", "value", "message"),
    [
        (True, True, "turbo", "invalid battery mode: turbo"),
        (True, True, 3, "invalid battery mode: 3"),
        (True, False, "charge", "cannot be charged from the grid"),
        (False, False, "hold", "battery control not available"),
    ],
)
def test_bad_battery_mode_from_outside(
    controllable: bool, chargeable: bool, value: object, message: str
) -> None:
    d = Driver(battery=True, controllable=controllable)
    d.site.config = replace(d.site.config, battery_chargeable=chargeable)
    with pytest.raises(SettingError, match=message):
        d.site.set_battery_mode_external(value, d.now)
    assert d.site.battery_mode_external is None

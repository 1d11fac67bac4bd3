"""The demo site's simulated household (pure), and a demo entry in Home Assistant."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.evcc_ha.const import CONF_DEMO, CONF_SITE_TITLE, DOMAIN
from custom_components.evcc_ha.core.clock import ManualClock
from custom_components.evcc_ha.core.model import ChargerCommand, Status
from custom_components.evcc_ha.devices.demo import (
    PV_PEAK_W,
    SECOND_DRIVE_KM,
    SECOND_ODOMETER_KM,
    DemoSecondCarValues,
    DemoSite,
    DemoVehicleValues,
    build_demo_devices,
)

BERLIN = ZoneInfo("Europe/Berlin")


def at(hour: int, minute: int = 0, day: int = 21) -> datetime:
    return datetime(2026, 6, day, hour, minute, tzinfo=BERLIN)


def read_all(demo: DemoSite) -> tuple[float, float, float, Status]:
    devices = demo.site_devices()

    async def read() -> tuple[float, float, float, Status]:
        assert devices.grid is not None
        grid = await devices.grid.async_read()
        pv = await devices.pv[0].async_read()
        battery = await devices.battery[0].async_read()
        charger = await devices.loadpoints[0].charger.async_read()
        return grid.power, pv.power, battery.power, charger.status

    return asyncio.run(read())


def test_pv_day_curve() -> None:
    demo = DemoSite(ManualClock(at(0)), tz=BERLIN)
    day = [demo.pv_power(at(0) + timedelta(minutes=10 * i)) for i in range(144)]
    assert max(day) == pytest.approx(PV_PEAK_W, rel=0.05)
    assert demo.pv_power(at(3)) == 0 and demo.pv_power(at(22)) == 0
    assert demo.pv_power(at(9)) < demo.pv_power(at(13))
    assert all(p >= 0 for p in day)


def test_home_load_varies() -> None:
    demo = DemoSite(ManualClock(at(0)), tz=BERLIN)
    loads = [demo.home_power(at(0) + timedelta(minutes=5 * i)) for i in range(288)]
    assert min(loads) >= 250
    assert max(loads) > 1200  # lunch
    assert len(set(loads)) > 100


@pytest.mark.parametrize("hour", [0, 7, 7.4, 12, 17, 23])
def test_fresh_demo_has_a_connected_car(hour: float) -> None:
    start = at(int(hour), int(hour % 1 * 60))
    demo = DemoSite(ManualClock(start), tz=BERLIN)
    assert read_all(demo)[3] in (Status.B, Status.C)
    assert demo.vehicle.depart is not None
    assert demo.vehicle.depart - start >= timedelta(hours=3)


def test_car_leaves_and_returns() -> None:
    clock = ManualClock(at(12))
    demo = DemoSite(clock, tz=BERLIN)
    soc = demo.vehicle.soc
    clock.set(at(7, 40, day=22))
    assert read_all(demo)[3] is Status.A
    clock.set(at(17, 40, day=22))
    assert read_all(demo)[3] is Status.B
    assert demo.vehicle.soc == pytest.approx(soc - 18)
    assert demo.vehicle.depart == at(7, 30, day=23)


async def test_demo_car_values() -> None:
    """The car's app: range from the SoC, the odometer grows by a day's drive, the climater runs
    in the minutes before departure."""
    clock = ManualClock(at(12))
    demo = DemoSite(clock, tz=BERLIN)
    values = build_demo_devices(clock, tz=BERLIN).loadpoints[0].vehicle
    assert values is not None
    source = DemoVehicleValues(demo)
    first = await source.async_read()
    assert first.range_km == pytest.approx(demo.vehicle.soc * 4.2)
    assert (first.limit_soc, first.climater_active) == (90, False)
    clock.set(at(7, 20, day=22))
    assert (await source.async_read()).climater_active is True
    clock.set(at(17, 40, day=22))
    back = await source.async_read()
    assert back.climater_active is False
    assert back.odometer_km == pytest.approx(first.odometer_km + 18 * 4.2)


def test_physics_balance_and_charging() -> None:
    clock = ManualClock(at(12))
    demo = DemoSite(clock, tz=BERLIN)
    devices = demo.site_devices()
    charger = devices.loadpoints[0].charger
    asyncio.run(charger.async_apply(ChargerCommand(enable=True, current=16.0)))
    clock.advance(600)
    grid, pv, battery, status = read_all(demo)
    assert status is Status.C
    reading = asyncio.run(charger.async_read())
    assert reading.power == pytest.approx(16 * 3 * 230)
    assert reading.energy == pytest.approx(11.04 * 600 / 3600, rel=0.01)
    assert reading.soc is not None and reading.soc > 45
    home = demo.home_power(clock.now())
    # grid = home + ev − battery(discharge +) − pv
    assert grid == pytest.approx(home + reading.power - battery - pv, abs=1)


def test_reads_close_together_see_one_moment() -> None:
    clock = ManualClock(at(12))
    demo = DemoSite(clock, tz=BERLIN)
    first = demo.readings()
    clock.advance(0.2)
    assert demo.readings() is first
    clock.advance(5)
    assert demo.readings() is not first


def test_long_pause_is_skipped_not_replayed() -> None:
    clock = ManualClock(at(12))
    demo = DemoSite(clock, tz=BERLIN)
    clock.advance(3 * 24 * 3600)
    demo.advance()
    assert demo.last == clock.now()


def garage_status(demo: DemoSite) -> Status:
    reading = asyncio.run(demo.site_devices().loadpoints[1].charger.async_read())
    return reading.status


def test_second_car_is_out_on_wednesdays_and_saturdays() -> None:
    """The Zoe is plugged in at the Garage while it is at home; on Wednesdays and Saturdays it is
    out from 10:00 to 16:00 and comes back less charged. The ID.3's day goes on at the Carport."""
    clock = ManualClock(at(12, day=23))  # a Tuesday
    demo = DemoSite(clock, tz=BERLIN)
    zoe = DemoSecondCarValues(demo)
    soc = demo.second.soc
    assert asyncio.run(zoe.async_read()).connected is True
    assert garage_status(demo) in (Status.B, Status.C)
    clock.set(at(9, 30, day=24))  # Wednesday: the ID.3 left at 07:30, the Zoe is still home
    assert read_all(demo)[3] is Status.A and garage_status(demo) is not Status.A
    clock.set(at(11, day=24))
    assert garage_status(demo) is Status.A
    assert asyncio.run(zoe.async_read()).connected is False
    saved = demo.to_dict()  # a restart during the outing keeps the Zoe away
    again = DemoSite(clock, tz=BERLIN)
    again.restore(saved)
    assert again.second_away and again.to_dict() == saved
    clock.set(at(16, 30, day=24))
    assert garage_status(demo) is Status.B
    values = asyncio.run(zoe.async_read())
    assert values.connected is True
    assert values.odometer_km == pytest.approx(SECOND_ODOMETER_KM + SECOND_DRIVE_KM)
    assert demo.second.soc == pytest.approx(soc - 25)
    assert demo.second.depart == at(10, day=27)  # next: Saturday
    clock.set(at(11, day=25))  # Thursday: at home
    assert garage_status(demo) is Status.B


def test_a_state_saved_before_the_garage_keeps_the_zoe_at_home() -> None:
    """A demo stored when the Zoe still visited the Carport ("visiting", no "away") restores
    with the Zoe at the Garage and its next outing from the schedule."""
    clock = ManualClock(at(12, day=24))  # Wednesday, during an outing of the new schedule
    demo = DemoSite(clock, tz=BERLIN)
    demo.restore({"second": {"soc": 40.0, "visiting": True, "depart": at(16, day=24).isoformat()}})
    assert demo.second_away is False and demo.second.soc == 40.0
    assert demo.second.depart == at(10, day=27)
    assert garage_status(demo) is Status.B


def test_state_round_trip() -> None:
    clock = ManualClock(at(12))
    demo = DemoSite(clock, tz=BERLIN)
    demo.command(0, ChargerCommand(enable=True, current=10.0, phases=1))
    demo.command(1, ChargerCommand(enable=True, current=20.0))
    clock.advance(1800)
    demo.advance()
    saved = demo.to_dict()
    again = DemoSite(clock, tz=BERLIN)
    again.restore(saved)
    assert again.to_dict() == saved
    assert again.charger.phases == 1 and again.charger.enabled
    assert again.garage.enabled and again.garage.current == 20.0
    assert demo.garage.energy_kwh > 0
    assert again.garage.energy_kwh == pytest.approx(demo.garage.energy_kwh)
    assert again.garage.connected_phases == 3 and again.to_dict()["garage"] == saved["garage"]
    again.restore({"vehicle": "broken"})  # ignored
    assert again.vehicle.soc == demo.vehicle.soc


def test_build_demo_devices() -> None:
    devices = build_demo_devices(ManualClock(at(12)), tz=BERLIN)
    assert devices.config.battery_configured
    lp = devices.loadpoints[0].config
    assert lp.charger.phases_switchable and lp.charger.max_current == 32
    assert lp.vehicle is not None and lp.vehicle.capacity_kwh == 58
    garage = devices.loadpoints[1].config
    assert (garage.title, garage.vehicle, garage.charger.max_current) == ("Garage", None, 32)
    assert not garage.charger.phases_switchable
    # both wallboxes behind the house connection's fuse
    assert {lp.config.circuit for lp in devices.loadpoints} == {"house"}


async def test_demo_entry(hass: HomeAssistant) -> None:
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Demo site",
        data={CONF_SITE_TITLE: "Demo site", CONF_DEMO: True},
        unique_id="demo_site",
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert hass.states.get("binary_sensor.carport_vehicle_connected").state == "on"
    assert hass.states.get("select.carport_charge_mode").state == "pv"
    assert hass.states.get("number.carport_limit_soc").state == "80"
    assert hass.states.get("sensor.demo_site_battery_soc").state == "50.0"
    assert float(hass.states.get("sensor.carport_vehicle_range").state) > 0
    assert hass.states.get("sensor.carport_vehicle_charge_limit").state == "90.0"
    assert hass.states.get("binary_sensor.carport_vehicle_climater").state in ("on", "off")
    await entry.runtime_data.coordinator.async_refresh()  # after the price sensor was read
    doc = entry.runtime_data.coordinator.controller.state()
    # a controllable battery and a solar forecast (the clear-sky curve), as every demo feature
    assert doc["battery"][0]["controllable"] is True and doc["batteryMode"] == "unknown"
    solar = doc["forecast"]["solar"]
    assert solar["tomorrow"]["complete"] and solar["tomorrow"]["energy"] > 20_000
    assert len(doc["forecast"]["grid"]) > 0
    assert hass.states.get("switch.demo_site_battery_discharge_control").state == "off"
    assert await hass.config_entries.async_unload(entry.entry_id)

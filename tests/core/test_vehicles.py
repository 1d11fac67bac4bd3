"""Several vehicles per site: which one is at which loadpoint, and their settings move with them."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from custom_components.evcc_ha.core.model import (
    ChargerReading,
    LoadpointConfig,
    LoadpointReadings,
    MeterReading,
    Mode,
    PlanStrategy,
    SettingError,
    SiteConfig,
    SiteReadings,
    Status,
    VehicleConfig,
    VehicleReading,
    VehicleValues,
)
from custom_components.evcc_ha.core.settings import LoadpointKey, LoadpointSettings
from custom_components.evcc_ha.core.site import VEHICLE_DETECT_S, Site
from custom_components.evcc_ha.core.vehicle import build_fleet

from .harness import T0, Driver, charging_at, with_vehicle

ID3 = VehicleConfig(title="ID.3", capacity_kwh=58.0)
ZOE = VehicleConfig(title="Zoe", capacity_kwh=52.0)
TESLA = VehicleConfig(title="Tesla", capacity_kwh=75.0)


def two_loadpoint_site(settings: list[LoadpointSettings | None] | None = None) -> Site:
    return Site(
        SiteConfig(vehicles=(TESLA,)),
        [LoadpointConfig(title="A", vehicle=ID3), LoadpointConfig(title="B")],
        None,
        settings,
    )


def readings(*statuses: Status, vehicles: dict[str, VehicleReading] | None = None) -> SiteReadings:
    return SiteReadings(
        grid=MeterReading(0),
        loadpoints=tuple(
            LoadpointReadings(ChargerReading(status=status, enabled=False)) for status in statuses
        ),
        vehicles=vehicles or {},
    )


def plugged(*names: str) -> dict[str, VehicleReading]:
    return {name: VehicleReading(values=VehicleValues(connected=True)) for name in names}


def test_fleet_names_are_unique_and_loadpoint_vehicles_come_first() -> None:
    fleet, own = build_fleet(
        [LoadpointConfig(vehicle=ID3), LoadpointConfig(), LoadpointConfig(vehicle=ID3)],
        [VehicleConfig(title="id 3"), VehicleConfig(title="X", name="custom")],
    )
    assert list(fleet) == ["id_3", "id_3_2", "id_3_3", "custom"]
    assert own == ["id_3", "", "id_3_2"]


def test_settings_of_a_vehicle_at_no_loadpoint_wait_for_it() -> None:
    site = two_loadpoint_site()
    site.update(T0, readings(Status.A, Status.A))
    stored, index, command = site.update_vehicle_settings(
        "Tesla", [(LoadpointKey.LIMIT_SOC, "80"), (LoadpointKey.MIN_SOC, 20)], T0
    )
    assert stored == {LoadpointKey.LIMIT_SOC: 80, LoadpointKey.MIN_SOC: 20}
    assert (index, command) == (None, None)
    assert site.vehicle_settings("tesla").limit_soc == 80
    # bad values and loadpoint settings are refused and change nothing
    with pytest.raises(SettingError, match="limitSoc"):
        site.update_vehicle_settings("tesla", [(LoadpointKey.LIMIT_SOC, 150)], T0)
    with pytest.raises(SettingError, match="maxCurrent is not a vehicle setting"):
        site.update_vehicle_settings("tesla", [(LoadpointKey.MAX_CURRENT, 10)], T0)
    with pytest.raises(SettingError, match="vehicle not found: vw"):
        site.update_vehicle_settings("vw", [(LoadpointKey.LIMIT_SOC, 50)], T0)
    assert site.vehicle_settings("tesla").limit_soc == 80
    # Tesla arrives at B: B controls with Tesla's settings; a plan set now is at B
    site.set_loadpoint_setting(1, LoadpointKey.VEHICLE, "tesla", T0)
    b = site.loadpoints[1]
    assert (b.vehicle, b.settings.limit_soc, b.settings.min_soc) == (TESLA, 80, 20)
    _stored, index, _command = site.set_vehicle_plan("tesla", T0, T0 + timedelta(hours=5), 90)
    assert index == 1 and b.settings.plan_soc == 90
    # B's guest values are a new vehicle's, not Tesla's
    site.set_loadpoint_setting(1, LoadpointKey.VEHICLE, "", T0)
    assert (b.vehicle, b.settings.limit_soc, b.settings.plan_time) == (None, 100, None)
    assert site.vehicle_settings("tesla").plan_soc == 90


def test_a_vehicle_taken_from_another_loadpoint_leaves_it_without_one() -> None:
    site = two_loadpoint_site([LoadpointSettings(limit_soc=70), None])
    site.update(T0, readings(Status.B, Status.B))
    a, b = site.loadpoints
    site.set_loadpoint_setting(1, LoadpointKey.VEHICLE, "ID.3", T0)
    assert (a.vehicle, b.vehicle) == (None, ID3)
    assert (a.settings.limit_soc, b.settings.limit_soc) == (100, 70)
    assert site.vehicle_owner("id_3") is b
    with pytest.raises(SettingError, match="set on its own"):
        site.update_loadpoint_settings(
            0, [(LoadpointKey.VEHICLE, "id_3"), (LoadpointKey.LIMIT_SOC, 50)], T0
        )
    # B's car leaves: ID.3 waits (A has a car); A's car leaves: ID.3 is A's again
    site.update(T0 + timedelta(seconds=30), readings(Status.B, Status.A))
    assert (a.vehicle, b.vehicle) == (None, None)
    site.update(T0 + timedelta(seconds=60), readings(Status.A, Status.A))
    assert (a.vehicle, a.settings.limit_soc) == (ID3, 70)


def test_detection_takes_the_one_plugged_in_free_vehicle() -> None:
    site = two_loadpoint_site()
    a, b = site.loadpoints
    site.update(T0, readings(Status.A, Status.A))
    # a car at B: ID.3 (waiting at A, which has no car) and Tesla both say plugged in
    site.update(
        T0 + timedelta(seconds=30), readings(Status.A, Status.B, vehicles=plugged("id_3", "tesla"))
    )
    assert b.vehicle is None and b.detecting_since is not None
    site.update(T0 + timedelta(seconds=60), readings(Status.A, Status.B, vehicles=plugged("id_3")))
    assert (a.vehicle, b.vehicle, b.detecting_since) == (None, ID3, None)
    # its own vehicle's SoC source now tells B
    soc = {"id_3": VehicleReading(soc=44.0, values=VehicleValues(connected=True))}
    site.update(T0 + timedelta(seconds=90), readings(Status.A, Status.B, vehicles=soc))
    assert b.vehicle_soc == 44.0 and a.vehicle_soc is None


def unplugged(name: str) -> dict[str, VehicleReading]:
    return {name: VehicleReading(values=VehicleValues(connected=False))}


@pytest.mark.parametrize(
    ("own", "others", "expected"),
    [
        (plugged("id_3"), plugged("tesla"), ID3),  # evcc: the loadpoint's own vehicle
        ({}, plugged("tesla"), ID3),  # its integration tells nothing: the own vehicle
        (unplugged("id_3"), plugged("tesla"), TESLA),  # it says it is not here: detected
        (unplugged("id_3"), {}, ID3),  # nobody else says plugged in: the own vehicle stays
    ],
)
def test_own_vehicle_that_says_unplugged_leaves_room_for_the_detected_one(
    own: dict[str, VehicleReading],
    others: dict[str, VehicleReading],
    expected: VehicleConfig,
) -> None:
    site = two_loadpoint_site()
    a = site.loadpoints[0]
    site.update(T0, readings(Status.A, Status.A))
    site.update(
        T0 + timedelta(seconds=30), readings(Status.B, Status.A, vehicles={**own, **others})
    )
    assert a.vehicle == expected
    assert site.vehicle_owner("id_3") is (a if expected is ID3 else None)


def test_detection_gives_up_after_ten_minutes() -> None:
    site = two_loadpoint_site()
    b = site.loadpoints[1]
    site.update(T0, readings(Status.A, Status.A))
    site.update(T0 + timedelta(seconds=30), readings(Status.A, Status.B))
    assert b.detecting_since is not None
    late = T0 + timedelta(seconds=31 + VEHICLE_DETECT_S)
    site.update(late, readings(Status.A, Status.B, vehicles=plugged("tesla")))
    assert (b.vehicle, b.detecting_since) == (None, None)


def test_a_vehicle_mode_is_taken_when_the_vehicle_arrives() -> None:
    site = two_loadpoint_site()
    assert site.set_vehicle_mode("tesla", "pv") is Mode.PV
    with pytest.raises(SettingError):
        site.set_vehicle_mode("tesla", "fast")
    site.set_loadpoint_setting(1, LoadpointKey.VEHICLE, "tesla", T0)
    assert site.loadpoints[1].mode is Mode.PV
    assert site.set_vehicle_mode("tesla", "-") is None and "tesla" not in site.vehicle_modes


def test_vehicles_are_stored_and_restored() -> None:
    site = two_loadpoint_site()
    site.update_vehicle_settings(
        "tesla", [(LoadpointKey.PLAN_STRATEGY, '{"continuous": true}')], T0
    )
    site.set_vehicle_mode("tesla", "now")
    site.set_loadpoint_setting(1, LoadpointKey.VEHICLE, "", T0)
    site.set_loadpoint_setting(0, LoadpointKey.VEHICLE, "tesla", T0)
    data = json.loads(json.dumps(site.to_dict()))
    again = two_loadpoint_site()
    again.restore(data, T0)
    assert again.loadpoints[0].vehicle == TESLA
    assert again.loadpoints[0].settings.plan_strategy == PlanStrategy(continuous=True)
    assert again.vehicle_modes == {"tesla": Mode.NOW}
    assert again.vehicle_owner("id_3") is None
    # garbage for a vehicle is dropped with its default, an unknown vehicle is skipped
    data["vehicles"] = {"id_3": {"settings": {"limit_soc": "lots"}, "mode": "warp"}, "vw": {}}
    data["loadpoints"][0]["settings"]["vehicle"] = "vw"
    third = two_loadpoint_site()
    third.restore(data, T0)
    assert third.loadpoints[0].vehicle == ID3  # the unknown stored vehicle: its own again
    assert third.vehicle_settings("tesla").limit_soc == 100 and third.vehicle_modes == {}


def test_settings_stored_before_vehicles_could_move_are_migrated() -> None:
    site = two_loadpoint_site()
    site.restore({"loadpoints": [{"settings": {"vehicle_present": False, "min_soc": 20}}]}, T0)
    a = site.loadpoints[0]
    assert a.vehicle is None and a.settings.min_soc == 20


def test_a_stored_vehicle_at_two_loadpoints_stays_at_the_first(
    caplog: pytest.LogCaptureFixture,
) -> None:
    site = two_loadpoint_site()
    site.restore({"loadpoints": [{"settings": {}}, {"settings": {"vehicle": "id_3"}}]}, T0)
    a, b = site.loadpoints
    assert (a.vehicle, b.vehicle) == (ID3, None)
    assert "Stored vehicle id_3 of B ignored" in caplog.text


def test_the_climater_keeps_the_minimum_current() -> None:
    """evcc: while the car's climater runs, a loadpoint at its SoC limit or without surplus
    (pv) holds the minimum current instead of switching off, and pv starts no disable timer."""
    climate = VehicleValues(climater_active=True)
    # at the limit SoC
    d = Driver(mode=Mode.NOW, vehicle=with_vehicle(capacity_kwh=50.0), limit_soc=80)
    d.cycle(status="B", soc=85)
    assert not d.enabled
    d.cycle(status="B", soc=85, values=climate)
    assert d.enabled and d.offered == 6
    d.cycle(status="C", soc=85, values=VehicleValues(climater_active=False))
    assert not d.enabled  # climater off: the limit ends it again
    # pv without surplus: no disable timer, the minimum stays
    d = Driver(mode=Mode.PV, enable_delay=0.0)
    d.cycle(grid=-5000, status="B", values=climate)
    d.cycle(grid=-5000, currents=charging_at(d.offered), values=climate)
    assert d.enabled
    for _ in range(10):  # 5 min, past the 3 min disable delay
        d.cycle(grid=3000, currents=charging_at(6), values=climate)
        assert d.enabled and d.offered == 6
        assert d.lp.pv_action.value != "disable"
    for _ in range(8):  # the climater stops: pv disables after its delay
        d.cycle(grid=3000, currents=charging_at(6), values=VehicleValues(climater_active=False))
    assert not d.enabled


@pytest.mark.parametrize("has_soc", [True, False])
def test_min_soc_without_a_soc_charges_the_energy_it_stands_for(has_soc: bool) -> None:
    """evcc's minSocNotReached: without a SoC (none read yet, or a car without one) the
    minimum is the energy min SoC % of the battery takes (capacity × min SoC / efficiency)."""
    d = Driver(mode=Mode.PV, vehicle=with_vehicle(capacity_kwh=10.0, has_soc=has_soc), min_soc=20)
    d.cycle(status="B", energy=0.0)
    assert d.enabled and d.offered == 16  # fast, no surplus needed
    d.cycle(grid=11040, status="C", currents=charging_at(16), energy=2.0)
    assert d.enabled and d.offered == 16  # 2 kWh < 10 kWh × 20 % / 0.85
    for _ in range(2):  # 2.35 kWh charged: pv, all of it from the grid, switches off
        d.cycle(grid=11040, status="C", currents=charging_at(d.offered), energy=2.4)
    assert not d.enabled


def test_a_limit_raised_after_connect_charges_at_once_from_the_sun() -> None:
    """evcc leaves the pv timer alone while the SoC limit holds the car: the timer elapsed at
    connect, so a limit raised later with surplus enables without the enable delay."""
    d = Driver(mode=Mode.PV, vehicle=with_vehicle(capacity_kwh=50.0), limit_soc=80)
    d.cycle(grid=-5000, status="B", soc=85)
    d.cycle(grid=-5000, status="B", soc=85)
    assert not d.enabled
    d.set("limitSoc", 90)
    assert d.enabled

"""The state document (pure: no sockets, no Home Assistant)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from packaging.version import Version

from custom_components.evcc_ha.api.state import (
    EVCC_VERSION,
    build_state,
    clean,
    flatten_state,
)
from custom_components.evcc_ha.core.model import (
    ChargerConfig,
    ChargerReading,
    LoadpointConfig,
    LoadpointReadings,
    MeterReading,
    Mode,
    SettingError,
    SiteReadings,
    Status,
    VehicleConfig,
)
from custom_components.evcc_ha.core.session import Session
from custom_components.evcc_ha.core.settings import LoadpointSettings
from custom_components.evcc_ha.core.tariff import Rate, RatesTariff
from custom_components.evcc_ha.core.vehicle import vehicle_slug

from .backend import T0, HarnessBackend, make_site
from .conftest import ID3, garage

# keys evcc ≤ 0.122 clients read, and keys current clients (ha-evcc) read
OLD_SITE_KEYS = {
    "siteTitle", "gridConfigured", "pvConfigured", "batteryConfigured", "gridPower", "pvPower",
    "batteryPower", "batterySoc", "homePower", "residualPower", "prioritySoc", "bufferSoc",
    "bufferStartSoc", "version", "currency", "loadpoints", "vehicles", "statistics",
}  # fmt: skip
NEW_SITE_KEYS = {"grid", "pv", "battery", "telemetry", "greenShareHome", "auxPower"}
OLD_LP_KEYS = {
    "title", "mode", "priority", "enabled", "connected", "charging", "chargePower",
    "chargeCurrent", "chargedEnergy", "sessionEnergy", "sessionSolarPercentage",
    "chargeDuration", "chargeRemainingDuration", "chargeRemainingEnergy", "minCurrent",
    "maxCurrent", "enableThreshold", "disableThreshold", "phasesConfigured", "phasesEnabled",
    "phasesActive", "pvAction", "pvRemaining", "phaseAction", "phaseRemaining", "minSoc",
    "targetSoc", "targetEnergy", "targetTime", "planActive", "planProjectedStart",
    "vehiclePresent", "vehicleTitle", "vehicleCapacity", "vehicleSoc", "connectedDuration",
}  # fmt: skip
NEW_LP_KEYS = {
    "limitSoc", "effectiveLimitSoc", "limitEnergy", "planTime", "effectivePlanTime", "planEnergy",
    "planSoc", "effectivePlanSoc", "offeredCurrent", "vehicleName", "chargerPhases1p3p",
    "chargerPhaseSwitching", "enableDelay", "disableDelay", "planProjectedEnd", "planOverrun",
    "effectiveMinCurrent", "effectiveMaxCurrent",
}  # fmt: skip


async def charging_backend() -> HarnessBackend:
    """PV charging at 3×7 A with a battery and a grid meter with phase values (spec §2.4)."""
    site = make_site(
        [garage()],
        battery=True,
        settings=[LoadpointSettings(mode=Mode.NOW, max_current=7.0, limit_soc=80, min_soc=20)],
    )
    b = HarnessBackend(site)
    await b.cycle(status={0: "B"}, soc={0: 55.0})
    await b.cycle(status={0: "C"}, soc={0: 55.0})
    battery = MeterReading(power=-1000.0, soc=62.0, capacity=10.2)
    await b.cycle(
        grid_meter=MeterReading(
            power=-1200.0,
            energy=4123.51,
            powers=(-420.0, -380.0, -400.0),
            currents=(-1.83, -1.65, -1.74),
        ),
        pv=[MeterReading(power=7500.0, energy=9876.2)],
        battery=[battery],
        status={0: "C"},
        soc={0: 55.0},
    )
    return b


async def test_old_and_new_keys_are_all_there() -> None:
    doc = (await charging_backend()).state()
    assert doc.keys() >= OLD_SITE_KEYS | NEW_SITE_KEYS
    lp = doc["loadpoints"][0]
    assert lp.keys() >= OLD_LP_KEYS | NEW_LP_KEYS
    assert "result" not in doc


async def test_values_of_a_charging_loadpoint() -> None:
    b = await charging_backend()
    doc = b.state()
    lp = doc["loadpoints"][0]
    assert lp["charging"] is True and lp["connected"] is True and lp["enabled"] is True
    assert lp["mode"] == "now"
    assert lp["chargePower"] == 4830  # 7 A × 3 × 230 V
    assert lp["chargeCurrent"] == lp["offeredCurrent"] == 7
    assert lp["chargeCurrents"] == [7, 7, 7]
    assert lp["targetSoc"] == lp["limitSoc"] == lp["effectiveLimitSoc"] == 80
    assert lp["minSoc"] == 20
    assert lp["chargeDuration"] == 30  # seconds, not nanoseconds
    assert lp["connectedDuration"] == 60
    assert isinstance(lp["chargeRemainingDuration"], int) and lp["chargeRemainingDuration"] > 0
    assert lp["sessionEnergy"] == lp["chargedEnergy"]  # Wh
    assert lp["sessionEnergy"] == pytest.approx(4830 * 30 / 3600, abs=0.001)
    assert lp["targetTime"] is None and lp["planTime"] is None  # unset times are null
    assert lp["planProjectedStart"] is None
    assert lp["vehicleName"] == "id_3" and lp["vehicleTitle"] == "ID.3"
    assert lp["vehicleSoc"] == pytest.approx(55.06, abs=0.01)  # estimated from energy
    assert lp["vehicleCapacity"] == 58
    assert doc["vehicles"]["id_3"]["title"] == "ID.3"  # ha-evcc needs a title per vehicle


async def test_site_values_old_flat_and_current_objects() -> None:
    doc = (await charging_backend()).state()
    assert doc["gridPower"] == doc["grid"]["power"] == -1200
    assert doc["gridPowers"] == doc["grid"]["powers"] == [-420, -380, -400]
    assert doc["gridCurrents"] == doc["grid"]["currents"] == [-1.83, -1.65, -1.74]
    assert doc["gridEnergy"] == doc["grid"]["energy"] == 4123.51
    assert doc["pvPower"] == 7500 and doc["pv"] == [{"power": 7500, "energy": 9876.2}]
    assert doc["batteryPower"] == -1000 and doc["batterySoc"] == 62
    assert doc["batteryCapacity"] == 10.2
    assert doc["battery"] == [{"power": -1000, "soc": 62, "capacity": 10.2, "controllable": False}]
    # home = grid + pv + battery − charge = −1200 + 7500 − 1000 − 4830
    assert doc["homePower"] == 470


def test_version_is_a_semver_client_gates_accept() -> None:
    doc = build_state(make_site(), T0)
    assert doc["version"] == EVCC_VERSION
    version = Version(doc["version"])
    assert version >= Version("0.207.0")  # no result wrapper
    assert version >= Version("0.200.0")  # ha-evcc: tariff endpoints
    assert build_state(make_site(), T0, version="0.300.0")["version"] == "0.300.0"


def test_floats_rounded_whole_numbers_integers_nan_null() -> None:
    assert clean(1.23456) == 1.235
    assert clean(80.0) == 80 and isinstance(clean(80.0), int)
    assert clean(-0.0001) == 0
    assert clean(float("nan")) is None and clean(float("inf")) is None
    assert clean(1.23456, digits=None) == 1.23456
    assert clean(timedelta(minutes=2)) == 120
    assert clean(datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)) == "2026-01-02T03:04:05Z"
    assert clean(Mode.PV) == "pv" and type(clean(Mode.PV)) is str
    assert clean((1.0, 2.5)) == [1, 2.5]


async def test_document_is_strict_json() -> None:
    doc = (await charging_backend()).state()
    text = json.dumps(doc, allow_nan=False)
    assert json.loads(text) == doc

    def floats(value: object) -> list[float]:
        if isinstance(value, float):
            return [value]
        if isinstance(value, dict):
            return [f for v in value.values() for f in floats(v)]
        if isinstance(value, list):
            return [f for v in value for f in floats(v)]
        return []

    for number in floats(doc):
        assert round(number, 3) == number
        assert number != int(number)


async def test_plan_times_and_vehicle_plan() -> None:
    b = await charging_backend()
    target = T0 + timedelta(hours=20)
    b.site.set_loadpoint_setting(0, "planSoc", 90, b.now())
    b.site.set_loadpoint_setting(0, "planTime", target.isoformat(), b.now())
    b.publish()
    doc = b.state()
    lp = doc["loadpoints"][0]
    assert lp["targetTime"] == lp["planTime"] == lp["effectivePlanTime"] == "2026-06-22T06:00:00Z"
    assert lp["planSoc"] == lp["effectivePlanSoc"] == 90
    assert lp["planProjectedStart"] is not None
    assert doc["vehicles"]["id_3"]["plan"] == {"soc": 90, "time": "2026-06-22T06:00:00Z"}


def test_without_vehicle_and_battery() -> None:
    doc = build_state(make_site([LoadpointConfig(title="Carport")]), T0)
    lp = doc["loadpoints"][0]
    assert lp["vehicleName"] == "" and lp["vehicleTitle"] == "" and lp["vehicleSoc"] == 0
    assert "vehicleCapacity" not in lp
    assert doc["vehicles"] == {}
    assert "battery" not in doc and "batteryPower" not in doc
    assert doc["batteryConfigured"] is False


def test_switchable_charger_flags() -> None:
    site = make_site([LoadpointConfig(charger=ChargerConfig(phases_switchable=True))])
    lp = build_state(site, T0)["loadpoints"][0]
    assert lp["chargerPhases1p3p"] is lp["chargerPhaseSwitching"] is True
    assert lp["phasesConfigured"] == 0


def test_tariff_prices_and_statistics() -> None:
    rates = [Rate(T0, T0 + timedelta(hours=1), 0.3)]
    site = make_site(
        tariffs={
            "grid": RatesTariff(rates),
            "feedin": RatesTariff([Rate(T0, T0 + timedelta(hours=1), 0.08)]),
        }
    )
    site.sessions.upsert(
        Session(
            created=T0 - timedelta(days=3),
            finished=T0 - timedelta(days=3),
            charged_energy=10.0,
            solar_percentage=50.0,
            price=2.0,
        )
    )
    site.sessions.upsert(
        Session(
            created=T0 - timedelta(days=100),
            finished=T0 - timedelta(days=100),
            charged_energy=30.0,
            solar_percentage=100.0,
        )
    )
    now = T0 + timedelta(minutes=5)
    # prices are looked up once per cycle; the document shows that cycle's
    assert "tariffGrid" not in build_state(site, now)
    site.update(now, SiteReadings(grid=MeterReading(0.0), loadpoints=(LoadpointReadings(None),)))
    doc = build_state(site, now)
    assert doc["tariffGrid"] == 0.3 and doc["tariffFeedIn"] == 0.08
    assert doc["tariffPriceHome"] == 0.3  # no green energy: all from the grid
    assert doc["smartCostType"] == "priceforecast"
    stats = doc["statistics"]
    assert stats["30d"] == {"avgCo2": 0, "avgPrice": 0.2, "chargedKWh": 10, "solarPercentage": 50}
    assert stats["total"]["chargedKWh"] == 40
    assert stats["total"]["solarPercentage"] == 87.5
    assert stats["365d"] == stats["total"]


def test_vehicle_names_are_unique_slugs_and_titles_resolve() -> None:
    assert vehicle_slug("ID.3") == "id_3"
    assert vehicle_slug("Zoë Intens") == "zoe_intens"
    assert vehicle_slug("***") == "vehicle"
    site = make_site(
        [
            LoadpointConfig(title="A", vehicle=ID3),
            LoadpointConfig(title="B"),
            LoadpointConfig(title="C", vehicle=VehicleConfig(title="ID 3")),
        ]
    )
    assert list(site.vehicles) == ["id_3", "id_3_2"]
    assert site.vehicle_name("id_3_2") == "id_3_2"
    assert site.vehicle_name("ID 3") == "id_3_2"
    assert site.vehicle_name("id.3") == "id_3"  # title, case-insensitive
    with pytest.raises(SettingError, match="vehicle not found: nope"):
        site.vehicle_name("nope")
    assert [lp.vehicle_name for lp in site.loadpoints] == ["id_3", "", "id_3_2"]
    doc = build_state(site, T0)
    assert list(doc["vehicles"]) == ["id_3", "id_3_2"]
    assert [lp["vehicleName"] for lp in doc["loadpoints"]] == ["id_3", "", "id_3_2"]


def test_flatten_state_uses_zero_based_loadpoint_keys() -> None:
    site = make_site([LoadpointConfig(title="A"), LoadpointConfig(title="B")])
    doc = build_state(site, T0)
    flat = flatten_state(doc)
    assert flat["loadpoints.0.title"] == "A" and flat["loadpoints.1.title"] == "B"
    assert flat["siteTitle"] == "Home"
    assert flat["grid"] == doc["grid"]  # objects stay whole, as evcc publishes them
    assert "loadpoints" not in flat
    assert len(flat) == len(doc) - 1 + sum(len(lp) for lp in doc["loadpoints"])


async def test_build_state_does_not_touch_the_clock_or_site() -> None:
    b = await charging_backend()
    before = b.site.to_dict()
    build_state(b.site, datetime(2030, 1, 1, tzinfo=UTC))
    assert b.site.to_dict() == before


@pytest.mark.parametrize(
    ("charger_voltages", "meter_voltages", "expected"),
    [
        ((230.0, 0.0, 0.0), None, [230, 0, 0]),  # the charger's own meter
        ((230.0, 0.0, 0.0), (229.4, 231.0, 230.2), [229.4, 231, 230.2]),  # the charge meter wins
        (None, None, None),  # no device reports them: not in the state (evcc: not published)
    ],
)
def test_charge_voltages_come_from_the_charge_meter(
    charger_voltages: tuple[float, float, float] | None,
    meter_voltages: tuple[float, float, float] | None,
    expected: list[float] | None,
) -> None:
    site = make_site([garage()])
    charger = ChargerReading(status=Status.C, enabled=True, voltages=charger_voltages)
    meter = MeterReading(power=1400.0, voltages=meter_voltages) if meter_voltages else None
    readings = SiteReadings(
        grid=MeterReading(power=0.0), loadpoints=(LoadpointReadings(charger, meter),)
    )
    site.update(T0, readings)
    lp = build_state(site, T0)["loadpoints"][0]
    assert lp.get("chargeVoltages") == expected

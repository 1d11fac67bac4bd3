"""Whatever a client sends and whatever the meters say: the loop goes on, the state document stays
valid JSON, and no enabled charger is offered less than 6 A or more than its hardware maximum."""

from __future__ import annotations

import asyncio
import json
import math
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from custom_components.evcc_ha.api.state import build_state
from custom_components.evcc_ha.core.clock import ManualClock
from custom_components.evcc_ha.core.controller import Controller
from custom_components.evcc_ha.core.devices import LoadpointDevices, SiteDevices
from custom_components.evcc_ha.core.model import (
    ChargerConfig,
    CommandError,
    LoadpointConfig,
    MeterReading,
    SettingError,
    SiteConfig,
    Status,
    VehicleConfig,
)
from custom_components.evcc_ha.core.settings import LoadpointKey, SiteKey
from custom_components.evcc_ha.core.site import Site
from sim.ideal import FixedMeter, IdealCharger

from .harness import T0

HARDWARE_MAX = (16.0, 32.0)


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations() -> None:
    """No Home Assistant here: replaces the suite-wide fixture that starts one."""


json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**400), max_value=10**400),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.sampled_from(["now", "pv", "off", "1e309", "-0", "9" * 300, "2030-01-01T00:00:00Z", "null"]),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)
writes = st.lists(
    st.tuples(
        st.sampled_from([*LoadpointKey, *SiteKey, "phases", "targetSoc", "bogus"]),
        st.integers(0, 1),
        json_values,
    ),
    max_size=25,
)
readings = st.lists(
    st.tuples(
        st.floats(-30000, 30000) | st.just(math.nan),  # grid power (nan: meter garbage)
        st.sampled_from([Status.A, Status.B, Status.C]),
        st.floats(0, 100) | st.none(),  # vehicle SoC
    ),
    min_size=50,
    max_size=50,
)


def controller_with(hardware_max: tuple[float, float]) -> tuple[Controller, list[IdealCharger]]:
    configs = [
        LoadpointConfig(
            title="Garage",
            charger=ChargerConfig(phases_switchable=True, max_current=hardware_max[0]),
            vehicle=VehicleConfig(title="Car", capacity_kwh=60),
        ),
        LoadpointConfig(
            title="Carport",
            charger=ChargerConfig(phases=1, max_current=hardware_max[1], current_step=0.1),
            vehicle=VehicleConfig(title="Van", has_soc=False),
        ),
    ]
    chargers = [IdealCharger(c.charger, c.title, phases=c.charger.phases) for c in configs]
    devices = SiteDevices(
        config=SiteConfig(battery_configured=True),
        grid=FixedMeter("grid"),
        battery=[FixedMeter("battery", MeterReading(power=0.0, soc=50.0, capacity=10.0))],
        loadpoints=[
            LoadpointDevices(config=c, charger=ch) for c, ch in zip(configs, chargers, strict=True)
        ],
    )
    site = Site(devices.config, configs)
    return Controller(site, devices, ManualClock(T0), build_state), chargers


async def exercise(
    writes: list[tuple[str, int, Any]], readings: list[tuple[float, Status, float | None]]
) -> None:
    controller, chargers = controller_with(HARDWARE_MAX)
    grid = controller.devices.grid
    assert isinstance(grid, FixedMeter)
    for key, index, value in writes:
        try:
            if key in SiteKey.__members__.values():
                await controller.async_set_site(key, value)
            else:
                await controller.async_set_loadpoint(index, key, value)
        except (SettingError, CommandError):
            pass
    for power, status, soc in readings:
        controller.clock.advance(10)  # type: ignore[attr-defined]
        grid.reading = None if math.isnan(power) else MeterReading(power=power)
        for charger in chargers:
            charger.status, charger.soc = status, soc
        report = await controller.async_cycle()  # never raises
        json.dumps(report.state, allow_nan=False)  # valid JSON, always
    for charger, hardware_max in zip(chargers, HARDWARE_MAX, strict=True):
        for command in charger.commands:
            if command.current is not None:
                assert 6.0 <= command.current <= hardware_max, command


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(writes=writes, readings=readings)
def test_no_input_stops_the_loop_or_leaves_physics(
    writes: list[tuple[str, int, Any]], readings: list[tuple[float, Status, float | None]]
) -> None:
    asyncio.run(exercise(writes, readings))


def test_huge_numbers_are_refused_before_they_are_stored() -> None:
    async def run() -> None:
        controller, _ = controller_with(HARDWARE_MAX)
        before = controller.state()
        for key, value in (
            (LoadpointKey.LIMIT_ENERGY, "9" * 300),
            (LoadpointKey.PLAN_ENERGY, 1e300),
            (LoadpointKey.MIN_SOC, 10**400),
            (LoadpointKey.ENABLE_DELAY, 1e18),
            (LoadpointKey.ENABLE_THRESHOLD, -1e300),
            (LoadpointKey.PRIORITY, 10**30),
            (LoadpointKey.PLAN_TIME, "9999-12-31T23:59:59Z"),
            (LoadpointKey.MAX_CURRENT, 1e309),
        ):
            with pytest.raises(SettingError) as err:
                await controller.async_set_loadpoint(0, key, value)
            assert "Error" not in str(err.value) and len(str(err.value)) < 120
        with pytest.raises(SettingError):
            await controller.async_set_site(SiteKey.RESIDUAL_POWER, "9" * 300)
        assert controller.state() == before
        await controller.async_cycle()  # and the loop goes on

    asyncio.run(run())


def test_plan_time_a_few_years_ahead_is_fine_decades_are_not() -> None:
    async def run() -> None:
        controller, _ = controller_with(HARDWARE_MAX)
        await controller.async_set_plan(0, T0 + timedelta(days=365), soc=80)
        with pytest.raises(SettingError, match="too far in the future"):
            await controller.async_set_plan(0, T0 + timedelta(days=3650), soc=80)

    asyncio.run(run())

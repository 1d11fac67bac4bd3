"""The controller every host runs: concurrent reads, checks, commands, one state per change."""

from __future__ import annotations

import asyncio
import logging
import math
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest

from custom_components.evcc_ha.api.state import build_state
from custom_components.evcc_ha.core.clock import ManualClock
from custom_components.evcc_ha.core.controller import Controller
from custom_components.evcc_ha.core.devices import Device, LoadpointDevices, SiteDevices
from custom_components.evcc_ha.core.model import (
    ChargerCommand,
    ChargerConfig,
    ChargerReading,
    CommandError,
    LoadpointConfig,
    MeterReading,
    SettingError,
    SiteConfig,
    Status,
    VehicleConfig,
)
from custom_components.evcc_ha.core.site import Site
from sim.ideal import FixedMeter, IdealCharger

from .harness import T0


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations() -> None:
    """No Home Assistant here: replaces the suite-wide fixture that starts one."""


def make(
    *loadpoints: LoadpointConfig, grid: Device | None = None, **kwargs: Any
) -> tuple[Controller, list[IdealCharger], ManualClock]:
    configs = list(loadpoints) or [LoadpointConfig(title="Garage")]
    chargers = [IdealCharger(c.charger, f"{c.title} charger", status=Status.B) for c in configs]
    devices = SiteDevices(
        config=SiteConfig(),
        grid=grid or FixedMeter("grid meter", MeterReading(power=-5000.0)),
        loadpoints=[
            LoadpointDevices(config=c, charger=charger)
            for c, charger in zip(configs, chargers, strict=True)
        ],
        **kwargs,
    )
    site = Site(devices.config, configs)
    clock = ManualClock(T0)
    return Controller(site, devices, clock, build_state), chargers, clock


@dataclass
class Rendezvous(Device):
    """A meter that answers only once its partner has been asked too: reads that ran one
    after the other would never meet (and time out)."""

    name: str = "rendezvous"
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    partner: Rendezvous | None = None

    async def async_read(self) -> MeterReading:
        self.arrived.set()
        assert self.partner is not None
        await self.partner.arrived.wait()
        return MeterReading(power=-3000.0)


async def test_devices_are_read_at_the_same_time() -> None:
    grid, pv = Rendezvous("grid"), Rendezvous("pv")
    grid.partner, pv.partner = pv, grid
    controller, _, _ = make(grid=grid, pv=[pv])
    controller.device_timeout = 1.0
    report = await controller.async_cycle()
    assert report.failed == frozenset()
    assert report.state["gridPower"] == -3000


@dataclass
class Hanging(Device):
    name: str = "hanging meter"

    async def async_read(self) -> MeterReading:
        await asyncio.sleep(10)
        raise AssertionError("not reached")


async def test_a_hanging_device_times_out_alone() -> None:
    controller, _, _ = make(pv=[Hanging()])
    controller.device_timeout = 0.01
    report = await controller.async_cycle()
    assert report.failed == {"pv1"}
    assert report.loadpoint_ok(0)
    assert report.meters_ok("grid") and not report.meters_ok("pv")


@pytest.mark.parametrize(
    "reading",
    [
        ChargerReading(status=Status.B, enabled=False, offered_current=1e9),
        ChargerReading(status=Status.B, enabled=False, offered_current=-5.0),
        ChargerReading(status=Status.B, enabled=False, offered_current=-0.0),
        ChargerReading(status=Status.B, enabled=False, power=math.nan),
        ChargerReading(status=Status.B, enabled=False, currents=(6.0, math.inf, 6.0)),
        ChargerReading(status=Status.B, enabled=False, phases=7),
        ChargerReading(status=Status.B, enabled=False, voltages=(230.0, -230.0, 230.0)),
        ChargerReading(status=Status.B, enabled=False, voltages=(230.0, 1e6, 230.0)),
        ChargerReading(status=Status.B, enabled=False, energy=-1.0),
        ChargerReading(status="F", enabled=False),  # type: ignore[arg-type]
    ],
    ids=lambda r: repr(r)[:60],
)
async def test_charger_garbage_makes_the_charger_unavailable(reading: ChargerReading) -> None:
    controller, chargers, _ = make()

    async def garbage() -> ChargerReading:
        return reading

    chargers[0].async_read = garbage  # type: ignore[method-assign]
    report = await controller.async_cycle()
    assert report.failed == {"lp1"}
    assert not report.loadpoint_ok(0)


async def test_flapping_meter_logs_once_a_minute(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="custom_components.evcc_ha.core.controller")
    pv = FixedMeter("flappy pv", MeterReading(power=1000.0))
    controller, _, clock = make(pv=[pv])
    for k in range(40):  # lost and back every other second for 40 s
        pv.reading = None if k % 2 == 0 else MeterReading(power=1000.0)
        clock.advance(1)
        await controller.async_cycle()
    messages = [r.getMessage() for r in caplog.records if "flappy pv" in r.getMessage()]
    assert messages == [
        "flappy pv is unavailable: flappy pv is unavailable",
        "flappy pv is available again",
    ]
    clock.advance(61)
    pv.reading = None
    await controller.async_cycle()
    messages = [r.getMessage() for r in caplog.records if "flappy pv" in r.getMessage()]
    assert len(messages) == 3  # a minute later the next loss is logged again


async def test_setting_reaches_the_charger_and_publishes_once() -> None:
    controller, chargers, _ = make()
    await controller.async_cycle()
    published: list[dict[str, Any]] = []
    controller.subscribe(published.append)
    assert await controller.async_set_loadpoint(0, "mode", "now") == "now"
    assert chargers[0].commands[-1] == ChargerCommand(enable=True, current=16.0)
    assert [doc["loadpoints"][0]["mode"] for doc in published] == ["now"]
    assert controller.state() is published[-1]


async def test_bad_setting_changes_nothing_and_publishes_nothing() -> None:
    controller, chargers, _ = make()
    await controller.async_cycle()
    published: list[dict[str, Any]] = []
    controller.subscribe(published.append)
    with pytest.raises(SettingError):
        await controller.async_set_loadpoint(0, "maxCurrent", 1e300)
    assert published == [] and chargers[0].commands == []


async def test_plan_is_one_change() -> None:
    car = VehicleConfig(title="ID.3", capacity_kwh=58)
    controller, _, _ = make(LoadpointConfig(title="Garage", vehicle=car))
    await controller.async_cycle()
    published: list[dict[str, Any]] = []
    controller.subscribe(published.append)
    when = T0 + timedelta(hours=8)
    stored = await controller.async_set_plan(0, when, soc=80)
    assert stored == {"planSoc": 80, "planTime": when}
    assert len(published) == 1
    assert published[0]["loadpoints"][0]["planSoc"] == 80
    await controller.async_clear_plan(0)
    assert len(published) == 2
    assert published[1]["loadpoints"][0]["planTime"] is None


async def test_refused_command_is_an_error_and_is_sent_again(
    caplog: pytest.LogCaptureFixture,
) -> None:
    controller, chargers, _ = make()
    await controller.async_cycle()
    chargers[0].refuse = ConnectionError("write failed")
    with pytest.raises(CommandError, match=r"Garage charger rejected.*write failed"):
        await controller.async_set_loadpoint(0, "mode", "now")
    lp = controller.state()["loadpoints"][0]
    assert (lp["mode"], lp["enabled"]) == ("now", False)  # what the charger does
    chargers[0].refuse = None
    await controller.async_cycle()
    assert chargers[0].enabled and chargers[0].offered == 16
    assert "Garage charger rejected" in caplog.text


async def test_loadpoint_bug_is_isolated(caplog: pytest.LogCaptureFixture) -> None:
    controller, chargers, _ = make(
        LoadpointConfig(title="Garage"), LoadpointConfig(title="Carport")
    )
    await controller.async_set_loadpoint(1, "mode", "now")

    def broken(*_args: object) -> None:
        raise ZeroDivisionError("bug")

    controller.site.loadpoints[0].decide = broken  # type: ignore[method-assign]
    for _ in range(3):
        report = await controller.async_cycle()
        assert report.failed == {"lp1"}
    assert chargers[1].enabled  # the other loadpoint is controlled
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == [
        "Loadpoint Garage failed while deciding"
    ]


async def test_an_enabled_current_never_leaves_6_a_to_hardware_max() -> None:
    controller, chargers, _ = make(LoadpointConfig(charger=ChargerConfig(max_current=16)))
    await controller.async_cycle()
    for current in (0.5, 5.9, 40.0):
        await controller._async_send(0, ChargerCommand(enable=True, current=current))
        assert 6.0 <= chargers[0].offered <= 16.0


@dataclass
class Connection(Device):
    name: str = "connection"
    log: list[str] = field(default_factory=list)
    fail: bool = False

    async def async_setup(self) -> None:
        if self.fail:
            raise ConnectionRefusedError(self.name)
        self.log.append(f"open {self.name}")

    async def async_close(self) -> None:
        self.log.append(f"close {self.name}")

    async def async_read(self) -> MeterReading:
        return MeterReading(power=0.0)


async def test_setup_failure_closes_what_was_opened() -> None:
    log: list[str] = []
    grid, pv = Connection("grid", log), Connection("pv", log, fail=True)
    controller, _, _ = make(grid=grid, pv=[pv])
    with pytest.raises(ConnectionRefusedError):
        await controller.async_setup()
    assert log == ["open grid", "close grid"]
    pv.fail = False
    await controller.async_setup()
    await controller.async_close()
    assert log[2:] == ["open grid", "open pv", "close grid", "close pv"]

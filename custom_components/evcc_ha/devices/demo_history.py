"""The demo site's past: a freshly created demo site starts with days already lived.

`async_demo_history` runs the demo household from `days` before now up to now through the same
`Controller` and `Site` every host runs (on a manual clock, one cycle per simulated minute), with
the demo's day-ahead prices, feed-in price, solar forecast and CO₂ curve as tariffs and the
settings of `apply_demo_settings`. What comes out is real output of the controller: the site's
state as it would store it at a stop (settings, the running session, the sessions it logged,
the mode it last gave the home battery) and the household's physical state at the end (car and
battery SoC, odometers, meter totals). The live demo takes both over the way a restarted site
does (`Site.restore`), so session lists, statistics, the clients' session totals and a session
in progress have values from the start. Pure Python, no Home Assistant.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Any, Final

from ..core.clock import ManualClock
from ..core.controller import Controller
from ..core.site import Site
from ..core.tariff import Tariff
from .demo import (
    DemoCo2Tariff,
    DemoPrices,
    DemoSite,
    DemoSolarForecast,
    apply_demo_settings,
    demo_feedin_tariff,
)

__all__ = ["DEMO_HISTORY_DAYS", "DemoHistory", "async_demo_history", "demo_history"]

DEMO_HISTORY_DAYS: Final = 6
"""Days a demo site created in the UI (or by scripts/develop) has lived before it starts. Six
always hold a whole outing of the second car and its return to the Garage (a session there that
ended, and one it was detected for): its outings start at most 96 h apart (Saturday to
Wednesday) and last 6 h."""
HISTORY_INTERVAL_S: Final = 60.0  # one control cycle per simulated minute


@dataclass(frozen=True, slots=True)
class DemoHistory:
    """What the demo's past left: the site's stored state (`Site.to_dict`) and the household's
    (`DemoSite.to_dict`) at its end."""

    site_state: dict[str, Any]
    demo_state: dict[str, Any]
    cycles: int


def _state(_site: Site, _now: datetime) -> dict[str, Any]:
    return {}  # nobody reads the past's state documents


async def async_demo_history(now: datetime, tz: tzinfo, tz_name: str, days: int) -> DemoHistory:
    """Live the demo household's last `days` days (see the module docstring)."""
    if not 0 < days <= 31:
        raise ValueError("days must be 1..31")
    start = now - timedelta(days=days)
    clock = ManualClock(start)
    demo = DemoSite(clock, tz=tz)
    devices = demo.site_devices()
    tariffs: dict[str, Tariff] = {
        "grid": DemoPrices(tz),
        "feedin": demo_feedin_tariff(tz),
        "solar": DemoSolarForecast(demo),
        "co2": DemoCo2Tariff(demo),
    }
    site = Site(
        devices.config,
        [lp.config for lp in devices.loadpoints],
        tariffs=tariffs,
        interval_s=HISTORY_INTERVAL_S,
        tz=tz,
    )
    controller = Controller(site, devices, clock, _state)
    await controller.async_setup()
    apply_demo_settings(site, demo, start, tz_name)
    cycles = 0
    try:
        while clock.now() < now:
            clock.set(min(now, clock.now() + timedelta(seconds=HISTORY_INTERVAL_S)))
            await controller.async_cycle()
            cycles += 1
    finally:
        await controller.async_close()
    demo.advance(now)
    return DemoHistory(site.to_dict(), demo.to_dict(), cycles)


def demo_history(now: datetime, tz: tzinfo, tz_name: str, days: int) -> DemoHistory:
    """`async_demo_history` in an event loop of its own (Home Assistant runs it in a worker
    thread: a few seconds of simulation must not hold up its loop)."""
    return asyncio.run(async_demo_history(now, tz, tz_name, days))

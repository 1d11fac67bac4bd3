"""Cost of one control cycle: `Site.update` with 4 loadpoints (prints; never fails).

    python benchmarks/core_cycle.py            # from the repository root

The readings come from the simulated household (4 chargers with vehicles, a home battery, a PV
day), so every branch a real site takes is exercised: automatic phase switching, minpv, a
target-time plan against a 15-minute grid tariff, fast charging. Only `Site.update` is timed.
Target: < 1 ms per cycle.
"""

from __future__ import annotations

import math
import statistics
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from custom_components.evcc_ha.core.model import (  # noqa: E402
    ChargerConfig,
    LoadpointConfig,
    Mode,
    SiteConfig,
    VehicleConfig,
)
from custom_components.evcc_ha.core.settings import LoadpointSettings, SiteSettings  # noqa: E402
from custom_components.evcc_ha.core.site import Site  # noqa: E402
from custom_components.evcc_ha.core.tariff import FixedTariff, Rate, RatesTariff  # noqa: E402
from custom_components.evcc_ha.devices.simulated import (  # noqa: E402
    SimBattery,
    SimCharger,
    SimSite,
    SimVehicle,
)

TARGET_US = 1000.0
INTERVAL_S = 10.0
WARMUP = 200
CYCLES = 5000
TZ = timezone(timedelta(hours=2))
START = datetime(2026, 6, 21, 6, 0, tzinfo=TZ)


def build(with_plan: bool = True) -> tuple[Site, SimSite]:
    configs: list[LoadpointConfig] = []
    settings: list[LoadpointSettings] = []
    chargers: list[SimCharger] = []
    setups = [
        # (mode, phases configured, switchable, plan, vehicle soc)
        (Mode.PV, 0, True, False, 20.0),
        (Mode.MINPV, 3, False, False, 35.0),
        (Mode.PV, 3, False, with_plan, 30.0),
        (Mode.NOW, 3, False, False, 60.0),
    ]
    for i, (mode, phases, switchable, plan, soc) in enumerate(setups):
        title = f"LP{i + 1}"
        configs.append(
            LoadpointConfig(
                title=title,
                charger=ChargerConfig(phases=3, phases_switchable=switchable, max_current=16),
                vehicle=VehicleConfig(title=f"Car{i + 1}", capacity_kwh=60, phases=3),
            )
        )
        settings.append(
            LoadpointSettings(
                mode=mode,
                phases_configured=phases,
                priority=i % 2,
                plan_time=START + timedelta(hours=16) if plan else None,
                plan_soc=90 if plan else 0,
            )
        )
        vehicle = SimVehicle(
            f"Car{i + 1}", 60, soc, arrive=START + timedelta(minutes=5 * i), depart=None
        )
        chargers.append(
            SimCharger(
                phases_switchable=switchable,
                max_current=16,
                response_delay_s=10,
                phase_switch_pause_s=30,
                vehicle=vehicle,
            )
        )
    quarter = timedelta(minutes=15)
    rates = [
        Rate(START + k * quarter, START + (k + 1) * quarter, 0.25 + 0.1 * math.sin(k / 6))
        for k in range(4 * 24)
    ]
    site = Site(
        SiteConfig(battery_configured=True),
        configs,
        SiteSettings(priority_soc=30, buffer_soc=60, buffer_start_soc=90),
        settings,
        tariffs={"grid": RatesTariff(rates), "feedin": FixedTariff(0.08, tz=TZ)},
        interval_s=INTERVAL_S,
    )
    devices = SimSite(chargers, SimBattery(10, 50, 5000, 5000))
    return site, devices


def pv_at(k: int) -> float:
    hour = 6 + k * INTERVAL_S / 3600
    sun = max(0.0, math.sin(math.pi * (hour - 5) / 16))
    cloud = 0.5 if (k // 17) % 4 == 0 else 1.0
    return 22000 * sun * cloud


def home_at(k: int) -> float:
    return 400.0 + (3000.0 if (k // 11) % 7 == 0 else 0.0)


def measure(with_plan: bool) -> tuple[list[float], int, str]:
    """Per-cycle `Site.update` times (µs) after a warm-up, commands sent, final SoCs."""
    site, devices = build(with_plan)
    timings: list[float] = []
    commands = 0
    for k in range(WARMUP + CYCLES):
        now = START + timedelta(seconds=k * INTERVAL_S)
        devices.advance(now)
        readings = devices.readings(now, pv_at(k), home_at(k), INTERVAL_S)
        started = time.perf_counter_ns()
        result = site.update(now, readings)
        elapsed = time.perf_counter_ns() - started
        if k >= WARMUP:
            timings.append(elapsed / 1000.0)
        for index, command in enumerate(result.commands):
            if command:
                commands += 1
                devices.command(index, now, command)
        devices.advance(now)
        devices.step(now, pv_at(k), home_at(k), INTERVAL_S)
    socs = ", ".join(f"{c.vehicle.soc:.0f} %" for c in devices.chargers if c.vehicle is not None)
    return timings, commands, socs


def main() -> int:
    print("## Core cycle: Site.update with 4 loadpoints\n")
    print(
        "| variant | cycles | mean µs | median µs | p95 µs | max µs | target µs "
        "| ratio (mean/target) | verdict | commands | final SoCs |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---|")
    for label, with_plan in (
        ("pv 1p3p + minpv + pv with plan (96 rates) + now", True),
        ("same without the plan", False),
    ):
        timings, commands, socs = measure(with_plan)
        mean = statistics.fmean(timings)
        ordered = sorted(timings)
        p50 = ordered[len(ordered) // 2]
        p95 = ordered[int(len(ordered) * 0.95)]
        verdict = "ok" if mean < TARGET_US else "TOO SLOW"
        print(
            f"| {label} | {len(timings)} | {mean:.1f} | {p50:.1f} | {p95:.1f} | "
            f"{ordered[-1]:.1f} | {TARGET_US:.0f} | {mean / TARGET_US:.3f} | {verdict} "
            f"| {commands} | {socs} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

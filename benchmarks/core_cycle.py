"""Cost of one control cycle, as Home Assistant runs it (prints Markdown; never fails).

    python benchmarks/core_cycle.py [--quick]      # from the repository root

One cycle is `Controller.async_cycle()`: read every simulated meter and charger, check the
readings, `Site.update`, send the commands, build the state document. The site has N loadpoints
(1, 4, 16, 64), each with a car; the loadpoints mix pv with automatic 1p/3p, minpv, pv and now,
a home battery and a PV day with clouds. Four variants: no tariff, a fixed grid price, a dynamic
tariff of 96 quarter-hour rates, and that tariff with a target-time plan on every loadpoint.

Reported: µs per cycle and per loadpoint, min and median over repeated runs (each run times a
few hundred cycles after a warm-up). Target: ≤ 100 µs per loadpoint in every column.
"""

from __future__ import annotations

import asyncio
import math
import statistics
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from custom_components.evcc_ha.api.state import build_state  # noqa: E402
from custom_components.evcc_ha.core.clock import ManualClock  # noqa: E402
from custom_components.evcc_ha.core.controller import Controller  # noqa: E402
from custom_components.evcc_ha.core.tariff import FixedTariff, Rate, RatesTariff  # noqa: E402
from sim.household import ScenarioHousehold  # noqa: E402
from sim.runner import build_site  # noqa: E402
from sim.scenario import parse_scenario  # noqa: E402

TARGET_US_PER_LOADPOINT = 100.0
INTERVAL_S = 10
TZ = timezone(timedelta(hours=2))
START = datetime(2026, 6, 21, 9, 0, tzinfo=TZ)
SIZES = (1, 4, 16, 64)
VARIANTS = ("no tariff", "fixed tariff", "96-rate dynamic tariff", "plan on every loadpoint")
SETUPS = (  # mode, phases (0 = automatic, switchable charger), vehicle SoC
    ("pv", 0, 20),
    ("minpv", 3, 35),
    ("pv", 3, 30),
    ("now", 3, 60),
)


def scenario(loadpoints: int, *, plan: bool, cycles: int) -> dict[str, Any]:
    steps = cycles
    pv, home = [], []
    for k in range(steps):
        hour = 9 + k * INTERVAL_S / 3600
        sun = max(0.0, math.sin(math.pi * (hour - 5) / 16))
        cloud = 0.5 if (k // 17) % 4 == 0 else 1.0
        pv.append(round(4000 * loadpoints * sun * cloud, 1))
        home.append(400.0 + (3000.0 if (k // 11) % 7 == 0 else 0.0))
    lps = []
    for i in range(loadpoints):
        mode, phases, soc = SETUPS[i % len(SETUPS)]
        lp: dict[str, Any] = {
            "title": f"LP{i + 1}",
            "mode": mode,
            "phases": phases,
            "priority": i % 2,
            "charger": {
                "phases_switchable": phases == 0,
                "max_current": 16,
                "response_delay_s": 10,
                "phase_switch_pause_s": 30,
            },
            "vehicle": {"title": f"Car{i + 1}", "capacity_kwh": 60, "soc": soc},
        }
        if plan:
            lp |= {"planSoc": 90, "planTime": (START + timedelta(hours=10)).isoformat()}
        lps.append(lp)
    return {
        "name": f"{loadpoints} loadpoints",
        "start": START.isoformat(),
        "step_s": INTERVAL_S,
        "interval_s": INTERVAL_S,
        "series": {"pv_w": pv, "home_w": home},
        "site": {
            "battery": {
                "capacity_kwh": 10,
                "soc": 50,
                "max_charge_w": 5000,
                "max_discharge_w": 5000,
            },
            "prioritySoc": 30,
            "bufferSoc": 60,
            "bufferStartSoc": 90,
        },
        "loadpoints": lps,
    }


def tariffs(variant: str) -> dict[str, Any]:
    if variant == "no tariff":
        return {}
    if variant == "fixed tariff":
        return {"grid": FixedTariff(0.30, tz=TZ), "feedin": FixedTariff(0.08, tz=TZ)}
    quarter = timedelta(minutes=15)
    day = START.replace(hour=0)
    rates = [
        Rate(day + k * quarter, day + (k + 1) * quarter, 0.25 + 0.1 * math.sin(k / 6))
        for k in range(96)
    ]
    return {"grid": RatesTariff(rates), "feedin": FixedTariff(0.08, tz=TZ)}


async def one_run(loadpoints: int, variant: str, warmup: int, cycles: int) -> float:
    """µs per cycle (mean over `cycles` after `warmup`)."""
    parsed = parse_scenario(
        scenario(loadpoints, plan=variant == VARIANTS[3], cycles=warmup + cycles)
    )
    household = ScenarioHousehold(parsed)
    devices = household.site_devices()
    site = build_site(parsed, devices)
    site.tariffs = tariffs(variant)
    clock = ManualClock(parsed.start)
    controller = Controller(site, devices, clock, build_state)
    elapsed = 0
    for k in range(parsed.steps):
        now = parsed.start + timedelta(seconds=k * INTERVAL_S)
        clock.set(now)
        household.moment(now, parsed.pv_w[k], parsed.home_w[k])
        started = time.perf_counter_ns()
        await controller.async_cycle()
        if k >= warmup:
            elapsed += time.perf_counter_ns() - started
        household.sim.step(now, parsed.pv_w[k], parsed.home_w[k], INTERVAL_S)
    return elapsed / cycles / 1000.0


def measure(loadpoints: int, variant: str, runs: int, quick: bool) -> list[float]:
    cycles = max(20, (60 if quick else 600) // loadpoints)
    samples = []
    for _ in range(runs):
        with asyncio.Runner() as runner:
            runner.get_loop().set_task_factory(asyncio.eager_task_factory)
            samples.append(runner.run(one_run(loadpoints, variant, cycles // 4, cycles)))
    return samples


def main() -> int:
    quick = "--quick" in sys.argv
    runs = 2 if quick else 5
    print("## Control cycle (`Controller.async_cycle`, simulated devices)\n")
    print(f"µs per cycle, min / median of {runs} runs; in brackets µs per loadpoint (median).\n")
    print("| loadpoints | " + " | ".join(VARIANTS) + " |")
    print("|---:|" + "---:|" * len(VARIANTS))
    worst = 0.0
    for size in SIZES:
        cells = []
        for variant in VARIANTS:
            samples = measure(size, variant, runs, quick)
            median = statistics.median(samples)
            per_lp = median / size
            worst = max(worst, per_lp)
            cells.append(f"{min(samples):.0f} / {median:.0f} ({per_lp:.0f})")
        print(f"| {size} | " + " | ".join(cells) + " |")
    ratio = worst / TARGET_US_PER_LOADPOINT
    print(
        f"\nWorst µs per loadpoint: {worst:.0f}, target {TARGET_US_PER_LOADPOINT:.0f} "
        f"(ratio {ratio:.2f}; below 1 meets the target)."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

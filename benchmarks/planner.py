"""Plan quality and speed (prints Markdown; never fails).

    python benchmarks/planner.py [--quick]      # from the repository root

Random day-ahead tariffs (96 quarter hours over 24 h, 192 over 48 h), random charge times and
targets. Each plan of `plan_slots` is compared with an exact optimum computed here another way:
every minute of the window priced on its own and the cheapest minutes taken (`heapq`), which is
the cheapest possible charge when charging can be split anywhere. Reported: the cost gap (target
0.0 %), the time per plan (target ≤ 10 ms), and a control cycle of 4 loadpoints with a plan on
each (`Controller.async_cycle`, target ≤ 1 ms), min / median over repeated runs.
"""

from __future__ import annotations

import heapq
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from core_cycle import VARIANTS, measure  # noqa: E402

from custom_components.evcc_ha.core.planner import plan_slots  # noqa: E402
from custom_components.evcc_ha.core.tariff import Rate  # noqa: E402

TARGET_GAP = 0.0  # % above the optimum
TARGET_PLAN_MS = 10.0
TARGET_CYCLE_MS = 1.0
START = datetime(2026, 6, 21, tzinfo=UTC)
QUARTER = timedelta(minutes=15)
MINUTE = timedelta(minutes=1)


def random_tariff(rng: random.Random, slots: int) -> list[Rate]:
    """A day-ahead-like curve with noise, some negative and many equal prices."""
    prices = []
    for k in range(slots):
        hour = (k / 4) % 24
        base = 0.25 + 0.1 * (hour in range(17, 21)) - 0.08 * (hour in range(11, 15))
        prices.append(round(base + rng.choice([-0.3, 0.0, 0.0, 0.02, 0.05]) * rng.random(), 2))
    return [Rate(START + k * QUARTER, START + (k + 1) * QUARTER, p) for k, p in enumerate(prices)]


def optimum(rates: list[Rate], now: datetime, target: datetime, required: timedelta) -> float:
    """The cheapest cost (price × hours) of `required` whole minutes within [now, target)."""
    minutes = []
    at = now
    index = 0
    while at < target:
        while rates[index].end <= at:
            index += 1
        minutes.append(rates[index].price)
        at += MINUTE
    need = int(required / MINUTE)
    return sum(heapq.nsmallest(need, minutes)) / 60.0


def cost(plan: list[Rate]) -> float:
    return sum(r.price * r.duration.total_seconds() / 3600.0 for r in plan)


def quality(slots: int, cases: int, seed: int) -> tuple[float, list[float]]:
    """Worst cost gap in % over `cases` random plans, and the time of each plan in ms."""
    rng = random.Random(seed)
    worst, times = 0.0, []
    for _ in range(cases):
        rates = random_tariff(rng, slots)
        end = rates[-1].end
        now = START + rng.randrange(0, slots // 2) * QUARTER + rng.randrange(0, 15) * MINUTE
        target = now + rng.randrange(4, int((end - now) / QUARTER)) * QUARTER
        window = int((target - now) / MINUTE)
        required = rng.randrange(1, window) * MINUTE
        started = time.perf_counter()
        plan = plan_slots(now, required, target, rates)
        times.append((time.perf_counter() - started) * 1000.0)
        best = optimum(rates, now, target, required)
        gap = (cost(plan) - best) / abs(best) * 100.0 if best else abs(cost(plan) - best)
        worst = max(worst, gap)
    return worst, times


def main() -> int:
    quick = "--quick" in sys.argv
    cases = 200 if quick else 2000
    print("## Planner: cost against the exact optimum, time per plan\n")
    print(f"{cases} random plans per tariff; time per plan min / median / max.\n")
    print("| tariff | worst cost gap | time per plan (ms) |")
    print("|---|---:|---:|")
    worst_gap, worst_ms = 0.0, 0.0
    for slots, name in ((96, "96 × 15 min (24 h)"), (192, "192 × 15 min (48 h)")):
        gap, times = quality(slots, cases, seed=slots)
        worst_gap = max(worst_gap, gap)
        median = statistics.median(times)
        worst_ms = max(worst_ms, median)
        print(f"| {name} | {gap:.4f} % | {min(times):.3f} / {median:.3f} / {max(times):.3f} |")
    runs = 3 if quick else 5
    samples = [us / 1000.0 for us in measure(4, VARIANTS[3], runs, quick)]
    cycle = statistics.median(samples)
    print(
        f"\nControl cycle with a plan on each of 4 loadpoints: {min(samples):.3f} / {cycle:.3f} ms"
        f" (min / median of {runs} runs).\n"
    )
    print(
        f"Targets: gap {TARGET_GAP:.1f} % (worst {worst_gap:.4f} %), plan ≤ {TARGET_PLAN_MS:g} ms"
        f" (ratio {worst_ms / TARGET_PLAN_MS:.3f}), cycle ≤ {TARGET_CYCLE_MS:g} ms"
        f" (ratio {cycle / TARGET_CYCLE_MS:.2f}); ratios below 1 meet the target."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Seeded generator of scenario days for the control quality set (`tests/scenarios/gen-*.json`).

    python -m sim.generate [--out tests/scenarios]     # from the repository root

Each day is drawn from `random.Random(seed)` alone, so the same seed always gives the same file
and the set can grow by adding a `DaySpec`. PV follows a clear-sky curve (sine of the sun's
height between sunrise and sunset) times cloud cover from a two-state Markov chain (sunny /
cloud, mean durations per day type, random depth of each cloud); the home draws a base load with
random appliance bursts. Steps of 10 s, as the recorded days.
"""

from __future__ import annotations

import argparse
import json
import math
import random
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

STEP_S = 10
TZ = ZoneInfo("Europe/Berlin")


@dataclass(frozen=True)
class DaySpec:
    name: str
    seed: int
    description: str
    date: str  # ISO day
    sunrise_h: float
    sunset_h: float
    pv_peak_w: float
    sunny_min: float  # mean minutes of sun between clouds (0: overcast all day)
    cloud_min: float  # mean minutes of one cloud
    cloud_depth: tuple[float, float]  # share of PV left under a cloud (min, max)
    loadpoint: dict[str, Any]
    site: dict[str, Any] = field(default_factory=dict)
    start_h: float = 5.0
    end_h: float = 21.0


DAYS: tuple[DaySpec, ...] = (
    DaySpec(
        name="gen-broken-clouds-summer",
        seed=101,
        description="Summer day with broken clouds every few minutes; 1p/3p switchable wallbox.",
        date="2026-07-08",
        sunrise_h=5.3,
        sunset_h=21.4,
        pv_peak_w=9500,
        sunny_min=6,
        cloud_min=4,
        cloud_depth=(0.15, 0.5),
        loadpoint={
            "mode": "pv",
            "phases": 0,
            "charger": {
                "phases_switchable": True,
                "response_delay_s": 10,
                "phase_switch_pause_s": 30,
            },
            "vehicle": {
                "title": "Car",
                "capacity_kwh": 64,
                "soc": 15,
                "arrive": "07:30",
                "depart": "19:30",
            },
        },
    ),
    DaySpec(
        name="gen-winter-1p",
        seed=202,
        description="Short winter day with little sun and passing clouds; 1p/3p switchable wallbox.",
        date="2026-01-14",
        sunrise_h=8.2,
        sunset_h=16.5,
        pv_peak_w=3800,
        sunny_min=12,
        cloud_min=8,
        cloud_depth=(0.2, 0.6),
        loadpoint={
            "mode": "pv",
            "phases": 0,
            "charger": {
                "phases_switchable": True,
                "response_delay_s": 10,
                "phase_switch_pause_s": 30,
            },
            "vehicle": {
                "title": "Car",
                "capacity_kwh": 40,
                "soc": 35,
                "arrive": "08:00",
                "depart": "17:00",
            },
        },
        start_h=7.0,
        end_h=18.0,
    ),
    DaySpec(
        name="gen-spring-battery",
        seed=303,
        description="Spring day with clouds, a 10 kWh home battery with priority and buffer SoC.",
        date="2026-04-21",
        sunrise_h=6.3,
        sunset_h=20.3,
        pv_peak_w=8000,
        sunny_min=15,
        cloud_min=6,
        cloud_depth=(0.2, 0.6),
        loadpoint={
            "mode": "pv",
            "phases": 0,
            "charger": {
                "phases_switchable": True,
                "response_delay_s": 10,
                "phase_switch_pause_s": 30,
            },
            "vehicle": {
                "title": "Car",
                "capacity_kwh": 58,
                "soc": 25,
                "arrive": "07:00",
                "depart": "19:00",
            },
        },
        site={
            "battery": {
                "capacity_kwh": 10,
                "soc": 30,
                "max_charge_w": 5000,
                "max_discharge_w": 5000,
            },
            "prioritySoc": 50,
            "bufferSoc": 80,
        },
    ),
    DaySpec(
        name="gen-fixed-3p",
        seed=404,
        description="Partly cloudy summer day; a wallbox fixed at 3 phases (no switching).",
        date="2026-06-30",
        sunrise_h=5.2,
        sunset_h=21.5,
        pv_peak_w=10000,
        sunny_min=20,
        cloud_min=5,
        cloud_depth=(0.2, 0.55),
        loadpoint={
            "mode": "pv",
            "phases": 3,
            "charger": {"phases_switchable": False, "response_delay_s": 10},
            "vehicle": {
                "title": "Car",
                "capacity_kwh": 77,
                "soc": 30,
                "arrive": "06:00",
                "depart": "20:00",
            },
        },
    ),
    DaySpec(
        name="gen-minpv-limit",
        seed=505,
        description="minpv with a limit SoC of 80 % on a changeable day; switchable wallbox.",
        date="2026-05-19",
        sunrise_h=5.6,
        sunset_h=21.0,
        pv_peak_w=7000,
        sunny_min=10,
        cloud_min=7,
        cloud_depth=(0.15, 0.5),
        loadpoint={
            "mode": "minpv",
            "phases": 0,
            "limitSoc": 80,
            "charger": {
                "phases_switchable": True,
                "response_delay_s": 10,
                "phase_switch_pause_s": 30,
            },
            "vehicle": {
                "title": "Car",
                "capacity_kwh": 58,
                "soc": 40,
                "arrive": "07:00",
                "depart": "19:00",
            },
        },
    ),
)


HELD_OUT_SEED_OFFSET = 1000


def held_out_days(offset: int = HELD_OUT_SEED_OFFSET) -> tuple[DaySpec, ...]:
    """The same day types drawn with other seeds: days the smooth profile was not tuned on
    (benchmarks/control_quality.py reports them apart)."""
    return tuple(
        replace(spec, name=f"{spec.name}-seed{spec.seed + offset}", seed=spec.seed + offset)
        for spec in DAYS
    )


def _clouds(rng: random.Random, spec: DaySpec, steps: int) -> list[float]:
    """The share of clear-sky PV in each step: 1 in the sun, a random depth under a cloud."""
    cover: list[float] = []
    cloudy = False
    depth = 1.0
    while len(cover) < steps:
        mean_min = spec.cloud_min if cloudy else spec.sunny_min
        length = max(1, round(rng.expovariate(1.0 / (mean_min * 60 / STEP_S))))
        depth = rng.uniform(*spec.cloud_depth) if cloudy else 1.0
        cover += [depth] * length
        cloudy = not cloudy
    return cover[:steps]


def _home(rng: random.Random, steps: int) -> list[float]:
    """A base load with random appliance bursts (kettle, oven, washing machine)."""
    home = [rng.uniform(250, 400)] * steps
    for _ in range(18):
        start = rng.randrange(steps)
        length = rng.randint(12, 120)  # 2 to 20 minutes
        watts = rng.choice([800, 1500, 2000, 2500])
        for k in range(start, min(steps, start + length)):
            home[k] += watts
    return [round(w, 1) for w in home]


def generate(spec: DaySpec) -> dict[str, Any]:
    """The scenario of one day (the same spec always gives the same scenario)."""
    rng = random.Random(spec.seed)
    day = datetime.fromisoformat(spec.date).replace(tzinfo=TZ)
    start = day + timedelta(hours=spec.start_h)
    steps = round((spec.end_h - spec.start_h) * 3600 / STEP_S)
    cover = _clouds(rng, spec, steps)
    pv = []
    for k in range(steps):
        hour = spec.start_h + k * STEP_S / 3600
        height = (hour - spec.sunrise_h) / (spec.sunset_h - spec.sunrise_h)
        sun = math.sin(math.pi * height) if 0 < height < 1 else 0.0
        pv.append(round(spec.pv_peak_w * sun**1.3 * cover[k], 1))
    loadpoint = json.loads(json.dumps(spec.loadpoint))  # a copy
    loadpoint["title"] = "Garage"
    vehicle = loadpoint["vehicle"]
    for key in ("arrive", "depart"):
        hours, minutes = (int(part) for part in vehicle[key].split(":"))
        vehicle[key] = (day + timedelta(hours=hours, minutes=minutes)).isoformat()
    return {
        "name": spec.name,
        "description": f"{spec.description} Generated by sim/generate.py (seed {spec.seed}).",
        "start": start.isoformat(),
        "step_s": STEP_S,
        "interval_s": STEP_S,
        "voltage": 230,
        "series": {"pv_w": pv, "home_w": _home(rng, steps)},
        "site": spec.site,
        "loadpoints": [loadpoint],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write the generated scenario days.")
    parser.add_argument("--out", default="tests/scenarios", help="directory (default: %(default)s)")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for spec in DAYS:
        text = json.dumps(generate(spec), separators=(",", ":")) + "\n"
        (out / f"{spec.name}.json").write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""The simulate command line: metrics JSON, trace CSV, plot, and errors for broken scenarios."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from .test_scenario import METRIC_KEYS

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "simulate.py"
SUNNY = REPO / "tests" / "scenarios" / "sunny-day.json"

HEADER = (
    "time,pv_w,home_w,ev_w,battery_w,battery_soc,grid_w,"
    "lp1_power_w,lp1_current_a,lp1_phases,lp1_enabled,lp1_connected,lp1_soc,lp1_mode"
)


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations() -> None:
    """The simulator needs no Home Assistant: replaces the suite-wide fixture that starts one."""


def simulate(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *map(str, args)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="module")
def sunny_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Path, Path]:
    out = tmp_path_factory.mktemp("simulate")
    trace, plot = out / "trace.csv", out / "plot.png"
    done = simulate(SUNNY, "--trace", trace, "--plot", plot, "--controller", "evcc")
    assert done.returncode == 0, done.stderr
    return done, trace, plot


def test_prints_metrics_json(sunny_run: tuple[Any, Path, Path]) -> None:
    done, _, _ = sunny_run
    metrics = json.loads(done.stdout)
    assert set(metrics) == METRIC_KEYS
    assert metrics["steps"] == 7200
    assert len(metrics["charger_switches"]) == 1
    assert metrics["ev_energy_kwh"] > 0


def test_trace_csv(sunny_run: tuple[Any, Path, Path]) -> None:
    _, trace, _ = sunny_run
    lines = trace.read_text().splitlines()
    assert lines[0] == HEADER
    assert len(lines) == 7201
    scenario = json.loads(SUNNY.read_text())
    rows = list(csv.DictReader(lines))
    assert rows[0]["time"] == scenario["start"]
    assert [float(r["pv_w"]) for r in rows] == scenario["series"]["pv_w"]
    assert [float(r["home_w"]) for r in rows] == scenario["series"]["home_w"]
    assert {r["lp1_enabled"] for r in rows} == {"0", "1"}
    assert {r["battery_soc"] for r in rows} == {""}  # no battery


def test_plot_is_a_png(sunny_run: tuple[Any, Path, Path]) -> None:
    _, _, plot = sunny_run
    data = plot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data) > 20_000


def test_plot_profiles_draws_every_controller(tmp_path: Path) -> None:
    plot = tmp_path / "profiles.png"
    done = simulate(SUNNY, "--plot-profiles", plot)
    assert done.returncode == 0, done.stderr
    data = plot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    # two panels, one per controller: taller than a one-panel plot of the same width
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert (width, height) == (1300, 640)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ('{"name": "broken", "start": ', "invalid JSON"),
        ("[]", "scenario: must be an object"),
    ],
)
def test_broken_file_exits_2(tmp_path: Path, content: str, expected: str) -> None:
    path = tmp_path / "broken.json"
    path.write_text(content)
    done = simulate(path)
    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1
    assert expected in lines[0]


def test_invalid_field_exits_2_naming_it(tmp_path: Path) -> None:
    scenario = json.loads(SUNNY.read_text())
    scenario["loadpoints"][0]["vehicle"]["capacity_kwh"] = -58
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(scenario))
    done = simulate(path)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert lines == ["error: loadpoints[0].vehicle.capacity_kwh: must be a positive number"]


def test_missing_file_and_unknown_controller_exit_2(tmp_path: Path) -> None:
    done = simulate(tmp_path / "nowhere.json")
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1
    done = simulate(SUNNY, "--controller", "fuzzy")
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "error: controller: unknown controller 'fuzzy' (known: evcc, smooth)"
    ]


def test_the_simulator_imports_no_home_assistant() -> None:
    """The simulator loads only the pure parts of the integration (its __init__ imports HA)."""
    code = (
        "import sys; import sim.runner; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'homeassistant'))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"

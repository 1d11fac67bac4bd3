"""The simulator's command line (`scripts/simulate`).

    scripts/simulate SCENARIO.json [--trace TRACE.csv] [--plot PLOT.png] [--controller evcc]
                     [--plot-profiles PLOT.png]

Prints one JSON object of metrics and exits 0; a malformed scenario exits 2 with one line on
stderr naming the offending field.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import NoReturn

from .runner import CONTROLLERS, run_scenario
from .scenario import ScenarioError, load_scenario

EXIT_BAD_SCENARIO = 2


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error in one line (exit 2)."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_BAD_SCENARIO, f"{self.prog}: {message}\n")


def _one_line(text: str) -> str:
    return " ".join(text.split())


def main(argv: list[str] | None = None) -> int:
    parser = _Parser(
        prog="simulate",
        description="Replay a scenario through the charge-control core and print its metrics.",
    )
    parser.add_argument("scenario", help="scenario JSON file")
    parser.add_argument("--trace", metavar="TRACE.csv", help="write one CSV row per step")
    parser.add_argument("--plot", metavar="PLOT.png", help="draw power flows and SoC")
    parser.add_argument(
        "--controller",
        default="evcc",
        help=f"control strategy (known: {', '.join(CONTROLLERS)}; default evcc; smooth: every "
        "loadpoint with the smooth control profile)",
    )
    parser.add_argument(
        "--plot-profiles",
        metavar="PLOT.png",
        help="also run the day with every controller and draw them one above the other",
    )
    args = parser.parse_args(argv)
    try:
        scenario = load_scenario(args.scenario)
        result = run_scenario(scenario, controller=args.controller)
        compared = (
            [run_scenario(scenario, controller=name) for name in CONTROLLERS]
            if args.plot_profiles
            else []
        )
    except ScenarioError as err:
        print(_one_line(f"error: {err}"), file=sys.stderr)
        return EXIT_BAD_SCENARIO
    try:
        if args.trace:
            result.write_trace(args.trace)
        if args.plot:
            from .plot import plot  # matplotlib only when a plot is asked for

            plot(result, args.plot)
        if compared:
            from .plot import plot_profiles

            plot_profiles(compared, args.plot_profiles)
    except OSError as err:
        print(_one_line(f"error: {err}"), file=sys.stderr)
        return 1
    json.dump(result.metrics, sys.stdout)
    sys.stdout.write("\n")
    return 0

"""Replay a scenario through the controller Home Assistant runs (see `sim/cli.py`).

scripts/simulate SCENARIO.json [--trace TRACE.csv] [--plot PLOT.png] [--controller evcc]
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sim.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())

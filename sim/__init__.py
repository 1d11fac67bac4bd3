"""The simulator: replays recorded days through the controller Home Assistant runs.

It lives beside the integration, not in it: only `scripts/simulate`, the tests and the benchmarks
use it. It drives `custom_components.evcc_ha.core.controller.Controller` — the same object the
Home Assistant coordinator schedules — with simulated devices and a manual clock.

Importing any part of `custom_components.evcc_ha` runs the integration's `__init__`, which imports
Home Assistant (more than a second of a simulated day). The simulator only needs the pure parts
(`core`, `devices.simulated`, `api.state`), none of which import Home Assistant, so when the
integration is not imported yet, its package is registered here without running its `__init__`.
A process that imports the integration first (the test suite does) keeps the real package.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import sys
from pathlib import Path

_INTEGRATION = "custom_components.evcc_ha"
_ROOT = Path(__file__).resolve().parents[1]


def _register_integration_package() -> None:
    if _INTEGRATION in sys.modules:
        return
    if str(_ROOT) not in sys.path:
        sys.path.insert(0, str(_ROOT))
    import custom_components  # noqa: F401  # the repository's plain namespace for integrations

    spec = importlib.machinery.ModuleSpec(_INTEGRATION, None, is_package=True)
    spec.submodule_search_locations = [str(_ROOT / "custom_components" / "evcc_ha")]
    sys.modules[_INTEGRATION] = importlib.util.module_from_spec(spec)


_register_integration_package()

"""ha-evcc (marq24/ha-evcc) against the demo site's evcc port, as a new user sets it up: add its
config entry (websocket mode), wait for two control cycles, list its entities that are unknown or
unavailable, then press its switches, selects, numbers and the detect button and check that each
changed evcc_ha's state (detection: the plugged-in car, or none while the car is away). Run by `scripts/ha-evcc-check` inside `scripts/develop --run`.

    python scripts/lib/ha_evcc_check.py --config DIR [--port 8123]

Exits 1 when a write did not reach evcc_ha. (Not part of the test suite: ha-evcc is not on PyPI.)
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

import aiohttp

EVCC = "http://127.0.0.1:7070"
# (domain, service, data, state key, where: None = site, int = loadpoint, str = vehicle, want)
WRITES: list[tuple[str, str, dict[str, Any], str, int | str | None, Any]] = [
    (
        "switch",
        "turn_on",
        {"entity_id": "switch.evcc_battery_discharge_control"},
        "batteryDischargeControl",
        None,
        True,
    ),
    (
        "switch",
        "turn_on",
        {"entity_id": "switch.evcc_carport_battery_boost"},
        "batteryBoost",
        0,
        True,
    ),
    (
        "switch",
        "turn_on",
        {"entity_id": "switch.evcc_carport_plan_strategy_continuous"},
        "planStrategy",
        0,
        {"continuous": True, "precondition": 0},
    ),
    (
        "select",
        "select_option",
        {"entity_id": "select.evcc_carport_plan_strategy_precondition", "option": "1800"},
        "planStrategy",
        0,
        {"continuous": True, "precondition": 1800},
    ),
    (
        "switch",
        "turn_off",
        {"entity_id": "switch.evcc_id_3_repeating_plan_2"},
        "repeatingPlans",
        "id_3",
        False,
    ),
    (
        "select",
        "select_option",
        {"entity_id": "select.evcc_carport_mode", "option": "minpv"},
        "mode",
        0,
        "minpv",
    ),
    (
        "select",
        "select_option",
        {"entity_id": "select.evcc_garage_mode", "option": "now"},
        "mode",
        1,
        "now",
    ),
    (
        "select",
        "select_option",
        {"entity_id": "select.evcc_carport_vehicle_name", "option": "null"},
        "vehicleName",
        0,
        "",
    ),
    (
        "button",
        "press",
        {"entity_id": "button.evcc_carport_detectvehicle"},
        "vehicleName",
        0,
        "id_3",
    ),
    (
        "select",
        "select_option",
        {"entity_id": "select.evcc_buffer_soc", "option": "90"},
        "bufferSoc",
        None,
        90,
    ),
    (
        "number",
        "set_value",
        {"entity_id": "number.evcc_battery_grid_charge_limit", "value": 0.12},
        "batteryGridChargeLimit",
        None,
        0.12,
    ),
]


def _value(doc: dict[str, Any], key: str, where: int | str | None) -> Any:
    if where is None:
        return doc.get(key)
    if isinstance(where, int):
        return doc["loadpoints"][where].get(key)
    value = doc["vehicles"][where].get(key)
    return value[0]["active"] if key == "repeatingPlans" else value


async def main(config: Path, port: int) -> int:
    token = (config / ".dev_token").read_text().strip()
    base = f"http://127.0.0.1:{port}"
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as ha:
        flow = await (
            await ha.post(f"{base}/api/config/config_entries/flow", json={"handler": "evcc_intg"})
        ).json()
        data = {"name": "evcc", "host": EVCC, "scan_interval": 15, "use_websocket": True}
        result = await (
            await ha.post(f"{base}/api/config/config_entries/flow/{flow['flow_id']}", json=data)
        ).json()
        print("ha-evcc entry:", result.get("type"), result.get("errors") or "")
        await asyncio.sleep(45)  # more than one control cycle
        states = await (await ha.get(f"{base}/api/states")).json()
        ours = [s for s in states if s["entity_id"].split(".")[1].startswith("evcc_")]
        missing = [s for s in ours if s["state"] in ("unknown", "unavailable")]
        print(f"ha-evcc entities: {len(ours)}, unknown or unavailable: {len(missing)}")
        for state in sorted(missing, key=lambda s: s["entity_id"]):
            print(f"  {state['entity_id']}: {state['state']}")
        failed = 0
        async with aiohttp.ClientSession() as evcc:
            for domain, service, call, key, where, want in WRITES:
                if service == "press" and isinstance(where, int):
                    # detection finds the car that is plugged in; while it is away, none
                    before = await (await evcc.get(f"{EVCC}/api/state")).json()
                    if not before["loadpoints"][where]["connected"]:
                        want = ""
                response = await ha.post(f"{base}/api/services/{domain}/{service}", json=call)
                await asyncio.sleep(1.5)
                doc = await (await evcc.get(f"{EVCC}/api/state")).json()
                got = _value(doc, key, where)
                failed += got != want
                print(
                    "ok " if got == want else "BAD",
                    response.status,
                    call["entity_id"],
                    call.get("option", call.get("value", service)),
                    "->",
                    key,
                    got,
                )
    return 1 if failed else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--port", type=int, default=8123)
    args = parser.parse_args()
    sys.exit(asyncio.run(main(args.config, args.port)))

"""Check a running development Home Assistant (used by scripts/develop --check).

Waits until the REST API answers (at most --timeout seconds) and startup is complete, then
checks that every evcc_ha config entry is loaded, that the owner can log in with user name and
password, that the web UI is served, and that the log holds no ERROR or CRITICAL line.
Exits 0 when all checks pass, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any


class Client:
    def __init__(self, base: str, token: str) -> None:
        self.base = base
        self.token = token

    def request(self, path: str, body: dict[str, Any] | None = None, auth: bool = True) -> Any:
        headers = {"Content-Type": "application/json"}
        if auth:
            headers["Authorization"] = f"Bearer {self.token}"
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, headers=headers)
        with urllib.request.urlopen(req, timeout=5) as resp:
            raw = resp.read()
        content_type = resp.headers.get("Content-Type", "")
        return json.loads(raw) if "json" in content_type else raw.decode(errors="replace")


def alive(pid: int | None) -> bool:
    if pid is None:
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def wait_for_api(client: Client, timeout: float, pid: int | None) -> str | None:
    """Return None once GET /api/ succeeds, else the reason it did not."""
    deadline = time.monotonic() + timeout
    reason = "no answer"
    while time.monotonic() < deadline:
        if not alive(pid):
            return "hass exited before its API answered"
        try:
            client.request("/api/")
            return None
        except urllib.error.HTTPError as err:
            return f"GET /api/ answered HTTP {err.code} (is config/.dev_token valid?)"
        except (urllib.error.URLError, OSError) as err:
            reason = f"no answer ({err})"
        time.sleep(1)
    return f"{reason} after {timeout:.0f} s"


def login(client: Client, username: str, password: str) -> bool:
    """Run the login flow of the Home Assistant auth provider as the web UI does."""
    client_id = client.base + "/"
    flow = client.request(
        "/auth/login_flow",
        {
            "client_id": client_id,
            "handler": ["homeassistant", None],
            "redirect_uri": client_id + "?auth_callback=1",
        },
        auth=False,
    )
    result = client.request(
        f"/auth/login_flow/{flow['flow_id']}",
        {"client_id": client_id, "username": username, "password": password},
        auth=False,
    )
    return bool(result.get("type") == "create_entry")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8123)
    parser.add_argument("--token-file", type=Path, required=True)
    parser.add_argument("--log-file", type=Path, required=True)
    parser.add_argument("--user", default="dev")
    parser.add_argument("--password", default="dev")
    parser.add_argument("--timeout", type=float, default=120)
    parser.add_argument("--pid", type=int, help="give up early when this process ends")
    args = parser.parse_args()

    client = Client(f"http://127.0.0.1:{args.port}", args.token_file.read_text().strip())
    if problem := wait_for_api(client, args.timeout, args.pid):
        print(f"develop --check: {problem}")
        return 1
    for _ in range(60):
        if client.request("/api/config")["state"] == "RUNNING":
            break
        time.sleep(1)

    failures: list[str] = []
    entries = client.request("/api/config/config_entries/entry?domain=evcc_ha")
    states = {entry["title"]: entry["state"] for entry in entries}
    print(f"develop --check: evcc_ha entries {states}")
    if not states or any(state != "loaded" for state in states.values()):
        failures.append("not every evcc_ha config entry is loaded")
    if not login(client, args.user, args.password):
        failures.append(f"login as {args.user!r} failed")
    if "<html" not in str(client.request("/", auth=False)).lower():
        failures.append("the web UI is not served at /")
    # the demo's day-ahead prices are its grid tariff (Home Assistant's view of the evcc API)
    if "Demo site" in states:
        try:
            rates = client.request("/api/evcc_ha/tariff/grid")["rates"]
        except (OSError, KeyError, ValueError) as err:
            failures.append(f"GET /api/evcc_ha/tariff/grid failed: {err}")
        else:
            print(f"develop --check: demo grid tariff has {len(rates)} rates")
            if not rates:
                failures.append("the demo site has no grid prices")
    log = args.log_file.read_text(encoding="utf-8", errors="replace")
    errors = [line for line in log.splitlines() if re.search(r" (ERROR|CRITICAL) \(", line)]
    failures += [f"log: {line}" for line in errors]

    for failure in failures:
        print(f"develop --check: {failure}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

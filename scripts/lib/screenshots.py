"""Take the README screenshots from a running `scripts/develop` (headless Debian Chromium).

    .cache/venv-shots/bin/python scripts/lib/screenshots.py   # venv: pip install playwright

Logs in by handing the frontend the long-lived token of config/.dev_token, then captures the
demo loadpoint's device page and the first two steps of the config flow into docs/.
"""

from __future__ import annotations

import json
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[2]
BASE = "http://127.0.0.1:8123"
TOKEN = (ROOT / "config" / ".dev_token").read_text().strip()


def api(path: str, body: dict[str, object] | None = None) -> object:
    request = urllib.request.Request(
        BASE + path,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        raw = response.read().decode()
    return json.loads(raw) if raw.startswith(("{", "[")) else raw


def main() -> None:
    device_id = api("/api/template", {"template": "{{ device_id('sensor.carport_charge_power') }}"})
    tokens = {
        "hassUrl": BASE,
        "clientId": BASE + "/",
        "expires": int(time.time() * 1000) + 365 * 86400 * 1000,
        "refresh_token": "unused",
        "access_token": TOKEN,
        "token_type": "Bearer",
        "expires_in": 365 * 86400,
    }
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.add_init_script(
            f"localStorage.setItem('hassTokens', {json.dumps(json.dumps(tokens))});"
        )
        page.goto(f"{BASE}/config/devices/device/{device_id}")
        page.wait_for_timeout(6000)
        page.screenshot(path=str(ROOT / "docs" / "device-page.png"), full_page=True)
        page.goto(f"{BASE}/config/integrations/dashboard/add?domain=evcc_ha")
        page.wait_for_timeout(5000)
        page.get_by_text("OK", exact=True).click()  # "Do you want to set up evcc_ha?"
        page.wait_for_timeout(4000)
        page.screenshot(path=str(ROOT / "docs" / "config-flow.png"))
        # the next step of a real (not demo) site: its meters; the flow is left unfinished
        page.get_by_label("Site title").fill("Screenshot house")
        page.get_by_text("Submit", exact=True).click()
        page.wait_for_timeout(4000)
        page.screenshot(path=str(ROOT / "docs" / "config-flow-meters.png"))
        browser.close()


if __name__ == "__main__":
    main()

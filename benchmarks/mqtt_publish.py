"""evcc's MQTT API: what it sends per cycle, and how fast a `/set` reaches the charger (prints).

    python benchmarks/mqtt_publish.py            # from the repository root

1. Messages and bytes per control cycle for the demo site and for a site with 4 loadpoints,
   publishing what changed (what evcc_ha does) against publishing every value every cycle (what
   evcc does), in one run over the same simulated cycles.
2. Latency from a `/set` publish to the charger command, over a real Mosquitto on 127.0.0.1
   (skipped when the `mosquitto` binary is missing). The API is the integration's `MqttApi` over
   the same controller; the transport here is a plain paho client (in Home Assistant it is Home
   Assistant's own MQTT client). Target: ≤ 1 s; reported: median and max of many writes.
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from custom_components.evcc_ha.api.mqtt import MqttApi  # noqa: E402
from custom_components.evcc_ha.api.mqtt_topics import topic_tree  # noqa: E402
from custom_components.evcc_ha.api.state import build_state  # noqa: E402
from custom_components.evcc_ha.core.clock import ManualClock  # noqa: E402
from custom_components.evcc_ha.core.controller import Controller  # noqa: E402
from custom_components.evcc_ha.core.devices import LoadpointDevices, SiteDevices  # noqa: E402
from custom_components.evcc_ha.core.model import (  # noqa: E402
    LoadpointConfig,
    MeterReading,
    SiteConfig,
    Status,
)
from custom_components.evcc_ha.core.site import Site  # noqa: E402
from custom_components.evcc_ha.devices.demo import DemoSite  # noqa: E402
from sim.household import ScenarioHousehold  # noqa: E402
from sim.ideal import FixedMeter, IdealCharger  # noqa: E402
from sim.runner import build_site  # noqa: E402
from sim.scenario import parse_scenario  # noqa: E402

CYCLES = 240
LATENCY_WRITES = 40
TARGET_LATENCY_S = 1.0
START = datetime(2026, 6, 21, 9, 0, tzinfo=UTC)


# --- 1. messages per cycle -------------------------------------------------------------------


async def demo_documents(cycles: int) -> list[dict[str, Any]]:
    clock = ManualClock(START)
    demo = DemoSite(clock, tz=UTC)
    devices = demo.site_devices("Demo")
    site = Site(devices.config, [lp.config for lp in devices.loadpoints], interval_s=30)
    controller = Controller(site, devices, clock, build_state)
    await controller.async_set_loadpoint(0, "mode", "pv")
    docs = []
    for _ in range(cycles):
        clock.advance(30)
        docs.append((await controller.async_cycle()).state)
    return docs


async def four_loadpoint_documents(cycles: int) -> list[dict[str, Any]]:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from core_cycle import scenario  # the benchmark's 4-loadpoint site, same PV day

    parsed = parse_scenario(scenario(4, plan=False, cycles=cycles))
    household = ScenarioHousehold(parsed)
    devices = household.site_devices()
    clock = ManualClock(parsed.start)
    controller = Controller(build_site(parsed, devices), devices, clock, build_state)
    docs = []
    for k in range(parsed.steps):
        now = parsed.start + timedelta(seconds=k * parsed.step_s)
        clock.set(now)
        household.moment(now, parsed.pv_w[k], parsed.home_w[k])
        docs.append((await controller.async_cycle()).state)
        household.sim.step(now, parsed.pv_w[k], parsed.home_w[k], parsed.step_s)
    return docs


def traffic(docs: list[dict[str, Any]]) -> tuple[float, float, float, float]:
    """Mean messages and bytes per cycle: every value, and only what changed (+ updated)."""
    every_msgs = every_bytes = changed_msgs = changed_bytes = 0
    previous: dict[str, str] = {}
    for doc in docs[1:]:  # the first document is the start, published in full by both
        tree = topic_tree("evcc", doc)
        every_msgs += len(tree)
        every_bytes += sum(len(t) + len(p) for t, p in tree.items())
        changed = {t: p for t, p in tree.items() if previous.get(t) != p}
        changed |= {t: "" for t in previous if t not in tree}
        if changed:
            changed["evcc/updated"] = "1782000000"
        changed_msgs += len(changed)
        changed_bytes += sum(len(t) + len(p) for t, p in changed.items())
        previous = tree
    n = len(docs) - 1
    return every_msgs / n, every_bytes / n, changed_msgs / n, changed_bytes / n


# --- 2. latency over a real broker -----------------------------------------------------------


class PahoTransport:
    """`MqttTransport` over a paho client (its network thread hands messages to the loop)."""

    def __init__(self, port: int) -> None:
        import paho.mqtt.client as paho

        self.loop = asyncio.get_running_loop()
        self.client = paho.Client(paho.CallbackAPIVersion.VERSION2)
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    async def publish(self, topic: str, payload: str, *, retain: bool) -> None:
        info = self.client.publish(topic, payload, qos=1, retain=retain)
        await asyncio.to_thread(info.wait_for_publish, 10)

    async def subscribe(
        self, topic: str, callback: Callable[[str, str, bool], None]
    ) -> Callable[[], None]:
        def received(_client: Any, _userdata: Any, message: Any) -> None:
            payload = message.payload.decode()
            self.loop.call_soon_threadsafe(callback, message.topic, payload, bool(message.retain))

        self.client.message_callback_add(topic, received)
        self.client.subscribe(topic, qos=1)
        return lambda: (self.client.unsubscribe(topic), self.client.message_callback_remove(topic))

    def on_connection(self, callback: Callable[[bool], None]) -> Callable[[], None]:
        return lambda: None

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def latency(mosquitto: str) -> list[float]:
    import paho.mqtt.client as paho

    port = free_port()
    folder = Path(tempfile.mkdtemp())
    (folder / "m.conf").write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\n")
    broker = subprocess.Popen([mosquitto, "-c", str(folder / "m.conf")], stderr=subprocess.DEVNULL)
    await asyncio.sleep(0.5)
    config = LoadpointConfig(title="Garage")
    charger = IdealCharger(config.charger, "garage", status=Status.B)
    received: list[float] = []
    original = charger.async_apply

    async def timed_apply(command: Any) -> None:
        received.append(time.perf_counter())
        await original(command)

    charger.async_apply = timed_apply  # type: ignore[method-assign]
    devices = SiteDevices(
        config=SiteConfig(),
        grid=FixedMeter("grid", MeterReading(power=-5000.0)),
        loadpoints=[LoadpointDevices(config=config, charger=charger)],
    )
    controller = Controller(
        Site(devices.config, [config]), devices, ManualClock(START), build_state
    )
    await controller.async_cycle()
    transport = PahoTransport(port)
    api = MqttApi(controller, transport, "evcc")
    await api.async_start()
    writer = paho.Client(paho.CallbackAPIVersion.VERSION2)
    writer.connect("127.0.0.1", port)
    writer.loop_start()
    samples = []
    try:
        for i in range(LATENCY_WRITES):
            received.clear()
            mode = "now" if i % 2 == 0 else "off"
            sent = time.perf_counter()
            writer.publish("evcc/loadpoints/1/mode/set", mode, qos=1)
            deadline = sent + 5
            while not received and time.perf_counter() < deadline:
                await asyncio.sleep(0.001)
            samples.append(received[0] - sent if received else float("inf"))
    finally:
        writer.loop_stop()
        writer.disconnect()
        await api.async_stop()
        transport.close()
        broker.terminate()
        broker.wait()
    return samples


async def main() -> int:
    print("## evcc MQTT API\n")
    print(f"Messages and bytes per control cycle over {CYCLES} simulated cycles:\n")
    print("| site | every value: msgs | bytes | changed only: msgs | bytes | share of messages |")
    print("|---|---:|---:|---:|---:|---:|")
    for label, docs in (
        ("demo site (2 loadpoints)", await demo_documents(CYCLES)),
        ("4 loadpoints", await four_loadpoint_documents(CYCLES)),
    ):
        em, eb, cm, cb = traffic(docs)
        print(f"| {label} | {em:.0f} | {eb:.0f} | {cm:.1f} | {cb:.0f} | {cm / em:.1%} |")
    mosquitto = shutil.which("mosquitto") or (
        "/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None
    )
    if mosquitto is None:
        print("\nLatency: skipped (no mosquitto binary)")
        return 0
    samples = await latency(mosquitto)
    median, worst = statistics.median(samples), max(samples)
    print(
        f"\nLatency `/set` → charger command over Mosquitto on 127.0.0.1, {len(samples)} writes: "
        f"median {median * 1000:.1f} ms, max {worst * 1000:.1f} ms "
        f"(target {TARGET_LATENCY_S * 1000:.0f} ms, ratio max/target {worst / TARGET_LATENCY_S:.3f})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))

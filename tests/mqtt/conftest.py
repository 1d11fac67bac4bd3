"""A real Mosquitto broker on a free loopback port, Home Assistant's MQTT integration connected
to it, and mosquitto_pub / mosquitto_sub as the outside client (what evcc's users run)."""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_socket
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
MOSQUITTO_PUB = shutil.which("mosquitto_pub") or "/usr/bin/mosquitto_pub"
MOSQUITTO_SUB = shutil.which("mosquitto_sub") or "/usr/bin/mosquitto_sub"


def _socket() -> socket.socket:
    # sockets are blocked by the test plugin; the broker's port is found with the real one
    return pytest_socket._true_socket(socket.AF_INET, socket.SOCK_STREAM)  # type: ignore[no-any-return]


def free_port() -> int:
    with _socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Broker:
    """One Mosquitto process (no persistence: a restart forgets every retained message)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="evcc-mqtt-"))
        (self.folder / "mosquitto.conf").write_text(
            f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
        )
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [MOSQUITTO, "-c", str(self.folder / "mosquitto.conf")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with _socket() as probe:
                    probe.settimeout(0.2)
                    probe.connect(("127.0.0.1", self.port))
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("mosquitto did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)
            self.process = None

    # --- the outside client ------------------------------------------------------------------

    async def publish(self, topic: str, payload: str, *, retain: bool = False) -> None:
        args = [MOSQUITTO_PUB, "-h", "127.0.0.1", "-p", str(self.port), "-q", "1", "-t", topic]
        args += ["-r"] if retain else []
        args += ["-m", payload] if payload else ["-n"]
        process = await asyncio.create_subprocess_exec(*args)
        assert await process.wait() == 0

    async def clear(self) -> None:
        for topic in await self.retained("#", wait_s=0.5):
            await self.publish(topic, "", retain=True)

    async def retained(self, pattern: str = "evcc/#", wait_s: float = 1) -> dict[str, str]:
        """Every retained message under `pattern`, as a new subscriber sees it (mosquitto_sub
        listens `wait_s` whole seconds)."""
        process = await asyncio.create_subprocess_exec(
            MOSQUITTO_SUB,
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-t",
            pattern,
            "-F",
            "%r\t%t\t%p",
            "-W",
            str(max(1, round(wait_s))),
            stdout=asyncio.subprocess.PIPE,
        )
        out, _ = await process.communicate()
        found: dict[str, str] = {}
        for line in out.decode().splitlines():
            retain, topic, payload = line.split("\t", 2)
            if retain == "1":
                found[topic] = payload
        return found


@pytest.fixture(scope="session")
def broker() -> Iterator[Broker]:
    broker = Broker()
    broker.start()
    yield broker
    broker.stop()


@pytest.fixture
async def mqtt_entry(
    socket_enabled: None, hass: HomeAssistant, mock_hass_config: None, broker: Broker
) -> AsyncIterator[MockConfigEntry]:
    """Home Assistant's MQTT integration, connected to the test broker."""
    from homeassistant.components import mqtt

    await broker.clear()  # every test starts with an empty broker
    entry = MockConfigEntry(
        domain="mqtt",
        title="MQTT",
        version=1,
        minor_version=2,
        data={"broker": "127.0.0.1", "port": broker.port, "protocol": "5"},
        options={"birth_message": {}, "will_message": {}, "discovery": False},
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    await until(lambda: mqtt.is_connected(hass))
    yield entry
    if entry.state is ConfigEntryState.LOADED:
        await hass.config_entries.async_unload(entry.entry_id)


async def until(condition: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        await asyncio.sleep(0.05)

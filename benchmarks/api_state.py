"""Requests per second of `GET /api/state` on the evcc port vs. a bare aiohttp handler (prints).

    python benchmarks/api_state.py            # from the repository root

Both servers run in this process on 127.0.0.1 and serve the same JSON bytes: the state document
the controller built in its last cycle for a site with 4 loadpoints, battery, PV, a grid tariff
and a year of sessions. The evcc port adds its route table (about 40 routes with regexes),
middleware, backend lookup and the per-document byte cache; the bare server is one handler
returning prepared bytes. The client is aiohttp with
keep-alive, a few concurrent workers and a bounded number of requests; the best of a few rounds
counts. Target: the evcc port reaches at least 50 % of the bare handler. Also printed: the cost
of `build_state` (once per cycle) and of a `?jq=` request.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
from aiohttp import web  # noqa: E402

from custom_components.evcc_ha.api.routes import StateCache  # noqa: E402
from custom_components.evcc_ha.api.server import EvccApiServer  # noqa: E402
from custom_components.evcc_ha.api.state import build_state  # noqa: E402
from custom_components.evcc_ha.core.clock import ManualClock  # noqa: E402
from custom_components.evcc_ha.core.controller import Controller  # noqa: E402
from custom_components.evcc_ha.core.devices import LoadpointDevices, SiteDevices  # noqa: E402
from custom_components.evcc_ha.core.model import (  # noqa: E402
    ChargerConfig,
    LoadpointConfig,
    MeterReading,
    Mode,
    SiteConfig,
    Status,
    VehicleConfig,
)
from custom_components.evcc_ha.core.session import Session  # noqa: E402
from custom_components.evcc_ha.core.settings import LoadpointSettings  # noqa: E402
from custom_components.evcc_ha.core.site import Site  # noqa: E402
from custom_components.evcc_ha.core.tariff import Rate, RatesTariff  # noqa: E402
from sim import ideal  # noqa: E402

REQUESTS = 2000
CONCURRENCY = 4
ROUNDS = 3
TARGET_RATIO = 0.5
NOW = datetime(2026, 6, 21, 12, 0, tzinfo=UTC)


def build_site() -> Site:
    configs = [
        LoadpointConfig(
            title=f"Loadpoint {i + 1}",
            charger=ChargerConfig(phases_switchable=i == 0),
            vehicle=VehicleConfig(title=f"Car {i + 1}", capacity_kwh=50.0 + 10 * i),
        )
        for i in range(4)
    ]
    settings = [LoadpointSettings(mode=mode) for mode in (Mode.PV, Mode.MINPV, Mode.NOW, Mode.PV)]
    hour = timedelta(hours=1)
    grid = RatesTariff(
        [Rate(NOW + i * hour, NOW + (i + 1) * hour, 0.2 + 0.01 * i) for i in range(36)]
    )
    site = Site(
        SiteConfig(battery_configured=True),
        configs,
        None,
        settings,
        tariffs={"grid": grid},
    )
    for day in range(365):
        start = NOW - timedelta(days=day + 1)
        site.sessions.upsert(
            Session(
                created=start,
                finished=start + hour,
                loadpoint="Loadpoint 1",
                vehicle="Car 1",
                charged_energy=10.0,
                charge_duration=3600.0,
                solar_percentage=50.0,
            )
        )
    return site


async def build_controller() -> Controller:
    """The controller of that site after two cycles with charging cars."""
    site = build_site()
    chargers = [
        ideal.IdealCharger(
            lp.config.charger,
            f"charger {i + 1}",
            status=Status.C,
            enabled=True,
            offered=6.0,
            soc=40.0 + i,
            energy_kwh=1000.0 + i,
        )
        for i, lp in enumerate(site.loadpoints)
    ]
    devices = SiteDevices(
        config=site.config,
        grid=ideal.FixedMeter(
            "grid",
            MeterReading(
                power=-1234.5,
                energy=4321.1,
                powers=(-400, -400, -434.5),
                currents=(-1.7, -1.7, -1.9),
            ),
        ),
        pv=[ideal.FixedMeter("pv", MeterReading(power=9000.0, energy=12345.6))],
        battery=[ideal.FixedMeter("battery", MeterReading(power=-1500.0, soc=55.5, capacity=10.0))],
        loadpoints=[
            LoadpointDevices(config=lp.config, charger=charger)
            for lp, charger in zip(site.loadpoints, chargers, strict=True)
        ],
    )
    clock = ManualClock(NOW)
    controller = Controller(site, devices, clock, build_state)
    await controller.async_cycle()
    clock.advance(30)
    await controller.async_cycle()
    return controller


async def start_bare(body: bytes) -> tuple[web.AppRunner, int]:
    async def handler(request: web.Request) -> web.Response:
        return web.Response(body=body, content_type="application/json")

    app = web.Application()
    app.router.add_get("/api/state", handler)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, runner.addresses[0][1]


async def requests_per_second(url: str, expected: bytes) -> float:
    per_worker = REQUESTS // CONCURRENCY
    connector = aiohttp.TCPConnector(limit=CONCURRENCY)
    async with aiohttp.ClientSession(connector=connector, auto_decompress=False) as session:

        async def worker() -> None:
            for _ in range(per_worker):
                async with session.get(url) as response:
                    body = await response.read()
                    if response.status != 200 or body != expected:
                        raise RuntimeError(f"unexpected answer from {url}: {response.status}")

        await worker()  # warm up one connection
        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
        elapsed = time.perf_counter() - started
    return per_worker * CONCURRENCY / elapsed


def timed(function: Callable[[], object], repeat: int = 200) -> float:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


async def main() -> float:
    controller = await build_controller()
    site = controller.site
    doc = controller.state()
    body = StateCache().body(doc)
    build_s = timed(lambda: build_state(site, NOW + timedelta(seconds=30)))
    encode_s = timed(lambda: StateCache().body(doc))

    server = EvccApiServer(controller, host="127.0.0.1", port=0)
    await server.start()
    bare_runner, bare_port = await start_bare(body)
    try:
        evcc_url = f"http://127.0.0.1:{server.port}/api/state"
        bare_url = f"http://127.0.0.1:{bare_port}/api/state"
        evcc_rates, bare_rates = [], []
        for _ in range(ROUNDS):  # interleaved, so both see the same machine load
            bare_rates.append(await requests_per_second(bare_url, body))
            evcc_rates.append(await requests_per_second(evcc_url, body))
        jq_url = (
            evcc_url + "?jq=%7Btitle%3A.siteTitle%2Cpower%3A%5B.loadpoints%5B%5D.chargePower%5D%7D"
        )
        async with aiohttp.ClientSession() as session:
            started = time.perf_counter()
            for _ in range(200):
                async with session.get(jq_url) as response:
                    await response.read()
            jq_s = (time.perf_counter() - started) / 200
    finally:
        await server.stop()
        await bare_runner.cleanup()

    evcc, bare = max(evcc_rates), max(bare_rates)
    ratio = evcc / bare
    print(
        f"state document: {len(body)} bytes, 4 loadpoints, {len(site.sessions.sessions)} sessions"
    )
    print(f"build_state:    {build_s * 1e3:.3f} ms (once per cycle)")
    print(f"json encode:    {encode_s * 1e3:.3f} ms (once per document, then cached)")
    print(f"requests:       {REQUESTS} per round, {CONCURRENCY} concurrent, best of {ROUNDS}")
    print(f"bare aiohttp:   {bare:8.0f} req/s")
    print(f"evcc port:      {evcc:8.0f} req/s")
    print(f"ratio:          {ratio:8.1%} (target >= {TARGET_RATIO:.0%})")
    print(f"?jq= request:   {jq_s * 1e3:.3f} ms")
    return ratio


if __name__ == "__main__":
    asyncio.run(main())

"""A picture of a run: power flows above, vehicle and battery SoC below, one time axis."""

from __future__ import annotations

from pathlib import Path

from .trace import SimulationResult


def plot(result: SimulationResult, path: str | Path) -> None:
    """Power flows and SoC over the span: two stacked panels with a shared time axis."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    scenario = result.scenario
    trace = result.trace
    tz = scenario.start.tzinfo
    times = [row.time for row in trace]
    kw = 1 / 1000.0
    fig, (power_ax, soc_ax) = plt.subplots(
        2,
        1,
        sharex=True,
        figsize=(13, 8),
        gridspec_kw={"height_ratios": [3, 1.4]},
        constrained_layout=True,
    )
    power_ax.fill_between(
        times, [r.pv_w * kw for r in trace], color="#f5c542", alpha=0.35, step="post", lw=0
    )
    power_ax.step(
        times, [r.pv_w * kw for r in trace], where="post", color="#d9a400", lw=1.0, label="PV"
    )
    power_ax.step(
        times, [r.home_w * kw for r in trace], where="post", color="#7f7f7f", lw=0.8, label="Home"
    )
    colors = ["#1f77b4", "#2ca02c", "#9467bd", "#17becf"]
    for i, lp in enumerate(scenario.loadpoints):
        power_ax.step(
            times,
            [r.loadpoints[i].power_w * kw for r in trace],
            where="post",
            color=colors[i % len(colors)],
            lw=1.4,
            label=f"EV {lp.title}",
        )
    if scenario.battery is not None:
        power_ax.step(
            times,
            [r.battery_w * kw for r in trace],
            where="post",
            color="#8c564b",
            lw=0.8,
            label="Battery (+ charging)",
        )
    power_ax.step(
        times,
        [r.grid_w * kw for r in trace],
        where="post",
        color="#d62728",
        lw=0.8,
        label="Grid (+ import)",
    )
    if scenario.grid_rates:
        # the grid price on its own axis: where a plan or a smart cost limit charges
        price_ax = power_ax.twinx()
        rates = scenario.grid_rates
        price_ax.step(
            [r.start.astimezone(tz) for r in rates] + [rates[-1].end.astimezone(tz)],
            [r.price for r in rates] + [rates[-1].price],
            where="post",
            color="#ff7f0e",
            lw=1.0,
            ls="--",
            label="Grid price",
        )
        price_ax.set_ylabel("Grid price per kWh", color="#ff7f0e")
        price_ax.legend(loc="upper right", fontsize=8)
    power_ax.axhline(0, color="black", lw=0.5)
    power_ax.set_ylabel("Power (kW)")
    power_ax.grid(True, alpha=0.3)
    power_ax.legend(loc="upper left", ncol=3, fontsize=8)

    m = result.metrics
    share = f"{100 * m['solar_share']:.0f} %"
    power_ax.set_title(
        f"{scenario.name} ({result.controller}): EV {m['ev_energy_kwh']:.1f} kWh, solar {share}, "
        f"grid import {m['grid_import_kwh']:.1f} kWh, switches {m['charger_switches']}, "
        f"phase switches {m['phase_switches']}, cost {m['cost']:.2f}",
        fontsize=10,
    )

    for i, lp in enumerate(scenario.loadpoints):
        if lp.vehicle is None or not lp.vehicle.has_soc:
            continue
        socs = [r.loadpoints[i].soc if r.loadpoints[i].connected else None for r in trace]
        soc_ax.plot(
            times,
            [float("nan") if s is None else s for s in socs],
            color=colors[i % len(colors)],
            lw=1.4,
            label=f"{lp.vehicle.title} SoC",
        )
        limit = lp.settings.limit_soc
        if 0 < limit < 100:
            soc_ax.axhline(limit, color=colors[i % len(colors)], lw=0.6, ls=":")
    if scenario.battery is not None:
        soc_ax.plot(
            times,
            [r.battery_soc if r.battery_soc is not None else float("nan") for r in trace],
            color="#8c564b",
            lw=1.0,
            label="Battery SoC",
        )
    soc_ax.set_ylim(0, 100)
    soc_ax.set_ylabel("SoC (%)")
    soc_ax.grid(True, alpha=0.3)
    if soc_ax.get_legend_handles_labels()[0]:
        soc_ax.legend(loc="upper left", fontsize=8)
    # shade the time the vehicles are plugged in
    for i, lp in enumerate(scenario.loadpoints):
        if lp.vehicle is None:
            continue
        connected = [r.loadpoints[i].connected for r in trace]
        soc_ax.fill_between(
            times, 0, 100, where=connected, step="post", color=colors[i % len(colors)], alpha=0.06
        )

    locator = mdates.AutoDateLocator(tz=tz, minticks=6, maxticks=14)
    soc_ax.xaxis.set_major_locator(locator)
    soc_ax.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M", tz=tz))
    offset = scenario.start.strftime("%Y-%m-%d (UTC%z)")
    soc_ax.set_xlabel(f"Time, {offset}")
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_profiles(results: list[SimulationResult], path: str | Path) -> None:
    """The same day under several controllers, one panel each: PV surplus, the car's power and
    its phases, so the switching can be compared at a glance."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(
        len(results), 1, sharex=True, figsize=(13, 3.2 * len(results)), constrained_layout=True
    )
    for ax, result in zip(axes, results, strict=True):
        trace = result.trace
        tz = result.scenario.start.tzinfo
        times = [row.time for row in trace]
        surplus = [max(0.0, row.pv_w - row.home_w) / 1000.0 for row in trace]
        ax.fill_between(times, surplus, color="#f5c542", alpha=0.4, step="post", lw=0)
        ax.step(times, surplus, where="post", color="#d9a400", lw=0.8, label="PV surplus")
        ax.step(
            times,
            [row.loadpoints[0].power_w / 1000.0 for row in trace],
            where="post",
            color="#1f77b4",
            lw=1.3,
            label="EV",
        )
        phases_ax = ax.twinx()
        phases_ax.step(
            times,
            [row.loadpoints[0].phases if row.loadpoints[0].enabled else 0 for row in trace],
            where="post",
            color="#9467bd",
            lw=0.8,
            label="phases (0 = off)",
        )
        phases_ax.set_ylim(-0.2, 3.5)
        phases_ax.set_yticks([0, 1, 3])
        phases_ax.set_ylabel("phases")
        m = result.metrics
        switching = (
            m["charger_cycles"][0] + m["phase_switches_load"][0] + m["phase_switches_idle"][0]
        )
        ax.set_title(
            f"{result.scenario.name}, {result.controller}: EV solar {m['ev_solar_kwh']:.1f} kWh, "
            f"on/off cycles {m['charger_cycles'][0]}, phase switches "
            f"{m['phase_switches_load'][0] + m['phase_switches_idle'][0]} (total {switching})",
            fontsize=10,
        )
        ax.set_ylabel("kW")
        ax.grid(True, alpha=0.3)
        ax.legend(loc="upper left", fontsize=8)
        phases_ax.legend(loc="upper right", fontsize=8)
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M", tz=tz))
    fig.savefig(path, dpi=100)
    plt.close(fig)

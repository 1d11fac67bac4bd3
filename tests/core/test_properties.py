"""Property tests: invariants that hold for any sequence of readings and settings."""

from __future__ import annotations

from hypothesis import given, settings, strategies as st

from custom_components.evcc_ha.core.model import ChargerConfig, Mode, SettingError

from .harness import Driver, charging_at, with_vehicle

step = st.fixed_dictionaries(
    {
        "grid": st.floats(-20000, 20000, allow_nan=False),
        "status": st.sampled_from(["A", "B", "C", "C", "C"]),
        "soc": st.one_of(st.none(), st.floats(0, 100)),
        "after": st.floats(1, 400),
        "setting": st.one_of(
            st.none(),
            st.tuples(st.just("mode"), st.sampled_from(["off", "now", "minpv", "pv"])),
            st.tuples(st.just("limitSoc"), st.integers(0, 100)),
            st.tuples(st.just("minSoc"), st.integers(0, 100)),
            st.tuples(st.just("minCurrent"), st.floats(1, 32)),
            st.tuples(st.just("maxCurrent"), st.floats(1, 40)),
            st.tuples(st.just("phases"), st.sampled_from([0, 1, 3])),
            st.tuples(st.just("enableThreshold"), st.floats(-5000, 5000)),
            st.tuples(st.just("disableThreshold"), st.floats(-5000, 5000)),
            st.tuples(st.just("controlProfile"), st.sampled_from(["evcc", "smooth"])),
            st.tuples(st.just("batteryBoost"), st.booleans()),
            st.tuples(
                st.just("planStrategy"),
                st.fixed_dictionaries(
                    {"continuous": st.booleans(), "precondition": st.integers(0, 7200)}
                ),
            ),
        ),
    }
)


@settings(max_examples=150, deadline=None)
@given(
    steps=st.lists(step, min_size=1, max_size=40),
    switchable=st.booleans(),
    hardware_max=st.sampled_from([16.0, 20.0, 32.0]),
    mode=st.sampled_from(list(Mode)),
)
def test_invariants_hold_for_any_sequence(
    steps: list[dict[str, object]], switchable: bool, hardware_max: float, mode: Mode
) -> None:
    charger = ChargerConfig(phases_switchable=switchable, max_current=hardware_max)
    d = Driver(mode=mode, charger=charger, vehicle=with_vehicle(capacity_kwh=60.0))
    for s in steps:
        setting = s["setting"]
        if setting is not None:
            key, value = setting  # type: ignore[misc]
            try:
                d.set(key, value)
            except SettingError:
                pass
        status = str(s["status"])
        current = d.offered if d.enabled else 0.0
        d.cycle(
            grid=float(s["grid"]),  # type: ignore[arg-type]
            status=status,
            soc=s["soc"],  # type: ignore[arg-type]
            after=float(s["after"]),  # type: ignore[arg-type]
            currents=charging_at(current, d.phases) if status == "C" else None,
        )
        lp, st_ = d.lp, d.lp.settings
        for command in d.commands:
            if command is not None and command.current is not None:
                assert command.current <= hardware_max
                assert command.current <= st_.max_current or command.current <= hardware_max
        command = d.commands[-1]
        if command is not None and command.current is not None:
            assert command.current <= min(st_.max_current, hardware_max)
            assert command.current >= st_.min_current
        # `enabled` is what the charger does: while it does not follow (a charging car with a
        # "disabled" charger), it says so and the command goes out again
        in_sync = lp.unconfirmed_enable is None
        if lp.enabled and in_sync:
            assert st_.min_current <= lp.offered_current <= min(st_.max_current, hardware_max)
        if st_.mode == Mode.OFF or status == "A":
            assert command is None or command.enable is not True
            assert not lp.enabled or not in_sync
        if lp.limit_soc_reached() and not lp.plan_active and not lp._min_soc_not_reached():
            assert not lp.enabled or not in_sync
        assert d.phases in (1, 3)


@settings(max_examples=100, deadline=None)
@given(
    delay=st.floats(0, 900),
    interval=st.floats(1, 120),
    enable=st.booleans(),
)
def test_pv_timers_never_fire_early(delay: float, interval: float, enable: bool) -> None:
    if enable:
        d = Driver(enable_delay=delay)
        d.cycle(grid=0, status="B")  # timer idle
        grid, status = -9000.0, "B"
    else:
        d = Driver(disable_delay=delay)
        d.cycle(grid=0, status="C", currents=charging_at(6), enabled=True, offered=6)
        grid, status = 3000.0, "C"
    started = None
    for _ in range(int(delay / interval) + 3):
        before = d.enabled
        d.cycle(
            grid=grid, status=status, after=interval, currents=charging_at(6) if d.enabled else None
        )
        if started is None:
            started = d.now
        if d.enabled != before:
            assert (d.now - started).total_seconds() >= delay
            break
    else:
        raise AssertionError("timer never fired")

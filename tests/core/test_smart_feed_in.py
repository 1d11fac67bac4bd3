"""evcc's smart feed-in priority: while the feed-in price is at least the limit, pv pauses and
minpv charges at its minimum (one phase where the charger switches)."""

from __future__ import annotations

import pytest

from custom_components.evcc_ha.api.state import build_state
from custom_components.evcc_ha.core.model import ChargerConfig, Mode, SettingError
from custom_components.evcc_ha.core.settings import LoadpointKey
from custom_components.evcc_ha.core.tariff import FixedTariff, parse_zones

from .harness import Driver, charging_at

# T0 is 10:00 UTC: the feed-in pays 0.30 from 12 to 14, else 0.08
FEEDIN = FixedTariff(0.08, parse_zones("12-14 0.30"))


def driver(mode: Mode) -> Driver:
    d = Driver(mode=mode, charger=ChargerConfig(phases_switchable=True), enable_delay=0.0)
    d.site.tariffs["feedin"] = FEEDIN
    return d


def test_pv_pauses_while_feeding_in_pays_and_goes_on_after() -> None:
    d = driver(Mode.PV)
    d.cycle(grid=-7_000.0, status="B")
    d.cycle(grid=-7_000.0, currents=charging_at(6))
    assert d.enabled  # a big surplus: pv charges
    d.set(LoadpointKey.SMART_FEED_IN_PRIORITY_LIMIT, "0.25")
    doc = build_state(d.site, d.now)["loadpoints"][0]
    assert doc["smartFeedInPriorityActive"] is False
    assert doc["smartFeedInPriorityNextStart"] == "2026-06-21T12:00:00Z"
    d.set(LoadpointKey.SMART_FEED_IN_PRIORITY_LIMIT, "0.05")  # now 0.08 ≥ 0.05
    assert not d.enabled and d.lp.smart_feed_in_active
    d.cycle(grid=-7_000.0, status="B")
    assert not d.enabled  # stays paused whatever the surplus
    d.set(LoadpointKey.SMART_FEED_IN_PRIORITY_LIMIT, None)
    d.cycle(grid=-7_000.0, status="B")
    assert d.enabled and not d.lp.smart_feed_in_active  # at once: the pv timer has elapsed


def test_minpv_charges_at_its_minimum_on_one_phase() -> None:
    d = driver(Mode.MINPV)
    d.cycle(grid=-9_000.0, status="B")
    d.cycle(grid=-9_000.0, currents=charging_at(13))
    assert d.enabled and d.phases == 3 and d.offered > 6
    d.set(LoadpointKey.SMART_FEED_IN_PRIORITY_LIMIT, 0.08)
    d.cycle(grid=-9_000.0, currents=charging_at(6))
    assert (d.enabled, d.offered, d.phases) == (True, 6.0, 1)


def test_the_limit_is_checked_like_a_price() -> None:
    d = driver(Mode.PV)
    for bad in ("nan", "abc", 1e9):
        with pytest.raises(SettingError, match="smartFeedInPriorityLimit"):
            d.set(LoadpointKey.SMART_FEED_IN_PRIORITY_LIMIT, bad)
    assert d.lp.settings.smart_feed_in_priority_limit is None

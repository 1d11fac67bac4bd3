"""evcc's CO₂ tariff: grid CO₂ weighted with the green share, per session and in the state."""

from __future__ import annotations

from datetime import timedelta

import pytest

from custom_components.evcc_ha.api.state import build_state
from custom_components.evcc_ha.core.model import (
    ChargerReading,
    LoadpointConfig,
    LoadpointReadings,
    MeterReading,
    Mode,
    SiteConfig,
    SiteReadings,
    Status,
)
from custom_components.evcc_ha.core.settings import LoadpointSettings
from custom_components.evcc_ha.core.site import Site
from custom_components.evcc_ha.core.tariff import FixedTariff

from .harness import T0


def test_session_co2_follows_the_green_share_of_each_interval() -> None:
    site = Site(
        SiteConfig(),
        [LoadpointConfig()],
        None,
        [LoadpointSettings(mode=Mode.NOW)],
        tariffs={"co2": FixedTariff(400.0)},
    )
    lp = site.loadpoints[0]

    def cycle(minute: int, status: Status, pv: float) -> None:
        charging = status is Status.C
        power = 11_000.0 if charging else 0.0
        charger = ChargerReading(status=status, enabled=charging, power=power)
        site.update(
            T0 + timedelta(minutes=minute),
            SiteReadings(
                grid=MeterReading(power - pv),
                pv=(MeterReading(pv),),
                loadpoints=(LoadpointReadings(charger),),
            ),
        )

    cycle(0, Status.B, 0.0)
    cycle(1, Status.C, 5_500.0)  # half of the charge power from PV from now on
    doc = build_state(site, T0)
    assert (doc["tariffCo2"], doc["tariffCo2Home"], doc["tariffCo2Loadpoints"]) == (
        400,
        0,
        200,
    )  # the house runs on PV
    cycle(2, Status.C, 5_500.0)
    cycle(3, Status.C, 11_000.0)  # the last interval was charged at half green
    assert lp.session_co2_per_kwh == pytest.approx(200.0)
    cycle(4, Status.C, 11_000.0)  # three equal intervals: half, half and all green
    assert lp.session_co2_per_kwh == pytest.approx((200.0 + 200.0 + 0.0) / 3)
    assert build_state(site, T0)["loadpoints"][0]["sessionCo2PerKWh"] == 133.333
    cycle(5, Status.B, 0.0)  # the stop counts a fourth, green interval
    (session,) = site.sessions.sessions
    assert session.co2_per_kwh == pytest.approx(100.0)


def test_no_co2_tariff_no_co2_keys() -> None:
    site = Site(SiteConfig(), [LoadpointConfig()])
    doc = build_state(site, T0)
    assert not {"tariffCo2", "tariffCo2Home", "tariffCo2Loadpoints"} & set(doc)
    assert doc["loadpoints"][0]["sessionCo2PerKWh"] is None

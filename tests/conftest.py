"""Shared fixtures for the Home Assistant side of evcc_ha."""

from __future__ import annotations

# Import our package first: pytest-homeassistant-custom-component ships its own
# ``custom_components`` package, and whichever is imported first wins.
import custom_components.evcc_ha  # noqa: F401  # isort: skip

from collections.abc import Generator
from unittest.mock import AsyncMock, patch

import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.evcc_ha.const import CONF_SITE_TITLE, DOMAIN


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(request: pytest.FixtureRequest) -> None:
    """Let Home Assistant load integrations from custom_components in every hass test.

    Only tests that use ``hass`` get it: requesting ``enable_custom_integrations`` would
    start a Home Assistant instance for the pure tests under tests/core as well (and
    trip hypothesis' check against function-scoped fixtures).
    """
    if "hass" in request.fixturenames:
        request.getfixturevalue("enable_custom_integrations")


@pytest.fixture
def mock_config_entry() -> MockConfigEntry:
    """A site entry as the config flow creates it."""
    return MockConfigEntry(
        domain=DOMAIN,
        title="Home",
        data={CONF_SITE_TITLE: "Home"},
        unique_id="home",
        version=1,
        minor_version=2,
    )


@pytest.fixture
def mock_setup_entry() -> Generator[AsyncMock]:
    """Keep config flow tests from setting the entry up."""
    with patch("custom_components.evcc_ha.async_setup_entry", return_value=True) as setup_entry:
        yield setup_entry

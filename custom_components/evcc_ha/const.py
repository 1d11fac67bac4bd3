"""Constants shared by the Home Assistant side of evcc_ha."""

from __future__ import annotations

import logging
from typing import Final

DOMAIN: Final = "evcc_ha"
LOGGER: Final = logging.getLogger(__package__)

# Config entry data keys.
CONF_SITE_TITLE: Final = "site_title"

# Defaults offered by the config flow.
DEFAULT_SITE_TITLE: Final = "Home"

# Longest site title the config flow accepts.
MAX_SITE_TITLE_LENGTH: Final = 64

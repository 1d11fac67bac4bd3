"""The connection test of the config flow: is there a device of this kind at this address?

`async_probe` never raises for a device problem; it returns a `ProbeResult` whose `error` is a
`ProbeError` code (a translation key for the flow) or None, plus a short dict of what was found
(SunSpec models, manufacturer, 0.1 A firmware, watchdog …) to show the user. Nothing is written
to the device. Steps:

1. the config (`invalid_config`);
2. a plain TCP connect: refused or unreachable → `cannot_connect`, no answer → `timeout`;
3. the device kind's read-only probe through a private hub: no answer from the unit, or a
   gateway's "target device failed to respond" → `wrong_unit_id`; no "SunS" marker →
   `not_sunspec`; exception codes or values that do not decode to anything plausible →
   `register_mismatch`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final

from ...core.model import DeviceError
from .client import ModbusHub
from .errors import (
    ModbusConfigError,
    ModbusConnectError,
    ModbusExceptionResponseError,
    ModbusNoResponseError,
    NotSunSpecError,
)
from .kinds import connection_config, kind_of

__all__ = ["DEFAULT_PROBE_TIMEOUT_S", "ProbeError", "ProbeResult", "async_probe"]

_LOGGER = logging.getLogger(__name__)

DEFAULT_PROBE_TIMEOUT_S: Final = 3.0


class ProbeError(StrEnum):
    """Why a connection test failed (the config flow's error keys)."""

    INVALID_CONFIG = "invalid_config"
    CANNOT_CONNECT = "cannot_connect"
    TIMEOUT = "timeout"
    WRONG_UNIT_ID = "wrong_unit_id"
    NOT_SUNSPEC = "not_sunspec"
    REGISTER_MISMATCH = "register_mismatch"


@dataclass(frozen=True, slots=True)
class ProbeResult:
    """The outcome of a connection test: an error code (None = found) and what was found."""

    error: ProbeError | None
    message: str
    found: dict[str, object] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.error is None


async def async_probe(
    kind: str, config: Mapping[str, Any], *, timeout: float = DEFAULT_PROBE_TIMEOUT_S
) -> ProbeResult:
    """Test whether a device of `kind` answers at the address in `config` (see module doc)."""
    try:
        device_kind = kind_of(kind)
        connection = connection_config(config, device_kind)
    except ModbusConfigError as err:
        return ProbeResult(ProbeError.INVALID_CONFIG, str(err))
    address = f"{connection.host}:{connection.port}"

    try:
        async with asyncio.timeout(timeout):
            _reader, writer = await asyncio.open_connection(connection.host, connection.port)
    except TimeoutError:
        return ProbeResult(ProbeError.TIMEOUT, f"{address} did not answer within {timeout:g} s")
    except OSError as err:
        return ProbeResult(ProbeError.CANNOT_CONNECT, f"{address}: {err.strerror or err}")
    writer.close()
    try:
        await writer.wait_closed()
    except OSError:
        pass

    hub = ModbusHub(timeout=timeout, backoff_initial=0.0, backoff_max=0.0)
    try:
        device = device_kind.build(config, hub)
        found = await device.async_probe()
    except ModbusConfigError as err:
        return ProbeResult(ProbeError.INVALID_CONFIG, str(err))
    except NotSunSpecError as err:
        return ProbeResult(ProbeError.NOT_SUNSPEC, str(err))
    except ModbusExceptionResponseError as err:
        code = ProbeError.WRONG_UNIT_ID if err.from_gateway else ProbeError.REGISTER_MISMATCH
        return ProbeResult(code, str(err))
    except ModbusNoResponseError as err:
        return ProbeResult(ProbeError.WRONG_UNIT_ID, str(err))
    except ModbusConnectError as err:
        return ProbeResult(ProbeError.CANNOT_CONNECT, str(err))
    except DeviceError as err:  # answered, but nothing plausible
        return ProbeResult(ProbeError.REGISTER_MISMATCH, str(err))
    finally:
        await hub.async_close()
    _LOGGER.debug("Probe of %s at %s found %s", kind, address, found)
    return ProbeResult(
        None,
        f"{device_kind.title} found",
        {"framing": str(connection.framing), "unit_id": connection.unit_id, **found},
    )

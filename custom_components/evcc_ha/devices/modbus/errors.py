"""Errors of the Modbus devices: every failing exchange is a `DeviceError` with a clear message.

The controller only needs `DeviceError` ("unavailable this cycle"); the subclasses let the
connection test (`probe.async_probe`) tell the user *why* a device does not answer.
"""

from __future__ import annotations

from typing import Final

from ...core.model import DeviceError

__all__ = [
    "EXCEPTION_CODE_NAMES",
    "GATEWAY_EXCEPTION_CODES",
    "ModbusClosedError",
    "ModbusConfigError",
    "ModbusConnectError",
    "ModbusError",
    "ModbusExceptionResponseError",
    "ModbusNoResponseError",
    "NotSunSpecError",
    "RegisterMapError",
]

# Modbus exception codes (Modbus Application Protocol v1.1b3, section 7).
EXCEPTION_CODE_NAMES: Final = {
    1: "illegal function",
    2: "illegal data address",
    3: "illegal data value",
    4: "server device failure",
    5: "acknowledge",
    6: "server device busy",
    8: "memory parity error",
    10: "gateway path unavailable",
    11: "gateway target device failed to respond",
}
# A gateway answers these when the addressed unit id does not exist or stays silent.
GATEWAY_EXCEPTION_CODES: Final = frozenset({10, 11})


class ModbusError(DeviceError):
    """A Modbus exchange failed."""


class ModbusConnectError(ModbusError):
    """No TCP connection to the device or gateway (refused, unreachable, or backing off)."""


class ModbusNoResponseError(ModbusError):
    """Connected, but the addressed unit gave no (valid) answer in time."""


class ModbusClosedError(ModbusError):
    """The connection was closed by its hub (the site stopped)."""


class ModbusExceptionResponseError(ModbusError):
    """The device (or its gateway) answered with a Modbus exception code."""

    def __init__(self, code: int | None, what: str) -> None:
        self.code = code
        name = EXCEPTION_CODE_NAMES.get(code or 0, "unknown exception")
        super().__init__(f"{what}: Modbus exception {code} ({name})")

    @property
    def from_gateway(self) -> bool:
        """True when the gateway reports that the unit id did not answer."""
        return self.code in GATEWAY_EXCEPTION_CODES


class RegisterMapError(ModbusError):
    """The registers answered but do not decode to plausible values for this device kind."""


class NotSunSpecError(RegisterMapError):
    """No "SunS" marker at any SunSpec base address."""


class ModbusConfigError(ValueError):
    """A device configuration (host, unit id, register, data type …) is missing or invalid."""

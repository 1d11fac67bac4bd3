"""Modbus device drivers: SunSpec, Eastron SDM630 and register meters; Phoenix/Wallbe, Alfen and
Heidelberg chargers; the shared connection hub (`client.ModbusHub`), the builders and kinds table
(`kinds`) and the config flow's connection test (`probe.async_probe`)."""

from __future__ import annotations

from .client import Framing, ModbusHub
from .kinds import CHARGER_KINDS, METER_KINDS
from .probe import ProbeError, ProbeResult, async_probe

__all__ = [
    "CHARGER_KINDS",
    "METER_KINDS",
    "Framing",
    "ModbusHub",
    "ProbeError",
    "ProbeResult",
    "async_probe",
]

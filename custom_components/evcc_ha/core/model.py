"""Data that flows into and out of one control cycle: configuration, readings, commands, events."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

VOLTAGE = 230.0  # evcc's nominal phase voltage
CIRCUIT_METER_TIMEOUT_S = 60.0  # evcc's circuit timeout


class SettingError(ValueError):
    """A setting value that does not parse or is out of range; nothing was changed."""


class DeviceError(Exception):
    """A device reading that cannot be used this cycle (garbage, error status)."""


class CommandError(Exception):
    """A charger did not accept a command (refused, failed or timed out)."""


class ControlProfile(StrEnum):
    """How pv/minpv follow the surplus: evcc's rules, or smoother switching (beyond evcc)."""

    EVCC = "evcc"
    SMOOTH = "smooth"


@dataclass(frozen=True, slots=True)
class PlanStrategy:
    """evcc's plan strategy: one contiguous block (`continuous`) and the last `precondition`
    seconds before the target always charged (e.g. to warm the battery before departure)."""

    continuous: bool = False
    precondition: int = 0  # s

    def as_json(self) -> dict[str, bool | int]:
        return {"continuous": self.continuous, "precondition": self.precondition}


@dataclass(frozen=True, slots=True)
class RepeatingPlan:
    """evcc's weekly plan of a vehicle: reach `soc` % by `time` (HH:MM in the time zone `tz`) on
    the `weekdays` (0 = Sunday … 6 = Saturday), while `active`."""

    weekdays: tuple[int, ...]
    time: str
    tz: str
    soc: int
    active: bool = True

    def as_json(self) -> dict[str, object]:
        return {
            "weekdays": list(self.weekdays),
            "time": self.time,
            "tz": self.tz,
            "soc": self.soc,
            "active": self.active,
        }


class BatteryMode(StrEnum):
    """evcc's battery modes: normal operation, no discharging, charging from the grid."""

    UNKNOWN = "unknown"
    NORMAL = "normal"
    HOLD = "hold"
    CHARGE = "charge"


class Mode(StrEnum):
    """Charge modes (evcc's names)."""

    OFF = "off"
    NOW = "now"
    MINPV = "minpv"
    PV = "pv"


class Status(StrEnum):
    """IEC 61851 charger status, as evcc reduces it."""

    A = "A"  # no vehicle
    B = "B"  # vehicle connected, not charging
    C = "C"  # charging


def parse_status(raw: str) -> Status:
    """Map a charger status string to A/B/C as evcc does (D→C, C1/D1→B, E/F and garbage → error)."""
    text = raw.strip().upper() if isinstance(raw, str) else ""
    if text in ("C1", "D1"):
        return Status.B
    letter = text[:1]
    if letter == "D":
        return Status.C
    if letter in ("A", "B", "C") and (len(text) == 1 or text[1:].isdigit()):
        return Status(letter)
    if letter in ("E", "F"):
        raise DeviceError(f"charger reports error status {raw!r}")
    raise DeviceError(f"invalid charger status {raw!r}")


class PvAction(StrEnum):
    ENABLE = "enable"
    DISABLE = "disable"
    INACTIVE = "inactive"


class PhaseAction(StrEnum):
    SCALE1P = "scale1p"
    SCALE3P = "scale3p"
    INACTIVE = "inactive"


Triple = tuple[float, float, float]


@dataclass(frozen=True, slots=True)
class ChargerConfig:
    """What the charger can do. `max_current` is the hardware limit: never commanded above it."""

    phases: int = 3  # phases physically connected (1 or 3)
    phases_switchable: bool = False  # supports 1p/3p switching
    max_current: float = 32.0
    current_step: float = 1.0  # 1 A for most chargers; 0.1 or 0.001 for chargers taking fractions


@dataclass(frozen=True, slots=True)
class VehicleConfig:
    title: str = "Vehicle"
    name: str = ""  # the API name (`/api/vehicles/<name>`); "" = made from the title
    capacity_kwh: float = 50.0
    phases: int = 3  # phases the on-board charger uses
    max_current: float | None = None
    has_soc: bool = True  # False = "offline" vehicle: energy limits instead of SoC
    # what the car's own integration tells besides the SoC (see `VehicleValues`)
    reports: frozenset[str] = frozenset()
    # evcc's welcomecharge feature: the car gives up unless it is offered current right after
    # it is plugged in, so a loadpoint offers the minimum in the cycle it connects
    welcome_charge: bool = False


@dataclass(frozen=True, slots=True)
class CircuitConfig:
    """One circuit. `name` is the API name (`circuits.<name>`), `parent` another circuit's name."""

    name: str
    title: str = ""
    parent: str | None = None
    max_current: float = 0.0  # A per phase, 0 = not limited
    max_power: float = 0.0  # W, 0 = not limited
    metered: bool = False  # its load comes from its own meter (`CircuitReading.meter`)
    limited: bool = False  # an external limit may replace `max_power` (`CircuitReading.limit`)
    timeout_s: float = CIRCUIT_METER_TIMEOUT_S


@dataclass(frozen=True, slots=True)
class CircuitReading:
    """What a circuit's own devices told this cycle; None = not configured or unreadable."""

    meter: MeterReading | None = None
    limit: float | None = None  # W, the external maximum power now


@dataclass(frozen=True, slots=True)
class LoadpointConfig:
    title: str = "Loadpoint"
    charger: ChargerConfig = field(default_factory=ChargerConfig)
    vehicle: VehicleConfig | None = None
    # the profile a new loadpoint starts with (later a setting like any other)
    control_profile: ControlProfile = ControlProfile.EVCC
    circuit: str | None = None  # the name of the circuit (load management) it is behind


@dataclass(frozen=True, slots=True)
class SiteConfig:
    title: str = "Home"
    voltage: float = VOLTAGE
    grid_configured: bool = True
    pv_configured: bool = True
    battery_configured: bool = False
    # the home battery's mode can be set (an entity of the inverter's integration): normal and
    # hold, and with `battery_chargeable` also charging from the grid
    battery_controllable: bool = False
    battery_chargeable: bool = False
    # vehicles that no loadpoint has as its own (they charge wherever they are detected or
    # assigned); a loadpoint's `vehicle` is part of the site's vehicles too
    vehicles: tuple[VehicleConfig, ...] = ()
    # load management (evcc's circuits), see `core.circuit`
    circuits: tuple[CircuitConfig, ...] = ()


@dataclass(frozen=True, slots=True)
class MeterReading:
    """One meter's values this cycle. Power in W (grid: + import; battery: + discharge)."""

    power: float
    energy: float | None = None  # kWh, import total (pv: production total)
    soc: float | None = None  # % (battery)
    capacity: float | None = None  # kWh (battery)
    currents: Triple | None = None  # A, signed like the phase power
    powers: Triple | None = None  # W
    voltages: Triple | None = None  # V per phase (line to neutral)


@dataclass(frozen=True, slots=True)
class ChargerReading:
    """One charger's state this cycle, as its device adapter read it."""

    status: Status
    enabled: bool
    power: float | None = None  # W, the charger's own meter
    energy: float | None = None  # kWh, the charger's meter total
    currents: Triple | None = None  # A per phase
    voltages: Triple | None = None  # V per phase, from the charger's own meter
    offered_current: float | None = None  # A, what the charger says it offers
    phases: int | None = None  # 1 or 3, currently switched (1p3p chargers)
    soc: float | None = None  # % vehicle SoC when the charger or a vehicle source knows it


@dataclass(frozen=True, slots=True)
class LoadpointReadings:
    """Everything read for one loadpoint. `charger` None = charger unavailable this cycle."""

    charger: ChargerReading | None
    meter: MeterReading | None = None  # optional separate charge meter
    vehicle_soc: float | None = None  # SoC from a vehicle source (wins over the charger's)
    vehicle: VehicleValues | None = None  # range, odometer, … from the car's integration


VEHICLE_VALUES: tuple[str, ...] = ("range", "odometer", "limit_soc", "climater", "connected")


@dataclass(frozen=True, slots=True)
class VehicleValues:
    """What a car's integration tells besides the SoC; None = not known now."""

    range_km: float | None = None
    odometer_km: float | None = None
    limit_soc: float | None = None  # the car's own charge limit (%)
    climater_active: bool | None = None
    connected: bool | None = None  # the car says it is plugged in (vehicle detection)


@dataclass(frozen=True, slots=True)
class VehicleReading:
    """What one vehicle's own sources told this cycle (None: no source or it failed)."""

    soc: float | None = None
    values: VehicleValues | None = None


@dataclass(frozen=True, slots=True)
class SiteReadings:
    """All readings of one cycle. `grid` None while a grid meter is configured = grid meter failed."""

    grid: MeterReading | None = None
    pv: tuple[MeterReading, ...] = ()
    battery: tuple[MeterReading, ...] = ()
    aux: tuple[MeterReading, ...] = ()
    loadpoints: tuple[LoadpointReadings, ...] = ()
    # by vehicle name: the sources of the car a loadpoint has win over its own readings
    vehicles: Mapping[str, VehicleReading] = field(default_factory=dict)
    # by circuit name: its meter and external limit
    circuits: Mapping[str, CircuitReading] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ChargerCommand:
    """What to send to one charger; None fields are left as they are."""

    enable: bool | None = None
    current: float | None = None
    phases: int | None = None

    def __bool__(self) -> bool:
        return self.enable is not None or self.current is not None or self.phases is not None


class EventType(StrEnum):
    CONNECT = "connect"
    START = "start"
    STOP = "stop"
    DISCONNECT = "disconnect"


@dataclass(frozen=True, slots=True)
class Event:
    loadpoint: int  # 0-based index
    type: EventType
    at: datetime


@dataclass(slots=True)
class CycleResult:
    """Outcome of one cycle: one command (or None) per loadpoint, and the events that happened."""

    commands: list[ChargerCommand | None]
    events: list[Event] = field(default_factory=list)
    skipped: str | None = None  # why control was skipped this cycle (e.g. grid meter failed)
    failed: dict[int, str] = field(default_factory=dict)  # loadpoint index → what went wrong
    battery_mode: BatteryMode | None = None  # a new mode for the home battery this cycle

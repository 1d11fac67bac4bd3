"""Home Assistant entities as devices: meters, chargers and SoC sources built from other integrations.

The most common real setup: the wallbox, the grid meter and the inverter are already in Home
Assistant (go-e, Easee, Wallbox, OCPP, Shelly, SMA, …) and evcc_ha drives them through their
entities. Readers never block: they look at ``hass.states``. Commands are service calls with
``blocking=True``.

Error rules (the coordinator turns a raised `DeviceError` into "unavailable this cycle"):

* A *required* value (meter power; charger enable switch, current number and status source) that is
  missing, ``unavailable``, ``unknown`` or not a number raises `DeviceError`.
* An *optional* value (energy totals, SoC, charge power, charging sensor, phases) is ``None`` while
  its entity is missing, ``unavailable`` or ``unknown``; garbage (a state that does not parse, a
  unit that does not fit) still raises `DeviceError`, so misconfiguration is not silently ignored.

A meter lists the entities it reads in ``watched``: a change of one of them starts an early cycle.
Chargers and SoC sources watch nothing, so the echo of our own command does not cause cycles.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any, Final

import voluptuous as vol
from homeassistant.const import (
    ATTR_ENTITY_ID,
    ATTR_UNIT_OF_MEASUREMENT,
    STATE_OFF,
    STATE_ON,
    STATE_UNAVAILABLE,
    STATE_UNKNOWN,
    UnitOfElectricCurrent,
    UnitOfEnergy,
    UnitOfLength,
    UnitOfPower,
)
from homeassistant.core import HomeAssistant, State, split_entity_id
from homeassistant.exceptions import HomeAssistantError
from homeassistant.util.unit_conversion import DistanceConverter

from ..core.devices import Device
from ..core.model import (
    BatteryMode,
    ChargerCommand,
    ChargerReading,
    DeviceError,
    MeterReading,
    Status,
    VehicleValues,
    parse_status,
)
from ..core.settings import MIN_CHARGE_CURRENT

__all__ = [
    "CHARGING_POWER_THRESHOLD",
    "ENERGY_UNITS",
    "POWER_UNITS",
    "EntityBatteryControl",
    "EntityCharger",
    "EntityMeter",
    "EntitySoc",
    "EntityVehicle",
    "map_status",
    "phases_of_option",
]

# Factor to W / kWh for every unit a power or energy sensor may use.
POWER_UNITS: Final[Mapping[str, float]] = {
    UnitOfPower.WATT: 1.0,
    UnitOfPower.KILO_WATT: 1000.0,
    UnitOfPower.MEGA_WATT: 1_000_000.0,
}
CURRENT_UNITS: Final[Mapping[str, float]] = {
    UnitOfElectricCurrent.AMPERE: 1.0,
    UnitOfElectricCurrent.MILLIAMPERE: 0.001,
}
ENERGY_UNITS: Final[Mapping[str, float]] = {
    UnitOfEnergy.WATT_HOUR: 0.001,
    UnitOfEnergy.KILO_WATT_HOUR: 1.0,
    UnitOfEnergy.MEGA_WATT_HOUR: 1000.0,
}

# Above this charge power (W) a connected vehicle counts as charging (status C) when the status
# source only tells "plugged in" and no charging sensor is configured.
CHARGING_POWER_THRESHOLD: Final = 100.0

_NOT_THERE: Final = (STATE_UNAVAILABLE, STATE_UNKNOWN)
_ERROR: Final = "error"

# Status words of common chargers and integrations, compacted (lower case, letters and digits
# only), to A/B/C or "error". Sources: IEC 61851 letters, OCPP 1.6 ChargePointStatus and OCPP 2.0.1
# ConnectorStatus, go-e API v1/v2 car state, Easee, Wallbox, Zaptec, peblar and ohme states.
_STATUS_WORDS: Final[Mapping[str, str]] = {
    # A: no vehicle
    **dict.fromkeys(
        (
            "disconnected",
            "notconnected",
            "unplugged",
            "notplugged",
            "nocar",
            "novehicle",
            "noevconnected",
            "idle",  # go-e v2: no car
            "ready",  # go-e v1 and Wallbox: ready, no car
            "chargerreadynocar",  # go-e v1 text
            "available",  # OCPP
            "reserved",  # OCPP: reserved for another user, no vehicle
            "standby",  # Easee (older)
            "locked",  # Wallbox: locked, no car
        ),
        Status.A.value,
    ),
    # B: connected, not charging
    **dict.fromkeys(
        (
            "connected",
            "plugged",
            "pluggedin",
            "carconnected",
            "vehicleconnected",
            "occupied",  # OCPP 2.0.1
            "preparing",  # OCPP 1.6
            "suspendedev",
            "suspendedevse",
            "finishing",
            "suspended",  # peblar
            "paused",
            "pausedbyuser",  # Wallbox
            "pendingapproval",  # ohme
            "waiting",
            "waitcar",  # go-e v2
            "waitingforcar",  # go-e v1
            "awaitingstart",  # Easee
            "awaitingauthorization",
            "awaitingauthentication",
            "awaitingsmartcharging",
            "deauthorizing",
            "deauthenticating",
            "readytocharge",  # Easee: car connected, ready
            "complete",  # go-e v2
            "completed",  # Easee
            "finished",  # ohme
            "full",
            "charged",
            "chargefinishedcarstillconnected",  # go-e v1 text
            "connectedrequesting",  # Zaptec
            "connectedfinished",  # Zaptec
            "connectedwaitingforcardemand",  # Wallbox
            "connectedwaitingfornextschedule",  # Wallbox
            "lockedcarconnected",  # Wallbox
            "scheduled",  # Wallbox
            "waitinginqueuebypowerboost",
            "waitinginqueuebypowersharing",
            "waitinginqueuebyecosmart",
        ),
        Status.B.value,
    ),
    # C: charging
    **dict.fromkeys(
        ("charging", "carischarging", "connectedcharging", "vehiclecharging"),
        Status.C.value,
    ),
    # Errors: the charger cannot be used this cycle.
    **dict.fromkeys(
        (
            "error",
            "fault",
            "faulted",
            "invalid",
            "unavailable",
            "unknown",
            "updating",
            "waitingmidfailed",
            "waitingmidsafetymarginexceeded",
        ),
        _ERROR,
    ),
}
_LETTER: Final = re.compile(r"^[a-f]\d?$")
_PHASE_1: Final = re.compile(r"^(1|one|single|ein)(p|ph|phase|phases|phasig|phasen)?$")
_PHASE_3: Final = re.compile(r"^(3|three|drei)(p|ph|phase|phases|phasig|phasen)?$")


def _compact(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum())


def map_status(raw: str) -> Status:
    """Map a charger status string (evcc letter or a common status word) to A/B/C.

    Error states and unknown words raise `DeviceError`.
    """
    compact = _compact(raw)
    if _LETTER.match(compact):
        return parse_status(compact.upper())
    mapped = _STATUS_WORDS.get(compact)
    if mapped is None:
        raise DeviceError(f"unknown charger status {raw!r}")
    if mapped == _ERROR:
        raise DeviceError(f"charger reports error status {raw!r}")
    return Status(mapped)


def phases_of_option(option: str) -> int | None:
    """The phase count a select option stands for (``"1p"``, ``"3-phase"``, ``"single"`` …)."""
    compact = _compact(option)
    if _PHASE_1.match(compact):
        return 1
    if _PHASE_3.match(compact):
        return 3
    return None


def current_entity_problem(attributes: Mapping[str, Any]) -> str | None:
    """Why a current number with these attributes cannot offer every whole ampere from 6 A on
    (its min, max and step), or None when it can. Such an entity would receive 0 A or 4 A for a
    6 A command."""
    low = _float_or_none(attributes.get("min"))
    high = _float_or_none(attributes.get("max"))
    step = _float_or_none(attributes.get("step"))
    minimum = MIN_CHARGE_CURRENT
    if high is not None and not high >= minimum:
        return f"its maximum {high:g} A is below {minimum:g} A"
    if low is not None and not low <= minimum:
        return f"its minimum {low:g} A is above {minimum:g} A"
    if step is not None:
        if not 0 < step <= 1 or abs(1 / step - round(1 / step)) > 1e-6:
            return f"its step {step:g} A cannot set whole amperes"
        if abs((minimum - (low or 0.0)) / step - round((minimum - (low or 0.0)) / step)) > 1e-6:
            return f"its minimum {low:g} A and step {step:g} A miss {minimum:g} A"
    return None


def _domain(entity_id: str) -> str:
    return split_entity_id(entity_id)[0]


class _EntityReader(Device):
    """State access shared by the adapters."""

    def __init__(self, hass: HomeAssistant, name: str) -> None:
        self._hass = hass
        self.name = name

    def _state(self, entity_id: str) -> State:
        """The state of a required entity; raise unless it has a real value."""
        state = self._hass.states.get(entity_id)
        if state is None:
            raise DeviceError(f"{entity_id} does not exist")
        if state.state in _NOT_THERE:
            raise DeviceError(f"{entity_id} is {state.state}")
        return state

    def _optional_state(self, entity_id: str | None) -> State | None:
        """The state of an optional entity, or None while it has no value."""
        if entity_id is None:
            return None
        state = self._hass.states.get(entity_id)
        if state is None or state.state in _NOT_THERE:
            return None
        return state

    @staticmethod
    def _number(state: State) -> float:
        try:
            value = float(state.state)
        except ValueError:
            raise DeviceError(f"{state.entity_id} is not a number: {state.state!r}") from None
        if not math.isfinite(value):
            raise DeviceError(f"{state.entity_id} is not a finite number: {state.state!r}")
        return value

    @classmethod
    def _scaled(cls, state: State, units: Mapping[str, float], default: str) -> float:
        """The numeric state converted with the factor of its unit (no unit: `default`)."""
        unit = state.attributes.get(ATTR_UNIT_OF_MEASUREMENT) or default
        factor = units.get(unit)
        if factor is None:
            raise DeviceError(f"{state.entity_id} has unit {unit!r}, expected one of {list(units)}")
        return cls._number(state) * factor

    @staticmethod
    def _on_off(state: State) -> bool:
        if state.state == STATE_ON:
            return True
        if state.state == STATE_OFF:
            return False
        raise DeviceError(f"{state.entity_id} is neither on nor off: {state.state!r}")

    @classmethod
    def _percent(cls, state: State) -> float:
        value = cls._number(state)
        if not 0.0 <= value <= 100.0:
            raise DeviceError(f"{state.entity_id} is not a percentage: {state.state!r}")
        return value

    async def _call(self, entity_id: str, service: str, data: dict[str, Any] | None = None) -> None:
        """Call a service of the entity's own domain and wait for it; failures raise DeviceError."""
        try:
            await self._hass.services.async_call(
                _domain(entity_id),
                service,
                {ATTR_ENTITY_ID: entity_id, **(data or {})},
                blocking=True,
            )
        except (HomeAssistantError, vol.Invalid) as err:
            raise DeviceError(
                f"{_domain(entity_id)}.{service} on {entity_id} failed: {err}"
            ) from err


class EntityMeter(_EntityReader):
    """A meter from a power sensor (W/kW → W), plus optional energy total (→ kWh) and SoC.

    ``invert`` flips the sign of the power sensor. Sign conventions of the reading follow evcc:
    grid positive = import, battery positive = discharge, PV positive = production.
    ``current_entities`` are three phase current sensors (A/mA, L1–L3), all required to read.
    """

    def __init__(
        self,
        hass: HomeAssistant,
        name: str,
        power_entity: str,
        *,
        invert: bool = False,
        energy_entity: str | None = None,
        soc_entity: str | None = None,
        capacity: float | None = None,
        current_entities: tuple[str, str, str] | None = None,
    ) -> None:
        super().__init__(hass, name)
        self.power_entity = power_entity
        self.energy_entity = energy_entity
        self.soc_entity = soc_entity
        self.invert = invert
        self.capacity = capacity
        self.current_entities = current_entities
        self.watched = tuple(
            e
            for e in (power_entity, energy_entity, soc_entity, *(current_entities or ()))
            if e is not None
        )

    async def async_read(self) -> MeterReading:
        power = self._scaled(self._state(self.power_entity), POWER_UNITS, UnitOfPower.WATT)
        if self.invert:
            power = -power
        energy_state = self._optional_state(self.energy_entity)
        soc_state = self._optional_state(self.soc_entity)
        return MeterReading(
            power=power + 0.0,  # no negative zero
            energy=(
                None
                if energy_state is None
                else self._scaled(energy_state, ENERGY_UNITS, UnitOfEnergy.KILO_WATT_HOUR)
            ),
            soc=None if soc_state is None else self._percent(soc_state),
            capacity=self.capacity,
            currents=self._currents(),
        )

    def _currents(self) -> tuple[float, float, float] | None:
        if self.current_entities is None:
            return None
        l1, l2, l3 = (
            self._scaled(self._state(e), CURRENT_UNITS, UnitOfElectricCurrent.AMPERE)
            for e in self.current_entities
        )
        return (l1, l2, l3)


class EntityBatteryControl(_EntityReader):
    """The home battery's mode through an entity of the inverter's integration: a select (or
    input_select) with one option per mode (`options`: normal, hold and optionally charge), or a
    switch (or input_boolean) that is on for hold."""

    def __init__(
        self,
        hass: HomeAssistant,
        name: str,
        entity_id: str,
        options: Mapping[BatteryMode, str] | None = None,
    ) -> None:
        super().__init__(hass, name)
        self.entity_id = entity_id
        self.options = dict(options or {})

    async def async_set_mode(self, mode: BatteryMode) -> None:
        self._state(self.entity_id)  # it must exist and have a value
        domain = _domain(self.entity_id)
        if domain in ("switch", "input_boolean"):
            if mode not in (BatteryMode.NORMAL, BatteryMode.HOLD):
                raise DeviceError(f"{self.entity_id} can only hold the battery, not {mode}")
            await self._call(self.entity_id, "turn_on" if mode is BatteryMode.HOLD else "turn_off")
            return
        option = self.options.get(mode)
        if option is None:
            raise DeviceError(f"{self.entity_id} has no option for battery mode {mode}")
        await self._call(self.entity_id, "select_option", {"option": option})


class EntitySoc(_EntityReader):
    """A vehicle SoC from a sensor in % (a car integration's battery level)."""

    def __init__(self, hass: HomeAssistant, name: str, entity_id: str) -> None:
        super().__init__(hass, name)
        self.entity_id = entity_id

    async def async_read(self) -> float | None:
        """The SoC in %, or None while the car does not tell (asleep, out of range)."""
        state = self._optional_state(self.entity_id)
        return None if state is None else self._percent(state)


class EntityVehicle(_EntityReader):
    """Range and odometer (sensors in km or mi), the car's own charge limit (sensor or number
    in %), its climater (binary_sensor, switch, input_boolean or climate; on / not off =
    active) and whether it is plugged in (binary_sensor or input_boolean; on = plugged in, for
    vehicle detection) from a car's integration. Each is optional; one without a value is
    None."""

    def __init__(
        self,
        hass: HomeAssistant,
        name: str,
        *,
        range_entity: str | None = None,
        odometer_entity: str | None = None,
        limit_entity: str | None = None,
        climater_entity: str | None = None,
        connected_entity: str | None = None,
    ) -> None:
        super().__init__(hass, name)
        self.range_entity = range_entity
        self.odometer_entity = odometer_entity
        self.limit_entity = limit_entity
        self.climater_entity = climater_entity
        self.connected_entity = connected_entity

    def _km(self, entity_id: str | None) -> float | None:
        state = self._optional_state(entity_id)
        if state is None:
            return None
        unit = state.attributes.get(ATTR_UNIT_OF_MEASUREMENT) or UnitOfLength.KILOMETERS
        if unit not in DistanceConverter.VALID_UNITS:
            raise DeviceError(f"{state.entity_id} has unit {unit!r}, expected a distance")
        return DistanceConverter.convert(self._number(state), unit, UnitOfLength.KILOMETERS)

    def _climater(self) -> bool | None:
        state = self._optional_state(self.climater_entity)
        if state is None:
            return None
        if _domain(state.entity_id) == "climate":
            return state.state != STATE_OFF
        return self._on_off(state)

    async def async_read(self) -> VehicleValues:
        limit = self._optional_state(self.limit_entity)
        return VehicleValues(
            range_km=self._km(self.range_entity),
            odometer_km=self._km(self.odometer_entity),
            limit_soc=None if limit is None else self._percent(limit),
            climater_active=self._climater(),
            connected=None
            if (plug := self._optional_state(self.connected_entity)) is None
            else self._on_off(plug),
        )


class EntityCharger(_EntityReader):
    """A wallbox driven through its Home Assistant entities.

    * ``enable_entity``: switch or input_boolean; on = charging allowed.
    * ``current_entity``: number or input_number in A; the offered current.
    * ``status_entity``: binary_sensor (or input_boolean) on = vehicle connected, or a sensor /
      select with evcc letters or status words (see `map_status`).
    * ``charging_entity`` (optional): binary_sensor on = charging.
    * ``power_entity`` / ``energy_entity`` (optional): the charger's meter.
    * ``phases_entity`` (optional): a select (options like ``1p``/``3p``) or a switch
      (on = 3 phases; ``phases_on_1p`` turns that around).

    With a plug-only status source, a connected vehicle is charging (C) when the charging entity
    is on or, without one, when the charge power is above `CHARGING_POWER_THRESHOLD`.
    The offered current is never set above ``max_current`` (nor the number's own maximum).
    """

    def __init__(
        self,
        hass: HomeAssistant,
        name: str,
        *,
        enable_entity: str,
        current_entity: str,
        status_entity: str,
        max_current: float,
        power_entity: str | None = None,
        energy_entity: str | None = None,
        charging_entity: str | None = None,
        phases_entity: str | None = None,
        phases_on_1p: bool = False,
    ) -> None:
        super().__init__(hass, name)
        self.enable_entity = enable_entity
        self.current_entity = current_entity
        self.status_entity = status_entity
        self.power_entity = power_entity
        self.energy_entity = energy_entity
        self.charging_entity = charging_entity
        self.phases_entity = phases_entity
        self.phases_on_1p = phases_on_1p
        self.max_current = max_current

    # Reading

    async def async_read(self) -> ChargerReading:
        enabled = self._on_off(self._state(self.enable_entity))
        current_state = self._state(self.current_entity)
        if (problem := current_entity_problem(current_state.attributes)) is not None:
            raise DeviceError(f"{self.current_entity} cannot offer a legal current: {problem}")
        offered = self._number(current_state)
        power_state = self._optional_state(self.power_entity)
        power = (
            None
            if power_state is None
            else self._scaled(power_state, POWER_UNITS, UnitOfPower.WATT)
        )
        energy_state = self._optional_state(self.energy_entity)
        return ChargerReading(
            status=self._status(power),
            enabled=enabled,
            power=power,
            energy=(
                None
                if energy_state is None
                else self._scaled(energy_state, ENERGY_UNITS, UnitOfEnergy.KILO_WATT_HOUR)
            ),
            offered_current=offered,
            phases=self._phases(),
        )

    def _status(self, power: float | None) -> Status:
        state = self._state(self.status_entity)
        plug_only = _domain(self.status_entity) in ("binary_sensor", "input_boolean")
        if plug_only:
            if not self._on_off(state):
                return Status.A
            status = Status.B
        else:
            status = map_status(state.state)
        if status is not Status.B:
            return status
        if (charging := self._optional_state(self.charging_entity)) is not None:
            return Status.C if self._on_off(charging) else Status.B
        if plug_only and power is not None and power > CHARGING_POWER_THRESHOLD:
            return Status.C
        return Status.B

    def _phases(self) -> int | None:
        state = self._optional_state(self.phases_entity)
        if state is None:
            return None
        if _domain(state.entity_id) in ("switch", "input_boolean"):
            on = self._on_off(state)
            return 1 if on == self.phases_on_1p else 3
        return phases_of_option(state.state)

    # Commands

    async def async_apply(self, command: ChargerCommand) -> None:
        """Phases first, then current, then enable; values already set are not written again."""
        if command.phases is not None and self.phases_entity is not None:
            await self._set_phases(command.phases)
        if command.current is not None:
            await self._set_current(command.current)
        if command.enable is not None:
            await self._set_enabled(command.enable)

    async def _set_phases(self, phases: int) -> None:
        entity_id = self.phases_entity
        assert entity_id is not None
        state = self._hass.states.get(entity_id)
        if _domain(entity_id) in ("switch", "input_boolean"):
            on = (phases == 1) == self.phases_on_1p
            if state is None or state.state != (STATE_ON if on else STATE_OFF):
                await self._call(entity_id, "turn_on" if on else "turn_off")
            return
        options = [] if state is None else state.attributes.get("options") or []
        option = next((o for o in options if phases_of_option(str(o)) == phases), None)
        if option is None:
            raise DeviceError(f"{entity_id} has no option for {phases} phase(s): {options}")
        if state is None or state.state != option:
            await self._call(entity_id, "select_option", {"option": option})

    async def _set_current(self, current: float) -> None:
        entity_id = self.current_entity
        state = self._hass.states.get(entity_id)
        attributes = {} if state is None else state.attributes
        target = min(current, self.max_current)
        if (entity_max := _float_or_none(attributes.get("max"))) is not None:
            target = min(target, entity_max)
        if (step := _float_or_none(attributes.get("step"))) is not None and step > 0:
            low = _float_or_none(attributes.get("min")) or 0.0
            target = low + math.floor((target - low) / step + 1e-9) * step
        target = round(target, 3)
        if not MIN_CHARGE_CURRENT <= target <= self.max_current:
            # never an illegal current while enabled (e.g. 0 A or 4 A for a 6 A command)
            raise DeviceError(f"refusing to set {entity_id} to {target:g} A for {current:g} A")
        if state is not None and _float_or_none(state.state) == target:
            return
        await self._call(entity_id, "set_value", {"value": target})

    async def _set_enabled(self, enable: bool) -> None:
        state = self._hass.states.get(self.enable_entity)
        if state is not None and state.state == (STATE_ON if enable else STATE_OFF):
            return
        await self._call(self.enable_entity, "turn_on" if enable else "turn_off")


def _float_or_none(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None

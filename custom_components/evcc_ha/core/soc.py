"""Vehicle SoC estimation and remaining charge duration / energy (spec §5.11, core/soc@evcc).

* The charge losses are modelled by a *virtual capacity* ``capacity / efficiency``: the energy the
  charger must deliver to fill the battery from 0 to 100 %. The efficiency is 0.85 in current evcc
  (HEAD) and was 0.9 in 0.122 (OLD); every function takes it as a parameter, HEAD by default.
* Remaining duration assumes the vehicle takes the offered power up to a taper point, above which
  the power falls linearly towards 1 kW at 100 % (the line through 50 kW at 50 % and 1 kW at
  100 %). The model is the same in OLD and HEAD.
* :class:`SocEstimator` interpolates the SoC between (slow, whole-percent) vehicle API readings
  from the energy charged since the last reading.
"""

from __future__ import annotations

import math
from datetime import timedelta

__all__ = [
    "CHARGE_EFFICIENCY",
    "CHARGE_EFFICIENCY_OLD",
    "SocEstimator",
    "remaining_charge_duration",
    "remaining_energy_wh",
    "taper_soc",
]

CHARGE_EFFICIENCY = 0.85
"""Charge efficiency of current evcc (core/soc/estimator.go@HEAD)."""
CHARGE_EFFICIENCY_OLD = 0.9
"""Charge efficiency of evcc 0.122 (OLD)."""

MIN_CHARGE_POWER = 1000.0  # W, power just before the vehicle stops at 100 %
MAX_CHARGE_POWER = 50000.0  # W, power available up to MAX_CHARGE_SOC
MAX_CHARGE_SOC = 50.0  # %
_POWER_PER_SOC = (MAX_CHARGE_POWER - MIN_CHARGE_POWER) / (100.0 - MAX_CHARGE_SOC)  # W per %

RELEARN_SOC_PROGRESS = 10.0
"""SoC progress (%) since the first reading after which energy-per-% is re-learnt."""


def taper_soc(power_w: float) -> float:
    """SoC above which the vehicle can no longer take ``power_w`` (evcc's "reduction point")."""
    return 100.0 - (power_w - MIN_CHARGE_POWER) / _POWER_PER_SOC


def _virtual_capacity_wh(capacity_kwh: float, efficiency: float) -> float:
    if capacity_kwh <= 0 or efficiency <= 0:
        return 0.0
    return capacity_kwh * 1000.0 / efficiency


def _round_seconds(hours: float) -> timedelta:
    """Whole seconds, halves away from zero (Go ``Duration.Round(time.Second)``)."""
    return timedelta(seconds=max(0, math.floor(hours * 3600.0 + 0.5)))


def _duration(soc: float, target_soc: float, power_w: float, virtual_wh: float) -> timedelta:
    if power_w <= 0 or target_soc <= soc or virtual_wh <= 0:
        return timedelta(0)
    taper = taper_soc(power_w)
    hours = 0.0
    if soc < taper:  # full power up to the taper point
        hours += (min(target_soc, taper) - soc) / 100.0 * virtual_wh / power_w
    if target_soc > taper:  # linear decline: average of the power at both ends
        mean_power = (power_w + MIN_CHARGE_POWER) / 2.0
        hours += (target_soc - max(soc, taper)) / 100.0 * virtual_wh / mean_power
    return _round_seconds(hours)


def _energy(soc: float, target_soc: float, virtual_wh: float) -> float:
    return max(0.0, target_soc - soc) / 100.0 * max(0.0, virtual_wh)


def remaining_charge_duration(
    soc: float,
    target_soc: float,
    power_w: float,
    capacity_kwh: float,
    efficiency: float = CHARGE_EFFICIENCY,
) -> timedelta:
    """Time to charge from ``soc`` to ``target_soc`` (%) at ``power_w``, whole seconds.

    Zero when the target is reached or the power is not positive. 50 kWh, 40 → 80 % at 11 kW:
    7701 s (HEAD, 0.85); 7273 s with OLD's 0.9.
    """
    return _duration(soc, target_soc, power_w, _virtual_capacity_wh(capacity_kwh, efficiency))


def remaining_energy_wh(
    soc: float,
    target_soc: float,
    capacity_kwh: float,
    efficiency: float = CHARGE_EFFICIENCY,
) -> float:
    """Energy (Wh, at the charger) still needed: ``(target − soc)/100 · capacity/efficiency``.

    evcc publishes this value in kWh (``vehicleRemainingEnergy`` / ``chargeRemainingEnergy``).
    """
    return _energy(soc, target_soc, _virtual_capacity_wh(capacity_kwh, efficiency))


class SocEstimator:
    """Interpolates the vehicle SoC between API readings (evcc ``soc.Estimator``, ``estimate``).

    Call :meth:`update` every cycle with the SoC read this cycle (or None when there was no new
    reading) and the session's charged energy (Wh):

    * A reading that differs from the previous one is taken as truth and remembered with the
      charged energy at that moment. A reading equal to the previous one does not restart the
      interpolation (vehicles report whole percent, and evcc passes the cached API value every
      cycle); nor does None. A drop of the charged energy (energy counter reset) re-anchors.
    * Between readings: ``soc = reading + (energy − energy at reading) / energy per %``, ≤ 100.
    * Energy per % starts at ``capacity/efficiency/100`` and is re-learnt from measured energy once
      a reading is more than 10 % above the first reading since :meth:`reset`.
    * Without any reading ever: None (evcc never invents a SoC).
    """

    def __init__(self, capacity_kwh: float, efficiency: float = CHARGE_EFFICIENCY) -> None:
        self.capacity_kwh = capacity_kwh
        self.efficiency = efficiency
        self._step = 0.0
        self._soc: float | None = None
        self._reading: float | None = None
        self._reading_energy = 0.0
        self._initial: tuple[float, float] | None = None
        self.reset()

    def reset(self) -> None:
        """Forget readings and the learnt gradient (vehicle disconnected or changed)."""
        self._step = _virtual_capacity_wh(self.capacity_kwh, self.efficiency) / 100.0
        self._soc = None
        self._reading = None
        self._reading_energy = 0.0
        self._initial = None

    @property
    def soc(self) -> float | None:
        """The last estimate (None before the first reading)."""
        return self._soc

    @property
    def energy_per_soc_wh(self) -> float:
        """Charged energy per SoC percent (Wh), initial or learnt."""
        return self._step

    @property
    def virtual_capacity_wh(self) -> float:
        """Energy for 0 → 100 % at the charger. HEAD: never below the physical capacity (OLD used
        the learnt value as is)."""
        return max(self.capacity_kwh * 1000.0, self._step * 100.0)

    def update(self, api_soc: float | None, charged_energy_wh: float) -> float | None:
        """Feed this cycle's reading (or None) and the charged energy; returns the SoC estimate."""
        energy = max(charged_energy_wh, 0.0)
        if api_soc is None:
            if self._reading is None:
                return None
            api_soc = self._reading

        if self._step <= 0:  # unknown capacity: no estimation, pass readings through
            self._soc = self._reading = api_soc
            return self._soc

        if (
            self._reading is not None
            and api_soc == self._reading
            and energy >= self._reading_energy
        ):
            self._soc = min(api_soc + (energy - self._reading_energy) / self._step, 100.0)
            return self._soc

        # a new reading: truth
        self._soc = api_soc
        if self._initial is None:
            self._initial = (api_soc, energy)
        soc_progress = api_soc - self._initial[0]
        energy_progress = energy - self._initial[1]
        if soc_progress > RELEARN_SOC_PROGRESS and energy_progress > 0:
            self._step = energy_progress / soc_progress
        self._reading = api_soc
        self._reading_energy = energy
        return self._soc

    def remaining_charge_duration(self, target_soc: float, power_w: float) -> timedelta:
        """Remaining duration from the current estimate with the virtual capacity (the SoC counts
        as 0 before any reading, as evcc's zero value)."""
        return _duration(self._soc or 0.0, target_soc, power_w, self.virtual_capacity_wh)

    def remaining_energy_wh(self, target_soc: float) -> float:
        """Remaining energy (Wh) from the current estimate with the virtual capacity."""
        return _energy(self._soc or 0.0, target_soc, self.virtual_capacity_wh)

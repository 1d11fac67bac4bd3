"""Charge planner for a target time: cheapest slots and plan activation (spec §5.9).

Two layers, as in evcc:

* :func:`plan_slots` — stateless: which periods to charge in so that ``required`` charging time is
  done by ``target`` at the lowest price (core/planner/planner.go).
* :class:`Planner` — per-loadpoint state across control cycles: is the plan active *now*
  (core/loadpoint_plan.go ``plannerActive``), with hysteresis so charging does not flap at slot
  boundaries.

Current evcc (HEAD) behaviour is followed where it differs from 0.122 (OLD); every such place says
so. All arithmetic is done on UTC instants; returned slots carry ``now``'s timezone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo

from .tariff import Rate, current_rate, require_aware

__all__ = [
    "HEAD_THRESHOLDS",
    "OLD_THRESHOLDS",
    "SLOT_DURATION",
    "PlanThresholds",
    "Planner",
    "plan_slots",
    "required_duration_energy",
]

SLOT_DURATION = timedelta(minutes=15)
"""HEAD's tariff slot granularity (``tariff.SlotDuration``); activation thresholds derive from it."""

_ZERO = timedelta(0)


def required_duration_energy(remaining_kwh: float, max_power_w: float) -> timedelta:
    """Charging time for an energy goal at full power: ``remaining_kwh · 1000 / max_power_w`` hours.

    Like evcc (``time.Duration(energy·1e3/maxPower·Hour)``) the result is **not** rounded to whole
    seconds; it keeps timedelta's microsecond resolution (10 kWh at 11040 W → 3260.87 s, which
    evcc's log shows rounded as 3261 s). Zero when nothing remains or the power is not positive.
    """
    if remaining_kwh <= 0 or max_power_w <= 0:
        return _ZERO
    return timedelta(hours=remaining_kwh * 1000.0 / max_power_w)


# --- stateless planning --------------------------------------------------------------------------


def _span(rates: Sequence[Rate]) -> timedelta:
    return sum((r.end - r.start for r in rates), _ZERO)


def _to_utc(rate: Rate) -> Rate:
    return Rate(rate.start.astimezone(UTC), rate.end.astimezone(UTC), rate.price)


def _to_tz(rate: Rate, tz: tzinfo | None) -> Rate:
    return Rate(rate.start.astimezone(tz), rate.end.astimezone(tz), rate.price)


def _clamp(rates: Sequence[Rate], start: datetime, end: datetime) -> list[Rate]:
    """Rates (sorted by start) cut to ``[start, end]``; empty pieces dropped."""
    out: list[Rate] = []
    for r in rates:
        if r.end <= start:
            continue
        if r.start >= end:
            break
        if r.start >= start and r.end <= end:
            out.append(r)  # inside: no new object (most rates)
            continue
        lo, hi = max(r.start, start), min(r.end, end)
        if hi > lo:
            out.append(Rate(lo, hi, r.price))
    return out


def _continuous(rates: Sequence[Rate], start: datetime, end: datetime) -> list[Rate]:
    """Charge all of ``[start, end]``: the rates in it, gaps filled with price-0 slots.

    HEAD fills only a gap before the first and after the last rate (its rates are contiguous);
    here inner gaps are filled as well so the plan really is continuous.
    """
    out: list[Rate] = []
    cursor = start
    for r in _clamp(rates, start, end):
        if r.start > cursor:
            out.append(Rate(cursor, r.start, 0.0))
        out.append(r)
        cursor = max(cursor, r.end)
    if cursor < end:
        out.append(Rate(cursor, end, 0.0))
    return out


def _cheapest(rates: Sequence[Rate], required: timedelta) -> list[Rate]:
    """Greedy pick (evcc ``optimalPlan``): cheapest first, equal price → later start first.

    The last slot needed is longer than required: if it is the earliest slot of a plan that
    already has slots its *start* moves later (charge as late as possible), else its *end* is cut.
    """
    ordered = sorted(rates, key=lambda r: (r.price, -r.start_ts))
    plan: list[Rate] = []
    remaining = required
    for rate in ordered:
        slot = rate
        remaining -= slot.end - slot.start
        if remaining < _ZERO:
            if plan and all(slot.start <= p.start for p in plan):
                slot = Rate(slot.start - remaining, slot.end, slot.price)
            else:
                slot = Rate(slot.start, slot.end + remaining, slot.price)
            remaining = _ZERO
        plan.append(slot)
        if remaining == _ZERO:
            break
    plan.sort(key=lambda r: r.start)
    return plan


def _window_cost(rates: Sequence[Rate], start: datetime, end: datetime) -> tuple[float, timedelta]:
    """Cost and covered time of ``[start, end]``; durations are summed per price first so equal
    windows compare exactly equal regardless of how they are cut (as HEAD's ``windowCost``)."""
    per_price: dict[float, int] = {}
    covered = _ZERO
    for r in _clamp(rates, start, end):
        us = (r.end - r.start) // timedelta(microseconds=1)
        per_price[r.price] = per_price.get(r.price, 0) + us
        covered += r.end - r.start
    cost = sum(price * float(us) for price, us in sorted(per_price.items()))
    return cost, covered


def _cheapest_window(rates: Sequence[Rate], required: timedelta, target: datetime) -> list[Rate]:
    """HEAD ``continuous: true``: the cheapest window of length ``required`` starting at a rate
    start; equal cost → later window. Windows with gaps in the rates are skipped (HEAD assumes
    contiguous rates)."""
    best: tuple[float, datetime] | None = None
    for r in rates:
        end = r.start + required
        if end > target:
            break
        cost, covered = _window_cost(rates, r.start, end)
        if covered < required:
            continue
        if best is None or cost <= best[0]:
            best = (cost, r.start)
    if best is None:
        return []
    return _clamp(rates, best[1], best[1] + required)


def _split(rates: Sequence[Rate], at: datetime) -> tuple[list[Rate], list[Rate]]:
    """Split rates into those before ``at`` and the precondition part from ``at`` on."""
    before: list[Rate] = []
    after: list[Rate] = []
    for r in rates:
        if r.end <= at:
            before.append(r)
        elif r.start < at:
            before.append(Rate(r.start, at, r.price))
            after.append(Rate(at, r.end, r.price))
        else:
            after.append(r)
    return before, after


def utc_rates(rates: Sequence[Rate]) -> list[Rate]:
    """Rates in UTC, sorted by start (what the planning works on; the caller may keep it for
    as long as the rates do not change)."""
    if isinstance(rates, _UtcRates):
        return rates
    return _UtcRates(sorted((_to_utc(r) for r in rates), key=lambda r: r.start))


class _UtcRates(list[Rate]):
    """A list known to be UTC and sorted (from `utc_rates`)."""

    __slots__ = ()


def plan_slots(
    now: datetime,
    required: timedelta,
    target: datetime,
    rates: Sequence[Rate] | None,
    *,
    precondition: timedelta = _ZERO,
    continuous: bool = False,
) -> list[Rate]:
    """The periods to charge in so that ``required`` charging time is done by ``target``.

    Returns the plan sorted by start (an empty list = no plan). Steps, following HEAD
    (core/planner/planner.go@HEAD):

    1. ``required <= 0`` → no plan.
    2. ``now`` is truncated to whole seconds (HEAD). If the latest start ``target − required`` is
       in the past, it becomes ``now`` and the target moves to ``now + required`` (HEAD; the plan
       then overruns the target — OLD instead squeezed the plan into the time left).
    3. No tariff (``rates`` None or empty) → one "late start" slot ``[latest start, target]``
       (price 0, i.e. unknown).
    4. [HEAD] Time until target ≤ required → charge continuously from ``now``: the rates in the
       window, back to back, gaps filled with price-0 slots.
    5. Target after the end of the known rates: if the time after them is enough → no plan yet;
       else plan only the shortfall within the rates (target = end of rates).
    6. [HEAD] The rates within ``[now, target]`` cover less than required → the simple late-start
       plan of step 3 (OLD returned the too-short set of slots).
    7. [HEAD] ``precondition``: the last ``precondition`` before the target is always charged.
    8. Cheapest slots (:func:`_cheapest`), or with ``continuous`` [HEAD] the cheapest contiguous
       window; sorted by time.

    Slot prices are the rates' prices; datetimes are returned in ``now``'s timezone.
    """
    require_aware(now, "now")
    require_aware(target, "target")
    if required <= _ZERO:
        return []

    tz = now.tzinfo
    real_now = now.astimezone(UTC)
    now_utc = real_now.replace(microsecond=0)
    target_utc = target.astimezone(UTC)

    latest_start = target_utc - required
    if latest_start < now_utc:
        latest_start = now_utc
        target_utc = now_utc + required
    simple = [Rate(latest_start, target_utc, 0.0)]

    if not rates:
        return [_to_tz(r, tz) for r in simple]

    ordered = utc_rates(rates)

    if target_utc - real_now <= required:
        return [_to_tz(r, tz) for r in _continuous(ordered, latest_start, target_utc)]

    last_end = max(r.end for r in ordered)
    if target_utc > last_end:
        after_rates = target_utc - last_end
        if after_rates >= required:
            return []
        target_utc = last_end
        required -= after_rates
        precondition = max(precondition - after_rates, _ZERO)

    window = _clamp(ordered, now_utc, target_utc)
    if not window or _span(window) < required:
        return [_to_tz(r, tz) for r in simple]

    precondition = min(max(precondition, _ZERO), required)
    precond: list[Rate] = []
    if precondition > _ZERO:
        target_utc -= precondition
        window, precond = _split(window, target_utc)
        required -= precondition
        if required <= _ZERO:
            return [_to_tz(r, tz) for r in precond]

    if continuous:
        plan = _cheapest_window(window, required, target_utc)
    else:
        plan = _cheapest(window, required)
    return [_to_tz(r, tz) for r in plan + precond]


# --- activation across cycles --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PlanThresholds:
    """Hysteresis of plan activation.

    ``min_slot``: a slot that starts while the plan is inactive is ignored if less than this
    remains of it and no slot follows directly. ``continue_required``: an active plan keeps
    charging between slots while less than this charging time is still required.
    ``restart_gap``: … or while the next slot starts within this time.
    """

    min_slot: timedelta
    continue_required: timedelta
    restart_gap: timedelta


HEAD_THRESHOLDS = PlanThresholds(
    min_slot=SLOT_DURATION - timedelta(minutes=1),  # 14 min
    continue_required=SLOT_DURATION,  # 15 min
    restart_gap=SLOT_DURATION - timedelta(minutes=1),  # 14 min
)
"""core/loadpoint_plan.go@HEAD (``tariff.SlotDuration`` = 15 min)."""

OLD_THRESHOLDS = PlanThresholds(
    min_slot=timedelta(minutes=10),  # smallSlotDuration
    continue_required=timedelta(minutes=60),  # smallGapDuration
    restart_gap=timedelta(minutes=60),  # smallGapDuration
)
"""core/loadpoint_plan.go@0.122.0."""


class Planner:
    """Plan state of one loadpoint between control cycles (evcc ``plannerActive``).

    Call :meth:`update` every cycle with the charging time still required; it replans and answers
    whether to charge at full power now. HEAD thresholds by default (:data:`HEAD_THRESHOLDS`);
    pass :data:`OLD_THRESHOLDS` for 0.122 behaviour.
    """

    def __init__(self, thresholds: PlanThresholds = HEAD_THRESHOLDS) -> None:
        self.thresholds = thresholds
        self._slots: list[Rate] = []
        self._active = False
        self._slot_end: datetime | None = None  # UTC
        self._projected_start: datetime | None = None
        self._projected_end: datetime | None = None
        self._overrun = _ZERO
        self._expired = False
        self._memo: tuple[tuple[object, ...], list[Rate], list[Rate], timedelta] | None = None
        self._utc: tuple[object, list[Rate]] | None = None

    # -- state ---------------------------------------------------------------------------------

    @property
    def slots(self) -> list[Rate]:
        """The plan computed by the last :meth:`update` (sorted by start; empty = none)."""
        return list(self._slots)

    @property
    def active(self) -> bool:
        """Whether the plan is charging (evcc ``planActive``)."""
        return self._active

    @property
    def projected_start(self) -> datetime | None:
        """Earliest slot start (``planProjectedStart``); None without a plan."""
        return self._projected_start

    @property
    def projected_end(self) -> datetime | None:
        """Latest slot end (HEAD ``planProjectedEnd``); None without a plan."""
        return self._projected_end

    @property
    def overrun(self) -> timedelta:
        """[HEAD] ``planOverrun``: by how much the required time exceeds the time to the target."""
        return self._overrun

    @property
    def expired(self) -> bool:
        """[HEAD] The target time passed while the plan was not active: evcc deletes such a plan
        (the caller should clear its plan settings). OLD kept it until disconnect."""
        return self._expired

    def _plan(
        self,
        now: datetime,
        required: timedelta,
        target: datetime,
        rates: Sequence[Rate] | None,
        precondition: timedelta,
        continuous: bool,
        rates_key: object,
    ) -> tuple[list[Rate], list[Rate]]:
        """`plan_slots` (and the plan in UTC), computed again only when an input changed: the
        rates, target or strategy; the minute; the required time by a minute or more since the
        last plan (charging shortens it by about a minute per minute: one plan per minute)."""
        key = (
            rates_key if rates_key is not None else (tuple(rates) if rates else None),
            target,
            precondition,
            continuous,
            int(now.timestamp() // 60),
        )
        memo = self._memo
        if memo is not None and memo[0] == key and abs((required - memo[3]).total_seconds()) < 60:
            return memo[1], memo[2]
        if rates and rates_key is not None:
            # the rates in UTC are kept while the tariff's rates do not change
            if self._utc is None or self._utc[0] != rates_key:
                self._utc = (rates_key, utc_rates(rates))
            rates = self._utc[1]
        plan = plan_slots(
            now, required, target, rates, precondition=precondition, continuous=continuous
        )
        plan_u = [_to_utc(slot) for slot in plan]
        self._memo = (key, plan, plan_u, required)
        return plan, plan_u

    def reset(self) -> None:
        """Forget everything: goal reached, plan deleted, vehicle disconnected."""
        self._memo = None
        self._utc = None
        self._slots = []
        self._active = False
        self._slot_end = None
        self._projected_start = None
        self._projected_end = None
        self._overrun = _ZERO
        self._expired = False

    # -- cycle ---------------------------------------------------------------------------------

    def update(
        self,
        now: datetime,
        required: timedelta,
        target: datetime | None,
        rates: Sequence[Rate] | None,
        *,
        precondition: timedelta = _ZERO,
        continuous: bool = False,
        rates_key: object = None,
    ) -> bool:
        """Replan and return whether the plan is active now (→ charge fast).

        The slots are computed again only when an input changed: the rates (`rates_key`, e.g.
        the tariff's identity and version; without it the rates themselves), the target, the
        strategy, the minute, or the required time by a minute since the last plan.

        * No target, or nothing required → inactive (the caller resets / finishes the plan).
        * [HEAD] Target in the past and the plan not active → inactive, :attr:`expired` set.
        * A slot contains ``now``: active, except that a slot starting while inactive is ignored
          when less than ``min_slot`` of it remains and no slot follows directly.
        * No slot now but the plan was active (goal not met yet) → stays active if the target has
          passed, or until the end of the slot it was charging in, or while less than
          ``continue_required`` is still required, or if the next slot starts within
          ``restart_gap`` (or, with HEAD's ``continuous`` strategy, always).
        """
        require_aware(now, "now")
        active = self._evaluate(now, required, target, rates, precondition, continuous, rates_key)
        self._active = active
        if not active:
            self._slot_end = None
        return active

    def _evaluate(
        self,
        now: datetime,
        required: timedelta,
        target: datetime | None,
        rates: Sequence[Rate] | None,
        precondition: timedelta,
        continuous: bool,
        rates_key: object,
    ) -> bool:
        self._slots = []
        self._projected_start = None
        self._projected_end = None
        self._overrun = _ZERO
        self._expired = False

        if target is None:
            return False
        require_aware(target, "target")
        tz = now.tzinfo
        now_u, target_u = now.astimezone(UTC), target.astimezone(UTC)
        if target_u < now_u and not self._active:
            self._expired = True
            return False
        if required <= _ZERO:
            return False

        plan, plan_u = self._plan(now, required, target, rates, precondition, continuous, rates_key)
        self._slots = plan
        if not plan:
            return False

        self._overrun = max(required - (target_u - now_u), _ZERO)
        start = min(s.start for s in plan_u)
        self._projected_start = start.astimezone(tz)
        self._projected_end = max(s.end for s in plan_u).astimezone(tz)

        th = self.thresholds
        slot = current_rate(plan_u, now_u)
        if slot is not None:
            successor = any(s.start == slot.end for s in plan_u)
            if not self._active and slot.end - now_u < th.min_slot and not successor:
                return False  # slot too short to start charging for
            self._slot_end = slot.end
            return True

        if not self._active:
            return False
        if now_u > target_u:
            return True  # goal not met by the target: keep charging
        if self._slot_end is not None and now_u < self._slot_end and required > precondition:
            return True  # finish the slot that was running
        if precondition < required < th.continue_required:
            return True  # little left: finish it now
        if start - now_u < th.restart_gap:
            return True  # next slot starts soon: don't stop and restart
        if continuous and required > precondition:
            self._projected_start = now
            self._projected_end = (now_u + required).astimezone(tz)
            return True
        return False

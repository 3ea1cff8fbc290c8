"""The billing schedule: when a recurring price charges and how much. Pure (no ORM, no clock).

This is the one source of truth for billing periods. `POST /v2/billing/preview` shows it, and the
subscriptions issue's scheduler must call `billing_schedule` / `period_boundary` too, so a preview
always equals what will be billed (page 113, "Key Invariant #4: Preview === Scheduler").

Periods
- Intervals: day, week, month, quarter (3 months), half_year (6 months), year (12 months), each
  times `interval_count`.
- Boundary k of a schedule is computed from the anchor directly (anchor + k intervals), never by
  stepping from the previous boundary, so month-based schedules keep their anchor day: anchored on
  the 31st, Jan 31 → Feb 28 (29 in leap years) → Mar 31 → Apr 30 → May 31. Days 29–31 fall back to
  the month's last day in shorter months and come back when the month has them.
- Wall-clock arithmetic in the start's own time zone: a schedule that starts 09:00 Europe/London
  renews at 09:00 London time in winter and in summer. Durations (for proration) are measured in
  real seconds (UTC).
- Periods are half-open [start, end): contiguous, non-overlapping, strictly increasing.

Anchor rules (`ANCHOR_RULES`)
- start: periods begin at the start (after any trial); the start's day of month is the anchor day.
- day_of_month: periods renew on `anchor_day` (1–31) of the month; when the start is not on that day
  the first period runs from the start to the next anchor day and is prorated (or charged in full
  with first_period="full"). Month-based intervals only.
- first_of_month / last_of_month: day_of_month with day 1 / day 31 (each month's last day).

Trials: with `trial_days`, nothing is charged for [start, start + trial_days); the first charge is at
the trial's end and the anchor rule applies from there (DECISIONS.md: the first invoice is created and
charged at trial end).

Charges are billed in advance: each period's charge date is its start. Amounts come from
`apps.catalog.calculations.price_amount_for_quantity`; a prorated first period is
full amount × (period seconds / full-period seconds), rounded once with MONEY_ROUNDING.
"""
from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from apps.catalog.calculations import PriceSpec, price_amount_for_quantity
from apps.core.money import MONEY_ROUNDING, Money


class ScheduleError(ValueError):
    """Bad schedule input; `field` names the input at fault."""

    def __init__(self, message: str, field: str = ""):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True, slots=True)
class IntervalInfo:
    id: str
    label: str
    plural: str
    months: int = 0
    days: int = 0
    description: str = ""


INTERVALS: dict[str, IntervalInfo] = {
    "day": IntervalInfo("day", "Daily", "days", days=1, description="Every day (or every N days)."),
    "week": IntervalInfo("week", "Weekly", "weeks", days=7, description="Every week; week × 2 is bi-weekly."),
    "month": IntervalInfo("month", "Monthly", "months", months=1,
                          description="Every month on the anchor day (29–31 fall back to the month's last day)."),
    "quarter": IntervalInfo("quarter", "Quarterly", "quarters", months=3, description="Every 3 months."),
    "half_year": IntervalInfo("half_year", "Every 6 months", "half-years", months=6, description="Every 6 months."),
    "year": IntervalInfo("year", "Yearly", "years", months=12,
                         description="Every year; a 29 February anchor renews on 28 February in other years."),
}


@dataclass(frozen=True, slots=True)
class AnchorRule:
    id: str
    label: str
    description: str
    needs_day: bool = False
    month_based_only: bool = False
    fixed_day: int | None = None


ANCHOR_RULES: dict[str, AnchorRule] = {
    "start": AnchorRule("start", "Start date",
                        "Periods begin on the start date (after any trial) and renew on the same day of each "
                        "period; days 29–31 fall back to the month's last day in shorter months without drifting."),
    "day_of_month": AnchorRule("day_of_month", "Day of month",
                               "Periods renew on a fixed day of the month (anchor_day 1–31; 29–31 fall back to the "
                               "month's last day). A start on another day gets a shorter, prorated first period. "
                               "Month-based intervals only.", needs_day=True, month_based_only=True),
    "first_of_month": AnchorRule("first_of_month", "First of the month",
                                 "Periods renew on the 1st; a start on another day gets a prorated first period.",
                                 month_based_only=True, fixed_day=1),
    "last_of_month": AnchorRule("last_of_month", "Last day of the month",
                                "Periods renew on each month's last day; a start on another day gets a prorated "
                                "first period.", month_based_only=True, fixed_day=31),
}

FIRST_PERIOD_CHOICES = ("prorate", "full")
MAX_CHARGES = 120


@dataclass(frozen=True, slots=True)
class RecurringPrice:
    """What the scheduler needs of a recurring price."""

    spec: PriceSpec
    interval: str
    interval_count: int
    trial_days: int = 0


@dataclass(frozen=True, slots=True)
class Charge:
    index: int
    period_start: datetime
    period_end: datetime
    charge_date: datetime
    amount: Money
    full_amount: Money
    prorated: bool


@dataclass(frozen=True, slots=True)
class Schedule:
    start: datetime
    trial_start: datetime | None
    trial_end: datetime | None
    anchor: datetime
    anchor_day: int | None
    charges: tuple[Charge, ...]

    @property
    def total(self) -> Money:
        total = Money.zero(self.charges[0].amount.currency)
        for charge in self.charges:
            total = total + charge.amount
        return total


# --- date arithmetic -----------------------------------------------------------------------------
def days_in_month(year: int, month: int) -> int:
    return calendar.monthrange(year, month)[1]


def add_months(value: datetime, months: int, *, day: int | None = None) -> datetime:
    """`value` moved by `months` calendar months, on `day` (default: value's day), clamped to the
    target month's last day. Time of day and tzinfo are kept (wall-clock arithmetic)."""
    index = value.year * 12 + (value.month - 1) + months
    year, month = divmod(index, 12)
    month += 1
    if not 1 <= year <= 9999:
        raise ScheduleError("the schedule runs past the year 9999", "start")
    wanted = day if day is not None else value.day
    return value.replace(year=year, month=month, day=min(wanted, days_in_month(year, month)))


def period_boundary(anchor: datetime, interval: str, interval_count: int, k: int, *,
                    anchor_day: int | None = None) -> datetime:
    """The k-th boundary after `anchor` (k = 0 is the anchor itself), computed from the anchor so
    month-based schedules never drift. `anchor_day` overrides the anchor's day of month (an anchor on
    the 31st whose first boundary fell on Feb 28 passes 31)."""
    info = INTERVALS[interval]
    if info.months:
        return add_months(anchor, info.months * interval_count * k, day=anchor_day or anchor.day)
    try:
        return anchor + timedelta(days=info.days * interval_count * k)
    except OverflowError:
        raise ScheduleError("the schedule runs past the year 9999", "start")


def seconds_between(a: datetime, b: datetime) -> Decimal:
    """Real elapsed seconds from a to b (through UTC, so DST changes count as they happen)."""
    delta = b.astimezone(UTC) - a.astimezone(UTC)
    return Decimal(delta.days * 86400 + delta.seconds) + Decimal(delta.microseconds) / Decimal(10**6)


def _next_anchor(start: datetime, day: int) -> datetime:
    """The first datetime ≥ start that falls on `day` (clamped) at start's time of day."""
    candidate = add_months(start, 0, day=day)
    if candidate < start:
        candidate = add_months(start, 1, day=day)
    return candidate


def prorate(full: Money, part_seconds: Decimal, whole_seconds: Decimal) -> Money:
    if whole_seconds <= 0:
        return full
    share = Decimal(full.amount_minor) * part_seconds / whole_seconds
    return Money(int(share.quantize(Decimal(1), rounding=MONEY_ROUNDING)), full.currency)


# --- the schedule --------------------------------------------------------------------------------
def billing_schedule(*, price: RecurringPrice, start: datetime, count: int, quantity: int = 1,
                     anchor_rule: str = "start", anchor_day: int | None = None, first_period: str = "prorate",
                     trial_days: int | None = None) -> Schedule:
    """The next `count` charges of `price` for `quantity` units from `start` (an aware datetime).

    `trial_days` overrides the price's trial (0: no trial). Raises ScheduleError for inputs the
    rules do not allow (naming the field), so the API can answer 400.
    """
    if start.tzinfo is None or start.utcoffset() is None:
        raise ScheduleError("start must include a time zone", "start")
    if price.interval not in INTERVALS:
        raise ScheduleError(f"unknown interval '{price.interval}'", "interval")
    if price.interval_count < 1:
        raise ScheduleError("interval_count must be at least 1", "interval_count")
    if not 1 <= count <= MAX_CHARGES:
        raise ScheduleError(f"count must be between 1 and {MAX_CHARGES}", "count")
    if anchor_rule not in ANCHOR_RULES:
        raise ScheduleError(f"unknown anchor rule '{anchor_rule}'", "anchor_rule")
    if first_period not in FIRST_PERIOD_CHOICES:
        raise ScheduleError("first_period must be prorate or full", "first_period")
    rule = ANCHOR_RULES[anchor_rule]
    info = INTERVALS[price.interval]
    if rule.month_based_only and not info.months:
        raise ScheduleError(f"the {anchor_rule} anchor rule needs a month-based interval (month, quarter, half_year "
                            "or year)", "anchor_rule")
    if rule.needs_day:
        if anchor_day is None or not 1 <= anchor_day <= 31:
            raise ScheduleError("anchor_day (1–31) is required with the day_of_month rule", "anchor_day")
    elif anchor_day is not None:
        raise ScheduleError("anchor_day is only used with the day_of_month rule", "anchor_day")
    trial = price.trial_days if trial_days is None else trial_days
    if trial < 0:
        raise ScheduleError("trial_days must not be negative", "trial_days")

    full = price_amount_for_quantity(price.spec, quantity)
    try:
        billing_start = start + timedelta(days=trial) if trial else start
    except OverflowError:
        raise ScheduleError("the schedule runs past the year 9999", "start")
    day = rule.fixed_day or anchor_day
    charges: list[Charge] = []
    if day is None:
        anchor, day = billing_start, billing_start.day
    else:
        anchor = _next_anchor(billing_start, day)
        if anchor != billing_start:
            previous = period_boundary(anchor, price.interval, price.interval_count, -1, anchor_day=day)
            amount = full if first_period == "full" else prorate(
                full, seconds_between(billing_start, anchor), seconds_between(previous, anchor))
            charges.append(Charge(0, billing_start, anchor, billing_start, amount, full, first_period == "prorate"))
    k = 0
    while len(charges) < count:
        period_start = period_boundary(anchor, price.interval, price.interval_count, k, anchor_day=day)
        period_end = period_boundary(anchor, price.interval, price.interval_count, k + 1, anchor_day=day)
        charges.append(Charge(len(charges), period_start, period_end, period_start, full, full, False))
        k += 1
    return Schedule(start=start, trial_start=start if trial else None, trial_end=billing_start if trial else None,
                    anchor=anchor, anchor_day=day if info.months else None, charges=tuple(charges))

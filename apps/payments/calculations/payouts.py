"""Payout net, its reconciliation lines, and the payout schedule. Pure.

Page 047 ("Payout Breakdown") and issue 4:
    net = gross − fees − refunds − disputes ± adjustments
- gross: sales settled in the payout.
- fees: processing fee lines (interchange, scheme, gateway, platform) of every non-dispute item.
- refunds: refunds issued (they carry no fee lines of their own — fees.py; if an acquirer ever
  charges one, it is counted in `fees`).
- disputes: "dispute losses and fees" (page 047) = amounts held + chargeback fees − amounts released
  when a dispute is won. It can be negative in a payout that only releases a won dispute; the parts
  are reported separately (dispute_held, dispute_fees, dispute_released).
- adjustments: signed corrections or reserves.
Every item becomes one reconciliation line (reference, signed amount, fees, net); the lines' nets sum
to the payout net exactly, in minor units — the acceptance line "a payout reconciles to the cent with
the transactions it lists". A payout whose net is negative is reported as negative (the merchant owes
it); nothing is clipped.

Currency: one settlement currency per merchant (DECISIONS.md). Every item and fee line must be in the
payout's currency; a mixed list is refused with PayoutCurrencyError naming the item. FX conversion is
out of scope here: the settlement amounts the gateway reports are what come in.

Schedule (page 047: daily = every business day, weekly, monthly; page 002: funds settle "typically next
business day for UK merchants"): settled funds become available `delay_days` business days after the
settlement date (default 1); the payout is the first scheduled date on or after that. Weekly payouts
fall on a chosen weekday (Mon–Fri); monthly ones on a day of the month, falling back to the month's
last day in shorter months. A scheduled date that is not a business day rolls forward to the next
business day (which may be in the next month). Business days are Monday–Friday; public holidays are
not modelled by a built-in calendar — pass `holidays` (a set of dates) to skip them.
"""
from __future__ import annotations

import calendar
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from apps.core.money import CurrencyError, Money, normalize_currency, sum_money

from .fees import FeeBreakdown, FeeCode, FeeLine, TransactionKind


class PayoutError(ValueError):
    pass


class PayoutCurrencyError(CurrencyError):
    pass


class PayoutItemKind(StrEnum):
    SALE = "sale"
    REFUND = "refund"
    DISPUTE = "dispute"  # amount held, plus its chargeback fee line
    DISPUTE_WON = "dispute_won"  # held amount released back
    ADJUSTMENT = "adjustment"  # signed correction or reserve


_SIGN = {
    PayoutItemKind.SALE: 1,
    PayoutItemKind.REFUND: -1,
    PayoutItemKind.DISPUTE: -1,
    PayoutItemKind.DISPUTE_WON: 1,
    PayoutItemKind.ADJUSTMENT: 1,
}


@dataclass(frozen=True, slots=True, kw_only=True)
class PayoutItem:
    """One settled item. `amount` is a positive magnitude for sales, refunds and disputes (the kind
    gives the direction) and signed for adjustments."""

    reference: str
    kind: PayoutItemKind
    amount: Money
    fee_lines: tuple[FeeLine, ...] = ()
    description: str = ""

    def __post_init__(self):
        object.__setattr__(self, "kind", PayoutItemKind(self.kind))
        object.__setattr__(self, "fee_lines", tuple(self.fee_lines))
        if not isinstance(self.amount, Money):
            raise TypeError("amount must be Money")
        if self.kind != PayoutItemKind.ADJUSTMENT and self.amount.amount_minor <= 0:
            raise PayoutError(f"{self.reference}: a {self.kind} amount must be positive (the kind gives the sign)")
        for line in self.fee_lines:
            if line.amount.is_negative:
                raise PayoutError(f"{self.reference}: fee line {line.code} is negative")
            if line.code == FeeCode.CHARGEBACK and self.kind != PayoutItemKind.DISPUTE:
                raise PayoutError(f"{self.reference}: a chargeback fee belongs on a dispute item")

    @property
    def signed_amount(self) -> Money:
        return self.amount * _SIGN[self.kind]


def payout_item_from_breakdown(*, reference: str, breakdown: FeeBreakdown, description: str = "") -> PayoutItem:
    """The payout item for a transaction's fee breakdown (fees.card_fee_breakdown). A void never
    reaches a payout: it raises."""
    kinds = {TransactionKind.SALE: PayoutItemKind.SALE, TransactionKind.REFUND: PayoutItemKind.REFUND,
             TransactionKind.CHARGEBACK: PayoutItemKind.DISPUTE}
    if breakdown.kind not in kinds:
        raise PayoutError(f"{reference}: a {breakdown.kind} is never settled into a payout")
    magnitude = -breakdown.gross if breakdown.gross.is_negative else breakdown.gross
    return PayoutItem(reference=reference, kind=kinds[breakdown.kind], amount=magnitude,
                      fee_lines=breakdown.lines, description=description)


@dataclass(frozen=True, slots=True)
class PayoutLine:
    reference: str
    kind: PayoutItemKind
    description: str
    amount: Money  # signed effect before fees
    fees: Money  # sum of the item's fee lines
    net: Money  # amount − fees
    fee_lines: tuple[FeeLine, ...]


@dataclass(frozen=True, slots=True)
class PayoutSummary:
    currency: str
    gross: Money
    fees: Money
    refunds: Money
    dispute_held: Money
    dispute_fees: Money
    dispute_released: Money
    adjustments: Money
    lines: tuple[PayoutLine, ...]

    @property
    def disputes(self) -> Money:
        """Dispute losses and fees (page 047): held + fees − released."""
        return self.dispute_held + self.dispute_fees - self.dispute_released

    @property
    def net(self) -> Money:
        return self.gross - self.fees - self.refunds - self.disputes + self.adjustments

    @property
    def lines_net(self) -> Money:
        return sum_money((line.net for line in self.lines), self.currency)

    @property
    def reconciles(self) -> bool:
        return self.lines_net == self.net

    @property
    def fees_by_code(self) -> dict[str, Money]:
        """Fee totals per line code over every item (incl. chargeback fees), in first-seen order."""
        totals: dict[str, Money] = {}
        for line in self.lines:
            for fee in line.fee_lines:
                totals[str(fee.code)] = totals.get(str(fee.code), Money.zero(self.currency)) + fee.amount
        return totals


def payout_summary(*, items: Iterable[PayoutItem], currency: str) -> PayoutSummary:
    """Gross, fees, refunds, disputes, adjustments and net of the items settled into one payout, in
    `currency`, with one reconciliation line per item (in the given order)."""
    currency = normalize_currency(currency)
    zero = Money.zero(currency)
    gross = fees = refunds = held = dispute_fees = released = adjustments = zero
    lines: list[PayoutLine] = []
    for item in items:
        if item.amount.currency != currency:
            raise PayoutCurrencyError(
                f"{item.reference} is in {item.amount.currency} but the payout settles in {currency}; "
                "FX conversion is out of scope")
        for line in item.fee_lines:
            if line.amount.currency != currency:
                raise PayoutCurrencyError(
                    f"{item.reference} has a {line.code} fee in {line.amount.currency}, not {currency}")
        item_fees = sum_money((line.amount for line in item.fee_lines), currency)
        if item.kind == PayoutItemKind.SALE:
            gross += item.amount
        elif item.kind == PayoutItemKind.REFUND:
            refunds += item.amount
        elif item.kind == PayoutItemKind.DISPUTE:
            held += item.amount
        elif item.kind == PayoutItemKind.DISPUTE_WON:
            released += item.amount
        else:
            adjustments += item.amount
        if item.kind in (PayoutItemKind.DISPUTE, PayoutItemKind.DISPUTE_WON):
            dispute_fees += item_fees
        else:
            fees += item_fees
        signed = item.signed_amount
        lines.append(PayoutLine(item.reference, item.kind, item.description, signed, item_fees,
                                signed - item_fees, item.fee_lines))
    summary = PayoutSummary(currency, gross, fees, refunds, held, dispute_fees, released, adjustments, tuple(lines))
    if not summary.reconciles:  # pragma: no cover - integer sums; a broken invariant is a bug, never data
        raise AssertionError("payout lines do not sum to the payout net")
    return summary


# --- schedule ---------------------------------------------------------------------------------------
class PayoutInterval(StrEnum):
    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"


@dataclass(frozen=True, slots=True, kw_only=True)
class PayoutSchedule:
    interval: PayoutInterval = PayoutInterval.DAILY
    weekly_anchor: int = 0  # weekday for weekly payouts, Monday=0 … Friday=4
    monthly_anchor: int = 1  # day of month 1–31 for monthly payouts (last day in shorter months)
    delay_days: int = 1  # business days from settlement until the funds can be paid out

    def __post_init__(self):
        object.__setattr__(self, "interval", PayoutInterval(self.interval))
        for name, low, high in (("weekly_anchor", 0, 4), ("monthly_anchor", 1, 31), ("delay_days", 0, 60)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise PayoutError(f"{name} must be an integer from {low} to {high}")


def is_business_day(day: date, holidays: frozenset[date] = frozenset()) -> bool:
    return day.weekday() < 5 and day not in holidays


def roll_forward(day: date, holidays: frozenset[date] = frozenset()) -> date:
    """`day` if it is a business day, else the next one."""
    while not is_business_day(day, holidays):
        day += timedelta(days=1)
    return day


def add_business_days(*, day: date, days: int, holidays: frozenset[date] = frozenset()) -> date:
    """`days` business days after `day` (0: `day` itself rolled forward to a business day)."""
    if days < 0:
        raise PayoutError("days must not be negative")
    current = roll_forward(day, holidays) if days == 0 else day
    for _ in range(days):
        current = roll_forward(current + timedelta(days=1), holidays)
    return current


def payout_available_on(*, settlement_date: date, schedule: PayoutSchedule,
                        holidays: frozenset[date] = frozenset()) -> date:
    return add_business_days(day=settlement_date, days=schedule.delay_days, holidays=holidays)


def _scheduled_dates(start: date, schedule: PayoutSchedule, holidays: frozenset[date]) -> Iterator[date]:
    """Scheduled payout dates (already rolled to business days), increasing, from around `start`."""
    if schedule.interval == PayoutInterval.DAILY:
        day = start
        while True:
            day = roll_forward(day, holidays)
            yield day
            day += timedelta(days=1)
    elif schedule.interval == PayoutInterval.WEEKLY:
        day = start - timedelta(days=(start.weekday() - schedule.weekly_anchor) % 7)
        while True:
            yield roll_forward(day, holidays)
            day += timedelta(days=7)
    else:
        # Start a month early: last month's date may have rolled forward into this month.
        year, month = (start.year, start.month - 1) if start.month > 1 else (start.year - 1, 12)
        while True:
            last = calendar.monthrange(year, month)[1]
            yield roll_forward(date(year, month, min(schedule.monthly_anchor, last)), holidays)
            year, month = (year, month + 1) if month < 12 else (year + 1, 1)


def next_payout_dates(*, settlement_date: date, schedule: PayoutSchedule, count: int = 1,
                      holidays: frozenset[date] = frozenset()) -> list[date]:
    """The next `count` payout dates that can carry funds settled on `settlement_date`; the first is
    the payout those funds go out in."""
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise PayoutError("count must be a positive integer")
    holidays = frozenset(holidays)
    available = payout_available_on(settlement_date=settlement_date, schedule=schedule, holidays=holidays)
    dates: list[date] = []
    for day in _scheduled_dates(available, schedule, holidays):
        if day >= available and (not dates or day > dates[-1]):
            dates.append(day)
            if len(dates) == count:
                return dates
    raise AssertionError("unreachable")  # pragma: no cover

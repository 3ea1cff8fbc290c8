"""Void eligibility from settlement timing, and the reversal options a payment offers. Pure.

Page 025 / payments-and-refunds-detail.txt ("Settlement Timing and Smart Warnings"):
- **Safe to Void** — settlement is 2+ hours away; "Void Payment".
- **High-Risk Void Window** — settlement is within 15 minutes; the batch may already have closed;
  "Attempt Void" with a warning; if the void fails a refund must be processed by hand (never an
  automatic fallback: "accounting and tax implications").
- **Settlement Complete** — settled; void no longer available; "Process Refund".

The spec names no state between 15 minutes and 2 hours. Decision: `risky`, labelled "Settlement
Approaching" (our words, not the spec's): the void is still offered as "Void Payment" — a void is
what page 048 says RevKeen does before settlement — with a warning naming the minutes left.

Boundaries (remaining = batch cut-off − now, in real seconds):
  remaining ≥ 2 h → safe;  15 min < remaining < 2 h → risky;  0 < remaining ≤ 15 min → high_risk;
  remaining ≤ 0, or the gateway reports the batch closed → none.

The batch of a payment is the first daily cut-off strictly after its capture (a payment captured at
or after today's cut-off settles with tomorrow's batch). Cut-offs are wall-clock times in the cut-off's
own zone (default 20:00 America/New_York, NMI's "typically before 8 PM ET"), computed with zoneinfo,
so 20:00 stays 20:00 New York time across the March and November DST changes; durations are measured
in UTC, never by subtracting wall clocks. A cut-off configured inside a skipped hour (spring forward)
happens at the equivalent instant after the jump; inside a repeated hour (fall back), at its first
occurrence (fold=0). Batches are assumed to close every day of the week (NMI auto-settles daily)
[GUESS; no holiday calendar].
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from apps.core.money import CurrencyError, Money

DEFAULT_CUTOFF_TIME = time(20, 0)
DEFAULT_CUTOFF_ZONE = "America/New_York"
SAFE_LEAD = timedelta(hours=2)
HIGH_RISK_LEAD = timedelta(minutes=15)


class VoidWindowError(ValueError):
    pass


class VoidEligibility(StrEnum):
    SAFE = "safe"
    RISKY = "risky"
    HIGH_RISK = "high_risk"
    NONE = "none"


# Ordered from most to least favourable: as time passes a payment's eligibility only moves right.
ELIGIBILITY_ORDER = (VoidEligibility.SAFE, VoidEligibility.RISKY, VoidEligibility.HIGH_RISK, VoidEligibility.NONE)

ELIGIBILITY_LABELS = {
    VoidEligibility.SAFE: "Safe to Void",  # page 025
    VoidEligibility.RISKY: "Settlement Approaching",  # ours: page 025 is silent on 15 min–2 h
    VoidEligibility.HIGH_RISK: "High-Risk Void Window",  # page 025
    VoidEligibility.NONE: "Settlement Complete",  # page 025
}

ACTION_VOID = "Void Payment"
ACTION_ATTEMPT_VOID = "Attempt Void"
ACTION_REFUND = "Process Refund"


@dataclass(frozen=True, slots=True)
class BatchCutoff:
    time_of_day: time = DEFAULT_CUTOFF_TIME
    zone: str = DEFAULT_CUTOFF_ZONE

    def __post_init__(self):
        if self.time_of_day.tzinfo is not None:
            raise VoidWindowError("time_of_day is a wall-clock time; give the zone separately")
        try:
            ZoneInfo(self.zone)
        except Exception as exc:
            raise VoidWindowError(f"unknown time zone '{self.zone}'") from exc

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.zone)


DEFAULT_CUTOFF = BatchCutoff()


def _aware(value: datetime, name: str) -> datetime:
    if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() is None:
        raise VoidWindowError(f"{name} must be a timezone-aware datetime")
    return value


def cutoff_after(*, moment: datetime, cutoff: BatchCutoff = DEFAULT_CUTOFF) -> datetime:
    """The first batch cut-off strictly after `moment`, as an aware datetime in the cut-off's zone."""
    moment = _aware(moment, "moment")
    tz = cutoff.tz
    local_day = moment.astimezone(tz).date()
    for offset in range(0, 3):
        candidate = _normalize(datetime.combine(local_day + timedelta(days=offset), cutoff.time_of_day, tzinfo=tz))
        if candidate.astimezone(UTC) > moment.astimezone(UTC):
            return candidate
    raise AssertionError("a daily cut-off always exists within two days")  # pragma: no cover


def _normalize(local: datetime) -> datetime:
    """Resolves a wall-clock time in a DST gap to the real instant (fold=0 offset), shown as the
    zone's actual wall clock after the jump."""
    return local.astimezone(UTC).astimezone(local.tzinfo)


@dataclass(frozen=True, slots=True)
class VoidWindow:
    eligibility: VoidEligibility
    batch_cutoff_at: datetime  # the cut-off of the payment's batch (aware, cut-off zone)
    next_cutoff_at: datetime  # the first cut-off after now (equals batch_cutoff_at while it is open)
    minutes_remaining: int  # whole minutes until the batch cut-off, 0 once it has passed
    batch_closed: bool

    @property
    def label(self) -> str:
        return ELIGIBILITY_LABELS[self.eligibility]

    @property
    def void_allowed(self) -> bool:
        return self.eligibility != VoidEligibility.NONE

    @property
    def action_label(self) -> str:
        if self.eligibility == VoidEligibility.HIGH_RISK:
            return ACTION_ATTEMPT_VOID
        if self.void_allowed:
            return ACTION_VOID
        return ACTION_REFUND

    @property
    def message(self) -> str:
        if self.eligibility == VoidEligibility.SAFE:
            return ("Settlement is 2+ hours away. Void will succeed with high confidence. "
                    "This is the recommended option to avoid processing fees.")
        if self.eligibility == VoidEligibility.RISKY:
            return (f"Settlement is in {self.minutes_remaining} minutes. Void now to avoid processing fees; "
                    "if the batch closes first, the void will fail and you will need to process a refund instead.")
        if self.eligibility == VoidEligibility.HIGH_RISK:
            return ("Settlement is within 15 minutes. The batch may have already closed. "
                    "If void fails, you will need to process a refund instead.")
        return ("Transaction has been settled. Void is no longer available. "
                "You must process a refund to return funds to the customer.")

    @property
    def warning(self) -> str | None:
        """The alert shown beside the void button (page 025), None when it is safe."""
        if self.eligibility in (VoidEligibility.RISKY, VoidEligibility.HIGH_RISK):
            return self.message
        return None


def void_window(*, now: datetime, captured_at: datetime, cutoff: BatchCutoff = DEFAULT_CUTOFF,
                batch_closed: bool = False) -> VoidWindow:
    """Classifies whether the payment captured at `captured_at` can still be voided at `now`.
    `batch_closed` is the gateway's word that the payment's batch has settled; it wins over the clock."""
    now = _aware(now, "now")
    captured_at = _aware(captured_at, "captured_at")
    if now.astimezone(UTC) < captured_at.astimezone(UTC):
        raise VoidWindowError("now is before the capture")
    batch_cutoff = cutoff_after(moment=captured_at, cutoff=cutoff)
    next_cutoff = cutoff_after(moment=now, cutoff=cutoff)
    remaining = batch_cutoff.astimezone(UTC) - now.astimezone(UTC)
    if batch_closed or remaining <= timedelta(0):
        eligibility = VoidEligibility.NONE
    elif remaining <= HIGH_RISK_LEAD:
        eligibility = VoidEligibility.HIGH_RISK
    elif remaining < SAFE_LEAD:
        eligibility = VoidEligibility.RISKY
    else:
        eligibility = VoidEligibility.SAFE
    minutes = max(int(remaining.total_seconds() // 60), 0) if eligibility != VoidEligibility.NONE else 0
    return VoidWindow(eligibility, batch_cutoff, next_cutoff, minutes, batch_closed)


# --- reversal options -------------------------------------------------------------------------------
class PaymentStatus(StrEnum):
    """Page 025's transaction statuses, plus `disputed` (page 046's income status)."""

    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    REQUIRES_ACTION = "requires_action"
    REFUNDED = "refunded"
    PARTIALLY_REFUNDED = "partially_refunded"
    VOIDED = "voided"
    DISPUTED = "disputed"


class ReversalKind(StrEnum):
    VOID = "void"
    REFUND = "refund"


@dataclass(frozen=True, slots=True)
class ReversalOption:
    kind: ReversalKind
    action_label: str  # "Void Payment" | "Attempt Void" | "Process Refund" (page 025)
    max_amount: Money
    partial_allowed: bool  # a void is always the full amount (page 033); a refund may be partial
    warning: str | None = None


@dataclass(frozen=True, slots=True)
class ReversalOptions:
    options: tuple[ReversalOption, ...]
    message: str
    window: VoidWindow | None = None

    @property
    def kinds(self) -> tuple[ReversalKind, ...]:
        return tuple(option.kind for option in self.options)


_NO_REVERSAL = {
    PaymentStatus.PENDING: "Nothing has been captured yet; cancel the payment instead.",
    PaymentStatus.REQUIRES_ACTION: "Nothing has been captured yet; cancel the payment instead.",
    PaymentStatus.FAILED: "The payment failed; there is nothing to reverse.",
    PaymentStatus.VOIDED: "The payment was voided; there is nothing to reverse.",
    PaymentStatus.REFUNDED: "The payment has been refunded in full.",
    PaymentStatus.DISPUTED: "The payment is disputed; respond to the dispute instead of refunding it.",
}


def reversal_options(*, status: PaymentStatus | str, amount: Money, refunded: Money | None = None,
                     window: VoidWindow | None = None) -> ReversalOptions:
    """Which of void / refund a payment offers now, with page 025's labels and warnings — only the
    options the settlement timing allows.

    - succeeded, batch open (safe / risky / high-risk): void only, full amount. Before settlement
      RevKeen voids instead of refunding (page 048), and the gateway would refuse a refund anyway.
    - succeeded, settled (window none, or no window given): refund, full or partial.
    - partially_refunded: refund of the remainder (a refund means it has settled).
    - pending, requires_action, failed, voided, refunded, disputed: nothing, with the reason.
    A failed void is never turned into a refund here or anywhere: the person chooses again.
    """
    status = PaymentStatus(status)
    refunded = refunded if refunded is not None else Money.zero(amount.currency)
    if refunded.currency != amount.currency:
        raise CurrencyError(f"refunded is in {refunded.currency} but the payment is in {amount.currency}")
    if amount.amount_minor <= 0 or refunded.is_negative or refunded > amount:
        raise VoidWindowError("refunded must be between zero and the payment amount")
    if status in _NO_REVERSAL:
        return ReversalOptions((), _NO_REVERSAL[status], window)
    remaining = amount - refunded
    if remaining.amount_minor == 0:
        return ReversalOptions((), _NO_REVERSAL[PaymentStatus.REFUNDED], window)

    if status == PaymentStatus.SUCCEEDED and refunded.amount_minor == 0 and window is not None and window.void_allowed:
        option = ReversalOption(ReversalKind.VOID, window.action_label, amount, partial_allowed=False,
                                warning=window.warning)
        return ReversalOptions((option,), window.message, window)

    refund = ReversalOption(ReversalKind.REFUND, ACTION_REFUND, remaining, partial_allowed=True)
    message = (window.message if window is not None and not window.void_allowed
               else "Process a full or partial refund.")
    return ReversalOptions((refund,), message, window)

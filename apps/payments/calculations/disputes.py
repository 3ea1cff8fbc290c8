"""Dispute health (page 044): the three rates a merchant watches, with their targets. Pure.

- dispute rate = disputes opened / captured payments in the same window; target below 1 %
  (card schemes start monitoring programmes around there).
- win rate = disputes won / disputes decided (won + lost); target above 50 %.
- response rate = disputes answered with evidence / disputes whose answer was due (answered, or the
  deadline passed, or decided without an answer); target 100 %. A dispute still inside its deadline
  and unanswered is not counted yet: it can still be answered.
A rate with nothing to divide by is None ("no data"), never 0 % or 100 %. Percentages are rounded once,
to one decimal place, half up.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

RATE_ROUNDING = ROUND_HALF_UP
DISPUTE_RATE_TARGET = Decimal("1.0")  # below
WIN_RATE_TARGET = Decimal("50.0")  # above
RESPONSE_RATE_TARGET = Decimal("100.0")  # at


def percentage(part: int, whole: int) -> Decimal | None:
    if whole <= 0:
        return None
    if part < 0:
        raise ValueError("a count cannot be negative")
    return (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.1"), rounding=RATE_ROUNDING)


@dataclass(frozen=True, slots=True)
class DisputeRates:
    dispute_rate: Decimal | None
    win_rate: Decimal | None
    response_rate: Decimal | None

    @property
    def dispute_rate_ok(self) -> bool | None:
        return None if self.dispute_rate is None else self.dispute_rate < DISPUTE_RATE_TARGET

    @property
    def win_rate_ok(self) -> bool | None:
        return None if self.win_rate is None else self.win_rate > WIN_RATE_TARGET

    @property
    def response_rate_ok(self) -> bool | None:
        return None if self.response_rate is None else self.response_rate >= RESPONSE_RATE_TARGET


def dispute_rates(*, payments: int, disputes: int, won: int, lost: int, responded: int,
                  response_due: int) -> DisputeRates:
    """The three rates from counts over one window (disputes opened in it may exceed its payments: the
    disputed payments can be older)."""
    if min(payments, disputes, won, lost, responded, response_due) < 0:
        raise ValueError("counts cannot be negative")
    if won + lost > disputes or responded > response_due or response_due > disputes:
        raise ValueError("inconsistent dispute counts")
    return DisputeRates(dispute_rate=percentage(disputes, payments),
                        win_rate=percentage(won, won + lost), response_rate=percentage(responded, response_due))

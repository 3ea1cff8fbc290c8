"""Settlement: when a ledger transaction's funds become payable, from the gateway account's payout schedule."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from .. import calculations as calc


def payout_schedule_of(gateway_account) -> calc.PayoutSchedule:
    return calc.PayoutSchedule(interval=calc.PayoutInterval(gateway_account.payout_interval),
                               weekly_anchor=gateway_account.payout_weekly_anchor,
                               monthly_anchor=gateway_account.payout_monthly_anchor,
                               delay_days=gateway_account.payout_delay_days)


def available_on_for(*, gateway_account, settled_at: datetime):
    """The payout date a transaction settled (or, for a dispute or adjustment, debited) at `settled_at`
    belongs to: the settlement's calendar date in the merchant's time zone, then the schedule."""
    zone = ZoneInfo(getattr(gateway_account.merchant, "timezone", "") or "UTC")
    return calc.payout_available_on(settlement_date=settled_at.astimezone(zone).date(),
                                    schedule=payout_schedule_of(gateway_account))

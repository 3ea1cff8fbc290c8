"""Daily batch close: what is pending settlement at an account's cut-off settles in that cut-off's batch.

NMI's rules (Payment API, "Transaction Types"; protocols.md §1.8): sales and captures are "flagged for
settlement" (condition `pendingsettlement`); at the batch close they move to `complete` and gain a
`settle` action carrying the `batch_id`, dated at the close. Uncaptured auths are not flagged and stay
`pending`. Refunds are transactions of their own and settle the same way.

The cut-off is an account setting (default 20:00 America/New_York). A transaction belongs to the
first cut-off strictly after it entered `pendingsettlement`, so closing is deterministic and
idempotent whenever it runs: from the Celery beat task, from a test with the clock moved, or lazily
before the simulator answers any request of the account (so the gateway behaves as if the batch had
closed on time even when no worker ran — a void after the cut-off fails, as it would at NMI).
"""
from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db import transaction

from apps.core.clock import now as clock_now

from . import conf, webhooks
from .models import SimAccount, SimAction, SimBatch, SimTransaction
from .protocol import new_numeric_id

PENDING_SETTLEMENT = SimTransaction.Condition.PENDING_SETTLEMENT


def cutoff_of(account: SimAccount) -> tuple[time, ZoneInfo]:
    hours, minutes = (account.batch_cutoff or conf.get("NMI_SIM_BATCH_CUTOFF")).split(":")
    return time(int(hours), int(minutes)), ZoneInfo(account.batch_timezone or conf.get("NMI_SIM_BATCH_TIMEZONE"))


def next_cutoff_after(moment: datetime, account: SimAccount) -> datetime:
    """The first cut-off strictly after `moment` (UTC). Wall-clock time in the account's zone, DST included."""
    cut, zone = cutoff_of(account)
    local = moment.astimezone(zone)
    candidate = datetime.combine(local.date(), cut, tzinfo=zone)
    if candidate <= local:
        candidate = datetime.combine(local.date() + timedelta(days=1), cut, tzinfo=zone)
    return candidate.astimezone(UTC)


def last_cutoff_at_or_before(moment: datetime, account: SimAccount) -> datetime:
    cut, zone = cutoff_of(account)
    local = moment.astimezone(zone)
    candidate = datetime.combine(local.date(), cut, tzinfo=zone)
    if candidate > local:
        candidate = datetime.combine(local.date() - timedelta(days=1), cut, tzinfo=zone)
    return candidate.astimezone(UTC)


def batches_close_due(*, now: datetime | None = None) -> list[SimBatch]:
    """Closes every account's batches whose cut-off has passed. The beat task calls this."""
    moment = now or clock_now()
    account_ids = (SimTransaction.objects.filter(condition__in=[PENDING_SETTLEMENT, SimTransaction.Condition.IN_PROGRESS])
                   .values_list("account_id", flat=True).distinct().order_by("account_id"))
    batches: list[SimBatch] = []
    for account in SimAccount.objects.filter(pk__in=list(account_ids)).order_by("pk"):
        batches += close_due(account=account, now=moment)
    return batches


def close_due(*, account: SimAccount, now: datetime | None = None) -> list[SimBatch]:
    """Closes the account's batches whose cut-off has passed; also abandons stale 3-D Secure challenges."""
    moment = now or clock_now()
    return _close(account=account, moment=moment, due_before=last_cutoff_at_or_before(moment, account), force=False)


def batch_close_now(*, account: SimAccount, now: datetime | None = None) -> list[SimBatch]:
    """Settles everything pending settlement right now, as a merchant's 'settle now' button would."""
    moment = now or clock_now()
    return _close(account=account, moment=moment, due_before=moment + timedelta(microseconds=1), force=True)


@transaction.atomic
def _close(*, account: SimAccount, moment: datetime, due_before: datetime, force: bool) -> list[SimBatch]:
    account = SimAccount.objects.select_for_update().get(pk=account.pk)
    _abandon_stale_challenges(account, moment)
    due = list(account.transactions.filter(condition=PENDING_SETTLEMENT, settle_eligible_at__lt=due_before)
               .order_by("pk"))
    if not due:
        return []
    groups: dict[datetime, list[SimTransaction]] = defaultdict(list)
    for txn in due:
        closed_at = moment if force else next_cutoff_after(txn.settle_eligible_at, account)
        groups[closed_at].append(txn)
    batches = []
    for closed_at in sorted(groups):
        batch = SimBatch.objects.filter(account=account, closed_at=closed_at).first() or SimBatch.objects.create(
            account=account, batch_id=new_numeric_id(9), processor_batch_id=new_numeric_id(6), closed_at=closed_at,
            processed_at=moment)
        members = groups[closed_at]
        SimTransaction.objects.filter(pk__in=[t.pk for t in members]).update(
            condition=SimTransaction.Condition.COMPLETE, batch=batch, settled_at=closed_at, updated_at=moment)
        SimAction.objects.bulk_create([
            SimAction(transaction=t, action_type="settle", amount_minor=t.settle_amount_minor, date=closed_at,
                      success=True, response_code="100", response_text="ACCEPTED", batch=batch) for t in members])
        webhooks.send_on_commit(account, "settlement.batch.complete", webhooks.batch_body(account, batch, members))
        batches.append(batch)
    return batches


def _abandon_stale_challenges(account: SimAccount, moment: datetime) -> None:
    stale_before = moment - timedelta(seconds=conf.get("NMI_SIM_3DS_TTL_SECONDS"))
    account.transactions.filter(condition=SimTransaction.Condition.IN_PROGRESS, created_at__lt=stale_before).update(
        condition=SimTransaction.Condition.ABANDONED, updated_at=moment)

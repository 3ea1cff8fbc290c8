"""Settlement: which gateway batches closed, which of our ledger transactions they settled, and when those
funds become payable (the gateway account's payout schedule, page 047).

`settlements_sync` asks the gateway (the Query API's `settle` actions, real HTTP) for the batches that
closed in a window, upserts one SettlementBatch per gateway batch (unique per account and batch id) and
stamps our sale / capture / refund ledger rows found in it with the batch, its close time and the payout
date their funds belong to (`available_on`); a sale's Payment gets `settled_at`. Only rows not yet
stamped are touched, one database transaction per batch, so a second sync changes nothing.

Voids never settle: a voided sale is cancelled at the gateway before its batch closes, so neither the
sale nor its void appears in any batch, neither is stamped, and neither reaches a payout (the payout
service also refuses both explicitly). Uncaptured auths are not settled either.

Works whether the gateway closed its batches on time (the simulator's beat task) or closes them lazily:
the simulator closes what is due before it answers any query, as NMI's batches close whether or not
anyone is watching.
"""
from __future__ import annotations

import logging
from collections import Counter
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.db import transaction
from django.db.models import Min

from apps.core.clock import now

from .. import calculations as calc
from ..gateways import gateway_for
from ..gateways.base import GatewayQueryError
from ..models import Payment, SettlementBatch, Transaction

log = logging.getLogger(__name__)

__all__ = ["available_on_for", "payout_schedule_of", "settlements_sync", "settlements_sync_all",
           "SETTLED_TYPES"]

# Ledger types the gateway settles in a batch (sale, a captured auth, a refund). Auths are not flagged
# for settlement, voids cancel the sale; disputes and adjustments get their payout date where they are made.
SETTLED_TYPES = (Transaction.Type.SALE, Transaction.Type.CAPTURE, Transaction.Type.REFUND)
SYNC_LOOKBACK_MAX = timedelta(days=90)  # never ask the gateway for more than this in one sync
SYNC_OVERLAP = timedelta(days=1)  # re-read the last day: a row our ledger wrote late is still stamped


def payout_schedule_of(gateway_account) -> calc.PayoutSchedule:
    return calc.PayoutSchedule(interval=calc.PayoutInterval(gateway_account.payout_interval),
                               weekly_anchor=gateway_account.payout_weekly_anchor,
                               monthly_anchor=gateway_account.payout_monthly_anchor,
                               delay_days=gateway_account.payout_delay_days)


def merchant_zone(merchant) -> ZoneInfo:
    try:
        return ZoneInfo(getattr(merchant, "timezone", "") or "UTC")
    except (KeyError, ValueError):
        return ZoneInfo("UTC")


def available_on_for(*, gateway_account, settled_at: datetime):
    """The payout date a transaction settled (or, for a dispute or adjustment, debited) at `settled_at`
    belongs to: the settlement's calendar date in the merchant's time zone, then the schedule."""
    zone = merchant_zone(gateway_account.merchant)
    return calc.payout_available_on(settlement_date=settled_at.astimezone(zone).date(),
                                    schedule=payout_schedule_of(gateway_account))


def _default_start(gateway_account, end: datetime) -> datetime:
    """From the oldest of our ledger rows still waiting for a batch (a settle action is never older than
    the transaction), or the last batch we saw, less an overlap; bounded to SYNC_LOOKBACK_MAX."""
    waiting = (Transaction.objects.filter(merchant_id=gateway_account.merchant_id, livemode=gateway_account.livemode,
                                          type__in=SETTLED_TYPES, settlement_batch__isnull=True)
               .exclude(gateway_transaction_id="").exclude(payment__status=Payment.Status.VOIDED)
               .aggregate(oldest=Min("created_at"))["oldest"])
    last_batch = (SettlementBatch.objects.filter(gateway_account=gateway_account)
                  .order_by("-closed_at").values_list("closed_at", flat=True).first())
    candidates = [moment for moment in (waiting, last_batch, end) if moment is not None]
    return max(min(candidates) - SYNC_OVERLAP, end - SYNC_LOOKBACK_MAX)


def settlements_sync(*, gateway_account, start: datetime | None = None, end: datetime | None = None) -> dict:
    """Syncs the batches the gateway closed between `start` and `end` (default: see _default_start, now).
    Returns counts: batches seen, batches created, transactions stamped. The gateway is called outside
    any database transaction; each batch is applied in its own."""
    end = end or now()
    start = start or _default_start(gateway_account, end)
    adapter = gateway_for(gateway_account)
    try:
        batches = adapter.query_settlements(start=start, end=end)
    finally:
        adapter.close()
    counts = {"batches": 0, "batches_created": 0, "transactions_stamped": 0}
    for batch in batches:
        if not batch.batch_id or batch.closed_at is None:
            continue
        created, stamped = _apply_batch(gateway_account=gateway_account, batch=batch)
        counts["batches"] += 1
        counts["batches_created"] += int(created)
        counts["transactions_stamped"] += stamped
    return counts


def settlements_sync_all() -> dict:
    """Every gateway account (both modes): the beat task's body. One account's failure (the gateway down)
    does not stop the others; it is retried at the next run."""
    from apps.accounts.models import GatewayAccount

    totals = {"accounts": 0, "failed": 0, "batches": 0, "batches_created": 0, "transactions_stamped": 0}
    for account in GatewayAccount.objects.select_related("merchant").order_by("pk"):
        try:
            counts = settlements_sync(gateway_account=account)
        except (GatewayQueryError, ValueError) as exc:
            log.warning("settlement sync of %s failed: %s", account.pk, exc)
            totals["failed"] += 1
            continue
        totals["accounts"] += 1
        for name, value in counts.items():
            totals[name] += value
    return totals


def _batch_totals(batch, currency: str) -> tuple[int, int]:
    sales = batch.total("sale", currency).amount_minor + batch.total("auth", currency).amount_minor
    refunds = batch.total("refund", currency).amount_minor + batch.total("credit", currency).amount_minor
    return sales, refunds


@transaction.atomic
def _apply_batch(*, gateway_account, batch) -> tuple[bool, int]:
    merchant = gateway_account.merchant
    currencies = Counter(t.currency for t in batch.transactions)
    currency = currencies.most_common(1)[0][0] if currencies else merchant.settlement_currency
    sales, refunds = _batch_totals(batch, currency)
    row, created = SettlementBatch.objects.get_or_create(
        gateway_account=gateway_account, gateway_batch_id=batch.batch_id,
        defaults={"merchant": merchant, "livemode": gateway_account.livemode, "closed_at": batch.closed_at,
                  "transaction_count": len(batch.transactions), "currency": currency, "sales_minor": sales,
                  "refunds_minor": refunds, "synced_at": now()})
    gateway_ids = {t.transaction_id for t in batch.transactions if t.transaction_id}
    waiting = (Transaction.objects.select_for_update(of=("self",))
               .filter(merchant=merchant, livemode=gateway_account.livemode, type__in=SETTLED_TYPES,
                       gateway_transaction_id__in=gateway_ids, settlement_batch__isnull=True)
               .exclude(payment__status=Payment.Status.VOIDED)  # belt and braces: a voided sale never settles
               .order_by("pk"))
    rows = list(waiting.values_list("pk", "type", "payment_id"))
    if not rows:
        return created, 0
    available_on = available_on_for(gateway_account=gateway_account, settled_at=row.closed_at)
    stamped = Transaction.objects.filter(pk__in=[pk for pk, _, _ in rows], settlement_batch__isnull=True).update(
        settlement_batch=row, settled_at=row.closed_at, available_on=available_on)
    sale_payments = sorted({payment_id for _, kind, payment_id in rows
                            if kind in (Transaction.Type.SALE, Transaction.Type.CAPTURE)})
    Payment.objects.filter(pk__in=sale_payments, settled_at__isnull=True).update(settled_at=row.closed_at,
                                                                                 updated_at=now())
    return created, stamped

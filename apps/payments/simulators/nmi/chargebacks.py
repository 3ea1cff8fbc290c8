"""Injected chargebacks: the issuer disputes a settled (or pending) sale.

NMI reports chargebacks through its Query API and the `chargeback.batch.complete` webhook
(protocols.md §1.8/§1.9); the exact Query fields are not public, so the simulator shows a chargeback as
an `<action>` of the disputed transaction with `action_type` `chargeback` (and `chargeback_reversal`
when the merchant wins, `chargeback_lost` when the issuer's decision stands), carrying `<reason_code>`
[GUESS, simulator extensions: without the `chargeback_lost` action a poller could not tell a lost
chargeback from one still open].
"""
from __future__ import annotations

from django.db import transaction
from django.db.models import Sum

from apps.core.clock import now

from . import webhooks
from .models import SimAccount, SimAction, SimChargeback, SimTransaction
from .protocol import new_numeric_id


class ChargebackError(ValueError):
    pass


@transaction.atomic
def inject_chargeback(transaction_id: str, reason_code: str = "10.4", amount_minor: int | None = None, *,
                      notify: bool = True) -> SimChargeback:
    """Records a chargeback against `transaction_id` (full captured amount unless `amount_minor`)."""
    txn = SimTransaction.objects.select_related("account").filter(transaction_id=transaction_id).first()
    if txn is None:
        raise ChargebackError(f"no transaction {transaction_id}")
    SimAccount.objects.select_for_update().get(pk=txn.account_id)
    txn.refresh_from_db()
    if txn.type not in (SimTransaction.Type.SALE, SimTransaction.Type.AUTH) or txn.condition not in (
            SimTransaction.Condition.PENDING_SETTLEMENT, SimTransaction.Condition.COMPLETE):
        raise ChargebackError(f"transaction {transaction_id} ({txn.type}, {txn.condition}) cannot be charged back")
    disputed = txn.chargebacks.exclude(status=SimChargeback.Status.WON).aggregate(total=Sum("amount_minor"))["total"] or 0
    available = txn.settle_amount_minor - disputed
    amount = available if amount_minor is None else amount_minor
    if amount <= 0 or amount > available:
        raise ChargebackError(f"chargeback amount must be between 1 and {available} minor units")
    moment = now()
    chargeback = SimChargeback.objects.create(transaction=txn, chargeback_id=new_numeric_id(10), reason_code=reason_code,
                                              amount_minor=amount, currency=txn.currency, received_at=moment)
    SimAction.objects.create(transaction=txn, action_type="chargeback", amount_minor=amount, date=moment, success=True,
                             response_code="100", response_text=f"Chargeback {reason_code}", reason_code=reason_code,
                             source="internal")
    if notify:
        webhooks.send_on_commit(txn.account, "chargeback.batch.complete", webhooks.chargeback_body(chargeback))
    return chargeback


@transaction.atomic
def chargeback_resolve(chargeback_id: str, *, won: bool, notify: bool = True) -> SimChargeback:
    """The dispute's outcome at the acquirer: won returns the money (a `chargeback_reversal` action); lost
    is recorded as a `chargeback_lost` action (simulator extension) so the Query API can show it."""
    chargeback = SimChargeback.objects.select_for_update().select_related("transaction__account").filter(
        chargeback_id=chargeback_id).first()
    if chargeback is None:
        raise ChargebackError(f"no chargeback {chargeback_id}")
    if chargeback.status != SimChargeback.Status.OPEN:
        return chargeback
    moment = now()
    chargeback.status = SimChargeback.Status.WON if won else SimChargeback.Status.LOST
    chargeback.resolved_at = moment
    chargeback.save(update_fields=["status", "resolved_at"])
    SimAction.objects.create(transaction=chargeback.transaction,
                             action_type="chargeback_reversal" if won else "chargeback_lost",
                             amount_minor=chargeback.amount_minor, date=moment, success=True, response_code="100",
                             response_text="Chargeback reversed" if won else "Chargeback lost",
                             reason_code=chargeback.reason_code, source="internal")
    if notify:
        webhooks.send_on_commit(chargeback.transaction.account, "chargeback.batch.complete",
                                webhooks.chargeback_body(chargeback))
    return chargeback

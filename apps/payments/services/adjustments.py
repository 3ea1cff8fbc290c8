"""Ledger adjustments: signed corrections and reserves an operator records against a merchant's balance
(page 047: "adjustments (corrections or reserves)"). An adjustment is a ledger row of type `adjustment`,
available for payout at once and paid out (or debited) with the next payout: net = … ± adjustments."""
from __future__ import annotations

from django.db import transaction

from apps.core.actors import Actor
from apps.core.clock import now
from apps.core.errors import NotFound, ValidationFailed
from apps.core.events import emit_event
from apps.core.money import Money
from apps.core.tenancy import Tenant

from ..models import Payment, Transaction
from ..payloads import transaction_payload
from .payments import gateway_account_for
from .settlement import available_on_for

__all__ = ["adjustment_create"]


def adjustment_create(*, tenant: Tenant, actor: Actor, amount: Money, description: str,
                      payment: Payment | None = None, request_id: str = "") -> Transaction:
    """Records a signed adjustment (+ credits the merchant, − debits it) in the merchant's settlement currency,
    optionally about one payment. It joins the next payout."""
    fields: dict[str, list[str]] = {}
    description = (description or "").strip()
    if not description:
        fields["description"] = ["is required: say why the balance changes"]
    elif len(description) > 200:
        fields["description"] = ["must be at most 200 characters"]
    if not isinstance(amount, Money) or amount.amount_minor == 0:
        fields["amount"] = ["must be a non-zero amount"]
    elif amount.currency != tenant.merchant.settlement_currency:
        fields["amount"] = [f"must be in {tenant.merchant.settlement_currency}, the settlement currency"]
    if payment is not None and (payment.merchant_id != tenant.merchant.pk or payment.livemode != tenant.livemode):
        raise NotFound(f"No such payment: '{payment.pk}'", param="payment_id")
    if fields:
        raise ValidationFailed(next(f"{k}: {v[0]}" for k, v in fields.items()), fields=fields)
    account = gateway_account_for(tenant)  # its payout schedule decides the payout date
    moment = now()
    with transaction.atomic():
        adjustment = Transaction.objects.create(
            merchant=tenant.merchant, livemode=tenant.livemode, type=Transaction.Type.ADJUSTMENT,
            amount_minor=amount.amount_minor, currency=amount.currency, payment=payment, description=description,
            settled_at=moment, available_on=available_on_for(gateway_account=account, settled_at=moment))
        emit_event(tenant=tenant, type="balance.adjustment_created", data=transaction_payload(adjustment),
                   actor=actor, request_id=request_id)
    return adjustment

"""Event handlers of the billing app (run once per committed event, apps.core.events)."""
from __future__ import annotations

import logging

from apps.core.actors import Actor
from apps.core.errors import DomainError
from apps.core.models import Event

log = logging.getLogger("revkeen.billing")


def apply_invoice_payments(event: Event) -> None:
    """A card payment for an invoice that succeeded after the request that started it (the reconciler
    found a lost answer, or 3-D Secure completed): apply it. Idempotent, so the synchronous path and
    this one never apply it twice."""
    if event.type != "payment.succeeded" or not (event.data or {}).get("invoice_id"):
        return
    from apps.payments.models import Payment

    from .services import invoice_apply_card_payment

    payment = Payment.objects.filter(pk=event.data.get("id")).first()
    if payment is None:
        return
    try:
        invoice_apply_card_payment(payment=payment, actor=Actor.system("payment follow-up"))
    except DomainError:
        log.exception("payment %s could not be applied to invoice %s", payment.pk, payment.invoice_id)

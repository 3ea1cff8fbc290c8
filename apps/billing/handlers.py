"""Event handlers of the billing app (run once per committed event, apps.core.events)."""
from __future__ import annotations

import logging

from apps.core.actors import Actor
from apps.core.errors import DomainError
from apps.core.models import Event

log = logging.getLogger("revkeen.billing")


def note_invoice_payment_failures(event: Event) -> None:
    """Every failed card attempt on an invoice becomes `invoice.payment_failed`, once (one payment.failed
    event per payment), whether it was declined in the request, after 3-D Secure or by the reconciler."""
    if event.type != "payment.failed" or not (event.data or {}).get("invoice_id"):
        return
    from apps.payments.models import Payment

    from .services import invoice_note_payment_failure

    payment = Payment.objects.filter(pk=event.data.get("id")).first()
    if payment is not None:
        invoice_note_payment_failure(payment=payment, actor=Actor.system("payment follow-up"),
                                     request_id=event.request_id)


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

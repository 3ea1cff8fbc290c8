"""Event handlers of the checkout app (run once per committed event, apps.core.events)."""
from __future__ import annotations

from apps.core.actors import Actor
from apps.core.models import Event


def complete_paid_checkouts(event: Event) -> None:
    """A checkout's invoice paid after the request that started it (3-D Secure, the reconciler): complete
    the session. Idempotent: the synchronous path and this one complete it once."""
    if event.type != "invoice.paid" or event.data.get("source") != "checkout":
        return
    from apps.billing.models import Invoice

    from .services import checkout_session_complete_paid

    invoice = Invoice.objects.filter(pk=event.data.get("id")).first()
    if invoice is not None:
        checkout_session_complete_paid(invoice=invoice, actor=Actor.system("payment follow-up"))

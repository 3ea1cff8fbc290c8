"""Paying one invoice twice at once (double click, two tabs, a retry racing the first try) charges once."""
from __future__ import annotations

import threading

import pytest
from django.db import connection

from apps.billing import services
from apps.billing.models import Invoice, InvoicePayment
from apps.core.errors import DomainError
from apps.payments.models import Payment
from apps.payments.simulators.nmi.models import SimTransaction
from tests.conftest import is_postgres
from tests.factories import make_customer

pytestmark = [pytest.mark.concurrency, pytest.mark.django_db(transaction=True),
              pytest.mark.skipif(not is_postgres(), reason="row locks need PostgreSQL")]


def test_eight_concurrent_pays_charge_the_card_once(gateway_sandbox, actor):
    customer = make_customer(gateway_sandbox, currency="USD")
    invoice = services.invoice_create(
        tenant=gateway_sandbox, actor=actor, customer=customer,
        lines=[services.LineInput(description="Annual licence", unit_amount_minor=120_00, tax_exempt=True)])
    invoice = services.invoice_finalize(tenant=gateway_sandbox, actor=actor, invoice=invoice)
    barrier = threading.Barrier(8)
    outcomes: list[str] = []

    def pay():
        try:
            barrier.wait()
            services.invoice_pay(tenant=gateway_sandbox, actor=actor, invoice=Invoice.objects.get(pk=invoice.pk),
                                 payment_token="tok_visa")
            outcomes.append("paid")
        except DomainError as exc:
            outcomes.append(exc.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=pay) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count("paid") == 1, outcomes
    assert set(outcomes) - {"paid"} <= {"invoice_payment_in_progress", "invoice_not_payable"}
    invoice.refresh_from_db()
    assert invoice.status == "paid" and invoice.amount_paid_minor == 120_00
    assert Payment.objects.filter(invoice_id=invoice.pk).count() == 1
    assert InvoicePayment.objects.filter(invoice=invoice).count() == 1
    attempts = Payment.objects.filter(invoice_id=invoice.pk).values_list("attempt_id", flat=True)
    assert SimTransaction.objects.filter(orderid__in=list(attempts)).count() == 1

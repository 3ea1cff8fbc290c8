"""`manage.py load_demo` gives Northwind invoices in every status of page 024, their orders (shipped with
tracking, delivered, digital) and credit notes (a partial refund, a customer balance credit), all through
the services: numbers are gapless and follow the issue dates, and a second run writes nothing."""
from __future__ import annotations

import re
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse

from apps.accounts.demo import OWNER_EMAIL
from apps.accounts.models import Merchant, User
from apps.billing.models import (
    CreditNote,
    CustomerBalanceTransaction,
    Invoice,
    InvoicePayment,
    InvoiceStatus,
    Order,
    TaxRate,
)
from apps.catalog.models import Entitlement
from apps.core.clock import now
from apps.core.models import Event

pytestmark = pytest.mark.django_db


def load() -> str:
    out = StringIO()
    call_command("load_demo", stdout=out)
    return out.getvalue()


def _gapless(numbers: list[str]) -> None:
    """Per prefix and year: 1..N, no gap, no duplicate."""
    by_period: dict[str, list[int]] = {}
    for number in numbers:
        head, _, digits = number.rpartition("-")
        assert re.fullmatch(r"\d+", digits), number
        by_period.setdefault(head, []).append(int(digits))
    for head, values in by_period.items():
        assert sorted(values) == list(range(1, len(values) + 1)), (head, sorted(values))


def test_demo_billing_has_every_status_gapless_numbers_and_a_second_run_writes_nothing(client):
    text = load()
    assert "Demo invoices:" in text
    merchant = Merchant.objects.get(name="Northwind Coffee Roasters")
    invoices = Invoice.objects.filter(merchant=merchant, livemode=False)
    assert set(invoices.values_list("status", flat=True)) == set(InvoiceStatus.values)
    assert invoices.filter(status="paid", payments_applied__method="card").exists()
    assert invoices.filter(status="paid", payments_applied__method="bank_transfer").exists()
    overdue = invoices.get(status="overdue")
    assert overdue.due_date < overdue.updated_at.date()

    issued = invoices.exclude(number="").order_by("finalized_at")
    _gapless(list(issued.values_list("number", flat=True)))
    assert list(issued.values_list("number", flat=True)) == sorted(issued.values_list("number", flat=True))
    assert invoices.filter(status__in=["draft", "pending_approval"], number="").count() == 2
    notes = CreditNote.objects.filter(merchant=merchant, livemode=False)
    _gapless(list(notes.values_list("number", flat=True)))

    # Spread over the last three months.
    days = {invoice.created_at.date() for invoice in invoices}
    assert (max(days) - min(days)).days >= 80

    vat = TaxRate.objects.get(merchant=merchant, livemode=False, name="VAT", country="GB")
    assert vat.percentage == 20 and invoices.filter(lines__tax_rate=vat, tax_minor__gt=0).exists()
    for invoice in invoices.exclude(status="draft"):
        assert invoice.total_minor == invoice.subtotal_minor - invoice.discount_minor + invoice.tax_minor
    assert not merchant.invoice_settings.require_approval and merchant.invoice_settings.tax_id

    orders = Order.objects.filter(merchant=merchant, livemode=False)
    shipped = orders.get(lines__fulfillment_status="shipped")
    assert shipped.tracking_number and shipped.status == "partially_fulfilled"
    assert orders.filter(status="fulfilled", lines__fulfillment_type="physical").exists()
    assert orders.filter(lines__fulfillment_type="digital").exists()
    assert Entitlement.objects.filter(merchant=merchant, source_reference__in=orders.values("pk")).exists()

    assert notes.filter(credit_method="refund_to_payment_method", invoice__status="paid").exists()  # partial
    assert invoices.get(status="refunded").credit_notes.get().credit_method == "refund_to_payment_method"
    balance = notes.get(credit_method="customer_balance")
    assert CustomerBalanceTransaction.objects.filter(credit_note=balance, amount_minor=balance.amount_minor).exists()
    assert invoices.get(status="partially_paid").amount_paid_minor < invoices.get(status="partially_paid").total_minor

    # The pages show the demo (and cost what they cost with any data).
    client.force_login(User.objects.get(email=OWNER_EMAIL))
    listing = client.get(reverse("dashboard:orders"))
    assert listing.status_code == 200 and len(listing.context["rows"]) == orders.count()
    detail = client.get(reverse("dashboard:order_detail", args=[shipped.pk]))
    assert detail.status_code == 200 and shipped.tracking_number in detail.content.decode()
    assert b"VAT" in client.get(reverse("dashboard:tax_rates")).content
    year = now().year
    this_year = issued.filter(number__startswith=f"INV-{year}-").count()
    assert client.get(reverse("dashboard:settings_invoices")).context["next_invoice"] == \
        f"INV-{year}-{this_year + 1:05d}"

    billing_events = Event.objects.filter(type__regex=r"^(invoice|order|credit_note|tax_rate|invoice_settings)[._]")
    counts = (invoices.count(), orders.count(), notes.count(), InvoicePayment.objects.count(), billing_events.count(),
              TaxRate.objects.count(), Entitlement.objects.count())
    load()
    assert (invoices.count(), orders.count(), notes.count(), InvoicePayment.objects.count(), billing_events.count(),
            TaxRate.objects.count(), Entitlement.objects.count()) == counts

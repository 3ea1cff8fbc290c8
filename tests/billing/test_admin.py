"""Operators' console for billing: every model's list and change page answer (read-only), money is
formatted, inlines show the lines, search works, and the pages cost the same queries for few and many rows."""
from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.admin.utils import quote
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.billing import services
from apps.billing.models import (
    CreditNote,
    CreditNoteLine,
    CreditNoteReversal,
    CustomerBalanceTransaction,
    Invoice,
    InvoiceComment,
    InvoiceLine,
    InvoicePayment,
    InvoiceReminder,
    InvoiceSettings,
    NumberSequence,
    Order,
    OrderLine,
    TaxRate,
)
from apps.core.actors import Actor
from apps.core.money import Money
from tests.factories import make_customer, make_price, make_product

pytestmark = pytest.mark.django_db
ACTOR = Actor.system("tests")
MODELS = [Invoice, InvoicePayment, Order, CreditNote, CustomerBalanceTransaction, InvoiceSettings, TaxRate,
          NumberSequence]


def populate(sandbox, n=1):
    rate = TaxRate.objects.filter(merchant=sandbox.merchant).first() or services.tax_rate_create(
        tenant=sandbox, actor=ACTOR, name="VAT", percentage=Decimal("20"), country=sandbox.merchant.country)
    for i in range(n):
        beans = make_product(sandbox, name=f"Beans {i}", fulfillment_type="physical")
        price = make_price(sandbox, beans, currency="GBP", unit_amount_minor=1250)
        customer = make_customer(sandbox, name=f"Ada {i}", currency="GBP",
                                 billing_address={"line1": "1 High St", "city": "London",
                                                  "country": sandbox.merchant.country})
        invoice = services.invoice_create(tenant=sandbox, actor=ACTOR, customer=customer, lines=[
            services.LineInput(price=price, quantity=2, tax_rate=rate),
            services.LineInput(description="Delivery", unit_amount_minor=495, tax_rate=rate)])
        invoice = services.invoice_finalize(tenant=sandbox, actor=ACTOR, invoice=invoice)
        services.invoice_comment_add(tenant=sandbox, actor=ACTOR, invoice=invoice, body="Called about delivery")
        InvoiceReminder.objects.create(merchant=sandbox.merchant, livemode=False, invoice=invoice, kind="manual",
                                       sent_to=customer.email)
        services.invoice_record_payment(tenant=sandbox, actor=ACTOR, invoice=invoice, method="bank_transfer",
                                        reference=f"BACS {i}")
        invoice.refresh_from_db()
        services.credit_note_create(tenant=sandbox, actor=ACTOR, invoice=invoice, amount=Money(600, "GBP"),
                                    credit_method="refund_to_payment_method", reason="order_change")
        services.credit_note_create(tenant=sandbox, actor=ACTOR, invoice=invoice, amount=Money(500, "GBP"),
                                    credit_method="customer_balance", reason="service_credit")


def urls(model):
    info = (model._meta.app_label, model._meta.model_name)
    first = model._base_manager.order_by("pk").first()
    return (reverse("admin:{}_{}_changelist".format(*info)),
            reverse("admin:{}_{}_change".format(*info), args=[quote(first.pk)]))


def _queries(client, url, params=None):
    client.get(url, params or {})
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, params or {})
    assert response.status_code == 200, (url, response.status_code)
    return len(ctx.captured_queries), response


def test_every_billing_model_is_registered():
    from django.contrib import admin

    for model in (*MODELS, InvoiceLine, InvoiceComment, InvoiceReminder, OrderLine, CreditNoteLine,
                  CreditNoteReversal):
        assert model in admin.site._registry or any(
            model in [inline.model for inline in admin_cls.inlines] for admin_cls in admin.site._registry.values()), model


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_pages_answer_are_read_only_and_do_not_grow_with_rows(admin_client, sandbox, model):
    populate(sandbox, 1)
    changelist, change = urls(model)
    few = (_queries(admin_client, changelist)[0], _queries(admin_client, change)[0])
    populate(sandbox, 3)
    assert (_queries(admin_client, changelist)[0], _queries(admin_client, change)[0]) == few
    assert admin_client.get(changelist, {"q": "nothing-matches"}).status_code == 200
    info = (model._meta.app_label, model._meta.model_name)
    assert admin_client.get(reverse("admin:{}_{}_add".format(*info))).status_code == 403
    assert admin_client.post(change, {}).status_code == 403


def test_money_is_formatted_inlines_show_lines_and_search_works(admin_client, sandbox):
    populate(sandbox, 1)
    invoice = Invoice.objects.get()
    _, page = _queries(admin_client, reverse("admin:billing_invoice_change", args=[quote(invoice.pk)]))
    body = page.content.decode()
    # 2 × £12.50 + £4.95 = £29.95, VAT 20 % = £5.99 → £35.94
    assert "£35.94" in body and "£5.99" in body and "£29.95" in body and "£25.00" in body
    assert "Delivery" in body and "BACS 0" in body and "Called about delivery" in body
    assert invoice.hosted_token not in body
    assert CreditNote.objects.filter(invoice=invoice).count() == 2
    assert "£6.00" in body and "£5.00" in body

    order = Order.objects.get()
    _, order_page = _queries(admin_client, reverse("admin:billing_order_change", args=[quote(order.pk)]))
    assert "£25.00" in order_page.content.decode() and "Beans 0" in order_page.content.decode()

    note = CreditNote.objects.get(credit_method="refund_to_payment_method")
    _, note_page = _queries(admin_client, reverse("admin:billing_creditnote_change", args=[quote(note.pk)]))
    assert "£6.00" in note_page.content.decode() and "Returned outside RevKeen" in note_page.content.decode()

    found = admin_client.get(reverse("admin:billing_invoice_changelist"), {"q": invoice.number})
    assert found.context["cl"].result_count == 1
    assert admin_client.get(reverse("admin:billing_order_changelist"),
                            {"q": invoice.number}).context["cl"].result_count == 1

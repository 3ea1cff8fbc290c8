"""Invoice services on PostgreSQL: drafts, totals with tax, finalization, payments (card and outside)."""
from __future__ import annotations

from decimal import Decimal

import pytest

from apps.billing import services
from apps.billing.models import Invoice, InvoicePayment, TaxRate
from apps.core.errors import BusinessRuleViolation, InvalidTransition, PaymentDeclined, ValidationFailed
from apps.core.money import Money
from tests.factories import make_customer, make_price, make_product

pytestmark = pytest.mark.django_db


def adjustment(description="Consulting", unit=10_000, quantity=1, **extra):
    return services.LineInput(description=description, unit_amount_minor=unit, quantity=quantity, **extra)


@pytest.fixture
def vat(sandbox):
    return TaxRate.objects.create(merchant=sandbox.merchant, livemode=False, name="VAT", percentage=Decimal("20"),
                                  country=sandbox.merchant.country)


@pytest.fixture
def customer(sandbox):
    return make_customer(sandbox, name="Ada Lovelace", currency="GBP",
                         billing_address={"line1": "1 High St", "city": "London", "country": sandbox.merchant.country})


def test_draft_totals_tax_and_number_on_finalize(sandbox, actor, customer, vat):
    invoice = services.invoice_create(tenant=sandbox, actor=actor, customer=customer,
                                      lines=[adjustment(unit=3333, quantity=3, tax_rate=vat), adjustment("Fee", 100, tax_exempt=True)])
    assert invoice.status == "draft" and invoice.number == ""
    assert invoice.subtotal_minor == 3333 * 3 + 100
    assert invoice.tax_minor == 2000  # 20 % of 9999 = 1999.8 → 2000; the exempt fee adds nothing
    assert invoice.total_minor == 9999 + 100 + 2000
    invoice = services.invoice_finalize(tenant=sandbox, actor=actor, invoice=invoice)
    year = invoice.finalized_at.year
    assert invoice.status == "approved" and invoice.number == f"INV-{year}-00001"
    assert invoice.customer_name == "Ada Lovelace" and invoice.due_date is not None
    with pytest.raises(BusinessRuleViolation):
        services.invoice_lines_add(tenant=sandbox, actor=actor, invoice=invoice, lines=[adjustment()])


def test_snapshot_survives_customer_edit(sandbox, actor, customer):
    invoice = services.invoice_create(tenant=sandbox, actor=actor, customer=customer, lines=[adjustment()])
    services.invoice_finalize(tenant=sandbox, actor=actor, invoice=invoice)
    customer.name = "Someone Else"
    customer.save()
    assert Invoice.objects.get(pk=invoice.pk).customer_name == "Ada Lovelace"


def test_outside_payments_partial_then_paid(sandbox, actor, customer):
    invoice = services.invoice_create(tenant=sandbox, actor=actor, customer=customer, lines=[adjustment(unit=5000)])
    invoice = services.invoice_finalize(tenant=sandbox, actor=actor, invoice=invoice)
    services.invoice_record_payment(tenant=sandbox, actor=actor, invoice=invoice, amount=Money(2000, "GBP"),
                                    method="cash", reference="till 4")
    invoice.refresh_from_db()
    assert invoice.status == "partially_paid" and invoice.amount_remaining_minor == 3000
    with pytest.raises(ValidationFailed):
        services.invoice_record_payment(tenant=sandbox, actor=actor, invoice=invoice, amount=Money(3001, "GBP"))
    services.invoice_record_payment(tenant=sandbox, actor=actor, invoice=invoice, method="bank_transfer")
    invoice.refresh_from_db()
    assert invoice.status == "paid" and invoice.amount_paid_minor == 5000 and invoice.paid_at
    with pytest.raises(BusinessRuleViolation):
        services.invoice_void(tenant=sandbox, actor=actor, invoice=invoice)


def test_refused_transitions(sandbox, actor, customer):
    invoice = services.invoice_create(tenant=sandbox, actor=actor, customer=customer, lines=[adjustment()])
    with pytest.raises(InvalidTransition):
        services.invoice_mark_uncollectible(tenant=sandbox, actor=actor, invoice=invoice)
    with pytest.raises(InvalidTransition):
        services.invoice_reject(tenant=sandbox, actor=actor, invoice=invoice)
    services.invoice_finalize(tenant=sandbox, actor=actor, invoice=invoice)
    services.invoice_void(tenant=sandbox, actor=actor, invoice=invoice)
    with pytest.raises(BusinessRuleViolation):
        services.invoice_delete(tenant=sandbox, actor=actor, invoice=invoice)


@pytest.mark.django_db(transaction=True)
def test_card_payment_through_the_gateway(gateway_sandbox, actor):
    customer = make_customer(gateway_sandbox, currency="USD")
    product = make_product(gateway_sandbox, name="Widget box", fulfillment_type="physical")
    price = make_price(gateway_sandbox, product, unit_amount_minor=2500)
    invoice = services.invoice_create(tenant=gateway_sandbox, actor=actor, customer=customer,
                                      lines=[services.LineInput(price=price, quantity=2)])
    invoice = services.invoice_finalize(tenant=gateway_sandbox, actor=actor, invoice=invoice)
    with pytest.raises(PaymentDeclined):
        services.invoice_pay(tenant=gateway_sandbox, actor=actor, invoice=invoice, payment_token="tok_decline_200")
    result = services.invoice_pay(tenant=gateway_sandbox, actor=actor, invoice=invoice, payment_token="tok_visa")
    assert result.payment.status == "succeeded" and result.invoice.status == "paid"
    assert InvoicePayment.objects.get(invoice=invoice).payment_id == result.payment.pk
    assert result.invoice.order.lines.get().quantity == 2

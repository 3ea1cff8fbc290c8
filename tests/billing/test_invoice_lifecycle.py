"""Invoice services on PostgreSQL: drafts, totals with tax, finalization, payments (card and outside)."""
from __future__ import annotations

from decimal import Decimal

import pytest

from apps.billing import services
from apps.billing.models import Invoice, InvoicePayment
from apps.core.errors import (
    BusinessRuleViolation,
    Conflict,
    InvalidTransition,
    PaymentDeclined,
    ValidationFailed,
)
from apps.core.money import Money
from tests.factories import make_customer, make_price, make_product

pytestmark = pytest.mark.django_db


def adjustment(description="Consulting", unit=10_000, quantity=1, **extra):
    return services.LineInput(description=description, unit_amount_minor=unit, quantity=quantity, **extra)


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
    from apps.core.models import Event

    failed = Event.objects.get(type="invoice.payment_failed", object_id=invoice.pk)  # exactly one, the dunning entry
    assert failed.data["last_payment_error"]["decline_code"] == "200" and failed.data["status"] == "approved"
    result = services.invoice_pay(tenant=gateway_sandbox, actor=actor, invoice=invoice, payment_token="tok_visa")
    assert result.payment.status == "succeeded" and result.invoice.status == "paid"
    assert InvoicePayment.objects.get(invoice=invoice).payment_id == result.payment.pk
    assert result.invoice.order.lines.get().quantity == 2


def test_approval_workflow_reject_then_approve(sandbox, actor, customer):
    settings = services.invoice_settings_for(sandbox.merchant)
    settings.require_approval = True
    settings.save()
    invoice = services.invoice_create(tenant=sandbox, actor=actor, customer=customer, lines=[adjustment()])
    invoice = services.invoice_finalize(tenant=sandbox, actor=actor, invoice=invoice)
    assert invoice.status == "pending_approval" and invoice.number == ""
    with pytest.raises(BusinessRuleViolation):
        services.invoice_send(tenant=sandbox, actor=actor, invoice=Invoice.objects.get(pk=invoice.pk))
    # Still editable while pending approval; the approver sends it back with a note.
    services.invoice_lines_add(tenant=sandbox, actor=actor, invoice=invoice, lines=[adjustment("Travel", 2500)])
    invoice = services.invoice_reject(tenant=sandbox, actor=actor, invoice=invoice, note="Travel is not billable")
    assert invoice.status == "draft" and invoice.rejection_note == "Travel is not billable"
    invoice = services.invoice_finalize(tenant=sandbox, actor=actor, invoice=invoice)
    invoice = services.invoice_approve(tenant=sandbox, actor=actor, invoice=invoice)
    assert invoice.status == "approved" and invoice.number.endswith("-00001") and invoice.approved_by == "tests"


def test_draft_edits_recompute_and_bump_the_revision(sandbox, actor, customer, vat):
    invoice = services.invoice_create(tenant=sandbox, actor=actor, customer=customer,
                                      lines=[adjustment(unit=1000, tax_rate=vat)])
    first_revision = invoice.revision
    line = invoice.lines.get()
    invoice = services.invoice_line_update(tenant=sandbox, actor=actor, invoice=invoice, line_id=line.pk,
                                           line=adjustment(unit=1000, quantity=3, tax_rate=vat))
    assert (invoice.subtotal_minor, invoice.tax_minor, invoice.total_minor) == (3000, 600, 3600)
    assert invoice.revision > first_revision
    invoice = services.invoice_lines_add(tenant=sandbox, actor=actor, invoice=invoice,
                                         lines=[adjustment("Goodwill credit", -500, tax_rate=vat)])
    assert (invoice.subtotal_minor, invoice.tax_minor, invoice.total_minor) == (2500, 500, 3000)
    invoice = services.invoice_line_remove(tenant=sandbox, actor=actor, invoice=invoice, line_id=line.pk)
    assert invoice.total_minor == -600
    with pytest.raises(BusinessRuleViolation):  # a negative total is a credit note, not an invoice
        services.invoice_finalize(tenant=sandbox, actor=actor, invoice=invoice)
    assert Invoice.objects.get(pk=invoice.pk).status == "draft"


def test_discount_is_allocated_over_lines_and_redeemed_once_on_finalize(sandbox, actor, customer):
    from apps.catalog.models import DiscountRedemption
    from tests.factories import make_discount

    discount = make_discount(sandbox, percent_off=Decimal("10"))
    invoice = services.invoice_create(tenant=sandbox, actor=actor, customer=customer, discount=discount,
                                      lines=[adjustment(unit=333, tax_exempt=True), adjustment(unit=667, tax_exempt=True)])
    assert (invoice.subtotal_minor, invoice.discount_minor, invoice.total_minor) == (1000, 100, 900)
    assert sorted(invoice.lines.values_list("discount_minor", flat=True)) == [33, 67]
    services.invoice_finalize(tenant=sandbox, actor=actor, invoice=invoice)
    assert DiscountRedemption.objects.filter(discount=discount, reference=invoice.pk).count() == 1


def test_overdue_job_is_idempotent(sandbox, actor, customer):
    import datetime

    invoice = services.invoice_create(tenant=sandbox, actor=actor, customer=customer, lines=[adjustment()],
                                      days_until_due=0)
    invoice = services.invoice_finalize(tenant=sandbox, actor=actor, invoice=invoice)
    later = invoice.due_date + datetime.timedelta(days=1)
    assert services.invoices_mark_overdue(as_of=invoice.due_date) == 0
    assert services.invoices_mark_overdue(as_of=later) == 1
    assert services.invoices_mark_overdue(as_of=later) == 0
    invoice.refresh_from_db()
    assert invoice.status == "overdue"
    services.invoice_record_payment(tenant=sandbox, actor=actor, invoice=invoice, method="cash")
    invoice.refresh_from_db()
    assert invoice.status == "paid"


def test_zero_total_invoice_is_paid_on_finalize(sandbox, actor, customer):
    invoice = services.invoice_create(tenant=sandbox, actor=actor, customer=customer,
                                      lines=[adjustment(unit=0, tax_exempt=True)])
    invoice = services.invoice_finalize(tenant=sandbox, actor=actor, invoice=invoice)
    assert invoice.status == "paid"


def test_bad_line_input_writes_nothing(sandbox, actor, customer):
    before = Invoice.objects.count()
    with pytest.raises(ValidationFailed) as caught:
        services.invoice_create(tenant=sandbox, actor=actor, customer=customer,
                                lines=[adjustment(), services.LineInput(description="", unit_amount_minor=None)])
    assert set(caught.value.details["fields"]) == {"lines[1].description", "lines[1].unit_amount_minor"}
    assert Invoice.objects.count() == before


@pytest.mark.django_db(transaction=True)
def test_three_ds_payment_completed_later_is_applied_once(gateway_sandbox, actor):
    import httpx

    from apps.payments import services as payments
    from apps.payments.models import Payment

    customer = make_customer(gateway_sandbox, currency="USD")
    invoice = services.invoice_create(tenant=gateway_sandbox, actor=actor, customer=customer, currency="USD",
                                      lines=[adjustment(unit=4200, tax_exempt=True)])
    invoice = services.invoice_finalize(tenant=gateway_sandbox, actor=actor, invoice=invoice)
    result = services.invoice_pay(tenant=gateway_sandbox, actor=actor, invoice=invoice, payment_token="tok_3ds")
    assert result.payment.status == "requires_action" and result.invoice.status == "approved"
    with pytest.raises(Exception) as busy:  # a second attempt while the first waits for the customer
        services.invoice_pay(tenant=gateway_sandbox, actor=actor, invoice=invoice, payment_token="tok_visa")
    assert getattr(busy.value, "code", "") == "invoice_payment_in_progress"
    with pytest.raises(Conflict):  # the customer may still finish the challenge: no void under a live attempt
        services.invoice_void(tenant=gateway_sandbox, actor=actor, invoice=invoice)
    with pytest.raises(Conflict):
        services.invoice_record_payment(tenant=gateway_sandbox, actor=actor, invoice=invoice, method="cash")
    httpx.post(result.payment.action_url, data={"action": "complete", "return_url": "https://shop.example/r"})
    payment = payments.payment_complete_action(payment=Payment.objects.get(pk=result.payment.pk), actor=actor)
    assert payment.status == "succeeded"
    invoice.refresh_from_db()  # applied by the payment.succeeded handler
    assert invoice.status == "paid" and invoice.amount_paid_minor == 4200
    assert services.invoice_apply_card_payment(payment=payment, actor=actor).pk == \
        InvoicePayment.objects.get(invoice=invoice).pk
    assert InvoicePayment.objects.filter(invoice=invoice).count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_failed_three_ds_challenge_is_an_invoice_payment_failure(gateway_sandbox, actor):
    import httpx

    from apps.core.models import Event
    from apps.payments import services as payments
    from apps.payments.models import Payment

    customer = make_customer(gateway_sandbox, currency="USD")
    invoice = services.invoice_create(tenant=gateway_sandbox, actor=actor, customer=customer, currency="USD",
                                      lines=[adjustment(unit=1800, tax_exempt=True)])
    invoice = services.invoice_finalize(tenant=gateway_sandbox, actor=actor, invoice=invoice)
    result = services.invoice_pay(tenant=gateway_sandbox, actor=actor, invoice=invoice, payment_token="tok_3ds")
    assert not Event.objects.filter(type="invoice.payment_failed").exists()
    httpx.post(result.payment.action_url, data={"action": "fail", "return_url": "https://shop.example/r"})
    payment = payments.payment_complete_action(payment=Payment.objects.get(pk=result.payment.pk), actor=actor)
    assert payment.status == "failed"
    assert Event.objects.filter(type="invoice.payment_failed", object_id=invoice.pk).count() == 1
    invoice.refresh_from_db()
    assert invoice.status == "approved" and invoice.amount_remaining_minor == 1800


def test_a_succeeded_payment_not_yet_applied_blocks_a_second_charge(sandbox, actor, customer):
    """The payment's outcome and its application to the invoice are two transactions: a pay arriving in
    between must not charge again (the window a concurrent checkout completion once hit)."""
    from apps.core.ids import new_id
    from apps.payments.models import Payment

    invoice = services.invoice_finalize(tenant=sandbox, actor=actor, invoice=services.invoice_create(
        tenant=sandbox, actor=actor, customer=customer, lines=[adjustment(unit=2500, tax_exempt=True)]))
    Payment.objects.create(merchant=sandbox.merchant, livemode=False, customer=customer, amount_minor=2500,
                           currency="GBP", amount_captured_minor=2500, status="succeeded", attempt_id=new_id("pat"),
                           invoice_id=invoice.pk)
    with pytest.raises(Conflict) as busy:
        services.invoice_pay(tenant=sandbox, actor=actor, invoice=invoice, payment_token="tok_visa")
    assert busy.value.code == "invoice_payment_in_progress"

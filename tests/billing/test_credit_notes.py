"""Credit note services on PostgreSQL (no gateway): preview without side effects, the split before and after
payment, tax credited proportionally with the final sweep, invoice statuses after, the customer balance
ledger, void, the subscription hook, and Σ notes ≤ total (a Hypothesis property and real threads)."""
from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.billing import services
from apps.billing.models import (
    CreditNote,
    CreditNoteLine,
    CreditNoteReversal,
    CustomerBalanceTransaction,
    Invoice,
    InvoicePayment,
    TaxRate,
)
from apps.billing.services import credit_notes as cn_services
from apps.core.errors import BusinessRuleViolation, NotFound, ValidationFailed
from apps.core.models import Event
from apps.core.money import Money
from tests.factories import make_customer

pytestmark = pytest.mark.django_db


def line(description="Consulting", unit=10_000, quantity=1, **extra):
    return services.LineInput(description=description, unit_amount_minor=unit, quantity=quantity, **extra)


@pytest.fixture
def reduced(sandbox):
    return TaxRate.objects.create(merchant=sandbox.merchant, livemode=False, name="VAT reduced",
                                  percentage=Decimal("5"), country=sandbox.merchant.country)


@pytest.fixture
def customer(sandbox):
    return make_customer(sandbox, name="Ada Lovelace", currency="GBP",
                         billing_address={"line1": "1 High St", "city": "London", "country": sandbox.merchant.country})


def finalized(sandbox, actor, customer, lines) -> Invoice:
    invoice = services.invoice_create(tenant=sandbox, actor=actor, customer=customer, lines=lines)
    return services.invoice_finalize(tenant=sandbox, actor=actor, invoice=invoice)


def gbp(minor: int) -> Money:
    return Money(minor, "GBP")


def counts() -> tuple:
    return (CreditNote.objects.count(), CreditNoteLine.objects.count(), CreditNoteReversal.objects.count(),
            CustomerBalanceTransaction.objects.count(), Event.objects.count(),
            tuple(Invoice.objects.order_by("pk").values_list("amount_credited_minor", "amount_remaining_minor",
                                                              "status")),
            tuple(InvoicePayment.objects.order_by("pk").values_list("amount_reversed_minor", flat=True)))


def test_preview_has_no_side_effects_and_matches_create(sandbox, actor, customer, vat):
    invoice = finalized(sandbox, actor, customer, [line(unit=10_000, tax_rate=vat)])  # 120.00 incl. 20.00 VAT
    services.invoice_record_payment(tenant=sandbox, actor=actor, invoice=invoice, amount=gbp(5000), method="cash")
    before = counts()
    preview = services.credit_note_preview(tenant=sandbox, invoice=invoice, amount=gbp(9000),
                                           credit_method="refund_to_payment_method")
    assert counts() == before
    assert (preview.pre_payment, preview.post_payment, preview.tax) == (gbp(7000), gbp(2000), gbp(1500))
    assert preview.reversals[0].route == "outside" and "Cash payment" in preview.reversals[0].explanation
    assert preview.invoice_status_after == "paid" and not preview.is_final and preview.ok
    note = services.credit_note_create(tenant=sandbox, actor=actor, invoice=invoice, amount=gbp(9000),
                                       credit_method="refund_to_payment_method", reason="service_credit")
    assert note.status == "applied" and note.number.startswith("CN-") and note.tax_minor == 1500
    assert (note.pre_payment_minor, note.post_payment_minor, note.amount_reversed_minor) == (7000, 2000, 2000)
    assert sum(note.lines.values_list("amount_minor", flat=True)) == 9000
    invoice.refresh_from_db()
    assert (invoice.amount_credited_minor, invoice.amount_remaining_minor, invoice.amount_refunded_minor) == \
        (9000, 0, 2000)
    assert invoice.status == "paid"  # a partial credit that leaves nothing owed on a partly paid invoice
    assert set(Event.objects.filter(object_id=note.pk).values_list("type", flat=True)) == {
        "credit_note.created", "credit_note.issued", "credit_note.applied"}


def test_full_credit_of_unpaid_invoice_voids_it(sandbox, actor, customer):
    invoice = finalized(sandbox, actor, customer, [line(unit=4000)])
    note = services.credit_note_create(tenant=sandbox, actor=actor, invoice=invoice, credit_method="none")
    invoice.refresh_from_db()
    assert note.amount_minor == 4000 and note.is_final and note.post_payment_minor == 0
    assert invoice.status == "voided" and invoice.amount_remaining_minor == 0
    assert Event.objects.filter(type="invoice.voided", object_id=invoice.pk).exists()
    with pytest.raises(BusinessRuleViolation):
        services.credit_note_create(tenant=sandbox, actor=actor, invoice=invoice, amount=gbp(1), credit_method="none")


def test_paid_invoice_fully_credited_ends_refunded_or_voided(sandbox, actor, customer):
    paid = finalized(sandbox, actor, customer, [line(unit=3000)])
    services.invoice_record_payment(tenant=sandbox, actor=actor, invoice=paid, method="bank_transfer")
    services.credit_note_create(tenant=sandbox, actor=actor, invoice=paid, credit_method="refund_to_payment_method")
    paid.refresh_from_db()
    assert paid.status == "refunded" and paid.amount_refunded_minor == 3000
    goodwill = finalized(sandbox, actor, customer, [line(unit=3000)])
    services.invoice_record_payment(tenant=sandbox, actor=actor, invoice=goodwill, method="cash")
    services.credit_note_create(tenant=sandbox, actor=actor, invoice=goodwill, credit_method="customer_balance")
    goodwill.refresh_from_db()
    assert goodwill.status == "voided" and goodwill.amount_refunded_minor == 0
    assert services.customer_balance(customer=customer, currency="GBP") == gbp(3000)


def test_draft_and_bad_input_are_refused_and_nothing_is_written(sandbox, actor, customer, other_tenant):
    draft = services.invoice_create(tenant=sandbox, actor=actor, customer=customer, lines=[line()])
    before = counts()
    with pytest.raises(BusinessRuleViolation):
        services.credit_note_create(tenant=sandbox, actor=actor, invoice=draft, credit_method="none")
    invoice = services.invoice_finalize(tenant=sandbox, actor=actor, invoice=draft)
    before = counts()
    for kwargs in ({"amount": gbp(10_001)}, {"amount": gbp(0)}, {"amount": Money(100, "EUR")},
                   {"credit_method": "cheque"}, {"reason": "whim"}, {"cancel_subscription": True}):
        with pytest.raises(ValidationFailed):
            services.credit_note_create(tenant=sandbox, actor=actor, invoice=invoice,
                                        **{"credit_method": "none", **kwargs})
    from apps.core.tenancy import Tenant

    with pytest.raises(NotFound):
        services.credit_note_create(tenant=Tenant(other_tenant.merchant, False), actor=actor, invoice=invoice,
                                    credit_method="none")
    assert counts() == before


def test_customer_balance_note_and_its_void(sandbox, actor, customer):
    owing = finalized(sandbox, actor, customer, [line(unit=5000)])
    services.invoice_record_payment(tenant=sandbox, actor=actor, invoice=owing, amount=gbp(3000), method="cash")
    note = services.credit_note_create(tenant=sandbox, actor=actor, invoice=owing, amount=gbp(2500),
                                       credit_method="customer_balance")
    assert (note.pre_payment_minor, note.post_payment_minor) == (2000, 500)
    owing.refresh_from_db()
    assert owing.status == "paid"  # nothing owed any more: voiding the note would reopen a paid invoice
    with pytest.raises(BusinessRuleViolation, match="owe money again"):
        services.credit_note_void(tenant=sandbox, actor=actor, credit_note=note)
    assert services.customer_balance(customer=customer, currency="GBP") == gbp(500)
    assert services.customer_balance(customer=customer, currency="EUR") == Money(0, "EUR")

    invoice = finalized(sandbox, actor, customer, [line(unit=5000)])
    services.invoice_record_payment(tenant=sandbox, actor=actor, invoice=invoice, method="cash")
    note = services.credit_note_create(tenant=sandbox, actor=actor, invoice=invoice, amount=gbp(2000),
                                       credit_method="customer_balance")
    assert (note.pre_payment_minor, note.post_payment_minor) == (0, 2000)
    assert services.customer_balance(customer=customer, currency="GBP") == gbp(2500)
    voided = services.credit_note_void(tenant=sandbox, actor=actor, credit_note=note)
    assert voided.status == "voided"
    invoice.refresh_from_db()
    assert (invoice.amount_credited_minor, invoice.amount_remaining_minor, invoice.status) == (0, 0, "paid")
    assert InvoicePayment.objects.get(invoice=invoice).amount_reversed_minor == 0
    assert services.customer_balance(customer=customer, currency="GBP") == gbp(500)
    assert Event.objects.filter(type="credit_note.voided", object_id=note.pk).count() == 1
    # voiding again changes nothing
    services.credit_note_void(tenant=sandbox, actor=actor, credit_note=note)
    assert CustomerBalanceTransaction.objects.filter(credit_note=note).count() == 2


def test_void_refused_when_balance_used_or_invoice_closed(sandbox, actor, customer):
    invoice = finalized(sandbox, actor, customer, [line(unit=5000)])
    services.invoice_record_payment(tenant=sandbox, actor=actor, invoice=invoice, method="cash")
    note = services.credit_note_create(tenant=sandbox, actor=actor, invoice=invoice, amount=gbp(300),
                                       credit_method="customer_balance")
    CustomerBalanceTransaction.objects.create(merchant=sandbox.merchant, livemode=False, customer=customer,
                                              type="invoice_payment", amount_minor=-400, currency="GBP")
    with pytest.raises(BusinessRuleViolation, match="no longer covers"):
        services.credit_note_void(tenant=sandbox, actor=actor, credit_note=note)
    full = finalized(sandbox, actor, customer, [line(unit=1000)])
    last = services.credit_note_create(tenant=sandbox, actor=actor, invoice=full, credit_method="none")
    with pytest.raises(BusinessRuleViolation, match="voided"):
        services.credit_note_void(tenant=sandbox, actor=actor, credit_note=last)


def test_two_rates_and_lines_allocation(sandbox, actor, customer, vat, reduced):
    invoice = finalized(sandbox, actor, customer, [line("A", 3333, tax_rate=vat), line("B", 1001, tax_rate=reduced),
                                                   line("C", 250, tax_exempt=True)])
    total, tax = invoice.total_minor, invoice.tax_minor
    first = services.credit_note_create(tenant=sandbox, actor=actor, invoice=invoice, amount=gbp(1234),
                                        credit_method="none")
    second = services.credit_note_create(tenant=sandbox, actor=actor, invoice=invoice, credit_method="none")
    assert first.amount_minor + second.amount_minor == total and second.is_final
    assert first.tax_minor + second.tax_minor == tax
    for note in (first, second):
        assert sum(note.lines.values_list("amount_minor", flat=True)) == note.amount_minor
        assert sum(note.lines.values_list("tax_minor", flat=True)) == note.tax_minor
    assert [r["name"] for r in first.tax_by_rate] == ["VAT", "VAT reduced"]


def test_subscription_hook(sandbox, actor, customer):
    calls = []
    invoice = services.invoice_create(tenant=sandbox, actor=actor, customer=customer, lines=[line(unit=2000)],
                                      subscription_id="sub_123")
    invoice = services.invoice_finalize(tenant=sandbox, actor=actor, invoice=invoice)
    services.invoice_record_payment(tenant=sandbox, actor=actor, invoice=invoice, method="cash")
    cn_services.register_subscription_canceller(lambda **kw: calls.append(kw))
    try:
        note = services.credit_note_create(tenant=sandbox, actor=actor, invoice=invoice, cancel_subscription=True,
                                           credit_method="refund_to_payment_method")
    finally:
        cn_services.register_subscription_canceller(None)
    assert note.subscription_canceled and calls[0]["subscription_id"] == "sub_123"
    assert calls[0]["credit_note"].pk == note.pk


def test_eligibility_lists_payments_newest_first(sandbox, actor, customer):
    invoice = finalized(sandbox, actor, customer, [line(unit=6000)])
    services.invoice_record_payment(tenant=sandbox, actor=actor, invoice=invoice, amount=gbp(1000), method="cash")
    services.invoice_record_payment(tenant=sandbox, actor=actor, invoice=invoice, amount=gbp(2000), method="check")
    before = counts()
    elig = services.credit_eligibility(tenant=sandbox, invoice=invoice)
    assert counts() == before
    assert elig.eligible and elig.remaining_creditable == gbp(6000) and elig.amount_owed == gbp(3000)
    assert [p.method for p in elig.payments] == ["check", "cash"]
    assert all(p.route == "outside" and p.reversible == p.amount for p in elig.payments)
    note = services.credit_note_create(tenant=sandbox, actor=actor, invoice=invoice, amount=gbp(4500),
                                       credit_method="refund_to_payment_method")
    reversals = list(note.reversals.order_by("position"))
    assert [(r.invoice_payment.method, r.amount_minor) for r in reversals] == [("check", 1500)]
    draft = services.invoice_create(tenant=sandbox, actor=actor, customer=customer, lines=[line()])
    assert not services.credit_eligibility(tenant=sandbox, invoice=draft).eligible


# --- properties ------------------------------------------------------------------------------------
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(units=st.lists(st.tuples(st.integers(1, 50_000), st.integers(1, 3), st.sampled_from(["vat", "reduced", None])),
                      min_size=1, max_size=4),
       cuts=st.lists(st.integers(1, 10_000), min_size=0, max_size=5),
       method=st.sampled_from(["none", "customer_balance"]), paid_share=st.integers(0, 100))
def test_property_tax_sweeps_and_total_never_exceeded(sandbox, actor, customer, vat, reduced, units, cuts, method,
                                                      paid_share):
    rates = {"vat": vat, "reduced": reduced, None: None}
    invoice = finalized(sandbox, actor, customer, [line(f"L{i}", u, q, tax_rate=rates[r], tax_exempt=r is None)
                                                   for i, (u, q, r) in enumerate(units)])
    paid = invoice.total_minor * paid_share // 100
    if paid:
        services.invoice_record_payment(tenant=sandbox, actor=actor, invoice=invoice, amount=gbp(paid), method="cash")
    credited = credited_tax = 0
    for cut in cuts:
        left = invoice.total_minor - credited
        if left <= 1:
            break
        amount = 1 + cut % (left - 1)  # partial: leaves at least one minor unit
        note = services.credit_note_create(tenant=sandbox, actor=actor, invoice=invoice, amount=gbp(amount),
                                           credit_method=method)
        credited += note.amount_minor
        credited_tax += note.tax_minor
        assert credited_tax <= invoice.tax_minor and credited < invoice.total_minor
        for key in {r["key"] for r in note.tax_by_rate}:
            per_rate = sum(r["tax_minor"] for n in invoice.credit_notes.all() for r in n.tax_by_rate if r["key"] == key)
            summary = invoice.tax_summary[int(key.split(":")[0])]
            assert per_rate <= summary["tax_minor"]
    final = services.credit_note_create(tenant=sandbox, actor=actor, invoice=invoice, credit_method=method)
    assert final.is_final
    notes = list(invoice.credit_notes.all())
    assert sum(n.amount_minor for n in notes) == invoice.total_minor
    assert sum(n.tax_minor for n in notes) == invoice.tax_minor
    with pytest.raises(BusinessRuleViolation):
        services.credit_note_create(tenant=sandbox, actor=actor, invoice=invoice, amount=gbp(1), credit_method=method)
    invoice.refresh_from_db()
    assert invoice.status == "voided" and invoice.amount_credited_minor == invoice.total_minor


# --- concurrency -----------------------------------------------------------------------------------
@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_concurrent_notes_never_exceed_the_total(sandbox, actor, customer):
    invoice = finalized(sandbox, actor, customer, [line(unit=10_000)])
    threads, results, barrier = [], [], threading.Barrier(8)

    def worker():
        try:
            barrier.wait()
            note = services.credit_note_create(tenant=sandbox, actor=actor, invoice=invoice, amount=gbp(3000),
                                               credit_method="none")
            results.append(note.amount_minor)
        except (BusinessRuleViolation, ValidationFailed) as exc:
            results.append(type(exc).__name__)
        finally:
            connection.close()

    for _ in range(8):
        threads.append(threading.Thread(target=worker))
        threads[-1].start()
    for thread in threads:
        thread.join()
    assert sorted(r for r in results if isinstance(r, int)) == [3000, 3000, 3000]
    assert len([r for r in results if not isinstance(r, int)]) == 5
    invoice.refresh_from_db()
    assert invoice.amount_credited_minor == 9000 and invoice.amount_remaining_minor == 1000
    assert len(set(CreditNote.objects.values_list("number", flat=True))) == 3


def test_refunded_invoice_moves_its_order(sandbox, actor, customer):
    from apps.billing.models import Order
    from tests.factories import make_price, make_product

    product = make_product(sandbox, name="Kettle", fulfillment_type="physical")
    price = make_price(sandbox, product=product, unit_amount_minor=2500, currency="GBP")
    invoice = finalized(sandbox, actor, customer, [services.LineInput(price=price)])
    services.invoice_record_payment(tenant=sandbox, actor=actor, invoice=invoice, method="cash")
    order = Order.objects.get(invoice=invoice)
    assert order.status == "paid"
    services.credit_note_create(tenant=sandbox, actor=actor, invoice=invoice, credit_method="refund_to_payment_method")
    order.refresh_from_db()
    assert order.status == "refunded"
    assert Event.objects.filter(type="order.refunded", object_id=order.pk).exists()


def test_a_lost_refund_answer_is_finished_by_the_refund_event(sandbox, actor, customer):
    """A refund whose gateway answer was lost leaves its reversal pending and the note issued; the
    reconciler's refund.succeeded event finishes both (the handler is idempotent)."""
    from apps.core.ids import new_id
    from apps.payments.models import Payment, Refund
    from tests.payments.probes import _payment

    invoice = finalized(sandbox, actor, customer, [line(unit=1000)])
    payment = _payment(sandbox, customer=customer)
    Payment.objects.filter(pk=payment.pk).update(invoice_id=invoice.pk)
    payment.refresh_from_db()
    services.invoice_apply_card_payment(payment=payment, actor=actor)
    application = InvoicePayment.objects.get(invoice=invoice)
    refund = Refund.objects.create(merchant=sandbox.merchant, livemode=False, payment=payment, amount_minor=1000,
                                   currency="GBP", attempt_id=new_id("rat"), outcome_unknown=True)
    note = CreditNote.objects.create(merchant=sandbox.merchant, livemode=False, number="CN-TEST-1", invoice=invoice,
                                     customer=customer, credit_method="refund_to_payment_method", currency="GBP",
                                     amount_minor=1000, post_payment_minor=1000, is_final=True)
    CreditNoteReversal.objects.create(merchant=sandbox.merchant, livemode=False, credit_note=note,
                                      invoice_payment=application, payment=payment, route="refund",
                                      amount_minor=1000, currency="GBP", refund=refund)
    InvoicePayment.objects.filter(pk=application.pk).update(amount_reversed_minor=1000)
    Invoice.objects.filter(pk=invoice.pk).update(amount_credited_minor=1000)

    class FakeEvent:
        type = "refund.succeeded"
        data = {"id": refund.pk}

    cn_services.credit_note_follow_refund(FakeEvent())
    cn_services.credit_note_follow_refund(FakeEvent())
    note.refresh_from_db()
    invoice.refresh_from_db()
    assert note.status == "applied" and note.amount_reversed_minor == 1000
    assert invoice.status == "refunded" and invoice.amount_refunded_minor == 1000
    assert Event.objects.filter(type="credit_note.applied", object_id=note.pk).count() == 1

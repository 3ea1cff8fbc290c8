"""Credit notes that move card money through the real NMI adapter and simulator: LIFO over two card
payments (one settled → refund, one not → void) as the simulator's ledger shows; a partial reversal of an
unsettled payment is refused and explained; a void the gateway refuses leaves the note failed."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from apps.billing import services
from apps.billing.models import CreditNote, InvoicePayment
from apps.core.errors import BusinessRuleViolation
from apps.core.money import Money
from apps.payments.models import Payment
from apps.payments.simulators.nmi import settlement as sim_settlement
from apps.payments.simulators.nmi.models import SimAccount, SimAction, SimTransaction
from tests.factories import make_customer

pytestmark = pytest.mark.django_db(transaction=True)
NEW_YORK = ZoneInfo("America/New_York")


def ny(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 6, day, hour, minute, tzinfo=NEW_YORK)  # 10 June 2026 is a Wednesday


def gbp(minor: int) -> Money:
    return Money(minor, "GBP")


def _invoice(tenant, actor, unit=10_000):
    customer = make_customer(tenant, name="Grace Hopper", currency="GBP")
    invoice = services.invoice_create(tenant=tenant, actor=actor, customer=customer, lines=[
        services.LineInput(description="Audit", unit_amount_minor=unit)])
    return services.invoice_finalize(tenant=tenant, actor=actor, invoice=invoice)


def _pay(tenant, actor, invoice, minor):
    result = services.invoice_pay(tenant=tenant, actor=actor, invoice=invoice, payment_token="tok_visa",
                                  amount=gbp(minor))
    assert result.payment.status == "succeeded", result.payment.failure_message
    return result.payment


def _sim(payment: Payment) -> SimTransaction:
    return SimTransaction.objects.get(transaction_id=payment.gateway_transaction_id)


def test_two_card_payments_credited_in_full_newest_first_each_by_its_route(gateway_sandbox, actor):
    with time_machine.travel(ny(10, 12), tick=True) as clock:
        invoice = _invoice(gateway_sandbox, actor)
        older = _pay(gateway_sandbox, actor, invoice, 6000)
        clock.move_to(ny(10, 20, 30))  # Wednesday's batch has closed (20:00 New York): the older one settles
        assert len(sim_settlement.batches_close_due()) == 1
        assert _sim(older).condition == "complete"
        newer = _pay(gateway_sandbox, actor, invoice, 4000)  # in Thursday's batch: not settled
        invoice.refresh_from_db()
        assert invoice.status == "paid"

        preview = services.credit_note_preview(tenant=gateway_sandbox, invoice=invoice,
                                               credit_method="refund_to_payment_method")
        assert [(r.payment_id, r.route, r.amount.amount_minor) for r in preview.reversals] == [
            (newer.pk, "void", 4000), (older.pk, "refund", 6000)]
        assert "not settled yet: voided (no fees)" in preview.reversals[0].explanation
        assert "settled: refunded" in preview.reversals[1].explanation
        assert preview.invoice_status_after == "refunded" and preview.ok

        note = services.credit_note_create(tenant=gateway_sandbox, actor=actor, invoice=invoice,
                                           credit_method="refund_to_payment_method", reason="duplicate")
    assert note.status == "applied" and note.amount_reversed_minor == 10_000
    reversals = list(note.reversals.order_by("position"))
    assert [(r.payment_id, r.route, r.status) for r in reversals] == [
        (newer.pk, "void", "succeeded"), (older.pk, "refund", "succeeded")]
    assert reversals[0].void_id and reversals[1].refund_id

    # The simulator's ledger: the newer sale voided (canceled), then a refund of the settled older sale.
    sim_newer, sim_older = _sim(newer), _sim(older)
    assert sim_newer.condition == "canceled"
    void_action = SimAction.objects.get(transaction=sim_newer, action_type="void")
    refund_txn = SimTransaction.objects.get(original_transaction=sim_older, type="refund")
    assert refund_txn.amount_minor == 6000 and refund_txn.response == "1"
    assert void_action.date <= refund_txn.created_at  # newest payment reversed first

    invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_credited_minor, invoice.amount_refunded_minor) == ("refunded", 10_000,
                                                                                             10_000)
    assert list(InvoicePayment.objects.filter(invoice=invoice).values_list("amount_reversed_minor", flat=True)) == \
        [4000, 6000]
    assert Payment.objects.get(pk=newer.pk).status == "voided"
    assert Payment.objects.get(pk=older.pk).status == "refunded"
    with pytest.raises(BusinessRuleViolation):  # money left through the gateway
        services.credit_note_void(tenant=gateway_sandbox, actor=actor, credit_note=note)


def test_partial_reversal_of_an_unsettled_payment_is_refused_and_explained(gateway_sandbox, actor):
    with time_machine.travel(ny(10, 12), tick=True):
        invoice = _invoice(gateway_sandbox, actor, unit=5000)
        payment = _pay(gateway_sandbox, actor, invoice, 5000)
        preview = services.credit_note_preview(tenant=gateway_sandbox, invoice=invoice, amount=gbp(1000),
                                               credit_method="refund_to_payment_method")
        assert not preview.ok and preview.reversals[0].blocked
        assert preview.problems[0]["code"] == "partial_reversal_before_settlement"
        assert "wait until it settles" in preview.reversals[0].explanation
        with pytest.raises(BusinessRuleViolation) as refused:
            services.credit_note_create(tenant=gateway_sandbox, actor=actor, invoice=invoice, amount=gbp(1000),
                                        credit_method="refund_to_payment_method")
        assert refused.value.code == "partial_reversal_before_settlement"
        assert not CreditNote.objects.exists() and _sim(payment).condition == "pendingsettlement"
        # The same partial credit to the customer's balance moves no card money: allowed.
        note = services.credit_note_create(tenant=gateway_sandbox, actor=actor, invoice=invoice, amount=gbp(1000),
                                           credit_method="customer_balance")
        assert note.status == "applied"
        eligibility = services.credit_eligibility(tenant=gateway_sandbox, invoice=invoice)
        assert eligibility.payments[0].reversible == gbp(0)  # partly reversed and unsettled: wait for settlement


def test_a_void_the_gateway_refuses_leaves_the_note_failed(gateway_sandbox, actor):
    with time_machine.travel(ny(10, 12), tick=True):
        invoice = _invoice(gateway_sandbox, actor, unit=3000)
        payment = _pay(gateway_sandbox, actor, invoice, 3000)
        # The gateway settles early ("settle now"); our clock still says the batch is open, so we try a void.
        sim_settlement.batch_close_now(account=SimAccount.objects.get(transactions__transaction_id=
                                                                      payment.gateway_transaction_id))
        note = services.credit_note_create(tenant=gateway_sandbox, actor=actor, invoice=invoice,
                                           credit_method="refund_to_payment_method")
    assert note.status == "failed" and note.failure_message
    reversal = note.reversals.get()
    assert (reversal.route, reversal.status) == ("void", "failed")
    invoice.refresh_from_db()
    # Only succeeded reversals count as money back; the payment's reservation is released.
    assert invoice.amount_refunded_minor == 0 and invoice.status == "paid"
    assert InvoicePayment.objects.get(invoice=invoice).amount_reversed_minor == 0
    assert Payment.objects.get(pk=payment.pk).status == "succeeded"
    voided = services.credit_note_void(tenant=gateway_sandbox, actor=actor, credit_note=note)
    assert voided.status == "voided"
    invoice.refresh_from_db()
    assert invoice.amount_credited_minor == 0


def test_api_answers_a_refused_reversal_with_the_failed_note(gateway_sandbox, actor, api):
    """The documented choice: 201 with the note in `failed` and why (not a 402): the note exists."""
    with time_machine.travel(ny(10, 12), tick=True):
        invoice = _invoice(gateway_sandbox, actor, unit=2000)
        payment = _pay(gateway_sandbox, actor, invoice, 2000)
        eligibility = api.get(f"/v2/credit_notes/transaction/{payment.pk}/reversal-eligibility").json()["data"]
        assert eligibility["route"] == "void" and not eligibility["settled"]
        sim_settlement.batch_close_now(account=SimAccount.objects.get(transactions__transaction_id=
                                                                      payment.gateway_transaction_id))
        response = api.post(f"/v2/invoices/{invoice.pk}/refund", {}, format="json")
    assert response.status_code == 201, response.content
    data = response.json()["data"]
    assert data["status"] == "failed" and data["failure_message"]
    assert data["reversals"][0]["status"] == "failed" and data["reversals"][0]["route"] == "void"

"""Retrying a failed credit note against the NMI simulator: a void refused because the batch closed is
re-routed to a refund once the batch has settled (one refund in the simulator's ledger, the note applied,
the invoice refunded); succeeded reversals are never repeated; never-attempted ones are sent newest first;
a retry that fails again leaves the note failed with the new message; only a failed note can be retried;
two retries at once reach the gateway once; the API route and the dashboard button."""
from __future__ import annotations

import threading
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.urls import reverse

from apps.billing import services
from apps.billing.models import CreditNote, InvoicePayment
from apps.billing.services import credit_notes as cn_services
from apps.core.errors import BusinessRuleViolation, DomainError
from apps.core.models import Event
from apps.core.money import Money
from apps.payments.models import Payment
from apps.payments.simulators.nmi import settlement as sim_settlement
from apps.payments.simulators.nmi.models import SimAccount, SimAction, SimTransaction
from tests.conftest import is_postgres
from tests.factories import make_customer

pytestmark = pytest.mark.django_db(transaction=True)
NEW_YORK = ZoneInfo("America/New_York")


def ny(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 6, day, hour, minute, tzinfo=NEW_YORK)  # 10 June 2026 is a Wednesday


def _invoice(tenant, actor, unit):
    customer = make_customer(tenant, name="Grace Hopper", currency="GBP")
    invoice = services.invoice_create(tenant=tenant, actor=actor, customer=customer, lines=[
        services.LineInput(description="Audit", unit_amount_minor=unit)])
    return services.invoice_finalize(tenant=tenant, actor=actor, invoice=invoice)


def _pay(tenant, actor, invoice, minor):
    result = services.invoice_pay(tenant=tenant, actor=actor, invoice=invoice, payment_token="tok_visa",
                                  amount=Money(minor, "GBP"))
    assert result.payment.status == "succeeded", result.payment.failure_message
    return result.payment


def _sim(payment: Payment) -> SimTransaction:
    return SimTransaction.objects.get(transaction_id=payment.gateway_transaction_id)


def _settle_at_gateway(payment: Payment) -> None:
    """The gateway closes the batch early ("settle now") while our clock still says it is open."""
    sim_settlement.batch_close_now(account=SimAccount.objects.get(transactions__transaction_id=
                                                                  payment.gateway_transaction_id))


def _refunds(payment: Payment) -> list[SimTransaction]:
    return list(SimTransaction.objects.filter(original_transaction=_sim(payment), type="refund"))


def _failed_note(tenant, actor, clock, unit=3000):
    """A paid invoice whose full credit note failed: the void was refused because the batch had closed."""
    clock.move_to(ny(10, 12))
    invoice = _invoice(tenant, actor, unit)
    payment = _pay(tenant, actor, invoice, unit)
    _settle_at_gateway(payment)
    note = services.credit_note_create(tenant=tenant, actor=actor, invoice=invoice,
                                       credit_method="refund_to_payment_method")
    assert note.status == "failed" and note.reversals.get().route == "void"
    return invoice, payment, note


def test_a_void_refused_because_the_batch_closed_is_retried_as_a_refund(gateway_sandbox, actor):
    with time_machine.travel(ny(10, 12), tick=True) as clock:
        invoice, payment, note = _failed_note(gateway_sandbox, actor, clock)
        first_void = note.reversals.get().void_id
        assert first_void and _refunds(payment) == []

        # Still before our cut-off: routed as a void again, refused again; the note stays failed.
        again = services.credit_note_retry(tenant=gateway_sandbox, actor=actor, credit_note=note)
        assert again.status == "failed" and again.failure_message
        reversal = again.reversals.get()
        assert (reversal.route, reversal.status) == ("void", "failed") and reversal.void_id != first_void
        assert InvoicePayment.objects.get(invoice=invoice).amount_reversed_minor == 0  # reservation released
        invoice.refresh_from_db()
        assert (invoice.status, invoice.amount_refunded_minor) == ("paid", 0)

        clock.move_to(ny(10, 20, 30))  # the batch has closed by our clock too: now a refund
        applied = services.credit_note_retry(tenant=gateway_sandbox, actor=actor, credit_note=again)

    assert applied.status == "applied" and applied.failure_message == "" and applied.applied_at
    assert applied.amount_reversed_minor == 3000
    reversal = applied.reversals.get()
    assert (reversal.route, reversal.status) == ("refund", "succeeded") and reversal.refund_id
    refunds = _refunds(payment)
    assert len(refunds) == 1 and refunds[0].amount_minor == 3000 and refunds[0].response == "1"
    assert Payment.objects.get(pk=payment.pk).status == "refunded"
    invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_credited_minor, invoice.amount_refunded_minor) == ("refunded", 3000, 3000)
    assert InvoicePayment.objects.get(invoice=invoice).amount_reversed_minor == 3000
    assert Event.objects.filter(type="credit_note.applied", object_id=note.pk).count() == 1
    assert Event.objects.filter(type="invoice.refunded", object_id=invoice.pk).count() == 1

    with pytest.raises(BusinessRuleViolation) as refused:  # an applied note is not retried
        services.credit_note_retry(tenant=gateway_sandbox, actor=actor, credit_note=applied)
    assert refused.value.code == "credit_note_not_retryable"
    assert len(_refunds(payment)) == 1


def test_succeeded_reversals_are_never_repeated(gateway_sandbox, actor):
    with time_machine.travel(ny(10, 12), tick=True) as clock:
        invoice = _invoice(gateway_sandbox, actor, 10_000)
        older = _pay(gateway_sandbox, actor, invoice, 6000)
        _settle_at_gateway(older)  # the older payment's batch closed at the gateway
        newer = _pay(gateway_sandbox, actor, invoice, 4000)  # in the next, open batch
        note = services.credit_note_create(tenant=gateway_sandbox, actor=actor, invoice=invoice,
                                           credit_method="refund_to_payment_method")
        assert note.status == "failed"
        assert [(r.payment_id, r.route, r.status) for r in note.reversals.order_by("position")] == [
            (newer.pk, "void", "succeeded"), (older.pk, "void", "failed")]
        invoice.refresh_from_db()
        assert invoice.amount_refunded_minor == 4000

        clock.move_to(ny(10, 20, 30))
        note = services.credit_note_retry(tenant=gateway_sandbox, actor=actor, credit_note=note)

    assert note.status == "applied" and note.amount_reversed_minor == 10_000
    assert [(r.payment_id, r.route, r.status) for r in note.reversals.order_by("position")] == [
        (newer.pk, "void", "succeeded"), (older.pk, "refund", "succeeded")]
    assert SimAction.objects.filter(transaction=_sim(newer), action_type="void").count() == 1  # not voided twice
    assert len(_refunds(older)) == 1 and _refunds(newer) == []
    invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_refunded_minor) == ("refunded", 10_000)
    assert sorted(InvoicePayment.objects.filter(invoice=invoice).values_list("amount_reversed_minor", flat=True)) \
        == [4000, 6000]


def test_never_attempted_reversals_are_sent_newest_first(gateway_sandbox, actor):
    with time_machine.travel(ny(10, 12), tick=True) as clock:
        invoice = _invoice(gateway_sandbox, actor, 10_000)
        older = _pay(gateway_sandbox, actor, invoice, 6000)
        newer = _pay(gateway_sandbox, actor, invoice, 4000)
        _settle_at_gateway(newer)  # both in the batch the gateway closed
        note = services.credit_note_create(tenant=gateway_sandbox, actor=actor, invoice=invoice,
                                           credit_method="refund_to_payment_method")
        reversals = list(note.reversals.order_by("position"))
        assert [(r.payment_id, r.status) for r in reversals] == [(newer.pk, "failed"), (older.pk, "failed")]
        assert reversals[1].failure_message.startswith("Not attempted") and not reversals[1].void_id

        clock.move_to(ny(10, 20, 30))
        note = services.credit_note_retry(tenant=gateway_sandbox, actor=actor, credit_note=note)

    assert note.status == "applied"
    assert [(r.payment_id, r.route, r.status) for r in note.reversals.order_by("position")] == [
        (newer.pk, "refund", "succeeded"), (older.pk, "refund", "succeeded")]
    newer_refund, older_refund = _refunds(newer), _refunds(older)
    assert [r.amount_minor for r in newer_refund + older_refund] == [4000, 6000]
    assert newer_refund[0].created_at <= older_refund[0].created_at  # newest payment first
    invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_refunded_minor) == ("refunded", 10_000)


def test_the_subscription_is_canceled_only_when_the_retry_succeeds(gateway_sandbox, actor):
    calls = []
    cn_services.register_subscription_canceller(lambda **kw: calls.append(kw))
    try:
        with time_machine.travel(ny(10, 12), tick=True) as clock:
            customer = make_customer(gateway_sandbox, currency="GBP")
            invoice = services.invoice_create(tenant=gateway_sandbox, actor=actor, customer=customer,
                                              subscription_id="sub_123", lines=[
                                                  services.LineInput(description="Plan", unit_amount_minor=2500)])
            invoice = services.invoice_finalize(tenant=gateway_sandbox, actor=actor, invoice=invoice)
            payment = _pay(gateway_sandbox, actor, invoice, 2500)
            _settle_at_gateway(payment)
            note = services.credit_note_create(tenant=gateway_sandbox, actor=actor, invoice=invoice,
                                               credit_method="refund_to_payment_method", cancel_subscription=True)
            assert note.status == "failed" and "subscription was not canceled" in note.failure_message
            assert calls == []
            clock.move_to(ny(10, 20, 30))
            note = services.credit_note_retry(tenant=gateway_sandbox, actor=actor, credit_note=note)
    finally:
        cn_services.register_subscription_canceller(None)
    assert note.status == "applied" and note.subscription_canceled
    assert [(c["subscription_id"], c["credit_note"].pk) for c in calls] == [("sub_123", note.pk)]


@pytest.mark.concurrency
@pytest.mark.skipif(not is_postgres(), reason="row locks need PostgreSQL")
def test_two_concurrent_retries_reach_the_gateway_once(gateway_sandbox, actor):
    with time_machine.travel(ny(10, 12), tick=True) as clock:
        invoice, payment, note = _failed_note(gateway_sandbox, actor, clock)
        clock.move_to(ny(10, 20, 30))
        barrier = threading.Barrier(2)
        outcomes: list[str] = []

        def retry():
            try:
                barrier.wait()
                done = services.credit_note_retry(tenant=gateway_sandbox, actor=actor,
                                                  credit_note=CreditNote.objects.get(pk=note.pk))
                outcomes.append(done.status)
            except DomainError as exc:
                outcomes.append(exc.code)
            finally:
                connection.close()

        threads = [threading.Thread(target=retry) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    assert outcomes.count("applied") == 1, outcomes
    assert set(outcomes) - {"applied"} <= {"credit_note_retry_in_progress", "credit_note_not_retryable"}, outcomes
    assert len(_refunds(payment)) == 1
    note.refresh_from_db()
    assert note.status == "applied" and note.amount_reversed_minor == 3000
    invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_refunded_minor) == ("refunded", 3000)
    assert InvoicePayment.objects.get(invoice=invoice).amount_reversed_minor == 3000
    assert Event.objects.filter(type="credit_note.applied", object_id=note.pk).count() == 1


def test_api_retry(gateway_sandbox, actor, api):
    with time_machine.travel(ny(10, 12), tick=True) as clock:
        invoice, payment, note = _failed_note(gateway_sandbox, actor, clock)
        clock.move_to(ny(10, 20, 30))
        assert api.post(f"/v2/credit_notes/{note.pk}/retry", {"force": True}, format="json").status_code == 400
        response = api.post(f"/v2/credit_notes/{note.pk}/retry", format="json")
        assert response.status_code == 200, response.content
        data = response.json()["data"]
        assert data["id"] == note.pk and data["status"] == "applied" and data["failure_message"] in ("", None)
        assert data["reversals"][0]["route"] == "refund" and data["reversals"][0]["status"] == "succeeded"
        again = api.post(f"/v2/credit_notes/{note.pk}/retry", format="json")
    assert again.status_code == 422 and again.json()["error"]["code"] == "credit_note_not_retryable"
    assert len(_refunds(payment)) == 1
    assert api.post("/v2/credit_notes/cn_missing/retry", format="json").status_code == 404


def test_dashboard_retry_button(gateway_sandbox, actor, owner_client, login_as):
    with time_machine.travel(ny(10, 12), tick=True) as clock:
        invoice, payment, note = _failed_note(gateway_sandbox, actor, clock)
        detail = reverse("dashboard:credit_note_detail", args=[note.pk])
        url = reverse("dashboard:credit_note_retry", args=[note.pk])
        html = owner_client.get(detail).content.decode()
        assert 'data-testid="credit-note-retry"' in html and url in html
        assert owner_client.get(url).status_code == 405  # POST only

        clock.move_to(ny(10, 20, 30))
        response = owner_client.post(url, follow=True)
        html = response.content.decode()
        assert response.redirect_chain[-1][0] == detail
        assert f"Credit note {note.number} applied" in html
        assert 'data-testid="credit-note-retry"' not in html  # applied: no button
        note.refresh_from_db()
        assert note.status == "applied" and len(_refunds(payment)) == 1

        refused = owner_client.post(url, follow=True).content.decode()
        assert "was not retried" in refused and "Only a failed credit note can be retried" in refused
        assert len(_refunds(payment)) == 1

        viewer = login_as("viewer")
        assert viewer.post(url).status_code == 403

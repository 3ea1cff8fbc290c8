"""Disputes over real HTTP: a payment through the services and the NMI simulator, its batch settled, a
chargeback injected at the simulator and learned by `disputes_sync` (the Query API through the adapter):
the amount held with its chargeback fee, once however often we poll; evidence → under review; won
(chargeback_reversal) releases the amount and keeps the fee; lost (chargeback_lost) keeps both; a missed
deadline is an automatic loss; evidence after the deadline is refused."""
from __future__ import annotations

import threading
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import close_old_connections

from apps.core.errors import BusinessRuleViolation, ValidationFailed
from apps.core.models import Event
from apps.core.money import Money
from apps.payments import services
from apps.payments.gateways.base import GatewayAction, GatewayTransaction
from apps.payments.models import Dispute, DisputeEvidenceFile, FeeLine, Payment, Transaction
from apps.payments.simulators.nmi import chargebacks, settlement
from apps.payments.simulators.nmi.models import SimAccount, SimChargeback
from tests.conftest import requires_postgres
from tests.payments.payments_helpers import payments_db

pytestmark = payments_db
NEW_YORK = ZoneInfo("America/New_York")
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def ny(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 6, day, hour, minute, tzinfo=NEW_YORK)


def settled_payment(sandbox, actor, minor=4000) -> Payment:
    """A captured payment whose gateway batch has closed (a chargeback is on settled money)."""
    payment = services.payment_create(tenant=sandbox, actor=actor, amount=Money(minor, "GBP"),
                                      payment_token="tok_visa_debit_gb")
    assert payment.status == "succeeded"
    payment = Payment.objects.select_related("gateway_account").get(pk=payment.pk)
    sim = SimAccount.objects.get(security_key=payment.gateway_account.security_key)
    assert settlement.batch_close_now(account=sim)
    return payment


def chargeback(payment, reason_code="13.1", amount_minor=None) -> SimChargeback:
    return chargebacks.inject_chargeback(payment.gateway_transaction_id, reason_code=reason_code,
                                         amount_minor=amount_minor, notify=False)


def sync(payment):
    return services.disputes_sync(gateway_account=payment.gateway_account)


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def test_a_chargeback_opens_one_dispute_holding_the_amount_and_the_fee(shop, sandbox, actor):
    with time_machine.travel(ny(10, 12), tick=True):
        payment = settled_payment(sandbox, actor)
        net_before = payment.net_minor
        chargeback(payment, "13.1")
        first = sync(payment)
        second = sync(payment)
    assert len(first.opened) == 1 and second.opened == [] and second.closed == []
    dispute = Dispute.objects.get()
    assert (dispute.status, dispute.reason, dispute.network_reason_code) == ("needs_response", "product_not_received",
                                                                              "13.1")
    assert (dispute.amount_minor, dispute.currency, dispute.fee_minor) == (4000, "GBP", 1500)
    assert dispute.payment_id == payment.pk and dispute.customer_id == payment.customer_id
    assert dispute.gateway_dispute_id == f"{payment.gateway_transaction_id}-cb1"
    assert dispute.evidence_due_by == dispute.disputed_at + timedelta(days=7)

    held = Transaction.objects.get(type="dispute")
    assert (held.amount_minor, held.dispute_id, held.payment_id) == (-4000, dispute.pk, payment.pk)
    assert held.settled_at == dispute.disputed_at and held.available_on is not None
    (fee,) = FeeLine.objects.filter(transaction=held)
    assert (fee.code, fee.amount_minor, fee.currency) == ("chargeback", 1500, "GBP")

    payment.refresh_from_db()
    assert payment.amount_disputed_minor == 4000
    assert payment.net_minor == net_before - 4000 - 1500
    assert payment.net_minor == (payment.amount_captured_minor - payment.amount_refunded_minor - payment.fees_minor
                                 - payment.amount_disputed_minor - dispute.fee_minor)
    (event,) = Event.objects.filter(type="charge.dispute.created")
    assert event.object_id == dispute.pk
    assert {k: event.data[k] for k in ("payment_id", "amount_minor", "currency", "status", "reason", "fee_minor")} == {
        "payment_id": payment.pk, "amount_minor": 4000, "currency": "GBP", "status": "needs_response",
        "reason": "product_not_received", "fee_minor": 1500}
    assert event.data["evidence_due_by"] == dispute.evidence_due_by.isoformat()


def test_evidence_puts_it_under_review_then_the_bank_decides_won(shop, sandbox, actor, media):
    with time_machine.travel(ny(10, 12), tick=True) as clock:
        payment = settled_payment(sandbox, actor)
        cb = chargeback(payment, "10.4")
        (dispute_id,) = sync(payment).opened
        dispute = Dispute.objects.get(pk=dispute_id)
        assert dispute.reason == "fraudulent"
        upload = SimpleUploadedFile("receipt.pdf", PDF, content_type="application/pdf")
        dispute = services.dispute_submit_evidence(
            tenant=sandbox, actor=actor, dispute=dispute, files=[upload],
            evidence={"explanation": "  The cardholder signed for it.  ", "customer_purchase_ip": "203.0.113.9"})
        assert dispute.status == "under_review" and dispute.evidence_submitted_at is not None
        assert dispute.evidence == {"explanation": "The cardholder signed for it.", "customer_purchase_ip": "203.0.113.9"}
        (stored,) = DisputeEvidenceFile.objects.filter(dispute=dispute)
        assert (stored.original_name, stored.content_type, stored.size_bytes) == ("receipt.pdf", "application/pdf",
                                                                                  len(PDF))
        assert stored.file.read() == PDF
        with pytest.raises(BusinessRuleViolation) as again:
            services.dispute_submit_evidence(tenant=sandbox, actor=actor, dispute=dispute, evidence={"explanation": "x"})
        assert again.value.code == "dispute_not_open"

        clock.shift(timedelta(days=20))  # under review: the deadline no longer applies
        assert services.disputes_expire_overdue() == 0
        chargebacks.chargeback_resolve(cb.chargeback_id, won=True, notify=False)
        result = sync(payment)
        assert result.closed == [dispute.pk] and sync(payment).closed == []
    dispute.refresh_from_db()
    assert dispute.status == "won" and dispute.closed_at is not None
    moves = list(Transaction.objects.filter(type="dispute").order_by("created_at").values_list("amount_minor", flat=True))
    assert moves == [-4000, 4000]
    released = Transaction.objects.get(type="dispute", amount_minor=4000)
    assert released.available_on is not None and not released.fee_lines.exists()
    assert FeeLine.objects.filter(code="chargeback").count() == 1  # the fee is kept
    payment.refresh_from_db()
    assert payment.amount_disputed_minor == 0
    assert payment.net_minor == payment.amount_captured_minor - payment.fees_minor - 1500
    updated = Event.objects.get(type="charge.dispute.updated")
    assert updated.data["status"] == "under_review" and len(updated.data["evidence_files"]) == 1
    closed = Event.objects.get(type="charge.dispute.closed")
    assert closed.data["status"] == "won" and closed.previous_attributes == {"status": "under_review"}
    assert Event.objects.filter(type="charge.dispute.funds_reinstated", object_id=dispute.pk).count() == 1


def test_lost_at_the_bank_keeps_the_amount_and_the_fee(shop, sandbox, actor):
    with time_machine.travel(ny(10, 12), tick=True):
        payment = settled_payment(sandbox, actor)
        cb = chargeback(payment, "4853")
        (dispute_id,) = sync(payment).opened
        services.dispute_submit_evidence(tenant=sandbox, actor=actor, dispute=Dispute.objects.get(pk=dispute_id),
                                         evidence={"product_description": "As pictured."})
        chargebacks.chargeback_resolve(cb.chargeback_id, won=False, notify=False)
        assert sync(payment).closed == [dispute_id]
    dispute = Dispute.objects.get(pk=dispute_id)
    assert (dispute.status, dispute.reason) == ("lost", "product_unacceptable")
    assert list(Transaction.objects.filter(type="dispute").values_list("amount_minor", flat=True)) == [-4000]
    payment.refresh_from_db()
    assert payment.amount_disputed_minor == 4000
    assert Event.objects.get(type="charge.dispute.closed").data["status"] == "lost"
    assert not Event.objects.filter(type="charge.dispute.funds_reinstated").exists()


def test_a_missed_deadline_is_an_automatic_loss_and_late_evidence_is_refused(shop, sandbox, actor, media):
    with time_machine.travel(ny(10, 12), tick=True) as clock:
        payment = settled_payment(sandbox, actor)
        chargeback(payment, "4837")
        (dispute_id,) = sync(payment).opened
        dispute = Dispute.objects.get(pk=dispute_id)
        clock.shift(timedelta(days=6, hours=23))
        assert services.disputes_expire_overdue() == 0
        clock.shift(timedelta(hours=2))
        with pytest.raises(BusinessRuleViolation) as late:
            services.dispute_submit_evidence(tenant=sandbox, actor=actor, dispute=dispute, evidence={"explanation": "x"})
        assert late.value.code == "evidence_deadline_passed"
        with pytest.raises(BusinessRuleViolation):
            services.dispute_attach_file(tenant=sandbox, actor=actor, dispute=dispute,
                                         upload=SimpleUploadedFile("a.pdf", PDF, content_type="application/pdf"))
        assert services.disputes_expire_overdue() == 1
        assert services.disputes_expire_overdue() == 0
    dispute.refresh_from_db()
    assert (dispute.status, dispute.reason, dispute.evidence_submitted_at) == ("lost", "fraudulent", None)
    assert Event.objects.get(type="charge.dispute.closed").data["status"] == "lost"
    assert not DisputeEvidenceFile.objects.exists()
    payment.refresh_from_db()
    assert payment.amount_disputed_minor == 4000


def test_evidence_is_checked_before_anything_is_written(shop, sandbox, actor, media):
    with time_machine.travel(ny(10, 12), tick=True):
        payment = settled_payment(sandbox, actor)
        chargeback(payment)
        (dispute_id,) = sync(payment).opened
        dispute = Dispute.objects.get(pk=dispute_id)
        bad_inputs = [
            ({"favourite_colour": "blue"}, [], "evidence.favourite_colour"),
            ({"explanation": 42}, [], "evidence.explanation"),
            ({"customer_name": "x" * 501}, [], "evidence.customer_name"),
            ({}, [], "evidence"),
            ({"explanation": "ok"}, [SimpleUploadedFile("a.exe", b"MZ\x90", content_type="application/x-msdownload")],
             "files[0]"),
            ({"explanation": "ok"}, [SimpleUploadedFile("fake.pdf", b"not a pdf", content_type="application/pdf")],
             "files[0]"),
        ]
        for evidence, files, field in bad_inputs:
            with pytest.raises(ValidationFailed) as exc:
                services.dispute_submit_evidence(tenant=sandbox, actor=actor, dispute=dispute, evidence=evidence,
                                                 files=files)
            assert field in exc.value.fields, (evidence, exc.value.fields)
        big = SimpleUploadedFile("big.pdf", PDF + b"0" * (5 * 1024 * 1024), content_type="application/pdf")
        with pytest.raises(ValidationFailed):
            services.dispute_attach_file(tenant=sandbox, actor=actor, dispute=dispute, upload=big)
        for i in range(10):
            services.dispute_attach_file(tenant=sandbox, actor=actor, dispute=dispute, category="receipt",
                                         upload=SimpleUploadedFile(f"r{i}.png", b"\x89PNG\r\n\x1a\n" + b"0" * 10,
                                                                   content_type="image/png"))
        with pytest.raises(BusinessRuleViolation) as too_many:
            services.dispute_attach_file(tenant=sandbox, actor=actor, dispute=dispute,
                                         upload=SimpleUploadedFile("one-more.jpg", b"\xff\xd8\xff\xe0", content_type="image/jpeg"))
        assert too_many.value.code == "too_many_files"
    dispute.refresh_from_db()
    assert dispute.status == "needs_response" and dispute.evidence == {}
    assert DisputeEvidenceFile.objects.count() == 10
    assert not Event.objects.filter(type="charge.dispute.updated").exists()


def test_another_merchants_dispute_is_not_found(shop, sandbox, actor, other_tenant):
    from apps.core.errors import NotFound
    from apps.core.tenancy import Tenant

    with time_machine.travel(ny(10, 12), tick=True):
        payment = settled_payment(sandbox, actor)
        chargeback(payment)
        (dispute_id,) = sync(payment).opened
    with pytest.raises(NotFound):
        services.dispute_submit_evidence(tenant=Tenant(other_tenant.merchant, False), actor=actor,
                                         dispute=Dispute.objects.get(pk=dispute_id), evidence={"explanation": "mine"})


def test_partial_chargebacks_each_open_their_own_dispute(shop, sandbox, actor):
    with time_machine.travel(ny(10, 12), tick=True):
        payment = settled_payment(sandbox, actor, minor=5000)
        first = chargeback(payment, "13.1", amount_minor=1000)
        chargeback(payment, "12.6.1", amount_minor=2500)
        opened = sync(payment).opened
        chargebacks.chargeback_resolve(first.chargeback_id, won=True, notify=False)
        closed = sync(payment).closed
    assert len(opened) == 2 and len(closed) == 1
    disputes = {d.network_reason_code: d for d in Dispute.objects.all()}
    assert (disputes["13.1"].status, disputes["12.6.1"].status) == ("won", "needs_response")
    assert disputes["12.6.1"].reason == "duplicate"
    payment.refresh_from_db()
    assert payment.amount_disputed_minor == 2500


def test_reported_chargebacks_pair_outcomes_with_the_right_chargeback():
    def action(kind, minor, code, minute):
        return GatewayAction(action_type=kind, amount=Money(minor, "GBP"), success=True, reason_code=code,
                             date=datetime(2026, 6, 1, 12, minute, tzinfo=ZoneInfo("UTC")))

    txn = GatewayTransaction(transaction_id="555", order_id="pat_1", condition="complete", currency="GBP", actions=(
        action("sale", 5000, "", 0), action("chargeback", 1000, "13.1", 1), action("chargeback", 2000, "10.4", 2),
        action("chargeback_lost", 2000, "10.4", 3), action("chargeback_reversal", 1000, "13.1", 4)))
    reported = services.chargebacks_reported(txn)
    assert [(r.gateway_dispute_id, r.amount.amount_minor, r.outcome) for r in reported] == [
        ("555-cb1", 1000, "won"), ("555-cb2", 2000, "lost")]
    assert services.dispute_reason_for("10.4") == "fraudulent"
    assert services.dispute_reason_for("4863") == "unrecognized"
    assert services.dispute_reason_for("13.2") == "subscription_canceled"
    assert services.dispute_reason_for("99.9") == "general"


@requires_postgres
def test_concurrent_syncs_open_the_dispute_once(shop, sandbox, actor):
    with time_machine.travel(ny(10, 12), tick=True):
        payment = settled_payment(sandbox, actor)
        chargeback(payment)
        barrier = threading.Barrier(4)
        errors = []

        def worker():
            try:
                barrier.wait()
                sync(payment)
            except Exception as exc:  # pragma: no cover - reported below
                errors.append(exc)
            finally:
                close_old_connections()

        threads = [threading.Thread(target=worker) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert errors == []
    assert Dispute.objects.count() == 1
    assert Transaction.objects.filter(type="dispute").count() == 1
    assert Event.objects.filter(type="charge.dispute.created").count() == 1
    payment.refresh_from_db()
    assert payment.amount_disputed_minor == 4000


def test_a_reversal_reported_after_our_deadline_loss_returns_the_money(shop, sandbox, actor):
    with time_machine.travel(ny(10, 12), tick=True) as clock:
        payment = settled_payment(sandbox, actor)
        cb = chargeback(payment, "13.1")
        (dispute_id,) = sync(payment).opened
        clock.shift(timedelta(days=8))
        assert services.disputes_expire_overdue() == 1
        assert sync(payment).closed == []  # still open at the gateway: nothing to change
        chargebacks.chargeback_resolve(cb.chargeback_id, won=True, notify=False)
        assert sync(payment).closed == [dispute_id]
        assert sync(payment).closed == []
    dispute = Dispute.objects.get(pk=dispute_id)
    assert dispute.status == "won"
    assert sorted(Transaction.objects.filter(type="dispute").values_list("amount_minor", flat=True)) == [-4000, 4000]
    payment.refresh_from_db()
    assert payment.amount_disputed_minor == 0
    assert [e.data["status"] for e in Event.objects.filter(type="charge.dispute.closed").order_by("created_at")] == [
        "lost", "won"]


def test_a_currency_without_a_default_chargeback_fee_is_charged_none():
    from apps.payments.services.disputes import _chargeback_fee

    assert _chargeback_fee(Money(1000, "INR")) == Money(0, "INR")
    assert _chargeback_fee(Money(1000, "USD")) == Money(2000, "USD")
    assert _chargeback_fee(Money(500, "JPY")) == Money(2900, "JPY")

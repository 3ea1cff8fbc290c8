"""Refunds and voids through the real adapter against the simulator, with the clock moved across the
batch cut-off (20:00 America/New_York): partial refunds up to the captured amount, one cent more is a
422, a void before settlement has no fees, a void after the batch closed fails (never a refund) and a
refund works then; concurrent refunds never exceed the captured amount."""
from __future__ import annotations

import threading
from datetime import datetime
from zoneinfo import ZoneInfo

import time_machine

from apps.core.errors import BusinessRuleViolation
from apps.core.models import Event
from apps.core.money import Money
from apps.payments import services
from apps.payments.models import FeeLine, Payment, Refund, Transaction, Void
from apps.payments.simulators.nmi.models import SimTransaction
from tests.conftest import requires_postgres
from tests.payments.payments_helpers import payments_db

pytestmark = payments_db
NEW_YORK = ZoneInfo("America/New_York")


def ny(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 6, day, hour, minute, tzinfo=NEW_YORK)


def _pay(sandbox, actor, minor=1000):
    payment = services.payment_create(tenant=sandbox, actor=actor, amount=Money(minor, "GBP"),
                                      payment_token="tok_visa_debit_gb")
    assert payment.status == "succeeded"
    return payment


def test_two_partial_refunds_up_to_captured_then_one_cent_more_is_422(shop, sandbox, actor):
    with time_machine.travel(ny(10, 12), tick=True) as clock:
        payment = _pay(sandbox, actor)
        early = shop.client().post("/v2/refunds", {"payment_id": payment.pk, "amount_minor": 100}, format="json")
        assert early.status_code == 422 and early.json()["error"]["code"] == "refund_before_settlement"
        clock.move_to(ny(10, 20, 5))
        client = shop.client()
        first = client.post("/v2/refunds", {"charge": payment.pk, "amount": 400, "reason": "requested_by_customer"},
                            format="json")
        assert first.status_code == 201, first.content
        assert first.json()["data"]["status"] == "succeeded"
        sale_txn = Transaction.objects.get(payment=payment, type="sale")
        second = client.post("/v2/refunds", {"transaction_id": sale_txn.pk, "amount_minor": 600}, format="json")
        assert second.status_code == 201 and second.json()["data"]["status"] == "succeeded", second.content
        more = client.post("/v2/refunds", {"payment_id": payment.pk, "amount_minor": 1}, format="json")
    assert more.status_code == 422, more.content
    assert more.json()["error"]["code"] in ("amount_too_large", "payment_not_refundable")
    payment.refresh_from_db()
    assert (payment.status, payment.amount_refunded_minor) == ("refunded", 1000)
    refunds = Transaction.objects.filter(payment=payment, type="refund").order_by("created_at")
    assert [t.amount_minor for t in refunds] == [-400, -600]
    assert not FeeLine.objects.filter(transaction__type="refund").exists()
    assert Event.objects.filter(type="refund.succeeded").count() == 2
    assert Event.objects.filter(type="payment.refunded", object_id=payment.pk).count() == 2
    assert SimTransaction.objects.filter(type="refund").count() == 2


def test_partial_then_over_limit_is_422_while_partially_refunded(shop, sandbox, actor):
    with time_machine.travel(ny(10, 12), tick=True) as clock:
        payment = _pay(sandbox, actor)
        clock.move_to(ny(10, 20, 5))
        services.refund_create(tenant=sandbox, actor=actor, payment=payment, amount=Money(300, "GBP"))
        response = shop.client().post("/v2/refunds", {"payment_id": payment.pk, "amount_minor": 701}, format="json")
    assert response.status_code == 422 and response.json()["error"]["code"] == "amount_too_large"
    assert Refund.objects.count() == 1


def test_void_before_cutoff_succeeds_with_no_fees(shop, sandbox, actor):
    with time_machine.travel(ny(10, 12), tick=True):
        payment = _pay(sandbox, actor)
        assert payment.fees_minor > 0
        response = shop.client().post("/v2/voids", {"payment_id": payment.pk}, format="json")
    assert response.status_code == 201, response.content
    data = response.json()["data"]
    assert data["status"] == "succeeded" and data["eligibility"] == "safe"
    payment.refresh_from_db()
    assert (payment.status, payment.fees_minor, payment.net_minor) == ("voided", 0, 0)
    assert set(FeeLine.objects.filter(transaction__payment=payment).values_list("amount_minor", flat=True)) == {0}
    assert Transaction.objects.get(payment=payment, type="void").amount_minor == -1000
    assert Event.objects.filter(type="void.succeeded").count() == 1
    assert Event.objects.filter(type="payment.voided", object_id=payment.pk).count() == 1
    assert SimTransaction.objects.get(transaction_id=payment.gateway_transaction_id).condition == "canceled"


def test_void_after_batch_close_fails_payment_unchanged_then_refund_works(shop, sandbox, actor):
    with time_machine.travel(ny(10, 12), tick=True) as clock:
        payment = _pay(sandbox, actor)
        clock.move_to(ny(10, 20, 5))
        response = shop.client().post("/v2/voids", {"payment_id": payment.pk}, format="json")
        assert response.status_code == 201, response.content
        assert response.json()["data"]["status"] == "failed"
        assert Event.objects.filter(type="void.failed").count() == 1
        payment.refresh_from_db()
        assert payment.status == "succeeded" and payment.fees_minor > 0
        assert not Refund.objects.exists()  # never a fallback to a refund
        refund = services.refund_create(tenant=sandbox, actor=actor, payment=payment, amount=None)
    assert refund.status == "succeeded" and refund.amount_minor == 1000
    payment.refresh_from_db()
    assert payment.status == "refunded"
    assert Void.objects.get().status == "failed"


@requires_postgres
def test_concurrent_refunds_exceeding_the_amount_exactly_one_succeeds(shop, sandbox, actor):
    from django.db import connection

    with time_machine.travel(ny(10, 12), tick=True) as clock:
        payment = _pay(sandbox, actor)
        clock.move_to(ny(10, 20, 5))
        outcomes = []
        barrier = threading.Barrier(4)

        def worker():
            try:
                barrier.wait()
                refund = services.refund_create(tenant=sandbox, actor=actor,
                                                payment=Payment.objects.get(pk=payment.pk), amount=Money(600, "GBP"))
                outcomes.append(refund.status)
            except BusinessRuleViolation as exc:
                outcomes.append(exc.code)
            finally:
                connection.close()

        threads = [threading.Thread(target=worker) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert sorted(outcomes) == ["amount_too_large"] * 3 + ["succeeded"], outcomes
    payment.refresh_from_db()
    assert (payment.amount_refunded_minor, payment.status) == (600, "partially_refunded")
    assert SimTransaction.objects.filter(type="refund").count() == 1


def test_refund_timeout_stays_reserved_then_reconciled_once(shop, sandbox, actor, settings):
    from apps.payments.simulators.nmi import faults

    with time_machine.travel(ny(10, 12), tick=True) as clock:
        payment = _pay(sandbox, actor)
        clock.move_to(ny(10, 20, 5))
        settings.NMI_READ_TIMEOUT_SECONDS = 1
        faults.inject("timeout_after_charge", hang_seconds=2.5)
        refund = services.refund_create(tenant=sandbox, actor=actor, payment=payment, amount=Money(700, "GBP"))
        assert (refund.status, refund.outcome_unknown) == ("pending", True)
        # The reserved 700 counts against the limit while unresolved.
        try:
            services.refund_create(tenant=sandbox, actor=actor, payment=payment, amount=Money(301, "GBP"))
            raise AssertionError("over-refund accepted")
        except BusinessRuleViolation as exc:
            assert exc.code == "amount_too_large"
        import time

        time.sleep(2)
        settings.NMI_READ_TIMEOUT_SECONDS = 10
        resolved = services.refund_reconcile_unknown(refund=refund, actor=actor)
        services.refund_reconcile_unknown(refund=refund, actor=actor)
    assert resolved.status == "succeeded"
    payment.refresh_from_db()
    assert (payment.amount_refunded_minor, payment.status) == (700, "partially_refunded")
    assert Transaction.objects.filter(payment=payment, type="refund").count() == 1
    assert SimTransaction.objects.filter(type="refund").count() == 1

"""Capturing an authorisation through the real adapter against the simulator: full or partial, fee lines on
the captured amount, charge.captured once, a second capture refused, concurrent captures reaching the gateway
once, a lost capture answer reconciled, an authorisation released by a void."""
from __future__ import annotations

import threading
import time

import pytest
from django.db import connection

from apps.core.errors import BusinessRuleViolation
from apps.core.models import Event
from apps.core.money import Money
from apps.payments import calculations as calc
from apps.payments import services
from apps.payments.models import FeeLine, Payment, Transaction
from apps.payments.simulators.nmi import faults
from apps.payments.simulators.nmi.models import SimAction, SimTransaction
from tests.conftest import requires_postgres
from tests.payments.payments_helpers import payments_db

pytestmark = payments_db


def _authorise(sandbox, actor, minor=2000, token="tok_visa_debit_gb") -> Payment:
    payment = services.payment_create(tenant=sandbox, actor=actor, amount=Money(minor, "GBP"), payment_token=token,
                                      capture=False)
    assert (payment.status, payment.amount_captured_minor) == ("succeeded", 0)
    return payment


def _expected_lines(minor: int) -> list[tuple[str, int]]:
    breakdown = calc.card_fee_breakdown(transaction=calc.CardTransaction(
        amount=Money(minor, "GBP"), brand="visa", funding="debit", issuing_country="GB", merchant_country="GB",
        channel=calc.Channel.CNP_NON_3DS))
    return [(str(line.code), line.amount.amount_minor) for line in breakdown.lines]


def test_authorisation_carries_no_fees_then_partial_capture_charges_fees_on_the_captured_amount(shop, sandbox, actor):
    payment = _authorise(sandbox, actor, 2000)
    auth = Transaction.objects.get(payment=payment, type="auth")
    assert auth.amount_minor == 0 and not auth.fee_lines.exists()
    assert (payment.fees_minor, payment.net_minor) == (0, 0)

    captured = services.payment_capture(tenant=sandbox, actor=actor, payment=payment, amount=Money(1500, "GBP"))

    assert (captured.status, captured.amount_captured_minor) == ("succeeded", 1500)
    assert captured.captured_at is not None
    capture = Transaction.objects.get(payment=payment, type="capture")
    assert (capture.status, capture.amount_minor) == ("succeeded", 1500)
    assert capture.gateway_transaction_id == payment.gateway_transaction_id
    lines = list(FeeLine.objects.filter(transaction=capture).order_by("id").values_list("code", "amount_minor"))
    assert lines == _expected_lines(1500)
    fees = sum(amount for _, amount in lines)
    payment.refresh_from_db()
    assert (payment.fees_minor, payment.net_minor) == (fees, 1500 - fees)
    assert Event.objects.filter(type="charge.captured", object_id=payment.pk).count() == 1
    assert Event.objects.filter(type="payment.succeeded", object_id=payment.pk).count() == 1  # not re-emitted
    sim = SimTransaction.objects.get(orderid=payment.attempt_id)
    assert (sim.type, sim.captured_amount_minor, sim.condition) == ("auth", 1500, "pendingsettlement")


def test_full_capture_by_default_and_a_second_capture_is_422(shop, sandbox, actor):
    payment = _authorise(sandbox, actor, 1200)
    services.payment_capture(tenant=sandbox, actor=actor, payment=payment)
    payment.refresh_from_db()
    assert payment.amount_captured_minor == 1200
    with pytest.raises(BusinessRuleViolation) as again:
        services.payment_capture(tenant=sandbox, actor=actor, payment=payment)
    assert again.value.code == "payment_already_captured"
    response = shop.client().post(f"/v2/charges/{payment.pk}/capture", {}, format="json")
    assert response.status_code == 422 and response.json()["error"]["code"] == "payment_already_captured"
    assert SimAction.objects.filter(action_type="capture").count() == 1
    assert Event.objects.filter(type="charge.captured").count() == 1


def test_capture_above_the_authorised_amount_is_422_and_nothing_reaches_the_gateway(shop, sandbox, actor):
    payment = _authorise(sandbox, actor, 1000)
    with pytest.raises(BusinessRuleViolation) as refused:
        services.payment_capture(tenant=sandbox, actor=actor, payment=payment, amount=Money(1001, "GBP"))
    assert refused.value.code == "amount_too_large"
    assert not SimAction.objects.filter(action_type="capture").exists()
    assert not Transaction.objects.filter(payment=payment, type="capture").exists()


def test_a_sale_cannot_be_captured(shop, sandbox, actor):
    sale = services.payment_create(tenant=sandbox, actor=actor, amount=Money(800, "GBP"),
                                   payment_token="tok_visa_debit_gb")
    with pytest.raises(BusinessRuleViolation) as refused:
        services.payment_capture(tenant=sandbox, actor=actor, payment=sale)
    assert refused.value.code == "payment_already_captured"


@requires_postgres
def test_ten_concurrent_captures_reach_the_gateway_once(shop, sandbox, actor):
    payment = _authorise(sandbox, actor, 3000)
    barrier = threading.Barrier(10)
    outcomes: list[str] = []

    def capture():
        try:
            barrier.wait()
            services.payment_capture(tenant=sandbox, actor=actor, payment=payment, amount=Money(2500, "GBP"))
            outcomes.append("captured")
        except BusinessRuleViolation as exc:
            outcomes.append(exc.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=capture) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["captured"] + ["payment_already_captured"] * 9
    assert SimAction.objects.filter(transaction__orderid=payment.attempt_id, action_type="capture").count() == 1
    assert Transaction.objects.filter(payment=payment, type="capture", status="succeeded").count() == 1
    payment.refresh_from_db()
    assert payment.amount_captured_minor == 2500
    assert Event.objects.filter(type="charge.captured", object_id=payment.pk).count() == 1


def test_lost_capture_answer_is_reconciled_from_the_gateway_once(shop, sandbox, actor, settings):
    payment = _authorise(sandbox, actor, 1800)
    settings.NMI_READ_TIMEOUT_SECONDS = 1
    faults.inject("timeout_after_charge", match={"type": "capture"}, hang_seconds=2.5)
    services.payment_capture(tenant=sandbox, actor=actor, payment=payment, amount=Money(1800, "GBP"))
    time.sleep(2)  # let the hung request finish on the simulator side
    services.payments_reconcile_due(older_than_seconds=0)
    payment.refresh_from_db()
    assert payment.amount_captured_minor == 1800
    assert Transaction.objects.filter(payment=payment, type="capture", status="succeeded").count() == 1
    assert not Transaction.objects.filter(payment=payment, type="capture", status="pending").exists()
    assert Event.objects.filter(type="charge.captured", object_id=payment.pk).count() == 1
    assert SimAction.objects.filter(transaction__orderid=payment.attempt_id, action_type="capture").count() == 1


def test_cancel_authorisation_voids_at_the_gateway_with_no_fees_and_blocks_capture(shop, sandbox, actor):
    payment = _authorise(sandbox, actor, 900)
    voided = services.payment_cancel_authorization(tenant=sandbox, actor=actor, payment=payment)
    assert (voided.status, voided.fees_minor, voided.net_minor) == ("voided", 0, 0)
    assert SimTransaction.objects.get(orderid=payment.attempt_id).condition == "canceled"
    with pytest.raises(BusinessRuleViolation) as refused:
        services.payment_capture(tenant=sandbox, actor=actor, payment=payment)
    assert refused.value.code == "payment_not_capturable"
    assert not SimAction.objects.filter(action_type="capture").exists()

"""POST /v2/payments through the real NMI adapter against the simulator: approvals with fee lines,
every page-025 decline code as a 402, 3-D Secure, lost answers reconciled exactly once, bad input."""
from __future__ import annotations

import threading
import time

import pytest
import time_machine

from apps.core.clock import now
from apps.core.models import Event
from apps.core.money import Money
from apps.payments import calculations as calc
from apps.payments import services
from apps.payments.models import FeeLine, Payment, Transaction
from apps.payments.simulators.nmi import faults
from apps.payments.simulators.nmi.models import SimTransaction
from tests.conftest import requires_postgres
from tests.payments.payments_helpers import payments_db

pytestmark = payments_db

DECLINE_CODES = ["200", "202", "204", "223", "225", "300", "301", "303", "304", "402", "521", "530", "531"]


def test_approved_card_succeeds_with_fee_lines_from_the_rate_table(shop):
    response = shop.client().post("/v2/payments", {"amount_minor": 2500, "currency": "GBP",
                                                   "payment_method_token": "tok_visa_debit_gb",
                                                   "description": "Coffee"}, format="json")
    assert response.status_code == 201, response.content
    data = response.json()["data"]
    assert data["status"] == "succeeded" and data["card"]["last4"] and data["card"]["brand"] == "visa"
    payment = Payment.objects.get(pk=data["id"])
    expected = calc.card_fee_breakdown(transaction=calc.CardTransaction(
        amount=Money(2500, "GBP"), brand="visa", funding="debit", issuing_country="GB", merchant_country="GB",
        channel=calc.Channel.CNP_NON_3DS))
    sale = Transaction.objects.get(payment=payment, type="sale")
    lines = list(FeeLine.objects.filter(transaction=sale).order_by("id").values_list("code", "amount_minor"))
    assert lines == [(str(line.code), line.amount.amount_minor) for line in expected.lines]
    assert payment.fees_minor == expected.fees.amount_minor and payment.net_minor == 2500 - payment.fees_minor
    assert sale.amount_minor == 2500 and sale.gateway_transaction_id == payment.gateway_transaction_id
    assert Event.objects.filter(type="payment.succeeded", object_id=payment.pk).count() == 1
    detail = shop.client().get(f"/v2/transactions/{sale.pk}").json()["data"]
    assert [line["amount_minor"] for line in detail["fee_lines"]] == [amount for _, amount in lines]


@pytest.mark.parametrize("code", DECLINE_CODES)
def test_each_decline_token_is_a_402_with_its_decline_code(shop, code):
    from apps.payments.gateways.declines import decline

    response = shop.client().post("/v2/payments", {"amount_minor": 1000, "currency": "GBP",
                                                   "payment_method_token": f"tok_decline_{code}"}, format="json")
    assert response.status_code == 402, response.content
    error = response.json()["error"]
    assert (error["type"], error["code"], error["decline_code"]) == ("card_error", "payment_declined", code)
    assert error["message"] == decline(code).message
    payment = Payment.objects.get(pk=error["details"]["payment_id"])
    assert (payment.status, payment.decline_code) == ("failed", code)
    assert not Transaction.objects.filter(payment=payment).exists()
    assert Event.objects.filter(type="payment.failed", object_id=payment.pk).count() == 1


def test_3ds_requires_action_then_challenge_completed_succeeds(shop, sandbox, actor):
    import httpx

    response = shop.client().post("/v2/payments", {"amount_minor": 4000, "currency": "GBP",
                                                   "payment_method_token": "tok_3ds"}, format="json")
    assert response.status_code == 201, response.content
    data = response.json()["data"]
    assert data["status"] == "requires_action" and data["action_url"]
    done = httpx.post(data["action_url"], data={"action": "complete", "return_url": "https://shop.example/r"},
                      timeout=5)
    assert done.status_code == 303
    payment = services.payment_complete_action(payment=Payment.objects.get(pk=data["id"]), actor=actor)
    assert payment.status == "succeeded" and payment.three_ds
    assert Transaction.objects.filter(payment=payment, type="sale").count() == 1
    assert Event.objects.filter(type="payment.succeeded", object_id=payment.pk).count() == 1
    # Completing again changes nothing.
    again = services.payment_complete_action(payment=payment, actor=actor)
    assert again.status == "succeeded" and Transaction.objects.filter(payment=payment).count() == 1


def test_timeout_after_charge_is_pending_unknown_then_reconciled_exactly_once(shop, sandbox, actor, settings):
    settings.NMI_READ_TIMEOUT_SECONDS = 1
    faults.inject("timeout_after_charge", hang_seconds=2.5)
    payment = services.payment_create(tenant=sandbox, actor=actor, amount=Money(2500, "GBP"),
                                      payment_token="tok_visa_debit_gb")
    assert (payment.status, payment.outcome_unknown) == ("pending", True)
    assert SimTransaction.objects.filter(orderid=payment.attempt_id, type="sale").count() == 1
    time.sleep(2)  # let the hung request finish on the simulator side
    resolved = services.payment_reconcile_unknown(payment=payment, actor=actor)
    assert resolved.status == "succeeded" and not resolved.outcome_unknown
    services.payment_reconcile_unknown(payment=payment, actor=actor)  # twice: still exactly once
    assert Payment.objects.filter(status="succeeded").count() == 1
    assert Transaction.objects.filter(payment=payment, type="sale").count() == 1
    assert SimTransaction.objects.filter(orderid=payment.attempt_id, type="sale").count() == 1
    assert Event.objects.filter(type="payment.succeeded", object_id=payment.pk).count() == 1


def test_reconcile_sweep_fails_an_attempt_the_gateway_never_saw(shop, sandbox, actor):
    from apps.core.ids import new_id

    payment = Payment.objects.create(merchant=sandbox.merchant, livemode=False, amount_minor=100, currency="GBP",
                                     attempt_id=new_id("pat"), gateway_account=sandbox.merchant.gateway_accounts.get())
    with time_machine.travel(now() + __import__("datetime").timedelta(minutes=5), tick=True):
        from apps.payments.tasks import reconcile_unknown_payments

        assert reconcile_unknown_payments() == 1  # the beat task, a thin wrapper over payments_reconcile_due
    payment.refresh_from_db()
    assert payment.status == "failed" and "no record" in payment.failure_message
    assert Event.objects.filter(type="payment.failed", object_id=payment.pk).count() == 1
    from django.conf import settings

    entry = settings.CELERY_BEAT_SCHEDULE["payments-reconcile-unknown"]
    assert entry == {"task": "apps.payments.tasks.reconcile_unknown_payments", "schedule": 60.0}


@pytest.mark.parametrize("body, field", [
    ({"amount_minor": -5, "currency": "GBP", "payment_method_token": "tok_visa"}, "amount_minor"),
    ({"amount_minor": 500, "currency": "XXZ", "payment_method_token": "tok_visa"}, "currency"),
    ({"amount_minor": 500, "currency": "GBP", "payment_method_token": "tok_visa",
      "payment_method_id": "pm_01HK4X7Z2M5N8P0Q3R6S9T2V5W"}, "payment_method_token"),
    ({"amount_minor": 500, "currency": "GBP"}, "payment_method_token"),
    ({"amount_minor": 500, "currency": "GBP", "payment_method_token": "tok_visa", "card_number": "1"}, "card_number"),
])
def test_bad_input_is_400_with_fields_and_writes_nothing(shop, body, field):
    response = shop.client().post("/v2/payments", body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()["error"]["details"]["fields"]
    assert not Payment.objects.exists() and not SimTransaction.objects.exists()


def test_lists_filter_by_customer_and_status(shop, sandbox, actor):
    from tests.factories import make_customer

    customer = make_customer(sandbox, name="Ann")
    mine = services.payment_create(tenant=sandbox, actor=actor, amount=Money(700, "GBP"), customer=customer,
                                   payment_token="tok_visa_debit_gb")
    services.payment_create(tenant=sandbox, actor=actor, amount=Money(800, "GBP"), payment_token="tok_decline_200")
    client = shop.client()
    assert [p["id"] for p in client.get(f"/v2/payments?customer_id={customer.pk}").json()["data"]] == [mine.pk]
    assert [p["id"] for p in client.get(f"/v2/customers/{customer.pk}/payments").json()["data"]] == [mine.pk]
    assert len(client.get("/v2/payments?status=failed").json()["data"]) == 1
    assert client.get(f"/v2/payments/{mine.pk}").json()["data"]["status"] == "succeeded"
    assert client.get(f"/v2/customers/{customer.pk}/payment-methods").json()["data"] == []


@requires_postgres
def test_twenty_concurrent_identical_posts_with_one_key_charge_once(shop):
    from django.db import connection

    results = []

    def worker():
        try:
            response = shop.client().post("/v2/payments", {"amount_minor": 1500, "currency": "GBP",
                                                           "payment_method_token": "tok_visa_debit_gb"},
                                          format="json", HTTP_IDEMPOTENCY_KEY="same-key-1")
            results.append(response.status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert 201 in results and set(results) <= {201, 409}, results
    assert SimTransaction.objects.filter(type="sale").count() == 1
    assert Payment.objects.count() == 1

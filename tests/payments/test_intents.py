"""Payment intents over /v2 through the real adapter against the simulator: automatic and manual capture,
3-D Secure, declines then a retry, cancel (voiding an authorisation), update rules per status, a lost answer
followed by the reconciler, and confirmations that never create two payments."""
from __future__ import annotations

import threading
import time
import uuid

import httpx
import pytest
from django.db import connection

from apps.core.models import Event
from apps.payments import services
from apps.payments.models import Payment, PaymentIntent, Transaction
from apps.payments.simulators.nmi import faults
from apps.payments.simulators.nmi.models import SimAction, SimTransaction
from tests.conftest import requires_postgres
from tests.factories import make_customer
from tests.payments.payments_helpers import payments_db

pytestmark = payments_db


def _create(client, **body):
    response = client.post("/v2/payment-intents", {"amount_minor": 2500, "currency": "GBP", **body}, format="json")
    assert response.status_code == 201, response.content
    return response.json()["data"]


def _post(client, path, body=None, status=200):
    response = client.post(path, body or {}, format="json")
    assert response.status_code == status, response.content
    return response.json()


def _events(intent_id):
    return list(Event.objects.filter(object_id=intent_id).order_by("created_at", "id").values_list("type", flat=True))


def test_automatic_capture_confirmed_at_creation_succeeds(shop, sandbox):
    client = shop.client()
    customer = make_customer(sandbox, name="Auto Payer")
    data = _create(client, customer=customer.pk, payment_token="tok_visa_debit_gb", confirm=True)
    assert (data["status"], data["amount_received_minor"], data["amount_capturable_minor"]) == ("succeeded", 2500, 0)
    payment = Payment.objects.get(pk=data["latest_payment_id"])
    assert (payment.status, payment.payment_intent_id, payment.customer_id) == ("succeeded", data["id"], customer.pk)
    assert Transaction.objects.filter(payment=payment, type="sale").count() == 1
    assert _events(data["id"]) == ["payment_intent.created", "payment_intent.succeeded"]
    assert client.get(f"/v2/payment-intents/{data['id']}").json()["data"]["status"] == "succeeded"


def test_manual_capture_requires_capture_then_partial_capture_succeeds(shop):
    client = shop.client()
    data = _create(client, payment_token="tok_visa_debit_gb", capture_method="manual")
    assert data["status"] == "requires_confirmation"
    confirmed = _post(client, f"/v2/payment-intents/{data['id']}/confirm")["data"]
    assert (confirmed["status"], confirmed["amount_capturable_minor"]) == ("requires_capture", 2500)
    sim = SimTransaction.objects.get(orderid=Payment.objects.get(pk=confirmed["latest_payment_id"]).attempt_id)
    assert (sim.type, sim.condition) == ("auth", "pending")
    too_much = client.post(f"/v2/payment-intents/{data['id']}/capture", {"amount_to_capture": 2501}, format="json")
    assert too_much.status_code == 422 and too_much.json()["error"]["code"] == "amount_too_large"
    captured = _post(client, f"/v2/payment-intents/{data['id']}/capture", {"amount_to_capture": 2000})["data"]
    assert (captured["status"], captured["amount_received_minor"], captured["amount_capturable_minor"]) == \
        ("succeeded", 2000, 0)
    payment = Payment.objects.get(pk=captured["latest_payment_id"])
    assert payment.amount_captured_minor == 2000 and payment.fees_minor > 0
    assert _events(data["id"]) == ["payment_intent.created", "payment_intent.amount_capturable_updated",
                                   "payment_intent.succeeded"]
    assert Event.objects.filter(type="charge.captured", object_id=payment.pk).count() == 1
    again = client.post(f"/v2/payment-intents/{data['id']}/capture", {}, format="json")
    assert again.status_code == 422 and again.json()["error"]["code"] == "payment_intent_unexpected_state"
    assert SimAction.objects.filter(action_type="capture").count() == 1


def test_3ds_requires_action_then_challenge_and_confirm_again_succeeds(shop):
    client = shop.client()
    data = _create(client, payment_token="tok_3ds", confirm=True)
    assert data["status"] == "requires_action"
    assert data["next_action"]["type"] == "redirect_to_url" and data["next_action"]["url"]
    done = httpx.post(data["next_action"]["url"], data={"action": "complete", "return_url": "https://shop.example/r"},
                      timeout=5)
    assert done.status_code == 303
    refreshed = _post(client, f"/v2/payment-intents/{data['id']}/confirm")["data"]
    assert (refreshed["status"], refreshed["amount_received_minor"], refreshed["next_action"]) == \
        ("succeeded", 2500, None)
    assert Payment.objects.filter(payment_intent_id=data["id"]).count() == 1
    assert _events(data["id"]) == ["payment_intent.created", "payment_intent.requires_action",
                                   "payment_intent.succeeded"]


def test_3ds_completion_found_by_the_payments_service_moves_the_intent(shop, actor):
    data = _create(shop.client(), payment_token="tok_3ds", capture_method="manual", confirm=True)
    httpx.post(data["next_action"]["url"], data={"action": "complete"}, timeout=5)
    services.payment_complete_action(payment=Payment.objects.get(pk=data["latest_payment_id"]), actor=actor)
    intent = PaymentIntent.objects.get(pk=data["id"])
    assert (intent.status, intent.amount_capturable_minor) == ("requires_capture", 2500)


def test_decline_returns_to_requires_payment_method_then_a_new_card_succeeds(shop):
    client = shop.client()
    data = _create(client, payment_token="tok_decline_300", confirm=True)
    assert data["status"] == "requires_payment_method"
    error = data["last_payment_error"]
    assert (error["code"], error["decline_code"]) == ("card_declined", "300") and error["message"]
    retried = _post(client, f"/v2/payment-intents/{data['id']}/confirm", {"payment_token": "tok_visa"})["data"]
    assert (retried["status"], retried["last_payment_error"]) == ("succeeded", None)
    attempts = Payment.objects.filter(payment_intent_id=data["id"])
    assert sorted(attempts.values_list("status", flat=True)) == ["failed", "succeeded"]
    assert retried["latest_payment_id"] == attempts.get(status="succeeded").pk
    assert _events(data["id"]) == ["payment_intent.created", "payment_intent.payment_failed",
                                   "payment_intent.succeeded"]


def test_cancel_from_requires_capture_voids_the_authorisation_at_the_gateway(shop):
    client = shop.client()
    data = _create(client, payment_token="tok_visa_debit_gb", capture_method="manual", confirm=True)
    assert data["status"] == "requires_capture"
    bad = client.post(f"/v2/payment-intents/{data['id']}/cancel", {"cancellation_reason": "bored"}, format="json")
    assert bad.status_code == 400
    canceled = _post(client, f"/v2/payment-intents/{data['id']}/cancel",
                     {"cancellation_reason": "requested_by_customer"})["data"]
    assert (canceled["status"], canceled["cancellation_reason"]) == ("canceled", "requested_by_customer")
    assert canceled["canceled_at"] and canceled["amount_capturable_minor"] == 0
    payment = Payment.objects.get(pk=data["latest_payment_id"])
    assert (payment.status, payment.fees_minor) == ("voided", 0)
    assert SimTransaction.objects.get(orderid=payment.attempt_id).condition == "canceled"
    assert _events(data["id"])[-1] == "payment_intent.canceled"
    assert Event.objects.filter(type="payment_intent.canceled", object_id=data["id"]).count() == 1
    assert Event.objects.get(type="payment_intent.canceled").data["cancellation_reason"] == "requested_by_customer"
    again = client.post(f"/v2/payment-intents/{data['id']}/cancel", {}, format="json")
    assert again.status_code == 422


def test_a_succeeded_intent_cannot_be_canceled(shop):
    client = shop.client()
    data = _create(client, payment_token="tok_visa_debit_gb", confirm=True)
    response = client.post(f"/v2/payment-intents/{data['id']}/cancel", {}, format="json")
    assert response.status_code == 422 and response.json()["error"]["code"] == "payment_intent_unexpected_state"
    assert PaymentIntent.objects.get(pk=data["id"]).status == "succeeded"


def test_update_rules_follow_the_status(shop):
    client = shop.client()
    data = _create(client, description="first")
    assert data["status"] == "requires_payment_method"
    updated = _post(client, f"/v2/payment-intents/{data['id']}",
                    {"amount_minor": 3100, "currency": "EUR", "payment_token": "tok_visa", "metadata": {"k": "v"}})
    assert (updated["data"]["amount_minor"], updated["data"]["currency"], updated["data"]["status"]) == \
        (3100, "EUR", "requires_confirmation")
    unknown = client.post(f"/v2/payment-intents/{data['id']}", {"colour": "red"}, format="json")
    assert unknown.status_code == 400
    _post(client, f"/v2/payment-intents/{data['id']}/confirm")
    frozen = client.post(f"/v2/payment-intents/{data['id']}", {"amount_minor": 100}, format="json")
    assert frozen.status_code == 422 and "amount" in frozen.json()["error"]["message"]
    described = _post(client, f"/v2/payment-intents/{data['id']}", {"description": "after", "metadata": {"a": "b"}})
    assert (described["data"]["description"], described["data"]["metadata"]) == ("after", {"a": "b"})
    assert PaymentIntent.objects.get(pk=data["id"]).amount_received_minor == 3100

    other = _create(client)
    _post(client, f"/v2/payment-intents/{other['id']}/cancel", {"cancellation_reason": "abandoned"})
    closed = client.post(f"/v2/payment-intents/{other['id']}", {"description": "too late"}, format="json")
    assert closed.status_code == 422


def test_lost_answer_leaves_the_intent_processing_until_the_reconciler_settles_the_payment(shop, settings):
    settings.NMI_READ_TIMEOUT_SECONDS = 1
    faults.inject("timeout_after_charge", hang_seconds=2.5)
    data = _create(shop.client(), payment_token="tok_visa_debit_gb", confirm=True)
    assert data["status"] == "processing"
    time.sleep(2)  # let the hung request finish on the simulator side
    services.payment_reconcile_unknown(payment=Payment.objects.get(pk=data["latest_payment_id"]))
    intent = PaymentIntent.objects.get(pk=data["id"])
    assert (intent.status, intent.amount_received_minor) == ("succeeded", 2500)
    assert _events(data["id"]) == ["payment_intent.created", "payment_intent.succeeded"]


def test_confirming_twice_is_422_and_an_idempotent_replay_creates_nothing(shop):
    client = shop.client()
    data = _create(client, payment_token="tok_visa_debit_gb")
    key = str(uuid.uuid4())
    first = client.post(f"/v2/payment-intents/{data['id']}/confirm", {}, format="json", HTTP_IDEMPOTENCY_KEY=key)
    replay = client.post(f"/v2/payment-intents/{data['id']}/confirm", {}, format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert first.status_code == replay.status_code == 200
    assert replay["Idempotency-Replayed"] == "true" and replay.json() == first.json()
    second = client.post(f"/v2/payment-intents/{data['id']}/confirm", {}, format="json")
    assert second.status_code == 422 and second.json()["error"]["code"] == "payment_intent_unexpected_state"
    assert Payment.objects.filter(payment_intent_id=data["id"]).count() == 1
    assert SimTransaction.objects.filter(type="sale").count() == 1


@requires_postgres
def test_concurrent_confirms_create_one_payment(shop):
    data = _create(shop.client(), payment_token="tok_visa_debit_gb")
    barrier = threading.Barrier(6)
    statuses: list[int] = []

    def confirm():
        try:
            barrier.wait()
            statuses.append(shop.client().post(f"/v2/payment-intents/{data['id']}/confirm", {},
                                               format="json").status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=confirm) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200] + [422] * 5
    assert Payment.objects.filter(payment_intent_id=data["id"]).count() == 1
    assert SimTransaction.objects.filter(type="sale").count() == 1
    assert PaymentIntent.objects.get(pk=data["id"]).status == "succeeded"


def test_another_merchants_intent_is_404_and_their_card_cannot_be_named(shop, other_tenant):
    data = _create(shop.client(), payment_token="tok_visa_debit_gb")
    intruder = other_tenant.client()
    for path in ("", "/confirm", "/cancel", "/capture"):
        response = intruder.post(f"/v2/payment-intents/{data['id']}{path}", {}, format="json")
        assert response.status_code == 404, (path, response.content)
    assert intruder.get(f"/v2/payment-intents/{data['id']}").status_code == 404
    assert PaymentIntent.objects.get(pk=data["id"]).status == "requires_confirmation"
    assert not Payment.objects.exists()


def test_list_filters_by_status_and_customer(shop, sandbox):
    client = shop.client()
    customer = make_customer(sandbox, name="Listed")
    mine = _create(client, customer=customer.pk)
    done = _create(client, payment_token="tok_visa_debit_gb", confirm=True)
    by_customer = client.get(f"/v2/payment-intents?customer={customer.pk}").json()["data"]
    assert [row["id"] for row in by_customer] == [mine["id"]]
    succeeded = client.get("/v2/payment-intents?status=succeeded").json()["data"]
    assert [row["id"] for row in succeeded] == [done["id"]]
    assert client.get("/v2/payment-intents?status=nope").status_code == 400


def test_voiding_an_intents_authorisation_through_v2_voids_cancels_the_intent(shop):
    client = shop.client()
    data = _create(client, payment_token="tok_visa_debit_gb", capture_method="manual", confirm=True)
    void = client.post("/v2/voids", {"payment_id": data["latest_payment_id"]}, format="json")
    assert void.status_code == 201 and void.json()["data"]["status"] == "succeeded", void.content
    intent = client.get(f"/v2/payment-intents/{data['id']}").json()["data"]
    assert (intent["status"], intent["amount_capturable_minor"], intent["cancellation_reason"]) == \
        ("canceled", 0, None)
    capture = client.post(f"/v2/payment-intents/{data['id']}/capture", {}, format="json")
    assert capture.status_code == 422
    assert Event.objects.filter(type="payment_intent.canceled", object_id=data["id"]).count() == 1


@pytest.mark.parametrize("path, body, field", [
    ("/v2/payment-intents", {"amount_minor": "ten", "currency": "GBP"}, "amount_minor"),
    ("/v2/payment-intents", {"amount_minor": 100, "currency": "ZZZ"}, "currency"),
    ("/v2/payment-intents", {"amount_minor": 100, "currency": "GBP", "capture_method": "later"}, "capture_method"),
    ("/v2/payment-intents", {"amount_minor": 100, "currency": "GBP", "confirm": "yes"}, "confirm"),
    ("/v2/payment-intents", {"amount_minor": 100, "currency": "GBP", "metadata": ["x"]}, "metadata"),
    ("/v2/payment-intents", {"amount_minor": 100, "currency": "GBP", "customer": 7}, "customer"),
    ("/v2/payment-intents", {"amount_minor": 100, "currency": "GBP", "payment_token": "tok_visa",
                             "payment_method": "pm_01HK4X7Z2M5N8P0Q3R6S9T2V5W"}, "payment_method"),
    ("/v2/payment-intents", {"amount_minor": 100, "currency": "GBP", "card_cvc": "1"}, "card_cvc"),
    ("/v2/charges", {"customer": "cus_x", "amount_minor": 1.5, "currency": "GBP"}, "amount_minor"),
    ("/v2/charges", {"customer": "cus_x", "amount_minor": 100, "currency": "GBP", "capture": "no"}, "capture"),
])
def test_bad_input_is_400_with_fields_and_writes_nothing(shop, path, body, field):
    response = shop.client().post(path, body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()["error"]["details"]["fields"]
    assert not PaymentIntent.objects.exists() and not Payment.objects.exists()


def test_bad_action_input_is_400(shop):
    client = shop.client()
    data = _create(client, payment_token="tok_visa_debit_gb", capture_method="manual", confirm=True)
    for path, body in (("/capture", {"amount_to_capture": 10.5}), ("/capture", {"amount_to_capture": -1}),
                       ("/cancel", {"cancellation_reason": 3}), ("/confirm", {"payment_token": 5}),
                       ("", {"metadata": "x"}), ("", {"amount_minor": 0})):
        response = client.post(f"/v2/payment-intents/{data['id']}{path}", body, format="json")
        assert response.status_code == 400, (path, body, response.content)
    assert client.post(f"/v2/payment-intents/{data['id']}/confirm", [1], format="json").status_code == 400
    assert client.get("/v2/payment-intents?created[gte]=soon").status_code == 400
    assert PaymentIntent.objects.get(pk=data["id"]).status == "requires_capture"


def test_an_attempt_the_gateway_never_saw_fails_at_reconciliation_and_the_intent_can_be_retried(shop):
    faults.inject("error_5xx_before_charge", status=502)  # 502: the answer is unknown, nothing was processed
    client = shop.client()
    data = _create(client, payment_token="tok_visa_debit_gb", confirm=True)
    assert data["status"] == "processing"
    stuck = client.post(f"/v2/payment-intents/{data['id']}/cancel", {}, format="json")
    assert stuck.status_code == 422  # an attempt in flight cannot be abandoned
    services.payment_reconcile_unknown(payment=Payment.objects.get(pk=data["latest_payment_id"]), grace_seconds=0)
    intent = client.get(f"/v2/payment-intents/{data['id']}").json()["data"]
    assert intent["status"] == "requires_payment_method"
    assert (intent["last_payment_error"]["code"], intent["last_payment_error"]["decline_code"]) == \
        ("processing_error", None)
    retried = _post(client, f"/v2/payment-intents/{data['id']}/confirm", {"payment_token": "tok_visa_debit_gb"})
    assert retried["data"]["status"] == "succeeded"
    assert SimTransaction.objects.filter(type="sale").count() == 1


@pytest.mark.parametrize("capture_method", ["automatic", "manual"])
def test_3ds_finished_after_the_intent_was_canceled_is_released_not_kept(shop, actor, capture_method):
    client = shop.client()
    data = _create(client, payment_token="tok_3ds", capture_method=capture_method, confirm=True)
    canceled = _post(client, f"/v2/payment-intents/{data['id']}/cancel", {"cancellation_reason": "abandoned"})
    assert canceled["data"]["status"] == "canceled"
    # The cardholder completes the challenge anyway, and the gateway approves the payment.
    httpx.post(data["next_action"]["url"], data={"action": "complete"}, timeout=5)
    payment = services.payment_complete_action(payment=Payment.objects.get(pk=data["latest_payment_id"]), actor=actor)
    payment.refresh_from_db()
    assert payment.status == "voided"
    sim = SimTransaction.objects.get(orderid=payment.attempt_id)
    assert sim.condition == "canceled"  # the gateway released the money
    assert PaymentIntent.objects.get(pk=data["id"]).status == "canceled"
    assert Event.objects.filter(type="void.succeeded").count() == 1

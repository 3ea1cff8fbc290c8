"""/v2/charges through the real adapter against the simulator: a charge is a Payment shown as "charge"; create
charges the customer's default card (saved through the vault), declines are 402s, capture=false then capture,
list filters, refunds only after the batch settles, other merchants' charges are 404s."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import time_machine

from apps.core.models import Event
from apps.payments import services
from apps.payments.models import Payment, Refund
from apps.payments.simulators.nmi.models import SimAction, SimTransaction
from tests.factories import make_customer
from tests.payments.payments_helpers import payments_db

pytestmark = payments_db
NEW_YORK = ZoneInfo("America/New_York")


def ny(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 6, day, hour, minute, tzinfo=NEW_YORK)


def _customer_with_card(sandbox, actor, name="Card Holder", token="tok_visa_debit_gb"):
    customer = make_customer(sandbox, name=name)
    method = services.payment_method_create(tenant=sandbox, actor=actor, customer=customer, payment_token=token)
    return customer, method


def test_create_charges_the_customers_default_payment_method(shop, sandbox, actor):
    customer, method = _customer_with_card(sandbox, actor)
    response = shop.client().post("/v2/charges", {"customer": customer.pk, "amount": 4200, "currency": "gbp",
                                                  "description": "Setup fee", "metadata": {"order": "42"}},
                                  format="json")
    assert response.status_code == 201, response.content
    data = response.json()["data"]
    assert data["object"] == "charge" and data["id"].startswith("pay_")
    assert (data["status"], data["captured"], data["refunded"]) == ("succeeded", True, False)
    assert (data["amount_minor"], data["amount_captured_minor"], data["amount_refunded_minor"]) == (4200, 4200, 0)
    assert (data["customer_id"], data["payment_method_id"], data["metadata"]) == (customer.pk, method.pk,
                                                                                   {"order": "42"})
    sim = SimTransaction.objects.get(orderid=Payment.objects.get(pk=data["id"]).attempt_id)
    assert (sim.type, sim.customer_vault_id) == ("sale", method.gateway_vault_id)
    got = shop.client().get(f"/v2/charges/{data['id']}").json()["data"]
    assert got == {**data, "updated_at": got["updated_at"]}


def test_create_refuses_what_it_cannot_charge(shop, sandbox, actor, other_tenant):
    client = shop.client()
    bare = make_customer(sandbox, name="No Card")
    no_card = client.post("/v2/charges", {"customer": bare.pk, "amount_minor": 500, "currency": "GBP"}, format="json")
    assert no_card.status_code == 422 and no_card.json()["error"]["code"] == "no_payment_method"
    missing = client.post("/v2/charges", {"amount_minor": 500, "currency": "GBP", "payment_token": "tok_visa"},
                          format="json")
    assert missing.status_code == 400 and "customer" in missing.json()["error"]["details"]["fields"]
    theirs = other_tenant.client().post("/v2/charges", {"customer": bare.pk, "amount_minor": 500, "currency": "GBP",
                                                        "payment_token": "tok_visa"}, format="json")
    assert theirs.status_code == 404
    assert not Payment.objects.exists() and not SimTransaction.objects.exists()


def test_a_decline_is_the_402_payment_declined_envelope(shop, sandbox):
    customer = make_customer(sandbox, name="Declined")
    response = shop.client().post("/v2/charges", {"customer": customer.pk, "amount_minor": 700, "currency": "GBP",
                                                  "payment_token": "tok_decline_301"}, format="json")
    assert response.status_code == 402, response.content
    error = response.json()["error"]
    assert (error["type"], error["code"], error["decline_code"]) == ("card_error", "payment_declined", "301")
    assert Payment.objects.get(pk=error["details"]["payment_id"]).status == "failed"


def test_capture_false_then_partial_capture_then_capture_again_is_422(shop, sandbox, actor):
    customer, _ = _customer_with_card(sandbox, actor)
    client = shop.client()
    created = client.post("/v2/charges", {"customer": customer.pk, "amount_minor": 5000, "currency": "GBP",
                                          "capture": False}, format="json").json()["data"]
    assert (created["status"], created["captured"], created["amount_captured_minor"]) == ("succeeded", False, 0)
    captured = client.post(f"/v2/charges/{created['id']}/capture", {"amount_minor": 3500}, format="json")
    assert captured.status_code == 200, captured.content
    data = captured.json()["data"]
    assert (data["captured"], data["amount_captured_minor"]) == (True, 3500) and data["fees_minor"] > 0
    again = client.post(f"/v2/charges/{created['id']}/capture", {}, format="json")
    assert again.status_code == 422 and again.json()["error"]["code"] == "payment_already_captured"
    assert SimAction.objects.filter(action_type="capture").count() == 1
    assert Event.objects.filter(type="charge.captured", object_id=created["id"]).count() == 1


def test_list_filters_by_customer_status_and_created_range(shop, sandbox, actor):
    client = shop.client()
    alice, _ = _customer_with_card(sandbox, actor, name="Alice")
    bob, _ = _customer_with_card(sandbox, actor, name="Bob")
    with time_machine.travel(ny(3, 10), tick=True):
        early = client.post("/v2/charges", {"customer": alice.pk, "amount_minor": 100, "currency": "GBP"},
                            format="json").json()["data"]
    with time_machine.travel(ny(5, 10), tick=True):
        late = client.post("/v2/charges", {"customer": alice.pk, "amount_minor": 200, "currency": "GBP"},
                           format="json").json()["data"]
        declined = client.post("/v2/charges", {"customer": bob.pk, "amount_minor": 300, "currency": "GBP",
                                               "payment_token": "tok_decline_200"}, format="json")
    declined_id = declined.json()["error"]["details"]["payment_id"]

    def ids(query):
        response = client.get(f"/v2/charges?{query}")
        assert response.status_code == 200, response.content
        return [row["id"] for row in response.json()["data"]]

    assert ids(f"customer={alice.pk}") == [late["id"], early["id"]]
    assert ids("status=failed") == [declined_id]
    assert ids("created[gte]=2026-06-04T00:00:00Z") == [declined_id, late["id"]]
    assert ids("created[lte]=2026-06-04T00:00:00Z") == [early["id"]]
    assert ids(f"customer={bob.pk}&status=succeeded") == []
    assert all(row["object"] == "charge" for row in client.get("/v2/charges").json()["data"])
    assert client.get("/v2/charges?created[gte]=yesterday").status_code == 400
    assert client.get("/v2/charges?status=lost").status_code == 400


def test_refund_is_refused_before_settlement_then_works_after_the_batch_closes(shop, sandbox, actor):
    customer, _ = _customer_with_card(sandbox, actor)
    client = shop.client()
    with time_machine.travel(ny(10, 12), tick=True) as clock:
        charge = client.post("/v2/charges", {"customer": customer.pk, "amount_minor": 1000, "currency": "GBP"},
                             format="json").json()["data"]
        early = client.post(f"/v2/charges/{charge['id']}/refund", {"amount_minor": 100}, format="json")
        assert early.status_code == 422 and early.json()["error"]["code"] == "refund_before_settlement"
        clock.move_to(ny(10, 20, 5))
        client = shop.client()
        first = client.post(f"/v2/charges/{charge['id']}/refund", {"amount_minor": 400,
                                                                   "reason": "requested_by_customer"}, format="json")
        assert first.status_code == 201, first.content
        assert (first.json()["data"]["object"], first.json()["data"]["status"]) == ("refund", "succeeded")
        rest = client.post(f"/v2/charges/{charge['id']}/refund", {}, format="json")
        assert rest.status_code == 201 and rest.json()["data"]["amount_minor"] == 600
        after = client.get(f"/v2/charges/{charge['id']}").json()["data"]
    assert (after["status"], after["refunded"], after["amount_refunded_minor"]) == ("refunded", True, 1000)
    assert Refund.objects.filter(payment_id=charge["id"], status="succeeded").count() == 2
    assert SimTransaction.objects.filter(type="refund").count() == 2


def test_another_merchants_charge_is_404_everywhere(shop, sandbox, actor, other_tenant):
    customer, _ = _customer_with_card(sandbox, actor)
    charge = shop.client().post("/v2/charges", {"customer": customer.pk, "amount_minor": 900, "currency": "GBP",
                                                "capture": False}, format="json").json()["data"]
    for client in (other_tenant.client(), shop.client(live=True)):
        assert client.get(f"/v2/charges/{charge['id']}").status_code == 404
        assert client.post(f"/v2/charges/{charge['id']}/capture", {}, format="json").status_code == 404
        assert client.post(f"/v2/charges/{charge['id']}/refund", {}, format="json").status_code == 404
        assert charge["id"] not in client.get("/v2/charges").content.decode()
    assert not SimAction.objects.filter(action_type__in=("capture", "refund")).exists()


def test_a_retried_create_with_the_same_idempotency_key_charges_once(shop, sandbox, actor):
    customer, _ = _customer_with_card(sandbox, actor)
    client = shop.client()
    body = {"customer": customer.pk, "amount_minor": 1234, "currency": "GBP"}
    first = client.post("/v2/charges", body, format="json", HTTP_IDEMPOTENCY_KEY="charge-retry-1")
    again = client.post("/v2/charges", body, format="json", HTTP_IDEMPOTENCY_KEY="charge-retry-1")
    assert first.status_code == again.status_code == 201
    assert again["Idempotency-Replayed"] == "true" and again.json() == first.json()
    other = client.post("/v2/charges", {**body, "amount_minor": 99}, format="json",
                        HTTP_IDEMPOTENCY_KEY="charge-retry-1")
    assert other.status_code == 409 and other.json()["error"]["code"] == "idempotency_conflict"
    assert Payment.objects.count() == 1 and SimTransaction.objects.filter(type="sale").count() == 1

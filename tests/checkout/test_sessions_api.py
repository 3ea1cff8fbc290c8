"""/v2/checkout-sessions through HTTP with real API keys: create (SDK snake_case and the guide's camelCase body),
product lines resolved to their one one-time price, get, expire (and its 409s), subscription mode refused,
bad input 400s with `details.fields`, the success_url placeholder kept, Idempotency-Key replay."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils.dateparse import parse_datetime

from apps.billing.models import Invoice, Order
from apps.checkout import services
from apps.checkout.models import CheckoutSession, CheckoutSessionItem
from apps.core.clock import now
from apps.core.tenancy import Tenant as CoreTenant
from tests.factories import make_customer, make_price, make_product

pytestmark = pytest.mark.django_db


@pytest.fixture
def client(tenant):
    return tenant.client()


def error_of(response, status: int) -> dict:
    assert response.status_code == status, response.content
    return response.json()["error"]


def gbp(tenant, amount=2500, name="Mug", product=None, **fields):
    product = product or make_product(tenant, name=name)
    return make_price(tenant, product, unit_amount_minor=amount, currency="GBP", **fields)


def create(client, body, status=201) -> dict:
    response = client.post("/v2/checkout-sessions", body, format="json")
    assert response.status_code == status, response.content
    return response.json()["data"]


def test_create_the_sdk_way_and_get(client, sandbox):
    mug = gbp(sandbox, 2500)
    customer = make_customer(sandbox, name="Ada", email="ada@example.com", currency="GBP")
    data = create(client, {"mode": "payment", "customer_id": customer.pk,
                           "success_url": "https://shop.example/thanks?session_id={CHECKOUT_SESSION_ID}",
                           "cancel_url": "https://shop.example/cart",
                           "line_items": [{"price_id": mug.pk, "quantity": 2}],
                           "client_reference_id": "cart-42", "metadata": {"cart": "42"}})
    assert data["id"].startswith("cs_") and data["object"] == "checkout_session"
    assert data["url"].endswith(f"/checkout/{data['id']}")
    assert (data["mode"], data["status"], data["payment_status"]) == ("payment", "open", "unpaid")
    assert (data["customer_id"], data["customer_email"]) == (customer.pk, "ada@example.com")
    assert (data["amount_subtotal_minor"], data["amount_total_minor"], data["currency"]) == (5000, 5000, "GBP")
    assert data["success_url"] == "https://shop.example/thanks?session_id={CHECKOUT_SESSION_ID}"
    assert (data["invoice_id"], data["order_id"], data["client_reference_id"]) == (None, None, "cart-42")
    assert data["metadata"] == {"cart": "42"}
    expires = parse_datetime(data["expires_at"])
    assert timedelta(hours=23, minutes=59) < expires - now() <= timedelta(hours=24)
    got = client.get(f"/v2/checkout-sessions/{data['id']}")
    assert got.status_code == 200 and got.json()["data"] == data


def test_create_the_guides_camelcase_way_with_a_product(client, sandbox):
    product = make_product(sandbox, name="Course")
    price = gbp(sandbox, 9900, product=product)
    gbp(sandbox, 100, product=product, interval="month", interval_count=1)  # recurring: not a candidate
    expires = (now() + timedelta(hours=2)).replace(microsecond=0)
    data = create(client, {"mode": "payment", "customerEmail": "Grace@Example.com",
                           "lineItems": [{"productId": product.pk, "quantity": 1,
                                          "adjustableQuantity": {"enabled": True, "minimum": 1, "maximum": 3}}],
                           "successUrl": "https://shop.example/ok?s={CHECKOUT_SESSION_ID}",
                           "cancelUrl": "https://shop.example/no", "allowPromotionCodes": True,
                           "billingAddressCollection": "required", "expiresAt": expires.isoformat()})
    assert data["customer_email"] == "grace@example.com" and data["customer_id"] is None
    assert [(line["price_id"], line["quantity"], line["adjustable_quantity"]) for line in data["line_items"]] == [
        (price.pk, 1, True)]
    item = CheckoutSessionItem.objects.get(session_id=data["id"])
    assert (item.min_quantity, item.max_quantity) == (1, 3)
    assert (data["allow_promotion_codes"], data["billing_address_collection"]) == (True, "required")
    assert parse_datetime(data["expires_at"]) == expires
    assert data["success_url"] == "https://shop.example/ok?s={CHECKOUT_SESSION_ID}"


def test_a_product_with_several_prices_is_a_400_naming_them(client, sandbox):
    product = make_product(sandbox, name="Poster")
    small, large = gbp(sandbox, 900, product=product), gbp(sandbox, 1900, product=product)
    usd = make_price(sandbox, product, unit_amount_minor=1200, currency="USD")
    error = error_of(client.post("/v2/checkout-sessions", {"line_items": [{"product_id": product.pk}]},
                                 format="json"), 400)
    reason = error["details"]["fields"]["line_items[0].product_id"][0]
    assert small.pk in reason and large.pk in reason and usd.pk in reason
    assert create(client, {"currency": "USD", "line_items": [{"product_id": product.pk}]})["line_items"][0][
        "price_id"] == usd.pk
    other = gbp(sandbox, 500, "Sticker")  # another line's currency narrows it, but GBP still has two
    error = error_of(client.post("/v2/checkout-sessions", {"line_items": [
        {"price_id": other.pk}, {"product_id": product.pk}]}, format="json"), 400)
    assert "several" in error["details"]["fields"]["line_items[1].product_id"][0]
    frame = make_product(sandbox, name="Frame")
    frame_gbp, _ = gbp(sandbox, 3000, product=frame), make_price(sandbox, frame, unit_amount_minor=3500, currency="USD")
    data = create(client, {"line_items": [{"price_id": other.pk}, {"product_id": frame.pk}]})
    assert [line["price_id"] for line in data["line_items"]] == [other.pk, frame_gbp.pk]
    assert data["amount_total_minor"] == 3500
    bare = make_product(sandbox, name="Nothing to sell")
    error = error_of(client.post("/v2/checkout-sessions", {"line_items": [{"product_id": bare.pk}]},
                                 format="json"), 400)
    assert "no active one-time price" in error["details"]["fields"]["line_items[0].product_id"][0]


def test_subscription_mode_is_refused_clearly(client, sandbox):
    plan = gbp(sandbox, 900, "Plan", interval="month", interval_count=1)
    error = error_of(client.post("/v2/checkout-sessions", {
        "mode": "subscription", "customerEmail": "a@example.com", "lineItems": [{"priceId": plan.pk}],
        "subscriptionData": {"trialDays": 14}}, format="json"), 422)
    assert (error["code"], error["param"]) == ("mode_not_supported", "mode")
    assert not CheckoutSession.objects.exists()


def test_bad_input_is_a_400_with_fields_and_writes_nothing(client, sandbox, other_tenant):
    mug = gbp(sandbox)
    plan = gbp(sandbox, 900, "Plan", interval="month", interval_count=1)
    usd = make_price(sandbox, unit_amount_minor=100, currency="USD")
    customer = make_customer(sandbox, name="Ada", email="ada@example.com", currency="GBP")
    line = [{"price_id": mug.pk}]
    cases = [
        ({"mode": "rent", "line_items": line}, "mode"),
        ({}, "line_items"),
        ({"line_items": []}, "line_items"),
        ({"line_items": "mug"}, "line_items"),
        ({"line_items": [{"quantity": 2}]}, "line_items[0].price_id"),
        ({"line_items": [{"price_id": mug.pk, "quantity": 0}]}, "line_items[0].quantity"),
        ({"line_items": [{"price_id": mug.pk, "product_id": mug.product_id}]}, "line_items[0].price_id"),
        ({"line_items": [{"price_id": mug.pk, "tax": 1}]}, "line_items[0].tax"),
        ({"line_items": [{"price_id": plan.pk}]}, "line_items[0].price_id"),
        ({"line_items": [{"price_id": mug.pk}, {"price_id": usd.pk}]}, "line_items"),
        ({"line_items": [{"price_id": mug.pk, "quantity": 5, "adjustable_quantity": {"maximum": 3}}]},
         "line_items[0].quantity"),
        ({"line_items": line, "customer_email": "not-an-email"}, "customer_email"),
        ({"line_items": line, "customer_email": "a@example.com", "customer_id": customer.pk}, "customer_email"),
        ({"line_items": line, "success_url": "ftp://x"}, "success_url"),
        ({"line_items": line, "cancel_url": "/relative"}, "cancel_url"),
        ({"line_items": line, "billing_address_collection": "sometimes"}, "billing_address_collection"),
        ({"line_items": line, "allow_promotion_codes": "true"}, "allow_promotion_codes"),
        ({"line_items": line, "expires_at": (now() + timedelta(minutes=10)).isoformat()}, "expires_at"),
        ({"line_items": line, "expires_at": (now() + timedelta(days=31)).isoformat()}, "expires_at"),
        ({"line_items": line, "expires_at": "soon"}, "expires_at"),
        ({"line_items": line, "metadata": {"_reserved_use": "1"}}, "metadata"),
        ({"line_items": line, "subscription_data": {}}, "subscription_data"),
        ({"line_items": line, "currency": "XXY"}, "currency"),
        ({"line_items": line, "colour": "red"}, "colour"),
    ]
    for body, field in cases:
        error = error_of(client.post("/v2/checkout-sessions", body, format="json"), 400)
        assert field in error["details"]["fields"], (body, error)
    theirs = make_price(CoreTenant(other_tenant.merchant, livemode=False), currency="GBP")
    missing = error_of(client.post("/v2/checkout-sessions", {"line_items": [{"price_id": theirs.pk}]},
                                   format="json"), 404)
    assert (missing["code"], missing["param"]) == ("resource_missing", "line_items[0].price_id")
    their_customer = make_customer(CoreTenant(other_tenant.merchant, livemode=False), name="Eve", currency="GBP")
    assert error_of(client.post("/v2/checkout-sessions", {"line_items": line, "customer_id": their_customer.pk},
                                format="json"), 404)["code"] == "resource_missing"
    assert not CheckoutSession.objects.exists()


def test_expires_at_as_unix_seconds(client, sandbox):
    at = int((now() + timedelta(days=2)).timestamp())
    data = create(client, {"line_items": [{"price_id": gbp(sandbox).pk}], "expires_at": at})
    assert int(parse_datetime(data["expires_at"]).timestamp()) == at


def test_expire_an_open_session_then_409(client, sandbox):
    data = create(client, {"line_items": [{"price_id": gbp(sandbox).pk}]})
    response = client.post(f"/v2/checkout-sessions/{data['id']}/expire", format="json")
    assert response.status_code == 200, response.content
    assert response.json()["data"]["status"] == "expired"
    again = error_of(client.post(f"/v2/checkout-sessions/{data['id']}/expire", format="json"), 409)
    assert again["code"] == "checkout_session_not_open"
    assert error_of(client.post("/v2/checkout-sessions/cs_missing/expire", format="json"), 404)["code"] == \
        "resource_missing"
    assert error_of(client.get("/v2/checkout-sessions/in_1"), 404)["code"] == "resource_missing"


@pytest.mark.django_db(transaction=True)
def test_expire_refuses_while_a_payment_is_in_flight(client, gateway_sandbox, actor):
    data = create(client, {"line_items": [{"price_id": gbp(gateway_sandbox).pk}],
                           "customer_email": "ada@example.com"})
    session = CheckoutSession.objects.get(pk=data["id"])
    outcome = services.checkout_session_pay(session=session, actor=actor, payment_token="tok_3ds")
    assert outcome.payment.status == "requires_action"
    error = error_of(client.post(f"/v2/checkout-sessions/{data['id']}/expire", format="json"), 409)
    assert error["code"] == "checkout_payment_in_progress"
    assert CheckoutSession.objects.get(pk=data["id"]).status == "open"


@pytest.mark.django_db(transaction=True)
def test_a_paid_session_shows_customer_invoice_and_order(client, gateway_sandbox, actor):
    product = make_product(gateway_sandbox, name="Boxed set", fulfillment_type="physical")
    data = create(client, {"line_items": [{"price_id": gbp(gateway_sandbox, 4000, product=product).pk}],
                           "customer_email": "ada@example.com",
                           "success_url": "https://shop.example/ok?s={CHECKOUT_SESSION_ID}"})
    session = CheckoutSession.objects.get(pk=data["id"])
    services.checkout_session_pay(session=session, actor=actor, payment_token="tok_visa")
    got = client.get(f"/v2/checkout-sessions/{data['id']}").json()["data"]
    assert (got["status"], got["payment_status"]) == ("complete", "paid")
    invoice = Invoice.objects.get(pk=got["invoice_id"])
    assert (invoice.status, invoice.total_minor, invoice.customer_id) == ("paid", 4000, got["customer_id"])
    assert got["order_id"] == Order.objects.get(invoice=invoice).pk and got["payment_id"].startswith("pay_")
    assert got["success_url"] == "https://shop.example/ok?s={CHECKOUT_SESSION_ID}"
    assert error_of(client.post(f"/v2/checkout-sessions/{data['id']}/expire", format="json"), 409)["code"] == \
        "checkout_session_not_open"


def test_idempotency_key_replays_the_create(client, sandbox):
    body = {"line_items": [{"price_id": gbp(sandbox).pk}], "success_url": "https://s.example/{CHECKOUT_SESSION_ID}"}
    headers = {"HTTP_IDEMPOTENCY_KEY": "cs-create-1"}
    first = client.post("/v2/checkout-sessions", body, format="json", **headers)
    second = client.post("/v2/checkout-sessions", body, format="json", **headers)
    assert first.status_code == second.status_code == 201
    assert second["Idempotency-Replayed"] == "true" and second.json() == first.json()
    assert CheckoutSession.objects.count() == 1
    changed = client.post("/v2/checkout-sessions", {**body, "client_reference_id": "x"}, format="json", **headers)
    assert changed.status_code in (409, 422) and CheckoutSession.objects.count() == 1


@pytest.mark.parametrize("body", [
    [], "x", {"line_items": [1]}, {"line_items": [{"price_id": 5}]}, {"line_items": [{"product_id": "prod_nope"}]},
    {"line_items": [{"price_id": "not an id", "quantity": "2"}]}, {"mode": ["payment"]}, {"mode": None},
    {"line_items": [{"price_id": "x", "adjustable_quantity": {"enabled": "yes", "minimum": -1}}]},
    {"line_items": [{"price_id": "x"}], "expires_at": 10**20}, {"line_items": [{"price_id": "x"}], "expires_at": -5},
    {"customer_id": 7, "line_items": [{"price_id": "x"}]}, {"customer_id": "cus_nope", "line_items": []},
    {"customer_email": ["a@b.c"], "line_items": [{"price_id": "x"}]}, {"client_reference_id": {"a": 1}},
    {"line_items": [{"price_id": "x", "custom_amount_minor": "5"}]},
])
def test_garbage_is_never_a_500(client, body):
    response = client.post("/v2/checkout-sessions", body, format="json")
    assert response.status_code in (400, 404), response.content
    assert not CheckoutSession.objects.exists()

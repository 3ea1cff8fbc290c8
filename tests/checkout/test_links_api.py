"""/v2/payment-links through HTTP with real API keys: create (line_items and the guide's camelCase single
price), get, list with filters and analytics in constant queries, status changes through PATCH /status and
the deprecated endpoints (headers, OpenAPI flag), the archived rule, bad input, Idempotency-Key replay."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.checkout import services
from apps.checkout.models import PaymentLink, PaymentLinkItem
from apps.core.clock import now
from apps.core.tenancy import Tenant as CoreTenant
from tests.factories import make_price, make_product

pytestmark = pytest.mark.django_db


@pytest.fixture
def client(tenant):
    return tenant.client()


def error_of(response, status: int) -> dict:
    assert response.status_code == status, response.content
    return response.json()["error"]


def gbp(tenant, amount=2500, name="Mug", **fields):
    return make_price(tenant, make_product(tenant, name=name), unit_amount_minor=amount, currency="GBP", **fields)


def create(client, body, status=201) -> dict:
    response = client.post("/v2/payment-links", body, format="json")
    assert response.status_code == status, response.content
    return response.json()["data"]


def test_create_with_line_items_and_get(client, sandbox):
    mug, poster = gbp(sandbox, 2500, "Mug"), gbp(sandbox, 900, "Poster")
    expires = (now() + timedelta(days=7)).replace(microsecond=0)
    data = create(client, {
        "name": "Merch", "line_items": [{"price_id": mug.pk, "quantity": 2, "min_quantity": 1, "max_quantity": 5},
                                        {"price_id": poster.pk}],
        "allow_quantity": True, "collect_shipping_address": True, "is_business_purchase": True,
        "require_terms": True, "success_message": "Thanks!", "success_url": "https://shop.example/thanks",
        "cancel_url": "https://shop.example/cart", "expires_at": expires.isoformat(), "max_uses": 50,
        "custom_fields": [{"key": "size", "label": "Size", "type": "select", "options": ["S", "M"]}],
        "metadata": {"campaign": "spring"}})
    assert data["id"].startswith("pl_") and data["public_id"] == data["id"] and data["object"] == "payment_link"
    assert data["url"].endswith(f"/pay/{data['id']}")
    assert (data["status"], data["active"], data["currency"], data["max_uses"]) == ("active", True, "GBP", 50)
    assert [(line["price_id"], line["quantity"], line["min_quantity"], line["max_quantity"])
            for line in data["line_items"]] == [(mug.pk, 2, 1, 5), (poster.pk, 1, 1, 99)]
    assert (data["allow_quantity"], data["collect_shipping_address"], data["is_business_purchase"],
            data["require_terms"], data["allow_discount_codes"]) == (True, True, True, True, False)
    assert data["custom_fields"][0]["key"] == "size" and data["metadata"] == {"campaign": "spring"}
    assert data["analytics"] == {"views": 0, "sessions_started": 0, "completions": 0, "conversion_rate": None,
                                 "abandonment_rate": None, "revenue_minor": 0}
    got = client.get(f"/v2/payment-links/{data['id']}")
    assert got.status_code == 200 and got.json()["data"] == data


def test_create_with_the_guides_camelcase_single_price(client, sandbox):
    mug = gbp(sandbox)
    data = create(client, {"priceId": mug.pk, "quantity": 3, "allowQuantity": True, "allowDiscountCodes": True,
                           "collectBillingAddress": True, "successUrl": "https://shop.example/ok",
                           "cancelUrl": "https://shop.example/no", "metadata": {"source": "guide"}})
    assert data["name"] == "Mug"  # defaults to the product's name
    assert [(line["price_id"], line["quantity"]) for line in data["line_items"]] == [(mug.pk, 3)]
    assert (data["allow_quantity"], data["allow_discount_codes"], data["collect_billing_address"]) == (True,) * 3
    assert (data["success_url"], data["cancel_url"]) == ("https://shop.example/ok", "https://shop.example/no")


def test_bad_input_is_a_400_with_fields_and_writes_nothing(client, sandbox, other_tenant):
    mug = gbp(sandbox)
    usd = make_price(sandbox, unit_amount_minor=100, currency="USD")
    plan = gbp(sandbox, 900, "Plan", interval="month", interval_count=1)
    cases = [
        ({"name": "x"}, "line_items"),
        ({"line_items": []}, "line_items"),
        ({"line_items": [{"quantity": 1}]}, "line_items[0].price_id"),
        ({"line_items": [{"price_id": mug.pk, "quantity": 0}]}, "line_items[0].quantity"),
        ({"line_items": [{"price_id": mug.pk, "colour": "red"}]}, "line_items[0].colour"),
        ({"line_items": [{"price_id": mug.pk, "quantity": 5, "max_quantity": 3}]}, "line_items[0].quantity"),
        ({"line_items": [{"price_id": mug.pk}, {"price_id": usd.pk}]}, "line_items"),
        ({"price_id": plan.pk}, "line_items[0].price_id"),
        ({"price_id": mug.pk, "line_items": [{"price_id": mug.pk}]}, "price_id"),
        ({"price_id": mug.pk, "allow_quantity": "yes"}, "allow_quantity"),
        ({"price_id": mug.pk, "success_url": "javascript:alert(1)"}, "success_url"),
        ({"price_id": mug.pk, "expires_at": "tomorrow"}, "expires_at"),
        ({"price_id": mug.pk, "expires_at": (now() - timedelta(hours=1)).isoformat()}, "expires_at"),
        ({"price_id": mug.pk, "max_uses": 0}, "max_uses"),
        ({"price_id": mug.pk, "custom_fields": [{"key": "bad key", "label": ""}]}, "custom_fields[0].key"),
        ({"price_id": mug.pk, "metadata": {"a": 1}}, "metadata"),
        ({"price_id": mug.pk, "surprise": True}, "surprise"),
    ]
    for body, field in cases:
        error = error_of(client.post("/v2/payment-links", body, format="json"), 400)
        assert field in error["details"]["fields"], (body, error)
    theirs = make_price(CoreTenant(other_tenant.merchant, livemode=False), currency="GBP")
    missing = error_of(client.post("/v2/payment-links", {"price_id": theirs.pk}, format="json"), 404)
    assert missing["code"] == "resource_missing" and missing["param"] == "line_items[0].price_id"
    assert not PaymentLink.objects.exists() and not PaymentLinkItem.objects.exists()


def test_list_filters_and_constant_queries(client, sandbox, actor):
    price = gbp(sandbox)

    def make(n):
        for _ in range(n):
            services.payment_link_create(tenant=sandbox, actor=actor, name="L",
                                         items=[services.LinkItemInput(price=price), services.LinkItemInput(
                                             price=price, quantity=2)])

    def queries():
        with CaptureQueriesContext(connection) as ctx:
            response = client.get("/v2/payment-links?limit=100")
        assert response.status_code == 200
        return len(ctx.captured_queries), response.json()

    make(2)
    queries()  # the first request of a key also records its use
    few, body = queries()
    assert len(body["data"]) == 2 and body["pagination"]["total"] == 2
    make(10)
    many, body = queries()
    assert len(body["data"]) == 12 and all(len(row["line_items"]) == 2 for row in body["data"])
    assert many == few
    paused = PaymentLink.objects.order_by("created_at").first()
    services.payment_link_set_status(tenant=sandbox, actor=actor, link=paused, status="inactive")
    PaymentLink.objects.filter(pk=paused.pk).update(views_count=10, sessions_started_count=4, uses_count=1)
    listed = client.get("/v2/payment-links?status=inactive").json()
    assert [row["id"] for row in listed["data"]] == [paused.pk]
    assert listed["data"][0]["analytics"] == {"views": 10, "sessions_started": 4, "completions": 1,
                                              "conversion_rate": 0.1, "abandonment_rate": 0.75,
                                              "revenue_minor": 0}
    assert client.get("/v2/payment-links?status=active,inactive").json()["pagination"]["total"] == 12
    future = (now() + timedelta(days=1)).isoformat()
    assert client.get("/v2/payment-links", {"created[gte]": future}).json()["data"] == []
    assert client.get("/v2/payment-links", {"created[lte]": future}).json()["pagination"]["total"] == 12
    assert error_of(client.get("/v2/payment-links?status=bogus"), 400)["param"] == "status"
    assert error_of(client.get("/v2/payment-links?created[gte]=soon"), 400)["param"] == "created[gte]"


def test_status_changes_and_the_archived_rule(client, sandbox):
    link = create(client, {"price_id": gbp(sandbox).pk})
    url = f"/v2/payment-links/{link['id']}/status"
    paused = client.patch(url, {"status": "inactive"}, format="json")
    assert paused.status_code == 200 and paused.json()["data"]["status"] == "inactive"
    assert "Deprecation" not in paused
    later = (now() + timedelta(days=3)).replace(microsecond=0)
    active = client.patch(url, {"status": "active", "expires_at": later.isoformat()}, format="json").json()["data"]
    assert active["status"] == "active" and active["expires_at"].startswith(later.strftime("%Y-%m-%dT%H:%M:%S"))
    assert error_of(client.patch(url, {"status": "paused"}, format="json"), 400)["param"] == "status"
    assert error_of(client.patch(url, {}, format="json"), 400)["param"] == "status"
    assert error_of(client.patch(url, {"status": "inactive", "expires_at": later.isoformat()}, format="json"),
                    400)["param"] == "expires_at"
    assert client.patch(url, {"status": "archived"}, format="json").json()["data"]["status"] == "archived"
    refused = error_of(client.patch(url, {"status": "active"}, format="json"), 409)
    assert refused["code"] == "payment_link_archived"
    refused = error_of(client.post(f"/v2/payment-links/{link['id']}/activate", format="json"), 409)
    assert refused["code"] == "payment_link_archived"
    assert PaymentLink.objects.get(pk=link["id"]).status == "archived"
    assert client.patch(url, {"status": "archived"}, format="json").status_code == 200  # already there
    assert error_of(client.patch("/v2/payment-links/pl_nope/status", {"status": "active"}, format="json"),
                    404)["code"] == "resource_missing"


@pytest.mark.parametrize("action,status", [("deactivate", "inactive"), ("expire", "expired"),
                                           ("archive", "archived")])
def test_deprecated_endpoints_work_and_say_so(client, sandbox, action, status):
    link = create(client, {"price_id": gbp(sandbox).pk})
    response = client.post(f"/v2/payment-links/{link['id']}/{action}", format="json")
    assert response.status_code == 200, response.content
    assert response.json()["data"]["status"] == status
    assert response["Deprecation"] == "true"
    assert response["Link"] == f'</v2/payment-links/{link["id"]}/status>; rel="successor-version"'
    if status != "archived":
        again = client.post(f"/v2/payment-links/{link['id']}/activate", format="json")
        assert again.status_code == 200 and again.json()["data"]["status"] == "active"
        assert again["Deprecation"] == "true"
    assert error_of(client.post(f"/v2/payment-links/{link['id']}/{action}", {"x": 1}, format="json"),
                    400)["param"] == "x"


def test_activating_an_expired_link_clears_its_past_expiry(client, sandbox, actor):
    link = create(client, {"price_id": gbp(sandbox).pk})
    PaymentLink.objects.filter(pk=link["id"]).update(status="expired", expires_at=now() - timedelta(hours=1))
    data = client.post(f"/v2/payment-links/{link['id']}/activate", format="json").json()["data"]
    assert (data["status"], data["expires_at"]) == ("active", None)


def test_activating_an_active_link_moves_or_clears_its_expiry(client, sandbox):
    link = create(client, {"price_id": gbp(sandbox).pk})
    url = f"/v2/payment-links/{link['id']}/status"
    later = (now() + timedelta(days=9)).replace(microsecond=0)
    data = client.patch(url, {"status": "active", "expiresAt": later.isoformat()}, format="json").json()["data"]
    assert (data["status"], data["expires_at"]) == ("active", later.isoformat().replace("+00:00", "Z"))
    PaymentLink.objects.filter(pk=link["id"]).update(expires_at=now() - timedelta(minutes=1))  # lapsed
    data = client.patch(url, {"status": "active"}, format="json").json()["data"]
    assert (data["status"], data["expires_at"]) == ("active", None)
    past = (now() - timedelta(days=1)).isoformat()
    assert error_of(client.patch(url, {"status": "active", "expires_at": past}, format="json"),
                    400)["param"] == "expires_at"


def test_openapi_marks_the_old_endpoints_deprecated(client):
    response = client.get("/v2/openapi.json")
    assert response.status_code == 200
    spec = response.json()
    paths = spec["paths"]
    for action in ("activate", "archive", "deactivate", "expire"):
        operation = paths[f"/v2/payment-links/{{link_id}}/{action}"]["post"]
        assert operation["deprecated"] is True and operation["operationId"] == f"payment_links_{action}"
    assert not paths["/v2/payment-links/{link_id}/status"]["patch"].get("deprecated")
    assert paths["/v2/payment-links"]["post"]["operationId"] == "payment_links_create"


def test_idempotency_key_replays_the_create_and_the_deprecated_headers(client, sandbox):
    body = {"price_id": gbp(sandbox).pk, "name": "Once"}
    headers = {"HTTP_IDEMPOTENCY_KEY": "pl-create-1"}
    first = client.post("/v2/payment-links", body, format="json", **headers)
    second = client.post("/v2/payment-links", body, format="json", **headers)
    assert first.status_code == second.status_code == 201
    assert second["Idempotency-Replayed"] == "true" and second.json() == first.json()
    assert PaymentLink.objects.filter(name="Once").count() == 1
    link_id = first.json()["data"]["id"]
    headers = {"HTTP_IDEMPOTENCY_KEY": "pl-deactivate-1"}
    client.post(f"/v2/payment-links/{link_id}/deactivate", format="json", **headers)
    replay = client.post(f"/v2/payment-links/{link_id}/deactivate", format="json", **headers)
    assert replay["Idempotency-Replayed"] == "true" and replay["Deprecation"] == "true"
    assert replay.json()["data"]["status"] == "inactive"


@pytest.mark.parametrize("body", [
    [], "x", {"line_items": [1]}, {"line_items": [{"price_id": 5}]}, {"price_id": None}, {"price_id": "not an id"},
    {"price_id": "pr_" + "x" * 500}, {"line_items": {"price_id": "x"}}, {"name": 5, "price_id": "x"},
    {"custom_fields": "x", "price_id": "x"}, {"quantity": 1.5, "price_id": "x"}, {"max_uses": True, "price_id": "x"},
    {"expires_at": 10**20, "price_id": "x"}, {"success_message": ["a"], "price_id": "x"},
])
def test_garbage_is_never_a_500(client, body):
    response = client.post("/v2/payment-links", body, format="json")
    assert response.status_code in (400, 404), response.content
    assert not PaymentLink.objects.exists()

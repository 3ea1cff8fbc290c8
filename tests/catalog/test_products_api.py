"""/v2/products through HTTP with real API keys: envelopes, pagination, filters, errors, events."""
import pytest

from apps.catalog.models import Price, Product, ProductExternalId
from apps.core.models import Event
from tests.catalog.helpers import assert_validation_error, catalog_events, catalog_rows
from tests.factories import make_price, make_product

PRODUCT_FIELDS = {"id", "object", "name", "description", "lookup_key", "kind", "fulfillment_type", "active", "images",
                  "features", "metadata", "prices", "benefits", "external_ids", "has_been_sold", "livemode",
                  "created_at", "updated_at"}


def test_create_get_update_archive_round_trip(api, tenant):
    response = api.post("/v2/products", {
        "name": "Pro Plan", "description": "Full access", "fulfillment_type": "digital",
        "images": ["https://cdn.example.com/pro.png"], "features": ["Unlimited projects", "Priority support"],
        "metadata": {"tier": "pro"}}, format="json")
    assert response.status_code == 201, response.content
    product = response.json()["data"]
    assert set(product) == PRODUCT_FIELDS
    assert product["id"].startswith("prod_") and product["object"] == "product"
    assert product["active"] is True and product["prices"] == [] and product["kind"] == "one_time"
    assert product["features"] == ["Unlimited projects", "Priority support"]
    assert response["RevKeen-Version"]

    got = api.get(f"/v2/products/{product['id']}")
    assert got.status_code == 200 and got.json()["data"] == product

    patched = api.patch(f"/v2/products/{product['id']}", {"name": "Pro Plan (2026)", "metadata": {"tier": "",
                                                                                               "new": "y"}},
                        format="json")
    assert patched.status_code == 200, patched.content
    assert patched.json()["data"]["name"] == "Pro Plan (2026)"
    assert patched.json()["data"]["metadata"] == {"new": "y"}

    archived = api.patch(f"/v2/products/{product['id']}", {"isActive": False}, format="json")
    assert archived.status_code == 200 and archived.json()["data"]["active"] is False
    types = list(Event.objects.filter(object_id=product["id"]).order_by("created_at").values_list("type", flat=True))
    assert types == ["product.created", "product.updated", "product.archived"]
    updated = Event.objects.get(object_id=product["id"], type="product.updated")
    assert updated.previous_attributes == {"name": "Pro Plan", "metadata": {"tier": "pro"}}


def test_patch_that_changes_nothing_writes_no_event(api, sandbox):
    product = make_product(sandbox, name="Same")
    response = api.patch(f"/v2/products/{product.pk}", {"name": "Same"}, format="json")
    assert response.status_code == 200
    assert not Event.objects.filter(object_id=product.pk, type="product.updated").exists()


def test_guide_shortcut_creates_the_product_and_its_first_recurring_price(api, tenant):
    response = api.post("/v2/products", {
        "productId": "pro_monthly", "name": "Pro Plan", "kind": "subscription", "pricingModel": "recurring",
        "amountMinor": 2900, "currency": "usd", "interval": "month", "intervalCount": 1, "trialDays": 14,
        "features": ["Unlimited projects"]}, format="json")
    assert response.status_code == 201, response.content
    product = response.json()["data"]
    assert product["lookup_key"] == "pro_monthly" and product["kind"] == "subscription"
    [price] = product["prices"]
    assert price["type"] == "recurring" and price["unit_amount_minor"] == 2900 and price["currency"] == "USD"
    assert (price["interval"], price["interval_count"], price["trial_days"]) == ("month", 1, 14)
    assert set(catalog_events(tenant.merchant).values_list("type", flat=True)) == {"product.created", "price.created"}


def test_guide_shortcut_one_time(api):
    response = api.post("/v2/products", {"productId": "setup_fee", "name": "Setup Fee", "kind": "one_time",
                                         "pricingModel": "fixed", "amountMinor": 9900, "currency": "USD"},
                        format="json")
    assert response.status_code == 201, response.content
    [price] = response.json()["data"]["prices"]
    assert price["type"] == "one_time" and price["interval"] is None


@pytest.mark.parametrize("body, paths", [
    ({}, ["name"]),
    ({"name": ""}, ["name"]),
    ({"name": "x" * 201}, ["name"]),
    ({"name": "A", "unknown": 1}, ["unknown"]),
    ({"name": "A", "fulfillment_type": "teleport"}, ["fulfillment_type"]),
    ({"name": "A", "images": ["not a url"]}, ["images[0]"]),
    ({"name": "A", "features": "one"}, ["features"]),
    ({"name": "A", "metadata": {"k": 5}}, ["metadata.k"]),
    ({"name": "A", "metadata": "text"}, ["metadata"]),
    ({"name": "A", "active": "perhaps"}, ["active"]),
    ({"name": "A", "amountMinor": -100, "currency": "USD"}, ["amount_minor"]),
    ({"name": "A", "amountMinor": 100, "currency": "XYZ"}, ["currency"]),
    ({"name": "A", "amountMinor": 100}, ["currency"]),
    ({"name": "A", "pricingModel": "recurring", "amountMinor": 100, "currency": "USD", "interval": "month"},
     ["interval_count"]),
    ({"name": "A", "pricingModel": "recurring", "amountMinor": 100, "currency": "USD"}, ["interval"]),
    ({"name": "A", "pricingModel": "fixed", "amountMinor": 100, "currency": "USD", "interval": "month",
      "intervalCount": 1}, ["interval"]),
])
def test_bad_input_is_a_400_with_field_details_and_writes_nothing(api, tenant, body, paths):
    before = catalog_rows(tenant.merchant)
    assert_validation_error(api.post("/v2/products", body, format="json"), *paths)
    assert catalog_rows(tenant.merchant) == before


def test_non_object_bodies_are_400(api, tenant):
    assert api.post("/v2/products", [1, 2], format="json").status_code == 400
    response = api.post("/v2/products", "{not json", content_type="application/json")
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_request"
    assert catalog_rows(tenant.merchant)["products"] == 0


def test_lookup_key_is_unique_per_merchant(api, other_tenant):
    assert api.post("/v2/products", {"name": "A", "lookup_key": "pro"}, format="json").status_code == 201
    assert_validation_error(api.post("/v2/products", {"name": "B", "productId": "pro"}, format="json"), "lookup_key")
    # Another merchant may use the same key.
    assert other_tenant.client().post("/v2/products", {"name": "B", "lookup_key": "pro"}, format="json").status_code == 201


def test_update_errors(api, sandbox):
    product = make_product(sandbox)
    assert_validation_error(api.patch(f"/v2/products/{product.pk}", {"name": ""}, format="json"), "name")
    assert_validation_error(api.patch(f"/v2/products/{product.pk}", {"prices": []}, format="json"), "prices")
    assert api.patch("/v2/products/prod_nope", {"name": "x"}, format="json").status_code == 404


def test_list_filters_search_and_pagination(api, sandbox):
    pro = make_product(sandbox, name="Pro Plan", description="For teams")
    basic = make_product(sandbox, name="Basic Plan", kind="subscription")
    old = make_product(sandbox, name="Legacy", active=False)
    make_price(sandbox, product=pro)

    def ids(query=""):
        response = api.get(f"/v2/products{query}")
        assert response.status_code == 200, response.content
        return [p["id"] for p in response.json()["data"]]

    assert ids() == [old.pk, basic.pk, pro.pk]  # newest first
    assert ids("?active=true") == [basic.pk, pro.pk]
    assert ids("?isActive=false") == [old.pk]
    assert ids("?search=teams") == [pro.pk]
    assert ids("?search=plan") == [basic.pk, pro.pk]
    assert ids(f"?search={pro.pk}") == [pro.pk]
    assert ids("?kind=subscription") == [basic.pk]
    page = api.get("/v2/products?limit=2").json()
    assert page["pagination"] == {"limit": 2, "offset": 0, "total": 3, "hasMore": True}
    assert [p["id"] for p in api.get("/v2/products?limit=2&offset=2").json()["data"]] == [pro.pk]
    assert [p["id"] for p in api.get(f"/v2/products?starting_after={basic.pk}").json()["data"]] == [pro.pk]
    listed_pro = api.get(f"/v2/products?search={pro.pk}").json()["data"][0]
    assert [p["unit_amount_minor"] for p in listed_pro["prices"]] == [2900]
    assert_validation_error(api.get("/v2/products?active=maybe"), "active")
    assert_validation_error(api.get("/v2/products?limit=abc"), "limit")


# --- external ids ----------------------------------------------------------------------------------
def test_upsert_creates_then_updates_then_is_unchanged(api, tenant):
    path = "/v2/products/external/practicehub/PKG-1"
    created = api.put(path, {"name": "10 sessions", "features": ["10 x 1h"]}, format="json")
    assert created.status_code == 201, created.content
    product = created.json()["data"]
    assert product["external_ids"] == [{"source": "practicehub", "external_id": "PKG-1"}]

    updated = api.put(path, {"name": "Ten sessions"}, format="json")
    assert updated.status_code == 200 and updated.json()["data"]["id"] == product["id"]
    assert updated.json()["data"]["name"] == "Ten sessions"
    assert updated.json()["data"]["features"] == ["10 x 1h"]  # fields not sent are kept

    events = Event.objects.filter(object_id=product["id"])
    count = events.count()
    again = api.put(path, {"name": "Ten sessions"}, format="json")
    assert again.status_code == 200 and events.count() == count  # nothing changed, nothing emitted
    assert Product.objects.filter(merchant=tenant.merchant).count() == 1


def test_upsert_stale_update_protection(api):
    path = "/v2/products/external/crm/P-9"
    assert api.put(path, {"name": "v2", "external_updated_at": "2026-02-01T00:00:00Z"}, format="json").status_code == 201
    stale = api.put(path, {"name": "v1", "externalUpdatedAt": "2026-01-01T00:00:00Z"}, format="json")
    assert stale.status_code == 200 and stale.json()["data"]["name"] == "v2"
    fresh = api.put(path, {"name": "v3", "external_updated_at": "2026-03-01T00:00:00Z"}, format="json")
    assert fresh.json()["data"]["name"] == "v3"


def test_upsert_errors(api, tenant):
    before = catalog_rows(tenant.merchant)
    assert_validation_error(api.put("/v2/products/external/crm/P-1", {}, format="json"), "name")
    assert_validation_error(api.put("/v2/products/external/CRM%20X/P-1", {"name": "x"}, format="json"), "source")
    assert_validation_error(api.put("/v2/products/external/crm/P-1", {"name": "x", "lookup_key": "k"}, format="json"),
                            "lookup_key")
    assert catalog_rows(tenant.merchant) == before


def _batch(n, source="shopify", **extra):
    return {"source": source, "products": [{"external_id": f"SKU-{i}", "name": f"Product {i}", **extra}
                                           for i in range(n)]}


def test_batch_upsert_is_all_or_nothing_and_idempotent(api, tenant):
    first = api.put("/v2/products/external/batch", _batch(5), format="json")
    assert first.status_code == 200, first.content
    body = first.json()["data"]
    assert body["summary"] == {"created": 5, "updated": 0, "unchanged": 0, "stale": 0}
    assert [r["status"] for r in body["results"]] == ["created"] * 5
    assert Product.objects.filter(merchant=tenant.merchant).count() == 5
    events = catalog_events(tenant.merchant).count()

    replay = api.put("/v2/products/external/batch", _batch(5), format="json")
    assert replay.json()["data"]["summary"] == {"created": 0, "updated": 0, "unchanged": 5, "stale": 0}
    assert catalog_events(tenant.merchant).count() == events  # running it twice changes nothing

    changed = _batch(6)
    changed["products"][0]["name"] = "Renamed"
    result = api.put("/v2/products/external/batch", changed, format="json").json()["data"]
    assert result["summary"] == {"created": 1, "updated": 1, "unchanged": 4, "stale": 0}


def test_batch_with_a_malformed_row_applies_nothing_and_reports_every_row(api, tenant):
    body = _batch(4)
    body["products"][1]["name"] = ""          # blank name
    body["products"][2]["images"] = ["nope"]  # not a URL
    body["products"][3] = "not an object"
    before = catalog_rows(tenant.merchant)
    response = api.put("/v2/products/external/batch", body, format="json")
    error = assert_validation_error(response, "products[1].name", "products[2].images[0]", "products[3]")
    assert [r["status"] for r in error["details"]["results"]] == ["skipped", "error", "error", "error"]
    assert catalog_rows(tenant.merchant) == before


def test_batch_rejects_duplicates_and_new_rows_without_name(api, tenant):
    body = {"source": "crm", "products": [{"external_id": "A", "name": "A"}, {"external_id": "A", "name": "A again"},
                                          {"external_id": "B"}]}
    error = assert_validation_error(api.put("/v2/products/external/batch", body, format="json"),
                                    "products[1].external_id", "products[2].name")
    assert error["details"]["results"][0]["status"] == "skipped"
    assert not ProductExternalId.objects.filter(merchant=tenant.merchant).exists()


@pytest.mark.parametrize("body, path", [
    ({"products": []}, "products"),
    ({"products": "x"}, "products"),
    ({}, "products"),
    ({"source": "crm", "products": [{"external_id": "A", "name": "A"}], "extra": 1}, "extra"),
    (_batch(101), "products"),
    ({"products": [{"external_id": "A", "name": "A"}]}, "products[0].source"),
])
def test_batch_shape_errors(api, tenant, body, path):
    assert_validation_error(api.put("/v2/products/external/batch", body, format="json"), path)
    assert catalog_rows(tenant.merchant)["products"] == 0


def test_other_merchants_external_ids_are_separate(api, other_tenant):
    mine = api.put("/v2/products/external/crm/SAME", {"name": "Mine"}, format="json").json()["data"]
    theirs = other_tenant.client().put("/v2/products/external/crm/SAME", {"name": "Theirs"}, format="json")
    assert theirs.status_code == 201 and theirs.json()["data"]["id"] != mine["id"]
    assert api.get(f"/v2/products/{mine['id']}").json()["data"]["name"] == "Mine"


def test_product_delete_service_only_while_unsold(sandbox, actor):
    from apps.catalog import services
    from apps.core.errors import BusinessRuleViolation

    unsold = make_product(sandbox)
    make_price(sandbox, product=unsold)
    services.product_delete(tenant=sandbox, actor=actor, product_id=unsold.pk)
    assert not Product.objects.filter(pk=unsold.pk).exists()
    assert Event.objects.filter(type="product.deleted", object_id=unsold.pk).exists()

    sold = make_product(sandbox)
    price = make_price(sandbox, product=sold)
    services.price_mark_sold(price=price)
    with pytest.raises(BusinessRuleViolation):
        services.product_delete(tenant=sandbox, actor=actor, product_id=sold.pk)
    assert Product.objects.get(pk=sold.pk).has_been_sold is True
    archived = services.product_archive(tenant=sandbox, actor=actor, product_id=sold.pk)
    assert archived.active is False and Price.objects.filter(product=sold).exists()


def test_live_and_sandbox_are_separate(tenant):
    sandbox_id = tenant.client().post("/v2/products", {"name": "S"}, format="json").json()["data"]["id"]
    live = tenant.client(live=True)
    assert live.get(f"/v2/products/{sandbox_id}").status_code == 404
    created = live.post("/v2/products", {"name": "L"}, format="json").json()["data"]
    assert created["livemode"] is True
    assert Product.objects.get(pk=created["id"]).livemode is True
    assert [p["id"] for p in live.get("/v2/products").json()["data"]] == [created["id"]]


def test_shortcut_without_kind_makes_a_subscription_product(api):
    response = api.post("/v2/products", {"name": "Monthly", "pricingModel": "recurring", "amountMinor": 100,
                                         "currency": "USD", "interval": "month", "intervalCount": 1}, format="json")
    assert response.status_code == 201 and response.json()["data"]["kind"] == "subscription"


def test_idempotent_batch_replay(api, tenant):
    body = _batch(3)
    first = api.put("/v2/products/external/batch", body, format="json", HTTP_IDEMPOTENCY_KEY="batch-1")
    again = api.put("/v2/products/external/batch", body, format="json", HTTP_IDEMPOTENCY_KEY="batch-1")
    assert again["Idempotency-Replayed"] == "true" and again.json() == first.json()
    assert Product.objects.filter(merchant=tenant.merchant).count() == 3


def test_product_and_shortcut_errors_are_reported_together(api, tenant):
    api.post("/v2/products", {"name": "A", "lookup_key": "taken"}, format="json")
    before = catalog_rows(tenant.merchant)
    assert_validation_error(api.post("/v2/products", {"name": "B", "productId": "taken", "amountMinor": 100},
                                     format="json"), "lookup_key", "currency")
    assert catalog_rows(tenant.merchant) == before

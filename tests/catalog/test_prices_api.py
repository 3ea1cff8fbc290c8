"""/v2/prices through HTTP: every pricing model, immutability, archive, filters and bad input."""
import pytest

from apps.catalog.models import Price, PriceTier
from apps.core.models import Event
from tests.catalog.helpers import assert_validation_error, catalog_rows
from tests.factories import make_price, make_product

PRICE_FIELDS = {"id", "object", "product_id", "active", "type", "pricing_model", "currency", "unit_amount_minor",
                "flat_amount_minor", "package_size", "tiers", "minimum_amount_minor", "suggested_amount_minor",
                "interval", "interval_count", "trial_days", "tax_behavior", "nickname", "lookup_key", "metadata",
                "has_been_sold", "livemode", "created_at", "updated_at"}


@pytest.fixture
def product(sandbox):
    return make_product(sandbox, name="Pro Plan")


def create(api, **body):
    return api.post("/v2/prices", body, format="json")


def test_one_time_price_round_trip(api, product):
    response = create(api, productId=product.pk, amountMinor=29900, currency="usd", type="one_time",
                      nickname="Lifetime", metadata={"plan": "pro"})
    assert response.status_code == 201, response.content
    price = response.json()["data"]
    assert set(price) == PRICE_FIELDS
    assert price["id"].startswith("price_") and price["product_id"] == product.pk
    assert (price["type"], price["pricing_model"], price["currency"], price["unit_amount_minor"]) == (
        "one_time", "fixed", "USD", 29900)
    assert price["interval"] is None and price["tax_behavior"] == "exclusive"
    assert api.get(f"/v2/prices/{price['id']}").json()["data"] == price
    assert Event.objects.filter(type="price.created", object_id=price["id"]).exists()
    # The product now shows it.
    assert [p["id"] for p in api.get(f"/v2/products/{product.pk}").json()["data"]["prices"]] == [price["id"]]


def test_recurring_prices_from_the_guide(api, product):
    monthly = create(api, productId=product.pk, amountMinor=2900, currency="USD", type="recurring",
                     billingInterval="month", billingIntervalCount=1, trialPeriodDays=14).json()["data"]
    assert (monthly["interval"], monthly["interval_count"], monthly["trial_days"]) == ("month", 1, 14)
    quarterly = create(api, product_id=product.pk, unit_amount_minor=7500, currency="USD", interval="month",
                       interval_count=3).json()["data"]
    assert quarterly["type"] == "recurring" and quarterly["interval_count"] == 3  # type inferred from interval
    for interval in ("day", "week", "quarter", "half_year", "year"):
        response = create(api, product_id=product.pk, unit_amount_minor=100, currency="EUR", interval=interval,
                          interval_count=1)
        assert response.status_code == 201, (interval, response.content)


def test_pay_what_you_want_and_free(api, product):
    pwyw = create(api, product_id=product.pk, type="pay_what_you_want", currency="GBP", minimum_amount_minor=500,
                  suggested_amount_minor=2500).json()["data"]
    assert (pwyw["type"], pwyw["pricing_model"], pwyw["minimum_amount_minor"], pwyw["suggested_amount_minor"]) == (
        "one_time", "pay_what_you_want", 500, 2500)
    free = create(api, product_id=product.pk, pricing_model="free", currency="GBP").json()["data"]
    assert free["pricing_model"] == "free" and free["unit_amount_minor"] == 0
    free_monthly = create(api, product_id=product.pk, type="free", currency="GBP", interval="month",
                          interval_count=1).json()["data"]
    assert free_monthly["type"] == "recurring" and free_monthly["pricing_model"] == "free"


def test_tiered_models(api, product):
    graduated = create(api, product_id=product.pk, pricing_model="graduated", currency="USD", interval="month",
                       interval_count=1, tiers=[{"up_to": 10, "unit_amount_minor": 0},
                                                {"up_to": 100, "unit_amount_minor": 50, "flat_amount_minor": 100},
                                                {"up_to": None, "unit_amount_minor": 25}])
    assert graduated.status_code == 201, graduated.content
    assert graduated.json()["data"]["tiers"] == [
        {"up_to": 10, "unit_amount_minor": 0, "flat_amount_minor": 0},
        {"up_to": 100, "unit_amount_minor": 50, "flat_amount_minor": 100},
        {"up_to": None, "unit_amount_minor": 25, "flat_amount_minor": 0}]
    volume = create(api, product_id=product.pk, pricing_model="volume", currency="USD",
                    tiers=[{"upTo": 5, "unitAmountMinor": 1000}, {"up_to": None, "unit_amount_minor": 800}])
    assert volume.status_code == 201, volume.content
    package = create(api, product_id=product.pk, pricing_model="package", currency="USD", unit_amount_minor=500,
                     package_size=100).json()["data"]
    assert (package["package_size"], package["unit_amount_minor"]) == (100, 500)
    flat = create(api, product_id=product.pk, pricing_model="flat_per_unit", currency="USD", flat_amount_minor=1000,
                  unit_amount_minor=200, interval="month", interval_count=1).json()["data"]
    assert (flat["flat_amount_minor"], flat["unit_amount_minor"]) == (1000, 200)
    assert PriceTier.objects.filter(price_id=graduated.json()["data"]["id"]).count() == 3


def test_zero_and_three_decimal_currencies(api, product):
    jpy = create(api, product_id=product.pk, unit_amount_minor=1500, currency="jpy").json()["data"]
    kwd = create(api, product_id=product.pk, unit_amount_minor=1500, currency="KWD").json()["data"]
    assert (jpy["currency"], kwd["currency"]) == ("JPY", "KWD")


@pytest.mark.parametrize("body, paths", [
    ({"unit_amount_minor": -1, "currency": "USD"}, ["unit_amount_minor"]),
    ({"amountMinor": -500, "currency": "USD"}, ["unit_amount_minor"]),
    ({"unit_amount_minor": 1.5, "currency": "USD"}, ["unit_amount_minor"]),
    ({"unit_amount_minor": "lots", "currency": "USD"}, ["unit_amount_minor"]),
    ({"unit_amount_minor": 10**13, "currency": "USD"}, ["unit_amount_minor"]),
    ({"unit_amount_minor": 100, "currency": "XXY"}, ["currency"]),
    ({"unit_amount_minor": 100, "currency": "dollars"}, ["currency"]),
    ({"unit_amount_minor": 100}, ["currency"]),
    ({"currency": "USD"}, ["unit_amount_minor"]),
    ({"unit_amount_minor": 100, "currency": "USD", "interval": "month"}, ["interval_count"]),
    ({"unit_amount_minor": 100, "currency": "USD", "billingInterval": "month"}, ["interval_count"]),
    ({"unit_amount_minor": 100, "currency": "USD", "type": "recurring", "interval_count": 1}, ["interval"]),
    ({"unit_amount_minor": 100, "currency": "USD", "type": "recurring"}, ["interval", "interval_count"]),
    ({"unit_amount_minor": 100, "currency": "USD", "interval": "month", "interval_count": 0}, ["interval_count"]),
    ({"unit_amount_minor": 100, "currency": "USD", "interval": "fortnight", "interval_count": 1}, ["interval"]),
    ({"unit_amount_minor": 100, "currency": "USD", "interval": "year", "interval_count": 4}, ["interval_count"]),
    ({"unit_amount_minor": 100, "currency": "USD", "type": "one_time", "trial_days": 7}, ["trial_days"]),
    ({"unit_amount_minor": 100, "currency": "USD", "interval_count": 2}, ["interval_count"]),
    ({"unit_amount_minor": 100, "currency": "USD", "interval": "month", "interval_count": 1, "trial_days": -1},
     ["trial_days"]),
    ({"pricing_model": "graduated", "currency": "USD"}, ["tiers"]),
    ({"pricing_model": "graduated", "currency": "USD", "tiers": [{"up_to": 10, "unit_amount_minor": 1}]},
     ["tiers[0].up_to"]),
    ({"pricing_model": "volume", "currency": "USD", "tiers": [{"up_to": 10}, {"up_to": 5}, {"up_to": None}]},
     ["tiers[1].up_to"]),
    ({"pricing_model": "volume", "currency": "USD", "tiers": [{"up_to": None}, {"up_to": None}]}, ["tiers[0].up_to"]),
    ({"pricing_model": "graduated", "currency": "USD", "tiers": [{"up_to": None, "unit_amount_minor": -5}]},
     ["tiers[0].unit_amount_minor"]),
    ({"pricing_model": "graduated", "currency": "USD", "tiers": [{"up_to": None, "colour": "red"}]},
     ["tiers[0].colour"]),
    ({"pricing_model": "graduated", "currency": "USD", "unit_amount_minor": 5, "tiers": [{"up_to": None}]},
     ["unit_amount_minor"]),
    ({"pricing_model": "package", "currency": "USD", "unit_amount_minor": 500}, ["package_size"]),
    ({"pricing_model": "package", "currency": "USD", "unit_amount_minor": 500, "package_size": 0}, ["package_size"]),
    ({"pricing_model": "flat_per_unit", "currency": "USD", "unit_amount_minor": 5}, ["flat_amount_minor"]),
    ({"type": "pay_what_you_want", "currency": "USD", "minimum_amount_minor": 500, "suggested_amount_minor": 100},
     ["suggested_amount_minor"]),
    ({"type": "pay_what_you_want", "currency": "USD", "unit_amount_minor": 500}, ["unit_amount_minor"]),
    ({"type": "free", "currency": "USD", "unit_amount_minor": 500}, ["unit_amount_minor"]),
    ({"type": "free", "pricing_model": "fixed", "currency": "USD"}, ["pricing_model"]),
    ({"unit_amount_minor": 100, "currency": "USD", "colour": "red"}, ["colour"]),
    ({"unit_amount_minor": 100, "currency": "USD", "tax_behavior": "sometimes"}, ["tax_behavior"]),
    ({"unit_amount_minor": 100, "currency": "USD", "metadata": {"a.b": "x"}}, ["metadata.a.b"]),
])
def test_bad_input_is_400_with_fields_and_nothing_written(api, tenant, product, body, paths):
    before = catalog_rows(tenant.merchant)
    assert_validation_error(create(api, product_id=product.pk, **body), *paths)
    assert catalog_rows(tenant.merchant) == before


def test_missing_or_foreign_product(api, other_tenant):
    assert_validation_error(create(api, unit_amount_minor=1, currency="USD"), "product_id")
    response = create(api, product_id="prod_01HK4X7Z2M5N8P0Q3R6S9T2V5W", unit_amount_minor=1, currency="USD")
    assert response.status_code == 404 and response.json()["error"]["code"] == "resource_missing"
    theirs = other_tenant.client().post("/v2/products", {"name": "Theirs"}, format="json").json()["data"]["id"]
    assert create(api, product_id=theirs, unit_amount_minor=1, currency="USD").status_code == 404


def test_money_fields_are_immutable(api, tenant, sandbox):
    price = make_price(sandbox, unit_amount_minor=2900)
    before = catalog_rows(tenant.merchant)
    for body in ({"unit_amount_minor": 3900}, {"amountMinor": 3900}, {"currency": "EUR"}, {"interval": "year"},
                 {"tiers": []}, {"type": "recurring"}, {"trial_days": 3}, {"product_id": "prod_x"}):
        error = assert_validation_error(api.patch(f"/v2/prices/{price.pk}", body, format="json"))
        message = " ".join(r for reasons in error["details"]["fields"].values() for r in reasons)
        assert "create a new price" in message, error
    assert catalog_rows(tenant.merchant) == before
    assert Price.objects.get(pk=price.pk).unit_amount_minor == 2900


def test_update_mutable_fields_and_archive(api, sandbox):
    price = make_price(sandbox)
    patched = api.patch(f"/v2/prices/{price.pk}", {"nickname": "Standard", "lookupKey": "std", "metadata": {"a": "b"}},
                        format="json")
    assert patched.status_code == 200, patched.content
    data = patched.json()["data"]
    assert (data["nickname"], data["lookup_key"], data["metadata"]) == ("Standard", "std", {"a": "b"})
    event = Event.objects.get(type="price.updated", object_id=price.pk)
    assert event.previous_attributes == {"nickname": None, "lookup_key": None, "metadata": {}}

    archived = api.delete(f"/v2/prices/{price.pk}")
    assert archived.status_code == 200 and archived.json()["data"]["active"] is False
    assert Event.objects.filter(type="price.archived", object_id=price.pk).count() == 1
    again = api.delete(f"/v2/prices/{price.pk}")
    assert again.status_code == 200 and Event.objects.filter(type="price.archived", object_id=price.pk).count() == 1
    # Archived prices leave the product's price list but stay retrievable.
    assert api.get(f"/v2/products/{price.product_id}").json()["data"]["prices"] == []
    assert api.get(f"/v2/prices/{price.pk}").status_code == 200


def test_lookup_key_unique_among_active_prices(api, sandbox):
    first = make_price(sandbox, lookup_key="pro_monthly")
    second = make_price(sandbox)
    assert_validation_error(api.patch(f"/v2/prices/{second.pk}", {"lookup_key": "pro_monthly"}, format="json"),
                            "lookup_key")
    # Archive the first: the key is free for the replacement price (the "new price, archive old" flow).
    api.delete(f"/v2/prices/{first.pk}")
    assert api.patch(f"/v2/prices/{second.pk}", {"lookup_key": "pro_monthly"}, format="json").status_code == 200
    # Reactivating the old one would clash.
    assert_validation_error(api.patch(f"/v2/prices/{first.pk}", {"active": True}, format="json"), "lookup_key")


def test_list_filters(api, sandbox):
    product = make_product(sandbox)
    other = make_product(sandbox)
    usd = make_price(sandbox, product=product, currency="USD")
    eur_monthly = make_price(sandbox, product=product, currency="EUR", interval="month", interval_count=1)
    archived = make_price(sandbox, product=other, currency="USD", active=False)

    def ids(query):
        response = api.get(f"/v2/prices{query}")
        assert response.status_code == 200, response.content
        return [p["id"] for p in response.json()["data"]]

    assert ids("") == [archived.pk, eur_monthly.pk, usd.pk]
    assert ids(f"?product_id={product.pk}") == [eur_monthly.pk, usd.pk]
    assert ids(f"?productId={other.pk}") == [archived.pk]
    assert ids("?active=true") == [eur_monthly.pk, usd.pk]
    assert ids("?active=false") == [archived.pk]
    assert ids("?type=recurring") == [eur_monthly.pk]
    assert ids("?currency=usd") == [archived.pk, usd.pk]
    assert ids("?product_id=prod_unknown") == []
    assert_validation_error(api.get("/v2/prices?currency=ZZZ"), "currency")
    assert_validation_error(api.get("/v2/prices?type=monthly"), "type")


def test_delete_service_only_while_unsold(sandbox, actor):
    from apps.catalog import services
    from apps.core.errors import BusinessRuleViolation

    price = make_price(sandbox)
    services.price_mark_sold(price=price)
    with pytest.raises(BusinessRuleViolation):
        services.price_delete(tenant=sandbox, actor=actor, price_id=price.pk)
    unsold = make_price(sandbox)
    services.price_delete(tenant=sandbox, actor=actor, price_id=unsold.pk)
    assert not Price.objects.filter(pk=unsold.pk).exists()


def test_last_tier_may_leave_up_to_out(api, product):
    response = create(api, product_id=product.pk, pricing_model="graduated", currency="USD",
                      tiers=[{"up_to": 5, "unit_amount_minor": 100}, {"unit_amount_minor": 50}])
    assert response.status_code == 201, response.content
    assert response.json()["data"]["tiers"][-1]["up_to"] is None


def test_idempotent_create_replays_the_first_answer(api, tenant, product):
    body = {"product_id": product.pk, "unit_amount_minor": 500, "currency": "USD"}
    first = api.post("/v2/prices", body, format="json", HTTP_IDEMPOTENCY_KEY="price-key-1")
    second = api.post("/v2/prices", body, format="json", HTTP_IDEMPOTENCY_KEY="price-key-1")
    assert first.status_code == second.status_code == 201
    assert second["Idempotency-Replayed"] == "true" and second.json() == first.json()
    assert Price.objects.filter(product=product).count() == 1
    conflict = api.post("/v2/prices", {**body, "unit_amount_minor": 600}, format="json",
                        HTTP_IDEMPOTENCY_KEY="price-key-1")
    assert conflict.status_code == 409

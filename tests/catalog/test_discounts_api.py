"""/v2/discounts through HTTP: the three types, limits, code uniqueness, update rules, soft delete."""
from datetime import timedelta
from decimal import Decimal

import pytest

from apps.catalog import services
from apps.catalog.models import Discount
from apps.core.clock import now
from apps.core.models import Event
from apps.core.money import Money
from tests.catalog.helpers import assert_validation_error, catalog_rows
from tests.factories import make_discount, make_price, make_product

DISCOUNT_FIELDS = {"id", "object", "code", "name", "type", "percent_off", "amount_off_minor", "currency", "amounts_off",
                   "trial_days", "duration", "duration_in_periods", "scope", "product_ids", "price_ids",
                   "max_redemptions", "max_redemptions_per_customer", "times_redeemed", "first_time_customer_only",
                   "minimum_amount_minor", "minimum_amount_currency", "starts_at", "expires_at", "active", "archived",
                   "archived_at", "valid", "metadata", "livemode", "created_at", "updated_at"}


def create(api, **body):
    return api.post("/v2/discounts", body, format="json")


def test_guide_examples(api, sandbox):
    product_a, product_b = make_product(sandbox), make_product(sandbox)
    summer = create(api, code="SUMMER20", type="percentage", percentOff=20, maxRedemptions=100,
                    expiresAt=(now() + timedelta(days=90)).isoformat(), productIds=[product_a.pk, product_b.pk])
    assert summer.status_code == 201, summer.content
    data = summer.json()["data"]
    assert set(data) == DISCOUNT_FIELDS
    assert data["id"].startswith("disc_") and data["percent_off"] == 20 and data["max_redemptions"] == 100
    assert data["scope"] == "specific_products" and data["product_ids"] == sorted([product_a.pk, product_b.pk])
    assert data["valid"] is True and data["times_redeemed"] == 0 and data["duration"] == "once"

    save25 = create(api, code="SAVE25", type="fixed", amountOff=2500, currency="usd").json()["data"]
    assert (save25["amount_off_minor"], save25["currency"]) == (2500, "USD")
    assert save25["amounts_off"] == [{"currency": "USD", "amount_off_minor": 2500}]

    trial = create(api, code="FREETRIAL30", type="free_trial", trialDays=30).json()["data"]
    assert trial["trial_days"] == 30 and trial["percent_off"] is None

    assert api.get(f"/v2/discounts/{data['id']}").json()["data"] == data
    assert Event.objects.filter(type="discount.created").count() == 3


def test_fixed_amount_in_several_currencies_and_fractional_percent(api):
    multi = create(api, code="MULTI", type="fixed", amounts_off=[{"currency": "USD", "amount_off_minor": 1000},
                                                                  {"currency": "eur", "amountOff": 900},
                                                                  {"currency": "JPY", "amount_off_minor": 1500}])
    assert multi.status_code == 201, multi.content
    assert [a["currency"] for a in multi.json()["data"]["amounts_off"]] == ["USD", "EUR", "JPY"]
    half = create(api, code="HALF", type="percentage", percent_off="12.5", duration="repeating",
                  durationInPeriods=3).json()["data"]
    assert half["percent_off"] == 12.5 and (half["duration"], half["duration_in_periods"]) == ("repeating", 3)


def test_code_is_case_insensitive_and_unique_per_merchant_and_mode(api, tenant, other_tenant):
    first = create(api, code="Welcome10", type="percentage", percent_off=10)
    assert first.status_code == 201
    before = catalog_rows(tenant.merchant)
    error = assert_validation_error(create(api, code="WELCOME10", type="fixed", amount_off_minor=5, currency="USD"),
                                    "code")
    assert first.json()["data"]["id"] in error["details"]["fields"]["code"][0]
    assert catalog_rows(tenant.merchant) == before
    # Another merchant, and the same merchant's live mode, have their own namespaces.
    assert other_tenant.client().post("/v2/discounts", {"code": "welcome10", "type": "percentage", "percent_off": 5},
                                      format="json").status_code == 201
    assert tenant.client(live=True).post("/v2/discounts", {"code": "WELCOME10", "type": "percentage",
                                                           "percent_off": 5}, format="json").status_code == 201


@pytest.mark.parametrize("body, paths", [
    ({"type": "percentage"}, ["percent_off"]),
    ({"type": "percentage", "percent_off": 0}, ["percent_off"]),
    ({"type": "percentage", "percent_off": 100.5}, ["percent_off"]),
    ({"type": "percentage", "percent_off": -5}, ["percent_off"]),
    ({"type": "percentage", "percent_off": "1.23456"}, ["percent_off"]),
    ({"type": "percentage", "percent_off": 10, "amount_off_minor": 100, "currency": "USD"}, ["amount_off_minor"]),
    ({"type": "fixed"}, ["amount_off_minor"]),
    ({"type": "fixed", "amount_off_minor": -100, "currency": "USD"}, ["amount_off_minor"]),
    ({"type": "fixed", "amount_off_minor": 0, "currency": "USD"}, ["amount_off_minor"]),
    ({"type": "fixed", "amount_off_minor": 100}, ["currency"]),
    ({"type": "fixed", "amount_off_minor": 100, "currency": "ABC"}, ["currency"]),
    ({"type": "fixed", "amounts_off": [{"currency": "USD", "amount_off_minor": 1},
                                       {"currency": "USD", "amount_off_minor": 2}]}, ["amounts_off"]),
    ({"type": "fixed", "amounts_off": [{"currency": "USD", "amount_off_minor": -1}]}, ["amounts_off[0].amount_off_minor"]),
    ({"type": "fixed", "amounts_off": [{"currency": "NOPE", "amount_off_minor": 1}]}, ["amounts_off[0].currency"]),
    ({"type": "free_trial"}, ["trial_days"]),
    ({"type": "free_trial", "trial_days": 0}, ["trial_days"]),
    ({"type": "free_trial", "trial_days": 14, "duration": "forever"}, ["duration"]),
    ({"type": "bogus"}, ["type"]),
    ({"percent_off": 10}, ["type"]),
    ({"type": "percentage", "percent_off": 10, "duration": "repeating"}, ["duration_in_periods"]),
    ({"type": "percentage", "percent_off": 10, "duration_in_periods": 3}, ["duration_in_periods"]),
    ({"type": "percentage", "percent_off": 10, "code": "has space"}, ["code"]),
    ({"type": "percentage", "percent_off": 10, "max_redemptions": 0}, ["max_redemptions"]),
    ({"type": "percentage", "percent_off": 10, "max_redemptions_per_customer": -1}, ["max_redemptions_per_customer"]),
    ({"type": "percentage", "percent_off": 10, "starts_at": "2030-02-01T00:00:00Z",
      "expires_at": "2030-01-01T00:00:00Z"}, ["expires_at"]),
    ({"type": "percentage", "percent_off": 10, "expires_at": "2001-01-01T00:00:00Z"}, ["expires_at"]),
    ({"type": "percentage", "percent_off": 10, "scope": "specific_products"}, ["product_ids"]),
    ({"type": "percentage", "percent_off": 10, "scope": "one_time_only", "product_ids": ["prod_x"]}, ["scope"]),
    ({"type": "percentage", "percent_off": 10, "product_ids": ["prod_01HK4X7Z2M5N8P0Q3R6S9T2V5W"]}, ["product_ids"]),
    ({"type": "percentage", "percent_off": 10, "minimum_amount_minor": 5000}, ["minimum_amount_currency"]),
    ({"type": "percentage", "percent_off": 10, "minimum_amount_minor": -1, "minimum_amount_currency": "USD"},
     ["minimum_amount_minor"]),
    ({"type": "percentage", "percent_off": 10, "colour": "red"}, ["colour"]),
])
def test_bad_input_is_400_with_fields_and_nothing_written(api, tenant, body, paths):
    before = catalog_rows(tenant.merchant)
    assert_validation_error(create(api, **body), *paths)
    assert catalog_rows(tenant.merchant) == before


def test_scope_cannot_name_another_merchants_product(api, other_tenant):
    theirs = other_tenant.client().post("/v2/products", {"name": "X"}, format="json").json()["data"]["id"]
    assert_validation_error(create(api, type="percentage", percent_off=5, product_ids=[theirs]), "product_ids")


def test_update_rules(api, sandbox, actor):
    discount = make_discount(sandbox, code="SPRING", percent_off=Decimal("15"), max_redemptions=10)
    url = f"/v2/discounts/{discount.pk}"
    assert_validation_error(api.patch(url, {"code": "AUTUMN"}, format="json"), "code")
    assert_validation_error(api.patch(url, {"type": "fixed"}, format="json"), "type")
    assert api.patch(url, {"code": "spring"}, format="json").status_code == 200  # same code, any case
    changed = api.patch(url, {"percent_off": 25, "name": "Spring sale", "maxRedemptions": 3}, format="json")
    assert changed.status_code == 200, changed.content
    assert (changed.json()["data"]["percent_off"], changed.json()["data"]["max_redemptions"]) == (25, 3)
    event = Event.objects.filter(type="discount.updated", object_id=discount.pk).latest("created_at")
    assert event.previous_attributes == {"percent_off": 15, "name": None, "max_redemptions": 10}

    services.discount_redeem(tenant=sandbox, code="SPRING", amount=Money(1000, "USD"), actor=actor,
                             customer="a@example.com")
    assert_validation_error(api.patch(url, {"percent_off": 50}, format="json"), "percent_off")
    assert_validation_error(api.patch(url, {"max_redemptions": 0}, format="json"), "max_redemptions")
    assert api.patch(url, {"max_redemptions": 1}, format="json").status_code == 200  # == times_redeemed is fine
    assert api.patch(url, {"active": False}, format="json").json()["data"]["valid"] is False


def test_delete_unredeemed_is_gone_and_frees_the_code(api, sandbox):
    discount = make_discount(sandbox, code="GONE")
    deleted = api.delete(f"/v2/discounts/{discount.pk}")
    assert deleted.status_code == 200 and deleted.json()["data"]["deleted"] is True
    assert api.get(f"/v2/discounts/{discount.pk}").status_code == 404
    assert api.delete(f"/v2/discounts/{discount.pk}").status_code == 404
    assert discount.pk not in [d["id"] for d in api.get("/v2/discounts").json()["data"]]
    assert create(api, code="gone", type="percentage", percent_off=5).status_code == 201
    assert Discount.all_objects.filter(pk=discount.pk).exists()  # soft delete: the row stays
    assert Event.objects.filter(type="discount.deleted", object_id=discount.pk).exists()


def test_delete_redeemed_archives_and_keeps_history(api, sandbox, actor):
    discount = make_discount(sandbox, code="USED")
    services.discount_redeem(tenant=sandbox, code="used", amount=Money(1000, "USD"), actor=actor)
    archived = api.delete(f"/v2/discounts/{discount.pk}")
    assert archived.status_code == 200, archived.content
    data = archived.json()["data"]
    assert data["archived"] is True and data["active"] is False and data["times_redeemed"] == 1
    assert "deleted" not in data
    assert api.get(f"/v2/discounts/{discount.pk}").status_code == 200
    assert [d["id"] for d in api.get("/v2/discounts?active=false").json()["data"]] == [discount.pk]
    assert api.delete(f"/v2/discounts/{discount.pk}").status_code == 200  # again: unchanged
    assert Event.objects.filter(type="discount.archived", object_id=discount.pk).count() == 1
    assert_validation_error(api.patch(f"/v2/discounts/{discount.pk}", {"active": True}, format="json"), "active")
    assert_validation_error(create(api, code="USED", type="percentage", percent_off=5), "code")
    with pytest.raises(services.DiscountNotApplicable):
        services.discount_redeem(tenant=sandbox, code="USED", amount=Money(1000, "USD"), actor=actor)


def test_list_filters(api, sandbox):
    a = make_discount(sandbox, code="ALPHA")
    b = make_discount(sandbox, code="BETA", type="fixed", amount_off_minor=100, currency="USD")
    c = make_discount(sandbox, code="GAMMA", active=False)

    def ids(query=""):
        response = api.get(f"/v2/discounts{query}")
        assert response.status_code == 200, response.content
        return [d["id"] for d in response.json()["data"]]

    assert ids() == [c.pk, b.pk, a.pk]
    assert ids("?code=beta") == [b.pk]
    assert ids("?active=true") == [b.pk, a.pk]
    assert ids("?active=false") == [c.pk]
    assert ids("?type=fixed") == [b.pk]
    assert api.get("/v2/discounts?limit=1").json()["pagination"] == {"limit": 1, "offset": 0, "total": 3,
                                                                      "hasMore": True}


def test_scope_update_and_specific_prices(api, sandbox):
    price = make_price(sandbox)
    discount = make_discount(sandbox)
    response = api.patch(f"/v2/discounts/{discount.pk}", {"price_ids": [price.pk]}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["data"]["scope"] == "specific_products"
    assert response.json()["data"]["price_ids"] == [price.pk]
    back = api.patch(f"/v2/discounts/{discount.pk}", {"scope": "entire_order"}, format="json").json()["data"]
    assert (back["scope"], back["price_ids"]) == ("entire_order", [])

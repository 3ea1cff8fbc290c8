"""/v2/billing through HTTP: the two reference lists and the schedule preview."""
import pytest

from apps.core.models import Event
from tests.catalog.helpers import assert_validation_error, catalog_rows
from tests.factories import make_price


def test_intervals_list_is_reference_data_in_the_list_envelope(api):
    response = api.get("/v2/billing/intervals")
    assert response.status_code == 200, response.content
    body = response.json()
    assert [row["id"] for row in body["data"]] == ["day", "week", "month", "quarter", "half_year", "year"]
    assert body["pagination"] == {"limit": 25, "offset": 0, "total": 6, "hasMore": False}
    month = body["data"][2]
    assert month["label"] == "Monthly" and month["months"] == 1
    assert {"interval_count": 3, "label": "Every 3 months"} in month["examples"]
    page = api.get("/v2/billing/intervals?limit=2&offset=2").json()
    assert [r["id"] for r in page["data"]] == ["month", "quarter"] and page["pagination"]["hasMore"] is True
    assert [r["id"] for r in api.get("/v2/billing/intervals?starting_after=half_year").json()["data"]] == ["year"]
    assert_validation_error(api.get("/v2/billing/intervals?limit=zero"), "limit")
    assert_validation_error(api.get("/v2/billing/intervals?starting_after=fortnight"), "starting_after")


def test_anchor_rules_list(api):
    body = api.get("/v2/billing/anchor-rules").json()
    assert [r["id"] for r in body["data"]] == ["start", "day_of_month", "first_of_month", "last_of_month"]
    assert body["pagination"]["total"] == 4
    assert all(r["description"] for r in body["data"])
    assert body["data"][1]["requires_anchor_day"] is True


def test_preview_of_a_stored_price(api, tenant, sandbox):
    price = make_price(sandbox, unit_amount_minor=2900, interval="month", interval_count=1, trial_days=14)
    before = catalog_rows(tenant.merchant)
    response = api.post("/v2/billing/preview", {"price_id": price.pk, "start": "2027-01-31T09:00:00Z", "count": 3,
                                                "timezone": "UTC", "trial_days": 0}, format="json")
    assert response.status_code == 200, response.content
    data = response.json()["data"]
    assert data["object"] == "billing_preview" and data["price_id"] == price.pk and data["currency"] == "USD"
    assert [c["period_start"] for c in data["charges"]] == ["2027-01-31T09:00:00Z", "2027-02-28T09:00:00Z",
                                                            "2027-03-31T09:00:00Z"]
    assert [c["period_end"] for c in data["charges"]][-1] == "2027-04-30T09:00:00Z"
    assert all(c["amount_minor"] == 2900 and c["charge_date"] == c["period_start"] for c in data["charges"])
    assert data["total_minor"] == 8700 and data["trial_end"] is None
    with_trial = api.post("/v2/billing/preview", {"priceId": price.pk, "start": "2027-01-01T00:00:00Z", "count": 1,
                                                  "timezone": "UTC"}, format="json").json()["data"]
    assert with_trial["trial_end"] == "2027-01-15T00:00:00Z"
    assert with_trial["charges"][0]["period_start"] == "2027-01-15T00:00:00Z"
    assert catalog_rows(tenant.merchant) == before  # a preview writes nothing
    assert not Event.objects.filter(type__startswith="billing.").exists()


def test_preview_of_an_inline_price_with_anchor_and_quantity(api, tenant):
    tenant.merchant.timezone = "Europe/London"
    tenant.merchant.save(update_fields=["timezone"])
    response = api.post("/v2/billing/preview", {
        "price": {"currency": "GBP", "pricing_model": "volume", "interval": "month", "interval_count": 1,
                  "tiers": [{"up_to": 10, "unit_amount_minor": 1000}, {"up_to": None, "unit_amount_minor": 800}]},
        "quantity": 12, "start": "2027-04-16T10:00:00+01:00", "count": 2, "anchorRule": "day_of_month",
        "anchorDay": 1}, format="json")
    assert response.status_code == 200, response.content
    data = response.json()["data"]
    assert data["timezone"] == "Europe/London" and data["anchor_day"] == 1
    first, second = data["charges"]
    assert first["prorated"] is True and first["full_amount_minor"] == 12 * 800
    assert first["period_end"] == "2027-05-01T09:00:00Z"  # 1 May at the start's wall-clock time (10:00 BST)
    assert second["amount_minor"] == 9600 and second["prorated"] is False


@pytest.mark.parametrize("body, path", [
    ({}, "price_id"),
    ({"price_id": "price_x", "price": {"currency": "USD", "unit_amount_minor": 1, "interval": "month",
                                       "interval_count": 1}}, "price_id"),
    ({"price": {"currency": "USD", "unit_amount_minor": 100, "interval": "month"}}, "price.interval_count"),
    ({"price": {"currency": "USD", "unit_amount_minor": -1, "interval": "month", "interval_count": 1}},
     "price.unit_amount_minor"),
    ({"price": {"currency": "QQQ", "unit_amount_minor": 1, "interval": "month", "interval_count": 1}}, "price.currency"),
    ({"price": {"currency": "USD", "interval": "month", "interval_count": 1}}, "price.unit_amount_minor"),
    ({"price": {"currency": "USD", "unit_amount_minor": 1, "interval": "month", "interval_count": 1}, "count": 0},
     "count"),
    ({"price": {"currency": "USD", "unit_amount_minor": 1, "interval": "week", "interval_count": 1},
      "anchor_rule": "first_of_month"}, "anchor_rule"),
    ({"price": {"currency": "USD", "unit_amount_minor": 1, "interval": "month", "interval_count": 1},
      "anchor_rule": "day_of_month"}, "anchor_day"),
    ({"price": {"currency": "USD", "unit_amount_minor": 1, "interval": "month", "interval_count": 1},
      "timezone": "Mars/Olympus"}, "timezone"),
    ({"price": {"currency": "USD", "unit_amount_minor": 1, "interval": "month", "interval_count": 1},
      "start": "yesterday"}, "start"),
    ({"price": {"currency": "USD", "unit_amount_minor": 1, "interval": "month", "interval_count": 1},
      "start": "9999-12-01T00:00:00Z"}, "start"),
    ({"price": {"currency": "USD", "unit_amount_minor": 1, "interval": "month", "interval_count": 1}, "extra": 1},
     "extra"),
])
def test_preview_bad_input_is_400(api, body, path):
    assert_validation_error(api.post("/v2/billing/preview", body, format="json"), path)


def test_preview_refuses_one_time_and_foreign_prices(api, sandbox, other_tenant):
    one_time = make_price(sandbox)
    assert_validation_error(api.post("/v2/billing/preview", {"price_id": one_time.pk}, format="json"), "price_id")
    theirs = other_tenant.client().post("/v2/products", {
        "name": "T", "pricingModel": "recurring", "amountMinor": 100, "currency": "USD", "interval": "month",
        "intervalCount": 1}, format="json").json()["data"]["prices"][0]["id"]
    response = api.post("/v2/billing/preview", {"price_id": theirs}, format="json")
    assert response.status_code == 404 and response.json()["error"]["code"] == "resource_missing"

"""/v2/customers through HTTP with real API keys: envelopes, pagination, filters, errors."""
import uuid
from datetime import timedelta

import pytest
import time_machine

from apps.core.clock import now
from apps.core.models import Event
from apps.customers.models import Customer, CustomerExternalId
from tests.factories import make_customer

FIELDS = {"id", "object", "email", "name", "company_name", "phone", "billing_address", "shipping_address", "tax_ids",
          "locale", "currency", "metadata", "external_ids", "livemode", "created_at", "updated_at"}


def assert_validation_error(response, *paths):
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error" and error["code"] == "validation_error"
    assert set(paths) <= set(error["details"]["fields"]), error
    return error


def nothing_written(tenant):
    return (not Customer.all_objects.filter(merchant=tenant.merchant).exists()
            and not Event.objects.filter(merchant=tenant.merchant, type__startswith="customer.").exists())


def test_create_get_update_delete_round_trip(api, tenant):
    response = api.post("/v2/customers", {
        "email": "John@Example.com", "name": "John Smith", "phone": "+14155550123", "currency": "gbp",
        "locale": "en-GB", "billing_address": {"line1": "1 High St", "city": "York", "postal_code": "YO1 7HH",
                                               "country": "GB"},
        "tax_ids": [{"type": "gb_vat", "value": "GB123456789"}], "metadata": {"tier": "gold"}}, format="json")
    assert response.status_code == 201, response.content
    customer = response.json()["data"]
    assert set(customer) == FIELDS
    assert customer["id"].startswith("cus_") and customer["object"] == "customer"
    assert customer["email"] == "john@example.com" and customer["currency"] == "GBP"
    assert customer["livemode"] is False and customer["external_ids"] == []
    assert customer["created_at"].endswith("Z")
    assert response["RevKeen-Version"]

    got = api.get(f"/v2/customers/{customer['id']}")
    assert got.status_code == 200 and got.json()["data"] == customer

    patched = api.patch(f"/v2/customers/{customer['id']}", {"name": "J. Smith", "metadata": {"tier": "", "vip": "y"}},
                        format="json")
    assert patched.status_code == 200, patched.content
    assert patched.json()["data"]["name"] == "J. Smith"
    assert patched.json()["data"]["metadata"] == {"vip": "y"}

    deleted = api.delete(f"/v2/customers/{customer['id']}")
    assert deleted.status_code == 200 and deleted.json()["data"]["deleted"] is True
    assert api.get(f"/v2/customers/{customer['id']}").json()["error"]["code"] == "resource_missing"
    assert api.get(f"/v2/customers/{customer['id']}").status_code == 404
    assert api.patch(f"/v2/customers/{customer['id']}", {"name": "x"}, format="json").status_code == 404
    assert api.delete(f"/v2/customers/{customer['id']}").status_code == 404
    # The email is free again: a new customer.
    again = api.post("/v2/customers", {"email": "john@example.com"}, format="json")
    assert again.status_code == 201 and again.json()["data"]["id"] != customer["id"]


def test_guide_spellings_are_accepted(api):
    """Page 021's TypeScript sample body, as is."""
    response = api.post("/v2/customers", {
        "email": "john@example.com", "name": "John Smith", "phone": "+1-555-123-4567", "currency": "USD",
        "address": {"line1": "123 Main St", "line2": "Suite 100", "city": "San Francisco", "state": "CA",
                    "postalCode": "94102", "country": "US"},
        "taxId": "US123456789", "metadata": {"salesRep": "jane@company.com", "tier": "enterprise"}}, format="json")
    assert response.status_code == 201, response.content
    data = response.json()["data"]
    assert data["billing_address"]["postal_code"] == "94102"
    assert data["tax_ids"] == [{"type": "other", "value": "US123456789"}]


@pytest.mark.parametrize("body, paths", [
    ({"email": "dup@example.com"}, ["email"]),  # duplicate (see below)
    ({"email": "a@example.com", "currency": "DOLLARS"}, ["currency"]),
    ({"email": "a@example.com", "currency": "XYZ"}, ["currency"]),
    ({"email": "a@example.com", "billing_address": {"country": "GBR"}}, ["billing_address.country"]),
    ({"email": "a@example.com", "shipping_address": {"country": "QQ"}}, ["shipping_address.country"]),
    ({"email": "a@example.com", "favourite_colour": "red"}, ["favourite_colour"]),
    ({"email": "a@example.com", "billing_address": {"line1": "x", "flat": "2"}}, ["billing_address.flat"]),
    ({"email": "a@example.com", "metadata": {"k": {"nested": 1}}}, ["metadata.k"]),
    ({"email": "a@example.com", "metadata": {f"k{i}": "v" for i in range(51)}}, ["metadata"]),
    ({"email": "a@example.com", "metadata": {"k": "v" * 501}}, ["metadata.k"]),
    ({"email": "a@example.com", "tax_ids": [{"type": "eu vat!", "value": "1"}]}, ["tax_ids[0].type"]),
    ({"email": "not an email"}, ["email"]),
    ({"name": "No Email"}, ["email"]),
    ({"email": 12}, ["email"]),
])
def test_bad_input_is_a_400_with_field_details_and_writes_nothing(api, tenant, body, paths):
    if body == {"email": "dup@example.com"}:
        api.post("/v2/customers", {"email": "DUP@example.com"}, format="json")
        before = Customer.objects.count(), Event.objects.count()
        assert_validation_error(api.post("/v2/customers", body, format="json"), *paths)
        assert (Customer.objects.count(), Event.objects.count()) == before
        return
    error = assert_validation_error(api.post("/v2/customers", body, format="json"), *paths)
    assert error["param"] in paths
    assert nothing_written(tenant)


@pytest.mark.parametrize("raw", [b"[1, 2]", b'"text"', b"{not json"])
def test_a_body_that_is_not_an_object_is_a_400(api, tenant, raw):
    response = api.generic("POST", "/v2/customers", raw, content_type="application/json")
    assert response.status_code == 400 and "error" in response.json()
    assert nothing_written(tenant)


def test_patch_with_bad_input_changes_nothing(api, tenant):
    customer = api.post("/v2/customers", {"email": "p@example.com", "name": "Kept"}, format="json").json()["data"]
    api.post("/v2/customers", {"email": "other@example.com"}, format="json")
    for body, path in [({"name": "New", "currency": "nope"}, "currency"), ({"email": "OTHER@example.com"}, "email"),
                       ({"unknown": 1}, "unknown"), ({"email": None}, "email")]:
        assert_validation_error(api.patch(f"/v2/customers/{customer['id']}", body, format="json"), path)
    assert api.get(f"/v2/customers/{customer['id']}").json()["data"] == customer
    assert Event.objects.filter(type="customer.updated").count() == 0


def test_idempotency_key_replays_a_create(api, tenant):
    key = str(uuid.uuid4())
    first = api.post("/v2/customers", {"email": "i@example.com"}, format="json", HTTP_IDEMPOTENCY_KEY=key)
    second = api.post("/v2/customers", {"email": "i@example.com"}, format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert first.status_code == second.status_code == 201
    assert second["Idempotency-Replayed"] == "true" and second.json() == first.json()
    assert Customer.objects.count() == 1


def test_list_is_paginated_newest_first(api, sandbox):
    made = []
    start = now()
    for i in range(30):
        with time_machine.travel(start + timedelta(minutes=i), tick=False):
            made.append(make_customer(sandbox, name=f"C{i}").pk)
    page = api.get("/v2/customers?limit=10&offset=5").json()
    assert page["pagination"] == {"limit": 10, "offset": 5, "total": 30, "hasMore": True}
    assert [c["id"] for c in page["data"]] == list(reversed(made))[5:15]
    default = api.get("/v2/customers").json()
    assert default["pagination"]["limit"] == 25 and len(default["data"]) == 25
    after = api.get(f"/v2/customers?starting_after={made[-1]}&limit=2").json()
    assert [c["id"] for c in after["data"]] == [made[-2], made[-3]]
    assert api.get("/v2/customers?limit=abc").status_code == 400


def test_list_filters_search_email_and_dates(api, sandbox):
    start = now()
    with time_machine.travel(start - timedelta(days=10), tick=False):
        old = make_customer(sandbox, name="Grace Hopper", email="grace@navy.mil", external_ids=[("crm", "NAVY-1")])
    with time_machine.travel(start - timedelta(days=1), tick=False):
        new = make_customer(sandbox, name="Alan Turing", email="alan@bletchley.uk", external_ids=[("crm", "BP-7")])

    def ids(query):
        response = api.get("/v2/customers", query)
        assert response.status_code == 200, response.content
        return [c["id"] for c in response.json()["data"]]

    assert ids({"search": "hopper"}) == [old.pk]
    assert ids({"search": "BLETCHLEY"}) == [new.pk]
    assert ids({"search": "navy-"}) == [old.pk]  # external id
    assert ids({"search": "nobody"}) == []
    assert ids({"email": "Grace@Navy.mil"}) == [old.pk]
    assert ids({"created_after": (start - timedelta(days=2)).isoformat()}) == [new.pk]
    assert ids({"created_before": (start - timedelta(days=2)).isoformat()}) == [old.pk]
    assert ids({}) == [new.pk, old.pk]
    bad = api.get("/v2/customers", {"created_after": "yesterday"})
    assert_validation_error(bad, "created_after")
    inverted = api.get("/v2/customers", {"created_after": start.isoformat(),
                                         "created_before": (start - timedelta(days=5)).isoformat()})
    assert_validation_error(inverted, "created_after")


def test_upsert_by_external_id_answers_201_then_200(api, tenant):
    url = "/v2/customers/external/practicehub/PH-100"
    created = api.put(url, {"email": "ph@example.com", "name": "Pat"}, format="json")
    assert created.status_code == 201, created.content
    data = created.json()["data"]
    assert data["external_ids"] == [{"source": "practicehub", "external_id": "PH-100"}]
    updated = api.put(url, {"name": "Pat H", "externalUpdatedAt": "2026-01-01T00:00:00Z"}, format="json")
    assert updated.status_code == 200 and updated.json()["data"]["id"] == data["id"]
    assert updated.json()["data"]["name"] == "Pat H"
    same = api.put(url, {"name": "Pat H"}, format="json")
    assert same.status_code == 200
    assert Event.objects.filter(object_id=data["id"]).count() == 2  # created + one update
    assert_validation_error(api.put("/v2/customers/external/practicehub/PH-101", {"name": "x"}, format="json"), "email")
    assert_validation_error(api.put("/v2/customers/external/bad source!/1", {"email": "z@example.com"},
                                    format="json"), "source")
    assert_validation_error(api.put(url, {"currency": "EURO"}, format="json"), "currency")
    assert CustomerExternalId.objects.count() == 1


def test_batch_upsert_through_http(api, tenant):
    body = {"source": "wodify", "customers": [
        {"external_id": "w1", "email": "w1@example.com", "name": "One"},
        {"externalId": "w2", "email": "w2@example.com", "companyName": "Two Ltd"},
        {"source": "crm", "external_id": "c3", "email": "c3@example.com"}]}
    response = api.put("/v2/customers/external/batch", body, format="json")
    assert response.status_code == 200, response.content
    data = response.json()["data"]
    assert data["object"] == "customer_batch"
    assert [r["status"] for r in data["results"]] == ["created"] * 3
    assert all(r["id"].startswith("cus_") and r["errors"] is None for r in data["results"])
    again = api.put("/v2/customers/external/batch", body, format="json").json()["data"]
    assert [r["status"] for r in again["results"]] == ["unchanged"] * 3
    assert [r["id"] for r in again["results"]] == [r["id"] for r in data["results"]]
    listed = api.get("/v2/customers", {"search": "w2"}).json()["data"]
    assert listed[0]["company_name"] == "Two Ltd"


def test_batch_with_a_malformed_row_is_a_400_and_writes_nothing(api, tenant):
    rows = [{"external_id": str(i), "email": f"r{i}@example.com"} for i in range(5)]
    rows[3]["email"] = "r3-at-example.com"
    response = api.put("/v2/customers/external/batch", {"source": "crm", "customers": rows}, format="json")
    error = assert_validation_error(response, "customers[3].email")
    assert error["details"]["results"][3] == {"index": 3, "status": "error", "id": None,
                                              "errors": {"email": ["must be a valid email address"]}}
    assert {r["status"] for i, r in enumerate(error["details"]["results"]) if i != 3} == {"skipped"}
    assert "nothing was applied" in error["message"]
    assert nothing_written(tenant)
    for body, path in [({"customers": []}, "customers"), ({"source": "crm"}, "customers"),
                       ({"source": "crm", "customers": rows, "extra": 1}, "extra"),
                       ({"source": "??", "customers": [{"external_id": "1", "email": "a@example.com"}]}, "source")]:
        assert_validation_error(api.put("/v2/customers/external/batch", body, format="json"), path)
    assert nothing_written(tenant)


def test_openapi_documents_every_customer_operation(client):
    document = client.get("/v2/openapi.json").json()
    operations = {op["operationId"]: (method, path) for path, item in document["paths"].items()
                  for method, op in item.items() if isinstance(op, dict) and "operationId" in op}
    assert operations["customers_list"] == ("get", "/v2/customers")
    assert operations["customers_create"] == ("post", "/v2/customers")
    assert operations["customers_get"] == ("get", "/v2/customers/{customer_id}")
    assert operations["customers_update"] == ("patch", "/v2/customers/{customer_id}")
    assert operations["customers_delete"] == ("delete", "/v2/customers/{customer_id}")
    assert operations["customers_external_upsert_by_external_id"] == (
        "put", "/v2/customers/external/{source}/{external_id}")
    assert operations["customers_external_batch"] == ("put", "/v2/customers/external/batch")


def test_openapi_request_fields_match_what_the_validator_accepts():
    from apps.customers import api as customer_api
    from apps.customers.validation import CUSTOMER_FIELDS

    assert set(customer_api.CustomerFieldsInput().fields) == set(CUSTOMER_FIELDS)


def test_a_body_over_the_upload_limit_is_a_400_not_a_500(api, tenant, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 50_000
    rows = [{"external_id": str(i), "email": f"big{i}@example.com", "metadata": {"note": "x" * 400}}
            for i in range(200)]
    response = api.put("/v2/customers/external/batch", {"source": "crm", "customers": rows}, format="json")
    assert response.status_code == 400, response.content[:300]
    assert response.json()["error"]["code"] == "request_too_large"
    assert "__all__" in response.json()["error"]["details"]["fields"]
    assert nothing_written(tenant)


def test_nul_characters_and_non_ids_never_reach_the_database(api, sandbox):
    """PostgreSQL refuses NUL in text; such input is a 400/404, not a 500."""
    customer = make_customer(sandbox)
    # A NUL in the URL is refused at the door (core middleware): 400 invalid_characters.
    assert api.get("/v2/customers/cus_%00x").status_code == 400
    assert api.get("/v2/customers/not-an-id").json()["error"]["code"] == "resource_missing"
    assert api.patch("/v2/customers/cus_%00x", {"name": "x"}, format="json").status_code == 400
    assert api.delete("/v2/customers/%00").status_code == 400
    for query in ("search=%00", "email=a%00b", "starting_after=%00", "ending_before=cus_nope"):
        assert api.get(f"/v2/customers?{query}").status_code == 400, query
    for metadata, path in [({"k": "a\x00b"}, "metadata.k"), ({"k\x00": "v"}, "metadata.k?")]:
        assert_validation_error(api.patch(f"/v2/customers/{customer.pk}", {"metadata": metadata}, format="json"), path)

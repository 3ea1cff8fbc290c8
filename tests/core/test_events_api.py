import pytest
from django.test import override_settings

from apps.core.actors import Actor
from apps.core.events import emit_event
from apps.core.tenancy import Tenant as CoreTenant


def _emit(merchant, *, livemode=False, type="customer.created", n=1):
    ids = []
    for i in range(n):
        event = emit_event(tenant=CoreTenant(merchant, livemode), type=type,
                           data={"id": f"cus_{i}", "object": "customer"}, actor=Actor.system())
        ids.append(event.pk)
    return ids


def test_list_returns_data_and_pagination(tenant, api):
    _emit(tenant.merchant, n=3)
    response = api.get("/v2/events")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"data", "pagination"}
    types = [e["type"] for e in body["data"]]
    assert types.count("customer.created") == 3
    assert body["pagination"]["limit"] == 25 and body["pagination"]["offset"] == 0
    assert body["pagination"]["total"] == len(body["data"])
    assert body["pagination"]["hasMore"] is False
    event = body["data"][0]
    assert event["object"] == "event" and event["livemode"] is False and isinstance(event["created"], int)
    assert response["Request-Id"].startswith("req_")
    assert response["RevKeen-Version"] == "2026-05-01"


def test_live_key_never_sees_sandbox_rows_and_reverse(tenant):
    sandbox_ids = _emit(tenant.merchant, livemode=False, n=2)
    live_ids = _emit(tenant.merchant, livemode=True, type="invoice.paid", n=2)
    sandbox = {e["id"] for e in tenant.client().get("/v2/events?limit=100").json()["data"]}
    live = {e["id"] for e in tenant.client(live=True).get("/v2/events?limit=100").json()["data"]}
    assert set(sandbox_ids) <= sandbox and not (set(live_ids) & sandbox)
    assert set(live_ids) <= live and not (set(sandbox_ids) & live)
    assert tenant.client(live=True).get(f"/v2/events/{sandbox_ids[0]}").status_code == 404
    assert tenant.client().get(f"/v2/events/{live_ids[0]}").status_code == 404


def test_other_merchants_event_is_404_with_envelope(tenant, other_tenant):
    [foreign] = _emit(other_tenant.merchant)
    response = tenant.client().get(f"/v2/events/{foreign}")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "resource_missing"
    assert response.json()["error"]["type"] == "invalid_request_error"
    assert other_tenant.client().get(f"/v2/events/{foreign}").status_code == 200


@pytest.mark.parametrize("headers", [{}, {"HTTP_X_API_KEY": "rk_sandbox_nope"}, {"HTTP_X_API_KEY": "sk_live_x"},
                                     {"HTTP_AUTHORIZATION": "Bearer rk_live_bogus"}])
def test_missing_or_bad_key_is_401_envelope(db, client, headers):
    response = client.get("/v2/events", **headers)
    assert response.status_code == 401
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["error"]["type"] == "authentication_error"
    assert response.json()["error"]["code"] == "unauthenticated"


def test_bearer_authentication_works(tenant, client):
    assert client.get("/v2/events", HTTP_AUTHORIZATION=f"Bearer {tenant.sandbox_key}").status_code == 200


def test_revoked_key_is_401(tenant):
    from apps.accounts.models import ApiKey, hash_secret
    from apps.accounts.services import api_key_revoke

    api_key_revoke(api_key=ApiKey.objects.get(key_hash=hash_secret(tenant.sandbox_key)), actor=Actor.system())
    assert tenant.client().get("/v2/events").status_code == 401


def test_unknown_route_and_method_answer_json(api):
    response = api.get("/v2/no-such-thing")
    assert response.status_code == 404 and response.json()["error"]["code"] == "resource_missing"
    response = api.delete("/v2/events")
    assert response.status_code == 405 and response.json()["error"]["code"] == "method_not_allowed"


def test_pagination_limits_offsets_and_cursors(tenant, api):
    ids = _emit(tenant.merchant, n=7)  # oldest first
    newest_first = list(reversed(ids)) + [e["id"] for e in api.get("/v2/events?limit=100").json()["data"] if e["id"] not in ids]
    page = api.get("/v2/events?type=customer.created&limit=3&offset=3").json()
    assert [e["id"] for e in page["data"]] == newest_first[3:6]
    assert page["pagination"] == {"limit": 3, "offset": 3, "total": 7, "hasMore": True}
    after = api.get(f"/v2/events?type=customer.created&limit=2&starting_after={newest_first[1]}").json()
    assert [e["id"] for e in after["data"]] == newest_first[2:4] and after["pagination"]["hasMore"] is True
    before = api.get(f"/v2/events?type=customer.created&limit=2&ending_before={newest_first[4]}").json()
    assert [e["id"] for e in before["data"]] == newest_first[2:4]
    assert api.get("/v2/events?limit=500").json()["pagination"]["limit"] == 100
    bad = api.get("/v2/events?limit=abc")
    assert bad.status_code == 400 and bad.json()["error"]["details"]["fields"]["limit"]


def test_create_test_event_then_get(api):
    response = api.post("/v2/events/test", {"type": "invoice.paid"}, format="json")
    assert response.status_code == 201
    event = response.json()["data"]
    assert event["type"] == "invoice.paid" and event["data"]["object"]["object"] == "test"
    assert api.get(f"/v2/events/{event['id']}").json()["data"]["id"] == event["id"]


def test_unknown_body_field_is_400_with_fields(api):
    response = api.post("/v2/events/test", {"type": "invoice.paid", "colour": "red"}, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "validation_error" and error["details"]["fields"] == {"colour": ["unknown field"]}


def test_malformed_json_is_400(api):
    response = api.generic("POST", "/v2/events/test", "{not json", content_type="application/json")
    assert response.status_code == 400 and response.json()["error"]["type"] == "invalid_request_error"


def test_version_header_echoed_and_validated(api):
    assert api.get("/v2/events", HTTP_REVKEEN_VERSION="2025-09-01")["RevKeen-Version"] == "2025-09-01"
    response = api.get("/v2/events", HTTP_REVKEEN_VERSION="1999-01-01")
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_api_version"


@override_settings(REVKEEN_RATE_LIMITS={"sandbox": (60, 3), "live": (60, 3)})
def test_rate_limit_gives_429_with_retry_after(tenant):
    client = tenant.client()
    statuses = [client.get("/v2/events").status_code for _ in range(4)]
    assert statuses[:3] == [200, 200, 200]
    assert statuses[3] == 429
    response = client.get("/v2/events")
    assert response.status_code == 429
    assert int(response["Retry-After"]) >= 1
    assert response.json()["error"] == {"type": "rate_limit_error", "code": "rate_limit_exceeded",
                                        "message": response.json()["error"]["message"]}
    # Another key has its own bucket.
    assert tenant.client(live=True).get("/v2/events").status_code == 200

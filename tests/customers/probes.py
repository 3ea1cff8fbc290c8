"""Tenancy probes for the customers routes (see tests/tenancy_probes.py).

The two upsert routes are probed as lists: `make` performs the real PUT through HTTP with the owner's own sandbox
key, and the runner then checks that the customer it created is invisible to the other merchant and
to the owner's live key (and visible to the owner). That the other merchant's PUT of the *same*
external ids creates its own customer and leaves the owner's untouched is tested in
tests/customers/test_api_tenancy.py, with PATCH, DELETE and POST.
"""
from __future__ import annotations

import uuid

from rest_framework.test import APIClient

from apps.core.tenancy import Tenant
from tests.factories import make_api_key, make_customer
from tests.tenancy_probes import Probe, register


def _customer(tenant: Tenant) -> str:
    return make_customer(tenant, name="Probe Person", external_ids=[("probe", uuid.uuid4().hex)]).pk


def _owner_client(tenant: Tenant) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=make_api_key(tenant.merchant, livemode=tenant.livemode, name="probe"))
    return client


def _upsert_over_http(tenant: Tenant) -> str:
    external_id = uuid.uuid4().hex
    response = _owner_client(tenant).put(f"/v2/customers/external/probe/{external_id}",
                                         {"email": f"{external_id}@example.com", "name": "Probe"}, format="json")
    assert response.status_code == 201, response.content
    return response.json()["data"]["id"]


def _batch_over_http(tenant: Tenant) -> str:
    external_id = uuid.uuid4().hex
    response = _owner_client(tenant).put("/v2/customers/external/batch", {
        "source": "probe", "customers": [{"external_id": external_id, "email": f"{external_id}@example.com"}]},
        format="json")
    assert response.status_code == 200, response.content
    row = response.json()["data"]["results"][0]
    assert row["status"] == "created", row
    return row["id"]


register("customers_list", Probe("list", path="/v2/customers?limit=100", make=_customer))
register("customers_get", Probe("detail", path="/v2/customers/{id}", make=_customer))
register("customers_external_upsert_by_external_id",
         Probe("list", path="/v2/customers?limit=100", make=_upsert_over_http))
register("customers_external_batch", Probe("list", path="/v2/customers?limit=100", make=_batch_over_http))
register("customers_create", Probe("create", path="/v2/customers", detail_path="/v2/customers/{id}", ok_status=201,
                                   body={"email": "probe-create@example.com", "name": "Probe"}))
register("customers_update", Probe("detail", method="PATCH", path="/v2/customers/{id}", make=_customer,
                                   body={"name": "Renamed"}))
register("customers_delete", Probe("detail", method="DELETE", path="/v2/customers/{id}", make=_customer))

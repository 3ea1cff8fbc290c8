"""Tenancy probes for the catalog routes (see tests/tenancy_probes.py).

The registry keys probes by operation id, so every method of every route has one here;
tests/catalog/test_tenancy.py adds deeper cross-merchant and cross-mode checks per method.

- The two upsert routes have no "PUT that creates" kind, so they are probed as lists: `make` performs
  the real PUT over HTTP with the owner's own sandbox key and the runner checks that the product it
  created is invisible to the other merchant and to the owner's live key.
- Entitlement routes are all about one customer: `make` creates the owner's customer (holding an
  entitlement to the benefit `probe-access`) and the probe addresses that customer; for the other
  keys the customer does not exist (404). The revoke-by-id probe puts "cus_…/entitlements/ent_…"
  into the `{id}` slot of "/v2/customers/{id}".
"""
from __future__ import annotations

import uuid

from rest_framework.test import APIClient

from apps.catalog import services
from apps.core.actors import Actor
from apps.core.tenancy import Tenant
from tests.factories import make_api_key, make_benefit, make_customer, make_discount, make_price, make_product
from tests.tenancy_probes import Probe, register

PROBE_KEY = "probe-access"


def _owner_client(tenant: Tenant) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=make_api_key(tenant.merchant, livemode=tenant.livemode, name="probe"))
    return client


def _product(tenant: Tenant) -> str:
    return make_product(tenant, name="Probe Product").pk


def _price(tenant: Tenant) -> str:
    return make_price(tenant).pk


def _discount(tenant: Tenant) -> str:
    return make_discount(tenant).pk


def _upsert_over_http(tenant: Tenant) -> str:
    response = _owner_client(tenant).put(f"/v2/products/external/probe/{uuid.uuid4().hex}", {"name": "Probe"},
                                         format="json")
    assert response.status_code == 201, response.content
    return response.json()["data"]["id"]


def _batch_over_http(tenant: Tenant) -> str:
    response = _owner_client(tenant).put("/v2/products/external/batch", {
        "source": "probe", "products": [{"external_id": uuid.uuid4().hex, "name": "Probe"}]}, format="json")
    assert response.status_code == 200, response.content
    row = response.json()["data"]["results"][0]
    assert row["status"] == "created", row
    return row["id"]


def _entitled_customer(tenant: Tenant):
    customer = make_customer(tenant, name="Probe Person")
    benefit = make_benefit(tenant, key=PROBE_KEY)
    entitlement = services.entitlement_grant(tenant=tenant, customer=customer, benefit=benefit, source="api",
                                             actor=Actor.system("probe"))
    return customer, entitlement


def _customer_id(tenant: Tenant) -> str:
    return _entitled_customer(tenant)[0].pk


def _customer_and_entitlement(tenant: Tenant) -> str:
    customer, entitlement = _entitled_customer(tenant)
    return f"{customer.pk}/entitlements/{entitlement.pk}"


register("products_list", Probe("list", path="/v2/products?limit=100", make=_product))
register("products_get", Probe("detail", path="/v2/products/{id}", make=_product))
register("products_external_upsert", Probe("list", path="/v2/products?limit=100", make=_upsert_over_http))
register("products_external_batch", Probe("list", path="/v2/products?limit=100", make=_batch_over_http))
register("prices_list", Probe("list", path="/v2/prices?limit=100", make=_price))
register("prices_get", Probe("detail", path="/v2/prices/{id}", make=_price))
register("discounts_list", Probe("list", path="/v2/discounts?limit=100", make=_discount))
register("discounts_get", Probe("detail", path="/v2/discounts/{id}", make=_discount))
register("entitlements_list", Probe("detail", path="/v2/entitlements?customer_id={id}", make=_customer_id))
register("entitlements_check", Probe("detail", path="/v2/entitlements/check?customer_id={id}&key=" + PROBE_KEY,
                                     make=_customer_id))
register("customers_entitlements_list", Probe("detail", path="/v2/customers/{id}/entitlements", make=_customer_id))
register("customers_entitlements_check", Probe("detail", path="/v2/customers/{id}/entitlements/check?key=" + PROBE_KEY,
                                               make=_customer_id))
register("customers_entitlements_revoke_by_id", Probe("detail", method="DELETE", path="/v2/customers/{id}",
                                                      make=_customer_and_entitlement))


def _product_body(tenant: Tenant) -> dict:
    return {"product_id": _product(tenant), "currency": "USD", "unit_amount_minor": 1500}


register("products_create", Probe("create", path="/v2/products", body={"name": "Probe"}, ok_status=201,
                                  detail_path="/v2/products/{id}"))
register("products_update", Probe("detail", method="PATCH", path="/v2/products/{id}", make=_product,
                                  body={"name": "Renamed"}))
register("prices_create", Probe("create", path="/v2/prices", body=_product_body, ok_status=201,
                                detail_path="/v2/prices/{id}"))
register("prices_update", Probe("detail", method="PATCH", path="/v2/prices/{id}", make=_price,
                                body={"metadata": {"probe": "1"}}))
register("prices_archive", Probe("detail", method="DELETE", path="/v2/prices/{id}", make=_price))
register("discounts_create", Probe("create", path="/v2/discounts", ok_status=201, detail_path="/v2/discounts/{id}",
                                   body={"type": "percentage", "percent_off": "10", "code": "PROBECREATE"}))
register("discounts_update", Probe("detail", method="PATCH", path="/v2/discounts/{id}", make=_discount,
                                   body={"name": "Renamed"}))
register("discounts_delete", Probe("detail", method="DELETE", path="/v2/discounts/{id}", make=_discount))
register("customers_entitlements_grant", Probe("detail", method="POST", path="/v2/customers/{id}/entitlements",
                                               make=_customer_id, body={"benefitKey": PROBE_KEY}))
register("customers_entitlements_revoke_by_key", Probe(
    "detail", method="DELETE", path="/v2/customers/{id}/entitlements?benefitKey=" + PROBE_KEY, make=_customer_id))

"""The OpenAPI document names every catalog and billing operation by its reference id."""
import json

OPERATIONS = {
    ("/v2/products", "get"): "products_list", ("/v2/products", "post"): "products_create",
    ("/v2/products/{product_id}", "get"): "products_get", ("/v2/products/{product_id}", "patch"): "products_update",
    ("/v2/products/external/{source}/{external_id}", "put"): "products_external_upsert",
    ("/v2/products/external/batch", "put"): "products_external_batch",
    ("/v2/prices", "get"): "prices_list", ("/v2/prices", "post"): "prices_create",
    ("/v2/prices/{price_id}", "get"): "prices_get", ("/v2/prices/{price_id}", "patch"): "prices_update",
    ("/v2/prices/{price_id}", "delete"): "prices_archive",
    ("/v2/discounts", "get"): "discounts_list", ("/v2/discounts", "post"): "discounts_create",
    ("/v2/discounts/{discount_id}", "get"): "discounts_get", ("/v2/discounts/{discount_id}", "patch"): "discounts_update",
    ("/v2/discounts/{discount_id}", "delete"): "discounts_delete",
    ("/v2/entitlements", "get"): "entitlements_list", ("/v2/entitlements/check", "get"): "entitlements_check",
    ("/v2/customers/{customer_id}/entitlements", "get"): "customers_entitlements_list",
    ("/v2/customers/{customer_id}/entitlements", "post"): "customers_entitlements_grant",
    ("/v2/customers/{customer_id}/entitlements", "delete"): "customers_entitlements_revoke_by_key",
    ("/v2/customers/{customer_id}/entitlements/check", "get"): "customers_entitlements_check",
    ("/v2/customers/{customer_id}/entitlements/{entitlement_id}", "delete"): "customers_entitlements_revoke_by_id",
    ("/v2/billing/intervals", "get"): "billing_intervals_list",
    ("/v2/billing/anchor-rules", "get"): "billing_anchor_rules_list",
    ("/v2/billing/preview", "post"): "billing_preview_create",
}


def test_every_operation_is_documented_under_its_reference_id(client, db):
    document = json.loads(client.get("/v2/openapi.json").content)
    found = {(path, method): op["operationId"] for path, ops in document["paths"].items()
             for method, op in ops.items() if isinstance(op, dict) and "operationId" in op}
    for key, operation_id in OPERATIONS.items():
        assert found.get(key) == operation_id, (key, found.get(key))
    create = document["paths"]["/v2/prices"]["post"]
    assert any(p["name"] == "Idempotency-Key" for p in create["parameters"])
    assert {"400", "401", "404"} <= set(create["responses"])

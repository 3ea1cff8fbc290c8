import json

from django.urls import reverse


def test_openapi_document_lists_operations_by_reference_id(client, db):
    response = client.get("/v2/openapi.json")
    assert response.status_code == 200
    document = json.loads(response.content)
    assert document["openapi"].startswith("3.1")
    operation_ids = {op["operationId"] for path in document["paths"].values() for op in path.values()
                     if isinstance(op, dict) and "operationId" in op}
    assert {"events_list", "events_get", "events_create_test"} <= operation_ids
    events_list = document["paths"]["/v2/events"]["get"]
    assert {"401", "429"} <= set(events_list["responses"])
    create = document["paths"]["/v2/events/test"]["post"]
    assert any(p["name"] == "Idempotency-Key" for p in create["parameters"])
    assert "ApiKeyAuth" in document["components"]["securitySchemes"]


def test_every_operation_has_a_reference_style_id(client, db):
    document = json.loads(client.get("/v2/openapi.json").content)
    for path, operations in document["paths"].items():
        for method, op in operations.items():
            assert "_" in op["operationId"] and op["operationId"].islower(), (method, path, op["operationId"])


def test_reference_page_uses_vendored_assets(client, db):
    response = client.get(reverse("api-reference"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "/static/" in html and "cdn" not in html.lower()

"""Inputs that used to escape the error envelope: NUL characters and oversized bodies."""
import json

import pytest


@pytest.mark.parametrize("path", ["/v2/events/evt_%00abc", "/v2/events?starting_after=evt_%00", "/v2/events?type=a%00b"])
def test_nul_characters_in_url_are_a_400_envelope(api, path):
    response = api.get(path)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_characters"
    assert response["Request-Id"].startswith("req_")


def test_oversized_body_is_a_413_envelope(api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    body = json.dumps({"type": "customer.created", "padding": "x" * 4096})
    response = api.post("/v2/events/test", data=body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="big-1")
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "request_too_large"

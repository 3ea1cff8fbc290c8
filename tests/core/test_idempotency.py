import threading
import uuid
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from rest_framework.test import APIClient

from apps.core.clock import now
from apps.core.models import Event, IdempotencyKey
from tests.conftest import requires_postgres


def _post(client, key, body=None):
    return client.post("/v2/events/test", body if body is not None else {"type": "invoice.paid"}, format="json",
                       HTTP_IDEMPOTENCY_KEY=key)


def test_replay_returns_stored_answer_once_executed(tenant, api):
    key = str(uuid.uuid4())
    first = _post(api, key)
    second = _post(api, key)
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert second["Idempotency-Replayed"] == "true"
    assert "Idempotency-Replayed" not in first
    assert second["Content-Type"] == "application/json"
    assert Event.objects.filter(merchant=tenant.merchant, is_test=True).count() == 1


def test_same_key_other_body_is_409_conflict(api):
    key = str(uuid.uuid4())
    assert _post(api, key).status_code == 201
    response = _post(api, key, {"type": "invoice.voided"})
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "idempotency_conflict"
    assert response.json()["error"]["type"] == "idempotency_error"


def test_key_order_of_json_does_not_matter(api):
    key = str(uuid.uuid4())
    assert _post(api, key, {"type": "a.b"}).status_code == 201
    assert api.generic("POST", "/v2/events/test", '{ "type" : "a.b" }', content_type="application/json",
                       HTTP_IDEMPOTENCY_KEY=key)["Idempotency-Replayed"] == "true"


def test_keys_are_scoped_per_api_key(tenant):
    key = str(uuid.uuid4())
    assert _post(tenant.client(), key).status_code == 201
    assert "Idempotency-Replayed" not in _post(tenant.client(live=True), key)


def test_validation_errors_are_stored_too(tenant, api):
    key = str(uuid.uuid4())
    first = _post(api, key, {"bogus": 1})
    assert first.status_code == 400
    replay = _post(api, key, {"bogus": 1})
    assert replay.status_code == 400 and replay["Idempotency-Replayed"] == "true"


def test_key_expires_after_24_hours(tenant, api):
    key = str(uuid.uuid4())
    assert _post(api, key).status_code == 201
    with time_machine.travel(now() + timedelta(hours=24, seconds=1)):
        again = _post(api, key)
    assert again.status_code == 201 and "Idempotency-Replayed" not in again
    assert Event.objects.filter(merchant=tenant.merchant, is_test=True).count() == 2


def test_key_longer_than_255_is_400(api):
    response = _post(api, "k" * 256)
    assert response.status_code == 400 and "Idempotency-Key" in response.json()["error"]["details"]["fields"]


def test_server_error_releases_the_key(tenant, api, monkeypatch):
    from apps.core import services

    calls = {"n": 0}
    original = services.event_create_test

    def flaky(**kwargs):
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("database went away")
        return original(**kwargs)

    monkeypatch.setattr(services, "event_create_test", flaky)
    key = str(uuid.uuid4())
    failed = _post(api, key)
    assert failed.status_code == 500 and failed.json()["error"]["type"] == "api_error"
    assert not IdempotencyKey.objects.filter(key=key).exists()
    retried = _post(api, key)
    assert retried.status_code == 201 and "Idempotency-Replayed" not in retried


@requires_postgres
@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_ten_concurrent_identical_posts_execute_once(tenant):
    key = str(uuid.uuid4())
    barrier = threading.Barrier(10)
    results: list = [None] * 10

    def worker(index):
        try:
            client = APIClient()
            client.credentials(HTTP_X_API_KEY=tenant.sandbox_key)
            barrier.wait()
            response = _post(client, key)
            results[index] = (response.status_code, response.json(), response.get("Idempotency-Replayed"))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert Event.objects.filter(merchant=tenant.merchant, is_test=True).count() == 1
    created = [r for r in results if r[0] == 201]
    in_flight = [r for r in results if r[0] == 409]
    assert len(created) + len(in_flight) == 10 and created
    assert all(r[1] == created[0][1] for r in created), "every success answers identically"
    assert sum(1 for r in created if r[2] != "true") == 1, "exactly one executed, the rest replayed"
    assert all(r[1]["error"]["code"] == "idempotency_in_progress" for r in in_flight)

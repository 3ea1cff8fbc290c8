"""Real concurrent transactions on PostgreSQL: the email rule, upserts of one new external id, and
metadata patches of one customer all hold under racing requests (ARCHITECTURE.md rule 8)."""
import threading

import pytest
from django.db import connection
from rest_framework.test import APIClient

from apps.core.tenancy import Tenant as CoreTenant
from apps.customers.models import Customer, CustomerExternalId
from tests.conftest import requires_postgres
from tests.factories import make_customer

pytestmark = [requires_postgres, pytest.mark.concurrency, pytest.mark.django_db(transaction=True)]
N = 8


def race(tenant, call):
    barrier = threading.Barrier(N)
    results: list = [None] * N

    def worker(index):
        try:
            client = APIClient()
            client.credentials(HTTP_X_API_KEY=tenant.sandbox_key)
            barrier.wait()
            response = call(client, index)
            results[index] = (response.status_code, response.json())
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(N)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_concurrent_creates_with_one_email_make_one_customer(tenant):
    results = race(tenant, lambda client, i: client.post("/v2/customers", {"email": "Race@example.com",
                                                                           "name": f"Racer {i}"}, format="json"))
    statuses = sorted(status for status, _ in results)
    assert statuses == [201] + [400] * (N - 1), results
    assert all("email" in body["error"]["details"]["fields"] for status, body in results if status == 400)
    assert Customer.objects.filter(merchant=tenant.merchant).count() == 1


def test_concurrent_upserts_of_one_new_external_id_make_one_customer(tenant):
    results = race(tenant, lambda client, i: client.put("/v2/customers/external/crm/NEW-1", {
        "email": "new@example.com", "metadata": {f"k{i}": "v"}}, format="json"))
    assert all(status in (200, 201) for status, _ in results), results
    assert sum(1 for status, _ in results if status == 201) == 1
    assert len({body["data"]["id"] for _, body in results}) == 1
    assert CustomerExternalId.objects.filter(merchant=tenant.merchant).count() == 1
    customer = Customer.objects.get(merchant=tenant.merchant)
    assert set(customer.metadata) == {f"k{i}" for i in range(N)}  # every merge landed


def test_concurrent_metadata_patches_all_land(tenant):
    customer = make_customer(CoreTenant(tenant.merchant, False))
    results = race(tenant, lambda client, i: client.patch(f"/v2/customers/{customer.pk}",
                                                          {"metadata": {f"key{i}": str(i)}}, format="json"))
    assert all(status == 200 for status, _ in results), results
    assert Customer.objects.get(pk=customer.pk).metadata == {f"key{i}": str(i) for i in range(N)}

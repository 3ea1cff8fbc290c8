"""The list costs the same number of queries for 10 and 500 customers (ARCHITECTURE.md rule 13)."""
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.customers import services
from tests.factories import make_customer


def populate(tenant, actor, n, start):
    services.customer_batch_upsert(tenant=tenant, actor=actor, source="crm", rows=[
        {"external_id": f"e{i}", "email": f"c{i}@example.com", "name": f"Customer {i}",
         "metadata": {"i": str(i)}} for i in range(start, start + n)])


def count(client, url):
    client.get(url)  # warm caches (API key last_used, content types)
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, response.content
    return len(ctx.captured_queries), response.json()


@pytest.mark.parametrize("url", ["/v2/customers?limit=100", "/v2/customers?search=customer&limit=100",
                                 "/v2/customers?search=e1&limit=100", "/v2/customers?email=c1@example.com"])
def test_list_query_count_is_constant(api, sandbox, actor, url):
    populate(sandbox, actor, 10, 0)
    few, body = count(api, url)
    assert body["data"]
    populate(sandbox, actor, 490, 10)
    many, body = count(api, url)
    assert many == few, (few, many)
    assert few <= 5  # the key, count, page and one prefetch of external ids


def test_get_is_a_fixed_number_of_queries(api, sandbox):
    customer = make_customer(sandbox, external_ids=[("crm", "1")])
    queries, body = count(api, f"/v2/customers/{customer.pk}")
    assert queries <= 3 and body["data"]["external_ids"] == [{"source": "crm", "external_id": "1"}]

"""Dashboard list pages and the CSV export run the same number of queries for 10 and for 500 rows
(ARCHITECTURE.md rule 13). Rows are bulk-inserted with every relation the pages read (prices with
tiers, external ids, benefits, discount amounts and scopes, entitlements); the services are
exercised by the other view tests."""
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.catalog.test_queries import populate
from tests.factories import make_customer

PAGES = [
    ("dashboard:products", {}),
    ("dashboard:products", {"status": "all", "q": "P", "sort": "name"}),
    ("dashboard:products_export", {"status": "all"}),
    ("dashboard:discounts", {}),
    ("dashboard:discounts", {"q": "C", "status": "active"}),
    ("dashboard:benefits", {}),
]


def count(client, url, params) -> tuple[int, int]:
    """(queries, rows listed) for one page view, the response fully rendered or streamed."""
    client.get(url, params)  # warm the session and caches
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, params)
        body = b"".join(response.streaming_content) if response.streaming else response.content
    assert response.status_code == 200
    if response.streaming:
        rows = body.decode("utf-8").count("\n") - 1
    else:
        rows = len(response.context["page"].object_list)
    return len(ctx.captured_queries), rows


@pytest.mark.parametrize("name, params", PAGES)
def test_dashboard_lists_cost_the_same_for_10_and_500_rows(owner_client, sandbox, name, params):
    customer = make_customer(sandbox)
    url = reverse(name)
    populate(sandbox, 10, customer)
    few_queries, few_rows = count(owner_client, url, params)
    populate(sandbox, 490, customer)
    many_queries, many_rows = count(owner_client, url, params)
    assert few_rows == 10
    assert many_rows == (500 if name.endswith("export") else 25)
    assert many_queries == few_queries, f"{name}: {few_queries} queries for 10 rows, {many_queries} for 500"
    print(f"{name} {params}: {few_queries} queries for 10 rows and for 500")


def test_product_editor_and_discount_detail_cost_the_same_whatever_the_catalog_size(owner_client, sandbox):
    from apps.catalog.models import Discount, Product

    customer = make_customer(sandbox)
    populate(sandbox, 10, customer)
    product, discount = Product.objects.first(), Discount.objects.first()
    pages = [reverse("dashboard:product_detail", args=[product.pk]),
             reverse("dashboard:discount_detail", args=[discount.pk])]
    few = [count_page(owner_client, url) for url in pages]
    populate(sandbox, 490, customer)
    # The editor lists the benefits it could attach and the discount form lists products and prices
    # to scope to: more rows to show, never more queries.
    assert [count_page(owner_client, url) for url in pages] == few


def count_page(client, url) -> int:
    client.get(url)
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)

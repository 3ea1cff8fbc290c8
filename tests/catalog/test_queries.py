"""List endpoints run the same number of queries for 10 and for 500 rows (ARCHITECTURE.md rule 13).

Rows are bulk-inserted (the services are exercised elsewhere) with every relation a payload reads:
products with two prices each (one tiered), external ids and benefits; discounts with amounts and a
product/price scope; entitlements with their benefits.
"""
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.catalog.models import (
    Benefit,
    Discount,
    DiscountAmount,
    Entitlement,
    Price,
    PriceTier,
    Product,
    ProductBenefit,
    ProductExternalId,
)
from tests.factories import make_customer


def populate(tenant, n: int, customer) -> None:
    t = {"merchant": tenant.merchant, "livemode": tenant.livemode}
    start = Product.objects.filter(merchant=tenant.merchant).count()
    products = Product.objects.bulk_create([Product(name=f"P{start + i}", features=["a"], **t) for i in range(n)])
    prices = []
    for product in products:
        prices.append(Price(product=product, currency="USD", unit_amount_minor=100, **t))
        prices.append(Price(product=product, currency="USD", pricing_model="graduated", type="recurring",
                            interval="month", interval_count=1, **t))
    Price.objects.bulk_create(prices)
    PriceTier.objects.bulk_create([PriceTier(price=p, position=i, up_to=10 if i == 0 else None, unit_amount_minor=5)
                                   for p in prices if p.pricing_model == "graduated" for i in range(2)])
    ProductExternalId.objects.bulk_create([ProductExternalId(product=p, source="crm", external_id=p.pk, **t)
                                           for p in products])
    benefits = Benefit.objects.bulk_create([Benefit(key=f"k{start + i}", name="B", **t) for i in range(n)])
    ProductBenefit.objects.bulk_create([ProductBenefit(product=p, benefit=b) for p, b in zip(products, benefits,
                                                                                              strict=True)])
    discounts = Discount.objects.bulk_create([Discount(code=f"C{start + i}", type="fixed", **t) for i in range(n)])
    DiscountAmount.objects.bulk_create([DiscountAmount(discount=d, currency=c, amount_off_minor=5, position=j)
                                        for d in discounts for j, c in enumerate(("USD", "EUR"))])
    Discount.products.through.objects.bulk_create([Discount.products.through(discount=d, product=p)
                                                   for d, p in zip(discounts, products, strict=True)])
    Discount.prices.through.objects.bulk_create([Discount.prices.through(discount=d, price=prices[2 * i])
                                                 for i, d in enumerate(discounts)])
    Discount.objects.filter(pk__in=[d.pk for d in discounts[::2]]).update(percent_off=Decimal("10"),
                                                                          type="percentage")
    Entitlement.objects.bulk_create([Entitlement(customer=customer, benefit=b, source="api", **t) for b in benefits])


# (url, rows on the page when each kind has 10 rows: two prices a product)
URLS = [("/v2/products?limit=100", 10), ("/v2/prices?limit=100", 20), ("/v2/discounts?limit=100", 10),
        ("/v2/entitlements?limit=100&customer_id={customer}", 10),
        ("/v2/customers/{customer}/entitlements?limit=100", 10),
        ("/v2/products?limit=100&active=true&search=P", 10), ("/v2/prices?limit=100&type=recurring", 10)]


def count_queries(client, url) -> tuple[int, int]:
    client.get(url)  # warm caches
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, response.content
    return len(ctx.captured_queries), len(response.json()["data"])


@pytest.mark.parametrize("url, few", URLS)
def test_list_queries_do_not_grow_with_rows(api, sandbox, url, few):
    customer = make_customer(sandbox)
    url = url.format(customer=customer.pk)
    populate(sandbox, 10, customer)
    few_queries, few_rows = count_queries(api, url)
    populate(sandbox, 490, customer)
    many_queries, many_rows = count_queries(api, url)
    assert few_rows == few
    assert many_rows == 100
    assert many_queries == few_queries, f"{url}: {few_queries} queries for 10 rows, {many_queries} for 500"


def test_product_list_payload_carries_prices_tiers_benefits_and_external_ids(api, sandbox):
    customer = make_customer(sandbox)
    populate(sandbox, 3, customer)
    product = api.get("/v2/products?limit=1").json()["data"][0]
    assert len(product["prices"]) == 2 and len([p for p in product["prices"] if p["tiers"]]) == 1
    assert len(product["benefits"]) == 1 and len(product["external_ids"]) == 1

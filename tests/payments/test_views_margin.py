"""Finance → Margin: per customer and per product (payments without a product as "Unattributed") over a
date range — gross, fees by kind, refunds, disputes, net, margin % — aggregated in SQL, scoped to the
merchant and mode, in a constant number of queries; financial roles only."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.core.tenancy import Tenant as CoreTenant
from apps.payments import selectors
from tests.factories import make_customer, make_product
from tests.payments.test_views_payments import make_payment

MARGIN = reverse("dashboard:margin")
LONDON = ZoneInfo("Europe/London")
MAY = {"date_from": "2026-05-01", "date_to": "2026-05-31"}


def at(day: int, hour: int = 12) -> datetime:
    return datetime(2026, 5, day, hour, tzinfo=LONDON)


@pytest.fixture
def book(sandbox_tenant, tenant, other_tenant):
    ada = make_customer(sandbox_tenant, email="ada@example.com", name="Ada Lovelace")
    grace = make_customer(sandbox_tenant, email="grace@example.com", name="Grace Hopper")
    club = make_product(sandbox_tenant, name="Coffee Club")
    fees = {"interchange": 20, "scheme": 10, "gateway": 15, "platform": 27}
    make_payment(sandbox_tenant, customer=ada, product=club, amount=10000, fees=fees, created_at=at(2))
    make_payment(sandbox_tenant, customer=ada, product=club, amount=5000, fees=fees, created_at=at(3),
                 status="partially_refunded", refunded=1000)
    make_payment(sandbox_tenant, customer=ada, amount=2000, fees={**fees, "chargeback": 1500}, created_at=at(4),
                 disputed=2000)
    make_payment(sandbox_tenant, customer=grace, amount=3000, fees=fees, created_at=at(5))
    make_payment(sandbox_tenant, customer=grace, amount=9999, status="failed", created_at=at(5))
    make_payment(sandbox_tenant, customer=grace, amount=4444, status="voided",
                 fees=dict.fromkeys(fees, 0), created_at=at(6))
    make_payment(sandbox_tenant, customer=grace, amount=7000, fees=fees, created_at=datetime(2026, 6, 1, 12, tzinfo=LONDON))
    make_payment(sandbox_tenant, customer=grace, amount=1111, fees=fees, created_at=at(30, 23))  # 30 May, London
    make_payment(CoreTenant(tenant.merchant, livemode=True), customer=None, amount=8888, fees=fees, created_at=at(7))
    make_payment(CoreTenant(other_tenant.merchant, livemode=False), amount=6666, fees=fees, created_at=at(7))
    return {"ada": ada, "grace": grace, "club": club}


def test_margin_by_customer_sums_gross_fees_refunds_disputes(book, sandbox_tenant):
    rows = {r.label: r for r in selectors.margin_by_customer(
        tenant=sandbox_tenant, created_from=at(1, 0), created_before=datetime(2026, 6, 1, tzinfo=LONDON))}
    assert set(rows) == {"Ada Lovelace", "Grace Hopper"}
    ada = rows["Ada Lovelace"]
    assert (ada.count, ada.gross_minor, ada.refunds_minor, ada.disputes_minor) == (3, 17000, 1000, 2000)
    assert ada.fees_by_code == {"interchange": 60, "scheme": 30, "gateway": 45, "platform": 81, "chargeback": 1500}
    assert ada.net_minor == 17000 - 1716 - 1000 - 2000 == 12284
    assert ada.margin_percent == Decimal("72.26")
    grace = rows["Grace Hopper"]  # failed and voided payments moved no money; June is outside the range
    assert (grace.count, grace.gross_minor, grace.fees_minor, grace.net_minor) == (2, 4111, 144, 3967)


def test_margin_by_product_groups_payments_without_a_product_as_unattributed(book, sandbox_tenant):
    rows = {r.label: r for r in selectors.margin_by_product(
        tenant=sandbox_tenant, created_from=at(1, 0), created_before=datetime(2026, 6, 1, tzinfo=LONDON))}
    assert set(rows) == {"Coffee Club", "Unattributed"}
    assert (rows["Coffee Club"].gross_minor, rows["Coffee Club"].key) == (15000, book["club"].pk)
    assert (rows["Unattributed"].gross_minor, rows["Unattributed"].key) == (2000 + 4111, None)
    total = selectors.margin_totals(list(rows.values()))
    assert len(total) == 1 and total[0].gross_minor == 21111


def test_the_page_shows_both_tables_and_the_totals(owner_client, book):
    response = owner_client.get(MARGIN, MAY)
    assert response.status_code == 200
    page = response.content.decode()
    for text in ("Ada Lovelace", "Grace Hopper", "Coffee Club", "Unattributed", "£170.00", "£122.84", "72.26%",
                 "Interchange", "Chargeback fee", 'data-testid="margin-by-customer"', 'data-testid="margin-by-product"',
                 reverse("dashboard:product_detail", args=[book["club"].pk])):
        assert text in page, text
    assert "£88.88" not in page and "£66.66" not in page  # other mode, other merchant
    totals = response.context["totals"]
    assert [(t.currency, t.gross_minor) for t in totals] == [("GBP", 21111)]


def test_the_date_range_and_bad_input(owner_client, book):
    only_early = owner_client.get(MARGIN, {"date_from": "2026-05-01", "date_to": "2026-05-02"})
    assert [item["row"].gross_minor for item in only_early.context["by_customer"]] == [10000]
    bad = owner_client.get(MARGIN, {"date_from": "2026-05-09", "date_to": "2026-05-01"})
    assert bad.status_code == 200 and "date_to" in bad.context["form"].errors and "by_customer" not in bad.context
    assert owner_client.get(MARGIN).status_code == 200  # the last 30 days by default


def test_queries_do_not_grow_with_customers_products_or_payments(owner_client, sandbox_tenant):
    def add(n):
        for i in range(n):
            customer = make_customer(sandbox_tenant)
            product = make_product(sandbox_tenant, name=f"P{i}")
            make_payment(sandbox_tenant, customer=customer, product=product, created_at=at(10))
            make_payment(sandbox_tenant, customer=customer, created_at=at(11))

    def count():
        owner_client.get(MARGIN, MAY)
        with CaptureQueriesContext(connection) as ctx:
            response = owner_client.get(MARGIN, MAY)
        return len(ctx.captured_queries), len(response.context["by_customer"])

    add(3)
    few, rows = count()
    assert rows == 3
    add(27)
    many, rows = count()
    assert rows == 30 and many == few


@pytest.mark.parametrize("role, status", [("viewer", 200), ("member", 200), ("manager", 200), ("support", 403)])
def test_only_roles_that_see_financial_data(login_as, book, role, status):
    client = login_as(role)
    assert client.get(MARGIN, MAY).status_code == status
    nav = client.get(reverse("dashboard:payments")).content.decode()
    assert ('data-testid="nav-margin"' in nav) == (status == 200)

"""Dashboard orders pages (Sales > Orders, page 024): the list with its filters and a constant number of
queries, the detail with lines, fulfilment and the benefits delivered, and the actions — mark shipped,
mark delivered, cancel — through the order services, with roles and tenancy."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.billing import services
from apps.billing.models import Order
from apps.catalog import services as catalog_services
from apps.core.actors import Actor
from apps.core.clock import now
from apps.core.models import Event
from tests.factories import make_benefit, make_customer, make_price, make_product, owner_membership

pytestmark = pytest.mark.django_db
ACTOR = Actor.system("tests")


@pytest.fixture
def products(sandbox):
    beans = make_product(sandbox, name="Ethiopia beans", fulfillment_type="physical")
    course = make_product(sandbox, name="Brewing course", fulfillment_type="digital")
    benefit = make_benefit(sandbox, name="Course access")
    catalog_services.product_benefit_attach(tenant=sandbox, actor=ACTOR, product_id=course.pk, benefit_id=benefit.pk)
    return (make_price(sandbox, beans, currency="GBP", unit_amount_minor=1250),
            make_price(sandbox, course, currency="GBP", unit_amount_minor=4900))


def _paid_order(sandbox, prices, *, name="Ada Lovelace", quantity=1) -> Order:
    customer = make_customer(sandbox, name=name, currency="GBP",
                             shipping_address={"line1": "1 High St", "city": "London", "postal_code": "N1 1AA",
                                               "country": "GB"})
    invoice = services.invoice_create(tenant=sandbox, actor=ACTOR, customer=customer, lines=[
        services.LineInput(price=price, quantity=quantity) for price in prices])
    invoice = services.invoice_finalize(tenant=sandbox, actor=ACTOR, invoice=invoice)
    services.invoice_record_payment(tenant=sandbox, actor=ACTOR, invoice=invoice, method="bank_transfer",
                                    reference="BACS")
    return Order.objects.get(invoice=invoice)


def test_list_filters_by_status_customer_and_date(owner_client, sandbox, products):
    beans, course = products
    shipped = _paid_order(sandbox, [beans], name="Ada Lovelace")
    digital = _paid_order(sandbox, [course], name="Grace Hopper")
    assert digital.status == "fulfilled" and shipped.status == "paid"
    url = reverse("dashboard:orders")
    response = owner_client.get(url)
    assert response.status_code == 200 and b'data-testid="order-row"' in response.content
    assert [o.pk for o, _ in response.context["rows"]] == [digital.pk, shipped.pk]
    assert [o.pk for o, _ in owner_client.get(url, {"status": "paid"}).context["rows"]] == [shipped.pk]
    assert [o.pk for o, _ in owner_client.get(url, {"customer": "grace"}).context["rows"]] == [digital.pk]
    assert [o.pk for o, _ in owner_client.get(url, {"customer": shipped.customer_id}).context["rows"]] == [shipped.pk]
    tomorrow = (now() + timedelta(days=2)).date().isoformat()
    empty = owner_client.get(url, {"date_from": tomorrow})
    assert empty.context["rows"] == [] and b"No orders match" in empty.content
    today = now().date().isoformat()
    assert len(owner_client.get(url, {"date_from": today, "date_to": tomorrow}).context["rows"]) == 2
    partial = owner_client.get(url, {"status": "fulfilled"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="order-results")
    assert b"<html" not in partial.content and partial.content.count(b'data-testid="order-row"') == 1
    assert [o.pk for o, _ in owner_client.get(url, {"sort": "oldest"}).context["rows"]] == [shipped.pk, digital.pk]
    by_total = owner_client.get(url, {"sort": "total_desc"})
    assert [o.pk for o, _ in by_total.context["rows"]] == [digital.pk, shipped.pk] and not by_total.context["filtered"]
    bad = owner_client.get(url, {"date_from": "soon"})
    assert bad.status_code == 200 and bad.context["form"].errors["date_from"]


def test_empty_list(owner_client):
    assert b'data-testid="orders-empty"' in owner_client.get(reverse("dashboard:orders")).content


def test_list_runs_constant_queries(owner_client, sandbox, products, django_assert_max_num_queries):
    beans, course = products
    _paid_order(sandbox, [beans, course])
    url = reverse("dashboard:orders")
    owner_client.get(url)
    with CaptureQueriesContext(connection) as one:
        owner_client.get(url)
    for i in range(6):
        _paid_order(sandbox, [beans], name=f"Customer {i}")
    with django_assert_max_num_queries(len(one.captured_queries)):
        response = owner_client.get(url)
    assert len(response.context["rows"]) == 7


def test_detail_shows_lines_benefits_and_invoice(owner_client, sandbox, products):
    order = _paid_order(sandbox, list(products))
    response = owner_client.get(reverse("dashboard:order_detail", args=[order.pk]))
    assert response.status_code == 200
    body = response.content.decode()
    statuses = {line.fulfillment_type: line.fulfillment_status for line, _ in response.context["lines"]}
    assert statuses == {"physical": "pending", "digital": "delivered"}
    assert [e.benefit.name for e in response.context["entitlements"]] == ["Course access"]
    assert 'data-testid="order-entitlement"' in body and order.invoice.number in body
    assert response.context["can_ship"] and response.context["can_deliver"] is True
    assert response.context["can_cancel"] is False  # the digital line is delivered already
    assert order.status == "partially_fulfilled"


def test_ship_then_deliver(owner_client, sandbox, products):
    beans, _ = products
    order = _paid_order(sandbox, [beans], quantity=2)
    ship_url = reverse("dashboard:order_ship", args=[order.pk])
    missing = owner_client.post(ship_url, {"carrier": "Royal Mail"})
    assert missing.status_code == 400 and missing.context["ship_form"].errors["tracking_number"]
    assert Order.objects.get(pk=order.pk).status == "paid"

    response = owner_client.post(ship_url, {"carrier": "Royal Mail", "tracking_number": "RM123456785GB"})
    assert response.status_code == 302
    order.refresh_from_db()
    line = order.lines.get()
    assert (line.fulfillment_status, line.carrier, line.tracking_number) == ("shipped", "Royal Mail", "RM123456785GB")
    assert order.status == "partially_fulfilled" and order.tracking_number == "RM123456785GB"
    page = owner_client.get(reverse("dashboard:order_detail", args=[order.pk]))
    assert b"RM123456785GB" in page.content and page.context["can_ship"] is False

    assert owner_client.post(reverse("dashboard:order_deliver", args=[order.pk])).status_code == 302
    order.refresh_from_db()
    assert order.status == "fulfilled" and order.lines.get().fulfillment_status == "delivered"
    assert Event.objects.filter(type="order.fulfilled", object_id=order.pk).exists()
    again = owner_client.post(reverse("dashboard:order_deliver", args=[order.pk]), follow=True)
    assert any("delivered already" in str(m) or "fulfilled" in str(m) for m in again.context["messages"])


def test_cancel_a_paid_unshipped_order(owner_client, sandbox, products):
    beans, _ = products
    order = _paid_order(sandbox, [beans])
    response = owner_client.post(reverse("dashboard:order_cancel", args=[order.pk]),
                                 {"reason": "Customer changed their mind"}, follow=True)
    order.refresh_from_db()
    assert order.status == "canceled" and order.cancel_reason == "Customer changed their mind"
    assert any("credit note" in str(m) for m in response.context["messages"])
    assert b'data-testid="order-canceled"' in response.content
    # Nothing left to do on a canceled order.
    assert not any(response.context[k] for k in ("can_ship", "can_deliver", "can_cancel"))
    refused = owner_client.post(reverse("dashboard:order_ship", args=[order.pk]),
                                {"carrier": "DPD", "tracking_number": "X1"})
    assert refused.status_code == 400 and Order.objects.get(pk=order.pk).lines.get().fulfillment_status == "pending"


def test_viewer_sees_but_cannot_act(login_as, sandbox, products):
    beans, _ = products
    order = _paid_order(sandbox, [beans])
    viewer = login_as("viewer")
    page = viewer.get(reverse("dashboard:order_detail", args=[order.pk]))
    assert page.status_code == 200 and not page.context["can_ship"] and b"mark-shipped" not in page.content
    assert viewer.post(reverse("dashboard:order_ship", args=[order.pk]),
                       {"carrier": "DPD", "tracking_number": "X1"}).status_code == 403
    assert viewer.post(reverse("dashboard:order_cancel", args=[order.pk])).status_code == 403
    assert Order.objects.get(pk=order.pk).status == "paid"


def test_another_merchants_or_modes_order_is_404(client, sandbox, other_tenant, products):
    beans, _ = products
    order = _paid_order(sandbox, [beans])
    client.force_login(owner_membership(other_tenant.merchant).user)
    assert client.get(reverse("dashboard:order_detail", args=[order.pk])).status_code == 404
    for name in ("order_ship", "order_deliver", "order_cancel"):
        assert client.post(reverse(f"dashboard:{name}", args=[order.pk]),
                           {"carrier": "DPD", "tracking_number": "X"}).status_code == 404
    assert client.get(reverse("dashboard:orders")).context["rows"] == []
    assert Order.objects.get(pk=order.pk).status == "paid"

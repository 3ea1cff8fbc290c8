"""/v2/orders through HTTP with real API keys: create (the guide's camelCase body), get, list with filters in
constant queries, update, pay through the real adapter against the NMI simulator (default card, decline then
retry on the same invoice), fulfil, cancel, and the customer's orders."""
from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.billing import services
from apps.billing.models import Invoice, Order, OrderLine
from apps.catalog.models import Entitlement
from apps.core.tenancy import Tenant as CoreTenant
from tests.factories import make_benefit, make_customer, make_price, make_product

pytestmark = pytest.mark.django_db


@pytest.fixture
def client(tenant):
    return tenant.client()


def catalog(sandbox, actor):
    from apps.catalog.services import product_benefit_attach

    boxed = make_product(sandbox, name="Boxed set", fulfillment_type="physical")
    ebook = make_product(sandbox, name="E-book", fulfillment_type="digital")
    benefit = make_benefit(sandbox, key="ebook", name="E-book access")
    product_benefit_attach(tenant=sandbox, actor=actor, product_id=ebook.pk, benefit_id=benefit.pk)
    return (make_price(sandbox, boxed, unit_amount_minor=4000, currency="GBP"),
            make_price(sandbox, ebook, unit_amount_minor=1500, currency="GBP"), benefit)


def error_of(response, status: int) -> dict:
    assert response.status_code == status, response.content
    return response.json()["error"]


def create(client, customer, *lines, **extra):
    response = client.post("/v2/orders", {"customerId": customer.pk, "lineItems": [
        {"priceId": price.pk, "quantity": quantity} for price, quantity in lines], **extra}, format="json")
    assert response.status_code == 201, response.content
    return response.json()["data"]


def test_create_get_and_update(client, sandbox, actor):
    boxed, ebook, _ = catalog(sandbox, actor)
    customer = make_customer(sandbox, name="Grace", currency="GBP")
    data = create(client, customer, (boxed, 2), (ebook, 1), currency="GBP", notes="Fragile",
                  shippingAddress={"line1": "1 High St", "city": "Leeds", "postalCode": "LS1 1AA", "country": "GB"})
    assert data["id"].startswith("ord_") and data["object"] == "order"
    assert (data["status"], data["total_minor"], data["invoice_id"], data["notes"]) == ("pending", 9500, None, "Fragile")
    assert data["shipping_address"]["postal_code"] == "LS1 1AA"
    assert [(line["fulfillment_type"], line["quantity"], line["amount_minor"]) for line in data["line_items"]] == [
        ("physical", 2, 8000), ("digital", 1, 1500)]
    assert client.get(f"/v2/orders/{data['id']}").json()["data"] == data
    patched = client.patch(f"/v2/orders/{data['id']}", {"notes": "Leave with neighbour", "metadata": {"crm": "9"}},
                           format="json")
    assert patched.status_code == 200, patched.content
    assert (patched.json()["data"]["notes"], patched.json()["data"]["metadata"]) == ("Leave with neighbour",
                                                                                     {"crm": "9"})
    assert error_of(client.patch(f"/v2/orders/{data['id']}", {"status": "paid"}, format="json"), 400)


def test_create_refuses_bad_input_and_writes_nothing(client, sandbox, actor, other_tenant):
    boxed, _, _ = catalog(sandbox, actor)
    customer = make_customer(sandbox, name="Grace", currency="GBP")
    plan = make_price(sandbox, make_product(sandbox, name="Plan"), unit_amount_minor=900, currency="GBP",
                      interval="month", interval_count=1)
    assert "line_items" in error_of(client.post("/v2/orders", {"customer_id": customer.pk, "line_items": []},
                                                format="json"), 400)["details"]["fields"]
    assert "customer_id" in error_of(client.post("/v2/orders", {"line_items": [{"price_id": boxed.pk}]},
                                                 format="json"), 400)["details"]["fields"]
    recurring = error_of(client.post("/v2/orders", {"customer_id": customer.pk, "line_items": [
        {"price_id": plan.pk}]}, format="json"), 400)
    assert recurring["details"]["fields"] == {"line_items[0].price_id": ["is recurring; sell it through a subscription"]}
    assert error_of(client.post("/v2/orders", {"customer_id": customer.pk, "line_items": [
        {"price_id": boxed.pk, "quantity": 0}]}, format="json"), 400)["param"] == "line_items[0].quantity"
    theirs = make_price(CoreTenant(other_tenant.merchant, livemode=False), currency="GBP")
    assert error_of(client.post("/v2/orders", {"customer_id": customer.pk, "line_items": [
        {"price_id": theirs.pk}]}, format="json"), 404)["code"] == "resource_missing"
    assert not Order.objects.exists() and not OrderLine.objects.exists()


def test_list_filters_and_constant_queries(client, sandbox, actor):
    boxed, ebook, _ = catalog(sandbox, actor)
    ada, bob = (make_customer(sandbox, name=n, currency="GBP") for n in ("Ada", "Bob"))
    first = create(client, ada, (boxed, 1))
    second = create(client, bob, (ebook, 1), (boxed, 1))
    Order.objects.filter(pk=second["id"]).update(status="paid")

    def ids(query=""):
        response = client.get(f"/v2/orders{query}")
        assert response.status_code == 200, response.content
        return [row["id"] for row in response.json()["data"]]

    assert ids() == [second["id"], first["id"]]
    assert ids("?status=pending") == [first["id"]]
    assert ids("?status=paid,pending") == [second["id"], first["id"]]
    assert ids(f"?customer={bob.pk}") == ids(f"?customer_id={bob.pk}") == [second["id"]]
    assert ids("?created[gte]=2999-01-01T00:00:00Z") == []
    assert error_of(client.get("/v2/orders?status=shipped"), 400)["param"] == "status"
    assert [row["id"] for row in client.get(f"/v2/customers/{ada.pk}/orders").json()["data"]] == [first["id"]]

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/v2/orders?limit=100").status_code == 200
        return len(queries)

    count()
    two = count()
    for _ in range(10):
        create(client, ada, (boxed, 1), (ebook, 2))
    assert count() == two


def test_customer_orders_of_another_merchant_are_404(client, sandbox, other_tenant):
    customer = make_customer(sandbox, name="Ada")
    assert error_of(other_tenant.client().get(f"/v2/customers/{customer.pk}/orders"), 404)["code"] == \
        "resource_missing"


def test_fulfil_and_cancel_through_the_api(client, sandbox, actor):
    boxed, _, _ = catalog(sandbox, actor)
    customer = make_customer(sandbox, name="Ada", currency="GBP")
    invoice = services.invoice_create(tenant=sandbox, actor=actor, customer=customer,
                                      lines=[services.LineInput(price=boxed, quantity=1),
                                             services.LineInput(price=boxed, quantity=2)])
    invoice = services.invoice_finalize(tenant=sandbox, actor=actor, invoice=invoice)
    services.invoice_record_payment(tenant=sandbox, actor=actor, invoice=invoice)
    order = Order.objects.get(invoice=invoice)
    first, second = order.lines.order_by("position")
    shipped = client.post(f"/v2/orders/{order.pk}/fulfill", {"lineIds": [first.pk], "carrier": "DHL",
                                                              "trackingNumber": "JD0001"}, format="json")
    assert shipped.status_code == 200, shipped.content
    data = shipped.json()["data"]
    assert (data["status"], data["tracking_number"]) == ("partially_fulfilled", "JD0001")
    assert [line["fulfillment_status"] for line in data["line_items"]] == ["shipped", "pending"]
    assert error_of(client.post(f"/v2/orders/{order.pk}/cancel", {}, format="json"), 422)["code"] == \
        "order_not_cancelable"
    assert error_of(client.post(f"/v2/orders/{order.pk}/fulfill", {"status": "returned"}, format="json"),
                    400)["param"] == "status"
    delivered = client.post(f"/v2/orders/{order.pk}/fulfill", {"status": "delivered"}, format="json").json()["data"]
    assert delivered["status"] == "fulfilled" and delivered["fulfilled_at"]
    pending = create(client, customer, (boxed, 1))
    canceled = client.post(f"/v2/orders/{pending['id']}/cancel", {"reason": "Duplicate"}, format="json")
    assert canceled.status_code == 200
    assert (canceled.json()["data"]["status"], canceled.json()["data"]["cancel_reason"]) == ("canceled", "Duplicate")
    assert error_of(client.post(f"/v2/orders/{pending['id']}/fulfill", {}, format="json"), 422)["code"] == \
        "order_not_fulfillable"


@pytest.mark.django_db(transaction=True)
def test_pay_with_a_decline_then_the_default_card(gateway_sandbox, actor, tenant):
    from apps.payments import services as payments

    client = tenant.client()
    boxed, ebook, benefit = catalog(gateway_sandbox, actor)
    customer = make_customer(gateway_sandbox, name="Card Holder", currency="GBP")
    order = create(client, customer, (boxed, 1), (ebook, 1))
    declined = error_of(client.post(f"/v2/orders/{order['id']}/pay", {"payment_token": "tok_decline_200"},
                                    format="json"), 402)
    assert (declined["code"], declined["decline_code"]) == ("payment_declined", "200")
    after_decline = Order.objects.get(pk=order["id"])
    assert after_decline.status == "pending" and after_decline.invoice_id
    invoice_id = after_decline.invoice_id
    assert Invoice.objects.get(pk=invoice_id).status == "approved"
    method = payments.payment_method_create(tenant=gateway_sandbox, actor=actor, customer=customer,
                                            payment_token="tok_visa")
    paid = client.post(f"/v2/orders/{order['id']}/pay", {}, format="json")
    assert paid.status_code == 200, paid.content
    data = paid.json()["data"]
    assert (data["status"], data["invoice_id"], data["amount_paid_minor"]) == ("partially_fulfilled", invoice_id, 5500)
    assert (data["payment"]["status"], data["payment"]["payment_method_id"]) == ("succeeded", method.pk)
    assert [line["fulfillment_status"] for line in data["line_items"]] == ["pending", "delivered"]
    invoice = Invoice.objects.get(pk=invoice_id)
    assert (invoice.status, invoice.source, invoice.amount_paid_minor) == ("paid", "checkout", 5500)
    assert Order.objects.count() == 1 and Invoice.objects.count() == 1  # one invoice reused, no second order
    assert Entitlement.objects.filter(customer=customer, benefit=benefit).count() == 1
    assert error_of(client.post(f"/v2/orders/{order['id']}/pay", {}, format="json"), 422)["code"] == \
        "order_not_payable"


@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_concurrent_pays_of_one_order_make_one_invoice(tenant, sandbox, actor):
    """Double clicks and retries: eight pays of one free order at once, one wins, the rest are refused."""
    from decimal import Decimal

    from tests.billing.test_invoice_numbering_concurrency import race
    from tests.conftest import USING_POSTGRES
    from tests.factories import make_discount

    if not USING_POSTGRES:
        pytest.skip("needs PostgreSQL")
    _, ebook, _ = catalog(sandbox, actor)
    customer = make_customer(sandbox, name="Clicker", currency="GBP")
    free = make_discount(sandbox, percent_off=Decimal("100"))
    order = services.order_create(tenant=sandbox, actor=actor, customer=customer, discount=free,
                                  line_items=[services.OrderLineInput(price=ebook)])
    results = race(tenant, [lambda client: client.post(f"/v2/orders/{order.pk}/pay", {}, format="json")] * 8)
    assert sorted(status for status, _ in results) == [200] + [422] * 7, results
    assert Invoice.objects.count() == 1 and Order.objects.count() == 1
    assert Order.objects.get().status == "fulfilled"


ORDER_ACTIONS = {
    "pay": ("/pay", {}, {"pending", "partially_paid"}),
    "cancel": ("/cancel", {}, {"pending", "partially_paid", "paid"}),
    "fulfill": ("/fulfill", {"status": "shipped"}, {"paid", "partially_fulfilled"}),
}
ORDER_STATUSES = {"pending": "pending", "paid": "pending", "partially_fulfilled": "shipped",
                  "fulfilled": "delivered", "canceled": "pending", "refunded": "delivered"}
ORDER_REFUSED = [(status, action) for status in ORDER_STATUSES for action, spec in ORDER_ACTIONS.items()
                 if status not in spec[2]]


@pytest.mark.parametrize(("status", "action"), ORDER_REFUSED, ids=[f"{s}-{a}" for s, a in ORDER_REFUSED])
def test_refused_order_transitions_change_nothing(status, action, client, sandbox, actor):
    from apps.core.models import Event

    boxed, _, _ = catalog(sandbox, actor)
    customer = make_customer(sandbox, name="Ada", currency="GBP")
    order = services.order_create(tenant=sandbox, actor=actor, customer=customer,
                                  line_items=[services.OrderLineInput(price=boxed)])
    Order.objects.filter(pk=order.pk).update(status=status)
    OrderLine.objects.filter(order=order).update(fulfillment_status=ORDER_STATUSES[status])
    before = (Order.objects.filter(pk=order.pk).values().first(), list(OrderLine.objects.values()),
              Invoice.objects.count(), Event.objects.count())
    suffix, body, _ = ORDER_ACTIONS[action]
    response = client.post(f"/v2/orders/{order.pk}{suffix}", body, format="json")
    assert response.status_code == 422, response.content
    assert response.json()["error"]["code"] in ("order_not_payable", "order_not_cancelable", "order_not_fulfillable")
    after = (Order.objects.filter(pk=order.pk).values().first(), list(OrderLine.objects.values()),
             Invoice.objects.count(), Event.objects.count())
    assert after == before

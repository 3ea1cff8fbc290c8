"""Order services on PostgreSQL: an order is created only when a paid invoice holds physical or digital items,
and once; digital delivery grants the product's benefits; API orders (create, pay when nothing is owed,
fulfil line by line, cancel, update) and their state machine."""
from __future__ import annotations

from decimal import Decimal

import pytest

from apps.billing import services
from apps.billing.models import Invoice, Order, OrderLine
from apps.catalog.models import Entitlement
from apps.core.errors import BusinessRuleViolation, InvalidTransition, NotFound, ValidationFailed
from apps.core.models import Event
from apps.core.money import Money
from tests.factories import make_benefit, make_customer, make_discount, make_price, make_product

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer(sandbox):
    return make_customer(sandbox, name="Grace Hopper", currency="GBP",
                         shipping_address={"line1": "1 Navy Way", "city": "Arlington", "country": "US"})


@pytest.fixture
def goods(sandbox, actor):
    """A physical product, a digital one with a benefit, and a service, each with a GBP price."""
    from apps.catalog.services import product_benefit_attach

    boxed = make_product(sandbox, name="Boxed set", fulfillment_type="physical")
    ebook = make_product(sandbox, name="E-book", fulfillment_type="digital")
    service = make_product(sandbox, name="Support hour", fulfillment_type="none")
    benefit = make_benefit(sandbox, key="ebook-download", name="E-book download")
    product_benefit_attach(tenant=sandbox, actor=actor, product_id=ebook.pk, benefit_id=benefit.pk)
    return {
        "boxed": make_price(sandbox, boxed, unit_amount_minor=4000, currency="GBP"),
        "ebook": make_price(sandbox, ebook, unit_amount_minor=1500, currency="GBP"),
        "service": make_price(sandbox, service, unit_amount_minor=9000, currency="GBP"),
        "benefit": benefit,
    }


def paid_invoice(sandbox, actor, customer, prices) -> Invoice:
    invoice = services.invoice_create(tenant=sandbox, actor=actor, customer=customer,
                                      lines=[services.LineInput(price=p, quantity=q) for p, q in prices])
    invoice = services.invoice_finalize(tenant=sandbox, actor=actor, invoice=invoice)
    services.invoice_record_payment(tenant=sandbox, actor=actor, invoice=invoice, method="bank_transfer")
    return Invoice.objects.get(pk=invoice.pk)


# --- orders from paid invoices ------------------------------------------------------------------------
def test_a_paid_invoice_with_goods_makes_one_order_and_delivers_digital_lines(sandbox, actor, customer, goods):
    invoice = paid_invoice(sandbox, actor, customer, [(goods["boxed"], 2), (goods["ebook"], 1), (goods["service"], 1)])
    order = Order.objects.get(invoice=invoice)
    assert (order.status, order.total_minor, order.amount_paid_minor) == ("partially_fulfilled", 4000 * 2 + 1500 + 9000,
                                                                          invoice.total_minor)
    lines = {line.fulfillment_type: line for line in order.lines.all()}
    assert set(lines) == {"physical", "digital"}  # the service line needs no fulfilment
    assert (lines["physical"].fulfillment_status, lines["physical"].quantity) == ("pending", 2)
    assert lines["digital"].fulfillment_status == "delivered" and lines["digital"].delivered_at
    grant = Entitlement.objects.get(customer=customer, benefit=goods["benefit"])
    assert (grant.source, grant.source_reference) == ("purchase", order.pk)
    assert order.shipping_address == customer.shipping_address
    # The hook again (a replayed payment event): the same order, nothing new.
    again = services.order_create_for_paid_invoice(invoice=invoice, actor=actor)
    assert again.pk == order.pk and Order.objects.count() == 1
    assert Entitlement.objects.filter(customer=customer).count() == 1
    assert Event.objects.filter(type="order.created").count() == 1


def test_an_invoice_without_goods_makes_no_order(sandbox, actor, customer, goods):
    paid_invoice(sandbox, actor, customer, [(goods["service"], 3)])
    adjustment = services.invoice_create(tenant=sandbox, actor=actor, customer=customer, lines=[
        services.LineInput(description="Consulting", unit_amount_minor=5000)])
    adjustment = services.invoice_finalize(tenant=sandbox, actor=actor, invoice=adjustment)
    services.invoice_record_payment(tenant=sandbox, actor=actor, invoice=adjustment)
    assert not Order.objects.exists()


def test_a_partly_paid_invoice_makes_no_order_until_paid(sandbox, actor, customer, goods):
    invoice = services.invoice_create(tenant=sandbox, actor=actor, customer=customer,
                                      lines=[services.LineInput(price=goods["boxed"])])
    invoice = services.invoice_finalize(tenant=sandbox, actor=actor, invoice=invoice)
    services.invoice_record_payment(tenant=sandbox, actor=actor, invoice=invoice, amount=Money(1000, "GBP"))
    assert not Order.objects.exists()
    services.invoice_record_payment(tenant=sandbox, actor=actor, invoice=invoice)
    assert Order.objects.get().status == "paid"


def test_a_free_invoice_with_goods_still_makes_its_order(sandbox, actor, customer, goods):
    free = make_discount(sandbox, percent_off=Decimal("100"))
    invoice = services.invoice_create(tenant=sandbox, actor=actor, customer=customer, discount=free,
                                      lines=[services.LineInput(price=goods["boxed"])])
    invoice = services.invoice_finalize(tenant=sandbox, actor=actor, invoice=invoice)
    assert (invoice.status, invoice.total_minor) == ("paid", 0)
    assert Order.objects.get(invoice=invoice).status == "paid"


# --- API orders ---------------------------------------------------------------------------------------
def test_order_create_prices_like_its_invoice(sandbox, actor, customer, goods):
    discount = make_discount(sandbox, percent_off=Decimal("10"))
    order = services.order_create(tenant=sandbox, actor=actor, customer=customer, discount=discount, line_items=[
        services.OrderLineInput(price=goods["boxed"], quantity=3), services.OrderLineInput(price=goods["ebook"])])
    assert (order.status, order.currency, order.invoice_id) == ("pending", "GBP", None)
    assert (order.subtotal_minor, order.discount_minor, order.total_minor) == (13_500, 1_350, 12_150)
    assert sum(order.lines.values_list("amount_minor", flat=True)) == 12_150  # the discount is allocated to lines
    assert Event.objects.filter(type="order.created", object_id=order.pk).count() == 1


def test_order_create_refuses_what_an_order_cannot_sell(sandbox, actor, customer, goods, other_tenant):
    from apps.core.tenancy import Tenant as CoreTenant

    recurring = make_price(sandbox, make_product(sandbox, name="Plan"), unit_amount_minor=1000, currency="GBP",
                           interval="month", interval_count=1)
    with pytest.raises(ValidationFailed) as recurring_error:
        services.order_create(tenant=sandbox, actor=actor, customer=customer,
                              line_items=[services.OrderLineInput(price=recurring)])
    assert "line_items[0].price_id" in recurring_error.value.fields
    with pytest.raises(ValidationFailed):
        services.order_create(tenant=sandbox, actor=actor, customer=customer, line_items=[])
    with pytest.raises(ValidationFailed):
        services.order_create(tenant=sandbox, actor=actor, customer=customer,
                              line_items=[services.OrderLineInput(price=goods["boxed"], quantity=0)])
    theirs = make_price(CoreTenant(other_tenant.merchant, livemode=False), currency="GBP")
    with pytest.raises(NotFound):
        services.order_create(tenant=sandbox, actor=actor, customer=customer,
                              line_items=[services.OrderLineInput(price=theirs)])
    assert not Order.objects.exists() and not OrderLine.objects.exists()


def test_paying_an_order_with_nothing_owed_links_one_invoice(sandbox, actor, customer, goods):
    free = make_discount(sandbox, percent_off=Decimal("100"))
    order = services.order_create(tenant=sandbox, actor=actor, customer=customer, discount=free,
                                  line_items=[services.OrderLineInput(price=goods["ebook"])])
    result = services.order_pay(tenant=sandbox, actor=actor, order=order)
    assert result.payment is None and result.invoice.status == "paid"
    order = Order.objects.get(pk=order.pk)
    assert order.invoice_id == result.invoice.pk and order.status == "fulfilled"  # the digital line is delivered
    assert Order.objects.count() == 1  # the paid invoice did not make a second order
    line = order.lines.get()
    assert line.invoice_line.invoice_id == result.invoice.pk and line.invoice_line.source_type == "order_line_item"
    assert Entitlement.objects.filter(customer=customer, benefit=goods["benefit"]).exists()
    with pytest.raises(BusinessRuleViolation) as again:
        services.order_pay(tenant=sandbox, actor=actor, order=order)
    assert again.value.code == "order_not_payable"


def _paid_order(sandbox, actor, customer, goods, *lines) -> Order:
    invoice = paid_invoice(sandbox, actor, customer, lines or [(goods["boxed"], 1), (goods["boxed"], 2)])
    return Order.objects.get(invoice=invoice)


def test_fulfil_line_by_line(sandbox, actor, customer, goods):
    order = _paid_order(sandbox, actor, customer, goods)
    first, second = order.lines.order_by("position")
    order = services.order_fulfill(tenant=sandbox, actor=actor, order=order, line_ids=[first.pk], status="shipped",
                                   carrier="Royal Mail", tracking_number="RM123")
    first.refresh_from_db()
    assert (order.status, first.fulfillment_status, first.carrier, first.tracking_number) == (
        "partially_fulfilled", "shipped", "Royal Mail", "RM123")
    assert first.shipped_at and order.tracking_number == "RM123"
    events = Event.objects.count()  # the same call again (a retry) changes nothing
    services.order_fulfill(tenant=sandbox, actor=actor, order=order, line_ids=[first.pk], status="shipped",
                           carrier="Royal Mail", tracking_number="RM123")
    assert Event.objects.count() == events
    order = services.order_fulfill(tenant=sandbox, actor=actor, order=order, status="delivered")
    assert order.status == "fulfilled" and order.fulfilled_at
    assert set(order.lines.values_list("fulfillment_status", flat=True)) == {"delivered"}
    assert Event.objects.filter(type="order.partially_fulfilled", object_id=order.pk).count() == 1
    assert Event.objects.filter(type="order.fulfilled", object_id=order.pk).count() == 1
    with pytest.raises(BusinessRuleViolation):
        services.order_fulfill(tenant=sandbox, actor=actor, order=order)


def test_a_delivered_line_cannot_be_shipped_again(sandbox, actor, customer, goods):
    order = _paid_order(sandbox, actor, customer, goods)
    first, _ = order.lines.order_by("position")
    services.order_fulfill(tenant=sandbox, actor=actor, order=order, line_ids=[first.pk], status="delivered")
    with pytest.raises(InvalidTransition):
        services.order_fulfill(tenant=sandbox, actor=actor, order=order, line_ids=[first.pk], status="shipped")
    with pytest.raises(NotFound):
        services.order_fulfill(tenant=sandbox, actor=actor, order=order, line_ids=["orl_nope"])
    with pytest.raises(ValidationFailed):
        services.order_fulfill(tenant=sandbox, actor=actor, order=order, status="lost")


def test_an_unpaid_order_is_not_fulfilled(sandbox, actor, customer, goods):
    order = services.order_create(tenant=sandbox, actor=actor, customer=customer,
                                  line_items=[services.OrderLineInput(price=goods["boxed"])])
    with pytest.raises(BusinessRuleViolation) as error:
        services.order_fulfill(tenant=sandbox, actor=actor, order=order)
    assert error.value.code == "order_not_fulfillable"


def test_cancel_a_pending_order_voids_its_open_invoice(sandbox, actor, customer, goods):
    order = services.order_create(tenant=sandbox, actor=actor, customer=customer,
                                  line_items=[services.OrderLineInput(price=goods["boxed"])])
    invoice = services.orders._invoice_for_order(Order.objects.get(pk=order.pk), tenant=sandbox, actor=actor,
                                                 request_id="")
    order = services.order_cancel(tenant=sandbox, actor=actor, order=Order.objects.get(pk=order.pk),
                                  reason="Changed mind")
    assert (order.status, order.cancel_reason) == ("canceled", "Changed mind") and order.canceled_at
    assert Invoice.objects.get(pk=invoice.pk).status == "voided"
    with pytest.raises(BusinessRuleViolation):
        services.order_pay(tenant=sandbox, actor=actor, order=order)
    with pytest.raises(BusinessRuleViolation):
        services.order_cancel(tenant=sandbox, actor=actor, order=order)


def test_cancel_a_paid_order_moves_no_money(sandbox, actor, customer, goods):
    order = _paid_order(sandbox, actor, customer, goods)
    order = services.order_cancel(tenant=sandbox, actor=actor, order=order)
    assert order.status == "canceled"
    invoice = Invoice.objects.get(pk=order.invoice_id)
    assert (invoice.status, invoice.amount_paid_minor, invoice.amount_credited_minor) == ("paid", 12_000, 0)


def test_a_shipped_order_cannot_be_canceled(sandbox, actor, customer, goods):
    order = _paid_order(sandbox, actor, customer, goods)
    services.order_fulfill(tenant=sandbox, actor=actor, order=order, line_ids=[order.lines.first().pk])
    with pytest.raises(BusinessRuleViolation) as error:
        services.order_cancel(tenant=sandbox, actor=actor, order=Order.objects.get(pk=order.pk))
    assert error.value.code == "order_not_cancelable"
    assert Order.objects.get(pk=order.pk).status == "partially_fulfilled"


def test_update_rules(sandbox, actor, customer, goods):
    other = make_customer(sandbox, name="Other", currency="GBP")
    pending = services.order_create(tenant=sandbox, actor=actor, customer=customer,
                                    line_items=[services.OrderLineInput(price=goods["boxed"])])
    pending = services.order_update(tenant=sandbox, actor=actor, order=pending, changes={
        "customer": other, "notes": "Gift wrap", "shipping_address": {"line1": "2 Elm St", "country": "GB"},
        "metadata": {"ref": "A1"}})
    assert (pending.customer_id, pending.notes, pending.metadata) == (other.pk, "Gift wrap", {"ref": "A1"})
    assert Event.objects.filter(type="order.updated", object_id=pending.pk).count() == 1
    with pytest.raises(ValidationFailed):
        services.order_update(tenant=sandbox, actor=actor, order=pending, changes={"status": "paid"})
    paid = _paid_order(sandbox, actor, customer, goods)
    with pytest.raises(BusinessRuleViolation) as error:
        services.order_update(tenant=sandbox, actor=actor, order=paid, changes={"customer": other})
    assert error.value.code == "order_customer_locked"
    services.order_fulfill(tenant=sandbox, actor=actor, order=paid, status="delivered")
    with pytest.raises(BusinessRuleViolation):
        services.order_update(tenant=sandbox, actor=actor, order=paid, changes={"shipping_address": {"line1": "x"}})
    done = services.order_update(tenant=sandbox, actor=actor, order=paid, changes={"notes": "Left at door"})
    assert done.notes == "Left at door"

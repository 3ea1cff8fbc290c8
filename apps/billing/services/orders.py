"""Orders (page 024): created when a paid invoice holds physical or digital items (one per invoice:
the OneToOne on Order.invoice makes a second creation a no-op), plus the API/dashboard operations.
Digital lines are delivered at once by granting the product's benefits; physical lines wait for
shipping (carrier and tracking number) and delivery."""
from __future__ import annotations

from apps.catalog.models import FulfillmentType
from apps.core.actors import Actor
from apps.core.clock import now
from apps.core.events import emit_event
from apps.core.tenancy import Tenant

from ..models import Invoice, Order, OrderLine
from ..payloads import order_payload

FULFILLABLE = (FulfillmentType.PHYSICAL, FulfillmentType.DIGITAL)


def _tenant_of(obj) -> Tenant:
    return Tenant(merchant=obj.merchant, livemode=obj.livemode)


def emit_order(order: Order, type: str, actor: Actor, request_id: str = "", previous: dict | None = None) -> None:
    emit_event(tenant=_tenant_of(order), type=type, data=order_payload(order), actor=actor, request_id=request_id,
               previous_attributes=previous)


def order_create_for_paid_invoice(*, invoice: Invoice, actor: Actor, request_id: str = "") -> Order | None:
    """Called in the transaction that marks `invoice` paid. None when nothing needs fulfilment."""
    lines = [line for line in invoice.lines.select_related("product").order_by("position", "id")
             if line.product is not None and line.product.fulfillment_type in FULFILLABLE]
    if not lines:
        return None
    existing = Order.objects.filter(invoice=invoice).first()
    if existing is not None:
        return existing
    tenant = _tenant_of(invoice)
    order = Order.objects.create(
        merchant=tenant.merchant, livemode=tenant.livemode, customer=invoice.customer, invoice=invoice,
        subscription_id=invoice.subscription_id, status=Order.Status.PAID, currency=invoice.currency,
        subtotal_minor=invoice.subtotal_minor, discount_minor=invoice.discount_minor, tax_minor=invoice.tax_minor,
        total_minor=invoice.total_minor, amount_paid_minor=invoice.amount_paid_minor, discount=invoice.discount,
        shipping_address=invoice.customer_shipping or invoice.customer.shipping_address, paid_at=invoice.paid_at or now())
    OrderLine.objects.bulk_create([
        OrderLine(merchant=tenant.merchant, livemode=tenant.livemode, order=order, position=i, product=line.product,
                  price=line.price, invoice_line=line, description=line.description, quantity=line.quantity,
                  amount_minor=line.amount_minor - line.discount_minor, fulfillment_type=line.product.fulfillment_type)
        for i, line in enumerate(lines)])
    emit_order(order, "order.created", actor, request_id)
    emit_order(order, "order.paid", actor, request_id)
    deliver_digital_lines(order=order, actor=actor, request_id=request_id)
    return order


def deliver_digital_lines(*, order: Order, actor: Actor, request_id: str = "") -> None:
    """Digital lines are delivered by granting the product's benefits (idempotent per benefit), then
    the order's fulfilment status follows its lines."""
    from apps.catalog.services import benefits_grant_for_purchase

    tenant = _tenant_of(order)
    delivered = False
    for line in order.lines.select_related("product").filter(fulfillment_type=FulfillmentType.DIGITAL,
                                                              fulfillment_status=OrderLine.FulfillmentStatus.PENDING):
        benefits_grant_for_purchase(tenant=tenant, customer=order.customer, product=line.product, actor=actor,
                                    source_reference=order.pk, request_id=request_id)
        OrderLine.objects.filter(pk=line.pk).update(fulfillment_status=OrderLine.FulfillmentStatus.DELIVERED,
                                                    delivered_at=now())
        delivered = True
    if delivered:
        order_refresh_fulfillment(order=order, actor=actor, request_id=request_id)


def order_refresh_fulfillment(*, order: Order, actor: Actor, request_id: str = "") -> Order:
    """paid → partially_fulfilled → fulfilled as the lines are delivered."""
    from apps.core.statemachine import transition

    statuses = list(order.lines.values_list("fulfillment_status", flat=True))
    done = sum(1 for s in statuses if s == OrderLine.FulfillmentStatus.DELIVERED)
    target = None
    if statuses and done == len(statuses):
        target = Order.Status.FULFILLED
    elif done or any(s == OrderLine.FulfillmentStatus.SHIPPED for s in statuses):
        target = Order.Status.PARTIALLY_FULFILLED
    if target and target != order.status and Order.STATE_MACHINE.can(order.status, target):
        extra = {"fulfilled_at": now()} if target == Order.Status.FULFILLED else {}
        transition(order, target, actor=actor, reason="fulfilment", extra_updates=extra)
        emit_order(order, f"order.{target}", actor, request_id)
    return order



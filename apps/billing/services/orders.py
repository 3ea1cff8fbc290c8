"""Orders (page 024): what must be fulfilled.

Two ways in:
- A paid invoice holding physical or digital items creates its order (`order_create_for_paid_invoice`,
  called in the transaction that marks the invoice paid; one per invoice by the OneToOne on
  Order.invoice, so a second call is a no-op).
- The API/dashboard creates an order for a customer (`order_create`, status `pending`). It is paid by
  `order_pay`, which creates and finalizes an invoice for it (linked by Order.invoice, each invoice line
  to its order line) and charges that invoice; when the invoice is paid the same hook finds the linked
  order and marks it paid instead of creating a second one.

Digital lines (and service lines, which have nothing to ship) are delivered as soon as the order is
paid by granting the product's benefits; physical lines are shipped (carrier, tracking number) and
delivered by `order_fulfill`. The order follows its lines: paid → partially_fulfilled → fulfilled.

Canceling never moves money: an unpaid invoice of the order is voided, money already paid goes back
through a credit note on the order's invoice.

Lock order: invoice row before order row (the payment path holds the invoice's lock when it reaches
the order), so cancel and payment never deadlock.
"""
from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from apps.catalog.models import FulfillmentType, Price, PricingModel
from apps.core.actors import Actor
from apps.core.clock import now
from apps.core.errors import BusinessRuleViolation, Conflict, NotFound, ValidationFailed
from apps.core.events import emit_event
from apps.core.statemachine import transition
from apps.core.tenancy import Tenant

from ..models import Invoice, InvoiceLine, Order, OrderLine
from ..payloads import order_payload

FULFILLABLE = (FulfillmentType.PHYSICAL, FulfillmentType.DIGITAL)
MAX_ORDER_LINES = 100
PAYABLE_ORDER_STATUSES = (Order.Status.PENDING, Order.Status.PARTIALLY_PAID)
CANCELABLE_ORDER_STATUSES = (Order.Status.DRAFT, Order.Status.PENDING, Order.Status.PARTIALLY_PAID,
                             Order.Status.PAID)
FULFILLABLE_ORDER_STATUSES = (Order.Status.PAID, Order.Status.PARTIALLY_FULFILLED)
CLOSED_ORDER_STATUSES = (Order.Status.CANCELED, Order.Status.REFUNDED)


def _tenant_of(obj) -> Tenant:
    return Tenant(merchant=obj.merchant, livemode=obj.livemode)


def _same_tenant(obj, tenant: Tenant) -> bool:
    return obj is not None and obj.merchant_id == tenant.merchant.pk and obj.livemode == tenant.livemode


def _raise(errors: dict[str, list[str]]) -> None:
    if errors:
        raise ValidationFailed(next(f"{k}: {v[0]}" for k, v in errors.items()), fields=errors)


def emit_order(order: Order, type: str, actor: Actor, request_id: str = "", previous: dict | None = None) -> None:
    emit_event(tenant=_tenant_of(order), type=type, data=order_payload(order), actor=actor, request_id=request_id,
               previous_attributes=previous)


def _lock_order(order: Order) -> Order:
    return Order.objects.select_for_update(of=("self",)).select_related("merchant", "customer").get(pk=order.pk)


def order_create_for_paid_invoice(*, invoice: Invoice, actor: Actor, request_id: str = "") -> Order | None:
    """Called in the transaction that marks `invoice` paid. An order already linked to the invoice (an
    API order paid through `order_pay`) is marked paid; otherwise an order is created when the invoice
    holds physical or digital items. None when nothing needs fulfilment."""
    existing = Order.objects.select_for_update(of=("self",)).select_related("merchant", "customer") \
        .filter(invoice=invoice).first()
    if existing is not None:
        return _order_mark_paid(existing, invoice=invoice, actor=actor, request_id=request_id)
    lines = [line for line in invoice.lines.select_related("product").order_by("position", "id")
             if line.product is not None and line.product.fulfillment_type in FULFILLABLE]
    if not lines:
        return None
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


def _order_mark_paid(order: Order, *, invoice: Invoice, actor: Actor, request_id: str) -> Order:
    """pending|partially_paid → paid once its invoice is paid (idempotent: a paid order is returned).
    A canceled order stays canceled: the money goes back through a credit note on the invoice."""
    if order.status not in PAYABLE_ORDER_STATUSES:
        return order
    previous = {"status": order.status, "amount_paid_minor": order.amount_paid_minor}
    transition(order, Order.Status.PAID, actor=actor, reason=f"invoice {invoice.number or invoice.pk} paid",
               extra_updates={"paid_at": invoice.paid_at or now(), "amount_paid_minor": invoice.amount_paid_minor,
                              "subtotal_minor": invoice.subtotal_minor, "discount_minor": invoice.discount_minor,
                              "tax_minor": invoice.tax_minor, "total_minor": invoice.total_minor})
    emit_order(order, "order.paid", actor, request_id, previous=previous)
    deliver_digital_lines(order=order, actor=actor, request_id=request_id)
    return order


def deliver_digital_lines(*, order: Order, actor: Actor, request_id: str = "") -> None:
    """Digital lines are delivered by granting the product's benefits (idempotent per benefit); service
    lines (nothing to ship) the same way. Then the order's fulfilment status follows its lines."""
    from apps.catalog.services import benefits_grant_for_purchase

    tenant = _tenant_of(order)
    delivered = False
    pending = (OrderLine.FulfillmentStatus.PENDING, OrderLine.FulfillmentStatus.FAILED)
    for line in order.lines.select_related("product").exclude(fulfillment_type=FulfillmentType.PHYSICAL) \
            .filter(fulfillment_status__in=pending).order_by("position", "id"):
        if line.product is not None:
            benefits_grant_for_purchase(tenant=tenant, customer=order.customer, product=line.product, actor=actor,
                                        source_reference=order.pk, request_id=request_id)
        OrderLine.objects.filter(pk=line.pk, fulfillment_status=line.fulfillment_status).update(
            fulfillment_status=OrderLine.FulfillmentStatus.DELIVERED, delivered_at=now())
        delivered = True
    if delivered:
        order_refresh_fulfillment(order=order, actor=actor, request_id=request_id)


def order_refresh_fulfillment(*, order: Order, actor: Actor, request_id: str = "") -> Order:
    """paid → partially_fulfilled → fulfilled as the lines are shipped and delivered."""
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


# --- API / dashboard orders --------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class OrderLineInput:
    """One line of an order: a one-time price of the merchant's and a quantity."""

    price: Price
    quantity: int = 1


@dataclass(frozen=True)
class _TotalsLine:
    amount_minor: int
    tax_rate: object = None
    tax_exempt: bool = False


def _clean_shipping(value, errors: dict, name: str = "shipping_address") -> dict | None:
    if value is None:
        return None
    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
        errors[name] = ["must be an address object (line1, city, state, postal_code, country)"]
        return None
    if not all(v is None or isinstance(v, str) for v in value.values()):
        errors[name] = ["address fields must be strings"]
        return None
    return {k: v for k, v in value.items() if v not in (None, "")}


def _clean_metadata(value, errors: dict) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        errors["metadata"] = ["must map strings to strings"]
        return {}
    return dict(value)


def order_create(*, tenant: Tenant, actor: Actor, customer, line_items: list[OrderLineInput], currency: str | None = None,
                 discount=None, shipping_address: dict | None = None, notes: str = "", metadata: dict | None = None,
                 request_id: str = "") -> Order:
    """A `pending` order of one-time prices, priced like the invoice `order_pay` will issue for it (same
    line maths, discount allocation and tax). Recurring prices are sold through subscriptions and
    pay-what-you-want prices through checkout, so both are refused here."""
    from .invoices import LineInput, _line_fields, compute_totals

    if not _same_tenant(customer, tenant) or customer.deleted_at is not None:
        raise NotFound(f"No such customer: '{getattr(customer, 'pk', customer)}'", param="customer_id")
    if discount is not None and not _same_tenant(discount, tenant):
        raise NotFound(f"No such discount: '{discount.pk}'", param="discount_id")
    errors: dict[str, list[str]] = {}
    line_items = list(line_items or [])
    if not line_items:
        errors["line_items"] = ["must contain at least one line"]
    elif len(line_items) > MAX_ORDER_LINES:
        errors["line_items"] = [f"at most {MAX_ORDER_LINES} lines"]
    shipping = _clean_shipping(shipping_address, errors)
    metadata = _clean_metadata(metadata, errors)
    if not isinstance(notes, str):
        errors["notes"] = ["must be a string"]
    _raise(errors)
    for i, item in enumerate(line_items):
        price = item.price
        if not _same_tenant(price, tenant):
            raise NotFound(f"No such price: '{price.pk}'", param=f"line_items[{i}].price_id")
        if price.is_recurring:
            errors[f"line_items[{i}].price_id"] = ["is recurring; sell it through a subscription"]
        elif price.pricing_model == PricingModel.PAY_WHAT_YOU_WANT:
            errors[f"line_items[{i}].price_id"] = ["is pay-what-you-want; sell it through checkout"]
        elif not price.active:
            errors[f"line_items[{i}].price_id"] = ["is archived"]
    _raise(errors)
    currency = (currency or line_items[0].price.currency).upper()
    rows = [_line_fields(tenant, currency, LineInput(price=item.price, quantity=item.quantity),
                         path=f"line_items[{i}]") for i, item in enumerate(line_items)]
    totals = compute_totals(tenant=tenant, customer=customer, currency=currency, discount=discount,
                            lines=[_TotalsLine(amount_minor=row["amount_minor"]) for row in rows])
    with transaction.atomic():
        order = Order.objects.create(
            merchant=tenant.merchant, livemode=tenant.livemode, customer=customer, status=Order.Status.PENDING,
            currency=currency, subtotal_minor=totals.subtotal, discount_minor=totals.discount,
            tax_minor=totals.tax, total_minor=totals.total, discount=discount,
            shipping_address=shipping if shipping is not None else customer.shipping_address,
            notes=notes[:5000], metadata=metadata)
        OrderLine.objects.bulk_create([
            OrderLine(merchant=tenant.merchant, livemode=tenant.livemode, order=order, position=i,
                      product=row["product"], price=row["price"], description=row["description"],
                      quantity=row["quantity"], amount_minor=row["amount_minor"] - line_discount,
                      fulfillment_type=row["product"].fulfillment_type)
            for i, (row, line_discount) in enumerate(zip(rows, totals.line_discounts, strict=True))])
        emit_order(order, "order.created", actor, request_id)
    return order


ORDER_UPDATE_FIELDS = ("customer", "shipping_address", "notes", "metadata", "carrier", "tracking_number")


def order_update(*, tenant: Tenant, actor: Actor, order: Order, changes: dict, request_id: str = "") -> Order:
    """Notes and metadata change at any time; the shipping address, carrier and tracking number until the
    order is fulfilled or closed; the customer only while the order is unpaid and has no invoice yet."""
    unknown = set(changes) - set(ORDER_UPDATE_FIELDS)
    if unknown:
        raise ValidationFailed(f"Unknown fields: {', '.join(sorted(unknown))}",
                               fields={name: ["is not a field you can change"] for name in sorted(unknown)})
    errors: dict[str, list[str]] = {}
    cleaned = dict(changes)
    if "shipping_address" in changes:
        cleaned["shipping_address"] = _clean_shipping(changes["shipping_address"], errors)
    if "metadata" in changes:
        cleaned["metadata"] = _clean_metadata(changes["metadata"], errors)
    for name, limit in (("notes", 5000), ("carrier", 60), ("tracking_number", 100)):
        if name in changes:
            value = changes[name] if changes[name] is not None else ""
            if not isinstance(value, str) or len(value) > limit:
                errors[name] = [f"must be a string of at most {limit} characters"]
            cleaned[name] = value
    if "customer" in changes and (not _same_tenant(changes["customer"], tenant) or changes["customer"].deleted_at):
        raise NotFound("No such customer", param="customer_id")
    _raise(errors)
    with transaction.atomic():
        locked = _lock_order(order)
        if "customer" in cleaned and cleaned["customer"].pk != locked.customer_id and (
                locked.status not in (Order.Status.DRAFT, Order.Status.PENDING) or locked.invoice_id):
            raise BusinessRuleViolation("The customer of an order changes only before it is invoiced or paid.",
                                        code="order_customer_locked", param="customer_id")
        shipping_fields = {"shipping_address", "carrier", "tracking_number"} & set(cleaned)
        if shipping_fields and locked.status in (Order.Status.FULFILLED, *CLOSED_ORDER_STATUSES):
            raise BusinessRuleViolation(f"An order that is {locked.status} keeps its shipping details.",
                                        code="order_not_editable", param=sorted(shipping_fields)[0])
        previous = {}
        for name, value in cleaned.items():
            old = getattr(locked, name)
            if old != value:
                previous[name if name != "customer" else "customer_id"] = old.pk if name == "customer" else old
                setattr(locked, name, value)
        if not previous:
            return locked
        locked.updated_at = now()
        locked.save(update_fields=[*cleaned, "updated_at"])
        emit_order(locked, "order.updated", actor, request_id, previous=previous)
    return locked


@dataclass(frozen=True)
class OrderPayResult:
    order: Order
    invoice: Invoice
    payment: object | None  # payments.Payment; None when nothing was owed (a 100 % discount)


def _invoice_for_order(order: Order, *, tenant: Tenant, actor: Actor, request_id: str) -> Invoice:
    """Creates the order's invoice (lines from its lines, its discount), links both, and finalizes it.
    Runs under the order's lock. The invoice is a purchase, not a merchant-drafted bill, so it takes
    the `checkout` source: it needs no approval and is charged at once."""
    from .invoices import LineInput, invoice_create, invoice_finalize

    lines = list(order.lines.select_related("price", "price__product").order_by("position", "id"))
    invoice = invoice_create(
        tenant=tenant, actor=actor, customer=order.customer, currency=order.currency, discount=order.discount,
        lines=[LineInput(price=line.price, quantity=line.quantity, description=line.description,
                         source_type=InvoiceLine.SourceType.ORDER_LINE_ITEM, source_id=line.pk) for line in lines],
        description=f"Order {order.pk}", days_until_due=0, metadata={"order_id": order.pk},
        source=Invoice.Source.CHECKOUT, collection_method=Invoice.CollectionMethod.CHARGE_AUTOMATICALLY,
        request_id=request_id)
    invoice_lines = {line.source_id: line.pk for line in invoice.lines.all()}
    for line in lines:
        OrderLine.objects.filter(pk=line.pk).update(invoice_line_id=invoice_lines[line.pk])
    Order.objects.filter(pk=order.pk).update(invoice=invoice, updated_at=now())
    order.invoice = invoice
    return invoice_finalize(tenant=tenant, actor=actor, invoice=invoice, request_id=request_id)


def order_pay(*, tenant: Tenant, actor: Actor, order: Order, payment_method=None, payment_token: str = "",
              request_id: str = "") -> OrderPayResult:
    """Pays a pending order: creates and finalizes its invoice the first time (a retry after a decline
    reuses it), then charges what the invoice still owes to `payment_method`, a one-time token or the
    customer's default card. The invoice's payment marks the order paid (same transaction). A decline
    raises PaymentDeclined and leaves the order pending with its open invoice."""
    from .invoices import PAYABLE_STATUSES, invoice_pay

    with transaction.atomic():
        locked = _lock_order(order)
        if locked.status not in PAYABLE_ORDER_STATUSES:
            raise BusinessRuleViolation(f"An order that is {locked.status} cannot be paid.", code="order_not_payable")
        invoice = locked.invoice
        if invoice is None:
            invoice = _invoice_for_order(locked, tenant=tenant, actor=actor, request_id=request_id)
        elif invoice.status == "draft":
            from .invoices import invoice_finalize

            invoice = invoice_finalize(tenant=tenant, actor=actor, invoice=invoice, request_id=request_id)
    if invoice.status == "paid":  # nothing was owed: finalizing paid it and the hook marked the order paid
        return OrderPayResult(order=Order.objects.get(pk=locked.pk), invoice=invoice, payment=None)
    if invoice.status not in PAYABLE_STATUSES:
        raise BusinessRuleViolation(f"The order's invoice is {invoice.status} and cannot be paid.",
                                    code="order_not_payable")
    result = invoice_pay(tenant=tenant, actor=actor, invoice=invoice, payment_method=payment_method,
                         payment_token=payment_token, request_id=request_id)
    return OrderPayResult(order=Order.objects.get(pk=locked.pk), invoice=result.invoice, payment=result.payment)


FULFILL_TARGETS = (OrderLine.FulfillmentStatus.SHIPPED, OrderLine.FulfillmentStatus.DELIVERED)


def order_fulfill(*, tenant: Tenant, actor: Actor, order: Order, line_ids: list[str] | None = None,
                  status: str = OrderLine.FulfillmentStatus.SHIPPED, carrier: str = "", tracking_number: str = "",
                  request_id: str = "") -> Order:
    """Ships or delivers physical lines: the given `line_ids`, or every physical line not yet delivered.
    A line moves pending → shipped → delivered (or straight to delivered); a named line already in the
    target status is left as it is (a retry changes nothing), a backwards move is refused. Digital lines
    are delivered by their benefits: naming one that failed retries the grant."""
    errors: dict[str, list[str]] = {}
    if status not in FULFILL_TARGETS:
        errors["status"] = [f"must be one of {', '.join(FULFILL_TARGETS)}"]
    if line_ids is not None and (not isinstance(line_ids, list) or not all(isinstance(x, str) for x in line_ids)):
        errors["line_ids"] = ["must be a list of order line ids"]
    for name, value, limit in (("carrier", carrier, 60), ("tracking_number", tracking_number, 100)):
        if not isinstance(value, str) or len(value) > limit:
            errors[name] = [f"must be a string of at most {limit} characters"]
    _raise(errors)
    with transaction.atomic():
        locked = _lock_order(order)
        if locked.status not in FULFILLABLE_ORDER_STATUSES:
            reason = "is not paid yet" if locked.status in (*PAYABLE_ORDER_STATUSES, Order.Status.DRAFT) \
                else f"is {locked.status}"
            raise BusinessRuleViolation(f"This order {reason}; only a paid order is fulfilled.",
                                        code="order_not_fulfillable")
        lines = list(OrderLine.objects.select_for_update().filter(order=locked).order_by("position", "id"))
        if line_ids:
            by_id = {line.pk: line for line in lines}
            missing = [x for x in line_ids if x not in by_id]
            if missing:
                raise NotFound(f"No such line on this order: '{missing[0]}'", param="line_ids")
            chosen = [by_id[x] for x in dict.fromkeys(line_ids)]
        else:
            chosen = [line for line in lines if line.fulfillment_type == FulfillmentType.PHYSICAL
                      and line.fulfillment_status != OrderLine.FulfillmentStatus.DELIVERED]
            if not chosen:
                raise BusinessRuleViolation("Every physical line of this order is delivered already.",
                                            code="order_nothing_to_fulfill")
        at = now()
        changed = False
        for line in chosen:
            if line.fulfillment_type != FulfillmentType.PHYSICAL:
                continue  # delivered by deliver_digital_lines below
            current = line.fulfillment_status
            updates: dict = {}
            if current != status:
                OrderLine.FULFILLMENT_MACHINE.check(current, status, label=f"order line {line.pk}")
                updates["fulfillment_status"] = status
                updates["shipped_at" if status == OrderLine.FulfillmentStatus.SHIPPED else "delivered_at"] = at
            if carrier and carrier != line.carrier:
                updates["carrier"] = carrier
            if tracking_number and tracking_number != line.tracking_number:
                updates["tracking_number"] = tracking_number
            if updates:
                if not OrderLine.objects.filter(pk=line.pk, fulfillment_status=current).update(**updates):
                    raise Conflict("The order changed while this request was running; reload and try again.")
                changed = True
        previous = {"status": locked.status}
        order_updates = {name: value for name, value in (("carrier", carrier), ("tracking_number", tracking_number))
                         if value and getattr(locked, name) != value}
        if order_updates:
            Order.objects.filter(pk=locked.pk).update(**order_updates, updated_at=at)
            for name, value in order_updates.items():
                setattr(locked, name, value)
        if any(line.fulfillment_type != FulfillmentType.PHYSICAL for line in chosen):
            deliver_digital_lines(order=locked, actor=actor, request_id=request_id)
        order_refresh_fulfillment(order=locked, actor=actor, request_id=request_id)
        if (changed or order_updates) and locked.status == previous["status"]:
            emit_order(locked, "order.updated", actor, request_id, previous=previous)
    return Order.objects.get(pk=locked.pk)


def order_cancel(*, tenant: Tenant, actor: Actor, order: Order, reason: str = "", request_id: str = "") -> Order:
    """Cancels an order before anything is shipped or delivered: draft, pending, partially paid or paid.
    No money moves: an open unpaid invoice of the order is voided; what was already paid goes back only
    through a credit note on the order's invoice (the merchant decides: refund or customer balance)."""
    from .invoices import invoice_void

    if not isinstance(reason, str) or len(reason) > 500:
        raise ValidationFailed("reason: must be a string of at most 500 characters",
                               fields={"reason": ["must be a string of at most 500 characters"]})
    with transaction.atomic():
        invoice = None
        if order.invoice_id:  # the invoice's lock first (see the module docstring)
            invoice = Invoice.objects.select_for_update(of=("self",)).get(pk=order.invoice_id)
        locked = _lock_order(order)
        if locked.status not in CANCELABLE_ORDER_STATUSES:
            raise BusinessRuleViolation(
                f"An order that is {locked.status} cannot be canceled"
                + ("; issue a credit note on its invoice to give money back." if locked.status in (
                    Order.Status.PARTIALLY_FULFILLED, Order.Status.FULFILLED) else "."),
                code="order_not_cancelable")
        if locked.lines.exclude(fulfillment_status=OrderLine.FulfillmentStatus.PENDING).exists():
            raise BusinessRuleViolation("Part of this order is shipped or delivered; it cannot be canceled.",
                                        code="order_not_cancelable")
        if invoice is not None:
            from apps.payments.models import Payment

            if Payment.objects.filter(invoice_id=invoice.pk, status__in=("pending", "requires_action")).exists():
                raise Conflict("A payment for this order is in progress; wait for its outcome.",
                               code="order_payment_in_progress")
            if invoice.status in ("approved", "sent", "overdue") and invoice.amount_paid_minor == 0:
                invoice_void(tenant=tenant, actor=actor, invoice=invoice, reason=f"order {locked.pk} canceled",
                             request_id=request_id)
        previous = {"status": locked.status}
        transition(locked, Order.Status.CANCELED, actor=actor, reason=reason or "canceled",
                   extra_updates={"canceled_at": now(), "cancel_reason": reason})
        emit_order(locked, "order.canceled", actor, request_id, previous=previous)
    return locked

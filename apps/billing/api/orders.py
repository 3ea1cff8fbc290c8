"""/v2/orders (API 234–240) and GET /v2/customers/{id}/orders.

An API order is created `pending` ({customer_id, currency?, line_items: [{price_id, quantity}], discount_id?,
shipping_address?, notes?, metadata?}; one-time prices only). POST /orders/{id}/pay creates and finalizes
its invoice and charges it (the customer's default card, `payment_method_id`, or `payment_token`); the
invoice's payment marks the order paid and delivers its digital lines (benefits). A decline is 402
payment_declined and the order stays pending with its invoice, so paying again reuses it.

POST /orders/{id}/fulfill {line_ids?, status: shipped|delivered, carrier?, tracking_number?} ships or
delivers physical lines (all not yet delivered when line_ids is omitted); the order goes paid →
partially_fulfilled → fulfilled. POST /orders/{id}/cancel {reason?} cancels an order nothing of which is
shipped: an unpaid invoice is voided; money already paid is not moved — give it back with a credit note on
the order's invoice.
"""
from __future__ import annotations

from django.urls import path
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers

from apps.catalog import selectors as catalog_selectors
from apps.core.api.views import ApiView
from apps.core.errors import NotFound, ValidationFailed
from apps.core.ids import looks_like_id
from apps.payments.payloads import payment_payload

from .. import selectors, services
from ..models import Order
from ..payloads import order_payload
from .inputs import (
    MAX_LINE_TOTAL,
    MAX_QUANTITY,
    Errors,
    aliased,
    body_of,
    currency_field,
    customer_of,
    id_field,
    int_field,
    metadata_field,
    param,
    query_datetime,
    raise_errors,
    request_id,
    str_field,
)

CREATE_FIELDS = {"customer_id", "currency", "line_items", "discount_id", "shipping_address", "notes", "metadata"}
CREATE_ALIASES = {"customerId": "customer_id", "customer": "customer_id", "lineItems": "line_items",
                  "lines": "line_items", "discountId": "discount_id", "shippingAddress": "shipping_address",
                  "note": "notes"}
LINE_ALIASES = {"priceId": "price_id", "price": "price_id"}
UPDATE_FIELDS = {"customer_id", "shipping_address", "notes", "metadata", "carrier", "tracking_number"}
UPDATE_ALIASES = {"customerId": "customer_id", "customer": "customer_id", "shippingAddress": "shipping_address",
                  "note": "notes", "trackingNumber": "tracking_number"}
FULFILL_FIELDS = {"line_ids", "status", "carrier", "tracking_number"}
FULFILL_ALIASES = {"lineIds": "line_ids", "line_item_ids": "line_ids", "trackingNumber": "tracking_number"}
PAY_FIELDS = {"payment_method_id", "payment_method", "payment_token"}
PAY_ALIASES = {"paymentMethodId": "payment_method_id", "paymentMethod": "payment_method",
               "paymentToken": "payment_token", "payment_method_token": "payment_token"}
ADDRESS_ALIASES = {"postalCode": "postal_code", "addressLine1": "line1", "addressLine2": "line2"}

_one = inline_serializer(name="OrderResponse", fields={"data": serializers.DictField()})
_many = inline_serializer(name="OrderList", fields={"data": serializers.ListField(),
                                                    "pagination": serializers.DictField()})
_list_params = [OpenApiParameter(name, str) for name in (
    "status", "customer_id", "created[gte]", "created[lte]", "search", "limit", "offset", "starting_after",
    "ending_before")]


def _order(view: ApiView, order_id: str) -> Order:
    return selectors.order_get(tenant=view.tenant, order_id=order_id)


def _answer(view: ApiView, order: Order, *, status: int = 200, **extra):
    fresh = selectors.order_get(tenant=view.tenant, order_id=order.pk)
    return view.respond({**order_payload(fresh), **extra}, status=status)


def _address(data: dict):
    value = data.get("shipping_address")
    if isinstance(value, dict):
        value = dict(value)
        for alias, name in ADDRESS_ALIASES.items():
            if alias in value and name not in value:
                value[name] = value.pop(alias)
    return value


def order_filters(params) -> dict:
    return {"status": param(params, "status"),
            "created_from": query_datetime(params, "created[gte]", "created_after", "createdAfter", "created_from"),
            "created_to": query_datetime(params, "created[lte]", "created_before", "createdBefore", "created_to"),
            "search": param(params, "search", "q")}


class OrderListCreateApi(ApiView):
    operation_ids = {"get": "orders_list", "post": "orders_create"}

    @extend_schema(parameters=_list_params, responses={200: _many}, summary="List orders",
                   description="Newest first; filter by status (comma-separated), customer and creation dates.")
    def get(self, request):
        params = request.query_params
        qs = selectors.order_list(tenant=self.tenant, customer_id=param(params, "customer_id", "customer", "customerId"),
                                  **order_filters(params))
        return self.respond_list(qs, order_payload)

    @extend_schema(request=inline_serializer(name="OrderCreateInput", fields={
        "customer_id": serializers.CharField(help_text="Alias: customerId"),
        "currency": serializers.CharField(required=False),
        "line_items": serializers.ListField(child=serializers.DictField(), help_text="[{price_id, quantity}]"),
        "discount_id": serializers.CharField(required=False),
        "shipping_address": serializers.DictField(required=False),
        "notes": serializers.CharField(required=False), "metadata": serializers.DictField(required=False)}),
        responses={201: _one}, summary="Create an order",
        description="A pending order of one-time prices; pay it with POST /v2/orders/{id}/pay.")
    def post(self, request):
        data = body_of(request, CREATE_FIELDS, CREATE_ALIASES)
        errors: Errors = {}
        customer_id = id_field(data, "customer_id", errors)
        if customer_id is None and "customer_id" not in errors:
            errors["customer_id"] = ["is required"]
        currency = currency_field(data, errors)
        notes = str_field(data, "notes", errors, limit=5000) or ""
        metadata = metadata_field(data, errors)
        raw_lines = data.get("line_items")
        if not isinstance(raw_lines, list) or not raw_lines:
            errors["line_items"] = ["must be a non-empty list of {price_id, quantity}"]
            raw_lines = []
        raise_errors(errors)
        customer = customer_of(self.tenant, customer_id)
        discount_id = id_field(data, "discount_id", errors)
        discount = catalog_selectors.discount_get(tenant=self.tenant, discount_id=discount_id) if discount_id else None
        items = []
        for i, raw in enumerate(raw_lines):
            path_ = f"line_items[{i}]"
            try:
                line = aliased(raw, {"price_id", "quantity"}, LINE_ALIASES, path=path_)
            except ValidationFailed as exc:
                errors.update(exc.fields)
                continue
            price_id = id_field(line, "price_id", errors, path=path_)
            quantity = int_field(line, "quantity", errors, path=path_, minimum=1, maximum=MAX_QUANTITY)
            if price_id is None:
                errors.setdefault(f"{path_}.price_id", ["is required"])
                continue
            try:
                price = catalog_selectors.price_get(tenant=self.tenant, price_id=price_id)
            except NotFound as exc:
                exc.param = f"{path_}.price_id"
                raise
            if abs((price.unit_amount_minor or 0) * (quantity or 1)) > MAX_LINE_TOTAL:
                errors[f"{path_}.quantity"] = [f"the line comes to more than {MAX_LINE_TOTAL} minor units"]
                continue
            items.append(services.OrderLineInput(price=price, quantity=quantity or 1))
        raise_errors(errors)
        order = services.order_create(tenant=self.tenant, actor=self.actor, customer=customer, line_items=items,
                                      currency=currency, discount=discount, shipping_address=_address(data),
                                      notes=notes, metadata=metadata, request_id=request_id(request))
        return _answer(self, order, status=201)


class OrderDetailApi(ApiView):
    operation_ids = {"get": "orders_get", "patch": "orders_update"}

    @extend_schema(responses={200: _one}, summary="Retrieve an order")
    def get(self, request, order_id):
        return self.respond(order_payload(_order(self, order_id)))

    @extend_schema(request=inline_serializer(name="OrderUpdateInput", fields={
        "customer_id": serializers.CharField(required=False),
        "shipping_address": serializers.DictField(required=False, allow_null=True),
        "notes": serializers.CharField(required=False), "metadata": serializers.DictField(required=False),
        "carrier": serializers.CharField(required=False), "tracking_number": serializers.CharField(required=False)}),
        responses={200: _one}, summary="Update an order",
        description="Notes and metadata at any time; shipping details until fulfilled; the customer only before "
                    "the order is invoiced.")
    def patch(self, request, order_id):
        order = _order(self, order_id)
        data = body_of(request, UPDATE_FIELDS, UPDATE_ALIASES)
        changes = {name: data[name] for name in ("notes", "metadata", "carrier", "tracking_number") if name in data}
        if "shipping_address" in data:
            changes["shipping_address"] = _address(data)
        if "customer_id" in data:
            errors: Errors = {}
            customer_id = id_field(data, "customer_id", errors)
            if customer_id is None:
                errors.setdefault("customer_id", ["must be a customer id"])
            raise_errors(errors)
            changes["customer"] = customer_of(self.tenant, customer_id)
        order = services.order_update(tenant=self.tenant, actor=self.actor, order=order, changes=changes,
                                      request_id=request_id(request))
        return _answer(self, order)


class OrderCancelApi(ApiView):
    operation_ids = {"post": "orders_cancel"}

    @extend_schema(request=inline_serializer(name="OrderCancelInput", fields={
        "reason": serializers.CharField(required=False)}), responses={200: _one}, summary="Cancel an order",
        description="Only before anything is shipped or delivered. Its unpaid invoice is voided; money already "
                    "paid is not moved (issue a credit note on the order's invoice).")
    def post(self, request, order_id):
        order = _order(self, order_id)
        data = body_of(request, {"reason"}, {"cancellation_reason": "reason"})
        errors: Errors = {}
        reason = str_field(data, "reason", errors) or ""
        raise_errors(errors)
        order = services.order_cancel(tenant=self.tenant, actor=self.actor, order=order, reason=reason,
                                      request_id=request_id(request))
        return _answer(self, order)


class OrderFulfillApi(ApiView):
    operation_ids = {"post": "orders_fulfill"}

    @extend_schema(request=inline_serializer(name="OrderFulfillInput", fields={
        "line_ids": serializers.ListField(child=serializers.CharField(), required=False),
        "status": serializers.ChoiceField(choices=["shipped", "delivered"], required=False, default="shipped"),
        "carrier": serializers.CharField(required=False), "tracking_number": serializers.CharField(required=False)}),
        responses={200: _one}, summary="Fulfill an order",
        description="Ships or delivers physical lines (all not yet delivered unless line_ids is given).")
    def post(self, request, order_id):
        order = _order(self, order_id)
        data = body_of(request, FULFILL_FIELDS, FULFILL_ALIASES)
        order = services.order_fulfill(
            tenant=self.tenant, actor=self.actor, order=order, line_ids=data.get("line_ids"),
            status=data.get("status") or "shipped", carrier=data.get("carrier") or "",
            tracking_number=data.get("tracking_number") or "", request_id=request_id(request))
        return _answer(self, order)


class OrderPayApi(ApiView):
    operation_ids = {"post": "orders_pay"}

    @extend_schema(request=inline_serializer(name="OrderPayInput", fields={
        "payment_method_id": serializers.CharField(required=False, help_text="Default: the customer's default card"),
        "payment_token": serializers.CharField(required=False)}),
        responses={200: _one}, summary="Pay for an order",
        description="Creates (once) and finalizes the order's invoice and charges it. 402 payment_declined on a "
                    "decline (the order stays pending).")
    def post(self, request, order_id):
        order = _order(self, order_id)
        data = body_of(request, PAY_FIELDS, PAY_ALIASES)
        errors: Errors = {}
        method_id = id_field(data, "payment_method_id", errors) or id_field(data, "payment_method", errors)
        token = id_field(data, "payment_token", errors)
        if method_id and token:
            errors["payment_token"] = ["give payment_method_id or payment_token, not both"]
        if method_id and not looks_like_id(method_id, "pm"):
            errors["payment_method_id"] = ["must be a saved payment method id (pm_…)"]
        raise_errors(errors)
        card = None
        if method_id:
            from apps.payments import selectors as payment_selectors

            card = payment_selectors.payment_method_get(tenant=self.tenant, payment_method_id=method_id)
            if card.customer_id != order.customer_id:
                raise NotFound(f"No such payment method for this customer: '{method_id}'", param="payment_method_id")
        result = services.order_pay(tenant=self.tenant, actor=self.actor, order=order, payment_method=card,
                                    payment_token=token or "", request_id=request_id(request))
        return _answer(self, result.order,
                       payment=payment_payload(result.payment) if result.payment is not None else None)


class CustomerOrdersApi(ApiView):
    operation_ids = {"get": "customers_orders_list"}

    @extend_schema(parameters=_list_params, responses={200: _many}, summary="List customer orders")
    def get(self, request, customer_id):
        customer = customer_of(self.tenant, customer_id)
        qs = selectors.order_list(tenant=self.tenant, customer_id=customer.pk, **order_filters(request.query_params))
        return self.respond_list(qs, order_payload)


urlpatterns = [
    path("orders", OrderListCreateApi.as_view(), name="orders_list"),
    path("orders/<str:order_id>", OrderDetailApi.as_view(), name="orders_get"),
    path("orders/<str:order_id>/cancel", OrderCancelApi.as_view(), name="orders_cancel"),
    path("orders/<str:order_id>/fulfill", OrderFulfillApi.as_view(), name="orders_fulfill"),
    path("orders/<str:order_id>/pay", OrderPayApi.as_view(), name="orders_pay"),
    path("customers/<str:customer_id>/orders", CustomerOrdersApi.as_view(), name="customers_orders_list"),
]

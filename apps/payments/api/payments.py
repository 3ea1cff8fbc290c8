"""/v2 payments, refunds, voids, transactions, and a customer's payments and payment methods.

Views are thin: read the body, call one service or selector, serialize with payloads.py. Bodies are
checked here strictly (unknown fields are a 400 with details.fields) before any row is written.
"""
from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers

from apps.core.api.views import ApiView
from apps.core.errors import PaymentDeclined, ValidationFailed
from apps.core.money import CurrencyError, Money, normalize_currency

from .. import selectors, services
from ..models import Payment, Refund
from ..payloads import (
    payment_method_payload,
    payment_payload,
    refund_payload,
    transaction_payload,
    void_payload,
)

PAYMENT_FIELDS = {"customer_id", "customer", "amount_minor", "amount", "currency", "payment_method_token",
                  "payment_token", "payment_method_id", "payment_method", "description", "metadata", "capture"}
REFUND_FIELDS = {"charge", "payment_id", "payment", "transaction_id", "amount_minor", "amount", "reason"}
VOID_FIELDS = {"payment_id", "payment", "charge", "transaction_id"}


def _body(request, allowed: set[str]) -> dict:
    if not isinstance(request.data, dict):
        raise ValidationFailed("The body must be a JSON object.", fields={"__all__": ["must be a JSON object"]})
    unknown = sorted(set(request.data) - allowed)
    if unknown:
        raise ValidationFailed(f"{unknown[0]}: unknown field", fields={name: ["unknown field"] for name in unknown})
    return request.data


def _request_id(request) -> str:
    return getattr(request._request, "request_id", "")


def _first(body: dict, *names):
    for name in names:
        if body.get(name) not in (None, ""):
            return name, body[name]
    return names[0], None


def _amount_minor(body: dict, fields: dict, *, required: bool):
    name, value = _first(body, "amount_minor", "amount")
    if value is None:
        if required:
            fields["amount_minor"] = ["is required"]
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        fields[name] = ["must be an integer number of minor units"]
        return None
    if value <= 0:
        fields[name] = ["must be greater than zero"]
        return None
    return value


class PaymentSerializer(serializers.Serializer):
    id = serializers.CharField()
    object = serializers.CharField(default="payment")
    amount_minor = serializers.IntegerField()
    currency = serializers.CharField()
    status = serializers.ChoiceField(choices=Payment.Status.values)
    decline_code = serializers.CharField(allow_null=True)
    action_url = serializers.CharField(allow_null=True)


class PaymentCreateInput(serializers.Serializer):
    customer_id = serializers.CharField(required=False)
    amount_minor = serializers.IntegerField(help_text="Alias: amount")
    currency = serializers.CharField(min_length=3, max_length=3)
    payment_method_token = serializers.CharField(required=False, help_text="Alias: payment_token")
    payment_method_id = serializers.CharField(required=False)
    description = serializers.CharField(required=False)
    metadata = serializers.DictField(required=False)
    capture = serializers.BooleanField(required=False, default=True)


class RefundCreateInput(serializers.Serializer):
    payment_id = serializers.CharField(required=False, help_text="Alias: charge, transaction_id")
    amount_minor = serializers.IntegerField(required=False, help_text="Alias: amount. Default: all that is left")
    reason = serializers.ChoiceField(choices=Refund.Reason.values, required=False)


class ListFilter(serializers.Serializer):
    customer_id = serializers.CharField(required=False)
    status = serializers.ChoiceField(choices=Payment.Status.values, required=False)
    created_after = serializers.DateTimeField(required=False)
    created_before = serializers.DateTimeField(required=False)


_list_params = [OpenApiParameter("limit", int), OpenApiParameter("starting_after", str),
                OpenApiParameter("ending_before", str)]
_any = inline_serializer(name="PaymentsObjectResponse", fields={"data": serializers.DictField()})
_any_list = inline_serializer(name="PaymentsObjectList", fields={"data": serializers.ListField()})


class PaymentListCreateApi(ApiView):
    operation_ids = {"get": "payments_list", "post": "payments_create"}

    @extend_schema(parameters=[ListFilter, *_list_params], responses={200: _any_list}, summary="List payments")
    def get(self, request):
        filters = ListFilter(data=request.query_params)
        filters.is_valid(raise_exception=True)
        return self.respond_list(selectors.payment_list(tenant=self.tenant, **filters.validated_data), payment_payload)

    @extend_schema(request=PaymentCreateInput, responses={201: inline_serializer(
        name="PaymentResponse", fields={"data": PaymentSerializer()})}, summary="Create a payment",
        description="Charges a card token or a saved payment method. 201 with the payment (succeeded, "
                    "requires_action with action_url, or pending when the gateway's answer was lost), or 402 "
                    "card_error/payment_declined with decline_code.")
    def post(self, request):
        body = _body(request, PAYMENT_FIELDS)
        fields: dict[str, list[str]] = {}
        amount_minor = _amount_minor(body, fields, required=True)
        currency = None
        if not body.get("currency"):
            fields["currency"] = ["is required"]
        else:
            try:
                currency = normalize_currency(str(body["currency"]))
            except CurrencyError:
                fields["currency"] = ["unknown ISO 4217 currency"]
        token_name, token = _first(body, "payment_method_token", "payment_token")
        method_name, method_id = _first(body, "payment_method_id", "payment_method")
        if bool(token) == bool(method_id):
            fields["payment_method_token"] = ["give exactly one of payment_method_token or payment_method_id"]
        elif token is not None and not isinstance(token, str):
            fields[token_name] = ["must be a string"]
        metadata = body.get("metadata")
        if metadata is not None and (not isinstance(metadata, dict)
                                     or not all(isinstance(v, str) for v in metadata.values())):
            fields["metadata"] = ["must map strings to strings"]
        description = body.get("description") or ""
        if not isinstance(description, str):
            fields["description"] = ["must be a string"]
        capture = body.get("capture", True)
        if not isinstance(capture, bool):
            fields["capture"] = ["must be true or false"]
        if fields:
            raise ValidationFailed(next(f"{k}: {v[0]}" for k, v in fields.items()), fields=fields)
        customer = None
        _, customer_id = _first(body, "customer_id", "customer")
        if customer_id:
            from apps.customers.selectors import customer_get

            customer = customer_get(tenant=self.tenant, customer_id=str(customer_id))
        payment_method = None
        if method_id:
            payment_method = selectors.payment_method_get(tenant=self.tenant, payment_method_id=str(method_id))
        payment = services.payment_create(
            tenant=self.tenant, actor=self.actor, amount=Money(amount_minor, currency), customer=customer,
            payment_method=payment_method, payment_token=token, description=description, metadata=metadata,
            capture=capture, request_id=_request_id(request))
        if payment.status == Payment.Status.FAILED and payment.decline_code:
            raise PaymentDeclined(payment.failure_message, decline_code=payment.decline_code, payment_id=payment.pk)
        return self.respond(payment_payload(payment), status=201)


class PaymentDetailApi(ApiView):
    operation_ids = {"get": "payments_get"}

    @extend_schema(responses={200: _any}, summary="Get a payment")
    def get(self, request, payment_id):
        return self.respond(payment_payload(selectors.payment_get(tenant=self.tenant, payment_id=payment_id)))


def _reversal_target(tenant, body: dict, fields: dict):
    name, object_id = _first(body, "payment_id", "charge", "payment", "transaction_id")
    if object_id is None:
        fields["payment_id"] = ["is required (or charge / transaction_id)"]
        return None
    if not isinstance(object_id, str):
        fields[name] = ["must be a string"]
        return None
    return object_id


class RefundListCreateApi(ApiView):
    operation_ids = {"get": "refunds_list", "post": "refunds_create"}

    @extend_schema(parameters=[OpenApiParameter("payment_id", str), *_list_params], responses={200: _any_list},
                   summary="List refunds")
    def get(self, request):
        return self.respond_list(selectors.refund_list(tenant=self.tenant,
                                                       payment_id=request.query_params.get("payment_id")),
                                 refund_payload)

    @extend_schema(request=RefundCreateInput, responses={201: _any}, summary="Refund a payment",
                   description="Full or partial, after settlement; never more than captured − refunded (422).")
    def post(self, request):
        body = _body(request, REFUND_FIELDS)
        fields: dict[str, list[str]] = {}
        object_id = _reversal_target(self.tenant, body, fields)
        amount_minor = _amount_minor(body, fields, required=False)
        reason = body.get("reason") or ""
        if reason and reason not in Refund.Reason.values:
            fields["reason"] = [f"must be one of {', '.join(Refund.Reason.values)}"]
        if fields:
            raise ValidationFailed(next(f"{k}: {v[0]}" for k, v in fields.items()), fields=fields)
        payment = selectors.payment_for_reversal(tenant=self.tenant, object_id=object_id)
        amount = Money(amount_minor, payment.currency) if amount_minor is not None else None
        refund = services.refund_create(tenant=self.tenant, actor=self.actor, payment=payment, amount=amount,
                                        reason=reason, request_id=_request_id(request))
        return self.respond(refund_payload(refund), status=201)


class RefundDetailApi(ApiView):
    operation_ids = {"get": "refunds_get"}

    @extend_schema(responses={200: _any}, summary="Get a refund")
    def get(self, request, refund_id):
        return self.respond(refund_payload(selectors.refund_get(tenant=self.tenant, refund_id=refund_id)))


class VoidListCreateApi(ApiView):
    operation_ids = {"get": "voids_list", "post": "voids_create"}

    @extend_schema(parameters=[OpenApiParameter("payment_id", str), *_list_params], responses={200: _any_list},
                   summary="List voids")
    def get(self, request):
        return self.respond_list(selectors.void_list(tenant=self.tenant,
                                                     payment_id=request.query_params.get("payment_id")), void_payload)

    @extend_schema(request=inline_serializer(name="VoidCreateInput", fields={"payment_id": serializers.CharField()}),
                   responses={201: _any}, summary="Void a payment before settlement",
                   description="Full amount only. A void the gateway refuses (batch closed) is answered with the "
                               "failed void; the payment is unchanged and never refunded instead.")
    def post(self, request):
        body = _body(request, VOID_FIELDS)
        fields: dict[str, list[str]] = {}
        object_id = _reversal_target(self.tenant, body, fields)
        if fields:
            raise ValidationFailed(next(f"{k}: {v[0]}" for k, v in fields.items()), fields=fields)
        payment = selectors.payment_for_reversal(tenant=self.tenant, object_id=object_id)
        void = services.void_create(tenant=self.tenant, actor=self.actor, payment=payment,
                                    request_id=_request_id(request))
        return self.respond(void_payload(void), status=201)


class VoidDetailApi(ApiView):
    operation_ids = {"get": "voids_get"}

    @extend_schema(responses={200: _any}, summary="Get a void")
    def get(self, request, void_id):
        return self.respond(void_payload(selectors.void_get(tenant=self.tenant, void_id=void_id)))


class TransactionListApi(ApiView):
    operation_ids = {"get": "transactions_list"}

    @extend_schema(parameters=[OpenApiParameter("payment_id", str), OpenApiParameter("type", str), *_list_params],
                   responses={200: _any_list}, summary="List ledger transactions")
    def get(self, request):
        return self.respond_list(selectors.transaction_list(tenant=self.tenant,
                                                            payment_id=request.query_params.get("payment_id"),
                                                            type=request.query_params.get("type")),
                                 transaction_payload)


class TransactionDetailApi(ApiView):
    operation_ids = {"get": "transactions_get"}

    @extend_schema(responses={200: _any}, summary="Get a transaction with its fee lines")
    def get(self, request, transaction_id):
        return self.respond(transaction_payload(selectors.transaction_get(tenant=self.tenant,
                                                                          transaction_id=transaction_id)))


class CustomerPaymentsApi(ApiView):
    operation_ids = {"get": "customers_payments_list"}

    @extend_schema(parameters=_list_params, responses={200: _any_list}, summary="List a customer's payments")
    def get(self, request, customer_id):
        from apps.customers.selectors import customer_get

        customer = customer_get(tenant=self.tenant, customer_id=customer_id)
        return self.respond_list(selectors.payment_list(tenant=self.tenant, customer_id=customer.pk), payment_payload)


class CustomerPaymentMethodsApi(ApiView):
    operation_ids = {"get": "customers_payment_methods_list", "post": "customers_payment_methods_create"}

    @extend_schema(request=inline_serializer(name="PaymentMethodCreateInput", fields={
        "payment_token": serializers.CharField(help_text="A one-time token from the gateway's tokenisation script "
                                                         "(sandbox: a test token such as tok_visa)"),
        "set_default": serializers.BooleanField(required=False, default=False)}),
        responses={201: _any}, summary="Save a card for a customer",
        description="Stores the card in the gateway's customer vault; we keep the vault id, brand, last four, "
                    "expiry, funding and country. A customer's first card becomes the default.")
    def post(self, request, customer_id):
        from apps.customers.selectors import customer_get

        customer = customer_get(tenant=self.tenant, customer_id=customer_id)
        body = _body(request, {"payment_token", "set_default"})
        set_default = body.get("set_default", False)
        if not isinstance(set_default, bool):
            raise ValidationFailed("set_default: must be true or false", fields={"set_default": ["must be true or false"]})
        method = services.payment_method_create(tenant=self.tenant, actor=self.actor, customer=customer,
                                                payment_token=body.get("payment_token") or "",
                                                set_default=set_default, request_id=_request_id(request))
        return self.respond(payment_method_payload(method), status=201)

    @extend_schema(parameters=_list_params, responses={200: _any_list}, summary="List a customer's payment methods")
    def get(self, request, customer_id):
        from apps.customers.selectors import customer_get

        customer = customer_get(tenant=self.tenant, customer_id=customer_id)
        return self.respond_list(selectors.payment_method_list(tenant=self.tenant, customer_id=customer.pk),
                                 payment_method_payload)

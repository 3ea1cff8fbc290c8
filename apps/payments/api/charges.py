"""/v2/charges (API 114–118): one-time charges of an existing customer.

A charge is a Payment (issue 4 decision): the same rows as /v2/payments (`pay_…` ids), shown with
`"object": "charge"` plus `captured` / `refunded`. Create uses the customer's default payment method unless a
payment method or a one-time token is given; a decline is the 402 payment_declined envelope, as on
POST /v2/payments. Capture and refund reuse the payments services (refund before settlement is the same 422
refund_before_settlement as /v2/refunds).
"""
from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers

from apps.core.api.views import ApiView
from apps.core.errors import BusinessRuleViolation, PaymentDeclined, ValidationFailed
from apps.core.money import Money

from .. import selectors, services
from ..models import Payment, Refund
from ..payloads import charge_payload, refund_payload
from .intents import _card, _currency, _raise, _strings, parse_created
from .payments import _amount_minor, _body, _first, _request_id

CREATE_FIELDS = {"customer", "customer_id", "amount_minor", "amount", "currency", "payment_method",
                 "payment_method_id", "payment_token", "payment_method_token", "capture", "description", "metadata"}
CAPTURE_FIELDS = {"amount_minor", "amount"}
REFUND_FIELDS = {"amount_minor", "amount", "reason"}

_list_params = [OpenApiParameter("limit", int), OpenApiParameter("offset", int),
                OpenApiParameter("starting_after", str), OpenApiParameter("ending_before", str)]
_one = inline_serializer(name="ChargeResponse", fields={"data": serializers.DictField()})
_many = inline_serializer(name="ChargeList", fields={"data": serializers.ListField()})


def _charge(view, charge_id: str) -> Payment:
    return selectors.payment_get(tenant=view.tenant, payment_id=charge_id)


class ChargeListCreateApi(ApiView):
    operation_ids = {"get": "charges_list", "post": "charges_create"}

    @extend_schema(parameters=[OpenApiParameter("customer", str), OpenApiParameter("status", str),
                               OpenApiParameter("created[gte]", str), OpenApiParameter("created[lte]", str),
                               *_list_params], responses={200: _many}, summary="List charges")
    def get(self, request):
        params = request.query_params
        status = params.get("status") or None
        if status and status not in Payment.Status.values:
            raise ValidationFailed.not_one_of("status", Payment.Status.values)
        qs = selectors.payment_list(tenant=self.tenant,
                                    customer_id=params.get("customer") or params.get("customer_id") or None,
                                    status=status)
        created_gte, created_lte = parse_created(params, "created[gte]"), parse_created(params, "created[lte]")
        if created_gte:
            qs = qs.filter(created_at__gte=created_gte)
        if created_lte:
            qs = qs.filter(created_at__lte=created_lte)
        return self.respond_list(qs, charge_payload)

    @extend_schema(request=inline_serializer(name="ChargeCreateInput", fields={
        "customer": serializers.CharField(help_text="Alias: customer_id"),
        "amount_minor": serializers.IntegerField(help_text="Alias: amount"),
        "currency": serializers.CharField(),
        "payment_method": serializers.CharField(required=False, help_text="Default: the customer's default card"),
        "payment_token": serializers.CharField(required=False),
        "capture": serializers.BooleanField(required=False, default=True),
        "description": serializers.CharField(required=False),
        "metadata": serializers.DictField(required=False)}),
        responses={201: _one}, summary="Create a one-time charge",
        description="Charges the customer's default payment method (or the one given, or a token). 201 with the "
                    "charge (succeeded, requires_action, or pending when the gateway's answer was lost), or 402 "
                    "card_error/payment_declined with decline_code. capture=false authorises only.")
    def post(self, request):
        body = _body(request, CREATE_FIELDS)
        fields: dict[str, list[str]] = {}
        amount_minor = _amount_minor(body, fields, required=True)
        currency = _currency(body, fields, required=True)
        description, metadata = _strings(body, fields)
        capture = body.get("capture", True)
        if not isinstance(capture, bool):
            fields["capture"] = ["must be true or false"]
        customer_name, customer_id = _first(body, "customer", "customer_id")
        if customer_id is None:
            fields["customer"] = ["is required"]
        elif not isinstance(customer_id, str):
            fields[customer_name] = ["must be a string"]
        _raise(fields)
        from apps.customers.selectors import customer_get

        customer = customer_get(tenant=self.tenant, customer_id=customer_id)
        method, token, _ = _card(self.tenant, body, fields)
        _raise(fields)
        if method is None and not token:
            method = selectors.default_payment_method(tenant=self.tenant, customer_id=customer.pk)
            if method is None:
                raise BusinessRuleViolation("This customer has no default payment method: give payment_method or "
                                            "payment_token.", code="no_payment_method", param="payment_method")
        payment = services.payment_create(
            tenant=self.tenant, actor=self.actor, amount=Money(amount_minor, currency), customer=customer,
            payment_method=method, payment_token=token, description=description or "", metadata=metadata,
            capture=capture, request_id=_request_id(request))
        if payment.status == Payment.Status.FAILED and payment.decline_code:
            raise PaymentDeclined(payment.failure_message, decline_code=payment.decline_code, payment_id=payment.pk)
        return self.respond(charge_payload(payment), status=201)


class ChargeDetailApi(ApiView):
    operation_ids = {"get": "charges_get"}

    @extend_schema(responses={200: _one}, summary="Get charge")
    def get(self, request, charge_id):
        return self.respond(charge_payload(_charge(self, charge_id)))


class ChargeCaptureApi(ApiView):
    operation_ids = {"post": "charges_capture"}

    @extend_schema(request=inline_serializer(name="ChargeCaptureInput", fields={
        "amount_minor": serializers.IntegerField(required=False, help_text="Alias: amount. Default: all")}),
        responses={200: _one}, summary="Capture charge",
        description="Captures a charge created with capture=false, all or part of it (once: a second capture is "
                    "a 422 payment_already_captured).")
    def post(self, request, charge_id):
        payment = _charge(self, charge_id)
        body = _body(request, CAPTURE_FIELDS)
        fields: dict[str, list[str]] = {}
        amount_minor = _amount_minor(body, fields, required=False)
        _raise(fields)
        amount = Money(amount_minor, payment.currency) if amount_minor is not None else None
        payment = services.payment_capture(tenant=self.tenant, actor=self.actor, payment=payment, amount=amount,
                                           request_id=_request_id(request))
        return self.respond(charge_payload(payment))


class ChargeRefundApi(ApiView):
    operation_ids = {"post": "charges_refund"}

    @extend_schema(request=inline_serializer(name="ChargeRefundInput", fields={
        "amount_minor": serializers.IntegerField(required=False, help_text="Alias: amount. Default: all that is left"),
        "reason": serializers.ChoiceField(choices=Refund.Reason.values, required=False)}),
        responses={201: _one}, summary="Refund charge",
        description="Full or partial, repeatable up to the captured amount; after settlement (before it, void).")
    def post(self, request, charge_id):
        payment = _charge(self, charge_id)
        body = _body(request, REFUND_FIELDS)
        fields: dict[str, list[str]] = {}
        amount_minor = _amount_minor(body, fields, required=False)
        reason = body.get("reason") or ""
        if not isinstance(reason, str) or (reason and reason not in Refund.Reason.values):
            fields["reason"] = [f"must be one of {', '.join(Refund.Reason.values)}"]
        _raise(fields)
        amount = Money(amount_minor, payment.currency) if amount_minor is not None else None
        refund = services.refund_create(tenant=self.tenant, actor=self.actor, payment=payment, amount=amount,
                                        reason=reason, request_id=_request_id(request))
        return self.respond(refund_payload(refund), status=201)

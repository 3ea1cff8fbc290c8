"""/v2/payment-intents (API 241–247): create, list, get, update (a POST), confirm, capture, cancel.

Thin views: the body is checked strictly here (unknown fields are a 400 with details.fields) before any row is
written; services.intents does the work. A declined confirmation answers 200 with the intent back in
requires_payment_method and its last_payment_error (the intent, not the attempt, is the object here).
"""
from __future__ import annotations

from datetime import UTC, datetime

from django.utils.dateparse import parse_datetime
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers

from apps.core.api.views import ApiView
from apps.core.errors import ValidationFailed
from apps.core.money import CurrencyError, Money, normalize_currency

from .. import selectors, services
from ..models import PaymentIntent
from ..payloads import payment_intent_payload
from .payments import _amount_minor, _body, _first, _request_id

CREATE_FIELDS = {"amount_minor", "amount", "currency", "customer", "customer_id", "payment_method",
                 "payment_method_id", "payment_token", "payment_method_token", "capture_method", "confirm",
                 "description", "metadata"}
UPDATE_FIELDS = {"amount_minor", "amount", "currency", "payment_method", "payment_method_id", "payment_token",
                 "payment_method_token", "description", "metadata"}
CONFIRM_FIELDS = {"payment_method", "payment_method_id", "payment_token", "payment_method_token"}
CAPTURE_FIELDS = {"amount_to_capture", "amount_to_capture_minor"}
CANCEL_FIELDS = {"cancellation_reason"}

_list_params = [OpenApiParameter("limit", int), OpenApiParameter("offset", int),
                OpenApiParameter("starting_after", str), OpenApiParameter("ending_before", str)]
_one = inline_serializer(name="PaymentIntentResponse", fields={"data": serializers.DictField()})
_many = inline_serializer(name="PaymentIntentList", fields={"data": serializers.ListField()})


def _raise(fields: dict) -> None:
    if fields:
        raise ValidationFailed(next(f"{k}: {v[0]}" for k, v in fields.items()), fields=fields)


def _currency(body: dict, fields: dict, *, required: bool) -> str | None:
    if body.get("currency") in (None, ""):
        if required:
            fields["currency"] = ["is required"]
        return None
    try:
        return normalize_currency(str(body["currency"]))
    except CurrencyError:
        fields["currency"] = ["unknown ISO 4217 currency"]
        return None


def _strings(body: dict, fields: dict) -> tuple[str | None, dict | None]:
    description, metadata = body.get("description"), body.get("metadata")
    if description is not None and not isinstance(description, str):
        fields["description"] = ["must be a string"]
    if metadata is not None and (not isinstance(metadata, dict)
                                 or not all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items())):
        fields["metadata"] = ["must map strings to strings"]
    return description, metadata


def _card(tenant, body: dict, fields: dict):
    """(payment_method or None, token or None, whether either was named)."""
    token_name, token = _first(body, "payment_token", "payment_method_token")
    method_name, method_id = _first(body, "payment_method", "payment_method_id")
    if token is not None and not isinstance(token, str):
        fields[token_name] = ["must be a string"]
        token = None
    if method_id is not None and not isinstance(method_id, str):
        fields[method_name] = ["must be a string"]
        method_id = None
    if token and method_id:
        fields["payment_method"] = ["give payment_method or payment_token, not both"]
    named = any(name in body for name in ("payment_token", "payment_method_token", "payment_method",
                                          "payment_method_id"))
    if fields:
        return None, None, named
    method = selectors.payment_method_get(tenant=tenant, payment_method_id=method_id) if method_id else None
    return method, token, named


def parse_created(params, name: str):
    """`created[gte]` / `created[lte]`: an ISO 8601 timestamp or Unix seconds."""
    raw = params.get(name)
    if raw in (None, ""):
        return None
    if raw.isdigit():
        return datetime.fromtimestamp(int(raw), tz=UTC)
    value = parse_datetime(raw.replace(" ", "+"))
    if value is None:
        raise ValidationFailed(f"{name}: must be an ISO 8601 timestamp or Unix seconds",
                               fields={name: ["must be an ISO 8601 timestamp or Unix seconds"]})
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _intent(view, payment_intent_id: str) -> PaymentIntent:
    return selectors.payment_intent_get(tenant=view.tenant, payment_intent_id=payment_intent_id)


def _answer(view, intent: PaymentIntent, status: int = 200):
    intent = PaymentIntent.objects.select_related("latest_payment").get(pk=intent.pk)
    return view.respond(payment_intent_payload(intent), status=status)


class PaymentIntentListCreateApi(ApiView):
    operation_ids = {"get": "payment_intents_list", "post": "payment_intents_create"}

    @extend_schema(parameters=[OpenApiParameter("customer", str), OpenApiParameter("status", str),
                               OpenApiParameter("created[gte]", str), OpenApiParameter("created[lte]", str),
                               *_list_params], responses={200: _many}, summary="List payment intents")
    def get(self, request):
        params = request.query_params
        status = params.get("status") or None
        if status and status not in PaymentIntent.Status.values:
            raise ValidationFailed.not_one_of("status", PaymentIntent.Status.values)
        qs = selectors.payment_intent_list(
            tenant=self.tenant, customer_id=params.get("customer") or params.get("customer_id") or None,
            status=status, created_gte=parse_created(params, "created[gte]"),
            created_lte=parse_created(params, "created[lte]"))
        return self.respond_list(qs, payment_intent_payload)

    @extend_schema(request=inline_serializer(name="PaymentIntentCreateInput", fields={
        "amount_minor": serializers.IntegerField(help_text="Alias: amount"),
        "currency": serializers.CharField(),
        "customer": serializers.CharField(required=False, help_text="Alias: customer_id"),
        "payment_method": serializers.CharField(required=False, help_text="Alias: payment_method_id"),
        "payment_token": serializers.CharField(required=False, help_text="Alias: payment_method_token"),
        "capture_method": serializers.ChoiceField(choices=PaymentIntent.CaptureMethod.values, required=False),
        "confirm": serializers.BooleanField(required=False),
        "description": serializers.CharField(required=False),
        "metadata": serializers.DictField(required=False)}),
        responses={201: _one}, summary="Create a payment intent")
    def post(self, request):
        body = _body(request, CREATE_FIELDS)
        fields: dict[str, list[str]] = {}
        amount_minor = _amount_minor(body, fields, required=True)
        currency = _currency(body, fields, required=True)
        description, metadata = _strings(body, fields)
        capture_method = body.get("capture_method") or PaymentIntent.CaptureMethod.AUTOMATIC
        if capture_method not in PaymentIntent.CaptureMethod.values:
            fields["capture_method"] = [f"must be one of {', '.join(PaymentIntent.CaptureMethod.values)}"]
        confirm = body.get("confirm", False)
        if not isinstance(confirm, bool):
            fields["confirm"] = ["must be true or false"]
        customer_name, customer_id = _first(body, "customer", "customer_id")
        if customer_id is not None and not isinstance(customer_id, str):
            fields[customer_name] = ["must be a string"]
        _raise(fields)
        customer = None
        if customer_id:
            from apps.customers.selectors import customer_get

            customer = customer_get(tenant=self.tenant, customer_id=customer_id)
        method, token, _ = _card(self.tenant, body, fields)
        _raise(fields)
        intent = services.payment_intent_create(
            tenant=self.tenant, actor=self.actor, amount=Money(amount_minor, currency), customer=customer,
            payment_method=method, payment_token=token or "", capture_method=capture_method, confirm=confirm,
            description=description or "", metadata=metadata, request_id=_request_id(request))
        return _answer(self, intent, status=201)


class PaymentIntentDetailApi(ApiView):
    operation_ids = {"get": "payment_intents_get", "post": "payment_intents_update"}

    @extend_schema(responses={200: _one}, summary="Retrieve a payment intent")
    def get(self, request, payment_intent_id):
        return self.respond(payment_intent_payload(_intent(self, payment_intent_id)))

    @extend_schema(request=inline_serializer(name="PaymentIntentUpdateInput", fields={
        "amount_minor": serializers.IntegerField(required=False, help_text="Alias: amount"),
        "currency": serializers.CharField(required=False),
        "payment_method": serializers.CharField(required=False),
        "payment_token": serializers.CharField(required=False),
        "description": serializers.CharField(required=False),
        "metadata": serializers.DictField(required=False)}),
        responses={200: _one}, summary="Update a payment intent",
        description="Before confirmation: amount, currency, payment method or token, description, metadata. "
                    "Afterwards only description and metadata (anything else is a 422).")
    def post(self, request, payment_intent_id):
        intent = _intent(self, payment_intent_id)
        body = _body(request, UPDATE_FIELDS)
        fields: dict[str, list[str]] = {}
        amount_minor = _amount_minor(body, fields, required=False)
        currency = _currency(body, fields, required=False)
        description, metadata = _strings(body, fields)
        method, token, card_named = _card(self.tenant, body, fields)
        _raise(fields)
        changes = {}
        if amount_minor is not None or currency is not None:
            changes["amount"] = Money(amount_minor if amount_minor is not None else intent.amount_minor,
                                      currency or intent.currency)
        if card_named:
            changes["payment_method"], changes["payment_token"] = method, token or ""
        if "description" in body:
            changes["description"] = description or ""
        if "metadata" in body:
            changes["metadata"] = metadata or {}
        intent = services.payment_intent_update(tenant=self.tenant, actor=self.actor, intent=intent,
                                                request_id=_request_id(request), **changes)
        return _answer(self, intent)


class PaymentIntentConfirmApi(ApiView):
    operation_ids = {"post": "payment_intents_confirm"}

    @extend_schema(request=inline_serializer(name="PaymentIntentConfirmInput", fields={
        "payment_method": serializers.CharField(required=False),
        "payment_token": serializers.CharField(required=False)}),
        responses={200: _one}, summary="Confirm a payment intent",
        description="Attempts the payment. The intent answers succeeded, requires_capture (manual capture), "
                    "requires_action with next_action (3-D Secure: confirm again after the challenge), "
                    "requires_payment_method with last_payment_error (declined), or processing (the gateway's "
                    "answer was lost; the reconciler settles it).")
    def post(self, request, payment_intent_id):
        intent = _intent(self, payment_intent_id)
        body = _body(request, CONFIRM_FIELDS)
        fields: dict[str, list[str]] = {}
        method, token, _ = _card(self.tenant, body, fields)
        _raise(fields)
        intent = services.payment_intent_confirm(tenant=self.tenant, actor=self.actor, intent=intent,
                                                 payment_method=method, payment_token=token or "",
                                                 request_id=_request_id(request))
        return _answer(self, intent)


class PaymentIntentCaptureApi(ApiView):
    operation_ids = {"post": "payment_intents_capture"}

    @extend_schema(request=inline_serializer(name="PaymentIntentCaptureInput", fields={
        "amount_to_capture": serializers.IntegerField(required=False, help_text="Minor units; default: all")}),
        responses={200: _one}, summary="Capture a payment intent")
    def post(self, request, payment_intent_id):
        intent = _intent(self, payment_intent_id)
        body = _body(request, CAPTURE_FIELDS)
        fields: dict[str, list[str]] = {}
        name, value = _first(body, "amount_to_capture", "amount_to_capture_minor")
        amount = None
        if value is not None:
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                fields[name] = ["must be a positive integer number of minor units"]
            else:
                amount = Money(value, intent.currency)
        _raise(fields)
        intent = services.payment_intent_capture(tenant=self.tenant, actor=self.actor, intent=intent, amount=amount,
                                                 request_id=_request_id(request))
        return _answer(self, intent)


class PaymentIntentCancelApi(ApiView):
    operation_ids = {"post": "payment_intents_cancel"}

    @extend_schema(request=inline_serializer(name="PaymentIntentCancelInput", fields={
        "cancellation_reason": serializers.ChoiceField(choices=services.CANCELLATION_REASONS, required=False)}),
        responses={200: _one}, summary="Cancel a payment intent",
        description="Not once succeeded or canceled (422). An authorisation waiting for capture is voided.")
    def post(self, request, payment_intent_id):
        intent = _intent(self, payment_intent_id)
        body = _body(request, CANCEL_FIELDS)
        reason = body.get("cancellation_reason") or ""
        if not isinstance(reason, str) or (reason and reason not in services.CANCELLATION_REASONS):
            choices = ", ".join(services.CANCELLATION_REASONS)
            raise ValidationFailed(f"cancellation_reason: must be one of {choices}",
                                   fields={"cancellation_reason": [f"must be one of {choices}"]})
        intent = services.payment_intent_cancel(tenant=self.tenant, actor=self.actor, intent=intent,
                                                cancellation_reason=reason, request_id=_request_id(request))
        return _answer(self, intent)

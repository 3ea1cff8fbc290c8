"""/v2/payment-links (API 248–255).

Create takes `line_items` [{price_id, quantity, min_quantity, max_quantity}] or the guide's single `price_id`
(+ `quantity`), the link's options (snake_case or the guide's camelCase) and answers the link with its `url`
and analytics (views, sessions started, completions, rates, revenue — columns of the link, so a list page
costs the same whatever its size). Get takes the `pl_` id (the reference's "UUID or public_id": ours is both).

Status: PATCH /payment-links/{id}/status {status, expires_at?}. Archived is final: changing an archived
link is a 409 `payment_link_archived`. The deprecated POST /activate, /archive, /deactivate and /expire
still work and answer the same, with `Deprecation: true` and a `Link` to the successor operation.
"""
from __future__ import annotations

from django.urls import path
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers

from apps.billing.api.inputs import (
    Errors,
    aliased,
    body_of,
    datetime_field,
    id_field,
    int_field,
    metadata_field,
    param,
    query_datetime,
    raise_errors,
    request_id,
    str_field,
)
from apps.catalog import selectors as catalog_selectors
from apps.core.api.views import ApiView
from apps.core.errors import NotFound, ValidationFailed

from .. import selectors, services
from ..models import PaymentLink
from ..payloads import payment_link_payload

MAX_QUANTITY = 10_000
OPTIONS = ("allow_quantity", "allow_discount_codes", "collect_billing_address", "collect_shipping_address",
           "is_business_purchase", "require_terms")
CREATE_FIELDS = {"name", "line_items", "price_id", "quantity", "custom_fields", "success_message", "success_url",
                 "cancel_url", "expires_at", "max_uses", "metadata", *OPTIONS}
CREATE_ALIASES = {"priceId": "price_id", "lineItems": "line_items", "allowQuantity": "allow_quantity",
                  "allowDiscountCodes": "allow_discount_codes", "collectBillingAddress": "collect_billing_address",
                  "collectShippingAddress": "collect_shipping_address", "isBusinessPurchase": "is_business_purchase",
                  "requireTerms": "require_terms", "customFields": "custom_fields",
                  "successMessage": "success_message", "successUrl": "success_url", "cancelUrl": "cancel_url",
                  "expiresAt": "expires_at", "maxUses": "max_uses"}
LINE_FIELDS = {"price_id", "quantity", "min_quantity", "max_quantity"}
LINE_ALIASES = {"priceId": "price_id", "price": "price_id", "minQuantity": "min_quantity",
                "maxQuantity": "max_quantity"}
STATUS_FIELDS = {"status", "expires_at"}
STATUS_ALIASES = {"expiresAt": "expires_at"}

_one = inline_serializer(name="PaymentLinkResponse", fields={"data": serializers.DictField()})
_many = inline_serializer(name="PaymentLinkList", fields={"data": serializers.ListField(),
                                                          "pagination": serializers.DictField()})
_list_params = [OpenApiParameter(name, str) for name in (
    "status", "created[gte]", "created[lte]", "search", "limit", "offset", "starting_after", "ending_before")]
_status_input = inline_serializer(name="PaymentLinkStatusInput", fields={
    "status": serializers.ChoiceField(choices=PaymentLink.Status.values),
    "expires_at": serializers.DateTimeField(required=False, help_text="A new expiry when activating")})


def _answer(view: ApiView, link: PaymentLink, *, status: int = 200):
    fresh = selectors.payment_link_get(tenant=view.tenant, link_id=link.pk)
    return view.respond(payment_link_payload(fresh), status=status)


def _bool(data: dict, name: str, errors: Errors) -> bool:
    value = data.get(name, False)
    if not isinstance(value, bool):
        errors[name] = ["must be true or false"]
        return False
    return value


def _price(tenant, price_id: str, key: str):
    try:
        return catalog_selectors.price_get(tenant=tenant, price_id=price_id)
    except NotFound as exc:
        exc.param = key
        raise


def _line(tenant, raw, key: str, errors: Errors) -> services.LinkItemInput | None:
    try:
        data = aliased(raw, LINE_FIELDS, LINE_ALIASES, path=key)
    except ValidationFailed as exc:
        errors.update(exc.fields)
        return None
    before = len(errors)
    price_id = id_field(data, "price_id", errors, path=key)
    if price_id is None:
        errors.setdefault(f"{key}.price_id", ["is required"])
    numbers = {name: int_field(data, name, errors, path=key, minimum=1, maximum=MAX_QUANTITY)
               for name in ("quantity", "min_quantity", "max_quantity")}
    if len(errors) > before:
        return None
    quantity = numbers["quantity"] or 1
    minimum = numbers["min_quantity"] or 1
    maximum = numbers["max_quantity"] or max(99, quantity)
    return services.LinkItemInput(price=_price(tenant, price_id, f"{key}.price_id"), quantity=quantity,
                                  min_quantity=minimum, max_quantity=maximum)


def parse_link_items(tenant, data: dict, errors: Errors) -> list[services.LinkItemInput]:
    """`line_items`, or the guide's single `price_id` (+ `quantity`); not both."""
    if "line_items" in data and "price_id" in data:
        errors["price_id"] = ["give line_items or price_id, not both"]
        return []
    if "price_id" in data:
        line = _line(tenant, {"price_id": data["price_id"], "quantity": data.get("quantity")}, "line_items[0]",
                     errors)
        return [line] if line else []
    if "quantity" in data:
        errors["quantity"] = ["goes with price_id; give each line's quantity in line_items"]
    raw = data.get("line_items")
    if not isinstance(raw, list) or not raw:
        errors["line_items"] = ["must be a non-empty list of {price_id, quantity}, or give price_id"]
        return []
    items = [_line(tenant, item, f"line_items[{i}]", errors) for i, item in enumerate(raw)]
    return [item for item in items if item is not None]


class PaymentLinkListCreateApi(ApiView):
    operation_ids = {"get": "payment_links_list", "post": "payment_links_create"}

    @extend_schema(parameters=_list_params, responses={200: _many}, summary="List payment links",
                   description="Newest first; filter by status (comma-separated) and creation dates. Each link "
                               "carries its analytics.")
    def get(self, request):
        params = request.query_params
        qs = selectors.payment_link_list(
            tenant=self.tenant, status=param(params, "status"),
            created_from=query_datetime(params, "created[gte]", "created_after", "createdAfter", "created_from"),
            created_to=query_datetime(params, "created[lte]", "created_before", "createdBefore", "created_to"),
            search=param(params, "search", "q"))
        return self.respond_list(qs, payment_link_payload)

    @extend_schema(request=inline_serializer(name="PaymentLinkCreateInput", fields={
        "name": serializers.CharField(required=False, help_text="Default: the first product's name"),
        "line_items": serializers.ListField(child=serializers.DictField(), required=False,
                                            help_text="[{price_id, quantity, min_quantity, max_quantity}]"),
        "price_id": serializers.CharField(required=False, help_text="One price instead of line_items (priceId)"),
        "quantity": serializers.IntegerField(required=False),
        **{name: serializers.BooleanField(required=False) for name in OPTIONS},
        "custom_fields": serializers.ListField(child=serializers.DictField(), required=False),
        "success_message": serializers.CharField(required=False),
        "success_url": serializers.URLField(required=False), "cancel_url": serializers.URLField(required=False),
        "expires_at": serializers.DateTimeField(required=False), "max_uses": serializers.IntegerField(required=False),
        "metadata": serializers.DictField(required=False)}),
        responses={201: _one}, summary="Create a new payment link",
        description="A shareable checkout (`url`) for one or more one-time prices of one currency.")
    def post(self, request):
        data = body_of(request, CREATE_FIELDS, CREATE_ALIASES)
        errors: Errors = {}
        name = str_field(data, "name", errors, limit=200) or ""
        options = {name_: _bool(data, name_, errors) for name_ in OPTIONS}
        success_message = str_field(data, "success_message", errors, limit=500) or ""
        success_url = str_field(data, "success_url", errors, limit=1000) or ""
        cancel_url = str_field(data, "cancel_url", errors, limit=1000) or ""
        expires_at = datetime_field(data, "expires_at", errors)
        max_uses = int_field(data, "max_uses", errors, minimum=1, maximum=10**9)
        metadata = metadata_field(data, errors)
        custom_fields = data.get("custom_fields")
        if custom_fields is not None and not isinstance(custom_fields, list):
            errors["custom_fields"] = ["must be a list of fields"]
        raise_errors(errors)
        items = parse_link_items(self.tenant, data, errors)
        raise_errors(errors)
        link = services.payment_link_create(
            tenant=self.tenant, actor=self.actor, name=name, items=items, success_url=success_url,
            cancel_url=cancel_url, success_message=success_message, expires_at=expires_at, max_uses=max_uses,
            custom_fields=custom_fields or [], metadata=metadata, request_id=request_id(request), **options)
        return _answer(self, link, status=201)


class PaymentLinkDetailApi(ApiView):
    operation_ids = {"get": "payment_links_get"}

    @extend_schema(responses={200: _one}, summary="Get payment link by ID",
                   description="By its `pl_` id, which is both its id and its public id.")
    def get(self, request, link_id):
        return self.respond(payment_link_payload(selectors.payment_link_get(tenant=self.tenant, link_id=link_id)))


def _set_status(view: ApiView, request, link_id: str, status: str, expires_at=None):
    link = selectors.payment_link_get(tenant=view.tenant, link_id=link_id)
    link = services.payment_link_set_status(tenant=view.tenant, actor=view.actor, link=link, status=status,
                                            expires_at=expires_at, request_id=request_id(request))
    return _answer(view, link)


class PaymentLinkStatusApi(ApiView):
    operation_ids = {"patch": "payment_links_update"}

    @extend_schema(request=_status_input, responses={200: _one}, summary="Update payment link status",
                   description="active accepts payments, inactive pauses the link, archived is permanent "
                               "(an archived link cannot be changed: 409), expired closes it. Activating an "
                               "expired link clears its old expiry unless a new `expires_at` is given.")
    def patch(self, request, link_id):
        data = body_of(request, STATUS_FIELDS, STATUS_ALIASES)
        errors: Errors = {}
        status = str_field(data, "status", errors, required=True, limit=20)
        if status is not None and status not in PaymentLink.Status.values:
            errors["status"] = [f"must be one of {', '.join(PaymentLink.Status.values)}"]
        expires_at = datetime_field(data, "expires_at", errors)
        if expires_at is not None and status not in (None, PaymentLink.Status.ACTIVE):
            errors.setdefault("expires_at", ["can only be given when activating"])
        raise_errors(errors)
        return _set_status(self, request, link_id, status, expires_at)


class _DeprecatedStatusApi(ApiView):
    """The deprecated one-status endpoints: the same answer as PATCH /status, flagged as deprecated."""

    target_status = ""

    def _flag(self, response, link_id: str):
        response["Deprecation"] = "true"
        response["Link"] = f'</v2/payment-links/{link_id}/status>; rel="successor-version"'
        return response

    def post(self, request, link_id):
        body_of(request, set())
        return self._flag(_set_status(self, request, link_id, self.target_status), link_id)

    def _replay(self, row):
        return self._flag(super()._replay(row), self.kwargs.get("link_id", ""))


def _deprecated(status: str, operation_id: str, verb: str, note: str):
    @extend_schema(request=None, responses={200: _one}, deprecated=True, summary=f"{verb} a payment link (deprecated)",
                   description=f"Deprecated — use PATCH /v2/payment-links/{{id}}/status with status "
                               f'"{status}". {note}')
    def post(self, request, link_id):
        return _DeprecatedStatusApi.post(self, request, link_id)

    return type(f"PaymentLink{verb}Api", (_DeprecatedStatusApi,),
                {"operation_ids": {"post": operation_id}, "target_status": status, "post": post,
                 "__module__": __name__})


PaymentLinkActivateApi = _deprecated("active", "payment_links_activate", "Activate",
                                     "Cannot be used on archived links.")
PaymentLinkArchiveApi = _deprecated("archived", "payment_links_archive", "Archive", "Archiving is permanent.")
PaymentLinkDeactivateApi = _deprecated("inactive", "payment_links_deactivate", "Deactivate",
                                       "The link stops taking payments until activated.")
PaymentLinkExpireApi = _deprecated("expired", "payment_links_expire", "Expire", "The link shows as expired.")

urlpatterns = [
    path("payment-links", PaymentLinkListCreateApi.as_view(), name="payment_links_list"),
    path("payment-links/<str:link_id>", PaymentLinkDetailApi.as_view(), name="payment_links_get"),
    path("payment-links/<str:link_id>/status", PaymentLinkStatusApi.as_view(), name="payment_links_update"),
    path("payment-links/<str:link_id>/activate", PaymentLinkActivateApi.as_view(), name="payment_links_activate"),
    path("payment-links/<str:link_id>/archive", PaymentLinkArchiveApi.as_view(), name="payment_links_archive"),
    path("payment-links/<str:link_id>/deactivate", PaymentLinkDeactivateApi.as_view(),
         name="payment_links_deactivate"),
    path("payment-links/<str:link_id>/expire", PaymentLinkExpireApi.as_view(), name="payment_links_expire"),
]

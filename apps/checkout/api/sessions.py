"""/v2/checkout-sessions (API 119–121).

Create: {mode: payment|setup|subscription, line_items: [{price_id | product_id, quantity, adjustable_quantity?,
custom_amount_minor?}], customer_id | customer_email, success_url (may hold {CHECKOUT_SESSION_ID}, kept as
given and filled in at the redirect), cancel_url, allow_promotion_codes, billing_address_collection
(auto|required), expires_at (30 minutes to 30 days ahead; default 24 hours), client_reference_id, metadata}
with the guides' camelCase aliases; answers the open session with its `url`. A `product_id` line is sold at
the product's one active one-time price (in `currency` or the other lines' currency when given); a product
with several is a 400 naming them. Subscription mode is refused with 422 `mode_not_supported` until
subscriptions ship.

Expire: only an open session with no payment attempt in flight (409 otherwise).
"""
from __future__ import annotations

from datetime import UTC, datetime

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.urls import path
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers

from apps.billing.api.inputs import (
    Errors,
    aliased,
    body_of,
    currency_field,
    customer_of,
    datetime_field,
    id_field,
    int_field,
    metadata_field,
    raise_errors,
    request_id,
    str_field,
)
from apps.catalog import selectors as catalog_selectors
from apps.catalog.models import Price, PriceType
from apps.core.api.views import ApiView
from apps.core.errors import NotFound, ValidationFailed

from .. import selectors, services
from ..models import CheckoutSession
from ..payloads import checkout_session_payload

MAX_QUANTITY = 10_000
CREATE_FIELDS = {"mode", "line_items", "customer_id", "customer_email", "currency", "success_url", "cancel_url",
                 "allow_promotion_codes", "billing_address_collection", "expires_at", "client_reference_id",
                 "metadata", "subscription_data"}
CREATE_ALIASES = {"lineItems": "line_items", "customerId": "customer_id", "customer": "customer_id",
                  "customerEmail": "customer_email", "successUrl": "success_url", "cancelUrl": "cancel_url",
                  "allowPromotionCodes": "allow_promotion_codes",
                  "billingAddressCollection": "billing_address_collection", "expiresAt": "expires_at",
                  "clientReferenceId": "client_reference_id", "subscriptionData": "subscription_data"}
LINE_FIELDS = {"price_id", "product_id", "quantity", "adjustable_quantity", "custom_amount_minor"}
LINE_ALIASES = {"priceId": "price_id", "price": "price_id", "productId": "product_id", "product": "product_id",
                "adjustableQuantity": "adjustable_quantity", "customAmountMinor": "custom_amount_minor"}
ADJUSTABLE_FIELDS = {"enabled", "minimum", "maximum"}

_one = inline_serializer(name="CheckoutSessionResponse", fields={"data": serializers.DictField()})


def _answer(view: ApiView, session: CheckoutSession, *, status: int = 200):
    fresh = selectors.checkout_session_get(tenant=view.tenant, session_id=session.pk)
    return view.respond(checkout_session_payload(fresh), status=status)


def _expires_at(data: dict, errors: Errors):
    """ISO 8601 or Unix seconds (the Stripe-style integer)."""
    value = data.get("expires_at")
    if isinstance(value, int) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(value, tz=UTC)
        except (ValueError, OverflowError, OSError):
            errors["expires_at"] = ["must be an ISO 8601 date-time or Unix seconds"]
            return None
    return datetime_field(data, "expires_at", errors)


def _adjustable(value, key: str, errors: Errors) -> tuple[bool, int, int]:
    """`true`/`false`, or {enabled, minimum, maximum}."""
    if value is None or isinstance(value, bool):
        return bool(value), 1, 99
    if not isinstance(value, dict) or set(value) - ADJUSTABLE_FIELDS:
        errors[key] = ["must be true, false or {enabled, minimum, maximum}"]
        return False, 1, 99
    enabled = value.get("enabled", True)
    if not isinstance(enabled, bool):
        errors[f"{key}.enabled"] = ["must be true or false"]
    minimum = int_field(value, "minimum", errors, path=key, minimum=1, maximum=MAX_QUANTITY) or 1
    maximum = int_field(value, "maximum", errors, path=key, minimum=1, maximum=MAX_QUANTITY) or 99
    if minimum > maximum:
        errors[f"{key}.maximum"] = ["must be at least the minimum"]
    return enabled is True, minimum, maximum


def _price(tenant, price_id: str, key: str) -> Price:
    try:
        return catalog_selectors.price_get(tenant=tenant, price_id=price_id)
    except NotFound as exc:
        exc.param = key
        raise


def _product_price(tenant, product_id: str, currency: str | None, key: str, errors: Errors) -> Price | None:
    """The product's one active one-time price (in `currency` when known); none or several is a 400."""
    try:
        product = catalog_selectors.product_get(tenant=tenant, product_id=product_id)
    except NotFound as exc:
        exc.param = key
        raise
    prices = Price.objects.filter(product=product, active=True, type=PriceType.ONE_TIME).select_related("product")
    if currency:
        prices = prices.filter(currency=currency)
    found = list(prices.order_by("created_at", "id")[:11])
    where = f" in {currency}" if currency else ""
    if not found:
        errors[key] = [f"has no active one-time price{where}; give price_id"]
        return None
    if len(found) > 1:
        names = ", ".join(price.pk for price in found[:10])
        errors[key] = [f"has several active one-time prices{where} ({names}); give price_id"]
        return None
    return found[0]


def parse_session_items(tenant, raw_items, currency: str | None, errors: Errors) -> list[services.ItemInput]:
    if raw_items is None:
        return []
    if not isinstance(raw_items, list):
        errors["line_items"] = ["must be a list of {price_id | product_id, quantity}"]
        return []
    lines = []
    for i, raw in enumerate(raw_items):
        key = f"line_items[{i}]"
        try:
            lines.append((key, aliased(raw, LINE_FIELDS, LINE_ALIASES, path=key)))
        except ValidationFailed as exc:
            errors.update(exc.fields)
    prices: dict[str, Price] = {}
    for key, line in lines:  # explicit prices first: their currency settles a product line's price
        price_id = id_field(line, "price_id", errors, path=key)
        if price_id and "product_id" in line:
            errors[f"{key}.price_id"] = ["give price_id or product_id, not both"]
        elif price_id:
            prices[key] = _price(tenant, price_id, f"{key}.price_id")
        elif not id_field(line, "product_id", errors, path=key):
            errors.setdefault(f"{key}.price_id", ["is required (or product_id)"])
    currency = currency or next((price.currency for price in prices.values()), None)
    items = []
    for key, line in lines:
        if key not in prices and line.get("product_id") and f"{key}.product_id" not in errors:
            price = _product_price(tenant, line["product_id"], currency, f"{key}.product_id", errors)
            if price is not None:
                prices[key] = price
        quantity = int_field(line, "quantity", errors, path=key, minimum=1, maximum=MAX_QUANTITY) or 1
        custom = int_field(line, "custom_amount_minor", errors, path=key, minimum=1, maximum=10**12)
        adjustable, minimum, maximum = _adjustable(line.get("adjustable_quantity"), f"{key}.adjustable_quantity",
                                                   errors)
        if adjustable and not minimum <= quantity <= maximum:
            errors[f"{key}.quantity"] = [f"must be from {minimum} to {maximum}"]
        if key in prices:
            items.append(services.ItemInput(price=prices[key], quantity=quantity, custom_amount_minor=custom,
                                            adjustable_quantity=adjustable, min_quantity=minimum,
                                            max_quantity=maximum))
    return items


class CheckoutSessionCreateApi(ApiView):
    operation_ids = {"post": "checkout_sessions_create"}

    @extend_schema(request=inline_serializer(name="CheckoutSessionCreateInput", fields={
        "mode": serializers.ChoiceField(choices=CheckoutSession.Mode.values, required=False, default="payment"),
        "line_items": serializers.ListField(child=serializers.DictField(), required=False, help_text=(
            "[{price_id | product_id, quantity, adjustable_quantity?, custom_amount_minor?}] (lineItems)")),
        "customer_id": serializers.CharField(required=False, help_text="Alias: customerId"),
        "customer_email": serializers.EmailField(required=False),
        "currency": serializers.CharField(required=False, help_text="Picks a product line's price"),
        "success_url": serializers.CharField(required=False, help_text="May contain {CHECKOUT_SESSION_ID}"),
        "cancel_url": serializers.CharField(required=False),
        "allow_promotion_codes": serializers.BooleanField(required=False),
        "billing_address_collection": serializers.ChoiceField(choices=["auto", "required"], required=False),
        "expires_at": serializers.DateTimeField(required=False, help_text="30 minutes to 30 days ahead"),
        "client_reference_id": serializers.CharField(required=False),
        "metadata": serializers.DictField(required=False)}),
        responses={201: _one}, summary="Create a checkout session",
        description="An open hosted checkout (`url`) for one-time prices or products; redirect the buyer to it.")
    def post(self, request):
        data = body_of(request, CREATE_FIELDS, CREATE_ALIASES)
        errors: Errors = {}
        mode = data.get("mode", CheckoutSession.Mode.PAYMENT)
        if mode not in CheckoutSession.Mode.values:
            raise ValidationFailed.not_one_of("mode", CheckoutSession.Mode.values)
        if mode == CheckoutSession.Mode.SUBSCRIPTION:  # the service's mode_not_supported, before the items
            services.checkout_session_create(tenant=self.tenant, actor=self.actor, items=[], mode=mode)
        if "subscription_data" in data:
            errors["subscription_data"] = ["only with mode=subscription"]
        customer_id = id_field(data, "customer_id", errors)
        email = str_field(data, "customer_email", errors, limit=254)
        if customer_id and email:
            errors["customer_email"] = ["give customer_id or customer_email, not both"]
        elif email:
            try:
                validate_email(email.strip())
            except ValidationError:
                errors["customer_email"] = ["must be an email address"]
        currency = currency_field(data, errors)
        success_url = str_field(data, "success_url", errors, limit=1000) or ""
        cancel_url = str_field(data, "cancel_url", errors, limit=1000) or ""
        allow_codes = data.get("allow_promotion_codes", False)
        if not isinstance(allow_codes, bool):
            errors["allow_promotion_codes"] = ["must be true or false"]
        address = data.get("billing_address_collection", "auto")
        if address not in ("auto", "required"):
            errors["billing_address_collection"] = ["must be auto or required"]
        expires_at = _expires_at(data, errors)
        reference = str_field(data, "client_reference_id", errors, limit=200) or ""
        metadata = metadata_field(data, errors)
        if metadata and any(key.startswith("_") for key in metadata):
            errors["metadata"] = ["keys starting with _ are reserved"]
        if mode == CheckoutSession.Mode.PAYMENT and not data.get("line_items"):
            errors.setdefault("line_items", ["must be a non-empty list of {price_id | product_id, quantity}"])
        raise_errors(errors)
        customer = customer_of(self.tenant, customer_id) if customer_id else None
        items = parse_session_items(self.tenant, data.get("line_items"), currency, errors)
        raise_errors(errors)
        session = services.checkout_session_create(
            tenant=self.tenant, actor=self.actor, items=items, mode=mode, customer=customer,
            customer_email=(email or "").strip(), success_url=success_url, cancel_url=cancel_url,
            allow_promotion_codes=allow_codes, billing_address_collection=address,
            expires_at=expires_at, client_reference_id=reference,
            metadata=metadata, request_id=request_id(request))
        return _answer(self, session, status=201)


class CheckoutSessionDetailApi(ApiView):
    operation_ids = {"get": "checkout_sessions_get"}

    @extend_schema(responses={200: _one}, summary="Retrieve a checkout session",
                   description="With payment_status, customer_id, invoice_id and order_id once paid.")
    def get(self, request, session_id):
        session = selectors.checkout_session_get(tenant=self.tenant, session_id=session_id)
        return self.respond(checkout_session_payload(session))


class CheckoutSessionExpireApi(ApiView):
    operation_ids = {"post": "checkout_sessions_expire"}

    @extend_schema(request=None, responses={200: _one}, summary="Expire a checkout session",
                   description="Only an open session with no payment attempt in flight; otherwise 409.")
    def post(self, request, session_id):
        session = selectors.checkout_session_get(tenant=self.tenant, session_id=session_id)
        body_of(request, set())
        session = services.checkout_session_expire(tenant=self.tenant, actor=self.actor, session=session,
                                                   request_id=request_id(request))
        return _answer(self, session)


urlpatterns = [
    path("checkout-sessions", CheckoutSessionCreateApi.as_view(), name="checkout_sessions_create"),
    path("checkout-sessions/<str:session_id>", CheckoutSessionDetailApi.as_view(), name="checkout_sessions_get"),
    path("checkout-sessions/<str:session_id>/expire", CheckoutSessionExpireApi.as_view(),
         name="checkout_sessions_expire"),
]

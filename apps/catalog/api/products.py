"""/v2/products: create, get, list, update, upsert by external id, batch upsert (pages 266–271).

Views are thin: validate the body's shape (StrictInputSerializer: unknown fields are a 400, the
guide's camelCase spellings are accepted), call one service or selector, serialise with
`product_payload` (the object events carry).
"""
from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers

from apps.core.api.errors import flatten_validation
from apps.core.api.serializers import StrictInputSerializer
from apps.core.api.views import ApiView
from apps.core.errors import ValidationFailed

from .. import selectors, services
from ..models import FulfillmentType, Interval, ProductKind, TaxBehavior
from ..payloads import product_payload
from ..services import BATCH_MAX_ROWS
from ..validation import clean_external_id, clean_source, first_message
from . import docs
from .fields import (
    AliasedQuery,
    CurrencyField,
    IndexedListField,
    MetadataField,
    QueryBoolean,
    amount_field,
    list_params,
    request_id,
)

PRODUCT_ALIASES = {"is_active": "active", "isActive": "active", "media": "images", "fulfillmentType": "fulfillment_type",
                   "lookupKey": "lookup_key"}


class ProductFieldsInput(StrictInputSerializer):
    aliases = PRODUCT_ALIASES
    name = serializers.CharField(max_length=200, required=False)
    description = serializers.CharField(max_length=5000, required=False, allow_blank=True, allow_null=True)
    lookup_key = serializers.CharField(max_length=200, required=False, allow_blank=True, allow_null=True,
                                       help_text="Your own identifier, unique per merchant (alias productId on create)")
    kind = serializers.ChoiceField(choices=ProductKind.choices, required=False)
    fulfillment_type = serializers.ChoiceField(choices=FulfillmentType.choices, required=False,
                                               help_text="physical, digital or none (a service). Alias fulfillmentType")
    images = IndexedListField(child=serializers.URLField(max_length=2000), max_length=10, required=False,
                                   help_text="Image URLs (alias media), at most 10")
    features = IndexedListField(child=serializers.CharField(max_length=200), max_length=25, required=False,
                                     help_text="Feature list shown at checkout, at most 25")
    metadata = MetadataField()
    active = serializers.BooleanField(required=False, help_text="false archives the product (alias isActive)")


class ProductCreateInput(ProductFieldsInput):
    """The product, plus the guide's shortcut (page 026) that creates its first price."""

    aliases = {**PRODUCT_ALIASES, "productId": "lookup_key", "product_id": "lookup_key",
               "pricingModel": "pricing_model", "amountMinor": "amount_minor", "unit_amount_minor": "amount_minor",
               "billingInterval": "interval", "billing_interval": "interval", "intervalCount": "interval_count",
               "billingIntervalCount": "interval_count", "trialDays": "trial_days",
               "trialPeriodDays": "trial_days", "taxBehavior": "tax_behavior"}
    name = serializers.CharField(max_length=200)
    pricing_model = serializers.ChoiceField(choices=["fixed", "recurring"], required=False,
                                            help_text="Shortcut: also create a price (fixed = one-time)")
    amount_minor = amount_field(required=False, help_text="Shortcut: the first price's amount in minor units")
    currency = CurrencyField(required=False)
    interval = serializers.ChoiceField(choices=Interval.choices, required=False)
    interval_count = serializers.IntegerField(min_value=1, required=False)
    trial_days = serializers.IntegerField(min_value=0, max_value=730, required=False)
    tax_behavior = serializers.ChoiceField(choices=TaxBehavior.choices, required=False)


SHORTCUT_FIELDS = ("pricing_model", "amount_minor", "currency", "interval", "interval_count", "trial_days",
                   "tax_behavior")


class ProductUpsertInput(ProductFieldsInput):
    aliases = {**PRODUCT_ALIASES, "externalUpdatedAt": "external_updated_at"}
    lookup_key = None
    external_updated_at = serializers.DateTimeField(
        required=False, allow_null=True,
        help_text="The source's last-modified time; older than the last applied → ignored as stale")


class ProductBatchRowInput(ProductUpsertInput):
    aliases = {**ProductUpsertInput.aliases, "externalId": "external_id"}
    source = serializers.CharField(required=False, help_text="Defaults to the batch's source")
    external_id = serializers.CharField(help_text="Alias externalId")


class ProductBatchInput(serializers.Serializer):
    source = serializers.CharField(required=False, help_text="Source for rows that do not name one, e.g. practicehub")
    products = ProductBatchRowInput(many=True, help_text=f"1 to {BATCH_MAX_ROWS} rows")


class ProductFilter(AliasedQuery):
    aliases = {"is_active": "active", "isActive": "active"}
    active = QueryBoolean(help_text="true: for sale; false: archived (alias isActive)")
    search = serializers.CharField(required=False, max_length=200,
                                   help_text="Matches name, description, lookup key or external id")
    kind = serializers.ChoiceField(choices=ProductKind.choices, required=False)
    created_after = serializers.DateTimeField(required=False)
    created_before = serializers.DateTimeField(required=False)


def _default_price(shortcut: dict) -> dict | None:
    if not shortcut:
        return None
    model = shortcut.pop("pricing_model", None)
    price = {"unit_amount_minor": shortcut.pop("amount_minor", None), **shortcut}
    if model == "recurring":
        price["type"] = "recurring"
    elif model == "fixed":
        price["type"] = "one_time"
    return price


class ProductListCreateApi(ApiView):
    operation_ids = {"get": "products_list", "post": "products_create"}

    @extend_schema(parameters=[ProductFilter, *list_params()], responses={200: docs.ProductList},
                   summary="List products",
                   description="Newest first, each with its active prices. Filter by `active`, `kind`, `search`.")
    def get(self, request):
        filters = ProductFilter(data=request.query_params)
        filters.is_valid(raise_exception=True)
        query = {k: v for k, v in filters.validated_data.items() if v is not None}
        return self.respond_list(selectors.product_list(tenant=self.tenant, **query), product_payload)

    @extend_schema(request=ProductCreateInput, responses={201: docs.ProductResponse}, summary="Create product",
                   description="Creates a product. With `amount_minor` + `currency` (and `interval`/`interval_count` "
                               "for `pricing_model: recurring`) its first price is created in the same request.")
    def post(self, request):
        body = ProductCreateInput(data=request.data)
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        shortcut = {name: data.pop(name) for name in SHORTCUT_FIELDS if name in data}
        product = services.product_create(tenant=self.tenant, actor=self.actor, data=data,
                                          default_price=_default_price(shortcut), request_id=request_id(request))
        return self.respond(product_payload(product), status=201)


class ProductDetailApi(ApiView):
    operation_ids = {"get": "products_get", "patch": "products_update"}

    @extend_schema(responses={200: docs.ProductResponse}, summary="Get product by ID")
    def get(self, request, product_id):
        return self.respond(product_payload(selectors.product_get(tenant=self.tenant, product_id=product_id)))

    @extend_schema(request=ProductFieldsInput, responses={200: docs.ProductResponse}, summary="Update product",
                   description="Only the fields sent change; `active: false` archives the product. Prices are "
                               "changed through /v2/prices.")
    def patch(self, request, product_id):
        body = ProductFieldsInput(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        product = services.product_update(tenant=self.tenant, actor=self.actor, product_id=product_id,
                                          data=body.validated_data, request_id=request_id(request))
        return self.respond(product_payload(product))


def _path_params(source: str, external_id: str) -> tuple[str, str]:
    source, errors = clean_source(source)
    external_id, more = clean_external_id(external_id)
    errors.update(more)
    if errors:
        raise ValidationFailed(first_message(errors), fields=errors)
    return source, external_id


class ProductExternalUpsertApi(ApiView):
    operation_ids = {"put": "products_external_upsert"}

    @extend_schema(request=ProductUpsertInput, responses={200: docs.ProductResponse, 201: docs.ProductResponse},
                   summary="Upsert product by external ID",
                   description="Creates (201) or updates (200) the product known as `externalId` in `source`. "
                               "Fields not sent are kept. An `external_updated_at` older than the last applied "
                               "one is ignored (stale-update protection).")
    def put(self, request, source, external_id):
        source, external_id = _path_params(source, external_id)
        body = ProductUpsertInput(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        updated_at = data.pop("external_updated_at", None)
        product, status = services.product_upsert_by_external_id(
            tenant=self.tenant, actor=self.actor, source=source, external_id=external_id, data=data,
            external_updated_at=updated_at, request_id=request_id(request))
        return self.respond(product_payload(product), status=201 if status == "created" else 200)


def _batch_rows(body: dict) -> tuple[list[dict], dict[int, dict]]:
    """Checks every row's shape; returns (rows, {index: errors}) so the service reports all at once."""
    top: dict = {name: ["unknown field"] for name in sorted(set(body) - {"source", "products"})}
    default_source = None
    if body.get("source") is not None:
        default_source, errors = clean_source(body["source"])
        top.update(errors)
    products = body.get("products")
    if products is None:
        top["products"] = ["is required"]
    elif not isinstance(products, list):
        top["products"] = ["must be a list of product objects"]
    elif not products:
        top["products"] = ["must not be empty"]
    elif len(products) > BATCH_MAX_ROWS:
        top["products"] = [f"must have at most {BATCH_MAX_ROWS} rows (got {len(products)})"]
    if top:
        raise ValidationFailed(first_message(top), fields=top)
    rows, invalid = [], {}
    for index, raw in enumerate(products):
        prefix = f"products[{index}]"
        if not isinstance(raw, dict):
            invalid[index] = {prefix: ["must be a JSON object"]}
            rows.append({})
            continue
        row = ProductBatchRowInput(data=raw, partial=True)
        errors = {} if row.is_valid() else flatten_validation(row.errors, prefix)
        data = dict(row.validated_data) if not errors else {}
        source_raw = raw.get("source", default_source)
        if source_raw is None:
            errors[f"{prefix}.source"] = ["is required (on the row or as the batch's source)"]
            source = ""
        else:
            source, more = clean_source(source_raw, f"{prefix}.source")
            errors.update(more)
        external_id, more = clean_external_id(raw.get("external_id", raw.get("externalId")), f"{prefix}.external_id")
        errors.update({k: v for k, v in more.items() if k not in errors})
        if errors:
            invalid[index] = errors
            rows.append({})
            continue
        for name in ("source", "external_id"):
            data.pop(name, None)
        rows.append({"source": source, "external_id": external_id,
                     "external_updated_at": data.pop("external_updated_at", None), "data": data})
    return rows, invalid


class ProductExternalBatchApi(ApiView):
    operation_ids = {"put": "products_external_batch"}

    @extend_schema(request=ProductBatchInput, responses={200: docs.ProductBatchResponse},
                   summary="Batch upsert products by external ID",
                   description=f"Up to {BATCH_MAX_ROWS} rows in one transaction. Every row is validated first; if any "
                               "is invalid nothing is applied and the 400 lists `details.fields` "
                               "(`products[3].name`) and `details.results`. Rows that change nothing are "
                               "`unchanged`, so a replayed batch changes nothing.")
    def put(self, request):
        if not isinstance(request.data, dict):
            raise ValidationFailed("The body must be a JSON object.", fields={"__all__": ["must be a JSON object"]})
        rows, invalid = _batch_rows(request.data)
        outcome = services.product_batch_upsert(tenant=self.tenant, actor=self.actor, rows=rows, invalid_rows=invalid,
                                                request_id=request_id(request))
        return self.respond({"object": "product_batch", "results": outcome.results, "summary": outcome.summary})

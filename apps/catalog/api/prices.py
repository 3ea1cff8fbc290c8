"""/v2/prices: create, get, list, update, archive (pages 261–265)."""
from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers

from apps.core.api.serializers import StrictInputSerializer
from apps.core.api.views import ApiView

from .. import selectors, services
from ..models import Interval, PriceType, PricingModel, TaxBehavior
from ..payloads import price_payload
from ..services.prices import IMMUTABLE_MESSAGE
from ..validation import IMMUTABLE_PRICE_FIELDS, MAX_TRIAL_DAYS
from . import docs
from .fields import (
    AliasedQuery,
    CurrencyField,
    IndexedListSerializer,
    MetadataField,
    QueryBoolean,
    amount_field,
    list_params,
    request_id,
)

PRICE_ALIASES = {
    "productId": "product_id", "product": "product_id",
    "amountMinor": "unit_amount_minor", "amount_minor": "unit_amount_minor", "unitAmountMinor": "unit_amount_minor",
    "pricingModel": "pricing_model", "flatAmountMinor": "flat_amount_minor", "flat_fee_minor": "flat_amount_minor",
    "packageSize": "package_size", "minimumAmountMinor": "minimum_amount_minor",
    "suggestedAmountMinor": "suggested_amount_minor", "billingInterval": "interval", "billing_interval": "interval",
    "intervalCount": "interval_count", "billingIntervalCount": "interval_count",
    "billing_interval_count": "interval_count", "trialDays": "trial_days", "trialPeriodDays": "trial_days",
    "trial_period_days": "trial_days", "taxBehavior": "tax_behavior", "lookupKey": "lookup_key",
    "is_active": "active", "isActive": "active",
}


class TierInput(StrictInputSerializer):
    class Meta:
        list_serializer_class = IndexedListSerializer

    aliases = {"upTo": "up_to", "last_unit": "up_to", "unitAmountMinor": "unit_amount_minor",
               "flatAmountMinor": "flat_amount_minor", "flat_fee_minor": "flat_amount_minor"}
    up_to = serializers.IntegerField(min_value=1, required=False, allow_null=True,
                                     help_text="Inclusive upper bound; null (or left out) on the last tier")
    unit_amount_minor = amount_field(required=False)
    flat_amount_minor = amount_field(required=False)


class PriceCreateInput(StrictInputSerializer):
    aliases = PRICE_ALIASES
    product_id = serializers.CharField(max_length=40)
    type = serializers.ChoiceField(choices=[*PriceType.values, "pay_what_you_want", "free"], required=False,
                                   help_text="one_time or recurring; pay_what_you_want / free name the pricing model "
                                             "(the guide's spelling)")
    pricing_model = serializers.ChoiceField(choices=PricingModel.choices, required=False,
                                            help_text="Default fixed")
    currency = CurrencyField()
    unit_amount_minor = amount_field(required=False, allow_null=True, help_text="Alias amount_minor / amountMinor")
    flat_amount_minor = amount_field(required=False, allow_null=True)
    package_size = serializers.IntegerField(min_value=1, max_value=10**9, required=False, allow_null=True)
    tiers = TierInput(many=True, required=False, allow_null=True)
    minimum_amount_minor = amount_field(required=False, allow_null=True)
    suggested_amount_minor = amount_field(required=False, allow_null=True)
    interval = serializers.ChoiceField(choices=Interval.choices, required=False, allow_null=True,
                                       help_text="Recurring only; needs interval_count. Alias billingInterval")
    interval_count = serializers.IntegerField(min_value=1, required=False, allow_null=True,
                                              help_text="Required with interval, ≥ 1. Alias billingIntervalCount")
    trial_days = serializers.IntegerField(min_value=0, max_value=MAX_TRIAL_DAYS, required=False, allow_null=True,
                                          help_text="Recurring only. Alias trialPeriodDays")
    tax_behavior = serializers.ChoiceField(choices=TaxBehavior.choices, required=False)
    nickname = serializers.CharField(max_length=200, required=False, allow_blank=True, allow_null=True)
    lookup_key = serializers.CharField(max_length=200, required=False, allow_blank=True, allow_null=True,
                                       help_text="Unique among the merchant's active prices")
    metadata = MetadataField()
    active = serializers.BooleanField(required=False)


class PriceUpdateInput(StrictInputSerializer):
    """Only nickname, lookup_key, metadata and active (page 265). A pricing field is a 400 that says to
    create a new price and archive this one."""

    aliases = {"lookupKey": "lookup_key", "is_active": "active", "isActive": "active"}
    nickname = serializers.CharField(max_length=200, required=False, allow_blank=True, allow_null=True)
    lookup_key = serializers.CharField(max_length=200, required=False, allow_blank=True, allow_null=True)
    metadata = MetadataField()
    active = serializers.BooleanField(required=False, help_text="false archives the price")

    def to_internal_value(self, data):
        if isinstance(data, dict):
            names = {PRICE_ALIASES.get(key, key) for key in data}
            immutable = sorted(names & set(IMMUTABLE_PRICE_FIELDS))
            if immutable:
                raise serializers.ValidationError({name: [IMMUTABLE_MESSAGE] for name in immutable})
        return super().to_internal_value(data)


class PriceFilter(AliasedQuery):
    aliases = {"productId": "product_id", "product": "product_id", "is_active": "active", "isActive": "active",
               "lookupKey": "lookup_key", "pricingModel": "pricing_model"}
    product_id = serializers.CharField(required=False, max_length=40)
    active = QueryBoolean()
    type = serializers.ChoiceField(choices=PriceType.choices, required=False)
    currency = CurrencyField(required=False)
    pricing_model = serializers.ChoiceField(choices=PricingModel.choices, required=False)
    lookup_key = serializers.CharField(required=False, max_length=200)


class PriceListCreateApi(ApiView):
    operation_ids = {"get": "prices_list", "post": "prices_create"}

    @extend_schema(parameters=[PriceFilter, *list_params()], responses={200: docs.PriceList}, summary="List prices",
                   description="Newest first. Filter by `product_id`, `active`, `type`, `currency`, `pricing_model`, "
                               "`lookup_key`.")
    def get(self, request):
        filters = PriceFilter(data=request.query_params)
        filters.is_valid(raise_exception=True)
        query = {k: v for k, v in filters.validated_data.items() if v is not None}
        return self.respond_list(selectors.price_list(tenant=self.tenant, **query), price_payload)

    @extend_schema(request=PriceCreateInput, responses={201: docs.PriceResponse}, summary="Create a price",
                   description="Fixed, pay-what-you-want, free or tiered (graduated, volume, package, flat + per "
                               "unit); one-time or recurring (`interval` with `interval_count`). Amounts are integer "
                               "minor units, never negative.")
    def post(self, request):
        body = PriceCreateInput(data=request.data)
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        if data.get("tiers") is not None:
            data["tiers"] = [dict(t) for t in data["tiers"]]
        price = services.price_create(tenant=self.tenant, actor=self.actor, data=data, request_id=request_id(request))
        return self.respond(price_payload(price), status=201)


class PriceDetailApi(ApiView):
    operation_ids = {"get": "prices_get", "patch": "prices_update", "delete": "prices_archive"}

    @extend_schema(responses={200: docs.PriceResponse}, summary="Retrieve a price")
    def get(self, request, price_id):
        return self.respond(price_payload(selectors.price_get(tenant=self.tenant, price_id=price_id)))

    @extend_schema(request=PriceUpdateInput, responses={200: docs.PriceResponse}, summary="Update a price",
                   description="Only `active`, `nickname`, `lookup_key` and `metadata` change; pricing fields are "
                               "immutable (create a new price and archive the old one).")
    def patch(self, request, price_id):
        body = PriceUpdateInput(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        price = services.price_update(tenant=self.tenant, actor=self.actor, price_id=price_id,
                                      data=body.validated_data, request_id=request_id(request))
        return self.respond(price_payload(price))

    @extend_schema(request=None, responses={200: docs.PriceResponse}, summary="Archive a price",
                   description="Sets `active` to false; the price stays and can no longer be bought.")
    def delete(self, request, price_id):
        price = services.price_archive(tenant=self.tenant, actor=self.actor, price_id=price_id,
                                       request_id=request_id(request))
        return self.respond(price_payload(price))

"""/v2/discounts: create, get, list, update, delete (pages 159–163)."""
from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers

from apps.core.api.serializers import StrictInputSerializer
from apps.core.api.views import ApiView

from .. import selectors, services
from ..models import DiscountDuration, DiscountScope, DiscountType
from ..payloads import discount_payload
from ..validation import MAX_TRIAL_DAYS
from . import docs
from .fields import (
    AliasedQuery,
    CurrencyField,
    IndexedListField,
    IndexedListSerializer,
    MetadataField,
    QueryBoolean,
    amount_field,
    list_params,
    request_id,
)

DISCOUNT_ALIASES = {
    "percentOff": "percent_off", "amountOff": "amount_off_minor", "amount_off": "amount_off_minor",
    "amountOffMinor": "amount_off_minor", "amountsOff": "amounts_off", "trialDays": "trial_days",
    "durationInPeriods": "duration_in_periods", "duration_in_months": "duration_in_periods",
    "durationInMonths": "duration_in_periods", "maxRedemptions": "max_redemptions",
    "maxRedemptionsPerCustomer": "max_redemptions_per_customer",
    "firstTimeCustomerOnly": "first_time_customer_only", "startsAt": "starts_at", "expiresAt": "expires_at",
    "productIds": "product_ids", "priceIds": "price_ids", "minimumAmountMinor": "minimum_amount_minor",
    "minimum_amount": "minimum_amount_minor", "minimumAmount": "minimum_amount_minor",
    "minimumAmountCurrency": "minimum_amount_currency", "is_active": "active", "isActive": "active",
}


class AmountOffInput(StrictInputSerializer):
    class Meta:
        list_serializer_class = IndexedListSerializer

    aliases = {"amountOffMinor": "amount_off_minor", "amount_off": "amount_off_minor", "amountOff": "amount_off_minor"}
    currency = CurrencyField()
    amount_off_minor = amount_field()


class DiscountFieldsInput(StrictInputSerializer):
    aliases = DISCOUNT_ALIASES
    code = serializers.CharField(max_length=64, required=False, allow_blank=True, allow_null=True,
                                 help_text="Promotion code customers type; case-insensitive, unique per merchant")
    name = serializers.CharField(max_length=200, required=False, allow_blank=True, allow_null=True)
    type = serializers.ChoiceField(choices=DiscountType.choices, required=False)
    percent_off = serializers.DecimalField(max_digits=7, decimal_places=4, required=False, allow_null=True,
                                           help_text="Percentage types: greater than 0, at most 100. Alias percentOff")
    amount_off_minor = amount_field(required=False, allow_null=True,
                                    help_text="Fixed types: amount off in minor units, with currency. Alias amountOff")
    currency = CurrencyField(required=False, allow_null=True)
    amounts_off = AmountOffInput(many=True, required=False, allow_null=True,
                                 help_text="Fixed types: one amount per currency")
    trial_days = serializers.IntegerField(min_value=1, max_value=MAX_TRIAL_DAYS, required=False, allow_null=True)
    duration = serializers.ChoiceField(choices=DiscountDuration.choices, required=False)
    duration_in_periods = serializers.IntegerField(min_value=1, max_value=120, required=False, allow_null=True,
                                                   help_text="With duration repeating: how many billing periods")
    max_redemptions = serializers.IntegerField(min_value=1, required=False, allow_null=True)
    max_redemptions_per_customer = serializers.IntegerField(min_value=1, required=False, allow_null=True)
    first_time_customer_only = serializers.BooleanField(required=False)
    starts_at = serializers.DateTimeField(required=False, allow_null=True)
    expires_at = serializers.DateTimeField(required=False, allow_null=True)
    scope = serializers.ChoiceField(choices=DiscountScope.choices, required=False)
    product_ids = IndexedListField(child=serializers.CharField(max_length=40), max_length=100, required=False)
    price_ids = IndexedListField(child=serializers.CharField(max_length=40), max_length=100, required=False)
    minimum_amount_minor = amount_field(required=False, allow_null=True)
    minimum_amount_currency = CurrencyField(required=False, allow_null=True)
    active = serializers.BooleanField(required=False)
    metadata = MetadataField()


class DiscountCreateInput(DiscountFieldsInput):
    type = serializers.ChoiceField(choices=DiscountType.choices)


class DiscountFilter(AliasedQuery):
    aliases = {"is_active": "active", "isActive": "active"}
    code = serializers.CharField(required=False, max_length=64, help_text="Exact code, case-insensitive")
    active = QueryBoolean(help_text="true: usable; false: deactivated or archived")
    type = serializers.ChoiceField(choices=DiscountType.choices, required=False)


def _data(validated: dict) -> dict:
    data = dict(validated)
    if data.get("amounts_off") is not None:
        data["amounts_off"] = [dict(row) for row in data["amounts_off"]]
    return data


class DiscountListCreateApi(ApiView):
    operation_ids = {"get": "discounts_list", "post": "discounts_create"}

    @extend_schema(parameters=[DiscountFilter, *list_params()], responses={200: docs.DiscountList},
                   summary="List discounts", description="Discounts that are not deleted, newest first.")
    def get(self, request):
        filters = DiscountFilter(data=request.query_params)
        filters.is_valid(raise_exception=True)
        query = {k: v for k, v in filters.validated_data.items() if v is not None}
        return self.respond_list(selectors.discount_list(tenant=self.tenant, **query), discount_payload)

    @extend_schema(request=DiscountCreateInput, responses={201: docs.DiscountResponse}, summary="Create a discount",
                   description="Percentage (`percent_off`), fixed (`amount_off_minor` + `currency`, or `amounts_off` "
                               "for several currencies) or free_trial (`trial_days`). A duplicate code is a 400.")
    def post(self, request):
        body = DiscountCreateInput(data=request.data)
        body.is_valid(raise_exception=True)
        discount = services.discount_create(tenant=self.tenant, actor=self.actor, data=_data(body.validated_data),
                                            request_id=request_id(request))
        return self.respond(discount_payload(discount), status=201)


class DiscountDetailApi(ApiView):
    operation_ids = {"get": "discounts_get", "patch": "discounts_update", "delete": "discounts_delete"}

    @extend_schema(responses={200: docs.DiscountResponse}, summary="Get discount by ID")
    def get(self, request, discount_id):
        return self.respond(discount_payload(selectors.discount_get(tenant=self.tenant, discount_id=discount_id)))

    @extend_schema(request=DiscountFieldsInput, responses={200: docs.DiscountResponse}, summary="Update a discount",
                   description="The code and type cannot be changed. The value (percent, amounts, trial days, "
                               "duration) can change only until the first redemption.")
    def patch(self, request, discount_id):
        body = DiscountFieldsInput(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        discount = services.discount_update(tenant=self.tenant, actor=self.actor, discount_id=discount_id,
                                            data=_data(body.validated_data), request_id=request_id(request))
        return self.respond(discount_payload(discount))

    @extend_schema(request=None, responses={200: docs.DiscountResponse}, summary="Delete a discount",
                   description="Soft delete: the code can no longer be used. A discount that was never redeemed "
                               "is gone (404 afterwards, its code free again); a redeemed one is archived and keeps "
                               "its history.")
    def delete(self, request, discount_id):
        discount = services.discount_delete(tenant=self.tenant, actor=self.actor, discount_id=discount_id,
                                            request_id=request_id(request))
        return self.respond(discount_payload(discount))

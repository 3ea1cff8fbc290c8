"""Output shapes for the OpenAPI document. The payloads themselves are built by apps.catalog.payloads
(the same objects events carry); these serializers only describe them."""
from drf_spectacular.utils import inline_serializer
from rest_framework import serializers

from apps.core.api.events import PaginationSerializer


class TierOut(serializers.Serializer):
    up_to = serializers.IntegerField(allow_null=True, help_text="Inclusive; null on the last tier (infinity)")
    unit_amount_minor = serializers.IntegerField()
    flat_amount_minor = serializers.IntegerField()


class PriceOut(serializers.Serializer):
    id = serializers.CharField()
    object = serializers.CharField(default="price")
    product_id = serializers.CharField()
    active = serializers.BooleanField()
    type = serializers.ChoiceField(choices=["one_time", "recurring"])
    pricing_model = serializers.ChoiceField(choices=["fixed", "pay_what_you_want", "free", "graduated", "volume",
                                                     "package", "flat_per_unit"])
    currency = serializers.CharField()
    unit_amount_minor = serializers.IntegerField(allow_null=True)
    flat_amount_minor = serializers.IntegerField(allow_null=True)
    package_size = serializers.IntegerField(allow_null=True)
    tiers = TierOut(many=True)
    minimum_amount_minor = serializers.IntegerField(allow_null=True)
    suggested_amount_minor = serializers.IntegerField(allow_null=True)
    interval = serializers.CharField(allow_null=True)
    interval_count = serializers.IntegerField(allow_null=True)
    trial_days = serializers.IntegerField(allow_null=True)
    tax_behavior = serializers.ChoiceField(choices=["exclusive", "inclusive"])
    nickname = serializers.CharField(allow_null=True)
    lookup_key = serializers.CharField(allow_null=True)
    metadata = serializers.DictField(child=serializers.CharField())
    has_been_sold = serializers.BooleanField()
    livemode = serializers.BooleanField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class BenefitRefOut(serializers.Serializer):
    id = serializers.CharField()
    key = serializers.CharField()
    name = serializers.CharField()
    type = serializers.CharField()


class ExternalIdOut(serializers.Serializer):
    source = serializers.CharField()
    external_id = serializers.CharField()


class ProductOut(serializers.Serializer):
    id = serializers.CharField()
    object = serializers.CharField(default="product")
    name = serializers.CharField()
    description = serializers.CharField(allow_null=True)
    lookup_key = serializers.CharField(allow_null=True)
    kind = serializers.CharField()
    fulfillment_type = serializers.ChoiceField(choices=["physical", "digital", "none"])
    active = serializers.BooleanField()
    images = serializers.ListField(child=serializers.URLField())
    features = serializers.ListField(child=serializers.CharField())
    metadata = serializers.DictField(child=serializers.CharField())
    prices = PriceOut(many=True, help_text="The product's active prices")
    benefits = BenefitRefOut(many=True)
    external_ids = ExternalIdOut(many=True)
    has_been_sold = serializers.BooleanField()
    livemode = serializers.BooleanField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class AmountOffOut(serializers.Serializer):
    currency = serializers.CharField()
    amount_off_minor = serializers.IntegerField()


class DiscountOut(serializers.Serializer):
    id = serializers.CharField()
    object = serializers.CharField(default="discount")
    code = serializers.CharField(allow_null=True)
    name = serializers.CharField(allow_null=True)
    type = serializers.ChoiceField(choices=["percentage", "fixed", "free_trial"])
    percent_off = serializers.DecimalField(max_digits=7, decimal_places=4, allow_null=True, coerce_to_string=False)
    amount_off_minor = serializers.IntegerField(allow_null=True)
    currency = serializers.CharField(allow_null=True)
    amounts_off = AmountOffOut(many=True)
    trial_days = serializers.IntegerField(allow_null=True)
    duration = serializers.ChoiceField(choices=["once", "repeating", "forever"])
    duration_in_periods = serializers.IntegerField(allow_null=True)
    scope = serializers.ChoiceField(choices=["entire_order", "specific_products", "subscription_only", "one_time_only"])
    product_ids = serializers.ListField(child=serializers.CharField())
    price_ids = serializers.ListField(child=serializers.CharField())
    max_redemptions = serializers.IntegerField(allow_null=True)
    max_redemptions_per_customer = serializers.IntegerField(allow_null=True)
    times_redeemed = serializers.IntegerField()
    first_time_customer_only = serializers.BooleanField()
    minimum_amount_minor = serializers.IntegerField(allow_null=True)
    minimum_amount_currency = serializers.CharField(allow_null=True)
    starts_at = serializers.DateTimeField(allow_null=True)
    expires_at = serializers.DateTimeField(allow_null=True)
    active = serializers.BooleanField()
    archived = serializers.BooleanField()
    archived_at = serializers.DateTimeField(allow_null=True)
    valid = serializers.BooleanField(help_text="Usable now: active, within its dates, redemptions left")
    metadata = serializers.DictField(child=serializers.CharField())
    livemode = serializers.BooleanField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    deleted = serializers.BooleanField(required=False)
    deleted_at = serializers.DateTimeField(required=False)


class EntitlementOut(serializers.Serializer):
    id = serializers.CharField()
    object = serializers.CharField(default="entitlement")
    customer_id = serializers.CharField()
    benefit_id = serializers.CharField()
    benefit_key = serializers.CharField()
    benefit = BenefitRefOut()
    status = serializers.ChoiceField(choices=["active", "expired", "revoked"])
    has_access = serializers.BooleanField()
    source = serializers.ChoiceField(choices=["purchase", "manual", "api"])
    source_reference = serializers.CharField(allow_null=True)
    granted_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField(allow_null=True)
    revoked_at = serializers.DateTimeField(allow_null=True)
    revoke_reason = serializers.CharField(allow_null=True)
    metadata = serializers.DictField(child=serializers.CharField())
    livemode = serializers.BooleanField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class EntitlementCheckOut(serializers.Serializer):
    object = serializers.CharField(default="entitlement_check")
    customer_id = serializers.CharField()
    benefit_key = serializers.CharField()
    has_access = serializers.BooleanField()
    entitlement = EntitlementOut(allow_null=True)


class BatchRowResultOut(serializers.Serializer):
    index = serializers.IntegerField()
    status = serializers.ChoiceField(choices=["created", "updated", "unchanged", "stale", "error", "skipped"])
    id = serializers.CharField(allow_null=True)
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()), allow_null=True)


class BatchResultOut(serializers.Serializer):
    object = serializers.CharField(default="product_batch")
    results = BatchRowResultOut(many=True)
    summary = serializers.DictField(child=serializers.IntegerField())


def one(name: str, serializer) -> serializers.Serializer:
    return inline_serializer(name=name, fields={"data": serializer})


def many(name: str, serializer) -> serializers.Serializer:
    return inline_serializer(name=name, fields={"data": serializer, "pagination": PaginationSerializer()})


ProductResponse = one("ProductResponse", ProductOut())
ProductList = many("ProductList", ProductOut(many=True))
PriceResponse = one("PriceResponse", PriceOut())
PriceList = many("PriceList", PriceOut(many=True))
DiscountResponse = one("DiscountResponse", DiscountOut())
DiscountList = many("DiscountList", DiscountOut(many=True))
EntitlementResponse = one("EntitlementResponse", EntitlementOut())
EntitlementList = many("EntitlementList", EntitlementOut(many=True))
EntitlementCheckResponse = one("EntitlementCheckResponse", EntitlementCheckOut())
ProductBatchResponse = one("ProductBatchResponse", BatchResultOut())

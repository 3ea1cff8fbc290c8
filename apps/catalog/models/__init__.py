"""The catalog's models: products and prices, discounts, benefits and entitlements."""
from .benefits import (
    Benefit,
    BenefitDelivery,
    BenefitType,
    Entitlement,
    EntitlementSource,
    EntitlementStatus,
    OnCancellation,
    ProductBenefit,
    SubscriptionGrant,
)
from .discounts import (
    Discount,
    DiscountAmount,
    DiscountDuration,
    DiscountRedemption,
    DiscountScope,
    DiscountType,
)
from .products import (
    TIERED_MODELS,
    FulfillmentType,
    Interval,
    Price,
    PriceTier,
    PriceType,
    PricingModel,
    Product,
    ProductExternalId,
    ProductKind,
    TaxBehavior,
)

__all__ = [
    "Benefit", "BenefitDelivery", "BenefitType", "Entitlement", "EntitlementSource", "EntitlementStatus",
    "OnCancellation", "ProductBenefit", "SubscriptionGrant",
    "Discount", "DiscountAmount", "DiscountDuration", "DiscountRedemption", "DiscountScope", "DiscountType",
    "TIERED_MODELS", "FulfillmentType", "Interval", "Price", "PriceTier", "PriceType", "PricingModel", "Product",
    "ProductExternalId", "ProductKind", "TaxBehavior",
]

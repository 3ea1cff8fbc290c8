"""Products and prices (pages 009, 026, 261–271).

A product has no price of its own; it has 1..n prices (intervals, currencies, one-time and recurring
on the same product). Money is an integer count of minor units plus the price's currency.

Prices are append-only where money is concerned: once created, a price's amounts, currency, model,
tiers and interval never change (page 265: "core pricing fields are immutable"). To change what a
product costs, create a new price and archive the old one, so everything already sold keeps pointing
at exactly what was sold. `has_been_sold` is set by later issues (checkout, invoices, subscriptions)
through `services.price_mark_sold`; a sold product or price can be archived but never deleted.
"""
from __future__ import annotations

from django.db import models
from django.db.models import Q

from apps.core.clock import now
from apps.core.ids import PrefixedIdField
from apps.core.tenancy import TenantModel


class FulfillmentType(models.TextChoices):
    PHYSICAL = "physical", "Physical (shipped)"
    DIGITAL = "digital", "Digital (download or access)"
    NONE = "none", "None (service)"


class ProductKind(models.TextChoices):
    ONE_TIME = "one_time", "One-time"
    SUBSCRIPTION = "subscription", "Subscription"
    SERVICE = "service", "Service or package"
    USAGE = "usage", "Usage-based"


class Product(TenantModel):
    id = PrefixedIdField(prefix="prod")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    lookup_key = models.CharField(max_length=200, blank=True,
                                  help_text="The merchant's own identifier (the guide's productId, e.g. pro_monthly).")
    kind = models.CharField(max_length=20, choices=ProductKind.choices, default=ProductKind.ONE_TIME)
    fulfillment_type = models.CharField(max_length=20, choices=FulfillmentType.choices, default=FulfillmentType.NONE)
    images = models.JSONField(default=list, blank=True, help_text="Image URLs, shown at checkout.")
    features = models.JSONField(default=list, blank=True, help_text="Feature list shown at checkout (page 026).")
    metadata = models.JSONField(default=dict, blank=True)
    active = models.BooleanField(default=True, help_text="Archived products (false) are hidden from new purchases.")
    has_been_sold = models.BooleanField(default=False, help_text="Set when a price of it is first sold; "
                                                                 "a sold product can be archived, never deleted.")
    created_at = models.DateTimeField(default=now)
    updated_at = models.DateTimeField(default=now)
    benefits = models.ManyToManyField("catalog.Benefit", through="catalog.ProductBenefit", related_name="products",
                                      blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["merchant", "livemode", "-created_at"], name="product_tenant_created"),
            models.Index(fields=["merchant", "livemode", "active"], name="product_tenant_active"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["merchant", "livemode", "lookup_key"], condition=~Q(lookup_key=""),
                                    name="product_lookup_key_unique"),
        ]

    def __str__(self):
        return self.name


class ProductExternalId(TenantModel):
    """A product's id in another system (`source`: "practicehub", "wodify", "shopify", …).

    One id per (merchant, mode, source), one id per source per product. `external_updated_at` is the
    source's own last-modified time, kept for stale-update protection (pages 267/268).
    """

    id = PrefixedIdField(prefix="pext")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="external_ids")
    source = models.CharField(max_length=50)
    external_id = models.CharField(max_length=255)
    external_updated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=now)

    class Meta:
        ordering = ["source", "external_id"]
        verbose_name = "product external id"
        constraints = [
            models.UniqueConstraint(fields=["merchant", "livemode", "source", "external_id"],
                                    name="product_external_id_unique"),
            models.UniqueConstraint(fields=["product", "source"], name="product_one_external_id_per_source"),
        ]

    def __str__(self):
        return f"{self.source}:{self.external_id}"


class PriceType(models.TextChoices):
    ONE_TIME = "one_time", "One-time"
    RECURRING = "recurring", "Recurring"


class PricingModel(models.TextChoices):
    FIXED = "fixed", "Fixed (unit amount × quantity)"
    PAY_WHAT_YOU_WANT = "pay_what_you_want", "Pay what you want"
    FREE = "free", "Free"
    GRADUATED = "graduated", "Graduated tiers"
    VOLUME = "volume", "Volume tiers"
    PACKAGE = "package", "Package"
    FLAT_PER_UNIT = "flat_per_unit", "Flat fee + per unit"


TIERED_MODELS = (PricingModel.GRADUATED, PricingModel.VOLUME)


class Interval(models.TextChoices):
    DAY = "day", "Day"
    WEEK = "week", "Week"
    MONTH = "month", "Month"
    QUARTER = "quarter", "Quarter (3 months)"
    HALF_YEAR = "half_year", "Half year (6 months)"
    YEAR = "year", "Year"


class TaxBehavior(models.TextChoices):
    EXCLUSIVE = "exclusive", "Exclusive (tax added on top)"
    INCLUSIVE = "inclusive", "Inclusive (tax included)"


class Price(TenantModel):
    """What a product costs and how it is billed.

    - `type`: one_time or recurring (recurring needs `interval` and `interval_count`; `trial_days`
      only on recurring prices).
    - `pricing_model`: fixed (`unit_amount_minor` × quantity), pay_what_you_want (`minimum_amount_minor`,
      optional `suggested_amount_minor`), free, graduated / volume (`tiers`), package
      (`unit_amount_minor` per started `package_size` units) or flat_per_unit (`flat_amount_minor` +
      `unit_amount_minor` × quantity). The arithmetic is `calculations.price_amount_for_quantity`.
    """

    id = PrefixedIdField(prefix="price")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="prices")
    type = models.CharField(max_length=20, choices=PriceType.choices, default=PriceType.ONE_TIME)
    pricing_model = models.CharField(max_length=20, choices=PricingModel.choices, default=PricingModel.FIXED)
    currency = models.CharField(max_length=3)
    unit_amount_minor = models.BigIntegerField(null=True, blank=True)
    flat_amount_minor = models.BigIntegerField(null=True, blank=True)
    package_size = models.PositiveIntegerField(null=True, blank=True)
    minimum_amount_minor = models.BigIntegerField(null=True, blank=True)
    suggested_amount_minor = models.BigIntegerField(null=True, blank=True)
    interval = models.CharField(max_length=20, choices=Interval.choices, blank=True)
    interval_count = models.PositiveSmallIntegerField(null=True, blank=True)
    trial_days = models.PositiveSmallIntegerField(null=True, blank=True)
    tax_behavior = models.CharField(max_length=20, choices=TaxBehavior.choices, default=TaxBehavior.EXCLUSIVE)
    nickname = models.CharField(max_length=200, blank=True)
    lookup_key = models.CharField(max_length=200, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    active = models.BooleanField(default=True)
    has_been_sold = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=now)
    updated_at = models.DateTimeField(default=now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["merchant", "livemode", "-created_at"], name="price_tenant_created"),
            models.Index(fields=["product", "active"], name="price_product_active"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=(Q(unit_amount_minor__isnull=True) | Q(unit_amount_minor__gte=0))
                & (Q(flat_amount_minor__isnull=True) | Q(flat_amount_minor__gte=0))
                & (Q(minimum_amount_minor__isnull=True) | Q(minimum_amount_minor__gte=0))
                & (Q(suggested_amount_minor__isnull=True) | Q(suggested_amount_minor__gte=0)),
                name="price_amounts_not_negative"),
            models.CheckConstraint(
                condition=Q(package_size__isnull=True) | Q(package_size__gte=1), name="price_package_size_positive"),
            models.CheckConstraint(
                condition=(Q(type="recurring") & ~Q(interval="") & Q(interval_count__gte=1))
                | (Q(type="one_time") & Q(interval="") & Q(interval_count__isnull=True) & Q(trial_days__isnull=True)),
                name="price_interval_matches_type"),
            models.UniqueConstraint(fields=["merchant", "livemode", "lookup_key"],
                                    condition=Q(active=True) & ~Q(lookup_key=""), name="price_lookup_key_unique_active"),
        ]

    def __str__(self):
        return self.nickname or self.id

    @property
    def is_recurring(self) -> bool:
        return self.type == PriceType.RECURRING

    def tier_list(self) -> list[PriceTier]:
        """The tiers in order; uses the prefetch when there is one."""
        cache = getattr(self, "_prefetched_objects_cache", {})
        rows = cache["tiers"] if "tiers" in cache else self.tiers.all()
        return sorted(rows, key=lambda t: t.position)

    def as_spec(self):
        """The pure description `calculations.price_amount_for_quantity` works on."""
        from apps.catalog.calculations import PriceSpec, Tier

        return PriceSpec(
            pricing_model=self.pricing_model, currency=self.currency, unit_amount_minor=self.unit_amount_minor,
            flat_amount_minor=self.flat_amount_minor, package_size=self.package_size,
            minimum_amount_minor=self.minimum_amount_minor, suggested_amount_minor=self.suggested_amount_minor,
            tiers=tuple(Tier(up_to=t.up_to, unit_amount_minor=t.unit_amount_minor,
                             flat_amount_minor=t.flat_amount_minor) for t in self.tier_list()),
        )


class PriceTier(models.Model):
    """One tier of a graduated or volume price. `up_to` is inclusive; null on the last tier (infinity)."""

    price = models.ForeignKey(Price, on_delete=models.CASCADE, related_name="tiers")
    position = models.PositiveSmallIntegerField()
    up_to = models.BigIntegerField(null=True, blank=True)
    unit_amount_minor = models.BigIntegerField(default=0)
    flat_amount_minor = models.BigIntegerField(default=0)

    class Meta:
        ordering = ["price", "position"]
        constraints = [
            models.UniqueConstraint(fields=["price", "position"], name="price_tier_position_unique"),
            models.CheckConstraint(condition=Q(unit_amount_minor__gte=0) & Q(flat_amount_minor__gte=0)
                                   & (Q(up_to__isnull=True) | Q(up_to__gte=1)), name="price_tier_amounts_valid"),
        ]

    def __str__(self):
        return f"{self.price_id} tier {self.position + 1} (up to {self.up_to or '∞'})"

"""Discounts and their redemptions (pages 026, 159–163).

A discount is a percentage off, a fixed amount off (one amount per currency: a discount can carry
USD, EUR and GBP amounts at once) or a free-trial extension. It may carry a promotion `code` that
customers type at checkout (case-insensitive, unique per merchant and mode among discounts that are
not deleted); a discount without a code can still be applied by id (`discountId` on orders and
subscriptions).

`times_redeemed` is only ever changed by `services.discount_redeem`, under a row lock and with a
conditional UPDATE; a CHECK constraint makes "more redemptions than max_redemptions" impossible even
for code that bypasses the service. Every redemption is a `DiscountRedemption` row (the history the
dashboard's usage counts and "total discounted" come from).

Delete (page 160) is a soft delete: a discount that was never redeemed disappears (404, its code is
free again); one that was redeemed is archived instead (inactive for good, still listed with its
history, code kept).
"""
from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower

from apps.core.clock import now
from apps.core.ids import PrefixedIdField
from apps.core.tenancy import TenantModel


class DiscountType(models.TextChoices):
    PERCENTAGE = "percentage", "Percentage off"
    FIXED = "fixed", "Fixed amount off"
    FREE_TRIAL = "free_trial", "Free trial"


class DiscountDuration(models.TextChoices):
    ONCE = "once", "Once"
    REPEATING = "repeating", "Repeating (N periods)"
    FOREVER = "forever", "Forever"


class DiscountScope(models.TextChoices):
    ENTIRE_ORDER = "entire_order", "Entire order"
    SPECIFIC_PRODUCTS = "specific_products", "Specific products or prices"
    SUBSCRIPTION_ONLY = "subscription_only", "Recurring purchases only"
    ONE_TIME_ONLY = "one_time_only", "One-time purchases only"


class LiveDiscountManager(models.Manager):
    """The default manager: discounts that are not deleted (archived ones are still here)."""

    def get_queryset(self):
        return super().get_queryset().filter(deleted_at__isnull=True)


class Discount(TenantModel):
    id = PrefixedIdField(prefix="disc")
    code = models.CharField(max_length=64, blank=True, help_text="Promotion code; matched case-insensitively.")
    name = models.CharField(max_length=200, blank=True)
    type = models.CharField(max_length=20, choices=DiscountType.choices)
    percent_off = models.DecimalField(max_digits=7, decimal_places=4, null=True, blank=True)
    trial_days = models.PositiveSmallIntegerField(null=True, blank=True)
    duration = models.CharField(max_length=20, choices=DiscountDuration.choices, default=DiscountDuration.ONCE)
    duration_in_periods = models.PositiveSmallIntegerField(null=True, blank=True)
    scope = models.CharField(max_length=30, choices=DiscountScope.choices, default=DiscountScope.ENTIRE_ORDER)
    products = models.ManyToManyField("catalog.Product", related_name="+", blank=True)
    prices = models.ManyToManyField("catalog.Price", related_name="+", blank=True)
    max_redemptions = models.PositiveIntegerField(null=True, blank=True)
    max_redemptions_per_customer = models.PositiveIntegerField(null=True, blank=True)
    times_redeemed = models.PositiveIntegerField(default=0)
    first_time_customer_only = models.BooleanField(default=False)
    starts_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    minimum_amount_minor = models.BigIntegerField(null=True, blank=True)
    minimum_amount_currency = models.CharField(max_length=3, blank=True)
    active = models.BooleanField(default=True)
    archived_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=now)
    updated_at = models.DateTimeField(default=now)

    objects = LiveDiscountManager()
    all_objects = models.Manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        base_manager_name = "all_objects"
        constraints = [
            models.UniqueConstraint(Lower("code"), "merchant", "livemode",
                                    condition=Q(deleted_at__isnull=True) & ~Q(code=""),
                                    name="discount_code_unique_live"),
            models.CheckConstraint(condition=Q(max_redemptions__isnull=True) | Q(times_redeemed__lte=models.F("max_redemptions")),
                                   name="discount_redemptions_within_max"),
            models.CheckConstraint(condition=Q(percent_off__isnull=True) | (Q(percent_off__gt=0) & Q(percent_off__lte=100)),
                                   name="discount_percent_off_range"),
            models.CheckConstraint(condition=Q(minimum_amount_minor__isnull=True) | Q(minimum_amount_minor__gte=0),
                                   name="discount_minimum_not_negative"),
        ]
        indexes = [
            models.Index(fields=["merchant", "livemode", "-created_at"], name="discount_tenant_created"),
            models.Index(Lower("code"), "merchant", "livemode", name="discount_tenant_code"),
        ]

    def __str__(self):
        return self.code or self.name or self.id

    @property
    def is_archived(self) -> bool:
        return self.archived_at is not None

    def amount_list(self) -> list[DiscountAmount]:
        cache = getattr(self, "_prefetched_objects_cache", {})
        rows = cache["amounts"] if "amounts" in cache else self.amounts.all()
        return sorted(rows, key=lambda a: (a.position, a.currency))

    def as_spec(self):
        from apps.catalog.calculations import DiscountSpec

        return DiscountSpec(type=self.type, percent_off=self.percent_off,
                            amounts_off={a.currency: a.amount_off_minor for a in self.amount_list()})


class DiscountAmount(models.Model):
    """The amount off in one currency, for fixed discounts."""

    discount = models.ForeignKey(Discount, on_delete=models.CASCADE, related_name="amounts")
    currency = models.CharField(max_length=3)
    amount_off_minor = models.BigIntegerField()
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["discount", "position"]
        constraints = [
            models.UniqueConstraint(fields=["discount", "currency"], name="discount_amount_one_per_currency"),
            models.CheckConstraint(condition=Q(amount_off_minor__gt=0), name="discount_amount_positive"),
        ]

    def __str__(self):
        return f"{self.amount_off_minor} {self.currency}"


class DiscountRedemption(TenantModel):
    """One use of a discount. `reference` (a checkout session, order or invoice id) makes a retried
    redemption for the same purchase return the first one instead of counting twice."""

    id = PrefixedIdField(prefix="dred")
    discount = models.ForeignKey(Discount, on_delete=models.PROTECT, related_name="redemptions")
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, null=True, blank=True,
                                 related_name="+")
    customer_email = models.EmailField(max_length=254, blank=True)
    code = models.CharField(max_length=64, blank=True, help_text="The code as typed.")
    currency = models.CharField(max_length=3)
    subtotal_minor = models.BigIntegerField()
    amount_off_minor = models.BigIntegerField()
    reference = models.CharField(max_length=100, blank=True)
    redeemed_at = models.DateTimeField(default=now)

    class Meta:
        ordering = ["-redeemed_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["discount", "reference"], condition=~Q(reference=""),
                                    name="discount_redemption_reference_unique"),
            models.CheckConstraint(condition=Q(amount_off_minor__gte=0) & Q(subtotal_minor__gte=0),
                                   name="discount_redemption_amounts_valid"),
        ]
        indexes = [
            models.Index(fields=["discount", "customer"], name="discount_redemption_customer"),
            models.Index(fields=["discount", "customer_email"], name="discount_redemption_email"),
        ]

    def __str__(self):
        return f"{self.discount_id} → {self.customer_id or self.customer_email}"

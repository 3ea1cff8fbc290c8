"""Benefits and entitlements (page 017).

A *benefit* is something a customer receives when they buy a product: access (a feature flag,
membership or course access), file downloads, license keys, a custom webhook-driven action or a
manual fulfilment. Each has a merchant-chosen `key` (unique per merchant and mode among benefits
that are not deleted) that integrations check: "may customer X use `pro-reports`?".

An *entitlement* is one customer holding one benefit: granted at `granted_at` (by a purchase, by
hand in the dashboard, or through the API), possibly until `expires_at`, and ended by `revoked_at`.
A customer holds at most one unrevoked entitlement per benefit (partial unique index), so granting
twice is idempotent even under concurrency.
"""
from __future__ import annotations

from django.db import models
from django.db.models import Q

from apps.core.clock import now
from apps.core.ids import PrefixedIdField
from apps.core.tenancy import TenantModel


class BenefitType(models.TextChoices):
    ACCESS_GRANT = "access_grant", "Access grant (feature, membership or course access)"
    FILE_DOWNLOAD = "file_download", "File download"
    LICENSE_KEY = "license_key", "License key"
    CUSTOM = "custom", "Custom (webhook)"
    MANUAL = "manual", "Manual fulfilment"


class BenefitDelivery(models.TextChoices):
    AFTER_PAYMENT = "after_payment", "Immediately after payment"
    AFTER_SUBSCRIPTION_ACTIVATION = "after_subscription_activation", "After subscription activation"
    ON_EVENT = "on_event", "On specific events"


class SubscriptionGrant(models.TextChoices):
    ON_ACTIVATION = "on_activation", "Grant on activation"
    ON_EACH_RENEWAL = "on_each_renewal", "Grant on each renewal"


class OnCancellation(models.TextChoices):
    REVOKE = "revoke", "Revoke on cancellation"
    KEEP = "keep", "Keep on cancellation"


class LiveBenefitManager(models.Manager):
    def get_queryset(self):
        return super().get_queryset().filter(deleted_at__isnull=True)


class Benefit(TenantModel):
    id = PrefixedIdField(prefix="ben")
    key = models.CharField(max_length=64, help_text="Used to check access, e.g. 'pro-reports'.")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    type = models.CharField(max_length=20, choices=BenefitType.choices, default=BenefitType.ACCESS_GRANT)
    config = models.JSONField(default=dict, blank=True, help_text="Type-specific settings (validation.clean_benefit_config).")
    delivery = models.CharField(max_length=40, choices=BenefitDelivery.choices, default=BenefitDelivery.AFTER_PAYMENT)
    subscription_grant = models.CharField(max_length=20, choices=SubscriptionGrant.choices,
                                          default=SubscriptionGrant.ON_ACTIVATION)
    on_cancellation = models.CharField(max_length=10, choices=OnCancellation.choices, default=OnCancellation.REVOKE)
    active = models.BooleanField(default=True, help_text="Inactive benefits are not granted by new purchases.")
    metadata = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=now)
    updated_at = models.DateTimeField(default=now)
    deleted_at = models.DateTimeField(null=True, blank=True)

    objects = LiveBenefitManager()
    all_objects = models.Manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        base_manager_name = "all_objects"
        constraints = [
            models.UniqueConstraint(fields=["merchant", "livemode", "key"], condition=Q(deleted_at__isnull=True),
                                    name="benefit_key_unique_live"),
        ]
        indexes = [models.Index(fields=["merchant", "livemode", "-created_at"], name="benefit_tenant_created")]

    def __str__(self):
        return f"{self.name} ({self.key})"


class ProductBenefit(models.Model):
    """A benefit attached to a product: buying the product grants it."""

    product = models.ForeignKey("catalog.Product", on_delete=models.CASCADE, related_name="product_benefits")
    benefit = models.ForeignKey(Benefit, on_delete=models.CASCADE, related_name="product_benefits")
    position = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(default=now)

    class Meta:
        ordering = ["product", "position", "id"]
        constraints = [models.UniqueConstraint(fields=["product", "benefit"], name="product_benefit_unique")]

    def __str__(self):
        return f"{self.product_id} → {self.benefit_id}"


class EntitlementSource(models.TextChoices):
    PURCHASE = "purchase", "Purchase"
    MANUAL = "manual", "Granted by hand"
    API = "api", "Granted through the API"


class EntitlementStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    EXPIRED = "expired", "Expired"
    REVOKED = "revoked", "Revoked"


class Entitlement(TenantModel):
    id = PrefixedIdField(prefix="ent")
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="entitlements")
    benefit = models.ForeignKey(Benefit, on_delete=models.PROTECT, related_name="entitlements")
    source = models.CharField(max_length=20, choices=EntitlementSource.choices)
    source_reference = models.CharField(max_length=100, blank=True,
                                        help_text="What granted it: an order, invoice or subscription id.")
    granted_at = models.DateTimeField(default=now)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoke_reason = models.CharField(max_length=200, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=now)
    updated_at = models.DateTimeField(default=now)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["customer", "benefit"], condition=Q(revoked_at__isnull=True),
                                    name="entitlement_one_unrevoked_per_benefit"),
        ]
        indexes = [
            models.Index(fields=["merchant", "livemode", "customer", "-created_at"], name="entitlement_customer"),
        ]

    def __str__(self):
        return f"{self.customer_id} ⇒ {self.benefit_id}"

    def status_at(self, when) -> str:
        if self.revoked_at is not None:
            # Closed by the expiry sweep (or a re-grant) at its expires_at: it expired, nobody revoked it.
            return EntitlementStatus.EXPIRED if self.revoke_reason == "expired" else EntitlementStatus.REVOKED
        if self.expires_at is not None and self.expires_at <= when:
            return EntitlementStatus.EXPIRED
        return EntitlementStatus.ACTIVE

    @property
    def status(self) -> str:
        return self.status_at(now())

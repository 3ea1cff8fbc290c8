"""Payment links (`/pay/<pl_…>`): a shareable checkout for one or more prices (page 018 §7.4)."""
from __future__ import annotations

from django.db import models
from django.db.models import Q

from apps.core.clock import now
from apps.core.ids import PrefixedIdField
from apps.core.statemachine import StateMachine
from apps.core.tenancy import TenantModel


class PaymentLink(TenantModel):
    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        INACTIVE = "inactive", "Inactive"
        ARCHIVED = "archived", "Archived"
        EXPIRED = "expired", "Expired"

    # p255: inactive is a pause, archived is permanent; an expired link can be given a new life by activating it.
    STATE_MACHINE = StateMachine({
        "active": {"inactive", "archived", "expired"},
        "inactive": {"active", "archived", "expired"},
        "expired": {"active", "archived"},
    })

    id = PrefixedIdField(prefix="pl")
    name = models.CharField(max_length=200, help_text="For the merchant; the page shows the products")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    currency = models.CharField(max_length=3)
    allow_quantity = models.BooleanField(default=False)
    allow_discount_codes = models.BooleanField(default=False)
    collect_billing_address = models.BooleanField(default=False)
    collect_shipping_address = models.BooleanField(default=False)
    is_business_purchase = models.BooleanField(default=False)
    require_terms = models.BooleanField(default=False)
    custom_fields = models.JSONField(default=list, blank=True, help_text="Extra fields of this link only")
    success_message = models.CharField(max_length=500, blank=True)
    success_url = models.URLField(max_length=1000, blank=True)
    cancel_url = models.URLField(max_length=1000, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    max_uses = models.PositiveIntegerField(null=True, blank=True)
    uses_count = models.PositiveIntegerField(default=0, help_text="Completed checkouts")
    views_count = models.PositiveIntegerField(default=0)
    sessions_started_count = models.PositiveIntegerField(default=0)
    revenue_minor = models.BigIntegerField(default=0)
    metadata = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=now)
    updated_at = models.DateTimeField(default=now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["merchant", "livemode", "-created_at"], name="plink_tenant_created")]
        constraints = [models.CheckConstraint(condition=Q(max_uses__isnull=True) | Q(uses_count__lte=models.F("max_uses")),
                                              name="payment_link_uses_within_max")]

    def __str__(self):
        return self.name


class PaymentLinkItem(TenantModel):
    id = PrefixedIdField(prefix="pli")
    link = models.ForeignKey(PaymentLink, on_delete=models.CASCADE, related_name="items")
    price = models.ForeignKey("catalog.Price", on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField(default=1)
    min_quantity = models.PositiveIntegerField(default=1)
    max_quantity = models.PositiveIntegerField(default=99)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]

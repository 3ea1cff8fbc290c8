"""Customers: the people and businesses a merchant bills (page 021), and their ids in other systems.

Soft delete (DECISIONS.md): deleting sets `deleted_at`. A deleted customer is invisible to the
default manager, so `Customer.objects` / `scoped(Customer, ...)` never see one and the API answers
404. Its email (and its external ids) are free again, so the same person checking out later becomes
a new customer. Rows that point at a deleted customer (invoices, payments) still reach it through
the foreign key, which uses the base manager. Operators and audits use `Customer.all_objects`.
"""
from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower

from apps.core.clock import now
from apps.core.ids import PrefixedIdField
from apps.core.tenancy import TenantModel


class CustomerQuerySet(models.QuerySet):
    def active(self):
        return self.filter(deleted_at__isnull=True)

    def deleted(self):
        return self.filter(deleted_at__isnull=False)


class ActiveCustomerManager(models.Manager.from_queryset(CustomerQuerySet)):
    """The default manager: customers that are not soft-deleted."""

    def get_queryset(self):
        return super().get_queryset().filter(deleted_at__isnull=True)


AllCustomersManager = models.Manager.from_queryset(CustomerQuerySet)


class Customer(TenantModel):
    """One customer of one merchant in one mode.

    `email` is stored lower-cased and is unique per merchant and mode among customers that are not
    deleted (a partial unique index on lower(email), so the rule holds even for rows written around
    the services). Addresses are JSON objects with exactly the keys of ADDRESS_FIELDS (or null);
    `tax_ids` is a list of {"type", "value"}; `metadata` a flat string→string map. The services
    (apps.customers.validation) are what guarantee those shapes.
    """

    id = PrefixedIdField(prefix="cus")
    email = models.EmailField(max_length=254)
    name = models.CharField(max_length=200, blank=True)
    company_name = models.CharField(max_length=200, blank=True)
    phone = models.CharField(max_length=40, blank=True)
    billing_address = models.JSONField(null=True, blank=True)
    shipping_address = models.JSONField(null=True, blank=True)
    tax_ids = models.JSONField(default=list, blank=True)
    locale = models.CharField(max_length=20, blank=True, help_text="BCP 47, e.g. en-GB")
    currency = models.CharField(max_length=3, blank=True, help_text="Preferred invoice currency (ISO 4217)")
    metadata = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=now)
    updated_at = models.DateTimeField(default=now)
    deleted_at = models.DateTimeField(null=True, blank=True)

    objects = ActiveCustomerManager()
    all_objects = AllCustomersManager()

    class Meta:
        ordering = ["-created_at", "-id"]
        base_manager_name = "all_objects"
        constraints = [
            models.UniqueConstraint(
                Lower("email"), "merchant", "livemode",
                condition=Q(deleted_at__isnull=True),
                name="customer_email_unique_active",
                violation_error_message="A customer with this email already exists.",
            ),
        ]
        indexes = [
            models.Index(fields=["merchant", "livemode", "-created_at"], name="customer_tenant_created"),
            models.Index(fields=["merchant", "livemode", "email"], name="customer_tenant_email"),
        ]

    def __str__(self):
        return f"{self.name} <{self.email}>" if self.name else self.email

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None


class CustomerExternalId(TenantModel):
    """A customer's id in another system (`source`: "practicehub", "wodify", …).

    One id per (merchant, mode, source) among live rows, and one id per source per customer. When
    the customer is soft-deleted its external ids get the same `deleted_at`, which frees them: an
    upsert of that id afterwards creates a new customer. `external_updated_at` is the source's own
    "last modified" time, kept for the batch upsert's stale-update protection (page 148).
    """

    id = PrefixedIdField(prefix="cext")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="external_ids")
    source = models.CharField(max_length=50)
    external_id = models.CharField(max_length=255)
    external_updated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=now)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["source", "external_id"]
        verbose_name = "customer external id"
        constraints = [
            models.UniqueConstraint(
                fields=["merchant", "livemode", "source", "external_id"],
                condition=Q(deleted_at__isnull=True),
                name="customer_external_id_unique_active",
            ),
            models.UniqueConstraint(
                fields=["customer", "source"],
                condition=Q(deleted_at__isnull=True),
                name="customer_one_external_id_per_source",
            ),
        ]
        indexes = [
            models.Index(fields=["merchant", "livemode", "external_id"], name="customer_extid_lookup"),
        ]

    def __str__(self):
        return f"{self.source}:{self.external_id}"

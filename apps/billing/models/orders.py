"""Orders (page 024): what must be fulfilled. Created when an invoice holding physical or digital
items is paid (one order per invoice, by a unique constraint), or by the API and dashboard."""
from __future__ import annotations

from django.db import models
from django.db.models import Q

from apps.core.clock import now
from apps.core.ids import PrefixedIdField
from apps.core.statemachine import StateMachine
from apps.core.tenancy import TenantModel


class Order(TenantModel):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        PENDING = "pending", "Pending"
        PARTIALLY_PAID = "partially_paid", "Partially paid"
        PAID = "paid", "Paid"
        PARTIALLY_FULFILLED = "partially_fulfilled", "Partially fulfilled"
        FULFILLED = "fulfilled", "Fulfilled"
        CANCELED = "canceled", "Canceled"
        REFUNDED = "refunded", "Refunded"

    STATE_MACHINE = StateMachine({
        "draft": {"pending", "canceled"},
        "pending": {"partially_paid", "paid", "canceled"},
        "partially_paid": {"paid", "canceled", "refunded"},
        "paid": {"partially_fulfilled", "fulfilled", "refunded", "canceled"},
        "partially_fulfilled": {"fulfilled", "refunded"},
        "fulfilled": {"refunded"},
    })

    id = PrefixedIdField(prefix="ord")
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="orders")
    invoice = models.OneToOneField("billing.Invoice", null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="order")
    subscription_id = models.CharField(max_length=40, blank=True)
    status = models.CharField(max_length=24, choices=Status.choices, default=Status.PENDING)
    currency = models.CharField(max_length=3)
    subtotal_minor = models.BigIntegerField(default=0)
    discount_minor = models.BigIntegerField(default=0)
    tax_minor = models.BigIntegerField(default=0)
    total_minor = models.BigIntegerField(default=0)
    amount_paid_minor = models.BigIntegerField(default=0)
    discount = models.ForeignKey("catalog.Discount", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    shipping_address = models.JSONField(null=True, blank=True)
    carrier = models.CharField(max_length=60, blank=True)
    tracking_number = models.CharField(max_length=100, blank=True)
    notes = models.TextField(blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    fulfilled_at = models.DateTimeField(null=True, blank=True)
    canceled_at = models.DateTimeField(null=True, blank=True)
    cancel_reason = models.CharField(max_length=500, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=now)
    updated_at = models.DateTimeField(default=now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["merchant", "livemode", "-created_at"], name="order_tenant_created"),
                   models.Index(fields=["merchant", "livemode", "status"], name="order_tenant_status")]

    def __str__(self):
        return self.pk


class OrderLine(TenantModel):
    class FulfillmentStatus(models.TextChoices):
        PENDING = "pending", "Pending"
        SHIPPED = "shipped", "Shipped"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed"
        REVOKED = "revoked", "Revoked"

    FULFILLMENT_MACHINE = StateMachine({
        "pending": {"shipped", "delivered", "failed"},
        "shipped": {"delivered", "failed"},
        "failed": {"pending", "delivered"},
        "delivered": {"revoked"},
    }, field="fulfillment_status")

    id = PrefixedIdField(prefix="orl")
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveIntegerField(default=0)
    product = models.ForeignKey("catalog.Product", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    price = models.ForeignKey("catalog.Price", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    invoice_line = models.OneToOneField("billing.InvoiceLine", null=True, blank=True, on_delete=models.PROTECT,
                                        related_name="order_line")
    description = models.CharField(max_length=500)
    quantity = models.PositiveIntegerField(default=1)
    amount_minor = models.BigIntegerField(help_text="The line total")
    fulfillment_type = models.CharField(max_length=20, help_text="physical or digital (the product's, at purchase)")
    fulfillment_status = models.CharField(max_length=20, choices=FulfillmentStatus.choices,
                                          default=FulfillmentStatus.PENDING)
    carrier = models.CharField(max_length=60, blank=True)
    tracking_number = models.CharField(max_length=100, blank=True)
    shipped_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["position", "id"]
        constraints = [models.CheckConstraint(condition=Q(quantity__gte=1), name="order_line_quantity_positive")]

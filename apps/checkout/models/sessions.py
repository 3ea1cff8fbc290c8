"""Checkout sessions (`/checkout/<cs_…>`, page 018 §7.1): one attempt of one buyer to pay for fixed items.

A session's items can change (quantity, pay-what-you-want amount, code) while it is open and has no
invoice. The first pay attempt creates the session's invoice (OneToOne: never two), and from then on
the invoice is what is paid: the payments engine refuses a second concurrent attempt on it, so double
clicks, back-button resubmits and concurrent completions make one charge at most.
"""
from __future__ import annotations

import secrets

from django.db import models

from apps.core.clock import now
from apps.core.ids import PrefixedIdField
from apps.core.statemachine import StateMachine
from apps.core.tenancy import TenantModel


def _client_secret() -> str:
    return secrets.token_urlsafe(24)


class CheckoutSession(TenantModel):
    class Mode(models.TextChoices):
        PAYMENT = "payment", "Payment"
        SETUP = "setup", "Set up a payment method"
        SUBSCRIPTION = "subscription", "Subscription"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        COMPLETE = "complete", "Complete"
        EXPIRED = "expired", "Expired"

    class PaymentStatus(models.TextChoices):
        UNPAID = "unpaid", "Unpaid"
        PAID = "paid", "Paid"
        NO_PAYMENT_REQUIRED = "no_payment_required", "No payment required"

    class Step(models.TextChoices):
        CREATED = "created", "Created"
        VIEWED = "viewed", "Page viewed"
        EMAIL = "email", "Email entered"
        DETAILS = "details", "Details entered"
        PAYMENT = "payment", "Payment attempted"
        DECLINED = "declined", "Payment declined"
        COMPLETED = "completed", "Completed"

    STATE_MACHINE = StateMachine({"open": {"complete", "expired"}})

    id = PrefixedIdField(prefix="cs")
    mode = models.CharField(max_length=20, choices=Mode.choices, default=Mode.PAYMENT)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    payment_status = models.CharField(max_length=20, choices=PaymentStatus.choices, default=PaymentStatus.UNPAID)
    payment_link = models.ForeignKey("checkout.PaymentLink", null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="sessions")
    customer = models.ForeignKey("customers.Customer", null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="checkout_sessions")
    customer_email = models.EmailField(max_length=254, blank=True)
    customer_details = models.JSONField(default=dict, blank=True, help_text="name, phone, address, shipping, tax id")
    custom_field_values = models.JSONField(default=dict, blank=True)
    currency = models.CharField(max_length=3)
    allow_promotion_codes = models.BooleanField(default=False)
    billing_address_collection = models.CharField(max_length=10, default="auto", help_text="auto | required")
    discount = models.ForeignKey("catalog.Discount", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    discount_code = models.CharField(max_length=64, blank=True)
    subtotal_minor = models.BigIntegerField(default=0)
    discount_minor = models.BigIntegerField(default=0)
    tax_minor = models.BigIntegerField(default=0)
    total_minor = models.BigIntegerField(default=0)
    success_url = models.URLField(max_length=1000, blank=True)
    cancel_url = models.URLField(max_length=1000, blank=True)
    client_reference_id = models.CharField(max_length=200, blank=True)
    invoice = models.OneToOneField("billing.Invoice", null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="checkout_session")
    payment = models.ForeignKey("payments.Payment", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    payment_method = models.ForeignKey("payments.PaymentMethod", null=True, blank=True, on_delete=models.PROTECT,
                                       related_name="+", help_text="Saved in setup mode")
    terms_accepted_at = models.DateTimeField(null=True, blank=True)
    last_step = models.CharField(max_length=20, choices=Step.choices, default=Step.CREATED)
    started_at = models.DateTimeField(null=True, blank=True, help_text="The buyer's first interaction")
    last_activity_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField()
    completed_at = models.DateTimeField(null=True, blank=True)
    expired_at = models.DateTimeField(null=True, blank=True)
    client_secret = models.CharField(max_length=64, default=_client_secret)
    metadata = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=now)
    updated_at = models.DateTimeField(default=now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["merchant", "livemode", "-created_at"], name="csession_tenant_created"),
            models.Index(fields=["status", "expires_at"], name="csession_expiry_sweep"),
        ]

    def __str__(self):
        return self.pk


class CheckoutSessionItem(TenantModel):
    id = PrefixedIdField(prefix="csi")
    session = models.ForeignKey(CheckoutSession, on_delete=models.CASCADE, related_name="items")
    price = models.ForeignKey("catalog.Price", on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField(default=1)
    custom_amount_minor = models.BigIntegerField(null=True, blank=True, help_text="Pay-what-you-want amount")
    adjustable_quantity = models.BooleanField(default=False)
    min_quantity = models.PositiveIntegerField(default=1)
    max_quantity = models.PositiveIntegerField(default=99)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]

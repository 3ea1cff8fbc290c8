"""Payment intents (page 025, API 241–247): one customer purchase followed from creation to money, through
any number of payment attempts (each a Payment). Supports manual capture and 3-D Secure."""
from __future__ import annotations

from django.db import models
from django.db.models import Q

from apps.core.clock import now
from apps.core.ids import PrefixedIdField
from apps.core.money import Money
from apps.core.statemachine import StateMachine
from apps.core.tenancy import TenantModel


class PaymentIntent(TenantModel):
    class Status(models.TextChoices):
        REQUIRES_PAYMENT_METHOD = "requires_payment_method", "Requires payment method"
        REQUIRES_CONFIRMATION = "requires_confirmation", "Requires confirmation"
        REQUIRES_ACTION = "requires_action", "Requires action"
        PROCESSING = "processing", "Processing"
        REQUIRES_CAPTURE = "requires_capture", "Requires capture"
        SUCCEEDED = "succeeded", "Succeeded"
        CANCELED = "canceled", "Canceled"

    class CaptureMethod(models.TextChoices):
        AUTOMATIC = "automatic", "Automatic"
        MANUAL = "manual", "Manual"

    STATE_MACHINE = StateMachine({
        "requires_payment_method": {"requires_confirmation", "processing", "canceled"},
        "requires_confirmation": {"requires_payment_method", "processing", "canceled"},
        # processing: a payment attempt is at the gateway; its outcome decides the next state
        "processing": {"requires_action", "requires_capture", "succeeded", "requires_payment_method"},
        "requires_action": {"processing", "requires_capture", "succeeded", "requires_payment_method", "canceled"},
        "requires_capture": {"succeeded", "canceled"},
    })

    id = PrefixedIdField(prefix="pi")
    customer = models.ForeignKey("customers.Customer", null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="payment_intents")
    payment_method = models.ForeignKey("payments.PaymentMethod", null=True, blank=True, on_delete=models.PROTECT,
                                       related_name="payment_intents")
    payment_token = models.CharField(max_length=200, blank=True, help_text="A one-time gateway token (never card data)")
    amount_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    amount_capturable_minor = models.BigIntegerField(default=0)
    amount_received_minor = models.BigIntegerField(default=0)
    capture_method = models.CharField(max_length=20, choices=CaptureMethod.choices, default=CaptureMethod.AUTOMATIC)
    status = models.CharField(max_length=30, choices=Status.choices, default=Status.REQUIRES_PAYMENT_METHOD)
    latest_payment = models.ForeignKey("payments.Payment", null=True, blank=True, on_delete=models.PROTECT,
                                       related_name="+")
    last_payment_error = models.JSONField(null=True, blank=True)
    description = models.CharField(max_length=500, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    cancellation_reason = models.CharField(max_length=40, blank=True)
    canceled_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=now)
    updated_at = models.DateTimeField(default=now)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount_minor__gt=0), name="payment_intent_amount_positive"),
            models.CheckConstraint(condition=Q(amount_received_minor__lte=models.F("amount_minor")),
                                   name="payment_intent_received_within_amount"),
        ]
        indexes = [models.Index(fields=["merchant", "livemode", "-created_at"], name="pi_tenant_created")]

    def __str__(self):
        return f"{self.pk} {self.amount} {self.status}"

    @property
    def amount(self) -> Money:
        return Money(self.amount_minor, self.currency)

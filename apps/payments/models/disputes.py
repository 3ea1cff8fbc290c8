"""Disputes (chargebacks, pages 022/044/045): raised by the card issuer against a captured payment, reported
by the gateway. The disputed amount is held (a `dispute` ledger transaction) and the chargeback fee charged
when it opens; winning releases the amount (the fee is kept); missing the evidence deadline loses it."""
from __future__ import annotations

from django.db import models
from django.db.models import Q

from apps.core.clock import now
from apps.core.ids import PrefixedIdField
from apps.core.money import Money
from apps.core.statemachine import StateMachine
from apps.core.tenancy import TenantModel


class Dispute(TenantModel):
    class Status(models.TextChoices):
        NEEDS_RESPONSE = "needs_response", "Needs response"
        UNDER_REVIEW = "under_review", "Under review"
        WON = "won", "Won"
        LOST = "lost", "Lost"

    class Reason(models.TextChoices):
        FRAUDULENT = "fraudulent", "Unauthorized (fraud)"
        UNRECOGNIZED = "unrecognized", "Not recognized"
        PRODUCT_NOT_RECEIVED = "product_not_received", "Product or service not received"
        PRODUCT_UNACCEPTABLE = "product_unacceptable", "Significantly not as described"
        DUPLICATE = "duplicate", "Duplicate or incorrect charge"
        SUBSCRIPTION_CANCELED = "subscription_canceled", "Subscription canceled"
        GENERAL = "general", "Other"

    # lost → won only when the gateway reports the chargeback reversed after we closed it as lost (a missed
    # deadline on our side): the money came back, so the ledger must follow (services/disputes.py).
    STATE_MACHINE = StateMachine({
        "needs_response": {"under_review", "lost", "won"},
        "under_review": {"won", "lost"},
        "lost": {"won"},
    })

    id = PrefixedIdField(prefix="dsp")
    payment = models.ForeignKey("payments.Payment", on_delete=models.PROTECT, related_name="disputes")
    customer = models.ForeignKey("customers.Customer", null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="disputes")
    gateway_account = models.ForeignKey("accounts.GatewayAccount", on_delete=models.PROTECT, related_name="+")
    gateway_dispute_id = models.CharField(max_length=100, help_text="The gateway's chargeback id")
    amount_minor = models.BigIntegerField(help_text="Disputed amount, held from the balance while open")
    currency = models.CharField(max_length=3)
    fee_minor = models.BigIntegerField(default=0, help_text="Chargeback fee; kept by the bank even when won")
    reason = models.CharField(max_length=30, choices=Reason.choices, default=Reason.GENERAL)
    network_reason_code = models.CharField(max_length=20, blank=True, help_text="e.g. Visa 10.4, Mastercard 4837")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.NEEDS_RESPONSE)
    evidence = models.JSONField(default=dict, blank=True, help_text="Written evidence fields (text)")
    evidence_due_by = models.DateTimeField()
    evidence_submitted_at = models.DateTimeField(null=True, blank=True)
    disputed_at = models.DateTimeField(help_text="When the issuer opened it")
    closed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=now)
    updated_at = models.DateTimeField(default=now)

    class Meta:
        ordering = ["-disputed_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["gateway_account", "gateway_dispute_id"], name="dispute_gateway_id_unique"),
            models.CheckConstraint(condition=Q(amount_minor__gt=0), name="dispute_amount_positive"),
        ]
        indexes = [
            models.Index(fields=["merchant", "livemode", "-disputed_at"], name="dispute_tenant_disputed"),
            models.Index(fields=["status", "evidence_due_by"], name="dispute_deadline_sweep"),
        ]

    def __str__(self):
        return f"{self.pk} {self.amount} {self.status}"

    @property
    def amount(self) -> Money:
        return Money(self.amount_minor, self.currency)


class DisputeEvidenceFile(TenantModel):
    """An uploaded document (receipt, tracking proof, correspondence) submitted with a dispute's evidence."""

    id = PrefixedIdField(prefix="dfile")
    dispute = models.ForeignKey(Dispute, on_delete=models.CASCADE, related_name="files")
    file = models.FileField(upload_to="dispute_evidence/%Y/%m/")
    original_name = models.CharField(max_length=255)
    content_type = models.CharField(max_length=100)
    size_bytes = models.PositiveIntegerField()
    category = models.CharField(max_length=40, blank=True, help_text="receipt, shipping, communication, policy, other")
    uploaded_by = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=now)

    class Meta:
        ordering = ["created_at", "id"]

"""Credit notes (page 025): the single reversal document, always against one finalized invoice.

A note's amount first reduces what is still owed on the invoice (pre_payment) and only the rest
reverses money already paid (post_payment), through its credit method:
- refund_to_payment_method: each paid amount reversed by its own route, newest payment first (LIFO):
  card void before settlement, refund after; outside payments are recorded as returned outside.
- customer_balance: credited to the customer's balance ledger (CustomerBalanceTransaction).
- none: record-keeping only (refund made outside RevKeen, goodwill).
"""
from __future__ import annotations

from django.db import models
from django.db.models import Q

from apps.core.clock import now
from apps.core.ids import PrefixedIdField
from apps.core.money import Money
from apps.core.statemachine import StateMachine
from apps.core.tenancy import TenantModel


class CreditNote(TenantModel):
    class Status(models.TextChoices):
        ISSUED = "issued", "Processing"
        APPLIED = "applied", "Applied"
        FAILED = "failed", "Failed"
        VOIDED = "voided", "Voided"

    class CreditMethod(models.TextChoices):
        REFUND_TO_PAYMENT_METHOD = "refund_to_payment_method", "Refund to the payment method"
        CUSTOMER_BALANCE = "customer_balance", "Customer balance"
        NONE = "none", "Credit note only"

    class Reason(models.TextChoices):
        DUPLICATE = "duplicate", "Duplicate"
        FRAUDULENT = "fraudulent", "Fraudulent"
        ORDER_CHANGE = "order_change", "Order change"
        PRODUCT_UNSATISFACTORY = "product_unsatisfactory", "Product unsatisfactory"
        SERVICE_CREDIT = "service_credit", "Service credit"
        SUBSCRIPTION_CANCELLATION = "subscription_cancellation", "Subscription cancellation"
        OTHER = "other", "Other"

    STATE_MACHINE = StateMachine({
        "issued": {"applied", "failed", "voided"},
        "failed": {"applied", "voided"},
        "applied": {"voided"},  # only when nothing left through a gateway (services check)
    })

    id = PrefixedIdField(prefix="cn")
    number = models.CharField(max_length=40)
    invoice = models.ForeignKey("billing.Invoice", on_delete=models.PROTECT, related_name="credit_notes")
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="credit_notes")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.ISSUED)
    credit_method = models.CharField(max_length=30, choices=CreditMethod.choices)
    reason = models.CharField(max_length=30, choices=Reason.choices, default=Reason.OTHER)
    memo = models.TextField(blank=True)
    currency = models.CharField(max_length=3)
    amount_minor = models.BigIntegerField(help_text="Tax included")
    tax_minor = models.BigIntegerField(default=0)
    tax_by_rate = models.JSONField(default=list, blank=True, help_text="[{key, name, percentage, tax_minor}]")
    pre_payment_minor = models.BigIntegerField(default=0, help_text="Reduced what was still owed")
    post_payment_minor = models.BigIntegerField(default=0, help_text="Reversed money already paid")
    amount_reversed_minor = models.BigIntegerField(default=0, help_text="Of post_payment, reversed so far")
    is_final = models.BooleanField(default=False, help_text="Brought the credited total to the invoice total")
    cancel_subscription = models.BooleanField(default=False)
    subscription_canceled = models.BooleanField(default=False)
    customer_present = models.BooleanField(default=False)
    failure_message = models.CharField(max_length=500, blank=True)
    pdf = models.FileField(upload_to="credit_notes/", blank=True)
    pdf_revision = models.PositiveIntegerField(default=0)
    applied_at = models.DateTimeField(null=True, blank=True)
    voided_at = models.DateTimeField(null=True, blank=True)
    actor_type = models.CharField(max_length=20, default="system")
    actor_id = models.CharField(max_length=64, blank=True)
    actor_label = models.CharField(max_length=200, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=now)
    updated_at = models.DateTimeField(default=now)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["merchant", "livemode", "number"], name="credit_note_number_unique"),
            models.CheckConstraint(condition=Q(amount_minor__gt=0), name="credit_note_amount_positive"),
            models.CheckConstraint(condition=Q(pre_payment_minor__gte=0) & Q(post_payment_minor__gte=0),
                                   name="credit_note_parts_not_negative"),
        ]
        indexes = [models.Index(fields=["merchant", "livemode", "-created_at"], name="cn_tenant_created")]

    def __str__(self):
        return self.number

    @property
    def amount(self) -> Money:
        return Money(self.amount_minor, self.currency)


class CreditNoteLine(TenantModel):
    id = PrefixedIdField(prefix="cnl")
    credit_note = models.ForeignKey(CreditNote, on_delete=models.CASCADE, related_name="lines")
    invoice_line = models.ForeignKey("billing.InvoiceLine", null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="credit_note_lines")
    position = models.PositiveIntegerField(default=0)
    description = models.CharField(max_length=500)
    amount_minor = models.BigIntegerField(help_text="Tax included, like the note")
    tax_minor = models.BigIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]


class CreditNoteReversal(TenantModel):
    """One payment's share of a note's post-payment amount and how it went back."""

    class Route(models.TextChoices):
        VOID = "void", "Card void (before settlement)"
        REFUND = "refund", "Card refund (after settlement)"
        OUTSIDE = "outside", "Returned outside RevKeen"
        CUSTOMER_BALANCE = "customer_balance", "Customer balance"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    id = PrefixedIdField(prefix="cnr")
    credit_note = models.ForeignKey(CreditNote, on_delete=models.CASCADE, related_name="reversals")
    invoice_payment = models.ForeignKey("billing.InvoicePayment", null=True, blank=True, on_delete=models.PROTECT,
                                        related_name="reversals")
    payment = models.ForeignKey("payments.Payment", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    route = models.CharField(max_length=20, choices=Route.choices)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    amount_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    refund = models.ForeignKey("payments.Refund", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    void = models.ForeignKey("payments.Void", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    failure_message = models.CharField(max_length=500, blank=True)
    position = models.PositiveSmallIntegerField(default=0, help_text="0 = reversed first (the newest payment)")
    created_at = models.DateTimeField(default=now)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["credit_note", "position"]
        constraints = [models.CheckConstraint(condition=Q(amount_minor__gt=0), name="reversal_amount_positive")]


class CustomerBalanceTransaction(TenantModel):
    """The customer's credit balance as an append-only ledger (+ credit owed to the customer,
    − credit used or taken back). The wallets issue adopts it."""

    class Type(models.TextChoices):
        CREDIT_NOTE = "credit_note", "Credit note"
        CREDIT_NOTE_VOID = "credit_note_void", "Credit note voided"
        INVOICE_PAYMENT = "invoice_payment", "Applied to an invoice"
        ADJUSTMENT = "adjustment", "Adjustment"

    id = PrefixedIdField(prefix="cbt")
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="balance_transactions")
    type = models.CharField(max_length=20, choices=Type.choices)
    amount_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    credit_note = models.ForeignKey(CreditNote, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    invoice = models.ForeignKey("billing.Invoice", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    description = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=now)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["credit_note", "type"], condition=Q(credit_note__isnull=False),
                                    name="balance_txn_once_per_credit_note"),
        ]
        indexes = [models.Index(fields=["customer", "currency"], name="balance_txn_customer")]

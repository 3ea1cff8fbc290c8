"""Invoices (page 024): the document, its lines, comments, the payments applied to it and the
reminders sent for it. Money is integer minor units in the invoice's currency.

Amounts kept on the invoice (maintained by services.invoices, never by save()):
- subtotal = Σ line amounts (before discount); discount = Σ line discounts; tax = Σ line taxes;
  total = subtotal − discount + exclusive tax (inclusive tax is inside the line amounts).
- amount_paid: money received (card and outside payments), never reduced by refunds.
- amount_credited: Σ credit notes not voided; of it, credited_pre_payment reduced what was owed and
  the rest reversed money already paid (amount_refunded when it went back to the payer).
- amount_remaining = total − amount_paid − credited_pre_payment (what the customer still owes).
"""
from __future__ import annotations

import secrets

from django.db import models
from django.db.models import Q

from apps.core.clock import now
from apps.core.ids import PrefixedIdField
from apps.core.money import Money
from apps.core.statemachine import StateMachine
from apps.core.tenancy import TenantModel


def hosted_token() -> str:
    return secrets.token_urlsafe(32)


class InvoiceStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    PENDING_APPROVAL = "pending_approval", "Pending approval"
    APPROVED = "approved", "Approved"
    SENT = "sent", "Sent"
    PARTIALLY_PAID = "partially_paid", "Partially paid"
    PAID = "paid", "Paid"
    OVERDUE = "overdue", "Overdue"
    VOIDED = "voided", "Voided"
    REFUNDED = "refunded", "Refunded"
    UNCOLLECTIBLE = "uncollectible", "Uncollectible"


# Finalized and still owed: what can be paid, reminded, marked overdue or uncollectible.
OPEN_STATUSES = frozenset({"approved", "sent", "partially_paid", "overdue"})
FINALIZED_STATUSES = frozenset(InvoiceStatus.values) - {"draft", "pending_approval"}


class Invoice(TenantModel):
    # Page 024's table. Moves to voided/refunded from paid or partly paid states happen only through
    # a full credit note (services.credit_notes); invoice_void itself refuses any invoice with money on it.
    STATE_MACHINE = StateMachine({
        "draft": {"pending_approval", "approved"},
        "pending_approval": {"approved", "draft"},
        "approved": {"sent", "partially_paid", "paid", "overdue", "voided", "uncollectible"},
        "sent": {"partially_paid", "paid", "overdue", "voided", "uncollectible"},
        "partially_paid": {"paid", "overdue", "voided", "refunded", "uncollectible"},
        "overdue": {"partially_paid", "paid", "voided", "refunded", "uncollectible"},
        "paid": {"refunded", "voided"},
        # A written-off invoice can still be paid late (the customer pays after all) or credited.
        "uncollectible": {"paid", "partially_paid", "voided"},
    })

    class Source(models.TextChoices):
        MANUAL = "manual", "Manual"
        SUBSCRIPTION = "subscription", "Subscription"
        CHECKOUT = "checkout", "Checkout"
        EXTERNAL = "external", "External"

    class CollectionMethod(models.TextChoices):
        SEND_INVOICE = "send_invoice", "Email the invoice"
        CHARGE_AUTOMATICALLY = "charge_automatically", "Charge the saved payment method"

    id = PrefixedIdField(prefix="inv")
    number = models.CharField(max_length=40, blank=True, help_text="Assigned when finalized")
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="invoices")
    status = models.CharField(max_length=20, choices=InvoiceStatus.choices, default=InvoiceStatus.DRAFT)
    source = models.CharField(max_length=20, choices=Source.choices, default=Source.MANUAL)
    collection_method = models.CharField(max_length=30, choices=CollectionMethod.choices,
                                         default=CollectionMethod.SEND_INVOICE)
    subscription_id = models.CharField(max_length=40, blank=True)
    currency = models.CharField(max_length=3)
    description = models.CharField(max_length=500, blank=True)
    memo = models.TextField(blank=True)
    footer = models.TextField(blank=True)
    days_until_due = models.PositiveSmallIntegerField(null=True, blank=True, help_text="Payment terms (net days)")
    due_date = models.DateField(null=True, blank=True)
    discount = models.ForeignKey("catalog.Discount", null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    subtotal_minor = models.BigIntegerField(default=0)
    discount_minor = models.BigIntegerField(default=0)
    tax_minor = models.BigIntegerField(default=0)
    total_minor = models.BigIntegerField(default=0)
    amount_paid_minor = models.BigIntegerField(default=0)
    amount_credited_minor = models.BigIntegerField(default=0)
    credited_pre_payment_minor = models.BigIntegerField(default=0)
    amount_refunded_minor = models.BigIntegerField(default=0)
    amount_remaining_minor = models.BigIntegerField(default=0)

    tax_treatment = models.CharField(max_length=20, blank=True)
    tax_note = models.CharField(max_length=300, blank=True)
    tax_summary = models.JSONField(default=list, blank=True, help_text="Per rate: name, percentage, net, tax")

    # Snapshots taken at finalization: later edits to the customer or merchant never rewrite an issued invoice.
    customer_name = models.CharField(max_length=200, blank=True)
    customer_email = models.EmailField(max_length=254, blank=True)
    customer_company = models.CharField(max_length=200, blank=True)
    customer_phone = models.CharField(max_length=40, blank=True)
    customer_address = models.JSONField(null=True, blank=True)
    customer_shipping = models.JSONField(null=True, blank=True)
    customer_tax_ids = models.JSONField(default=list, blank=True)
    issuer = models.JSONField(default=dict, blank=True, help_text="Merchant name, address, tax id at finalization")

    hosted_token = models.CharField(max_length=64, unique=True, default=hosted_token)
    revision = models.PositiveIntegerField(default=1, help_text="Bumped by every change while a draft")
    pdf = models.FileField(upload_to="invoices/", blank=True)
    pdf_revision = models.PositiveIntegerField(default=0, help_text="The revision the stored PDF shows")

    finalized_at = models.DateTimeField(null=True, blank=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    approved_by = models.CharField(max_length=200, blank=True)
    rejection_note = models.TextField(blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    voided_at = models.DateTimeField(null=True, blank=True)
    void_reason = models.CharField(max_length=500, blank=True)
    marked_uncollectible_at = models.DateTimeField(null=True, blank=True)
    external_source = models.CharField(max_length=50, blank=True)
    external_id = models.CharField(max_length=255, blank=True)
    external_updated_at = models.DateTimeField(null=True, blank=True,
                                               help_text="The source system's last change: older upserts are stale")
    metadata = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=now)
    updated_at = models.DateTimeField(default=now)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["merchant", "livemode", "number"], condition=~Q(number=""),
                                    name="invoice_number_unique"),
            models.UniqueConstraint(fields=["merchant", "livemode", "external_source", "external_id"],
                                    condition=~Q(external_id=""), name="invoice_external_unique"),
            models.CheckConstraint(condition=Q(amount_credited_minor=0) |
                                   Q(amount_credited_minor__lte=models.F("total_minor")),
                                   name="invoice_credited_within_total"),
            models.CheckConstraint(condition=Q(amount_remaining_minor__gte=0), name="invoice_remaining_not_negative"),
        ]
        indexes = [
            models.Index(fields=["merchant", "livemode", "-created_at"], name="invoice_tenant_created"),
            models.Index(fields=["merchant", "livemode", "status", "due_date"], name="invoice_tenant_status_due"),
            models.Index(fields=["customer", "-created_at"], name="invoice_customer_created"),
        ]

    def __str__(self):
        return self.number or f"Draft {self.pk}"

    @property
    def is_draft(self) -> bool:
        return self.status in ("draft", "pending_approval")

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    def money(self, minor: int) -> Money:
        return Money(minor, self.currency)

    @property
    def total(self) -> Money:
        return Money(self.total_minor, self.currency)

    @property
    def amount_remaining(self) -> Money:
        return Money(self.amount_remaining_minor, self.currency)


class InvoiceLine(TenantModel):
    class SourceType(models.TextChoices):
        PRICE = "price", "Price"
        SUBSCRIPTION_ITEM = "subscription_item", "Subscription item"
        ORDER_LINE_ITEM = "order_line_item", "Order line item"
        ADJUSTMENT = "adjustment", "Adjustment"
        USAGE = "usage", "Usage"

    id = PrefixedIdField(prefix="il")
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveIntegerField(default=0)
    description = models.CharField(max_length=500)
    quantity = models.PositiveIntegerField(default=1)
    unit_amount_minor = models.BigIntegerField(help_text="May be negative for credits and discounts")
    amount_minor = models.BigIntegerField(help_text="unit_amount × quantity")
    discount_minor = models.BigIntegerField(default=0, help_text="This line's share of the invoice discount")
    tax_minor = models.BigIntegerField(default=0)
    tax_rate = models.ForeignKey("billing.TaxRate", null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="+")
    tax_snapshot = models.JSONField(null=True, blank=True, help_text="The rate applied: name, percentage, inclusive")
    tax_exempt = models.BooleanField(default=False)
    source_type = models.CharField(max_length=20, choices=SourceType.choices, default=SourceType.ADJUSTMENT)
    source_id = models.CharField(max_length=40, blank=True)
    product = models.ForeignKey("catalog.Product", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    price = models.ForeignKey("catalog.Price", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    billing_interval = models.CharField(max_length=12, blank=True, help_text="Snapshot: day … year")
    billing_interval_count = models.PositiveSmallIntegerField(default=1)
    period_start = models.DateTimeField(null=True, blank=True)
    period_end = models.DateTimeField(null=True, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=now)

    class Meta:
        ordering = ["position", "id"]
        constraints = [models.CheckConstraint(condition=Q(quantity__gte=1), name="invoice_line_quantity_positive")]

    def __str__(self):
        return self.description


class InvoiceComment(TenantModel):
    id = PrefixedIdField(prefix="icm")
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="comments")
    body = models.TextField()
    actor_type = models.CharField(max_length=20, default="system")
    actor_id = models.CharField(max_length=64, blank=True)
    actor_label = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=now)

    class Meta:
        ordering = ["-created_at", "-id"]


class InvoicePayment(TenantModel):
    """Money applied to an invoice: a card payment through the engine or one received outside it.
    Credit notes reverse these newest first (LIFO)."""

    class Method(models.TextChoices):
        CARD = "card", "Card"
        CASH = "cash", "Cash"
        BANK_TRANSFER = "bank_transfer", "Bank transfer"
        CHECK = "check", "Cheque"
        CUSTOMER_BALANCE = "customer_balance", "Customer balance"
        OTHER = "other", "Other"

    id = PrefixedIdField(prefix="ipy")
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="payments_applied")
    payment = models.OneToOneField("payments.Payment", null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="invoice_application")
    method = models.CharField(max_length=20, choices=Method.choices)
    amount_minor = models.BigIntegerField()
    amount_reversed_minor = models.BigIntegerField(default=0, help_text="Given back by credit notes")
    currency = models.CharField(max_length=3)
    reference = models.CharField(max_length=200, blank=True)
    note = models.CharField(max_length=500, blank=True)
    received_at = models.DateTimeField(default=now)
    actor_type = models.CharField(max_length=20, default="system")
    actor_id = models.CharField(max_length=64, blank=True)
    actor_label = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=now)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount_minor__gt=0), name="invoice_payment_positive"),
            models.CheckConstraint(condition=Q(amount_reversed_minor__lte=models.F("amount_minor")),
                                   name="invoice_payment_reversed_within_amount"),
        ]


class InvoiceReminder(TenantModel):
    """One row per reminder sent; the unique key makes the daily job safe to run twice."""

    class Kind(models.TextChoices):
        BEFORE_DUE = "before_due", "Before the due date"
        AFTER_DUE = "after_due", "After the due date"
        MANUAL = "manual", "Sent by hand"

    id = PrefixedIdField(prefix="irm")
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="reminders")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    offset_days = models.SmallIntegerField(default=0)
    sent_to = models.CharField(max_length=254, blank=True)
    created_at = models.DateTimeField(default=now)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["invoice", "kind", "offset_days"],
                                               condition=~Q(kind="manual"), name="invoice_reminder_once")]

"""Payments: payment methods (gateway tokens only), payments, the transaction ledger with fee lines,
refunds and voids (page 025). Money is integer minor units + currency. Card numbers and CVVs are
never stored: a vault id or token stands for the card, with brand/last4 for display."""
from __future__ import annotations

from django.db import models
from django.db.models import Q

from apps.core.clock import now
from apps.core.ids import PrefixedIdField
from apps.core.money import Money
from apps.core.statemachine import StateMachine
from apps.core.tenancy import TenantModel


class PaymentMethod(TenantModel):
    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        DETACHED = "detached", "Detached"

    id = PrefixedIdField(prefix="pm")
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="payment_methods")
    gateway = models.CharField(max_length=20, default="nmi")
    gateway_vault_id = models.CharField(max_length=100, blank=True, help_text="Customer Vault id at the gateway")
    gateway_token = models.CharField(max_length=200, blank=True, help_text="Payment token (never card data)")
    brand = models.CharField(max_length=20, blank=True)
    last4 = models.CharField(max_length=4, blank=True)
    exp_month = models.PositiveSmallIntegerField(null=True, blank=True)
    exp_year = models.PositiveSmallIntegerField(null=True, blank=True)
    funding = models.CharField(max_length=20, blank=True)
    country = models.CharField(max_length=2, blank=True)
    fingerprint = models.CharField(max_length=64, blank=True)
    is_default = models.BooleanField(default=False)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.ACTIVE)
    created_at = models.DateTimeField(default=now)
    updated_at = models.DateTimeField(default=now)

    STATE_MACHINE = StateMachine({"active": {"detached"}})

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["customer"], condition=Q(is_default=True),
                                    name="payment_method_one_default_per_customer"),
        ]
        indexes = [models.Index(fields=["merchant", "livemode", "customer"], name="pm_tenant_customer")]

    def __str__(self):
        return f"{self.brand} •••• {self.last4}"


class Payment(TenantModel):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        REQUIRES_ACTION = "requires_action", "Requires action"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        REFUNDED = "refunded", "Refunded"
        PARTIALLY_REFUNDED = "partially_refunded", "Partially refunded"
        VOIDED = "voided", "Voided"

    STATE_MACHINE = StateMachine({
        "pending": {"succeeded", "failed", "requires_action"},
        "requires_action": {"succeeded", "failed"},
        "succeeded": {"partially_refunded", "refunded", "voided"},
        "partially_refunded": {"partially_refunded", "refunded"},
    })

    id = PrefixedIdField(prefix="pay")
    customer = models.ForeignKey("customers.Customer", null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="payments")
    payment_method = models.ForeignKey(PaymentMethod, null=True, blank=True, on_delete=models.PROTECT,
                                       related_name="payments")
    amount_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    amount_captured_minor = models.BigIntegerField(default=0)
    amount_refunded_minor = models.BigIntegerField(default=0)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    capture = models.BooleanField(default=True)
    captured_at = models.DateTimeField(null=True, blank=True)
    description = models.CharField(max_length=500, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    statement_descriptor = models.CharField(max_length=22, blank=True)
    attempt_id = models.CharField(max_length=40, unique=True, help_text="Sent to the gateway as orderid")
    gateway = models.CharField(max_length=20, default="nmi")
    gateway_account = models.ForeignKey("accounts.GatewayAccount", null=True, blank=True, on_delete=models.PROTECT,
                                        related_name="+")
    gateway_transaction_id = models.CharField(max_length=100, blank=True)
    outcome_unknown = models.BooleanField(default=False, help_text="The gateway's answer was lost: the "
                                                                   "reconciler resolves it")
    card_brand = models.CharField(max_length=20, blank=True)
    card_last4 = models.CharField(max_length=4, blank=True)
    card_funding = models.CharField(max_length=20, blank=True)
    card_country = models.CharField(max_length=2, blank=True)
    decline_code = models.CharField(max_length=10, blank=True)
    failure_message = models.CharField(max_length=500, blank=True)
    avs_result = models.CharField(max_length=5, blank=True)
    cvv_result = models.CharField(max_length=5, blank=True)
    action_url = models.URLField(max_length=1000, blank=True)
    three_ds = models.BooleanField(default=False)
    invoice_id = models.CharField(max_length=40, blank=True)
    payment_intent = models.ForeignKey("payments.PaymentIntent", null=True, blank=True, on_delete=models.PROTECT,
                                       related_name="payments")
    product = models.ForeignKey("catalog.Product", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                                help_text="What a one-off charge sold, for margin per product")
    amount_disputed_minor = models.BigIntegerField(default=0, help_text="Held by open or lost disputes")
    settled_at = models.DateTimeField(null=True, blank=True, help_text="When the gateway batch holding the sale closed")
    fees_minor = models.BigIntegerField(default=0)
    net_minor = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(default=now)
    updated_at = models.DateTimeField(default=now)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["gateway_account", "gateway_transaction_id"],
                                    condition=~Q(gateway_transaction_id=""),
                                    name="payment_gateway_txn_unique"),
            models.CheckConstraint(condition=Q(amount_minor__gt=0), name="payment_amount_positive"),
            models.CheckConstraint(condition=Q(amount_refunded_minor__lte=models.F("amount_captured_minor")),
                                   name="payment_refunded_within_captured"),
        ]
        indexes = [
            models.Index(fields=["merchant", "livemode", "-created_at"], name="payment_tenant_created"),
            models.Index(fields=["status", "outcome_unknown", "created_at"], name="payment_unknown_sweep"),
        ]

    def __str__(self):
        return f"{self.pk} {self.amount}"

    @property
    def amount(self) -> Money:
        return Money(self.amount_minor, self.currency)


class Transaction(TenantModel):
    """The unified ledger: one row per money movement, signed as it moves for the merchant."""

    class Type(models.TextChoices):
        SALE = "sale", "Sale"
        AUTH = "auth", "Authorization"
        CAPTURE = "capture", "Capture"
        REFUND = "refund", "Refund"
        VOID = "void", "Void"
        DISPUTE = "dispute", "Dispute"
        ADJUSTMENT = "adjustment", "Adjustment"

    id = PrefixedIdField(prefix="txn")
    type = models.CharField(max_length=20, choices=Type.choices)
    amount_minor = models.BigIntegerField(help_text="Signed: + money in, − money out for the merchant")
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=20, default="succeeded")
    # Every row but an adjustment belongs to a payment; an adjustment may stand alone (a reserve, a correction).
    payment = models.ForeignKey(Payment, null=True, blank=True, on_delete=models.PROTECT, related_name="transactions")
    description = models.CharField(max_length=200, blank=True)
    refund = models.ForeignKey("Refund", null=True, blank=True, on_delete=models.PROTECT, related_name="transactions")
    dispute = models.ForeignKey("payments.Dispute", null=True, blank=True, on_delete=models.PROTECT,
                                related_name="transactions")
    gateway_transaction_id = models.CharField(max_length=100, blank=True)
    settlement_batch = models.ForeignKey("payments.SettlementBatch", null=True, blank=True, on_delete=models.PROTECT,
                                         related_name="transactions")
    settled_at = models.DateTimeField(null=True, blank=True)
    available_on = models.DateField(null=True, blank=True, help_text="The payout date its funds belong to")
    payout = models.ForeignKey("payments.Payout", null=True, blank=True, on_delete=models.PROTECT,
                               related_name="transactions")
    created_at = models.DateTimeField(default=now)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.CheckConstraint(condition=Q(payment__isnull=False) | Q(type="adjustment"),
                                              name="transaction_payment_unless_adjustment")]
        indexes = [
            models.Index(fields=["merchant", "livemode", "-created_at"], name="txn_tenant_created"),
            models.Index(fields=["merchant", "livemode", "payout", "available_on"], name="txn_payout_due"),
        ]

    def __str__(self):
        return f"{self.type} {self.amount_minor} {self.currency}"


class FeeLine(TenantModel):
    id = PrefixedIdField(prefix="fee")
    transaction = models.ForeignKey(Transaction, on_delete=models.CASCADE, related_name="fee_lines")
    code = models.CharField(max_length=40)
    description = models.CharField(max_length=200)
    percent = models.DecimalField(max_digits=9, decimal_places=4, default=0)
    amount_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3)

    class Meta:
        ordering = ["id"]


class Refund(TenantModel):
    class Reason(models.TextChoices):
        DUPLICATE = "duplicate", "Duplicate"
        FRAUDULENT = "fraudulent", "Fraudulent"
        REQUESTED_BY_CUSTOMER = "requested_by_customer", "Requested by customer"
        OTHER = "other", "Other"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    STATE_MACHINE = StateMachine({"pending": {"succeeded", "failed"}})

    id = PrefixedIdField(prefix="ref")
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    amount_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    reason = models.CharField(max_length=30, choices=Reason.choices, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    attempt_id = models.CharField(max_length=40, unique=True)
    gateway_transaction_id = models.CharField(max_length=100, blank=True)
    outcome_unknown = models.BooleanField(default=False)
    failure_message = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=now)
    updated_at = models.DateTimeField(default=now)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.CheckConstraint(condition=Q(amount_minor__gt=0), name="refund_amount_positive")]

    @property
    def amount(self) -> Money:
        return Money(self.amount_minor, self.currency)


class Void(TenantModel):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    STATE_MACHINE = StateMachine({"pending": {"succeeded", "failed"}})

    id = PrefixedIdField(prefix="void")
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="voids")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    eligibility = models.CharField(max_length=20, blank=True, help_text="safe / risky / high_risk / none at request")
    failure_message = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=now)
    updated_at = models.DateTimeField(default=now)

    class Meta:
        ordering = ["-created_at", "-id"]

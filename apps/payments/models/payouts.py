"""Settlement batches (the gateway's daily close) and payouts (page 047): settled ledger transactions are
grouped into a payout on the merchant's schedule; net = gross − fees − refunds − disputes ± adjustments."""
from __future__ import annotations

from django.db import models

from apps.core.clock import now
from apps.core.ids import PrefixedIdField
from apps.core.money import Money
from apps.core.statemachine import StateMachine
from apps.core.tenancy import TenantModel


class SettlementBatch(TenantModel):
    id = PrefixedIdField(prefix="stb")
    gateway_account = models.ForeignKey("accounts.GatewayAccount", on_delete=models.PROTECT, related_name="+")
    gateway_batch_id = models.CharField(max_length=100)
    closed_at = models.DateTimeField()
    transaction_count = models.PositiveIntegerField(default=0)
    currency = models.CharField(max_length=3)
    sales_minor = models.BigIntegerField(default=0)
    refunds_minor = models.BigIntegerField(default=0)
    synced_at = models.DateTimeField(default=now)

    class Meta:
        ordering = ["-closed_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["gateway_account", "gateway_batch_id"],
                                               name="settlement_batch_gateway_unique")]

    def __str__(self):
        return f"batch {self.gateway_batch_id} {self.closed_at:%Y-%m-%d}"


class Payout(TenantModel):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        IN_TRANSIT = "in_transit", "In transit"
        PAID = "paid", "Paid"
        FAILED = "failed", "Failed"

    STATE_MACHINE = StateMachine({
        "pending": {"in_transit", "failed"},
        "in_transit": {"paid", "failed"},
    })

    id = PrefixedIdField(prefix="pyt")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    currency = models.CharField(max_length=3)
    amount_minor = models.BigIntegerField(help_text="Net deposited (negative when the merchant owes it)")
    gross_minor = models.BigIntegerField(default=0)
    fees_minor = models.BigIntegerField(default=0)
    refunds_minor = models.BigIntegerField(default=0)
    disputes_minor = models.BigIntegerField(default=0)
    adjustments_minor = models.BigIntegerField(default=0)
    transaction_count = models.PositiveIntegerField(default=0)
    payout_date = models.DateField(help_text="The scheduled payout date the transactions became available on")
    arrival_date = models.DateField(help_text="Expected arrival in the bank account")
    reference = models.CharField(max_length=40, help_text="Shown on the bank statement, for matching")
    destination_last4 = models.CharField(max_length=4, blank=True)
    initiated_at = models.DateTimeField(null=True, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    failure_message = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=now)
    updated_at = models.DateTimeField(default=now)

    class Meta:
        ordering = ["-payout_date", "-id"]
        constraints = [models.UniqueConstraint(fields=["merchant", "livemode", "currency", "payout_date"],
                                               name="payout_one_per_day")]
        indexes = [models.Index(fields=["merchant", "livemode", "-payout_date"], name="payout_tenant_date")]

    def __str__(self):
        return f"{self.pk} {self.amount} {self.status}"

    @property
    def amount(self) -> Money:
        return Money(self.amount_minor, self.currency)

"""A merchant's invoice settings (page 053), its tax rates (page 049) and the gapless document
number sequences."""
from __future__ import annotations

from django.db import models
from django.db.models import Q

from apps.core.clock import now
from apps.core.ids import PrefixedIdField
from apps.core.tenancy import TenantModel


class InvoiceSettings(models.Model):
    """One row per merchant (both modes share it), created on first use with these defaults."""

    merchant = models.OneToOneField("accounts.Merchant", on_delete=models.CASCADE, related_name="invoice_settings")
    number_prefix = models.CharField(max_length=12, default="INV")
    credit_note_prefix = models.CharField(max_length=12, default="CN")
    number_padding = models.PositiveSmallIntegerField(default=5, help_text="Digits of the sequence: 5 → 00042")
    number_includes_year = models.BooleanField(default=True, help_text="INV-2026-00042, restarting each year")
    days_until_due = models.PositiveSmallIntegerField(default=30, help_text="Default payment terms (net days)")
    require_approval = models.BooleanField(default=False, help_text="Finalized invoices wait for an approver")
    default_memo = models.TextField(blank=True)
    default_footer = models.TextField(blank=True)
    payment_instructions = models.TextField(blank=True, help_text="Bank details printed for bank transfers")
    reminder_days_before = models.JSONField(default=list, blank=True, help_text="Days before the due date, e.g. [3]")
    reminder_days_after = models.JSONField(default=list, blank=True, help_text="Days after the due date, e.g. [1, 7]")
    tax_id = models.CharField(max_length=40, blank=True, help_text="The merchant's VAT/GST number on documents")
    tax_registrations = models.JSONField(default=list, blank=True,
                                         help_text="Countries outside its home tax area where it is registered")
    attach_pdf = models.BooleanField(default=True)
    updated_at = models.DateTimeField(default=now)

    class Meta:
        verbose_name_plural = "invoice settings"

    def __str__(self):
        return f"Invoice settings of {self.merchant_id}"


class TaxRate(TenantModel):
    id = PrefixedIdField(prefix="txr")
    name = models.CharField(max_length=60, help_text="Shown on documents: VAT, GST, Sales tax")
    percentage = models.DecimalField(max_digits=7, decimal_places=4)
    inclusive = models.BooleanField(default=False, help_text="Prices already contain this tax")
    country = models.CharField(max_length=2)
    region = models.CharField(max_length=10, blank=True, help_text="State or province; blank for the whole country")
    description = models.CharField(max_length=200, blank=True)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=now)
    updated_at = models.DateTimeField(default=now)

    class Meta:
        ordering = ["country", "region", "-created_at"]
        indexes = [models.Index(fields=["merchant", "livemode", "active"], name="taxrate_tenant_active")]
        constraints = [models.CheckConstraint(condition=Q(percentage__gte=0) & Q(percentage__lte=100),
                                              name="tax_rate_percentage_range")]

    def __str__(self):
        suffix = " incl." if self.inclusive else ""
        return f"{self.name} {self.percentage.normalize():f}%{suffix} ({self.country}{'-' + self.region if self.region else ''})"


class NumberSequence(TenantModel):
    """The next number of a document kind in a period ('2026', or '' when numbers never restart).
    Taken under a row lock inside the finalizing transaction, so a rolled-back finalization gives its
    number back and numbers stay gapless."""

    class Kind(models.TextChoices):
        INVOICE = "invoice"
        CREDIT_NOTE = "credit_note"

    id = PrefixedIdField(prefix="seq")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    period = models.CharField(max_length=10, blank=True)
    next_value = models.PositiveIntegerField(default=1)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["merchant", "livemode", "kind", "period"],
                                               name="number_sequence_unique")]

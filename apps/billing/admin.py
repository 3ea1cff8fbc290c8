"""Operators' view of billing: invoices with their lines, payments applied, comments and reminders; orders
with their lines; credit notes with lines and reversals; the customer balance ledger; invoice settings,
tax rates and number sequences.

Read-only like apps/payments/admin.py: invoices, orders and credit notes change only through the billing
services (numbers are gapless, amounts follow from the lines, every change leaves an event), so the admin
shows them and searches them, with money formatted, and never edits them. Change pages cost a fixed
number of queries (inlines select their parent's currency with them).
"""
from __future__ import annotations

from django.contrib import admin

from apps.core.admin_utils import MoneyAdminMixin, ReadOnlyAdmin, ReadOnlyInline, format_money, pretty_json

from .models import (
    CreditNote,
    CreditNoteLine,
    CreditNoteReversal,
    CustomerBalanceTransaction,
    Invoice,
    InvoiceComment,
    InvoiceLine,
    InvoicePayment,
    InvoiceReminder,
    InvoiceSettings,
    NumberSequence,
    Order,
    OrderLine,
    TaxRate,
)


class _ParentInline(ReadOnlyInline):
    """An inline of lines whose currency is on their parent (`parent_field`): `parent_money_fields` get a
    formatted `<field>_money` column each, and the parent is fetched with the rows (one query)."""

    parent_field = ""
    parent_money_fields: tuple[str, ...] = ()
    related: tuple[str, ...] = ()

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        for field in cls.__dict__.get("parent_money_fields", ()):
            def display(self, obj, _field=field):
                return format_money(getattr(obj, _field), getattr(getattr(obj, self.parent_field), "currency", None))

            display.short_description = field[: -len("_minor")].replace("_", " ").capitalize()
            setattr(cls, f"{field}_money", display)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related(self.parent_field, *self.related)


# --- invoices ----------------------------------------------------------------------------------------
class InvoiceLineInline(_ParentInline):
    model = InvoiceLine
    parent_field = "invoice"
    fields = ["position", "description", "quantity", "unit_amount_minor_money", "amount_minor_money",
              "discount_minor_money", "tax_minor_money", "tax_rate", "source_type", "source_id", "billing_interval"]
    readonly_fields = fields
    show_change_link = False
    parent_money_fields = ("unit_amount_minor", "amount_minor", "discount_minor", "tax_minor")
    related = ("tax_rate",)


class InvoicePaymentInline(MoneyAdminMixin, ReadOnlyInline):
    model = InvoicePayment
    money_fields = ["amount_minor", "amount_reversed_minor"]
    fields = ["id", "method", "amount_minor_money", "amount_reversed_minor_money", "payment", "reference",
              "received_at", "actor_label"]
    readonly_fields = fields
    verbose_name_plural = "Payments applied"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("payment")


class InvoiceCommentInline(ReadOnlyInline):
    model = InvoiceComment
    fields = ["created_at", "actor_label", "body"]
    readonly_fields = fields
    show_change_link = False


class InvoiceReminderInline(ReadOnlyInline):
    model = InvoiceReminder
    fields = ["created_at", "kind", "offset_days", "sent_to"]
    readonly_fields = fields
    show_change_link = False


class CreditNoteOfInvoiceInline(MoneyAdminMixin, ReadOnlyInline):
    model = CreditNote
    money_fields = ["amount_minor"]
    fields = ["id", "number", "status", "credit_method", "amount_minor_money", "created_at"]
    readonly_fields = fields
    verbose_name_plural = "Credit notes"


@admin.register(Invoice)
class InvoiceAdmin(MoneyAdminMixin, ReadOnlyAdmin):
    money_fields = ["subtotal_minor", "discount_minor", "tax_minor", "total_minor", "amount_paid_minor",
                    "amount_credited_minor", "credited_pre_payment_minor", "amount_refunded_minor",
                    "amount_remaining_minor"]
    list_display = ["id", "number", "merchant", "livemode", "customer", "status", "total_minor_money",
                    "amount_remaining_minor_money", "due_date", "created_at"]
    list_filter = ["status", "livemode", "source", "collection_method", "created_at"]
    list_select_related = ["merchant", "customer"]
    search_fields = ["=id", "=number", "=customer__id", "customer__email", "=external_id"]
    search_help_text = "An invoice id, number, customer id or external id (exact), or part of the customer's email."
    date_hierarchy = "created_at"
    show_full_result_count = False
    inlines = [InvoiceLineInline, InvoicePaymentInline, CreditNoteOfInvoiceInline, InvoiceCommentInline,
               InvoiceReminderInline]
    readonly_fields = [f"{name}_money" for name in money_fields] + ["tax_summary_pretty", "issuer_pretty",
                                                                   "metadata_pretty"]
    exclude = ["hosted_token"]  # a bearer link to the customer's invoice: not shown to operators

    @admin.display(description="Tax summary")
    def tax_summary_pretty(self, obj):
        return pretty_json(obj.tax_summary)

    @admin.display(description="Issuer (snapshot)")
    def issuer_pretty(self, obj):
        return pretty_json(obj.issuer)

    @admin.display(description="Metadata")
    def metadata_pretty(self, obj):
        return pretty_json(obj.metadata)


@admin.register(InvoicePayment)
class InvoicePaymentAdmin(MoneyAdminMixin, ReadOnlyAdmin):
    money_fields = ["amount_minor", "amount_reversed_minor"]
    list_display = ["id", "invoice", "method", "amount_minor_money", "amount_reversed_minor_money", "reference",
                    "merchant", "livemode", "received_at"]
    list_filter = ["method", "livemode", "received_at"]
    list_select_related = ["merchant", "invoice"]
    search_fields = ["=id", "=invoice__id", "=invoice__number", "=payment__id", "reference"]
    show_full_result_count = False


# --- orders ------------------------------------------------------------------------------------------
class OrderLineInline(_ParentInline):
    model = OrderLine
    parent_field = "order"
    fields = ["position", "description", "quantity", "amount_minor_money", "fulfillment_type", "fulfillment_status",
              "carrier", "tracking_number", "shipped_at", "delivered_at"]
    readonly_fields = fields
    show_change_link = False
    parent_money_fields = ("amount_minor",)


@admin.register(Order)
class OrderAdmin(MoneyAdminMixin, ReadOnlyAdmin):
    money_fields = ["subtotal_minor", "discount_minor", "tax_minor", "total_minor", "amount_paid_minor"]
    list_display = ["id", "merchant", "livemode", "customer", "status", "total_minor_money", "invoice",
                    "tracking_number", "created_at"]
    list_filter = ["status", "livemode", "created_at"]
    list_select_related = ["merchant", "customer", "invoice"]
    search_fields = ["=id", "=invoice__id", "=invoice__number", "=customer__id", "customer__email",
                     "=tracking_number"]
    search_help_text = "An order, invoice or customer id, invoice number or tracking number (exact), or an email."
    date_hierarchy = "created_at"
    show_full_result_count = False
    inlines = [OrderLineInline]
    readonly_fields = [f"{name}_money" for name in money_fields] + ["shipping_pretty", "metadata_pretty"]

    @admin.display(description="Shipping address")
    def shipping_pretty(self, obj):
        return pretty_json(obj.shipping_address)

    @admin.display(description="Metadata")
    def metadata_pretty(self, obj):
        return pretty_json(obj.metadata)


# --- credit notes and the customer balance -----------------------------------------------------------
class CreditNoteLineInline(_ParentInline):
    model = CreditNoteLine
    parent_field = "credit_note"
    fields = ["position", "description", "amount_minor_money", "tax_minor_money", "invoice_line"]
    readonly_fields = fields
    show_change_link = False
    parent_money_fields = ("amount_minor", "tax_minor")
    related = ("invoice_line",)


class CreditNoteReversalInline(MoneyAdminMixin, ReadOnlyInline):
    model = CreditNoteReversal
    money_fields = ["amount_minor"]
    fields = ["position", "route", "status", "amount_minor_money", "payment", "refund", "void", "failure_message",
              "completed_at"]
    readonly_fields = fields
    show_change_link = False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("payment", "refund", "void")


@admin.register(CreditNote)
class CreditNoteAdmin(MoneyAdminMixin, ReadOnlyAdmin):
    money_fields = ["amount_minor", "tax_minor", "pre_payment_minor", "post_payment_minor", "amount_reversed_minor"]
    list_display = ["id", "number", "merchant", "livemode", "invoice", "customer", "status", "credit_method",
                    "amount_minor_money", "created_at"]
    list_filter = ["status", "credit_method", "reason", "livemode", "created_at"]
    list_select_related = ["merchant", "invoice", "customer"]
    search_fields = ["=id", "=number", "=invoice__id", "=invoice__number", "customer__email"]
    date_hierarchy = "created_at"
    show_full_result_count = False
    inlines = [CreditNoteLineInline, CreditNoteReversalInline]
    readonly_fields = [f"{name}_money" for name in money_fields] + ["tax_by_rate_pretty"]

    @admin.display(description="Tax by rate")
    def tax_by_rate_pretty(self, obj):
        return pretty_json(obj.tax_by_rate)


@admin.register(CustomerBalanceTransaction)
class CustomerBalanceTransactionAdmin(MoneyAdminMixin, ReadOnlyAdmin):
    money_fields = ["amount_minor"]
    list_display = ["id", "customer", "type", "amount_minor_money", "credit_note", "invoice", "merchant", "livemode",
                    "created_at"]
    list_filter = ["type", "livemode", "created_at"]
    list_select_related = ["merchant", "customer", "credit_note", "invoice"]
    search_fields = ["=id", "=customer__id", "customer__email", "=credit_note__id", "=invoice__id"]
    show_full_result_count = False


# --- settings ----------------------------------------------------------------------------------------
@admin.register(InvoiceSettings)
class InvoiceSettingsAdmin(ReadOnlyAdmin):
    list_display = ["merchant", "number_prefix", "credit_note_prefix", "number_padding", "number_includes_year",
                    "days_until_due", "require_approval", "tax_id", "updated_at"]
    list_filter = ["require_approval", "number_includes_year"]
    list_select_related = ["merchant"]
    search_fields = ["merchant__name", "=merchant__id", "tax_id"]


@admin.register(TaxRate)
class TaxRateAdmin(ReadOnlyAdmin):
    list_display = ["id", "name", "percentage", "inclusive", "country", "region", "active", "merchant", "livemode",
                    "created_at"]
    list_filter = ["active", "inclusive", "livemode", "country"]
    list_select_related = ["merchant"]
    search_fields = ["=id", "name", "=country", "merchant__name"]


@admin.register(NumberSequence)
class NumberSequenceAdmin(ReadOnlyAdmin):
    list_display = ["merchant", "livemode", "kind", "period", "next_value"]
    list_filter = ["kind", "livemode", "period"]
    list_select_related = ["merchant"]
    search_fields = ["merchant__name", "=merchant__id"]

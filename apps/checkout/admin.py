"""Operators' view of checkout: payment links with their items and counters, checkout sessions with their
items, each merchant's checkout settings, and the returning-customer verification rows.

Read-only like apps/billing/admin.py: links and sessions change only through apps.checkout.services
(status machines, counters kept under row locks, events after commit). Secrets never show: the session's
client secret and the code/token hashes are excluded.
"""
from __future__ import annotations

from django.contrib import admin

from apps.core.admin_utils import MoneyAdminMixin, ReadOnlyAdmin, ReadOnlyInline, pretty_json

from .models import (
    CheckoutSession,
    CheckoutSessionItem,
    CheckoutSettings,
    CheckoutVerificationCode,
    PaymentLink,
    PaymentLinkItem,
    TrustedDevice,
)


class PaymentLinkItemInline(ReadOnlyInline):
    model = PaymentLinkItem
    fields = ["position", "price", "quantity", "min_quantity", "max_quantity"]
    readonly_fields = fields
    show_change_link = False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("price")


@admin.register(PaymentLink)
class PaymentLinkAdmin(MoneyAdminMixin, ReadOnlyAdmin):
    money_fields = ["revenue_minor"]
    list_display = ["id", "name", "merchant", "livemode", "status", "views_count", "sessions_started_count",
                    "uses_count", "max_uses", "revenue_minor_money", "expires_at", "created_at"]
    list_filter = ["status", "livemode", "created_at"]
    list_select_related = ["merchant"]
    search_fields = ["=id", "name", "=merchant__id"]
    search_help_text = "A link id or merchant id (exact), or part of the link's name."
    date_hierarchy = "created_at"
    show_full_result_count = False
    inlines = [PaymentLinkItemInline]
    readonly_fields = ["revenue_minor_money", "custom_fields_pretty", "metadata_pretty"]

    @admin.display(description="Custom fields")
    def custom_fields_pretty(self, obj):
        return pretty_json(obj.custom_fields)

    @admin.display(description="Metadata")
    def metadata_pretty(self, obj):
        return pretty_json(obj.metadata)


class CheckoutSessionItemInline(ReadOnlyInline):
    model = CheckoutSessionItem
    fields = ["position", "price", "quantity", "custom_amount_minor", "adjustable_quantity", "min_quantity",
              "max_quantity"]
    readonly_fields = fields
    show_change_link = False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("price")


@admin.register(CheckoutSession)
class CheckoutSessionAdmin(MoneyAdminMixin, ReadOnlyAdmin):
    money_fields = ["subtotal_minor", "discount_minor", "tax_minor", "total_minor"]
    list_display = ["id", "merchant", "livemode", "mode", "status", "payment_status", "last_step",
                    "customer_email", "total_minor_money", "payment_link", "created_at", "expires_at"]
    list_filter = ["status", "payment_status", "mode", "last_step", "livemode", "created_at"]
    list_select_related = ["merchant", "payment_link"]
    search_fields = ["=id", "customer_email", "=payment_link__id", "=invoice__id", "=client_reference_id"]
    search_help_text = "A session, link, invoice or client reference id (exact), or part of the buyer's email."
    date_hierarchy = "created_at"
    show_full_result_count = False
    inlines = [CheckoutSessionItemInline]
    exclude = ["client_secret"]  # lets a browser drive the session: not shown to operators
    raw_id_fields = ["customer", "invoice", "payment", "payment_method", "discount", "payment_link"]
    readonly_fields = [f"{name}_money" for name in money_fields] + [
        "customer_details_pretty", "custom_field_values_pretty", "metadata_pretty"]

    @admin.display(description="Customer details")
    def customer_details_pretty(self, obj):
        return pretty_json(obj.customer_details)

    @admin.display(description="Custom field values")
    def custom_field_values_pretty(self, obj):
        return pretty_json(obj.custom_field_values)

    @admin.display(description="Metadata")
    def metadata_pretty(self, obj):
        return pretty_json(obj.metadata)


@admin.register(CheckoutSettings)
class CheckoutSettingsAdmin(ReadOnlyAdmin):
    list_display = ["merchant", "background_color", "button_text", "name_field", "phone_field", "shipping_field",
                    "billing_address", "discount_field", "show_price_breakdown", "updated_at"]
    list_filter = ["billing_address", "discount_field", "show_price_breakdown"]
    list_select_related = ["merchant"]
    search_fields = ["merchant__name", "=merchant__id"]


@admin.register(CheckoutVerificationCode)
class CheckoutVerificationCodeAdmin(ReadOnlyAdmin):
    list_display = ["id", "merchant", "livemode", "session", "customer", "attempts", "expires_at", "verified_at",
                    "created_at"]
    list_filter = ["livemode", "created_at"]
    list_select_related = ["merchant", "session", "customer"]
    search_fields = ["=id", "=session__id", "=customer__id", "customer__email"]
    exclude = ["code_hash"]


@admin.register(TrustedDevice)
class TrustedDeviceAdmin(ReadOnlyAdmin):
    list_display = ["id", "merchant", "livemode", "customer", "expires_at", "last_used_at", "created_at"]
    list_filter = ["livemode", "created_at"]
    list_select_related = ["merchant", "customer"]
    search_fields = ["=id", "=customer__id", "customer__email"]
    exclude = ["token_hash"]

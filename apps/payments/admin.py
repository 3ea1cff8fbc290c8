"""Operators' view of payments: read-only (money moves only through the services), formatted money,
search by id / attempt id / gateway transaction id, and an action to reconcile lost gateway answers."""
from django.contrib import admin, messages

from apps.core.actors import Actor
from apps.core.admin_utils import MoneyAdminMixin, ReadOnlyAdmin, ReadOnlyInline, pretty_json

from . import services
from .models import FeeLine, Payment, PaymentMethod, Refund, Transaction, Void


class TransactionInline(ReadOnlyInline):
    model = Transaction
    fields = ["id", "type", "amount_minor", "currency", "status", "gateway_transaction_id", "created_at"]
    readonly_fields = fields


class RefundInline(ReadOnlyInline):
    model = Refund
    fields = ["id", "amount_minor", "currency", "reason", "status", "failure_message", "created_at"]
    readonly_fields = fields


class VoidInline(ReadOnlyInline):
    model = Void
    fields = ["id", "status", "eligibility", "failure_message", "created_at"]
    readonly_fields = fields


class FeeLineInline(ReadOnlyInline):
    model = FeeLine
    fields = ["code", "description", "percent", "amount_minor", "currency"]
    readonly_fields = fields
    show_change_link = False


@admin.register(Payment)
class PaymentAdmin(MoneyAdminMixin, ReadOnlyAdmin):
    money_fields = ["amount_minor", "amount_refunded_minor", "fees_minor", "net_minor"]
    list_display = ["id", "merchant", "livemode", "amount_minor_money", "status", "outcome_unknown", "card_brand",
                    "card_last4", "decline_code", "created_at"]
    list_filter = ["status", "livemode", "outcome_unknown", "card_brand", "created_at"]
    list_select_related = ["merchant", "customer"]
    search_fields = ["=id", "=attempt_id", "=gateway_transaction_id", "customer__email"]
    search_help_text = "A payment id, attempt id or gateway transaction id (exact), or part of the customer's email."
    date_hierarchy = "created_at"
    show_full_result_count = False
    inlines = [TransactionInline, RefundInline, VoidInline]
    readonly_fields = ["amount_minor_money", "amount_refunded_minor_money", "fees_minor_money", "net_minor_money",
                       "metadata_pretty"]
    actions = ["reconcile"]

    @admin.display(description="Metadata")
    def metadata_pretty(self, obj):
        return pretty_json(obj.metadata)

    @admin.action(description="Reconcile pending payments with the gateway")
    def reconcile(self, request, queryset):
        actor = Actor.for_user(request.user)
        done = sum(1 for payment in queryset.filter(status="pending")
                   if services.payment_reconcile_unknown(payment=payment, actor=actor).status != "pending")
        self.message_user(request, f"Resolved {done} payment(s).", messages.SUCCESS)


@admin.register(PaymentMethod)
class PaymentMethodAdmin(ReadOnlyAdmin):
    list_display = ["id", "customer", "merchant", "livemode", "brand", "last4", "exp_month", "exp_year", "is_default",
                    "status", "created_at"]
    list_filter = ["status", "livemode", "brand"]
    list_select_related = ["merchant", "customer"]
    search_fields = ["=id", "=customer__id", "customer__email"]
    show_full_result_count = False


@admin.register(Transaction)
class TransactionAdmin(MoneyAdminMixin, ReadOnlyAdmin):
    money_fields = ["amount_minor"]
    list_display = ["id", "type", "amount_minor_money", "status", "payment", "merchant", "livemode", "created_at"]
    list_filter = ["type", "status", "livemode", "created_at"]
    list_select_related = ["merchant", "payment"]
    search_fields = ["=id", "=payment__id", "=gateway_transaction_id"]
    show_full_result_count = False
    inlines = [FeeLineInline]


@admin.register(Refund)
class RefundAdmin(MoneyAdminMixin, ReadOnlyAdmin):
    money_fields = ["amount_minor"]
    list_display = ["id", "payment", "amount_minor_money", "reason", "status", "merchant", "livemode", "created_at"]
    list_filter = ["status", "reason", "livemode", "created_at"]
    list_select_related = ["merchant", "payment"]
    search_fields = ["=id", "=payment__id", "=attempt_id", "=gateway_transaction_id"]
    show_full_result_count = False


@admin.register(Void)
class VoidAdmin(ReadOnlyAdmin):
    list_display = ["id", "payment", "status", "eligibility", "merchant", "livemode", "created_at"]
    list_filter = ["status", "eligibility", "livemode", "created_at"]
    list_select_related = ["merchant", "payment"]
    search_fields = ["=id", "=payment__id"]
    show_full_result_count = False

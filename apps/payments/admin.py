"""Operators' view of payments: read-only (money moves only through the services), formatted money,
search by id / attempt id / gateway transaction id, and an action to reconcile lost gateway answers."""
from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path

from apps.accounts.models import Merchant
from apps.core.actors import Actor
from apps.core.admin_utils import MoneyAdminMixin, ReadOnlyAdmin, ReadOnlyInline, pretty_json
from apps.core.errors import DomainError
from apps.core.forms import add_domain_error
from apps.core.money import Money
from apps.core.tenancy import Tenant

from . import services
from .models import Dispute, DisputeEvidenceFile, FeeLine, Payment, PaymentMethod, Refund, Transaction, Void


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
    list_display = ["id", "type", "amount_minor_money", "status", "payment", "description", "merchant", "livemode",
                    "created_at"]
    list_filter = ["type", "status", "livemode", "created_at"]
    list_select_related = ["merchant", "payment"]
    search_fields = ["=id", "=payment__id", "=gateway_transaction_id"]
    show_full_result_count = False
    inlines = [FeeLineInline]
    change_list_template = "admin/payments/transaction/change_list.html"

    def get_urls(self):
        return [path("record-adjustment/", self.admin_site.admin_view(self.record_adjustment),
                     name="payments_transaction_record_adjustment"), *super().get_urls()]

    def record_adjustment(self, request):
        """An operator's balance correction or reserve (services.adjustment_create); superusers only."""
        if not request.user.is_superuser:
            raise PermissionDenied("Only superusers record balance adjustments.")
        form = AdjustmentForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                adjustment = services.adjustment_create(
                    tenant=Tenant(data["merchant"], data["livemode"]), actor=Actor.for_user(request.user),
                    amount=data["amount"], description=data["description"], payment=data["payment"])
            except DomainError as exc:
                add_domain_error(form, exc)
            else:
                messages.success(request, f"Adjustment {adjustment.pk} of {adjustment.amount_minor} minor units "
                                          f"recorded; it joins the next payout.")
                return redirect("admin:payments_transaction_change", adjustment.pk)
        return TemplateResponse(request, "admin/payments/transaction/record_adjustment.html", {
            **self.admin_site.each_context(request), "title": "Record a balance adjustment", "form": form,
            "opts": self.model._meta})


class AdjustmentForm(forms.Form):
    merchant = forms.ModelChoiceField(queryset=Merchant.objects.order_by("name"))
    livemode = forms.BooleanField(label="Live mode", required=False)
    amount = forms.CharField(max_length=24, help_text="Major units in the merchant's settlement currency; "
                                                      "negative debits the merchant (e.g. -25.00 for a reserve).")
    description = forms.CharField(max_length=200, help_text="Why the balance changes: shown on the payout.")
    payment = forms.CharField(label="Payment id", max_length=40, required=False,
                              help_text="Optional: the payment this adjustment is about.")

    def clean(self):
        data = super().clean()
        merchant = data.get("merchant")
        if merchant is None:
            return data
        try:
            data["amount"] = Money.parse(data.get("amount") or "", merchant.settlement_currency)
        except ValueError as exc:
            self.add_error("amount", str(exc))
        payment_id = (data.get("payment") or "").strip()
        data["payment"] = None
        if payment_id:
            data["payment"] = Payment.objects.filter(pk=payment_id, merchant=merchant,
                                                     livemode=data.get("livemode", False)).first()
            if data["payment"] is None:
                self.add_error("payment", "No such payment for this merchant and mode.")
        return data


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


# --- disputes (read-only: they open from the gateway and change through services/disputes.py) ----------
class DisputeEvidenceFileInline(ReadOnlyInline):
    model = DisputeEvidenceFile
    fields = ["id", "original_name", "content_type", "size_bytes", "category", "uploaded_by", "created_at"]
    readonly_fields = fields


class DisputeTransactionInline(ReadOnlyInline):
    model = Transaction
    fk_name = "dispute"
    fields = ["id", "type", "amount_minor", "currency", "settled_at", "available_on", "payout", "created_at"]
    readonly_fields = fields
    verbose_name_plural = "Ledger transactions (held / released)"


@admin.register(Dispute)
class DisputeAdmin(MoneyAdminMixin, ReadOnlyAdmin):
    money_fields = ["amount_minor", "fee_minor"]
    list_display = ["id", "merchant", "livemode", "amount_minor_money", "fee_minor_money", "reason",
                    "network_reason_code", "status", "evidence_due_by", "disputed_at"]
    list_filter = ["status", "reason", "livemode", "disputed_at"]
    list_select_related = ["merchant"]
    search_fields = ["=id", "=payment__id", "=gateway_dispute_id", "customer__email"]
    search_help_text = "A dispute, payment or gateway chargeback id (exact), or part of the customer's email."
    date_hierarchy = "disputed_at"
    show_full_result_count = False
    inlines = [DisputeTransactionInline, DisputeEvidenceFileInline]
    readonly_fields = ["amount_minor_money", "fee_minor_money", "evidence_pretty"]

    @admin.display(description="Evidence")
    def evidence_pretty(self, obj):
        return pretty_json(obj.evidence)


@admin.register(DisputeEvidenceFile)
class DisputeEvidenceFileAdmin(ReadOnlyAdmin):
    list_display = ["id", "dispute", "original_name", "content_type", "size_bytes", "category", "merchant",
                    "created_at"]
    list_filter = ["content_type", "category"]
    list_select_related = ["merchant", "dispute"]
    search_fields = ["=id", "=dispute__id", "original_name"]
    show_full_result_count = False


# --- settlement batches and payouts (read-only money; failing a payout goes through services/payouts.py) ---

from .models import Payout, SettlementBatch  # noqa: E402


class SettledTransactionInline(ReadOnlyInline):
    model = Transaction
    fk_name = "settlement_batch"
    fields = ["id", "type", "amount_minor", "currency", "payment", "settled_at", "available_on", "payout"]
    readonly_fields = fields
    verbose_name_plural = "Ledger transactions settled in this batch"


@admin.register(SettlementBatch)
class SettlementBatchAdmin(MoneyAdminMixin, ReadOnlyAdmin):
    money_fields = ["sales_minor", "refunds_minor"]
    list_display = ["id", "gateway_batch_id", "merchant", "livemode", "closed_at", "transaction_count",
                    "sales_minor_money", "refunds_minor_money", "synced_at"]
    list_filter = ["livemode", "closed_at"]
    list_select_related = ["merchant"]
    search_fields = ["=id", "=gateway_batch_id"]
    date_hierarchy = "closed_at"
    show_full_result_count = False
    inlines = [SettledTransactionInline]


class PayoutTransactionInline(ReadOnlyInline):
    model = Transaction
    fk_name = "payout"
    fields = ["id", "type", "amount_minor", "currency", "payment", "settled_at", "available_on"]
    readonly_fields = fields
    verbose_name_plural = "Ledger transactions in this payout"


@admin.register(Payout)
class PayoutAdmin(MoneyAdminMixin, ReadOnlyAdmin):
    money_fields = ["amount_minor", "gross_minor", "fees_minor", "refunds_minor", "disputes_minor",
                    "adjustments_minor"]
    list_display = ["id", "merchant", "livemode", "payout_date", "arrival_date", "amount_minor_money", "status",
                    "transaction_count", "reference"]
    list_filter = ["status", "livemode", "payout_date"]
    list_select_related = ["merchant"]
    search_fields = ["=id", "=reference"]
    search_help_text = "A payout id or bank reference (exact)."
    date_hierarchy = "payout_date"
    show_full_result_count = False
    inlines = [PayoutTransactionInline]
    readonly_fields = ["amount_minor_money", "gross_minor_money", "fees_minor_money", "refunds_minor_money",
                       "disputes_minor_money", "adjustments_minor_money"]
    actions = ["mark_failed"]

    @admin.action(description="Mark failed (the bank rejected it): its transactions go to the next payout")
    def mark_failed(self, request, queryset):
        actor = Actor.for_user(request.user)
        failed, refused = 0, []
        for payout in queryset.order_by("pk"):
            try:
                services.payout_fail(payout=payout, actor=actor,
                                     message=f"Rejected by the bank (marked failed by {request.user}).")
                failed += 1
            except DomainError as exc:
                refused.append(f"{payout.pk}: {exc.message}")
        if failed:
            self.message_user(request, f"Marked {failed} payout(s) failed.", messages.SUCCESS)
        for message in refused:
            self.message_user(request, message, messages.WARNING)

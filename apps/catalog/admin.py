"""Operators' view of the catalog. Rows are written by the API, the dashboard and integrations through
the services, so the admin is read-only; the writes an operator may need (archive a product or a
price, delete a discount, revoke an entitlement) are actions that call the same services with the
operator as actor (ARCHITECTURE.md rule 4). Money is shown formatted ("£12.50"), never as bare minor
units."""
from __future__ import annotations

from django.contrib import admin, messages

from apps.core.actors import Actor
from apps.core.admin_utils import MoneyAdminMixin, ReadOnlyAdmin, ReadOnlyInline, format_money, pretty_json
from apps.core.errors import DomainError
from apps.core.tenancy import Tenant

from . import services
from .models import (
    Benefit,
    Discount,
    DiscountAmount,
    DiscountRedemption,
    Entitlement,
    Price,
    PriceTier,
    Product,
    ProductBenefit,
    ProductExternalId,
)


def _run_action(modeladmin, request, queryset, call, done_message: str) -> None:
    actor = Actor.for_user(request.user)
    done = 0
    for obj in queryset.select_related("merchant"):
        try:
            call(tenant=Tenant(obj.merchant, obj.livemode), actor=actor, obj=obj)
            done += 1
        except DomainError as exc:
            modeladmin.message_user(request, f"{obj.pk}: {exc.message}", messages.ERROR)
    modeladmin.message_user(request, done_message.format(done), messages.SUCCESS)


class PrettyJsonMixin:
    @admin.display(description="Metadata")
    def metadata_pretty(self, obj):
        return pretty_json(obj.metadata)


# --- products and prices -------------------------------------------------------------------------
class PriceInline(MoneyAdminMixin, ReadOnlyInline):
    model = Price
    money_fields = ["unit_amount_minor"]
    fields = ["id", "nickname", "type", "pricing_model", "unit_amount_minor_money", "interval", "interval_count",
              "active", "created_at"]
    readonly_fields = fields
    ordering = ["-created_at"]


class ExternalIdInline(ReadOnlyInline):
    model = ProductExternalId
    fields = ["source", "external_id", "external_updated_at", "created_at"]
    readonly_fields = fields
    show_change_link = False


class ProductBenefitInline(ReadOnlyInline):
    model = ProductBenefit
    fields = ["benefit", "position", "created_at"]
    readonly_fields = fields
    show_change_link = False


@admin.register(Product)
class ProductAdmin(PrettyJsonMixin, ReadOnlyAdmin):
    list_display = ["id", "name", "merchant", "livemode", "kind", "fulfillment_type", "active", "has_been_sold",
                    "created_at"]
    list_filter = ["active", "livemode", "kind", "fulfillment_type", "has_been_sold", "created_at"]
    list_select_related = ["merchant"]
    search_fields = ["=id", "name", "=lookup_key", "=external_ids__external_id", "=merchant__id"]
    search_help_text = "A product id, lookup key or external id (exact), or part of the name."
    date_hierarchy = "created_at"
    show_full_result_count = False
    inlines = [PriceInline, ExternalIdInline, ProductBenefitInline]
    actions = ["archive"]
    fields = ["id", "merchant", "livemode", "name", "description", "lookup_key", "kind", "fulfillment_type", "active",
              "has_been_sold", "images_pretty", "features_pretty", "metadata_pretty", "created_at", "updated_at"]
    readonly_fields = ["images_pretty", "features_pretty", "metadata_pretty"]

    @admin.display(description="Images")
    def images_pretty(self, obj):
        return pretty_json(obj.images)

    @admin.display(description="Features")
    def features_pretty(self, obj):
        return pretty_json(obj.features)

    @admin.action(description="Archive selected products (active: false)")
    def archive(self, request, queryset):
        _run_action(self, request, queryset.filter(active=True), lambda tenant, actor, obj: services.product_archive(
            tenant=tenant, actor=actor, product_id=obj.pk), "Archived {} product(s).")


class TierInline(ReadOnlyInline):
    model = PriceTier
    fields = ["position", "up_to", "unit_amount", "flat_amount"]
    readonly_fields = fields
    show_change_link = False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("price")

    @admin.display(description="Unit amount")
    def unit_amount(self, obj):
        return format_money(obj.unit_amount_minor, obj.price.currency)

    @admin.display(description="Flat amount")
    def flat_amount(self, obj):
        return format_money(obj.flat_amount_minor, obj.price.currency)


@admin.register(Price)
class PriceAdmin(MoneyAdminMixin, PrettyJsonMixin, ReadOnlyAdmin):
    money_fields = ["unit_amount_minor", "flat_amount_minor", "minimum_amount_minor", "suggested_amount_minor"]
    list_display = ["id", "product", "nickname", "type", "pricing_model", "unit_amount_minor_money", "interval",
                    "interval_count", "active", "merchant", "livemode", "created_at"]
    list_filter = ["active", "livemode", "type", "pricing_model", "interval", "currency", "tax_behavior",
                   "has_been_sold"]
    list_select_related = ["product", "merchant"]
    search_fields = ["=id", "=product__id", "product__name", "nickname", "=lookup_key"]
    search_help_text = "A price or product id (exact), part of the product name or nickname, or a lookup key."
    date_hierarchy = "created_at"
    show_full_result_count = False
    inlines = [TierInline]
    actions = ["archive"]
    fields = ["id", "merchant", "livemode", "product", "nickname", "lookup_key", "type", "pricing_model", "currency",
              "unit_amount_minor_money", "flat_amount_minor_money", "package_size", "minimum_amount_minor_money",
              "suggested_amount_minor_money", "interval", "interval_count", "trial_days", "tax_behavior", "active",
              "has_been_sold", "metadata_pretty", "created_at", "updated_at"]
    readonly_fields = ["unit_amount_minor_money", "flat_amount_minor_money", "minimum_amount_minor_money",
                       "suggested_amount_minor_money", "metadata_pretty"]

    @admin.action(description="Archive selected prices (active: false)")
    def archive(self, request, queryset):
        _run_action(self, request, queryset.filter(active=True), lambda tenant, actor, obj: services.price_archive(
            tenant=tenant, actor=actor, price_id=obj.pk), "Archived {} price(s).")


@admin.register(ProductExternalId)
class ProductExternalIdAdmin(ReadOnlyAdmin):
    list_display = ["external_id", "source", "product", "merchant", "livemode", "external_updated_at", "created_at"]
    list_filter = ["source", "livemode", "created_at"]
    list_select_related = ["product", "merchant"]
    search_fields = ["=external_id", "=product__id", "product__name"]
    show_full_result_count = False


# --- discounts -----------------------------------------------------------------------------------
class DiscountAmountInline(MoneyAdminMixin, ReadOnlyInline):
    model = DiscountAmount
    money_fields = ["amount_off_minor"]
    fields = ["currency", "amount_off_minor_money"]
    readonly_fields = fields
    show_change_link = False


class RedemptionInline(MoneyAdminMixin, ReadOnlyInline):
    model = DiscountRedemption
    money_fields = ["subtotal_minor", "amount_off_minor"]
    fields = ["id", "customer", "customer_email", "subtotal_minor_money", "amount_off_minor_money", "reference",
              "redeemed_at"]
    readonly_fields = fields
    ordering = ["-redeemed_at"]
    max_num = 0

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("customer")


class DiscountStateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("active", "Active"), ("inactive", "Inactive"), ("archived", "Archived"), ("deleted", "Deleted")]

    def queryset(self, request, queryset):
        value = self.value()
        if value == "active":
            return queryset.filter(active=True, archived_at__isnull=True, deleted_at__isnull=True)
        if value == "inactive":
            return queryset.filter(active=False, archived_at__isnull=True, deleted_at__isnull=True)
        if value == "archived":
            return queryset.filter(archived_at__isnull=False)
        if value == "deleted":
            return queryset.filter(deleted_at__isnull=False)
        return queryset


@admin.register(Discount)
class DiscountAdmin(MoneyAdminMixin, PrettyJsonMixin, ReadOnlyAdmin):
    money_fields = [("minimum_amount_minor", "minimum_amount_currency", "Minimum amount")]
    list_display = ["id", "code", "name", "type", "percent_off", "times_redeemed", "max_redemptions", "active",
                    "merchant", "livemode", "expires_at", "created_at"]
    list_filter = [DiscountStateFilter, "type", "duration", "scope", "livemode", "created_at"]
    list_select_related = ["merchant"]
    search_fields = ["=id", "code", "name"]
    search_help_text = "A discount id (exact), or part of the code or name."
    date_hierarchy = "created_at"
    show_full_result_count = False
    inlines = [DiscountAmountInline, RedemptionInline]
    actions = ["delete_or_archive"]
    fields = ["id", "merchant", "livemode", "code", "name", "type", "percent_off", "trial_days", "duration",
              "duration_in_periods", "scope", "max_redemptions", "max_redemptions_per_customer", "times_redeemed",
              "first_time_customer_only", "minimum_amount_minor_money", "starts_at", "expires_at", "active",
              "archived_at", "deleted_at", "metadata_pretty", "created_at", "updated_at"]
    readonly_fields = ["minimum_amount_minor_money", "metadata_pretty"]

    def get_queryset(self, request):
        qs = Discount.all_objects.select_related(*self.list_select_related)
        ordering = self.get_ordering(request)
        return qs.order_by(*ordering) if ordering else qs

    @admin.action(description="Delete selected discounts (redeemed ones are archived)")
    def delete_or_archive(self, request, queryset):
        _run_action(self, request, queryset.filter(deleted_at__isnull=True),
                    lambda tenant, actor, obj: services.discount_delete(tenant=tenant, actor=actor, discount_id=obj.pk),
                    "Deleted or archived {} discount(s).")


@admin.register(DiscountRedemption)
class DiscountRedemptionAdmin(MoneyAdminMixin, ReadOnlyAdmin):
    money_fields = ["subtotal_minor", "amount_off_minor"]
    list_display = ["id", "discount", "customer", "customer_email", "subtotal_minor_money", "amount_off_minor_money",
                    "reference", "merchant", "livemode", "redeemed_at"]
    list_filter = ["livemode", "currency", "redeemed_at"]
    list_select_related = ["discount", "customer", "merchant"]
    search_fields = ["=id", "=discount__id", "discount__code", "customer_email", "=customer__id", "=reference"]
    date_hierarchy = "redeemed_at"
    show_full_result_count = False
    fields = ["id", "merchant", "livemode", "discount", "code", "customer", "customer_email", "currency",
              "subtotal_minor_money", "amount_off_minor_money", "reference", "redeemed_at"]
    readonly_fields = ["subtotal_minor_money", "amount_off_minor_money"]


# --- benefits and entitlements -------------------------------------------------------------------
@admin.register(Benefit)
class BenefitAdmin(PrettyJsonMixin, ReadOnlyAdmin):
    list_display = ["id", "key", "name", "type", "active", "merchant", "livemode", "created_at", "deleted_at"]
    list_filter = ["type", "active", "livemode", "delivery", "on_cancellation"]
    list_select_related = ["merchant"]
    search_fields = ["=id", "key", "name"]
    show_full_result_count = False
    fields = ["id", "merchant", "livemode", "key", "name", "description", "type", "config_pretty", "delivery",
              "subscription_grant", "on_cancellation", "active", "metadata_pretty", "created_at", "updated_at",
              "deleted_at"]
    readonly_fields = ["config_pretty", "metadata_pretty"]

    def get_queryset(self, request):
        qs = Benefit.all_objects.select_related(*self.list_select_related)
        ordering = self.get_ordering(request)
        return qs.order_by(*ordering) if ordering else qs

    @admin.display(description="Config")
    def config_pretty(self, obj):
        return pretty_json(obj.config)


@admin.register(Entitlement)
class EntitlementAdmin(PrettyJsonMixin, ReadOnlyAdmin):
    list_display = ["id", "customer", "benefit", "status_display", "source", "granted_at", "expires_at", "revoked_at",
                    "merchant", "livemode"]
    list_filter = ["source", "livemode", "granted_at", ("revoked_at", admin.EmptyFieldListFilter)]
    list_select_related = ["customer", "benefit", "merchant"]
    search_fields = ["=id", "=customer__id", "customer__email", "benefit__key", "=source_reference"]
    search_help_text = "An entitlement or customer id (exact), part of the customer's email, or a benefit key."
    date_hierarchy = "granted_at"
    show_full_result_count = False
    actions = ["revoke"]
    fields = ["id", "merchant", "livemode", "customer", "benefit", "source", "source_reference", "granted_at",
              "expires_at", "revoked_at", "revoke_reason", "metadata_pretty", "created_at", "updated_at"]
    readonly_fields = ["metadata_pretty"]

    @admin.display(description="Status")
    def status_display(self, obj):
        return obj.status

    @admin.action(description="Revoke selected entitlements")
    def revoke(self, request, queryset):
        _run_action(self, request, queryset.filter(revoked_at__isnull=True).select_related("benefit"),
                    lambda tenant, actor, obj: services.entitlement_revoke(tenant=tenant, actor=actor, entitlement=obj,
                                                                           reason="operator"),
                    "Revoked {} entitlement(s).")

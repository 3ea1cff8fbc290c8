"""Operators' view of customers and their external ids.

Customers are written by the API, the dashboard and integrations through the services, so here they
are read-only; the one write an operator may need, a soft delete, is an action that calls
`customer_delete` with the operator as actor (ARCHITECTURE.md rule 4). Soft-deleted customers are
listed too (filter "Deleted"), unlike everywhere else.
"""
from django.contrib import admin, messages

from apps.core.actors import Actor
from apps.core.admin_utils import ReadOnlyAdmin, ReadOnlyInline, pretty_json
from apps.core.errors import DomainError
from apps.core.tenancy import Tenant

from . import services
from .models import Customer, CustomerExternalId


class DeletedFilter(admin.SimpleListFilter):
    title = "deleted"
    parameter_name = "deleted"

    def lookups(self, request, model_admin):
        return [("no", "Active"), ("yes", "Deleted")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(deleted_at__isnull=False)
        if self.value() == "no":
            return queryset.filter(deleted_at__isnull=True)
        return queryset


class ExternalIdInline(ReadOnlyInline):
    model = CustomerExternalId
    fields = ["source", "external_id", "external_updated_at", "created_at", "deleted_at"]
    readonly_fields = fields
    show_change_link = False


@admin.register(Customer)
class CustomerAdmin(ReadOnlyAdmin):
    list_display = ["id", "email", "name", "merchant", "livemode", "currency", "created_at", "is_deleted"]
    list_filter = ["livemode", DeletedFilter, "currency", "created_at"]
    list_select_related = ["merchant"]
    search_fields = ["=id", "email", "name", "company_name", "=external_ids__external_id"]
    search_help_text = "A customer id (exact), part of an email, name or company, or an external id (exact)."
    date_hierarchy = "created_at"
    show_full_result_count = False
    inlines = [ExternalIdInline]
    actions = ["soft_delete"]
    fieldsets = [
        (None, {"fields": ["id", "merchant", "livemode", "email", "name", "company_name", "phone", "locale",
                           "currency"]}),
        ("Addresses and tax", {"fields": ["billing_address_pretty", "shipping_address_pretty", "tax_ids_pretty"]}),
        ("Metadata", {"fields": ["metadata_pretty"]}),
        ("Dates", {"fields": ["created_at", "updated_at", "deleted_at"]}),
    ]
    readonly_fields = ["billing_address_pretty", "shipping_address_pretty", "tax_ids_pretty", "metadata_pretty"]

    def get_queryset(self, request):
        qs = Customer.all_objects.all()
        ordering = self.get_ordering(request)
        if ordering:
            qs = qs.order_by(*ordering)
        return qs.select_related(*self.list_select_related)

    @admin.display(boolean=True, description="Deleted", ordering="deleted_at")
    def is_deleted(self, obj):
        return obj.deleted_at is not None

    @admin.display(description="Billing address")
    def billing_address_pretty(self, obj):
        return pretty_json(obj.billing_address)

    @admin.display(description="Shipping address")
    def shipping_address_pretty(self, obj):
        return pretty_json(obj.shipping_address)

    @admin.display(description="Tax ids")
    def tax_ids_pretty(self, obj):
        return pretty_json(obj.tax_ids)

    @admin.display(description="Metadata")
    def metadata_pretty(self, obj):
        return pretty_json(obj.metadata)

    @admin.action(description="Soft-delete selected customers")
    def soft_delete(self, request, queryset):
        actor = Actor.for_user(request.user)
        done = 0
        for customer in queryset.filter(deleted_at__isnull=True).select_related("merchant"):
            try:
                services.customer_delete(tenant=Tenant(customer.merchant, customer.livemode), actor=actor,
                                         customer_id=customer.pk)
                done += 1
            except DomainError as exc:
                self.message_user(request, f"{customer.pk}: {exc.message}", messages.ERROR)
        self.message_user(request, f"Deleted {done} customer(s).", messages.SUCCESS)


@admin.register(CustomerExternalId)
class CustomerExternalIdAdmin(ReadOnlyAdmin):
    list_display = ["external_id", "source", "customer", "merchant", "livemode", "external_updated_at", "created_at",
                    "deleted_at"]
    list_filter = ["source", "livemode", "created_at"]
    list_select_related = ["customer", "merchant"]
    search_fields = ["=external_id", "=customer__id", "customer__email"]
    search_help_text = "An external id or customer id (exact), or part of the customer's email."
    show_full_result_count = False

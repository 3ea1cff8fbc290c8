"""Operators' view of the shared primitives: events (audit trail + outbox), state history, idempotency.

All three are written only by services, so here they are read-only.
"""
import json

from django.contrib import admin
from django.db.models import Q
from django.utils.html import format_html

from .admin_utils import ReadOnlyAdmin, pretty_json
from .ids import looks_like_id
from .models import Event, IdempotencyKey, StateTransition

admin.site.site_header = "RevKeen operations"
admin.site.site_title = "RevKeen admin"
admin.site.index_title = "Operations"


class DispatchedFilter(admin.SimpleListFilter):
    title = "dispatched"
    parameter_name = "dispatched"

    def lookups(self, request, model_admin):
        return [("yes", "Dispatched"), ("no", "Waiting in the outbox")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(dispatched_at__isnull=False)
        if self.value() == "no":
            return queryset.filter(dispatched_at__isnull=True)
        return queryset


def _actor(obj) -> str:
    label = obj.actor_label or obj.actor_id or ""
    return f"{obj.get_actor_type_display()}: {label}" if label else obj.get_actor_type_display()


class IdSearchMixin:
    """Searching a big table by a prefixed ID is an exact primary-key lookup, not a LIKE scan."""

    id_search_fields: tuple[str, ...] = ("pk",)
    text_search_fields: tuple[str, ...] = ()

    def get_search_results(self, request, queryset, search_term):
        term = (search_term or "").strip()
        if not term:
            return queryset, False
        if looks_like_id(term):
            condition = Q()
            for field in self.id_search_fields:
                condition |= Q(**{field: term})
            return queryset.filter(condition), False
        if not self.text_search_fields:
            return queryset.none(), False
        condition = Q()
        for field in self.text_search_fields:
            condition |= Q(**{field: term})
        return queryset.filter(condition), False


@admin.register(Event)
class EventAdmin(IdSearchMixin, ReadOnlyAdmin):
    list_display = ["id", "type", "merchant", "livemode", "object_id", "actor", "created_at", "dispatched"]
    list_filter = ["type", "livemode", "actor_type", DispatchedFilter, "is_test"]
    list_select_related = ["merchant"]
    search_fields = ["id", "object_id", "type"]
    search_help_text = "An event or object ID (exact), or the start of an event type (invoice.)."
    id_search_fields = ("pk", "object_id")
    text_search_fields = ("type__istartswith",)
    date_hierarchy = "created_at"
    show_full_result_count = False  # the events table is the biggest one: skip the second COUNT(*)
    fieldsets = [
        (None, {"fields": ["id", "type", "merchant", "livemode", "is_test", "api_version"]}),
        ("Object", {"fields": ["object_type", "object_id", "data_pretty", "previous_attributes_pretty"]}),
        ("Who", {"fields": ["actor_type", "actor_id", "actor_label", "request_id"]}),
        ("Outbox", {"fields": ["created_at", "dispatched_at"]}),
    ]
    readonly_fields = ["data_pretty", "previous_attributes_pretty"]

    @admin.display(description="Actor", ordering="actor_type")
    def actor(self, obj):
        return _actor(obj)

    @admin.display(description="Dispatched", boolean=True, ordering="dispatched_at")
    def dispatched(self, obj):
        return obj.dispatched_at is not None

    @admin.display(description="Data (data.object)")
    def data_pretty(self, obj):
        return pretty_json(obj.data)

    @admin.display(description="Previous attributes")
    def previous_attributes_pretty(self, obj):
        return pretty_json(obj.previous_attributes)


@admin.register(StateTransition)
class StateTransitionAdmin(IdSearchMixin, ReadOnlyAdmin):
    list_display = ["object_id", "object_type", "change", "reason", "actor", "merchant", "livemode", "created_at"]
    list_filter = ["object_type", "to_state", "actor_type", "livemode"]
    list_select_related = ["merchant"]
    search_fields = ["id", "object_id"]
    search_help_text = "A transition or object ID (exact), or an object type."
    id_search_fields = ("pk", "object_id")
    text_search_fields = ("object_type__iexact",)
    date_hierarchy = "created_at"
    show_full_result_count = False

    @admin.display(description="Change")
    def change(self, obj):
        return format_html("{} → {}", obj.from_state, obj.to_state)

    @admin.display(description="Actor", ordering="actor_type")
    def actor(self, obj):
        return _actor(obj)


@admin.register(IdempotencyKey)
class IdempotencyKeyAdmin(IdSearchMixin, ReadOnlyAdmin):
    list_display = ["key", "method", "path", "state", "response_status", "merchant", "api_key", "created_at",
                    "expires_at"]
    list_filter = ["state", "method", "response_status"]
    list_select_related = ["merchant", "api_key"]
    search_fields = ["id", "key"]
    search_help_text = "An idempotency-key row ID, or the Idempotency-Key value the client sent."
    id_search_fields = ("pk", "key")
    text_search_fields = ("key",)
    date_hierarchy = "created_at"
    show_full_result_count = False
    fields = ["id", "merchant", "api_key", "key", "method", "path", "request_fingerprint", "state",
              "response_status", "response_headers_pretty", "response_body_preview", "created_at", "completed_at",
              "expires_at"]
    readonly_fields = ["response_headers_pretty", "response_body_preview"]

    @admin.display(description="Response headers")
    def response_headers_pretty(self, obj):
        return pretty_json(obj.response_headers)

    @admin.display(description="Response body")
    def response_body_preview(self, obj):
        body = obj.response_body
        if body is None:
            return "-"
        text = bytes(body).decode("utf-8", errors="replace")
        try:
            return pretty_json(json.loads(text))
        except ValueError:
            return format_html("<pre>{}</pre>", text[:5000])

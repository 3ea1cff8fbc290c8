"""Building blocks for Django admin (the operators' console).

- `money_display` / `MoneyAdminMixin`: read-only, formatted money columns for models that store
  money the house way (`<name>_minor` integer + a currency field). Operators see "£1,234.50",
  never a bare 123450.
- `BaseAdmin`: list_select_related is applied to change pages too, so a page's query count does
  not depend on how many related rows there are.
- `ReadOnlyAdmin`: view-only admin for audit rows and anything that only services may write.
  Writes an operator needs are admin *actions* that call a service (ARCHITECTURE.md rule 4).
"""
from __future__ import annotations

import json
from collections.abc import Callable, Iterable

from django.contrib import admin
from django.utils.html import format_html

from .money import CurrencyError, Money


def format_money(amount_minor, currency, *, locale: str = "en_US") -> str | None:
    """Money(amount_minor, currency).format(), or None when either part is missing or unusable."""
    if amount_minor is None or not currency:
        return None
    try:
        return Money(int(amount_minor), currency).format(locale)
    except (CurrencyError, TypeError, ValueError):
        return None


def _money_label(amount_field: str) -> str:
    base = amount_field[: -len("_minor")] if amount_field.endswith("_minor") else amount_field
    return base.replace("_", " ").capitalize()


def money_display(amount_field: str, *, currency_field: str = "currency", description: str | None = None,
                  locale: str = "en_US") -> Callable:
    """A display callable for list_display / readonly_fields: `Money(obj.<amount_field>, obj.<currency_field>)`.

    Usable directly (`list_display = [money_display("amount_minor")]`) or as a method body; sorting the
    column sorts by the integer field.
    """

    def display(obj):
        return format_money(getattr(obj, amount_field, None), getattr(obj, currency_field, None), locale=locale)

    display.short_description = description or _money_label(amount_field)
    display.admin_order_field = amount_field
    display.__name__ = f"{amount_field}_money"
    return display


class MoneyAdminMixin:
    """Declare `money_fields` and get a read-only `<field>_money` column per entry.

        class InvoiceAdmin(MoneyAdminMixin, admin.ModelAdmin):
            money_fields = ["total_minor", ("fee_minor", "settlement_currency")]
            list_display = ["id", "total_minor_money"]
            readonly_fields = ["total_minor_money", "fee_minor_money"]

    An entry is an amount field name (currency read from `currency`) or `(amount_field, currency_field)`
    or `(amount_field, currency_field, description)`.
    """

    money_fields: Iterable = ()

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        for spec in cls.__dict__.get("money_fields", ()):
            amount_field, currency_field, description = _parse_money_spec(spec)
            render = money_display(amount_field, currency_field=currency_field, description=description)

            def method(self, obj, _render=render):
                return _render(obj)

            method.short_description = render.short_description
            method.admin_order_field = render.admin_order_field
            method.__name__ = render.__name__
            setattr(cls, render.__name__, method)


def _parse_money_spec(spec) -> tuple[str, str, str | None]:
    if isinstance(spec, str):
        return spec, "currency", None
    spec = tuple(spec)
    if len(spec) == 2:
        return spec[0], spec[1], None
    if len(spec) == 3:
        return spec[0], spec[1], spec[2]
    raise ValueError(f"money_fields entry {spec!r}: expected 'amount_minor' or (amount_field, currency_field[, label])")


def pretty_json(value) -> str:
    """JSON for humans, in a <pre>, escaped."""
    if value is None:
        return "-"
    text = json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str)
    return format_html('<pre style="white-space: pre-wrap; margin: 0">{}</pre>', text)


def mask_secret(value: str | None, *, visible: int = 4) -> str:
    """'••••••••1234': enough to tell two secrets apart, never enough to use one."""
    if not value:
        return "-"
    if len(value) <= visible * 3:
        return "•" * 8
    return "•" * 8 + value[-visible:]


class BaseAdmin(admin.ModelAdmin):
    """list_select_related also applies to the change/view page, so it costs the same queries as the list."""

    list_per_page = 50

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        if isinstance(self.list_select_related, (list, tuple)) and self.list_select_related:
            qs = qs.select_related(*self.list_select_related)
        return qs


class ReadOnlyAdmin(BaseAdmin):
    """View-only: no add, change or delete. Admin actions that call services remain available."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

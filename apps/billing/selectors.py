"""Billing reads: always merchant- and mode-scoped (ARCHITECTURE.md rule 3), shared by the API and the
dashboard. Lists return QuerySets with the customer joined and the lines prefetched, so a page of
any size runs a constant number of queries; a row of another merchant or mode is a 404.

Filters whose value is None or "" are not applied. Date bounds are inclusive: a `date` covers the whole
day (UTC), a `datetime` is compared as is.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.db.models import Prefetch, Q, QuerySet

from apps.core.errors import NotFound, ValidationFailed
from apps.core.ids import looks_like_id
from apps.core.tenancy import Tenant, get_scoped, scoped

from .models import Invoice, InvoiceComment, InvoiceLine, InvoicePayment, Order, OrderLine
from .models.invoices import OPEN_STATUSES, InvoiceStatus

# Spellings the guides and the CLI use for groups of invoice statuses (digest-api, Invoices).
INVOICE_STATUS_ALIASES: dict[str, frozenset[str]] = {
    "past_due": frozenset({"overdue"}),
    "open": OPEN_STATUSES,
}
INVOICE_STATUS_FILTERS = tuple(InvoiceStatus.values) + tuple(INVOICE_STATUS_ALIASES)
ORDER_STATUS_FILTERS = tuple(Order.Status.values)


def _get(model, prefix: str, label: str, *, tenant: Tenant, object_id: str, qs=None):
    if not looks_like_id(object_id, prefix):
        raise NotFound(f"No such {label}: '{str(object_id)[:60]}'", param="id")
    return get_scoped(qs if qs is not None else model, tenant=tenant, pk=object_id, label=label)


def _statuses(value, allowed: tuple[str, ...], aliases: dict[str, frozenset[str]], param: str) -> set[str] | None:
    """A status filter: one value, a comma-separated string or an iterable; aliases expand to groups."""
    if value is None or value == "":
        return None
    raw = value.split(",") if isinstance(value, str) else list(value) if isinstance(value, Iterable) else [value]
    out: set[str] = set()
    for item in raw:
        item = str(item).strip()
        if not item:
            continue
        if item not in allowed:
            raise ValidationFailed.not_one_of(param, allowed)
        out |= aliases.get(item, {item})
    return out or None


def _range(qs: QuerySet, field: str, lower, upper) -> QuerySet:
    """Inclusive bounds on a datetime field; a plain date bound covers its whole day."""
    if lower not in (None, ""):
        if isinstance(lower, datetime):
            qs = qs.filter(**{f"{field}__gte": lower})
        else:
            qs = qs.filter(**{f"{field}__date__gte": lower})
    if upper not in (None, ""):
        if isinstance(upper, datetime):
            qs = qs.filter(**{f"{field}__lte": upper})
        else:
            qs = qs.filter(**{f"{field}__date__lte": upper})
    return qs


def _as_date(value):
    if isinstance(value, datetime):
        return value.date()
    return value


# --- invoices ----------------------------------------------------------------------------------------
def _invoice_rows(qs: QuerySet) -> QuerySet[Invoice]:
    return qs.select_related("customer").prefetch_related(
        Prefetch("lines", queryset=InvoiceLine.objects.order_by("position", "id")))


def invoice_list(*, tenant: Tenant, status=None, customer_id: str | None = None, created_from=None,
                 created_to=None, due_from=None, due_to=None, amount_min: int | None = None,
                 amount_max: int | None = None, search: str | None = None,
                 subscription_id: str | None = None) -> QuerySet[Invoice]:
    """The tenant's invoices, newest first. `status` accepts every invoice status plus `past_due`
    (overdue) and `open` (approved, sent, partially_paid, overdue); several may be given comma-separated.
    `amount_min`/`amount_max` bound the total in minor units; `search` matches the number, id,
    description, external id and the customer's name or email."""
    qs = scoped(Invoice, tenant=tenant)
    statuses = _statuses(status, INVOICE_STATUS_FILTERS, INVOICE_STATUS_ALIASES, "status")
    if statuses:
        qs = qs.filter(status__in=sorted(statuses))
    if customer_id:
        qs = qs.filter(customer_id=customer_id)
    if subscription_id:
        qs = qs.filter(subscription_id=subscription_id)
    qs = _range(qs, "created_at", created_from, created_to)
    if due_from not in (None, ""):
        qs = qs.filter(due_date__gte=_as_date(due_from))
    if due_to not in (None, ""):
        qs = qs.filter(due_date__lte=_as_date(due_to))
    if amount_min is not None and amount_min != "":
        qs = qs.filter(total_minor__gte=amount_min)
    if amount_max is not None and amount_max != "":
        qs = qs.filter(total_minor__lte=amount_max)
    if search and search.strip():
        term = search.strip()
        qs = qs.filter(Q(number__icontains=term) | Q(pk=term) | Q(description__icontains=term)
                       | Q(external_id=term) | Q(customer__name__icontains=term)
                       | Q(customer__email__icontains=term) | Q(customer_name__icontains=term))
    return _invoice_rows(qs).order_by("-created_at", "-id")


def invoice_get(*, tenant: Tenant, invoice_id: str) -> Invoice:
    return _get(Invoice, "inv", "invoice", tenant=tenant, object_id=invoice_id,
                qs=_invoice_rows(Invoice.objects.all()))


def invoice_get_by_external_id(*, tenant: Tenant, source: str, external_id: str) -> Invoice | None:
    return _invoice_rows(scoped(Invoice, tenant=tenant)).filter(external_source=source,
                                                                 external_id=external_id).first()


def invoice_comment_list(*, tenant: Tenant, invoice: Invoice) -> QuerySet[InvoiceComment]:
    return scoped(InvoiceComment, tenant=tenant).filter(invoice=invoice).order_by("-created_at", "-id")


def invoice_payment_list(*, tenant: Tenant, invoice: Invoice) -> QuerySet[InvoicePayment]:
    return scoped(InvoicePayment, tenant=tenant).filter(invoice=invoice).order_by("-created_at", "-id")


# --- orders ------------------------------------------------------------------------------------------
def _order_rows(qs: QuerySet) -> QuerySet[Order]:
    return qs.select_related("customer").prefetch_related(
        Prefetch("lines", queryset=OrderLine.objects.order_by("position", "id")))


def order_list(*, tenant: Tenant, status=None, customer_id: str | None = None, created_from=None,
               created_to=None, invoice_id: str | None = None, search: str | None = None) -> QuerySet[Order]:
    """The tenant's orders, newest first; `status` may list several, comma-separated."""
    qs = scoped(Order, tenant=tenant)
    statuses = _statuses(status, ORDER_STATUS_FILTERS, {}, "status")
    if statuses:
        qs = qs.filter(status__in=sorted(statuses))
    if customer_id:
        qs = qs.filter(customer_id=customer_id)
    if invoice_id:
        qs = qs.filter(invoice_id=invoice_id)
    qs = _range(qs, "created_at", created_from, created_to)
    if search and search.strip():
        term = search.strip()
        qs = qs.filter(Q(pk=term) | Q(tracking_number=term) | Q(invoice__number__icontains=term)
                       | Q(customer__name__icontains=term) | Q(customer__email__icontains=term))
    return _order_rows(qs).order_by("-created_at", "-id")


def order_get(*, tenant: Tenant, order_id: str) -> Order:
    return _get(Order, "ord", "order", tenant=tenant, object_id=order_id, qs=_order_rows(Order.objects.all()))


"""Merchant-scoped reads of customers. The API lists and the dashboard use the same ones."""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.db.models import Exists, OuterRef, Q, QuerySet, Value
from django.db.models.functions import Coalesce, Lower, NullIf

from apps.core.errors import NotFound, ValidationFailed
from apps.core.ids import looks_like_id
from apps.core.models import Event
from apps.core.tenancy import Tenant, get_scoped, scoped

from .models import Customer, CustomerExternalId
from .payloads import external_ids_prefetch
from .validation import clean_external_id, clean_source

SEARCH_MAX = 200


def _base(tenant: Tenant) -> QuerySet[Customer]:
    # The default manager already hides soft-deleted customers.
    return scoped(Customer, tenant=tenant).prefetch_related(external_ids_prefetch())


def customer_search(tenant: Tenant, query: str) -> QuerySet[Customer]:
    """Customers whose name, email or external id contains `query` (case-insensitive), or whose id
    is `query` exactly. Newest first. An empty query matches everyone."""
    qs = _base(tenant)
    term = (query or "").strip()[:SEARCH_MAX]
    if not term:
        return qs.order_by("-created_at", "-pk")
    external = CustomerExternalId.objects.filter(customer=OuterRef("pk"), deleted_at__isnull=True,
                                                 external_id__icontains=term)
    condition = Q(name__icontains=term) | Q(email__icontains=term) | Q(company_name__icontains=term) | Exists(external)
    if looks_like_id(term, "cus"):
        condition |= Q(pk=term)
    return qs.filter(condition).order_by("-created_at", "-pk")


# Orderings the dashboard offers. "name" sorts by what the list shows as the name: the name, or the
# email for customers without one (so nameless customers are not all bunched at one end).
_DISPLAY_NAME = Lower(Coalesce(NullIf("name", Value("")), "email"))
CUSTOMER_ORDERINGS = {
    "-created": ("-created_at", "-pk"),
    "created": ("created_at", "pk"),
    "name": (_DISPLAY_NAME.asc(), "pk"),
    "-name": (_DISPLAY_NAME.desc(), "-pk"),
}


def customer_list(*, tenant: Tenant, search: str | None = None, email: str | None = None,
                  created_after: datetime | None = None, created_before: datetime | None = None,
                  currency: str | None = None, external_source: str | None = None,
                  has_external_id: bool | None = None, order: str = "-created") -> QuerySet[Customer]:
    """The API list (page 152) and the dashboard list: filters combine with AND; newest first
    (created_at DESC, id DESC) unless `order` is one of CUSTOMER_ORDERINGS.

    `external_source` keeps customers with an id from that source ("shopify"); `has_external_id`
    True/False keeps those with any / without any external id."""
    qs = customer_search(tenant, search or "")
    if email:
        qs = qs.filter(email=email.strip().lower())
    if created_after and created_before and created_after > created_before:
        raise ValidationFailed("created_after must be before created_before.",
                               fields={"created_after": ["must be before created_before"]})
    if created_after:
        qs = qs.filter(created_at__gte=created_after)
    if created_before:
        qs = qs.filter(created_at__lt=created_before)
    if currency:
        qs = qs.filter(currency=currency.strip().upper())
    if external_source or has_external_id is not None:
        ids = CustomerExternalId.objects.filter(customer=OuterRef("pk"), deleted_at__isnull=True)
        if external_source:
            qs = qs.filter(Exists(ids.filter(source=external_source.strip().lower())))
        if has_external_id is not None:
            qs = qs.filter(Exists(ids) if has_external_id else ~Exists(ids))
    if order not in CUSTOMER_ORDERINGS:
        raise ValidationFailed(f"order must be one of {', '.join(CUSTOMER_ORDERINGS)}.",
                               fields={"order": [f"must be one of {', '.join(CUSTOMER_ORDERINGS)}"]})
    return qs.order_by(*CUSTOMER_ORDERINGS[order])


def customer_external_sources(*, tenant: Tenant) -> list[str]:
    """The sources the tenant's live customers have ids from, for the list's filter (one query)."""
    return list(scoped(CustomerExternalId, tenant=tenant).filter(deleted_at__isnull=True, customer__deleted_at__isnull=True)
                .order_by("source").values_list("source", flat=True).distinct())


def customer_currencies(*, tenant: Tenant) -> list[str]:
    """The preferred currencies the tenant's customers have, for the list's filter (one query)."""
    return list(scoped(Customer, tenant=tenant).exclude(currency="").order_by("currency")
                .values_list("currency", flat=True).distinct())


def not_found(customer_id: str) -> NotFound:
    return NotFound(f"No such customer: '{str(customer_id)[:60]}'", param="id")


def customer_get(*, tenant: Tenant, customer_id: str) -> Customer:
    """One live customer of the tenant's, or 404 (another merchant's, another mode's or deleted).
    Something that is not a customer id at all is a 404 without a query."""
    if not looks_like_id(customer_id, "cus"):
        raise not_found(customer_id)
    return get_scoped(Customer.objects.prefetch_related(external_ids_prefetch()), tenant=tenant, pk=customer_id,
                      label="customer")


def customer_get_by_external_id(*, tenant: Tenant, source: str, external_id: str) -> Customer:
    source, errors = clean_source(source)
    external_id, more = clean_external_id(external_id)
    if errors or more:
        raise NotFound(f"No such customer: '{source}/{external_id}'", param="external_id")
    mapping = (scoped(CustomerExternalId, tenant=tenant)
               .filter(source=source, external_id=external_id, deleted_at__isnull=True)
               .values_list("customer_id", flat=True).first())
    if mapping is None:
        raise NotFound(f"No such customer: '{source}/{external_id}'", param="external_id")
    return customer_get(tenant=tenant, customer_id=mapping)


def customer_timeline(tenant: Tenant, customer: Customer, *,
                      related_object_ids: Iterable[QuerySet] = ()) -> QuerySet[Event]:
    """The customer's events, newest first, for the detail page: those about the customer itself
    (Event.object_id == customer id) and those about objects that belong to it. Each of
    `related_object_ids` is a queryset of such objects' ids (`.values("pk")`: the customer's
    entitlements now; invoices and payments later), passed in by the caller so this app does not
    import the apps that own those objects. Each becomes an `object_id IN (subquery)` that the
    object_id index answers, so the timeline stays one query."""
    condition = Q(object_id=customer.pk)
    for ids in related_object_ids:
        condition |= Q(object_id__in=ids)
    return scoped(Event, tenant=tenant).filter(condition).order_by("-created_at", "-pk")

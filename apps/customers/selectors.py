"""Merchant-scoped reads of customers. The API lists and the dashboard (later) use the same ones."""
from __future__ import annotations

from datetime import datetime

from django.db.models import Exists, OuterRef, Q, QuerySet

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


def customer_list(*, tenant: Tenant, search: str | None = None, email: str | None = None,
                  created_after: datetime | None = None, created_before: datetime | None = None) -> QuerySet[Customer]:
    """The API list (page 152): filters combine with AND; newest first (created_at DESC, id DESC)."""
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
    return qs


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


def customer_timeline(tenant: Tenant, customer: Customer) -> QuerySet[Event]:
    """The customer's events (Event.object_id == customer id), newest first, for the detail page.
    Later issues' objects (invoices, payments) will add their customer-linked events here."""
    return scoped(Event, tenant=tenant).filter(object_id=customer.pk).order_by("-created_at", "-pk")

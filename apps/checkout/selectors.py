"""Checkout reads: always merchant- and mode-scoped (ARCHITECTURE.md rule 3), shared by the API and the
dashboard. Lists are QuerySets with their items prefetched, so a page of any size runs a constant number
of queries; a row of another merchant or mode is a 404.

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

from .models import CheckoutSession, CheckoutSessionItem, PaymentLink, PaymentLinkItem


def _statuses(value, allowed, param: str) -> list[str] | None:
    """One status, a comma-separated string or an iterable of them; anything else is a 400."""
    if value is None or value == "":
        return None
    raw = value.split(",") if isinstance(value, str) else list(value) if isinstance(value, Iterable) else [value]
    out = []
    for item in raw:
        item = str(item).strip()
        if not item:
            continue
        if item not in allowed:
            raise ValidationFailed.not_one_of(param, allowed)
        out.append(item)
    return sorted(set(out)) or None


def _range(qs: QuerySet, field: str, lower, upper) -> QuerySet:
    if lower not in (None, ""):
        qs = qs.filter(**{f"{field}__gte" if isinstance(lower, datetime) else f"{field}__date__gte": lower})
    if upper not in (None, ""):
        qs = qs.filter(**{f"{field}__lte" if isinstance(upper, datetime) else f"{field}__date__lte": upper})
    return qs


# --- payment links -------------------------------------------------------------------------------------
def _link_rows(qs: QuerySet) -> QuerySet[PaymentLink]:
    return qs.prefetch_related(Prefetch("items", queryset=PaymentLinkItem.objects.order_by("position", "id")))


def payment_link_list(*, tenant: Tenant, status=None, created_from=None, created_to=None,
                      search: str | None = None) -> QuerySet[PaymentLink]:
    """The tenant's payment links, newest first; `status` may name several (comma-separated); `search`
    matches the id or the name. Analytics are columns of the link, so they cost no query."""
    qs = scoped(PaymentLink, tenant=tenant)
    statuses = _statuses(status, PaymentLink.Status.values, "status")
    if statuses:
        qs = qs.filter(status__in=statuses)
    qs = _range(qs, "created_at", created_from, created_to)
    if search and search.strip():
        term = search.strip()
        qs = qs.filter(Q(pk=term) | Q(name__icontains=term))
    return _link_rows(qs).order_by("-created_at", "-id")


def payment_link_get(*, tenant: Tenant, link_id: str) -> PaymentLink:
    """By `pl_` id (the reference's "UUID or public_id": ours is both). Not an id at all: 404, no query."""
    if not looks_like_id(link_id, "pl"):
        raise NotFound(f"No such payment link: '{str(link_id)[:60]}'", param="id")
    return get_scoped(_link_rows(PaymentLink.objects.all()), tenant=tenant, pk=link_id, label="payment link")


# --- checkout sessions -----------------------------------------------------------------------------------
def _session_rows(qs: QuerySet) -> QuerySet[CheckoutSession]:
    return qs.prefetch_related(Prefetch("items", queryset=CheckoutSessionItem.objects.order_by("position", "id")))


def checkout_session_list(*, tenant: Tenant, status=None, payment_link_id: str | None = None,
                          customer_id: str | None = None, created_from=None,
                          created_to=None) -> QuerySet[CheckoutSession]:
    qs = scoped(CheckoutSession, tenant=tenant)
    statuses = _statuses(status, CheckoutSession.Status.values, "status")
    if statuses:
        qs = qs.filter(status__in=statuses)
    if payment_link_id:
        qs = qs.filter(payment_link_id=payment_link_id)
    if customer_id:
        qs = qs.filter(customer_id=customer_id)
    qs = _range(qs, "created_at", created_from, created_to)
    return _session_rows(qs).order_by("-created_at", "-id")


def checkout_session_get(*, tenant: Tenant, session_id: str) -> CheckoutSession:
    if not looks_like_id(session_id, "cs"):
        raise NotFound(f"No such checkout session: '{str(session_id)[:60]}'", param="id")
    return get_scoped(_session_rows(CheckoutSession.objects.all()), tenant=tenant, pk=session_id,
                      label="checkout session")

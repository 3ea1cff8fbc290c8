"""Merchant-scoped reads of the catalog. Every queryset that feeds a list carries the prefetches its
payload needs, so a page costs the same number of queries whatever its length."""
from __future__ import annotations

from datetime import datetime

from django.db.models import Count, Exists, F, IntegerField, OuterRef, Prefetch, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce, Lower

from apps.core.clock import now
from apps.core.errors import NotFound, ValidationFailed
from apps.core.ids import looks_like_id
from apps.core.tenancy import Tenant, get_scoped, scoped
from apps.customers.models import Customer

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

SEARCH_MAX = 200


# --- products and prices -------------------------------------------------------------------------
def price_queryset(qs=None) -> QuerySet[Price]:
    qs = qs if qs is not None else Price.objects.all()
    return qs.prefetch_related(Prefetch("tiers", queryset=PriceTier.objects.order_by("position")))


def product_prefetches() -> list:
    return [
        Prefetch("prices", queryset=price_queryset(Price.objects.filter(active=True).order_by("created_at", "pk")),
                 to_attr="active_prices"),
        Prefetch("external_ids", queryset=ProductExternalId.objects.order_by("source", "external_id")),
        Prefetch("product_benefits", queryset=ProductBenefit.objects.filter(benefit__deleted_at__isnull=True)
                 .select_related("benefit").order_by("position", "id"), to_attr="live_product_benefits"),
    ]


def product_queryset(tenant: Tenant) -> QuerySet[Product]:
    return scoped(Product, tenant=tenant).prefetch_related(*product_prefetches())


# The dashboard's sort options → ORDER BY (the primary key breaks ties, so pages never overlap).
PRODUCT_ORDERINGS = {
    "-created": ("-created_at", "-pk"),
    "created": ("created_at", "pk"),
    "name": (Lower("name"), "pk"),
    "-name": (Lower("name").desc(), "-pk"),
}


def product_list(*, tenant: Tenant, active: bool | None = None, search: str | None = None,
                 kind: str | None = None, created_after: datetime | None = None,
                 created_before: datetime | None = None, sort: str = "-created") -> QuerySet[Product]:
    """Products newest first (or by `sort`, one of PRODUCT_ORDERINGS). `search` matches name,
    description, lookup key or an external id (case-insensitive, contains), or the id exactly."""
    qs = product_queryset(tenant)
    if active is not None:
        qs = qs.filter(active=active)
    if kind:
        qs = qs.filter(kind=kind)
    term = (search or "").strip()[:SEARCH_MAX]
    if term:
        external = ProductExternalId.objects.filter(product=OuterRef("pk"), external_id__icontains=term)
        condition = (Q(name__icontains=term) | Q(description__icontains=term) | Q(lookup_key__icontains=term)
                     | Exists(external))
        if looks_like_id(term, "prod"):
            condition |= Q(pk=term)
        qs = qs.filter(condition)
    if created_after and created_before and created_after > created_before:
        raise ValidationFailed("created_after must be before created_before.",
                               fields={"created_after": ["must be before created_before"]})
    if created_after:
        qs = qs.filter(created_at__gte=created_after)
    if created_before:
        qs = qs.filter(created_at__lt=created_before)
    return qs.order_by(*PRODUCT_ORDERINGS.get(sort, PRODUCT_ORDERINGS["-created"]))


def product_get(*, tenant: Tenant, product_id: str) -> Product:
    return get_scoped(product_queryset(tenant), tenant=tenant, pk=product_id, label="product")


def price_list(*, tenant: Tenant, product_id: str | None = None, active: bool | None = None,
               type: str | None = None, currency: str | None = None, pricing_model: str | None = None,
               lookup_key: str | None = None) -> QuerySet[Price]:
    qs = price_queryset(scoped(Price, tenant=tenant))
    if product_id:
        qs = qs.filter(product_id=product_id)
    if active is not None:
        qs = qs.filter(active=active)
    if type:
        qs = qs.filter(type=type)
    if currency:
        qs = qs.filter(currency=currency)
    if pricing_model:
        qs = qs.filter(pricing_model=pricing_model)
    if lookup_key:
        qs = qs.filter(lookup_key=lookup_key)
    return qs.order_by("-created_at", "-pk")


def price_get(*, tenant: Tenant, price_id: str) -> Price:
    return get_scoped(price_queryset(scoped(Price, tenant=tenant)), tenant=tenant, pk=price_id, label="price")


# --- discounts -----------------------------------------------------------------------------------
def discount_queryset(tenant: Tenant, *, include_deleted: bool = False) -> QuerySet[Discount]:
    base = Discount.all_objects if include_deleted else Discount.objects
    return scoped(base.all(), tenant=tenant).prefetch_related(
        Prefetch("amounts", queryset=DiscountAmount.objects.order_by("position", "currency")),
        Prefetch("products", queryset=Product.objects.only("pk")),
        Prefetch("prices", queryset=Price.objects.only("pk")),
    )


def discount_list(*, tenant: Tenant, code: str | None = None, active: bool | None = None,
                  type: str | None = None, search: str | None = None) -> QuerySet[Discount]:
    """Discounts that are not deleted, newest first. `active=true`: usable (active, not archived);
    `active=false`: deactivated or archived. `code` matches case-insensitively; `search` (the
    dashboard's box) matches part of the code or the name."""
    qs = discount_queryset(tenant)
    if code:
        qs = qs.annotate(code_lower=Lower("code")).filter(code_lower=code.strip().lower())
    term = (search or "").strip()[:SEARCH_MAX]
    if term:
        qs = qs.filter(Q(code__icontains=term) | Q(name__icontains=term))
    if active is True:
        qs = qs.filter(active=True, archived_at__isnull=True)
    elif active is False:
        qs = qs.filter(Q(active=False) | Q(archived_at__isnull=False))
    if type:
        qs = qs.filter(type=type)
    return qs.order_by("-created_at", "-pk")


def discount_get(*, tenant: Tenant, discount_id: str) -> Discount:
    return get_scoped(discount_queryset(tenant), tenant=tenant, pk=discount_id, label="discount")


def discount_redemption_totals(*, tenant: Tenant, discount: Discount) -> list[dict]:
    """Usage per currency: [{"currency", "count", "total_off_minor", "total_subtotal_minor", "net_minor"}]
    (the detail page's "total discounted" and what those orders came to after it)."""
    return list(scoped(DiscountRedemption, tenant=tenant).filter(discount=discount).values("currency")
                .annotate(count=Count("pk"), total_off_minor=Sum("amount_off_minor"),
                          total_subtotal_minor=Sum("subtotal_minor"),
                          net_minor=Sum(F("subtotal_minor") - F("amount_off_minor"))).order_by("currency"))


def discount_redemption_list(*, tenant: Tenant, discount: Discount) -> QuerySet[DiscountRedemption]:
    """A discount's redemptions, newest first, with their customers."""
    return (scoped(DiscountRedemption, tenant=tenant).filter(discount=discount).select_related("customer")
            .order_by("-redeemed_at", "-pk"))


# --- benefits and entitlements -------------------------------------------------------------------
def benefit_list(*, tenant: Tenant, active: bool | None = None, type: str | None = None,
                 search: str | None = None) -> QuerySet[Benefit]:
    qs = scoped(Benefit, tenant=tenant)
    if active is not None:
        qs = qs.filter(active=active)
    if type:
        qs = qs.filter(type=type)
    term = (search or "").strip()[:SEARCH_MAX]
    if term:
        qs = qs.filter(Q(name__icontains=term) | Q(key__icontains=term))
    return qs.order_by("-created_at", "-pk")


def _count(qs, by: str) -> Coalesce:
    """A correlated COUNT subquery over `qs` grouped by its `by` column (two of them do not multiply
    each other's rows as two joins would)."""
    counted = qs.order_by().values(by).annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def benefit_list_with_usage(**filters) -> QuerySet[Benefit]:
    """`benefit_list` with `product_count` (products it is attached to) and `active_entitlement_count`
    (customers who have it right now), counted in the same query."""
    return benefit_list(**filters).annotate(
        product_count=_count(ProductBenefit.objects.filter(benefit=OuterRef("pk")), "benefit"),
        active_entitlement_count=_count(Entitlement.objects.filter(_active_q(now()), benefit=OuterRef("pk")), "benefit"),
    )


def benefit_get(*, tenant: Tenant, benefit_id: str) -> Benefit:
    return get_scoped(Benefit, tenant=tenant, pk=benefit_id, label="benefit")


def benefit_products(*, tenant: Tenant, benefit: Benefit) -> QuerySet[Product]:
    """The products a benefit is attached to (buying one grants it), by name."""
    return scoped(Product, tenant=tenant).filter(product_benefits__benefit=benefit).order_by(Lower("name"), "pk")


def benefit_get_by_key(*, tenant: Tenant, key: str) -> Benefit:
    benefit = scoped(Benefit, tenant=tenant).filter(key=(key or "").strip()).first()
    if benefit is None:
        raise NotFound(f"No such benefit: '{key}'", param="benefit_key")
    return benefit


def customer_for_entitlements(*, tenant: Tenant, customer_id: str) -> Customer:
    """A live customer of the tenant's, or 404 (another merchant's, another mode's or deleted)."""
    return get_scoped(Customer, tenant=tenant, pk=customer_id, label="customer")


def _active_q(at: datetime) -> Q:
    return Q(revoked_at__isnull=True) & (Q(expires_at__isnull=True) | Q(expires_at__gt=at))


def entitlement_list(*, tenant: Tenant, customer: Customer, status: str | None = None,
                     benefit_key: str | None = None) -> QuerySet[Entitlement]:
    """A customer's entitlements newest first, every status unless `status` is given."""
    qs = scoped(Entitlement, tenant=tenant).filter(customer=customer).select_related("benefit")
    at = now()
    if status == "active":
        qs = qs.filter(_active_q(at))
    elif status == "expired":
        qs = qs.filter(Q(revoked_at__isnull=True, expires_at__lte=at) | Q(revoke_reason="expired",
                                                                           revoked_at__isnull=False))
    elif status == "revoked":
        qs = qs.filter(revoked_at__isnull=False).exclude(revoke_reason="expired")
    if benefit_key:
        qs = qs.filter(benefit__key=benefit_key.strip())
    return qs.order_by("-created_at", "-pk")


def active_entitlement(*, tenant: Tenant, customer: Customer, key: str) -> Entitlement | None:
    """The customer's active entitlement to the benefit with `key`, or None."""
    return (scoped(Entitlement, tenant=tenant).filter(_active_q(now()), customer=customer,
                                                       benefit__key=(key or "").strip(),
                                                       benefit__deleted_at__isnull=True)
            .select_related("benefit").first())


def entitlement_get(*, tenant: Tenant, customer: Customer, entitlement_id: str) -> Entitlement:
    qs = scoped(Entitlement, tenant=tenant).filter(customer=customer).select_related("benefit")
    return get_scoped(qs, tenant=tenant, pk=entitlement_id, label="entitlement")

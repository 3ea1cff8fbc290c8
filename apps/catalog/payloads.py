"""The catalog objects as the API shows them. Events carry exactly these objects (`data.object`), so
the API, webhooks and the dashboard's timeline see the same shape.

Serialising a page of products or prices costs a fixed number of queries when the selectors'
prefetches are used (`selectors.product_queryset`, `selectors.price_queryset`, …); the payload
functions only read what those prefetches loaded (and fall back to a query for a single object).
"""
from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from apps.core.clock import now

from .models import Benefit, Discount, Entitlement, Price, Product


def iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def decimal_number(value: Decimal | None):
    """12.5 for Decimal('12.5000'), 20 for Decimal('20.0000'): a JSON number, exact for percentages."""
    if value is None:
        return None
    value = Decimal(value).normalize()
    return int(value) if value == value.to_integral_value() else float(str(value))


def _prefetched(obj, name: str):
    cache = getattr(obj, "_prefetched_objects_cache", {})
    return cache.get(name)


# --- prices --------------------------------------------------------------------------------------
def price_payload(price: Price) -> dict:
    return {
        "id": price.pk,
        "object": "price",
        "product_id": price.product_id,
        "active": price.active,
        "type": price.type,
        "pricing_model": price.pricing_model,
        "currency": price.currency,
        "unit_amount_minor": price.unit_amount_minor,
        "flat_amount_minor": price.flat_amount_minor,
        "package_size": price.package_size,
        "tiers": [{"up_to": t.up_to, "unit_amount_minor": t.unit_amount_minor, "flat_amount_minor": t.flat_amount_minor}
                  for t in price.tier_list()],
        "minimum_amount_minor": price.minimum_amount_minor,
        "suggested_amount_minor": price.suggested_amount_minor,
        "interval": price.interval or None,
        "interval_count": price.interval_count,
        "trial_days": price.trial_days,
        "tax_behavior": price.tax_behavior,
        "nickname": price.nickname or None,
        "lookup_key": price.lookup_key or None,
        "metadata": dict(price.metadata or {}),
        "has_been_sold": price.has_been_sold,
        "livemode": price.livemode,
        "created_at": iso(price.created_at),
        "updated_at": iso(price.updated_at),
    }


# --- products ------------------------------------------------------------------------------------
def _product_prices(product: Product) -> list[Price]:
    rows = getattr(product, "active_prices", None)
    if rows is None:
        rows = list(product.prices.filter(active=True).prefetch_related("tiers").order_by("created_at", "pk"))
    return rows


def _external_ids(product: Product) -> list[dict]:
    rows = _prefetched(product, "external_ids")
    if rows is None:
        rows = list(product.external_ids.all())
    return [{"source": r.source, "external_id": r.external_id} for r in sorted(rows, key=lambda r: (r.source, r.external_id))]


def _benefits(product: Product) -> list[dict]:
    rows = getattr(product, "live_product_benefits", None)
    if rows is None:
        rows = list(product.product_benefits.filter(benefit__deleted_at__isnull=True).select_related("benefit")
                    .order_by("position", "id"))
    return [{"id": pb.benefit.pk, "key": pb.benefit.key, "name": pb.benefit.name, "type": pb.benefit.type}
            for pb in rows]


def product_payload(product: Product) -> dict:
    return {
        "id": product.pk,
        "object": "product",
        "name": product.name,
        "description": product.description or None,
        "lookup_key": product.lookup_key or None,
        "kind": product.kind,
        "fulfillment_type": product.fulfillment_type,
        "active": product.active,
        "images": list(product.images or []),
        "features": list(product.features or []),
        "metadata": dict(product.metadata or {}),
        "prices": [price_payload(p) for p in _product_prices(product)],
        "benefits": _benefits(product),
        "external_ids": _external_ids(product),
        "has_been_sold": product.has_been_sold,
        "livemode": product.livemode,
        "created_at": iso(product.created_at),
        "updated_at": iso(product.updated_at),
    }


# --- discounts -----------------------------------------------------------------------------------
def _ids(discount: Discount, name: str) -> list[str]:
    rows = _prefetched(discount, name)
    if rows is None:
        rows = list(getattr(discount, name).all())
    return sorted(row.pk for row in rows)


def discount_is_valid(discount: Discount, at: datetime | None = None) -> bool:
    """Usable right now: active, not archived, inside its dates, redemptions left."""
    at = at or now()
    return bool(
        discount.active and discount.archived_at is None and discount.deleted_at is None
        and (discount.starts_at is None or discount.starts_at <= at)
        and (discount.expires_at is None or at < discount.expires_at)
        and (discount.max_redemptions is None or discount.times_redeemed < discount.max_redemptions)
    )


def discount_payload(discount: Discount) -> dict:
    amounts = [{"currency": a.currency, "amount_off_minor": a.amount_off_minor} for a in discount.amount_list()]
    body = {
        "id": discount.pk,
        "object": "discount",
        "code": discount.code or None,
        "name": discount.name or None,
        "type": discount.type,
        "percent_off": decimal_number(discount.percent_off),
        "amount_off_minor": amounts[0]["amount_off_minor"] if amounts else None,
        "currency": amounts[0]["currency"] if amounts else None,
        "amounts_off": amounts,
        "trial_days": discount.trial_days,
        "duration": discount.duration,
        "duration_in_periods": discount.duration_in_periods,
        "scope": discount.scope,
        "product_ids": _ids(discount, "products"),
        "price_ids": _ids(discount, "prices"),
        "max_redemptions": discount.max_redemptions,
        "max_redemptions_per_customer": discount.max_redemptions_per_customer,
        "times_redeemed": discount.times_redeemed,
        "first_time_customer_only": discount.first_time_customer_only,
        "minimum_amount_minor": discount.minimum_amount_minor,
        "minimum_amount_currency": discount.minimum_amount_currency or None,
        "starts_at": iso(discount.starts_at),
        "expires_at": iso(discount.expires_at),
        "active": discount.active,
        "archived": discount.archived_at is not None,
        "archived_at": iso(discount.archived_at),
        "valid": discount_is_valid(discount),
        "metadata": dict(discount.metadata or {}),
        "livemode": discount.livemode,
        "created_at": iso(discount.created_at),
        "updated_at": iso(discount.updated_at),
    }
    if discount.deleted_at is not None:
        body["deleted"] = True
        body["deleted_at"] = iso(discount.deleted_at)
    return body


# --- benefits and entitlements -------------------------------------------------------------------
def benefit_payload(benefit: Benefit) -> dict:
    body = {
        "id": benefit.pk,
        "object": "benefit",
        "key": benefit.key,
        "name": benefit.name,
        "description": benefit.description or None,
        "type": benefit.type,
        "config": dict(benefit.config or {}),
        "delivery": benefit.delivery,
        "subscription_grant": benefit.subscription_grant,
        "on_cancellation": benefit.on_cancellation,
        "active": benefit.active,
        "metadata": dict(benefit.metadata or {}),
        "livemode": benefit.livemode,
        "created_at": iso(benefit.created_at),
        "updated_at": iso(benefit.updated_at),
    }
    if benefit.deleted_at is not None:
        body["deleted"] = True
        body["deleted_at"] = iso(benefit.deleted_at)
    return body


def entitlement_payload(entitlement: Entitlement, *, at: datetime | None = None) -> dict:
    status = entitlement.status_at(at or now())
    benefit = entitlement.benefit
    return {
        "id": entitlement.pk,
        "object": "entitlement",
        "customer_id": entitlement.customer_id,
        "benefit_id": benefit.pk,
        "benefit_key": benefit.key,
        "benefit": {"id": benefit.pk, "key": benefit.key, "name": benefit.name, "type": benefit.type},
        "status": status,
        "has_access": status == "active",
        "source": entitlement.source,
        "source_reference": entitlement.source_reference or None,
        "granted_at": iso(entitlement.granted_at),
        "expires_at": iso(entitlement.expires_at),
        "revoked_at": iso(entitlement.revoked_at),
        "revoke_reason": entitlement.revoke_reason or None,
        "metadata": dict(entitlement.metadata or {}),
        "livemode": entitlement.livemode,
        "created_at": iso(entitlement.created_at),
        "updated_at": iso(entitlement.updated_at),
    }

"""Every write to prices: create, update (only nickname, lookup_key, metadata and active: page 265),
archive (page 261), delete (only while never sold) and the "sold" mark later issues set.

A price's money is never edited in place: amounts, currency, pricing model, tiers, interval and
trial are fixed at creation. To charge something else, create a new price and archive this one;
subscriptions and invoices that already point at it keep exactly what was sold.
"""
from __future__ import annotations

from collections.abc import Mapping

from django.db import IntegrityError, transaction

from apps.core.actors import Actor
from apps.core.clock import now
from apps.core.errors import BusinessRuleViolation
from apps.core.events import emit_event
from apps.core.tenancy import Tenant, get_scoped, scoped

from .. import selectors
from ..models import Price, PriceTier, Product
from ..payloads import price_payload
from ..validation import IMMUTABLE_PRICE_FIELDS, Errors, clean_price, merge_metadata
from ._common import constraint_name, invalid

UPDATABLE_PRICE_FIELDS = ("nickname", "lookup_key", "metadata", "active")
LOOKUP_KEY_CONSTRAINT = "price_lookup_key_unique_active"
IMMUTABLE_MESSAGE = ("cannot be changed on an existing price: create a new price with the new amount and archive "
                     "this one (prices already sold must keep what was sold)")
# The product-create shortcut names its price fields the guide's way; errors go back under those names.
PRICE_SHORTCUT_PATHS = {"unit_amount_minor": "amount_minor", "type": "pricing_model"}


def _lookup_key_taken(tenant: Tenant, key: str, *, exclude: str | None = None) -> bool:
    qs = scoped(Price, tenant=tenant).filter(lookup_key=key, active=True)
    if exclude:
        qs = qs.exclude(pk=exclude)
    return qs.exists()


def _save_guarding_lookup_key(save) -> None:
    try:
        with transaction.atomic():
            save()
    except IntegrityError as exc:
        if LOOKUP_KEY_CONSTRAINT in constraint_name(exc):
            raise invalid({"lookup_key": ["is already used by another active price"]})
        raise


def create_price_row(*, tenant: Tenant, product: Product, data: Mapping) -> Price:
    """Validates and writes one price (and its tiers) for `product`; no event. Used by `price_create`
    and by `product_create`'s shortcut, inside their transactions."""
    cleaned, errors = clean_price(data)
    lookup_key = (cleaned.get("lookup_key") or "").strip()
    active = cleaned.get("active", True)
    if lookup_key and active and _lookup_key_taken(tenant, lookup_key):
        errors["lookup_key"] = ["is already used by another active price"]
    metadata, more = merge_metadata({}, cleaned.get("metadata") or {})
    errors.update(more)
    if errors:
        raise invalid(errors)
    at = now()
    price = Price(
        merchant=tenant.merchant, livemode=tenant.livemode, product=product, type=cleaned["type"],
        pricing_model=cleaned["pricing_model"], currency=cleaned["currency"],
        unit_amount_minor=cleaned["unit_amount_minor"], flat_amount_minor=cleaned["flat_amount_minor"],
        package_size=cleaned["package_size"], minimum_amount_minor=cleaned["minimum_amount_minor"],
        suggested_amount_minor=cleaned["suggested_amount_minor"], interval=cleaned["interval"] or "",
        interval_count=cleaned["interval_count"], trial_days=cleaned["trial_days"],
        tax_behavior=cleaned.get("tax_behavior") or "exclusive", nickname=(cleaned.get("nickname") or "").strip(),
        lookup_key=lookup_key, metadata=metadata, active=active, created_at=at, updated_at=at,
    )
    _save_guarding_lookup_key(lambda: price.save(force_insert=True))
    tiers = [PriceTier(price=price, position=i, **tier) for i, tier in enumerate(cleaned["tiers"])]
    if tiers:
        PriceTier.objects.bulk_create(tiers)
    return selectors.price_get(tenant=tenant, price_id=price.pk)


@transaction.atomic
def price_create(*, tenant: Tenant, actor: Actor, data: Mapping, request_id: str = "") -> Price:
    """Creates a price for one of the tenant's products (page 262): fixed, pay-what-you-want, free
    or tiered; one-time or recurring. Another merchant's product is a 404."""
    product = get_scoped(Product, tenant=tenant, pk=data.get("product_id") or "", label="product")
    price = create_price_row(tenant=tenant, product=product, data=data)
    emit_event(tenant=tenant, type="price.created", data=price_payload(price), actor=actor, request_id=request_id)
    return price


def _public(name: str, value):
    if name in ("nickname", "lookup_key"):
        return value or None
    if name == "metadata":
        return dict(value or {})
    return value


@transaction.atomic
def price_update(*, tenant: Tenant, actor: Actor, price_id: str, data: Mapping, request_id: str = "") -> Price:
    """PATCH (page 265): only nickname, lookup_key, metadata and active change. Any pricing field is a
    400 that says to create a new price instead. `active: false` archives the price."""
    price = get_scoped(Price.objects.select_for_update(), tenant=tenant, pk=price_id, label="price")
    errors: Errors = {name: [IMMUTABLE_MESSAGE] for name in IMMUTABLE_PRICE_FIELDS if name in data}
    errors.update({name: ["unknown field"] for name in data if name not in UPDATABLE_PRICE_FIELDS
                   and name not in IMMUTABLE_PRICE_FIELDS})
    if errors:
        raise invalid(errors)
    changes: dict = {}
    for name in UPDATABLE_PRICE_FIELDS:
        if name not in data:
            continue
        value = data[name]
        if name == "metadata":
            value, more = merge_metadata(price.metadata, value)
            errors.update(more)
        elif name in ("nickname", "lookup_key"):
            value = (value or "").strip()
        if getattr(price, name) != value:
            changes[name] = _public(name, getattr(price, name))
            setattr(price, name, value)
    if price.active and price.lookup_key and ("lookup_key" in changes or "active" in changes) \
            and _lookup_key_taken(tenant, price.lookup_key, exclude=price.pk):
        errors["lookup_key"] = ["is already used by another active price"]
    if errors:
        raise invalid(errors)
    if not changes:
        return selectors.price_get(tenant=tenant, price_id=price.pk)
    price.updated_at = now()
    _save_guarding_lookup_key(lambda: price.save(update_fields=[*changes, "updated_at"]))
    fresh = selectors.price_get(tenant=tenant, price_id=price.pk)
    archived = changes.get("active") is True and not fresh.active
    emit_event(tenant=tenant, type="price.archived" if archived else "price.updated", data=price_payload(fresh),
               actor=actor, previous_attributes=changes, request_id=request_id)
    return fresh


def price_archive(*, tenant: Tenant, actor: Actor, price_id: str, request_id: str = "") -> Price:
    """DELETE /prices/{id} (page 261): active=false; the price stays and can no longer be bought.
    Archiving an archived price is a no-op that returns it."""
    return price_update(tenant=tenant, actor=actor, price_id=price_id, data={"active": False}, request_id=request_id)


@transaction.atomic
def price_delete(*, tenant: Tenant, actor: Actor, price_id: str, request_id: str = "") -> None:
    """Removes a price that was never sold (the dashboard's "remove variant"); a sold one must be
    archived instead (422)."""
    price = get_scoped(Price.objects.select_for_update(), tenant=tenant, pk=price_id, label="price")
    if price.has_been_sold:
        raise BusinessRuleViolation("This price has been sold, so it can only be archived.", code="price_sold",
                                    param="id")
    payload = price_payload(selectors.price_get(tenant=tenant, price_id=price.pk))
    price.delete()
    emit_event(tenant=tenant, type="price.deleted", data={**payload, "deleted": True}, actor=actor,
               request_id=request_id)


def price_mark_sold(*, price: Price) -> None:
    """Called by later issues (checkout, invoices, subscriptions) when a price is first sold. Marks
    the price and its product; both can then be archived but never deleted or re-priced."""
    Price.objects.filter(pk=price.pk, has_been_sold=False).update(has_been_sold=True)
    Product.objects.filter(pk=price.product_id, has_been_sold=False).update(has_been_sold=True)
    price.has_been_sold = True

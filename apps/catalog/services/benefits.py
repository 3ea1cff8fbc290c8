"""Benefits (page 017) and entitlements: create, update, delete, attach to products; grant, revoke,
check; and the grant a purchase triggers (`benefits_grant_for_purchase`, called by the checkout,
orders and subscriptions issues).

Events: `benefit.created|updated|deleted`; a grant emits `benefits.granted` (the spelling of the
canonical catalogue, page 083; the reference page 144 calls it entitlement.granted), a revoke
`entitlement.revoked` (pages 146/147), and the end of a time-bounded entitlement
`entitlement.expired` (page 083), once, from `entitlements_expire_due` (a periodic task) or from a
re-grant that finds the expired row first. The names live in GRANTED_EVENT / REVOKED_EVENT /
EXPIRED_EVENT.

An expired entitlement is closed like a revoked one (`revoked_at` = its `expires_at`, reason
"expired") so the one-unrevoked-per-benefit index frees the slot for a new grant; its status stays
"expired".
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from django.db import IntegrityError, transaction

from apps.core.actors import Actor
from apps.core.clock import now
from apps.core.errors import NotFound
from apps.core.events import emit_event
from apps.core.tenancy import Tenant, get_scoped, scoped
from apps.customers.models import Customer

from .. import selectors
from ..models import (
    Benefit,
    BenefitDelivery,
    BenefitType,
    Entitlement,
    EntitlementSource,
    OnCancellation,
    Product,
    ProductBenefit,
    SubscriptionGrant,
)
from ..payloads import benefit_payload, entitlement_payload, product_payload
from ..validation import Errors, clean_benefit_config, clean_key, merge_metadata
from ._common import constraint_name, invalid

GRANTED_EVENT = "benefits.granted"
REVOKED_EVENT = "entitlement.revoked"
EXPIRED_EVENT = "entitlement.expired"
EXPIRED_REASON = "expired"
KEY_CONSTRAINT = "benefit_key_unique_live"
ENTITLEMENT_CONSTRAINT = "entitlement_one_unrevoked_per_benefit"
BENEFIT_FIELDS = ("key", "name", "description", "type", "config", "delivery", "subscription_grant", "on_cancellation",
                  "active", "metadata")
_CHOICES = {"type": BenefitType, "delivery": BenefitDelivery, "subscription_grant": SubscriptionGrant,
            "on_cancellation": OnCancellation}


def _same_tenant(obj, tenant: Tenant) -> bool:
    return obj.merchant_id == tenant.merchant.pk and obj.livemode == tenant.livemode


def _check_choices(data: Mapping, errors: Errors) -> None:
    for name, choices in _CHOICES.items():
        if name in data and data[name] not in choices.values:
            errors[name] = [f"must be one of {', '.join(choices.values)}"]


# --- benefits ------------------------------------------------------------------------------------
@transaction.atomic
def benefit_create(*, tenant: Tenant, actor: Actor, data: Mapping, request_id: str = "") -> Benefit:
    errors: Errors = {}
    unknown = sorted(set(data) - set(BENEFIT_FIELDS))
    errors.update({name: ["unknown field"] for name in unknown})
    key, more = clean_key(data.get("key"))
    errors.update(more)
    name = (data.get("name") or "").strip()
    if not name:
        errors["name"] = ["is required"]
    _check_choices(data, errors)
    benefit_type = data.get("type") or BenefitType.ACCESS_GRANT
    config = {}
    if "type" not in errors:
        config, more = clean_benefit_config(benefit_type, data.get("config"))
        errors.update(more)
    metadata, more = merge_metadata({}, data.get("metadata") or {})
    errors.update(more)
    if key and scoped(Benefit, tenant=tenant).filter(key=key).exists():
        errors["key"] = ["is already used by another benefit"]
    if errors:
        raise invalid(errors)
    at = now()
    benefit = Benefit(merchant=tenant.merchant, livemode=tenant.livemode, key=key, name=name,
                      description=(data.get("description") or "").strip(), type=benefit_type, config=config,
                      delivery=data.get("delivery") or BenefitDelivery.AFTER_PAYMENT,
                      subscription_grant=data.get("subscription_grant") or SubscriptionGrant.ON_ACTIVATION,
                      on_cancellation=data.get("on_cancellation") or OnCancellation.REVOKE,
                      active=data.get("active", True), metadata=metadata, created_at=at, updated_at=at)
    try:
        with transaction.atomic():
            benefit.save(force_insert=True)
    except IntegrityError as exc:
        if KEY_CONSTRAINT in constraint_name(exc):
            raise invalid({"key": ["is already used by another benefit"]})
        raise
    emit_event(tenant=tenant, type="benefit.created", data=benefit_payload(benefit), actor=actor, request_id=request_id)
    return benefit


@transaction.atomic
def benefit_update(*, tenant: Tenant, actor: Actor, benefit_id: str, data: Mapping, request_id: str = "") -> Benefit:
    """Changes name, description, config, delivery settings, active and metadata. The key and the
    type stay: integrations check the key, and entitlements were granted for that kind of benefit."""
    benefit = get_scoped(Benefit.objects.select_for_update(), tenant=tenant, pk=benefit_id, label="benefit")
    errors: Errors = {name: ["unknown field"] for name in sorted(set(data) - set(BENEFIT_FIELDS))}
    for name in ("key", "type"):
        if name in data and data[name] != getattr(benefit, name):
            errors[name] = ["cannot be changed; create a new benefit"]
    _check_choices({k: v for k, v in data.items() if k != "type"}, errors)
    changes: dict = {}
    updates: dict = {}
    if "config" in data:
        config, more = clean_benefit_config(benefit.type, data["config"])
        errors.update(more)
        updates["config"] = config
    if "metadata" in data:
        metadata, more = merge_metadata(benefit.metadata, data["metadata"])
        errors.update(more)
        updates["metadata"] = metadata
    if "name" in data:
        if not (data["name"] or "").strip():
            errors["name"] = ["must not be blank"]
        updates["name"] = (data["name"] or "").strip()
    if "description" in data:
        updates["description"] = (data["description"] or "").strip()
    for name in ("delivery", "subscription_grant", "on_cancellation", "active"):
        if name in data:
            updates[name] = data[name]
    if errors:
        raise invalid(errors)
    for name, value in updates.items():
        if getattr(benefit, name) != value:
            old = getattr(benefit, name)
            changes[name] = dict(old) if isinstance(old, dict) else old
            setattr(benefit, name, value)
    if not changes:
        return benefit
    benefit.updated_at = now()
    benefit.save(update_fields=[*changes, "updated_at"])
    emit_event(tenant=tenant, type="benefit.updated", data=benefit_payload(benefit), actor=actor,
               previous_attributes=changes, request_id=request_id)
    return benefit


@transaction.atomic
def benefit_delete(*, tenant: Tenant, actor: Actor, benefit_id: str, request_id: str = "") -> Benefit:
    """Soft delete: the benefit leaves every product, its key is free again, and every customer's
    active entitlement to it is revoked (each with its entitlement.revoked event)."""
    benefit = get_scoped(Benefit.objects.select_for_update(), tenant=tenant, pk=benefit_id, label="benefit")
    for entitlement in (scoped(Entitlement, tenant=tenant).filter(benefit=benefit, revoked_at__isnull=True)
                        .select_related("benefit").order_by("pk")):
        _revoke(tenant=tenant, actor=actor, entitlement=entitlement, reason="benefit_deleted", request_id=request_id)
    ProductBenefit.objects.filter(benefit=benefit).delete()
    at = now()
    benefit.deleted_at, benefit.active, benefit.updated_at = at, False, at
    benefit.save(update_fields=["deleted_at", "active", "updated_at"])
    emit_event(tenant=tenant, type="benefit.deleted", data=benefit_payload(benefit), actor=actor, request_id=request_id)
    return benefit


def _product_benefit_change(tenant: Tenant, actor: Actor, product: Product, before: list[str], request_id: str) -> Product:
    fresh = selectors.product_get(tenant=tenant, product_id=product.pk)
    Product.objects.filter(pk=product.pk).update(updated_at=now())
    emit_event(tenant=tenant, type="product.updated", data=product_payload(fresh), actor=actor,
               previous_attributes={"benefits": before}, request_id=request_id)
    return fresh


def _benefit_ids(product: Product) -> list[str]:
    return list(ProductBenefit.objects.filter(product=product, benefit__deleted_at__isnull=True)
                .order_by("position", "id").values_list("benefit_id", flat=True))


@transaction.atomic
def product_benefit_attach(*, tenant: Tenant, actor: Actor, product_id: str, benefit_id: str,
                           request_id: str = "") -> Product:
    """Attaches a benefit to a product (idempotent): buying the product then grants it."""
    product = get_scoped(Product.objects.select_for_update(), tenant=tenant, pk=product_id, label="product")
    benefit = get_scoped(Benefit, tenant=tenant, pk=benefit_id, label="benefit")
    before = _benefit_ids(product)
    if benefit.pk in before:
        return selectors.product_get(tenant=tenant, product_id=product.pk)
    ProductBenefit.objects.create(product=product, benefit=benefit, position=len(before))
    return _product_benefit_change(tenant, actor, product, before, request_id)


@transaction.atomic
def product_benefit_detach(*, tenant: Tenant, actor: Actor, product_id: str, benefit_id: str,
                           request_id: str = "") -> Product:
    """Detaches a benefit from a product. Entitlements already granted stay (revoke them by hand)."""
    product = get_scoped(Product.objects.select_for_update(), tenant=tenant, pk=product_id, label="product")
    before = _benefit_ids(product)
    if benefit_id not in before:
        return selectors.product_get(tenant=tenant, product_id=product.pk)
    ProductBenefit.objects.filter(product=product, benefit_id=benefit_id).delete()
    return _product_benefit_change(tenant, actor, product, before, request_id)


# --- entitlements --------------------------------------------------------------------------------
def _emit(tenant: Tenant, actor: Actor, type: str, entitlement: Entitlement, request_id: str,
          previous: dict | None = None) -> None:
    emit_event(tenant=tenant, type=type, data=entitlement_payload(entitlement), actor=actor,
               previous_attributes=previous, request_id=request_id)


def _revoke(*, tenant: Tenant, actor: Actor, entitlement: Entitlement, reason: str, request_id: str,
            at: datetime | None = None) -> Entitlement:
    """Closes an unrevoked entitlement with a compare-and-set (a concurrent revoke cannot emit twice)."""
    at = at or now()
    expiring = reason == EXPIRED_REASON
    ended_at = entitlement.expires_at if expiring and entitlement.expires_at else at
    updated = Entitlement.objects.filter(pk=entitlement.pk, revoked_at__isnull=True).update(
        revoked_at=ended_at, revoke_reason=reason[:200], updated_at=at)
    if updated:
        previous_status = entitlement.status_at(at) if not expiring else "active"
        entitlement.revoked_at, entitlement.revoke_reason, entitlement.updated_at = ended_at, reason[:200], at
        _emit(tenant, actor, EXPIRED_EVENT if expiring else REVOKED_EVENT, entitlement, request_id,
              previous={"revoked_at": None, "status": previous_status})
    else:
        entitlement.refresh_from_db()
    return entitlement


@transaction.atomic
def entitlement_grant(*, tenant: Tenant, customer: Customer, benefit: Benefit, source: str, actor: Actor,
                      expires_at: datetime | None = None, source_reference: str = "", metadata: Mapping | None = None,
                      request_id: str = "") -> Entitlement:
    """Gives `customer` the benefit. Idempotent: while the customer holds an active entitlement to
    it, that one is returned (with `newly_granted = False`) and nothing is written; concurrent grants
    make one row (partial unique index). An expired, unrevoked one is closed first (revoked as
    "expired") and a new one granted. The returned object's `newly_granted` says which happened."""
    if not _same_tenant(customer, tenant) or customer.deleted_at is not None:
        raise NotFound(f"No such customer: '{customer.pk}'", param="customer_id")
    if not _same_tenant(benefit, tenant) or benefit.deleted_at is not None:
        raise NotFound(f"No such benefit: '{benefit.pk}'", param="benefit_id")
    if source not in EntitlementSource.values:
        raise invalid({"source": [f"must be one of {', '.join(EntitlementSource.values)}"]})
    at = now()
    if expires_at is not None and expires_at <= at:
        raise invalid({"expires_at": ["must be in the future"]})
    clean_metadata, errors = merge_metadata({}, metadata or {})
    if errors:
        raise invalid(errors)
    current = (Entitlement.objects.select_for_update().select_related("benefit")
               .filter(customer=customer, benefit=benefit, revoked_at__isnull=True).first())
    if current is not None:
        if current.expires_at is None or current.expires_at > at:
            current.newly_granted = False
            return current
        _revoke(tenant=tenant, actor=actor, entitlement=current, reason=EXPIRED_REASON, request_id=request_id, at=at)
    entitlement = Entitlement(merchant=tenant.merchant, livemode=tenant.livemode, customer=customer, benefit=benefit,
                              source=source, source_reference=(source_reference or "")[:100], granted_at=at,
                              expires_at=expires_at, metadata=clean_metadata, created_at=at, updated_at=at)
    try:
        with transaction.atomic():
            entitlement.save(force_insert=True)
    except IntegrityError:
        # A concurrent grant of the same benefit won: answer with its entitlement.
        existing = Entitlement.objects.select_related("benefit").get(customer=customer, benefit=benefit,
                                                                      revoked_at__isnull=True)
        existing.newly_granted = False
        return existing
    entitlement.benefit = benefit
    entitlement.newly_granted = True
    _emit(tenant, actor, GRANTED_EVENT, entitlement, request_id)
    return entitlement


@transaction.atomic
def entitlement_revoke(*, tenant: Tenant, actor: Actor, entitlement: Entitlement, reason: str = "",
                       request_id: str = "") -> Entitlement:
    """Ends an entitlement now. Revoking a revoked one returns it unchanged (no second event)."""
    if not _same_tenant(entitlement, tenant):
        raise NotFound(f"No such entitlement: '{entitlement.pk}'", param="entitlement_id")
    return _revoke(tenant=tenant, actor=actor, entitlement=entitlement, reason=reason or actor.kind,
                   request_id=request_id)


@transaction.atomic
def entitlement_revoke_by_key(*, tenant: Tenant, actor: Actor, customer: Customer, key: str, reason: str = "",
                              request_id: str = "") -> Entitlement:
    """Revokes the customer's unrevoked entitlement to the benefit with `key` (page 147); 404 if the
    key is unknown or the customer holds none."""
    benefit = selectors.benefit_get_by_key(tenant=tenant, key=key)
    entitlement = (scoped(Entitlement, tenant=tenant).select_for_update()
                   .filter(customer=customer, benefit=benefit, revoked_at__isnull=True).first())
    if entitlement is None:
        raise NotFound(f"Customer {customer.pk} holds no entitlement to '{benefit.key}'", param="benefit_key")
    entitlement.benefit = benefit
    return _revoke(tenant=tenant, actor=actor, entitlement=entitlement, reason=reason or actor.kind,
                   request_id=request_id)


def entitlement_check(*, tenant: Tenant, customer: Customer, key: str) -> bool:
    """Feature gating (pages 143/167): does the customer hold an active (granted, unexpired,
    unrevoked) entitlement to the benefit with this key?"""
    return selectors.active_entitlement(tenant=tenant, customer=customer, key=key) is not None


@transaction.atomic
def benefits_grant_for_purchase(*, tenant: Tenant, customer: Customer, product: Product, actor: Actor,
                                source_reference: str = "", request_id: str = "") -> list[Entitlement]:
    """Grants every active benefit attached to `product` (source "purchase"); the checkout, orders
    and subscriptions issues call it when a purchase completes. Idempotent per benefit."""
    if not _same_tenant(product, tenant):
        raise NotFound(f"No such product: '{product.pk}'", param="product_id")
    links = (ProductBenefit.objects.filter(product=product, benefit__deleted_at__isnull=True, benefit__active=True)
             .select_related("benefit").order_by("position", "id"))
    return [entitlement_grant(tenant=tenant, customer=customer, benefit=link.benefit, source=EntitlementSource.PURCHASE,
                              actor=actor, source_reference=source_reference, request_id=request_id)
            for link in links]


def entitlements_expire_due(*, batch: int = 500) -> int:
    """The expiry sweep (apps.catalog.tasks.expire_entitlements, periodic): closes every entitlement
    whose `expires_at` has passed and emits `entitlement.expired` for it, each in its own
    transaction, exactly once (compare-and-set on `revoked_at`). Returns how many it closed."""
    at = now()
    due = list(Entitlement.objects.filter(revoked_at__isnull=True, expires_at__lte=at).order_by("expires_at", "pk")
               .values_list("pk", flat=True)[:batch])
    done = 0
    for pk in due:
        with transaction.atomic():
            entitlement = (Entitlement.objects.select_for_update().select_related("benefit", "merchant")
                           .filter(pk=pk, revoked_at__isnull=True).first())
            if entitlement is None:
                continue
            tenant = Tenant(entitlement.merchant, entitlement.livemode)
            _revoke(tenant=tenant, actor=Actor.system("entitlement expiry"), entitlement=entitlement,
                    reason=EXPIRED_REASON, request_id="", at=at)
            done += 1
    return done


def revoke_entitlements_of_deleted_customer(*, tenant: Tenant, actor: Actor, customer: Customer) -> None:
    """Registered with the customers app: a soft-deleted customer loses every active entitlement
    (inside `customer_delete`'s transaction)."""
    for entitlement in (scoped(Entitlement, tenant=tenant).filter(customer=customer, revoked_at__isnull=True)
                        .select_related("benefit").order_by("pk")):
        _revoke(tenant=tenant, actor=actor, entitlement=entitlement, reason="customer_deleted", request_id="")


__all__ = ["EXPIRED_EVENT", "GRANTED_EVENT", "REVOKED_EVENT", "entitlements_expire_due", "benefit_create", "benefit_delete", "benefit_update",
           "benefits_grant_for_purchase", "entitlement_check", "entitlement_grant", "entitlement_revoke",
           "entitlement_revoke_by_key", "product_benefit_attach", "product_benefit_detach",
           "revoke_entitlements_of_deleted_customer"]

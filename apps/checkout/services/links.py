"""Payment links (page 018 §7.4, API 248–255): create, status changes, and starting a checkout from one.

Status (p255): active accepts payments; inactive is a pause; archived is permanent; expired is set when
`expires_at` passes (or by hand) and can be activated again with a new expiry. A link past its expiry or
its maximum uses shows a closed page: `payment_link_closed_reason` says why.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.db.models import F

from apps.catalog.models import Price, PricingModel
from apps.catalog.payloads import iso
from apps.core.actors import Actor
from apps.core.clock import now
from apps.core.errors import BusinessRuleViolation, Conflict, NotFound, ValidationFailed
from apps.core.events import emit_event
from apps.core.statemachine import transition
from apps.core.tenancy import Tenant

from ..models import CheckoutSession, PaymentLink, PaymentLinkItem
from ..payloads import payment_link_payload
from .sessions import ItemInput, SessionClosed, _clean_url, _invalid, _same_tenant, checkout_session_create

MAX_ITEMS = 10


@dataclass(frozen=True, kw_only=True)
class LinkItemInput:
    price: Price
    quantity: int = 1
    min_quantity: int = 1
    max_quantity: int = 99


def _emit(link: PaymentLink, type: str, actor: Actor, request_id: str = "", previous: dict | None = None) -> None:
    emit_event(tenant=Tenant(link.merchant, link.livemode), type=type, data=payment_link_payload(link), actor=actor,
               request_id=request_id, previous_attributes=previous)


LINK_OPTIONS = ("allow_quantity", "allow_discount_codes", "collect_billing_address", "collect_shipping_address",
                "is_business_purchase", "require_terms")


def payment_link_create(*, tenant: Tenant, actor: Actor, name: str, items: list[LinkItemInput],
                        success_url: str = "", cancel_url: str = "", success_message: str = "",
                        expires_at: datetime | None = None, max_uses: int | None = None,
                        custom_fields: list | None = None, metadata: dict | None = None, request_id: str = "",
                        **options) -> PaymentLink:
    unknown = set(options) - set(LINK_OPTIONS)
    if unknown:
        raise _invalid({name_: ["unknown field"] for name_ in sorted(unknown)})
    errors: dict[str, list[str]] = {}
    name = (name or "").strip()
    items = list(items)
    if not items:
        errors["line_items"] = ["at least one price is required"]
    if len(items) > MAX_ITEMS:
        errors["line_items"] = [f"at most {MAX_ITEMS} prices"]
    currencies = set()
    for i, item in enumerate(items):
        if not _same_tenant(item.price, tenant):
            raise NotFound(f"No such price: '{item.price.pk}'", param=f"line_items[{i}].price_id")
        if not item.price.active:
            errors[f"line_items[{i}].price_id"] = ["is archived"]
        if item.price.is_recurring:
            errors[f"line_items[{i}].price_id"] = ["is recurring: subscription links arrive with subscriptions"]
        if not 1 <= item.min_quantity <= item.quantity <= item.max_quantity <= 10_000:
            errors[f"line_items[{i}].quantity"] = ["must satisfy 1 ≤ min_quantity ≤ quantity ≤ max_quantity ≤ 10000"]
        currencies.add(item.price.currency)
    if len(currencies) > 1:
        errors["line_items"] = ["all prices must be in one currency"]
    if not name:
        name = items[0].price.product.name if items and not errors else ""
    if not name:
        errors.setdefault("name", ["is required"])
    success_url = _clean_url(success_url, "success_url", errors)
    cancel_url = _clean_url(cancel_url, "cancel_url", errors)
    if expires_at is not None and expires_at <= now():
        errors["expires_at"] = ["must be in the future"]
    if max_uses is not None and (not isinstance(max_uses, int) or max_uses < 1):
        errors["max_uses"] = ["must be a whole number of at least 1"]
    fields_errors = _clean_custom_fields(custom_fields or [])
    errors.update(fields_errors)
    if errors:
        raise _invalid(errors)
    with transaction.atomic():
        link = PaymentLink.objects.create(
            merchant=tenant.merchant, livemode=tenant.livemode, name=name[:200], currency=currencies.pop(),
            success_url=success_url, cancel_url=cancel_url, success_message=success_message[:500],
            expires_at=expires_at, max_uses=max_uses, custom_fields=custom_fields or [], metadata=metadata or {},
            **{key: bool(value) for key, value in options.items()})
        PaymentLinkItem.objects.bulk_create([
            PaymentLinkItem(merchant=tenant.merchant, livemode=tenant.livemode, link=link, price=item.price,
                            quantity=item.quantity, min_quantity=item.min_quantity, max_quantity=item.max_quantity,
                            position=i) for i, item in enumerate(items)])
        _emit(link, "payment_link.created", actor, request_id)
    return link


def _clean_custom_fields(fields: list) -> dict[str, list[str]]:
    """[{key, label, type: text|select|number, options (select), required}]"""
    errors: dict[str, list[str]] = {}
    if not isinstance(fields, list) or len(fields) > 5:
        return {"custom_fields": ["must be a list of at most 5 fields"]}
    keys = set()
    for i, field in enumerate(fields):
        path = f"custom_fields[{i}]"
        if not isinstance(field, dict):
            errors[path] = ["must be an object"]
            continue
        key, label, kind = field.get("key"), field.get("label"), field.get("type", "text")
        if not isinstance(key, str) or not key.isidentifier() or len(key) > 40 or key in keys:
            errors[f"{path}.key"] = ["must be a unique identifier (letters, digits, _) of at most 40 characters"]
        keys.add(key)
        if not isinstance(label, str) or not label.strip() or len(label) > 80:
            errors[f"{path}.label"] = ["is required (at most 80 characters)"]
        if kind not in ("text", "select", "number"):
            errors[f"{path}.type"] = ["must be text, select or number"]
        if kind == "select" and (not isinstance(field.get("options"), list) or not field["options"]):
            errors[f"{path}.options"] = ["a select needs at least one option"]
    return errors


def payment_link_set_status(*, tenant: Tenant, actor: Actor, link: PaymentLink, status: str,
                            expires_at: datetime | None = None, request_id: str = "") -> PaymentLink:
    """active | inactive | archived | expired. Archived is final; activating an expired link needs a new
    `expires_at` in the future (or none)."""
    if status not in PaymentLink.Status.values:
        raise ValidationFailed.not_one_of("status", PaymentLink.Status.values)
    with transaction.atomic():
        locked = PaymentLink.objects.select_for_update().select_related("merchant").get(pk=link.pk)
        if locked.status == status == PaymentLink.Status.ACTIVE:
            return _reactivate_in_place(locked, actor=actor, expires_at=expires_at, request_id=request_id)
        if locked.status == status:
            return locked
        if locked.status == PaymentLink.Status.ARCHIVED:  # checked under the lock: archiving is final (p255)
            raise Conflict("This payment link is archived; archiving is permanent and it cannot be changed. "
                           "Create a new payment link instead.", code="payment_link_archived", param="status")
        extra = {}
        if status == PaymentLink.Status.ACTIVE:
            if expires_at is not None and expires_at <= now():
                raise _invalid({"expires_at": ["must be in the future"]})
            if locked.expires_at and locked.expires_at <= now() and expires_at is None:
                extra["expires_at"] = None  # reactivated by hand: the old expiry no longer applies
            elif expires_at is not None:
                extra["expires_at"] = expires_at
        previous = {"status": locked.status}
        transition(locked, status, actor=actor, reason=f"status set to {status}", extra_updates=extra)
        _emit(locked, "payment_link.updated", actor, request_id, previous=previous)
    return locked


def _reactivate_in_place(link: PaymentLink, *, actor: Actor, expires_at: datetime | None,
                         request_id: str) -> PaymentLink:
    """Activating an active link (under its lock): a new `expires_at` replaces the old one, and an expiry
    that has passed is cleared; otherwise nothing changes."""
    if expires_at is not None and expires_at <= now():
        raise _invalid({"expires_at": ["must be in the future"]})
    lapsed = link.expires_at is not None and link.expires_at <= now()
    if expires_at is None and not lapsed:
        return link
    previous = {"expires_at": iso(link.expires_at)}
    link.expires_at, link.updated_at = expires_at, now()
    link.save(update_fields=["expires_at", "updated_at"])
    _emit(link, "payment_link.updated", actor, request_id, previous=previous)
    return link


def payment_link_closed_reason(link: PaymentLink) -> str:
    """Why a link takes no payment now ("" when it does)."""
    if link.status == PaymentLink.Status.ARCHIVED:
        return "This payment link has been archived."
    if link.status == PaymentLink.Status.INACTIVE:
        return "This payment link is paused by the seller."
    if link.status == PaymentLink.Status.EXPIRED or (link.expires_at and link.expires_at <= now()):
        return "This payment link has expired."
    if link.max_uses is not None and link.uses_count >= link.max_uses:
        return "This payment link has reached its maximum number of uses."
    return ""


def payment_link_record_view(*, link: PaymentLink) -> None:
    PaymentLink.objects.filter(pk=link.pk).update(views_count=F("views_count") + 1)


def payment_link_start_session(*, link: PaymentLink, actor: Actor, quantities: dict[str, int] | None = None,
                               custom_amounts: dict[str, int] | None = None, customer_email: str = "",
                               request_id: str = "") -> CheckoutSession:
    """A checkout session for one buyer of the link (quantities by link item id when the link allows it)."""
    reason = payment_link_closed_reason(link)
    if reason:
        raise SessionClosed(reason)
    quantities, custom_amounts = quantities or {}, custom_amounts or {}
    items = []
    for item in link.items.select_related("price__product").order_by("position", "id"):
        quantity = quantities.get(item.pk, item.quantity) if link.allow_quantity else item.quantity
        if link.allow_quantity and not item.min_quantity <= quantity <= item.max_quantity:
            raise _invalid({f"quantity[{item.pk}]": [f"must be from {item.min_quantity} to {item.max_quantity}"]})
        custom = custom_amounts.get(item.pk)
        if custom is None and item.price.pricing_model == PricingModel.PAY_WHAT_YOU_WANT:
            # The buyer has not chosen yet: start from the suggested amount (else the minimum, else 1).
            custom = item.price.suggested_amount_minor or item.price.minimum_amount_minor or 1
        items.append(ItemInput(price=item.price, quantity=quantity, custom_amount_minor=custom,
                               adjustable_quantity=link.allow_quantity, min_quantity=item.min_quantity,
                               max_quantity=item.max_quantity))
    tenant = Tenant(link.merchant, link.livemode)
    session = checkout_session_create(
        tenant=tenant, actor=actor, items=items, customer_email=customer_email, success_url=link.success_url,
        cancel_url=link.cancel_url, allow_promotion_codes=link.allow_discount_codes,
        billing_address_collection="required" if link.collect_billing_address else "auto", payment_link=link,
        request_id=request_id)
    PaymentLink.objects.filter(pk=link.pk).update(sessions_started_count=F("sessions_started_count") + 1)
    return session


def ensure_not_archived(link: PaymentLink) -> None:
    if link.status == PaymentLink.Status.ARCHIVED:
        raise BusinessRuleViolation("An archived payment link cannot be changed.", code="payment_link_archived")

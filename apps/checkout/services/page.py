"""What the hosted checkout page changes on an open session (page 018 §7.1–7.2, page 026).

The page posts its whole form on every change (htmx) and once more on Pay. `checkout_page_update` reads
it: email, name/phone/addresses per the merchant's CheckoutSettings and the link, custom fields, terms,
quantities and pay-what-you-want amounts (only until the session's invoice exists) and the code field. A
code is checked with the catalog's rules WITHOUT redeeming it (the invoice's finalization redeems it).
`final=True` (the Pay press) also enforces what is required. Each call moves `last_step` forward and
stamps `started_at` / `last_activity_at` (abandonment analytics).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction

from apps.catalog.models import PricingModel
from apps.core.actors import Actor
from apps.core.clock import now
from apps.core.errors import ValidationFailed
from apps.core.money import Money

from ..models import CheckoutSession, CheckoutSettings
from .sessions import _lock, _require_open, _tenant_of, checkout_session_refresh_totals

STEP_ORDER = ["created", "viewed", "email", "details", "payment", "declined", "completed"]
ADDRESS_PARTS = ("line1", "line2", "city", "state", "postal_code", "country")
MAX_TEXT = 200


@dataclass
class PageConfig:
    """Which fields the page shows and which are required (settings, overridden by the link)."""

    name: str = "optional"
    phone: str = "hidden"
    shipping: str = "hidden"
    billing: str = "country"  # full | country | hidden
    custom_fields: list = field(default_factory=list)
    terms_required: bool = False
    terms_text: str = ""
    terms_url: str = ""
    privacy_url: str = ""
    show_code: str = "hidden"  # always | on_click | hidden
    button_text: str = "Pay"
    background_color: str = "#F8FAFC"
    success_message: str = ""
    business: bool = False


def page_settings(merchant) -> CheckoutSettings:
    """The merchant's settings, or the defaults (read-only: a public page writes nothing for them)."""
    found = CheckoutSettings.objects.filter(merchant=merchant).first()
    return found if found is not None else CheckoutSettings(merchant=merchant)


def checkout_page_config(session: CheckoutSession, settings: CheckoutSettings | None = None) -> PageConfig:
    settings = settings or page_settings(session.merchant)
    link = session.payment_link
    config = PageConfig(name=settings.name_field, phone=settings.phone_field, shipping=settings.shipping_field,
                        billing=settings.billing_address, custom_fields=list(settings.custom_fields or []),
                        terms_text=settings.terms_text, terms_url=settings.terms_url,
                        privacy_url=settings.privacy_url, button_text=settings.button_text or "Pay",
                        background_color=hex_color(settings.background_color, "#F8FAFC"),
                        success_message=settings.success_message)
    config.terms_required = bool(settings.terms_text or settings.terms_url)
    if session.allow_promotion_codes:
        config.show_code = settings.discount_field if settings.discount_field != "hidden" else "always"
    if session.billing_address_collection == "required":
        config.billing = "full"
    if link is not None:
        config.custom_fields += list(link.custom_fields or [])
        if link.collect_shipping_address:
            config.shipping = "required"
        if link.require_terms:
            config.terms_required = True
        if link.success_message:
            config.success_message = link.success_message
        config.business = link.is_business_purchase
    return config


def hex_color(value: str, default: str) -> str:
    value = value or ""
    ok = len(value) == 7 and value.startswith("#") and all(c in "0123456789abcdefABCDEF" for c in value[1:])
    return value if ok else default


def _text(data: Mapping, key: str) -> str:
    return str(data.get(key, "") or "").strip()[:MAX_TEXT]


def _address(data: Mapping, prefix: str, *, country_only: bool) -> dict:
    parts = ("country",) if country_only else ADDRESS_PARTS
    address = {part: _text(data, f"{prefix}_{part}") for part in parts}
    if address.get("country"):
        address["country"] = address["country"].upper()[:2]
    return {k: v for k, v in address.items() if v}


def _later(current: str, step: str) -> str:
    return step if STEP_ORDER.index(step) > STEP_ORDER.index(current) else current


def checkout_session_touch(*, session: CheckoutSession, step: str) -> None:
    """Records the buyer's progress (never moves backwards; `started_at` once)."""
    at = now()
    updates = {"last_activity_at": at, "last_step": _later(session.last_step, step)}
    if session.started_at is None and step != "viewed":
        updates["started_at"] = at
    CheckoutSession.objects.filter(pk=session.pk, status=CheckoutSession.Status.OPEN).update(**updates)
    for key, value in updates.items():
        setattr(session, key, value)


def checkout_page_update(*, session: CheckoutSession, actor: Actor, data: Mapping, final: bool = False,
                         request_id: str = "") -> CheckoutSession:
    """Applies the page's form to an open session. Raises ValidationFailed (field → messages; nothing is
    saved then) and SessionClosed."""
    with transaction.atomic():
        locked = _lock(session)
        _require_open(locked)
        locked.payment_link = session.payment_link if session.payment_link_id else None
        config = checkout_page_config(locked)
        errors: dict[str, list[str]] = {}
        updates: dict = {}

        email = _text(data, "email").lower()
        if email:
            try:
                validate_email(email)
            except ValidationError:
                errors["email"] = ["Enter a valid email address."]
            else:
                if not locked.customer_id:
                    updates["customer_email"] = email
        elif final and not locked.customer_id:
            errors["email"] = ["Enter your email address."]

        details = dict(locked.customer_details or {})
        for name, mode in (("name", config.name), ("phone", config.phone)):
            if mode == "hidden":
                continue
            value = _text(data, name)
            if value:
                details[name] = value
            else:
                details.pop(name, None)
                if final and mode == "required":
                    errors[name] = ["This field is required."]
        if config.business:
            for key in ("company", "tax_id"):
                value = _text(data, key)
                if value:
                    details[key] = value if key == "company" else {"type": "vat", "value": value}
                else:
                    details.pop(key, None)
        if config.billing != "hidden":
            address = _address(data, "address", country_only=config.billing == "country")
            details["address"] = address
            if final and not address.get("country"):
                errors["address_country"] = ["Choose your country."]
            if final and config.billing == "full":
                for part in ("line1", "city", "postal_code"):
                    if not address.get(part):
                        errors[f"address_{part}"] = ["This field is required."]
        if config.shipping != "hidden":
            shipping = _address(data, "shipping", country_only=False)
            details["shipping"] = shipping
            if final and config.shipping == "required":
                for part in ("line1", "city", "postal_code", "country"):
                    if not shipping.get(part):
                        errors[f"shipping_{part}"] = ["This field is required."]
        updates["customer_details"] = details

        values = dict(locked.custom_field_values or {})
        for spec in config.custom_fields:
            key = spec.get("key")
            value = _text(data, f"custom_{key}")
            if value and spec.get("type") == "select" and value not in [str(o) for o in spec.get("options") or []]:
                errors[f"custom_{key}"] = ["Choose one of the options."]
            elif value and spec.get("type") == "number":
                try:
                    float(value)
                except ValueError:
                    errors[f"custom_{key}"] = ["Enter a number."]
            if value:
                values[key] = value
            else:
                values.pop(key, None)
                if final and spec.get("required"):
                    errors[f"custom_{key}"] = ["This field is required."]
        updates["custom_field_values"] = values

        if config.terms_required:
            accepted = str(data.get("terms", "")) in ("on", "true", "1", "yes")
            updates["terms_accepted_at"] = (locked.terms_accepted_at or now()) if accepted else None
            if final and not accepted:
                errors["terms"] = ["Accept the terms to continue."]

        item_changes = _item_changes(locked, data, errors)
        code_result = _code(locked, config, data, errors, email or locked.customer_email, item_changes)
        if errors:
            raise ValidationFailed(next(f"{k}: {v[0]}" for k, v in errors.items()), fields=errors)
        if item_changes and locked.invoice_id:
            raise ValidationFailed("The items can no longer be changed: a payment was already attempted.",
                                   fields={"items": ["can no longer be changed"]})
        for item, change in item_changes:
            for key, value in change.items():
                setattr(item, key, value)
            item.save(update_fields=list(change))
        if code_result is not None:
            if locked.invoice_id and code_result[0] != locked.discount_id:
                raise ValidationFailed("The code can no longer be changed: a payment was already attempted.",
                                       fields={"code": ["can no longer be changed"]})
            updates["discount_id"], updates["discount_code"] = code_result
        step = "details" if final or any(details.get(k) for k in ("name", "phone", "address")) else \
            "email" if updates.get("customer_email") or locked.customer_email else "viewed"
        updates["updated_at"] = now()
        CheckoutSession.objects.filter(pk=locked.pk).update(**updates)
        locked.refresh_from_db()
        checkout_session_touch(session=locked, step=step)
        if not locked.invoice_id:
            checkout_session_refresh_totals(session=locked)
    return locked


def _item_changes(session: CheckoutSession, data: Mapping, errors: dict) -> list:
    """(item, {field: value}) for each quantity or pay-what-you-want amount the form changes."""
    changes = []
    for item in session.items.select_related("price").order_by("position", "id"):
        change = {}
        raw = str(data.get(f"qty_{item.pk}", "") or "").strip()
        if raw and item.adjustable_quantity:
            if not raw.isdigit() or not item.min_quantity <= int(raw) <= item.max_quantity:
                errors[f"qty_{item.pk}"] = [f"Choose from {item.min_quantity} to {item.max_quantity}."]
            elif int(raw) != item.quantity:
                change["quantity"] = int(raw)
        raw = str(data.get(f"amount_{item.pk}", "") or "").strip()
        if raw and item.price.pricing_model == PricingModel.PAY_WHAT_YOU_WANT:
            minimum = max(item.price.minimum_amount_minor or 0, 1)
            try:
                amount = Money.parse(raw, session.currency).amount_minor
            except ValueError as exc:
                errors[f"amount_{item.pk}"] = [str(exc)]
            else:
                if amount < minimum:
                    errors[f"amount_{item.pk}"] = [f"Enter at least {Money(minimum, session.currency).format()}."]
                elif amount > 100_000_000:
                    errors[f"amount_{item.pk}"] = ["That amount is too large."]
                elif amount != item.custom_amount_minor:
                    change["custom_amount_minor"] = amount
        if change:
            changes.append((item, change))
    return changes


def _code(session: CheckoutSession, config: PageConfig, data: Mapping, errors: dict, email: str,
          item_changes: list) -> tuple[str | None, str] | None:
    """(discount id, code) to store, (None, "") to remove, None to leave as is."""
    from apps.catalog.services import DiscountNotApplicable, discount_check

    if "code" not in data or config.show_code == "hidden":
        return None
    code = _text(data, "code")[:64]
    if not code:
        return (None, "")
    if code.lower() == (session.discount_code or "").lower() and not item_changes:
        return None
    items = list(session.items.select_related("price"))
    changed = {item.pk: change for item, change in item_changes}
    subtotal = 0
    for item in items:
        change = changed.get(item.pk, {})
        unit = change.get("custom_amount_minor", item.custom_amount_minor)
        unit = unit if unit is not None else (item.price.unit_amount_minor or 0)
        subtotal += unit * change.get("quantity", item.quantity)
    try:
        discount, _off = discount_check(tenant=_tenant_of(session), code=code,
                                        amount=Money(subtotal, session.currency),
                                        customer=session.customer or email or None,
                                        product_ids=[item.price.product_id for item in items],
                                        price_ids=[item.price_id for item in items], recurring=False)
    except DiscountNotApplicable as exc:
        reason = (exc.fields or {}).get("code") or (exc.fields or {}).get("customer") or [exc.message]
        errors["code"] = [f"This code cannot be used: {reason[0]}."]
        return None
    return (discount.pk, code)


__all__ = ["PageConfig", "checkout_page_config", "checkout_page_update", "checkout_session_touch", "hex_color",
           "page_settings"]

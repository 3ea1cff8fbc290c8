"""Checkout appearance (page 018 "Customization"): one CheckoutSettings row per merchant, shared by both
modes. The dashboard form and any later API call validate through `checkout_settings_update`."""
from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction

from apps.core.actors import Actor
from apps.core.clock import now
from apps.core.errors import ValidationFailed
from apps.core.events import emit_event
from apps.core.tenancy import Tenant

from ..models import CheckoutSettings
from ..models.settings import FieldMode
from .links import _clean_custom_fields

SETTINGS_FIELDS = ("background_color", "button_text", "name_field", "phone_field", "shipping_field",
                   "billing_address", "discount_field", "terms_text", "terms_url", "privacy_url", "custom_fields",
                   "success_message", "show_price_breakdown")
COLOR = re.compile(r"^#[0-9A-Fa-f]{6}$")
_LIMITS = {"button_text": 40, "terms_text": 300, "success_message": 500}


def checkout_settings_for(merchant) -> CheckoutSettings:
    settings, _ = CheckoutSettings.objects.get_or_create(merchant=merchant)
    return settings


def _clean(changes: dict) -> dict:
    errors: dict[str, list[str]] = {}
    unknown = set(changes) - set(SETTINGS_FIELDS)
    for name in sorted(unknown):
        errors[name] = ["unknown field"]
    cleaned: dict = {}
    for name, value in changes.items():
        if name in unknown:
            continue
        if name == "background_color":
            if not isinstance(value, str) or not COLOR.match(value):
                errors[name] = ["must be a colour like #F8FAFC"]
            else:
                cleaned[name] = value.upper()
        elif name in ("name_field", "phone_field", "shipping_field"):
            if value not in FieldMode.values:
                errors[name] = [f"must be one of {', '.join(FieldMode.values)}"]
            cleaned[name] = value
        elif name == "billing_address":
            if value not in CheckoutSettings.BillingAddress.values:
                errors[name] = [f"must be one of {', '.join(CheckoutSettings.BillingAddress.values)}"]
            cleaned[name] = value
        elif name == "discount_field":
            if value not in CheckoutSettings.DiscountField.values:
                errors[name] = [f"must be one of {', '.join(CheckoutSettings.DiscountField.values)}"]
            cleaned[name] = value
        elif name in ("terms_url", "privacy_url"):
            value = (value or "").strip()
            if value:
                try:
                    URLValidator(schemes=["https", "http"])(value)
                except ValidationError:
                    errors[name] = ["must be an http(s) URL"]
            cleaned[name] = value
        elif name == "custom_fields":
            errors.update(_clean_custom_fields(value if value is not None else []))
            cleaned[name] = value or []
        elif name == "show_price_breakdown":
            cleaned[name] = bool(value)
        else:
            value = (value or "").strip() if isinstance(value, str) or value is None else value
            if not isinstance(value, str):
                errors[name] = ["must be text"]
            elif len(value) > _LIMITS[name]:
                errors[name] = [f"at most {_LIMITS[name]} characters"]
            elif name == "button_text" and not value:
                errors[name] = ["is required"]
            cleaned[name] = value
    if errors:
        first = next(iter(errors))
        raise ValidationFailed(f"{first}: {errors[first][0]}", fields=errors)
    return cleaned


def checkout_settings_update(*, tenant: Tenant, actor: Actor, changes: dict, request_id: str = "") -> CheckoutSettings:
    """Applies `changes` (a subset of SETTINGS_FIELDS) all or nothing; open sessions show them at once."""
    cleaned = _clean(changes)
    with transaction.atomic():
        checkout_settings_for(tenant.merchant)
        settings = CheckoutSettings.objects.select_for_update().get(merchant=tenant.merchant)
        previous = {name: getattr(settings, name) for name, value in cleaned.items() if getattr(settings, name) != value}
        if not previous:
            return settings
        for name, value in cleaned.items():
            setattr(settings, name, value)
        settings.updated_at = now()
        settings.save()
        emit_event(tenant=tenant, type="checkout_settings.updated", data=checkout_settings_payload(settings),
                   actor=actor, previous_attributes=previous, request_id=request_id)
    return settings


def checkout_settings_payload(settings: CheckoutSettings) -> dict:
    return {"object": "checkout_settings", "id": f"chkset_{settings.merchant_id}",
            **{name: getattr(settings, name) for name in SETTINGS_FIELDS},
            "updated_at": int(settings.updated_at.timestamp())}

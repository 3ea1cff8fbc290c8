"""A merchant's invoice settings (page 053) and tax rates (page 049).

Settings are one row per merchant shared by both modes; every change is validated as a whole (nothing is
written when one field is wrong) and recorded as an `invoice_settings.updated` event with the previous
values. Tax rates belong to one mode. A rate that an issued invoice used keeps its row for ever (the
invoice lines point at it, PROTECT): it is archived, so no new line can use it, and its tax-relevant
fields (percentage, inclusive, country, region) can no longer change — archive it and create a new rate.
"""
from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from django.db import transaction

from apps.core.actors import Actor
from apps.core.clock import now
from apps.core.errors import BusinessRuleViolation, ValidationFailed
from apps.core.events import emit_event
from apps.core.tenancy import Tenant

from ..models import FINALIZED_STATUSES, InvoiceLine, InvoiceSettings, NumberSequence, TaxRate
from .numbering import format_number, invoice_settings_for

Errors = dict[str, list[str]]

PREFIX_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_]{0,11}$")
MAX_TEXT = 5000
MAX_REMINDERS = 5
SETTINGS_TEXT_FIELDS = {"default_memo": MAX_TEXT, "default_footer": MAX_TEXT, "payment_instructions": MAX_TEXT}
SETTINGS_BOOL_FIELDS = ("number_includes_year", "require_approval", "attach_pdf")
SETTINGS_FIELDS = ("number_prefix", "credit_note_prefix", "number_padding", "number_includes_year",
                   "days_until_due", "require_approval", "default_memo", "default_footer", "payment_instructions",
                   "reminder_days_before", "reminder_days_after", "tax_id", "tax_registrations", "attach_pdf")
RATE_TAX_FIELDS = ("percentage", "inclusive", "country", "region")
RATE_FIELDS = ("name", "description", *RATE_TAX_FIELDS)


def _country(value) -> tuple[str | None, str | None]:
    from apps.customers.validation import clean_country

    return clean_country(value)


def _whole(value, *, low: int, high: int) -> tuple[int | None, str | None]:
    if isinstance(value, bool):
        return None, "must be a whole number"
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None, "must be a whole number"
    if isinstance(value, float) and value != number:
        return None, "must be a whole number"
    if not low <= number <= high:
        return None, f"must be between {low} and {high}"
    return number, None


def _days_list(value) -> tuple[list[int] | None, str | None]:
    """[7, 1, 7] → [1, 7]: whole days 1–365, at most MAX_REMINDERS of them."""
    if value in (None, ""):
        return [], None
    if isinstance(value, str):
        value = [part for part in re.split(r"[\s,]+", value) if part]
    if not isinstance(value, list | tuple):
        return None, "must be a list of days"
    days = set()
    for item in value:
        day, error = _whole(item, low=1, high=365)
        if error:
            return None, "must be whole days between 1 and 365"
        days.add(day)
    if len(days) > MAX_REMINDERS:
        return None, f"at most {MAX_REMINDERS} reminders"
    return sorted(days), None


def _countries(value) -> tuple[list[str] | None, str | None]:
    if value in (None, ""):
        return [], None
    if isinstance(value, str):
        value = [part for part in re.split(r"[\s,]+", value) if part]
    if not isinstance(value, list | tuple):
        return None, "must be a list of country codes"
    codes: list[str] = []
    for item in value:
        code, error = _country(item)
        if error or code is None:
            return None, error or "must be two-letter country codes"
        if code not in codes:
            codes.append(code)
    return codes, None


def _clean_settings(changes: dict) -> dict:
    errors: Errors = {}
    cleaned: dict = {}
    for name in sorted(set(changes) - set(SETTINGS_FIELDS)):
        errors[name] = ["unknown field"]
    for name in ("number_prefix", "credit_note_prefix"):
        if name in changes:
            value = str(changes[name] or "").strip().upper()
            if not PREFIX_RE.match(value):
                errors[name] = ["must be 1–12 letters or digits, e.g. INV"]
            cleaned[name] = value
    if "number_padding" in changes:
        cleaned["number_padding"], error = _whole(changes["number_padding"], low=1, high=10)
        if error:
            errors["number_padding"] = [error]
    if "days_until_due" in changes:
        cleaned["days_until_due"], error = _whole(changes["days_until_due"], low=0, high=365)
        if error:
            errors["days_until_due"] = [error]
    for name in SETTINGS_BOOL_FIELDS:
        if name in changes:
            if not isinstance(changes[name], bool):
                errors[name] = ["must be true or false"]
            cleaned[name] = changes[name]
    for name, limit in SETTINGS_TEXT_FIELDS.items():
        if name in changes:
            value = str(changes[name] or "").strip()
            if len(value) > limit:
                errors[name] = [f"at most {limit} characters"]
            cleaned[name] = value
    for name in ("reminder_days_before", "reminder_days_after"):
        if name in changes:
            cleaned[name], error = _days_list(changes[name])
            if error:
                errors[name] = [error]
    if "tax_id" in changes:
        value = re.sub(r"\s+", "", str(changes["tax_id"] or "")).upper()
        if len(value) > 40:
            errors["tax_id"] = ["at most 40 characters"]
        elif value and not re.match(r"^[A-Z0-9][A-Z0-9.\-/]*$", value):
            errors["tax_id"] = ["must be letters and digits, e.g. GB123456789"]
        cleaned["tax_id"] = value
    if "tax_registrations" in changes:
        cleaned["tax_registrations"], error = _countries(changes["tax_registrations"])
        if error:
            errors["tax_registrations"] = [error]
    if errors:
        raise ValidationFailed(next(f"{k}: {v[0]}" for k, v in errors.items()), fields=errors)
    return cleaned


def invoice_settings_update(*, tenant: Tenant, actor: Actor, changes: dict, request_id: str = "") -> InvoiceSettings:
    """Applies `changes` (a subset of SETTINGS_FIELDS) to the merchant's invoice settings, all or nothing.
    Numbers already issued keep their format; the next finalization uses the new one."""
    cleaned = _clean_settings(changes)
    with transaction.atomic():
        invoice_settings_for(tenant.merchant)
        settings = InvoiceSettings.objects.select_for_update().get(merchant=tenant.merchant)
        merged_prefix = cleaned.get("number_prefix", settings.number_prefix)
        merged_cn_prefix = cleaned.get("credit_note_prefix", settings.credit_note_prefix)
        if merged_prefix == merged_cn_prefix:
            raise ValidationFailed("credit_note_prefix: must differ from the invoice prefix",
                                   fields={"credit_note_prefix": ["must differ from the invoice prefix"]})
        previous = {name: getattr(settings, name) for name, value in cleaned.items()
                    if getattr(settings, name) != value}
        if not previous:
            return settings
        for name, value in cleaned.items():
            setattr(settings, name, value)
        settings.updated_at = now()
        settings.save()
        emit_event(tenant=tenant, type="invoice_settings.updated", data=invoice_settings_payload(settings),
                   actor=actor, previous_attributes=previous, request_id=request_id)
    return settings


def invoice_settings_payload(settings: InvoiceSettings) -> dict:
    data = {name: getattr(settings, name) for name in SETTINGS_FIELDS}
    return {"object": "invoice_settings", "id": f"invset_{settings.merchant_id}", **data,
            "updated_at": int(settings.updated_at.timestamp())}


def next_number_preview(*, tenant: Tenant, kind: str = NumberSequence.Kind.INVOICE,
                        settings: InvoiceSettings | None = None) -> str:
    """The number the next finalization would take, read without locking (for the settings page)."""
    settings = settings or invoice_settings_for(tenant.merchant)
    year = now().year if settings.number_includes_year else None
    sequence = NumberSequence.objects.filter(merchant=tenant.merchant, livemode=tenant.livemode, kind=kind,
                                             period=str(year) if year else "").first()
    prefix = settings.number_prefix if kind == NumberSequence.Kind.INVOICE else settings.credit_note_prefix
    return format_number(prefix=prefix, year=year, value=sequence.next_value if sequence else 1,
                         padding=settings.number_padding)


# --- tax rates ---------------------------------------------------------------------------------------
def tax_rate_payload(rate: TaxRate) -> dict:
    return {"object": "tax_rate", "id": rate.pk, "livemode": rate.livemode, "name": rate.name,
            "percentage": f"{rate.percentage.normalize():f}", "inclusive": rate.inclusive, "country": rate.country,
            "region": rate.region, "description": rate.description, "active": rate.active,
            "created_at": int(rate.created_at.timestamp())}


def _percentage(value) -> tuple[Decimal | None, str | None]:
    if isinstance(value, bool) or value is None or value == "":
        return None, "is required: a percentage between 0 and 100"
    try:
        number = Decimal(str(value).strip().removesuffix("%").strip())
    except (InvalidOperation, ValueError):
        return None, "must be a number between 0 and 100"
    if not number.is_finite() or not Decimal(0) <= number <= Decimal(100):
        return None, "must be between 0 and 100"
    if number.as_tuple().exponent < -4 and number != number.quantize(Decimal("0.0001")):
        return None, "has at most 4 decimal places"
    return number.quantize(Decimal("0.0001")), None


def _clean_rate(changes: dict, *, creating: bool) -> dict:
    errors: Errors = {}
    cleaned: dict = {}
    for name in sorted(set(changes) - set(RATE_FIELDS)):
        errors[name] = ["unknown field"]
    if "name" in changes or creating:
        value = str(changes.get("name") or "").strip()
        if not value:
            errors["name"] = ["is required, e.g. VAT"]
        elif len(value) > 60:
            errors["name"] = ["at most 60 characters"]
        cleaned["name"] = value
    if "description" in changes:
        value = str(changes.get("description") or "").strip()
        if len(value) > 200:
            errors["description"] = ["at most 200 characters"]
        cleaned["description"] = value
    if "percentage" in changes or creating:
        cleaned["percentage"], error = _percentage(changes.get("percentage"))
        if error:
            errors["percentage"] = [error]
    if "inclusive" in changes:
        if not isinstance(changes["inclusive"], bool):
            errors["inclusive"] = ["must be true or false"]
        cleaned["inclusive"] = changes["inclusive"]
    if "country" in changes or creating:
        code, error = _country(changes.get("country"))
        if error or code is None:
            errors["country"] = [error or "is required: a two-letter ISO 3166-1 country code, e.g. GB"]
        cleaned["country"] = code
    if "region" in changes:
        value = str(changes.get("region") or "").strip().upper()
        if len(value) > 10 or (value and not re.match(r"^[A-Z0-9\-]+$", value)):
            errors["region"] = ["must be a state or province code of up to 10 letters or digits, e.g. CA"]
        cleaned["region"] = value
    if errors:
        raise ValidationFailed(next(f"{k}: {v[0]}" for k, v in errors.items()), fields=errors)
    return cleaned


def tax_rate_used_on_issued_invoices(rate: TaxRate) -> bool:
    return InvoiceLine.objects.filter(tax_rate=rate, invoice__status__in=FINALIZED_STATUSES).exists()


def tax_rate_create(*, tenant: Tenant, actor: Actor, name: str, percentage, country: str, inclusive: bool = False,
                    region: str = "", description: str = "", request_id: str = "") -> TaxRate:
    cleaned = _clean_rate({"name": name, "percentage": percentage, "country": country, "inclusive": inclusive,
                           "region": region, "description": description}, creating=True)
    with transaction.atomic():
        rate = TaxRate.objects.create(merchant=tenant.merchant, livemode=tenant.livemode, **cleaned)
        emit_event(tenant=tenant, type="tax_rate.created", data=tax_rate_payload(rate), actor=actor,
                   request_id=request_id)
    return rate


def _locked_rate(tenant: Tenant, rate: TaxRate) -> TaxRate:
    from apps.core.tenancy import get_scoped

    return get_scoped(TaxRate.objects.select_for_update(), tenant=tenant, pk=rate.pk, label="tax rate")


def tax_rate_update(*, tenant: Tenant, actor: Actor, tax_rate: TaxRate, changes: dict,
                    request_id: str = "") -> TaxRate:
    """Renames or re-describes any rate; its percentage, inclusive flag, country and region change only
    while no issued invoice has used it (an issued invoice's tax must stay explainable by its rate)."""
    cleaned = _clean_rate(changes, creating=False)
    with transaction.atomic():
        locked = _locked_rate(tenant, tax_rate)
        if not locked.active:
            raise BusinessRuleViolation("This tax rate is archived; create a new one instead.",
                                        code="tax_rate_archived")
        changed = {name: value for name, value in cleaned.items() if getattr(locked, name) != value}
        if not changed:
            return locked
        tax_changes = sorted(set(changed) & set(RATE_TAX_FIELDS))
        if tax_changes and tax_rate_used_on_issued_invoices(locked):
            raise BusinessRuleViolation(
                f"This rate is on issued invoices, so its {', '.join(tax_changes)} cannot change. "
                "Archive it and create a new rate instead.", code="tax_rate_in_use", param=tax_changes[0])
        previous = {name: tax_rate_payload(locked)[name] for name in changed}
        for name, value in changed.items():
            setattr(locked, name, value)
        locked.updated_at = now()
        locked.save()
        emit_event(tenant=tenant, type="tax_rate.updated", data=tax_rate_payload(locked), actor=actor,
                   previous_attributes=previous, request_id=request_id)
    return locked


def tax_rate_archive(*, tenant: Tenant, actor: Actor, tax_rate: TaxRate, request_id: str = "") -> TaxRate:
    """Stops a rate being used on new lines. Never deletes it: issued invoices keep pointing at it.
    Drafts whose lines already carry it keep it; no new or changed line can take it."""
    with transaction.atomic():
        locked = _locked_rate(tenant, tax_rate)
        if not locked.active:
            return locked
        locked.active = False
        locked.updated_at = now()
        locked.save(update_fields=["active", "updated_at"])
        emit_event(tenant=tenant, type="tax_rate.archived", data=tax_rate_payload(locked), actor=actor,
                   previous_attributes={"active": True}, request_id=request_id)
    return locked

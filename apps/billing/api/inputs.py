"""Request parsing shared by the billing API modules: JSON bodies with the guides' camelCase aliases
(unknown fields are a 400), typed fields that collect every problem into one 400 with `details.fields`,
and list query parameters. Nothing here reads more than the one object a field names."""
from __future__ import annotations

from datetime import UTC, date

from django.utils.dateparse import parse_date, parse_datetime

from apps.core.errors import ValidationFailed
from apps.core.money import CurrencyError, normalize_currency
from apps.core.tenancy import Tenant

Errors = dict[str, list[str]]
MAX_QUANTITY = 10**6
MAX_LINE_TOTAL = 10**13  # 250 such lines still fit the 64-bit totals


def request_id(request) -> str:
    return getattr(request._request, "request_id", "")


def raise_errors(errors: Errors) -> None:
    if errors:
        raise ValidationFailed(next(f"{k}: {v[0]}" for k, v in errors.items()), fields=errors)


def aliased(raw, allowed: set[str], aliases: dict[str, str], *, path: str = "") -> dict:
    """The body as a dict with aliases mapped to our names; unknown fields are a 400."""
    label = path or "The body"
    if not isinstance(raw, dict):
        raise ValidationFailed(f"{label} must be a JSON object.", fields={path or "__all__": ["must be a JSON object"]})
    data = dict(raw)
    for alias, name in aliases.items():
        if alias in data and name not in data:
            data[name] = data.pop(alias)
    unknown = sorted(set(data) - allowed)
    if unknown:
        prefix = f"{path}." if path else ""
        raise ValidationFailed(f"{prefix}{unknown[0]}: unknown field",
                               fields={f"{prefix}{name}": ["unknown field"] for name in unknown})
    return data


def body_of(request, allowed: set[str], aliases: dict[str, str] | None = None) -> dict:
    data = request.data if request.data is not None else {}
    if hasattr(data, "dict") and not isinstance(data, dict):
        data = data.dict()
    return aliased(data or {}, allowed, aliases or {})


def int_field(data: dict, name: str, errors: Errors, *, path: str = "", minimum: int | None = None,
              maximum: int | None = None):
    value = data.get(name)
    key = f"{path}.{name}" if path else name
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        errors[key] = ["must be a whole number"]
        return None
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        errors[key] = [f"must be between {minimum} and {maximum}" if maximum is not None else f"must be at least {minimum}"]
        return None
    return value


def str_field(data: dict, name: str, errors: Errors, *, path: str = "", limit: int = 500, required: bool = False):
    value = data.get(name)
    key = f"{path}.{name}" if path else name
    if value is None:
        if required:
            errors[key] = ["is required"]
        return None
    if not isinstance(value, str):
        errors[key] = ["must be a string"]
        return None
    if len(value) > limit:
        errors[key] = [f"must be at most {limit} characters"]
        return None
    return value


def metadata_field(data: dict, errors: Errors, *, path: str = ""):
    value = data.get("metadata")
    key = f"{path}.metadata" if path else "metadata"
    if value is None:
        return None
    if not isinstance(value, dict) or len(value) > 50 or not all(
            isinstance(k, str) and len(k) <= 40 and isinstance(v, str) and len(v) <= 500 for k, v in value.items()):
        errors[key] = ["must map at most 50 keys (≤ 40 characters) to strings (≤ 500 characters)"]
        return None
    return dict(value)


def to_date(value) -> date | None:
    """YYYY-MM-DD (or the date of an ISO date-time); None for anything else, including impossible dates."""
    if not isinstance(value, str):
        return None
    try:
        return parse_date(value) or (parse_date(value[:10]) if parse_datetime(value) else None)
    except ValueError:
        return None


def date_field(data: dict, name: str, errors: Errors):
    value = data.get(name)
    if value is None:
        return None
    parsed = to_date(value)
    if parsed is None:
        errors[name] = ["must be a date (YYYY-MM-DD)"]
    return parsed


def datetime_field(data: dict, name: str, errors: Errors, *, path: str = ""):
    value = data.get(name)
    key = f"{path}.{name}" if path else name
    if value is None:
        return None
    try:
        parsed = parse_datetime(value) if isinstance(value, str) else None
    except ValueError:
        parsed = None
    if parsed is None:
        errors[key] = ["must be an ISO 8601 date-time"]
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def currency_field(data: dict, errors: Errors):
    value = data.get("currency")
    if value in (None, ""):
        return None
    try:
        return normalize_currency(str(value))
    except (CurrencyError, ValueError):
        errors["currency"] = ["unknown ISO 4217 currency"]
        return None


def id_field(data: dict, name: str, errors: Errors, *, path: str = ""):
    value = data.get(name)
    key = f"{path}.{name}" if path else name
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        errors[key] = ["must be a string id"]
        return None
    return value


def customer_of(tenant: Tenant, customer_id: str):
    from apps.customers.selectors import customer_get

    return customer_get(tenant=tenant, customer_id=customer_id)


# --- list query parameters ---------------------------------------------------------------------------
def param(params, *names):
    for name in names:
        value = params.get(name)
        if value not in (None, ""):
            return value
    return None


def query_datetime(params, *names):
    from apps.payments.api.intents import parse_created

    for name in names:
        if params.get(name) not in (None, ""):
            try:
                return parse_created(params, name)
            except (ValueError, OverflowError, OSError):  # well-formed but impossible (month 13, year 10^9)
                raise ValidationFailed(f"{name}: must be an ISO 8601 timestamp or Unix seconds",
                                       fields={name: ["must be an ISO 8601 timestamp or Unix seconds"]}) from None
    return None


def query_date(params, *names):
    raw = param(params, *names)
    if raw is None:
        return None
    value = to_date(raw)
    if value is None:
        raise ValidationFailed(f"{names[0]}: must be a date (YYYY-MM-DD)", fields={names[0]: ["must be a date"]})
    return value


def query_int(params, *names):
    raw = param(params, *names)
    if raw is None:
        return None
    try:
        value = int(raw)
    except (TypeError, ValueError):
        value = None
    if value is None or abs(value) > MAX_LINE_TOTAL * 1000:
        raise ValidationFailed(f"{names[0]}: must be a whole number of minor units",
                               fields={names[0]: ["must be a whole number of minor units"]}) from None
    return value

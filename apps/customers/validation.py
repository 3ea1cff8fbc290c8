"""Validation and normalisation of customer input: pure functions, no ORM.

One validator serves the API bodies, every row of a batch upsert and (later) the dashboard forms, so
the rules and the messages are the same everywhere and a batch can report every row's problems in
one answer. Each function returns `(cleaned, errors)`; `errors` maps dotted paths (with the caller's
prefix, e.g. `customers[3].billing_address.country`) to lists of reasons, as the error envelope's
`details.fields` wants them.

Shapes after cleaning:
- email: stripped, lower-cased, a valid address.
- name, company_name, phone, locale, currency: strings, "" when cleared (null or "" on input).
- billing_address / shipping_address: None, or a dict with exactly ADDRESS_FIELDS (absent → None);
  `country` upper-cased ISO 3166-1 alpha-2. `{}` and null both clear the address.
- tax_ids: list of {"type", "value"}; the guide's single `tax_id` string becomes [{"type": "other", …}].
- metadata: dict of str → str, or None for "clear all"; a value of "" or null means "remove this key"
  (see `merge_metadata`).
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from functools import lru_cache

from babel import Locale, UnknownLocaleError
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.utils.dateparse import parse_datetime

from apps.core.money import CurrencyError, normalize_currency

Errors = dict[str, list[str]]

ADDRESS_FIELDS = ("line1", "line2", "city", "state", "postal_code", "country")
ADDRESS_ALIASES = {"postalCode": "postal_code", "zip": "postal_code"}
ADDRESS_MAX = {"line1": 200, "line2": 200, "city": 100, "state": 100, "postal_code": 20}

# Customer fields and the camelCase / guide spellings accepted for them (DECISIONS.md: snake_case on
# the wire, documented camelCase accepted as an alias on input).
CUSTOMER_FIELDS = ("email", "name", "company_name", "phone", "billing_address", "shipping_address", "tax_ids",
                   "tax_id", "locale", "currency", "metadata")
CUSTOMER_ALIASES = {
    "companyName": "company_name",
    "address": "billing_address",  # guide p021: `address` is the billing address
    "billingAddress": "billing_address",
    "shippingAddress": "shipping_address",
    "taxIds": "tax_ids",
    "taxId": "tax_id",
}
EXTERNAL_FIELDS = ("source", "external_id", "external_updated_at")
EXTERNAL_ALIASES = {"externalId": "external_id", "externalUpdatedAt": "external_updated_at"}

METADATA_MAX_KEYS = 50
METADATA_KEY_MAX = 40
METADATA_VALUE_MAX = 500
TAX_IDS_MAX = 10
TAX_ID_TYPE_RE = re.compile(r"^[a-z][a-z0-9_]{1,29}$")
SOURCE_RE = re.compile(r"^[a-z0-9][a-z0-9_.\-]{0,49}$")
PHONE_RE = re.compile(r"^\+?[0-9 ().\-]+$")
CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")

# ISO 3166 user-assigned / CLDR pseudo-regions that are not countries.
_NOT_COUNTRIES = {"ZZ", "EU", "EZ", "UN", "QO", "XA", "XB", "AA", "QM", "QN", "QP", "QZ"}


@lru_cache(maxsize=1)
def _countries() -> frozenset[str]:
    return frozenset(code for code in Locale("en").territories
                     if len(code) == 2 and code.isalpha() and code not in _NOT_COUNTRIES)


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def apply_aliases(data: Mapping, aliases: Mapping[str, str]) -> dict:
    out = dict(data)
    for alias, name in aliases.items():
        if alias in out and name not in out:
            out[name] = out.pop(alias)
    return out


# --- single values ------------------------------------------------------------------------------
def clean_text(value, *, max_length: int, allow_blank: bool = True) -> tuple[str, str | None]:
    """A trimmed one-line string; None/"" → "" when blank is allowed."""
    if value is None:
        return ("", None) if allow_blank else ("", "is required")
    if not isinstance(value, str):
        return "", "must be a string"
    value = value.strip()
    if not value and not allow_blank:
        return "", "is required"
    if len(value) > max_length:
        return "", f"must be at most {max_length} characters"
    if CONTROL_RE.search(value):
        return "", "must not contain control characters"
    return value, None


def clean_email(value) -> tuple[str, str | None]:
    if value is None or (isinstance(value, str) and not value.strip()):
        return "", "is required"
    if not isinstance(value, str):
        return "", "must be a string"
    value = value.strip().lower()
    if len(value) > 254:
        return "", "must be at most 254 characters"
    try:
        validate_email(value)
    except DjangoValidationError:
        return "", "must be a valid email address"
    return value, None


def clean_phone(value) -> tuple[str, str | None]:
    value, error = clean_text(value, max_length=40)
    if error or not value:
        return value, error
    digits = sum(ch.isdigit() for ch in value)
    if not PHONE_RE.match(value) or not 5 <= digits <= 20:
        return "", "must be a phone number (E.164 recommended, e.g. +14155550123)"
    return value, None


def clean_currency(value) -> tuple[str, str | None]:
    if value is None or value == "":
        return "", None
    if not isinstance(value, str):
        return "", "must be a string"
    try:
        return normalize_currency(value), None
    except CurrencyError:
        return "", "must be an ISO 4217 currency code, e.g. USD"


def clean_locale(value) -> tuple[str, str | None]:
    """BCP 47 tags ("en-GB", "fr", "pt_BR") that CLDR knows, normalised to "en-GB" form."""
    if value is None or value == "":
        return "", None
    if not isinstance(value, str):
        return "", "must be a string"
    tag = value.strip().replace("-", "_")
    if not tag or len(tag) > 20:
        return "", "must be a locale such as en-GB"
    try:
        locale = Locale.parse(tag)
    except (UnknownLocaleError, ValueError, TypeError):
        return "", "must be a locale such as en-GB"
    return str(locale).replace("_", "-"), None


def clean_country(value) -> tuple[str | None, str | None]:
    if value is None or value == "":
        return None, None
    if not isinstance(value, str):
        return None, "must be a string"
    code = value.strip().upper()
    if len(code) != 2 or not code.isalpha():
        return None, "must be a two-letter ISO 3166-1 country code, e.g. GB"
    if code not in _countries():
        return None, f"'{code}' is not an ISO 3166-1 country code"
    return code, None


def clean_address(value, prefix: str) -> tuple[dict | None, Errors]:
    if value is None:
        return None, {}
    if not isinstance(value, Mapping):
        return None, {prefix: ["must be an object with line1, line2, city, state, postal_code, country"]}
    data = apply_aliases(value, ADDRESS_ALIASES)
    errors: Errors = {}
    for name in sorted(set(data) - set(ADDRESS_FIELDS)):
        errors[_join(prefix, name)] = ["unknown field"]
    address: dict = {}
    for name in ADDRESS_FIELDS:
        raw = data.get(name)
        if name == "country":
            cleaned, error = clean_country(raw)
        else:
            cleaned, error = clean_text(raw, max_length=ADDRESS_MAX[name])
            cleaned = cleaned or None
        if error:
            errors[_join(prefix, name)] = [error]
        address[name] = cleaned
    if errors:
        return None, errors
    if all(v is None for v in address.values()):
        return None, {}
    return address, {}


def clean_tax_ids(value, prefix: str) -> tuple[list, Errors]:
    if value is None:
        return [], {}
    if not isinstance(value, list):
        return [], {prefix: ["must be a list of {type, value} objects"]}
    if len(value) > TAX_IDS_MAX:
        return [], {prefix: [f"must have at most {TAX_IDS_MAX} entries"]}
    errors: Errors = {}
    out, seen = [], set()
    for index, item in enumerate(value):
        path = f"{prefix}[{index}]"
        if not isinstance(item, Mapping):
            errors[path] = ["must be an object with type and value"]
            continue
        for name in sorted(set(item) - {"type", "value"}):
            errors[_join(path, name)] = ["unknown field"]
        raw_type = item.get("type")
        if not isinstance(raw_type, str) or not TAX_ID_TYPE_RE.match(raw_type.strip().lower()):
            errors[_join(path, "type")] = ["must be a tax id type such as eu_vat, gb_vat, us_ein or other"]
            tax_type = ""
        else:
            tax_type = raw_type.strip().lower()
        tax_value, error = clean_text(item.get("value"), max_length=64, allow_blank=False)
        if error:
            errors[_join(path, "value")] = [error]
        if tax_type and tax_value:
            if (tax_type, tax_value) in seen:
                errors[path] = ["duplicates an earlier tax id"]
            seen.add((tax_type, tax_value))
            out.append({"type": tax_type, "value": tax_value})
    return (out if not errors else []), errors


def clean_metadata(value, prefix: str) -> tuple[dict | None, Errors]:
    """A patch: {key: str | "" | None}. None for the whole field means "clear all"."""
    if value is None:
        return None, {}
    if not isinstance(value, Mapping):
        return None, {prefix: ["must be an object of string keys to string values"]}
    if len(value) > METADATA_MAX_KEYS:
        return None, {prefix: [f"must have at most {METADATA_MAX_KEYS} keys"]}
    errors: Errors = {}
    out: dict = {}
    for key, item in value.items():
        if not isinstance(key, str) or not key.strip() or len(key) > METADATA_KEY_MAX or "[" in key or "." in key \
                or CONTROL_RE.search(key):
            errors[f"{prefix}.{CONTROL_RE.sub('?', str(key))}"] = [
                f"keys must be 1–{METADATA_KEY_MAX} characters without '.', '[' or control characters"]
            continue
        path = f"{prefix}.{key}"
        if item is None or item == "":
            out[key] = None  # removal marker
        elif not isinstance(item, str):
            errors[path] = ["must be a string"]
        elif len(item) > METADATA_VALUE_MAX:
            errors[path] = [f"must be at most {METADATA_VALUE_MAX} characters"]
        elif "\x00" in item:
            errors[path] = ["must not contain NUL characters"]
        else:
            out[key] = item
    return (out if not errors else None), errors


def merge_metadata(current: dict, patch: dict | None, *, replace_all: bool = False) -> dict:
    """Stripe's semantics: keys in the patch are set; a key set to "" or null is removed; keys not in
    the patch are kept. `replace_all` (metadata: null or "" on input) clears every key first."""
    merged = {} if replace_all else dict(current or {})
    for key, value in (patch or {}).items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


def clean_source(value, path: str = "source") -> tuple[str, Errors]:
    if value is None or value == "":
        return "", {path: ["is required"]}
    if not isinstance(value, str):
        return "", {path: ["must be a string"]}
    source = value.strip().lower()
    if not SOURCE_RE.match(source):
        return "", {path: ["must be 1–50 characters: letters, digits, '_', '-' or '.' (e.g. practicehub)"]}
    return source, {}


def clean_external_id(value, path: str = "external_id") -> tuple[str, Errors]:
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if value is None or value == "":
        return "", {path: ["is required"]}
    if not isinstance(value, str):
        return "", {path: ["must be a string"]}
    value = value.strip()
    if not value or len(value) > 255 or CONTROL_RE.search(value) or "/" in value:
        return "", {path: ["must be 1–255 characters without '/' or control characters"]}
    return value, {}


def clean_external_updated_at(value, path: str = "external_updated_at") -> tuple[datetime | None, Errors]:
    """The source system's last-modified time: ISO-8601 (naive means UTC) or Unix seconds."""
    if value is None or value == "":
        return None, {}
    if isinstance(value, int) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(value, tz=UTC), {}
        except (OverflowError, OSError, ValueError):
            return None, {path: ["must be an ISO-8601 date-time or Unix seconds"]}
    if isinstance(value, str):
        try:
            parsed = parse_datetime(value.strip())
        except ValueError:
            parsed = None
        if parsed is not None:
            return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)), {}
    return None, {path: ["must be an ISO-8601 date-time or Unix seconds"]}


# --- whole objects ------------------------------------------------------------------------------
def clean_customer_fields(data, *, prefix: str = "", extra_allowed: tuple[str, ...] = ()) -> tuple[dict, Errors]:
    """Validates the customer fields present in `data` (a partial update; callers decide what is
    required). Returns cleaned values under canonical names; `metadata` stays a patch (see
    `merge_metadata`), with `metadata_replace` True when the input asked to clear it."""
    if not isinstance(data, Mapping):
        return {}, {prefix or "__all__": ["must be a JSON object"]}
    data = apply_aliases(data, CUSTOMER_ALIASES)
    errors: Errors = {}
    for name in sorted(set(data) - set(CUSTOMER_FIELDS) - set(extra_allowed)):
        errors[_join(prefix, name)] = ["unknown field"]
    cleaned: dict = {}

    def single(name, fn, **kwargs):
        if name in data:
            value, error = fn(data[name], **kwargs)
            if error:
                errors[_join(prefix, name)] = [error]
            else:
                cleaned[name] = value

    single("email", clean_email)
    single("name", clean_text, max_length=200)
    single("company_name", clean_text, max_length=200)
    single("phone", clean_phone)
    single("locale", clean_locale)
    single("currency", clean_currency)
    for name in ("billing_address", "shipping_address"):
        if name in data:
            value, errs = clean_address(data[name], _join(prefix, name))
            errors.update(errs)
            if not errs:
                cleaned[name] = value
    if "tax_ids" in data and "tax_id" in data:
        errors[_join(prefix, "tax_id")] = ["send tax_ids or tax_id, not both"]
    elif "tax_ids" in data:
        value, errs = clean_tax_ids(data["tax_ids"], _join(prefix, "tax_ids"))
        errors.update(errs)
        if not errs:
            cleaned["tax_ids"] = value
    elif "tax_id" in data:
        raw = data["tax_id"]
        if raw is None or raw == "":
            cleaned["tax_ids"] = []
        else:
            value, error = clean_text(raw, max_length=64, allow_blank=False)
            if error:
                errors[_join(prefix, "tax_id")] = [error]
            else:
                cleaned["tax_ids"] = [{"type": "other", "value": value}]
    if "metadata" in data:
        raw = data["metadata"]
        if raw is None or raw == "":
            cleaned["metadata"], cleaned["metadata_replace"] = {}, True
        else:
            value, errs = clean_metadata(raw, _join(prefix, "metadata"))
            errors.update(errs)
            if not errs:
                cleaned["metadata"], cleaned["metadata_replace"] = value, False
    return cleaned, errors

"""Domain rules for catalog input: pure functions, no ORM.

The API's serializers check shapes and types (unknown fields, integers, ISO currencies, URLs); the
rules here are the ones that span fields ("a recurring price needs an interval and a count", "tiers
must rise") and are enforced by the services, so the dashboard and integrations get them too. Each
function returns `(cleaned, errors)` or `errors`, where errors maps dotted paths (with the caller's
prefix, e.g. `tiers[2].up_to`) to lists of reasons, as the error envelope's `details.fields` wants.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal

from apps.core.errors import ValidationFailed

from .models import DiscountDuration, DiscountScope, DiscountType, Interval, PriceType, PricingModel

Errors = dict[str, list[str]]

METADATA_MAX_KEYS = 50
METADATA_KEY_MAX = 40
METADATA_VALUE_MAX = 500
MAX_TIERS = 25
MAX_TRIAL_DAYS = 730
# Longest interval a price may have: 3 years, whatever the unit.
MAX_INTERVAL_COUNT = {"day": 1095, "week": 156, "month": 36, "quarter": 12, "half_year": 6, "year": 3}
CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-]{0,63}$")
KEY_RE = re.compile(r"^[a-z0-9][a-z0-9_.:\-]{0,63}$")
SOURCE_RE = re.compile(r"^[a-z0-9][a-z0-9_.\-]{0,49}$")
CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")


def join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def first_message(errors: Errors) -> str:
    path, reasons = next(iter(errors.items()))
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{path}: {reasons[0]}{more}"


def raise_if(errors: Errors) -> None:
    if errors:
        raise ValidationFailed(first_message(errors), fields=errors)


# --- metadata (the same semantics as customers: Stripe's merge) -------------------------------------
def clean_metadata(value, prefix: str = "metadata") -> tuple[dict | None, Errors]:
    """A patch {key: str | "" | None}; None for the whole field means "clear all". Values "" or None
    are removal markers (returned as None)."""
    if value is None or value == "":
        return None, {}
    if not isinstance(value, Mapping):
        return None, {prefix: ["must be an object of string keys to string values"]}
    if len(value) > METADATA_MAX_KEYS:
        return None, {prefix: [f"must have at most {METADATA_MAX_KEYS} keys"]}
    errors: Errors = {}
    out: dict = {}
    for key, item in value.items():
        path = f"{prefix}.{key}"
        if not isinstance(key, str) or not key.strip() or len(key) > METADATA_KEY_MAX or "[" in key or "." in key:
            errors[path] = [f"keys must be 1–{METADATA_KEY_MAX} characters without '.' or '['"]
        elif item is None or item == "":
            out[key] = None
        elif not isinstance(item, str):
            errors[path] = ["must be a string"]
        elif len(item) > METADATA_VALUE_MAX:
            errors[path] = [f"must be at most {METADATA_VALUE_MAX} characters"]
        else:
            out[key] = item
    return (out if not errors else None), errors


def merge_metadata(current: dict | None, patch: dict | None, prefix: str = "metadata") -> tuple[dict, Errors]:
    """Keys in the patch are set, keys sent as ""/null removed, others kept; a patch of None clears all."""
    if patch is None:
        return {}, {}
    merged = dict(current or {})
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    if len(merged) > METADATA_MAX_KEYS:
        return merged, {prefix: [f"would have {len(merged)} keys after the merge; at most {METADATA_MAX_KEYS}"]}
    return merged, {}


def clean_source(value, path: str = "source") -> tuple[str, Errors]:
    if not isinstance(value, str) or not value.strip():
        return "", {path: ["is required"]}
    source = value.strip().lower()
    if not SOURCE_RE.match(source):
        return "", {path: ["must be 1–50 characters: letters, digits, '_', '-' or '.' (e.g. practicehub)"]}
    return source, {}


def clean_external_id(value, path: str = "external_id") -> tuple[str, Errors]:
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        return "", {path: ["is required"]}
    value = value.strip()
    if len(value) > 255 or CONTROL_RE.search(value) or "/" in value:
        return "", {path: ["must be 1–255 characters without '/' or control characters"]}
    return value, {}


def clean_code(value, path: str = "code") -> tuple[str, Errors]:
    if value is None or value == "":
        return "", {}
    if not isinstance(value, str) or not CODE_RE.match(value.strip()):
        return "", {path: ["must be 1–64 letters, digits, '-' or '_', starting with a letter or digit"]}
    return value.strip(), {}


def clean_key(value, path: str = "key") -> tuple[str, Errors]:
    if not isinstance(value, str) or not value.strip():
        return "", {path: ["is required"]}
    key = value.strip()
    if not KEY_RE.match(key):
        return "", {path: ["must be 1–64 lower-case letters, digits, '-', '_', '.' or ':' (e.g. pro-reports)"]}
    return key, {}


# --- prices --------------------------------------------------------------------------------------
PRICE_AMOUNT_FIELDS = ("unit_amount_minor", "flat_amount_minor", "package_size", "tiers", "minimum_amount_minor",
                       "suggested_amount_minor")
_MODEL_FIELDS = {
    PricingModel.FIXED: {"required": ("unit_amount_minor",), "optional": ()},
    PricingModel.FREE: {"required": (), "optional": ("unit_amount_minor",)},
    PricingModel.PAY_WHAT_YOU_WANT: {"required": (), "optional": ("minimum_amount_minor", "suggested_amount_minor")},
    PricingModel.PACKAGE: {"required": ("unit_amount_minor", "package_size"), "optional": ()},
    PricingModel.FLAT_PER_UNIT: {"required": ("flat_amount_minor", "unit_amount_minor"), "optional": ()},
    PricingModel.GRADUATED: {"required": ("tiers",), "optional": ()},
    PricingModel.VOLUME: {"required": ("tiers",), "optional": ()},
}
# Fields that describe what a price costs and how it is billed: fixed once the price exists.
IMMUTABLE_PRICE_FIELDS = ("product_id", "type", "pricing_model", "currency", *PRICE_AMOUNT_FIELDS, "interval",
                          "interval_count", "trial_days", "tax_behavior")


def clean_tiers(tiers, prefix: str = "tiers") -> tuple[list[dict], Errors]:
    errors: Errors = {}
    if not isinstance(tiers, list) or not tiers:
        return [], {prefix: ["must be a non-empty list of tiers"]}
    if len(tiers) > MAX_TIERS:
        return [], {prefix: [f"must have at most {MAX_TIERS} tiers"]}
    out, previous = [], 0
    for index, tier in enumerate(tiers):
        path = f"{prefix}[{index}]"
        up_to = tier.get("up_to")
        last = index == len(tiers) - 1
        if up_to is None and not last:
            errors[join(path, "up_to")] = ["only the last tier may leave up_to empty (infinity)"]
        elif up_to is not None and last:
            errors[join(path, "up_to")] = ["the last tier must have up_to null (it covers every quantity above)"]
        elif up_to is not None and up_to <= previous:
            errors[join(path, "up_to")] = [f"must be greater than the previous tier's up_to ({previous})"]
        for amount_field in ("unit_amount_minor", "flat_amount_minor"):
            if isinstance(tier.get(amount_field), int) and tier[amount_field] < 0:
                errors[join(path, amount_field)] = ["must not be negative"]
        if up_to is not None:
            previous = max(previous, up_to)
        out.append({"up_to": up_to, "unit_amount_minor": tier.get("unit_amount_minor") or 0,
                    "flat_amount_minor": tier.get("flat_amount_minor") or 0})
    return out, errors


def clean_price(data: Mapping, prefix: str = "") -> tuple[dict, Errors]:
    """Cross-field rules for a new price; `data` is already type-checked. Returns the full set of
    price columns (absent amount fields as None) and any errors.

    Accepted shorthands: `type: "pay_what_you_want"` or `type: "free"` name the pricing model (the
    guide's spelling) and make the price one-time, or recurring when an interval is given.
    """
    errors: Errors = {}
    cleaned = dict(data)
    price_type = cleaned.get("type")
    model = cleaned.get("pricing_model")
    if price_type in (PricingModel.PAY_WHAT_YOU_WANT, PricingModel.FREE):
        if model and model != price_type:
            errors[join(prefix, "pricing_model")] = [f"conflicts with type '{price_type}'"]
        model = price_type
        price_type = PriceType.RECURRING if cleaned.get("interval") else PriceType.ONE_TIME
    price_type = price_type or (PriceType.RECURRING if cleaned.get("interval") else PriceType.ONE_TIME)
    if not model:
        model = PricingModel.FIXED
    cleaned["type"], cleaned["pricing_model"] = price_type, model
    if not cleaned.get("currency"):
        errors[join(prefix, "currency")] = ["is required"]

    # Which amount fields this model takes.
    rules = _MODEL_FIELDS[model]
    allowed = set(rules["required"]) | set(rules["optional"])
    for name in rules["required"]:
        if cleaned.get(name) is None:
            errors[join(prefix, name)] = [f"is required for {model} prices"]
    for name in PRICE_AMOUNT_FIELDS:
        if name not in allowed and cleaned.get(name) is not None:
            errors[join(prefix, name)] = [f"is not used by {model} prices"]
        elif isinstance(cleaned.get(name), int) and cleaned[name] < 0:
            # Every caller (API, dashboard, demo) gets this rule, not only the API serializer.
            errors[join(prefix, name)] = ["must not be negative"]
    if model == PricingModel.FREE:
        if cleaned.get("unit_amount_minor") not in (None, 0):
            errors[join(prefix, "unit_amount_minor")] = ["must be 0 (or left out) for free prices"]
        cleaned["unit_amount_minor"] = 0
    if model == PricingModel.PAY_WHAT_YOU_WANT:
        minimum = cleaned.get("minimum_amount_minor") or 0
        cleaned["minimum_amount_minor"] = minimum
        suggested = cleaned.get("suggested_amount_minor")
        if suggested is not None and suggested < minimum:
            errors[join(prefix, "suggested_amount_minor")] = ["must be at least minimum_amount_minor"]
    if model in (PricingModel.GRADUATED, PricingModel.VOLUME) and cleaned.get("tiers") is not None:
        cleaned["tiers"], more = clean_tiers(cleaned["tiers"], join(prefix, "tiers"))
        errors.update(more)
    else:
        cleaned["tiers"] = []

    # Billing interval.
    interval, count, trial = cleaned.get("interval"), cleaned.get("interval_count"), cleaned.get("trial_days")
    if price_type == PriceType.RECURRING:
        if not interval:
            errors[join(prefix, "interval")] = ["is required for recurring prices (day, week, month, quarter, "
                                                "half_year or year)"]
        if count is None:
            errors[join(prefix, "interval_count")] = ["is required with an interval (e.g. 1 for every month, "
                                                      "3 for every 3 months)"]
        elif interval and count > MAX_INTERVAL_COUNT[interval]:
            errors[join(prefix, "interval_count")] = [f"must be at most {MAX_INTERVAL_COUNT[interval]} for "
                                                      f"'{interval}' (3 years)"]
        cleaned["trial_days"] = trial or None
    else:
        for name, value in (("interval", interval), ("interval_count", count), ("trial_days", trial)):
            if value not in (None, ""):
                errors[join(prefix, name)] = ["is only for recurring prices"]
        cleaned["interval"], cleaned["interval_count"], cleaned["trial_days"] = "", None, None
    for name in PRICE_AMOUNT_FIELDS:
        cleaned.setdefault(name, None)
    cleaned["tiers"] = cleaned.get("tiers") or []
    return cleaned, errors


# --- discounts -----------------------------------------------------------------------------------
DISCOUNT_VALUE_FIELDS = ("percent_off", "amounts_off", "trial_days", "duration", "duration_in_periods")


def clean_amounts_off(data: Mapping, prefix: str = "") -> tuple[list[tuple[str, int]] | None, Errors]:
    """`amount_off_minor` + `currency` (the guide's single amount) and/or `amounts_off`
    ([{currency, amount_off_minor}]) → [(currency, amount)] with one entry per currency."""
    errors: Errors = {}
    pairs: list[tuple[str, int]] = []
    single = data.get("amount_off_minor")
    if single is not None:
        if not data.get("currency"):
            errors[join(prefix, "currency")] = ["is required with amount_off_minor"]
        else:
            pairs.append((data["currency"], single))
    elif data.get("currency") and data.get("amounts_off") is None:
        errors[join(prefix, "amount_off_minor")] = ["is required with currency"]
    for row in data.get("amounts_off") or []:
        pairs.append((row["currency"], row["amount_off_minor"]))
    seen: set[str] = set()
    for index, (currency, amount) in enumerate(pairs):
        if currency in seen:
            errors[join(prefix, "amounts_off")] = [f"has {currency} more than once"]
        seen.add(currency)
        if amount <= 0:
            errors[join(prefix, "amount_off_minor" if single is not None and index == 0 else "amounts_off")] = [
                "amounts off must be greater than 0"]
    if data.get("amounts_off") is None and single is None:
        return None, errors
    return pairs, errors


def clean_discount_value(data: Mapping, *, discount_type: str, prefix: str = "") -> tuple[dict, Errors]:
    """The type-specific value and the duration: which of percent_off / amounts / trial_days the
    type takes, and duration_in_periods only with `repeating`."""
    errors: Errors = {}
    out: dict = {}
    percent = data.get("percent_off")
    amounts, more = clean_amounts_off(data, prefix)
    errors.update(more)
    trial = data.get("trial_days")
    if discount_type == DiscountType.PERCENTAGE:
        if percent is None:
            errors[join(prefix, "percent_off")] = ["is required for percentage discounts"]
        elif not Decimal(0) < percent <= Decimal(100):
            errors[join(prefix, "percent_off")] = ["must be greater than 0 and at most 100"]
        out["percent_off"] = percent
    elif percent is not None:
        errors[join(prefix, "percent_off")] = [f"is not used by {discount_type} discounts"]
    if discount_type == DiscountType.FIXED:
        if not amounts and not any(k.endswith(("amount_off_minor", "currency", "amounts_off")) for k in errors):
            errors[join(prefix, "amount_off_minor")] = ["is required for fixed discounts (with currency), or give "
                                                        "amounts_off"]
        out["amounts_off"] = amounts or []
    elif amounts is not None:
        errors[join(prefix, "amount_off_minor")] = [f"is not used by {discount_type} discounts"]
    if discount_type == DiscountType.FREE_TRIAL:
        if not trial:
            errors[join(prefix, "trial_days")] = ["is required for free_trial discounts (1 or more days)"]
        elif trial > MAX_TRIAL_DAYS:
            errors[join(prefix, "trial_days")] = [f"must be at most {MAX_TRIAL_DAYS}"]
        out["trial_days"] = trial
    elif trial is not None:
        errors[join(prefix, "trial_days")] = [f"is not used by {discount_type} discounts"]

    duration = data.get("duration") or DiscountDuration.ONCE
    periods = data.get("duration_in_periods")
    if discount_type == DiscountType.FREE_TRIAL and duration != DiscountDuration.ONCE:
        errors[join(prefix, "duration")] = ["free_trial discounts apply once"]
    if duration == DiscountDuration.REPEATING and not periods:
        errors[join(prefix, "duration_in_periods")] = ["is required when duration is repeating"]
    if duration != DiscountDuration.REPEATING and periods is not None:
        errors[join(prefix, "duration_in_periods")] = ["is only used when duration is repeating"]
    out["duration"], out["duration_in_periods"] = duration, periods if duration == DiscountDuration.REPEATING else None
    return out, errors


def clean_discount_limits(data: Mapping, *, current: Mapping | None = None, now=None, prefix: str = "") -> Errors:
    """Dates, scope and minimum amount. `current` holds the stored values a PATCH leaves alone."""
    merged = {**(current or {}), **data}
    errors: Errors = {}
    starts, expires = merged.get("starts_at"), merged.get("expires_at")
    if starts and expires and expires <= starts:
        errors[join(prefix, "expires_at")] = ["must be after starts_at"]
    if "expires_at" in data and expires and now and expires <= now:
        errors[join(prefix, "expires_at")] = ["must be in the future"]
    scope = merged.get("scope")
    has_targets = bool(merged.get("product_ids") or merged.get("price_ids"))
    if scope == DiscountScope.SPECIFIC_PRODUCTS and not has_targets:
        errors[join(prefix, "product_ids")] = ["name at least one product or price for a specific_products scope"]
    if scope not in (None, DiscountScope.SPECIFIC_PRODUCTS) and has_targets:
        errors[join(prefix, "scope")] = ["product_ids and price_ids need the specific_products scope"]
    if merged.get("minimum_amount_minor") is not None and not merged.get("minimum_amount_currency"):
        errors[join(prefix, "minimum_amount_currency")] = ["is required with minimum_amount_minor"]
    if merged.get("minimum_amount_currency") and merged.get("minimum_amount_minor") is None:
        errors[join(prefix, "minimum_amount_minor")] = ["is required with minimum_amount_currency"]
    return errors


# --- benefits ------------------------------------------------------------------------------------
BENEFIT_CONFIG_FIELDS = {
    "access_grant": {},
    "file_download": {"files": list, "max_downloads": int, "download_expiry_days": int},
    "license_key": {"generation": str, "format": str, "activation_limit": int, "validity_days": int,
                    "keys": list, "external_api_url": str},
    "custom": {"webhook_url": str, "payload": dict},
    "manual": {"instructions": str},
}
LICENSE_GENERATION = ("auto_generate", "pre_upload", "external_api")


def clean_benefit_config(benefit_type: str, config, prefix: str = "config") -> tuple[dict, Errors]:
    """Type-specific settings from page 017; unknown keys are refused so typos surface."""
    if config is None:
        config = {}
    if not isinstance(config, Mapping):
        return {}, {prefix: ["must be an object"]}
    spec = BENEFIT_CONFIG_FIELDS[benefit_type]
    errors: Errors = {}
    for name in sorted(set(config) - set(spec)):
        errors[join(prefix, name)] = [f"unknown setting for {benefit_type} benefits"]
    for name, kind in spec.items():
        if name in config and config[name] is not None:
            value = config[name]
            if kind is int and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                errors[join(prefix, name)] = ["must be a positive integer"]
            elif kind is not int and not isinstance(value, kind):
                errors[join(prefix, name)] = [f"must be a {kind.__name__}"]
    if benefit_type == "license_key" and config.get("generation") not in (None, *LICENSE_GENERATION):
        errors[join(prefix, "generation")] = [f"must be one of {', '.join(LICENSE_GENERATION)}"]
    if benefit_type == "custom":
        url = config.get("webhook_url")
        if not isinstance(url, str) or not url.startswith(("https://", "http://")):
            errors[join(prefix, "webhook_url")] = ["is required: the http(s) URL RevKeen calls on grant and revoke"]
    return dict(config), errors


INTERVAL_VALUES = tuple(Interval.values)

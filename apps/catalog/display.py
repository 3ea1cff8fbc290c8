"""How catalog objects read to a person: price summaries ("£12.00 / month"), discount values
("20% off"), statuses. Used by the dashboard templates (templatetags/catalog_tags.py) and the CSV
export, so a price reads the same everywhere. Pure: reads only what the selectors prefetched.

Money is always formatted by `apps.core.money.Money`; nothing here does arithmetic on amounts.
"""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from apps.core.clock import now
from apps.core.money import Money

from .models import Discount, DiscountDuration, DiscountType, Price, PricingModel

INTERVAL_WORDS = {  # singular, plural
    "day": ("day", "days"),
    "week": ("week", "weeks"),
    "month": ("month", "months"),
    "quarter": ("quarter", "quarters"),
    "half_year": ("half year", "half years"),
    "year": ("year", "years"),
}


def money(amount_minor: int | None, currency: str) -> str:
    return Money(int(amount_minor or 0), currency).format()


def interval_text(price: Price) -> str:
    """"/ month", "every 3 months", or "" for a one-time price."""
    if not price.is_recurring or not price.interval:
        return ""
    one, many = INTERVAL_WORDS.get(price.interval, (price.interval, price.interval + "s"))
    count = price.interval_count or 1
    return f"/ {one}" if count == 1 else f"every {count} {many}"


def price_amount_text(price: Price) -> str:
    """What the price costs, without the billing interval."""
    model, currency = price.pricing_model, price.currency
    if model == PricingModel.FIXED:
        return money(price.unit_amount_minor, currency)
    if model == PricingModel.FREE:
        return "Free"
    if model == PricingModel.PAY_WHAT_YOU_WANT:
        parts = []
        if price.minimum_amount_minor:
            parts.append(f"min {money(price.minimum_amount_minor, currency)}")
        if price.suggested_amount_minor is not None:
            parts.append(f"suggested {money(price.suggested_amount_minor, currency)}")
        return "Pay what you want" + (f" ({', '.join(parts)})" if parts else "")
    if model == PricingModel.PACKAGE:
        return f"{money(price.unit_amount_minor, currency)} per {price.package_size} units"
    if model == PricingModel.FLAT_PER_UNIT:
        return f"{money(price.flat_amount_minor, currency)} + {money(price.unit_amount_minor, currency)} per unit"
    tiers = price.tier_list()
    label = "Graduated" if model == PricingModel.GRADUATED else "Volume"
    if not tiers:
        return f"{label} pricing"
    lowest = min(t.unit_amount_minor for t in tiers)
    return f"{label}: {len(tiers)} tier{'s' if len(tiers) != 1 else ''}, from {money(lowest, currency)} per unit"


def price_summary(price: Price) -> str:
    """"£12.00 / month", "£30.00 every 3 months", "£9.50", "Pay what you want (min £10.00)"."""
    interval = interval_text(price)
    amount = price_amount_text(price)
    return f"{amount} {interval}" if interval else amount


def prices_summary(prices) -> str:
    """A product's active prices on one line: "£12.00 / month · £120.00 / year"."""
    return " · ".join(price_summary(p) for p in prices)


def price_kind_label(price: Price) -> str:
    if price.pricing_model == PricingModel.PAY_WHAT_YOU_WANT:
        return "Pay what you want" + (" (recurring)" if price.is_recurring else "")
    if price.pricing_model == PricingModel.FREE:
        return "Free" + (" (recurring)" if price.is_recurring else "")
    return "Recurring" if price.is_recurring else "One-time"


# --- discounts -----------------------------------------------------------------------------------
def percent_text(value: Decimal | None) -> str:
    """Decimal('12.5000') → "12.5", Decimal('20.0000') → "20"."""
    if value is None:
        return ""
    return format(Decimal(value).normalize(), "f")


def discount_value(discount: Discount) -> str:
    """"20% off", "£5.00 off" (or "£5.00 / €6.00 off" for several currencies), "14-day free trial"."""
    if discount.type == DiscountType.PERCENTAGE:
        return f"{percent_text(discount.percent_off)}% off"
    if discount.type == DiscountType.FIXED:
        amounts = [money(a.amount_off_minor, a.currency) for a in discount.amount_list()]
        return f"{' / '.join(amounts) or '—'} off"
    return f"{discount.trial_days}-day free trial"


def discount_duration(discount: Discount) -> str:
    if discount.type == DiscountType.FREE_TRIAL:
        return "Once"
    if discount.duration == DiscountDuration.REPEATING:
        n = discount.duration_in_periods or 0
        return f"{n} billing period{'s' if n != 1 else ''}"
    return "Forever" if discount.duration == DiscountDuration.FOREVER else "Once"


# status → (label, badge tone)
DISCOUNT_STATUSES = {
    "active": ("Active", "green"),
    "scheduled": ("Scheduled", "blue"),
    "expired": ("Expired", "gray"),
    "used_up": ("Used up", "orange"),
    "inactive": ("Inactive", "gray"),
    "archived": ("Archived", "red"),
}


def discount_status(discount: Discount, at: datetime | None = None) -> str:
    """One word for the list: archived, inactive, expired, used_up, scheduled or active."""
    at = at or now()
    if discount.archived_at is not None:
        return "archived"
    if not discount.active:
        return "inactive"
    if discount.expires_at is not None and discount.expires_at <= at:
        return "expired"
    if discount.max_redemptions is not None and discount.times_redeemed >= discount.max_redemptions:
        return "used_up"
    if discount.starts_at is not None and discount.starts_at > at:
        return "scheduled"
    return "active"


def redemptions_text(discount: Discount) -> str:
    """"3 / 100", or "3" when there is no limit."""
    if discount.max_redemptions is None:
        return str(discount.times_redeemed)
    return f"{discount.times_redeemed} / {discount.max_redemptions}"


# --- CSV -----------------------------------------------------------------------------------------
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value) -> str:
    """A cell a spreadsheet will not run: text starting with = + - @ (or tab/CR) gets a leading
    apostrophe, the OWASP "CSV injection" guard."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text

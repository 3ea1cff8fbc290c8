"""Pure price and discount maths on Money and Decimal. No ORM: models hand in a `PriceSpec` /
`DiscountSpec` (`Price.as_spec()`, `Discount.as_spec()`), so everything here is property-tested.

Rounding: amounts are summed exactly (integers, or Decimals for sub-minor unit prices a later usage
price may use) and rounded once at the end with MONEY_ROUNDING.

Quantity semantics per pricing model (`price_amount_for_quantity`):
- fixed:          unit × q
- free:           0
- pay_what_you_want: the customer's amount (≥ minimum) × q; without one, the suggested amount,
                  else the minimum (what a preview shows)
- package:        unit × ceil(q / package_size)            (a started package is a whole package)
- flat_per_unit:  flat + unit × q                           (the flat fee is charged even for q = 0)
- graduated:      Σ over the tiers q reaches: units in that tier × tier unit + tier flat
- volume:         the tier that q falls in: q × tier unit + tier flat   (q = 0 → 0)
Tier `up_to` is inclusive ("up to 10 units"); the last tier's `up_to` is None (infinity).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from apps.core.money import MONEY_ROUNDING, Money


class PriceCalculationError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Tier:
    up_to: int | None
    unit_amount_minor: int | Decimal = 0
    flat_amount_minor: int = 0


@dataclass(frozen=True, slots=True)
class PriceSpec:
    pricing_model: str
    currency: str
    unit_amount_minor: int | Decimal | None = None
    flat_amount_minor: int | None = None
    package_size: int | None = None
    tiers: tuple[Tier, ...] = ()
    minimum_amount_minor: int | None = None
    suggested_amount_minor: int | None = None


@dataclass(frozen=True, slots=True)
class DiscountSpec:
    type: str  # percentage | fixed | free_trial
    percent_off: Decimal | None = None
    amounts_off: Mapping[str, int] = field(default_factory=dict)


def _round(value: Decimal | int) -> int:
    return int(Decimal(value).quantize(Decimal(1), rounding=MONEY_ROUNDING))


def _graduated(tiers: tuple[Tier, ...], quantity: int) -> Decimal:
    total, lower = Decimal(0), 0
    for tier in tiers:
        if quantity <= lower:
            break
        upper = quantity if tier.up_to is None else min(quantity, tier.up_to)
        units = upper - lower
        if units > 0:
            total += Decimal(units) * Decimal(tier.unit_amount_minor) + tier.flat_amount_minor
        if tier.up_to is None:
            break
        lower = tier.up_to
    return total


def _volume(tiers: tuple[Tier, ...], quantity: int) -> Decimal:
    if quantity == 0:
        return Decimal(0)
    for tier in tiers:
        if tier.up_to is None or quantity <= tier.up_to:
            return Decimal(quantity) * Decimal(tier.unit_amount_minor) + tier.flat_amount_minor
    raise PriceCalculationError(f"quantity {quantity} is above the last tier's up_to")


def price_amount_for_quantity(spec: PriceSpec, quantity: int, *, custom_amount_minor: int | None = None) -> Money:
    """What `quantity` units of a price cost (before discounts and tax)."""
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 0:
        raise PriceCalculationError("quantity must be a non-negative integer")
    model = spec.pricing_model
    unit = Decimal(spec.unit_amount_minor or 0)
    if model == "fixed":
        total = unit * quantity
    elif model == "free":
        total = Decimal(0)
    elif model == "pay_what_you_want":
        minimum = spec.minimum_amount_minor or 0
        if custom_amount_minor is not None:
            if custom_amount_minor < minimum:
                raise PriceCalculationError(f"the amount must be at least the minimum of {minimum}")
            chosen = custom_amount_minor
        else:
            chosen = spec.suggested_amount_minor if spec.suggested_amount_minor is not None else minimum
        total = Decimal(chosen) * quantity
    elif model == "package":
        if not spec.package_size or spec.package_size < 1:
            raise PriceCalculationError("package prices need a package_size of at least 1")
        packages = -(-quantity // spec.package_size)  # ceiling division
        total = unit * packages
    elif model == "flat_per_unit":
        total = Decimal(spec.flat_amount_minor or 0) + unit * quantity
    elif model == "graduated":
        total = _graduated(spec.tiers, quantity)
    elif model == "volume":
        total = _volume(spec.tiers, quantity)
    else:
        raise PriceCalculationError(f"unknown pricing model '{model}'")
    return Money(_round(total), spec.currency)


def discount_amount(discount: DiscountSpec, subtotal: Money) -> Money:
    """How much a discount takes off `subtotal`: never more than the subtotal, never negative.

    Percentage: subtotal × percent / 100, rounded once with MONEY_ROUNDING. Fixed: the discount's
    amount in the subtotal's currency (zero when it has none in that currency), capped at the
    subtotal. Free trial: nothing off the amount (it lengthens the trial instead).
    """
    spec = discount if isinstance(discount, DiscountSpec) else discount.as_spec()
    if subtotal.amount_minor < 0:
        raise ValueError("the subtotal must not be negative")
    if spec.type == "percentage":
        percent = Decimal(spec.percent_off or 0)
        if not 0 < percent <= 100:
            raise ValueError("percent_off must be in (0, 100]")
        off = _round(Decimal(subtotal.amount_minor) * percent / 100)
        return Money(min(off, subtotal.amount_minor), subtotal.currency)
    if spec.type == "fixed":
        off = int(spec.amounts_off.get(subtotal.currency, 0))
        return Money(max(0, min(off, subtotal.amount_minor)), subtotal.currency)
    return Money.zero(subtotal.currency)

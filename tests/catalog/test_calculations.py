"""Properties of the pure price and discount maths (apps.catalog.calculations)."""
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from apps.catalog.calculations import (
    DiscountSpec,
    PriceCalculationError,
    PriceSpec,
    Tier,
    discount_amount,
    price_amount_for_quantity,
)
from apps.core.money import MONEY_ROUNDING, Money

CURRENCIES = st.sampled_from(["USD", "GBP", "EUR", "JPY", "KWD"])
AMOUNTS = st.integers(min_value=0, max_value=10**9)
QUANTITIES = st.integers(min_value=0, max_value=10**6)


@st.composite
def tier_lists(draw):
    bounds = sorted(draw(st.sets(st.integers(min_value=1, max_value=10**5), min_size=0, max_size=6)))
    tiers = [Tier(up_to=b, unit_amount_minor=draw(AMOUNTS), flat_amount_minor=draw(AMOUNTS)) for b in bounds]
    tiers.append(Tier(up_to=None, unit_amount_minor=draw(AMOUNTS), flat_amount_minor=draw(AMOUNTS)))
    return tuple(tiers)


@st.composite
def tiered_specs(draw, model):
    return PriceSpec(pricing_model=model, currency=draw(CURRENCIES), tiers=draw(tier_lists()))


def amount(spec, quantity):
    return price_amount_for_quantity(spec, quantity).amount_minor


# --- examples (the docs' own numbers) --------------------------------------------------------------
def test_examples():
    fixed = PriceSpec("fixed", "USD", unit_amount_minor=2900)
    assert price_amount_for_quantity(fixed, 3) == Money(8700, "USD")
    graduated = PriceSpec("graduated", "USD", tiers=(Tier(10, 0), Tier(100, 50, 100), Tier(None, 25)))
    assert amount(graduated, 5) == 0                       # first 10 free
    assert amount(graduated, 11) == 50 + 100               # one unit in tier 2 + its flat fee
    assert amount(graduated, 150) == 90 * 50 + 100 + 50 * 25
    volume = PriceSpec("volume", "USD", tiers=(Tier(5, 1000), Tier(None, 800, 500)))
    assert amount(volume, 5) == 5000 and amount(volume, 6) == 6 * 800 + 500 and amount(volume, 0) == 0
    package = PriceSpec("package", "USD", unit_amount_minor=500, package_size=100)
    assert [amount(package, q) for q in (0, 1, 100, 101, 250)] == [0, 500, 500, 1000, 1500]
    flat = PriceSpec("flat_per_unit", "USD", unit_amount_minor=200, flat_amount_minor=1000)
    assert [amount(flat, q) for q in (0, 1, 5)] == [1000, 1200, 2000]
    assert amount(PriceSpec("free", "USD"), 7) == 0
    pwyw = PriceSpec("pay_what_you_want", "USD", minimum_amount_minor=500, suggested_amount_minor=2500)
    assert amount(pwyw, 1) == 2500
    assert price_amount_for_quantity(pwyw, 2, custom_amount_minor=700).amount_minor == 1400
    with pytest.raises(PriceCalculationError):
        price_amount_for_quantity(pwyw, 1, custom_amount_minor=499)
    with pytest.raises(PriceCalculationError):
        price_amount_for_quantity(fixed, -1)


def test_sub_minor_unit_prices_round_once():
    per_call = PriceSpec("fixed", "USD", unit_amount_minor=Decimal("0.2"))  # a fifth of a cent a call
    assert amount(per_call, 3) == 1       # 0.6 → 1 (half up), rounded once for the line, not per unit
    assert amount(per_call, 12) == 2      # 2.4 → 2
    tiers = PriceSpec("graduated", "USD", tiers=(Tier(1000, Decimal("0.15")), Tier(None, Decimal("0.1"))))
    assert amount(tiers, 1010) == 151     # 150 + 1.0


# --- properties ------------------------------------------------------------------------------------
@given(spec=tiered_specs("graduated"), q1=QUANTITIES, q2=QUANTITIES)
def test_graduated_is_monotonic_non_decreasing(spec, q1, q2):
    low, high = sorted((q1, q2))
    assert amount(spec, low) <= amount(spec, high)


@given(spec=tiered_specs("graduated"), q=st.integers(min_value=1, max_value=10**6))
def test_graduated_equals_the_sum_of_its_tiers(spec, q):
    expected, lower = 0, 0
    for tier in spec.tiers:
        upper = q if tier.up_to is None else min(q, tier.up_to)
        if upper > lower:
            expected += (upper - lower) * tier.unit_amount_minor + tier.flat_amount_minor
        if tier.up_to is None or q <= tier.up_to:
            break
        lower = tier.up_to
    assert amount(spec, q) == expected


@given(spec=tiered_specs("graduated"), q=QUANTITIES)
def test_graduated_with_one_flat_free_tier_is_per_unit(spec, q):
    unit = spec.tiers[-1].unit_amount_minor
    single = PriceSpec("graduated", spec.currency, tiers=(Tier(None, unit),))
    assert amount(single, q) == unit * q == amount(PriceSpec("fixed", spec.currency, unit_amount_minor=unit), q)


@given(spec=tiered_specs("volume"), q=st.integers(min_value=1, max_value=10**6))
def test_volume_is_its_tier_unit_times_quantity_plus_flat(spec, q):
    tier = next(t for t in spec.tiers if t.up_to is None or q <= t.up_to)
    assert amount(spec, q) == tier.unit_amount_minor * q + tier.flat_amount_minor


@given(unit=AMOUNTS, size=st.integers(min_value=1, max_value=10**4), q=QUANTITIES)
def test_package_rounds_up_to_whole_packages(unit, size, q):
    spec = PriceSpec("package", "GBP", unit_amount_minor=unit, package_size=size)
    packages = -(-q // size)  # every started package is a whole one
    assert packages * size >= q > (packages - 1) * size or q == 0
    assert amount(spec, q) == unit * packages
    assert amount(spec, q) <= amount(spec, q + 1)


@given(unit=AMOUNTS, flat=AMOUNTS, q=QUANTITIES)
def test_flat_per_unit(unit, flat, q):
    spec = PriceSpec("flat_per_unit", "EUR", unit_amount_minor=unit, flat_amount_minor=flat)
    assert amount(spec, q) == flat + unit * q


@given(unit=AMOUNTS, q=QUANTITIES, currency=CURRENCIES)
def test_fixed_is_linear_and_keeps_the_currency(unit, q, currency):
    result = price_amount_for_quantity(PriceSpec("fixed", currency, unit_amount_minor=unit), q)
    assert result == Money(unit * q, currency)


# --- discounts -------------------------------------------------------------------------------------
PERCENTS = st.decimals(min_value=Decimal("0.0001"), max_value=Decimal("100"), places=4)


@given(percent=PERCENTS, subtotal=AMOUNTS, currency=CURRENCIES)
def test_percentage_discount_rounds_once_and_stays_within_the_subtotal(percent, subtotal, currency):
    off = discount_amount(DiscountSpec("percentage", percent_off=percent), Money(subtotal, currency))
    exact = Decimal(subtotal) * percent / 100
    assert off.currency == currency
    assert 0 <= off.amount_minor <= subtotal
    assert off.amount_minor == int(exact.quantize(Decimal(1), rounding=MONEY_ROUNDING))
    assert abs(Decimal(off.amount_minor) - exact) <= Decimal("0.5")


@given(percent=PERCENTS, a=AMOUNTS, b=AMOUNTS)
def test_percentage_discount_is_monotonic_in_the_subtotal(percent, a, b):
    spec = DiscountSpec("percentage", percent_off=percent)
    low, high = sorted((a, b))
    assert discount_amount(spec, Money(low, "USD")) <= discount_amount(spec, Money(high, "USD"))


@given(off=st.integers(min_value=1, max_value=10**9), subtotal=AMOUNTS)
def test_fixed_discount_never_exceeds_the_subtotal(off, subtotal):
    result = discount_amount(DiscountSpec("fixed", amounts_off={"USD": off, "EUR": 1}), Money(subtotal, "USD"))
    assert result == Money(min(off, subtotal), "USD")
    assert (Money(subtotal, "USD") - result).amount_minor >= 0


@given(subtotal=AMOUNTS)
def test_hundred_percent_is_everything_and_free_trial_is_nothing(subtotal):
    assert discount_amount(DiscountSpec("percentage", percent_off=Decimal(100)), Money(subtotal, "GBP")).amount_minor \
        == subtotal
    assert discount_amount(DiscountSpec("free_trial"), Money(subtotal, "GBP")).amount_minor == 0


def test_fixed_discount_in_another_currency_takes_nothing_and_negative_subtotals_are_refused():
    spec = DiscountSpec("fixed", amounts_off={"USD": 500})
    assert discount_amount(spec, Money(1000, "GBP")) == Money(0, "GBP")
    with pytest.raises(ValueError):
        discount_amount(spec, Money(-1, "USD"))


@settings(max_examples=50)
@given(percent=PERCENTS, parts=st.lists(AMOUNTS, min_size=1, max_size=5))
def test_percentage_of_a_total_is_within_a_minor_unit_per_line_of_the_sum_of_lines(percent, parts):
    spec = DiscountSpec("percentage", percent_off=percent)
    whole = discount_amount(spec, Money(sum(parts), "USD")).amount_minor
    lines = sum(discount_amount(spec, Money(p, "USD")).amount_minor for p in parts)
    assert abs(whole - lines) <= len(parts)


def test_clean_price_refuses_negative_amounts_for_every_caller():
    from apps.catalog.validation import clean_price

    _, errors = clean_price({"currency": "GBP", "unit_amount_minor": -1})
    assert errors["unit_amount_minor"] == ["must not be negative"]
    _, errors = clean_price({"currency": "GBP", "type": "pay_what_you_want", "minimum_amount_minor": -5})
    assert errors["minimum_amount_minor"] == ["must not be negative"]

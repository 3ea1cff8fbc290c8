from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from apps.core.money import CurrencyError, Money, currency_exponent, normalize_currency

CURRENCIES = ["USD", "GBP", "EUR", "JPY", "KRW", "KWD", "BHD", "CLF"]
amounts = st.integers(min_value=-(10**15), max_value=10**15)
currencies = st.sampled_from(CURRENCIES)


def test_exponents():
    assert [currency_exponent(c) for c in ("USD", "JPY", "KWD", "CLF")] == [2, 0, 3, 4]


def test_currency_validation():
    assert normalize_currency(" gbp ") == "GBP"
    for bad in ("XXXX", "ZZZ", "", "1AB"):
        with pytest.raises(CurrencyError):
            normalize_currency(bad)


def test_never_float():
    with pytest.raises(TypeError):
        Money(10.5, "USD")
    with pytest.raises(TypeError):
        Money.from_decimal(10.5, "USD")
    with pytest.raises(TypeError):
        Money(100, "USD") * 1.5


def test_formatting_per_exponent():
    assert Money(123450, "USD").format() == "$1,234.50"
    assert Money(1235, "JPY").format() == "¥1,235"
    assert Money(1235, "KWD").format() == "KWD1.235"
    assert Money(-500, "GBP").format("en_GB") == "-£5.00"


def test_rounding_is_half_up_once():
    assert Money.from_decimal(Decimal("0.005"), "USD").amount_minor == 1
    assert Money.from_decimal(Decimal("-0.005"), "USD").amount_minor == -1
    assert Money.from_decimal(Decimal("1.5"), "JPY").amount_minor == 2
    assert Money.from_decimal(Decimal("1.0005"), "KWD").amount_minor == 1001


def test_parse_refuses_extra_decimals():
    assert Money.parse("1,234.50", "USD") == Money(123450, "USD")
    with pytest.raises(ValueError):
        Money.parse("1.234", "USD")
    with pytest.raises(ValueError):
        Money.parse("12.5", "JPY")
    with pytest.raises(ValueError):
        Money.parse("abc", "USD")


def test_mixed_currencies_refused():
    with pytest.raises(CurrencyError):
        Money(1, "USD") + Money(1, "EUR")


@given(amounts, currencies)
def test_decimal_round_trip(amount, currency):
    money = Money(amount, currency)
    assert Money.from_decimal(money.to_decimal(), currency) == money


@given(amounts, currencies)
def test_parse_round_trip_of_major_string(amount, currency):
    money = Money(amount, currency)
    assert Money.parse(str(money.to_decimal()), currency) == money


@given(amounts, amounts, currencies)
def test_addition_is_exact(a, b, currency):
    assert (Money(a, currency) + Money(b, currency) - Money(b, currency)) == Money(a, currency)


@given(amounts, currencies, st.lists(st.integers(min_value=0, max_value=10**6), min_size=1, max_size=30).filter(any))
def test_allocation_sums_exactly(amount, currency, weights):
    parts = Money(amount, currency).allocate(weights)
    assert len(parts) == len(weights)
    assert sum(p.amount_minor for p in parts) == amount
    # Each part is within one minor unit of its exact share, and zero weights get nothing.
    total_weight = sum(weights)
    for part, weight in zip(parts, weights, strict=True):
        exact = Decimal(amount) * weight / total_weight
        assert abs(Decimal(part.amount_minor) - exact) < 1
        if weight == 0:
            assert part.amount_minor == 0


@given(st.integers(min_value=0, max_value=10**12), st.integers(min_value=1, max_value=50))
def test_equal_split_differs_by_at_most_one_unit(amount, n):
    parts = Money(amount, "GBP").allocate([1] * n)
    values = [p.amount_minor for p in parts]
    assert max(values) - min(values) <= 1
    assert values == sorted(values)  # the later parts sweep the remainder


def test_allocation_is_deterministic():
    assert [p.amount_minor for p in Money(100, "USD").allocate([1, 1, 1])] == [33, 33, 34]
    assert [p.amount_minor for p in Money(-100, "USD").allocate([1, 1, 1])] == [-33, -33, -34]

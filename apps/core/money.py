"""Money: an integer count of minor units plus an ISO 4217 currency. Never a float.

Maths that needs fractions (fees, tax, proration) is done in Decimal by the caller and brought back
with `Money.from_decimal`, which rounds once with the one named rounding rule, MONEY_ROUNDING.
Splitting a total into parts uses `allocate`, which hands remainders out deterministically so the
parts always sum to the total.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache

from babel.core import Locale
from babel.numbers import list_currencies, parse_pattern

# Commercial rounding: half away from zero, applied once per line.
MONEY_ROUNDING = ROUND_HALF_UP

# ISO 4217 minor-unit exponents that differ from the usual 2 (ISO list, not CLDR display precision).
_ZERO_DECIMAL = {
    "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI", "VND", "VUV",
    "XAF", "XOF", "XPF",
}
_THREE_DECIMAL = {"BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"}
_FOUR_DECIMAL = {"CLF", "UYW"}


class CurrencyError(ValueError):
    pass


@lru_cache(maxsize=1)
def _known_currencies() -> frozenset[str]:
    return frozenset(list_currencies()) | _ZERO_DECIMAL | _THREE_DECIMAL | _FOUR_DECIMAL


def normalize_currency(code: str) -> str:
    """Upper-cases and validates an ISO 4217 code; raises CurrencyError for anything else."""
    if not isinstance(code, str) or len(code.strip()) != 3:
        raise CurrencyError(f"'{code}' is not an ISO 4217 currency code")
    code = code.strip().upper()
    if code not in _known_currencies():
        raise CurrencyError(f"'{code}' is not an ISO 4217 currency code")
    return code


def currency_exponent(code: str) -> int:
    code = normalize_currency(code)
    if code in _ZERO_DECIMAL:
        return 0
    if code in _THREE_DECIMAL:
        return 3
    if code in _FOUR_DECIMAL:
        return 4
    return 2


@dataclass(frozen=True, slots=True)
class Money:
    amount_minor: int
    currency: str

    def __post_init__(self):
        if isinstance(self.amount_minor, bool) or not isinstance(self.amount_minor, int):
            raise TypeError("amount_minor must be an int (minor units), never a float or Decimal")
        object.__setattr__(self, "currency", normalize_currency(self.currency))

    # --- construction -------------------------------------------------------------------------
    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(0, currency)

    @classmethod
    def from_decimal(cls, amount: Decimal | str | int, currency: str, *, rounding: str = MONEY_ROUNDING) -> Money:
        """From a major-unit amount (e.g. Decimal('12.345') GBP), rounded once to the currency's exponent."""
        if isinstance(amount, float):
            raise TypeError("floats are not money; pass a Decimal or a string")
        exponent = currency_exponent(currency)
        minor = (Decimal(amount) * (Decimal(10) ** exponent)).quantize(Decimal(1), rounding=rounding)
        return cls(int(minor), currency)

    @classmethod
    def parse(cls, text: str, currency: str) -> Money:
        """Parses a major-unit string a person typed ('1,234.50'); refuses more decimals than the currency has."""
        cleaned = str(text).strip().replace(",", "").replace(" ", "")
        try:
            value = Decimal(cleaned)
        except Exception as exc:  # decimal.InvalidOperation and friends
            raise ValueError(f"'{text}' is not an amount") from exc
        if not value.is_finite():
            raise ValueError(f"'{text}' is not an amount")
        exponent = currency_exponent(currency)
        if -value.as_tuple().exponent > exponent:
            raise ValueError(f"{normalize_currency(currency)} amounts have at most {exponent} decimal places")
        return cls.from_decimal(value, currency)

    # --- views ----------------------------------------------------------------------------------
    @property
    def exponent(self) -> int:
        return currency_exponent(self.currency)

    def to_decimal(self) -> Decimal:
        """The exact major-unit value, e.g. Money(1050, 'USD') -> Decimal('10.50')."""
        return Decimal(self.amount_minor).scaleb(-self.exponent).quantize(Decimal(1).scaleb(-self.exponent))

    def format(self, locale: str = "en_US") -> str:
        """For display: '$1,234.50', '¥1,235', 'KWD 1.235'. Never parse this back."""
        return _format(self.to_decimal(), self.currency, self.exponent, locale)

    def __str__(self) -> str:
        return self.format()

    # --- arithmetic ----------------------------------------------------------------------------
    def _check(self, other: Money) -> None:
        if not isinstance(other, Money):
            raise TypeError(f"cannot combine Money with {type(other).__name__}")
        if other.currency != self.currency:
            raise CurrencyError(f"cannot combine {self.currency} with {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._check(other)
        return Money(self.amount_minor + other.amount_minor, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._check(other)
        return Money(self.amount_minor - other.amount_minor, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount_minor, self.currency)

    def __mul__(self, factor: int) -> Money:
        if isinstance(factor, bool) or not isinstance(factor, int):
            raise TypeError("multiply Money by an int; use Decimal maths and from_decimal for fractions")
        return Money(self.amount_minor * factor, self.currency)

    __rmul__ = __mul__

    def __lt__(self, other: Money) -> bool:
        self._check(other)
        return self.amount_minor < other.amount_minor

    def __le__(self, other: Money) -> bool:
        self._check(other)
        return self.amount_minor <= other.amount_minor

    def __gt__(self, other: Money) -> bool:
        self._check(other)
        return self.amount_minor > other.amount_minor

    def __ge__(self, other: Money) -> bool:
        self._check(other)
        return self.amount_minor >= other.amount_minor

    def __bool__(self) -> bool:
        return self.amount_minor != 0

    @property
    def is_negative(self) -> bool:
        return self.amount_minor < 0

    def allocate(self, weights: list[int | Decimal]) -> list[Money]:
        """Splits this amount across parts in proportion to `weights`; the parts sum exactly to it.

        Largest-remainder method: each part gets the floor of its share, then the leftover minor
        units go one each to the parts with the largest remainders (ties: the later part, so the
        "last line sweeps the pennies"). Negative totals are split as the mirror of the positive.
        """
        if not weights:
            raise ValueError("allocate needs at least one weight")
        weights = [Decimal(w) for w in weights]
        if any(w < 0 for w in weights):
            raise ValueError("weights must not be negative")
        total_weight = sum(weights)
        if total_weight == 0:
            raise ValueError("weights must not all be zero")
        sign = -1 if self.amount_minor < 0 else 1
        total = abs(self.amount_minor)
        shares = [total * w / total_weight for w in weights]
        floors = [int(s) for s in shares]  # shares are non-negative, int() floors
        leftover = total - sum(floors)
        order = sorted(range(len(weights)), key=lambda i: (shares[i] - floors[i], i), reverse=True)
        for i in order[:leftover]:
            floors[i] += 1
        return [Money(sign * f, self.currency) for f in floors]

    def to_dict(self) -> dict:
        return {"amount_minor": self.amount_minor, "currency": self.currency}


@lru_cache(maxsize=256)
def _pattern(locale: str, exponent: int):
    # The locale's currency pattern with exactly the currency's ISO decimals (CLDR's display
    # precision sometimes differs from ISO 4217's minor units).
    loc = Locale.parse(locale)
    pattern = parse_pattern(loc.currency_formats["standard"].pattern)
    pattern.frac_prec = (exponent, exponent)
    return loc, pattern


def _format(value: Decimal, currency: str, exponent: int, locale: str) -> str:
    loc, pattern = _pattern(locale, exponent)
    return pattern.apply(value, loc, currency=currency, currency_digits=False)


def sum_money(items, currency: str) -> Money:
    total = Money.zero(currency)
    for item in items:
        total = total + item
    return total

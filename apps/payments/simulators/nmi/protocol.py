"""NMI's wire format, both directions: decimal amounts, the urlencoded transact.php reply, ids and dates.

Shared by the simulator (which writes replies) and kept free of Django models so the adapter's tests can
read it too. Amounts are integers of minor units everywhere inside; on the wire they are NMI's decimal
strings ("10.00", "Format: x.xx" in the Payment API variables), written with the currency's own number
of decimals (JPY "1000", KWD "1.000").
"""
from __future__ import annotations

import secrets
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from urllib.parse import urlencode

from apps.core.money import CurrencyError, currency_exponent

# The standard response variables, always present and in this order, empty when they have no value
# ("Transaction Response Variables"; protocols.md §1.4 fixtures: `authcode=&transactionid=…`).
STANDARD_FIELDS = ("response", "responsetext", "authcode", "transactionid", "avsresponse", "cvvresponse",
                   "orderid", "type", "response_code")

APPROVED, DECLINED, ERROR = "1", "2", "3"


class AmountError(ValueError):
    pass


def parse_amount(text: str, currency: str) -> int:
    """NMI decimal string → minor units. Refuses more decimals than the currency has, negatives and junk."""
    try:
        exponent = currency_exponent(currency)
    except CurrencyError as exc:
        raise AmountError(str(exc)) from exc
    try:
        value = Decimal(str(text).strip())
    except (InvalidOperation, ValueError) as exc:
        raise AmountError(f"invalid amount {text!r}") from exc
    if not value.is_finite() or value < 0:
        raise AmountError(f"invalid amount {text!r}")
    minor = value.scaleb(exponent)
    if minor != minor.to_integral_value():
        raise AmountError(f"{currency} amounts have at most {exponent} decimal places")
    return int(minor)


def format_amount(amount_minor: int, currency: str) -> str:
    exponent = currency_exponent(currency)
    return str(Decimal(amount_minor).scaleb(-exponent).quantize(Decimal(1).scaleb(-exponent)))


def format_date(moment: datetime) -> str:
    """Query API dates: YYYYMMDDhhmmss. The simulator writes UTC ([GUESS]: NMI uses the account's zone)."""
    return moment.astimezone(UTC).strftime("%Y%m%d%H%M%S")


def parse_date(text: str, *, end: bool = False) -> datetime:
    """YYYYMMDD or YYYYMMDDhhmmss (clients send both, protocols.md §1.8), read as UTC."""
    text = text.strip()
    if len(text) == 8:
        text += "235959" if end else "000000"
    if len(text) != 14 or not text.isdigit():
        raise ValueError(f"invalid date {text!r}")
    return datetime.strptime(text, "%Y%m%d%H%M%S").replace(tzinfo=UTC)


def encode_reply(fields: dict[str, str]) -> str:
    """The transact.php body: the standard fields first (empty ones included), then the optional ones."""
    ordered = {name: str(fields.get(name, "") or "") for name in STANDARD_FIELDS}
    ordered.update({name: str(value) for name, value in fields.items() if name not in ordered})
    return urlencode(ordered)


def new_numeric_id(digits: int = 10) -> str:
    """Gateway ids (transactions, vault records, batches) are numeric strings (e.g. 2762757839)."""
    low = 10 ** (digits - 1)
    return str(low + secrets.randbelow(9 * low))


def new_refid() -> str:
    """The `REFID:` suffix NMI appends to error texts (protocols.md §1.4)."""
    return new_numeric_id(9)


def new_authcode() -> str:
    return f"{secrets.randbelow(10 ** 6):06d}"


def new_payment_token() -> str:
    """Collect.js token shape XXXXXXXX-XXXXXX-XXXXXX-XXXXXXXXXXXX (protocols.md §1.7)."""
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789"

    def part(n: int) -> str:
        return "".join(secrets.choice(alphabet) for _ in range(n))

    return f"{part(8)}-{part(6)}-{part(6)}-{part(12)}"

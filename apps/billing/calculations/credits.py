"""Credit notes: what is left to credit on an invoice and how much tax a new credit note carries.

Pure maths: no ORM. Issue 5 ("Credit notes"), page 025, DECISIONS.md "Invoices and credit notes".

Rules
- An invoice may have many credit notes; their amounts (tax included, like the invoice's total) never sum
  past the invoice's total. A credit beyond what is left raises CreditExceedsRemaining before anything
  is computed; a non-positive credit raises CreditError.
- Tax is credited in proportion to the amount, per rate, CUMULATIVELY: once notes totalling C of an
  invoice total T have been issued, the tax credited at a rate whose invoice tax is X is
  round(X × C / T) with TAX_ROUNDING (ROUND_HALF_UP), computed exactly in integers. A new note carries
  the difference between that figure after it and the tax already credited at the rate. Therefore:
  * each note's tax per rate is within one minor unit of its exact proportional share;
  * the running credited tax never exceeds X (rounding is monotone and gives exactly X at C = T);
  * the note that brings C to T sweeps exactly X − (tax already credited), whatever came before.
- Tax credited by earlier notes that did not follow this rule (imported, edited by hand) is tolerated:
  a non-final note's tax per rate is clamped to [0, X − already credited]; the final note still sweeps.
- A non-final note never carries more tax than its amount (with several rates, two roundings can meet on
  a one-minor-unit note): the excess is taken off the rates from the last backwards and caught up by
  the next notes. With a single rate of at most 100 % this never happens.
- Rates are whatever hashable keys the caller uses for the invoice's tax summary: TaxRate objects
  (`TaxCalculation.tax_by_rate()`), or stored rate ids. The result keeps the invoice's key order.
"""
from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from typing import TypeVar

from apps.core.money import CurrencyError, Money

from .tax import TAX_ROUNDING, round_ratio

K = TypeVar("K", bound=Hashable)


class CreditError(ValueError):
    """A credit note that cannot be issued as asked (bad amount, inconsistent history, currency)."""


class CreditExceedsRemaining(CreditError):
    def __init__(self, *, requested: Money, remaining: Money):
        self.requested = requested
        self.remaining = remaining
        super().__init__(f"a credit of {requested.amount_minor} exceeds the remaining creditable amount "
                         f"{remaining.amount_minor} ({remaining.currency} minor units)")


@dataclass(frozen=True, slots=True)
class CreditTax:
    """A new credit note's amount split into tax per rate, and the invoice's position after it."""

    amount: Money  # the note's total, tax included
    tax_by_rate: dict  # {rate key: Money}, the invoice's key order
    credited_total: Money  # credited on the invoice including this note
    credited_tax_by_rate: dict  # {rate key: Money} including this note
    remaining: Money  # still creditable after this note
    is_final: bool  # this note brings the credited total to the invoice total

    @property
    def tax(self) -> Money:
        return Money(sum(m.amount_minor for m in self.tax_by_rate.values()), self.amount.currency)

    @property
    def net(self) -> Money:
        return self.amount - self.tax

    @property
    def credited_tax(self) -> Money:
        return Money(sum(m.amount_minor for m in self.credited_tax_by_rate.values()), self.amount.currency)

    def to_dict(self) -> dict:
        return {"amount": self.amount.to_dict(), "tax": self.tax.to_dict(), "net": self.net.to_dict(),
                "credited_total": self.credited_total.to_dict(), "remaining": self.remaining.to_dict(),
                "is_final": self.is_final}


def _same_currency(currency: str, value: Money, name: str) -> None:
    if not isinstance(value, Money):
        raise TypeError(f"{name} must be Money")
    if value.currency != currency:
        raise CurrencyError(f"{name} is in {value.currency} but the invoice is in {currency}")


def remaining_creditable(*, invoice_total: Money, credited: Money | Iterable[Money] = ()) -> Money:
    """invoice_total − the credit notes already issued (one Money or several). Raises CreditError when
    the history is impossible (negative notes, or more credited than the total)."""
    currency = invoice_total.currency
    notes = [credited] if isinstance(credited, Money) else list(credited)
    for note in notes:
        _same_currency(currency, note, "a credited amount")
        if note.is_negative:
            raise CreditError("a credited amount must not be negative")
    if invoice_total.is_negative:
        raise CreditError("the invoice total must not be negative")
    remaining = invoice_total.amount_minor - sum(note.amount_minor for note in notes)
    if remaining < 0:
        raise CreditError("more has been credited than the invoice total")
    return Money(remaining, currency)


def credit_note_tax(*, invoice_total: Money, invoice_tax: Mapping[K, Money], amount: Money,
                    credited: Money | None = None, credited_tax: Mapping[K, Money] | None = None,
                    rounding: str = TAX_ROUNDING) -> CreditTax:
    """The tax carried by a new credit note of `amount` on an invoice of `invoice_total` whose tax per
    rate is `invoice_tax`, after notes totalling `credited` that carried `credited_tax` per rate.
    Rules in the module docstring. Raises CreditExceedsRemaining / CreditError."""
    currency = invoice_total.currency
    _same_currency(currency, invoice_total, "invoice_total")
    _same_currency(currency, amount, "amount")
    credited = credited if credited is not None else Money.zero(currency)
    credited_tax = dict(credited_tax or {})
    invoice_tax = dict(invoice_tax)
    _same_currency(currency, credited, "credited")
    for key, value in invoice_tax.items():
        _same_currency(currency, value, f"invoice tax for {key!r}")
        if value.is_negative:
            raise CreditError(f"invoice tax for {key!r} must not be negative")
    if sum(v.amount_minor for v in invoice_tax.values()) > invoice_total.amount_minor:
        raise CreditError("the invoice's tax exceeds its total")
    unknown = set(credited_tax) - set(invoice_tax)
    if unknown:
        raise CreditError(f"credited tax for rates the invoice does not have: {sorted(map(repr, unknown))}")
    for key, value in credited_tax.items():
        _same_currency(currency, value, f"credited tax for {key!r}")
        if value.is_negative or value > invoice_tax[key]:
            raise CreditError(f"credited tax for {key!r} must be between 0 and the invoice's tax for it")

    remaining = remaining_creditable(invoice_total=invoice_total, credited=credited)
    if amount.amount_minor <= 0:
        raise CreditError("a credit note's amount must be positive")
    if amount > remaining:
        raise CreditExceedsRemaining(requested=amount, remaining=remaining)

    total = invoice_total.amount_minor
    after = credited.amount_minor + amount.amount_minor
    final = after == total
    new: dict = {}
    for key, tax in invoice_tax.items():
        before = credited_tax.get(key, Money.zero(currency)).amount_minor
        left = tax.amount_minor - before
        if final:
            new[key] = left
        else:
            target = round_ratio(tax.amount_minor * after, total, rounding)
            new[key] = min(max(target - before, 0), left)
    if not final:
        excess = sum(new.values()) - amount.amount_minor
        for key in reversed(list(new)):
            if excess <= 0:
                break
            cut = min(excess, new[key])
            new[key] -= cut
            excess -= cut

    tax_by_rate = {key: Money(value, currency) for key, value in new.items()}
    credited_after = {key: Money(credited_tax.get(key, Money.zero(currency)).amount_minor + new[key], currency)
                      for key in invoice_tax}
    return CreditTax(amount=amount, tax_by_rate=tax_by_rate, credited_total=credited + amount,
                     credited_tax_by_rate=credited_after, remaining=remaining - amount, is_final=final)

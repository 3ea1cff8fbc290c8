"""Tax on invoice lines, the tax treatment of a sale (EU reverse charge) and the tax-provider seam.

Pure maths: no ORM, no settings, no clock. Issue 5 ("Tax"), page 049, digest-money-ops §8.

Per-line calculation on UNROUNDED amounts
- exclusive rate r: net = the line's amount; unrounded tax = net × r; gross = net + tax.
- inclusive rate r: gross = the line's amount; unrounded net = gross / (1 + r), unrounded tax =
  gross − net = gross × r / (1 + r); after rounding the tax, net = gross − tax, so net + tax == gross
  exactly.
- Exact arithmetic: a rate of p % with k decimals is the integer P = p·10^k over 100·10^k, so a line's
  unrounded tax in minor units is an integer numerator over one denominator per rate (100·10^k when
  exclusive, 100·10^k + P when inclusive). Sums, floors and remainders are integer operations: no
  precision limit, never a float. (`tax_unrounded` on the results is that value as a Decimal, for display
  and audit only; no decision is taken on it.)

Rounding and allocation — TAX_ROUNDING = ROUND_HALF_UP (the house MONEY_ROUNDING: half away from zero)
- Lines are grouped by their TaxRate (same name, percentage, inclusive flag, country, region). A group's
  tax is the sum of its lines' unrounded taxes, rounded ONCE with TAX_ROUNDING. That is the figure the
  document's tax summary shows for the rate; the invoice's tax is the sum of the group figures.
- Each line of the group first gets the floor of its unrounded tax (toward −∞). The minor units still
  needed to reach the group's tax (always between 0 and the number of lines with a fraction) go one each
  to the lines with the largest fractional remainders; ties go to the EARLIER line (line order).
- Hence, in minor units and for 0-, 2- and 3-decimal currencies alike: Σ line taxes == the group's tax
  exactly; every line's tax is the floor or the ceiling of its unrounded tax (within one minor unit); a
  line whose unrounded tax is whole gets exactly that. Example: three £0.33 lines at 5 % have unrounded
  taxes of 1.65p each; the group's tax is round(4.95p) = 5p, and the lines get 2p, 2p, 1p (rounding
  each line on its own would have charged 6p).
- Negative lines (adjustments) follow the same rule; ROUND_HALF_UP is symmetric around zero.

Tax treatment (`tax_treatment`) — who charges what [page 049; DECISIONS.md is silent; choices marked]
- Countries are compared as VAT countries: the Isle of Man is in the UK VAT area (IM → GB), Monaco in the
  French one (MC → FR), and Greece's VAT prefix EL is read as GR.
- domestic: customer and merchant in the same VAT country → the merchant's rate for that country
  (a domestic B2B sale with a VAT id is still taxed).
- EU cross-border (both in EU_VAT_COUNTRIES, different members): a business customer with a VALID VAT id
  → reverse_charge (no VAT; the document carries the reverse-charge note); otherwise → standard, taxed at
  the merchant's rate for the customer's country (OSS) or, when the merchant has none, at its home rate
  (the EU's under-threshold rule). A business without a valid VAT id is taxed like a consumer.
- Customer outside the merchant's tax area (the EU for EU merchants, its own VAT country otherwise):
  exempt_export — no tax — unless the merchant lists that country in `registrations` (e.g. a UK merchant
  registered for EU non-Union OSS, or for US sales tax in a state's country): then reverse_charge for a
  business with a valid VAT id, standard otherwise. [DECISION: the local rules only know what the
  merchant tells them; Quaderno's jurisdiction rules replace them through TaxProvider.]
- A customer marked tax-exempt (exemption certificate, page 049) → exempt, wherever the sale would have
  been taxed.
- EU_VAT_COUNTRIES is the 27 member states (2020 onward, so not GB); not the EEA (IS, LI, NO are outside
  the EU VAT area). Special territories outside the VAT area that share an ISO code with a member
  (Canary Islands, Mount Athos, …) cannot be told apart by country code; Åland (AX) is outside. Northern
  Ireland's goods rules (XI) are not modelled.

Lines and rates under a treatment (`LocalTaxProvider`)
- A line with `exempt=True` (exempt product category) is never taxed. A line with its own `rate` keeps it
  (the merchant chose it) when the treatment charges tax; other lines get the jurisdiction's rate.
- Under reverse_charge, exempt_export and exempt no line is taxed. [DECISION] A line priced with an
  inclusive rate then keeps its amount as the net: the customer pays the listed price and no tax is
  carved out of it (as Stripe Tax does for reverse charge), so prices never change with the treatment.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, localcontext
from enum import StrEnum
from typing import Protocol, runtime_checkable

from apps.core.money import MONEY_ROUNDING, CurrencyError, Money, normalize_currency

# THE rounding rule for tax: half away from zero, to the currency's minor unit, once per rate group.
TAX_ROUNDING = MONEY_ROUNDING  # == decimal.ROUND_HALF_UP

MAX_RATE_PERCENT = Decimal(100)

# The 27 EU member states (ISO 3166-1 alpha-2): the EU VAT area for intra-community B2B reverse charge.
EU_VAT_COUNTRIES = frozenset({
    "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT", "LV",
    "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE",
})

# Territories taxed as part of another country's VAT area, and VAT prefixes that differ from ISO codes.
VAT_COUNTRY_ALIASES = {"IM": "GB", "MC": "FR", "EL": "GR"}

EU_AREA = "EU"


class TaxError(ValueError):
    """Bad input to a tax calculation (rate, line, currency, missing rate for a registration, …)."""


class TaxTreatment(StrEnum):
    DOMESTIC = "domestic"  # same VAT country: the merchant's own rate
    STANDARD = "standard"  # cross-border but taxable by the merchant (EU B2C / OSS, a foreign registration)
    REVERSE_CHARGE = "reverse_charge"  # B2B with a valid VAT id: the customer accounts for the tax
    EXEMPT_EXPORT = "exempt_export"  # outside the merchant's tax area: no tax
    EXEMPT = "exempt"  # tax-exempt customer

    @property
    def charges_tax(self) -> bool:
        return self in (TaxTreatment.DOMESTIC, TaxTreatment.STANDARD)


# --- countries --------------------------------------------------------------------------------------
def _country(code, name: str) -> str:
    if not isinstance(code, str) or len(code.strip()) != 2 or not code.strip().isalpha():
        raise TaxError(f"{name} '{code}' is not an ISO 3166-1 alpha-2 country code")
    return code.strip().upper()


def vat_country(code: str) -> str:
    """The country whose VAT applies: IM → GB, MC → FR, EL → GR, others unchanged (upper-cased)."""
    code = _country(code, "country")
    return VAT_COUNTRY_ALIASES.get(code, code)


def tax_area(code: str) -> str:
    """'EU' for the member states, else the VAT country itself ('GB' for GB and IM, 'US', …)."""
    country = vat_country(code)
    return EU_AREA if country in EU_VAT_COUNTRIES else country


# --- rates and lines --------------------------------------------------------------------------------
def _percentage(value) -> Decimal:
    if isinstance(value, float):
        raise TypeError("a tax percentage must be a Decimal or a string, never a float")
    if isinstance(value, bool):
        raise TaxError("a tax percentage must be a number")
    try:
        value = Decimal(value)
    except Exception as exc:
        raise TaxError("a tax percentage must be a number") from exc
    if not value.is_finite() or value < 0 or value > MAX_RATE_PERCENT:
        raise TaxError(f"a tax percentage must be between 0 and {MAX_RATE_PERCENT}")
    return value


@dataclass(frozen=True, slots=True, kw_only=True)
class TaxRate:
    """A merchant's tax rate: `name` is shown on documents ('VAT', 'GST', 'CA sales tax'), `percentage`
    is in percent (Decimal('20') for 20 %), `inclusive` says whether prices already contain it."""

    name: str
    percentage: Decimal
    inclusive: bool = False
    country: str
    region: str | None = None  # state / province ('CA', 'QC'), None for a country-wide rate

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name.strip():
            raise TaxError("a tax rate needs a name to show on documents")
        object.__setattr__(self, "name", self.name.strip())
        object.__setattr__(self, "percentage", _percentage(self.percentage))
        object.__setattr__(self, "inclusive", bool(self.inclusive))
        object.__setattr__(self, "country", _country(self.country, "tax rate country"))
        if self.region is not None:
            if not isinstance(self.region, str) or not self.region.strip():
                raise TaxError("a tax rate's region must be a non-empty string or None")
            object.__setattr__(self, "region", self.region.strip().upper())

    @property
    def ratio(self) -> tuple[int, int]:
        """The rate as an exact fraction (numerator, denominator): 20 % → (20, 100), 8.875 % → (8875, 100000)."""
        _sign, digits, exponent = self.percentage.as_tuple()
        numerator = int("".join(map(str, digits)) or "0")
        if exponent >= 0:
            return numerator * 10**exponent, 100
        return numerator, 100 * 10**-exponent

    @property
    def label(self) -> str:
        """'VAT 20%', 'Sales tax 8.875%', 'VAT 20% (incl.)' — the summary line on a document."""
        text = f"{self.name} {self.percentage.normalize():f}%"
        return f"{text} (incl.)" if self.inclusive else text

    def to_dict(self) -> dict:
        return {"name": self.name, "percentage": str(self.percentage), "inclusive": self.inclusive,
                "country": self.country, "region": self.region}


@dataclass(frozen=True, slots=True, kw_only=True)
class TaxLine:
    """One invoice line for tax: `amount` is the line after discounts (net for an exclusive rate, gross
    for an inclusive one); `rate` None or `exempt` means the line is not taxed by `tax_lines`.
    For a TaxProvider, `rate` None asks the provider to pick the jurisdiction's rate; `exempt` never taxes."""

    amount: Money
    rate: TaxRate | None = None
    exempt: bool = False
    reference: str = ""  # the caller's id for the line, carried through to the result

    def __post_init__(self):
        if not isinstance(self.amount, Money):
            raise TypeError("a tax line's amount must be Money")
        if self.rate is not None and not isinstance(self.rate, TaxRate):
            raise TypeError("a tax line's rate must be a TaxRate or None")


# --- results ----------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class TaxedLine:
    index: int  # position in the input
    reference: str
    rate: TaxRate | None  # None: not taxed
    net: Money
    tax: Money
    gross: Money  # net + tax, exactly
    tax_unrounded: Decimal  # minor units, before rounding (display / audit only)

    def to_dict(self) -> dict:
        return {"index": self.index, "reference": self.reference,
                "rate": self.rate.to_dict() if self.rate else None, "net": self.net.to_dict(),
                "tax": self.tax.to_dict(), "gross": self.gross.to_dict(), "tax_unrounded": str(self.tax_unrounded)}


@dataclass(frozen=True, slots=True)
class TaxRateTotal:
    """One line of the document's tax summary: the rate, its taxable amount and its tax."""

    rate: TaxRate
    net: Money
    tax: Money  # == round(Σ unrounded line taxes) with the rounding rule == Σ line taxes
    gross: Money
    tax_unrounded: Decimal  # minor units
    line_count: int

    def to_dict(self) -> dict:
        return {"rate": self.rate.to_dict(), "label": self.rate.label, "net": self.net.to_dict(),
                "tax": self.tax.to_dict(), "gross": self.gross.to_dict(), "line_count": self.line_count}


@dataclass(frozen=True, slots=True)
class TaxCalculation:
    currency: str
    lines: tuple[TaxedLine, ...]
    totals: tuple[TaxRateTotal, ...]  # one per rate, in order of first appearance
    treatment: TaxTreatment | None = None  # set by a TaxProvider; None for a bare tax_lines call
    note: str = ""  # the legend a document must carry (reverse charge, export, exemption)

    @property
    def subtotal(self) -> Money:
        return Money(sum(line.net.amount_minor for line in self.lines), self.currency)

    @property
    def tax(self) -> Money:
        return Money(sum(line.tax.amount_minor for line in self.lines), self.currency)

    @property
    def total(self) -> Money:
        return Money(sum(line.gross.amount_minor for line in self.lines), self.currency)

    @property
    def untaxed(self) -> Money:
        """The part of the subtotal with no rate (exempt lines, reverse charge, export)."""
        return Money(sum(line.net.amount_minor for line in self.lines if line.rate is None), self.currency)

    def tax_by_rate(self) -> dict[TaxRate, Money]:
        """{rate: tax} — what a credit note needs to credit tax proportionally (see credits.py)."""
        return {total.rate: total.tax for total in self.totals}

    def to_dict(self) -> dict:
        return {"currency": self.currency, "treatment": str(self.treatment) if self.treatment else None,
                "note": self.note, "subtotal": self.subtotal.to_dict(), "tax": self.tax.to_dict(),
                "total": self.total.to_dict(), "lines": [line.to_dict() for line in self.lines],
                "totals": [total.to_dict() for total in self.totals]}


# --- rounding ---------------------------------------------------------------------------------------
def round_ratio(numerator: int, denominator: int, rounding: str = TAX_ROUNDING) -> int:
    """numerator / denominator rounded to an integer with a decimal rounding mode, exactly.

    Any of decimal's modes depends only on the sign, the integer part and whether the fraction is 0,
    below, at or above one half, so the fraction is replaced by 0, ¼, ½ or ¾ and Decimal rounds that."""
    if denominator <= 0:
        raise ValueError("denominator must be positive")
    whole, rest = divmod(abs(numerator), denominator)
    if rest == 0:
        fraction = Decimal(0)
    elif 2 * rest < denominator:
        fraction = Decimal("0.25")
    elif 2 * rest == denominator:
        fraction = Decimal("0.5")
    else:
        fraction = Decimal("0.75")
    with localcontext() as ctx:
        ctx.prec = len(str(whole)) + 4
        value = Decimal(whole) + fraction
        if numerator < 0:
            value = -value
        return int(value.quantize(Decimal(1), rounding=rounding))


def allocate_rounded(numerators: Sequence[int], denominator: int, rounding: str = TAX_ROUNDING) -> list[int]:
    """Integers for numerators[i] / denominator whose sum is round(Σ numerators / denominator).

    Floors first; the missing units go to the largest remainders, ties to the earlier index."""
    total = round_ratio(sum(numerators), denominator, rounding)
    parts = [divmod(n, denominator) for n in numerators]  # floor toward −∞, remainder in [0, denominator)
    result = [whole for whole, _rest in parts]
    missing = total - sum(result)
    if not 0 <= missing <= len(result):  # cannot happen for a rounding mode; guards the invariant
        raise ArithmeticError("rounding remainder out of range")
    order = sorted(range(len(parts)), key=lambda i: (-parts[i][1], i))
    for i in order[:missing]:
        result[i] += 1
    return result


def _unrounded(numerator: int, denominator: int) -> Decimal:
    with localcontext() as ctx:
        ctx.prec = 40
        return Decimal(numerator) / Decimal(denominator)


# --- the calculation --------------------------------------------------------------------------------
def tax_lines(lines: Iterable[TaxLine], *, currency: str | None = None, rounding: str = TAX_ROUNDING,
              treatment: TaxTreatment | None = None, note: str = "") -> TaxCalculation:
    """Tax per line and per rate for `lines` (see the module docstring for the rules).

    `currency` is required only when `lines` is empty; every line must be in the same currency."""
    lines = tuple(lines)
    for line in lines:
        if not isinstance(line, TaxLine):
            raise TypeError("tax_lines takes TaxLine items")
    if currency is None:
        if not lines:
            raise TaxError("an empty list of lines needs a currency")
        currency = lines[0].amount.currency
    currency = normalize_currency(currency)
    for line in lines:
        if line.amount.currency != currency:
            raise CurrencyError(f"a {line.amount.currency} line cannot be taxed on a {currency} document")

    groups: dict[TaxRate, list[int]] = {}
    for i, line in enumerate(lines):
        if line.rate is not None and not line.exempt:
            groups.setdefault(line.rate, []).append(i)

    taxed: list[TaxedLine | None] = [None] * len(lines)
    totals: list[TaxRateTotal] = []
    for rate, indexes in groups.items():
        numerator, scale = rate.ratio
        denominator = scale + numerator if rate.inclusive else scale
        numerators = [lines[i].amount.amount_minor * numerator for i in indexes]
        taxes = allocate_rounded(numerators, denominator, rounding)
        for i, n, tax in zip(indexes, numerators, taxes, strict=True):
            amount = lines[i].amount.amount_minor
            net, gross = (amount - tax, amount) if rate.inclusive else (amount, amount + tax)
            taxed[i] = TaxedLine(i, lines[i].reference, rate, Money(net, currency), Money(tax, currency),
                                 Money(gross, currency), _unrounded(n, denominator))
        group = [taxed[i] for i in indexes]
        totals.append(TaxRateTotal(
            rate=rate,
            net=Money(sum(t.net.amount_minor for t in group), currency),
            tax=Money(sum(taxes), currency),
            gross=Money(sum(t.gross.amount_minor for t in group), currency),
            tax_unrounded=_unrounded(sum(numerators), denominator),
            line_count=len(indexes)))
    zero = Money.zero(currency)
    for i, line in enumerate(lines):
        if taxed[i] is None:
            taxed[i] = TaxedLine(i, line.reference, None, line.amount, zero, line.amount, Decimal(0))
    return TaxCalculation(currency, tuple(taxed), tuple(totals), treatment, note)


# --- treatment --------------------------------------------------------------------------------------
def tax_treatment(*, merchant_country: str, customer_country: str, customer_vat_id_valid: bool,
                  customer_is_business: bool, customer_tax_exempt: bool = False,
                  merchant_registrations: Iterable[str] = ()) -> TaxTreatment:
    """How a sale from a merchant in `merchant_country` to a customer in `customer_country` is taxed
    (the rules are in the module docstring). `merchant_registrations`: countries outside the merchant's
    own tax area where it is registered to collect tax."""
    merchant, customer = vat_country(merchant_country), vat_country(customer_country)
    registrations = {vat_country(c) for c in merchant_registrations}
    reverse_charge = bool(customer_is_business and customer_vat_id_valid)
    if customer == merchant:
        treatment = TaxTreatment.DOMESTIC
    elif tax_area(customer) == tax_area(merchant) or customer in registrations:
        # Same area (EU cross-border) or a country where the merchant is registered.
        treatment = TaxTreatment.REVERSE_CHARGE if reverse_charge else TaxTreatment.STANDARD
    else:
        treatment = TaxTreatment.EXEMPT_EXPORT
    if customer_tax_exempt and treatment.charges_tax:
        return TaxTreatment.EXEMPT
    return treatment


REVERSE_CHARGE_NOTE_EU = ("Reverse charge: VAT to be accounted for by the recipient "
                          "(Article 196, Council Directive 2006/112/EC).")
REVERSE_CHARGE_NOTE = "Reverse charge: tax to be accounted for by the recipient."
EXPORT_NOTE = "No tax charged: supply to a customer outside the seller's tax area."
EXEMPT_NOTE = "No tax charged: the customer is exempt from tax."


def treatment_note(treatment: TaxTreatment, *, merchant_country: str, customer_country: str) -> str:
    """The legend a document carries for a treatment ('' when tax is charged)."""
    if treatment == TaxTreatment.REVERSE_CHARGE:
        both_eu = tax_area(merchant_country) == EU_AREA == tax_area(customer_country)
        return REVERSE_CHARGE_NOTE_EU if both_eu else REVERSE_CHARGE_NOTE
    if treatment == TaxTreatment.EXEMPT_EXPORT:
        return EXPORT_NOTE
    if treatment == TaxTreatment.EXEMPT:
        return EXEMPT_NOTE
    return ""


# --- the provider seam ------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True, kw_only=True)
class TaxCustomer:
    """What tax needs to know of the customer (a snapshot, as the invoice keeps it)."""

    country: str
    region: str | None = None
    is_business: bool = False
    vat_id: str | None = None
    vat_id_valid: bool = False  # validated (VIES / HMRC) by the caller or the provider
    tax_exempt: bool = False

    def __post_init__(self):
        object.__setattr__(self, "country", _country(self.country, "customer country"))
        if self.region is not None:
            object.__setattr__(self, "region", self.region.strip().upper() or None)


@dataclass(frozen=True, slots=True, kw_only=True)
class TaxMerchant:
    """The merchant's tax set-up: home country, its rates (first match wins), and the countries outside
    its tax area where it is registered."""

    country: str
    rates: tuple[TaxRate, ...] = ()
    registrations: frozenset[str] = field(default_factory=frozenset)
    tax_id: str | None = None

    def __post_init__(self):
        object.__setattr__(self, "country", _country(self.country, "merchant country"))
        object.__setattr__(self, "rates", tuple(self.rates))
        object.__setattr__(self, "registrations", frozenset(vat_country(c) for c in self.registrations))
        for rate in self.rates:
            if not isinstance(rate, TaxRate):
                raise TypeError("a merchant's rates must be TaxRate items")

    def rate_for(self, country: str, region: str | None = None) -> TaxRate | None:
        """The merchant's rate for a place: the first rate for (country, region), else the first
        country-wide rate for the country, else None. Countries compare as VAT countries."""
        country = vat_country(country)
        region = region.strip().upper() if region else None
        candidates = [r for r in self.rates if vat_country(r.country) == country]
        if region is not None:
            for rate in candidates:
                if rate.region == region:
                    return rate
        for rate in candidates:
            if rate.region is None:
                return rate
        return None


@runtime_checkable
class TaxProvider(Protocol):
    """Computes an invoice's tax. LocalTaxProvider applies the merchant's own rates; a Quaderno adapter
    (integrations issue) implements the same method against Quaderno's API."""

    def calculate(self, lines: Sequence[TaxLine], customer: TaxCustomer, merchant: TaxMerchant, *,
                  currency: str | None = None) -> TaxCalculation: ...


class LocalTaxProvider:
    """The merchant's configured rates and the rules of `tax_treatment`. No network, no state."""

    name = "local"

    def __init__(self, *, rounding: str = TAX_ROUNDING):
        self.rounding = rounding

    def jurisdiction_rate(self, treatment: TaxTreatment, customer: TaxCustomer,
                          merchant: TaxMerchant) -> TaxRate | None:
        if not treatment.charges_tax:
            return None
        rate = merchant.rate_for(customer.country, customer.region)
        if rate is not None or treatment == TaxTreatment.DOMESTIC:
            return rate  # domestic with no rate: the merchant does not collect tax
        if tax_area(customer.country) == EU_AREA == tax_area(merchant.country):
            return merchant.rate_for(merchant.country)  # EU B2C under the OSS threshold: home rate
        raise TaxError(f"the merchant is registered in {vat_country(customer.country)} but has no tax rate for it")

    def calculate(self, lines: Sequence[TaxLine], customer: TaxCustomer, merchant: TaxMerchant, *,
                  currency: str | None = None) -> TaxCalculation:
        lines = tuple(lines)
        treatment = tax_treatment(
            merchant_country=merchant.country, customer_country=customer.country,
            customer_vat_id_valid=customer.vat_id_valid, customer_is_business=customer.is_business,
            customer_tax_exempt=customer.tax_exempt, merchant_registrations=merchant.registrations)
        default_rate = None
        if treatment.charges_tax and any(line.rate is None and not line.exempt for line in lines):
            default_rate = self.jurisdiction_rate(treatment, customer, merchant)
        resolved = []
        for line in lines:
            if line.exempt or not treatment.charges_tax:
                rate = None
            else:
                rate = line.rate if line.rate is not None else default_rate
            resolved.append(TaxLine(amount=line.amount, rate=rate, exempt=line.exempt, reference=line.reference))
        note = treatment_note(treatment, merchant_country=merchant.country, customer_country=customer.country)
        return tax_lines(resolved, currency=currency, rounding=self.rounding, treatment=treatment, note=note)

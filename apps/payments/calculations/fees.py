"""Fee lines, refund cost, chargeback cost and margin rollups for card transactions. Pure maths.

The fee waterfall of a sale (page 004, interchange++): gross → interchange → scheme → gateway
(acquirer margin + per-transaction fee) → platform → net. Rates come from rates.py (the documented
table) or a merchant's own `RateTable`; plans come in as arguments — nothing here reads settings.

Rounding: each fee line is computed exactly in Decimal (percent of the amount + fixed part) and
rounded ONCE to the currency's minor unit with FEE_ROUNDING (ROUND_HALF_UP, the house rule
MONEY_ROUNDING). Lines are never summed before rounding and never re-rounded, so what a merchant sees
per line is what is deducted, and net + fees == gross exactly.

Sign convention: `gross` is the signed effect of the transaction on the merchant's balance (sale +,
refund and chargeback −, void 0). Fee lines are never negative. net = gross − fees.

Decisions where the spec is silent or needed reading (checked pages in brackets):
- Platform fee 1.7 % + 0.10 "in the transaction's currency" (DECISIONS.md; page 004 Example 3 charges
  "€1.80" on €100). The fixed 0.10 is major units of the transaction's currency, added before the
  line's single rounding: 10 minor units in GBP/EUR/USD, 100 fils in KWD/BHD (3 decimals), and in
  JPY (0 decimals) ¥0.10 only nudges the rounding of the percentage (¥10,000 → 170.10 → ¥170). A plan
  may give the fixed part as Money in the transaction's currency instead (e.g. ¥15 for JPY).
- Tiny sales: fees are not capped at the gross. A £0.01 sale costs £0.10 of platform fee and nets
  −£0.09; `fees_exceed_gross` flags it so the dashboard shows it rather than hiding it.
- Refunds [pages 004, 045, 048]: the full amount goes back to the customer, the original fees are not
  returned, and RevKeen charges no additional fee for a refund — so a refund carries no fee lines, and
  its cost is the original fees kept. Partial refunds keep all original fees as well; for margin
  attribution each refund is given a share of the original fees proportional to the amount it
  refunds, allocated cumulatively so the shares of a full set of refunds sum exactly to the fees.
- Voids [pages 004, 025, 045, 048]: a void before settlement has no fees at all and moves no money.
- Chargebacks [pages 004, 044, 045]: the disputed amount is held and a chargeback fee is charged; if
  won, the amount is released but the fee is kept; if lost, both stay. The original sale's fees are
  not returned either way [GUESS; the pages say nothing about them].
"""
from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, localcontext
from enum import StrEnum
from types import MappingProxyType
from typing import TypeVar

from apps.core.money import MONEY_ROUNDING, CurrencyError, Money, sum_money

from .rates import (
    ACQUIRER_MARKUP_PERCENT,
    CATEGORY_LABELS,
    DEFAULT_RATE_TABLE,
    FOUR_PARTY_BRANDS,
    HIGHER_RISK_CHANNELS,
    REGION_LABELS,
    Brand,
    CardCategory,
    Channel,
    Funding,
    RateTable,
    RateTableError,
    Region,
    card_category,
    channel_group,
    default_chargeback_fee_major,
    is_supported_merchant_country,
    issuer_region,
    normalize_country,
)

# THE rounding rule for fee lines: half away from zero, to the currency's minor unit, once per line.
FEE_ROUNDING = MONEY_ROUNDING  # == decimal.ROUND_HALF_UP

PLATFORM_FEE_PERCENT = Decimal("1.7")  # DECISIONS.md "Money and fees"; pages 002, 004, 045
PLATFORM_FEE_FIXED_MAJOR = Decimal("0.10")  # in the transaction's currency (see module docstring)

# Ratios shown to people (effective rate, margin) are percentages to two decimals, same rounding rule.
PERCENT_QUANTUM = Decimal("0.01")


class FeeError(ValueError):
    """Bad input to a fee calculation (amount, plan, refund beyond the refundable amount, …)."""


class TransactionKind(StrEnum):
    SALE = "sale"
    REFUND = "refund"
    CHARGEBACK = "chargeback"
    VOID = "void"


class FeeCode(StrEnum):
    INTERCHANGE = "interchange"
    SCHEME = "scheme"
    GATEWAY = "gateway"
    PLATFORM = "platform"
    CHARGEBACK = "chargeback"


PASS_THROUGH_CODES = frozenset({FeeCode.INTERCHANGE, FeeCode.SCHEME, FeeCode.GATEWAY})


# --- inputs -----------------------------------------------------------------------------------------
def _decimal(value, name: str) -> Decimal:
    if isinstance(value, float):
        raise TypeError(f"{name} must be a Decimal or string, never a float")
    try:
        value = Decimal(value)
    except Exception as exc:
        raise FeeError(f"{name} must be a number") from exc
    if not value.is_finite() or value < 0:
        raise FeeError(f"{name} must be a finite, non-negative number")
    return value


def _fixed_major(fixed: Decimal | Money, currency: str, name: str) -> Decimal:
    """A fixed fee part in major units of `currency`: a Decimal is taken as that currency's major
    units; Money must already be in that currency."""
    if isinstance(fixed, Money):
        if fixed.currency != currency:
            raise CurrencyError(f"{name} is in {fixed.currency} but the transaction is in {currency}")
        return fixed.to_decimal()
    return _decimal(fixed, name)


@dataclass(frozen=True, slots=True, kw_only=True)
class CardTransaction:
    """What the fee maths needs to know about one card transaction. `amount` is a positive magnitude;
    the kind gives the direction."""

    amount: Money
    kind: TransactionKind = TransactionKind.SALE
    brand: Brand
    funding: Funding
    issuing_country: str
    merchant_country: str
    channel: Channel

    def __post_init__(self):
        if not isinstance(self.amount, Money):
            raise TypeError("amount must be Money")
        if self.amount.amount_minor <= 0:
            raise FeeError("amount must be positive (the kind gives the direction)")
        try:
            object.__setattr__(self, "kind", TransactionKind(self.kind))
            object.__setattr__(self, "brand", Brand(self.brand))
            object.__setattr__(self, "funding", Funding(self.funding))
            object.__setattr__(self, "channel", Channel(self.channel))
        except ValueError as exc:
            raise FeeError(str(exc)) from None
        object.__setattr__(self, "issuing_country", normalize_country(self.issuing_country))
        object.__setattr__(self, "merchant_country", normalize_country(self.merchant_country))

    @property
    def region(self) -> Region:
        return issuer_region(issuing_country=self.issuing_country, merchant_country=self.merchant_country)

    @property
    def category(self) -> CardCategory:
        return card_category(self.funding)


@dataclass(frozen=True, slots=True, kw_only=True)
class PlatformFeePlan:
    """RevKeen's fee: `percent` % of the amount + `fixed` (major units of the transaction's currency,
    or Money in that currency). Default 1.7 % + 0.10 (DECISIONS.md)."""

    percent: Decimal = PLATFORM_FEE_PERCENT
    fixed: Decimal | Money = PLATFORM_FEE_FIXED_MAJOR

    def __post_init__(self):
        object.__setattr__(self, "percent", _decimal(self.percent, "platform percent"))
        if not isinstance(self.fixed, Money):
            object.__setattr__(self, "fixed", _decimal(self.fixed, "platform fixed fee"))
        elif self.fixed.amount_minor < 0:
            raise FeeError("platform fixed fee must not be negative")


@dataclass(frozen=True, slots=True, kw_only=True)
class GatewayPlan:
    """Gateway/acquirer cost: markup % by region + an optional higher-risk loading % on some channels
    + a fixed per-transaction fee. Defaults: page 004's acquirer margins, no loading, no fixed fee."""

    markup_percent: Mapping[Region, Decimal] = field(default_factory=lambda: dict(ACQUIRER_MARKUP_PERCENT))
    loading_percent: Decimal = Decimal("0")
    loading_channels: frozenset[Channel] = HIGHER_RISK_CHANNELS
    fixed: Decimal | Money = Decimal("0")

    def __post_init__(self):
        markup = {Region(region): _decimal(value, f"markup for {region}")
                  for region, value in dict(self.markup_percent).items()}
        missing = set(Region) - set(markup)
        if missing:
            raise FeeError(f"gateway plan has no markup for {', '.join(sorted(missing))}")
        object.__setattr__(self, "markup_percent", MappingProxyType(markup))
        object.__setattr__(self, "loading_percent", _decimal(self.loading_percent, "loading percent"))
        object.__setattr__(self, "loading_channels", frozenset(Channel(c) for c in self.loading_channels))
        if not isinstance(self.fixed, Money):
            object.__setattr__(self, "fixed", _decimal(self.fixed, "gateway fixed fee"))
        elif self.fixed.amount_minor < 0:
            raise FeeError("gateway fixed fee must not be negative")


DEFAULT_PLATFORM_PLAN = PlatformFeePlan()
DEFAULT_GATEWAY_PLAN = GatewayPlan()


# --- outputs ----------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class FeeLine:
    code: FeeCode
    description: str
    percent: Decimal  # rate basis: percent of the amount
    fixed: Decimal  # rate basis: fixed part, major units of the amount's currency
    amount: Money  # the fee, rounded once with FEE_ROUNDING; never negative

    @property
    def basis(self) -> str:
        """'1.7% + 0.10', '0.20%', '15.00' — for display next to the amount."""
        parts = []
        if self.percent:
            parts.append(f"{self.percent:f}%")
        if self.fixed:
            parts.append(f"{self.fixed:f}")
        return " + ".join(parts) or "0%"

    def to_dict(self) -> dict:
        return {"code": str(self.code), "description": self.description, "percent": str(self.percent),
                "fixed": str(self.fixed), "amount": self.amount.to_dict()}


def _ratio_percent(part: Money, whole: Money) -> Decimal | None:
    if whole.amount_minor == 0:
        return None
    with localcontext() as ctx:
        ctx.prec = 50
        value = Decimal(part.amount_minor) * 100 / Decimal(whole.amount_minor)
        return value.quantize(PERCENT_QUANTUM, rounding=FEE_ROUNDING)


@dataclass(frozen=True, slots=True)
class FeeBreakdown:
    """One transaction's fee lines and the figures derived from them (all exact sums of the lines)."""

    kind: TransactionKind
    gross: Money  # signed effect on the merchant's balance before fees
    lines: tuple[FeeLine, ...]
    region: Region | None = None
    category: CardCategory | None = None

    @property
    def currency(self) -> str:
        return self.gross.currency

    @property
    def fees(self) -> Money:
        return sum_money((line.amount for line in self.lines), self.currency)

    @property
    def net(self) -> Money:
        return self.gross - self.fees

    @property
    def pass_through(self) -> Money:
        """Interchange + scheme + gateway: what the networks and acquirer take, at cost (page 004)."""
        return sum_money((line.amount for line in self.lines if line.code in PASS_THROUGH_CODES), self.currency)

    @property
    def platform(self) -> Money:
        """RevKeen's own fee: the platform's margin on this transaction."""
        return self.line_amount(FeeCode.PLATFORM)

    def line_amount(self, code: FeeCode | str) -> Money:
        return sum_money((line.amount for line in self.lines if line.code == code), self.currency)

    @property
    def effective_rate_percent(self) -> Decimal | None:
        """Total fees as a percentage of the gross (page 004: 'Effective rate 2.18%')."""
        return _ratio_percent(self.fees, abs_money(self.gross))

    @property
    def net_margin_percent(self) -> Decimal | None:
        """What the merchant keeps as a percentage of the gross ('Know What You Keep', page 002)."""
        return _ratio_percent(self.net, abs_money(self.gross))

    @property
    def fees_exceed_gross(self) -> bool:
        """True for a sale whose fees exceed its amount (e.g. a 0.01 sale): net is negative."""
        return self.kind == TransactionKind.SALE and self.net.is_negative


def abs_money(value: Money) -> Money:
    return -value if value.is_negative else value


def fee_amount(*, base: Money, percent: Decimal, fixed: Decimal = Decimal("0")) -> Money:
    """`percent` % of `base` + `fixed` (major units of base's currency), rounded once with FEE_ROUNDING.
    Never negative: `base` must not be negative and the rate parts are non-negative."""
    percent = _decimal(percent, "percent")
    fixed = _decimal(fixed, "fixed")
    if base.is_negative:
        raise FeeError("fees are computed on a non-negative amount")
    with localcontext() as ctx:
        ctx.prec = 60
        exact_minor = Decimal(base.amount_minor) * percent / 100 + fixed.scaleb(base.exponent)
        minor = int(exact_minor.quantize(Decimal(1), rounding=FEE_ROUNDING))
    return Money(minor, base.currency)


def _line(code: FeeCode, description: str, *, base: Money, percent: Decimal, fixed: Decimal) -> FeeLine:
    return FeeLine(code, description, percent, fixed, fee_amount(base=base, percent=percent, fixed=fixed))


# --- sales ------------------------------------------------------------------------------------------
def card_fee_breakdown(
    *,
    transaction: CardTransaction,
    platform_plan: PlatformFeePlan = DEFAULT_PLATFORM_PLAN,
    gateway_plan: GatewayPlan = DEFAULT_GATEWAY_PLAN,
    rates: RateTable = DEFAULT_RATE_TABLE,
    chargeback_fee: Money | None = None,
) -> FeeBreakdown:
    """The fee lines of a card transaction, in waterfall order.

    sale: interchange, scheme, gateway, platform (all four, zero lines included).
    refund: no lines (original fees are kept, no new fee — see `refund_cost`); gross = −amount.
    chargeback: one chargeback-fee line (see `chargeback_cost`); gross = −amount (held).
    void: no lines and no money (a void before settlement has no fees at all).
    """
    txn = transaction
    currency = txn.amount.currency
    if txn.kind == TransactionKind.VOID:
        return FeeBreakdown(TransactionKind.VOID, Money.zero(currency), ())
    if txn.kind == TransactionKind.REFUND:
        return FeeBreakdown(TransactionKind.REFUND, -txn.amount, ())
    if txn.kind == TransactionKind.CHARGEBACK:
        cost = chargeback_cost(disputed=txn.amount, fee=chargeback_fee)
        return FeeBreakdown(TransactionKind.CHARGEBACK, -cost.held, (cost.fee_line,))

    if not is_supported_merchant_country(txn.merchant_country):
        if rates is DEFAULT_RATE_TABLE:
            raise RateTableError(
                f"the default rate table covers UK-area and EEA merchants only, not {txn.merchant_country}; "
                "pass the merchant's RateTable")
    region, category, group = txn.region, txn.category, channel_group(txn.channel)
    region_label, category_label = REGION_LABELS[region], CATEGORY_LABELS[category]

    ic = rates.interchange_rate(brand=txn.brand, region=region, category=category, group=group)
    ic_note = ", regulated cap" if ic.regulated else ""
    # Three-party schemes (Amex, Discover) set one discount rate; it is reported on the interchange line.
    ic_name = "Interchange" if txn.brand in FOUR_PARTY_BRANDS else f"{txn.brand.label} discount rate"
    interchange = _line(FeeCode.INTERCHANGE, f"{ic_name} ({region_label} {category_label}{ic_note})",
                        base=txn.amount, percent=ic.percent, fixed=ic.fixed)

    scheme_rate = rates.scheme_rate(brand=txn.brand, region=region)
    scheme = _line(FeeCode.SCHEME, f"Scheme fee ({txn.brand.label} {region_label})",
                   base=txn.amount, percent=scheme_rate.percent, fixed=scheme_rate.fixed)

    gateway_percent = gateway_plan.markup_percent[region]
    gateway_note = ""
    if gateway_plan.loading_percent and txn.channel in gateway_plan.loading_channels:
        gateway_percent += gateway_plan.loading_percent
        gateway_note = f", incl. {gateway_plan.loading_percent.normalize():f}% higher-risk loading"
    gateway = _line(FeeCode.GATEWAY, f"Gateway / acquirer margin ({region_label}{gateway_note})",
                    base=txn.amount, percent=gateway_percent,
                    fixed=_fixed_major(gateway_plan.fixed, currency, "gateway fixed fee"))

    platform = _line(FeeCode.PLATFORM, "RevKeen platform fee", base=txn.amount, percent=platform_plan.percent,
                     fixed=_fixed_major(platform_plan.fixed, currency, "platform fixed fee"))

    return FeeBreakdown(TransactionKind.SALE, txn.amount, (interchange, scheme, gateway, platform),
                        region=region, category=category)


# --- refunds ----------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class RefundCost:
    refund: Money  # returned to the customer (positive magnitude)
    fee_lines: tuple[FeeLine, ...]  # new fees charged for the refund: none (pages 004, 045)
    fees_returned: Money  # original fees given back: always zero
    fees_kept: Money  # all of the original sale's fees, kept whatever is refunded
    attributable_fees: Money  # this refund's proportional share of the kept fees (margin attribution)
    refunded_total: Money  # refunded so far including this one
    remaining_refundable: Money

    @property
    def cost(self) -> Money:
        """What this refund costs beyond the money returned: its share of the fees not returned."""
        return self.attributable_fees


def refund_cost(*, sale: FeeBreakdown, refund: Money, previously_refunded: Money | None = None) -> RefundCost:
    """The cost of refunding `refund` of a captured sale, after `previously_refunded` (page 048:
    multiple partial refunds up to the payment amount). Raises FeeError beyond the refundable amount."""
    if sale.kind != TransactionKind.SALE:
        raise FeeError("only a captured sale can be refunded")
    currency = sale.currency
    previously_refunded = previously_refunded if previously_refunded is not None else Money.zero(currency)
    for name, value in (("refund", refund), ("previously_refunded", previously_refunded)):
        if value.currency != currency:
            raise CurrencyError(f"{name} is in {value.currency} but the sale is in {currency}")
    if refund.amount_minor <= 0:
        raise FeeError("refund amount must be positive")
    if previously_refunded.is_negative:
        raise FeeError("previously refunded amount must not be negative")
    refunded_total = previously_refunded + refund
    if refunded_total > sale.gross:
        remaining = sale.gross - previously_refunded
        raise FeeError(f"refund of {refund.amount_minor} exceeds the refundable amount {max(remaining.amount_minor, 0)}")
    fees = sale.fees
    # Cumulative allocation: share(after) − share(before), each rounded with FEE_ROUNDING, so a
    # complete set of refunds is attributed exactly the sale's fees, never more.
    attributable = _share(fees, refunded_total, sale.gross) - _share(fees, previously_refunded, sale.gross)
    return RefundCost(refund=refund, fee_lines=(), fees_returned=Money.zero(currency), fees_kept=fees,
                      attributable_fees=attributable, refunded_total=refunded_total,
                      remaining_refundable=sale.gross - refunded_total)


def _share(total: Money, part: Money, whole: Money) -> Money:
    with localcontext() as ctx:
        ctx.prec = 60
        exact = Decimal(total.amount_minor) * Decimal(part.amount_minor) / Decimal(whole.amount_minor)
        return Money(int(exact.quantize(Decimal(1), rounding=FEE_ROUNDING)), total.currency)


# --- chargebacks ------------------------------------------------------------------------------------
class DisputeOutcome(StrEnum):
    OPEN = "open"
    WON = "won"
    LOST = "lost"


@dataclass(frozen=True, slots=True)
class ChargebackCost:
    held: Money  # the disputed amount, held from the balance when the dispute opens
    fee: Money  # the chargeback fee, kept whatever the outcome
    outcome: DisputeOutcome
    released: Money  # returned to the merchant when won, else zero

    @property
    def fee_line(self) -> FeeLine:
        return FeeLine(FeeCode.CHARGEBACK, "Chargeback fee", Decimal("0"), self.fee.to_decimal(), self.fee)

    @property
    def net(self) -> Money:
        """The dispute's effect on the merchant's balance: −held − fee + released."""
        return self.released - self.held - self.fee

    @property
    def lost(self) -> Money:
        """What the merchant is out of pocket: the fee, plus the amount unless the dispute was won."""
        return -self.net


def chargeback_cost(*, disputed: Money, fee: Money | None = None,
                    outcome: DisputeOutcome | str = DisputeOutcome.OPEN) -> ChargebackCost:
    """The amount held and the chargeback fee (pages 004, 044, 045). `fee` is the merchant's
    configured fee in the disputed currency; default from rates.DEFAULT_CHARGEBACK_FEES_MAJOR [GUESS]."""
    if disputed.amount_minor <= 0:
        raise FeeError("disputed amount must be positive")
    if fee is None:
        fee = Money.from_decimal(default_chargeback_fee_major(disputed.currency), disputed.currency,
                                 rounding=FEE_ROUNDING)
    if fee.currency != disputed.currency:
        raise CurrencyError(f"chargeback fee is in {fee.currency} but the dispute is in {disputed.currency}")
    if fee.is_negative:
        raise FeeError("chargeback fee must not be negative")
    outcome = DisputeOutcome(outcome)
    released = disputed if outcome == DisputeOutcome.WON else Money.zero(disputed.currency)
    return ChargebackCost(held=disputed, fee=fee, outcome=outcome, released=released)


# --- margin rollups ---------------------------------------------------------------------------------
K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True, slots=True)
class MarginTotals:
    gross: Money
    fees: Money
    count: int

    @property
    def net(self) -> Money:
        return self.gross - self.fees

    @property
    def net_margin_percent(self) -> Decimal | None:
        return _ratio_percent(self.net, abs_money(self.gross))

    @property
    def effective_rate_percent(self) -> Decimal | None:
        return _ratio_percent(self.fees, abs_money(self.gross))


def margin_rollup(*, rows: Iterable[tuple[K, Money, Money]]) -> dict[K, MarginTotals]:
    """Sums (key, fees, gross) rows per key — product, customer, or anything hashable — exactly, in
    minor units. Keys keep the order of their first row. One currency per key: a bucket that would mix
    currencies raises CurrencyError (key by (product, currency) to roll up several currencies)."""
    totals: dict[K, MarginTotals] = {}
    for key, fees, gross in rows:
        if fees.currency != gross.currency:
            raise CurrencyError(f"row for {key!r} mixes {fees.currency} fees with {gross.currency} gross")
        if fees.is_negative:
            raise FeeError(f"row for {key!r} has negative fees")
        current = totals.get(key)
        if current is None:
            totals[key] = MarginTotals(gross, fees, 1)
            continue
        if current.gross.currency != gross.currency:
            raise CurrencyError(f"bucket {key!r} mixes {current.gross.currency} and {gross.currency}")
        totals[key] = MarginTotals(current.gross + gross, current.fees + fees, current.count + 1)
    return totals


def margin_total(*, rows: Iterable[tuple[object, Money, Money]], currency: str) -> MarginTotals:
    """All rows together (the dashboard's header figure), in one currency."""
    gross, fees, count = Money.zero(currency), Money.zero(currency), 0
    for _key, row_fees, row_gross in rows:
        gross, fees, count = gross + row_gross, fees + row_fees, count + 1
    return MarginTotals(gross, fees, count)

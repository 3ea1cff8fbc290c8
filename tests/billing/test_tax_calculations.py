"""Tax per line and per rate, tax treatment and the local provider (apps.billing.calculations.tax). Pure.

Worked examples: UK VAT 20 % exclusive and inclusive, pennies to allocate, JPY (0 decimals), BHD/KWD
(3 decimals), reverse charge and exports. Hypothesis checks the rounding invariants against an
independent oracle in fractions.Fraction.
"""
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from apps.billing.calculations import (
    EU_VAT_COUNTRIES,
    EXEMPT_NOTE,
    EXPORT_NOTE,
    REVERSE_CHARGE_NOTE,
    REVERSE_CHARGE_NOTE_EU,
    TAX_ROUNDING,
    LocalTaxProvider,
    TaxCustomer,
    TaxError,
    TaxLine,
    TaxMerchant,
    TaxProvider,
    TaxRate,
    TaxTreatment,
    allocate_rounded,
    round_ratio,
    tax_area,
    tax_lines,
    tax_treatment,
)
from apps.core.money import MONEY_ROUNDING, CurrencyError, Money

UK_VAT = TaxRate(name="VAT", percentage=Decimal("20"), country="GB")
UK_VAT_INCL = TaxRate(name="VAT", percentage=Decimal("20"), inclusive=True, country="GB")
UK_VAT_REDUCED = TaxRate(name="VAT (reduced)", percentage=Decimal("5"), country="GB")
FR_VAT = TaxRate(name="TVA", percentage=Decimal("20"), country="FR")
DE_VAT = TaxRate(name="MwSt", percentage=Decimal("19"), country="DE")
JP_CT = TaxRate(name="Consumption tax", percentage=Decimal("10"), country="JP")
JP_CT_INCL = TaxRate(name="Consumption tax", percentage=Decimal("10"), inclusive=True, country="JP")
BH_VAT = TaxRate(name="VAT", percentage=Decimal("10"), country="BH")
KW_TAX_INCL = TaxRate(name="Tax", percentage=Decimal("5"), inclusive=True, country="KW")
NY_SALES = TaxRate(name="Sales tax", percentage=Decimal("8.875"), country="US", region="NY")


def gbp(minor):
    return Money(minor, "GBP")


def line(minor, rate=None, currency="GBP", **kw):
    return TaxLine(amount=Money(minor, currency), rate=rate, **kw)


def taxes(calc):
    return [taxed.tax.amount_minor for taxed in calc.lines]


# --- the rule ---------------------------------------------------------------------------------------
def test_the_rounding_rule_is_the_house_rule():
    assert TAX_ROUNDING == MONEY_ROUNDING == ROUND_HALF_UP


def test_round_ratio_is_exact_for_every_mode():
    assert round_ratio(5, 2) == 3 and round_ratio(-5, 2) == -3  # half away from zero
    assert round_ratio(5, 2, ROUND_HALF_EVEN) == 2
    assert round_ratio(1, 3) == 0 and round_ratio(2, 3) == 1 and round_ratio(6, 3) == 2
    # A tie that no fixed Decimal precision would see: (10**40 + 0.5)
    assert round_ratio(2 * 10**40 + 1, 2) == 10**40 + 1
    assert allocate_rounded([165, 165, 165], 100) == [2, 2, 1]


# --- UK VAT 20 % ------------------------------------------------------------------------------------
def test_uk_vat_exclusive_single_line():
    calc = tax_lines([line(10000, UK_VAT)])
    taxed = calc.lines[0]
    assert (taxed.net, taxed.tax, taxed.gross) == (gbp(10000), gbp(2000), gbp(12000))
    assert (calc.subtotal, calc.tax, calc.total) == (gbp(10000), gbp(2000), gbp(12000))
    assert len(calc.totals) == 1
    summary = calc.totals[0]
    assert summary.rate == UK_VAT and summary.rate.label == "VAT 20%"
    assert (summary.net, summary.tax, summary.gross, summary.line_count) == (gbp(10000), gbp(2000), gbp(12000), 1)


def test_uk_vat_inclusive_single_line():
    calc = tax_lines([line(12000, UK_VAT_INCL)])
    taxed = calc.lines[0]
    assert (taxed.net, taxed.tax, taxed.gross) == (gbp(10000), gbp(2000), gbp(12000))
    assert UK_VAT_INCL.label == "VAT 20% (incl.)"
    # £10.00 incl. 20 %: tax = 1000/6 = 166.67p → 167p, net 833p.
    calc = tax_lines([line(1000, UK_VAT_INCL)])
    assert (calc.lines[0].net, calc.lines[0].tax) == (gbp(833), gbp(167))
    assert calc.lines[0].tax_unrounded.quantize(Decimal("0.0001")) == Decimal("166.6667")


def test_uk_vat_inclusive_two_lines_share_one_rounding():
    # 166.67p + 166.67p = 333.33p → 333p: floors 166 + 166, the missing penny to the earlier line.
    calc = tax_lines([line(1000, UK_VAT_INCL), line(1000, UK_VAT_INCL)])
    assert taxes(calc) == [167, 166]
    assert [t.net.amount_minor for t in calc.lines] == [833, 834]
    assert calc.tax == gbp(333) and calc.total == gbp(2000) and calc.subtotal == gbp(1667)


def test_pennies_allocated_by_largest_remainder_ties_to_the_earlier_line():
    # Five 3p lines at 20 %: 0.6p each, 3.0p in all. Rounding each line would charge 5p.
    calc = tax_lines([line(3, UK_VAT) for _ in range(5)])
    assert taxes(calc) == [1, 1, 1, 0, 0]
    assert calc.tax == gbp(3) and calc.totals[0].tax == gbp(3)
    # Remainders .4, .8, .2, .6 (2.0p in all): the two largest get the pennies.
    calc = tax_lines([line(2, UK_VAT), line(4, UK_VAT), line(1, UK_VAT), line(3, UK_VAT)])
    assert taxes(calc) == [0, 1, 0, 1]
    # Three £0.33 lines at 5 %: 1.65p each, 4.95p → 5p (not 6p).
    calc = tax_lines([line(33, UK_VAT_REDUCED) for _ in range(3)])
    assert taxes(calc) == [2, 2, 1] and calc.tax == gbp(5)


def test_invoice_with_two_rates_and_an_exempt_line():
    calc = tax_lines([
        line(999, UK_VAT, reference="a"),  # 199.8p
        line(99, UK_VAT, reference="b"),  # 19.8p
        line(33, UK_VAT_REDUCED, reference="c"),  # 1.65p
        line(500, reference="d"),  # no rate
        line(445, UK_VAT, reference="e"),  # 89p
        line(33, UK_VAT_REDUCED, reference="f"),  # 1.65p
        line(700, UK_VAT, exempt=True, reference="g"),  # exempt wins over the rate
    ])
    assert taxes(calc) == [200, 20, 2, 0, 89, 1, 0]
    assert [t.reference for t in calc.lines] == list("abcdefg")
    assert [t.rate for t in calc.lines] == [UK_VAT, UK_VAT, UK_VAT_REDUCED, None, UK_VAT, UK_VAT_REDUCED, None]
    by_rate = calc.tax_by_rate()
    assert list(by_rate) == [UK_VAT, UK_VAT_REDUCED]  # order of first appearance
    assert by_rate == {UK_VAT: gbp(309), UK_VAT_REDUCED: gbp(3)}  # round(308.6), round(3.3)
    assert calc.untaxed == gbp(1200)
    assert calc.tax == gbp(312) and calc.subtotal == gbp(2809) and calc.total == gbp(3121)


def test_negative_adjustment_line():
    calc = tax_lines([line(1000, UK_VAT), line(-333, UK_VAT)])  # 200p − 66.6p = 133.4p → 133p
    assert taxes(calc) == [200, -67]
    assert calc.tax == gbp(133)


def test_rate_with_three_decimals_and_zero_rate():
    calc = tax_lines([line(10000, NY_SALES, currency="USD")])  # 887.5¢ → 888¢ (half up)
    assert calc.tax == Money(888, "USD") and NY_SALES.label == "Sales tax 8.875%"
    zero = TaxRate(name="VAT", percentage=Decimal("0"), country="GB")
    calc = tax_lines([line(1234, zero)])
    assert calc.tax == gbp(0) and calc.totals[0].net == gbp(1234)


# --- 0- and 3-decimal currencies --------------------------------------------------------------------
def test_jpy_zero_decimals():
    calc = tax_lines([line(1234, JP_CT, currency="JPY")])
    assert calc.tax == Money(123, "JPY") and calc.total == Money(1357, "JPY")
    # ¥105 × 3 at 10 %: 10.5 each, 31.5 → ¥32; floors 30, two yen to the first two lines.
    calc = tax_lines([line(105, JP_CT, currency="JPY") for _ in range(3)])
    assert taxes(calc) == [11, 11, 10] and calc.tax == Money(32, "JPY")
    calc = tax_lines([line(1100, JP_CT_INCL, currency="JPY")])
    assert (calc.lines[0].net, calc.lines[0].tax) == (Money(1000, "JPY"), Money(100, "JPY"))


def test_three_decimal_currencies():
    # BHD 10 %: 100.5 + 234.5 fils = 335 exactly; floors 100 + 234, the tie goes to the first line.
    calc = tax_lines([line(1005, BH_VAT, currency="BHD"), line(2345, BH_VAT, currency="BHD")])
    assert taxes(calc) == [101, 234] and calc.tax == Money(335, "BHD")
    # KWD 1.000 incl. 5 %: 1000 × 5 / 105 = 47.619 fils → 48, net 952.
    calc = tax_lines([line(1000, KW_TAX_INCL, currency="KWD")])
    assert (calc.lines[0].net, calc.lines[0].tax, calc.lines[0].gross) == (
        Money(952, "KWD"), Money(48, "KWD"), Money(1000, "KWD"))


# --- input errors -----------------------------------------------------------------------------------
def test_bad_inputs_are_refused():
    with pytest.raises(TypeError):
        TaxRate(name="VAT", percentage=0.2, country="GB")
    with pytest.raises(TaxError):
        TaxRate(name="VAT", percentage=Decimal("-1"), country="GB")
    with pytest.raises(TaxError):
        TaxRate(name="VAT", percentage=Decimal("100.01"), country="GB")
    with pytest.raises(TaxError):
        TaxRate(name=" ", percentage=Decimal("20"), country="GB")
    with pytest.raises(TaxError):
        TaxRate(name="VAT", percentage=Decimal("20"), country="GBR")
    with pytest.raises(CurrencyError):
        tax_lines([line(100, UK_VAT), line(100, UK_VAT, currency="EUR")])
    with pytest.raises(TaxError):
        tax_lines([])
    assert tax_lines([], currency="eur").total == Money(0, "EUR")
    with pytest.raises(TypeError):
        TaxLine(amount=100, rate=UK_VAT)


# --- treatment --------------------------------------------------------------------------------------
def treat(merchant, customer, *, vat=False, business=False, exempt=False, registrations=()):
    return tax_treatment(merchant_country=merchant, customer_country=customer, customer_vat_id_valid=vat,
                         customer_is_business=business, customer_tax_exempt=exempt,
                         merchant_registrations=registrations)


def test_eu_member_list():
    assert len(EU_VAT_COUNTRIES) == 27
    assert "GB" not in EU_VAT_COUNTRIES and "NO" not in EU_VAT_COUNTRIES and "GR" in EU_VAT_COUNTRIES
    assert tax_area("IM") == "GB" and tax_area("mc") == "EU" and tax_area("EL") == "EU" and tax_area("US") == "US"


@pytest.mark.parametrize(("merchant", "customer", "vat", "business", "expected"), [
    ("FR", "DE", True, True, TaxTreatment.REVERSE_CHARGE),  # EU B2B, valid VAT id
    ("FR", "DE", False, True, TaxTreatment.STANDARD),  # business without a valid VAT id
    ("FR", "DE", False, False, TaxTreatment.STANDARD),  # EU B2C cross-border
    ("FR", "DE", True, False, TaxTreatment.STANDARD),  # not a business: no reverse charge
    ("FR", "FR", True, True, TaxTreatment.DOMESTIC),  # domestic B2B is taxed
    ("FR", "MC", True, True, TaxTreatment.DOMESTIC),  # Monaco is in the French VAT area
    ("IE", "EL", True, True, TaxTreatment.REVERSE_CHARGE),  # Greece by its VAT prefix
    ("GB", "GB", False, False, TaxTreatment.DOMESTIC),
    ("GB", "IM", True, True, TaxTreatment.DOMESTIC),  # Isle of Man is in the UK VAT area
    ("GB", "DE", True, True, TaxTreatment.EXEMPT_EXPORT),  # outside the UK's tax area
    ("GB", "US", False, False, TaxTreatment.EXEMPT_EXPORT),
    ("JE", "GB", False, False, TaxTreatment.EXEMPT_EXPORT),  # Jersey is outside the UK VAT area
    ("DE", "GB", True, True, TaxTreatment.EXEMPT_EXPORT),
    ("DE", "NO", False, False, TaxTreatment.EXEMPT_EXPORT),  # EEA but not the EU VAT area
    ("DE", "CH", True, True, TaxTreatment.EXEMPT_EXPORT),
])
def test_tax_treatment(merchant, customer, vat, business, expected):
    assert treat(merchant, customer, vat=vat, business=business) == expected


def test_tax_treatment_with_registrations_and_exemptions():
    assert treat("GB", "DE", registrations=["DE"]) == TaxTreatment.STANDARD
    assert treat("GB", "DE", vat=True, business=True, registrations=["de"]) == TaxTreatment.REVERSE_CHARGE
    assert treat("GB", "GB", exempt=True) == TaxTreatment.EXEMPT
    assert treat("FR", "DE", exempt=True) == TaxTreatment.EXEMPT
    assert treat("FR", "DE", vat=True, business=True, exempt=True) == TaxTreatment.REVERSE_CHARGE
    assert treat("GB", "US", exempt=True) == TaxTreatment.EXEMPT_EXPORT
    with pytest.raises(TaxError):
        treat("GB", "United Kingdom")


# --- the local provider -----------------------------------------------------------------------------
UK_MERCHANT = TaxMerchant(country="GB", rates=(UK_VAT, UK_VAT_REDUCED), tax_id="GB123456789")
FR_MERCHANT = TaxMerchant(country="FR", rates=(FR_VAT, DE_VAT))


def test_local_provider_is_a_tax_provider():
    assert isinstance(LocalTaxProvider(), TaxProvider)


def test_local_provider_domestic_picks_the_merchant_rate_keeps_line_rates_and_exemptions():
    calc = LocalTaxProvider().calculate(
        [line(10000), line(1000, UK_VAT_REDUCED), line(500, exempt=True)], TaxCustomer(country="GB"), UK_MERCHANT)
    assert calc.treatment == TaxTreatment.DOMESTIC and calc.note == ""
    assert [t.rate for t in calc.lines] == [UK_VAT, UK_VAT_REDUCED, None]
    assert taxes(calc) == [2000, 50, 0] and calc.total == gbp(13550)


def test_local_provider_eu_b2c_uses_destination_rate_or_home_rate():
    calc = LocalTaxProvider().calculate([line(10000, currency="EUR")], TaxCustomer(country="DE"), FR_MERCHANT)
    assert calc.treatment == TaxTreatment.STANDARD and calc.lines[0].rate == DE_VAT
    assert calc.tax == Money(1900, "EUR")
    calc = LocalTaxProvider().calculate([line(10000, currency="EUR")], TaxCustomer(country="IT"), FR_MERCHANT)
    assert calc.lines[0].rate == FR_VAT and calc.tax == Money(2000, "EUR")


def test_local_provider_reverse_charge_takes_no_tax_and_keeps_inclusive_prices():
    customer = TaxCustomer(country="DE", is_business=True, vat_id="DE123456789", vat_id_valid=True)
    fr_incl = TaxRate(name="TVA", percentage=Decimal("20"), inclusive=True, country="FR")
    calc = LocalTaxProvider().calculate([line(10000, currency="EUR"), line(12000, fr_incl, currency="EUR")],
                                        customer, FR_MERCHANT)
    assert calc.treatment == TaxTreatment.REVERSE_CHARGE and calc.note == REVERSE_CHARGE_NOTE_EU
    assert calc.tax == Money(0, "EUR") and calc.totals == ()
    assert [t.net.amount_minor for t in calc.lines] == [10000, 12000]
    assert calc.untaxed == calc.total == Money(22000, "EUR")


def test_local_provider_export_exempt_and_registrations():
    provider = LocalTaxProvider()
    calc = provider.calculate([line(5000)], TaxCustomer(country="US", region="ca"), UK_MERCHANT)
    assert calc.treatment == TaxTreatment.EXEMPT_EXPORT and calc.note == EXPORT_NOTE and calc.tax == gbp(0)
    calc = provider.calculate([line(5000)], TaxCustomer(country="GB", tax_exempt=True), UK_MERCHANT)
    assert calc.treatment == TaxTreatment.EXEMPT and calc.note == EXEMPT_NOTE and calc.tax == gbp(0)
    registered = TaxMerchant(country="GB", rates=(UK_VAT, DE_VAT), registrations=frozenset({"DE"}))
    calc = provider.calculate([line(10000, currency="EUR")], TaxCustomer(country="DE"), registered)
    assert calc.treatment == TaxTreatment.STANDARD and calc.tax == Money(1900, "EUR")
    business = TaxCustomer(country="DE", is_business=True, vat_id_valid=True)
    calc = provider.calculate([line(10000, currency="EUR")], business, registered)
    assert calc.treatment == TaxTreatment.REVERSE_CHARGE and calc.note == REVERSE_CHARGE_NOTE
    missing = TaxMerchant(country="GB", rates=(UK_VAT,), registrations=frozenset({"DE"}))
    with pytest.raises(TaxError, match="no tax rate"):
        provider.calculate([line(100, currency="EUR")], TaxCustomer(country="DE"), missing)


def test_local_provider_regional_rates_and_no_rates():
    ca = TaxRate(name="Sales tax", percentage=Decimal("7.25"), country="US", region="CA")
    us = TaxMerchant(country="US", rates=(NY_SALES, ca))
    calc = LocalTaxProvider().calculate([line(10000, currency="USD")], TaxCustomer(country="US", region="ca"), us)
    assert calc.lines[0].rate == ca and calc.tax == Money(725, "USD")
    # No rate for the customer's state and no country-wide rate: nothing collected.
    calc = LocalTaxProvider().calculate([line(10000, currency="USD")], TaxCustomer(country="US", region="TX"), us)
    assert calc.treatment == TaxTreatment.DOMESTIC and calc.tax == Money(0, "USD")


# --- properties -------------------------------------------------------------------------------------
CURRENCIES = ["GBP", "JPY", "KWD", "USD"]
PERCENTAGES = ["0", "5", "5.5", "7.7", "8.875", "10", "19", "20", "21", "25", "100"]

rates = st.builds(lambda pct, incl, name: TaxRate(name=name, percentage=Decimal(pct), inclusive=incl, country="GB"),
                  st.sampled_from(PERCENTAGES), st.booleans(), st.sampled_from(["VAT", "GST"]))


def half_up(value: Fraction) -> int:
    magnitude = abs(value)
    whole = magnitude.numerator // magnitude.denominator
    if magnitude - whole >= Fraction(1, 2):
        whole += 1
    return -whole if value < 0 else whole


def exact_tax(amount: int, rate: TaxRate) -> Fraction:
    r = Fraction(rate.percentage) / 100
    return amount * r / (1 + r) if rate.inclusive else amount * r


@st.composite
def invoices(draw, min_amount=-10**6, max_amount=10**9):
    currency = draw(st.sampled_from(CURRENCIES))
    pool = draw(st.lists(rates, min_size=1, max_size=3))
    lines = draw(st.lists(st.builds(
        lambda amount, rate, exempt: TaxLine(amount=Money(amount, currency), rate=rate, exempt=exempt),
        st.integers(min_amount, max_amount), st.one_of(st.none(), st.sampled_from(pool)),
        st.sampled_from([False, False, False, True])),
        min_size=1, max_size=12))
    return currency, lines


@settings(max_examples=300, deadline=None)
@given(invoices())
def test_line_taxes_sum_to_the_rounded_unrounded_sum_per_rate(invoice):
    currency, lines = invoice
    calc = tax_lines(lines)
    assert calc.currency == currency and len(calc.lines) == len(lines)
    assert calc.tax.amount_minor == sum(taxes(calc)) == sum(t.tax.amount_minor for t in calc.totals)
    assert calc.total == calc.subtotal + calc.tax
    for summary in calc.totals:
        group = [(src, out) for src, out in zip(lines, calc.lines, strict=True) if out.rate == summary.rate]
        exact = sum((exact_tax(src.amount.amount_minor, summary.rate) for src, _ in group), Fraction(0))
        assert summary.tax.amount_minor == half_up(exact) == sum(out.tax.amount_minor for _, out in group)
        assert summary.line_count == len(group)
        assert summary.net.amount_minor == sum(out.net.amount_minor for _, out in group)
        # The rounded-up lines are those with the largest remainders, ties to the earlier line.
        ranked = []
        for position, (src, out) in enumerate(group):
            unrounded = exact_tax(src.amount.amount_minor, summary.rate)
            floor = unrounded.numerator // unrounded.denominator
            ranked.append((unrounded - floor, position, out.tax.amount_minor == floor + 1))
        ranked.sort(key=lambda item: (-item[0], item[1]))
        ups = [up for _remainder, _position, up in ranked]
        assert ups == sorted(ups, reverse=True)  # every rounded-up line ranks before every rounded-down one
    for src, out in zip(lines, calc.lines, strict=True):
        amount = src.amount.amount_minor
        if src.rate is None or src.exempt:
            assert out.rate is None and out.tax.amount_minor == 0 and out.net == out.gross == src.amount
            continue
        exact = exact_tax(amount, src.rate)
        assert abs(out.tax.amount_minor - exact) < 1  # floor or ceiling of the unrounded tax
        if exact.denominator == 1:
            assert out.tax.amount_minor == exact
        assert out.net + out.tax == out.gross
        if src.rate.inclusive:
            assert out.gross == src.amount
        else:
            assert out.net == src.amount


@settings(max_examples=150, deadline=None)
@given(invoices(min_amount=0))
def test_allocation_is_deterministic_and_independent_of_other_rates(invoice):
    _currency, lines = invoice
    first, second = tax_lines(lines), tax_lines(list(lines))
    assert first == second
    # A rate group's taxes do not depend on lines of other rates around it.
    for summary in first.totals:
        alone = tax_lines([src for src in lines if src.rate == summary.rate and not src.exempt])
        assert taxes(alone) == [out.tax.amount_minor for out in first.lines if out.rate == summary.rate]

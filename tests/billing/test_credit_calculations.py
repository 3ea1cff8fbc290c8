"""Credit notes: remaining creditable amount and proportional tax with the last note sweeping
(apps.billing.calculations.credits). Pure.

Worked examples in GBP, JPY and KWD; hypothesis drives any invoice through any sequence of partial
credit notes ending in a full credit.
"""
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from apps.billing.calculations import (
    CreditError,
    CreditExceedsRemaining,
    TaxLine,
    TaxRate,
    credit_note_tax,
    remaining_creditable,
    tax_lines,
)
from apps.core.money import CurrencyError, Money

VAT = TaxRate(name="VAT", percentage=Decimal("20"), country="GB")
VAT_INCL = TaxRate(name="VAT", percentage=Decimal("20"), inclusive=True, country="GB")
REDUCED = TaxRate(name="VAT (reduced)", percentage=Decimal("5"), country="GB")


def gbp(minor):
    return Money(minor, "GBP")


def issue(invoice_total, invoice_tax, amounts):
    """Issues credit notes of `amounts` in turn; returns the CreditTax of each."""
    credited, credited_tax, notes = Money.zero(invoice_total.currency), {}, []
    for amount in amounts:
        note = credit_note_tax(invoice_total=invoice_total, invoice_tax=invoice_tax, amount=amount,
                               credited=credited, credited_tax=credited_tax)
        notes.append(note)
        credited, credited_tax = note.credited_total, note.credited_tax_by_rate
    return notes


# --- remaining creditable ---------------------------------------------------------------------------
def test_remaining_creditable():
    assert remaining_creditable(invoice_total=gbp(12000)) == gbp(12000)
    assert remaining_creditable(invoice_total=gbp(12000), credited=gbp(4000)) == gbp(8000)
    assert remaining_creditable(invoice_total=gbp(12000), credited=[gbp(4000), gbp(8000)]) == gbp(0)
    with pytest.raises(CreditError):
        remaining_creditable(invoice_total=gbp(12000), credited=[gbp(4000), gbp(8001)])
    with pytest.raises(CreditError):
        remaining_creditable(invoice_total=gbp(12000), credited=gbp(-1))
    with pytest.raises(CurrencyError):
        remaining_creditable(invoice_total=gbp(12000), credited=Money(1, "EUR"))


# --- worked examples --------------------------------------------------------------------------------
def test_three_equal_credits_on_a_uk_vat_invoice():
    # £100 + 20 % VAT = £120. Credits of £40: cumulative tax round(2000 × 4/12) = 667, round(2000 × 8/12) = 1333.
    notes = issue(gbp(12000), {VAT: gbp(2000)}, [gbp(4000)] * 3)
    assert [n.tax.amount_minor for n in notes] == [667, 666, 667]
    assert [n.net.amount_minor for n in notes] == [3333, 3334, 3333]
    assert [n.is_final for n in notes] == [False, False, True]
    assert [n.remaining.amount_minor for n in notes] == [8000, 4000, 0]
    assert notes[-1].credited_tax == gbp(2000) and notes[-1].credited_total == gbp(12000)


def test_last_note_sweeps_the_pennies_of_an_inclusive_invoice():
    calc = tax_lines([TaxLine(amount=gbp(1000), rate=VAT_INCL)])  # £10 incl. VAT: tax 167p
    notes = issue(calc.total, calc.tax_by_rate(), [gbp(333), gbp(333), gbp(334)])
    assert [n.tax.amount_minor for n in notes] == [56, 55, 56]  # round(55.61), round(111.22) − 56, sweep
    assert sum(n.tax.amount_minor for n in notes) == 167


def test_tax_is_credited_per_rate():
    calc = tax_lines([TaxLine(amount=gbp(10000), rate=VAT), TaxLine(amount=gbp(5000), rate=REDUCED),
                      TaxLine(amount=gbp(1000))])  # untaxed line
    assert calc.total == gbp(18250) and calc.tax_by_rate() == {VAT: gbp(2000), REDUCED: gbp(250)}
    half = credit_note_tax(invoice_total=calc.total, invoice_tax=calc.tax_by_rate(), amount=gbp(9125))
    assert half.tax_by_rate == {VAT: gbp(1000), REDUCED: gbp(125)} and half.tax == gbp(1125)
    rest = credit_note_tax(invoice_total=calc.total, invoice_tax=calc.tax_by_rate(), amount=gbp(9125),
                           credited=half.credited_total, credited_tax=half.credited_tax_by_rate)
    assert rest.is_final and rest.credited_tax_by_rate == {VAT: gbp(2000), REDUCED: gbp(250)}


def test_a_tiny_note_never_carries_more_tax_than_its_amount():
    # Two 20 % groups, 120p tax each on a 1440p invoice: at 6p credited both shares round up at once.
    a, b = TaxRate(name="A", percentage=Decimal("20"), country="GB"), TaxRate(name="B", percentage=Decimal("20"),
                                                                              country="GB")
    notes = issue(gbp(1440), {a: gbp(120), b: gbp(120)}, [gbp(5), gbp(1), gbp(1), gbp(1433)])
    assert [n.tax_by_rate for n in notes[:3]] == [{a: gbp(0), b: gbp(0)}, {a: gbp(1), b: gbp(0)},
                                                  {a: gbp(0), b: gbp(1)}]  # the cut is caught up next
    assert notes[-1].credited_tax_by_rate == {a: gbp(120), b: gbp(120)}


def test_rate_keys_may_be_stored_ids():
    note = credit_note_tax(invoice_total=gbp(12000), invoice_tax={"txr_1": gbp(2000)}, amount=gbp(6000))
    assert note.tax_by_rate == {"txr_1": gbp(1000)}


def test_jpy_and_kwd():
    # ¥1,100 incl. 10 % (¥100 tax): round(100 × 333/1100) = 30, round(60.55) = 61 → 31, sweep 39.
    notes = issue(Money(1100, "JPY"), {"ct": Money(100, "JPY")}, [Money(333, "JPY")] * 2 + [Money(434, "JPY")])
    assert [n.tax.amount_minor for n in notes] == [30, 31, 39]
    # KWD 1.000 incl. 5 % (48 fils): one fils at a time never credits more than the invoice's tax.
    notes = issue(Money(1000, "KWD"), {"t": Money(48, "KWD")}, [Money(1, "KWD")] * 1000)
    running = 0
    for note in notes:
        running += note.tax.amount_minor
        assert 0 <= note.tax.amount_minor <= 1 and running <= 48
    assert running == 48


def test_full_credit_in_one_note_and_zero_tax_invoice():
    note = credit_note_tax(invoice_total=gbp(12000), invoice_tax={VAT: gbp(2000)}, amount=gbp(12000))
    assert note.is_final and note.tax == gbp(2000) and note.net == gbp(10000)
    note = credit_note_tax(invoice_total=gbp(5000), invoice_tax={}, amount=gbp(100))
    assert note.tax == gbp(0) and note.net == gbp(100)


def test_history_from_elsewhere_is_clamped_and_still_swept():
    # Earlier notes credited more tax than their share: the next partial note carries none, the last sweeps.
    note = credit_note_tax(invoice_total=gbp(12000), invoice_tax={VAT: gbp(2000)}, amount=gbp(1200),
                           credited=gbp(1200), credited_tax={VAT: gbp(1500)})
    assert note.tax == gbp(0)
    last = credit_note_tax(invoice_total=gbp(12000), invoice_tax={VAT: gbp(2000)}, amount=gbp(9600),
                           credited=gbp(2400), credited_tax={VAT: gbp(1500)})
    assert last.tax == gbp(500) and last.credited_tax == gbp(2000)


# --- refusals ---------------------------------------------------------------------------------------
def test_a_credit_beyond_the_remaining_amount_is_refused():
    with pytest.raises(CreditExceedsRemaining) as exc:
        credit_note_tax(invoice_total=gbp(12000), invoice_tax={VAT: gbp(2000)}, amount=gbp(4001),
                        credited=gbp(8000), credited_tax={VAT: gbp(1333)})
    assert exc.value.requested == gbp(4001) and exc.value.remaining == gbp(4000)
    assert "exceeds the remaining creditable amount 4000" in str(exc.value)
    with pytest.raises(CreditExceedsRemaining):  # fully credited: nothing left
        credit_note_tax(invoice_total=gbp(12000), invoice_tax={VAT: gbp(2000)}, amount=gbp(1),
                        credited=gbp(12000), credited_tax={VAT: gbp(2000)})


@pytest.mark.parametrize("kwargs", [
    {"amount": gbp(0)},
    {"amount": gbp(-100)},
    {"amount": gbp(100), "credited": gbp(12001)},
    {"amount": gbp(100), "credited_tax": {VAT: gbp(2001)}},
    {"amount": gbp(100), "credited_tax": {VAT: gbp(-1)}},
    {"amount": gbp(100), "credited_tax": {REDUCED: gbp(1)}},
    {"amount": gbp(100), "invoice_tax": {VAT: gbp(12001)}},
    {"amount": gbp(100), "invoice_tax": {VAT: gbp(-1)}},
])
def test_inconsistent_input_is_refused(kwargs):
    base = {"invoice_total": gbp(12000), "invoice_tax": {VAT: gbp(2000)}}
    with pytest.raises(CreditError):
        credit_note_tax(**(base | kwargs))


def test_currency_mismatch_is_refused():
    with pytest.raises(CurrencyError):
        credit_note_tax(invoice_total=gbp(12000), invoice_tax={VAT: gbp(2000)}, amount=Money(100, "EUR"))
    with pytest.raises(CurrencyError):
        credit_note_tax(invoice_total=gbp(12000), invoice_tax={VAT: Money(2000, "EUR")}, amount=gbp(100))


# --- properties -------------------------------------------------------------------------------------
PERCENTAGES = ["0", "5", "8.875", "10", "20", "21", "100"]
rates = st.builds(lambda pct, incl: TaxRate(name=f"T{pct}{'i' if incl else ''}", percentage=Decimal(pct),
                                            inclusive=incl, country="GB"),
                  st.sampled_from(PERCENTAGES), st.booleans())


@st.composite
def invoices(draw, max_rates=3):
    currency = draw(st.sampled_from(["GBP", "JPY", "KWD"]))
    pool = draw(st.lists(rates, min_size=1, max_size=max_rates, unique=True))
    lines = draw(st.lists(st.builds(lambda amount, rate: TaxLine(amount=Money(amount, currency), rate=rate),
                                    st.integers(1, 60) | st.integers(1, 10**7),
                                    st.one_of(st.none(), st.sampled_from(pool))),
                          min_size=1, max_size=6))
    return tax_lines(lines)


@st.composite
def full_credit_sequences(draw, total: int):
    """Positive amounts summing to `total`: random cut points in (0, total), or equal notes of a drawn
    size and a smaller last one (the case where per-note rounding would drift)."""
    if total > 1 and draw(st.booleans()):
        size = draw(st.integers(1, total))
        count = min(total // size, 40)
        amounts = [size] * count
        return amounts + ([total - sum(amounts)] if sum(amounts) < total else [])
    cuts = draw(st.lists(st.integers(1, max(total - 1, 1)), max_size=12, unique=True)) if total > 1 else []
    points = [0, *sorted(cuts), total]
    return [b - a for a, b in zip(points, points[1:], strict=False)]


def check_sequence(invoice_total, invoice_tax, amounts):
    notes = issue(invoice_total, invoice_tax, amounts)
    running_total = 0
    running = dict.fromkeys(invoice_tax, 0)
    for i, note in enumerate(notes):
        running_total += note.amount.amount_minor
        assert running_total <= invoice_total.amount_minor
        assert note.remaining.amount_minor == invoice_total.amount_minor - running_total
        assert 0 <= note.tax.amount_minor <= note.amount.amount_minor
        for key, tax in note.tax_by_rate.items():
            assert tax.amount_minor >= 0
            running[key] += tax.amount_minor
            assert running[key] <= invoice_tax[key].amount_minor  # no intermediate sum exceeds it
            assert note.credited_tax_by_rate[key].amount_minor == running[key]
        assert note.is_final == (i == len(notes) - 1)
    return notes, running


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_any_sequence_ending_in_a_full_credit_credits_exactly_the_invoice_tax(data):
    calc = data.draw(invoices())
    assume(calc.total.amount_minor > 0)
    amounts = [Money(a, calc.currency) for a in data.draw(full_credit_sequences(calc.total.amount_minor))]
    notes, running = check_sequence(calc.total, calc.tax_by_rate(), amounts)
    assert running == {key: tax.amount_minor for key, tax in calc.tax_by_rate().items()}
    assert sum(n.tax.amount_minor for n in notes) == calc.tax.amount_minor
    assert sum(n.amount.amount_minor for n in notes) == calc.total.amount_minor


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_single_rate_notes_are_within_one_minor_unit_of_their_exact_share(data):
    calc = data.draw(invoices(max_rates=1))
    assume(calc.total.amount_minor > 0 and calc.totals)
    total, tax = calc.total.amount_minor, calc.tax.amount_minor
    amounts = data.draw(full_credit_sequences(total))
    notes, _ = check_sequence(calc.total, calc.tax_by_rate(), [Money(a, calc.currency) for a in amounts])
    for note in notes:
        exact = Fraction(tax * note.amount.amount_minor, total)
        assert abs(note.tax.amount_minor - exact) < 1


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_credits_beyond_the_remaining_amount_are_refused_and_change_nothing(data):
    calc = data.draw(invoices())
    assume(calc.total.amount_minor > 0)
    total, currency, invoice_tax = calc.total.amount_minor, calc.currency, calc.tax_by_rate()
    credited, credited_tax = Money.zero(currency), {}
    attempts = data.draw(st.lists(st.integers(1, 2 * total), min_size=1, max_size=10))
    for attempt in attempts:
        remaining = remaining_creditable(invoice_total=calc.total, credited=credited)
        try:
            note = credit_note_tax(invoice_total=calc.total, invoice_tax=invoice_tax,
                                   amount=Money(attempt, currency), credited=credited, credited_tax=credited_tax)
        except CreditExceedsRemaining as exc:
            assert attempt > remaining.amount_minor and exc.remaining == remaining
            continue
        assert attempt <= remaining.amount_minor
        credited, credited_tax = note.credited_total, note.credited_tax_by_rate
        assert credited.amount_minor <= total
        assert all(credited_tax[k] <= invoice_tax[k] for k in invoice_tax)

"""Payout net, reconciliation lines and the payout schedule (apps.payments.calculations.payouts).

Pure: no database. The acceptance line of issue 4 — "A payout reconciles to the cent with the
transactions it lists (property test over random days)" — is `test_payouts_reconcile_to_the_cent_over_random_days`.
"""
from collections import defaultdict
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from apps.core.money import Money
from apps.payments.calculations import (
    Brand,
    CardTransaction,
    Channel,
    FeeCode,
    Funding,
    PayoutCurrencyError,
    PayoutError,
    PayoutItem,
    PayoutItemKind,
    PayoutSchedule,
    add_business_days,
    card_fee_breakdown,
    chargeback_cost,
    is_business_day,
    next_payout_dates,
    payout_available_on,
    payout_item_from_breakdown,
    payout_summary,
    refund_cost,
)


def sale(amount_minor, currency="GBP", **card):
    card = {"brand": "visa", "funding": "debit", "issuing_country": "GB", "merchant_country": "GB",
            "channel": "cnp_3ds", **card}
    return card_fee_breakdown(transaction=CardTransaction(amount=Money(amount_minor, currency), **card))


def gbp(minor):
    return Money(minor, "GBP")


# --- the breakdown ----------------------------------------------------------------------------------
def test_worked_payout():
    debit = sale(10000)  # fees £2.18 (page 004 Example 1)
    credit = sale(10000, brand="mastercard", funding="credit")  # fees £2.29 (Example 2)
    dispute = chargeback_cost(disputed=gbp(5000))  # held £50 + £15 fee
    items = [
        payout_item_from_breakdown(reference="txn_1", breakdown=debit),
        payout_item_from_breakdown(reference="txn_2", breakdown=credit),
        PayoutItem(reference="re_1", kind="refund", amount=gbp(3000)),
        PayoutItem(reference="dp_1", kind="dispute", amount=dispute.held, fee_lines=(dispute.fee_line,)),
        PayoutItem(reference="dp_0", kind="dispute_won", amount=gbp(2000)),
        PayoutItem(reference="adj_1", kind="adjustment", amount=gbp(-500), description="Reserve"),
    ]
    p = payout_summary(items=items, currency="GBP")
    assert p.gross == gbp(20000)
    assert p.fees == gbp(447)
    assert p.refunds == gbp(3000)
    assert (p.dispute_held, p.dispute_fees, p.dispute_released) == (gbp(5000), gbp(1500), gbp(2000))
    assert p.disputes == gbp(4500)
    assert p.adjustments == gbp(-500)
    assert p.net == gbp(11553)  # 200.00 − 4.47 − 30.00 − 45.00 − 5.00 = 115.53
    assert [line.net.amount_minor for line in p.lines] == [9782, 9771, -3000, -6500, 2000, -500]
    assert p.lines_net == p.net and p.reconciles
    assert [line.reference for line in p.lines] == ["txn_1", "txn_2", "re_1", "dp_1", "dp_0", "adj_1"]
    assert p.fees_by_code == {"interchange": gbp(50), "scheme": gbp(7), "gateway": gbp(30), "platform": gbp(360),
                              "chargeback": gbp(1500)}


def test_empty_and_negative_payouts_are_reported_as_they_are():
    assert payout_summary(items=[], currency="usd").net == Money(0, "USD")
    p = payout_summary(items=[PayoutItem(reference="re_1", kind="refund", amount=gbp(100))], currency="GBP")
    assert p.net == gbp(-100)


def test_mixed_currencies_are_refused_with_the_item_named():
    items = [payout_item_from_breakdown(reference="txn_1", breakdown=sale(10000)),
             payout_item_from_breakdown(reference="txn_2", breakdown=sale(10000, "EUR", issuing_country="DE"))]
    with pytest.raises(PayoutCurrencyError, match="txn_2"):
        payout_summary(items=items, currency="GBP")
    eur_fees = sale(10000, "EUR", issuing_country="DE").lines
    with pytest.raises(PayoutCurrencyError, match="txn_3"):
        payout_summary(items=[PayoutItem(reference="txn_3", kind="sale", amount=gbp(10000), fee_lines=eur_fees)],
                       currency="GBP")


def test_item_rules():
    void = card_fee_breakdown(transaction=CardTransaction(
        amount=gbp(100), kind="void", brand="visa", funding="debit", issuing_country="GB", merchant_country="GB",
        channel="cnp_3ds"))
    with pytest.raises(PayoutError):
        payout_item_from_breakdown(reference="void_1", breakdown=void)
    with pytest.raises(PayoutError):
        PayoutItem(reference="re_1", kind="refund", amount=gbp(-100))
    with pytest.raises(PayoutError):
        PayoutItem(reference="txn_1", kind="sale", amount=gbp(100),
                   fee_lines=(chargeback_cost(disputed=gbp(100)).fee_line,))
    chargeback = card_fee_breakdown(transaction=CardTransaction(
        amount=gbp(100), kind="chargeback", brand="visa", funding="debit", issuing_country="GB",
        merchant_country="GB", channel="cnp_3ds"))
    item = payout_item_from_breakdown(reference="dp_1", breakdown=chargeback)
    assert item.kind == PayoutItemKind.DISPUTE and item.amount == gbp(100)
    assert [line.code for line in item.fee_lines] == [FeeCode.CHARGEBACK]


def test_zero_and_three_decimal_payouts():
    yen = payout_summary(items=[payout_item_from_breakdown(
        reference="txn_1", breakdown=sale(10000, "JPY", funding="credit", issuing_country="JP"))], currency="JPY")
    assert yen.net == Money(9605, "JPY")
    kwd = payout_summary(items=[payout_item_from_breakdown(
        reference="txn_1", breakdown=sale(12345, "KWD", funding="credit", issuing_country="KW"))], currency="KWD")
    assert kwd.net == Money(11758, "KWD")


# --- the acceptance property ------------------------------------------------------------------------
card_details = st.fixed_dictionaries({
    "brand": st.sampled_from(list(Brand)),
    "funding": st.sampled_from(list(Funding)),
    "issuing_country": st.sampled_from(["GB", "IE", "DE", "FR", "US", "JP", "CH"]),
    "merchant_country": st.sampled_from(["GB", "JE", "IE"]),
    "channel": st.sampled_from(list(Channel)),
})


@st.composite
def settled_day(draw, currency):
    """One day's settled items: sales with real fee lines, refunds of them, disputes (+ fee),
    won disputes released, signed adjustments."""
    items, sales = [], []
    for _ in range(draw(st.integers(0, 12))):
        kind = draw(st.sampled_from(["sale", "sale", "sale", "refund", "dispute", "dispute_won", "adjustment"]))
        n = len(items)
        if kind == "sale" or (kind in ("refund", "dispute") and not sales):
            breakdown = card_fee_breakdown(transaction=CardTransaction(
                amount=Money(draw(st.integers(1, 10**8)), currency), **draw(card_details)))
            sales.append(breakdown)
            items.append((payout_item_from_breakdown(reference=f"txn_{n}", breakdown=breakdown), breakdown))
        elif kind == "refund":
            original = draw(st.sampled_from(sales))
            amount = Money(draw(st.integers(1, original.gross.amount_minor)), currency)
            cost = refund_cost(sale=original, refund=amount)
            items.append((PayoutItem(reference=f"re_{n}", kind="refund", amount=cost.refund,
                                     fee_lines=cost.fee_lines), None))
        elif kind == "dispute":
            original = draw(st.sampled_from(sales))
            cost = chargeback_cost(disputed=original.gross, fee=Money(draw(st.integers(0, 5000)), currency))
            items.append((PayoutItem(reference=f"dp_{n}", kind="dispute", amount=cost.held,
                                     fee_lines=(cost.fee_line,)), None))
        elif kind == "dispute_won":
            items.append((PayoutItem(reference=f"dw_{n}", kind="dispute_won",
                                     amount=Money(draw(st.integers(1, 10**7)), currency)), None))
        else:
            items.append((PayoutItem(reference=f"adj_{n}", kind="adjustment",
                                     amount=Money(draw(st.integers(-10**7, 10**7)), currency)), None))
    return items


@st.composite
def settled_days(draw):
    currency = draw(st.sampled_from(["GBP", "EUR", "USD", "JPY", "KWD"]))
    start = draw(st.dates(min_value=date(2024, 1, 1), max_value=date(2027, 12, 31)))
    days = draw(st.lists(settled_day(currency), min_size=1, max_size=7))
    return currency, {start + timedelta(days=i): day for i, day in enumerate(days)}


@settings(max_examples=150, deadline=None)
@given(settled_days())
def test_payouts_reconcile_to_the_cent_over_random_days(data):
    currency, days = data
    daily_nets = []
    for items_and_breakdowns in days.values():
        items = [item for item, _ in items_and_breakdowns]
        p = payout_summary(items=items, currency=currency)
        # the payout lists every transaction, once, in order
        assert [line.reference for line in p.lines] == [item.reference for item in items]
        # every line: net = signed amount − its fees; a sale's line equals its fee breakdown
        for line, (item, breakdown) in zip(p.lines, items_and_breakdowns, strict=True):
            assert line.amount == item.signed_amount
            assert line.net == line.amount - line.fees
            assert line.fees.amount_minor >= 0
            if breakdown is not None:
                assert line.net == breakdown.net and line.fees == breakdown.fees
        # the lines sum to the payout net to the cent, and so does the page-047 formula
        assert sum(line.net.amount_minor for line in p.lines) == p.net.amount_minor
        assert p.net == p.gross - p.fees - p.refunds - p.disputes + p.adjustments
        all_fee_lines = sum(f.amount.amount_minor for line in p.lines for f in line.fee_lines)
        assert all_fee_lines == p.fees.amount_minor + p.dispute_fees.amount_minor
        daily_nets.append(p.net)
    # payouts are additive: the days' payouts sum to one payout of everything
    everything = payout_summary(items=[item for day in days.values() for item, _ in day], currency=currency)
    assert sum(n.amount_minor for n in daily_nets) == everything.net.amount_minor


# --- schedule ---------------------------------------------------------------------------------------
def test_daily_payouts_next_business_day():
    friday = date(2025, 1, 3)
    assert next_payout_dates(settlement_date=friday, schedule=PayoutSchedule(), count=3) == [
        date(2025, 1, 6), date(2025, 1, 7), date(2025, 1, 8)]
    saturday = date(2025, 1, 4)
    assert next_payout_dates(settlement_date=saturday, schedule=PayoutSchedule()) == [date(2025, 1, 6)]
    assert next_payout_dates(settlement_date=saturday, schedule=PayoutSchedule(delay_days=0)) == [date(2025, 1, 6)]
    assert next_payout_dates(settlement_date=friday, schedule=PayoutSchedule(delay_days=2)) == [date(2025, 1, 7)]


def test_holidays_are_skipped_only_when_given():
    christmas = frozenset({date(2025, 12, 25), date(2025, 12, 26)})
    eve = date(2025, 12, 24)
    assert next_payout_dates(settlement_date=eve, schedule=PayoutSchedule()) == [date(2025, 12, 25)]
    assert next_payout_dates(settlement_date=eve, schedule=PayoutSchedule(), holidays=christmas) == [
        date(2025, 12, 29)]


def test_weekly_payouts_on_the_anchor_weekday():
    wednesday = PayoutSchedule(interval="weekly", weekly_anchor=2)
    assert next_payout_dates(settlement_date=date(2025, 1, 6), schedule=wednesday, count=3) == [
        date(2025, 1, 8), date(2025, 1, 15), date(2025, 1, 22)]
    # settled Wednesday: available Thursday, so the next Wednesday
    assert next_payout_dates(settlement_date=date(2025, 1, 8), schedule=wednesday) == [date(2025, 1, 15)]


def test_monthly_payouts_fall_back_to_month_end_and_roll_past_weekends():
    on_31st = PayoutSchedule(interval="monthly", monthly_anchor=31)
    # 31 Aug 2024 is a Saturday → Mon 2 Sep; 30 Nov 2024 is a Saturday → Mon 2 Dec
    assert next_payout_dates(settlement_date=date(2024, 8, 28), schedule=on_31st, count=4) == [
        date(2024, 9, 2), date(2024, 9, 30), date(2024, 10, 31), date(2024, 12, 2)]
    assert next_payout_dates(settlement_date=date(2028, 2, 10), schedule=on_31st) == [date(2028, 2, 29)]
    on_15th = PayoutSchedule(interval="monthly", monthly_anchor=15)
    assert next_payout_dates(settlement_date=date(2025, 1, 15), schedule=on_15th) == [date(2025, 2, 17)]


def test_schedule_validation():
    with pytest.raises(PayoutError):
        PayoutSchedule(interval="weekly", weekly_anchor=5)  # Saturday is not a payout day
    with pytest.raises(PayoutError):
        PayoutSchedule(interval="monthly", monthly_anchor=0)
    with pytest.raises(PayoutError):
        next_payout_dates(settlement_date=date(2025, 1, 1), schedule=PayoutSchedule(), count=0)
    with pytest.raises(ValueError):
        PayoutSchedule(interval="fortnightly")


schedules = st.builds(
    lambda interval, weekday, day, delay: PayoutSchedule(interval=interval, weekly_anchor=weekday,
                                                         monthly_anchor=day, delay_days=delay),
    st.sampled_from(["daily", "weekly", "monthly"]), st.integers(0, 4), st.integers(1, 31), st.integers(0, 5))


@settings(max_examples=300, deadline=None)
@given(st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 12, 31)), schedules,
       st.sets(st.dates(min_value=date(2020, 1, 1), max_value=date(2031, 3, 31)), max_size=20))
def test_payout_dates_are_business_days_after_the_funds_are_available(settled, schedule, holidays):
    holidays = frozenset(holidays)
    available = payout_available_on(settlement_date=settled, schedule=schedule, holidays=holidays)
    assert available >= settled and is_business_day(available, holidays)
    dates = next_payout_dates(settlement_date=settled, schedule=schedule, count=4, holidays=holidays)
    assert dates[0] >= available
    assert all(is_business_day(d, holidays) for d in dates)
    assert all(a < b for a, b in zip(dates, dates[1:], strict=False))
    if schedule.interval == "daily":
        assert dates[0] == available
    elif schedule.interval == "weekly":
        assert dates[0] - available < timedelta(days=7 + 7)  # within a week, plus holiday roll
    counts = defaultdict(int)
    for d in dates:
        counts[d] += 1
    assert max(counts.values()) == 1


def test_add_business_days():
    assert add_business_days(day=date(2025, 1, 3), days=1) == date(2025, 1, 6)
    assert add_business_days(day=date(2025, 1, 3), days=0) == date(2025, 1, 3)
    assert add_business_days(day=date(2025, 1, 4), days=0) == date(2025, 1, 6)
    with pytest.raises(PayoutError):
        add_business_days(day=date(2025, 1, 3), days=-1)

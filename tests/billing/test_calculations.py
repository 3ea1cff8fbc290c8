"""The billing schedule (apps.billing.calculations): examples from the docs and properties."""
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from apps.billing.calculations import (
    ANCHOR_RULES,
    INTERVALS,
    RecurringPrice,
    ScheduleError,
    add_months,
    billing_schedule,
    days_in_month,
    period_boundary,
)
from apps.catalog.calculations import PriceSpec, Tier
from apps.core.money import Money

MONTHLY_2900 = RecurringPrice(PriceSpec("fixed", "USD", unit_amount_minor=2900), "month", 1)
ZONES = [UTC, ZoneInfo("Europe/London"), ZoneInfo("America/New_York"), ZoneInfo("Australia/Sydney"),
         ZoneInfo("Asia/Kolkata")]


def utc(*args):
    return datetime(*args, tzinfo=UTC)


def starts(schedule):
    return [c.period_start for c in schedule.charges]


# --- examples --------------------------------------------------------------------------------------
def test_month_end_anchor_keeps_its_day_and_never_drifts():
    schedule = billing_schedule(price=MONTHLY_2900, start=utc(2027, 1, 31, 9), count=6)
    assert [d.date().isoformat() for d in starts(schedule)] == [
        "2027-01-31", "2027-02-28", "2027-03-31", "2027-04-30", "2027-05-31", "2027-06-30"]
    leap = billing_schedule(price=MONTHLY_2900, start=utc(2028, 1, 31), count=3)
    assert [d.day for d in starts(leap)] == [31, 29, 31]
    assert all(c.amount == Money(2900, "USD") and c.charge_date == c.period_start for c in schedule.charges)
    assert schedule.total == Money(6 * 2900, "USD")


def test_yearly_from_29_february():
    price = RecurringPrice(PriceSpec("fixed", "GBP", unit_amount_minor=29000), "year", 1)
    dates = [d.date().isoformat() for d in starts(billing_schedule(price=price, start=utc(2028, 2, 29), count=5))]
    assert dates == ["2028-02-29", "2029-02-28", "2030-02-28", "2031-02-28", "2032-02-29"]


def test_quarterly_half_yearly_weekly_and_daily():
    def dates(interval, count_, start, n=3):
        price = RecurringPrice(PriceSpec("fixed", "USD", unit_amount_minor=100), interval, count_)
        return [d.date().isoformat() for d in starts(billing_schedule(price=price, start=start, count=n))]

    assert dates("quarter", 1, utc(2027, 11, 30)) == ["2027-11-30", "2028-02-29", "2028-05-30"]
    assert dates("month", 3, utc(2027, 11, 30)) == ["2027-11-30", "2028-02-29", "2028-05-30"]
    assert dates("half_year", 1, utc(2027, 8, 31)) == ["2027-08-31", "2028-02-29", "2028-08-31"]
    assert dates("week", 2, utc(2027, 1, 1)) == ["2027-01-01", "2027-01-15", "2027-01-29"]
    assert dates("day", 1, utc(2027, 2, 27)) == ["2027-02-27", "2027-02-28", "2027-03-01"]


def test_trial_moves_the_first_charge_to_the_trial_end():
    price = RecurringPrice(PriceSpec("fixed", "USD", unit_amount_minor=2900), "month", 1, trial_days=14)
    schedule = billing_schedule(price=price, start=utc(2027, 1, 20, 12), count=2)
    assert (schedule.trial_start, schedule.trial_end) == (utc(2027, 1, 20, 12), utc(2027, 2, 3, 12))
    assert starts(schedule) == [utc(2027, 2, 3, 12), utc(2027, 3, 3, 12)]
    no_trial = billing_schedule(price=price, start=utc(2027, 1, 20, 12), count=1, trial_days=0)
    assert no_trial.trial_end is None and starts(no_trial) == [utc(2027, 1, 20, 12)]


def test_day_of_month_anchor_prorates_the_first_period():
    schedule = billing_schedule(price=MONTHLY_2900, start=utc(2027, 4, 16), count=3, anchor_rule="day_of_month",
                                anchor_day=1)
    first, second, third = schedule.charges
    assert (first.period_start, first.period_end) == (utc(2027, 4, 16), utc(2027, 5, 1))
    assert first.prorated and first.amount == Money(round(2900 * 15 / 30), "USD")  # 15 of April's 30 days
    assert (second.period_start, second.period_end, second.amount) == (utc(2027, 5, 1), utc(2027, 6, 1),
                                                                       Money(2900, "USD"))
    assert third.period_start == utc(2027, 6, 1)
    full = billing_schedule(price=MONTHLY_2900, start=utc(2027, 4, 16), count=1, anchor_rule="first_of_month",
                            first_period="full")
    assert full.charges[0].amount == Money(2900, "USD") and not full.charges[0].prorated
    on_day = billing_schedule(price=MONTHLY_2900, start=utc(2027, 4, 1), count=2, anchor_rule="first_of_month")
    assert not on_day.charges[0].prorated and starts(on_day) == [utc(2027, 4, 1), utc(2027, 5, 1)]


def test_last_of_month_anchor():
    schedule = billing_schedule(price=MONTHLY_2900, start=utc(2027, 2, 10), count=4, anchor_rule="last_of_month")
    assert [c.period_start.date().isoformat() for c in schedule.charges] == [
        "2027-02-10", "2027-02-28", "2027-03-31", "2027-04-30"]


def test_wall_clock_is_kept_across_daylight_saving():
    london = ZoneInfo("Europe/London")
    schedule = billing_schedule(price=MONTHLY_2900, start=datetime(2027, 2, 15, 9, tzinfo=london), count=3)
    assert [c.period_start.hour for c in schedule.charges] == [9, 9, 9]
    assert [c.period_start.utcoffset() for c in schedule.charges] == [timedelta(0), timedelta(0), timedelta(hours=1)]


def test_tiered_and_quantity_amounts():
    seats = RecurringPrice(PriceSpec("graduated", "USD", tiers=(Tier(5, 1000), Tier(None, 800))), "month", 1)
    schedule = billing_schedule(price=seats, start=utc(2027, 1, 1), count=2, quantity=8)
    assert [c.amount.amount_minor for c in schedule.charges] == [5 * 1000 + 3 * 800] * 2


@pytest.mark.parametrize("kwargs, field", [
    ({"count": 0}, "count"),
    ({"count": 121}, "count"),
    ({"anchor_rule": "sometimes"}, "anchor_rule"),
    ({"anchor_rule": "day_of_month"}, "anchor_day"),
    ({"anchor_rule": "day_of_month", "anchor_day": 32}, "anchor_day"),
    ({"anchor_day": 5}, "anchor_day"),
    ({"first_period": "free"}, "first_period"),
    ({"start": datetime(2027, 1, 1)}, "start"),
    ({"start": utc(9999, 6, 1), "count": 12}, "start"),
])
def test_bad_input_names_its_field(kwargs, field):
    kwargs = {"price": MONTHLY_2900, "start": utc(2027, 1, 1), "count": 3, **kwargs}
    with pytest.raises(ScheduleError) as info:
        billing_schedule(**kwargs)
    assert info.value.field == field


def test_day_based_intervals_only_take_the_start_rule():
    weekly = RecurringPrice(PriceSpec("fixed", "USD", unit_amount_minor=100), "week", 1)
    with pytest.raises(ScheduleError) as info:
        billing_schedule(price=weekly, start=utc(2027, 1, 1), count=2, anchor_rule="first_of_month")
    assert info.value.field == "anchor_rule"


# --- properties ------------------------------------------------------------------------------------
@st.composite
def schedules(draw):
    interval = draw(st.sampled_from(sorted(INTERVALS)))
    limit = {"day": 60, "week": 20, "month": 12, "quarter": 4, "half_year": 2, "year": 2}[interval]
    count = draw(st.integers(min_value=1, max_value=limit))
    rules = ["start"] + ([r for r in ANCHOR_RULES if r != "start"] if INTERVALS[interval].months else [])
    rule = draw(st.sampled_from(rules))
    anchor_day = draw(st.integers(min_value=1, max_value=31)) if rule == "day_of_month" else None
    zone = draw(st.sampled_from(ZONES))
    naive = draw(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2090, 12, 31)))
    start = naive.replace(tzinfo=zone, microsecond=0)
    unit = draw(st.integers(min_value=0, max_value=10**7))
    quantity = draw(st.integers(min_value=0, max_value=1000))
    trial = draw(st.sampled_from([0, 0, 7, 14, 30]))
    price = RecurringPrice(PriceSpec("fixed", draw(st.sampled_from(["USD", "JPY", "KWD"])), unit_amount_minor=unit),
                           interval, count, trial_days=trial)
    n = draw(st.integers(min_value=1, max_value=24))
    first_period = draw(st.sampled_from(["prorate", "full"]))
    return dict(price=price, start=start, count=n, quantity=quantity, anchor_rule=rule, anchor_day=anchor_day,
                first_period=first_period)


@settings(max_examples=300, deadline=None)
@given(kwargs=schedules())
def test_periods_are_n_contiguous_strictly_increasing_and_amounts_add_up(kwargs):
    schedule = billing_schedule(**kwargs)
    charges = schedule.charges
    assert len(charges) == kwargs["count"]
    assert [c.index for c in charges] == list(range(len(charges)))
    as_utc = [(c.period_start.astimezone(UTC), c.period_end.astimezone(UTC)) for c in charges]
    for start, end in as_utc:
        assert start < end
    for (_, end), (next_start, _) in zip(as_utc, as_utc[1:], strict=False):
        assert end == next_start  # contiguous, non-overlapping
    assert charges[0].period_start == schedule.trial_end or charges[0].period_start == kwargs["start"]
    full = kwargs["price"].spec.unit_amount_minor * kwargs["quantity"]
    assert all(c.charge_date == c.period_start for c in charges)
    assert all(c.amount.amount_minor == full for c in charges[1:])
    assert 0 <= charges[0].amount.amount_minor <= full
    prorated = [c for c in charges if c.prorated]
    assert len(prorated) <= 1 and (not prorated or prorated[0].index == 0)
    assert schedule.total.amount_minor == sum(c.amount.amount_minor for c in charges)
    assert schedule.total.amount_minor == full * (len(charges) - len(prorated)) + sum(
        c.amount.amount_minor for c in prorated)


@settings(max_examples=300, deadline=None)
@given(kwargs=schedules())
def test_month_based_schedules_keep_their_anchor_day(kwargs):
    schedule = billing_schedule(**kwargs)
    if not INTERVALS[kwargs["price"].interval].months:
        return
    day = schedule.anchor_day
    anchor = schedule.anchor.astimezone(UTC)
    for charge in schedule.charges:
        # A shorter first period (anchor rules other than "start") begins off the anchor day.
        moments = [charge.period_end] if charge.period_start.astimezone(UTC) < anchor else [charge.period_start,
                                                                                            charge.period_end]
        for moment in moments:
            assert moment.day == min(day, days_in_month(moment.year, moment.month))


@settings(max_examples=200, deadline=None)
@given(kwargs=schedules(), extra=st.integers(min_value=1, max_value=12))
def test_a_longer_preview_starts_with_the_shorter_one(kwargs, extra):
    """The scheduler can compute one more period at a time and agree with the preview."""
    short = billing_schedule(**kwargs)
    longer = billing_schedule(**{**kwargs, "count": kwargs["count"] + extra})
    assert longer.charges[: len(short.charges)] == short.charges


@given(base=st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2900, 1, 1)),
       months=st.integers(min_value=-240, max_value=240), day=st.integers(min_value=1, max_value=31))
def test_add_months_clamps_to_month_end(base, months, day):
    moved = add_months(base, months, day=day)
    assert (moved.year * 12 + moved.month) - (base.year * 12 + base.month) == months
    assert moved.day == min(day, days_in_month(moved.year, moved.month))
    assert moved.time() == base.time()


@given(k=st.integers(min_value=0, max_value=50))
def test_boundaries_come_from_the_anchor_not_the_previous_boundary(k):
    anchor = utc(2027, 1, 31)
    assert period_boundary(anchor, "month", 1, k) == add_months(anchor, k, day=31)

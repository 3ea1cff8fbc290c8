"""Void eligibility from the batch cut-off and the reversal options (apps.payments.calculations.voids).

Pure: no database. Page 025's windows (safe ≥ 2 h, high-risk ≤ 15 min, none after the cut-off), the
risky band between them, DST days in New York (9 March and 2 November 2025), and properties:
monotonic in time, durations in real seconds.
"""
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from apps.core.money import Money
from apps.payments.calculations import (
    HIGH_RISK_LEAD,
    SAFE_LEAD,
    BatchCutoff,
    PaymentStatus,
    ReversalKind,
    VoidEligibility,
    VoidWindowError,
    cutoff_after,
    reversal_options,
    void_window,
)
from apps.payments.calculations.voids import ELIGIBILITY_ORDER

NY = ZoneInfo("America/New_York")
LONDON = ZoneInfo("Europe/London")


def ny(*args):
    return datetime(*args, tzinfo=NY)


def rank(window):
    return ELIGIBILITY_ORDER.index(window.eligibility)


# --- the windows ------------------------------------------------------------------------------------
@pytest.mark.parametrize("now,expected,minutes", [
    (ny(2025, 6, 10, 17, 0), VoidEligibility.SAFE, 180),
    (ny(2025, 6, 10, 18, 0), VoidEligibility.SAFE, 120),  # exactly 2 h: "2+ hours away"
    (ny(2025, 6, 10, 18, 0, 1), VoidEligibility.RISKY, 119),
    (ny(2025, 6, 10, 19, 44, 59), VoidEligibility.RISKY, 15),
    (ny(2025, 6, 10, 19, 45), VoidEligibility.HIGH_RISK, 15),  # exactly 15 min: "within 15 minutes"
    (ny(2025, 6, 10, 19, 59, 59), VoidEligibility.HIGH_RISK, 0),
    (ny(2025, 6, 10, 20, 0), VoidEligibility.NONE, 0),  # the batch closes at the cut-off
    (ny(2025, 6, 11, 9, 0), VoidEligibility.NONE, 0),
])
def test_windows_around_the_default_8pm_eastern_cutoff(now, expected, minutes):
    w = void_window(now=now, captured_at=ny(2025, 6, 10, 10, 0))
    assert w.eligibility == expected
    assert w.minutes_remaining == minutes
    assert w.batch_cutoff_at == ny(2025, 6, 10, 20, 0)


def test_labels_actions_and_warnings_use_page_025_wording():
    captured = ny(2025, 6, 10, 10, 0)
    safe = void_window(now=ny(2025, 6, 10, 12, 0), captured_at=captured)
    assert (safe.label, safe.action_label, safe.warning) == ("Safe to Void", "Void Payment", None)
    assert safe.message.startswith("Settlement is 2+ hours away.")
    high = void_window(now=ny(2025, 6, 10, 19, 50), captured_at=captured)
    assert (high.label, high.action_label) == ("High-Risk Void Window", "Attempt Void")
    assert high.warning == ("Settlement is within 15 minutes. The batch may have already closed. "
                            "If void fails, you will need to process a refund instead.")
    risky = void_window(now=ny(2025, 6, 10, 19, 0), captured_at=captured)
    assert risky.action_label == "Void Payment" and "60 minutes" in risky.warning
    done = void_window(now=ny(2025, 6, 10, 21, 0), captured_at=captured)
    assert (done.label, done.action_label, done.void_allowed) == ("Settlement Complete", "Process Refund", False)


def test_gateway_batch_close_wins_over_the_clock():
    w = void_window(now=ny(2025, 6, 10, 11, 0), captured_at=ny(2025, 6, 10, 10, 0), batch_closed=True)
    assert w.eligibility == VoidEligibility.NONE and w.minutes_remaining == 0


def test_capture_at_or_after_the_cutoff_belongs_to_the_next_batch():
    w = void_window(now=ny(2025, 6, 10, 21, 0), captured_at=ny(2025, 6, 10, 20, 30))
    assert w.eligibility == VoidEligibility.SAFE and w.batch_cutoff_at == ny(2025, 6, 11, 20, 0)
    at = void_window(now=ny(2025, 6, 10, 20, 0), captured_at=ny(2025, 6, 10, 20, 0))
    assert at.batch_cutoff_at == ny(2025, 6, 11, 20, 0) and at.minutes_remaining == 24 * 60


def test_next_cutoff_is_tomorrow_once_the_batch_has_closed():
    w = void_window(now=ny(2025, 6, 10, 21, 0), captured_at=ny(2025, 6, 10, 10, 0))
    assert w.batch_cutoff_at == ny(2025, 6, 10, 20, 0)
    assert w.next_cutoff_at == ny(2025, 6, 11, 20, 0)


def test_inputs_in_any_zone_give_the_same_answer():
    captured_utc = ny(2025, 6, 10, 10, 0).astimezone(UTC)
    now_tokyo = ny(2025, 6, 10, 19, 50).astimezone(ZoneInfo("Asia/Tokyo"))
    w = void_window(now=now_tokyo, captured_at=captured_utc)
    assert w.eligibility == VoidEligibility.HIGH_RISK and w.minutes_remaining == 10


def test_bad_input_is_refused():
    with pytest.raises(VoidWindowError):
        void_window(now=datetime(2025, 6, 10, 12), captured_at=ny(2025, 6, 10, 10))
    with pytest.raises(VoidWindowError):
        void_window(now=ny(2025, 6, 10, 9), captured_at=ny(2025, 6, 10, 10))
    with pytest.raises(VoidWindowError):
        BatchCutoff(zone="Mars/Olympus")


# --- DST ------------------------------------------------------------------------------------------
def test_march_dst_day_counts_real_minutes():
    # 9 March 2025: clocks jump 02:00 EST → 03:00 EDT. The cut-off stays 20:00 New York time.
    captured = ny(2025, 3, 9, 1, 0)  # EST, 06:00 UTC
    w = void_window(now=ny(2025, 3, 9, 1, 30), captured_at=captured)
    assert w.batch_cutoff_at.astimezone(UTC) == datetime(2025, 3, 10, 0, 0, tzinfo=UTC)
    assert w.minutes_remaining == 17 * 60 + 30  # not 18 h 30 (wall-clock subtraction)
    assert void_window(now=ny(2025, 3, 9, 18, 0), captured_at=captured).eligibility == VoidEligibility.SAFE
    assert void_window(now=ny(2025, 3, 9, 18, 1), captured_at=captured).eligibility == VoidEligibility.RISKY
    assert void_window(now=ny(2025, 3, 9, 19, 45), captured_at=captured).eligibility == VoidEligibility.HIGH_RISK


def test_november_dst_day_counts_real_minutes():
    # 2 November 2025: clocks fall back 02:00 EDT → 01:00 EST; the day has 25 hours.
    captured = ny(2025, 11, 2, 0, 30)  # EDT, 04:30 UTC
    w = void_window(now=captured, captured_at=captured)
    assert w.batch_cutoff_at.astimezone(UTC) == datetime(2025, 11, 3, 1, 0, tzinfo=UTC)
    assert w.minutes_remaining == 20 * 60 + 30  # not 19 h 30
    assert void_window(now=ny(2025, 11, 2, 19, 45), captured_at=captured).eligibility == VoidEligibility.HIGH_RISK
    assert void_window(now=ny(2025, 11, 2, 20, 0), captured_at=captured).eligibility == VoidEligibility.NONE


def test_cutoff_in_a_skipped_or_repeated_hour():
    gap = BatchCutoff(time_of_day=time(2, 30), zone="America/New_York")
    at = cutoff_after(moment=ny(2025, 3, 9, 0, 0), cutoff=gap)
    assert at.astimezone(UTC) == datetime(2025, 3, 9, 7, 30, tzinfo=UTC)  # 03:30 EDT, after the jump
    repeated = BatchCutoff(time_of_day=time(1, 30), zone="America/New_York")
    first = cutoff_after(moment=ny(2025, 11, 2, 0, 0), cutoff=repeated)
    assert first.astimezone(UTC) == datetime(2025, 11, 2, 5, 30, tzinfo=UTC)  # the first 01:30 (EDT)


def test_a_london_cutoff_follows_british_summer_time():
    cutoff = BatchCutoff(time_of_day=time(23, 0), zone="Europe/London")
    winter = cutoff_after(moment=datetime(2025, 3, 29, 12, tzinfo=UTC), cutoff=cutoff)
    summer = cutoff_after(moment=datetime(2025, 3, 30, 12, tzinfo=UTC), cutoff=cutoff)
    assert winter.astimezone(UTC).hour == 23 and summer.astimezone(UTC).hour == 22


# --- reversal options -------------------------------------------------------------------------------
GBP_100 = Money(10000, "GBP")


def window_at(hour, minute=0, **kwargs):
    return void_window(now=ny(2025, 6, 10, hour, minute), captured_at=ny(2025, 6, 10, 9, 0), **kwargs)


def test_before_settlement_only_a_void_is_offered():
    safe = reversal_options(status="succeeded", amount=GBP_100, window=window_at(12))
    assert safe.kinds == (ReversalKind.VOID,)
    option = safe.options[0]
    assert (option.action_label, option.max_amount, option.partial_allowed, option.warning) == (
        "Void Payment", GBP_100, False, None)
    high = reversal_options(status="succeeded", amount=GBP_100, window=window_at(19, 50))
    assert high.options[0].action_label == "Attempt Void" and "refund instead" in high.options[0].warning
    risky = reversal_options(status="succeeded", amount=GBP_100, window=window_at(19))
    assert risky.options[0].action_label == "Void Payment" and risky.options[0].warning


def test_after_settlement_only_a_refund_is_offered():
    settled = reversal_options(status="succeeded", amount=GBP_100, window=window_at(21))
    assert settled.kinds == (ReversalKind.REFUND,)
    assert settled.options[0].action_label == "Process Refund" and settled.options[0].partial_allowed
    assert settled.options[0].max_amount == GBP_100
    closed = reversal_options(status="succeeded", amount=GBP_100, window=window_at(12, batch_closed=True))
    assert closed.kinds == (ReversalKind.REFUND,)
    partly = reversal_options(status="partially_refunded", amount=GBP_100, refunded=Money(3000, "GBP"),
                              window=window_at(12))
    assert partly.kinds == (ReversalKind.REFUND,) and partly.options[0].max_amount == Money(7000, "GBP")


@pytest.mark.parametrize("status", ["pending", "requires_action", "failed", "voided", "refunded", "disputed"])
def test_nothing_is_offered_for_states_without_captured_funds(status):
    result = reversal_options(status=status, amount=GBP_100, window=window_at(12))
    assert result.options == () and result.message


def test_reversal_input_is_checked():
    with pytest.raises(VoidWindowError):
        reversal_options(status=PaymentStatus.SUCCEEDED, amount=GBP_100, refunded=Money(10001, "GBP"))
    fully = reversal_options(status="partially_refunded", amount=GBP_100, refunded=GBP_100)
    assert fully.options == ()


# --- properties -------------------------------------------------------------------------------------
moments = st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC))
# Around the 2025 US DST changes, where wall-clock arithmetic goes wrong.
dst_moments = st.sampled_from([datetime(2025, 3, 9, 5, tzinfo=UTC), datetime(2025, 11, 2, 4, tzinfo=UTC)]).flatmap(
    lambda base: st.integers(-36 * 3600, 36 * 3600).map(lambda s: base + timedelta(seconds=s)))
zones = st.sampled_from(["America/New_York", "Europe/London", "Australia/Sydney", "UTC"])
cutoffs = st.builds(lambda h, m, z: BatchCutoff(time_of_day=time(h, m), zone=z),
                    st.integers(0, 23), st.sampled_from([0, 15, 30, 45]), zones)


@settings(max_examples=300, deadline=None)
@given(st.one_of(moments, dst_moments), st.integers(0, 3 * 86400), st.integers(0, 3 * 86400),
       st.one_of(st.just(BatchCutoff()), cutoffs), st.booleans())
def test_eligibility_never_improves_as_time_passes(captured, a, b, cutoff, closed):
    earlier, later = sorted((a, b))
    first = void_window(now=captured + timedelta(seconds=earlier), captured_at=captured, cutoff=cutoff,
                        batch_closed=closed)
    second = void_window(now=captured + timedelta(seconds=later), captured_at=captured, cutoff=cutoff,
                         batch_closed=closed)
    assert rank(first) <= rank(second)
    assert first.minutes_remaining >= second.minutes_remaining


@settings(max_examples=300, deadline=None)
@given(st.one_of(moments, dst_moments), st.integers(0, 2 * 86400), st.one_of(st.just(BatchCutoff()), cutoffs))
def test_classification_is_by_real_seconds_to_the_wall_clock_cutoff(captured, elapsed, cutoff):
    now = captured + timedelta(seconds=elapsed)
    w = void_window(now=now, captured_at=captured, cutoff=cutoff)
    batch_utc = w.batch_cutoff_at.astimezone(UTC)
    # the batch cut-off is the first one after the capture: after it, and within a day (+1 h on DST days)
    assert captured < batch_utc <= captured + timedelta(hours=25)
    local = w.batch_cutoff_at.astimezone(cutoff.tz)
    if cutoff.zone == "America/New_York" and cutoff.time_of_day == time(20, 0):
        assert (local.hour, local.minute) == (20, 0)  # 8 PM Eastern, whatever the season
    remaining = batch_utc - now
    if remaining <= timedelta(0):
        assert w.eligibility == VoidEligibility.NONE
    elif remaining <= HIGH_RISK_LEAD:
        assert w.eligibility == VoidEligibility.HIGH_RISK
    elif remaining < SAFE_LEAD:
        assert w.eligibility == VoidEligibility.RISKY
    else:
        assert w.eligibility == VoidEligibility.SAFE
    if w.eligibility != VoidEligibility.NONE:
        assert w.minutes_remaining == int(remaining.total_seconds() // 60)
    assert w.next_cutoff_at.astimezone(UTC) > now

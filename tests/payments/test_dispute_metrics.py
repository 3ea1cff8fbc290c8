"""Dispute health (page 044): dispute, win and response rates against their targets, as pure maths and on
the Disputes page."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st

from apps.core.clock import now
from apps.core.ids import new_id
from apps.payments.calculations import dispute_rates
from apps.payments.models import Dispute, Payment
from tests.payments.probes_disputes import make_dispute


def test_rates_and_targets_from_counts():
    rates = dispute_rates(payments=400, disputes=3, won=2, lost=1, responded=3, response_due=3)
    assert (rates.dispute_rate, rates.win_rate, rates.response_rate) == (Decimal("0.8"), Decimal("66.7"),
                                                                           Decimal("100.0"))
    assert (rates.dispute_rate_ok, rates.win_rate_ok, rates.response_rate_ok) == (True, True, True)
    worse = dispute_rates(payments=100, disputes=2, won=1, lost=1, responded=1, response_due=2)
    assert (worse.dispute_rate, worse.win_rate, worse.response_rate) == (Decimal("2.0"), Decimal("50.0"),
                                                                         Decimal("50.0"))
    assert (worse.dispute_rate_ok, worse.win_rate_ok, worse.response_rate_ok) == (False, False, False)


def test_nothing_to_divide_by_is_no_data_not_zero():
    rates = dispute_rates(payments=0, disputes=0, won=0, lost=0, responded=0, response_due=0)
    assert (rates.dispute_rate, rates.win_rate, rates.response_rate) == (None, None, None)
    assert rates.win_rate_ok is None


def test_inconsistent_counts_are_refused():
    with pytest.raises(ValueError):
        dispute_rates(payments=10, disputes=1, won=1, lost=1, responded=0, response_due=0)
    with pytest.raises(ValueError):
        dispute_rates(payments=10, disputes=2, won=0, lost=0, responded=2, response_due=1)


@given(payments=st.integers(0, 10_000), data=st.data())
def test_rates_are_percentages_rounded_once(payments, data):
    disputes = data.draw(st.integers(0, 500))
    won = data.draw(st.integers(0, disputes))
    lost = data.draw(st.integers(0, disputes - won))
    response_due = data.draw(st.integers(0, disputes))
    responded = data.draw(st.integers(0, response_due))
    rates = dispute_rates(payments=payments, disputes=disputes, won=won, lost=lost, responded=responded,
                          response_due=response_due)
    for value, part, whole in ((rates.win_rate, won, won + lost), (rates.response_rate, responded, response_due)):
        if whole == 0:
            assert value is None
        else:
            assert Decimal(0) <= value <= Decimal(100) and value == value.quantize(Decimal("0.1"))
            assert abs(value - Decimal(part) * 100 / whole) <= Decimal("0.05")


def test_the_disputes_page_shows_the_rates_of_the_last_90_days(owner_client, sandbox_tenant):
    moment = now()
    won = make_dispute(sandbox_tenant, status="won", disputed_at=moment - timedelta(days=30))
    Dispute.objects.filter(pk=won.pk).update(evidence_submitted_at=moment - timedelta(days=28))
    make_dispute(sandbox_tenant, status="lost", disputed_at=moment - timedelta(days=40))  # never answered
    make_dispute(sandbox_tenant, disputed_at=moment - timedelta(days=10))  # overdue, unanswered
    make_dispute(sandbox_tenant, disputed_at=moment - timedelta(days=1))  # still inside its deadline
    make_dispute(sandbox_tenant, status="won", disputed_at=moment - timedelta(days=120))  # outside the window
    Payment.objects.bulk_create([Payment(
        merchant=sandbox_tenant.merchant, livemode=False, amount_minor=1000, currency="GBP", status="succeeded",
        amount_captured_minor=1000, captured_at=moment, attempt_id=new_id("pat")) for _ in range(95)])
    page = owner_client.get(reverse("dashboard:disputes")).content.decode()
    # 4 disputes in the window over 100 captured payments (every dispute's payment was made now).
    assert "4.0%" in page[page.index('data-testid="dispute-rate"'):][:600]
    assert "50.0%" in page[page.index('data-testid="win-rate"'):][:600]
    assert "33.3%" in page[page.index('data-testid="response-rate"'):][:600]
    assert "off target" in page

"""Payouts from the ledger (services/payouts.py): the acceptance property — "A payout reconciles to the cent
with the transactions it lists (property test over random days)" — over random days, amounts, cards,
refunds, disputes, adjustments, voided sales and schedules; then the rules one by one: no payout for an
empty day, a negative net recorded as it is, the schedule, the lifecycle, failure releasing the rows."""
from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.accounts.models import GatewayAccount
from apps.core.actors import Actor
from apps.core.errors import BusinessRuleViolation, ValidationFailed
from apps.core.models import Event
from apps.core.tenancy import Tenant
from apps.payments import calculations as calc
from apps.payments import services
from apps.payments.models import Payout, Transaction
from apps.payments.services.settlement import payout_schedule_of
from tests.factories import make_merchant
from tests.payments.payouts_helpers import (
    CARDS,
    line_net,
    make_adjustment,
    make_dispute,
    make_dispute_won,
    make_refund,
    make_sale,
    make_voided_sale,
)

START = date(2026, 3, 2)  # a Monday
ACTOR = Actor.system("tests")


def _account(tenant: Tenant, **schedule) -> GatewayAccount:
    account = GatewayAccount.objects.select_related("merchant").get(merchant=tenant.merchant,
                                                                    livemode=tenant.livemode)
    if schedule:
        GatewayAccount.objects.filter(pk=account.pk).update(**schedule)
        account.refresh_from_db()
    return account


def _available_on(account, day: date) -> date:
    return services.available_on_for(gateway_account=account, settled_at=datetime(day.year, day.month, day.day, 12,
                                                                                  tzinfo=UTC))


# --- the acceptance property -----------------------------------------------------------------------
events = st.lists(st.tuples(
    st.sampled_from(["sale", "sale", "sale", "refund", "dispute", "dispute_won", "adjustment", "voided"]),
    st.integers(min_value=0, max_value=40),  # the day it settled (or was debited), from START
    st.integers(min_value=1, max_value=250_000),  # amount in pence
    st.sampled_from(sorted(CARDS)),
    st.integers(min_value=0, max_value=9),  # later: refunds / disputes come this many days after the sale
), min_size=1, max_size=25)
schedules = st.fixed_dictionaries({
    "payout_interval": st.sampled_from(["daily", "weekly", "monthly"]),
    "payout_weekly_anchor": st.integers(0, 4),
    "payout_monthly_anchor": st.sampled_from([1, 15, 28, 29, 30, 31]),
    "payout_delay_days": st.integers(0, 3),
})


@pytest.mark.django_db
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                HealthCheck.too_slow])
@given(events=events, schedule=schedules, daily_beat=st.booleans())
def test_payouts_reconcile_to_the_cent_with_the_transactions_they_list(events, schedule, daily_beat):
    with transaction.atomic():
        merchant = make_merchant(name="Property Shop")
        tenant = Tenant(merchant, livemode=False)
        account = _account(tenant, **schedule)
        payable, voided = [], []
        for kind, day_offset, minor, card, later in events:
            day = START + timedelta(days=day_offset)
            if kind == "voided":
                voided.append(make_voided_sale(tenant, minor, available_on=_available_on(account, day)))
                continue
            sale = make_sale(tenant, minor, card=card, available_on=_available_on(account, day))
            payable.append(sale)
            follow_up = _available_on(account, day + timedelta(days=later))
            part = max(1, minor * (later + 1) // 10)
            if kind == "refund":
                payable.append(make_refund(tenant, sale, min(part, minor), available_on=follow_up))
            elif kind == "dispute":
                payable.append(make_dispute(tenant, sale, minor, available_on=follow_up))
            elif kind == "dispute_won":
                payable.append(make_dispute(tenant, sale, minor, available_on=follow_up))
                payable.append(make_dispute_won(tenant, sale, minor, available_on=follow_up + timedelta(days=later)))
            elif kind == "adjustment":
                payable.append(make_adjustment(tenant, sale, part * (-1 if later % 2 else 1), available_on=follow_up))

        last = START + timedelta(days=130)  # past every monthly date the rows above can reach
        if daily_beat:  # the beat ran every day …
            day = START
            while day <= last:
                services.payouts_create_due(today=day)
                day += timedelta(days=1)
        else:  # … or not at all until the end: the catch-up makes the same payouts
            services.payouts_create_due(today=last)
        assert services.payouts_create_due(today=last) == []  # idempotent

        schedule_of = dataclasses.replace(payout_schedule_of(account), delay_days=0)
        payouts = list(Payout.objects.filter(merchant=merchant).order_by("payout_date"))
        rows = {txn.pk: txn for txn in Transaction.objects.filter(merchant=merchant).prefetch_related("fee_lines")}
        # Every payable row is in exactly one payout: the first scheduled date on or after its available_on.
        for txn in payable:
            row = rows[txn.pk]
            assert row.payout_id is not None, f"{row.type} {row.amount_minor} left out"
            payout = next(p for p in payouts if p.pk == row.payout_id)
            assert payout.payout_date == calc.next_payout_dates(settlement_date=row.available_on,
                                                                schedule=schedule_of)[0]
        # A voided sale, and its void, are never paid out.
        assert all(row.payout_id is None for row in rows.values() if row.payment.status == "voided")
        assert len({p.payout_date for p in payouts}) == len(payouts)
        for payout in payouts:
            lines = [row for row in rows.values() if row.payout_id == payout.pk]
            assert lines and payout.transaction_count == len(lines)
            assert payout.amount_minor == sum(line_net(row) for row in lines)
            assert payout.amount_minor == (payout.gross_minor - payout.fees_minor - payout.refunds_minor
                                           - payout.disputes_minor + payout.adjustments_minor)
            assert payout.gross_minor == sum(r.amount_minor for r in lines if r.type == "sale")
            assert payout.refunds_minor == -sum(r.amount_minor for r in lines if r.type == "refund")
        # Nothing is lost across payouts.
        assert sum(p.amount_minor for p in payouts) == sum(line_net(rows[t.pk]) for t in payable)
        transaction.set_rollback(True)


# --- the rules one by one ------------------------------------------------------------------------------
@pytest.fixture
def sandbox(tenant) -> Tenant:
    return Tenant(tenant.merchant, livemode=False)


def test_no_payout_for_a_day_with_nothing_available(db, sandbox):
    account = _account(sandbox)
    make_sale(sandbox, 1000, available_on=date(2026, 3, 4))
    assert services.payout_create_for(gateway_account=account, payout_date=date(2026, 3, 3)) is None
    assert services.payouts_create_due(today=date(2026, 3, 3)) == []
    assert not Payout.objects.exists()
    [payout] = services.payouts_create_due(today=date(2026, 3, 4))
    assert payout.payout_date == date(2026, 3, 4) and payout.destination_last4 == account.payout_destination_last4
    # The same date again: the existing payout, nothing added, no second event.
    make_sale(sandbox, 500, available_on=date(2026, 3, 4))
    assert services.payout_create_for(gateway_account=account, payout_date=date(2026, 3, 4)).pk == payout.pk
    assert Payout.objects.get().transaction_count == 1
    assert Event.objects.filter(type="payout.created").count() == 1


def test_a_negative_net_is_recorded_as_it_is(db, sandbox):
    sale = make_sale(sandbox, 1000, available_on=date(2026, 3, 2))
    services.payouts_create_due(today=date(2026, 3, 2))
    make_dispute(sandbox, sale, 1000, available_on=date(2026, 3, 5))
    [payout] = services.payouts_create_due(today=date(2026, 3, 5))
    fee = calc.chargeback_cost(disputed=calc.fees.Money(1000, "GBP")).fee.amount_minor
    assert (payout.amount_minor, payout.disputes_minor, payout.gross_minor) == (-1000 - fee, 1000 + fee, 0)
    assert payout.status == "pending"


def test_weekly_schedule_gathers_the_week_into_its_weekday(db, sandbox):
    account = _account(sandbox, payout_interval="weekly", payout_weekly_anchor=4)  # Fridays
    for day in (2, 3, 4, 5, 6):  # Monday … Friday
        make_sale(sandbox, 1000 * day, available_on=date(2026, 3, day))
    make_sale(sandbox, 777, available_on=date(2026, 3, 9))  # the next Monday: next Friday's payout
    assert services.payouts_create_due(today=date(2026, 3, 5)) == []
    [friday] = services.payouts_create_due(today=date(2026, 3, 6))
    assert (friday.payout_date, friday.transaction_count, friday.gross_minor) == (date(2026, 3, 6), 5, 20000)
    [next_friday] = services.payouts_create_due(today=date(2026, 3, 20))
    assert (next_friday.payout_date, next_friday.gross_minor) == (date(2026, 3, 13), 777)
    assert account.payout_interval == "weekly"


def test_lifecycle_pending_in_transit_paid_in_the_merchants_calendar(db, sandbox):
    make_sale(sandbox, 1000, available_on=date(2026, 3, 6))  # a Friday
    [payout] = services.payouts_create_due(today=date(2026, 3, 6))
    assert payout.arrival_date == date(2026, 3, 10)  # two business days: Tuesday
    # 23:30 UTC on Thursday is still Thursday in London (GMT in March): not yet.
    assert services.payouts_advance(now=datetime(2026, 3, 5, 23, 30, tzinfo=UTC)) == {"in_transit": 0, "paid": 0}
    assert services.payouts_advance(now=datetime(2026, 3, 6, 8, tzinfo=UTC)) == {"in_transit": 1, "paid": 0}
    assert services.payouts_advance(now=datetime(2026, 3, 9, 8, tzinfo=UTC)) == {"in_transit": 0, "paid": 0}
    assert services.payouts_advance(now=datetime(2026, 3, 10, 8, tzinfo=UTC)) == {"in_transit": 0, "paid": 1}
    payout.refresh_from_db()
    assert payout.status == "paid" and payout.paid_at == datetime(2026, 3, 10, 8, tzinfo=UTC)
    assert [e.type for e in Event.objects.filter(object_id=payout.pk).order_by("created_at")] == [
        "payout.created", "payout.in_transit", "payout.paid"]
    with pytest.raises(BusinessRuleViolation) as exc:
        services.payout_fail(payout=payout, message="bank says no", actor=ACTOR)
    assert exc.value.code == "payout_not_failable"


def test_failed_payout_releases_its_transactions_to_the_next_payout(db, sandbox):
    sale = make_sale(sandbox, 1000, available_on=date(2026, 3, 2))
    [first] = services.payouts_create_due(today=date(2026, 3, 2))
    with pytest.raises(ValidationFailed):
        services.payout_fail(payout=first, message="  ", actor=ACTOR)
    failed = services.payout_fail(payout=first, message="Account closed (R02)", actor=ACTOR)
    assert (failed.status, failed.failure_message, failed.transaction_count) == ("failed", "Account closed (R02)", 1)
    sale.refresh_from_db()
    assert sale.payout_id is None
    assert Event.objects.filter(type="payout.failed", object_id=first.pk).count() == 1
    [second] = services.payouts_create_due(today=date(2026, 3, 3))
    assert (second.payout_date, second.amount_minor) == (date(2026, 3, 3), first.amount_minor)
    sale.refresh_from_db()
    assert sale.payout_id == second.pk


def test_rows_of_other_merchants_and_modes_stay_apart(db, sandbox, other_tenant):
    from apps.accounts.services import gateway_connect_simulator

    other = Tenant(other_tenant.merchant, livemode=False)
    make_sale(sandbox, 1000, available_on=date(2026, 3, 2))
    make_sale(other, 2000, available_on=date(2026, 3, 2))
    live = Tenant(sandbox.merchant, livemode=True)
    GatewayAccount.objects.create(merchant=sandbox.merchant, livemode=True, api_url="https://example.test",
                                  security_key="live")
    make_sale(live, 3000, available_on=date(2026, 3, 2))
    assert gateway_connect_simulator(merchant=other_tenant.merchant)
    created = services.payouts_create_due(today=date(2026, 3, 2))
    assert sorted((p.merchant_id == sandbox.merchant.pk, p.livemode, p.gross_minor) for p in created) == [
        (False, False, 2000), (True, False, 1000), (True, True, 3000)]


def test_schedule_update_validates_and_records(db, sandbox):
    with pytest.raises(ValidationFailed) as exc:
        services.payout_schedule_update(tenant=sandbox, actor=ACTOR, interval="fortnightly", weekly_anchor=6,
                                        delay_days=-1)
    assert set(exc.value.fields) == {"interval", "weekly_anchor", "delay_days"}
    account = services.payout_schedule_update(tenant=sandbox, actor=ACTOR, interval="monthly", monthly_anchor=31,
                                              delay_days=2)
    account.refresh_from_db()
    assert (account.payout_interval, account.payout_monthly_anchor, account.payout_delay_days) == ("monthly", 31, 2)
    event = Event.objects.get(type="payout_schedule.updated")
    assert event.data["interval"] == "monthly" and event.previous_attributes["interval"] == "daily"


def test_a_capture_is_paid_out_like_a_sale_and_its_auth_and_a_void_are_not(db, sandbox):
    from apps.payments.models import FeeLine

    sale = make_sale(sandbox, 5000, available_on=date(2026, 3, 2))
    # Re-type the row as an auth's capture (the auth itself moved no money) and add a void of another sale.
    Transaction.objects.filter(pk=sale.pk).update(type="capture")
    Transaction.objects.create(merchant=sandbox.merchant, livemode=False, payment=sale.payment, type="auth",
                               amount_minor=0, currency="GBP", available_on=date(2026, 3, 2))
    voided = make_voided_sale(sandbox, 3000, available_on=date(2026, 3, 2))
    [payout] = services.payouts_create_due(today=date(2026, 3, 2))
    fees = sum(FeeLine.objects.filter(transaction=sale).values_list("amount_minor", flat=True))
    assert (payout.transaction_count, payout.gross_minor, payout.amount_minor) == (1, 5000, 5000 - fees)
    assert not Transaction.objects.filter(payment=voided.payment).exclude(payout=None).exists()

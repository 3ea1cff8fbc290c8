"""Dashboard payouts pages: the list with its filters, the reconciliation view (summary and lines summing
to the net), the CSV export, the schedule form with its validation errors, roles and tenancy, and query
counts that do not grow with the number of payouts or lines."""
from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.accounts.models import GatewayAccount
from apps.core.tenancy import Tenant
from apps.payments import services
from apps.payments.models import Payout
from tests.factories import make_customer, make_member, owner_membership
from tests.payments.payouts_helpers import make_dispute, make_refund, make_sale

pytestmark = pytest.mark.django_db
START = date(2026, 3, 2)  # a Monday


@pytest.fixture
def sandbox(tenant) -> Tenant:
    return Tenant(tenant.merchant, livemode=False)


def _login(client, tenant, role):
    client.force_login(make_member(tenant.merchant, role=role).user)
    return client


def _payouts(sandbox, days: int, *, per_day: int = 1, offset: int = 0) -> list[Payout]:
    customer = make_customer(sandbox, name="Ada Payer")
    made = []
    for i in range(days):
        day = START + timedelta(days=offset + i)
        for j in range(per_day):
            make_sale(sandbox, 1000 + 10 * i + j, available_on=day, customer=customer)
        made += services.payouts_create_due(today=day)
    return made


def test_list_shows_payouts_and_filters(owner_client, sandbox):
    _payouts(sandbox, 3)  # Mon 2, Tue 3, Wed 4 March
    response = owner_client.get(reverse("dashboard:payouts"))
    assert response.status_code == 200
    rows = [payout for payout, _ in response.context["rows"]]
    assert [p.payout_date for p in rows] == [date(2026, 3, 4), date(2026, 3, 3), date(2026, 3, 2)]
    assert b"nav-payouts" in response.content
    filtered = owner_client.get(reverse("dashboard:payouts"), {"date_from": "2026-03-03", "date_to": "2026-03-03"})
    assert [p.payout_date for p, _ in filtered.context["rows"]] == [date(2026, 3, 3)]
    by_amount = owner_client.get(reverse("dashboard:payouts"), {"amount_min": "0", "amount_max": "0.01"})
    assert by_amount.context["rows"] == [] and b"No payouts match" in by_amount.content
    assert owner_client.get(reverse("dashboard:payouts"), {"status": "paid"}).context["rows"] == []
    partial = owner_client.get(reverse("dashboard:payouts"), {"status": "pending"}, HTTP_HX_REQUEST="true",
                               HTTP_HX_TARGET="payout-results")
    assert b"<html" not in partial.content and partial.content.count(b'data-testid="payout-row"') == 3
    bad = owner_client.get(reverse("dashboard:payouts"), {"date_from": "soon"})
    assert bad.status_code == 200 and bad.context["form"].errors["date_from"]


def test_detail_is_the_reconciliation_view(owner_client, sandbox):
    sale = make_sale(sandbox, 10000, available_on=START)
    make_sale(sandbox, 4000, card="mc_credit_gb", available_on=START)
    make_refund(sandbox, sale, 2500, available_on=START)
    make_dispute(sandbox, sale, 1500, available_on=START)
    [payout] = services.payouts_create_due(today=START)
    response = owner_client.get(reverse("dashboard:payout_detail", args=[payout.pk]))
    assert response.status_code == 200
    lines = response.context["lines"]
    assert len(lines) == 4 and sum(net for _, _, net in lines) == payout.amount_minor
    assert all(net == txn.amount_minor + signed_fees for txn, signed_fees, net in lines)
    assert sum(amount for _, _, amount in response.context["summary"]) == payout.amount_minor
    assert payout.gross_minor - payout.fees_minor - payout.refunds_minor - payout.disputes_minor \
        + payout.adjustments_minor == payout.amount_minor
    body = response.content.decode()
    assert 'data-testid="payout-lines-total"' in body and 'data-testid="summary-net"' in body
    assert dict(response.context["fees_by_code"])["chargeback"] > 0


def test_csv_export_lines_sum_to_the_payout(owner_client, sandbox):
    [payout] = _payouts(sandbox, 1, per_day=4)
    response = owner_client.get(reverse("dashboard:payout_export", args=[payout.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "text/csv"
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert len(rows) == 4 and {row["customer"] for row in rows} == {"Ada Payer"}
    assert sum(Decimal(row["net"]) for row in rows) == payout.amount.to_decimal()
    assert all(Decimal(row["gross"]) - Decimal(row["fees"]) == Decimal(row["net"]) for row in rows)


def test_other_merchants_payout_is_404(client, sandbox, other_tenant):
    [payout] = _payouts(sandbox, 1)
    client.force_login(owner_membership(other_tenant.merchant).user)
    assert client.get(reverse("dashboard:payout_detail", args=[payout.pk])).status_code == 404
    assert client.get(reverse("dashboard:payout_export", args=[payout.pk])).status_code == 404


def test_roles_support_cannot_see_payouts_viewer_cannot_change_the_schedule(client, tenant):
    assert _login(client, tenant, "support").get(reverse("dashboard:payouts")).status_code == 403
    viewer = _login(client, tenant, "viewer")
    assert viewer.get(reverse("dashboard:payout_schedule")).status_code == 200
    response = viewer.post(reverse("dashboard:payout_schedule"), {"interval": "weekly", "weekly_anchor": "2",
                                                                  "monthly_anchor": "1", "delay_days": "1"})
    assert response.status_code == 403
    assert GatewayAccount.objects.get(merchant=tenant.merchant, livemode=False).payout_interval == "daily"


def test_schedule_form_saves_and_shows_validation_errors(owner_client, tenant):
    url = reverse("dashboard:payout_schedule")
    bad = owner_client.post(url, {"interval": "weekly", "weekly_anchor": "2", "monthly_anchor": "32",
                                  "delay_days": "-1"})
    assert bad.status_code == 200
    assert set(bad.context["form"].errors) == {"monthly_anchor", "delay_days"}
    assert GatewayAccount.objects.get(merchant=tenant.merchant, livemode=False).payout_interval == "daily"
    ok = owner_client.post(url, {"interval": "weekly", "weekly_anchor": "2", "monthly_anchor": "1", "delay_days": "2"})
    assert ok.status_code == 302
    account = GatewayAccount.objects.get(merchant=tenant.merchant, livemode=False)
    assert (account.payout_interval, account.payout_weekly_anchor, account.payout_delay_days) == ("weekly", 2, 2)
    assert b"Weekly" in owner_client.get(reverse("dashboard:payouts")).content
    preview = owner_client.get(url)
    assert all(day.weekday() == 2 for day in preview.context["upcoming"])  # Wednesdays
    assert b"payout-schedule-preview" in preview.content


def _count(client, url) -> int:
    client.get(url)  # warm the session
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
        if response.streaming:
            b"".join(response.streaming_content)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_list_costs_the_same_for_few_and_many_payouts(owner_client, sandbox):
    _payouts(sandbox, 5)
    few = _count(owner_client, reverse("dashboard:payouts"))
    _payouts(sandbox, 40, offset=10)
    many = _count(owner_client, reverse("dashboard:payouts"))
    assert Payout.objects.count() > 25
    assert few == many, f"{few} queries for 5 payouts, {many} for {Payout.objects.count()}"


def test_payouts_csv_follows_the_filters_and_costs_the_same_for_few_and_many(owner_client, sandbox):
    url = reverse("dashboard:payouts_export")
    _payouts(sandbox, 3)
    few = _count(owner_client, url)
    _payouts(sandbox, 30, offset=10)
    many = _count(owner_client, url)
    assert few == many
    response = owner_client.get(url, {"date_to": "2026-03-04"})
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    payouts = Payout.objects.filter(payout_date__lte=date(2026, 3, 4))
    assert [row["payout_id"] for row in rows] == [p.pk for p in payouts.order_by("-payout_date")]
    assert sum(Decimal(row["net"]) for row in rows) == sum(p.amount.to_decimal() for p in payouts)


def test_detail_costs_the_same_for_few_and_many_lines(owner_client, sandbox):
    [small] = _payouts(sandbox, 1, per_day=3)
    [large] = _payouts(sandbox, 1, per_day=120, offset=1)
    few = _count(owner_client, reverse("dashboard:payout_detail", args=[small.pk]))
    many = _count(owner_client, reverse("dashboard:payout_detail", args=[large.pk]))
    assert few == many, f"{few} queries for 3 lines, {many} for 120"
    few_csv = _count(owner_client, reverse("dashboard:payout_export", args=[small.pk]))
    many_csv = _count(owner_client, reverse("dashboard:payout_export", args=[large.pk]))
    assert few_csv == many_csv


def test_admin_payouts_read_only_and_mark_failed_releases_the_rows(admin_client, sandbox):
    [payout] = _payouts(sandbox, 1, per_day=2)
    assert admin_client.get(reverse("admin:payments_payout_changelist")).status_code == 200
    assert admin_client.get(reverse("admin:payments_payout_change", args=[payout.pk])).status_code == 200
    assert admin_client.get(reverse("admin:payments_settlementbatch_changelist")).status_code == 200
    response = admin_client.post(reverse("admin:payments_payout_changelist"),
                                 {"action": "mark_failed", "_selected_action": [payout.pk]})
    assert response.status_code == 302
    payout.refresh_from_db()
    assert payout.status == "failed" and "Rejected by the bank" in payout.failure_message
    assert not payout.transactions.exists()
    # A second time is refused with a message, nothing changes.
    admin_client.post(reverse("admin:payments_payout_changelist"),
                      {"action": "mark_failed", "_selected_action": [payout.pk]})
    payout.refresh_from_db()
    assert payout.status == "failed"

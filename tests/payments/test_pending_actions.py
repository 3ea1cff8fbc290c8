"""Home's "Pending actions" (page 050) from the payments app: disputes waiting for evidence (urgent when the
next deadline is close) and this week's failed payments, for this merchant and mode only."""
from __future__ import annotations

from datetime import timedelta

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.core.clock import now
from apps.core.ids import new_id
from apps.core.tenancy import Tenant as CoreTenant
from apps.payments.models import Payment
from tests.payments.probes_disputes import make_dispute

HOME = reverse("dashboard:home")


def _failed(tenant, *, days_ago: int = 1) -> Payment:
    return Payment.objects.create(merchant=tenant.merchant, livemode=tenant.livemode, amount_minor=900, currency="GBP",
                                  status="failed", decline_code="300", attempt_id=new_id("pat"),
                                  created_at=now() - timedelta(days=days_ago))


def _actions(page: str) -> str:
    start = page.index('data-testid="pending-actions"')
    return page[start:page.index("</section>", start)]


def test_nothing_pending_shows_no_card(owner_client, sandbox_tenant):
    _failed(sandbox_tenant, days_ago=10)  # older than a week
    make_dispute(sandbox_tenant, status="won")
    assert 'data-testid="pending-actions"' not in owner_client.get(HOME).content.decode()


def test_open_disputes_and_failed_payments_need_the_merchant(owner_client, sandbox_tenant, tenant, other_tenant):
    make_dispute(sandbox_tenant, disputed_at=now() - timedelta(days=5), due_in_days=7)  # due in 2 days: urgent
    make_dispute(sandbox_tenant, due_in_days=7)
    make_dispute(CoreTenant(other_tenant.merchant, livemode=False))  # another merchant's
    make_dispute(CoreTenant(tenant.merchant, livemode=True))  # live mode: not shown in sandbox
    for _ in range(3):
        _failed(sandbox_tenant)
    _failed(sandbox_tenant, days_ago=9)
    actions = _actions(owner_client.get(HOME).content.decode())
    assert actions.count('data-testid="pending-action"') == 2
    assert "Open disputes need evidence" in actions and "badge-red\">2<" in actions.replace(" ", " ")
    assert "1 day left" in actions and f"{reverse('dashboard:disputes')}?status=needs_response" in actions
    assert "Failed payments in the last 7 days" in actions and '">3</span>' in actions
    assert f"{reverse('dashboard:payments')}?status=failed&amp;date_from=" in actions


def test_home_costs_the_same_queries_for_1_and_20_pending_items(owner_client, sandbox_tenant):
    make_dispute(sandbox_tenant)
    _failed(sandbox_tenant)
    owner_client.get(HOME)
    with CaptureQueriesContext(connection) as few:
        owner_client.get(HOME)
    for _ in range(19):
        make_dispute(sandbox_tenant)
        _failed(sandbox_tenant)
    with CaptureQueriesContext(connection) as many:
        page = owner_client.get(HOME).content.decode()
    assert len(many) == len(few) and ">20<" in _actions(page)

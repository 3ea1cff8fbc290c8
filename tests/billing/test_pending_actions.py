"""Home's "Pending actions" (page 050) from the billing app: overdue invoices (urgent), invoices waiting for
approval and credit notes whose refund failed, for this merchant and mode only, in constant queries."""
from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.billing import services
from apps.billing.models import CreditNote
from apps.core.actors import Actor
from apps.core.tenancy import Tenant as CoreTenant
from tests.factories import make_customer

HOME = reverse("dashboard:home")
ACTOR = Actor.system("tests")
pytestmark = pytest.mark.django_db


def _invoice(tenant, *, finalize=True, overdue=False):
    customer = make_customer(tenant, currency="GBP")
    invoice = services.invoice_create(tenant=tenant, actor=ACTOR, customer=customer, days_until_due=0, lines=[
        services.LineInput(description="Roasting course", unit_amount_minor=4500, tax_exempt=True)])
    if finalize:
        invoice = services.invoice_finalize(tenant=tenant, actor=ACTOR, invoice=invoice)
    if overdue:
        services.invoices_mark_overdue(as_of=invoice.due_date + datetime.timedelta(days=3))
    return invoice


def _actions(page: str) -> str:
    start = page.index('data-testid="pending-actions"')
    return page[start:page.index("</section>", start)]


def test_overdue_awaiting_approval_and_failed_credit_notes_need_the_merchant(owner_client, sandbox,
                                                                              other_tenant):
    _invoice(sandbox, overdue=True)
    _invoice(sandbox, overdue=True)
    _invoice(CoreTenant(other_tenant.merchant, livemode=False), overdue=True)  # another merchant's
    paid = _invoice(sandbox)
    services.invoice_record_payment(tenant=sandbox, actor=ACTOR, invoice=paid, method="cash")
    note = services.credit_note_create(tenant=sandbox, actor=ACTOR, invoice=paid, credit_method="none")
    CreditNote.objects.filter(pk=note.pk).update(status=CreditNote.Status.FAILED)
    settings = services.invoice_settings_for(sandbox.merchant)
    settings.require_approval = True
    settings.save()
    _invoice(sandbox)  # submitted for approval
    actions = _actions(owner_client.get(HOME).content.decode())
    assert actions.count('data-testid="pending-action"') == 3
    assert "Overdue invoices" in actions and f"{reverse('dashboard:invoices')}?status=overdue" in actions
    assert "Invoices waiting for approval" in actions and "status=pending_approval" in actions
    assert "Credit notes whose refund failed" in actions


def test_home_costs_the_same_queries_for_1_and_10_overdue_invoices(owner_client, sandbox):
    _invoice(sandbox, overdue=True)
    owner_client.get(HOME)
    with CaptureQueriesContext(connection) as few:
        owner_client.get(HOME)
    for _ in range(9):
        _invoice(sandbox, overdue=True)
    with CaptureQueriesContext(connection) as many:
        assert "badge-red\">10<" in _actions(owner_client.get(HOME).content.decode())
    assert len(many) == len(few)

"""What the billing app adds to the dashboard's Home: its "Pending actions" (page 050)."""
from __future__ import annotations

from urllib.parse import urlencode

from django.db.models import Count, Min, Q
from django.urls import reverse

from apps.accounts.views import PendingAction
from apps.core.tenancy import scoped

from ..models import CreditNote, Invoice


def billing_pending_actions(request) -> list[PendingAction]:
    """Overdue invoices (urgent), invoices waiting for approval and credit notes whose refund failed:
    two queries whatever the counts."""
    invoices = scoped(Invoice, tenant=request.tenant).aggregate(
        overdue=Count("id", filter=Q(status="overdue")),
        oldest_due=Min("due_date", filter=Q(status="overdue")),
        awaiting=Count("id", filter=Q(status="pending_approval")))
    failed = scoped(CreditNote, tenant=request.tenant).filter(status=CreditNote.Status.FAILED).count()
    invoices_url = reverse("dashboard:invoices")
    actions: list[PendingAction] = []
    if invoices["overdue"]:
        oldest = invoices["oldest_due"]
        actions.append(PendingAction(
            label="Overdue invoices", count=invoices["overdue"], urgent=True,
            url=f"{invoices_url}?{urlencode({'status': 'overdue'})}",
            detail=f"The oldest was due {oldest:%d %b %Y}: send a reminder or charge the saved card."))
    if invoices["awaiting"]:
        actions.append(PendingAction(
            label="Invoices waiting for approval", count=invoices["awaiting"],
            url=f"{invoices_url}?{urlencode({'status': 'pending_approval'})}",
            detail="Approve them to number and send them, or reject with a note."))
    if failed:
        actions.append(PendingAction(
            label="Credit notes whose refund failed", count=failed,
            url=f"{reverse('dashboard:credit_notes')}?{urlencode({'status': CreditNote.Status.FAILED})}",
            detail="The gateway refused the reversal: void the note and issue it again."))
    return actions

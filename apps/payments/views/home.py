"""What the payments app adds to the dashboard's Home: its "Pending actions" (page 050)."""
from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlencode

from django.db.models import Count, Min, Q
from django.urls import reverse
from django.utils import timezone

from apps.accounts.views import PendingAction
from apps.core.clock import now
from apps.core.tenancy import scoped

from ..models import Dispute, Payment
from .disputes import deadline_of

FAILED_PAYMENTS_DAYS = 7


def payments_pending_actions(request) -> list[PendingAction]:
    """Disputes waiting for evidence (urgent as the Disputes page marks a close deadline) and this week's
    failed payments: two queries."""
    moment = now()
    actions: list[PendingAction] = []
    disputes = scoped(Dispute, tenant=request.tenant).filter(status=Dispute.Status.NEEDS_RESPONSE).aggregate(
        count=Count("id"), soonest=Min("evidence_due_by"))
    if disputes["count"]:
        soonest = disputes["soonest"]
        deadline = deadline_of(Dispute(status=Dispute.Status.NEEDS_RESPONSE, evidence_due_by=soonest), at=moment)
        actions.append(PendingAction(
            label="Open disputes need evidence", count=disputes["count"],
            url=f"{reverse('dashboard:disputes')}?{urlencode({'status': Dispute.Status.NEEDS_RESPONSE})}",
            detail=f"The next is due {timezone.localtime(soonest):%d %b %Y} ({deadline.label.lower()})",
            urgent=deadline.tone == "red"))
    since = moment - timedelta(days=FAILED_PAYMENTS_DAYS)
    failed = scoped(Payment, tenant=request.tenant).aggregate(
        count=Count("id", filter=Q(status=Payment.Status.FAILED, created_at__gte=since)))["count"]
    if failed:
        query = urlencode({"status": Payment.Status.FAILED,
                           "date_from": timezone.localtime(since).date().isoformat()})
        actions.append(PendingAction(label=f"Failed payments in the last {FAILED_PAYMENTS_DAYS} days", count=failed,
                                     url=f"{reverse('dashboard:payments')}?{query}",
                                     detail="Declines and gateway errors: follow up with the customer or retry."))
    return actions

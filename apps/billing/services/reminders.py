"""Payment reminders (page 053): before and after an invoice's due date, and by hand.

Schedule: `InvoiceSettings.reminder_days_before` / `reminder_days_after`, whole days 0–365 (0 before =
on the due date). An empty list means the defaults below (3 days before; 1 and 7 days after). The
defaults live here, not on the model, so merchants who never changed them follow them as they evolve.

Scheduled reminders go for invoices the customer pays by hand (collection_method send_invoice); those
charged automatically are followed up by dunning. Each scheduled reminder is due on one day (due date
− N or + N). The daily job sends the ones due today and catches up on one missed day (GRACE_DAYS), so
a job that did not run yesterday still sends them; of several due at once only the latest is sent.
The InvoiceReminder row is inserted first, in its own transaction; its unique key (invoice, kind,
offset) makes a second run, or a concurrent one, a no-op; the email goes after commit. A before-due
reminder whose day passed before the invoice was finalized is never sent.
"""
from __future__ import annotations

from datetime import date, timedelta

from django.db import IntegrityError, transaction

from apps.core.actors import Actor
from apps.core.clock import now
from apps.core.errors import BusinessRuleViolation, NotFound, ValidationFailed
from apps.core.events import emit_event
from apps.core.tenancy import Tenant

from ..models import Invoice, InvoiceReminder, InvoiceSettings
from ..models.invoices import OPEN_STATUSES
from ..payloads import invoice_payload

DEFAULT_DAYS_BEFORE = (3,)
DEFAULT_DAYS_AFTER = (1, 7)
GRACE_DAYS = 1


def _offsets(values, default) -> tuple[int, ...]:
    values = values or default
    whole_days = (v for v in values if isinstance(v, int) and not isinstance(v, bool))
    return tuple(sorted({v for v in whole_days if 0 <= v <= 365}))


def reminder_schedule(settings: InvoiceSettings | None) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(days before, days after) for a merchant's settings, defaults applied."""
    return (_offsets(settings.reminder_days_before if settings else None, DEFAULT_DAYS_BEFORE),
            _offsets(settings.reminder_days_after if settings else None, DEFAULT_DAYS_AFTER))


def _due_reminder(invoice: Invoice, before: tuple[int, ...], after: tuple[int, ...], today: date):
    """The (kind, offset) to send today, or None: the latest scheduled day within the grace window."""
    candidates = []
    for days in before:
        candidates.append((invoice.due_date - timedelta(days=days), InvoiceReminder.Kind.BEFORE_DUE, days))
    for days in after:
        if days > 0:
            candidates.append((invoice.due_date + timedelta(days=days), InvoiceReminder.Kind.AFTER_DUE, days))
    finalized = invoice.finalized_at.date() if invoice.finalized_at else today
    due = [c for c in candidates if today - timedelta(days=GRACE_DAYS) <= c[0] <= today and c[0] >= finalized]
    if not due:
        return None
    _, kind, days = max(due)
    return kind, days


def _recipient(invoice: Invoice) -> str:
    return invoice.customer_email or invoice.customer.email


def _send_after_commit(invoice_id: str, to: str) -> None:
    from .. import tasks

    transaction.on_commit(lambda: tasks.send_invoice_email.delay(invoice_id, "reminder", [to], []))


def invoices_send_reminders(*, as_of: date | None = None) -> int:
    """Scheduled daily: sends each reminder due (see the module docstring) once. Returns how many."""
    today = as_of or now().date()
    merchant_ids = set(Invoice.objects.filter(status__in=OPEN_STATUSES, amount_remaining_minor__gt=0,
                                              due_date__isnull=False)
                       .values_list("merchant_id", flat=True).distinct())
    settings_by_merchant = {s.merchant_id: s
                            for s in InvoiceSettings.objects.filter(merchant_id__in=merchant_ids)}
    sent = 0
    for merchant_id in sorted(merchant_ids):
        before, after = reminder_schedule(settings_by_merchant.get(merchant_id))
        window = [today - timedelta(days=g) for g in range(GRACE_DAYS + 1)]
        due_dates = {d + timedelta(days=n) for d in window for n in before} | \
                    {d - timedelta(days=n) for d in window for n in after if n > 0}
        # Invoices the customer pays by hand; those charged automatically are followed up by dunning.
        invoices = Invoice.objects.filter(merchant_id=merchant_id, status__in=OPEN_STATUSES,
                                          collection_method=Invoice.CollectionMethod.SEND_INVOICE,
                                          amount_remaining_minor__gt=0, due_date__in=due_dates) \
            .select_related("customer").order_by("pk")
        for invoice in invoices:
            choice = _due_reminder(invoice, before, after, today)
            to = _recipient(invoice)
            if choice is None or not to:
                continue
            kind, days = choice
            try:
                with transaction.atomic():
                    InvoiceReminder.objects.create(merchant_id=invoice.merchant_id, livemode=invoice.livemode,
                                                   invoice=invoice, kind=kind, offset_days=days, sent_to=to)
                    _send_after_commit(invoice.pk, to)
            except IntegrityError:
                continue  # already sent (an earlier or concurrent run)
            sent += 1
    return sent


def invoice_send_reminder(*, tenant: Tenant, actor: Actor, invoice: Invoice,
                          request_id: str = "") -> InvoiceReminder:
    """A reminder sent by hand (dashboard "Send reminder"): any number of times, each recorded."""
    if invoice.merchant_id != tenant.merchant.pk or invoice.livemode != tenant.livemode:
        raise NotFound(f"No such invoice: '{invoice.pk}'", param="invoice_id")
    with transaction.atomic():
        locked = Invoice.objects.select_for_update(of=("self",)).select_related("customer", "merchant") \
            .get(pk=invoice.pk)
        if locked.status not in OPEN_STATUSES or locked.amount_remaining_minor <= 0:
            status = locked.get_status_display().lower()
            raise BusinessRuleViolation(f"Nothing to remind: the invoice is {status}.",
                                        code="invoice_not_remindable")
        to = _recipient(locked)
        if not to:
            raise ValidationFailed("The customer has no email address.",
                                   fields={"customer.email": ["is empty"]})
        offset = (now().date() - locked.due_date).days if locked.due_date else 0
        reminder = InvoiceReminder.objects.create(merchant_id=locked.merchant_id, livemode=locked.livemode,
                                                  invoice=locked, kind=InvoiceReminder.Kind.MANUAL,
                                                  offset_days=max(min(offset, 32767), -32768), sent_to=to)
        emit_event(tenant=tenant, type="invoice.reminder_sent",
                   data={**invoice_payload(locked), "reminder": {"id": reminder.pk, "kind": reminder.kind,
                                                                 "sent_to": to}},
                   actor=actor, request_id=request_id)
        _send_after_commit(locked.pk, to)
    return reminder

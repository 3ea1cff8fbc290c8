"""Celery tasks of the billing app: thin wrappers over services and documents (the only place PDFs
are rendered: never in a request)."""
from celery import shared_task

from . import services


@shared_task
def render_invoice_pdf(invoice_id: str) -> bool:
    """Renders the invoice's PDF if its revision changed (documents.py)."""
    from . import documents

    return documents.invoice_pdf_render(invoice_id=invoice_id)


@shared_task
def render_credit_note_pdf(credit_note_id: str) -> bool:
    from . import documents

    return documents.credit_note_pdf_render(credit_note_id=credit_note_id)


@shared_task
def render_receipt_pdf(invoice_payment_id: str) -> bool:
    from . import documents

    return documents.receipt_pdf_render(invoice_payment_id=invoice_payment_id)


@shared_task
def send_invoice_email(invoice_id: str, kind: str, to: list[str], cc: list[str],
                       invoice_payment_id: str = "") -> bool:
    """kind: invoice | receipt | reminder | overdue (documents.py); a receipt is of `invoice_payment_id`
    (default: the invoice's newest payment)."""
    from . import documents

    return documents.invoice_email_send(invoice_id=invoice_id, kind=kind, to=to, cc=cc,
                                        invoice_payment_id=invoice_payment_id)


@shared_task
def send_credit_note_email(credit_note_id: str, to: list[str] | None = None,
                           cc: list[str] | None = None) -> bool:
    from . import documents

    return documents.credit_note_email_send(credit_note_id=credit_note_id, to=to, cc=cc)


@shared_task
def mark_overdue_invoices() -> int:
    return services.invoices_mark_overdue()


@shared_task
def send_invoice_reminders() -> int:
    """Daily: the reminders due today (services.reminders); safe to run twice."""
    return services.invoices_send_reminders()

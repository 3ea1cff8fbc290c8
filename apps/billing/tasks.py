"""Celery tasks of the billing app: thin wrappers over services."""
from celery import shared_task

from . import services


@shared_task
def render_invoice_pdf(invoice_id: str) -> bool:
    """Renders the invoice's PDF if its revision changed (documents.py)."""
    from . import documents

    return documents.invoice_pdf_render(invoice_id=invoice_id)


@shared_task
def send_invoice_email(invoice_id: str, kind: str, to: list[str], cc: list[str]) -> bool:
    """kind: invoice | receipt | reminder | overdue (documents.py)."""
    from . import documents

    return documents.invoice_email_send(invoice_id=invoice_id, kind=kind, to=to, cc=cc)


@shared_task
def mark_overdue_invoices() -> int:
    return services.invoices_mark_overdue()

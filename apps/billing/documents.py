"""PDFs and emails of invoices, credit notes and receipts. (Being written: the documents helper.)"""
from __future__ import annotations


def invoice_pdf_render(*, invoice_id: str) -> bool:
    return False


def invoice_email_send(*, invoice_id: str, kind: str, to: list[str], cc: list[str]) -> bool:
    return False

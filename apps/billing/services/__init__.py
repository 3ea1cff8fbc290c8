"""Billing writes, one module per area. Import as `from apps.billing import services`.

- numbering.py     gapless document numbers, invoice settings
- invoices.py      drafts, lines, totals and tax, finalize/approve/reject/send, payments, void, overdue
- orders.py        orders from paid invoices, fulfilment
"""
from .invoices import (
    InvoiceTotals,
    LineInput,
    PayResult,
    compute_totals,
    invoice_apply_card_payment,
    invoice_approve,
    invoice_comment_add,
    invoice_create,
    invoice_delete,
    invoice_finalize,
    invoice_line_remove,
    invoice_line_update,
    invoice_lines_add,
    invoice_mark_uncollectible,
    invoice_pay,
    invoice_record_payment,
    invoice_reject,
    invoice_send,
    invoice_update,
    invoice_void,
    invoices_mark_overdue,
    tax_customer_for,
    tax_merchant_for,
    tax_provider,
    tax_rate_spec,
)
from .numbering import format_number, invoice_settings_for, next_number
from .orders import deliver_digital_lines, order_create_for_paid_invoice, order_refresh_fulfillment

__all__ = [
    "InvoiceTotals",
    "LineInput",
    "PayResult",
    "compute_totals",
    "deliver_digital_lines",
    "format_number",
    "invoice_apply_card_payment",
    "invoice_approve",
    "invoice_comment_add",
    "invoice_create",
    "invoice_delete",
    "invoice_finalize",
    "invoice_line_remove",
    "invoice_line_update",
    "invoice_lines_add",
    "invoice_mark_uncollectible",
    "invoice_pay",
    "invoice_record_payment",
    "invoice_reject",
    "invoice_send",
    "invoice_settings_for",
    "invoice_update",
    "invoice_void",
    "invoices_mark_overdue",
    "next_number",
    "order_create_for_paid_invoice",
    "order_refresh_fulfillment",
    "tax_customer_for",
    "tax_merchant_for",
    "tax_provider",
    "tax_rate_spec",
]

"""Billing writes, one module per area. Import as `from apps.billing import services`.

- numbering.py     gapless document numbers, invoice settings
- invoices.py      drafts, lines, totals and tax, finalize/approve/reject/send, payments, void, overdue
- orders.py        orders from paid invoices and the API, payment, fulfilment, cancel
- invoice_external.py  upsert by external id (single and batch)
- credit_notes.py  credit notes: preview, create (auto-routed reversals), retry, void, eligibility, customer balance
- reminders.py     payment reminders before/after the due date, and by hand
- settings.py      invoice settings (numbering, terms, approval, tax id) and tax rates
"""
from .credit_notes import (
    CreditEligibility,
    CreditNotePreview,
    PaymentReversalEligibility,
    PlannedReversal,
    ReversalEligibility,
    credit_eligibility,
    credit_note_create,
    credit_note_follow_refund,
    credit_note_get,
    credit_note_list,
    credit_note_preview,
    credit_note_retry,
    credit_note_void,
    customer_balance,
    register_subscription_canceller,
    transaction_reversal_eligibility,
)
from .invoice_external import BatchItem, invoice_batch_upsert, invoice_upsert_by_external_id
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
    invoice_note_payment_failure,
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
from .orders import (
    OrderLineInput,
    OrderPayResult,
    deliver_digital_lines,
    order_cancel,
    order_create,
    order_create_for_paid_invoice,
    order_fulfill,
    order_pay,
    order_refresh_fulfillment,
    order_update,
)

__all__ = [
    "BatchItem",
    "invoice_batch_upsert",
    "invoice_upsert_by_external_id",
    "CreditEligibility",
    "CreditNotePreview",
    "InvoiceTotals",
    "LineInput",
    "OrderLineInput",
    "OrderPayResult",
    "PayResult",
    "PaymentReversalEligibility",
    "PlannedReversal",
    "ReversalEligibility",
    "compute_totals",
    "credit_eligibility",
    "credit_note_create",
    "credit_note_follow_refund",
    "credit_note_get",
    "credit_note_list",
    "credit_note_preview",
    "credit_note_retry",
    "credit_note_void",
    "customer_balance",
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
    "invoice_note_payment_failure",
    "invoice_pay",
    "invoice_record_payment",
    "invoice_reject",
    "invoice_send",
    "invoice_settings_for",
    "invoice_update",
    "invoice_void",
    "invoices_mark_overdue",
    "next_number",
    "order_cancel",
    "order_create",
    "order_create_for_paid_invoice",
    "order_fulfill",
    "order_pay",
    "order_refresh_fulfillment",
    "order_update",
    "register_subscription_canceller",
    "tax_customer_for",
    "tax_merchant_for",
    "tax_provider",
    "tax_rate_spec",
    "transaction_reversal_eligibility",
]

# Invoice settings and tax rates (settings.py).
from .settings import (  # noqa: E402
    invoice_settings_update,
    next_number_preview,
    tax_rate_archive,
    tax_rate_create,
    tax_rate_update,
)

__all__ += ["invoice_settings_update", "next_number_preview", "tax_rate_archive", "tax_rate_create",
            "tax_rate_update"]

# Payment reminders (reminders.py).
from .reminders import invoice_send_reminder, invoices_send_reminders  # noqa: E402

__all__ += ["invoice_send_reminder", "invoices_send_reminders"]

"""Billing data, one module per area: settings.py (invoice settings, tax rates, number sequences),
invoices.py, orders.py, credit_notes.py (with the customer balance ledger)."""
from .credit_notes import CreditNote, CreditNoteLine, CreditNoteReversal, CustomerBalanceTransaction
from .invoices import (
    FINALIZED_STATUSES,
    OPEN_STATUSES,
    Invoice,
    InvoiceComment,
    InvoiceLine,
    InvoicePayment,
    InvoiceReminder,
    InvoiceStatus,
)
from .orders import Order, OrderLine
from .settings import InvoiceSettings, NumberSequence, TaxRate

__all__ = ["FINALIZED_STATUSES", "OPEN_STATUSES", "CreditNote", "CreditNoteLine", "CreditNoteReversal",
           "CustomerBalanceTransaction", "Invoice", "InvoiceComment", "InvoiceLine", "InvoicePayment",
           "InvoiceReminder", "InvoiceSettings", "InvoiceStatus", "NumberSequence", "Order", "OrderLine", "TaxRate"]

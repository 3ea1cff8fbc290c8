"""The public shapes of billing objects: what the API returns and the events carry (page 084's
invoice.paid payload is the model for the invoice)."""
from __future__ import annotations

from django.conf import settings

from apps.catalog.payloads import iso

from .models import (
    CreditNote,
    CreditNoteLine,
    CreditNoteReversal,
    Invoice,
    InvoiceLine,
    InvoicePayment,
    Order,
    OrderLine,
)


def _date(value):
    return value.isoformat() if value else None


def hosted_invoice_url(invoice: Invoice) -> str:
    return f"{settings.PUBLIC_BASE_URL.rstrip('/')}/i/{invoice.hosted_token}"


def invoice_line_payload(line: InvoiceLine) -> dict:
    return {
        "id": line.pk, "object": "invoice_line", "description": line.description, "quantity": line.quantity,
        "unit_amount_minor": line.unit_amount_minor, "subtotal_minor": line.amount_minor,
        "amount_minor": line.amount_minor, "discount_minor": line.discount_minor, "tax_minor": line.tax_minor,
        "total_minor": line.amount_minor - line.discount_minor + (
            line.tax_minor if line.tax_snapshot and not line.tax_snapshot.get("inclusive") else 0),
        "tax_rate_id": line.tax_rate_id, "tax": line.tax_snapshot, "tax_exempt": line.tax_exempt,
        "source_type": line.source_type, "source_id": line.source_id or None, "price_id": line.price_id,
        "product_id": line.product_id, "billing_interval": line.billing_interval or None,
        "billing_interval_count": line.billing_interval_count, "period_start": iso(line.period_start),
        "period_end": iso(line.period_end), "metadata": line.metadata,
    }


def invoice_payment_payload(application: InvoicePayment) -> dict:
    return {
        "id": application.pk, "object": "invoice_payment", "payment_id": application.payment_id,
        "method": application.method, "amount_minor": application.amount_minor,
        "amount_reversed_minor": application.amount_reversed_minor, "currency": application.currency,
        "reference": application.reference or None, "note": application.note or None,
        "received_at": iso(application.received_at),
    }


def invoice_payload(invoice: Invoice, *, lines: list[InvoiceLine] | None = None) -> dict:
    """`lines` may be given (prefetched) to avoid a query per invoice in lists."""
    if lines is None:
        lines = list(invoice.lines.all())
    return {
        "id": invoice.pk, "object": "invoice", "number": invoice.number or None, "status": invoice.status,
        "customer_id": invoice.customer_id, "subscription_id": invoice.subscription_id or None,
        "source": invoice.source, "collection_method": invoice.collection_method, "currency": invoice.currency,
        "description": invoice.description or None,
        "subtotal_minor": invoice.subtotal_minor, "discount_minor": invoice.discount_minor,
        "tax_minor": invoice.tax_minor, "total_minor": invoice.total_minor,
        "amount_due_minor": invoice.total_minor, "amount_paid_minor": invoice.amount_paid_minor,
        "amount_credited_minor": invoice.amount_credited_minor,
        "amount_refunded_minor": invoice.amount_refunded_minor,
        "amount_remaining_minor": invoice.amount_remaining_minor,
        "discount_id": invoice.discount_id, "tax_treatment": invoice.tax_treatment or None,
        "tax_note": invoice.tax_note or None, "tax_summary": invoice.tax_summary,
        "due_date": _date(invoice.due_date), "days_until_due": invoice.days_until_due,
        "memo": invoice.memo or None, "footer": invoice.footer or None,
        "customer_snapshot": {
            "name": invoice.customer_name, "email": invoice.customer_email, "company_name": invoice.customer_company,
            "phone": invoice.customer_phone, "address": invoice.customer_address,
            "shipping_address": invoice.customer_shipping, "tax_ids": invoice.customer_tax_ids,
        } if invoice.finalized_at else None,
        "hosted_invoice_url": hosted_invoice_url(invoice) if invoice.finalized_at else None,
        "finalized_at": iso(invoice.finalized_at), "approved_at": iso(invoice.approved_at),
        "sent_at": iso(invoice.sent_at), "paid_at": iso(invoice.paid_at), "voided_at": iso(invoice.voided_at),
        "void_reason": invoice.void_reason or None, "rejection_note": invoice.rejection_note or None,
        "marked_uncollectible_at": iso(invoice.marked_uncollectible_at),
        "external_source": invoice.external_source or None, "external_id": invoice.external_id or None,
        "external_updated_at": iso(invoice.external_updated_at),
        "lines": [invoice_line_payload(line) for line in lines],
        "metadata": invoice.metadata, "livemode": invoice.livemode,
        "created_at": iso(invoice.created_at), "updated_at": iso(invoice.updated_at),
    }


def order_line_payload(line: OrderLine) -> dict:
    return {
        "id": line.pk, "object": "order_line_item", "product_id": line.product_id, "price_id": line.price_id,
        "invoice_line_id": line.invoice_line_id, "description": line.description, "quantity": line.quantity,
        "amount_minor": line.amount_minor, "fulfillment_type": line.fulfillment_type,
        "fulfillment_status": line.fulfillment_status, "carrier": line.carrier or None,
        "tracking_number": line.tracking_number or None, "shipped_at": iso(line.shipped_at),
        "delivered_at": iso(line.delivered_at),
    }


def order_payload(order: Order, *, lines: list[OrderLine] | None = None) -> dict:
    if lines is None:
        lines = list(order.lines.all())
    return {
        "id": order.pk, "object": "order", "status": order.status, "customer_id": order.customer_id,
        "invoice_id": order.invoice_id, "subscription_id": order.subscription_id or None,
        "currency": order.currency, "subtotal_minor": order.subtotal_minor, "discount_minor": order.discount_minor,
        "tax_minor": order.tax_minor, "total_minor": order.total_minor, "amount_paid_minor": order.amount_paid_minor,
        "discount_id": order.discount_id, "shipping_address": order.shipping_address,
        "carrier": order.carrier or None, "tracking_number": order.tracking_number or None,
        "notes": order.notes or None, "paid_at": iso(order.paid_at), "fulfilled_at": iso(order.fulfilled_at),
        "canceled_at": iso(order.canceled_at), "cancel_reason": order.cancel_reason or None,
        "line_items": [order_line_payload(line) for line in lines], "metadata": order.metadata,
        "livemode": order.livemode, "created_at": iso(order.created_at), "updated_at": iso(order.updated_at),
    }


def credit_note_line_payload(line: CreditNoteLine) -> dict:
    return {"id": line.pk, "object": "credit_note_line", "invoice_line_id": line.invoice_line_id,
            "description": line.description, "amount_minor": line.amount_minor, "tax_minor": line.tax_minor}


def credit_note_reversal_payload(reversal: CreditNoteReversal) -> dict:
    return {"id": reversal.pk, "object": "credit_note_reversal", "route": reversal.route, "status": reversal.status,
            "payment_id": reversal.payment_id, "invoice_payment_id": reversal.invoice_payment_id,
            "amount_minor": reversal.amount_minor, "currency": reversal.currency, "refund_id": reversal.refund_id,
            "void_id": reversal.void_id, "failure_message": reversal.failure_message or None,
            "completed_at": iso(reversal.completed_at)}


def credit_note_payload(note: CreditNote, *, lines: list | None = None, reversals: list | None = None) -> dict:
    if lines is None:
        lines = list(note.lines.all())
    if reversals is None:
        reversals = list(note.reversals.all())
    return {
        "id": note.pk, "object": "credit_note", "number": note.number, "status": note.status,
        "invoice_id": note.invoice_id, "customer_id": note.customer_id, "credit_method": note.credit_method,
        "reason": note.reason, "memo": note.memo or None, "currency": note.currency,
        "amount_minor": note.amount_minor, "tax_minor": note.tax_minor, "subtotal_minor": note.amount_minor - note.tax_minor,
        "tax_by_rate": note.tax_by_rate, "pre_payment_amount_minor": note.pre_payment_minor,
        "post_payment_amount_minor": note.post_payment_minor, "amount_reversed_minor": note.amount_reversed_minor,
        "is_final": note.is_final, "cancel_subscription": note.cancel_subscription,
        "subscription_canceled": note.subscription_canceled, "customer_present": note.customer_present,
        "failure_message": note.failure_message or None, "applied_at": iso(note.applied_at),
        "voided_at": iso(note.voided_at),
        "created_by": {"type": note.actor_type, "id": note.actor_id or None, "label": note.actor_label or None},
        "lines": [credit_note_line_payload(line) for line in lines],
        "reversals": [credit_note_reversal_payload(r) for r in reversals],
        "metadata": note.metadata, "livemode": note.livemode, "created_at": iso(note.created_at),
    }

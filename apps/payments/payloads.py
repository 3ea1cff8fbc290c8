"""The public shapes of payments objects: what the API returns and the events carry."""
from __future__ import annotations

from .models import FeeLine, Payment, PaymentMethod, Refund, Transaction, Void


def _ts(value):
    return value.isoformat() if value else None


def payment_payload(payment: Payment) -> dict:
    return {
        "id": payment.pk, "object": "payment",
        "amount_minor": payment.amount_minor, "currency": payment.currency,
        "amount_captured_minor": payment.amount_captured_minor,
        "amount_refunded_minor": payment.amount_refunded_minor,
        "status": payment.status, "capture": payment.capture, "captured_at": _ts(payment.captured_at),
        "customer_id": payment.customer_id, "payment_method_id": payment.payment_method_id,
        "description": payment.description, "metadata": payment.metadata,
        "statement_descriptor": payment.statement_descriptor,
        "attempt_id": payment.attempt_id, "gateway": payment.gateway,
        "gateway_transaction_id": payment.gateway_transaction_id or None,
        "outcome_unknown": payment.outcome_unknown,
        "card": {"brand": payment.card_brand, "last4": payment.card_last4, "funding": payment.card_funding,
                 "country": payment.card_country} if payment.card_last4 else None,
        "decline_code": payment.decline_code or None, "failure_message": payment.failure_message or None,
        "avs_result": payment.avs_result or None, "cvv_result": payment.cvv_result or None,
        "action_url": payment.action_url or None, "invoice_id": payment.invoice_id or None,
        "fees_minor": payment.fees_minor, "net_minor": payment.net_minor,
        "livemode": payment.livemode, "created_at": _ts(payment.created_at), "updated_at": _ts(payment.updated_at),
    }


def payment_method_payload(pm: PaymentMethod) -> dict:
    return {
        "id": pm.pk, "object": "payment_method", "customer_id": pm.customer_id, "gateway": pm.gateway,
        "card": {"brand": pm.brand, "last4": pm.last4, "exp_month": pm.exp_month, "exp_year": pm.exp_year,
                 "funding": pm.funding, "country": pm.country, "fingerprint": pm.fingerprint or None},
        "is_default": pm.is_default, "status": pm.status, "livemode": pm.livemode, "created_at": _ts(pm.created_at),
    }


def fee_line_payload(line: FeeLine) -> dict:
    return {"id": line.pk, "object": "fee_line", "code": line.code, "description": line.description,
            "percent": str(line.percent), "amount_minor": line.amount_minor, "currency": line.currency}


def transaction_payload(txn: Transaction, *, with_fees: bool = True) -> dict:
    body = {"id": txn.pk, "object": "transaction", "type": txn.type, "amount_minor": txn.amount_minor,
            "currency": txn.currency, "status": txn.status, "payment_id": txn.payment_id, "refund_id": txn.refund_id,
            "description": txn.description or None,
            "gateway_transaction_id": txn.gateway_transaction_id or None, "livemode": txn.livemode,
            "created_at": _ts(txn.created_at)}
    if with_fees:
        body["fee_lines"] = [fee_line_payload(line) for line in txn.fee_lines.all()]
    return body


def refund_payload(refund: Refund) -> dict:
    return {"id": refund.pk, "object": "refund", "payment_id": refund.payment_id, "amount_minor": refund.amount_minor,
            "currency": refund.currency, "reason": refund.reason or None, "status": refund.status,
            "attempt_id": refund.attempt_id, "gateway_transaction_id": refund.gateway_transaction_id or None,
            "outcome_unknown": refund.outcome_unknown, "failure_message": refund.failure_message or None,
            "livemode": refund.livemode, "created_at": _ts(refund.created_at)}


def void_payload(void: Void) -> dict:
    return {"id": void.pk, "object": "void", "payment_id": void.payment_id, "status": void.status,
            "eligibility": void.eligibility or None, "failure_message": void.failure_message or None,
            "livemode": void.livemode, "created_at": _ts(void.created_at)}


def dispute_evidence_file_payload(file) -> dict:
    return {"id": file.pk, "object": "dispute_evidence_file", "dispute_id": file.dispute_id,
            "filename": file.original_name, "content_type": file.content_type, "size_bytes": file.size_bytes,
            "category": file.category or None, "created_at": _ts(file.created_at)}


def dispute_payload(dispute) -> dict:
    """A dispute with its evidence files (list callers prefetch `files`)."""
    return {
        "id": dispute.pk, "object": "dispute", "payment_id": dispute.payment_id, "customer_id": dispute.customer_id,
        "amount_minor": dispute.amount_minor, "currency": dispute.currency, "fee_minor": dispute.fee_minor,
        "status": dispute.status, "reason": dispute.reason,
        "network_reason_code": dispute.network_reason_code or None,
        "gateway_dispute_id": dispute.gateway_dispute_id,
        "evidence": dispute.evidence or {}, "evidence_due_by": _ts(dispute.evidence_due_by),
        "evidence_submitted_at": _ts(dispute.evidence_submitted_at),
        "evidence_files": [dispute_evidence_file_payload(f) for f in dispute.files.all()],
        "disputed_at": _ts(dispute.disputed_at), "closed_at": _ts(dispute.closed_at),
        "livemode": dispute.livemode, "created_at": _ts(dispute.created_at), "updated_at": _ts(dispute.updated_at),
    }


# --- payouts and settlement batches (services/payouts.py, services/settlement.py) ---------------------
def payout_payload(payout) -> dict:
    return {
        "id": payout.pk, "object": "payout", "status": payout.status,
        "amount_minor": payout.amount_minor, "currency": payout.currency,
        "summary": {"gross_minor": payout.gross_minor, "fees_minor": payout.fees_minor,
                    "refunds_minor": payout.refunds_minor, "disputes_minor": payout.disputes_minor,
                    "adjustments_minor": payout.adjustments_minor, "net_minor": payout.amount_minor},
        "transaction_count": payout.transaction_count,
        "payout_date": payout.payout_date.isoformat(), "arrival_date": payout.arrival_date.isoformat(),
        "reference": payout.reference, "destination_last4": payout.destination_last4 or None,
        "initiated_at": _ts(payout.initiated_at), "paid_at": _ts(payout.paid_at), "failed_at": _ts(payout.failed_at),
        "failure_message": payout.failure_message or None,
        "livemode": payout.livemode, "created_at": _ts(payout.created_at), "updated_at": _ts(payout.updated_at),
    }


def payout_line_payload(txn) -> dict:
    """One ledger row of a payout: its signed gross, its fees and its net (the nets sum to the payout)."""
    fees = sum(line.amount_minor for line in txn.fee_lines.all())
    return {
        "id": txn.pk, "object": "payout_line", "type": txn.type, "payment_id": txn.payment_id,
        "refund_id": txn.refund_id, "dispute_id": txn.dispute_id, "description": txn.description or None,
        "currency": txn.currency,
        "gross_minor": txn.amount_minor, "fees_minor": fees, "net_minor": txn.amount_minor - fees,
        "fee_lines": [fee_line_payload(line) for line in txn.fee_lines.all()],
        "gateway_transaction_id": txn.gateway_transaction_id or None,
        "settlement_batch_id": txn.settlement_batch_id, "settled_at": _ts(txn.settled_at),
        "available_on": txn.available_on.isoformat() if txn.available_on else None,
        "created_at": _ts(txn.created_at),
    }


def settlement_batch_payload(batch) -> dict:
    return {"id": batch.pk, "object": "settlement_batch", "gateway_batch_id": batch.gateway_batch_id,
            "closed_at": _ts(batch.closed_at), "transaction_count": batch.transaction_count,
            "currency": batch.currency, "sales_minor": batch.sales_minor, "refunds_minor": batch.refunds_minor,
            "livemode": batch.livemode}


def charge_payload(payment: Payment) -> dict:
    """A charge is a Payment seen through the charges API (issue 4 decision): the payment's fields plus
    whether it was captured and refunded."""
    return {**payment_payload(payment), "object": "charge",
            "captured": payment.amount_captured_minor > 0,
            "refunded": payment.amount_captured_minor > 0
            and payment.amount_refunded_minor >= payment.amount_captured_minor}


def payment_intent_payload(intent) -> dict:
    """A payment intent; `next_action` while it waits for 3-D Secure (callers select `latest_payment`)."""
    latest = intent.latest_payment if intent.latest_payment_id else None
    next_action = None
    if intent.status == "requires_action" and latest is not None and latest.action_url:
        next_action = {"type": "redirect_to_url", "url": latest.action_url}
    return {
        "id": intent.pk, "object": "payment_intent", "amount_minor": intent.amount_minor, "currency": intent.currency,
        "amount_capturable_minor": intent.amount_capturable_minor,
        "amount_received_minor": intent.amount_received_minor, "capture_method": intent.capture_method,
        "status": intent.status, "customer_id": intent.customer_id, "payment_method_id": intent.payment_method_id,
        "latest_payment_id": intent.latest_payment_id, "next_action": next_action,
        "last_payment_error": intent.last_payment_error, "description": intent.description,
        "metadata": intent.metadata, "cancellation_reason": intent.cancellation_reason or None,
        "canceled_at": _ts(intent.canceled_at), "livemode": intent.livemode, "created_at": _ts(intent.created_at),
        "updated_at": _ts(intent.updated_at),
    }

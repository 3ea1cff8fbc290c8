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

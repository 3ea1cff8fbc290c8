"""NMI-style webhooks from the simulator to an account's configured URL (protocols.md §1.9).

JSON `{"event_id", "event_type", "event_body": {...}}`, signed with the account's signing key:
`Webhook-Signature: t=<nonce>,s=<hex HMAC-SHA256(key, nonce + "." + raw body)>` (the nonce is not a
timestamp; there is no replay window). Sent once, after the simulator's transaction commits; a failed
delivery is recorded and can be replayed (same event_id and body) with `replay()` or the control
endpoint — receivers must dedupe on event_id, as with NMI.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
import uuid

import httpx
from django.db import transaction

from apps.core.clock import now

from .models import SimAccount, SimAction, SimBatch, SimChargeback, SimTransaction, SimWebhookDelivery
from .protocol import format_amount, format_date

log = logging.getLogger(__name__)
TIMEOUT_SECONDS = 5


def sign(signing_key: str, body: bytes, nonce: str) -> str:
    return hmac.new(signing_key.encode(), nonce.encode() + b"." + body, hashlib.sha256).hexdigest()


def signature_header(signing_key: str, body: bytes, nonce: str | None = None) -> str:
    nonce = nonce or secrets.token_hex(16)
    return f"t={nonce},s={sign(signing_key, body, nonce)}"


def verify(signing_key: str, body: bytes, header: str) -> bool:
    """Checks a `Webhook-Signature` header; our inbound webhook handler can use the same rule."""
    parts = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    if "t" not in parts or "s" not in parts:
        return False
    return hmac.compare_digest(sign(signing_key, body, parts["t"]), parts["s"])


def send_on_commit(account: SimAccount, event_type: str, event_body: dict) -> None:
    if account.webhook_url:
        transaction.on_commit(lambda: send(account, event_type, event_body))


def send(account: SimAccount, event_type: str, event_body: dict, *, event_id: str | None = None) -> SimWebhookDelivery:
    payload = {"event_id": event_id or str(uuid.uuid4()), "event_type": event_type, "event_body": event_body}
    return _deliver(account, payload["event_id"], event_type, json.dumps(payload, separators=(",", ":")))


def replay(event_id: str) -> SimWebhookDelivery:
    """Sends an earlier event again, byte for byte (a duplicate, as NMI may send)."""
    first = SimWebhookDelivery.objects.select_related("account").filter(event_id=event_id).order_by("id").first()
    if first is None:
        raise SimWebhookDelivery.DoesNotExist(event_id)
    return _deliver(first.account, event_id, first.event_type, first.body)


def _deliver(account: SimAccount, event_id: str, event_type: str, body: str) -> SimWebhookDelivery:
    raw = body.encode()
    header = signature_header(account.webhook_signing_key, raw)
    delivery = SimWebhookDelivery(account=account, event_id=event_id, event_type=event_type, url=account.webhook_url,
                                  body=body, signature=header, created_at=now())
    try:
        response = httpx.post(account.webhook_url, content=raw, timeout=TIMEOUT_SECONDS,
                              headers={"Content-Type": "application/json", "Webhook-Signature": header})
        delivery.status_code = response.status_code
    except httpx.HTTPError as exc:
        delivery.error = f"{type(exc).__name__}: {exc}"[:300]
        log.warning("NMI simulator webhook %s to %s failed: %s", event_type, account.webhook_url, exc)
    delivery.save()
    return delivery


# --- event bodies ---------------------------------------------------------------------------------------------
def _merchant(account: SimAccount) -> dict:
    return {"merchant": {"id": account.gateway_merchant_id, "name": account.name}, "features": {"is_test_mode": True}}


def _card(txn: SimTransaction) -> dict:
    return {"cc_number": txn.cc_number_masked, "cc_exp": txn.cc_exp, "cc_type": txn.cc_type, "cc_bin": txn.cc_bin}


def transaction_body(txn: SimTransaction, action: SimAction) -> dict:
    return {
        **_merchant(txn.account),
        "transaction_id": txn.transaction_id, "transaction_type": "cc", "condition": txn.condition,
        "order_id": txn.orderid, "authorization_code": txn.authcode, "currency": txn.currency,
        "action": {"amount": format_amount(action.amount_minor, txn.currency), "action_type": action.action_type,
                   "date": format_date(action.date), "success": "1" if action.success else "0", "source": "api",
                   "response_text": action.response_text, "response_code": action.response_code},
        "card": _card(txn),
    }


def batch_body(account: SimAccount, batch: SimBatch, members: list[SimTransaction]) -> dict:
    return {**_merchant(account), "batch_id": batch.batch_id, "processor_batch_id": batch.processor_batch_id,
            "settlement_date": format_date(batch.closed_at), "transaction_count": len(members),
            "transaction_ids": [t.transaction_id for t in members]}


def chargeback_body(chargeback: SimChargeback) -> dict:
    txn = chargeback.transaction
    return {**_merchant(txn.account), "chargebacks": [{
        "chargeback_id": chargeback.chargeback_id, "transaction_id": txn.transaction_id, "order_id": txn.orderid,
        "amount": format_amount(chargeback.amount_minor, chargeback.currency), "currency": chargeback.currency,
        "reason_code": chargeback.reason_code, "status": chargeback.status, "date": format_date(chargeback.received_at),
        "card": _card(txn)}]}

"""`Idempotency-Key` on POST, PUT, PATCH and DELETE (DECISIONS.md), stored in the database.

Scope: API key + method + path. The unique constraint on that scope is the lock: exactly one of
several concurrent duplicates inserts the claim row and executes; the others see it in flight
(409 idempotency_in_progress) or completed (the stored status, body and headers are replayed with
`Idempotency-Replayed: true`). A different body with the same key is 409 idempotency_conflict.
2xx and 4xx answers are stored; a 5xx is forgotten so a retry may try again, unless the view marks
the response `idempotency_store = True` (a 5xx after the gateway call completed, page 070).

A request whose process died mid-flight leaves its key in progress until it expires (24 h): we
would rather make the client use a new key than risk executing twice.
"""
from __future__ import annotations

import hashlib
import json
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction

from apps.core.clock import now
from apps.core.errors import Conflict, ValidationFailed
from apps.core.models import IdempotencyKey

IDEMPOTENT_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
REPLAYED_HEADERS = ("Content-Type", "Location", "RevKeen-Version")


class IdempotencyConflict(Conflict):
    type = "idempotency_error"
    code = "idempotency_conflict"


class IdempotencyInProgress(Conflict):
    type = "idempotency_error"
    code = "idempotency_in_progress"


def fingerprint(method: str, path: str, body: bytes) -> str:
    try:
        canonical = json.dumps(json.loads(body or b"null"), sort_keys=True, separators=(",", ":")).encode()
    except (ValueError, UnicodeDecodeError):
        canonical = body or b""
    return hashlib.sha256(method.encode() + b" " + path.encode() + b"\n" + canonical).hexdigest()


def validate_key(key: str) -> str:
    if not (1 <= len(key) <= 255):
        raise ValidationFailed("Idempotency-Key must be 1 to 255 characters.",
                               fields={"Idempotency-Key": ["must be 1 to 255 characters"]})
    return key


def claim(*, api_key, key: str, method: str, path: str, body: bytes) -> IdempotencyKey | None:
    """Claims the key for this request. Returns the claim row when this request should execute,
    or the completed row (state=completed) when it should be replayed; raises on conflict/in-flight."""
    validate_key(key)
    digest = fingerprint(method, path, body)
    current = now()
    for _ in range(2):
        try:
            with transaction.atomic():
                return IdempotencyKey.objects.create(
                    merchant_id=api_key.merchant_id, api_key=api_key, key=key, method=method, path=path,
                    request_fingerprint=digest, expires_at=current + timedelta(hours=settings.IDEMPOTENCY_TTL_HOURS),
                )
        except IntegrityError:
            existing = IdempotencyKey.objects.filter(api_key=api_key, method=method, path=path, key=key).first()
            if existing is None:
                continue  # deleted between our insert and read (a failed request released it): try again
            if existing.expires_at <= current:
                IdempotencyKey.objects.filter(pk=existing.pk, expires_at__lte=current).delete()
                continue
            if existing.request_fingerprint != digest:
                raise IdempotencyConflict(
                    "This Idempotency-Key was already used with a different request body. Use a new key.")
            if existing.state != IdempotencyKey.State.COMPLETED:
                raise IdempotencyInProgress(
                    "A request with this Idempotency-Key is still being processed. Retry shortly.")
            return existing
    raise IdempotencyInProgress("A request with this Idempotency-Key is still being processed. Retry shortly.")


def complete(row: IdempotencyKey, response) -> None:
    store = response.status_code < 500 or getattr(response, "idempotency_store", False)
    if not store:
        release(row)
        return
    headers = {name: response[name] for name in REPLAYED_HEADERS if response.has_header(name)}
    IdempotencyKey.objects.filter(pk=row.pk).update(
        state=IdempotencyKey.State.COMPLETED, response_status=response.status_code,
        response_body=bytes(response.content), response_headers=headers, completed_at=now(),
    )


def release(row: IdempotencyKey) -> None:
    IdempotencyKey.objects.filter(pk=row.pk, state=IdempotencyKey.State.IN_PROGRESS).delete()


def purge_expired() -> int:
    deleted, _ = IdempotencyKey.objects.filter(expires_at__lte=now()).delete()
    return deleted

"""Payment intents (page 025, API 241–247): one purchase followed from creation to money through any number of
payment attempts. Each confirmation creates a Payment (payment_begin/payment_send: the attempt is committed
before the gateway is called) linked by Payment.payment_intent and PaymentIntent.latest_payment; the
attempt's outcome moves the intent (payment_intent_follow_payment, called by the payments services inside
the transaction that settles the attempt, so the reconciler and 3-D Secure completion move it too).

Locks: the payment row first, then the intent (the payments services hold the payment lock when they call
back here). A confirmation locks only the intent, and claims it by moving it to `processing` before its
attempt reaches the gateway, so two confirmations never create two payments.
"""
from __future__ import annotations

import logging

from django.db import transaction

from apps.core.actors import Actor
from apps.core.clock import now
from apps.core.errors import BusinessRuleViolation, NotFound, ValidationFailed
from apps.core.events import emit_event
from apps.core.money import Money
from apps.core.statemachine import transition
from apps.core.tenancy import Tenant

from ..models import Payment, PaymentIntent, PaymentMethod
from ..payloads import payment_intent_payload
from . import payments as payment_services

__all__ = ["CANCELLATION_REASONS", "UNSET", "payment_intent_cancel", "payment_intent_capture",
           "payment_intent_confirm", "payment_intent_create", "payment_intent_follow_payment",
           "payment_intent_update"]

log = logging.getLogger(__name__)
S = PaymentIntent.Status
CANCELLATION_REASONS = ("duplicate", "fraudulent", "requested_by_customer", "abandoned")
BEFORE_CONFIRMATION = (S.REQUIRES_PAYMENT_METHOD, S.REQUIRES_CONFIRMATION)


class _Unset:
    def __repr__(self):
        return "UNSET"


UNSET = _Unset()  # "not given" for update fields (None clears nothing: it is not a value of any field)


def _tenant_of(intent: PaymentIntent) -> Tenant:
    return Tenant(intent.merchant, intent.livemode)


def _check_tenant(tenant: Tenant, intent: PaymentIntent) -> None:
    if intent.merchant_id != tenant.merchant.pk or intent.livemode != tenant.livemode:
        raise NotFound(f"No such payment intent: '{intent.pk}'", param="id")


def _emit(intent: PaymentIntent, type: str, *, actor: Actor, request_id: str = "") -> None:
    emit_event(tenant=_tenant_of(intent), type=type, data=payment_intent_payload(intent), actor=actor,
               request_id=request_id)


def _unexpected_state(intent: PaymentIntent, action: str) -> BusinessRuleViolation:
    return BusinessRuleViolation(f"This payment intent cannot be {action}: it is {intent.status}.",
                                 code="payment_intent_unexpected_state", param="id")


def _validate_source(*, tenant: Tenant, customer, payment_method, payment_token, fields: dict) -> None:
    if payment_method is not None and payment_token:
        fields["payment_method"] = ["give payment_method or payment_token, not both"]
    if payment_token is not None and not isinstance(payment_token, str):
        fields["payment_token"] = ["must be a string"]
    if payment_method is not None:
        if payment_method.merchant_id != tenant.merchant.pk or payment_method.livemode != tenant.livemode:
            raise NotFound(f"No such payment method: '{payment_method.pk}'", param="payment_method")
        if payment_method.status != PaymentMethod.Status.ACTIVE:
            fields["payment_method"] = ["is detached"]
        elif customer is not None and payment_method.customer_id != customer.pk:
            fields["payment_method"] = ["belongs to another customer"]


def _raise(fields: dict) -> None:
    if fields:
        raise ValidationFailed(next(f"{k}: {v[0]}" for k, v in fields.items()), fields=fields)


def payment_intent_create(*, tenant: Tenant, actor: Actor, amount: Money, customer=None, payment_method=None,
                          payment_token: str = "", capture_method: str = "automatic", confirm: bool = False,
                          description: str = "", metadata: dict | None = None,
                          request_id: str = "") -> PaymentIntent:
    """A new intent: requires_confirmation when it names a card (payment method or token), otherwise
    requires_payment_method. `confirm=True` confirms it at once (payment_intent_confirm)."""
    fields: dict[str, list[str]] = {}
    if not isinstance(amount, Money) or amount.amount_minor <= 0:
        fields["amount"] = ["must be greater than zero"]
    if capture_method not in PaymentIntent.CaptureMethod.values:
        fields["capture_method"] = [f"must be one of {', '.join(PaymentIntent.CaptureMethod.values)}"]
    if customer is not None and (customer.merchant_id != tenant.merchant.pk or customer.livemode != tenant.livemode):
        raise NotFound(f"No such customer: '{customer.pk}'", param="customer")
    _validate_source(tenant=tenant, customer=customer, payment_method=payment_method, payment_token=payment_token,
                     fields=fields)
    _raise(fields)
    if payment_method is not None and customer is None:
        customer = payment_method.customer
    has_card = payment_method is not None or bool(payment_token)
    with transaction.atomic():
        intent = PaymentIntent.objects.create(
            merchant=tenant.merchant, livemode=tenant.livemode, customer=customer, payment_method=payment_method,
            payment_token=payment_token or "", amount_minor=amount.amount_minor, currency=amount.currency,
            capture_method=capture_method, description=(description or "")[:500], metadata=metadata or {},
            status=S.REQUIRES_CONFIRMATION if has_card else S.REQUIRES_PAYMENT_METHOD)
        _emit(intent, "payment_intent.created", actor=actor, request_id=request_id)
    if confirm:
        return payment_intent_confirm(tenant=tenant, actor=actor, intent=intent, request_id=request_id)
    return intent


def payment_intent_update(*, tenant: Tenant, actor: Actor, intent: PaymentIntent, amount=UNSET, payment_method=UNSET,
                          payment_token=UNSET, description=UNSET, metadata=UNSET,
                          request_id: str = "") -> PaymentIntent:
    """Changes what the status allows: before confirmation the amount (with its currency), the card,
    description and metadata; afterwards description and metadata only; nothing once canceled (422)."""
    _check_tenant(tenant, intent)
    given = {name for name, value in (("amount", amount), ("payment_method", payment_method),
                                      ("payment_token", payment_token), ("description", description),
                                      ("metadata", metadata)) if value is not UNSET}
    fields: dict[str, list[str]] = {}
    if "amount" in given and (not isinstance(amount, Money) or amount.amount_minor <= 0):
        fields["amount"] = ["must be greater than zero"]
    if "description" in given and not isinstance(description, str):
        fields["description"] = ["must be a string"]
    if "metadata" in given and not isinstance(metadata, dict):
        fields["metadata"] = ["must be an object"]
    _raise(fields)
    with transaction.atomic():
        locked = PaymentIntent.objects.select_for_update(of=("self",)).select_related("merchant").get(pk=intent.pk)
        if locked.status == S.CANCELED:
            raise _unexpected_state(locked, "updated")
        frozen = sorted(given - {"description", "metadata"})
        if frozen and locked.status not in BEFORE_CONFIRMATION:
            raise BusinessRuleViolation(
                f"{', '.join(frozen)} cannot change once the payment intent is confirmed (it is {locked.status}); "
                "only description and metadata can.", code="payment_intent_unexpected_state", param=frozen[0])
        method = locked.payment_method if payment_method is UNSET else payment_method
        token = locked.payment_token if payment_token is UNSET else (payment_token or "")
        if payment_method is not UNSET and payment_method is not None and payment_token is UNSET:
            token = ""  # a new saved card replaces a token given earlier
        if payment_token is not UNSET and payment_token and payment_method is UNSET:
            method = None
        _validate_source(tenant=tenant, customer=locked.customer, payment_method=method, payment_token=token,
                         fields=fields)
        _raise(fields)
        previous = {}
        updates: dict = {}
        if "amount" in given:
            updates.update(amount_minor=amount.amount_minor, currency=amount.currency)
        if {"payment_method", "payment_token"} & given:
            updates.update(payment_method=method, payment_token=token)
        if "description" in given:
            updates["description"] = description[:500]
        if "metadata" in given:
            updates["metadata"] = metadata
        for name, value in updates.items():
            previous[name] = getattr(locked, name + "_id" if name == "payment_method" else name)
            setattr(locked, name, value)
        locked.updated_at = now()
        locked.save(update_fields=[*updates, "updated_at"])
        has_card = locked.payment_method_id is not None or bool(locked.payment_token)
        if locked.status == S.REQUIRES_PAYMENT_METHOD and has_card:
            transition(locked, S.REQUIRES_CONFIRMATION, actor=actor, reason="payment method given")
        elif locked.status == S.REQUIRES_CONFIRMATION and not has_card:
            transition(locked, S.REQUIRES_PAYMENT_METHOD, actor=actor, reason="payment method removed")
        emit_event(tenant=tenant, type="payment_intent.updated", data=payment_intent_payload(locked), actor=actor,
                   previous_attributes={k: v for k, v in previous.items() if k != "payment_token"},
                   request_id=request_id)
    return locked


def payment_intent_confirm(*, tenant: Tenant, actor: Actor, intent: PaymentIntent, payment_method=None,
                           payment_token: str = "", request_id: str = "") -> PaymentIntent:
    """Attempts the payment: a Payment (a sale, or an authorisation when capture_method=manual) whose outcome
    moves the intent to succeeded, requires_capture, requires_action (3-D Secure: next_action), back to
    requires_payment_method (declined: last_payment_error), or leaves it processing while the gateway's
    answer is unknown. Confirming an intent in requires_action again reads the 3-D Secure result."""
    _check_tenant(tenant, intent)
    if intent.status == S.REQUIRES_ACTION:
        return _refresh_action(tenant=tenant, actor=actor, intent=intent)
    fields: dict[str, list[str]] = {}
    _validate_source(tenant=tenant, customer=intent.customer, payment_method=payment_method,
                     payment_token=payment_token, fields=fields)
    _raise(fields)
    with transaction.atomic():
        locked = PaymentIntent.objects.select_for_update(of=("self",)).select_related("merchant", "customer").get(pk=intent.pk)
        if locked.status not in BEFORE_CONFIRMATION:
            raise _unexpected_state(locked, "confirmed")
        if payment_method is not None or payment_token:
            locked.payment_method, locked.payment_token = payment_method, payment_token or ""
        method, token = locked.payment_method, locked.payment_token
        if method is None and not token:
            raise ValidationFailed("payment_method: a payment method or payment token is needed to confirm",
                                   fields={"payment_method": ["is required to confirm"]})
        if method is not None:
            method = PaymentMethod.objects.get(pk=method.pk)  # detached since it was attached to the intent?
            _validate_source(tenant=tenant, customer=locked.customer, payment_method=method, payment_token="",
                             fields=fields)
            _raise(fields)
        payment = payment_services.payment_begin(
            tenant=tenant, actor=actor, amount=locked.amount, customer=locked.customer, payment_method=method,
            payment_token=None if method else token, description=locked.description, metadata=locked.metadata,
            capture=locked.capture_method == PaymentIntent.CaptureMethod.AUTOMATIC, payment_intent=locked,
            request_id=request_id)
        transition(locked, S.PROCESSING, actor=actor, reason=f"confirmed: attempt {payment.pk}", extra_updates={
            "payment_method": method, "payment_token": "" if method else token, "latest_payment": payment,
            "last_payment_error": None})
    # The intent is `processing` and its attempt committed: the gateway call happens outside any transaction,
    # and the attempt's outcome moves the intent (payment_intent_follow_payment).
    payment_services.payment_send(payment=payment, payment_token=None if method else token, actor=actor,
                                  request_id=request_id)
    return PaymentIntent.objects.select_related("latest_payment").get(pk=locked.pk)


def _refresh_action(*, tenant: Tenant, actor: Actor, intent: PaymentIntent) -> PaymentIntent:
    latest = Payment.objects.get(pk=intent.latest_payment_id)
    payment_services.payment_complete_action(payment=latest, actor=actor)
    return PaymentIntent.objects.select_related("latest_payment").get(pk=intent.pk)


def _release_late_payment(payment_id: str, actor: Actor) -> None:
    payment = Payment.objects.select_related("merchant").get(pk=payment_id)
    tenant = Tenant(payment.merchant, payment.livemode)
    if payment.status != Payment.Status.SUCCEEDED:
        return
    try:
        if payment.amount_captured_minor:
            payment_services.void_create(tenant=tenant, actor=actor, payment=payment)
        else:
            payment_services.payment_cancel_authorization(tenant=tenant, actor=actor, payment=payment)
    except BusinessRuleViolation:
        log.warning("payment %s succeeded after its intent was canceled and could not be voided", payment_id)


def payment_intent_follow_payment(*, payment: Payment, actor: Actor, request_id: str = "") -> PaymentIntent | None:
    """Moves an intent after its latest attempt changed. Called with the payment row locked, inside the
    transaction that changed it. Anything but the latest attempt, or an intent no longer waiting on it, is
    left alone (so a late answer cannot move an intent that has moved on)."""
    intent = (PaymentIntent.objects.select_for_update(of=("self",)).select_related("merchant")
              .filter(pk=payment.payment_intent_id).first())
    if intent is None or intent.latest_payment_id != payment.pk:
        return intent
    intent.latest_payment = payment
    waiting = (S.PROCESSING, S.REQUIRES_ACTION)
    if intent.status == S.CANCELED and payment.status == Payment.Status.SUCCEEDED:
        # The cardholder finished 3-D Secure after the intent was canceled: money moved for a purchase the
        # merchant called off. Release it once this commits (a void; if that batch has closed, the failed
        # void is visible — void.failed — and the merchant refunds: never an automatic refund).
        transaction.on_commit(lambda: _release_late_payment(payment.pk, actor))
        return intent
    if payment.status == Payment.Status.SUCCEEDED and payment.amount_captured_minor:
        if intent.status not in (*waiting, S.REQUIRES_CAPTURE):
            return intent
        transition(intent, S.SUCCEEDED, actor=actor, reason=f"attempt {payment.pk} captured", extra_updates={
            "amount_received_minor": payment.amount_captured_minor, "amount_capturable_minor": 0,
            "last_payment_error": None})
        _emit(intent, "payment_intent.succeeded", actor=actor, request_id=request_id)
    elif payment.status == Payment.Status.SUCCEEDED and not payment.capture:
        if intent.status not in waiting:
            return intent
        transition(intent, S.REQUIRES_CAPTURE, actor=actor, reason=f"attempt {payment.pk} authorised",
                   extra_updates={"amount_capturable_minor": payment.amount_minor, "last_payment_error": None})
        _emit(intent, "payment_intent.amount_capturable_updated", actor=actor, request_id=request_id)
    elif payment.status == Payment.Status.REQUIRES_ACTION:
        if intent.status != S.PROCESSING:
            return intent
        transition(intent, S.REQUIRES_ACTION, actor=actor, reason=f"attempt {payment.pk} needs 3-D Secure")
        _emit(intent, "payment_intent.requires_action", actor=actor, request_id=request_id)
    elif payment.status == Payment.Status.FAILED:
        if intent.status not in waiting:
            return intent
        error = {"type": "card_error" if payment.decline_code else "api_error",
                 "code": "card_declined" if payment.decline_code else "processing_error",
                 "decline_code": payment.decline_code or None,
                 "message": payment.failure_message or "The payment failed.", "payment_id": payment.pk}
        transition(intent, S.REQUIRES_PAYMENT_METHOD, actor=actor, reason=f"attempt {payment.pk} failed",
                   extra_updates={"last_payment_error": error})
        _emit(intent, "payment_intent.payment_failed", actor=actor, request_id=request_id)
    elif payment.status == Payment.Status.VOIDED:
        if intent.status != S.REQUIRES_CAPTURE:
            return intent
        # Its authorisation was released (payment_intent_cancel, or a void through /v2/voids): nothing can be
        # captured any more. The reason is the one payment_intent_cancel recorded, if it was that.
        transition(intent, S.CANCELED, actor=actor, reason=intent.cancellation_reason or "authorisation voided",
                   extra_updates={"canceled_at": now(), "amount_capturable_minor": 0})
        _emit(intent, "payment_intent.canceled", actor=actor, request_id=request_id)
    return intent


def payment_intent_capture(*, tenant: Tenant, actor: Actor, intent: PaymentIntent, amount: Money | None = None,
                           request_id: str = "") -> PaymentIntent:
    """Captures a manual intent's authorisation (requires_capture), all or part of amount_capturable."""
    _check_tenant(tenant, intent)
    intent = PaymentIntent.objects.get(pk=intent.pk)
    if intent.status != S.REQUIRES_CAPTURE:
        raise _unexpected_state(intent, "captured")
    if amount is not None:
        if amount.currency != intent.currency:
            raise ValidationFailed(f"currency: must be {intent.currency}, the intent's currency",
                                   fields={"currency": [f"must be {intent.currency}"]})
        if amount.amount_minor > intent.amount_capturable_minor:
            raise BusinessRuleViolation(
                f"amount_to_capture {amount} exceeds the capturable amount "
                f"{Money(intent.amount_capturable_minor, intent.currency)}.", code="amount_too_large",
                param="amount_to_capture")
    payment_services.payment_capture(tenant=tenant, actor=actor, payment=intent.latest_payment, amount=amount,
                                     request_id=request_id)
    return PaymentIntent.objects.select_related("latest_payment").get(pk=intent.pk)


def payment_intent_cancel(*, tenant: Tenant, actor: Actor, intent: PaymentIntent, cancellation_reason: str = "",
                          request_id: str = "") -> PaymentIntent:
    """Cancels an intent that has not succeeded: an authorisation waiting for capture is voided at the gateway
    first (a void the gateway refuses is a 422 and nothing changes). An attempt in flight (processing) cannot
    be canceled until its outcome is known."""
    _check_tenant(tenant, intent)
    if cancellation_reason and cancellation_reason not in CANCELLATION_REASONS:
        raise ValidationFailed.not_one_of("cancellation_reason", CANCELLATION_REASONS)
    intent = PaymentIntent.objects.select_related("latest_payment").get(pk=intent.pk)
    if intent.status in (S.SUCCEEDED, S.CANCELED, S.PROCESSING):
        raise _unexpected_state(intent, "canceled")
    latest = intent.latest_payment
    if intent.status == S.REQUIRES_CAPTURE and latest is not None and latest.status == Payment.Status.SUCCEEDED:
        # The void cancels the intent (payment_intent_follow_payment) with the reason recorded here first; a
        # void the gateway refuses is a 422 and the intent is left as it was.
        PaymentIntent.objects.filter(pk=intent.pk, status=S.REQUIRES_CAPTURE).update(
            cancellation_reason=cancellation_reason, updated_at=now())
        try:
            payment_services.payment_cancel_authorization(tenant=tenant, actor=actor, payment=latest,
                                                          request_id=request_id)
        except BusinessRuleViolation:
            PaymentIntent.objects.filter(pk=intent.pk, status=S.REQUIRES_CAPTURE).update(cancellation_reason="")
            raise
        canceled = PaymentIntent.objects.get(pk=intent.pk)
        if canceled.status == S.CANCELED:
            return canceled
    with transaction.atomic():
        if latest is not None:  # lock order: the payment, then the intent
            Payment.objects.select_for_update(of=("self",)).get(pk=latest.pk)
        locked = PaymentIntent.objects.select_for_update(of=("self",)).select_related("merchant").get(pk=intent.pk)
        if locked.status in (S.SUCCEEDED, S.CANCELED, S.PROCESSING):
            raise _unexpected_state(locked, "canceled")
        transition(locked, S.CANCELED, actor=actor, reason=cancellation_reason or "canceled", extra_updates={
            "cancellation_reason": cancellation_reason, "canceled_at": now(), "amount_capturable_minor": 0})
        _emit(locked, "payment_intent.canceled", actor=actor, request_id=request_id)
    return locked

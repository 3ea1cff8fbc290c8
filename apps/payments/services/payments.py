"""Payments writes: card payments through the gateway adapter, the reconciler for lost answers, 3-D Secure
completion, capture of authorisations, refunds and voids, saved cards in the gateway's vault (page 025).

The gateway is never called inside a database transaction. Each money-moving call is bracketed:
1. a transaction that writes (and commits) the attempt in `pending` with its attempt id — the gateway's
   orderid — so a crash during the call leaves a row the reconciler resolves with `find_attempt`;
2. the gateway call;
3. a transaction that locks the row and applies the outcome exactly once (the state check inside
   the lock makes a second application a no-op).
Refunds reserve their amount under the payment's row lock (a pending Refund counts against the
refundable limit), so two concurrent refunds can never exceed the captured amount. A capture claims the
payment the same way (a pending `capture` ledger row), so concurrent captures reach the gateway once.
A payment that is a payment intent's attempt moves its intent in the transaction that settles it
(services/intents.py `payment_intent_follow_payment`; lock order: payment, then intent).
"""
from __future__ import annotations

import hashlib
import logging
from datetime import time, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Sum

from apps.core.actors import Actor
from apps.core.clock import now
from apps.core.errors import BusinessRuleViolation, DomainError, NotFound, ValidationFailed
from apps.core.events import emit_event
from apps.core.ids import new_id
from apps.core.money import Money
from apps.core.statemachine import transition
from apps.core.tenancy import Tenant

from .. import calculations as calc
from ..gateways import gateway_for
from ..gateways.base import GatewayQueryError, GatewayResult, Outcome
from ..models import FeeLine, Payment, PaymentMethod, Refund, Transaction, Void
from ..payloads import payment_method_payload, payment_payload, refund_payload, void_payload

RECONCILE_GRACE_SECONDS = 120  # a not_found attempt younger than this may still be in flight
# A capture's ledger row is its claim: pending while at the gateway, then succeeded or failed.
CAPTURE_PENDING, CAPTURE_SUCCEEDED, CAPTURE_FAILED = "pending", "succeeded", "failed"
log = logging.getLogger("revkeen.payments")


class GatewayUnavailable(DomainError):
    """The gateway's answer was lost on a call that cannot be looked up afterwards (a vault add)."""

    status = 502
    type = "api_error"
    code = "gateway_unavailable"


def _tenant_of(obj) -> Tenant:
    return Tenant(obj.merchant, obj.livemode)


def gateway_account_for(tenant: Tenant):
    from apps.accounts.models import GatewayAccount

    account = GatewayAccount.objects.filter(merchant=tenant.merchant, livemode=tenant.livemode).first()
    if account is None:
        raise BusinessRuleViolation(f"No card gateway is connected in {tenant.mode} mode.", code="gateway_not_connected")
    return account


def _adapter(account):
    """The account's adapter; timeouts from settings NMI_CONNECT_TIMEOUT_SECONDS / NMI_READ_TIMEOUT_SECONDS."""
    return gateway_for(account)


def _find_attempt(account, attempt_id: str):
    """The gateway's record of one of our attempts (its orderid), read through the Query API."""
    adapter = _adapter(account)
    try:
        return adapter.find_attempt(attempt_id)
    finally:
        adapter.close()


def batch_cutoff() -> calc.BatchCutoff:
    """The gateway's daily batch cut-off (the simulator's settings; NMI's default 20:00 New York)."""
    hours, minutes = str(getattr(settings, "NMI_SIM_BATCH_CUTOFF", "20:00")).split(":")
    return calc.BatchCutoff(time_of_day=time(int(hours), int(minutes)),
                            zone=getattr(settings, "NMI_SIM_BATCH_TIMEZONE", "America/New_York"))


def void_window_for(payment: Payment) -> calc.VoidWindow | None:
    if not payment.captured_at:
        return None
    return calc.void_window(now=max(now(), payment.captured_at), captured_at=payment.captured_at, cutoff=batch_cutoff())


# --- payments ----------------------------------------------------------------------------------------
def _validate_create(*, tenant, amount, customer, payment_method, payment_token):
    fields: dict[str, list[str]] = {}
    if not isinstance(amount, Money):
        fields["amount"] = ["must be an amount with a currency"]
    elif amount.amount_minor <= 0:
        fields["amount"] = ["must be greater than zero"]
    # Both only for a vaulted card charged with a CVV-only token (the buyer re-entered the CVV).
    if bool(payment_method) == bool(payment_token) and not (payment_method and payment_method.gateway_vault_id):
        fields["payment_method"] = ["give exactly one of payment_method or payment_token"]
    if payment_method is not None:
        if payment_method.merchant_id != tenant.merchant.pk or payment_method.livemode != tenant.livemode:
            raise NotFound(f"No such payment method: '{payment_method.pk}'", param="payment_method")
        if payment_method.status != PaymentMethod.Status.ACTIVE:
            fields["payment_method"] = ["is detached"]
        if customer is not None and payment_method.customer_id != customer.pk:
            fields["payment_method"] = ["belongs to another customer"]
    if customer is not None and (customer.merchant_id != tenant.merchant.pk or customer.livemode != tenant.livemode):
        raise NotFound(f"No such customer: '{customer.pk}'", param="customer")
    if fields:
        raise ValidationFailed(next(f"{k}: {v[0]}" for k, v in fields.items()), fields=fields)


def payment_create(*, tenant: Tenant, actor: Actor, amount: Money, customer=None, payment_method=None,
                   payment_token: str | None = None, description: str = "", metadata: dict | None = None,
                   capture: bool = True, product=None, invoice_id: str = "", request_id: str = "") -> Payment:
    """Charges (or authorises, capture=False) a card. Returns the payment in its resulting status:
    succeeded, failed (decline_code), requires_action (action_url) or pending with outcome_unknown.
    `product`: what a one-off charge sold (margin per product)."""
    with transaction.atomic():
        payment = payment_begin(tenant=tenant, actor=actor, amount=amount, customer=customer,
                                payment_method=payment_method, payment_token=payment_token, description=description,
                                metadata=metadata, capture=capture, product=product, invoice_id=invoice_id,
                                request_id=request_id)
    # Committed: from here a crash leaves a pending row that payments_reconcile_due() resolves.
    return payment_send(payment=payment, payment_token=payment_token, actor=actor, request_id=request_id)


def payment_begin(*, tenant: Tenant, actor: Actor, amount: Money, customer=None, payment_method=None,
                  payment_token: str | None = None, description: str = "", metadata: dict | None = None,
                  capture: bool = True, payment_intent=None, product=None, invoice_id: str = "",
                  request_id: str = "") -> Payment:
    """Step 1 of a payment: validates and writes the pending attempt. The caller commits it (alone, or with
    its own rows — a payment intent's confirmation) before `payment_send` calls the gateway."""
    _validate_create(tenant=tenant, amount=amount, customer=customer, payment_method=payment_method,
                     payment_token=payment_token)
    if product is not None and (product.merchant_id != tenant.merchant.pk or product.livemode != tenant.livemode):
        raise NotFound(f"No such product: '{product.pk}'", param="product")
    account = gateway_account_for(tenant)
    if payment_method is not None and customer is None:
        customer = payment_method.customer
    payment = Payment.objects.create(
        merchant=tenant.merchant, livemode=tenant.livemode, customer=customer, payment_method=payment_method,
        amount_minor=amount.amount_minor, currency=amount.currency, capture=capture,
        description=description[:500], metadata=metadata or {}, attempt_id=new_id("pat"),
        gateway=account.provider, gateway_account=account, payment_intent=payment_intent, product=product,
        invoice_id=invoice_id)
    emit_event(tenant=tenant, type="payment.created", data=payment_payload(payment), actor=actor,
               request_id=request_id)
    return payment


def payment_send(*, payment: Payment, payment_token: str | None = None, actor: Actor,
                 request_id: str = "") -> Payment:
    """Steps 2 and 3: the gateway call for a committed pending attempt (outside any transaction), then its
    outcome applied once. `payment_token` is the one-time token when the attempt has no saved method."""
    method = payment.payment_method
    if method and method.gateway_vault_id:  # with a token too: a CVV-only token for the saved card
        source = {"customer_vault_id": method.gateway_vault_id, "payment_token": payment_token or ""}
    else:
        source = {"payment_token": payment_token or (method.gateway_token if method else "")}
    adapter = _adapter(payment.gateway_account)
    try:
        call = adapter.sale if payment.capture else adapter.authorize
        result = call(amount=payment.amount, order_id=payment.attempt_id, description=payment.description[:255],
                      **source)
    finally:
        adapter.close()
    return _apply_outcome(payment_id=payment.pk, result=result, actor=actor, request_id=request_id)


def _card_fields(result: GatewayResult) -> dict:
    card = result.card
    if card is None:
        return {}
    return {"card_brand": card.brand, "card_last4": card.last4, "card_funding": card.funding_class or card.funding,
            "card_country": card.country}


def _fee_breakdown(payment: Payment, *, three_ds: bool, amount: Money | None = None) -> calc.FeeBreakdown | None:
    """The fee lines of the money taken — the sale, or a capture's `amount` — from the rate table, or None
    when the card is outside it (unknown brand/country)."""
    try:
        return calc.card_fee_breakdown(transaction=calc.CardTransaction(
            amount=amount or payment.amount, kind=calc.TransactionKind.SALE, brand=payment.card_brand,
            funding=payment.card_funding, issuing_country=payment.card_country,
            merchant_country=payment.merchant.country,
            channel=calc.Channel.CNP_3DS if three_ds else calc.Channel.CNP_NON_3DS))
    except (calc.FeeError, ValueError, TypeError):
        return None


@transaction.atomic
def _apply_outcome(*, payment_id: str, result: GatewayResult, actor: Actor, request_id: str = "",
                   from_states=("pending",)) -> Payment:
    payment = Payment.objects.select_for_update(of=("self",)).select_related("merchant").get(pk=payment_id)
    tenant = _tenant_of(payment)
    if payment.status not in from_states:
        return payment  # already applied (the reconciler or a concurrent completion won): exactly once
    outcome = result.outcome
    card = _card_fields(result)
    common = {**card, "avs_result": result.avs_result[:5], "cvv_result": result.cvv_result[:5]}
    if outcome == Outcome.APPROVED:
        three_ds = payment.three_ds or payment.status == Payment.Status.REQUIRES_ACTION
        for name, value in card.items():
            setattr(payment, name, value)
        # An authorisation moves no money: its fees come with the capture (payment_capture).
        breakdown = _fee_breakdown(payment, three_ds=three_ds) if payment.capture else None
        fees = breakdown.fees.amount_minor if breakdown else 0
        captured = payment.amount_minor if payment.capture else 0
        transition(payment, Payment.Status.SUCCEEDED, actor=actor, reason="gateway approved", extra_updates={
            **common, "gateway_transaction_id": result.transaction_id, "outcome_unknown": False,
            "amount_captured_minor": captured, "captured_at": now() if payment.capture else None,
            "three_ds": three_ds, "action_url": "", "fees_minor": fees, "net_minor": captured - fees})
        txn = Transaction.objects.create(
            merchant=payment.merchant, livemode=payment.livemode,
            type=Transaction.Type.SALE if payment.capture else Transaction.Type.AUTH,
            amount_minor=captured, currency=payment.currency, payment=payment,
            gateway_transaction_id=result.transaction_id)
        if breakdown:
            FeeLine.objects.bulk_create([FeeLine(
                merchant=payment.merchant, livemode=payment.livemode, transaction=txn, code=str(line.code),
                description=line.description, percent=line.percent, amount_minor=line.amount.amount_minor,
                currency=line.amount.currency) for line in breakdown.lines])
        event = "payment.succeeded"
    elif outcome == Outcome.DECLINED:
        transition(payment, Payment.Status.FAILED, actor=actor, reason=f"declined {result.decline_code}",
                   extra_updates={**common, "decline_code": result.decline_code or "",
                                  "failure_message": result.message[:500], "outcome_unknown": False,
                                  "gateway_transaction_id": result.transaction_id})
        event = "payment.failed"
    elif outcome == Outcome.REQUIRES_ACTION:
        if payment.status == Payment.Status.REQUIRES_ACTION:
            return payment
        transition(payment, Payment.Status.REQUIRES_ACTION, actor=actor, reason="3-D Secure challenge",
                   extra_updates={"action_url": result.action_url, "three_ds": True, "outcome_unknown": False,
                                  "gateway_transaction_id": result.transaction_id})
        event = "payment.requires_action"
    elif outcome == Outcome.ERROR:
        message = "The payment could not be sent to the card gateway; nothing was charged. Please try again."
        if result.duplicate:
            message = "The gateway refused this payment as a duplicate of a recent one; nothing was charged."
        transition(payment, Payment.Status.FAILED, actor=actor, reason="gateway error",
                   extra_updates={"failure_message": message, "outcome_unknown": False})
        event = "payment.failed"
    else:  # unknown: never a decline, never a blind retry
        if not payment.outcome_unknown:
            Payment.objects.filter(pk=payment.pk).update(outcome_unknown=True, updated_at=now())
            payment.outcome_unknown = True
        return payment
    emit_event(tenant=tenant, type=event, data=payment_payload(payment), actor=actor, request_id=request_id)
    _intent_follow(payment, actor=actor, request_id=request_id)
    return payment


def _intent_follow(payment: Payment, *, actor: Actor, request_id: str = "") -> None:
    """A payment that is a payment intent's attempt moves its intent along, in the same transaction (the
    payment row is locked first, the intent second: the lock order everywhere)."""
    if payment.payment_intent_id:
        from .intents import payment_intent_follow_payment

        payment_intent_follow_payment(payment=payment, actor=actor, request_id=request_id)


def payment_reconcile_unknown(*, payment: Payment, actor: Actor | None = None,
                              grace_seconds: int = RECONCILE_GRACE_SECONDS) -> Payment:
    """Resolves a pending payment whose gateway answer was lost: the gateway's record of our attempt id
    decides. Not found after the grace period → failed (nothing was charged)."""
    actor = actor or Actor.system("payments reconciler")
    payment = Payment.objects.select_related("gateway_account").get(pk=payment.pk)
    if payment.status != Payment.Status.PENDING:
        return payment
    lookup = _find_attempt(payment.gateway_account or gateway_account_for(_tenant_of(payment)), payment.attempt_id)
    if lookup.found and lookup.result is not None:
        return _apply_outcome(payment_id=payment.pk, result=lookup.result, actor=actor)
    if lookup.status == "not_found" and payment.created_at <= now() - timedelta(seconds=grace_seconds):
        with transaction.atomic():
            locked = Payment.objects.select_for_update(of=("self",)).select_related("merchant").get(pk=payment.pk)
            if locked.status != Payment.Status.PENDING:
                return locked
            transition(locked, Payment.Status.FAILED, actor=actor, reason="attempt not found at the gateway",
                       extra_updates={"outcome_unknown": False,
                                      "failure_message": "The gateway has no record of this payment; nothing was charged."})
            emit_event(tenant=_tenant_of(locked), type="payment.failed", data=payment_payload(locked), actor=actor)
            _intent_follow(locked, actor=actor)
            return locked
    return payment


def payments_reconcile_due(*, older_than_seconds: int = 30, batch: int = 200) -> int:
    """The sweep: pending payments, refunds and captures older than `older_than_seconds` (answer lost, or a crash
    mid-call), resolved from the gateway's record of their attempt ids."""
    cutoff = now() - timedelta(seconds=older_than_seconds)
    due = Payment.objects.filter(status=Payment.Status.PENDING, created_at__lte=cutoff).order_by("created_at")[:batch]
    resolved = 0
    for payment in due:
        if payment_reconcile_unknown(payment=payment).status != Payment.Status.PENDING:
            resolved += 1
    refunds = Refund.objects.filter(status=Refund.Status.PENDING, created_at__lte=cutoff).order_by("created_at")[:batch]
    for refund in refunds:
        if refund_reconcile_unknown(refund=refund).status != Refund.Status.PENDING:
            resolved += 1
    captures = (Transaction.objects.filter(type=Transaction.Type.CAPTURE, status=CAPTURE_PENDING, created_at__lte=cutoff)
                .select_related("payment").order_by("created_at")[:batch])
    for claim in captures:
        payment_capture_reconcile(payment=claim.payment)
        resolved += int(not Transaction.objects.filter(pk=claim.pk, status=CAPTURE_PENDING).exists())
    return resolved


def payment_complete_action(*, payment: Payment, actor: Actor | None = None) -> Payment:
    """After the 3-D Secure challenge: the gateway's record decides succeeded or failed."""
    actor = actor or Actor.system("3-D Secure")
    payment = Payment.objects.select_related("gateway_account").get(pk=payment.pk)
    if payment.status != Payment.Status.REQUIRES_ACTION:
        return payment
    lookup = _find_attempt(payment.gateway_account or gateway_account_for(_tenant_of(payment)), payment.attempt_id)
    if lookup.found and lookup.result is not None and lookup.result.outcome in (Outcome.APPROVED, Outcome.DECLINED):
        return _apply_outcome(payment_id=payment.pk, result=lookup.result, actor=actor,
                              from_states=("requires_action",))
    return payment


# --- capture of an authorisation ---------------------------------------------------------------------
def _capture_claim_of(payment: Payment):
    return Transaction.objects.filter(payment=payment, type=Transaction.Type.CAPTURE,
                                      status__in=(CAPTURE_PENDING, CAPTURE_SUCCEEDED)).first()


def payment_capture(*, tenant: Tenant, actor: Actor, payment: Payment, amount: Money | None = None,
                    request_id: str = "") -> Payment:
    """Captures an authorised payment (capture=False), all or part (≤ the authorised amount). NMI captures an
    authorisation once, so a second capture is a 422 and the rest of a partial capture is released.

    The claim is a pending `capture` ledger row written under the payment's lock (amount 0, no gateway id
    until the gateway approves), so of any number of concurrent captures exactly one reaches the gateway."""
    with transaction.atomic():
        locked = (Payment.objects.select_for_update(of=("self",)).select_related("merchant", "gateway_account")
                  .get(pk=payment.pk))
        if locked.merchant_id != tenant.merchant.pk or locked.livemode != tenant.livemode:
            raise NotFound(f"No such payment: '{payment.pk}'", param="id")
        if locked.capture or locked.amount_captured_minor or _capture_claim_of(locked) is not None:
            raise BusinessRuleViolation("This payment has already been captured (or its capture is in progress).",
                                        code="payment_already_captured", param="id")
        if locked.status != Payment.Status.SUCCEEDED:
            raise BusinessRuleViolation(f"Only an authorised payment can be captured; this one is {locked.status}.",
                                        code="payment_not_capturable", param="id")
        if Void.objects.filter(payment=locked, status=Void.Status.PENDING).exists():
            raise BusinessRuleViolation("A void of this authorisation is in progress.", code="reversal_in_progress",
                                        param="id")
        if amount is None:
            amount = locked.amount
        if amount.currency != locked.currency:
            raise ValidationFailed(f"currency: must be {locked.currency}, the payment's currency",
                                   fields={"currency": [f"must be {locked.currency}"]})
        if amount.amount_minor <= 0:
            raise ValidationFailed("amount: must be greater than zero", fields={"amount": ["must be greater than zero"]})
        if amount.amount_minor > locked.amount_minor:
            raise BusinessRuleViolation(f"Capture of {amount} exceeds the authorised amount {locked.amount}.",
                                        code="amount_too_large", param="amount")
        claim = Transaction.objects.create(merchant=locked.merchant, livemode=locked.livemode,
                                           type=Transaction.Type.CAPTURE, status=CAPTURE_PENDING, amount_minor=0,
                                           currency=locked.currency, payment=locked)
    adapter = _adapter(locked.gateway_account or gateway_account_for(tenant))
    try:
        result = adapter.capture(transaction_id=locked.gateway_transaction_id, amount=amount)
    finally:
        adapter.close()
    if result.outcome == Outcome.UNKNOWN:
        return payment_capture_reconcile(payment=locked, actor=actor)
    if result.outcome == Outcome.APPROVED:
        return _capture_succeed(claim_id=claim.pk, amount=amount, gateway_transaction_id=result.transaction_id,
                                actor=actor, request_id=request_id)
    _capture_fail(claim_id=claim.pk)
    raise BusinessRuleViolation(
        f"The gateway refused the capture: {result.gateway_message or result.message or result.error}".strip(),
        code="capture_failed", param="id")


@transaction.atomic
def _capture_succeed(*, claim_id: str, amount: Money, gateway_transaction_id: str, actor: Actor,
                     request_id: str = "") -> Payment:
    payment_id = Transaction.objects.values_list("payment_id", flat=True).get(pk=claim_id)
    payment = Payment.objects.select_for_update(of=("self",)).select_related("merchant").get(pk=payment_id)
    claim = Transaction.objects.select_for_update().get(pk=claim_id)
    if claim.status != CAPTURE_PENDING:
        return payment  # applied already: exactly once
    breakdown = _fee_breakdown(payment, three_ds=payment.three_ds, amount=amount)
    fees = breakdown.fees.amount_minor if breakdown else 0
    Transaction.objects.filter(pk=claim.pk).update(
        status=CAPTURE_SUCCEEDED, amount_minor=amount.amount_minor,
        gateway_transaction_id=gateway_transaction_id or payment.gateway_transaction_id)
    if breakdown:
        FeeLine.objects.bulk_create([FeeLine(
            merchant=payment.merchant, livemode=payment.livemode, transaction=claim, code=str(line.code),
            description=line.description, percent=line.percent, amount_minor=line.amount.amount_minor,
            currency=line.amount.currency) for line in breakdown.lines])
    updates = {"amount_captured_minor": amount.amount_minor, "captured_at": now(), "fees_minor": fees,
               "net_minor": amount.amount_minor - fees, "updated_at": now()}
    Payment.objects.filter(pk=payment.pk).update(**updates)
    for name, value in updates.items():
        setattr(payment, name, value)
    # The payment stays `succeeded` (it was approved at authorisation): charge.captured says what changed.
    emit_event(tenant=_tenant_of(payment), type="charge.captured", data=payment_payload(payment), actor=actor,
               request_id=request_id)
    _intent_follow(payment, actor=actor, request_id=request_id)
    return payment


def _capture_fail(*, claim_id: str) -> None:
    Transaction.objects.filter(pk=claim_id, status=CAPTURE_PENDING).update(status=CAPTURE_FAILED)


def payment_capture_reconcile(*, payment: Payment, actor: Actor | None = None,
                              grace_seconds: int = RECONCILE_GRACE_SECONDS) -> Payment:
    """Resolves a capture whose gateway answer was lost, from the gateway's record of the authorisation:
    a successful capture action → applied once; none on a claim older than the grace period (the request
    may still be in flight before that) → the claim fails (nothing was captured) and the payment may be
    captured again. The lookup failing leaves the claim pending (try again later)."""
    actor = actor or Actor.system("payments reconciler")
    payment = Payment.objects.select_related("gateway_account", "merchant").get(pk=payment.pk)
    claim = Transaction.objects.filter(payment=payment, type=Transaction.Type.CAPTURE, status=CAPTURE_PENDING).first()
    if claim is None:
        return payment
    adapter = _adapter(payment.gateway_account or gateway_account_for(_tenant_of(payment)))
    try:
        found = adapter.query_transaction(transaction_id=payment.gateway_transaction_id)
    except GatewayQueryError:
        return payment
    finally:
        adapter.close()
    captures = [a for txn in found for a in txn.actions_of("capture") if a.success]
    if captures:
        return _capture_succeed(claim_id=claim.pk, amount=captures[-1].amount,
                                gateway_transaction_id=payment.gateway_transaction_id, actor=actor)
    if found and claim.created_at <= now() - timedelta(seconds=grace_seconds):
        _capture_fail(claim_id=claim.pk)
    return payment


def payment_cancel_authorization(*, tenant: Tenant, actor: Actor, payment: Payment, request_id: str = "") -> Payment:
    """Releases an uncaptured authorisation: a void at the gateway (the payment → voided, no fees). A void
    the gateway refuses is a 422 and the authorisation stands."""
    if payment.merchant_id != tenant.merchant.pk or payment.livemode != tenant.livemode:
        raise NotFound(f"No such payment: '{payment.pk}'", param="id")
    if payment.capture or payment.amount_captured_minor:
        raise BusinessRuleViolation("This payment was captured: void or refund it instead.",
                                    code="payment_already_captured", param="id")
    void = void_create(tenant=tenant, actor=actor, payment=payment, request_id=request_id)
    if void.status != Void.Status.SUCCEEDED:
        raise BusinessRuleViolation(f"The authorisation could not be released: {void.failure_message}",
                                    code="void_failed", param="id")
    return Payment.objects.get(pk=payment.pk)


# --- payment methods (the gateway's customer vault) --------------------------------------------------
def _check_customer(tenant: Tenant, customer) -> None:
    if customer.merchant_id != tenant.merchant.pk or customer.livemode != tenant.livemode:
        raise NotFound(f"No such customer: '{customer.pk}'", param="customer")


def _card_fingerprint(*, merchant_id: str, card) -> str:
    """NMI returns no card fingerprint: ours is a merchant-scoped hash of what the gateway reports (brand,
    BIN, last four, expiry), enough to spot the same card saved twice. Never the card number."""
    basis = f"{merchant_id}|{card.brand}|{card.bin}|{card.last4}|{card.exp_month}|{card.exp_year}"
    return hashlib.sha256(basis.encode()).hexdigest()[:32]


def payment_method_create(*, tenant: Tenant, actor: Actor, customer, payment_token: str,
                          set_default: bool = False, request_id: str = "") -> PaymentMethod:
    """Saves a card for a customer: the one-time token goes into the gateway's customer vault and we keep the
    vault id with the card's brand, last four, expiry, funding and country. A customer's first card becomes
    the default, and `set_default` makes this one the default."""
    _check_customer(tenant, customer)
    if not isinstance(payment_token, str) or not payment_token.strip():
        raise ValidationFailed("payment_token: is required", fields={"payment_token": ["is required"]})
    account = gateway_account_for(tenant)
    adapter = _adapter(account)
    try:
        result = adapter.vault_add(payment_token=payment_token.strip())
    finally:
        adapter.close()
    if result.outcome == Outcome.UNKNOWN:
        raise GatewayUnavailable("The card gateway did not answer; the card was not saved. Please try again.")
    if not result.approved or not result.customer_vault_id:
        message = result.gateway_message or result.message or "The gateway refused the card."
        raise ValidationFailed(f"payment_token: {message}", fields={"payment_token": [message]},
                               code="invalid_payment_token")
    card = result.card
    with transaction.atomic():
        customer = type(customer).objects.select_for_update().get(pk=customer.pk)  # one default at a time
        has_default = PaymentMethod.objects.filter(customer=customer, is_default=True).exists()
        make_default = set_default or not has_default
        if make_default and has_default:
            PaymentMethod.objects.filter(customer=customer, is_default=True).update(is_default=False, updated_at=now())
        method = PaymentMethod.objects.create(
            merchant=tenant.merchant, livemode=tenant.livemode, customer=customer, gateway=account.provider,
            gateway_vault_id=result.customer_vault_id, is_default=make_default,
            brand=card.brand if card else "", last4=card.last4 if card else "",
            exp_month=card.exp_month if card else None, exp_year=card.exp_year if card else None,
            funding=(card.funding_class or card.funding) if card else "", country=card.country if card else "",
            fingerprint=_card_fingerprint(merchant_id=tenant.merchant.pk, card=card) if card else "")
        emit_event(tenant=tenant, type="customer.payment_method.attached", data=payment_method_payload(method),
                   actor=actor, request_id=request_id)
    return method


def payment_method_set_default(*, tenant: Tenant, actor: Actor, payment_method: PaymentMethod,
                               request_id: str = "") -> PaymentMethod:
    if payment_method.merchant_id != tenant.merchant.pk or payment_method.livemode != tenant.livemode:
        raise NotFound(f"No such payment method: '{payment_method.pk}'", param="payment_method")
    with transaction.atomic():
        customer = type(payment_method.customer).objects.select_for_update().get(pk=payment_method.customer_id)
        method = PaymentMethod.objects.select_for_update().get(pk=payment_method.pk)
        if method.status != PaymentMethod.Status.ACTIVE:
            raise BusinessRuleViolation("A detached payment method cannot be the default.",
                                        code="payment_method_detached", param="payment_method")
        if method.is_default:
            return method
        PaymentMethod.objects.filter(customer=customer, is_default=True).update(is_default=False, updated_at=now())
        PaymentMethod.objects.filter(pk=method.pk).update(is_default=True, updated_at=now())
        method.is_default = True
        emit_event(tenant=tenant, type="customer.payment_method.updated", data=payment_method_payload(method),
                   actor=actor, request_id=request_id)
    return method


def payment_method_detach(*, tenant: Tenant, actor: Actor, payment_method: PaymentMethod,
                          request_id: str = "") -> PaymentMethod:
    """Detaches a saved card: no longer usable here at once (committed first), then deleted from the gateway's
    vault. If it was the default, the newest remaining card becomes the default. A vault delete the gateway
    refuses leaves an unused vault record behind (logged), never a usable card."""
    if payment_method.merchant_id != tenant.merchant.pk or payment_method.livemode != tenant.livemode:
        raise NotFound(f"No such payment method: '{payment_method.pk}'", param="payment_method")
    with transaction.atomic():
        customer = type(payment_method.customer).objects.select_for_update().get(pk=payment_method.customer_id)
        method = PaymentMethod.objects.select_for_update().get(pk=payment_method.pk)
        if method.status == PaymentMethod.Status.DETACHED:
            return method
        was_default = method.is_default
        transition(method, PaymentMethod.Status.DETACHED, actor=actor, reason="detached",
                   extra_updates={"is_default": False})
        if was_default:
            successor = (PaymentMethod.objects.filter(customer=customer, status=PaymentMethod.Status.ACTIVE)
                         .order_by("-created_at", "-id").first())
            if successor is not None:
                PaymentMethod.objects.filter(pk=successor.pk).update(is_default=True, updated_at=now())
        emit_event(tenant=tenant, type="customer.payment_method.detached", data=payment_method_payload(method),
                   actor=actor, request_id=request_id)
    if method.gateway_vault_id:
        account = gateway_account_for(tenant)
        adapter = _adapter(account)
        try:
            result = adapter.vault_delete(customer_vault_id=method.gateway_vault_id)
        finally:
            adapter.close()
        if not result.approved:
            log.warning("vault delete of %s (%s) refused: %s", method.pk, method.gateway_vault_id,
                        result.gateway_message or result.error)
    return method


# --- refunds -----------------------------------------------------------------------------------------
def _refund_fail(refund_id: str, message: str, actor: Actor, request_id: str) -> Refund:
    with transaction.atomic():
        refund = Refund.objects.select_for_update(of=("self",)).select_related("merchant").get(pk=refund_id)
        if refund.status != Refund.Status.PENDING:
            return refund
        transition(refund, Refund.Status.FAILED, actor=actor, reason="gateway refused",
                   extra_updates={"failure_message": message[:500], "outcome_unknown": False})
        emit_event(tenant=_tenant_of(refund), type="refund.failed", data=refund_payload(refund), actor=actor,
                   request_id=request_id)
        return refund


def refund_create(*, tenant: Tenant, actor: Actor, payment: Payment, amount: Money | None = None, reason: str = "",
                  request_id: str = "") -> Refund:
    """Refunds all or part of a settled payment. Never more than captured − refunded (pending refunds
    count): one cent more is a 422. Before settlement the route is a void (page 025), so a refund is refused."""
    if reason and reason not in Refund.Reason.values:
        raise ValidationFailed.not_one_of("reason", Refund.Reason.values)
    with transaction.atomic():
        locked = Payment.objects.select_for_update(of=("self",)).select_related("merchant", "gateway_account").get(pk=payment.pk)
        if locked.merchant_id != tenant.merchant.pk or locked.livemode != tenant.livemode:
            raise NotFound(f"No such payment: '{payment.pk}'", param="payment_id")
        if locked.status not in (Payment.Status.SUCCEEDED, Payment.Status.PARTIALLY_REFUNDED):
            raise BusinessRuleViolation(f"Only a succeeded payment can be refunded; this one is {locked.status}.",
                                        code="payment_not_refundable", param="payment_id")
        if not locked.amount_captured_minor:
            raise BusinessRuleViolation("This payment was authorised but not captured; nothing to refund.",
                                        code="payment_not_refundable", param="payment_id")
        window = void_window_for(locked)
        if locked.status == Payment.Status.SUCCEEDED and window is not None and window.void_allowed:
            raise BusinessRuleViolation(
                "This payment has not settled yet: void it instead of refunding (POST /v2/voids). "
                f"The batch closes at {window.batch_cutoff_at.isoformat()}.", code="refund_before_settlement",
                param="payment_id")
        pending = (Refund.objects.filter(payment=locked, status=Refund.Status.PENDING)
                   .aggregate(total=Sum("amount_minor"))["total"] or 0)
        refundable = locked.amount_captured_minor - locked.amount_refunded_minor - pending
        if amount is None:  # all that is left
            amount = Money(max(refundable, 0), locked.currency)
            if refundable <= 0:
                raise BusinessRuleViolation("Nothing is left to refund on this payment.", code="amount_too_large",
                                            param="amount")
        if amount.currency != locked.currency:
            raise ValidationFailed(f"currency: must be {locked.currency}, the payment's currency",
                                   fields={"currency": [f"must be {locked.currency}"]})
        if amount.amount_minor <= 0:
            raise ValidationFailed("amount: must be greater than zero", fields={"amount": ["must be greater than zero"]})
        if amount.amount_minor > refundable:
            raise BusinessRuleViolation(
                f"Refund of {amount} exceeds the refundable amount {Money(max(refundable, 0), locked.currency)} "
                f"(captured {Money(locked.amount_captured_minor, locked.currency)}, refunded "
                f"{Money(locked.amount_refunded_minor + pending, locked.currency)}).",
                code="amount_too_large", param="amount")
        refund = Refund.objects.create(merchant=tenant.merchant, livemode=tenant.livemode, payment=locked,
                                       amount_minor=amount.amount_minor, currency=amount.currency, reason=reason,
                                       attempt_id=new_id("rat"))
        emit_event(tenant=tenant, type="refund.created", data=refund_payload(refund), actor=actor,
                   request_id=request_id)
    # Reserved and committed; the gateway call runs outside the lock.
    adapter = _adapter(locked.gateway_account or gateway_account_for(tenant))
    try:
        result = adapter.refund(transaction_id=locked.gateway_transaction_id, order_id=refund.attempt_id, amount=amount)
    finally:
        adapter.close()
    if result.outcome == Outcome.APPROVED:
        return _refund_succeed(refund_id=refund.pk, gateway_transaction_id=result.transaction_id, actor=actor,
                               request_id=request_id)
    if result.outcome == Outcome.UNKNOWN:
        Refund.objects.filter(pk=refund.pk).update(outcome_unknown=True, updated_at=now())
        refund.outcome_unknown = True
        return refund  # stays reserved (pending) until resolved: the limit holds
    return _refund_fail(refund.pk, result.message or result.gateway_message or "The gateway refused the refund.",
                        actor, request_id)


@transaction.atomic
def _refund_succeed(*, refund_id: str, gateway_transaction_id: str, actor: Actor, request_id: str = "") -> Refund:
    payment_id = Refund.objects.values_list("payment_id", flat=True).get(pk=refund_id)
    payment = Payment.objects.select_for_update(of=("self",)).select_related("merchant").get(pk=payment_id)  # payment, then refund
    refund = Refund.objects.select_for_update().get(pk=refund_id)
    if refund.status != Refund.Status.PENDING:
        return refund
    tenant = _tenant_of(payment)
    transition(refund, Refund.Status.SUCCEEDED, actor=actor, reason="gateway approved",
               extra_updates={"gateway_transaction_id": gateway_transaction_id, "outcome_unknown": False})
    Transaction.objects.create(merchant=payment.merchant, livemode=payment.livemode, type=Transaction.Type.REFUND,
                               amount_minor=-refund.amount_minor, currency=refund.currency, payment=payment,
                               refund=refund, gateway_transaction_id=gateway_transaction_id)
    refunded = payment.amount_refunded_minor + refund.amount_minor
    status = Payment.Status.REFUNDED if refunded >= payment.amount_captured_minor else Payment.Status.PARTIALLY_REFUNDED
    # Refunds return no fees (calculations.refund_cost): the sale's fees are kept, net falls by the refund
    # (by difference, so a dispute's held amount and fee already taken off net stay off: services/disputes.py).
    transition(payment, status, actor=actor, reason=f"refund {refund.pk}", extra_updates={
        "amount_refunded_minor": refunded, "net_minor": payment.net_minor - refund.amount_minor})
    emit_event(tenant=tenant, type="refund.succeeded", data=refund_payload(refund), actor=actor, request_id=request_id)
    emit_event(tenant=tenant, type="payment.refunded", data=payment_payload(payment), actor=actor,
               request_id=request_id)
    return refund



def refund_reconcile_unknown(*, refund: Refund, actor: Actor | None = None,
                             grace_seconds: int = RECONCILE_GRACE_SECONDS) -> Refund:
    """Resolves a pending refund whose gateway answer was lost (its amount stays reserved meanwhile):
    found approved → succeeded; declined/refused → failed (the reservation is released); not found after
    the grace period → failed."""
    actor = actor or Actor.system("payments reconciler")
    refund = Refund.objects.select_related("payment__gateway_account", "merchant").get(pk=refund.pk)
    if refund.status != Refund.Status.PENDING:
        return refund
    lookup = _find_attempt(refund.payment.gateway_account or gateway_account_for(_tenant_of(refund)), refund.attempt_id)
    if lookup.found and lookup.result is not None:
        if lookup.result.outcome == Outcome.APPROVED:
            return _refund_succeed(refund_id=refund.pk, gateway_transaction_id=lookup.result.transaction_id,
                                   actor=actor)
        if lookup.result.outcome in (Outcome.DECLINED, Outcome.ERROR):
            return _refund_fail(refund.pk, lookup.result.message or "The gateway refused the refund.", actor, "")
    elif lookup.status == "not_found" and refund.created_at <= now() - timedelta(seconds=grace_seconds):
        return _refund_fail(refund.pk, "The gateway has no record of this refund; nothing was refunded.", actor, "")
    return refund

# --- voids -------------------------------------------------------------------------------------------
def void_create(*, tenant: Tenant, actor: Actor, payment: Payment, request_id: str = "") -> Void:
    """Voids a payment before its batch settles (full amount, no fees). If the gateway refuses (batch
    closed) the Void fails and the payment is unchanged: never a fallback to a refund."""
    with transaction.atomic():
        locked = Payment.objects.select_for_update(of=("self",)).select_related("merchant", "gateway_account").get(pk=payment.pk)
        if locked.merchant_id != tenant.merchant.pk or locked.livemode != tenant.livemode:
            raise NotFound(f"No such payment: '{payment.pk}'", param="payment_id")
        if locked.status != Payment.Status.SUCCEEDED:
            raise BusinessRuleViolation(f"Only a succeeded payment can be voided; this one is {locked.status}.",
                                        code="payment_not_voidable", param="payment_id")
        if Void.objects.filter(payment=locked, status=Void.Status.PENDING).exists() or \
                Refund.objects.filter(payment=locked, status=Refund.Status.PENDING).exists() or \
                Transaction.objects.filter(payment=locked, type=Transaction.Type.CAPTURE,
                                           status=CAPTURE_PENDING).exists():
            raise BusinessRuleViolation("Another reversal of this payment is in progress.", code="reversal_in_progress",
                                        param="payment_id")
        window = void_window_for(locked)
        void = Void.objects.create(merchant=tenant.merchant, livemode=tenant.livemode, payment=locked,
                                   eligibility=str(window.eligibility) if window else "")
    adapter = _adapter(locked.gateway_account or gateway_account_for(tenant))
    try:
        result = adapter.void(transaction_id=locked.gateway_transaction_id)
    finally:
        adapter.close()
    with transaction.atomic():
        payment = Payment.objects.select_for_update(of=("self",)).select_related("merchant").get(pk=locked.pk)
        void = Void.objects.select_for_update().get(pk=void.pk)
        if result.outcome == Outcome.APPROVED:
            transition(void, Void.Status.SUCCEEDED, actor=actor, reason="gateway approved")
            FeeLine.objects.filter(transaction__payment=payment).update(amount_minor=0)  # a void has no fees
            transition(payment, Payment.Status.VOIDED, actor=actor, reason=f"void {void.pk}",
                       extra_updates={"fees_minor": 0, "net_minor": 0})
            Transaction.objects.create(merchant=payment.merchant, livemode=payment.livemode, type=Transaction.Type.VOID,
                                       amount_minor=-payment.amount_captured_minor, currency=payment.currency,
                                       payment=payment, gateway_transaction_id=result.transaction_id)
            emit_event(tenant=tenant, type="void.succeeded", data=void_payload(void), actor=actor, request_id=request_id)
            emit_event(tenant=tenant, type="payment.voided", data=payment_payload(payment), actor=actor,
                       request_id=request_id)
            _intent_follow(payment, actor=actor, request_id=request_id)  # a voided authorisation cancels its intent
        else:
            message = result.gateway_message or result.message or result.error or "The gateway refused the void."
            if result.outcome == Outcome.UNKNOWN:
                message = "The gateway did not answer; check the payment before trying again. " + message
            transition(void, Void.Status.FAILED, actor=actor, reason="gateway refused",
                       extra_updates={"failure_message": message[:500]})
            emit_event(tenant=tenant, type="void.failed", data=void_payload(void), actor=actor, request_id=request_id)
    return void

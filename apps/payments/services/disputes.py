"""Disputes (chargebacks, pages 022/044/045): learned from the gateway, answered with evidence, closed won,
lost, or lost by a missed deadline.

Where they come from: `disputes_sync` polls the gateway's Query API through the adapter. The NMI simulator
(like NMI, whose chargeback fields are not public) shows a chargeback as an `<action>` of the disputed sale
with action_type `chargeback` and a `<reason_code>`, a won one as a later `chargeback_reversal` and a lost one
as `chargeback_lost` (simulator extensions, simulators/nmi/chargebacks.py). The Query API gives no chargeback
id, so ours is derived from what it does show and never changes: `<gateway transaction id>-cb<n>`, n the
chargeback's 1-based position among that transaction's chargeback actions (actions are append-only and
returned in date order). A resolution action is paired with the earliest still-open chargeback of the same
transaction with the same amount and reason code (then same amount, then any).

Money (calculations.chargeback_cost): opening holds the disputed amount — a `dispute` ledger transaction of
−amount carrying the chargeback fee line (code `chargeback`, calculations.FeeCode.CHARGEBACK, the code the
payout maths expects) — settled when the issuer opened it and payable on that date's payout day, so the
next payout deducts it. Winning releases the amount (+amount, no fee line: the fee is kept); losing leaves
both. On the payment: `amount_disputed_minor` counts open and lost disputes; `net_minor` falls by amount +
fee on open and rises by the amount when won, so net = captured − refunded − fees − disputed − dispute fees
(`fees_minor` stays the sale's processing fees; dispute fees live on the disputes and their fee lines).

Locks: the payment's row, then the dispute's — the order refunds use (payment, then refund).
Events: `charge.dispute.created`, `charge.dispute.updated` (evidence submitted), `charge.dispute.closed`
(won or lost) and `charge.dispute.funds_reinstated` when won (DECISIONS.md: `charge.dispute.*`).
"""
from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction

from apps.core import clock
from apps.core.actors import Actor
from apps.core.clock import now
from apps.core.errors import BusinessRuleViolation, NotFound, ValidationFailed
from apps.core.events import emit_event
from apps.core.money import Money
from apps.core.statemachine import transition
from apps.core.tenancy import Tenant

from .. import calculations as calc
from ..gateways import gateway_for
from ..gateways.base import GatewayTransaction
from ..models import Dispute, DisputeEvidenceFile, FeeLine, Payment, Transaction
from ..payloads import dispute_payload
from .settlement import available_on_for

__all__ = [
    "DISPUTE_ACTION_TYPES", "EVIDENCE_FIELDS", "EVIDENCE_FILE_TYPES", "RECOMMENDED_EVIDENCE", "DisputeSyncResult",
    "ReportedChargeback", "chargebacks_reported", "dispute_attach_file", "dispute_close", "dispute_open",
    "dispute_reason_for", "dispute_submit_evidence", "disputes_expire_overdue", "disputes_sync",
    "disputes_sync_all",
]

log = logging.getLogger(__name__)

CHARGEBACK, REVERSAL, LOST = "chargeback", "chargeback_reversal", "chargeback_lost"
DISPUTE_ACTION_TYPES = (CHARGEBACK, REVERSAL, LOST)
QUERY_PAGE_SIZE = 500

R = Dispute.Reason
# Network reason codes → our reason categories (page 044's list). Visa's are "NN.N", Mastercard's and
# Discover's four digits, Amex's a letter and two digits. Anything else is "general".
NETWORK_REASONS: dict[str, str] = {
    # Visa — fraud
    "10.1": R.FRAUDULENT, "10.2": R.FRAUDULENT, "10.3": R.FRAUDULENT, "10.4": R.FRAUDULENT, "10.5": R.FRAUDULENT,
    # Visa — processing errors
    "12.5": R.DUPLICATE, "12.6": R.DUPLICATE, "12.6.1": R.DUPLICATE, "12.6.2": R.DUPLICATE,
    # Visa — consumer disputes
    "13.1": R.PRODUCT_NOT_RECEIVED, "13.2": R.SUBSCRIPTION_CANCELED, "13.3": R.PRODUCT_UNACCEPTABLE,
    "13.4": R.PRODUCT_UNACCEPTABLE, "13.5": R.PRODUCT_UNACCEPTABLE, "13.9": R.PRODUCT_NOT_RECEIVED,
    # Mastercard
    "4837": R.FRAUDULENT, "4840": R.FRAUDULENT, "4849": R.FRAUDULENT, "4870": R.FRAUDULENT, "4871": R.FRAUDULENT,
    "4863": R.UNRECOGNIZED, "4853": R.PRODUCT_UNACCEPTABLE, "4855": R.PRODUCT_NOT_RECEIVED,
    "4859": R.PRODUCT_NOT_RECEIVED, "4834": R.DUPLICATE, "4831": R.DUPLICATE, "4841": R.SUBSCRIPTION_CANCELED,
    # Amex
    "F24": R.FRAUDULENT, "F29": R.FRAUDULENT, "C08": R.PRODUCT_NOT_RECEIVED, "C28": R.SUBSCRIPTION_CANCELED,
    "C31": R.PRODUCT_UNACCEPTABLE, "C32": R.PRODUCT_UNACCEPTABLE, "P08": R.DUPLICATE,
    # Discover
    "UA01": R.FRAUDULENT, "UA02": R.FRAUDULENT, "4755": R.PRODUCT_NOT_RECEIVED, "4865": R.SUBSCRIPTION_CANCELED,
    "AP": R.SUBSCRIPTION_CANCELED, "DP": R.DUPLICATE,
}


def dispute_reason_for(network_reason_code: str) -> str:
    return NETWORK_REASONS.get((network_reason_code or "").strip().upper(), R.GENERAL)


# Written evidence: known keys and their length limits (characters). The explanation is the long one.
SHORT_TEXT, LONG_TEXT = 500, 20_000
EVIDENCE_FIELDS: dict[str, tuple[str, int]] = {
    "explanation": ("Your response: why the charge is valid", LONG_TEXT),
    "product_description": ("What was sold", LONG_TEXT),
    "customer_name": ("Customer name", SHORT_TEXT),
    "customer_email": ("Customer email", SHORT_TEXT),
    "customer_purchase_ip": ("IP address of the purchase", SHORT_TEXT),
    "billing_address": ("Billing address", SHORT_TEXT),
    "avs_cvv_result": ("AVS / CVV check results", SHORT_TEXT),
    "prior_purchases": ("Prior undisputed purchases", LONG_TEXT),
    "shipping_carrier": ("Shipping carrier", SHORT_TEXT),
    "shipping_tracking_number": ("Tracking number", SHORT_TEXT),
    "shipping_date": ("Shipping date", SHORT_TEXT),
    "shipping_address": ("Shipping address", SHORT_TEXT),
    "delivery_confirmation": ("Delivery confirmation / signed receipt", LONG_TEXT),
    "customer_communication": ("Customer communications", LONG_TEXT),
    "refund_policy": ("Refund policy", LONG_TEXT),
    "cancellation_policy": ("Cancellation policy", LONG_TEXT),
    "cancellation_acknowledgement": ("Customer's acknowledgement of the terms", LONG_TEXT),
    "usage_logs": ("Usage / access logs", LONG_TEXT),
    "duplicate_explanation": ("Why the charges are separate", LONG_TEXT),
    "duplicate_charge_id": ("The other payment's id", SHORT_TEXT),
}
EVIDENCE_TOTAL_LIMIT = 100_000

# Page 044 "Recommended evidence" per reason (the dashboard shows it; the keys are the form's fields).
RECOMMENDED_EVIDENCE: dict[str, tuple[str, tuple[str, ...]]] = {
    R.FRAUDULENT: ("AVS/CVV match, IP address, prior purchases, delivery confirmation",
                   ("avs_cvv_result", "customer_purchase_ip", "prior_purchases", "delivery_confirmation")),
    R.UNRECOGNIZED: ("Receipt, product description, customer communications, prior purchases",
                     ("product_description", "customer_communication", "prior_purchases")),
    R.PRODUCT_NOT_RECEIVED: ("Shipping/tracking info, delivery confirmation, signed receipt",
                             ("shipping_carrier", "shipping_tracking_number", "shipping_date",
                              "delivery_confirmation")),
    R.PRODUCT_UNACCEPTABLE: ("Product descriptions, images, customer communications",
                             ("product_description", "customer_communication", "refund_policy")),
    R.DUPLICATE: ("Proof the transactions were separate, itemized receipts",
                  ("duplicate_explanation", "duplicate_charge_id")),
    R.SUBSCRIPTION_CANCELED: ("Cancellation policy, customer acknowledgment, usage logs",
                              ("cancellation_policy", "cancellation_acknowledgement", "usage_logs")),
    R.GENERAL: ("A clear explanation, receipts and customer communications",
                ("product_description", "customer_communication")),
}

# Uploads: PDF, PNG or JPEG (checked by their first bytes too), ≤ 5 MB each, ≤ 10 per dispute.
EVIDENCE_FILE_TYPES = {"application/pdf": b"%PDF-", "image/png": b"\x89PNG\r\n\x1a\n", "image/jpeg": b"\xff\xd8\xff"}
EVIDENCE_FILE_MAX_BYTES = 5 * 1024 * 1024
EVIDENCE_FILES_MAX = 10
EVIDENCE_FILE_CATEGORIES = ("receipt", "shipping", "communication", "policy", "other")


def _evidence_days() -> int:
    """Days from the issuer's opening to the evidence deadline (page 022: typically 7–21; we take the short end)."""
    return int(getattr(settings, "DISPUTE_EVIDENCE_DAYS", 7))


def _tenant_of(obj) -> Tenant:
    return Tenant(obj.merchant, obj.livemode)


def _check_tenant(dispute: Dispute, tenant: Tenant) -> None:
    if dispute.merchant_id != tenant.merchant.pk or dispute.livemode != tenant.livemode:
        raise NotFound(f"No such dispute: '{dispute.pk}'", param="id")


def _chargeback_fee(amount: Money) -> Money:
    """The bank's chargeback fee (calculations.chargeback_cost). A currency without a default fee in the rate
    table is charged nothing rather than a guess; the dispute still holds the full amount."""
    try:
        return calc.chargeback_cost(disputed=amount).fee
    except (calc.FeeError, calc.RateTableError):
        log.warning("no default chargeback fee for %s: dispute recorded without a fee", amount.currency)
        return Money.zero(amount.currency)


# --- what the gateway reports ------------------------------------------------------------------------
@dataclass(frozen=True)
class ReportedChargeback:
    gateway_dispute_id: str
    gateway_transaction_id: str
    amount: Money
    reason_code: str
    disputed_at: datetime
    outcome: str = ""  # "" open | "won" | "lost"
    resolved_at: datetime | None = None


def chargebacks_reported(txn: GatewayTransaction) -> list[ReportedChargeback]:
    """The chargebacks of one gateway transaction and their outcomes, read from its actions (module docstring)."""
    found: list[ReportedChargeback] = []
    open_ones: list[int] = []
    for action in txn.actions:
        if not action.success:
            continue
        if action.action_type == CHARGEBACK:
            found.append(ReportedChargeback(
                gateway_dispute_id=f"{txn.transaction_id}-cb{len(found) + 1}", gateway_transaction_id=txn.transaction_id,
                amount=action.amount, reason_code=action.reason_code, disputed_at=action.date or now()))
            open_ones.append(len(found) - 1)
        elif action.action_type in (REVERSAL, LOST) and open_ones:
            candidates = ([i for i in open_ones if found[i].amount == action.amount
                           and found[i].reason_code == action.reason_code]
                          or [i for i in open_ones if found[i].amount == action.amount] or open_ones)
            index = candidates[0]
            open_ones.remove(index)
            found[index] = replace(found[index], outcome="won" if action.action_type == REVERSAL else "lost",
                                   resolved_at=action.date or now())
    return found


# --- opening -----------------------------------------------------------------------------------------
def dispute_open(*, payment: Payment, reported: ReportedChargeback, actor: Actor | None = None) -> tuple[Dispute, bool]:
    """Opens the dispute for a reported chargeback once (the unique gateway id decides): holds the amount,
    charges the fee, updates the payment. Returns (dispute, created)."""
    actor = actor or Actor.system("disputes sync")
    with transaction.atomic():
        locked = Payment.objects.select_for_update(of=("self",)).select_related(
            "merchant", "gateway_account__merchant").get(pk=payment.pk)
        account = locked.gateway_account
        existing = Dispute.objects.filter(gateway_account=account, gateway_dispute_id=reported.gateway_dispute_id).first()
        if existing is not None:
            return existing, False
        if reported.amount.currency != locked.currency or reported.amount.amount_minor <= 0:
            raise ValidationFailed(f"chargeback of {reported.amount} on a {locked.currency} payment",
                                   fields={"amount": [f"must be a positive amount in {locked.currency}"]})
        tenant = _tenant_of(locked)
        fee = _chargeback_fee(reported.amount)
        opened = reported.disputed_at
        dispute = Dispute.objects.create(
            merchant=locked.merchant, livemode=locked.livemode, payment=locked, customer_id=locked.customer_id,
            gateway_account=account, gateway_dispute_id=reported.gateway_dispute_id,
            amount_minor=reported.amount.amount_minor, currency=reported.amount.currency, fee_minor=fee.amount_minor,
            reason=dispute_reason_for(reported.reason_code), network_reason_code=reported.reason_code[:20],
            evidence_due_by=opened + timedelta(days=_evidence_days()), disputed_at=opened)
        held = Transaction.objects.create(
            merchant=locked.merchant, livemode=locked.livemode, type=Transaction.Type.DISPUTE,
            amount_minor=-dispute.amount_minor, currency=dispute.currency, payment=locked, dispute=dispute,
            gateway_transaction_id=locked.gateway_transaction_id, settled_at=opened,
            available_on=available_on_for(gateway_account=account, settled_at=opened))
        line = calc.chargeback_cost(disputed=reported.amount, fee=fee).fee_line
        FeeLine.objects.create(merchant=locked.merchant, livemode=locked.livemode, transaction=held,
                               code=str(line.code), description=line.description, percent=line.percent,
                               amount_minor=fee.amount_minor, currency=fee.currency)
        Payment.objects.filter(pk=locked.pk).update(
            amount_disputed_minor=locked.amount_disputed_minor + dispute.amount_minor,
            net_minor=locked.net_minor - dispute.amount_minor - fee.amount_minor, updated_at=now())
        emit_event(tenant=tenant, type="charge.dispute.created", data=dispute_payload(dispute), actor=actor)
    return dispute, True


# --- evidence ----------------------------------------------------------------------------------------
def _clean_evidence(evidence) -> dict[str, str]:
    if not isinstance(evidence, dict):
        raise ValidationFailed("evidence: must be an object of text fields", fields={"evidence": ["must be an object"]})
    fields: dict[str, list[str]] = {}
    cleaned: dict[str, str] = {}
    for key, value in evidence.items():
        if key not in EVIDENCE_FIELDS:
            fields[f"evidence.{key}"] = ["unknown evidence field"]
            continue
        if value is None:
            continue
        if not isinstance(value, str):
            fields[f"evidence.{key}"] = ["must be text"]
            continue
        value = value.strip()
        limit = EVIDENCE_FIELDS[key][1]
        if len(value) > limit:
            fields[f"evidence.{key}"] = [f"must be at most {limit} characters"]
        elif value:
            cleaned[key] = value
    if not fields and sum(len(v) for v in cleaned.values()) > EVIDENCE_TOTAL_LIMIT:
        fields["evidence"] = [f"all fields together must be at most {EVIDENCE_TOTAL_LIMIT} characters"]
    if fields:
        raise ValidationFailed(next(f"{k}: {v[0]}" for k, v in fields.items()), fields=fields)
    return cleaned


def _check_open_for_evidence(dispute: Dispute) -> None:
    if dispute.status != Dispute.Status.NEEDS_RESPONSE:
        raise BusinessRuleViolation(f"Evidence can only be given while the dispute needs a response; it is "
                                    f"{dispute.get_status_display().lower()}.", code="dispute_not_open", param="id")
    if now() > dispute.evidence_due_by:
        raise BusinessRuleViolation(f"The evidence deadline ({dispute.evidence_due_by.isoformat()}) has passed.",
                                    code="evidence_deadline_passed", param="id")


def _check_file(upload: UploadedFile, *, param: str = "file") -> str:
    """The upload's content type, after checking its declared type, size and first bytes."""
    content_type = (getattr(upload, "content_type", "") or "").split(";")[0].strip().lower()
    if content_type == "image/jpg":
        content_type = "image/jpeg"
    if content_type not in EVIDENCE_FILE_TYPES:
        raise ValidationFailed(f"{param}: must be a PDF, PNG or JPEG file",
                               fields={param: ["must be a PDF, PNG or JPEG file"]})
    if upload.size > EVIDENCE_FILE_MAX_BYTES:
        raise ValidationFailed(f"{param}: must be at most 5 MB", fields={param: ["must be at most 5 MB"]})
    if upload.size == 0:
        raise ValidationFailed(f"{param}: is empty", fields={param: ["is empty"]})
    upload.seek(0)
    head = upload.read(16)
    upload.seek(0)
    if not head.startswith(EVIDENCE_FILE_TYPES[content_type]):
        raise ValidationFailed(f"{param}: the file's content is not a {content_type.split('/')[1].upper()}",
                               fields={param: ["the content does not match its type"]})
    return content_type


def _safe_name(name: str) -> str:
    base = os.path.basename(name or "evidence").replace("\x00", "")
    return base[-255:] or "evidence"


def _store_file(*, dispute: Dispute, upload: UploadedFile, content_type: str, category: str, actor: Actor):
    return DisputeEvidenceFile.objects.create(
        merchant_id=dispute.merchant_id, livemode=dispute.livemode, dispute=dispute, file=upload,
        original_name=_safe_name(upload.name), content_type=content_type, size_bytes=upload.size,
        category=category, uploaded_by=(actor.label or actor.kind)[:200])


def _check_category(category: str) -> str:
    if category and category not in EVIDENCE_FILE_CATEGORIES:
        raise ValidationFailed.not_one_of("category", EVIDENCE_FILE_CATEGORIES)
    return category


def dispute_attach_file(*, tenant: Tenant, actor: Actor, dispute: Dispute, upload: UploadedFile,
                        category: str = "") -> DisputeEvidenceFile:
    """Adds one evidence document (PDF/PNG/JPEG, ≤ 5 MB, ≤ 10 per dispute) while the dispute needs a response."""
    _check_tenant(dispute, tenant)
    category = _check_category(category)
    content_type = _check_file(upload)
    with transaction.atomic():
        locked = Dispute.objects.select_for_update().get(pk=dispute.pk)
        _check_open_for_evidence(locked)
        if locked.files.count() >= EVIDENCE_FILES_MAX:
            raise BusinessRuleViolation(f"A dispute holds at most {EVIDENCE_FILES_MAX} evidence files.",
                                        code="too_many_files", param="file")
        return _store_file(dispute=locked, upload=upload, content_type=content_type, category=category, actor=actor)


def dispute_submit_evidence(*, tenant: Tenant, actor: Actor, dispute: Dispute, evidence: dict,
                            files: Iterable[UploadedFile] = (), request_id: str = "") -> Dispute:
    """Records the written evidence (and any files sent with it) and submits the response: the dispute goes
    under review. The gateway has no evidence API (nor does the simulator): the submission is kept here and
    the bank's decision comes back through `disputes_sync`. Needs at least one text field or file."""
    _check_tenant(dispute, tenant)
    cleaned = _clean_evidence(evidence)
    files = list(files or ())
    checked = [(upload, _check_file(upload, param=f"files[{i}]")) for i, upload in enumerate(files)]
    with transaction.atomic():
        locked = Dispute.objects.select_for_update().select_related("merchant").get(pk=dispute.pk)
        _check_open_for_evidence(locked)
        existing_files = locked.files.count()
        if existing_files + len(checked) > EVIDENCE_FILES_MAX:
            raise BusinessRuleViolation(f"A dispute holds at most {EVIDENCE_FILES_MAX} evidence files.",
                                        code="too_many_files", param="files")
        if not cleaned and not checked and not existing_files:
            raise ValidationFailed("evidence: give at least one evidence field or file",
                                   fields={"evidence": ["give at least one evidence field or file"]})
        for upload, content_type in checked:
            _store_file(dispute=locked, upload=upload, content_type=content_type, category="", actor=actor)
        transition(locked, Dispute.Status.UNDER_REVIEW, actor=actor, reason="evidence submitted",
                   extra_updates={"evidence": cleaned, "evidence_submitted_at": now()})
        emit_event(tenant=tenant, type="charge.dispute.updated", data=dispute_payload(locked), actor=actor,
                   previous_attributes={"status": Dispute.Status.NEEDS_RESPONSE}, request_id=request_id)
    return locked


# --- closing -----------------------------------------------------------------------------------------
def dispute_close(*, dispute: Dispute, won: bool, actor: Actor, reason: str = "",
                  closed_at: datetime | None = None) -> Dispute:
    """Closes an open dispute once. Won: the held amount comes back (+amount, no fee line: the fee is kept)
    and the payment's disputed amount falls. Lost: the amount and the fee stay withdrawn. A dispute that is
    already closed is returned unchanged."""
    return _close(dispute=dispute, won=won, actor=actor, reason=reason, closed_at=closed_at)


def _close(*, dispute: Dispute, won: bool, actor: Actor, reason: str, closed_at: datetime | None,
           overdue_at: datetime | None = None, gateway_decision: bool = False) -> Dispute:
    with transaction.atomic():
        payment = Payment.objects.select_for_update(of=("self",)).select_related(
            "merchant", "gateway_account__merchant").get(pk=dispute.payment_id)
        locked = Dispute.objects.select_for_update().get(pk=dispute.pk)
        # Closed stays closed — except a dispute we closed as lost (missed deadline) that the gateway then
        # reports reversed: the money really came back, so it becomes won.
        reinstated_after_loss = gateway_decision and won and locked.status == Dispute.Status.LOST
        if locked.status in (Dispute.Status.WON, Dispute.Status.LOST) and not reinstated_after_loss:
            return locked
        if overdue_at is not None and (locked.status != Dispute.Status.NEEDS_RESPONSE
                                       or locked.evidence_due_by >= overdue_at):
            return locked  # evidence arrived (or the deadline moved) since the sweep read it
        moment = closed_at or now()
        status = Dispute.Status.WON if won else Dispute.Status.LOST
        previous = locked.status
        transition(locked, status, actor=actor, reason=reason or f"dispute {status}",
                   extra_updates={"closed_at": moment})
        tenant = _tenant_of(payment)
        if won:
            account = payment.gateway_account or locked.gateway_account
            Transaction.objects.create(
                merchant=payment.merchant, livemode=payment.livemode, type=Transaction.Type.DISPUTE,
                amount_minor=locked.amount_minor, currency=locked.currency, payment=payment, dispute=locked,
                gateway_transaction_id=payment.gateway_transaction_id, settled_at=moment,
                available_on=available_on_for(gateway_account=account, settled_at=moment))
            Payment.objects.filter(pk=payment.pk).update(
                amount_disputed_minor=payment.amount_disputed_minor - locked.amount_minor,
                net_minor=payment.net_minor + locked.amount_minor, updated_at=now())
        data = dispute_payload(locked)
        emit_event(tenant=tenant, type="charge.dispute.closed", data=data, actor=actor,
                   previous_attributes={"status": previous})
        if won:
            emit_event(tenant=tenant, type="charge.dispute.funds_reinstated", data=data, actor=actor)
    return locked


def disputes_expire_overdue(*, now: datetime | None = None, batch: int = 500) -> int:
    """Missing the evidence deadline loses the dispute (page 044): needs_response past evidence_due_by → lost.
    Returns how many were closed."""
    moment = now or clock.now()
    due = list(Dispute.objects.filter(status=Dispute.Status.NEEDS_RESPONSE, evidence_due_by__lt=moment)
               .order_by("evidence_due_by", "pk")[:batch])
    actor = Actor.system("dispute deadline")
    closed = 0
    for dispute in due:
        result = _close(dispute=dispute, won=False, actor=actor, reason="evidence deadline missed",
                        closed_at=moment, overdue_at=moment)
        closed += result.status == Dispute.Status.LOST and result.closed_at == moment
    return closed


# --- the sync ----------------------------------------------------------------------------------------
@dataclass
class DisputeSyncResult:
    opened: list[str] = field(default_factory=list)
    closed: list[str] = field(default_factory=list)
    unmatched: list[str] = field(default_factory=list)  # not recorded: no payment of ours, or not holdable


def _lookback() -> timedelta:
    """How far back each poll looks; overlapping polls are harmless (the gateway id is unique)."""
    return timedelta(days=int(getattr(settings, "DISPUTES_SYNC_LOOKBACK_DAYS", 7)))


def disputes_sync(*, gateway_account, since: datetime | None = None) -> DisputeSyncResult:
    """Polls the gateway for chargeback actions since `since` (default: the lookback window), opens a dispute
    for each new chargeback on one of our payments, and closes those the gateway reports won or lost.
    The gateway is called outside any database transaction; each dispute is then written under locks."""
    result = DisputeSyncResult()
    start = since or now() - _lookback()  # no end: up to the gateway's now (its dates have whole seconds)
    adapter = gateway_for(gateway_account)
    reported_by_txn: list[GatewayTransaction] = []
    try:
        page = 0
        while True:
            found = adapter.query_transactions(start=start, action_types=DISPUTE_ACTION_TYPES,
                                               limit=QUERY_PAGE_SIZE, page=page)
            reported_by_txn.extend(found)
            if len(found) < QUERY_PAGE_SIZE:
                break
            page += 1
    finally:
        adapter.close()
    payments = {p.gateway_transaction_id: p for p in Payment.objects.filter(
        gateway_account=gateway_account, gateway_transaction_id__in=[t.transaction_id for t in reported_by_txn])}
    actor = Actor.system("disputes sync")
    for txn in reported_by_txn:
        payment = payments.get(txn.transaction_id)
        for reported in chargebacks_reported(txn):
            if payment is None:
                result.unmatched.append(reported.gateway_dispute_id)
                continue
            try:
                dispute, created = dispute_open(payment=payment, reported=reported, actor=actor)
            except ValidationFailed as exc:  # not something we can hold: reported, never a half-written dispute
                log.error("disputes sync %s: chargeback %s skipped: %s", gateway_account.pk,
                          reported.gateway_dispute_id, exc.message)
                result.unmatched.append(reported.gateway_dispute_id)
                continue
            except IntegrityError:  # a concurrent sync opened it between our check and insert: read theirs
                dispute = Dispute.objects.get(gateway_account=gateway_account,
                                              gateway_dispute_id=reported.gateway_dispute_id)
                created = False
            if created:
                result.opened.append(dispute.pk)
            settled = reported.outcome == "" or dispute.status == Dispute.Status.WON or (
                dispute.status == Dispute.Status.LOST and reported.outcome == "lost")
            if not settled:
                before = dispute.status
                closed = _close(dispute=dispute, won=reported.outcome == "won", actor=actor,
                                reason=f"gateway reports the chargeback {reported.outcome}",
                                closed_at=reported.resolved_at, gateway_decision=True)
                if closed.status != before:
                    result.closed.append(closed.pk)
    if result.unmatched:
        log.info("disputes sync %s: %d chargebacks on unknown transactions", gateway_account.pk, len(result.unmatched))
    return result


def disputes_sync_all() -> int:
    """The beat's sweep: every gateway account, one failure never stopping the others. Returns disputes opened."""
    from apps.accounts.models import GatewayAccount

    opened = 0
    for account in GatewayAccount.objects.select_related("merchant").order_by("pk"):
        try:
            opened += len(disputes_sync(gateway_account=account).opened)
        except Exception:
            log.exception("disputes sync failed for gateway account %s", account.pk)
    return opened

"""Credit notes (page 025, DECISIONS.md "Invoices and credit notes"): preview, create, void, eligibility,
and the customer's credit balance.

How a note is issued
- Only a finalized invoice that is not voided or refunded can be credited. The note's amount is tax
  included; the sum of the invoice's non-void notes never exceeds its total: checked under the invoice's
  row lock (`select_for_update`), backed by the DB check `invoice_credited_within_total`.
- Tax: `calculations.credit_note_tax` keyed by the invoice's `tax_summary` entries (cumulative
  proportional, the final note sweeps the pennies). The note's amount and tax are allocated over the
  invoice's lines by largest remainder (CreditNoteLine rows).
- Split: `pre_payment` = min(amount, what is still owed) reduces what is owed; `post_payment` = the rest,
  taken from the money applied to the invoice newest payment first (LIFO), one CreditNoteReversal a
  payment. Every credit method consumes that money (InvoicePayment.amount_reversed), so the same money is
  never given back twice (say to the balance and then to the card):
  * refund_to_payment_method: a card payment whose batch has not settled is voided (no fees) when the
    note reverses the WHOLE payment; after settlement it is refunded (full or partial). A void cannot be
    partial and the gateway refuses a refund before settlement, so a PARTIAL reversal of an unsettled
    card payment is refused: the preview explains it (credit the whole payment, or wait until the batch
    settles) and create raises `partial_reversal_before_settlement`. Cash, bank and cheque payments are
    recorded as returned outside RevKeen; money paid from the customer balance goes back to it.
  * customer_balance: a + entry in the customer's balance ledger (once per note: unique constraint).
  * none: record-keeping only (a goodwill credit, or money returned by other means); no money moves.
- Gateway calls run outside any DB transaction (the payments services' bracket): transaction 1 writes the
  note, its pending reversals and reserves the payments' amounts; then each void/refund goes through
  `apps.payments.services`; transaction 2 applies the outcomes. The first failed reversal stops the walk
  (the rest are not attempted) and the note ends `failed` with the gateway's message; a failed reversal
  releases its reservation. Invoice money counts only succeeded reversals (amount_refunded).
- Retry of a failed note (`credit_note_retry`): the note's failed and never-attempted reversals are sent
  again (succeeded ones never are), each re-routed by its payment's settlement timing today (a void refused
  because the batch closed meanwhile becomes a refund), in the same order (newest payment first) and the
  same bracket as create: transaction 1 (invoice lock, then the note) turns them back to pending and
  reserves their amounts; the gateway calls; transaction 2 finishes the note. All succeed → applied
  (`credit_note.applied`, the invoice moves, the subscription-cancel hook runs); another failure → still
  failed with the new message. Pending reversals mark a retry in flight: a second retry is refused
  (Conflict `credit_note_retry_in_progress`), and one arriving after it finished finds the note no longer
  failed (`credit_note_not_retryable`). A retried reversal's earlier Void/Refund stays in the payment's
  history; the reversal row points at the latest attempt.
- Invoice after an applied note: fully credited and nothing ever paid → voided; fully credited with money
  on it → refunded when money went back to the payer through refund_to_payment_method, else voided; a
  partial credit that leaves nothing owed on a partly paid invoice → paid. The invoice's order follows
  (refunded / canceled where its machine allows).
- Void of a note: only when no money left through the gateway for it; a customer_balance note only while
  the balance still covers it (a − ledger entry); refused once the invoice is voided/refunded, or when it
  would make a paid invoice owe money again (paid → partially_paid is not a move invoices make).
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import F, QuerySet, Sum

from apps.core.actors import Actor
from apps.core.clock import now
from apps.core.errors import BusinessRuleViolation, Conflict, DomainError, NotFound, ValidationFailed
from apps.core.events import emit_event
from apps.core.money import Money
from apps.core.statemachine import transition
from apps.core.tenancy import Tenant, get_scoped, scoped

from .. import calculations as calc
from ..models import (
    CreditNote,
    CreditNoteLine,
    CreditNoteReversal,
    CustomerBalanceTransaction,
    Invoice,
    InvoicePayment,
    Order,
)
from ..models.invoices import FINALIZED_STATUSES
from ..payloads import credit_note_payload, invoice_payload
from .numbering import next_number

log = logging.getLogger("revkeen.billing.credit_notes")

METHODS = tuple(CreditNote.CreditMethod.values)
REASONS = tuple(CreditNote.Reason.values)
CREDITABLE_STATUSES = FINALIZED_STATUSES - {"voided", "refunded"}
OUTSIDE_METHODS = ("cash", "bank_transfer", "check", "other")
_REFUND_REASONS = {"duplicate": "duplicate", "fraudulent": "fraudulent"}
GATEWAY_ROUTES = (CreditNoteReversal.Route.VOID, CreditNoteReversal.Route.REFUND)
# The invoice statuses from which a credit that leaves nothing owed makes the invoice paid.
_BECOMES_PAID_FROM = ("approved", "sent", "partially_paid", "overdue", "uncollectible")

_subscription_canceller: Callable | None = None


def register_subscription_canceller(fn: Callable | None) -> None:
    """The subscriptions issue plugs in here: fn(tenant=, actor=, subscription_id=, credit_note=) cancels
    the invoice's subscription once a note with cancel_subscription=True has reversed all its money."""
    global _subscription_canceller
    _subscription_canceller = fn


# --- value objects -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class PlannedReversal:
    invoice_payment_id: str
    payment_id: str | None
    method: str  # the InvoicePayment's method: card, cash, bank_transfer, check, customer_balance, other
    route: str  # void | refund | outside | customer_balance
    amount: Money
    explanation: str
    blocked: bool = False  # this reversal cannot be made today (the note would be refused)

    def to_dict(self) -> dict:
        return {"invoice_payment_id": self.invoice_payment_id, "payment_id": self.payment_id, "method": self.method,
                "route": self.route, "amount_minor": self.amount.amount_minor, "currency": self.amount.currency,
                "explanation": self.explanation, "blocked": self.blocked}


@dataclass(frozen=True)
class CreditNotePreview:
    amount: Money
    tax: Money
    net: Money
    pre_payment: Money
    post_payment: Money
    is_final: bool
    remaining_after: Money  # still creditable after this note
    invoice_status_after: str  # assuming every reversal succeeds
    tax_by_rate: list[dict]
    reversals: list[PlannedReversal]
    credit_method: str = ""
    amount_owed_after: Money | None = None
    problems: list[dict] = field(default_factory=list)  # [{code, message}]: why create would refuse it
    lines: list[dict] = field(default_factory=list)  # [{invoice_line_id, description, amount_minor, tax_minor}]

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict:
        currency = self.amount.currency
        return {
            "object": "credit_note_preview", "currency": currency, "credit_method": self.credit_method,
            "amount_minor": self.amount.amount_minor, "tax_minor": self.tax.amount_minor,
            "subtotal_minor": self.net.amount_minor, "pre_payment_amount_minor": self.pre_payment.amount_minor,
            "post_payment_amount_minor": self.post_payment.amount_minor, "is_final": self.is_final,
            "remaining_creditable_after_minor": self.remaining_after.amount_minor,
            "amount_owed_after_minor": self.amount_owed_after.amount_minor if self.amount_owed_after else None,
            "invoice_status_after": self.invoice_status_after, "tax_by_rate": self.tax_by_rate,
            "lines": self.lines, "reversals": [r.to_dict() for r in self.reversals],
            "can_create": self.ok, "problems": self.problems,
        }


@dataclass(frozen=True)
class PaymentReversalEligibility:
    invoice_payment_id: str
    payment_id: str | None
    method: str
    amount: Money  # applied to the invoice
    reversed: Money  # already given back by credit notes
    reversible: Money  # what can be reversed today by `route`
    route: str | None  # void | refund | outside | customer_balance | None (nothing can be reversed)
    partial_allowed: bool
    explanation: str

    def to_dict(self) -> dict:
        return {"invoice_payment_id": self.invoice_payment_id, "payment_id": self.payment_id, "method": self.method,
                "amount_minor": self.amount.amount_minor, "amount_reversed_minor": self.reversed.amount_minor,
                "reversible_minor": self.reversible.amount_minor, "route": self.route,
                "partial_allowed": self.partial_allowed, "explanation": self.explanation}


@dataclass(frozen=True)
class CreditEligibility:
    invoice_id: str
    eligible: bool
    reason: str | None
    total: Money
    credited: Money
    remaining_creditable: Money
    amount_owed: Money
    allowed_credit_methods: list[str]
    payments: list[PaymentReversalEligibility]

    def to_dict(self) -> dict:
        return {"object": "credit_eligibility", "invoice_id": self.invoice_id, "eligible": self.eligible,
                "reason": self.reason, "currency": self.total.currency, "total_minor": self.total.amount_minor,
                "amount_credited_minor": self.credited.amount_minor,
                "max_creditable_amount_minor": self.remaining_creditable.amount_minor,
                "remaining_creditable_minor": self.remaining_creditable.amount_minor,
                "amount_owed_minor": self.amount_owed.amount_minor,
                "allowed_credit_methods": self.allowed_credit_methods,
                "payments": [p.to_dict() for p in self.payments]}


@dataclass(frozen=True)
class ReversalEligibility:
    payment_id: str
    transaction_id: str | None
    invoice_id: str | None
    status: str
    settled: bool
    amount: Money
    refunded: Money
    reversible: Money
    route: str | None  # void | refund | None
    message: str
    options: list[dict]
    void_window: dict | None

    def to_dict(self) -> dict:
        return {"object": "reversal_eligibility", "payment_id": self.payment_id,
                "transaction_id": self.transaction_id, "invoice_id": self.invoice_id, "status": self.status,
                "settled": self.settled, "currency": self.amount.currency, "amount_minor": self.amount.amount_minor,
                "amount_refunded_minor": self.refunded.amount_minor, "reversible_minor": self.reversible.amount_minor,
                "route": self.route, "void_allowed": self.route == "void",
                "refund_allowed": any(o["kind"] == "refund" for o in self.options), "message": self.message,
                "options": self.options, "void_window": self.void_window}


# --- helpers -----------------------------------------------------------------------------------------
def _tenant_of(obj) -> Tenant:
    return Tenant(merchant=obj.merchant, livemode=obj.livemode)


def _same_tenant(obj, tenant: Tenant) -> bool:
    return obj is not None and obj.merchant_id == tenant.merchant.pk and obj.livemode == tenant.livemode


def _short_date(moment) -> str:
    return f"{moment.day} {moment.strftime('%b')}" if moment else ""


def _rate_key(index: int, entry: dict) -> str:
    return f"{index}:{entry.get('name', '')}:{entry.get('percentage', '')}"


def _invoice_tax(invoice: Invoice) -> tuple[dict[str, Money], dict[str, dict]]:
    """The invoice's tax per rate, keyed by its tax_summary position (fixed once finalized)."""
    taxes, entries = {}, {}
    for index, entry in enumerate(invoice.tax_summary or []):
        key = _rate_key(index, entry)
        taxes[key] = Money(int(entry.get("tax_minor") or 0), invoice.currency)
        entries[key] = entry
    return taxes, entries


def _credited_tax(notes: list[CreditNote], keys, currency: str) -> dict[str, Money]:
    credited = {key: 0 for key in keys}
    for note in notes:
        for item in note.tax_by_rate or []:
            if item.get("key") in credited:
                credited[item["key"]] += int(item.get("tax_minor") or 0)
    return {key: Money(value, currency) for key, value in credited.items()}


def _payment_label(application: InvoicePayment) -> str:
    paid = _short_date(application.received_at)
    money = Money(application.amount_minor, application.currency).format()
    payment = application.payment
    if payment is not None:
        brand = (payment.card_brand or "Card").title()
        card = f"{brand} •••• {payment.card_last4}" if payment.card_last4 else brand
        return f"{card} paid {paid}"
    method = InvoicePayment.Method(application.method).label
    return f"{method} payment of {money} received {paid}"


def _left_on(application: InvoicePayment) -> int:
    """What of this applied money can still be given back (a card payment also caps at the gateway's
    captured − refunded, in case it was reversed outside a credit note)."""
    left = application.amount_minor - application.amount_reversed_minor
    payment = application.payment
    if payment is not None:
        if payment.status not in ("succeeded", "partially_refunded"):
            return 0
        left = min(left, (payment.amount_captured_minor or payment.amount_minor) - payment.amount_refunded_minor)
    return max(left, 0)


def _card_route(application: InvoicePayment, share: int) -> tuple[str, str, bool]:
    """(route, explanation, blocked) for reversing `share` of a card payment today."""
    from apps.payments.services import void_window_for

    payment = application.payment
    label = _payment_label(application)
    amount = Money(share, application.currency).format()
    window = void_window_for(payment)
    captured = payment.amount_captured_minor or payment.amount_minor
    if payment.status == "succeeded" and window is not None and window.void_allowed:
        if share == captured and application.amount_reversed_minor == 0:
            text = f"{label} — not settled yet: voided (no fees)"
            if window.warning:
                text += f". {window.warning}"
            return CreditNoteReversal.Route.VOID, text, False
        cutoff = window.batch_cutoff_at.strftime("%-d %b %H:%M %Z")
        return (CreditNoteReversal.Route.REFUND,
                f"{label} — not settled yet: a void always reverses the whole "
                f"{Money(captured, application.currency).format()}, and a refund of {amount} is only possible "
                f"once the batch settles ({cutoff}). Credit the whole payment, or wait until it settles.", True)
    return CreditNoteReversal.Route.REFUND, f"{label} — settled: refunded {amount} (processing fees are not returned)", False


def _plan_reversals(*, payments: list[InvoicePayment], post: int, credit_method: str,
                    currency: str) -> tuple[list[PlannedReversal], int]:
    """Walks the money applied to the invoice newest first. Returns the planned reversals and the amount
    that no payment could cover (0 when the walk covered `post`)."""
    planned, left = [], post
    for application in payments:
        if left <= 0:
            break
        share = min(_left_on(application), left)
        if share <= 0:
            continue
        label = _payment_label(application)
        amount = Money(share, currency)
        blocked = False
        if credit_method == CreditNote.CreditMethod.CUSTOMER_BALANCE:
            route, text = CreditNoteReversal.Route.CUSTOMER_BALANCE, \
                f"{label} — {amount.format()} credited to the customer's balance"
        elif credit_method == CreditNote.CreditMethod.NONE:
            route, text = CreditNoteReversal.Route.OUTSIDE, \
                f"{label} — {amount.format()} credited on paper only: no money moves"
        elif application.payment is not None:
            route, text, blocked = _card_route(application, share)
        elif application.method == InvoicePayment.Method.CUSTOMER_BALANCE:
            route, text = CreditNoteReversal.Route.CUSTOMER_BALANCE, \
                f"{label} — {amount.format()} goes back to the customer's balance"
        else:
            route, text = CreditNoteReversal.Route.OUTSIDE, \
                f"{label} — {amount.format()} to be paid back outside RevKeen (recorded as returned)"
        planned.append(PlannedReversal(invoice_payment_id=application.pk, payment_id=application.payment_id,
                                       method=application.method, route=str(route), amount=amount,
                                       explanation=text, blocked=blocked))
        left -= share
    return planned, left


def _status_after(invoice: Invoice, *, credited_after: int, owed_after: int, refunded_after: int) -> str:
    if credited_after >= invoice.total_minor:
        if invoice.amount_paid_minor > 0 and refunded_after > 0:
            return "refunded"
        return "voided"
    if owed_after == 0 and invoice.amount_paid_minor > 0 and invoice.status in _BECOMES_PAID_FROM:
        return "paid"
    return invoice.status


def _allocate_lines(invoice: Invoice, lines: list, amount: int, tax: int) -> list[dict]:
    """The note's amount and tax spread over the invoice's lines by largest remainder."""
    if not lines:
        return []
    currency = invoice.currency

    def line_total(line) -> int:
        exclusive = line.tax_minor if line.tax_snapshot and not line.tax_snapshot.get("inclusive") else 0
        return max(line.amount_minor - line.discount_minor + exclusive, 0)

    weights = [line_total(line) for line in lines]
    if sum(weights) == 0:
        weights = [1] * len(lines)
    amounts = Money(amount, currency).allocate(weights)
    tax_weights = [max(line.tax_minor, 0) for line in lines]
    taxes = Money(tax, currency).allocate(tax_weights) if tax and sum(tax_weights) else [Money.zero(currency)] * len(lines)
    return [{"invoice_line_id": line.pk, "description": line.description, "amount_minor": a.amount_minor,
             "tax_minor": t.amount_minor} for line, a, t in zip(lines, amounts, taxes, strict=True) if a or t]


def _ineligible_reason(invoice: Invoice) -> str | None:
    if invoice.status in ("draft", "pending_approval"):
        return "The invoice is a draft: only a finalized invoice can be credited; edit or delete the draft instead."
    if invoice.status in ("voided", "refunded"):
        return f"The invoice is {invoice.status}: there is nothing left to credit."
    if invoice.amount_credited_minor >= invoice.total_minor:
        return "The invoice has been credited in full."
    return None


def _check_method(credit_method: str) -> None:
    if credit_method not in METHODS:
        raise ValidationFailed.not_one_of("credit_method", METHODS)


def _plan(*, invoice: Invoice, amount: Money | None, credit_method: str, notes: list[CreditNote],
          payments: list[InvoicePayment], lines: list) -> CreditNotePreview:
    """The whole computation shared by preview and create (no writes)."""
    _check_method(credit_method)
    reason = _ineligible_reason(invoice)
    if reason:
        raise BusinessRuleViolation(reason, code="invoice_not_creditable", param="invoice_id")
    currency = invoice.currency
    total = invoice.total
    credited = Money(sum(n.amount_minor for n in notes), currency)
    if amount is None:
        amount = total - credited
    if not isinstance(amount, Money) or amount.currency != currency:
        raise ValidationFailed(f"amount_minor: must be in {currency}, the invoice's currency",
                               fields={"amount_minor": [f"must be in {currency}"]})
    if amount.amount_minor <= 0:
        raise ValidationFailed("amount_minor: must be greater than zero",
                               fields={"amount_minor": ["must be greater than zero"]})
    invoice_tax, entries = _invoice_tax(invoice)
    try:
        credit = calc.credit_note_tax(invoice_total=total, invoice_tax=invoice_tax, amount=amount, credited=credited,
                                      credited_tax=_credited_tax(notes, invoice_tax, currency))
    except calc.CreditExceedsRemaining as exc:
        message = (f"must not exceed what is left to credit on the invoice "
                   f"({exc.remaining.amount_minor} {currency})")
        raise ValidationFailed(f"amount_minor: {message}", fields={"amount_minor": [message]},
                               code="amount_exceeds_creditable") from exc
    except calc.CreditError as exc:
        raise BusinessRuleViolation(f"This invoice cannot be credited: {exc}", code="invoice_not_creditable") from exc
    pre = min(amount.amount_minor, invoice.amount_remaining_minor)
    post = amount.amount_minor - pre
    reversals, uncovered = _plan_reversals(payments=payments, post=post, credit_method=credit_method,
                                           currency=currency)
    problems = []
    if uncovered:
        problems.append({"code": "payments_not_reversible", "message": (
            f"{Money(uncovered, currency).format()} of this credit would have to give back money that can no "
            "longer be reversed (the payments were already reversed outside credit notes).")})
    for planned in reversals:
        if planned.blocked:
            problems.append({"code": "partial_reversal_before_settlement", "message": planned.explanation})
    refunded_after = invoice.amount_refunded_minor + (
        sum(r.amount.amount_minor for r in reversals)
        if credit_method == CreditNote.CreditMethod.REFUND_TO_PAYMENT_METHOD else 0)
    owed_after = invoice.amount_remaining_minor - pre
    tax_by_rate = [{"key": key, "name": entries[key].get("name", ""), "percentage": entries[key].get("percentage"),
                    "tax_minor": value.amount_minor} for key, value in credit.tax_by_rate.items()]
    return CreditNotePreview(
        amount=amount, tax=credit.tax, net=credit.net, pre_payment=Money(pre, currency),
        post_payment=Money(post, currency), is_final=credit.is_final, remaining_after=credit.remaining,
        invoice_status_after=_status_after(invoice, credited_after=credit.credited_total.amount_minor,
                                           owed_after=owed_after, refunded_after=refunded_after),
        tax_by_rate=tax_by_rate, reversals=reversals, credit_method=credit_method,
        amount_owed_after=Money(owed_after, currency), problems=problems,
        lines=_allocate_lines(invoice, lines, amount.amount_minor, credit.tax.amount_minor))


def _live_notes(invoice: Invoice) -> list[CreditNote]:
    return list(CreditNote.objects.filter(invoice_id=invoice.pk).exclude(status=CreditNote.Status.VOIDED)
                .only("id", "amount_minor", "tax_by_rate"))


def _applied_payments(invoice: Invoice) -> list[InvoicePayment]:
    return list(InvoicePayment.objects.filter(invoice_id=invoice.pk).select_related("payment")
                .order_by("-received_at", "-created_at", "-id"))


def _invoice_lines(invoice: Invoice) -> list:
    return list(invoice.lines.order_by("position", "id"))


def _check_invoice(tenant: Tenant, invoice: Invoice) -> None:
    if not _same_tenant(invoice, tenant):
        raise NotFound(f"No such invoice: '{getattr(invoice, 'pk', '')}'", param="invoice_id")


# --- reads ---------------------------------------------------------------------------------------------
def credit_note_preview(*, tenant: Tenant, invoice: Invoice, amount: Money | None = None,
                        credit_method: str) -> CreditNotePreview:
    """What a note would do, with no side effects (no rows, no events, no gateway calls). Problems that
    would make create refuse it are listed in `problems` rather than raised, so the dialog can show them."""
    _check_invoice(tenant, invoice)
    invoice = Invoice.objects.get(pk=invoice.pk)
    return _plan(invoice=invoice, amount=amount, credit_method=credit_method, notes=_live_notes(invoice),
                 payments=_applied_payments(invoice), lines=_invoice_lines(invoice))


def credit_eligibility(*, tenant: Tenant, invoice: Invoice) -> CreditEligibility:
    """Whether the invoice can be credited, how much, and for each payment what can be reversed today and how."""
    _check_invoice(tenant, invoice)
    invoice = Invoice.objects.get(pk=invoice.pk)
    currency = invoice.currency
    reason = _ineligible_reason(invoice)
    credited = Money(sum(n.amount_minor for n in _live_notes(invoice)), currency)
    remaining = Money(max(invoice.total_minor - credited.amount_minor, 0), currency) if not reason \
        else Money.zero(currency)
    rows = []
    for application in _applied_payments(invoice):
        left = _left_on(application)
        route, explanation, partial = None, f"{_payment_label(application)} — nothing left to reverse", False
        reversible = left
        if left > 0:
            if application.payment is not None:
                route, explanation, blocked = _card_route(application, left)
                partial = route == CreditNoteReversal.Route.REFUND
                if blocked:  # unsettled and already partly reversed: nothing can go back today
                    reversible, partial = 0, False
            elif application.method == InvoicePayment.Method.CUSTOMER_BALANCE:
                route, partial = CreditNoteReversal.Route.CUSTOMER_BALANCE, True
                explanation = f"{_payment_label(application)} — goes back to the customer's balance"
            else:
                route, partial = CreditNoteReversal.Route.OUTSIDE, True
                explanation = f"{_payment_label(application)} — paid back outside RevKeen (recorded as returned)"
        rows.append(PaymentReversalEligibility(
            invoice_payment_id=application.pk, payment_id=application.payment_id, method=application.method,
            amount=Money(application.amount_minor, currency),
            reversed=Money(application.amount_reversed_minor, currency), reversible=Money(reversible, currency),
            route=str(route) if route else None, partial_allowed=partial, explanation=explanation))
    return CreditEligibility(
        invoice_id=invoice.pk, eligible=reason is None, reason=reason, total=invoice.total, credited=credited,
        remaining_creditable=remaining, amount_owed=invoice.amount_remaining,
        allowed_credit_methods=list(METHODS) if reason is None else [], payments=rows)


def transaction_reversal_eligibility(*, tenant: Tenant, transaction_or_payment) -> ReversalEligibility:
    """Void or refund for one payment (given as a Payment or one of its Transactions) by settlement timing."""
    from apps.payments import calculations as pay_calc
    from apps.payments.models import Payment, Transaction
    from apps.payments.services import void_window_for

    transaction_id = None
    if isinstance(transaction_or_payment, Transaction):
        transaction_id = transaction_or_payment.pk
        payment = transaction_or_payment.payment
    elif isinstance(transaction_or_payment, Payment):
        payment = transaction_or_payment
    else:
        raise TypeError("transaction_or_payment must be a Payment or a Transaction")
    if not _same_tenant(payment, tenant):
        raise NotFound(f"No such transaction: '{transaction_id or payment.pk}'", param="transaction_id")
    currency = payment.currency
    captured = payment.amount_captured_minor or payment.amount_minor
    refunded = Money(min(payment.amount_refunded_minor, captured), currency)
    window = void_window_for(payment)
    status = "disputed" if payment.amount_disputed_minor > 0 else payment.status
    try:
        options = pay_calc.reversal_options(status=status, amount=Money(captured, currency), refunded=refunded,
                                            window=window)
    except ValueError:  # a status page 025 does not list (e.g. canceled)
        options = pay_calc.ReversalOptions((), "This payment cannot be reversed.", window)
    kinds = [str(k) for k in options.kinds]
    route = kinds[0] if kinds else None
    reversible = max((o.max_amount.amount_minor for o in options.options), default=0)
    return ReversalEligibility(
        payment_id=payment.pk, transaction_id=transaction_id, invoice_id=payment.invoice_id or None, status=status,
        settled=bool(window is not None and not window.void_allowed) or payment.settled_at is not None,
        amount=Money(captured, currency), refunded=refunded, reversible=Money(reversible, currency), route=route,
        message=options.message,
        options=[{"kind": str(o.kind), "action_label": o.action_label, "max_amount_minor": o.max_amount.amount_minor,
                  "partial_allowed": o.partial_allowed, "warning": o.warning} for o in options.options],
        void_window={"eligibility": str(window.eligibility), "label": window.label,
                     "batch_cutoff_at": window.batch_cutoff_at.isoformat(),
                     "minutes_remaining": window.minutes_remaining} if window else None)


def customer_balance(*, customer, currency: str) -> Money:
    """The customer's credit balance: the sum of the append-only ledger in `currency`."""
    total = CustomerBalanceTransaction.objects.filter(customer=customer, currency=currency) \
        .aggregate(total=Sum("amount_minor"))["total"] or 0
    return Money(total, currency)


def credit_note_list(*, tenant: Tenant, invoice_id: str | None = None, customer_id: str | None = None,
                     status: str | None = None) -> QuerySet[CreditNote]:
    """Newest first, with lines and reversals prefetched (a constant number of queries a page)."""
    qs = scoped(CreditNote, tenant=tenant).prefetch_related("lines", "reversals").select_related("invoice", "customer")
    if invoice_id:
        qs = qs.filter(invoice_id=invoice_id)
    if customer_id:
        qs = qs.filter(customer_id=customer_id)
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("-created_at", "-id")


def credit_note_get(*, tenant: Tenant, credit_note_id: str) -> CreditNote:
    return get_scoped(CreditNote.objects.select_related("invoice", "customer").prefetch_related(
        "lines", "reversals__payment"), tenant=tenant, pk=credit_note_id, label="credit note")


# --- writes --------------------------------------------------------------------------------------------
def _lock_invoice(tenant: Tenant, invoice: Invoice) -> Invoice:
    _check_invoice(tenant, invoice)
    return Invoice.objects.select_for_update(of=("self",)).select_related("merchant", "customer").get(pk=invoice.pk)


def _emit_note(note: CreditNote, type: str, actor: Actor, request_id: str = "") -> None:
    emit_event(tenant=_tenant_of(note), type=type, data=credit_note_payload(note), actor=actor, request_id=request_id)


def _emit_invoice(invoice: Invoice, type: str, actor: Actor, request_id: str, previous: dict) -> None:
    emit_event(tenant=_tenant_of(invoice), type=type, data=invoice_payload(invoice), actor=actor,
               request_id=request_id, previous_attributes=previous)


def _clean_inputs(*, credit_method: str, reason: str, memo: str, metadata, cancel_subscription: bool) -> None:
    fields: dict[str, list[str]] = {}
    if credit_method not in METHODS:
        fields["credit_method"] = [f"must be one of {', '.join(METHODS)}"]
    if reason not in REASONS:
        fields["reason"] = [f"must be one of {', '.join(REASONS)}"]
    if not isinstance(memo, str) or len(memo) > 5000:
        fields["memo"] = ["must be text of at most 5000 characters"]
    if metadata is not None and (not isinstance(metadata, dict) or len(metadata) > 50):
        fields["metadata"] = ["must be an object of at most 50 keys"]
    if cancel_subscription and _subscription_canceller is None:
        fields["cancel_subscription"] = ["subscriptions cannot be canceled from a credit note yet "
                                         "(subscriptions are not available)"]
    if fields:
        raise ValidationFailed(next(f"{k}: {v[0]}" for k, v in fields.items()), fields=fields)


def credit_note_create(*, tenant: Tenant, actor: Actor, invoice: Invoice, amount: Money | None = None,
                       credit_method: str, reason: str = "other", memo: str = "", cancel_subscription: bool = False,
                       customer_present: bool = False, metadata: dict | None = None,
                       request_id: str = "") -> CreditNote:
    """Issues a note (rules in the module docstring). Returns it applied, failed (a gateway reversal was
    refused: failure_message says why) or issued (a refund's answer was lost and is being reconciled)."""
    _clean_inputs(credit_method=credit_method, reason=reason, memo=memo, metadata=metadata,
                  cancel_subscription=cancel_subscription)
    with transaction.atomic():
        locked = _lock_invoice(tenant, invoice)
        if cancel_subscription and not locked.subscription_id:
            raise ValidationFailed("cancel_subscription: the invoice does not belong to a subscription",
                                   fields={"cancel_subscription": ["the invoice has no subscription"]})
        plan = _plan(invoice=locked, amount=amount, credit_method=credit_method, notes=_live_notes(locked),
                     payments=_applied_payments(locked), lines=_invoice_lines(locked))
        if plan.problems:
            raise BusinessRuleViolation(plan.problems[0]["message"], code=plan.problems[0]["code"],
                                        param="amount_minor", details={"problems": plan.problems})
        note = CreditNote.objects.create(
            merchant=tenant.merchant, livemode=tenant.livemode, number=next_number(tenant=tenant, kind="credit_note"),
            invoice=locked, customer=locked.customer, credit_method=credit_method, reason=reason, memo=memo,
            currency=locked.currency, amount_minor=plan.amount.amount_minor, tax_minor=plan.tax.amount_minor,
            tax_by_rate=plan.tax_by_rate, pre_payment_minor=plan.pre_payment.amount_minor,
            post_payment_minor=plan.post_payment.amount_minor, is_final=plan.is_final,
            cancel_subscription=cancel_subscription, customer_present=customer_present, metadata=metadata or {},
            **actor.as_fields())
        CreditNoteLine.objects.bulk_create([
            CreditNoteLine(merchant=tenant.merchant, livemode=tenant.livemode, credit_note=note, position=i,
                           invoice_line_id=line["invoice_line_id"], description=line["description"][:500],
                           amount_minor=line["amount_minor"], tax_minor=line["tax_minor"])
            for i, line in enumerate(plan.lines)])
        stamp = now()
        for position, planned in enumerate(plan.reversals):
            at_gateway = planned.route in GATEWAY_ROUTES
            CreditNoteReversal.objects.create(
                merchant=tenant.merchant, livemode=tenant.livemode, credit_note=note,
                invoice_payment_id=planned.invoice_payment_id, payment_id=planned.payment_id, route=planned.route,
                status=CreditNoteReversal.Status.PENDING if at_gateway else CreditNoteReversal.Status.SUCCEEDED,
                amount_minor=planned.amount.amount_minor, currency=note.currency, position=position,
                completed_at=None if at_gateway else stamp)
            # Reserved now (a pending reversal counts), released if the gateway refuses it.
            InvoicePayment.objects.filter(pk=planned.invoice_payment_id).update(
                amount_reversed_minor=F("amount_reversed_minor") + planned.amount.amount_minor)
        to_balance = sum(r.amount.amount_minor for r in plan.reversals
                         if r.route == CreditNoteReversal.Route.CUSTOMER_BALANCE)
        if to_balance:
            CustomerBalanceTransaction.objects.create(
                merchant=tenant.merchant, livemode=tenant.livemode, customer=locked.customer,
                type=CustomerBalanceTransaction.Type.CREDIT_NOTE, amount_minor=to_balance, currency=note.currency,
                credit_note=note, invoice=locked, description=f"Credit note {note.number}")
        refunded_now = sum(r.amount.amount_minor for r in plan.reversals if r.route == CreditNoteReversal.Route.OUTSIDE) \
            if credit_method == CreditNote.CreditMethod.REFUND_TO_PAYMENT_METHOD else 0
        Invoice.objects.filter(pk=locked.pk).update(
            amount_credited_minor=F("amount_credited_minor") + note.amount_minor,
            credited_pre_payment_minor=F("credited_pre_payment_minor") + note.pre_payment_minor,
            amount_remaining_minor=F("amount_remaining_minor") - note.pre_payment_minor,
            amount_refunded_minor=F("amount_refunded_minor") + refunded_now, updated_at=stamp)
        CreditNote.objects.filter(pk=note.pk).update(
            amount_reversed_minor=sum(r.amount.amount_minor for r in plan.reversals if r.route not in GATEWAY_ROUTES))
        note.refresh_from_db()
        _emit_note(note, "credit_note.created", actor, request_id)
        _emit_note(note, "credit_note.issued", actor, request_id)
        at_gateway = any(r.route in GATEWAY_ROUTES for r in plan.reversals)
        if not at_gateway:
            _finish(locked, note, actor=actor, request_id=request_id)
        _queue_email(note.pk)
    if at_gateway:
        _run_gateway_reversals(tenant=tenant, actor=actor, note=note, request_id=request_id)
        with transaction.atomic():
            locked = _lock_invoice(tenant, invoice)
            note = CreditNote.objects.select_for_update().get(pk=note.pk)
            _finish(locked, note, actor=actor, request_id=request_id)
    return CreditNote.objects.get(pk=note.pk)


def credit_note_retry(*, tenant: Tenant, actor: Actor, credit_note: CreditNote, request_id: str = "") -> CreditNote:
    """Tries a failed note's gateway money again (rules in the module docstring): its failed and
    never-attempted reversals, each re-routed by its payment's settlement timing today. Returns the note
    applied or still failed (with the new message; also while a refund whose answer was lost is reconciled)."""
    if not _same_tenant(credit_note, tenant):
        raise NotFound(f"No such credit note: '{credit_note.pk}'", param="id")
    with transaction.atomic():
        locked = _lock_invoice(tenant, Invoice.objects.get(pk=credit_note.invoice_id))
        note = CreditNote.objects.select_for_update().get(pk=credit_note.pk)
        if note.status != CreditNote.Status.FAILED:
            raise BusinessRuleViolation(
                f"Only a failed credit note can be retried; {note.number} is {note.get_status_display().lower()}.",
                code="credit_note_not_retryable")
        # Not locked (no select_for_update): _reversal_outcome locks a reversal before the invoice, so
        # locking them here, after the invoice, could deadlock. The invoice lock serializes retries.
        reversals = list(note.reversals.order_by("position"))
        if any(r.status == CreditNoteReversal.Status.PENDING for r in reversals):
            raise Conflict(f"A refund for credit note {note.number} is already being processed; try again later.",
                           code="credit_note_retry_in_progress")
        to_retry = [r for r in reversals if r.status == CreditNoteReversal.Status.FAILED]
        applications = {a.pk: a for a in InvoicePayment.objects.select_related("payment")
                        .filter(pk__in=[r.invoice_payment_id for r in to_retry])}
        routes = {}
        for reversal in to_retry:
            application = applications.get(reversal.invoice_payment_id)
            if application is None or application.payment is None or _left_on(application) < reversal.amount_minor:
                left = _left_on(application) if application is not None else 0
                raise BusinessRuleViolation(
                    f"{Money(reversal.amount_minor, reversal.currency).format()} can no longer go back to this "
                    f"payment: {Money(left, reversal.currency).format()} is left on it (it was reversed outside "
                    "this credit note). Void the credit note and issue a new one.", code="payments_not_reversible")
            route, explanation, blocked = _card_route(application, reversal.amount_minor)
            if blocked:
                raise BusinessRuleViolation(explanation, code="partial_reversal_before_settlement")
            routes[reversal.pk] = str(route)
        for reversal in to_retry:
            CreditNoteReversal.objects.filter(pk=reversal.pk).update(
                route=routes[reversal.pk], status=CreditNoteReversal.Status.PENDING, failure_message="",
                completed_at=None, void=None, refund=None)
            # Reserved again, exactly as create does; released if the gateway refuses it again.
            InvoicePayment.objects.filter(pk=reversal.invoice_payment_id).update(
                amount_reversed_minor=F("amount_reversed_minor") + reversal.amount_minor)
        log.info("credit note %s: retrying %d reversal(s) (%s)", note.pk, len(to_retry),
                 ", ".join(f"{r.pk}:{routes[r.pk]}" for r in to_retry))
        if not to_retry:  # nothing left to send: settle the note from its reversals
            _finish(locked, note, actor=actor, request_id=request_id)
    if to_retry:
        _run_gateway_reversals(tenant=tenant, actor=actor, note=note, request_id=request_id)
        with transaction.atomic():
            locked = _lock_invoice(tenant, locked)
            note = CreditNote.objects.select_for_update().get(pk=note.pk)
            _finish(locked, note, actor=actor, request_id=request_id)
    return CreditNote.objects.get(pk=note.pk)


def _queue_email(note_id: str) -> None:
    """After commit: the note's PDF (rendered once) and the "credit note issued" email carrying it."""
    from .. import tasks

    transaction.on_commit(lambda: tasks.render_credit_note_pdf.delay(note_id))
    transaction.on_commit(lambda: tasks.send_credit_note_email.delay(note_id))


def _run_gateway_reversals(*, tenant: Tenant, actor: Actor, note: CreditNote, request_id: str) -> None:
    """Outside any transaction: each pending void/refund through the payments engine, newest payment
    first, each outcome recorded at once (its own short transaction). Stops at the first failure."""
    from apps.payments import services as payments
    from apps.payments.models import Payment

    pending = list(CreditNoteReversal.objects.filter(credit_note=note, status=CreditNoteReversal.Status.PENDING)
                   .order_by("position"))
    failed = None
    for reversal in pending:
        if failed is not None:
            _reversal_outcome(reversal.pk, status=CreditNoteReversal.Status.FAILED,
                              message=f"Not attempted: an earlier reversal failed ({failed})")
            continue
        payment = Payment.objects.select_related("merchant", "gateway_account").get(pk=reversal.payment_id)
        try:
            if reversal.route == CreditNoteReversal.Route.VOID:
                void = payments.void_create(tenant=tenant, actor=actor, payment=payment, request_id=request_id)
                ok = void.status == "succeeded"
                _reversal_outcome(reversal.pk, status="succeeded" if ok else "failed", void_id=void.pk,
                                  message="" if ok else (void.failure_message or "The gateway refused the void."))
            else:
                refund = payments.refund_create(tenant=tenant, actor=actor, payment=payment,
                                                amount=Money(reversal.amount_minor, reversal.currency),
                                                reason=_REFUND_REASONS.get(note.reason, "requested_by_customer"),
                                                request_id=request_id)
                if refund.status == "pending":  # the answer was lost: the reconciler settles it
                    CreditNoteReversal.objects.filter(pk=reversal.pk).update(refund_id=refund.pk)
                    ok = True
                else:
                    ok = refund.status == "succeeded"
                    _reversal_outcome(reversal.pk, status="succeeded" if ok else "failed", refund_id=refund.pk,
                                      message="" if ok else (refund.failure_message or "The gateway refused the refund."))
        except DomainError as exc:
            ok = False
            _reversal_outcome(reversal.pk, status=CreditNoteReversal.Status.FAILED, message=exc.message)
        if not ok:
            failed = CreditNoteReversal.objects.values_list("failure_message", flat=True).get(pk=reversal.pk)


def _reversal_outcome(reversal_id: str, *, status: str, message: str = "", void_id=None, refund_id=None) -> None:
    """Records one reversal's outcome once (under its row lock); a failure releases its reservation."""
    with transaction.atomic():
        reversal = CreditNoteReversal.objects.select_for_update().select_related("credit_note").get(pk=reversal_id)
        if reversal.status != CreditNoteReversal.Status.PENDING:
            return
        updates = {"status": status, "completed_at": now(), "failure_message": message[:500]}
        if void_id:
            updates["void_id"] = void_id
        if refund_id:
            updates["refund_id"] = refund_id
        CreditNoteReversal.objects.filter(pk=reversal.pk).update(**updates)
        note = reversal.credit_note
        if status == CreditNoteReversal.Status.FAILED:
            InvoicePayment.objects.filter(pk=reversal.invoice_payment_id).update(
                amount_reversed_minor=F("amount_reversed_minor") - reversal.amount_minor)
        else:
            CreditNote.objects.filter(pk=note.pk).update(
                amount_reversed_minor=F("amount_reversed_minor") + reversal.amount_minor, updated_at=now())
            if note.credit_method == CreditNote.CreditMethod.REFUND_TO_PAYMENT_METHOD:
                Invoice.objects.filter(pk=note.invoice_id).update(
                    amount_refunded_minor=F("amount_refunded_minor") + reversal.amount_minor, updated_at=now())


def _finish(locked: Invoice, note: CreditNote, *, actor: Actor, request_id: str) -> None:
    """Inside the transaction holding the invoice's lock: settles the note's status from its reversals and
    moves the invoice (and its order) when the note is applied."""
    if note.status not in (CreditNote.Status.ISSUED, CreditNote.Status.FAILED):
        return
    statuses = list(note.reversals.values_list("status", "failure_message"))
    if any(s == CreditNoteReversal.Status.PENDING for s, _ in statuses):
        return  # a lost gateway answer: finished when the refund is reconciled
    previous = {"status": locked.status, "amount_credited_minor": locked.amount_credited_minor,
                "amount_remaining_minor": locked.amount_remaining_minor}
    invoice = Invoice.objects.select_related("merchant", "customer").get(pk=locked.pk)
    failures = [m for s, m in statuses if s == CreditNoteReversal.Status.FAILED]
    if failures:
        message = failures[0]
        if note.cancel_subscription:
            log.warning("credit note %s: subscription %s not canceled because a reversal failed",
                        note.pk, invoice.subscription_id)
            message = f"{message} The subscription was not canceled because the refund did not complete."
        if note.status != CreditNote.Status.FAILED:
            transition(note, CreditNote.Status.FAILED, actor=actor, reason="reversal failed",
                       extra_updates={"failure_message": message[:500]})
        else:  # a retry failed again: the note keeps its status and says why this time
            CreditNote.objects.filter(pk=note.pk).update(failure_message=message[:500], updated_at=now())
            note.failure_message = message[:500]
        _emit_invoice(invoice, "invoice.updated", actor, request_id, previous)
        return
    transition(note, CreditNote.Status.APPLIED, actor=actor, reason="reversed",
               extra_updates={"applied_at": now(), "failure_message": ""})
    _cancel_subscription(invoice, note, actor=actor)
    _emit_note(note, "credit_note.applied", actor, request_id)
    target = _status_after(invoice, credited_after=invoice.amount_credited_minor,
                           owed_after=invoice.amount_remaining_minor, refunded_after=invoice.amount_refunded_minor)
    if target == invoice.status:
        _emit_invoice(invoice, "invoice.updated", actor, request_id, previous)
        return
    extra = {"voided_at": now(), "void_reason": f"Credited in full by {note.number}"} if target == "voided" else {}
    if target == "paid":
        extra = {"paid_at": now()}
    transition(invoice, target, actor=actor, reason=f"credit note {note.number}", extra_updates=extra)
    _emit_invoice(invoice, f"invoice.{target}", actor, request_id, previous)
    if target in ("voided", "refunded"):
        _follow_order(invoice, target, actor=actor, request_id=request_id)


def _cancel_subscription(invoice: Invoice, note: CreditNote, *, actor: Actor) -> None:
    if not note.cancel_subscription:
        return
    if _subscription_canceller is None or not invoice.subscription_id:
        message = "The subscription was not canceled: no subscription service is available."
        log.warning("credit note %s: %s", note.pk, message)
        CreditNote.objects.filter(pk=note.pk).update(failure_message=message)
        return
    try:
        with transaction.atomic():
            _subscription_canceller(tenant=_tenant_of(invoice), actor=actor, subscription_id=invoice.subscription_id,
                                    credit_note=note)
    except Exception as exc:  # the money went back; the cancellation is reported, not rolled back
        log.warning("credit note %s: subscription %s not canceled: %s", note.pk, invoice.subscription_id, exc)
        CreditNote.objects.filter(pk=note.pk).update(
            failure_message=f"The subscription was not canceled: {exc}"[:500])
        return
    CreditNote.objects.filter(pk=note.pk).update(subscription_canceled=True)
    note.subscription_canceled = True


def _follow_order(invoice: Invoice, target: str, *, actor: Actor, request_id: str) -> None:
    from .orders import emit_order

    order = Order.objects.select_for_update().filter(invoice_id=invoice.pk).first()
    if order is None:
        return
    wanted = ("refunded", "canceled") if target == "refunded" else ("canceled", "refunded")
    for status in wanted:
        if Order.STATE_MACHINE.can(order.status, status):
            previous = {"status": order.status}
            extra = {"canceled_at": now(), "cancel_reason": f"Invoice {invoice.number} {target}"} \
                if status == "canceled" else {}
            transition(order, status, actor=actor, reason=f"invoice {target}", extra_updates=extra)
            emit_order(order, f"order.{status}", actor, request_id, previous)
            return


def credit_note_void(*, tenant: Tenant, actor: Actor, credit_note: CreditNote, request_id: str = "") -> CreditNote:
    """An accounting void: takes the note back and restores the invoice's amounts. Refused when money left
    through the gateway for it, when the invoice is already voided/refunded, when a customer_balance note's
    credit has been used, or when it would make a paid invoice owe money again."""
    if not _same_tenant(credit_note, tenant):
        raise NotFound(f"No such credit note: '{credit_note.pk}'", param="id")
    with transaction.atomic():
        invoice = _lock_invoice(tenant, Invoice.objects.get(pk=credit_note.invoice_id))
        note = CreditNote.objects.select_for_update().select_related("merchant").get(pk=credit_note.pk)
        if note.status == CreditNote.Status.VOIDED:
            return note
        reversals = list(note.reversals.all())
        if any(r.route in GATEWAY_ROUTES and r.status != CreditNoteReversal.Status.FAILED for r in reversals):
            raise BusinessRuleViolation(
                "Money went back to the customer's card for this credit note; it cannot be voided.",
                code="credit_note_not_voidable")
        if invoice.status in ("voided", "refunded"):
            raise BusinessRuleViolation(
                f"The invoice is {invoice.status} by its credit notes; a credit note on it cannot be voided.",
                code="credit_note_not_voidable")
        if note.pre_payment_minor and invoice.status == "paid":
            raise BusinessRuleViolation(
                "Voiding this credit note would make a paid invoice owe money again; it cannot be voided.",
                code="credit_note_not_voidable")
        from apps.customers.models import Customer

        to_balance = sum(r.amount_minor for r in reversals if r.route == CreditNoteReversal.Route.CUSTOMER_BALANCE
                         and r.status == CreditNoteReversal.Status.SUCCEEDED)
        if to_balance:
            customer = Customer.objects.select_for_update().get(pk=note.customer_id)
            balance = customer_balance(customer=customer, currency=note.currency)
            if balance.amount_minor < to_balance:
                raise BusinessRuleViolation(
                    f"The customer's balance ({balance.format()}) no longer covers this credit note's "
                    f"{Money(to_balance, note.currency).format()}; it has been used.", code="credit_note_not_voidable")
            CustomerBalanceTransaction.objects.create(
                merchant=note.merchant, livemode=note.livemode, customer=customer,
                type=CustomerBalanceTransaction.Type.CREDIT_NOTE_VOID, amount_minor=-to_balance,
                currency=note.currency, credit_note=note, invoice=invoice,
                description=f"Credit note {note.number} voided")
        refunded_back = 0
        for reversal in reversals:
            if reversal.status == CreditNoteReversal.Status.SUCCEEDED:
                InvoicePayment.objects.filter(pk=reversal.invoice_payment_id).update(
                    amount_reversed_minor=F("amount_reversed_minor") - reversal.amount_minor)
                if note.credit_method == CreditNote.CreditMethod.REFUND_TO_PAYMENT_METHOD:
                    refunded_back += reversal.amount_minor
        previous = {"status": invoice.status, "amount_credited_minor": invoice.amount_credited_minor,
                    "amount_remaining_minor": invoice.amount_remaining_minor}
        Invoice.objects.filter(pk=invoice.pk).update(
            amount_credited_minor=F("amount_credited_minor") - note.amount_minor,
            credited_pre_payment_minor=F("credited_pre_payment_minor") - note.pre_payment_minor,
            amount_remaining_minor=F("amount_remaining_minor") + note.pre_payment_minor,
            amount_refunded_minor=F("amount_refunded_minor") - refunded_back, updated_at=now())
        transition(note, CreditNote.Status.VOIDED, actor=actor, reason="voided", extra_updates={"voided_at": now()})
        _emit_note(note, "credit_note.voided", actor, request_id)
        invoice.refresh_from_db()
        _emit_invoice(invoice, "invoice.updated", actor, request_id, previous)
    return note


def credit_note_follow_refund(event) -> None:
    """Event handler: a refund whose gateway answer was lost (its reversal left pending) is resolved by
    the payments reconciler; record the outcome and finish the note. Idempotent."""
    if event.type not in ("refund.succeeded", "refund.failed"):
        return
    reversal = CreditNoteReversal.objects.filter(refund_id=(event.data or {}).get("id"),
                                                 status=CreditNoteReversal.Status.PENDING).first()
    if reversal is None:
        return
    ok = event.type == "refund.succeeded"
    _reversal_outcome(reversal.pk, status="succeeded" if ok else "failed",
                      message="" if ok else ((event.data or {}).get("failure_message") or "The refund failed."))
    actor = Actor.system("refund follow-up")
    with transaction.atomic():
        note = CreditNote.objects.select_related("invoice").get(pk=reversal.credit_note_id)
        locked = _lock_invoice(_tenant_of(note), note.invoice)
        note = CreditNote.objects.select_for_update().get(pk=note.pk)
        _finish(locked, note, actor=actor, request_id="")

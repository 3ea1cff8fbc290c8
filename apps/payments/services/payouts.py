"""Payouts (page 047): settled ledger transactions grouped on the merchant's schedule, their net
(gross − fees − refunds − disputes ± adjustments, calculations.payout_summary) and their lifecycle
pending → in_transit → paid | failed.

Creating: for each gateway account (merchant + mode) and currency, the scheduled payout dates from the
oldest unpaid available transaction up to today are walked in order; each date takes every ledger row
with `payout` NULL and `available_on` on or before it. So a beat that did not run for days catches up
with exactly the payouts it would have made on time, and a date with nothing available has no payout.
Two workers cannot double-pay: the gateway account row is locked for the whole creation (one merchant
+ mode at a time), the payout is unique per (merchant, mode, currency, date), and the rows are claimed
with a compare-and-set UPDATE … WHERE payout IS NULL inside the same transaction.

Decisions (documented here and in the README):
- arrival_date = payout_date + ARRIVAL_BUSINESS_DAYS (2) business days: page 047 says "most payouts
  arrive within 1-2 business days after initiation"; the expected date is the later one.
- A payout whose net is zero or negative (refunds and disputes beyond the day's sales) is recorded as
  it is, never clipped: amount_minor < 0 means the merchant's bank account is debited. It follows the
  same lifecycle.
- A failed payout releases its transactions (payout back to NULL): the next scheduled payout pays them
  again. The failed payout keeps its figures and transaction_count as the record of what failed.
- reference: "RK" + the payout id's last 10 characters (the ULID's random part), unique enough for bank
  matching and short enough for any statement line.
"""
from __future__ import annotations

import dataclasses
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import Min

from apps.core.actors import Actor
from apps.core.clock import now as clock_now
from apps.core.errors import BusinessRuleViolation, NotFound, ValidationFailed
from apps.core.events import emit_event
from apps.core.money import Money
from apps.core.statemachine import transition
from apps.core.tenancy import Tenant

from .. import calculations as calc
from ..models import FeeLine, Payment, Payout, Transaction
from ..payloads import payout_payload
from .settlement import merchant_zone, payout_schedule_of

__all__ = ["ARRIVAL_BUSINESS_DAYS", "PAYOUT_TYPES", "payout_create_for", "payout_fail", "payout_items_of",
           "payout_schedule_update", "payouts_advance", "payouts_create_due"]

ARRIVAL_BUSINESS_DAYS = 2
# Ledger types that move a merchant's balance at payout time. Auths move nothing; a void cancels its sale
# before settlement, so neither the void nor the voided sale is ever paid out.
PAYOUT_TYPES = (Transaction.Type.SALE, Transaction.Type.CAPTURE, Transaction.Type.REFUND, Transaction.Type.DISPUTE,
                Transaction.Type.ADJUSTMENT)


def _tenant_of(obj) -> Tenant:
    return Tenant(obj.merchant, obj.livemode)


def _local_today(merchant, moment: datetime | None = None) -> date:
    return (moment or clock_now()).astimezone(merchant_zone(merchant)).date()


def _payable(*, merchant_id, livemode: bool, currency: str | None = None):
    """Ledger rows waiting for a payout (payout NULL, a payout date set, a type that moves money)."""
    qs = (Transaction.objects.filter(merchant_id=merchant_id, livemode=livemode, payout__isnull=True,
                                     available_on__isnull=False, type__in=PAYOUT_TYPES)
          .exclude(amount_minor=0)
          .exclude(type__in=(Transaction.Type.SALE, Transaction.Type.CAPTURE), payment__status=Payment.Status.VOIDED))
    return qs.filter(currency=currency) if currency else qs


# --- the ledger row → calculations.PayoutItem ---------------------------------------------------------
def _fee_line(row: FeeLine) -> calc.FeeLine:
    return calc.FeeLine(code=calc.FeeCode(row.code), description=row.description, percent=row.percent,
                        fixed=Decimal(0), amount=Money(row.amount_minor, row.currency))


def payout_item_of(txn: Transaction) -> calc.PayoutItem:
    """One ledger row as the payout maths sees it: sale/capture → SALE with its fee lines, refund → REFUND,
    dispute debit (with its chargeback fee) → DISPUTE, dispute credit → DISPUTE_WON, adjustment as signed."""
    fee_lines = tuple(_fee_line(line) for line in txn.fee_lines.all())
    amount = Money(abs(txn.amount_minor), txn.currency)
    if txn.type in (Transaction.Type.SALE, Transaction.Type.CAPTURE):
        kind = calc.PayoutItemKind.SALE
    elif txn.type == Transaction.Type.REFUND:
        kind = calc.PayoutItemKind.REFUND
    elif txn.type == Transaction.Type.DISPUTE:
        kind = calc.PayoutItemKind.DISPUTE if txn.amount_minor < 0 else calc.PayoutItemKind.DISPUTE_WON
    elif txn.type == Transaction.Type.ADJUSTMENT:
        kind, amount = calc.PayoutItemKind.ADJUSTMENT, Money(txn.amount_minor, txn.currency)
    else:
        raise calc.PayoutError(f"{txn.pk}: a {txn.type} is never paid out")
    return calc.PayoutItem(reference=txn.pk, kind=kind, amount=amount, fee_lines=fee_lines,
                           description=txn.description or f"{txn.type} {txn.payment_id}")


def payout_items_of(transactions) -> list[calc.PayoutItem]:
    """Items in the order given; pass rows with `fee_lines` prefetched."""
    return [payout_item_of(txn) for txn in transactions]


# --- creating ------------------------------------------------------------------------------------------
def payouts_create_due(*, today: date | None = None) -> list[Payout]:
    """Every gateway account's due payouts up to `today` (default: each merchant's local today). The beat
    task's body; idempotent."""
    from apps.accounts.models import GatewayAccount

    created: list[Payout] = []
    waiting = (Transaction.objects.filter(payout__isnull=True, available_on__isnull=False, type__in=PAYOUT_TYPES)
               .values_list("merchant_id", "livemode").distinct())
    tenants = sorted(set(waiting))
    for account in (GatewayAccount.objects.select_related("merchant")
                    .filter(merchant_id__in={m for m, _ in tenants}).order_by("pk")):
        if (account.merchant_id, account.livemode) in tenants:
            created += _create_due_for_account(account, today or _local_today(account.merchant))
    return created


def _next_scheduled(schedule: calc.PayoutSchedule, on_or_after: date) -> date:
    """The first scheduled payout date on or after `on_or_after` (the schedule's delay is already in
    `available_on`, so it is not applied twice)."""
    return calc.next_payout_dates(settlement_date=on_or_after, schedule=dataclasses.replace(schedule, delay_days=0))[0]


def _create_due_for_account(account, today: date) -> list[Payout]:
    schedule = payout_schedule_of(account)
    created: list[Payout] = []
    currencies = sorted(set(_payable(merchant_id=account.merchant_id, livemode=account.livemode)
                            .values_list("currency", flat=True)))
    for currency in currencies:
        cursor = None
        while True:
            oldest = (_payable(merchant_id=account.merchant_id, livemode=account.livemode, currency=currency)
                      .aggregate(oldest=Min("available_on"))["oldest"])
            if oldest is None:
                break
            payout_date = _next_scheduled(schedule, max(oldest, cursor) if cursor else oldest)
            if payout_date > today:
                break
            payout, made = _create(gateway_account=account, payout_date=payout_date, currency=currency,
                                   actor=Actor.system("payouts"))
            if made:
                created.append(payout)
            cursor = payout_date + timedelta(days=1)
    return created


def payout_create_for(*, gateway_account, payout_date: date, currency: str | None = None,
                      actor: Actor | None = None) -> Payout | None:
    """The payout of `gateway_account`'s merchant + mode for `payout_date` in `currency` (default: the
    merchant's settlement currency): every unpaid row available on or before that date. None when nothing
    is available; the existing payout when that date already has one (nothing is added to it)."""
    return _create(gateway_account=gateway_account, payout_date=payout_date, currency=currency,
                   actor=actor or Actor.system("payouts"))[0]


def _create(*, gateway_account, payout_date: date, currency: str | None, actor: Actor) -> tuple[Payout | None, bool]:
    from apps.accounts.models import GatewayAccount

    with transaction.atomic():
        # One merchant + mode at a time: the lock serialises concurrent creators (two beat workers).
        account = GatewayAccount.objects.select_for_update().select_related("merchant").get(pk=gateway_account.pk)
        merchant = account.merchant
        currency = (currency or merchant.settlement_currency).upper()
        existing = Payout.objects.filter(merchant=merchant, livemode=account.livemode, currency=currency,
                                         payout_date=payout_date).first()
        if existing is not None:
            return existing, False
        candidates = list(_payable(merchant_id=merchant.pk, livemode=account.livemode, currency=currency)
                          .filter(available_on__lte=payout_date).order_by("pk").values_list("pk", flat=True))
        if not candidates:
            return None, False
        payout = Payout.objects.create(
            merchant=merchant, livemode=account.livemode, currency=currency, amount_minor=0, payout_date=payout_date,
            arrival_date=calc.add_business_days(day=payout_date, days=ARRIVAL_BUSINESS_DAYS),
            reference="", destination_last4=account.payout_destination_last4)
        # Compare-and-set claim: a row another payout took meanwhile is simply not ours.
        Transaction.objects.filter(pk__in=candidates, payout__isnull=True).update(payout=payout)
        claimed = list(Transaction.objects.filter(payout=payout).prefetch_related("fee_lines").order_by("pk"))
        if not claimed:
            transaction.set_rollback(True)
            return None, False
        summary = calc.payout_summary(items=payout_items_of(claimed), currency=currency)
        Payout.objects.filter(pk=payout.pk).update(**_figures(summary), transaction_count=len(claimed),
                                                   reference=reference_for(payout.pk))
        payout.refresh_from_db()
        emit_event(tenant=_tenant_of(payout), type="payout.created", data=payout_payload(payout), actor=actor)
    return payout, True


def _figures(summary: calc.PayoutSummary) -> dict:
    return {"gross_minor": summary.gross.amount_minor, "fees_minor": summary.fees.amount_minor,
            "refunds_minor": summary.refunds.amount_minor, "disputes_minor": summary.disputes.amount_minor,
            "adjustments_minor": summary.adjustments.amount_minor, "amount_minor": summary.net.amount_minor}


def reference_for(payout_id: str) -> str:
    return "RK" + payout_id.rsplit("_", 1)[-1][-10:].upper()


# --- lifecycle -----------------------------------------------------------------------------------------
def payouts_advance(*, now: datetime | None = None) -> dict:
    """pending → in_transit on its payout date (initiated_at), in_transit → paid on its arrival date
    (paid_at), each in the merchant's own calendar. Idempotent; the beat task's body."""
    moment = now or clock_now()
    horizon = (moment + timedelta(days=1)).date()  # no time zone is more than a day ahead of UTC
    counts = {"in_transit": 0, "paid": 0}
    due = (Payout.objects.filter(status=Payout.Status.PENDING, payout_date__lte=horizon)
           .order_by("payout_date", "pk").values_list("pk", flat=True))
    for payout_id in list(due):
        if _advance_one(payout_id, Payout.Status.PENDING, Payout.Status.IN_TRANSIT, moment):
            counts["in_transit"] += 1
    arriving = (Payout.objects.filter(status=Payout.Status.IN_TRANSIT, arrival_date__lte=horizon)
                .order_by("arrival_date", "pk").values_list("pk", flat=True))
    for payout_id in list(arriving):
        if _advance_one(payout_id, Payout.Status.IN_TRANSIT, Payout.Status.PAID, moment):
            counts["paid"] += 1
    return counts


@transaction.atomic
def _advance_one(payout_id: str, from_state: str, to_state: str, moment: datetime) -> bool:
    payout = Payout.objects.select_for_update(of=("self",)).select_related("merchant").get(pk=payout_id)
    if payout.status != from_state:
        return False
    today = _local_today(payout.merchant, moment)
    actor = Actor.system("payouts")
    if to_state == Payout.Status.IN_TRANSIT:
        if payout.payout_date > today:
            return False
        transition(payout, to_state, actor=actor, reason="payout date reached",
                   extra_updates={"initiated_at": moment, "updated_at": moment})
        event = "payout.in_transit"
    else:
        if payout.arrival_date > today:
            return False
        transition(payout, to_state, actor=actor, reason="arrival date reached",
                   extra_updates={"paid_at": moment, "updated_at": moment})
        event = "payout.paid"
    emit_event(tenant=_tenant_of(payout), type=event, data=payout_payload(payout), actor=actor)
    return True


def payout_fail(*, payout: Payout, message: str, actor: Actor) -> Payout:
    """The bank rejected the payout (an operator's admin action, or the acquirer's notice): failed, with
    the message; its transactions are released (payout NULL) so the next scheduled payout pays them."""
    message = (message or "").strip()
    if not message:
        raise ValidationFailed("message: say why the payout failed", fields={"message": ["is required"]})
    with transaction.atomic():
        locked = Payout.objects.select_for_update(of=("self",)).select_related("merchant").get(pk=payout.pk)
        if locked.status not in (Payout.Status.PENDING, Payout.Status.IN_TRANSIT):
            raise BusinessRuleViolation(f"Only a pending or in-transit payout can fail; this one is {locked.status}.",
                                        code="payout_not_failable")
        moment = clock_now()
        transition(locked, Payout.Status.FAILED, actor=actor, reason=message[:500],
                   extra_updates={"failed_at": moment, "failure_message": message[:500], "updated_at": moment})
        Transaction.objects.filter(payout=locked).update(payout=None)
        emit_event(tenant=_tenant_of(locked), type="payout.failed", data=payout_payload(locked), actor=actor)
    return locked


# --- the schedule setting ----------------------------------------------------------------------------
SCHEDULE_FIELDS = ("payout_interval", "payout_weekly_anchor", "payout_monthly_anchor", "payout_delay_days")


def payout_schedule_update(*, tenant: Tenant, actor: Actor, interval: str, weekly_anchor: int = 0,
                           monthly_anchor: int = 1, delay_days: int = 1, request_id: str = ""):
    """Sets the payout schedule of the tenant's gateway account (daily / weekly on a weekday / monthly on
    a day, and the business days of delay). Rows already settled keep their payout date; the interval is
    applied when payouts are made, so a change of interval applies to everything not yet paid out."""
    from apps.accounts.models import GatewayAccount

    fields: dict[str, list[str]] = {}
    if interval not in {str(i) for i in calc.PayoutInterval}:
        fields["interval"] = ["must be daily, weekly or monthly"]
    for name, value, low, high in (("weekly_anchor", weekly_anchor, 0, 4), ("monthly_anchor", monthly_anchor, 1, 31),
                                   ("delay_days", delay_days, 0, 60)):
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            fields[name] = [f"must be a whole number from {low} to {high}"]
    if fields:
        raise ValidationFailed(next(f"{k}: {v[0]}" for k, v in fields.items()), fields=fields)
    with transaction.atomic():
        account = (GatewayAccount.objects.select_for_update()
                   .filter(merchant=tenant.merchant, livemode=tenant.livemode).first())
        if account is None:
            raise NotFound(f"No card gateway is connected in {tenant.mode} mode.", code="gateway_not_connected")
        before = {name: getattr(account, name) for name in SCHEDULE_FIELDS}
        after = {"payout_interval": str(interval), "payout_weekly_anchor": weekly_anchor,
                 "payout_monthly_anchor": monthly_anchor, "payout_delay_days": delay_days}
        if before == after:
            return account
        GatewayAccount.objects.filter(pk=account.pk).update(**after)
        for name, value in after.items():
            setattr(account, name, value)
        emit_event(tenant=tenant, type="payout_schedule.updated", actor=actor, request_id=request_id,
                   object_type="gateway_account", object_id=account.pk,
                   data={"id": account.pk, "object": "payout_schedule", "interval": after["payout_interval"],
                         "weekly_anchor": weekly_anchor, "monthly_anchor": monthly_anchor, "delay_days": delay_days},
                   previous_attributes={k.removeprefix("payout_"): v for k, v in before.items() if before[k] != after[k]})
    return account

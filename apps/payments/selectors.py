"""Payments reads: always tenant-scoped; a row of another merchant or mode is a 404."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal

from django.db.models import Count, Prefetch, Q, QuerySet, Sum

from apps.core.errors import NotFound
from apps.core.ids import looks_like_id
from apps.core.tenancy import Tenant, get_scoped, scoped

from .models import FeeLine, Payment, PaymentMethod, Refund, Transaction, Void


def _get(model, prefix: str, label: str, *, tenant: Tenant, object_id: str, qs=None):
    if not looks_like_id(object_id, prefix):
        raise NotFound(f"No such {label}: '{str(object_id)[:60]}'", param="id")
    return get_scoped(qs if qs is not None else model, tenant=tenant, pk=object_id, label=label)


def _where(qs: QuerySet, **lookups) -> QuerySet:
    """The optional filters of a list: a lookup whose value is None or "" is not applied (0 is a value)."""
    given = {lookup: value for lookup, value in lookups.items() if value is not None and value != ""}
    return qs.filter(**given) if given else qs


def payment_list(*, tenant: Tenant, customer_id: str | None = None, status: str | None = None,
                 created_after=None, created_before=None) -> QuerySet[Payment]:
    return _where(scoped(Payment, tenant=tenant), customer_id=customer_id, status=status,
                  created_at__gte=created_after, created_at__lt=created_before)


def payment_get(*, tenant: Tenant, payment_id: str) -> Payment:
    return _get(Payment, "pay", "payment", tenant=tenant, object_id=payment_id)


def payment_method_list(*, tenant: Tenant, customer_id: str) -> QuerySet[PaymentMethod]:
    return scoped(PaymentMethod, tenant=tenant).filter(customer_id=customer_id, status=PaymentMethod.Status.ACTIVE)


def payment_method_get(*, tenant: Tenant, payment_method_id: str) -> PaymentMethod:
    return _get(PaymentMethod, "pm", "payment method", tenant=tenant, object_id=payment_method_id)


def refund_list(*, tenant: Tenant, payment_id: str | None = None) -> QuerySet[Refund]:
    return _where(scoped(Refund, tenant=tenant), payment_id=payment_id)


def refund_get(*, tenant: Tenant, refund_id: str) -> Refund:
    return _get(Refund, "ref", "refund", tenant=tenant, object_id=refund_id)


def void_list(*, tenant: Tenant, payment_id: str | None = None) -> QuerySet[Void]:
    return _where(scoped(Void, tenant=tenant), payment_id=payment_id)


def void_get(*, tenant: Tenant, void_id: str) -> Void:
    return _get(Void, "void", "void", tenant=tenant, object_id=void_id)


def _fees():
    return Prefetch("fee_lines", queryset=FeeLine.objects.order_by("id"))


def transaction_list(*, tenant: Tenant, payment_id: str | None = None, type: str | None = None) -> QuerySet[Transaction]:
    return _where(scoped(Transaction, tenant=tenant).prefetch_related(_fees()), payment_id=payment_id, type=type)


def transaction_get(*, tenant: Tenant, transaction_id: str) -> Transaction:
    return _get(Transaction, "txn", "transaction", tenant=tenant, object_id=transaction_id,
                qs=Transaction.objects.prefetch_related(_fees()))


def payment_for_reversal(*, tenant: Tenant, object_id: str) -> Payment:
    """A payment named by its id or by one of its transactions' ids (`charge`, `transaction_id`)."""
    if looks_like_id(object_id, "txn"):
        return transaction_get(tenant=tenant, transaction_id=object_id).payment
    return payment_get(tenant=tenant, payment_id=object_id)


# --- dashboard: the payments list and the margin report ------------------------------------------------
DISPUTED = "disputed"  # a list filter, not a status: payments holding money in an open or lost dispute
CAPTURED_STATUSES = (Payment.Status.SUCCEEDED, Payment.Status.PARTIALLY_REFUNDED, Payment.Status.REFUNDED)


def payment_dashboard_list(*, tenant: Tenant, q: str = "", status: str = "", customer_id: str = "",
                           created_from: datetime | None = None, created_before: datetime | None = None,
                           amount_min_minor: int | None = None, amount_max_minor: int | None = None
                           ) -> QuerySet[Payment]:
    """The dashboard's payments list, newest first, with what each row shows joined in (one query a page).

    `q` finds a payment by its id, the customer's email or name, the card's last 4 digits or the
    gateway's transaction id. Amounts are minor units of each payment's own currency."""
    qs = scoped(Payment, tenant=tenant).select_related("customer", "payment_method")
    if status == DISPUTED:
        qs = qs.filter(amount_disputed_minor__gt=0)
    elif status:
        qs = qs.filter(status=status)
    qs = _where(qs, customer_id=customer_id, created_at__gte=created_from, created_at__lt=created_before,
                amount_minor__gte=amount_min_minor, amount_minor__lte=amount_max_minor)
    q = (q or "").strip()
    if q:
        match = Q(customer__email__icontains=q) | Q(customer__name__icontains=q) | Q(gateway_transaction_id=q)
        if q.startswith("pay_"):
            match |= Q(pk__startswith=q)
        if len(q) == 4 and q.isdigit():
            match |= Q(card_last4=q)
        qs = qs.filter(match)
    return qs


def payment_detail_get(*, tenant: Tenant, payment_id: str) -> Payment:
    """One payment with its customer, saved card and product joined in (the detail page's header)."""
    return _get(Payment, "pay", "payment", tenant=tenant, object_id=payment_id,
                qs=Payment.objects.select_related("customer", "payment_method", "product"))


@dataclass(frozen=True)
class MarginRow:
    """One customer's or product's figures in one currency, all in minor units; net = gross − fees −
    refunds − disputes (the sale's fees are kept on refunds and disputes, pages 004/045)."""

    key: str | None  # customer or product id; None = no customer / "Unattributed"
    label: str
    currency: str
    count: int
    gross_minor: int
    refunds_minor: int
    disputes_minor: int
    fees_by_code: dict[str, int] = field(default_factory=dict)

    @property
    def fees_minor(self) -> int:
        return sum(self.fees_by_code.values())

    @property
    def net_minor(self) -> int:
        return self.gross_minor - self.fees_minor - self.refunds_minor - self.disputes_minor

    @property
    def margin_percent(self) -> Decimal | None:
        """Net as a percentage of gross, two decimals, rounded once with the fee rounding rule."""
        from .calculations import FEE_ROUNDING

        if not self.gross_minor:
            return None
        return (Decimal(self.net_minor) * 100 / Decimal(self.gross_minor)).quantize(Decimal("0.01"),
                                                                                      rounding=FEE_ROUNDING)

    def fee(self, code: str) -> int:
        return self.fees_by_code.get(code, 0)


def _margin_rows(*, tenant: Tenant, group: str, created_from: datetime, created_before: datetime
                 ) -> list[MarginRow]:
    """Captured payments created in [created_from, created_before), grouped by `group` and currency in
    SQL: one query for the payment sums, one for the fee lines by code (every ledger transaction of the
    payment: sale, and a dispute's chargeback fee). Voided payments moved no money and are left out."""
    payments = scoped(Payment, tenant=tenant).filter(status__in=CAPTURED_STATUSES, created_at__gte=created_from,
                                                     created_at__lt=created_before)
    sums = (payments.order_by().values(group, "currency")
            .annotate(count=Count("id"), gross=Sum("amount_captured_minor"), refunds=Sum("amount_refunded_minor"),
                      disputes=Sum("amount_disputed_minor")))
    fees: dict[tuple, dict[str, int]] = {}
    fee_sums = (scoped(FeeLine, tenant=tenant).filter(transaction__payment__in=payments.values("pk")).order_by()
                .values(f"transaction__payment__{group}", "currency", "code").annotate(total=Sum("amount_minor")))
    for row in fee_sums:
        by_code = fees.setdefault((row[f"transaction__payment__{group}"], row["currency"]), {})
        by_code[row["code"]] = by_code.get(row["code"], 0) + row["total"]
    rows = [MarginRow(key=row[group], label="", currency=row["currency"],
                      count=row["count"], gross_minor=row["gross"] or 0, refunds_minor=row["refunds"] or 0,
                      disputes_minor=row["disputes"] or 0, fees_by_code=fees.get((row[group], row["currency"]), {}))
            for row in sums]
    return rows


def _by_gross(rows: list[MarginRow]) -> list[MarginRow]:
    return sorted(rows, key=lambda r: (r.currency, -r.gross_minor, r.label, r.key or ""))


def margin_by_customer(*, tenant: Tenant, created_from: datetime, created_before: datetime) -> list[MarginRow]:
    from apps.customers.models import Customer

    rows = _margin_rows(tenant=tenant, group="customer_id", created_from=created_from,
                        created_before=created_before)
    ids = [row.key for row in rows if row.key]
    names = {c["pk"]: c["name"] or c["email"]
             for c in Customer.objects.filter(pk__in=ids).values("pk", "name", "email")} if ids else {}
    return _by_gross([replace(row, label=names.get(row.key, "No customer")) for row in rows])


def margin_by_product(*, tenant: Tenant, created_from: datetime, created_before: datetime) -> list[MarginRow]:
    from apps.catalog.models import Product

    rows = _margin_rows(tenant=tenant, group="product_id", created_from=created_from,
                        created_before=created_before)
    ids = [row.key for row in rows if row.key]
    names = dict(Product.objects.filter(pk__in=ids).values_list("pk", "name")) if ids else {}
    return _by_gross([replace(row, label=names.get(row.key, "Unattributed")) for row in rows])


def margin_totals(rows: list[MarginRow]) -> list[MarginRow]:
    """All rows together, one total per currency."""
    totals: dict[str, MarginRow] = {}
    for row in rows:
        current = totals.get(row.currency)
        if current is None:
            totals[row.currency] = MarginRow(key=None, label="Total", currency=row.currency, count=row.count,
                                             gross_minor=row.gross_minor, refunds_minor=row.refunds_minor,
                                             disputes_minor=row.disputes_minor, fees_by_code=dict(row.fees_by_code))
            continue
        fees = dict(current.fees_by_code)
        for code, amount in row.fees_by_code.items():
            fees[code] = fees.get(code, 0) + amount
        totals[row.currency] = MarginRow(key=None, label="Total", currency=row.currency,
                                         count=current.count + row.count,
                                         gross_minor=current.gross_minor + row.gross_minor,
                                         refunds_minor=current.refunds_minor + row.refunds_minor,
                                         disputes_minor=current.disputes_minor + row.disputes_minor,
                                         fees_by_code=fees)
    return [totals[currency] for currency in sorted(totals)]


# --- payouts (services/payouts.py) ---------------------------------------------------------------------
def payout_list(*, tenant: Tenant, status: str | None = None, date_from=None, date_to=None,
                amount_min: int | None = None, amount_max: int | None = None) -> QuerySet:
    """The tenant's payouts, filtered by status, payout date range (inclusive) and net amount (minor units)."""
    from .models import Payout

    return _where(scoped(Payout, tenant=tenant), status=status, payout_date__gte=date_from,
                  payout_date__lte=date_to, amount_minor__gte=amount_min, amount_minor__lte=amount_max)


def payout_get(*, tenant: Tenant, payout_id: str):
    from .models import Payout

    return _get(Payout, "pyt", "payout", tenant=tenant, object_id=payout_id)


def payout_lines(*, tenant: Tenant, payout) -> QuerySet[Transaction]:
    """The ledger rows paid out in `payout`, each with its fee lines (one query for all of them) and the
    payment's customer for display."""
    return (scoped(Transaction, tenant=tenant).filter(payout=payout)
            .select_related("payment__customer").prefetch_related(_fees()))


def payout_fees_by_code(*, tenant: Tenant, payout) -> dict[str, int]:
    """Fee totals by code over every line of the payout (chargeback fees included), in minor units."""
    rows = (scoped(FeeLine, tenant=tenant).filter(transaction__payout=payout).values("code")
            .annotate(total=Sum("amount_minor")).order_by("code"))
    return {row["code"]: row["total"] for row in rows}


def payment_intent_list(*, tenant: Tenant, customer_id: str | None = None, status: str | None = None,
                        created_gte=None, created_lte=None) -> QuerySet:
    from .models import PaymentIntent

    qs = scoped(PaymentIntent, tenant=tenant).select_related("latest_payment")
    qs = _where(qs, customer_id=customer_id, status=status, created_at__gte=created_gte,
                created_at__lte=created_lte)
    return qs


def payment_intent_get(*, tenant: Tenant, payment_intent_id: str):
    from .models import PaymentIntent

    return _get(PaymentIntent, "pi", "payment intent", tenant=tenant, object_id=payment_intent_id,
                qs=PaymentIntent.objects.select_related("latest_payment"))


def default_payment_method(*, tenant: Tenant, customer_id: str) -> PaymentMethod | None:
    """The customer's default active card, or None."""
    return scoped(PaymentMethod, tenant=tenant).filter(customer_id=customer_id, is_default=True,
                                                       status=PaymentMethod.Status.ACTIVE).first()


# --- disputes ----------------------------------------------------------------------------------------
def dispute_list(*, tenant: Tenant, status: str | None = None, payment_id: str | None = None,
                 customer_id: str | None = None, q: str = "") -> QuerySet:
    """Newest disputed first, with what the list pages and payloads read (payment, customer, files)."""
    from .models import Dispute

    qs = (scoped(Dispute, tenant=tenant).select_related("customer", "payment")
          .prefetch_related("files").order_by("-disputed_at", "-pk"))
    qs = _where(qs, status=status, payment_id=payment_id, customer_id=customer_id)
    if q:
        qs = qs.filter(Q(pk=q) | Q(payment_id=q) | Q(customer__name__icontains=q)
                       | Q(customer__email__icontains=q))
    return qs


def dispute_open_list(*, tenant: Tenant) -> QuerySet:
    """Disputes waiting for evidence, most urgent (earliest deadline) first."""
    return dispute_list(tenant=tenant, status="needs_response").order_by("evidence_due_by", "pk")


def dispute_get(*, tenant: Tenant, dispute_id: str):
    from .models import Dispute

    return _get(Dispute, "dsp", "dispute", tenant=tenant, object_id=dispute_id,
                qs=Dispute.objects.select_related("customer", "payment").prefetch_related("files"))


def customer_payment_totals(*, tenant: Tenant, customer_id: str) -> list[dict]:
    """Per currency: what the customer paid (captured), refunded, and what it left the merchant (net)."""
    return list(scoped(Payment, tenant=tenant).filter(customer_id=customer_id, amount_captured_minor__gt=0)
                .values("currency").order_by("currency")
                .annotate(count=Count("id"), captured_minor=Sum("amount_captured_minor"),
                          refunded_minor=Sum("amount_refunded_minor"), net_minor=Sum("net_minor")))


DISPUTE_METRICS_DAYS = 90


def dispute_metrics(*, tenant: Tenant, at: datetime, days: int = DISPUTE_METRICS_DAYS):
    """Dispute, win and response rates over the last `days` (calculations.dispute_rates): two queries."""
    from datetime import timedelta

    from . import calculations as calc
    from .models import Dispute

    since = at - timedelta(days=days)
    payments = scoped(Payment, tenant=tenant).filter(created_at__gte=since, amount_captured_minor__gt=0).count()
    answered = Q(evidence_submitted_at__isnull=False)
    due = answered | ~Q(status=Dispute.Status.NEEDS_RESPONSE) | Q(evidence_due_by__lte=at)
    counts = scoped(Dispute, tenant=tenant).filter(disputed_at__gte=since).aggregate(
        disputes=Count("id"), won=Count("id", filter=Q(status=Dispute.Status.WON)),
        lost=Count("id", filter=Q(status=Dispute.Status.LOST)), responded=Count("id", filter=answered & due),
        response_due=Count("id", filter=due))
    return calc.dispute_rates(payments=payments, **counts)

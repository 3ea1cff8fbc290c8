"""Ledger rows as the gateway and the payments services leave them, written with the ORM for the payout
tests: a settled sale with its fee lines (calculations.card_fee_breakdown), a refund, a dispute debit with
its chargeback fee (calculations.chargeback_cost), a won dispute's credit, an adjustment, a voided sale."""
from __future__ import annotations

from datetime import UTC, date, datetime, time

from apps.core.ids import new_id
from apps.core.money import Money
from apps.core.tenancy import Tenant
from apps.payments import calculations as calc
from apps.payments.models import FeeLine, Payment, Transaction

CARDS = {
    "visa_debit_gb": {"brand": "visa", "funding": "debit", "issuing_country": "GB"},
    "mc_credit_gb": {"brand": "mastercard", "funding": "credit", "issuing_country": "GB"},
    "amex_us": {"brand": "amex", "funding": "credit", "issuing_country": "US"},
    "visa_commercial_de": {"brand": "visa", "funding": "commercial_credit", "issuing_country": "DE"},
}


def settled_moment(day: date) -> datetime:
    """Midday UTC: the same calendar day in London, where the test merchants live."""
    return datetime.combine(day, time(12), tzinfo=UTC)


def _fee_rows(tenant: Tenant, txn: Transaction, lines) -> None:
    FeeLine.objects.bulk_create([FeeLine(
        merchant=tenant.merchant, livemode=tenant.livemode, transaction=txn, code=str(line.code),
        description=line.description, percent=line.percent, amount_minor=line.amount.amount_minor,
        currency=line.amount.currency) for line in lines])


def make_payment(tenant: Tenant, minor: int, *, currency: str = "GBP", status: str = "succeeded",
                 customer=None) -> Payment:
    return Payment.objects.create(
        merchant=tenant.merchant, livemode=tenant.livemode, amount_minor=minor, currency=currency, status=status,
        customer=customer, attempt_id=new_id("pat"), amount_captured_minor=minor, gateway_transaction_id=new_id("gtx"))


def _txn(tenant: Tenant, payment: Payment, type_: str, minor: int, *, available_on: date | None,
         currency: str = "GBP", **extra) -> Transaction:
    return Transaction.objects.create(
        merchant=tenant.merchant, livemode=tenant.livemode, payment=payment, type=type_, amount_minor=minor,
        currency=currency, gateway_transaction_id=extra.pop("gateway_transaction_id", new_id("gtx")),
        settled_at=settled_moment(available_on) if available_on else None, available_on=available_on, **extra)


def make_sale(tenant: Tenant, minor: int, *, available_on: date | None, card: str = "visa_debit_gb",
              currency: str = "GBP", customer=None) -> Transaction:
    breakdown = calc.card_fee_breakdown(transaction=calc.CardTransaction(
        amount=Money(minor, currency), kind=calc.TransactionKind.SALE, merchant_country="GB",
        channel=calc.Channel.CNP_3DS, **CARDS[card]))
    payment = make_payment(tenant, minor, currency=currency, customer=customer)
    Payment.objects.filter(pk=payment.pk).update(fees_minor=breakdown.fees.amount_minor,
                                                 net_minor=breakdown.net.amount_minor)
    txn = _txn(tenant, payment, "sale", minor, available_on=available_on, currency=currency,
               gateway_transaction_id=payment.gateway_transaction_id)
    _fee_rows(tenant, txn, breakdown.lines)
    return txn


def make_refund(tenant: Tenant, sale: Transaction, minor: int, *, available_on: date | None) -> Transaction:
    return _txn(tenant, sale.payment, "refund", -minor, available_on=available_on, currency=sale.currency)


def make_dispute(tenant: Tenant, sale: Transaction, minor: int, *, available_on: date) -> Transaction:
    cost = calc.chargeback_cost(disputed=Money(minor, sale.currency))
    txn = _txn(tenant, sale.payment, "dispute", -minor, available_on=available_on, currency=sale.currency,
               gateway_transaction_id="")
    _fee_rows(tenant, txn, [cost.fee_line])
    return txn


def make_dispute_won(tenant: Tenant, sale: Transaction, minor: int, *, available_on: date) -> Transaction:
    return _txn(tenant, sale.payment, "dispute", minor, available_on=available_on, currency=sale.currency,
                gateway_transaction_id="")


def make_adjustment(tenant: Tenant, sale: Transaction, minor: int, *, available_on: date) -> Transaction:
    return _txn(tenant, sale.payment, "adjustment", minor, available_on=available_on, currency=sale.currency,
                gateway_transaction_id="")


def make_voided_sale(tenant: Tenant, minor: int, *, available_on: date | None) -> Transaction:
    """A sale voided before its batch closed: fee lines zeroed, a void row, the payment voided. `available_on`
    may be set to play a broken gateway report that claimed it settled: the payout must still skip it."""
    sale = make_sale(tenant, minor, available_on=available_on)
    FeeLine.objects.filter(transaction=sale).update(amount_minor=0)
    Payment.objects.filter(pk=sale.payment_id).update(status="voided", fees_minor=0, net_minor=0)
    _txn(tenant, sale.payment, "void", -minor, available_on=available_on, gateway_transaction_id=sale.gateway_transaction_id)
    return sale


def line_net(txn: Transaction) -> int:
    return txn.amount_minor - sum(line.amount_minor for line in txn.fee_lines.all())

"""Demo payments for Northwind Coffee Roasters (`manage.py load_demo`, see apps.accounts.demo): three
months of card payments in sandbox, with declines, refunds, a void, disputes (one won, one awaiting
evidence), settlement batches and payouts.

Everything goes through the real services and the real NMI adapter against the simulator, so every
payment has its gateway transaction, fee lines, events and place in a batch and a payout, and the
dashboard's refund and void buttons work on demo payments. No server is listening while the demo loads,
so the adapter reaches the simulator in-process (a WSGI transport to this project, where the simulator
is mounted at /_sim/nmi/), with the clock moved to each payment's moment (apps.core.clock.moved_to);
the simulator closes each day's batch at its cut-off as the clock passes it.

Idempotent: the step does nothing when the demo payments are there already (they carry
metadata {"demo": "northwind"}). Skipped, with a note, when the sandbox gateway is not the simulator.
"""
from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import httpx
from django.conf import settings
from django.core import signals
from django.core.handlers.wsgi import WSGIHandler
from django.db import close_old_connections

from apps.accounts.demo import DemoContext, demo_step
from apps.accounts.models import GatewayAccount
from apps.catalog.models import Price
from apps.core.clock import moved_to, now
from apps.core.money import Money
from apps.core.tenancy import Tenant, scoped
from apps.customers.models import Customer

from . import services
from .gateways import gateway_transport
from .models import Payment

DEMO_MARK = {"demo": "northwind"}
DAYS = 90
SEED = 20261123
LONDON = ZoneInfo("Europe/London")
# The card mix of a UK coffee roaster: mostly UK consumer debit, some credit, a few commercial and foreign.
TOKENS = [("tok_visa_debit_gb", 30), ("tok_mastercard_debit_gb", 14), ("tok_visa_credit_gb", 12),
          ("tok_amex_gb", 5), ("tok_mastercard_commercial", 4), ("tok_visa_credit_de", 4), ("tok_visa", 4),
          ("tok_visa_prepaid_gb", 2), ("tok_decline_300", 2), ("tok_decline_301", 2), ("tok_decline_204", 1)]


@contextmanager
def in_process_gateway() -> Iterator[None]:
    """Gateway calls in this block go to this project's own simulator through WSGI, not the network.

    The request signals would close the database connection the demo's transaction runs on, so they are
    disconnected meanwhile (as Django's test client does)."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        with gateway_transport(httpx.WSGITransport(app=WSGIHandler())):
            yield
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


@demo_step
def step_payments(ctx: DemoContext) -> None:
    tenant = Tenant(ctx.merchant, livemode=False)
    if scoped(Payment, tenant=tenant).filter(metadata__demo=DEMO_MARK["demo"]).exists():
        return
    account = GatewayAccount.objects.filter(merchant=ctx.merchant, livemode=False).first()
    if account is None or not account.uses_simulator or not settings.NMI_SIMULATOR_ENABLED:
        ctx.notes.append("Demo payments skipped: the sandbox gateway is not the in-process NMI simulator.")
        return
    rng = random.Random(SEED)
    customers = list(scoped(Customer, tenant=tenant).filter(currency__in=["GBP", ""]).order_by("created_at"))
    prices = list(Price.objects.filter(product__merchant=ctx.merchant, product__livemode=False, type="one_time",
                                       currency="GBP", unit_amount_minor__gt=0).select_related("product"))
    if not customers or not prices:
        ctx.notes.append("Demo payments skipped: no demo customers or one-time prices.")
        return
    start = now().astimezone(LONDON).date() - timedelta(days=DAYS)
    made: list[Payment] = []
    with in_process_gateway():
        for offset in range(DAYS):
            day = start + timedelta(days=offset)
            for _ in range(rng.choice([1, 2, 2, 3, 3, 4])):
                moment = datetime.combine(day, time(rng.randint(8, 18), rng.randint(0, 59)), tzinfo=LONDON)
                price = rng.choice(prices)
                quantity = rng.choice([1, 1, 1, 2, 3])
                token = rng.choices([t for t, _ in TOKENS], weights=[w for _, w in TOKENS])[0]
                with moved_to(moment):
                    payment = services.payment_create(
                        tenant=tenant, actor=ctx.actor, amount=Money(price.unit_amount_minor * quantity, "GBP"),
                        customer=rng.choice(customers), payment_token=token, product=price.product,
                        description=f"{quantity} × {price.product.name}", metadata=dict(DEMO_MARK))
                made.append(payment)
        _reversals(ctx, tenant, rng, [p for p in made if p.status == Payment.Status.SUCCEEDED])
        disputes = _disputes(ctx, tenant, account)
        payouts = _settle_and_pay_out(account, start)
    declined = sum(1 for p in made if p.status == Payment.Status.FAILED)
    ctx.notes.append(f"Demo payments: {len(made)} card payments over {DAYS} days ({declined} declined), "
                     f"refunds, a void, {disputes} disputes and {payouts} payouts.")


def _reversals(ctx: DemoContext, tenant: Tenant, rng: random.Random, succeeded: list[Payment]) -> None:
    """Refunds a few settled payments (some partly) a few days later, and voids a double charge of today."""
    settled_long_ago = [p for p in succeeded if p.created_at < now() - timedelta(days=8)]
    for payment in rng.sample(settled_long_ago, k=min(8, len(settled_long_ago))):
        later = payment.created_at + timedelta(days=rng.randint(2, 6))
        half = rng.random() < 0.5
        amount = Money(payment.amount_minor // 2 if half else payment.amount_minor, payment.currency)
        with moved_to(later):
            services.refund_create(tenant=tenant, actor=ctx.actor, payment=payment, amount=amount,
                                   reason="requested_by_customer")
    # This morning's double charge, voided before the batch closed: no money moved, no fees.
    twin = succeeded[-1]
    with moved_to(now() - timedelta(minutes=40)):
        double = services.payment_create(
            tenant=tenant, actor=ctx.actor, amount=twin.amount, customer=twin.customer, payment_token="tok_visa_debit_gb",
            product=twin.product, description=f"{twin.description} (charged twice)", metadata=dict(DEMO_MARK))
    services.void_create(tenant=tenant, actor=ctx.actor, payment=double)


def _disputable(tenant: Tenant, *, days_ago: int) -> Payment | None:
    """A settled, unrefunded card payment from about `days_ago` days ago."""
    around = now() - timedelta(days=days_ago)
    return (scoped(Payment, tenant=tenant).filter(status=Payment.Status.SUCCEEDED, amount_disputed_minor=0,
                                                   created_at__lte=around, metadata__demo=DEMO_MARK["demo"])
            .order_by("-created_at").first())


def _disputes(ctx: DemoContext, tenant: Tenant, account: GatewayAccount) -> int:
    """Two chargebacks as the issuer would raise them: one answered with evidence and won, one recent and
    still awaiting the merchant's response (its deadline a few days ahead)."""
    from .simulators.nmi import chargebacks

    opened = 0
    won = _disputable(tenant, days_ago=50)
    if won is not None:
        with moved_to(won.created_at + timedelta(days=9)):
            chargeback = chargebacks.inject_chargeback(won.gateway_transaction_id, reason_code="13.1", notify=False)
            services.disputes_sync(gateway_account=account, since=won.created_at)
        dispute = won.disputes.get()
        with moved_to(dispute.disputed_at + timedelta(days=2)):
            services.dispute_submit_evidence(tenant=tenant, actor=ctx.actor, dispute=dispute, evidence={
                "explanation": "The customer's order was delivered to the billing address and signed for.",
                "shipping_carrier": "Royal Mail", "shipping_tracking_number": "RM123456785GB",
                "delivery_confirmation": "Signed for by 'O. Bennett' two days after dispatch."})
        with moved_to(dispute.disputed_at + timedelta(days=20)):
            chargebacks.chargeback_resolve(chargeback.chargeback_id, won=True, notify=False)
            services.disputes_sync(gateway_account=account, since=won.created_at)
        opened += 1
    recent = _disputable(tenant, days_ago=6)
    if recent is not None:
        with moved_to(now() - timedelta(days=3)):
            chargebacks.inject_chargeback(recent.gateway_transaction_id, reason_code="10.4", notify=False)
            services.disputes_sync(gateway_account=account, since=recent.created_at)
        opened += 1
    return opened


def _settle_and_pay_out(account: GatewayAccount, start) -> int:
    """What the beat would have done each night: sync the gateway's batches, make the due payouts, move
    them along (in transit, paid)."""
    def nightly(day) -> int:
        services.settlements_sync(gateway_account=account,
                                  start=datetime.combine(day - timedelta(days=3), time(0), tzinfo=LONDON))
        made = len(services.payouts_create_due(today=day))
        services.payouts_advance()
        return made

    created, day, today = 0, start, now().astimezone(LONDON).date()
    while day < today:
        with moved_to(datetime.combine(day, time(23, 30), tzinfo=LONDON)):
            created += nightly(day)
        day += timedelta(days=1)
    return created + nightly(today)  # and once more now, as the beat will

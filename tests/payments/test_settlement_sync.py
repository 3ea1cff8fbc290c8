"""Settlement sync and payouts end to end over real HTTP: payments through the NMI simulator, a void before
the cut-off, a refund after settlement, the simulator closing its batches (lazily, when it is next
asked), settlements_sync stamping our ledger, then payouts made from it — twice, and from two threads
at once — reconciling to the cent."""
from __future__ import annotations

import threading
from datetime import date, datetime
from zoneinfo import ZoneInfo

import time_machine

from apps.accounts.models import GatewayAccount
from apps.core.models import Event
from apps.core.money import Money
from apps.payments import services
from apps.payments.models import FeeLine, Payment, Payout, SettlementBatch, Transaction
from apps.payments.simulators.nmi.models import SimBatch
from tests.conftest import requires_postgres
from tests.payments.payments_helpers import payments_db

pytestmark = payments_db
NEW_YORK = ZoneInfo("America/New_York")


def ny(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 6, day, hour, minute, tzinfo=NEW_YORK)  # 10 June 2026 is a Wednesday


def _pay(sandbox, actor, minor: int) -> Payment:
    payment = services.payment_create(tenant=sandbox, actor=actor, amount=Money(minor, "GBP"),
                                      payment_token="tok_visa_debit_gb")
    assert payment.status == "succeeded", payment.failure_message
    return payment


def _ledger_snapshot():
    return sorted(Transaction.objects.values_list("pk", "settlement_batch_id", "settled_at", "available_on", "payout_id"))


def _fees_of(payment: Payment) -> int:
    return sum(FeeLine.objects.filter(transaction__payment=payment, transaction__type="sale")
               .values_list("amount_minor", flat=True))


def _run_settled_day(shop, sandbox, actor):
    """Three sales on Wed 10 June; the third voided before the cut-off; a refund of 4.00 on the first after
    the batch closed (20:00 New York); the clock then moves past Thursday's cut-off too."""
    with time_machine.travel(ny(10, 12), tick=True) as clock:
        first, second, voided = _pay(sandbox, actor, 1000), _pay(sandbox, actor, 2500), _pay(sandbox, actor, 4000)
        assert services.void_create(tenant=sandbox, actor=actor, payment=voided).status == "succeeded"
        clock.move_to(ny(10, 20, 5))
        refund = services.refund_create(tenant=sandbox, actor=actor, payment=first, amount=Money(400, "GBP"))
        assert refund.status == "succeeded"
        clock.move_to(ny(11, 20, 5))
        account = GatewayAccount.objects.select_related("merchant").get(merchant=shop.merchant, livemode=False)
        # The refund's request closed Wednesday's batch; nobody has closed Thursday's: the query does it.
        assert SimBatch.objects.count() == 1
        counts = services.settlements_sync(gateway_account=account)
    return account, first, second, voided, refund, counts


@requires_postgres
def test_sync_stamps_settled_rows_once_and_payouts_reconcile(shop, sandbox, actor):
    account, first, second, voided, refund, counts = _run_settled_day(shop, sandbox, actor)

    # Two batches: Wednesday's (both sales) and Thursday's (the refund). The voided sale settles nowhere.
    assert counts == {"batches": 2, "batches_created": 2, "transactions_stamped": 3}
    batches = list(SettlementBatch.objects.order_by("closed_at"))
    assert [b.closed_at for b in batches] == [ny(10, 20), ny(11, 20)]
    assert (batches[0].sales_minor, batches[0].refunds_minor, batches[1].refunds_minor) == (3500, 0, 400)
    sale_1, sale_2 = (Transaction.objects.get(payment=p, type="sale") for p in (first, second))
    refund_txn = Transaction.objects.get(refund=refund)
    # London (the merchant's zone) is 01:00 the next day at New York's 20:00: Thursday → Friday 12th,
    # Friday → Monday 15th, one business day of delay.
    assert (sale_1.settlement_batch_id, sale_1.settled_at, sale_1.available_on) == (batches[0].pk, ny(10, 20),
                                                                                    date(2026, 6, 12))
    assert (sale_2.available_on, refund_txn.available_on) == (date(2026, 6, 12), date(2026, 6, 15))
    assert refund_txn.settlement_batch_id == batches[1].pk
    for payment in (first, second):
        payment.refresh_from_db()
        assert payment.settled_at == ny(10, 20)
    voided.refresh_from_db()
    assert voided.settled_at is None
    assert not Transaction.objects.filter(payment=voided).exclude(settlement_batch=None).exists()

    # A second sync (later, the same batches in its window) changes nothing.
    before = _ledger_snapshot()
    with time_machine.travel(ny(12, 9), tick=True):
        again = services.settlements_sync(gateway_account=account, start=ny(9, 0), end=ny(12, 9))
    assert again == {"batches": 2, "batches_created": 0, "transactions_stamped": 0}
    assert _ledger_snapshot() == before and SettlementBatch.objects.count() == 2

    # Friday's payout, created by two workers at once: one payout, each row claimed once.
    created: list[list[Payout]] = []
    barrier = threading.Barrier(2)

    def worker():
        from django.db import connection

        try:
            barrier.wait()
            created.append(services.payouts_create_due(today=date(2026, 6, 12)))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(len(batch) for batch in created) == [0, 1]
    friday = Payout.objects.get()
    fees = _fees_of(first) + _fees_of(second)
    assert fees > 0
    assert (friday.payout_date, friday.transaction_count, friday.gross_minor, friday.fees_minor) == (
        date(2026, 6, 12), 2, 3500, fees)
    assert friday.amount_minor == 3500 - fees == friday.gross_minor - friday.fees_minor
    assert friday.arrival_date == date(2026, 6, 16) and friday.status == "pending"
    assert friday.reference.startswith("RK") and len(friday.reference) == 12
    assert set(Transaction.objects.filter(payout=friday).values_list("pk", flat=True)) == {sale_1.pk, sale_2.pk}
    assert Event.objects.filter(type="payout.created", object_id=friday.pk).count() == 1

    # Re-running creates nothing new; Monday's payout then carries the refund (a negative net, as it is).
    assert services.payouts_create_due(today=date(2026, 6, 12)) == []
    [monday] = services.payouts_create_due(today=date(2026, 6, 15))
    assert (monday.payout_date, monday.amount_minor, monday.refunds_minor, monday.transaction_count) == (
        date(2026, 6, 15), -400, 400, 1)
    assert services.payouts_create_due(today=date(2026, 6, 20)) == []
    assert Payout.objects.count() == 2
    # Nothing of the voided payment was paid out, and the two payouts hold every settled row.
    assert not Transaction.objects.filter(payment=voided).exclude(payout=None).exists()
    assert sum(Payout.objects.values_list("amount_minor", flat=True)) == 3500 - 400 - fees

    # The lifecycle: in transit on the payout date, paid on the arrival date (each once).
    assert services.payouts_advance(now=ny(12, 9)) == {"in_transit": 1, "paid": 0}
    assert services.payouts_advance(now=ny(12, 9)) == {"in_transit": 0, "paid": 0}
    assert services.payouts_advance(now=ny(16, 9)) == {"in_transit": 1, "paid": 1}
    friday.refresh_from_db()
    assert (friday.status, friday.initiated_at, friday.paid_at) == ("paid", ny(12, 9), ny(16, 9))
    assert Event.objects.filter(type="payout.paid", object_id=friday.pk).count() == 1
    assert Event.objects.filter(type="payout.in_transit").count() == 2


def test_sync_after_the_simulator_beat_closed_the_batches(shop, sandbox, actor):
    """The simulator's own batch-close task ran first (webhooks on time): the sync finds the same batches."""
    from apps.payments.simulators.nmi import settlement as sim_settlement

    with time_machine.travel(ny(10, 12), tick=True) as clock:
        payment = _pay(sandbox, actor, 1999)
        clock.move_to(ny(10, 21))
        assert len(sim_settlement.batches_close_due()) == 1
        account = GatewayAccount.objects.select_related("merchant").get(merchant=shop.merchant, livemode=False)
        totals = services.settlements_sync_all()
    assert totals["transactions_stamped"] == 1 and totals["failed"] == 0
    txn = Transaction.objects.get(payment=payment, type="sale")
    assert (txn.settled_at, txn.available_on) == (ny(10, 20), date(2026, 6, 12))
    assert SettlementBatch.objects.get().gateway_account_id == account.pk


def test_an_unreachable_gateway_is_counted_and_the_others_still_sync(shop, sandbox, actor, other_tenant):
    from apps.payments.gateways.base import GatewayQueryError

    GatewayAccount.objects.filter(merchant=other_tenant.merchant).update(api_url="http://127.0.0.1:9/nowhere")
    with time_machine.travel(ny(10, 12), tick=True) as clock:
        payment = _pay(sandbox, actor, 1500)
        clock.move_to(ny(10, 21))
        totals = services.settlements_sync_all()
        dead = GatewayAccount.objects.select_related("merchant").get(merchant=other_tenant.merchant, livemode=False)
        try:
            services.settlements_sync(gateway_account=dead)
            raise AssertionError("an unreachable gateway must raise")
        except GatewayQueryError:
            pass
    assert totals["failed"] >= 1 and totals["transactions_stamped"] == 1
    assert Transaction.objects.get(payment=payment, type="sale").settlement_batch_id is not None

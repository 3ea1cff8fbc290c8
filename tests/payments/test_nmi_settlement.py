"""Daily batch close at the account's cut-off (default 20:00 America/New_York), driven by the clock: a void
works until the batch closes, fails after it (NMI's rule), and a refund works then."""
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import httpx
import pytest
import time_machine

from apps.core.money import Money
from apps.payments.gateways.base import Outcome
from apps.payments.simulators.nmi import settlement, tasks
from apps.payments.simulators.nmi.models import SimAccount, SimBatch, SimTransaction
from tests.payments.conftest import sim_db

NEW_YORK = ZoneInfo("America/New_York")
USD = lambda minor: Money(minor, "USD")  # noqa: E731


def ny(day: int, hour: int, minute: int = 0, month: int = 6) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=NEW_YORK)


@sim_db
def test_sales_settle_at_the_cutoff_then_void_fails_and_refund_works(gateway, attempt_id, sim_account):
    with time_machine.travel(ny(10, 12), tick=True) as clock:
        sale = gateway.sale(amount=USD(5000), order_id=attempt_id(), payment_token="tok_visa")
        auth = gateway.authorize(amount=USD(700), order_id=attempt_id(), payment_token="tok_visa")
        voided = gateway.sale(amount=USD(300), order_id=attempt_id(), payment_token="tok_visa")
        assert gateway.void(transaction_id=voided.transaction_id).approved  # before the cut-off: fine

        clock.move_to(ny(10, 19, 59))
        late = gateway.sale(amount=USD(1200), order_id=attempt_id(), payment_token="tok_amex")

        clock.move_to(ny(10, 20, 1))
        batches = settlement.batches_close_due()
        after_cutoff = gateway.sale(amount=USD(900), order_id=attempt_id(), payment_token="tok_visa")

        assert len(batches) == 1
        batch = batches[0]
        assert batch.closed_at == ny(10, 20).astimezone(UTC) == datetime(2026, 6, 11, 0, 0, tzinfo=UTC)
        conditions = dict(SimTransaction.objects.values_list("transaction_id", "condition"))
        assert conditions[sale.transaction_id] == conditions[late.transaction_id] == "complete"
        assert conditions[auth.transaction_id] == "pending"  # never captured: not flagged for settlement
        assert conditions[voided.transaction_id] == "canceled"
        assert conditions[after_cutoff.transaction_id] == "pendingsettlement"  # tomorrow's batch

        (settled,) = gateway.query_transaction(transaction_id=sale.transaction_id)
        assert settled.condition == "complete"
        assert settled.batch_id == batch.batch_id and settled.settled_at == batch.closed_at
        assert [a.action_type for a in settled.actions] == ["sale", "settle"]

        # NMI: "Voids can only occur if the transaction has not been settled."
        void = gateway.void(transaction_id=sale.transaction_id)
        assert void.outcome == Outcome.ERROR
        assert void.gateway_message.startswith("Only transactions pending settlement can be voided REFID:")
        refund = gateway.refund(transaction_id=sale.transaction_id, order_id=attempt_id(), amount=USD(1500))
        assert refund.approved
        assert SimTransaction.objects.get(transaction_id=refund.transaction_id).condition == "pendingsettlement"

        clock.move_to(ny(11, 20, 30))
        assert tasks.close_due_batches() is None  # the beat task: a thin wrapper over the same service
        assert SimTransaction.objects.get(transaction_id=refund.transaction_id).condition == "complete"
        assert SimBatch.objects.count() == 2

        found = gateway.query_settlements(start=ny(10, 0), end=ny(12, 0))
        assert [b.batch_id for b in found] == list(SimBatch.objects.order_by("closed_at").values_list("batch_id",
                                                                                                       flat=True))
        first, second = found
        assert {t.transaction_id for t in first.transactions} == {sale.transaction_id, late.transaction_id}
        assert first.total("sale", "USD") == USD(6200)
        assert {t.transaction_id for t in second.transactions} == {after_cutoff.transaction_id, refund.transaction_id}
        assert (second.total("sale", "USD"), second.total("refund", "USD")) == (USD(900), USD(1500))


@sim_db
def test_batch_close_is_idempotent(gateway, attempt_id):
    with time_machine.travel(ny(10, 12), tick=True) as clock:
        gateway.sale(amount=USD(1000), order_id=attempt_id(), payment_token="tok_visa")
        clock.move_to(ny(10, 21))
        assert len(settlement.batches_close_due()) == 1
        assert settlement.batches_close_due() == []
        assert SimBatch.objects.count() == 1


@sim_db
def test_the_gateway_behaves_as_if_the_batch_closed_on_time_even_when_no_job_ran(gateway, attempt_id):
    with time_machine.travel(ny(10, 19), tick=True) as clock:
        sale = gateway.sale(amount=USD(1000), order_id=attempt_id(), payment_token="tok_visa")
        clock.move_to(ny(10, 20, 5))
        void = gateway.void(transaction_id=sale.transaction_id)  # the void request itself closes the batch first
        assert void.outcome == Outcome.ERROR
        assert SimTransaction.objects.get(transaction_id=sale.transaction_id).condition == "complete"


@sim_db
def test_a_captured_auth_settles_its_captured_amount(gateway, attempt_id):
    with time_machine.travel(ny(10, 9), tick=True) as clock:
        auth = gateway.authorize(amount=USD(1000), order_id=attempt_id(), payment_token="tok_visa")
        gateway.capture(transaction_id=auth.transaction_id, amount=USD(800))
        clock.move_to(ny(11, 9))
        (txn,) = gateway.query_transaction(transaction_id=auth.transaction_id)
        assert txn.condition == "complete" and txn.actions_of("settle")[0].amount == USD(800)


@sim_db
def test_each_account_has_its_own_cutoff(nmi_simulator, gateway, attempt_id, sim_account):
    SimAccount.objects.filter(pk=sim_account.pk).update(batch_cutoff="17:00", batch_timezone="Europe/London")
    london = ZoneInfo("Europe/London")
    with time_machine.travel(datetime(2026, 6, 10, 16, 30, tzinfo=london), tick=True) as clock:
        sale = gateway.sale(amount=USD(1000), order_id=attempt_id(), payment_token="tok_visa_debit_gb")
        clock.move_to(datetime(2026, 6, 10, 17, 1, tzinfo=london))
        (batch,) = settlement.batches_close_due()
        assert batch.closed_at == datetime(2026, 6, 10, 16, 0, tzinfo=UTC)  # 17:00 BST
        assert batch.transactions.get().transaction_id == sale.transaction_id


@sim_db
def test_settle_now_through_the_control_plane(nmi_simulator, gateway, attempt_id, sim_account):
    sale = gateway.sale(amount=USD(1000), order_id=attempt_id(), payment_token="tok_visa")
    response = httpx.post(f"{nmi_simulator.url}/_control/batches/close", timeout=5,
                          json={"security_key": sim_account.security_key, "force": True})
    assert response.status_code == 200 and len(response.json()["batches"]) == 1
    assert gateway.void(transaction_id=sale.transaction_id).outcome == Outcome.ERROR
    assert gateway.refund(transaction_id=sale.transaction_id, order_id=attempt_id()).approved


@sim_db
def test_settlement_webhook(gateway, attempt_id, sim_account, webhook_receiver):
    from apps.payments.simulators.nmi import webhooks

    SimAccount.objects.filter(pk=sim_account.pk).update(webhook_url=webhook_receiver.url)
    with time_machine.travel(ny(10, 12), tick=True) as clock:
        sale = gateway.sale(amount=USD(1000), order_id=attempt_id(), payment_token="tok_visa")
        clock.move_to(ny(10, 21))
        (batch,) = settlement.batches_close_due()
    events = {r.json()["event_type"]: r for r in webhook_receiver.received}
    assert {"transaction.sale.success", "settlement.batch.complete"} <= set(events)
    delivered = events["settlement.batch.complete"]
    assert webhooks.verify(sim_account.webhook_signing_key, delivered.body, delivered.headers["Webhook-Signature"])
    body = delivered.json()["event_body"]
    assert body["batch_id"] == batch.batch_id and body["transaction_ids"] == [sale.transaction_id]


@pytest.mark.parametrize(("moment", "expected"), [
    (datetime(2026, 1, 15, 12, 0, tzinfo=NEW_YORK), datetime(2026, 1, 16, 1, 0, tzinfo=UTC)),  # EST
    (datetime(2026, 7, 15, 12, 0, tzinfo=NEW_YORK), datetime(2026, 7, 16, 0, 0, tzinfo=UTC)),  # EDT
    (datetime(2026, 7, 15, 20, 0, tzinfo=NEW_YORK), datetime(2026, 7, 17, 0, 0, tzinfo=UTC)),  # at the cut-off: next
    (datetime(2026, 3, 8, 1, 0, tzinfo=NEW_YORK), datetime(2026, 3, 9, 0, 0, tzinfo=UTC)),  # the day clocks go forward
])
def test_next_cutoff_follows_new_york_wall_clock(moment, expected):
    account = SimAccount(batch_cutoff="", batch_timezone="")
    assert settlement.next_cutoff_after(moment, account) == expected
    assert settlement.last_cutoff_at_or_before(expected, account) == expected

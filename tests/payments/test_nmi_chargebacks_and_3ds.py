"""Injected chargebacks (visible through the Query API and an NMI-style signed webhook) and the 3-D Secure
challenge flow (requires_action → challenge page → approved or declined)."""
import re

import httpx
import pytest

from apps.core.money import Money
from apps.payments.gateways.base import Outcome, ThreeDSData
from apps.payments.simulators.nmi import faults, webhooks
from apps.payments.simulators.nmi.chargebacks import ChargebackError
from apps.payments.simulators.nmi.models import SimAccount, SimChargeback, SimTransaction, SimWebhookDelivery
from tests.payments.conftest import sim_db

pytestmark = sim_db

GBP40 = Money(4000, "GBP")


# --- chargebacks -----------------------------------------------------------------------------------------------
def test_an_injected_chargeback_shows_in_the_query_api_and_is_posted_as_a_signed_webhook(
        gateway, attempt_id, sim_account, webhook_receiver):
    SimAccount.objects.filter(pk=sim_account.pk).update(webhook_url=webhook_receiver.url)
    order_id = attempt_id()
    sale = gateway.sale(amount=GBP40, order_id=order_id, payment_token="tok_visa_debit_gb")

    chargeback = faults.inject_chargeback(sale.transaction_id, reason_code="13.1", amount_minor=2500)

    (txn,) = gateway.query_transaction(order_id=order_id)
    (action,) = txn.actions_of("chargeback")
    assert (action.amount, action.reason_code) == (Money(2500, "GBP"), "13.1")
    assert [t.transaction_id for t in gateway.query_transactions(action_types=("chargeback",))] == [sale.transaction_id]

    delivered = [r for r in webhook_receiver.received if r.json()["event_type"] == "chargeback.batch.complete"]
    assert len(delivered) == 1
    header = delivered[0].headers["Webhook-Signature"]
    assert re.fullmatch(r"t=[0-9a-f]+,s=[0-9a-f]{64}", header)
    assert webhooks.verify(sim_account.webhook_signing_key, delivered[0].body, header)
    assert not webhooks.verify("another key", delivered[0].body, header)
    (reported,) = delivered[0].json()["event_body"]["chargebacks"]
    assert reported == {**reported, "transaction_id": sale.transaction_id, "order_id": order_id, "amount": "25.00",
                        "reason_code": "13.1", "chargeback_id": chargeback.chargeback_id}

    # The disputed amount can no longer be refunded.
    too_much = gateway.refund(transaction_id=sale.transaction_id, order_id=attempt_id(), amount=Money(1501, "GBP"))
    assert too_much.outcome == Outcome.ERROR
    assert gateway.refund(transaction_id=sale.transaction_id, order_id=attempt_id(), amount=Money(1500, "GBP")).approved


def test_chargeback_won_and_lost(gateway, attempt_id, nmi_simulator):
    sale = gateway.sale(amount=GBP40, order_id=attempt_id(), payment_token="tok_visa_debit_gb")
    response = httpx.post(f"{nmi_simulator.url}/_control/chargebacks", timeout=5,
                          json={"transaction_id": sale.transaction_id, "reason_code": "10.4", "amount": "40.00"})
    assert response.status_code == 201 and response.json()["amount_minor"] == 4000
    chargeback_id = response.json()["chargeback_id"]

    won = httpx.post(f"{nmi_simulator.url}/_control/chargebacks/{chargeback_id}/resolve", json={"outcome": "won"},
                     timeout=5)
    assert won.json()["status"] == "won"
    (txn,) = gateway.query_transaction(transaction_id=sale.transaction_id)
    assert [a.action_type for a in txn.actions] == ["sale", "chargeback", "chargeback_reversal"]

    other = gateway.sale(amount=GBP40, order_id=attempt_id(), payment_token="tok_visa_debit_gb")
    lost = faults.inject_chargeback(other.transaction_id)
    faults.chargeback_resolve(lost.chargeback_id, won=False)
    assert SimChargeback.objects.get(pk=lost.pk).status == "lost"
    (txn,) = gateway.query_transaction(transaction_id=other.transaction_id)
    assert [a.action_type for a in txn.actions] == ["sale", "chargeback", "chargeback_lost"]


def test_chargebacks_only_on_money_that_moved(gateway, attempt_id):
    declined = gateway.sale(amount=GBP40, order_id=attempt_id(), payment_token="tok_decline_200")
    with pytest.raises(ChargebackError):
        faults.inject_chargeback(declined.transaction_id)
    sale = gateway.sale(amount=GBP40, order_id=attempt_id(), payment_token="tok_visa")
    with pytest.raises(ChargebackError):
        faults.inject_chargeback(sale.transaction_id, amount_minor=4001)
    with pytest.raises(ChargebackError):
        faults.inject_chargeback("0000000000")


def test_a_failed_webhook_delivery_is_recorded_and_can_be_replayed(gateway, attempt_id, sim_account, webhook_receiver,
                                                                  nmi_simulator):
    SimAccount.objects.filter(pk=sim_account.pk).update(webhook_url=webhook_receiver.url)
    webhook_receiver.status = 500
    sale = gateway.sale(amount=GBP40, order_id=attempt_id(), payment_token="tok_visa")
    faults.inject_chargeback(sale.transaction_id)
    first = SimWebhookDelivery.objects.get(event_type="chargeback.batch.complete")
    assert first.status_code == 500

    webhook_receiver.status = 200
    replayed = httpx.post(f"{nmi_simulator.url}/_control/webhooks/{first.event_id}/replay", timeout=5).json()
    assert replayed["status_code"] == 200
    bodies = [r.body for r in webhook_receiver.received if b"chargeback.batch.complete" in r.body]
    assert len(bodies) == 2 and bodies[0] == bodies[1]  # the same event, byte for byte: dedupe on event_id


# --- 3-D Secure --------------------------------------------------------------------------------------------------
def test_3ds_challenge_completed_approves_the_waiting_sale(gateway, attempt_id):
    order_id = attempt_id()
    result = gateway.sale(amount=GBP40, order_id=order_id, payment_token="tok_3ds")
    assert result.outcome == Outcome.REQUIRES_ACTION
    assert result.action_url.startswith(gateway.base_url + "/3ds/")
    row = SimTransaction.objects.get(orderid=order_id)
    assert (row.condition, row.actions.count()) == ("in_progress", 0)  # nothing authorised yet
    assert gateway.find_attempt(order_id).result.outcome == Outcome.REQUIRES_ACTION

    with httpx.Client(timeout=5) as browser:
        page = browser.get(result.action_url)
        assert page.status_code == 200 and "40.00 GBP" in page.text and "Complete authentication" in page.text
        done = browser.post(result.action_url, data={"action": "complete",
                                                     "return_url": "https://shop.example/return?x=1"})
    assert done.status_code == 303
    assert done.headers["location"].startswith("https://shop.example/return?x=1&transactionid=")

    lookup = gateway.find_attempt(order_id)
    assert lookup.result.outcome == Outcome.APPROVED and lookup.result.transaction_id == result.transaction_id
    assert lookup.transactions[0].condition == "pendingsettlement"
    row.refresh_from_db()
    assert (row.cardholder_auth, bool(row.cavv), row.authcode != "") == ("verified", True, True)

    again = httpx.post(result.action_url, data={"action": "fail"}, timeout=5)  # a late click changes nothing
    assert again.status_code == 200
    assert gateway.find_attempt(order_id).result.approved


def test_3ds_challenge_failed_declines(gateway, attempt_id):
    order_id = attempt_id()
    result = gateway.sale(amount=GBP40, order_id=order_id, payment_token="tok_3ds")
    httpx.post(result.action_url, data={"action": "fail"}, timeout=5)
    lookup = gateway.find_attempt(order_id)
    assert (lookup.result.outcome, lookup.result.decline_code) == (Outcome.DECLINED, "200")
    assert SimTransaction.objects.get(orderid=order_id).condition == "failed"


def test_3ds_frictionless_and_external_authentication_approve_at_once(gateway, attempt_id):
    assert gateway.sale(amount=GBP40, order_id=attempt_id(), payment_token="tok_3ds_frictionless").approved
    authenticated = ThreeDSData(cardholder_auth="verified", cavv="AAABBBCCCDDDEEEFFF000111222=", xid="eGlk",
                                three_ds_version="2.2.0", directory_server_id="f25084f0-5b16-4c0a-ae5d-b24808a95e4b")
    result = gateway.sale(amount=GBP40, order_id=attempt_id(), payment_token="tok_3ds", three_ds=authenticated)
    assert result.approved
    assert SimTransaction.objects.get(transaction_id=result.transaction_id).cavv == authenticated.cavv

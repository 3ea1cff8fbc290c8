"""When the gateway misbehaves: the adapter never calls a lost answer a decline, and `find_attempt` tells
what really happened, so a retry never charges twice. Faults are injected into the simulator (in the
database, so its server threads see them) or through its HTTP control plane."""
import time

import httpx
import pytest

from apps.core.money import Money
from apps.payments.gateways.base import Outcome
from apps.payments.gateways.nmi import NmiGateway
from apps.payments.simulators.nmi import faults
from apps.payments.simulators.nmi.models import SimFault, SimRequest, SimTransaction
from tests.payments.conftest import sim_db

pytestmark = sim_db

USD25 = Money(2500, "USD")


def sales(order_id):
    return SimTransaction.objects.filter(type="sale", orderid=order_id)


def test_timeout_after_the_gateway_charged_is_unknown_then_found_and_never_charged_twice(gateway, attempt_id):
    order_id = attempt_id()
    faults.inject("timeout_after_charge", match={"orderid": order_id}, hang_seconds=3)

    started = time.monotonic()
    first = gateway.sale(amount=USD25, order_id=order_id, payment_token="tok_visa")
    assert first.outcome == Outcome.UNKNOWN and "Timeout" in first.error
    assert time.monotonic() - started < 2.5  # the adapter's read timeout (1.5 s) gave up, not the server

    # The gateway did charge: exactly one sale in its ledger.
    assert sales(order_id).count() == 1
    lookup = gateway.find_attempt(order_id)
    assert lookup.found
    assert lookup.result.outcome == Outcome.APPROVED
    assert lookup.result.transaction_id == sales(order_id).get().transaction_id
    assert lookup.result.amount == USD25 and lookup.result.card.brand == "visa"

    # A blind retry would be refused as a duplicate, not charged again.
    retry = gateway.sale(amount=USD25, order_id=order_id, payment_token="tok_visa")
    assert retry.duplicate
    assert sales(order_id).count() == 1


def test_connection_dropped_after_charge_is_unknown_and_found(gateway, attempt_id):
    order_id = attempt_id()
    faults.inject("drop_after_charge", match={"orderid": order_id})
    result = gateway.sale(amount=USD25, order_id=order_id, payment_token="tok_mastercard")
    assert result.outcome == Outcome.UNKNOWN
    assert gateway.find_attempt(order_id).result.approved
    assert sales(order_id).count() == 1


@pytest.mark.parametrize("status", [503, 429])
def test_refused_before_charging_is_a_retryable_error_and_nothing_is_recorded(gateway, attempt_id, status):
    order_id = attempt_id()
    faults.inject("http_429" if status == 429 else "error_5xx_before_charge", status=status if status != 429 else None)

    result = gateway.sale(amount=USD25, order_id=order_id, payment_token="tok_visa")
    assert (result.outcome, result.retryable, result.response_code) == (Outcome.ERROR, True, str(status))
    assert not sales(order_id).exists()
    assert gateway.find_attempt(order_id).status == "not_found"
    assert gateway.sale(amount=USD25, order_id=order_id, payment_token="tok_visa").approved  # the fault was used up


def test_a_500_is_ambiguous_so_unknown_and_the_lookup_shows_nothing_was_charged(gateway, attempt_id):
    order_id = attempt_id()
    faults.inject("error_5xx_before_charge", status=500)
    result = gateway.sale(amount=USD25, order_id=order_id, payment_token="tok_visa")
    assert result.outcome == Outcome.UNKNOWN and result.error == "HTTP 500"
    lookup = gateway.find_attempt(order_id)
    assert lookup.status == "not_found"  # safe to retry
    assert not sales(order_id).exists()


def test_connection_reset_before_processing(gateway, attempt_id):
    order_id = attempt_id()
    faults.inject("connection_reset", match={"type": "sale"})
    result = gateway.sale(amount=USD25, order_id=order_id, payment_token="tok_visa")
    assert result.outcome == Outcome.UNKNOWN  # the client cannot know the request was not processed
    assert "Error" in result.error
    assert gateway.find_attempt(order_id).status == "not_found"
    assert gateway.sale(amount=USD25, order_id=order_id, payment_token="tok_visa").approved
    assert sales(order_id).count() == 1


def test_no_connection_at_all_is_a_retryable_error(attempt_id, transactional_db):
    with NmiGateway(base_url="http://127.0.0.1:9/_sim/nmi", security_key="sim_security_key_x",
                    connect_timeout=1) as unreachable:
        result = unreachable.sale(amount=USD25, order_id=attempt_id(), payment_token="tok_visa")
        lookup = unreachable.find_attempt("anything")
    assert (result.outcome, result.retryable) == (Outcome.ERROR, True)
    assert lookup.status == "unknown" and lookup.error


def test_latency_slows_but_does_not_change_the_answer(gateway, attempt_id):
    faults.inject("latency", latency_ms=400, times=2)
    started = time.monotonic()
    result = gateway.sale(amount=USD25, order_id=attempt_id(), payment_token="tok_visa")
    assert result.approved and time.monotonic() - started >= 0.4
    assert SimFault.objects.get().remaining == 1


def test_rate_limit_answers_like_nmi(gateway, attempt_id):
    faults.inject("rate_limit")
    result = gateway.sale(amount=USD25, order_id=attempt_id(), payment_token="tok_visa")
    assert (result.outcome, result.response_code, result.gateway_message, result.retryable) == (
        Outcome.ERROR, "301", "Rate limit exceeded", True)


def test_faults_match_on_request_variables_and_count_down(gateway, attempt_id):
    faults.inject("error_5xx_before_charge", match={"type": "refund"}, times=None)
    sale = gateway.sale(amount=USD25, order_id=attempt_id(), payment_token="tok_visa")
    assert sale.approved  # not a refund: untouched
    for _ in range(2):
        assert gateway.refund(transaction_id=sale.transaction_id, order_id=attempt_id()).outcome == Outcome.ERROR
    assert SimFault.objects.get().hits == 2
    assert faults.clear() == 1
    assert gateway.refund(transaction_id=sale.transaction_id, order_id=attempt_id()).approved


def test_query_faults_make_find_attempt_unknown(gateway, attempt_id):
    order_id = attempt_id()
    gateway.sale(amount=USD25, order_id=order_id, payment_token="tok_visa")
    faults.inject("error_5xx_before_charge", endpoint="query")
    assert gateway.find_attempt(order_id).status == "unknown"
    assert gateway.find_attempt(order_id).status == "found"


def test_faults_through_the_http_control_plane(nmi_simulator, gateway, attempt_id):
    control = f"{nmi_simulator.url}/_control/faults"
    created = httpx.post(control, json={"kind": "timeout_after_charge", "hang_seconds": 2, "times": 1}, timeout=5)
    assert created.status_code == 201 and created.json()["kind"] == "timeout_after_charge"
    assert [f["kind"] for f in httpx.get(control, timeout=5).json()["faults"]] == ["timeout_after_charge"]

    order_id = attempt_id()
    assert gateway.sale(amount=USD25, order_id=order_id, payment_token="tok_visa").outcome == Outcome.UNKNOWN
    assert gateway.find_attempt(order_id).result.approved

    assert httpx.post(control, json={"kind": "nonsense"}, timeout=5).status_code == 400
    assert httpx.delete(control, timeout=5).json() == {"cleared": 1}


def test_the_request_log_records_faults_and_masks_keys(gateway, attempt_id):
    faults.inject("rate_limit")
    gateway.sale(amount=USD25, order_id=attempt_id(), payment_token="tok_visa")
    logged = SimRequest.objects.get()
    assert logged.fault == "rate_limit" and logged.params["security_key"] == "[redacted]"

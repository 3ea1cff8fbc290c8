"""The NMI adapter against the NMI simulator over real HTTP: approvals, declines, AVS/CVV, auth/capture,
voids, refunds, the Customer Vault, duplicates and the card-data guard. The ledger (SimTransaction) says
what the "gateway" really did."""
import pytest

from apps.core.money import Money
from apps.payments.gateways.base import BillingDetails, CardDataRefused, Outcome, PaymentGateway
from apps.payments.gateways.declines import DECLINE_CODES
from apps.payments.gateways.nmi import NmiGateway
from apps.payments.simulators.nmi.cards import DECLINE_TOKENS
from apps.payments.simulators.nmi.models import SimCustomer, SimRequest, SimTransaction
from tests.payments.conftest import sim_db

pytestmark = sim_db

USD10 = Money(1000, "USD")


def ledger(order_id, **filters):
    return SimTransaction.objects.filter(orderid=order_id, **filters)


def test_the_adapter_implements_the_gateway_interface(gateway):
    assert isinstance(gateway, PaymentGateway)


@pytest.mark.parametrize(("token", "brand", "funding", "commercial", "country", "funding_class"), [
    ("tok_visa", "visa", "credit", False, "US", "credit"),
    ("tok_mastercard", "mastercard", "credit", False, "US", "credit"),
    ("tok_amex", "amex", "credit", False, "US", "credit"),
    ("tok_visa_debit_gb", "visa", "debit", False, "GB", "debit"),
    ("tok_mastercard_commercial", "mastercard", "credit", True, "GB", "commercial_credit"),
    ("tok_visa_credit_de", "visa", "credit", False, "DE", "credit"),
    ("tok_visa_prepaid_gb", "visa", "prepaid", False, "GB", "prepaid"),
])
def test_approved_sale_carries_brand_funding_and_issuing_country(gateway, attempt_id, token, brand, funding,
                                                                 commercial, country, funding_class):
    order_id = attempt_id()
    result = gateway.sale(amount=Money(2599, "GBP"), order_id=order_id, payment_token=token)

    assert result.outcome == Outcome.APPROVED, result
    assert result.transaction_id and result.auth_code and result.response_code == "100"
    assert result.order_id == order_id and result.amount == Money(2599, "GBP")
    card = result.card
    assert (card.brand, card.funding, card.commercial, card.country, card.funding_class) == (
        brand, funding, commercial, country, funding_class)
    assert len(card.last4) == 4 and len(card.bin) == 6
    row = ledger(order_id).get()
    assert (row.type, row.condition, row.amount_minor, row.currency) == ("sale", "pendingsettlement", 2599, "GBP")
    assert row.transaction_id == result.transaction_id


@pytest.mark.parametrize("token", sorted(DECLINE_TOKENS))
def test_each_decline_token_is_declined_with_its_code_and_message(gateway, attempt_id, token):
    code = token.removeprefix("tok_decline_")
    order_id = attempt_id()
    result = gateway.sale(amount=USD10, order_id=order_id, payment_token=token)

    assert result.outcome == Outcome.DECLINED, result
    assert result.decline_code == code
    assert result.message == DECLINE_CODES[code].message
    assert result.gateway_message == DECLINE_TOKENS[token].decline.responsetext
    assert result.response_code == DECLINE_TOKENS[token].decline.response_code
    row = ledger(order_id).get()
    assert (row.condition, row.response) == ("failed", "2")
    assert not row.actions.get().success


@pytest.mark.parametrize(("amount_minor", "nmi_code", "decline_code"), [
    (99, "200", "200"),  # NMI test mode: below 1.00 declines
    (2, "202", "300"),  # 0.02 → NMI 202 insufficient funds → our 300
    (51, "251", "531"),  # 0.51 → NMI 251 lost card → our 531
    (64, "264", "304"),  # 0.64 → NMI 264 retry in a few days → our 304
])
def test_amounts_below_one_decline(gateway, attempt_id, amount_minor, nmi_code, decline_code):
    result = gateway.sale(amount=Money(amount_minor, "USD"), order_id=attempt_id(), payment_token="tok_visa")
    assert (result.outcome, result.response_code, result.decline_code) == (Outcome.DECLINED, nmi_code, decline_code)


@pytest.mark.parametrize(("address1", "zip_code", "avs"), [
    ("888 Test Street", "77777", "Y"),  # NMI: address1 888 + zip 77777 → AVS match
    ("1 Main Street", "77777", "Z"),
    ("888 Test Street", "10001", "A"),
    ("1 Main Street", "10001", "N"),
])
def test_avs_results_follow_nmi_test_rules(gateway, attempt_id, address1, zip_code, avs):
    billing = BillingDetails(first_name="Ada", last_name="Lovelace", address1=address1, zip=zip_code, country="US")
    result = gateway.sale(amount=USD10, order_id=attempt_id(), payment_token="tok_visa", billing=billing)
    assert result.approved and result.avs_result == avs


@pytest.mark.parametrize(("cvv", "expected"), [("999", "M"), ("123", "N")])
def test_cvv_results_follow_nmi_test_rules(gateway, attempt_id, tokenize, cvv, expected):
    token = tokenize("4111111111111111", cvv=cvv)
    result = gateway.sale(amount=USD10, order_id=attempt_id(), payment_token=token)
    assert result.approved and result.cvv_result == expected


def test_cvv_mismatch_card_declines_with_cvv_result_n(gateway, attempt_id):
    result = gateway.sale(amount=USD10, order_id=attempt_id(), payment_token="tok_decline_225")
    assert (result.decline_code, result.cvv_result) == ("225", "N")


def test_authorize_then_capture_less(gateway, attempt_id):
    order_id = attempt_id()
    auth = gateway.authorize(amount=Money(5000, "EUR"), order_id=order_id, payment_token="tok_visa_credit_de")
    assert auth.approved
    assert ledger(order_id).get().condition == "pending"

    too_much = gateway.capture(transaction_id=auth.transaction_id, amount=Money(5001, "EUR"))
    assert too_much.outcome == Outcome.ERROR and "exceeds the authorization amount" in too_much.message

    capture = gateway.capture(transaction_id=auth.transaction_id, amount=Money(4200, "EUR"))
    assert capture.approved and capture.transaction_id == auth.transaction_id
    row = ledger(order_id).get()
    assert (row.condition, row.captured_amount_minor) == ("pendingsettlement", 4200)
    assert list(row.actions.values_list("action_type", "amount_minor")) == [("auth", 5000), ("capture", 4200)]

    again = gateway.capture(transaction_id=auth.transaction_id, amount=Money(100, "EUR"))
    assert again.outcome == Outcome.ERROR


def test_void_before_batch_close(gateway, attempt_id):
    order_id = attempt_id()
    sale = gateway.sale(amount=USD10, order_id=order_id, payment_token="tok_mastercard")
    void = gateway.void(transaction_id=sale.transaction_id)
    assert void.approved and void.gateway_message == "Transaction Void Successful"
    assert ledger(order_id).get().condition == "canceled"
    assert gateway.void(transaction_id=sale.transaction_id).outcome == Outcome.ERROR  # already voided


def test_void_of_an_uncaptured_auth_releases_it(gateway, attempt_id):
    auth = gateway.authorize(amount=USD10, order_id=attempt_id(), payment_token="tok_visa")
    assert gateway.void(transaction_id=auth.transaction_id).approved
    assert gateway.capture(transaction_id=auth.transaction_id, amount=USD10).outcome == Outcome.ERROR


def test_partial_refunds_up_to_the_amount_then_one_cent_more_fails(gateway, attempt_id):
    sale_order = attempt_id()
    sale = gateway.sale(amount=USD10, order_id=sale_order, payment_token="tok_visa")
    first = gateway.refund(transaction_id=sale.transaction_id, order_id=attempt_id(), amount=Money(400, "USD"))
    second = gateway.refund(transaction_id=sale.transaction_id, order_id=attempt_id(), amount=Money(600, "USD"))
    assert first.approved and second.approved
    assert first.transaction_id != sale.transaction_id != second.transaction_id

    one_cent = gateway.refund(transaction_id=sale.transaction_id, order_id=attempt_id(), amount=Money(1, "USD"))
    assert one_cent.outcome == Outcome.ERROR and "may not exceed" in one_cent.message

    refunds = SimTransaction.objects.filter(type="refund", original_transaction__transaction_id=sale.transaction_id)
    assert sorted(refunds.values_list("amount_minor", flat=True)) == [400, 600]
    assert set(refunds.values_list("condition", flat=True)) == {"pendingsettlement"}


def test_refund_without_amount_refunds_what_is_left(gateway, attempt_id):
    sale = gateway.sale(amount=USD10, order_id=attempt_id(), payment_token="tok_visa")
    gateway.refund(transaction_id=sale.transaction_id, order_id=attempt_id(), amount=Money(250, "USD"))
    rest = gateway.refund(transaction_id=sale.transaction_id, order_id=attempt_id())
    assert rest.approved
    assert SimTransaction.objects.get(transaction_id=rest.transaction_id).amount_minor == 750


def test_vault_add_then_sale_by_vault_id(gateway, attempt_id, tokenize):
    token = tokenize("5200018260000004", cvv="999")
    billing = BillingDetails(first_name="Grace", last_name="Hopper", email="grace@example.com", country="GB")
    added = gateway.vault_add(payment_token=token, billing=billing)
    assert added.approved and added.gateway_message == "Customer Added" and added.customer_vault_id
    assert (added.card.brand, added.card.funding, added.card.country, added.card.last4) == ("mastercard", "debit",
                                                                                          "GB", "0004")

    order_id = attempt_id()
    sale = gateway.sale(amount=Money(1234, "GBP"), order_id=order_id, customer_vault_id=added.customer_vault_id)
    assert sale.approved and sale.customer_vault_id == added.customer_vault_id
    assert sale.card.last4 == "0004"
    assert ledger(order_id).get().customer_vault_id == added.customer_vault_id

    # The Collect.js token was single use: the vault add spent it.
    reuse = gateway.sale(amount=USD10, order_id=attempt_id(), payment_token=token)
    assert reuse.outcome == Outcome.ERROR and "already been used" in reuse.message

    updated = gateway.vault_update(customer_vault_id=added.customer_vault_id, payment_token="tok_visa_debit_gb")
    assert updated.approved and updated.card.brand == "visa"
    assert SimCustomer.objects.get(customer_vault_id=added.customer_vault_id).cc_last4 == "0009"

    assert gateway.vault_delete(customer_vault_id=added.customer_vault_id).gateway_message == "Customer Deleted"
    gone = gateway.sale(amount=USD10, order_id=attempt_id(), customer_vault_id=added.customer_vault_id)
    assert gone.outcome == Outcome.ERROR


def test_a_retry_with_the_same_order_id_and_amount_inside_the_window_is_a_duplicate(gateway, attempt_id):
    order_id = attempt_id()
    first = gateway.sale(amount=USD10, order_id=order_id, payment_token="tok_visa")
    retry = gateway.sale(amount=USD10, order_id=order_id, payment_token="tok_visa")

    assert first.approved
    assert retry.outcome == Outcome.ERROR and retry.duplicate
    assert retry.gateway_message.startswith("Duplicate transaction REFID:")
    assert ledger(order_id, type="sale").count() == 1
    lookup = gateway.find_attempt(order_id)
    assert lookup.found and lookup.result.transaction_id == first.transaction_id and lookup.result.approved

    # Another amount, or duplicate checking switched off (dup_seconds=0), is a new sale.
    assert gateway.sale(amount=Money(1001, "USD"), order_id=order_id, payment_token="tok_visa").approved
    assert gateway.sale(amount=USD10, order_id=order_id, payment_token="tok_visa", dup_seconds=0).approved
    assert ledger(order_id, type="sale").count() == 3


def test_a_declined_attempt_may_be_retried(gateway, attempt_id):
    order_id = attempt_id()
    assert gateway.sale(amount=Money(50, "USD"), order_id=order_id, payment_token="tok_visa").outcome == Outcome.DECLINED
    assert gateway.sale(amount=Money(50, "USD"), order_id=order_id, payment_token="tok_visa").outcome == Outcome.DECLINED
    assert ledger(order_id).count() == 2


def test_validate_checks_the_card_without_moving_money(gateway, attempt_id):
    order_id = attempt_id()
    ok = gateway.validate(order_id=order_id, payment_token="tok_visa_debit_gb", currency="GBP")
    assert ok.approved and ok.card.funding == "debit"
    row = ledger(order_id).get()
    assert (row.type, row.amount_minor) == ("validate", 0)
    expired = gateway.validate(order_id=attempt_id(), payment_token="tok_decline_223")
    assert expired.decline_code == "223"


def test_an_expired_card_declines_as_223(gateway, attempt_id, tokenize):
    token = tokenize("4111111111111111", ccexp="0120")
    result = gateway.sale(amount=USD10, order_id=attempt_id(), payment_token=token)
    assert (result.outcome, result.decline_code) == (Outcome.DECLINED, "223")


def test_card_data_is_refused_before_anything_is_sent(gateway, attempt_id):
    with pytest.raises(CardDataRefused):
        gateway.sale(amount=USD10, order_id=attempt_id(), payment_token="4111 1111 1111 1111")
    with pytest.raises(CardDataRefused):
        gateway._transact("sale", {"type": "sale", "ccnumber": "4111111111111111", "ccexp": "1230"})
    with pytest.raises(CardDataRefused):
        gateway.sale(amount=USD10, order_id=attempt_id(), payment_token="tok_visa",
                     billing=BillingDetails(address1="card 5431111111111111"))
    assert not SimRequest.objects.exists()


def test_a_wrong_security_key_is_authentication_failed(nmi_simulator, attempt_id, transactional_db):
    with NmiGateway(base_url=nmi_simulator.url, security_key="not-a-real-key") as stranger:
        result = stranger.sale(amount=USD10, order_id=attempt_id(), payment_token="tok_visa")
    assert (result.outcome, result.gateway_message, result.response_code) == (Outcome.ERROR, "Authentication Failed",
                                                                              "300")
    assert not SimTransaction.objects.exists()


def test_tokens_belong_to_their_account(nmi_simulator, gateway, attempt_id, tokenize, transactional_db):
    from apps.payments.simulators.nmi.services import sim_account_create

    token = tokenize("4111111111111111")
    other = sim_account_create(name="Other shop")
    with NmiGateway(base_url=nmi_simulator.url, security_key=other.security_key) as foreign:
        result = foreign.sale(amount=USD10, order_id=attempt_id(), payment_token=token)
    assert result.outcome == Outcome.ERROR and "Invalid Payment Token" in result.message
    assert gateway.sale(amount=USD10, order_id=attempt_id(), payment_token=token).approved


def test_zero_decimal_currency_goes_on_the_wire_in_its_own_units(gateway, attempt_id):
    order_id = attempt_id()
    assert gateway.sale(amount=Money(1500, "JPY"), order_id=order_id, payment_token="tok_visa").approved
    assert ledger(order_id).get().amount_minor == 1500
    assert SimRequest.objects.filter(endpoint="transact").latest("id").params["amount"] == "1500"


def test_stored_credential_follow_up_with_another_brand_is_rejected(gateway, attempt_id):
    from apps.payments.gateways.base import StoredCredential

    first = gateway.sale(amount=USD10, order_id=attempt_id(), payment_token="tok_visa",
                         stored_credential=StoredCredential("customer", "stored", billing_method="recurring"))
    same_brand = gateway.sale(amount=USD10, order_id=attempt_id(), payment_token="tok_visa_debit_gb",
                              stored_credential=StoredCredential("merchant", "used", first.transaction_id))
    other_brand = gateway.sale(amount=USD10, order_id=attempt_id(), payment_token="tok_mastercard",
                               stored_credential=StoredCredential("merchant", "used", first.transaction_id))
    assert same_brand.approved
    assert other_brand.outcome == Outcome.ERROR and "brand" in other_brand.message

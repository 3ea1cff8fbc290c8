"""The simulator's wire format as NMI's clients see it (raw HTTP, no adapter), the card/token table, the
embedded mount under /_sim/nmi/ and what the simulator keeps (never a full card number)."""
from urllib.parse import parse_qsl
from xml.etree import ElementTree as ET

import httpx
import pytest
from django.db import connection

from apps.payments.gateways.declines import DECLINE_CODES
from apps.payments.gateways.nmi import NmiGateway, contains_card_number, map_decline
from apps.payments.simulators.nmi import cards
from apps.payments.simulators.nmi.models import SimRequest, SimTransaction
from apps.payments.simulators.nmi.protocol import STANDARD_FIELDS, format_amount, parse_amount
from tests.payments.conftest import sim_db

PAGE_023_025_CODES = {"200", "202", "204", "223", "225", "300", "301", "303", "304", "402", "521", "530", "531"}


def transact(simulator, **params) -> tuple[str, dict]:
    response = httpx.post(f"{simulator.url}/api/transact.php", data=params, timeout=5)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    return response.text, dict(parse_qsl(response.text, keep_blank_values=True))


# --- the card table ----------------------------------------------------------------------------------------------
def test_every_test_card_is_a_valid_number_of_its_brand():
    for card in cards.TEST_CARDS:
        assert cards.luhn_valid(card.number), card.key
        assert cards.brand_of(card.number) == card.brand, card.key


def test_there_is_a_decline_token_for_every_code_of_pages_023_and_025():
    assert {t.removeprefix("tok_decline_") for t in cards.DECLINE_TOKENS} == PAGE_023_025_CODES == set(DECLINE_CODES)
    for required in ("tok_visa", "tok_mastercard", "tok_amex", "tok_visa_debit_gb", "tok_mastercard_commercial",
                     "tok_3ds"):
        assert required in cards.TEST_TOKENS


def test_the_adapter_maps_each_decline_card_to_the_documented_code():
    for card in cards.TEST_CARDS:
        if card.decline:
            assert map_decline(card.decline.response_code, card.decline.responsetext) == card.decline.revkeen_code


def test_the_token_table_renders_for_the_readme():
    table = cards.tokens_markdown()
    assert table.count("\n") == len(cards.TEST_TOKENS)  # header, rule, one row per token (not the Collect.js one)
    assert "| `tok_decline_300` | 4000000000003006 | visa | credit | US | declined: decline_code 300" in table


@pytest.mark.parametrize(("text", "currency", "minor"), [("10.00", "USD", 1000), ("10", "USD", 1000),
                                                         ("1500", "JPY", 1500), ("1.234", "KWD", 1234)])
def test_amounts_on_the_wire(text, currency, minor):
    assert parse_amount(text, currency) == minor
    assert parse_amount(format_amount(minor, currency), currency) == minor


def test_the_card_number_detector():
    assert contains_card_number("4111 1111 1111 1111") and contains_card_number("x-5431111111111111-y")
    assert not contains_card_number("4111111111111112") and not contains_card_number("2762757839")


# --- transact.php ---------------------------------------------------------------------------------------------------
@sim_db
def test_approved_reply_is_a_query_string_with_every_standard_field_in_order(nmi_simulator, sim_account):
    body, fields = transact(nmi_simulator, security_key=sim_account.security_key, type="sale", amount="12.50",
                            payment_token="tok_visa", orderid="order-1")
    assert body.startswith("response=1&responsetext=SUCCESS&authcode=")
    assert list(fields)[:len(STANDARD_FIELDS)] == list(STANDARD_FIELDS)
    assert (fields["orderid"], fields["type"], fields["response_code"], fields["avsresponse"]) == (
        "order-1", "sale", "100", "N")
    # simulator extension: the card as the Query API would show it
    assert (fields["cc_number"], fields["cc_type"], fields["cc_funding"], fields["cc_issuer_country"]) == (
        "4xxxxxxxxxxx1111", "visa", "credit", "US")


@sim_db
def test_errors_are_http_200_with_response_3_and_a_refid(nmi_simulator, sim_account):
    _, fields = transact(nmi_simulator, security_key=sim_account.security_key, type="void", transactionid="42")
    assert fields["response"] == "3" and fields["response_code"] == "300"
    assert fields["responsetext"].startswith("Invalid Transaction ID specified REFID:")
    _, fields = transact(nmi_simulator, security_key="wrong", type="sale", amount="1.00", payment_token="tok_visa")
    assert (fields["response"], fields["responsetext"], fields["transactionid"]) == ("3", "Authentication Failed", "0")
    _, fields = transact(nmi_simulator, security_key=sim_account.security_key, type="sale", amount="ten",
                         payment_token="tok_visa")
    assert fields["responsetext"].startswith("Invalid amount")


@sim_db
def test_the_gateway_also_takes_a_card_number_as_nmi_does_but_never_keeps_it(nmi_simulator, sim_account):
    """Our adapter never sends `ccnumber` (it refuses to); the simulator, like NMI, accepts it."""
    _, fields = transact(nmi_simulator, security_key=sim_account.security_key, type="sale", amount="5.00",
                         ccnumber="4000 0182 6000 0009", ccexp="1230", cvv="999", orderid="direct")
    assert (fields["response"], fields["cvvresponse"], fields["cc_issuer_country"]) == ("1", "M", "GB")
    _, fields = transact(nmi_simulator, security_key=sim_account.security_key, type="sale", amount="5.00",
                         ccnumber="4111111111111112", ccexp="1230")
    assert fields["responsetext"].startswith("Invalid Credit Card Number REFID:")

    logged = SimRequest.objects.filter(params__orderid="direct").get()
    assert logged.params["ccnumber"].endswith("0009") and logged.params["cvv"] == "[redacted]"
    # Not a single full card number anywhere in the simulator's tables.
    with connection.cursor() as cursor:
        for model in SimTransaction._meta.apps.get_app_config("nmi_sim").get_models():
            cursor.execute(f"SELECT * FROM {model._meta.db_table}")
            for row in cursor.fetchall():
                assert not any(contains_card_number(str(value)) for value in row), (model.__name__, row)


@sim_db
def test_customer_vault_reply(nmi_simulator, sim_account):
    _, fields = transact(nmi_simulator, security_key=sim_account.security_key, customer_vault="add_customer",
                         customer_vault_id="cust-77", payment_token="tok_amex", first_name="Ada")
    assert (fields["response"], fields["responsetext"], fields["customer_vault_id"], fields["transactionid"]) == (
        "1", "Customer Added", "cust-77", "")
    _, fields = transact(nmi_simulator, security_key=sim_account.security_key, customer_vault="add_customer",
                         customer_vault_id="cust-77", payment_token="tok_amex")
    assert fields["response"] == "3"


# --- query.php ------------------------------------------------------------------------------------------------------
@sim_db
def test_query_api_speaks_nmi_xml(nmi_simulator, sim_account, gateway, attempt_id):
    from apps.core.money import Money

    order_id = attempt_id()
    sale = gateway.sale(amount=Money(1999, "USD"), order_id=order_id, payment_token="tok_mastercard")
    response = httpx.post(f"{nmi_simulator.url}/api/query.php", timeout=5,
                          data={"security_key": sim_account.security_key, "order_id": order_id})
    assert response.headers["content-type"].startswith("text/xml")
    root = ET.fromstring(response.content)
    assert root.tag == "nm_response"
    (txn,) = root.findall("transaction")
    assert (txn.findtext("transaction_id"), txn.findtext("condition"), txn.findtext("order_id"),
            txn.findtext("cc_number"), txn.findtext("cc_type")) == (
        sale.transaction_id, "pendingsettlement", order_id, "5xxxxxxxxxxx1111", "mastercard")
    (action,) = txn.findall("action")
    assert (action.findtext("amount"), action.findtext("action_type"), action.findtext("success"),
            action.findtext("batch_id"), action.findtext("response_code")) == ("19.99", "sale", "1", "0", "100")
    assert len(action.findtext("date")) == 14

    empty = httpx.get(f"{nmi_simulator.url}/api/query.php", timeout=5,
                      params={"security_key": sim_account.security_key, "order_id": "nothing"})
    assert ET.fromstring(empty.content).findall("*") == []
    bad = ET.fromstring(httpx.post(f"{nmi_simulator.url}/api/query.php", data={"security_key": "nope"}).content)
    assert bad.findtext("error_response").startswith("Invalid Username/Password REFID:")


@sim_db
def test_query_filters_and_vault_report(nmi_simulator, sim_account, gateway, attempt_id):
    from apps.core.money import Money

    ok = gateway.sale(amount=Money(1000, "USD"), order_id=attempt_id(), payment_token="tok_visa")
    gateway.sale(amount=Money(1000, "USD"), order_id=attempt_id(), payment_token="tok_decline_300")
    assert [t.transaction_id for t in gateway.query_transactions(conditions=("pendingsettlement",))] == [
        ok.transaction_id]
    assert len(gateway.query_transactions(conditions=("pendingsettlement", "failed"))) == 2
    assert len(gateway.query_transactions(limit=1, page=1)) == 1

    vaulted = gateway.vault_add(payment_token="tok_visa_credit_de")
    report = ET.fromstring(httpx.post(f"{nmi_simulator.url}/api/query.php", timeout=5, data={
        "security_key": sim_account.security_key, "report_type": "customer_vault"}).content)
    (customer,) = report.find("customer_vault").findall("customer")
    assert customer.get("id") == vaulted.customer_vault_id
    assert (customer.findtext("cc_type"), customer.findtext("cc_issuer_country")) == ("visa", "DE")


# --- Collect.js assets and the embedded mount -------------------------------------------------------------------
@sim_db
def test_collectjs_script_and_frame(nmi_simulator, sim_account):
    script = httpx.get(f"{nmi_simulator.url}/token/Collect.js", timeout=5)
    assert script.headers["content-type"].startswith("application/javascript")
    assert "window.CollectJS" in script.text and nmi_simulator.url in script.text
    frame = httpx.get(f"{nmi_simulator.url}/token/frame", timeout=5,
                      params={"field": "ccnumber", "sid": "abc", "origin": "http://shop.example:8000", "key": "k"})
    assert frame.status_code == 200 and "x-frame-options" not in frame.headers  # it must load inside the shop's page
    assert 'data-testid="collectjs-ccnumber"' in frame.text and "http://shop.example:8000" in frame.text

    bad = httpx.post(f"{nmi_simulator.url}/token/tokenize", timeout=5, data={
        "tokenization_key": sim_account.tokenization_key, "ccnumber": "4111111111111112", "ccexp": "1230"})
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "ccnumber"
    ok = httpx.post(f"{nmi_simulator.url}/token/tokenize", timeout=5, data={
        "tokenization_key": sim_account.tokenization_key, "ccnumber": "4111111111111111", "ccexp": "12/30"})
    assert ok.json()["card"] == {**ok.json()["card"], "number": "411111******1111", "type": "visa", "exp": "1230"}
    unknown_key = httpx.post(f"{nmi_simulator.url}/token/tokenize", timeout=5, data={
        "tokenization_key": "pk_unknown", "ccnumber": "4111111111111111", "ccexp": "1230"})
    assert unknown_key.status_code == 401


@pytest.mark.django_db
def test_the_simulator_is_mounted_in_the_project_urls(client):
    """Embedded and test runs mount it at /_sim/nmi/ (NMI_SIMULATOR_ENABLED), behind the project's middleware."""
    response = client.post("/_sim/nmi/api/transact.php", {"security_key": "sim_security_key_embedded", "type": "sale",
                                                           "amount": "3.00", "payment_token": "tok_visa_debit_gb"})
    fields = dict(parse_qsl(response.content.decode(), keep_blank_values=True))
    assert (response.status_code, fields["response"], fields["cc_issuer_country"]) == (200, "1", "GB")
    assert client.get("/_sim/nmi/token/Collect.js").status_code == 200
    assert client.get("/_sim/nmi/token/frame?field=cvv&origin=http://localhost:8000").get("X-Frame-Options") is None
    assert "tok_visa_debit_gb" in client.get("/_sim/nmi/").content.decode()


@pytest.mark.django_db
def test_on_demand_accounts_pair_the_keys_the_accounts_app_stores():
    """accounts.services stores sim_security_key_<x> / sim_tokenization_key_<x>: they open one account."""
    from apps.payments.simulators.nmi import services

    by_public = services.account_for_tokenization_key("sim_tokenization_key_sandbox")
    by_private = services.account_for_security_key("sim_security_key_sandbox")
    assert by_public == by_private
    assert services.account_for_security_key("live_key_that_does_not_exist") is None
    assert services.account_for_security_key(services.DEMO_SECURITY_KEY) is not None


def test_adapter_builds_nmi_urls():
    with NmiGateway(base_url="https://secure.nmi.com/", security_key="k") as nmi:
        assert (nmi.transact_url, nmi.query_url, nmi.collectjs_url) == (
            "https://secure.nmi.com/api/transact.php", "https://secure.nmi.com/api/query.php",
            "https://secure.nmi.com/token/Collect.js")

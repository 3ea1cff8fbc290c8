"""No card number ever appears in our database, our logs or the requests our API accepts (page 328, PCI).

The browser sends card numbers only to the gateway's tokenisation frame (tests/payments/
test_collectjs_browser.py and tests/browser/ check what the browser sends to our origin); here the rest:
- the API refuses a card number or security code anywhere in a request, at the door, before anything
  stores or logs it (400 card_data_not_allowed naming where it was), and writes nothing;
- after card payments made the way a browser does (cards tokenised at the simulator, then only tokens
  sent to us), a 3-D Secure payment, a decline, a refund and a void, no table of the whole database —
  ours and the simulator's — and no log record holds any of the card numbers used.
"""
from __future__ import annotations

import logging
import re
from datetime import datetime
from zoneinfo import ZoneInfo

import httpx
import pytest
import time_machine
from django.apps import apps as django_apps
from django.db import connection

from apps.accounts.models import GatewayAccount
from apps.core.carddata import card_data_paths, contains_card_number
from apps.core.models import IdempotencyKey
from apps.payments.models import Payment
from tests.payments.payments_helpers import payments_db

NEW_YORK = ZoneInfo("America/New_York")
CARDS = {  # the simulator's test cards (apps/payments/simulators/nmi/cards.py)
    "visa": "4111111111111111",
    "gb_debit": "4000018260000009",
    "three_ds": "4100000000005000",
    "decline_300": "4000000000003006",
}


@pytest.mark.parametrize("body, where", [
    ({"amount_minor": 1000, "currency": "GBP", "payment_token": "4111 1111 1111 1111"}, "payment_token"),
    ({"amount_minor": 1000, "currency": "GBP", "payment_token": "tok_visa",
      "metadata": {"note": "card 4000-0182-6000-0009 exp 12/30"}}, "metadata.note"),
    ({"amount_minor": 1000, "currency": "GBP", "payment_token": "tok_visa", "card": {"cvv": "123"}}, "card.cvv"),
    ({"amount_minor": 1000, "currency": "GBP", "payment_token": "tok_visa", "items": [5555555555554444]},
     "items[0]"),
])
def test_the_api_refuses_card_data_at_the_door_and_writes_nothing(api, caplog, body, where):
    caplog.set_level(logging.DEBUG)
    response = api.post("/v2/payments", body, format="json", HTTP_IDEMPOTENCY_KEY="k-card-data-1")
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert (error["code"], error["param"]) == ("card_data_not_allowed", where)
    assert not contains_card_number(response.content.decode())
    assert not Payment.objects.exists() and not IdempotencyKey.objects.exists()
    assert not any(contains_card_number(record.getMessage()) for record in caplog.records)


def test_card_data_in_a_query_string_or_form_body_is_refused(api):
    client = api
    listed = client.get("/v2/customers?email=4111111111111111")
    assert listed.status_code == 400 and listed.json()["error"]["code"] == "card_data_not_allowed"
    form = client.post("/v2/payments", "amount_minor=100&currency=GBP&ccnumber=4111111111111111",
                       content_type="application/x-www-form-urlencoded")
    assert form.status_code == 400 and form.json()["error"]["param"] == "ccnumber"


def test_ordinary_numbers_are_not_mistaken_for_card_numbers():
    payload = {"amount_minor": 123456789012, "phone": "+44 20 7946 0958", "order": "1234567890123",
               "created": "2026-11-23 12:00", "token": "tok_visa", "imei_like": "490154203237518"}
    assert not contains_card_number("1234567890123")  # 13 digits, fails Luhn
    assert list(card_data_paths(payload)) == ["imei_like"]  # Luhn-valid 15 digits: refused, by design


def _tokenise(sim_url: str, tokenization_key: str, number: str) -> str:
    """What the simulator's card frame does in the customer's browser: the number goes to the gateway only."""
    response = httpx.post(f"{sim_url}/token/tokenize", timeout=5, data={
        "tokenization_key": tokenization_key, "ccnumber": number, "ccexp": "1230", "cvv": "999"})
    assert response.status_code == 200, response.text
    return response.json()["token"]


def _database_text() -> dict[str, str]:
    """Every row of every table (ours and the simulator's), as text with spaces and dashes removed."""
    tables = {model._meta.db_table for model in django_apps.get_models()} | set(connection.introspection.table_names())
    dumped = {}
    with connection.cursor() as cursor:
        for table in sorted(tables):
            if connection.vendor == "postgresql":
                cursor.execute(f'SELECT row_to_json(t)::text FROM "{table}" AS t')  # noqa: S608 - our table names
            else:
                cursor.execute(f'SELECT * FROM "{table}"')  # noqa: S608
            dumped[table] = re.sub(r"[ -]", "", "\n".join(str(row) for row in cursor.fetchall()))
    return dumped


@payments_db
def test_no_card_number_in_the_database_or_logs_after_real_payments(shop, sandbox, actor, nmi_simulator, caplog):
    caplog.set_level(logging.DEBUG)
    key = GatewayAccount.objects.get(merchant=sandbox.merchant, livemode=False).tokenization_key
    client = shop.client()
    with time_machine.travel(datetime(2026, 6, 10, 12, tzinfo=NEW_YORK), tick=True) as clock:
        tokens = {name: _tokenise(nmi_simulator.url, key, number) for name, number in CARDS.items()}
        paid = client.post("/v2/payments", {"amount_minor": 2500, "currency": "GBP", "payment_token": tokens["visa"]},
                           format="json")
        assert paid.status_code == 201 and paid.json()["data"]["status"] == "succeeded", paid.content
        voided = client.post("/v2/payments", {"amount_minor": 1200, "currency": "GBP",
                                              "payment_token": tokens["gb_debit"]}, format="json")
        assert client.post("/v2/voids", {"payment_id": voided.json()["data"]["id"]}, format="json").status_code == 201
        challenged = client.post("/v2/payments", {"amount_minor": 900, "currency": "GBP",
                                                  "payment_token": tokens["three_ds"]}, format="json")
        assert challenged.json()["data"]["status"] == "requires_action", challenged.content
        declined = client.post("/v2/payments", {"amount_minor": 700, "currency": "GBP",
                                                "payment_token": tokens["decline_300"]}, format="json")
        assert declined.status_code == 402, declined.content
        clock.move_to(datetime(2026, 6, 10, 20, 5, tzinfo=NEW_YORK))
        refunded = client.post("/v2/refunds", {"payment_id": paid.json()["data"]["id"], "amount_minor": 500},
                               format="json")
        assert refunded.status_code == 201 and refunded.json()["data"]["status"] == "succeeded", refunded.content

    assert Payment.objects.filter(card_last4="1111").exists()  # the card did reach the gateway and back
    for table, text in _database_text().items():
        for name, number in CARDS.items():
            assert number not in text, f"{name} card number stored in table {table}"
    for record in caplog.records:
        message = record.getMessage()
        assert not any(number in re.sub(r"[ -]", "", message) for number in CARDS.values()), message

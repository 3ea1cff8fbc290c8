"""The card number never reaches RevKeen (PCI scope, page 018): the browser sends it to the gateway's
tokeniser only (here the simulator's Collect.js endpoint, as the page's frames do) and the checkout page
receives a single-use token. After a whole checkout — a decline, then a success — no captured log record
and no text column of any of our tables holds the card number."""
from __future__ import annotations

import json
import logging
import urllib.parse
import urllib.request

import pytest
from django.db import connection

from apps.accounts.models import GatewayAccount
from apps.checkout import services
from apps.checkout.models import CheckoutSession
from tests.factories import make_price, make_product

pytestmark = pytest.mark.django_db(transaction=True)

PAN = "4111111111111111"  # the simulator's Visa (the card tok_visa stands for)
DECLINED_PAN = "4000000000002008"  # the simulator's generic decline card
GATEWAY_TABLE_PREFIX = "nmi_sim"  # the simulated gateway's own tables: the gateway, not RevKeen


def _tokenize(simulator_url: str, key: str, number: str) -> str:
    """What the gateway's card frame does in the browser: the number goes to the gateway, a token comes back."""
    body = urllib.parse.urlencode({"tokenization_key": key, "ccnumber": number, "ccexp": "12/30",
                                   "cvv": "999"}).encode()
    with urllib.request.urlopen(f"{simulator_url}/token/tokenize", data=body, timeout=10) as response:
        return json.loads(response.read())["token"]


def _text_columns():
    with connection.cursor() as cursor:
        cursor.execute("""
            SELECT c.table_name, c.column_name FROM information_schema.columns c
            JOIN information_schema.tables t ON t.table_name = c.table_name AND t.table_schema = c.table_schema
            WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE'
              AND c.data_type IN ('character varying', 'text', 'jsonb', 'json', 'character')""")
        return cursor.fetchall()


def _rows_containing(needle: str) -> list[str]:
    found = []
    with connection.cursor() as cursor:
        for table, column in _text_columns():
            if table.startswith(GATEWAY_TABLE_PREFIX):
                continue
            cursor.execute(f'SELECT count(*) FROM "{table}" WHERE "{column}"::text LIKE %s', [f"%{needle}%"])
            if cursor.fetchone()[0]:
                found.append(f"{table}.{column}")
    return found


def test_no_table_or_log_holds_the_card_number_after_a_checkout(client, gateway_sandbox, actor, nmi_simulator,
                                                                 caplog):
    caplog.set_level(logging.DEBUG)
    for name in ("django.request", "django.server", "apps", "revkeen", "celery"):
        caplog.set_level(logging.DEBUG, logger=name)
    key = GatewayAccount.objects.get(merchant=gateway_sandbox.merchant, livemode=False).tokenization_key
    product = make_product(gateway_sandbox, name="Grinder", fulfillment_type="physical")
    link = services.payment_link_create(tenant=gateway_sandbox, actor=actor, name="Grinder", items=[
        services.LinkItemInput(price=make_price(gateway_sandbox, product, currency="GBP", unit_amount_minor=9_900))])

    assert client.get(f"/pay/{link.pk}").status_code == 200
    client.post(f"/pay/{link.pk}/start", {"email": "ada@example.com"})
    session = CheckoutSession.objects.get(payment_link=link)
    form = {"email": "ada@example.com", "name": "Ada Lovelace", "address_country": "GB"}
    declined = client.post(f"/checkout/{session.pk}/pay",
                           {**form, "payment_token": _tokenize(nmi_simulator.url, key, DECLINED_PAN)})
    assert declined.status_code == 402
    paid = client.post(f"/checkout/{session.pk}/pay", {**form, "payment_token": _tokenize(nmi_simulator.url, key,
                                                                                           PAN)})
    assert paid.status_code == 302
    session.refresh_from_db()
    assert session.status == "complete"
    assert client.get(f"/checkout/{session.pk}/success").status_code == 200

    columns = _text_columns()
    assert len(columns) > 50 and any(table == "checkout_checkoutsession" for table, _ in columns)  # scanned it all
    assert "payments_payment" in {table for table, _ in columns}
    for number in (PAN, DECLINED_PAN):
        assert _rows_containing(number) == [], number
        logged = [record.getMessage() for record in caplog.records if number in record.getMessage()
                  or number in str(getattr(record, "args", ""))]
        assert logged == [], number
    assert _rows_containing("ada@example.com")  # the scan finds what is there (not a vacuous pass)

"""Saved cards through the gateway's customer vault (real HTTP to the simulator): what is stored, the default
per customer, detaching (the default moves to the newest remaining card), charging a saved card."""
from __future__ import annotations

import httpx
import pytest

from apps.accounts.models import GatewayAccount
from apps.core.errors import NotFound, ValidationFailed
from apps.core.models import Event
from apps.core.money import Money
from apps.core.tenancy import Tenant as CoreTenant
from apps.payments import services
from apps.payments.models import PaymentMethod
from apps.payments.simulators.nmi.models import SimCustomer, SimTransaction
from tests.factories import make_customer
from tests.payments.payments_helpers import payments_db

pytestmark = payments_db


def _save(sandbox, actor, customer, token="tok_visa_debit_gb", **kwargs) -> PaymentMethod:
    return services.payment_method_create(tenant=sandbox, actor=actor, customer=customer, payment_token=token,
                                          **kwargs)


def _collect_token(nmi_simulator, sandbox, ccnumber: str, ccexp: str) -> str:
    """A one-time token minted the way the simulator's Collect.js card frame does, with the shop's public key."""
    account = GatewayAccount.objects.get(merchant=sandbox.merchant, livemode=False)
    response = httpx.post(f"{nmi_simulator.url}/token/tokenize", timeout=5, data={
        "tokenization_key": account.tokenization_key, "ccnumber": ccnumber, "ccexp": ccexp, "cvv": "123"})
    assert response.status_code == 200, response.text
    return response.json()["token"]


def test_vaulting_a_token_stores_what_the_gateway_reports_and_the_first_card_is_default(
        shop, sandbox, actor, nmi_simulator):
    customer = make_customer(sandbox, name="Vera Vault")
    token = _collect_token(nmi_simulator, sandbox, "4000018260000009", "0931")
    method = _save(sandbox, actor, customer, token=token)
    assert method.gateway_vault_id
    vaulted = SimCustomer.objects.get(customer_vault_id=method.gateway_vault_id)
    assert (method.brand, method.last4, method.funding, method.country) == ("visa", "0009", "debit", "GB")
    assert vaulted.cc_last4 == "0009"
    assert (method.exp_month, method.exp_year) == (9, 2031)
    assert "4000018260000009" not in str(PaymentMethod.objects.filter(pk=method.pk).values().first())
    assert method.is_default and method.status == "active" and len(method.fingerprint) == 32
    assert Event.objects.filter(type="customer.payment_method.attached", object_id=method.pk).count() == 1
    listed = shop.client().get(f"/v2/customers/{customer.pk}/payment-methods").json()["data"]
    assert [(row["id"], row["is_default"]) for row in listed] == [(method.pk, True)]


def test_later_cards_are_not_default_unless_asked_and_the_same_card_has_the_same_fingerprint(shop, sandbox, actor):
    customer = make_customer(sandbox, name="Two Cards")
    first = _save(sandbox, actor, customer)
    second = _save(sandbox, actor, customer, token="tok_visa_debit_gb")
    third = _save(sandbox, actor, customer, token="tok_mastercard_commercial", set_default=True)
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.is_default, second.is_default, third.is_default) == (False, False, True)
    assert first.fingerprint == second.fingerprint != third.fingerprint
    assert third.funding == "commercial_credit"
    services.payment_method_set_default(tenant=sandbox, actor=actor, payment_method=first)
    assert list(PaymentMethod.objects.filter(customer=customer, is_default=True).values_list("pk", flat=True)) == \
        [first.pk]


def test_detaching_the_default_moves_it_to_the_newest_remaining_card_and_deletes_the_vault_record(
        shop, sandbox, actor):
    customer = make_customer(sandbox, name="Detach Me")
    oldest = _save(sandbox, actor, customer)
    newest = _save(sandbox, actor, customer, token="tok_mastercard_commercial")
    detached = services.payment_method_detach(tenant=sandbox, actor=actor, payment_method=oldest)
    assert (detached.status, detached.is_default) == ("detached", False)
    newest.refresh_from_db()
    assert newest.is_default
    assert not SimCustomer.objects.filter(customer_vault_id=oldest.gateway_vault_id).exists()
    assert Event.objects.filter(type="customer.payment_method.detached", object_id=oldest.pk).count() == 1
    with pytest.raises(ValidationFailed):  # a detached card is never charged
        services.payment_create(tenant=sandbox, actor=actor, amount=Money(500, "GBP"), payment_method=detached)
    assert not SimTransaction.objects.filter(customer_vault_id=oldest.gateway_vault_id).exists()


def test_a_saved_card_is_charged_through_its_vault_id(shop, sandbox, actor):
    customer = make_customer(sandbox, name="Saved Card Payer")
    method = _save(sandbox, actor, customer)
    payment = services.payment_create(tenant=sandbox, actor=actor, amount=Money(1500, "GBP"), payment_method=method)
    assert payment.status == "succeeded" and payment.customer_id == customer.pk
    assert SimTransaction.objects.get(orderid=payment.attempt_id).customer_vault_id == method.gateway_vault_id


def test_a_refused_token_is_a_400_and_nothing_is_stored(shop, sandbox, actor):
    customer = make_customer(sandbox, name="Bad Token")
    with pytest.raises(ValidationFailed) as refused:
        _save(sandbox, actor, customer, token="tok_not_a_real_token")
    assert refused.value.code == "invalid_payment_token" and "payment_token" in refused.value.fields
    assert not PaymentMethod.objects.exists() and not SimCustomer.objects.exists()


def test_another_merchants_customer_is_404(shop, sandbox, actor, other_tenant):
    stranger = make_customer(CoreTenant(other_tenant.merchant, livemode=False), name="Not Yours")
    with pytest.raises(NotFound):
        _save(sandbox, actor, stranger)
    assert not SimCustomer.objects.exists()


def test_api_saves_cards_for_a_customer_and_charges_use_the_default(shop, sandbox, other_tenant):
    client = shop.client()
    customer = make_customer(sandbox, name="Api Saver")
    url = f"/v2/customers/{customer.pk}/payment-methods"
    first = client.post(url, {"payment_token": "tok_visa_debit_gb"}, format="json")
    assert first.status_code == 201, first.content
    card = first.json()["data"]
    assert (card["object"], card["is_default"], card["card"]["brand"], card["card"]["funding"]) == \
        ("payment_method", True, "visa", "debit")
    second = client.post(url, {"payment_token": "tok_mastercard", "set_default": True}, format="json")
    assert second.status_code == 201 and second.json()["data"]["is_default"] is True
    listed = client.get(url).json()["data"]
    assert {(m["id"], m["is_default"]) for m in listed} == {(card["id"], False), (second.json()["data"]["id"], True)}

    charged = client.post("/v2/charges", {"customer": customer.pk, "amount_minor": 1500, "currency": "GBP"},
                          format="json")
    assert charged.status_code == 201 and charged.json()["data"]["payment_method_id"] == second.json()["data"]["id"]

    refused = client.post(url, {"payment_token": "tok_not_a_token"}, format="json")
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "invalid_payment_token"
    assert client.post(url, {"payment_token": "tok_visa", "set_default": "yes"}, format="json").status_code == 400
    assert PaymentMethod.objects.filter(customer=customer).count() == 2
    intruder = other_tenant.client().post(url, {"payment_token": "tok_visa"}, format="json")
    assert intruder.status_code == 404

"""Express checkout for returning customers (page 018): email codes with attempt and rate limits, trusted
browsers, the same answer for strangers, and paying a saved card with a re-entered CVV through the NMI
simulator (a CVV-only Collect.js token with the Customer Vault id) — charged once."""
from __future__ import annotations

import re
from datetime import timedelta

import httpx
import pytest
import time_machine
from django.core import mail
from django.urls import reverse

from apps.accounts.models import GatewayAccount
from apps.billing.models import Invoice
from apps.checkout import services
from apps.checkout.models import CheckoutSession, CheckoutVerificationCode, TrustedDevice
from apps.core.actors import Actor
from apps.core.clock import now
from apps.core.errors import BusinessRuleViolation, DomainError, NotFound, ValidationFailed
from apps.payments.models import Payment
from apps.payments.services import payment_method_create
from apps.payments.simulators.nmi.models import SimTransaction
from tests.factories import make_customer, make_price, make_product

pytestmark = pytest.mark.django_db(transaction=True)
BUYER = Actor("customer", "", "ada@example.com")
EMAIL = "ada@example.com"


def _session(tenant, actor, email=EMAIL):
    product = make_product(tenant, name="Espresso grinder", fulfillment_type="physical")
    price = make_price(tenant, product, currency="GBP", unit_amount_minor=12_900)
    link = services.payment_link_create(tenant=tenant, actor=actor, name="Grinder",
                                        items=[services.LinkItemInput(price=price)])
    session = services.payment_link_start_session(link=link, actor=BUYER)
    CheckoutSession.objects.filter(pk=session.pk).update(customer_email=email)
    return CheckoutSession.objects.select_related("merchant").get(pk=session.pk)


@pytest.fixture
def returning(gateway_sandbox, actor):
    """A customer of the merchant with a card saved in the simulator's Customer Vault."""
    customer = make_customer(gateway_sandbox, email=EMAIL, name="Ada Lovelace")
    card = payment_method_create(tenant=gateway_sandbox, actor=actor, customer=customer, payment_token="tok_visa")
    return customer, card


def _code_from_mail() -> str:
    return re.search(r"\b(\d{6})\b", mail.outbox[-1].body).group(1)


def _cvv_token(tenant, cvv="999") -> str:
    """A CVV-only token, minted the way the simulator's CVV frame does when it is the only field mounted."""
    account = GatewayAccount.objects.get(merchant=tenant.merchant, livemode=False)
    response = httpx.post(f"{account.api_url}/token/tokenize", timeout=5,
                          data={"tokenization_key": account.tokenization_key, "cvv": cvv})
    assert response.status_code == 200, response.text
    return response.json()["token"]


# --- codes -------------------------------------------------------------------------------------------------
def test_a_stranger_gets_the_same_answer_and_no_code(gateway_sandbox, actor, returning):
    session = _session(gateway_sandbox, actor)
    stranger = services.express_code_request(session=session, email="nobody@example.com")
    no_cards = make_customer(gateway_sandbox, email="bob@example.com")
    assert no_cards.pk
    cardless = services.express_code_request(session=session, email="bob@example.com")
    known = services.express_code_request(session=session, email="ADA@example.com")
    assert stranger.message == cardless.message == known.message
    assert (stranger.sent, cardless.sent, known.sent) == (False, False, True)
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [EMAIL]
    assert CheckoutVerificationCode.objects.count() == 1


def test_the_code_email_has_html_and_text_with_the_merchant_name_and_only_a_hash_is_stored(
        gateway_sandbox, actor, returning):
    session = _session(gateway_sandbox, actor)
    services.express_code_request(session=session, email=EMAIL)
    message = mail.outbox[0]
    code = _code_from_mail()
    name = session.merchant.public_name
    assert name in message.subject and name in message.body
    html, kind = message.alternatives[0]
    assert kind == "text/html" and code in html and name in html
    row = CheckoutVerificationCode.objects.get()
    assert code not in row.code_hash and len(row.code_hash) == 64
    assert row.expires_at - row.created_at == timedelta(minutes=10)


def test_three_wrong_attempts_burn_the_code(gateway_sandbox, actor, returning):
    session = _session(gateway_sandbox, actor)
    services.express_code_request(session=session, email=EMAIL)
    code = _code_from_mail()
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    with pytest.raises(ValidationFailed, match="2 attempts left"):
        services.express_code_verify(session=session, email=EMAIL, code=wrong)
    with pytest.raises(ValidationFailed, match="1 attempt left"):
        services.express_code_verify(session=session, email=EMAIL, code=wrong)
    with pytest.raises(BusinessRuleViolation) as third:
        services.express_code_verify(session=session, email=EMAIL, code=wrong)
    assert third.value.code == "code_attempts_exceeded"
    with pytest.raises(BusinessRuleViolation) as right_too_late:
        services.express_code_verify(session=session, email=EMAIL, code=code)
    assert right_too_late.value.code == "code_attempts_exceeded"
    assert CheckoutVerificationCode.objects.get().attempts == 3


def test_the_right_code_verifies_once_and_expires_after_ten_minutes(gateway_sandbox, actor, returning):
    customer, _card = returning
    session = _session(gateway_sandbox, actor)
    services.express_code_request(session=session, email=EMAIL)
    assert services.express_code_verify(session=session, email=EMAIL, code=_code_from_mail()) == customer
    with pytest.raises(BusinessRuleViolation):  # used
        services.express_code_verify(session=session, email=EMAIL, code=_code_from_mail())
    services.express_code_request(session=session, email=EMAIL)
    code = _code_from_mail()
    with time_machine.travel(now() + timedelta(minutes=10, seconds=1)):
        with pytest.raises(BusinessRuleViolation) as late:
            services.express_code_verify(session=session, email=EMAIL, code=code)
    assert late.value.code == "code_expired"


def test_at_most_three_codes_per_customer_per_fifteen_minutes(gateway_sandbox, actor, returning):
    session = _session(gateway_sandbox, actor)
    start = now()
    with time_machine.travel(start, tick=False):
        for _ in range(3):
            assert services.express_code_request(session=session, email=EMAIL).sent
        with pytest.raises(BusinessRuleViolation) as limited:
            services.express_code_request(session=session, email=EMAIL)
    assert limited.value.code == "code_rate_limited" and "15 minutes" in limited.value.message
    assert len(mail.outbox) == 3
    with time_machine.travel(start + timedelta(minutes=14, seconds=59), tick=False):
        with pytest.raises(BusinessRuleViolation):
            services.express_code_request(session=session, email=EMAIL)
    with time_machine.travel(start + timedelta(minutes=15, seconds=1), tick=False):
        assert services.express_code_request(session=session, email=EMAIL).sent
    assert len(mail.outbox) == 4


# --- pages: lookup, trusted device ------------------------------------------------------------------------
def _post(client, session, what, **data):
    return client.post(reverse(f"checkout_express_{what}", args=[session.pk]), data)


def test_lookup_offers_express_only_to_a_customer_with_saved_cards(client, gateway_sandbox, actor, returning):
    session = _session(gateway_sandbox, actor)
    offer = _post(client, session, "lookup", email=EMAIL)
    assert offer.status_code == 200 and b'data-testid="express-offer"' in offer.content
    assert b"Express checkout" in offer.content and b"Pay manually" in offer.content
    assert "script-src" in offer["Content-Security-Policy"]
    stranger = _post(client, session, "lookup", email="nobody@example.com")
    assert stranger.status_code == 200 and b"express-offer" not in stranger.content
    assert b"express-cards" not in stranger.content


def test_the_code_answer_is_the_same_for_a_stranger(client, gateway_sandbox, actor, returning):
    session = _session(gateway_sandbox, actor)
    known = _post(client, session, "code", email=EMAIL)
    stranger = _post(client, session, "code", email="nobody@example.com")
    assert known.status_code == stranger.status_code == 200
    assert known.content.replace(EMAIL.encode(), b"") == stranger.content.replace(b"nobody@example.com", b"")
    assert b"If this email has saved cards" in known.content
    assert len(mail.outbox) == 1


def test_verifying_trusts_the_browser_and_the_cookie_skips_the_code(client, gateway_sandbox, actor, returning):
    customer, card = returning
    session = _session(gateway_sandbox, actor)
    _post(client, session, "code", email=EMAIL)
    wrong = _post(client, session, "verify", email=EMAIL, code="000000" if _code_from_mail() != "000000" else "111111")
    assert wrong.status_code == 422 and b"attempts left" in wrong.content
    verified = _post(client, session, "verify", email=EMAIL, code=_code_from_mail())
    assert verified.status_code == 200 and b'data-testid="express-cards"' in verified.content
    assert card.last4.encode() in verified.content
    cookie = verified.cookies[services.trust_cookie_name(customer)]
    assert cookie["secure"] and cookie["httponly"] and cookie["samesite"] == "Lax"
    assert int(cookie["max-age"]) == 30 * 24 * 3600
    device = TrustedDevice.objects.get(customer=customer)
    assert cookie.value not in device.token_hash and device.merchant_id == session.merchant_id
    assert device.expires_at - device.created_at >= timedelta(days=29, hours=23)

    later = _session(gateway_sandbox, actor)  # another checkout in the same browser: cards at once
    cards = _post(client, later, "lookup", email=EMAIL)
    assert b'data-testid="express-cards"' in cards.content and len(mail.outbox) == 1
    jar = {services.trust_cookie_name(customer): cookie.value}
    assert services.express_device_is_trusted(customer=customer, cookies=jar)
    with time_machine.travel(now() + timedelta(days=30, minutes=1)):
        assert not services.express_device_is_trusted(customer=customer, cookies=jar)  # trust lapsed


def test_a_trust_cookie_of_another_customer_or_a_forged_one_does_not_unlock_cards(
        client, gateway_sandbox, actor, returning):
    customer, _card = returning
    other = make_customer(gateway_sandbox, email="eve@example.com")
    payment_method_create(tenant=gateway_sandbox, actor=actor, customer=other, payment_token="tok_visa")
    token, _age = services.express_trust_device(customer=other)
    session = _session(gateway_sandbox, actor)
    client.cookies[services.trust_cookie_name(customer)] = token  # eve's token under ada's cookie name
    assert b"express-offer" in _post(client, session, "lookup", email=EMAIL).content
    client.cookies[services.trust_cookie_name(customer)] = "forged"
    assert b"express-offer" in _post(client, session, "lookup", email=EMAIL).content


# --- paying ------------------------------------------------------------------------------------------------
def test_express_pay_requires_the_cvv_and_a_card_of_the_customer(gateway_sandbox, actor, returning):
    customer, card = returning
    session = _session(gateway_sandbox, actor)
    with pytest.raises(ValidationFailed) as missing:
        services.express_pay(session=session, customer=customer, payment_method_id=card.pk, cvv_token="",
                             actor=BUYER)
    assert "cvv" in missing.value.fields
    other = make_customer(gateway_sandbox, email="eve@example.com")
    with pytest.raises(NotFound):
        services.express_pay(session=session, customer=other, payment_method_id=card.pk,
                             cvv_token=_cvv_token(gateway_sandbox), actor=BUYER)
    assert not Payment.objects.exists()


def test_express_pay_through_the_simulator_completes_the_session_once(gateway_sandbox, actor, returning):
    customer, card = returning
    session = _session(gateway_sandbox, actor)
    token = _cvv_token(gateway_sandbox, cvv="999")
    outcome = services.express_pay(session=session, customer=customer, payment_method_id=card.pk,
                                   cvv_token=token, actor=BUYER)
    assert (outcome.session.status, outcome.session.payment_status) == ("complete", "paid")
    assert outcome.session.customer_id == customer.pk
    payment = outcome.payment
    assert payment.payment_method_id == card.pk and payment.amount_minor == 12_900
    txn = SimTransaction.objects.get(orderid=payment.attempt_id)
    assert txn.cvvresponse == "M"  # the CVV of the token was checked against the vaulted card
    again = services.express_pay(session=session, customer=customer, payment_method_id=card.pk,
                                 cvv_token=_cvv_token(gateway_sandbox), actor=BUYER)
    assert again.session.status == "complete"
    assert Payment.objects.filter(invoice_id=outcome.session.invoice_id).count() == 1
    assert Invoice.objects.get(pk=outcome.session.invoice_id).status == "paid"


def test_a_cvv_token_is_single_use_and_a_card_token_cannot_ride_on_a_vault_id(gateway_sandbox, actor, returning):
    customer, card = returning
    first = _session(gateway_sandbox, actor)
    token = _cvv_token(gateway_sandbox)
    services.express_pay(session=first, customer=customer, payment_method_id=card.pk, cvv_token=token,
                         actor=BUYER)
    second = _session(gateway_sandbox, actor)
    with pytest.raises(DomainError):  # the spent CVV token is refused by the gateway
        services.express_pay(session=second, customer=customer, payment_method_id=card.pk, cvv_token=token,
                             actor=BUYER)
    assert CheckoutSession.objects.get(pk=second.pk).status == "open"


def test_the_pay_page_needs_the_trusted_browser(client, gateway_sandbox, actor, returning):
    customer, card = returning
    session = _session(gateway_sandbox, actor)
    url = reverse("checkout_express_pay", args=[session.pk])
    refused = client.post(url, {"express_payment_method": card.pk, "payment_token": _cvv_token(gateway_sandbox)})
    assert refused.status_code == 403 and not Payment.objects.exists()
    token, _age = services.express_trust_device(customer=customer)
    client.cookies[services.trust_cookie_name(customer)] = token
    no_cvv = client.post(url, {"express_payment_method": card.pk, "payment_token": "", "address_country": "GB"})
    assert no_cvv.status_code == 422 and not Payment.objects.exists()
    form = {"email": EMAIL, "express_payment_method": card.pk}
    missing = client.post(url, {**form, "payment_token": _cvv_token(gateway_sandbox)})  # the page's fields count
    assert missing.status_code == 422 and b"Choose your country" in missing.content
    paid = client.post(url, {**form, "address_country": "GB", "payment_token": _cvv_token(gateway_sandbox)})
    assert paid.status_code == 302 and paid["Location"].endswith(f"/checkout/{session.pk}/success")
    assert CheckoutSession.objects.get(pk=session.pk).status == "complete"
    assert Payment.objects.filter(status="succeeded").count() == 1


# --- the simulator and adapter: a CVV-only token with a Customer Vault id -----------------------------------
def test_the_simulator_takes_a_cvv_token_only_with_a_vault_id(gateway_sandbox, actor, returning):
    from apps.core.money import Money
    from apps.payments.gateways.nmi import NmiGateway

    _customer, card = returning
    account = GatewayAccount.objects.get(merchant=gateway_sandbox.merchant, livemode=False)
    bad = httpx.post(f"{account.api_url}/token/tokenize", timeout=5,
                     data={"tokenization_key": account.tokenization_key, "cvv": "12a"})
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "cvv"
    adapter = NmiGateway.from_account(account)
    try:
        alone = adapter.sale(amount=Money(500, "GBP"), order_id="ord-cvv-alone", payment_token=_cvv_token(gateway_sandbox))
        assert alone.outcome.value == "error" and "Invalid Payment Token" in alone.message
        card_token = httpx.post(f"{account.api_url}/token/tokenize", timeout=5, data={
            "tokenization_key": account.tokenization_key, "ccnumber": "4111111111111111", "ccexp": "1230",
            "cvv": "999"}).json()["token"]
        riding = adapter.sale(amount=Money(500, "GBP"), order_id="ord-card-on-vault", payment_token=card_token,
                              customer_vault_id=card.gateway_vault_id)
        assert riding.outcome.value == "error"
        mismatch = adapter.sale(amount=Money(500, "GBP"), order_id="ord-cvv-n", customer_vault_id=card.gateway_vault_id,
                                payment_token=_cvv_token(gateway_sandbox, cvv="123"))
        assert mismatch.cvv_result == "N"
    finally:
        adapter.close()
    assert not SimTransaction.objects.filter(orderid__in=["ord-cvv-alone", "ord-card-on-vault"]).exists()

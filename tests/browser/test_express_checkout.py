"""A returning customer pays a payment link with a saved card in a real browser (page 018): enter the email,
choose Express checkout, type the emailed code, re-enter the CVV in the gateway's own frame (a CVV-only
Collect.js token, under the page's strict CSP), pay, land on the success page. The browser is then trusted:
the next checkout shows the saved card at once, without a code."""
import os
import re

import pytest
from django.core import mail
from playwright.sync_api import expect

from apps.accounts.models import GatewayAccount
from apps.checkout import services
from apps.checkout.models import CheckoutSession
from apps.core.actors import Actor
from apps.core.tenancy import Tenant
from apps.payments.models import Payment
from apps.payments.services import payment_method_create
from apps.payments.simulators.nmi.models import SimTransaction
from tests.factories import make_customer, make_merchant, make_price, make_product

SCREENSHOT_DIR = os.environ.get("SCREENSHOT_DIR", "/tmp")
EMAIL = "ada@example.com"


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_returning_customer_pays_with_a_saved_card_after_an_email_code(live_server, page, settings):
    settings.PUBLIC_BASE_URL = live_server.url
    base = live_server.url
    merchant = make_merchant(name="Northwind Coffee Roasters", live_enabled=False)
    GatewayAccount.objects.filter(merchant=merchant, livemode=False).update(api_url=f"{base}/_sim/nmi")
    tenant, actor = Tenant(merchant, False), Actor.system("tests")
    customer = make_customer(tenant, email=EMAIL, name="Ada Lovelace")
    card = payment_method_create(tenant=tenant, actor=actor, customer=customer, payment_token="tok_visa")
    product = make_product(tenant, name="Burr grinder", fulfillment_type="physical")
    price = make_price(tenant, product, currency="GBP", unit_amount_minor=12_900)
    link = services.payment_link_create(tenant=tenant, actor=actor, name="Grinder",
                                        items=[services.LinkItemInput(price=price)])
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)

    page.goto(f"{base}/pay/{link.pk}")
    page.get_by_test_id("checkout-email").fill(EMAIL)
    page.get_by_test_id("checkout-continue").click()
    session = CheckoutSession.objects.get(payment_link=link)
    expect(page).to_have_url(f"{base}/checkout/{session.pk}")
    expect(page.get_by_test_id("express-offer")).to_contain_text("Express checkout")
    expect(page.get_by_test_id("express-manual")).to_be_visible()
    page.get_by_test_id("checkout-country").fill("GB")

    page.get_by_test_id("express-start").click()
    expect(page.get_by_test_id("express-message")).to_contain_text("If this email has saved cards")
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [EMAIL]
    code = re.search(r"\b(\d{6})\b", mail.outbox[0].body).group(1)
    page.get_by_test_id("express-code-input").fill(code)
    page.get_by_test_id("express-verify").click()
    expect(page.get_by_test_id("express-card")).to_contain_text(f"•••• {card.last4}")

    page.frame_locator("#express-cvv iframe").get_by_label("Security code").fill("999")
    page.screenshot(path=f"{SCREENSHOT_DIR}/revkeen_express_checkout.png", full_page=True)
    page.get_by_test_id("express-pay").click()
    expect(page.get_by_test_id("checkout-success")).to_be_visible()
    expect(page.get_by_test_id("checkout-success-amount")).to_have_text("£129.00")
    session.refresh_from_db()
    assert (session.status, session.payment_status, session.customer_id) == ("complete", "paid", customer.pk)
    payment = Payment.objects.get(merchant=merchant, status="succeeded")
    assert payment.payment_method_id == card.pk
    assert SimTransaction.objects.get(orderid=payment.attempt_id).cvvresponse == "M"
    assert not [p for p in problems if "Content Security Policy" in p], problems

    # The browser is trusted now: a second checkout shows the card at once, no new code.
    page.goto(f"{base}/pay/{link.pk}")
    page.get_by_test_id("checkout-email").fill(EMAIL)
    page.get_by_test_id("checkout-continue").click()
    expect(page.get_by_test_id("express-card")).to_contain_text(f"•••• {card.last4}")
    expect(page.get_by_test_id("express-cvv").locator("iframe")).to_have_count(1)  # the CVV, every time
    codes = [m for m in mail.outbox if "checkout code" in m.subject]
    assert len(codes) == 1

"""The buyer's side of a payment link in a real browser (pages 011, 018): open the link, enter the email,
see a decline (nothing paid), pay with a test card typed into the gateway's own frames (the simulator's
Collect.js under the page's strict CSP: a blocked script or frame would leave the form dead), land on the
success page; then the merchant's dashboard shows the payment, the paid invoice and the order. The card
number goes to the gateway's tokeniser only, never to a RevKeen URL."""
import os

import pytest
from playwright.sync_api import expect

from apps.accounts.models import GatewayAccount
from apps.billing.models import Invoice, Order
from apps.checkout import services
from apps.checkout.models import CheckoutSession
from apps.core.actors import Actor
from apps.core.tenancy import Tenant
from apps.payments.models import Payment
from tests.factories import make_merchant, make_price, make_product, owner_membership

SCREENSHOT_DIR = os.environ.get("SCREENSHOT_DIR", "/tmp")
CARD = "4000018260000009"  # the simulator's GB Visa debit
DECLINE = "4000000000002008"  # the simulator's generic decline (200)


def type_card(page, number: str) -> None:
    page.frame_locator("#ccnumber iframe").get_by_label("Card number").fill(number)
    page.frame_locator("#ccexp iframe").get_by_label("Expiration date").fill("12 / 30")
    page.frame_locator("#cvv iframe").get_by_label("Security code").fill("123")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_buyer_pays_a_payment_link_and_the_merchant_sees_it(live_server, page, settings):
    settings.PUBLIC_BASE_URL = live_server.url
    base = live_server.url
    merchant = make_merchant(name="Northwind Coffee Roasters", live_enabled=False)
    GatewayAccount.objects.filter(merchant=merchant, livemode=False).update(api_url=f"{base}/_sim/nmi")
    tenant = Tenant(merchant, False)
    product = make_product(tenant, name="Burr grinder", fulfillment_type="physical",
                           features=["Conical steel burrs", "40 grind settings"])
    price = make_price(tenant, product, currency="GBP", unit_amount_minor=12_900)
    link = services.payment_link_create(tenant=tenant, actor=Actor.system("tests"), name="Grinder",
                                        items=[services.LinkItemInput(price=price)],
                                        success_message="Your grinder ships tomorrow.")
    outgoing: list[tuple[str, str]] = []
    page.on("request", lambda request: outgoing.append((request.url, request.post_data or "")))
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)

    page.goto(f"{base}/pay/{link.pk}")
    expect(page.get_by_test_id("checkout-items")).to_contain_text("Conical steel burrs")
    page.get_by_test_id("checkout-email").fill("ada@example.com")
    page.get_by_test_id("checkout-continue").click()
    session = CheckoutSession.objects.get(payment_link=link)
    expect(page).to_have_url(f"{base}/checkout/{session.pk}")
    expect(page.get_by_test_id("checkout-total")).to_have_text("£129.00")
    page.get_by_test_id("checkout-country").fill("GB")

    type_card(page, DECLINE)
    page.get_by_test_id("checkout-pay-button").click()
    expect(page.get_by_test_id("checkout-error")).to_contain_text("declined")
    assert not Payment.objects.filter(merchant=merchant, status="succeeded").exists()
    assert CheckoutSession.objects.get(pk=session.pk).status == "open"

    type_card(page, CARD)
    page.screenshot(path=f"{SCREENSHOT_DIR}/revkeen_checkout.png", full_page=True)
    page.get_by_test_id("checkout-pay-button").click()
    expect(page.get_by_test_id("checkout-success")).to_contain_text("Receipt sent to ada@example.com")
    expect(page.get_by_test_id("checkout-success-message")).to_have_text("Your grinder ships tomorrow.")
    expect(page.get_by_test_id("checkout-success-amount")).to_have_text("£129.00")
    page.screenshot(path=f"{SCREENSHOT_DIR}/revkeen_checkout_success.png", full_page=True)
    session.refresh_from_db()
    assert (session.status, session.payment_status) == ("complete", "paid")
    invoice = Invoice.objects.get(pk=session.invoice_id)
    assert invoice.status == "paid"
    order = Order.objects.get(invoice=invoice)
    assert not [p for p in problems if "Content Security Policy" in p], problems

    # The card number went to the gateway's tokeniser alone; RevKeen only ever got the token.
    to_us = [(url, data) for url, data in outgoing if url.startswith(base) and "/_sim/nmi/" not in url]
    pay_posts = [data for url, data in to_us if url.endswith("/pay") and data]
    assert len(pay_posts) == 2 and all("payment_token=" in data for data in pay_posts)
    for number in (CARD, DECLINE):
        assert all(number not in url and number not in data.replace("+", "").replace("%20", "")
                   for url, data in to_us)
    assert any(url.endswith("/_sim/nmi/token/tokenize") and CARD in data.replace(" ", "") for url, data in outgoing)

    # The merchant's dashboard.
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=login]", owner_membership(merchant).user.email)
    page.fill("input[name=password]", "correct-horse-battery")
    page.locator("form button[type=submit]").first.click()
    expect(page).to_have_url(f"{base}/dashboard/")
    page.goto(f"{base}/dashboard/payments/")
    row = page.get_by_test_id("payment-row")
    expect(row).to_have_count(2)  # the declined attempt and the payment
    expect(page.get_by_test_id("payment-row").filter(has_text="Succeeded")).to_have_count(1)
    expect(page.get_by_test_id("payment-row").filter(has_text="Succeeded")).to_contain_text("£129.00")
    page.goto(f"{base}/dashboard/invoices/{invoice.pk}/")
    expect(page.get_by_test_id("invoice-status").first).to_contain_text("Paid")
    page.goto(f"{base}/dashboard/orders/")
    expect(page.get_by_test_id("order-row")).to_have_count(1)
    expect(page.get_by_test_id("order-row")).to_contain_text(order.pk)
    expect(page.get_by_test_id("order-row")).to_contain_text("£129.00")

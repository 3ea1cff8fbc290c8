"""Issue 4's dashboard journey in one browser session: take a payment with the virtual terminal, the card
typed into the gateway's own frames (the simulator's Collect.js, mounted at /_sim/nmi/ on the live
server), find it in the list, open it, read its fee waterfall, and void it from the reversal dialog —
while the card number never reaches a RevKeen page or endpoint (only the token does)."""
import os

import pytest
from playwright.sync_api import expect

from apps.accounts.models import GatewayAccount
from apps.payments.models import FeeLine, Payment, Void
from tests.factories import make_customer, make_merchant, owner_membership

SCREENSHOT_DIR = os.environ.get("SCREENSHOT_DIR", "/tmp")
CARD = "4000018260000009"  # the simulator's GB Visa debit test card


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_virtual_terminal_list_detail_waterfall_and_void(live_server, page):
    base = live_server.url
    merchant = make_merchant(name="Northwind Coffee Roasters", live_enabled=False)
    # The sandbox gateway is the simulator mounted on this very server (its Collect.js, frames and API).
    GatewayAccount.objects.filter(merchant=merchant, livemode=False).update(api_url=f"{base}/_sim/nmi")
    from apps.core.tenancy import Tenant

    customer = make_customer(Tenant(merchant, False), email="grace@example.com", name="Grace Hopper")
    outgoing: list[tuple[str, str]] = []
    page.on("request", lambda request: outgoing.append((request.url, request.post_data or "")))

    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=login]", owner_membership(merchant).user.email)
    page.fill("input[name=password]", "correct-horse-battery")
    page.locator("form button[type=submit]").first.click()
    expect(page).to_have_url(f"{base}/dashboard/")

    # The virtual terminal: a new card, typed into the gateway's frames.
    page.get_by_test_id("nav-payments").click()
    expect(page.get_by_test_id("payments-empty")).to_be_visible()
    page.get_by_test_id("new-payment").click()
    page.get_by_test_id("terminal-customer").select_option(customer.pk)
    expect(page.get_by_test_id("new-card")).to_be_checked()
    page.get_by_label("Amount").fill("42.50")
    page.get_by_label("Description").fill("Phone order: 2 bags of beans")
    page.frame_locator("#ccnumber iframe").get_by_label("Card number").fill("4000 0182 6000 0009")
    page.frame_locator("#ccexp iframe").get_by_label("Expiration date").fill("12 / 30")
    page.frame_locator("#cvv iframe").get_by_label("Security code").fill("999")
    page.screenshot(path=f"{SCREENSHOT_DIR}/revkeen_virtual_terminal.png", full_page=True)
    page.get_by_test_id("charge-button").click()

    expect(page.get_by_test_id("result-status")).to_have_text("Succeeded")
    payment = Payment.objects.get(merchant=merchant)
    assert (payment.amount_minor, payment.currency, payment.customer_id, payment.card_last4) == (
        4250, "GBP", customer.pk, "0009")

    # Only the token came to RevKeen: the card number went to the gateway's frame endpoint alone.
    to_us = [(url, data) for url, data in outgoing if url.startswith(base) and "/_sim/nmi/" not in url]
    terminal_posts = [data for url, data in to_us if url.startswith(f"{base}/dashboard/payments/terminal/") and data]
    assert terminal_posts and all("payment_token=" in data for data in terminal_posts)
    for url, data in to_us:
        assert CARD not in url.replace(" ", "") and CARD not in data.replace("+", "").replace("%20", ""), url
    assert any(url.endswith("/_sim/nmi/token/tokenize") and CARD in data.replace(" ", "") for url, data in outgoing)
    assert CARD not in page.content()

    # The list shows it; the detail shows the fee waterfall from its fee lines.
    page.get_by_test_id("nav-payments").click()
    row = page.get_by_test_id("payment-row")
    expect(row).to_have_count(1)
    expect(row.get_by_test_id("payment-amount")).to_have_text("£42.50")
    expect(row.get_by_test_id("payment-status")).to_have_text("Succeeded")
    search = page.get_by_test_id("search")
    search.press_sequentially("nobody@nowhere")  # the live search (htmx) refreshes the results
    expect(page.get_by_test_id("payment-row")).to_have_count(0)
    expect(page.get_by_test_id("payments-empty")).to_contain_text("No payments match")
    search.fill("")
    search.press_sequentially("0009")
    expect(page.get_by_test_id("payment-row")).to_have_count(1)
    page.get_by_test_id("payment-amount").click()

    waterfall = page.get_by_test_id("fee-waterfall")
    expect(waterfall).to_be_visible()
    lines = list(FeeLine.objects.filter(transaction__payment=payment))
    assert lines
    expect(waterfall.get_by_test_id("waterfall-step")).to_have_count(len(lines))
    payment.refresh_from_db()
    net = f"£{payment.net_minor // 100}.{payment.net_minor % 100:02d}"
    expect(page.get_by_test_id("waterfall-net")).to_contain_text(net)
    expect(page.get_by_test_id("payment-customer")).to_have_text("Grace Hopper")
    page.screenshot(path=f"{SCREENSHOT_DIR}/revkeen_payment_detail.png", full_page=True)

    # The reversal dialog offers the void (the batch has not closed) and voids it.
    page.get_by_test_id("reverse-payment").click()
    dialog = page.get_by_test_id("reversal-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_test_id("refund-form")).to_have_count(0)
    page.screenshot(path=f"{SCREENSHOT_DIR}/revkeen_reversal_dialog.png", full_page=True)
    dialog.get_by_test_id("void-button").click()
    expect(page.get_by_test_id("payment-status")).to_have_text("Voided")
    expect(page.get_by_text("Payment voided")).to_be_visible()
    expect(page.get_by_test_id("voided-note")).to_be_visible()
    payment.refresh_from_db()
    assert (payment.status, payment.fees_minor, payment.net_minor) == ("voided", 0, 0)
    assert Void.objects.get(payment=payment).status == "succeeded"

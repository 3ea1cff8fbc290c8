"""Issue 5's journey in one browser session: build an invoice in the dashboard (two lines added inline,
live totals), finalize and send it, open the hosted link from the email, pay it with a test card typed
into the gateway's own frames (the simulator's Collect.js at /_sim/nmi/ on the live server), see it paid
with a receipt email, then issue a partial credit note from the invoice page through its dialog and see
it listed on the invoice."""
import os
import re

import pytest
from django.core import mail
from playwright.sync_api import expect

from apps.accounts.models import GatewayAccount
from apps.billing.models import CreditNote, Invoice, InvoicePayment
from tests.factories import make_customer, make_merchant, owner_membership

SCREENSHOT_DIR = os.environ.get("SCREENSHOT_DIR", "/tmp")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_build_send_pay_on_hosted_page_and_credit_from_the_dashboard(live_server, page, settings):
    base = live_server.url
    settings.PUBLIC_BASE_URL = base
    merchant = make_merchant(name="Northwind Coffee Roasters", live_enabled=False)
    # The sandbox gateway is the simulator mounted on this very server (its Collect.js, frames and API).
    GatewayAccount.objects.filter(merchant=merchant, livemode=False).update(api_url=f"{base}/_sim/nmi")
    from apps.core.tenancy import Tenant

    customer = make_customer(Tenant(merchant, False), email="grace@example.com", name="Grace Hopper", currency="GBP",
                             billing_address={"line1": "1 Navy Way", "city": "London", "country": "GB"})

    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=login]", owner_membership(merchant).user.email)
    page.fill("input[name=password]", "correct-horse-battery")
    page.locator("form button[type=submit]").first.click()
    expect(page).to_have_url(f"{base}/dashboard/")

    # The builder: a customer, two lines added inline, live totals.
    page.get_by_test_id("nav-invoices").click()
    expect(page.get_by_test_id("invoices-empty")).to_be_visible()
    page.get_by_test_id("new-invoice").click()
    page.get_by_test_id("invoice-customer").select_option(customer.pk)
    lines = page.get_by_test_id("builder-line")
    expect(lines).to_have_count(1)
    lines.nth(0).get_by_test_id("line-description").fill("Espresso machine service")
    lines.nth(0).get_by_test_id("line-amount").fill("120.00")
    expect(page.get_by_test_id("invoice-total")).to_have_text("£120.00")
    page.get_by_test_id("add-line").click()
    expect(lines).to_have_count(2)
    expect(lines.nth(0).get_by_test_id("line-description")).to_have_value("Espresso machine service")
    lines.nth(1).get_by_test_id("line-description").fill("Descaling kit")
    lines.nth(1).get_by_test_id("line-amount").fill("7.25")
    lines.nth(1).get_by_test_id("line-quantity").fill("2")
    expect(page.get_by_test_id("invoice-total")).to_have_text("£134.50")
    expect(page.get_by_test_id("invoice-tax")).to_have_text("£0.00")
    page.screenshot(path=f"{SCREENSHOT_DIR}/revkeen_invoice_builder.png", full_page=True)
    page.get_by_test_id("finalize-send").click()

    expect(page.get_by_test_id("invoice-status")).to_have_text("Sent")
    invoice = Invoice.objects.get(merchant=merchant)
    assert (invoice.total_minor, invoice.currency, invoice.lines.count()) == (13450, "GBP", 2)
    assert invoice.number.startswith("INV-")
    expect(page.get_by_test_id("hosted-link")).to_have_attribute("href", re.compile(rf"/i/{invoice.hosted_token}$"))

    # The emailed hosted link; the customer pays with a card typed into the gateway's frames.
    sent = [m for m in mail.outbox if "grace@example.com" in m.to]
    assert sent, [m.subject for m in mail.outbox]
    link = re.search(rf"{re.escape(base)}/i/[A-Za-z0-9_\-]+", sent[0].body).group(0)
    assert link.endswith(invoice.hosted_token)
    page.goto(link)
    expect(page.get_by_test_id("hosted-amount-due")).to_contain_text("134.50")
    page.frame_locator("#ccnumber iframe").get_by_label("Card number").fill("4111 1111 1111 1111")
    page.frame_locator("#ccexp iframe").get_by_label("Expiration date").fill("12 / 30")
    page.frame_locator("#cvv iframe").get_by_label("Security code").fill("999")
    page.get_by_test_id("hosted-pay-button").click()
    expect(page.get_by_test_id("hosted-paid")).to_be_visible()
    expect(page.get_by_test_id("hosted-status")).to_have_text("Paid")
    invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_paid_minor, invoice.amount_remaining_minor) == ("paid", 13450, 0)
    assert InvoicePayment.objects.get(invoice=invoice).method == "card"
    assert any(m.subject.startswith("Receipt") and "grace@example.com" in m.to for m in mail.outbox), \
        [m.subject for m in mail.outbox]

    # Back in the dashboard: a partial credit note through the invoice page's dialog.
    page.goto(f"{base}/dashboard/invoices/{invoice.pk}/")
    expect(page.get_by_test_id("invoice-status")).to_have_text("Paid")
    expect(page.get_by_test_id("payment-row")).to_have_count(1)
    page.get_by_test_id("action-credit-note").click()
    modal = page.get_by_test_id("invoice-modal")
    expect(modal).to_be_visible()
    modal.get_by_label("Amount").fill("34.50")
    # The card payment has not settled yet (a void would reverse all of it), so this partial credit goes to
    # the customer's balance; the dialog's preview says so.
    modal.get_by_label("Credit method").select_option("customer_balance")
    page.screenshot(path=f"{SCREENSHOT_DIR}/revkeen_invoice_credit_note.png", full_page=True)
    modal.get_by_test_id("credit-note-submit").click()

    expect(page.get_by_test_id("credit-note-row")).to_have_count(1)
    expect(page.get_by_test_id("credit-note-amount")).to_have_text("£34.50")
    note = CreditNote.objects.get(invoice=invoice)
    assert note.amount_minor == 3450 and note.number.startswith("CN-")
    invoice.refresh_from_db()
    assert invoice.amount_credited_minor == 3450 and invoice.status == "paid"
    page.screenshot(path=f"{SCREENSHOT_DIR}/revkeen_invoice_detail.png", full_page=True)

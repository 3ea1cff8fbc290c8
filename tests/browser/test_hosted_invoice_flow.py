"""The customer's side of an invoice in a real browser: open the emailed hosted link, see a decline, pay
with a test card typed into the gateway's own frames (the simulator's Collect.js, under the page's strict
Content-Security-Policy: a blocked script or frame would leave the form dead), see it paid with the
receipt, and download the PDF the worker rendered."""
import os

import pytest
from django.core import mail
from django.db import connections
from playwright.sync_api import expect, sync_playwright

from apps.accounts.models import GatewayAccount
from apps.billing import services
from apps.billing.models import Invoice
from apps.core.actors import Actor
from apps.core.tenancy import Tenant
from tests.factories import make_customer, make_merchant

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
SCREENSHOT_DIR = os.environ.get("SCREENSHOT_DIR", "/tmp")


@pytest.fixture
def page(chromium_path):
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1100, "height": 900})
        page = context.new_page()
        page.set_default_timeout(20_000)
        try:
            yield page
        finally:
            connections.close_all()
            context.close()
            browser.close()


def type_card(page, number: str) -> None:
    page.frame_locator("#ccnumber iframe").get_by_label("Card number").fill(number)
    page.frame_locator("#ccexp iframe").get_by_label("Expiration date").fill("12 / 30")
    page.frame_locator("#cvv iframe").get_by_label("Security code").fill("123")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_customer_pays_the_hosted_invoice_by_card(live_server, page, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.PUBLIC_BASE_URL = live_server.url
    base = live_server.url
    merchant = make_merchant(name="Northwind Coffee Roasters", live_enabled=False)
    GatewayAccount.objects.filter(merchant=merchant, livemode=False).update(api_url=f"{base}/_sim/nmi")
    tenant, actor = Tenant(merchant, False), Actor.system("tests")
    customer = make_customer(tenant, email="grace@example.com", name="Grace Hopper", currency="GBP")
    invoice = services.invoice_create(tenant=tenant, actor=actor, customer=customer, currency="GBP",
                                      lines=[services.LineInput(description="Beans subscription, March",
                                                                unit_amount_minor=4250, tax_exempt=True)])
    services.invoice_send(tenant=tenant, actor=actor, invoice=invoice)
    invoice.refresh_from_db()
    [sent] = [m for m in mail.outbox if m.subject.startswith("Invoice")]
    link = next(word for word in sent.body.split() if word.startswith(f"{base}/i/"))

    problems: list[str] = []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.goto(link)
    expect(page.get_by_test_id("hosted-invoice")).to_contain_text("Beans subscription, March")
    expect(page.get_by_test_id("hosted-amount-due")).to_have_text("£42.50")

    type_card(page, "4000 0000 0000 2008")  # the simulator's generic decline (200)
    page.get_by_test_id("hosted-pay-button").click()
    expect(page.get_by_test_id("hosted-error")).to_contain_text("declined")
    assert Invoice.objects.get(pk=invoice.pk).status == "sent"

    type_card(page, "4000 0182 6000 0009")  # GB Visa debit
    page.screenshot(path=f"{SCREENSHOT_DIR}/revkeen_hosted_invoice.png", full_page=True)
    page.get_by_test_id("hosted-pay-button").click()
    expect(page.get_by_test_id("hosted-paid")).to_contain_text("Receipt sent to grace@example.com")
    expect(page.get_by_test_id("hosted-pay")).to_have_count(0)
    page.screenshot(path=f"{SCREENSHOT_DIR}/revkeen_hosted_invoice_paid.png", full_page=True)
    assert Invoice.objects.get(pk=invoice.pk).status == "paid"
    assert any(m.subject.startswith("Receipt") and m.to == ["grace@example.com"] for m in mail.outbox)

    with page.expect_download() as download:
        page.get_by_test_id("hosted-pdf").click()
    assert open(download.value.path(), "rb").read(4) == b"%PDF"
    assert not [p for p in problems if "Content Security Policy" in p], problems

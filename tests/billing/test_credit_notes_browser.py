"""The credit-note dialog in a real browser: opened from the invoice page into its modal (htmx), the live
preview re-rendered as the amount changes and explaining the routing per payment, then issued: the page
goes to the invoice, which shows the note."""
import os

import pytest
from playwright.sync_api import expect

from apps.billing import services
from apps.billing.models import CreditNote
from apps.core.actors import Actor
from apps.core.money import Money
from apps.core.tenancy import Tenant
from tests.factories import make_customer, make_merchant, owner_membership

SCREENSHOT_DIR = os.environ.get("SCREENSHOT_DIR", "/tmp")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_partial_credit_note_from_the_invoice_page(live_server, page):
    base = live_server.url
    merchant = make_merchant(name="Northwind Coffee Roasters", live_enabled=False)
    tenant, actor = Tenant(merchant, False), Actor.system("tests")
    customer = make_customer(tenant, email="grace@example.com", name="Grace Hopper", currency="GBP")
    invoice = services.invoice_create(tenant=tenant, actor=actor, customer=customer, lines=[
        services.LineInput(description="Espresso machine service", unit_amount_minor=12_000)])
    invoice = services.invoice_finalize(tenant=tenant, actor=actor, invoice=invoice)
    services.invoice_record_payment(tenant=tenant, actor=actor, invoice=invoice, amount=Money(5000, "GBP"),
                                    method="bank_transfer")

    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=login]", owner_membership(merchant).user.email)
    page.fill("input[name=password]", "correct-horse-battery")
    page.locator("form button[type=submit]").first.click()
    expect(page).to_have_url(f"{base}/dashboard/")

    page.goto(f"{base}/dashboard/invoices/{invoice.pk}/")
    page.get_by_test_id("action-credit-note").click()
    amount = page.get_by_test_id("credit-note-amount")
    expect(amount).to_have_value("120.00")
    preview = page.get_by_test_id("credit-note-preview")
    expect(preview).to_contain_text("Bank transfer payment of £50.00")
    amount.fill("90.00")
    expect(page.get_by_test_id("preview-pre-payment")).to_have_text("£70.00")
    expect(page.get_by_test_id("preview-post-payment")).to_have_text("£20.00")
    expect(preview).to_contain_text("£20.00 to be paid back outside RevKeen")
    expect(page.get_by_test_id("preview-status-after")).to_contain_text("Paid")
    page.get_by_test_id("credit-note-reason").select_option("service_credit")
    page.screenshot(path=f"{SCREENSHOT_DIR}/revkeen_credit_note_dialog.png", full_page=True)
    with page.expect_navigation():  # HX-Redirect: a full page load of the invoice
        page.get_by_test_id("credit-note-submit").click()

    expect(page).to_have_url(f"{base}/dashboard/invoices/{invoice.pk}/")
    note = CreditNote.objects.get(invoice=invoice)
    assert (note.amount_minor, note.pre_payment_minor, note.post_payment_minor, note.status) == (9000, 7000, 2000,
                                                                                                 "applied")
    expect(page.locator("body")).to_contain_text(note.number)

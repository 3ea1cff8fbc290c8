"""The customers pages in a real browser: create a customer, grant and revoke a benefit with htmx
(the timeline follows), and find the customer with the live search."""
import os

import pytest
from django.db import connections
from playwright.sync_api import expect, sync_playwright

from apps.catalog.models import Entitlement
from apps.core.tenancy import Tenant
from apps.customers.models import Customer
from tests.factories import make_benefit, make_customer, make_merchant, owner_membership

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
SCREENSHOT_DIR = os.environ.get("SCREENSHOT_DIR", "/tmp")
PASSWORD = "correct-horse-battery"  # tests.factories.UserFactory's


@pytest.fixture
def browser_page(chromium_path):
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 900}, timezone_id="Europe/London")
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.on("dialog", lambda dialog: dialog.accept())  # the data-confirm prompts
        try:
            yield page
        finally:
            connections.close_all()  # see tests/browser/test_signup_flow.py
            context.close()
            browser.close()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_create_a_customer_grant_a_benefit_and_find_them_by_search(live_server, browser_page):
    merchant = make_merchant(name="Northwind Coffee Roasters", live_enabled=False)
    sandbox = Tenant(merchant, livemode=False)
    owner = owner_membership(merchant).user
    for i in range(3):
        make_customer(sandbox, email=f"regular{i}@example.com", name=f"Regular {i}")
    make_benefit(sandbox, key="brew-guide", name="Brew guide downloads")
    page, base = browser_page, live_server.url

    page.goto(f"{base}/dashboard/customers/")
    page.get_by_label("Email").fill(owner.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("customers-table")).to_contain_text("Regular 2")

    # Create.
    page.get_by_test_id("new-customer").click()
    expect(page.locator('input[name="shipping_line1"]')).to_be_hidden()  # "same as billing" is ticked
    page.get_by_label("Email").fill("ada@engine.example")
    page.locator('input[name="name"]').fill("Ada Lovelace")
    page.get_by_label("Company name").fill("Analytical Engines Ltd")
    page.locator('input[name="billing_line1"]').fill("12 St James's Square")
    page.locator('input[name="billing_city"]').fill("London")
    page.locator('select[name="billing_country"]').select_option("GB")
    page.locator('input[name="tax-0-type"]').fill("gb_vat")
    page.locator('input[name="tax-0-value"]').fill("GB123456789")
    page.get_by_label("Metadata").fill("segment=wholesale")
    page.screenshot(path=f"{SCREENSHOT_DIR}/revkeen_customer_form.png", full_page=True)
    page.get_by_test_id("save-customer").click()
    expect(page.get_by_test_id("customer-name")).to_have_text("Ada Lovelace")
    customer = Customer.objects.get(email="ada@engine.example")
    assert customer.shipping_address == customer.billing_address and customer.tax_ids[0]["value"] == "GB123456789"

    # Grant a benefit by hand: the card is swapped in place and the timeline reloads itself.
    page.get_by_test_id("grant-benefit-select").select_option(label="Brew guide downloads (brew-guide)")
    page.get_by_test_id("grant-benefit").click()
    expect(page.get_by_test_id("entitlements-table")).to_contain_text("Brew guide downloads")
    expect(page.get_by_test_id("timeline")).to_contain_text("Granted “Brew guide downloads” by hand")
    assert Entitlement.objects.get(customer=customer).source == "manual"
    page.screenshot(path=f"{SCREENSHOT_DIR}/revkeen_customer_detail.png", full_page=True)

    page.get_by_test_id("revoke-entitlement").click()
    expect(page.get_by_test_id("entitlements-card")).to_contain_text("Revoked “Brew guide downloads”.")
    expect(page.get_by_test_id("timeline")).to_contain_text("Revoked “Brew guide downloads”")
    assert Entitlement.objects.get(customer=customer).revoked_at is not None

    # Find by live search (no submit): the results swap and the URL follows.
    page.get_by_role("link", name="Customers", exact=True).first.click()
    expect(page.get_by_test_id("customer-row")).to_have_count(4)
    page.get_by_test_id("customer-search").press_sequentially("lovelace", delay=20)
    expect(page.get_by_test_id("customer-row")).to_have_count(1)
    expect(page.get_by_test_id("customers-table")).to_contain_text("ada@engine.example")
    expect(page).to_have_url(f"{base}/dashboard/customers/?q=lovelace&source=&currency=&created_from=&created_to=&sort=-created")
    page.screenshot(path=f"{SCREENSHOT_DIR}/revkeen_customers_search.png", full_page=True)
    page.get_by_test_id("customer-search").fill("")
    page.get_by_test_id("customer-search").press("Enter")
    expect(page.get_by_test_id("customer-row")).to_have_count(4)

    # Changing a filter select refreshes the results too.
    page.get_by_label("Sort").select_option("created")
    expect(page.get_by_test_id("customer-row").first).to_contain_text("Regular 0")
    expect(page).to_have_url(f"{base}/dashboard/customers/?q=&source=&currency=&created_from=&created_to=&sort=created")

"""The catalog pages in a real browser: a product with a monthly and a yearly price added inline (htmx,
no page load), a price archived in place, a discount created with the fields its type needs, and the
live search."""
import pytest
from django.db import connections
from playwright.sync_api import expect, sync_playwright

from apps.catalog.models import Discount, Price, Product
from tests.factories import make_merchant, owner_membership

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


@pytest.fixture
def browser_page(chromium_path):
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 900}, timezone_id="Europe/London")
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.on("dialog", lambda dialog: dialog.accept())  # the "Archive this price?" confirmation
        try:
            yield page
        finally:
            connections.close_all()  # see tests/browser/test_signup_flow.py
            context.close()
            browser.close()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_product_with_monthly_and_yearly_prices_and_a_discount(live_server, browser_page):
    page, base = browser_page, live_server.url
    merchant = make_merchant(name="Northwind Coffee Roasters", live_enabled=False)
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=login]", owner_membership(merchant).user.email)
    page.fill("input[name=password]", "correct-horse-battery")
    page.locator("form button[type=submit]").first.click()
    expect(page).to_have_url(f"{base}/dashboard/")

    # An empty catalog invites to create the first product.
    page.get_by_role("link", name="Products", exact=True).click()
    expect(page.get_by_test_id("products-empty")).to_be_visible()
    page.get_by_test_id("new-product").click()
    page.get_by_label("Name").fill("House Blend Subscription")
    page.get_by_label("Fulfilment").select_option("physical")
    page.get_by_label("Features shown at checkout").fill("Free UK delivery\nPause any month")
    page.get_by_test_id("save-product").click()
    expect(page.get_by_test_id("product-name")).to_have_text("House Blend Subscription")
    expect(page.get_by_test_id("no-prices")).to_be_visible()

    # Monthly, then yearly, each added in place; the page itself never reloads.
    page.evaluate("window.__same_page = true")
    page.get_by_text("Recurring", exact=True).click()
    expect(page.locator("input[name=minimum_amount]")).to_be_hidden()  # pay-what-you-want only
    page.locator("input[name=amount]").fill("12.00")
    page.locator("select[name=interval]").select_option("month")
    page.locator("input[name=trial_days]").fill("14")
    page.get_by_test_id("add-price").click()
    expect(page.get_by_test_id("price-added")).to_have_text("Price added: £12.00 / month.")
    page.locator("input[name=amount]").fill("120")
    page.locator("select[name=interval]").select_option("year")
    page.get_by_test_id("add-price").click()
    expect(page.get_by_test_id("price-row")).to_have_count(2)
    # A bad amount is refused next to the field.
    page.locator("input[name=amount]").fill("-5")
    page.get_by_test_id("add-price").click()
    expect(page.locator(".field-error")).to_have_text("Amount must not be negative.")
    assert page.evaluate("window.__same_page") is True

    product = Product.objects.get(merchant=merchant)
    assert sorted((p.unit_amount_minor, p.interval) for p in Price.objects.filter(product=product)) == [
        (1200, "month"), (12000, "year")]

    # Archive the monthly price: only its row changes.
    page.get_by_test_id("archive-price").first.click()
    expect(page.get_by_test_id("restore-price")).to_have_count(1)
    assert page.evaluate("window.__same_page") is True
    assert Price.objects.get(product=product, interval="month").active is False

    # The list shows the product with its (active) price; the live search narrows it.
    page.get_by_role("link", name="Products", exact=True).click()
    expect(page.get_by_test_id("product-row")).to_contain_text("£120.00 / year")
    page.get_by_test_id("search").press_sequentially("nothing-like-this", delay=20)
    expect(page.get_by_test_id("product-row")).to_have_count(0)
    expect(page).to_have_url(f"{base}/dashboard/products/?q=nothing-like-this&status=active&sort=-created")

    # A fixed-amount discount: the percentage field steps aside.
    page.get_by_role("link", name="Discounts", exact=True).click()
    page.get_by_test_id("new-discount").click()
    page.get_by_label("Promotion code").fill("FIVEOFF")
    page.get_by_text("Fixed amount off", exact=True).click()
    expect(page.locator("input[name=percent_off]")).to_be_hidden()
    page.locator("input[name=amount_off]").fill("5")
    page.get_by_label("Total redemptions limit").fill("100")
    page.get_by_test_id("save-discount").click()
    expect(page.get_by_test_id("discount-title")).to_have_text("FIVEOFF")
    expect(page.get_by_test_id("redemption-count")).to_have_text("0 / 100")
    discount = Discount.objects.get(merchant=merchant)
    assert [(a.currency, a.amount_off_minor) for a in discount.amount_list()] == [("GBP", 500)]

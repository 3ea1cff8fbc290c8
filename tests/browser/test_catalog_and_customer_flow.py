"""Issue 3's journey in one browser session: a product with a monthly and a yearly price, a discount,
a customer, and finding that customer with the live search — all through the dashboard."""
import pytest
from django.db import connections
from playwright.sync_api import expect, sync_playwright

from apps.catalog.models import Discount, Price, Product
from apps.customers.models import Customer
from tests.factories import make_merchant, owner_membership

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


@pytest.fixture
def page(chromium_path):
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 900}, timezone_id="Europe/London")
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.on("dialog", lambda dialog: dialog.accept())
        try:
            yield page
        finally:
            connections.close_all()  # the live server's threads must not hold connections at teardown
            context.close()
            browser.close()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_product_prices_discount_customer_and_search(live_server, page):
    base = live_server.url
    merchant = make_merchant(name="Northwind Coffee Roasters", live_enabled=False)
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=login]", owner_membership(merchant).user.email)
    page.fill("input[name=password]", "correct-horse-battery")
    page.locator("form button[type=submit]").first.click()
    expect(page).to_have_url(f"{base}/dashboard/")

    # A product with a monthly and a yearly price, added inline.
    page.get_by_role("link", name="Products", exact=True).click()
    page.get_by_test_id("new-product").click()
    page.get_by_label("Name").fill("Coffee Club")
    page.get_by_test_id("save-product").click()
    expect(page.get_by_test_id("product-name")).to_have_text("Coffee Club")
    page.get_by_text("Recurring", exact=True).click()
    page.locator("input[name=amount]").fill("12.00")
    page.locator("select[name=interval]").select_option("month")
    page.get_by_test_id("add-price").click()
    expect(page.get_by_test_id("price-row")).to_have_count(1)
    page.locator("input[name=amount]").fill("120.00")
    page.locator("select[name=interval]").select_option("year")
    page.get_by_test_id("add-price").click()
    expect(page.get_by_test_id("price-row")).to_have_count(2)
    product = Product.objects.get(merchant=merchant, name="Coffee Club")
    assert sorted((p.unit_amount_minor, p.currency, p.interval) for p in Price.objects.filter(product=product)) == [
        (1200, "GBP", "month"), (12000, "GBP", "year")]

    # A percentage discount with a promotion code.
    page.get_by_role("link", name="Discounts", exact=True).click()
    page.get_by_test_id("new-discount").click()
    page.get_by_label("Promotion code").fill("welcome10")
    page.locator("input[name=percent_off]").fill("10")
    page.get_by_test_id("save-discount").click()
    expect(page.get_by_test_id("discount-title")).to_have_text("WELCOME10", ignore_case=True)
    discount = Discount.objects.get(merchant=merchant)
    assert discount.percent_off == 10 and discount.code.upper() == "WELCOME10"

    # A customer, then find them by the live search among others.
    page.get_by_role("link", name="Customers", exact=True).first.click()
    page.get_by_test_id("new-customer").click()
    page.get_by_label("Email").fill("grace@example.com")
    page.locator('input[name="name"]').fill("Grace Hopper")
    page.get_by_test_id("save-customer").click()
    expect(page.get_by_test_id("customer-name")).to_have_text("Grace Hopper")
    page.get_by_role("link", name="Customers", exact=True).first.click()
    page.get_by_test_id("new-customer").click()
    page.get_by_label("Email").fill("alan@example.com")
    page.locator('input[name="name"]').fill("Alan Turing")
    page.get_by_test_id("save-customer").click()
    expect(page.get_by_test_id("customer-name")).to_have_text("Alan Turing")
    assert Customer.objects.filter(merchant=merchant).count() == 2

    page.get_by_role("link", name="Customers", exact=True).first.click()
    expect(page.get_by_test_id("customer-row")).to_have_count(2)
    page.get_by_test_id("customer-search").press_sequentially("hopper", delay=20)
    expect(page.get_by_test_id("customer-row")).to_have_count(1)
    expect(page.get_by_test_id("customers-table")).to_contain_text("grace@example.com")

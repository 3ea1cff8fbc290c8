"""A new merchant, end to end in a real browser: sign up, onboard, create a sandbox key, call the API."""
import os

import httpx
import pytest
from django.db import connections
from playwright.sync_api import expect, sync_playwright

from apps.accounts.models import ApiKey, Merchant

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
SCREENSHOT_DIR = os.environ.get("SCREENSHOT_DIR", "/tmp")


@pytest.fixture
def browser_page(chromium_path):
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 860}, timezone_id="Europe/London")
        page = context.new_page()
        page.set_default_timeout(15_000)
        try:
            yield page
        finally:
            # ORM calls made while Playwright's greenlet is active get their own connection, which
            # pytest-django does not know about; close it or the test database cannot be dropped.
            connections.close_all()
            context.close()
            browser.close()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_signup_onboarding_and_first_api_call(live_server, browser_page):
    page = browser_page
    base = live_server.url

    # Sign up with email + password; a fresh account lands in onboarding.
    page.goto(f"{base}/")
    expect(page.get_by_test_id("login-by-code")).to_contain_text("Email me a sign-in code")
    page.get_by_role("link", name="Create an account").click()
    page.get_by_label("Email").fill("founder@nimbus.example")
    page.get_by_label("Password").fill("a-very-good-passphrase")
    page.get_by_test_id("signup-submit").click()
    expect(page).to_have_url(f"{base}/onboarding/business/")

    # Step 1: business details. The time zone is pre-filled from the browser.
    expect(page.get_by_label("Time zone")).to_have_value("Europe/London")
    page.get_by_label("Business name").fill("Nimbus Labs Ltd")
    page.get_by_label("Display name").fill("Nimbus")
    page.get_by_label("Country").select_option("GB")
    page.get_by_label("Settlement currency").select_option("GBP")
    page.get_by_label("Website").fill("https://nimbus.example")
    page.get_by_test_id("onboarding-continue").click()

    # Step 2: branding, with the live preview following the colour inputs.
    expect(page).to_have_url(f"{base}/onboarding/branding/")
    page.get_by_label("Brand colour").fill("#0f766e")
    expect(page.locator('[data-preview-value="brand_color"]')).to_have_text("#0F766E")
    page.get_by_test_id("onboarding-continue").click()

    # Step 3: the sandbox gateway is already connected to the simulator.
    expect(page).to_have_url(f"{base}/onboarding/gateway/")
    expect(page.get_by_test_id("gateway-account")).to_contain_text("Connected (sandbox simulator)")
    page.get_by_test_id("onboarding-continue").click()

    # Step 4: done.
    expect(page).to_have_url(f"{base}/onboarding/done/")
    merchant = Merchant.objects.get()
    assert (merchant.name, merchant.timezone, merchant.brand_color, merchant.onboarding_step) == (
        "Nimbus Labs Ltd", "Europe/London", "#0f766e", "done")

    page.goto(f"{base}/dashboard/")
    expect(page.get_by_test_id("sandbox-banner")).to_be_visible()
    expect(page.get_by_test_id("onboarding-checklist")).to_contain_text("Create your first API key")
    page.screenshot(path=f"{SCREENSHOT_DIR}/revkeen_dashboard_home.png", full_page=True)

    # API keys: create a sandbox key; it is shown exactly once.
    page.get_by_role("link", name="API keys").first.click()
    expect(page).to_have_url(f"{base}/dashboard/developers/api-keys/")
    page.get_by_label("Key name").fill("Backend server")
    page.get_by_test_id("create-api-key").click()
    secret_box = page.get_by_test_id("new-api-key")
    expect(secret_box).to_be_visible()
    secret = secret_box.inner_text().strip()
    assert secret.startswith("rk_sandbox_")
    expect(page.get_by_test_id("api-keys-table")).to_contain_text("Backend server")
    page.screenshot(path=f"{SCREENSHOT_DIR}/revkeen_api_keys.png", full_page=True)

    page.reload()
    expect(page.get_by_test_id("api-keys-table")).to_contain_text("Backend server")
    expect(page.get_by_test_id("new-api-key")).to_have_count(0)
    assert secret not in page.content()
    assert ApiKey.objects.count() == 1  # the reload did not create a second key

    # The key works against the API and sees this merchant's own events.
    response = httpx.get(f"{base}/v2/events", headers={"x-api-key": secret}, timeout=10)
    assert response.status_code == 200
    types = {event["type"] for event in response.json()["data"]}
    assert {"merchant.created", "api_key.created"} <= types

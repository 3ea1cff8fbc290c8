import os
import shutil
from dataclasses import dataclass

import pytest
from django.db import connection
from rest_framework.test import APIClient

from tests.factories import make_api_key, make_merchant

USING_POSTGRES = bool(os.environ.get("DATABASE_URL"))
requires_postgres = pytest.mark.skipif(not USING_POSTGRES, reason="needs PostgreSQL (make test uses it when it answers)")


def pytest_collection_modifyitems(config, items):
    # Browser tests run last: Playwright's event loop must not meet other async tests (STACK.md).
    items.sort(key=lambda item: 1 if item.get_closest_marker("browser") else 0)


@pytest.fixture(scope="session", autouse=True)
def _flush_test_redis():
    url = os.environ.get("REDIS_URL")
    if url:
        import redis

        redis.Redis.from_url(url).flushdb()
    yield


@dataclass
class Tenant:
    merchant: object
    sandbox_key: str
    live_key: str

    def client(self, *, live: bool = False) -> APIClient:
        client = APIClient()
        client.credentials(HTTP_X_API_KEY=self.live_key if live else self.sandbox_key)
        return client


@pytest.fixture
def tenant(db):
    merchant = make_merchant(name="Acme Ltd")
    return Tenant(merchant, make_api_key(merchant), make_api_key(merchant, livemode=True))


@pytest.fixture
def other_tenant(db):
    merchant = make_merchant(name="Globex Corp")
    return Tenant(merchant, make_api_key(merchant), make_api_key(merchant, livemode=True))


@pytest.fixture
def api(tenant) -> APIClient:
    return tenant.client()


@pytest.fixture
def chromium_path():
    path = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
    if not os.path.exists(path):
        if os.environ.get("CI") or os.environ.get("REQUIRE_SERVICES") == "1":
            pytest.fail(f"Chromium not found at {path}; .ci/run installs Debian's chromium")
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    return path


CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


@pytest.fixture
def page(chromium_path):
    """A desktop-sized Playwright page in Debian's Chromium (a module may define its own `page`)."""
    from django.db import connections
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1366, "height": 900}, timezone_id="Europe/London")
        page = context.new_page()
        page.set_default_timeout(20_000)
        try:
            yield page
        finally:
            connections.close_all()  # the live server's threads must not hold connections at teardown
            context.close()
            browser.close()


def is_postgres() -> bool:
    return connection.vendor == "postgresql"


# --- dashboard (htmx views) ------------------------------------------------------------------------
@pytest.fixture
def owner_client(client, tenant):
    """The test client signed in as the owner of `tenant`'s merchant (sandbox mode, as a new session is)."""
    from tests.factories import owner_membership

    client.force_login(owner_membership(tenant.merchant).user)
    return client


@pytest.fixture
def login_as(client, tenant):
    """Signs a new team member of `tenant`'s merchant with `role` into the test client."""
    from tests.factories import make_member

    def login(role: str):
        client.force_login(make_member(tenant.merchant, role=role).user)
        return client

    return login

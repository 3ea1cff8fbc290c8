import pytest

from apps.core.actors import Actor
from apps.core.tenancy import Tenant as CoreTenant


@pytest.fixture
def sandbox(tenant) -> CoreTenant:
    """The `tenant` fixture's merchant in sandbox mode, as services take it."""
    return CoreTenant(tenant.merchant, livemode=False)


@pytest.fixture
def actor() -> Actor:
    return Actor.system("tests")


# --- dashboard (views) fixtures: the same shape as tests/accounts/conftest.py, which this package does
# not see. `shop` may use live mode, so tests can switch the dashboard between modes.
@pytest.fixture
def shop(db):
    from tests.factories import make_merchant

    return make_merchant(name="Northwind Test Roasters", live_enabled=True)


@pytest.fixture
def shop_sandbox(shop) -> CoreTenant:
    return CoreTenant(shop, livemode=False)


@pytest.fixture
def shop_live(shop) -> CoreTenant:
    return CoreTenant(shop, livemode=True)


@pytest.fixture
def owner(shop):
    from tests.factories import owner_membership

    return owner_membership(shop)


@pytest.fixture
def owner_client(client, owner):
    client.force_login(owner.user)
    return client


@pytest.fixture
def member_client(client, shop):
    """Logs a new member of `shop` with the given role into the test client; returns the membership."""
    from tests.factories import make_member

    def login(role: str, **extra):
        membership = make_member(shop, role=role, **extra)
        client.force_login(membership.user)
        return membership

    return login

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


# --- dashboard (htmx views) ------------------------------------------------------------------------
@pytest.fixture
def live(tenant) -> CoreTenant:
    """The `tenant` fixture's merchant in live mode."""
    return CoreTenant(tenant.merchant, livemode=True)


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
        membership = make_member(tenant.merchant, role=role)
        client.force_login(membership.user)
        return client

    return login


@pytest.fixture
def switch_mode():
    """switch_mode(client, live=True): the dashboard's mode switch, through its own view."""
    from django.urls import reverse

    def switch(client, *, live: bool):
        response = client.post(reverse("dashboard:mode_switch"), {"mode": "live" if live else "sandbox"})
        assert response.status_code == 302

    return switch


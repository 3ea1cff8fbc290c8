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
def switch_mode():
    """switch_mode(client, live=True): the dashboard's mode switch, through its own view."""
    from django.urls import reverse

    def switch(client, *, live: bool):
        response = client.post(reverse("dashboard:mode_switch"), {"mode": "live" if live else "sandbox"})
        assert response.status_code == 302

    return switch


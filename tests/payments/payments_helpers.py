"""Shared fixtures for the payments service/API tests: a merchant whose sandbox gateway account points
at the simulator's live server (real HTTP through the NMI adapter)."""
from __future__ import annotations

import pytest

from apps.accounts.models import GatewayAccount
from apps.core.actors import Actor
from apps.core.tenancy import Tenant as CoreTenant

payments_db = pytest.mark.django_db(transaction=True)


@pytest.fixture
def shop(tenant, nmi_simulator, settings):
    """The `tenant` fixture's merchant (GB) with its sandbox gateway pointed at the running simulator."""
    settings.NMI_READ_TIMEOUT_SECONDS = 10
    GatewayAccount.objects.filter(merchant=tenant.merchant).update(api_url=nmi_simulator.url)
    return tenant


@pytest.fixture
def sandbox(shop) -> CoreTenant:
    return CoreTenant(shop.merchant, livemode=False)


@pytest.fixture
def actor() -> Actor:
    return Actor.system("tests")

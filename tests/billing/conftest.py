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

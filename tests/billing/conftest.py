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


# Card payments through the real adapter against the NMI simulator (the payments tests' fixtures).
from tests.payments.conftest import nmi_simulator, sim_account  # noqa: E402, F401
from tests.payments.payments_helpers import payments_db, shop  # noqa: E402, F401


@pytest.fixture
def gateway_sandbox(shop) -> CoreTenant:  # noqa: F811
    """`tenant`'s merchant in sandbox mode with its gateway pointed at the running simulator."""
    return CoreTenant(shop.merchant, livemode=False)

import pytest

from apps.core.actors import Actor
from apps.core.tenancy import Tenant as CoreTenant
from tests.payments.conftest import nmi_simulator, sim_account  # noqa: F401
from tests.payments.payments_helpers import shop  # noqa: F401


@pytest.fixture
def sandbox(tenant) -> CoreTenant:
    """`tenant`'s merchant in sandbox mode, without the gateway simulator."""
    return CoreTenant(tenant.merchant, livemode=False)


@pytest.fixture
def gateway_sandbox(shop) -> CoreTenant:  # noqa: F811
    """`tenant`'s merchant in sandbox mode with its gateway pointed at the running simulator."""
    return CoreTenant(shop.merchant, livemode=False)


@pytest.fixture
def actor() -> Actor:
    return Actor.system("tests")

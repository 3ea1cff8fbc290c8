import pytest

from apps.core.actors import Actor
from apps.core.tenancy import Tenant as CoreTenant


@pytest.fixture
def sandbox(tenant) -> CoreTenant:
    """The `tenant` fixture's merchant in sandbox mode, as services take it."""
    return CoreTenant(tenant.merchant, livemode=False)


@pytest.fixture
def vat(sandbox):
    """A 20 % VAT rate in the merchant's own country (the test merchants are in GB)."""
    from decimal import Decimal

    from apps.billing.models import TaxRate

    return TaxRate.objects.create(merchant=sandbox.merchant, livemode=False, name="VAT", percentage=Decimal("20"),
                                  country=sandbox.merchant.country)


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

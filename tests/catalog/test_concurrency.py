"""Real concurrent transactions on PostgreSQL (ARCHITECTURE.md rule 8)."""
import threading

import pytest
from django.db import connection

from apps.catalog import services
from apps.catalog.models import Discount, DiscountRedemption, Entitlement
from apps.core.actors import Actor
from apps.core.money import Money
from apps.core.tenancy import Tenant as CoreTenant
from tests.conftest import requires_postgres
from tests.factories import make_benefit, make_customer, make_discount

pytestmark = [requires_postgres, pytest.mark.concurrency, pytest.mark.django_db(transaction=True)]


def race(n, call):
    """Runs call(i) in n threads released together; returns each thread's result or exception."""
    barrier = threading.Barrier(n)
    results: list = [None] * n

    def worker(index):
        try:
            barrier.wait()
            results[index] = call(index)
        except Exception as exc:  # collected and asserted on by the test
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_twenty_concurrent_redemptions_of_a_code_limited_to_five(tenant):
    sandbox = CoreTenant(tenant.merchant, livemode=False)
    discount = make_discount(sandbox, code="FLASH5", max_redemptions=5)

    def redeem(i):
        return services.discount_redeem(tenant=sandbox, code="flash5", amount=Money(10000, "USD"),
                                        customer=f"buyer{i}@example.com", actor=Actor.system("race"))

    results = race(20, redeem)
    won = [r for r in results if isinstance(r, DiscountRedemption)]
    lost = [r for r in results if isinstance(r, services.DiscountNotApplicable)]
    assert len(won) == 5 and len(lost) == 15, results
    assert all("redemption limit" in str(r.fields) for r in lost)
    assert Discount.objects.get(pk=discount.pk).times_redeemed == 5
    assert DiscountRedemption.objects.filter(discount=discount).count() == 5


def test_concurrent_grants_of_one_benefit_make_one_entitlement(tenant):
    sandbox = CoreTenant(tenant.merchant, livemode=False)
    customer = make_customer(sandbox)
    benefit = make_benefit(sandbox, key="pro")

    def grant(i):
        return services.entitlement_grant(tenant=sandbox, customer=customer, benefit=benefit, source="api",
                                          actor=Actor.system("race"))

    results = race(8, grant)
    assert all(isinstance(r, Entitlement) for r in results), results
    assert len({r.pk for r in results}) == 1
    assert sum(1 for r in results if r.newly_granted) == 1
    assert Entitlement.objects.filter(customer=customer).count() == 1

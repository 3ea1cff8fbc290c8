"""Ledger adjustments: an operator's signed correction or reserve, paid out (or debited) with the next payout,
recorded through the service or Django admin; bad input writes nothing."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse

from apps.core.actors import Actor
from apps.core.clock import today
from apps.core.errors import NotFound, ValidationFailed
from apps.core.models import Event
from apps.core.money import Money
from apps.core.tenancy import Tenant
from apps.payments import services
from apps.payments.models import Payout, Transaction
from tests.factories import make_member
from tests.payments.payouts_helpers import line_net, make_payment, make_sale

ACTOR = Actor.system("tests")


def _currency(tenant: Tenant) -> str:
    return tenant.merchant.settlement_currency


def test_an_adjustment_joins_the_next_payout_to_the_cent(sandbox_tenant):
    currency = _currency(sandbox_tenant)
    sale = make_sale(sandbox_tenant, 10_000, available_on=today(), currency=currency)
    reserve = services.adjustment_create(tenant=sandbox_tenant, actor=ACTOR, amount=Money(-2_500, currency),
                                         description="Rolling reserve, released in 30 days")
    credit = services.adjustment_create(tenant=sandbox_tenant, actor=ACTOR, amount=Money(199, currency),
                                        description="Goodwill credit", payment=sale.payment)
    assert (reserve.type, reserve.payment_id, reserve.available_on is not None) == ("adjustment", None, True)
    assert credit.payment_id == sale.payment_id
    assert Event.objects.filter(type="balance.adjustment_created").count() == 2

    services.payouts_create_due(today=max(reserve.available_on, sale.available_on) + timedelta(days=7))
    payouts = Payout.objects.filter(merchant=sandbox_tenant.merchant, livemode=False)
    assert sum(p.adjustments_minor for p in payouts) == -2_500 + 199
    assert sum(p.amount_minor for p in payouts) == line_net(sale) - 2_500 + 199
    assert set(Transaction.objects.filter(payout__in=payouts).values_list("pk", flat=True)) == {
        sale.pk, reserve.pk, credit.pk}


@pytest.mark.parametrize("amount, description, field", [
    (0, "Correction", "amount"),
    (100, "   ", "description"),
    (100, "x" * 201, "description"),
])
def test_bad_adjustments_are_refused_and_write_nothing(sandbox_tenant, amount, description, field):
    with pytest.raises(ValidationFailed) as refused:
        services.adjustment_create(tenant=sandbox_tenant, actor=ACTOR, amount=Money(amount, _currency(sandbox_tenant)),
                                   description=description)
    assert field in refused.value.fields
    assert not Transaction.objects.exists()


def test_only_the_settlement_currency_and_the_merchants_own_payments(sandbox_tenant, other_tenant):
    other = "EUR" if _currency(sandbox_tenant) != "EUR" else "USD"
    with pytest.raises(ValidationFailed) as refused:
        services.adjustment_create(tenant=sandbox_tenant, actor=ACTOR, amount=Money(100, other), description="Fx")
    assert "settlement currency" in refused.value.fields["amount"][0]
    elsewhere = make_payment(Tenant(other_tenant.merchant, livemode=False), 500)
    with pytest.raises(NotFound):
        services.adjustment_create(tenant=sandbox_tenant, actor=ACTOR, amount=Money(100, _currency(sandbox_tenant)),
                                   description="Wrong merchant", payment=elsewhere)
    assert not Transaction.objects.exists()


def test_operators_record_adjustments_in_admin_and_the_payout_page_shows_them(admin_client, client, sandbox_tenant,
                                                                           owner_client):
    url = reverse("admin:payments_transaction_record_adjustment")
    assert "Record a balance adjustment" in admin_client.get(reverse("admin:payments_transaction_changelist")).content.decode()
    bad = admin_client.post(url, {"merchant": sandbox_tenant.merchant.pk, "amount": "12.345", "description": "x"})
    assert bad.status_code == 200 and "at most" in bad.content.decode() and not Transaction.objects.exists()
    done = admin_client.post(url, {"merchant": sandbox_tenant.merchant.pk, "amount": "-25.00",
                                   "description": "Reserve for chargebacks"})
    assert done.status_code == 302, done.content.decode()[:2000]
    adjustment = Transaction.objects.get(type="adjustment")
    assert (adjustment.amount_minor, adjustment.livemode, adjustment.description) == (-2500, False,
                                                                                      "Reserve for chargebacks")
    staff = make_member(sandbox_tenant.merchant, role="owner").user
    staff.is_staff = True
    staff.save(update_fields=["is_staff"])
    client.force_login(staff)
    assert client.get(url).status_code in (302, 403)

    services.payouts_create_due(today=adjustment.available_on + timedelta(days=7))
    payout = Payout.objects.get(merchant=sandbox_tenant.merchant, transactions=adjustment)
    page = owner_client.get(reverse("dashboard:payout_detail", args=[payout.pk])).content.decode()
    assert "Reserve for chargebacks" in page

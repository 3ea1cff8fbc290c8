"""Tenancy probes for the payments payouts routes (see tests/tenancy_probes.py).

A payout is made the way the service makes it: a settled sale written with the ORM, then
payout_create_for on the tenant's gateway account (the probe tenants' accounts are made here when the
mode has none, e.g. live)."""
from __future__ import annotations

from datetime import date

from apps.accounts.models import GatewayAccount
from apps.core.tenancy import Tenant
from apps.payments import services
from tests.payments.payouts_helpers import make_sale
from tests.tenancy_probes import Probe, register


def _payout_id(tenant: Tenant) -> str:
    account, _ = GatewayAccount.objects.get_or_create(
        merchant=tenant.merchant, livemode=tenant.livemode,
        defaults={"api_url": "https://gateway.example.test", "security_key": "probe"})
    make_sale(tenant, 1234, available_on=date(2026, 3, 2))
    return services.payout_create_for(gateway_account=account, payout_date=date(2026, 3, 2)).pk


register("payouts_list", Probe("list", path="/v2/payouts?limit=100", make=_payout_id))
register("payouts_get", Probe("detail", path="/v2/payouts/{id}", make=_payout_id))
register("payouts_payments_list", Probe("detail", path="/v2/payouts/{id}/payments", make=_payout_id))

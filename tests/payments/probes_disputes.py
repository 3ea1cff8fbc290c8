"""Tenancy probes for the payments disputes routes (see tests/tenancy_probes.py).

Disputes are written with the ORM (a chargeback from the gateway is exercised in test_disputes.py):
the other merchant's key and the owner's live key must neither list nor read them."""
from __future__ import annotations

from datetime import timedelta

from apps.accounts.models import GatewayAccount
from apps.core.clock import now
from apps.core.ids import new_id
from apps.core.tenancy import Tenant
from apps.payments.models import Dispute
from tests.payments.probes import _payment
from tests.tenancy_probes import Probe, register


def make_dispute(tenant: Tenant, *, status: str = "needs_response", customer=None, amount_minor: int = 1000,
                 disputed_at=None, due_in_days: int = 7) -> Dispute:
    payment = _payment(tenant, customer=customer)
    account, _ = GatewayAccount.objects.get_or_create(
        merchant=tenant.merchant, livemode=tenant.livemode,
        defaults={"api_url": "http://127.0.0.1:9/", "security_key": f"sim_probe_{new_id('k')}"})
    disputed_at = disputed_at or now()
    return Dispute.objects.create(
        merchant=tenant.merchant, livemode=tenant.livemode, payment=payment, customer=customer,
        gateway_account=account, gateway_dispute_id=new_id("cb"), amount_minor=amount_minor, currency="GBP",
        fee_minor=1500, reason="fraudulent", network_reason_code="10.4", status=status, disputed_at=disputed_at,
        evidence_due_by=disputed_at + timedelta(days=due_in_days))


def _dispute_id(tenant: Tenant) -> str:
    return make_dispute(tenant).pk


register("disputes_list", Probe("list", path="/v2/disputes?limit=100", make=_dispute_id))
register("disputes_get_open", Probe("list", path="/v2/disputes/open?limit=100", make=_dispute_id))
register("disputes_get", Probe("detail", path="/v2/disputes/{id}", make=_dispute_id))

"""Tenancy probes for the billing routes (see tests/tenancy_probes.py).

The intervals and anchor-rules lists are static reference data (no tenant data): "public". The
preview reads a stored price when given `price_id`, so it is probed like a detail route: the body
names the owner's recurring price; the other merchant and the owner's live key get 404, the owner 200.
"""
from __future__ import annotations

from apps.core.tenancy import Tenant
from tests.factories import make_price
from tests.tenancy_probes import Probe, register


def _preview_body(tenant: Tenant) -> dict:
    price = make_price(tenant, unit_amount_minor=1000, interval="month", interval_count=1)
    return {"price_id": price.pk, "count": 3}


register("billing_intervals_list", Probe("public"))
register("billing_anchor_rules_list", Probe("public"))
register("billing_preview_create", Probe("detail", method="POST", path="/v2/billing/preview", body=_preview_body,
                                         make=lambda tenant: "preview"))

from tests.billing import probes_credit_notes, probes_invoices  # noqa: E402, F401

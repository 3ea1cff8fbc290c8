"""Tenancy probes for the payment-link and checkout-session routes (see tests/tenancy_probes.py).

Objects are made through the services. The create routes name the owner's price in their body, so the other
merchant's key and the owner's live key are refused (404), and the created object is 404 for them.
"""
from __future__ import annotations

from apps.checkout import services
from apps.core.actors import Actor
from apps.core.tenancy import Tenant
from tests.factories import make_price
from tests.tenancy_probes import Probe, register

ACTOR = Actor.system("probe")


def _link_id(tenant: Tenant) -> str:
    price = make_price(tenant, unit_amount_minor=1200, currency="GBP")
    return services.payment_link_create(tenant=tenant, actor=ACTOR, name="Probe link",
                                        items=[services.LinkItemInput(price=price)]).pk


def _session_id(tenant: Tenant) -> str:
    price = make_price(tenant, unit_amount_minor=1200, currency="GBP")
    return services.checkout_session_create(tenant=tenant, actor=ACTOR, items=[services.ItemInput(price=price)],
                                            customer_email="probe@example.com").pk


def _link_body(tenant: Tenant) -> dict:
    return {"name": "Probe", "priceId": make_price(tenant, unit_amount_minor=1200, currency="GBP").pk}


def _session_body(tenant: Tenant) -> dict:
    price = make_price(tenant, unit_amount_minor=1200, currency="GBP")
    return {"mode": "payment", "line_items": [{"price_id": price.pk, "quantity": 1}]}


register("payment_links_list", Probe("list", path="/v2/payment-links?limit=100", make=_link_id))
register("payment_links_create", Probe("create", path="/v2/payment-links", body=_link_body,
                                       detail_path="/v2/payment-links/{id}", ok_status=201))
register("payment_links_get", Probe("detail", path="/v2/payment-links/{id}", make=_link_id))
register("payment_links_update", Probe("detail", method="PATCH", path="/v2/payment-links/{id}/status",
                                       make=_link_id, body={"status": "inactive"}))
register("payment_links_activate", Probe("detail", method="POST", path="/v2/payment-links/{id}/activate",
                                         make=_link_id))
register("payment_links_archive", Probe("detail", method="POST", path="/v2/payment-links/{id}/archive",
                                        make=_link_id))
register("payment_links_deactivate", Probe("detail", method="POST", path="/v2/payment-links/{id}/deactivate",
                                           make=_link_id))
register("payment_links_expire", Probe("detail", method="POST", path="/v2/payment-links/{id}/expire",
                                       make=_link_id))
register("checkout_sessions_create", Probe("create", path="/v2/checkout-sessions", body=_session_body,
                                           detail_path="/v2/checkout-sessions/{id}", ok_status=201))
register("checkout_sessions_get", Probe("detail", path="/v2/checkout-sessions/{id}", make=_session_id))
register("checkout_sessions_expire", Probe("detail", method="POST", path="/v2/checkout-sessions/{id}/expire",
                                           make=_session_id))

"""Tenancy probes for the invoices and orders routes (see tests/tenancy_probes.py).

Objects are made through the services (no gateway call). Every route that names an invoice, order or
customer is a "detail" probe: the other merchant and the owner's live key get 404 resource_missing, and
the owner's own call reaches the object — it succeeds where that is cheap and moves no card money
(finalize, send, void, an outside cash payment, mark uncollectible, cancel) or meets a business rule
(422: approving or rejecting a draft, fulfilling an unpaid order, paying a canceled order). The create
and upsert routes name the owner's customer in their body, so the other keys are refused (404/400).
"""
from __future__ import annotations

from apps.billing import services
from apps.core.actors import Actor
from apps.core.tenancy import Tenant
from tests.factories import make_customer, make_price
from tests.tenancy_probes import Probe, register

ACTOR = Actor.system("probe")


def _customer(tenant: Tenant):
    return make_customer(tenant, name="Probe Customer", currency="GBP")


def _draft(tenant: Tenant, *, finalize: bool = False):
    invoice = services.invoice_create(tenant=tenant, actor=ACTOR, customer=_customer(tenant), lines=[
        services.LineInput(description="Probe work", unit_amount_minor=1500)])
    if finalize:
        invoice = services.invoice_finalize(tenant=tenant, actor=ACTOR, invoice=invoice)
    return invoice


def _draft_id(tenant: Tenant) -> str:
    return _draft(tenant).pk


def _open_id(tenant: Tenant) -> str:
    return _draft(tenant, finalize=True).pk


def _order(tenant: Tenant, *, cancel: bool = False):
    price = make_price(tenant, unit_amount_minor=2500, currency="GBP")
    order = services.order_create(tenant=tenant, actor=ACTOR, customer=_customer(tenant),
                                  line_items=[services.OrderLineInput(price=price)])
    if cancel:
        order = services.order_cancel(tenant=tenant, actor=ACTOR, order=order)
    return order


def _invoice_body(tenant: Tenant) -> dict:
    return {"customer_id": _customer(tenant).pk, "lines": [{"description": "Probe", "amount_minor": 100}]}


def _batch_body(tenant: Tenant) -> dict:
    return {"source": "probe", "invoices": [{"external_id": "PROBE-B1", **_invoice_body(tenant)}]}


def _order_body(tenant: Tenant) -> dict:
    price = make_price(tenant, unit_amount_minor=2500, currency="GBP")
    return {"customer_id": _customer(tenant).pk, "line_items": [{"price_id": price.pk, "quantity": 1}]}


# --- invoices -----------------------------------------------------------------------------------------
register("invoices_list", Probe("list", path="/v2/invoices?limit=100", make=_draft_id))
register("invoices_create", Probe("create", path="/v2/invoices", body=_invoice_body, detail_path="/v2/invoices/{id}",
                                  ok_status=201))
register("invoices_get", Probe("detail", path="/v2/invoices/{id}", make=_draft_id))
register("invoices_update", Probe("detail", method="PATCH", path="/v2/invoices/{id}", make=_draft_id,
                                  body={"memo": "probe"}))
register("invoices_delete", Probe("detail", method="DELETE", path="/v2/invoices/{id}", make=_draft_id))
register("invoices_finalize", Probe("detail", method="POST", path="/v2/invoices/{id}/finalize", make=_draft_id))
register("invoices_send", Probe("detail", method="POST", path="/v2/invoices/{id}/send", make=_open_id))
register("invoices_void", Probe("detail", method="POST", path="/v2/invoices/{id}/void", make=_open_id,
                                body={"reason": "probe"}))
register("invoices_pay", Probe("detail", method="POST", path="/v2/invoices/{id}/pay", make=_open_id,
                               body={"payment_method": "cash"}))
register("invoices_reject", Probe("detail", method="POST", path="/v2/invoices/{id}/reject", make=_draft_id,
                                  ok_status=422))
register("invoices_approve", Probe("detail", method="POST", path="/v2/invoices/{id}/approve", make=_draft_id,
                                   ok_status=422))
register("invoices_mark_uncollectible", Probe("detail", method="POST", path="/v2/invoices/{id}/mark-uncollectible",
                                              make=_open_id))
register("invoices_comments_list", Probe("detail", path="/v2/invoices/{id}/comments", make=_draft_id))
register("invoices_comments_add", Probe("detail", method="POST", path="/v2/invoices/{id}/comments", make=_draft_id,
                                        body={"body": "probe"}, ok_status=201))
register("invoices_external_upsert_by_external_id", Probe(
    "create", method="PUT", path="/v2/invoices/external/probe/PROBE-1", body=_invoice_body,
    detail_path="/v2/invoices/{id}", ok_status=201))
register("invoices_external_batch", Probe(
    "create", method="PUT", path="/v2/invoices/external/batch", body=_batch_body, detail_path="/v2/invoices/{id}",
    id_from_response=lambda body: body["data"]["results"][0]["id"]))
register("customers_invoices_list", Probe("detail", path="/v2/customers/{id}/invoices",
                                          make=lambda tenant: _customer(tenant).pk))

# --- orders -------------------------------------------------------------------------------------------
register("orders_list", Probe("list", path="/v2/orders?limit=100", make=lambda tenant: _order(tenant).pk))
register("orders_create", Probe("create", path="/v2/orders", body=_order_body, detail_path="/v2/orders/{id}",
                                ok_status=201))
register("orders_get", Probe("detail", path="/v2/orders/{id}", make=lambda tenant: _order(tenant).pk))
register("orders_update", Probe("detail", method="PATCH", path="/v2/orders/{id}",
                                make=lambda tenant: _order(tenant).pk, body={"notes": "probe"}))
register("orders_cancel", Probe("detail", method="POST", path="/v2/orders/{id}/cancel",
                                make=lambda tenant: _order(tenant).pk))
register("orders_fulfill", Probe("detail", method="POST", path="/v2/orders/{id}/fulfill",
                                 make=lambda tenant: _order(tenant).pk, ok_status=422))
register("orders_pay", Probe("detail", method="POST", path="/v2/orders/{id}/pay",
                             make=lambda tenant: _order(tenant, cancel=True).pk, ok_status=422))
register("customers_orders_list", Probe("detail", path="/v2/customers/{id}/orders",
                                        make=lambda tenant: _customer(tenant).pk))

"""Tenancy probes for the payments routes (see tests/tenancy_probes.py).

Rows are written with the ORM (no gateway call). The three money-moving POSTs are probed as "detail"
routes: their body names an object of the owner's, so the other merchant and the owner's live key get
404 resource_missing, and the owner's own call reaches the object and meets a business rule instead
(a detached card 400, a refund before settlement 422, a void of a pending payment 422) — nothing moves.
The full create paths run against the simulator in tests/payments/test_payments_*.py.
"""
from __future__ import annotations

from apps.core.clock import now
from apps.core.ids import new_id
from apps.core.tenancy import Tenant
from apps.payments.models import Payment, PaymentMethod, Refund, Transaction, Void
from tests.factories import make_customer
from tests.tenancy_probes import Probe, register


def _payment(tenant: Tenant, *, status: str = "succeeded", customer=None) -> Payment:
    captured = status == "succeeded"
    return Payment.objects.create(
        merchant=tenant.merchant, livemode=tenant.livemode, customer=customer, amount_minor=1000, currency="GBP",
        status=status, attempt_id=new_id("pat"), amount_captured_minor=1000 if captured else 0,
        captured_at=now() if captured else None, gateway_transaction_id=new_id("gtx") if captured else "")


def _payment_id(tenant: Tenant) -> str:
    return _payment(tenant).pk


def _refund_id(tenant: Tenant) -> str:
    payment = _payment(tenant)
    return Refund.objects.create(merchant=tenant.merchant, livemode=tenant.livemode, payment=payment, amount_minor=100,
                                 currency="GBP", attempt_id=new_id("rat"), status="succeeded").pk


def _void_id(tenant: Tenant) -> str:
    payment = _payment(tenant)
    return Void.objects.create(merchant=tenant.merchant, livemode=tenant.livemode, payment=payment,
                               status="failed").pk


def _transaction_id(tenant: Tenant) -> str:
    payment = _payment(tenant)
    return Transaction.objects.create(merchant=tenant.merchant, livemode=tenant.livemode, payment=payment,
                                      type="sale", amount_minor=1000, currency="GBP").pk


def _customer_id(tenant: Tenant) -> str:
    return make_customer(tenant, name="Probe Payer").pk


def _detached_method_body(tenant: Tenant) -> dict:
    customer = make_customer(tenant, name="Probe Card Holder")
    method = PaymentMethod.objects.create(merchant=tenant.merchant, livemode=tenant.livemode, customer=customer,
                                          gateway_vault_id="probe", brand="visa", last4="4242", status="detached")
    return {"amount_minor": 500, "currency": "GBP", "payment_method_id": method.pk}


register("payments_list", Probe("list", path="/v2/payments?limit=100", make=_payment_id))
register("payments_get", Probe("detail", path="/v2/payments/{id}", make=_payment_id))
register("payments_create", Probe("detail", method="POST", path="/v2/payments", make=lambda tenant: "",
                                  body=_detached_method_body, ok_status=400))
register("refunds_list", Probe("list", path="/v2/refunds?limit=100", make=_refund_id))
register("refunds_get", Probe("detail", path="/v2/refunds/{id}", make=_refund_id))
register("refunds_create", Probe("detail", method="POST", path="/v2/refunds", make=lambda tenant: "",
                                 body=lambda tenant: {"payment_id": _payment_id(tenant), "amount_minor": 100},
                                 ok_status=422))
register("voids_list", Probe("list", path="/v2/voids?limit=100", make=_void_id))
register("voids_get", Probe("detail", path="/v2/voids/{id}", make=_void_id))
register("voids_create", Probe("detail", method="POST", path="/v2/voids", make=lambda tenant: "",
                               body=lambda tenant: {"payment_id": _payment(tenant, status="pending").pk},
                               ok_status=422))
register("transactions_list", Probe("list", path="/v2/transactions?limit=100", make=_transaction_id))
register("transactions_get", Probe("detail", path="/v2/transactions/{id}", make=_transaction_id))
register("customers_payments_list", Probe("detail", path="/v2/customers/{id}/payments", make=_customer_id))
register("customers_payment_methods_list", Probe("detail", path="/v2/customers/{id}/payment-methods",
                                                 make=_customer_id))

register("customers_payment_methods_create", Probe(
    "detail", method="POST", path="/v2/customers/{id}/payment-methods", make=_customer_id,
    body=lambda tenant: {"payment_token": ""}, ok_status=400))

# Each area registers its own probes in its module.
from tests.payments import probes_disputes, probes_intents, probes_payouts  # noqa: E402, F401

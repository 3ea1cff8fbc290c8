"""Tenancy probes for the payment intents and charges routes (see tests/tenancy_probes.py).

Rows are written with the ORM (no gateway call). The money-moving POSTs are probed as "detail" routes: the
object is the owner's, so the other merchant and the owner's live key get 404 resource_missing, and the
owner's own call reaches the object and meets a business rule before any gateway call — confirming a
canceled intent, capturing one that is not authorised, canceling a succeeded one, capturing a charge that
was captured already, refunding one before settlement (422); charging a customer without a default card
(422) — so nothing moves. The full paths run against the simulator in test_intents.py / test_charges_api.py.
"""
from __future__ import annotations

from apps.core.clock import now
from apps.core.ids import new_id
from apps.core.tenancy import Tenant
from apps.payments.models import Payment, PaymentIntent
from tests.factories import make_customer
from tests.tenancy_probes import Probe, register


def _intent(tenant: Tenant, *, status: str = "requires_payment_method") -> PaymentIntent:
    return PaymentIntent.objects.create(merchant=tenant.merchant, livemode=tenant.livemode, amount_minor=1500,
                                        currency="GBP", status=status)


def _intent_id(status: str):
    return lambda tenant: _intent(tenant, status=status).pk


def _charge_id(tenant: Tenant) -> str:
    return Payment.objects.create(
        merchant=tenant.merchant, livemode=tenant.livemode, amount_minor=1000, currency="GBP", status="succeeded",
        attempt_id=new_id("pat"), amount_captured_minor=1000, captured_at=now(),
        gateway_transaction_id=new_id("gtx")).pk


def _customer_body(tenant: Tenant) -> dict:
    return {"customer": make_customer(tenant, name="Probe Intent Payer").pk, "amount_minor": 1500, "currency": "GBP"}


register("payment_intents_list", Probe("list", path="/v2/payment-intents?limit=100",
                                       make=_intent_id("requires_payment_method")))
register("payment_intents_create", Probe("create", path="/v2/payment-intents", body=_customer_body,
                                         detail_path="/v2/payment-intents/{id}", ok_status=201))
register("payment_intents_get", Probe("detail", path="/v2/payment-intents/{id}",
                                      make=_intent_id("requires_payment_method")))
register("payment_intents_update", Probe("detail", method="POST", path="/v2/payment-intents/{id}",
                                         make=_intent_id("requires_payment_method"),
                                         body={"description": "probe", "amount_minor": 1700}))
register("payment_intents_confirm", Probe("detail", method="POST", path="/v2/payment-intents/{id}/confirm",
                                          make=_intent_id("canceled"), ok_status=422))
register("payment_intents_capture", Probe("detail", method="POST", path="/v2/payment-intents/{id}/capture",
                                          make=_intent_id("requires_confirmation"), ok_status=422))
register("payment_intents_cancel", Probe("detail", method="POST", path="/v2/payment-intents/{id}/cancel",
                                         make=_intent_id("succeeded"), ok_status=422))

register("charges_list", Probe("list", path="/v2/charges?limit=100", make=_charge_id))
register("charges_get", Probe("detail", path="/v2/charges/{id}", make=_charge_id))
register("charges_create", Probe("detail", method="POST", path="/v2/charges", make=lambda tenant: "",
                                 body=_customer_body, ok_status=422))
register("charges_capture", Probe("detail", method="POST", path="/v2/charges/{id}/capture", make=_charge_id,
                                  ok_status=422))
register("charges_refund", Probe("detail", method="POST", path="/v2/charges/{id}/refund", make=_charge_id,
                                 body={"amount_minor": 100}, ok_status=422))

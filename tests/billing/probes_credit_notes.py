"""Tenancy probes for the credit note routes (see tests/tenancy_probes.py): every object is made for the
owner in sandbox through the services (a finalized invoice, a credit note with method none)."""
from __future__ import annotations

from apps.billing import services
from apps.core.actors import Actor
from apps.core.money import Money
from apps.core.tenancy import Tenant
from tests.factories import make_customer
from tests.payments.probes import _payment
from tests.tenancy_probes import Probe, register


def make_invoice(tenant: Tenant, unit: int = 5000):
    actor = Actor.system("probe")
    customer = make_customer(tenant, currency="GBP")
    invoice = services.invoice_create(tenant=tenant, actor=actor, customer=customer, lines=[
        services.LineInput(description="Probe", unit_amount_minor=unit)])
    return services.invoice_finalize(tenant=tenant, actor=actor, invoice=invoice)


def _invoice_id(tenant: Tenant) -> str:
    return make_invoice(tenant).pk


def make_credit_note(tenant: Tenant):
    return services.credit_note_create(tenant=tenant, actor=Actor.system("probe"), invoice=make_invoice(tenant),
                                       amount=Money(1000, "GBP"), credit_method="none")


def _note_id(tenant: Tenant) -> str:
    return make_credit_note(tenant).pk


def _create_body(tenant: Tenant) -> dict:
    return {"invoice_id": _invoice_id(tenant), "amount_minor": 500, "credit_method": "none"}


register("credit_notes_list", Probe("list", path="/v2/credit_notes?limit=100", make=_note_id))
register("credit_notes_create", Probe("create", path="/v2/credit_notes", body=_create_body,
                                      detail_path="/v2/credit_notes/{id}", ok_status=201))
register("credit_notes_get", Probe("detail", path="/v2/credit_notes/{id}", make=_note_id))
register("credit_notes_list_lines", Probe("detail", path="/v2/credit_notes/{id}/lines", make=_note_id))
register("credit_notes_void", Probe("detail", method="POST", path="/v2/credit_notes/{id}/void", make=_note_id))
# The owner's control reaches the note and is refused by the business rule (an applied note cannot be retried):
# a 422 naming the note's status proves it was found; the other keys get 404.
register("credit_notes_retry", Probe("detail", method="POST", path="/v2/credit_notes/{id}/retry", make=_note_id,
                                     ok_status=422))
register("credit_notes_preview", Probe("detail", method="POST", path="/v2/credit_notes/preview", body=_create_body,
                                       make=lambda tenant: "preview"))
register("credit_notes_invoice_eligibility", Probe("detail", path="/v2/credit_notes/invoice/{id}/eligibility",
                                                   make=_invoice_id))
register("credit_notes_transaction_reversal_eligibility", Probe(
    "detail", path="/v2/credit_notes/transaction/{id}/reversal-eligibility", make=lambda tenant: _payment(tenant).pk))
register("invoices_credit_eligibility", Probe("detail", path="/v2/invoices/{id}/credit-eligibility", make=_invoice_id))
register("invoices_credit_notes_list", Probe("detail", path="/v2/invoices/{id}/credit-notes", make=_invoice_id))
register("invoices_credit_note_issue", Probe("detail", method="POST", path="/v2/invoices/{id}/credit-notes",
                                             body={"amount_minor": 700, "credit_method": "none"}, make=_invoice_id,
                                             ok_status=201))
register("invoices_refund", Probe("detail", method="POST", path="/v2/invoices/{id}/refund",
                                  body={"amount_minor": 700}, make=_invoice_id, ok_status=201))

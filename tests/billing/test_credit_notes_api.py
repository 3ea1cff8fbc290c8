"""/v2 credit notes over HTTP with real API keys: create (and its aliases), preview and eligibility with no
side effects, lists with filters and a constant number of queries, lines, void, invoices_* routes, errors."""
from __future__ import annotations

import pytest

from apps.billing import services
from apps.billing.models import CreditNote
from apps.core.actors import Actor
from apps.core.money import Money
from apps.core.tenancy import Tenant
from tests.billing.probes_credit_notes import make_invoice
from tests.billing.test_credit_notes import counts

pytestmark = pytest.mark.django_db


@pytest.fixture
def sandbox(tenant) -> Tenant:
    return Tenant(tenant.merchant, livemode=False)


@pytest.fixture
def invoice(sandbox):
    invoice = make_invoice(sandbox, unit=10_000)
    services.invoice_record_payment(tenant=sandbox, actor=Actor.system("t"), invoice=invoice,
                                    amount=Money(4000, "GBP"), method="cash")
    return invoice


def test_create_with_page_025_body_and_get(api, invoice):
    response = api.post("/v2/credit_notes", {"invoice_id": invoice.pk, "amount": 7000,
                                             "credit_method": "refund_to_payment_method",
                                             "reason": "Service not delivered", "auto_route": True,
                                             "customer_present": False, "metadata": {"ticket": "T-1"}}, format="json")
    assert response.status_code == 201, response.content
    data = response.json()["data"]
    assert data["object"] == "credit_note" and data["status"] == "applied" and data["number"].startswith("CN-")
    assert (data["pre_payment_amount_minor"], data["post_payment_amount_minor"]) == (6000, 1000)
    assert data["reason"] == "other" and data["memo"] == "Service not delivered"
    assert data["reversals"][0]["route"] == "outside" and data["metadata"] == {"ticket": "T-1"}
    got = api.get(f"/v2/credit_notes/{data['id']}").json()["data"]
    assert got["id"] == data["id"] and sum(line["amount_minor"] for line in got["lines"]) == 7000
    lines = api.get(f"/v2/credit_notes/{data['id']}/lines").json()
    assert lines["data"][0]["object"] == "credit_note_line" and "pagination" in lines
    invoice.refresh_from_db()
    assert invoice.status == "paid" and invoice.amount_remaining_minor == 0


def test_preview_and_eligibility_have_no_side_effects(api, invoice):
    before = counts()
    preview = api.post("/v2/credit_notes/preview", {"invoice_id": invoice.pk, "amount_minor": 10_000,
                                                    "credit_method": "refund_to_payment_method"}, format="json")
    assert preview.status_code == 200, preview.content
    body = preview.json()["data"]
    assert body["is_final"] and body["invoice_status_after"] == "refunded" and body["can_create"]
    assert body["reversals"][0]["explanation"].startswith("Cash payment of")
    for path in (f"/v2/credit_notes/invoice/{invoice.pk}/eligibility", f"/v2/invoices/{invoice.pk}/credit-eligibility"):
        data = api.get(path).json()["data"]
        assert data["eligible"] and data["max_creditable_amount_minor"] == 10_000
        assert data["payments"][0]["route"] == "outside"
    assert counts() == before


def test_reversal_eligibility_by_payment_and_transaction_id(api, sandbox):
    from apps.payments.models import Transaction
    from tests.payments.probes import _payment

    payment = _payment(sandbox)
    txn = Transaction.objects.create(merchant=sandbox.merchant, livemode=False, type="sale", amount_minor=1000,
                                     currency="GBP", payment=payment)
    for object_id in (payment.pk, txn.pk):
        data = api.get(f"/v2/credit_notes/transaction/{object_id}/reversal-eligibility").json()["data"]
        assert data["payment_id"] == payment.pk and data["route"] == "void" and data["reversible_minor"] == 1000
    assert api.get("/v2/credit_notes/transaction/pay_nope/reversal-eligibility").status_code == 404


@pytest.mark.parametrize("body, field", [
    ({"amount_minor": 100, "credit_method": "none"}, "invoice_id"),
    ({"invoice_id": "X", "amount_minor": "10", "credit_method": "none"}, "amount_minor"),
    ({"invoice_id": "X", "amount_minor": -5, "credit_method": "none"}, "amount_minor"),
    ({"invoice_id": "X", "credit_method": "cash"}, "credit_method"),
    ({"invoice_id": "X"}, "credit_method"),
    ({"invoice_id": "X", "credit_method": "none", "auto_route": False}, "auto_route"),
    ({"invoice_id": "X", "credit_method": "none", "colour": "red"}, "colour"),
    ({"invoice_id": "X", "credit_method": "none", "cancel_subscription": True}, "cancel_subscription"),
    ({"invoice_id": "X", "amount_minor": 10_001, "credit_method": "none"}, "amount_minor"),
])
def test_bad_bodies_are_400_and_write_nothing(api, invoice, body, field):
    body = {k: (invoice.pk if v == "X" else v) for k, v in body.items()}
    before = counts()
    response = api.post("/v2/credit_notes", body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()["error"]["details"]["fields"]
    assert counts() == before


def test_draft_is_422_and_unknown_invoice_404(api, sandbox):
    from tests.factories import make_customer

    draft = services.invoice_create(tenant=sandbox, actor=Actor.system("t"), customer=make_customer(sandbox),
                                    lines=[services.LineInput(description="x", unit_amount_minor=100)])
    response = api.post("/v2/credit_notes", {"invoice_id": draft.pk, "credit_method": "none"}, format="json")
    assert response.status_code == 422 and response.json()["error"]["code"] == "invoice_not_creditable"
    response = api.post("/v2/credit_notes", {"invoice_id": "inv_missing", "credit_method": "none"}, format="json")
    assert response.status_code == 404


def test_invoice_routes_issue_list_refund_and_void(api, invoice):
    issued = api.post(f"/v2/invoices/{invoice.pk}/credit-notes", {"amount_minor": 1000, "credit_method": "none"},
                      format="json")
    assert issued.status_code == 201, issued.content
    refund = api.post(f"/v2/invoices/{invoice.pk}/refund", {}, format="json")
    assert refund.status_code == 201, refund.content
    data = refund.json()["data"]
    assert data["credit_method"] == "refund_to_payment_method" and data["amount_minor"] == 9000 and data["is_final"]
    listed = api.get(f"/v2/invoices/{invoice.pk}/credit-notes").json()["data"]
    assert [n["id"] for n in listed] == [data["id"], issued.json()["data"]["id"]]
    invoice.refresh_from_db()
    assert invoice.status == "refunded"
    void = api.post(f"/v2/credit_notes/{data['id']}/void", {}, format="json")
    assert void.status_code == 422 and void.json()["error"]["code"] == "credit_note_not_voidable"


def test_void_restores_the_invoice(api, invoice):
    note_id = api.post("/v2/credit_notes", {"invoice_id": invoice.pk, "amount_minor": 2500, "credit_method": "none"},
                       format="json").json()["data"]["id"]
    response = api.post(f"/v2/credit_notes/{note_id}/void", {}, format="json")
    assert response.status_code == 200 and response.json()["data"]["status"] == "voided"
    invoice.refresh_from_db()
    assert (invoice.amount_credited_minor, invoice.amount_remaining_minor) == (0, 6000)


def test_list_filters_and_constant_queries(api, sandbox, invoice, django_assert_max_num_queries):
    actor = Actor.system("t")
    for _ in range(3):
        services.credit_note_create(tenant=sandbox, actor=actor, invoice=invoice, amount=Money(500, "GBP"),
                                    credit_method="none")
    other = make_invoice(sandbox, unit=3000)
    services.credit_note_create(tenant=sandbox, actor=actor, invoice=other, credit_method="none")
    CreditNote.objects.filter(invoice=invoice).order_by("created_at").first()
    assert len(api.get("/v2/credit_notes").json()["data"]) == 4
    assert len(api.get(f"/v2/credit_notes?invoice_id={invoice.pk}").json()["data"]) == 3
    assert len(api.get(f"/v2/credit_notes?customer_id={other.customer_id}").json()["data"]) == 1
    assert len(api.get("/v2/credit_notes?status=voided").json()["data"]) == 0
    assert api.get("/v2/credit_notes?status=lost").status_code == 400

    with django_assert_max_num_queries(12) as few:
        api.get("/v2/credit_notes?limit=2")
    for _ in range(6):
        services.credit_note_create(tenant=sandbox, actor=actor, invoice=make_invoice(sandbox, unit=700),
                                    credit_method="none")
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(api.get("/v2/credit_notes?limit=50").json()["data"]) == 10

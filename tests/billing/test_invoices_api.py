"""/v2/invoices through HTTP with real API keys: create (guides' camelCase and SDK snake_case), get, list with
filters in constant queries, update (draft fields and lines; finalized: metadata only), delete, finalize, send,
void, pay (outside and card), approve/reject, mark uncollectible, comments, external upsert and batch, the
customer's invoices; and every transition the state machine does not allow is refused with nothing changed."""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.billing import services
from apps.billing.models import Invoice, InvoiceComment, InvoiceLine, InvoicePayment, TaxRate
from apps.core.models import Event
from apps.core.tenancy import Tenant as CoreTenant
from tests.factories import make_customer, make_price, make_product

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer(sandbox):
    return make_customer(sandbox, name="Ada Lovelace", currency="GBP", email="ada@example.com")


@pytest.fixture
def client(tenant):
    return tenant.client()


def adjustment(description="Consulting", unit=10_000, quantity=1):
    return services.LineInput(description=description, unit_amount_minor=unit, quantity=quantity)


def make_invoice(sandbox, actor, customer, *, unit=5000, finalize=False, **extra) -> Invoice:
    invoice = services.invoice_create(tenant=sandbox, actor=actor, customer=customer, lines=[adjustment(unit=unit)],
                                      **extra)
    if finalize:
        invoice = services.invoice_finalize(tenant=sandbox, actor=actor, invoice=invoice)
    return invoice


def error_of(response, status: int) -> dict:
    assert response.status_code == status, response.content
    return response.json()["error"]


# --- create / get -------------------------------------------------------------------------------------
def test_create_with_the_guides_camel_case_body(client, customer):
    response = client.post("/v2/invoices", {
        "customerId": customer.pk, "currency": "gbp", "dueDate": "2026-12-31", "memo": "Thanks", "footer": "Ltd",
        "lineItems": [{"description": "Setup", "amountMinor": 15_000, "quantity": 2},
                      {"description": "Goodwill", "unitAmountMinor": -1_000}]}, format="json")
    assert response.status_code == 201, response.content
    data = response.json()["data"]
    assert data["id"].startswith("inv_") and data["object"] == "invoice"
    assert (data["status"], data["number"], data["currency"], data["due_date"]) == ("draft", None, "GBP", "2026-12-31")
    assert (data["subtotal_minor"], data["total_minor"], data["amount_remaining_minor"]) == (29_000, 29_000, 29_000)
    assert [(line["description"], line["unit_amount_minor"], line["quantity"]) for line in data["lines"]] == [
        ("Setup", 15_000, 2), ("Goodwill", -1_000, 1)]
    assert (data["memo"], data["footer"]) == ("Thanks", "Ltd")
    assert client.get(f"/v2/invoices/{data['id']}").json()["data"] == data
    assert Event.objects.filter(type="invoice.created", object_id=data["id"]).count() == 1


def test_create_with_price_and_product_lines_and_tax(client, sandbox, customer):
    vat = TaxRate.objects.create(merchant=sandbox.merchant, livemode=False, name="VAT", percentage=Decimal("20"),
                                 country=sandbox.merchant.country)
    product = make_product(sandbox, name="Widget")
    make_price(sandbox, product, unit_amount_minor=999, currency="GBP")
    other = make_price(sandbox, unit_amount_minor=2500, currency="GBP")
    response = client.post("/v2/invoices", {"customer_id": customer.pk, "lines": [
        {"product_id": product.pk, "quantity": 3, "tax_rate_id": vat.pk},
        {"price_id": other.pk, "quantity": 1, "tax_exempt": True}]}, format="json")
    assert response.status_code == 201, response.content
    data = response.json()["data"]
    assert [(line["price_id"], line["amount_minor"]) for line in data["lines"]] == [(product.prices.get().pk, 2997),
                                                                                     (other.pk, 2500)]
    assert (data["subtotal_minor"], data["tax_minor"], data["total_minor"]) == (5497, 599, 6096)


def test_bad_input_is_a_400_and_writes_nothing(client, customer, other_tenant, sandbox):
    no_customer = error_of(client.post("/v2/invoices", {"lines": []}, format="json"), 400)
    assert "customer_id" in no_customer["details"]["fields"]
    unknown = error_of(client.post("/v2/invoices", {"customer_id": customer.pk, "colour": "red"}, format="json"), 400)
    assert unknown["details"]["fields"] == {"colour": ["unknown field"]}
    bad_line = error_of(client.post("/v2/invoices", {"customer_id": customer.pk, "lines": [
        {"description": "ok", "amount_minor": 100}, {"description": "", "quantity": 0}]}, format="json"), 400)
    assert {"lines[1].quantity"} <= set(bad_line["details"]["fields"])
    no_amount = error_of(client.post("/v2/invoices", {"customer_id": customer.pk, "lines": [
        {"description": "No amount"}]}, format="json"), 400)
    assert "lines[0].unit_amount_minor" in no_amount["details"]["fields"]
    bad_date = error_of(client.post("/v2/invoices", {"customer_id": customer.pk, "due_date": "soon"}, format="json"), 400)
    assert "due_date" in bad_date["details"]["fields"]
    theirs = make_customer(CoreTenant(other_tenant.merchant, livemode=False), name="Theirs")
    assert error_of(client.post("/v2/invoices", {"customer_id": theirs.pk}, format="json"), 404)["code"] == \
        "resource_missing"
    foreign_price = make_price(CoreTenant(other_tenant.merchant, livemode=False))
    assert client.post("/v2/invoices", {"customer_id": customer.pk, "lines": [{"price_id": foreign_price.pk}]},
                       format="json").status_code == 404
    impossible = error_of(client.post("/v2/invoices", {"customer_id": customer.pk, "due_date": "2026-02-30"},
                                      format="json"), 400)
    assert impossible["param"] == "due_date"
    huge = error_of(client.post("/v2/invoices", {"customer_id": customer.pk, "lines": [
        {"description": "Big", "amount_minor": 10**12, "quantity": 10**6}]}, format="json"), 400)
    assert huge["param"] == "lines[0].quantity"
    assert not Invoice.objects.exists() and not InvoiceLine.objects.exists()


def test_malformed_list_parameters_are_400s(client):
    for query in ("created[gte]=2026-13-01T00:00:00Z", "created[lte]=99999999999999999", "due_date[gte]=2026-02-30",
                  "amount_max=10000000000000000000000", "limit=x"):
        response = client.get(f"/v2/invoices?{query}")
        assert response.status_code == 400, (query, response.content)
        assert response.json()["error"]["type"] == "invalid_request_error"


# --- list ---------------------------------------------------------------------------------------------
def test_list_filters_and_newest_first(client, sandbox, actor, customer):
    other = make_customer(sandbox, name="Bob", currency="GBP")
    draft = make_invoice(sandbox, actor, customer, unit=1000)
    sent = make_invoice(sandbox, actor, customer, unit=5000, finalize=True)
    overdue = make_invoice(sandbox, actor, other, unit=9000, finalize=True, subscription_id="sub_123")
    Invoice.objects.filter(pk=overdue.pk).update(status="overdue", due_date=date(2026, 1, 10))
    Invoice.objects.filter(pk=sent.pk).update(due_date=date(2026, 3, 1))

    def ids(query=""):
        response = client.get(f"/v2/invoices{query}")
        assert response.status_code == 200, response.content
        return [row["id"] for row in response.json()["data"]]

    assert ids() == [overdue.pk, sent.pk, draft.pk]
    assert ids("?status=draft") == [draft.pk]
    assert ids("?status=past_due") == [overdue.pk]
    assert ids("?status=open") == [overdue.pk, sent.pk]
    assert ids("?status=draft,overdue") == [overdue.pk, draft.pk]
    assert ids(f"?customer_id={other.pk}") == ids(f"?customer={other.pk}") == [overdue.pk]
    assert ids("?subscription=sub_123") == ids("?subscriptionId=sub_123") == [overdue.pk]
    assert ids("?amount_min=2000&amount_max=6000") == [sent.pk]
    assert ids("?due_date[gte]=2026-02-01") == [sent.pk]
    assert ids("?due_date[lte]=2026-02-01") == [overdue.pk]
    assert ids(f"?search={sent.number}") == [sent.pk]
    assert ids("?created[gte]=2999-01-01T00:00:00Z") == []
    assert error_of(client.get("/v2/invoices?status=lost"), 400)["param"] == "status"
    assert error_of(client.get("/v2/invoices?amount_min=lots"), 400)["param"] == "amount_min"
    page = client.get("/v2/invoices?limit=2").json()
    assert page["pagination"] == {"limit": 2, "offset": 0, "total": 3, "hasMore": True}


def test_list_runs_a_constant_number_of_queries(client, sandbox, actor, customer):
    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            response = client.get("/v2/invoices?limit=100")
        assert response.status_code == 200
        return len(queries)

    for _ in range(2):
        make_invoice(sandbox, actor, customer)
    count()  # warm-up: the first request of a key also records its use
    two = count()
    for _ in range(10):
        services.invoice_create(tenant=sandbox, actor=actor, customer=customer,
                                lines=[adjustment(), adjustment("Travel", 500, 2)])
    assert len(client.get("/v2/invoices?limit=100").json()["data"]) == 12
    assert count() == two
    with CaptureQueriesContext(connection) as queries:
        client.get(f"/v2/customers/{customer.pk}/invoices?limit=100")
    assert len(queries) <= two + 2  # + the customer lookup


def test_customer_invoices_list(client, sandbox, actor, customer, other_tenant):
    mine = make_invoice(sandbox, actor, customer)
    make_invoice(sandbox, actor, make_customer(sandbox, name="Someone else"))
    data = client.get(f"/v2/customers/{customer.pk}/invoices").json()["data"]
    assert [row["id"] for row in data] == [mine.pk]
    assert error_of(other_tenant.client().get(f"/v2/customers/{customer.pk}/invoices"), 404)["code"] == \
        "resource_missing"


# --- update / delete ----------------------------------------------------------------------------------
def test_patch_a_draft_fields_and_lines_in_one_call(client, sandbox, actor, customer):
    invoice = services.invoice_create(tenant=sandbox, actor=actor, customer=customer,
                                      lines=[adjustment("Keep", 1000), adjustment("Drop", 2000)])
    keep, drop = invoice.lines.order_by("position")
    response = client.patch(f"/v2/invoices/{invoice.pk}", {
        "memo": "Updated memo", "daysUntilDue": 14, "metadata": {"po": "PO-7"},
        "addLines": [{"description": "Extra", "amount_minor": 300, "quantity": 2}],
        "update_lines": [{"id": keep.pk, "quantity": 3}], "remove_line_ids": [drop.pk]}, format="json")
    assert response.status_code == 200, response.content
    data = response.json()["data"]
    assert (data["memo"], data["days_until_due"], data["metadata"]) == ("Updated memo", 14, {"po": "PO-7"})
    assert [(line["description"], line["quantity"], line["amount_minor"]) for line in data["lines"]] == [
        ("Keep", 3, 3000), ("Extra", 2, 600)]
    assert data["total_minor"] == 3600


def test_patch_is_all_or_nothing(client, sandbox, actor, customer):
    invoice = make_invoice(sandbox, actor, customer)
    line = invoice.lines.get()
    response = client.patch(f"/v2/invoices/{invoice.pk}", {
        "memo": "Should not stay", "remove_line_ids": [line.pk], "update_lines": [{"id": "il_nope", "quantity": 2}]},
        format="json")
    assert response.status_code == 404
    invoice.refresh_from_db()
    assert invoice.memo == "" and invoice.lines.count() == 1


def test_finalized_invoice_takes_metadata_only(client, sandbox, actor, customer):
    invoice = make_invoice(sandbox, actor, customer, finalize=True)
    before = Invoice.objects.get(pk=invoice.pk)
    ok = client.patch(f"/v2/invoices/{invoice.pk}", {"metadata": {"crm": "42"}}, format="json")
    assert ok.status_code == 200 and ok.json()["data"]["metadata"] == {"crm": "42"}
    memo = error_of(client.patch(f"/v2/invoices/{invoice.pk}", {"memo": "new"}, format="json"), 422)
    assert memo["code"] == "invoice_not_editable"
    lines = error_of(client.patch(f"/v2/invoices/{invoice.pk}", {"add_lines": [
        {"description": "More", "amount_minor": 100}]}, format="json"), 422)
    assert lines["code"] == "invoice_not_editable"
    after = Invoice.objects.get(pk=invoice.pk)
    assert (after.memo, after.total_minor, after.lines.count()) == (before.memo, before.total_minor, 1)


def test_delete_drafts_only(client, sandbox, actor, customer):
    draft = make_invoice(sandbox, actor, customer)
    response = client.delete(f"/v2/invoices/{draft.pk}")
    assert response.status_code == 200 and response.json()["data"] == {"id": draft.pk, "object": "invoice",
                                                                       "deleted": True}
    assert not Invoice.objects.filter(pk=draft.pk).exists()
    issued = make_invoice(sandbox, actor, customer, finalize=True)
    assert error_of(client.delete(f"/v2/invoices/{issued.pk}"), 422)["code"] == "invoice_not_deletable"


# --- lifecycle actions --------------------------------------------------------------------------------
def test_finalize_send_and_void(client, sandbox, actor, customer):
    invoice = make_invoice(sandbox, actor, customer)
    data = client.post(f"/v2/invoices/{invoice.pk}/finalize", {}, format="json").json()["data"]
    year = date.today().year
    assert (data["status"], data["number"]) == ("approved", f"INV-{year}-00001")
    assert data["hosted_invoice_url"] and data["customer_snapshot"]["name"] == "Ada Lovelace"
    bad = error_of(client.post(f"/v2/invoices/{invoice.pk}/send", {"to": ["not-an-email"]}, format="json"), 400)
    assert "to" in bad["details"]["fields"]
    sent = client.post(f"/v2/invoices/{invoice.pk}/send", {"to": ["billing@example.com"], "cc": ["cfo@example.com"]},
                       format="json")
    assert sent.status_code == 200 and sent.json()["data"]["status"] == "sent" and sent.json()["data"]["sent_at"]
    voided = client.post(f"/v2/invoices/{invoice.pk}/void", {"reason": "Wrong customer"}, format="json")
    assert voided.status_code == 200, voided.content
    assert (voided.json()["data"]["status"], voided.json()["data"]["void_reason"]) == ("voided", "Wrong customer")


def test_finalize_with_send(client, sandbox, actor, customer):
    invoice = make_invoice(sandbox, actor, customer)
    data = client.post(f"/v2/invoices/{invoice.pk}/finalize", {"send": True}, format="json").json()["data"]
    assert data["status"] == "sent" and data["number"]


def test_outside_payments_part_then_the_rest(client, sandbox, actor, customer):
    invoice = make_invoice(sandbox, actor, customer, unit=5000, finalize=True)
    part = client.post(f"/v2/invoices/{invoice.pk}/pay", {"paymentMethod": "cash", "amountMinor": 2000,
                                                          "note": "At the counter", "reference": "till 4"},
                       format="json")
    assert part.status_code == 200, part.content
    data = part.json()["data"]
    assert (data["status"], data["amount_paid_minor"], data["amount_remaining_minor"], data["paid_at"]) == (
        "partially_paid", 2000, 3000, None)
    assert (data["payment"]["method"], data["payment"]["amount_minor"], data["payment"]["reference"]) == (
        "cash", 2000, "till 4")
    too_much = error_of(client.post(f"/v2/invoices/{invoice.pk}/pay", {"payment_method": "check",
                                                                       "amount_minor": 3001}, format="json"), 400)
    assert too_much["param"] == "amount_minor"
    rest = client.post(f"/v2/invoices/{invoice.pk}/pay", {"payment_method": "bank_transfer"}, format="json")
    data = rest.json()["data"]
    assert (data["status"], data["amount_remaining_minor"]) == ("paid", 0) and data["paid_at"]
    assert data["payment"]["amount_minor"] == 3000
    assert InvoicePayment.objects.filter(invoice=invoice).count() == 2
    wrong = error_of(client.post(f"/v2/invoices/{invoice.pk}/pay", {"payment_method": "barter"}, format="json"), 400)
    assert wrong["param"] == "payment_method"


def test_approval_workflow_through_the_api(client, sandbox, actor, customer):
    settings = services.invoice_settings_for(sandbox.merchant)
    settings.require_approval = True
    settings.save()
    invoice = make_invoice(sandbox, actor, customer)
    submitted = client.post(f"/v2/invoices/{invoice.pk}/finalize", {}, format="json").json()["data"]
    assert (submitted["status"], submitted["number"]) == ("pending_approval", None)
    rejected = client.post(f"/v2/invoices/{invoice.pk}/reject", {"note": "Wrong rate"}, format="json").json()["data"]
    assert (rejected["status"], rejected["rejection_note"]) == ("draft", "Wrong rate")
    client.post(f"/v2/invoices/{invoice.pk}/finalize", {}, format="json")
    approved = client.post(f"/v2/invoices/{invoice.pk}/approve", {}, format="json")
    assert approved.status_code == 200 and approved.json()["data"]["status"] == "approved"
    assert approved.json()["data"]["number"].endswith("-00001")


def test_mark_uncollectible_then_paid_late(client, sandbox, actor, customer):
    invoice = make_invoice(sandbox, actor, customer, finalize=True)
    data = client.post(f"/v2/invoices/{invoice.pk}/mark-uncollectible", {}, format="json").json()["data"]
    assert data["status"] == "uncollectible" and data["marked_uncollectible_at"]
    paid = client.post(f"/v2/invoices/{invoice.pk}/pay", {"payment_method": "other"}, format="json").json()["data"]
    assert paid["status"] == "paid"


def test_comments(client, sandbox, actor, customer):
    invoice = make_invoice(sandbox, actor, customer)
    first = client.post(f"/v2/invoices/{invoice.pk}/comments", {"body": "Called the customer"}, format="json")
    assert first.status_code == 201, first.content
    client.post(f"/v2/invoices/{invoice.pk}/comments", {"comment": "Promised Friday", "isInternal": True},
                format="json")
    assert error_of(client.post(f"/v2/invoices/{invoice.pk}/comments", {"body": "  "}, format="json"), 400)
    assert error_of(client.post(f"/v2/invoices/{invoice.pk}/comments", {"body": "x", "is_internal": False},
                                format="json"), 400)["param"] == "is_internal"
    listed = client.get(f"/v2/invoices/{invoice.pk}/comments").json()
    assert [row["body"] for row in listed["data"]] == ["Promised Friday", "Called the customer"]
    assert listed["data"][0]["author"]["type"] == "api_key" and listed["pagination"]["total"] == 2
    assert InvoiceComment.objects.count() == 2


# --- card payments (the real adapter against the simulator) --------------------------------------------
@pytest.mark.django_db(transaction=True)
def test_pay_with_the_default_card_and_a_decline(gateway_sandbox, actor, tenant):
    from apps.payments import services as payments

    client = tenant.client()
    customer = make_customer(gateway_sandbox, name="Card Holder", currency="GBP")
    invoice = make_invoice(gateway_sandbox, actor, customer, unit=4200, finalize=True)
    no_card = error_of(client.post(f"/v2/invoices/{invoice.pk}/pay", {}, format="json"), 422)
    assert no_card["code"] == "no_payment_method"
    declined = error_of(client.post(f"/v2/invoices/{invoice.pk}/pay", {"payment_token": "tok_decline_200"},
                                    format="json"), 402)
    assert (declined["type"], declined["code"], declined["decline_code"]) == ("card_error", "payment_declined", "200")
    assert Invoice.objects.get(pk=invoice.pk).status == "approved"
    method = payments.payment_method_create(tenant=gateway_sandbox, actor=actor, customer=customer,
                                            payment_token="tok_visa")
    paid = client.post(f"/v2/invoices/{invoice.pk}/pay", {}, format="json")
    assert paid.status_code == 200, paid.content
    data = paid.json()["data"]
    assert (data["status"], data["amount_paid_minor"]) == ("paid", 4200) and data["paid_at"]
    assert (data["payment"]["status"], data["payment"]["payment_method_id"]) == ("succeeded", method.pk)
    again = error_of(client.post(f"/v2/invoices/{invoice.pk}/pay", {"payment_method_id": method.pk},
                                 format="json"), 422)
    assert again["code"] == "invoice_not_payable"


# --- external ids -------------------------------------------------------------------------------------
def test_upsert_by_external_id(client, sandbox, actor, customer):
    url = "/v2/invoices/external/practicehub/INV-77"
    body = {"customer_id": customer.pk, "currency": "GBP", "memo": "Visit",
            "lines": [{"description": "Consultation", "amount_minor": 6000}]}
    created = client.put(url, body, format="json")
    assert created.status_code == 201, created.content
    data = created.json()["data"]
    assert (data["external_source"], data["external_id"], data["status"]) == ("practicehub", "INV-77", "draft")
    replay = client.put(url, body, format="json")
    assert replay.status_code == 200 and replay.json()["data"]["id"] == data["id"]
    changed = client.put(url, {**body, "lines": [{"description": "Consultation", "amount_minor": 7000}]},
                         format="json").json()["data"]
    assert changed["total_minor"] == 7000 and len(changed["lines"]) == 1
    services.invoice_finalize(tenant=sandbox, actor=actor, invoice=Invoice.objects.get(pk=data["id"]))
    same = client.put(url, {**body, "lines": [{"description": "Consultation", "amount_minor": 7000}]}, format="json")
    assert same.status_code == 200
    conflict = error_of(client.put(url, {"memo": "Changed after issue"}, format="json"), 409)
    assert conflict["code"] == "invoice_finalized"
    meta = client.put(url, {"metadata": {"synced": "yes"}}, format="json")
    assert meta.status_code == 200 and meta.json()["data"]["metadata"] == {"synced": "yes"}
    assert Invoice.objects.filter(external_id="INV-77").count() == 1
    missing = error_of(client.put("/v2/invoices/external/practicehub/NEW-1", {"memo": "x"}, format="json"), 400)
    assert missing["param"] == "customer_id"


def test_batch_is_all_or_nothing(client, sandbox, customer):
    good = {"external_id": "A-1", "customer_id": customer.pk, "lines": [{"description": "One", "amount_minor": 100}]}
    bad = {"external_id": "A-2", "customer_id": customer.pk, "lines": [{"description": "", "amount_minor": 100}]}
    rejected = error_of(client.put("/v2/invoices/external/batch", {"source": "erp", "invoices": [good, bad]},
                                   format="json"), 400)
    assert "invoices[1].lines[0].description" in rejected["details"]["fields"]
    assert [row["status"] for row in rejected["details"]["results"]] == ["skipped", "error"]
    assert not Invoice.objects.exists() and not Event.objects.filter(type__startswith="invoice.").exists()
    ok = client.put("/v2/invoices/external/batch", {"source": "erp", "invoices": [
        good, {**bad, "lines": [{"description": "Two", "amount_minor": 200}]}]}, format="json")
    assert ok.status_code == 200, ok.content
    data = ok.json()["data"]
    assert data["summary"]["created"] == 2 and [r["status"] for r in data["results"]] == ["created", "created"]
    replay = client.put("/v2/invoices/external/batch", {"source": "erp", "invoices": [good]}, format="json")
    assert replay.json()["data"]["results"][0]["status"] == "unchanged"
    dup = error_of(client.put("/v2/invoices/external/batch", {"source": "erp", "invoices": [good, good]},
                              format="json"), 400)
    assert "invoices[1].external_id" in dup["details"]["fields"]
    too_many = error_of(client.put("/v2/invoices/external/batch", {"source": "erp", "invoices": [
        {**good, "external_id": f"N-{i}"} for i in range(101)]}, format="json"), 400)
    assert too_many["param"] == "invoices"
    assert Invoice.objects.count() == 2


# --- the state machine ---------------------------------------------------------------------------------
STATUSES = ["draft", "pending_approval", "approved", "sent", "partially_paid", "paid", "overdue", "voided",
            "refunded", "uncollectible"]
# action: (method, path suffix, body, statuses from which the API allows it)
ACTIONS = {
    "finalize": ("post", "/finalize", {}, {"draft"}),
    "approve": ("post", "/approve", {}, {"pending_approval"}),
    "reject": ("post", "/reject", {"note": "no"}, {"pending_approval"}),
    "send": ("post", "/send", {}, {"draft", "approved", "sent", "partially_paid", "overdue"}),
    "void": ("post", "/void", {"reason": "test"}, {"approved", "sent", "overdue", "uncollectible"}),
    "mark_uncollectible": ("post", "/mark-uncollectible", {}, {"approved", "sent", "partially_paid", "overdue"}),
    "pay": ("post", "/pay", {"payment_method": "cash", "amount_minor": 100},
            {"approved", "sent", "partially_paid", "overdue", "uncollectible"}),
    "delete": ("delete", "", None, {"draft", "pending_approval"}),
    "add_lines": ("patch", "", {"add_lines": [{"description": "More", "amount_minor": 100}]},
                  {"draft", "pending_approval"}),
    "edit_memo": ("patch", "", {"memo": "changed"}, {"draft", "pending_approval"}),
}
REFUSED = [(status, action) for status in STATUSES for action, spec in ACTIONS.items() if status not in spec[3]]


def invoice_in(status: str, sandbox, actor, customer) -> Invoice:
    invoice = make_invoice(sandbox, actor, customer, unit=5000, finalize=status not in ("draft", "pending_approval"))
    amounts = {"partially_paid": (1000, 4000), "paid": (5000, 0), "refunded": (5000, 0), "voided": (0, 0)}
    paid, remaining = amounts.get(status, (0, 5000))
    Invoice.objects.filter(pk=invoice.pk).update(status=status, amount_paid_minor=paid,
                                                 amount_remaining_minor=remaining)
    return Invoice.objects.get(pk=invoice.pk)


def snapshot(invoice: Invoice) -> tuple:
    row = Invoice.objects.filter(pk=invoice.pk).values().first()
    return (row, InvoiceLine.objects.filter(invoice=invoice).count(),
            InvoicePayment.objects.filter(invoice=invoice).count(), Event.objects.count())


@pytest.mark.parametrize(("status", "action"), REFUSED, ids=[f"{s}-{a}" for s, a in REFUSED])
def test_refused_transitions_change_nothing(status, action, client, sandbox, actor, customer):
    invoice = invoice_in(status, sandbox, actor, customer)
    before = snapshot(invoice)
    method, suffix, body, _ = ACTIONS[action]
    url = f"/v2/invoices/{invoice.pk}{suffix}"
    response = getattr(client, method)(url, body, format="json") if body is not None else getattr(client, method)(url)
    assert 400 <= response.status_code < 500 and response.status_code != 404, (response.status_code, response.content)
    error = response.json()["error"]
    assert error["type"] and error["code"] and error["message"]
    assert snapshot(invoice) == before


@pytest.mark.parametrize("status", ["approved", "sent", "overdue"])
def test_allowed_transitions_from_open_states(status, client, sandbox, actor, customer):
    """The control for the refusals above: the same calls pass where the table allows them."""
    for action in ("pay", "mark_uncollectible"):
        invoice = invoice_in(status, sandbox, actor, customer)
        method, suffix, body, _ = ACTIONS[action]
        response = getattr(client, method)(f"/v2/invoices/{invoice.pk}{suffix}", body, format="json")
        assert response.status_code == 200, (action, response.content)


def test_due_date_defaults_from_the_terms(client, sandbox, actor, customer):
    invoice = make_invoice(sandbox, actor, customer, days_until_due=10)
    data = client.post(f"/v2/invoices/{invoice.pk}/finalize", {}, format="json").json()["data"]
    assert data["due_date"] == (date.fromisoformat(data["finalized_at"][:10]) + timedelta(days=10)).isoformat()


@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_concurrent_upserts_of_one_new_external_id_make_one_invoice(tenant, sandbox, customer):
    from tests.billing.test_invoice_numbering_concurrency import race
    from tests.conftest import USING_POSTGRES

    if not USING_POSTGRES:
        pytest.skip("needs PostgreSQL")
    body = {"customer_id": customer.pk, "lines": [{"description": "Visit", "amount_minor": 4000}]}
    results = race(tenant, [lambda client: client.put("/v2/invoices/external/crm/RACE-1", body, format="json")] * 8)
    assert sorted(status for status, _ in results) == [200] * 7 + [201], results
    assert len({body["data"]["id"] for _, body in results}) == 1
    assert Invoice.objects.filter(external_id="RACE-1").count() == 1


def test_an_older_source_version_is_stale_and_changes_nothing(client, sandbox, customer):
    url = "/v2/invoices/external/xero/X-9"
    body = {"customer_id": customer.pk, "currency": "GBP", "memo": "Version 2",
            "lines": [{"description": "Hours", "amount_minor": 9000}], "external_updated_at": "2026-11-20T10:00:00Z"}
    created = client.put(url, body, format="json")
    assert created.status_code == 201 and created.json()["data"]["external_updated_at"] == "2026-11-20T10:00:00Z"
    late_retry = client.put(url, {**body, "memo": "Version 1", "external_updated_at": "2026-11-19T10:00:00Z"},
                            format="json")
    assert late_retry.status_code == 200 and late_retry.json()["data"]["memo"] == "Version 2"
    row = {key: value for key, value in body.items() if key != "external_updated_at"}
    batch = client.put("/v2/invoices/external/batch", {"source": "xero", "invoices": [
        {**row, "external_id": "X-9", "memo": "Version 1", "externalUpdatedAt": 1763546400}]}, format="json")
    assert batch.json()["data"]["results"][0]["status"] == "stale"
    newer = client.put(url, {**body, "memo": "Version 3", "external_updated_at": "2026-11-21T10:00:00Z"},
                       format="json")
    assert newer.json()["data"]["memo"] == "Version 3"
    bad = error_of(client.put(url, {**body, "external_updated_at": "yesterday"}, format="json"), 400)
    assert bad["param"] == "external_updated_at" or "external_updated_at" in bad["details"]["fields"]
    assert Invoice.objects.get(external_id="X-9").memo == "Version 3"

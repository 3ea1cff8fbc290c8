"""The dashboard's invoice pages: the list (filters, totals per currency, sorting, constant queries), the
builder (htmx lines and live totals by services.compute_totals, amounts typed in major units, bad input
writes nothing, finalize and send), the detail (lines with their interval snapshot, timeline, payments,
the actions the status allows) and its actions (one service each; refusals as messages), roles and
tenancy (another merchant's invoice is a 404)."""
from __future__ import annotations

import re
from types import SimpleNamespace

import pytest
from django.contrib.messages import get_messages
from django.core import mail
from django.urls import reverse

from apps.billing import services
from apps.billing.models import Invoice, InvoiceComment, InvoicePayment
from apps.core.actors import Actor
from apps.core.money import Money
from apps.core.tenancy import Tenant as CoreTenant
from tests.factories import make_customer, make_price, make_product

pytestmark = pytest.mark.django_db

LIST = reverse("dashboard:invoices")
NEW = reverse("dashboard:invoice_new")
BUILDER = reverse("dashboard:invoice_builder")
ACTOR = Actor.system("tests")


@pytest.fixture
def sandbox(tenant) -> CoreTenant:
    return CoreTenant(tenant.merchant, livemode=False)


@pytest.fixture
def customer(sandbox):
    return make_customer(sandbox, name="Ada Lovelace", email="ada@example.com", currency="GBP",
                         billing_address={"line1": "1 High St", "city": "London", "country": "GB"})


def adjustment(description="Consulting", unit=10_000, quantity=1, **extra):
    return services.LineInput(description=description, unit_amount_minor=unit, quantity=quantity, **extra)


def make_invoice(sandbox, customer, *, lines=None, finalize=False, currency=None, **fields) -> Invoice:
    invoice = services.invoice_create(tenant=sandbox, actor=ACTOR, customer=customer, currency=currency,
                                      lines=lines if lines is not None else [adjustment()], **fields)
    if finalize:
        invoice = services.invoice_finalize(tenant=sandbox, actor=ACTOR, invoice=invoice)
    return Invoice.objects.get(pk=invoice.pk)


def detail(invoice) -> str:
    return reverse("dashboard:invoice_detail", args=[invoice.pk])


def action(invoice, name: str) -> str:
    return reverse(f"dashboard:invoice_{name}", args=[invoice.pk])


def shown(response) -> list[str]:
    return [row["invoice"].pk for row in response.context["rows"]]


def texts(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def line_keys(response) -> list[str]:
    return re.findall(r'data-line-key="([^"]+)"', response.content.decode())


def builder_post(customer, lines: dict[str, dict], *, op="save", currency="GBP", invoice=None, **fields) -> dict:
    """The builder's form as the browser posts it: the invoice's fields, then each line under its key."""
    data = {"customer": customer.pk if customer else "", "currency": currency, "due_date": "", "days_until_due": "",
            "memo": "", "footer": "", "discount": "", "op": op, "lines": list(lines), **fields}
    if invoice is not None:
        data["invoice"] = invoice.pk
    for key, line in lines.items():
        for name in ("price", "description", "unit_amount", "tax_rate"):
            data[f"line-{key}-{name}"] = line.get(name, "")
        data[f"line-{key}-quantity"] = line.get("quantity", "1")
        if line.get("tax_exempt"):
            data[f"line-{key}-tax_exempt"] = "on"
    return data


# --- the list ------------------------------------------------------------------------------------------------
def test_list_shows_only_this_tenants_invoices_with_totals_per_currency(owner_client, sandbox, customer, other_tenant):
    draft = make_invoice(sandbox, customer, lines=[adjustment(unit=1000)])
    sent = make_invoice(sandbox, customer, lines=[adjustment(unit=2500)], finalize=True)
    services.invoice_record_payment(tenant=sandbox, actor=ACTOR, invoice=sent, amount=Money(500, "GBP"), method="cash")
    usd = make_invoice(sandbox, customer, currency="USD", lines=[adjustment(unit=7000)], finalize=True)
    other = CoreTenant(other_tenant.merchant, livemode=False)
    make_invoice(other, make_customer(other, currency="GBP"))
    live = CoreTenant(sandbox.merchant, livemode=True)
    make_invoice(live, make_customer(live, currency="GBP"))

    response = owner_client.get(LIST)
    assert response.status_code == 200
    assert shown(response) == [usd.pk, sent.pk, draft.pk]
    totals = {t["currency"]: t for t in response.context["totals"]}
    assert totals["GBP"] == {"currency": "GBP", "count": 2, "total": 3500, "outstanding": 1000 + 2000}
    assert totals["USD"] == {"currency": "USD", "count": 1, "total": 7000, "outstanding": 7000}
    body = response.content.decode()
    assert 'data-testid="nav-invoices"' in body and "£35.00" in body and "$70.00" in body


def test_list_filters_status_open_overdue_search_dates_and_amounts(owner_client, sandbox, customer):
    grace = make_customer(sandbox, name="Grace Hopper", email="grace@navy.example", currency="GBP")
    draft = make_invoice(sandbox, customer, lines=[adjustment(unit=1000)])
    open_ = make_invoice(sandbox, grace, lines=[adjustment(unit=5000)], finalize=True)
    late = make_invoice(sandbox, customer, lines=[adjustment(unit=9000)], finalize=True)
    Invoice.objects.filter(pk=late.pk).update(status="overdue")
    paid = make_invoice(sandbox, customer, lines=[adjustment(unit=2000)], finalize=True)
    services.invoice_record_payment(tenant=sandbox, actor=ACTOR, invoice=paid, method="cash")

    def ids(**params):
        response = owner_client.get(LIST, params)
        assert response.status_code == 200
        return set(shown(response))

    assert ids(status="open") == {open_.pk, late.pk}
    assert ids(status="overdue") == {late.pk}
    assert ids(status="draft") == {draft.pk}
    assert ids(status="paid") == {paid.pk}
    assert ids(q="grace") == {open_.pk}
    assert ids(q=late.number) == {late.pk}
    assert ids(customer=grace.pk) == {open_.pk}
    assert ids(amount_min="20", amount_max="50.00") == {open_.pk, paid.pk}
    today = open_.created_at.date().isoformat()
    assert ids(created_from=today, created_to=today) == {draft.pk, open_.pk, late.pk, paid.pk}
    assert ids(created_from="2000-01-01", created_to="2000-01-02") == set()
    due = late.due_date.isoformat()
    assert ids(due_from=due, due_to=due) == {open_.pk, late.pk, paid.pk}
    # Bad input is a form error, not a 500, and shows nothing.
    response = owner_client.get(LIST, {"amount_min": "abc", "created_from": "2026-05-02", "created_to": "2026-05-01"})
    assert response.status_code == 200 and shown(response) == []
    assert response.context["form"].errors.keys() == {"amount_min", "created_to"}
    empty = owner_client.get(LIST, {"q": "nobody"})
    assert b"No invoices match" in empty.content


def test_list_sorts_by_column(owner_client, sandbox, customer):
    small = make_invoice(sandbox, customer, lines=[adjustment(unit=100)])
    big = make_invoice(sandbox, customer, lines=[adjustment(unit=90_000)])
    mid = make_invoice(sandbox, customer, lines=[adjustment(unit=5_000)])
    assert shown(owner_client.get(LIST, {"sort": "total"})) == [small.pk, mid.pk, big.pk]
    assert shown(owner_client.get(LIST, {"sort": "-total"})) == [big.pk, mid.pk, small.pk]
    assert shown(owner_client.get(LIST, {"sort": "bogus"})) == [mid.pk, big.pk, small.pk]  # newest first


def test_list_htmx_partial_and_pagination(owner_client, sandbox, customer):
    for _ in range(27):
        make_invoice(sandbox, customer)
    response = owner_client.get(LIST, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="invoice-results")
    assert response.status_code == 200
    body = response.content.decode()
    assert body.lstrip().startswith('<div id="invoice-results"') and "<html" not in body
    assert len(shown(response)) == 25
    assert len(shown(owner_client.get(LIST, {"page": 2}))) == 2


def test_list_runs_a_constant_number_of_queries(owner_client, sandbox, customer, django_assert_max_num_queries):
    for _ in range(3):
        make_invoice(sandbox, customer)
    owner_client.get(LIST)  # warm the session and the merchant's caches
    with django_assert_max_num_queries(12) as few:
        assert len(shown(owner_client.get(LIST))) == 3
    other = make_customer(sandbox, currency="USD")
    for i in range(27):
        make_invoice(sandbox, other if i % 2 else customer, currency="USD" if i % 2 else None)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(shown(owner_client.get(LIST, {"sort": "customer"}))) == 25


def test_empty_list_offers_a_new_invoice(owner_client):
    response = owner_client.get(LIST)
    assert b"No invoices yet" in response.content
    assert reverse("dashboard:invoice_new").encode() in response.content


# --- the builder -------------------------------------------------------------------------------------------------
def test_builder_saves_a_draft_with_a_price_line_and_a_typed_amount(owner_client, sandbox, customer, vat):
    product = make_product(sandbox, name="Support plan")
    monthly = make_price(sandbox, product, currency="GBP", unit_amount_minor=4900, interval="month", interval_count=1)
    page = owner_client.get(NEW + f"?customer={customer.pk}")
    assert page.status_code == 200 and page.context["form"].initial["currency"] == "GBP"
    data = builder_post(customer, {"a1": {"price": monthly.pk, "quantity": "2", "tax_rate": vat.pk},
                                   "b2": {"description": "Set-up", "unit_amount": "12.50", "tax_exempt": True},
                                   "c3": {}},  # an untouched new row is ignored
                        memo="Thanks!", days_until_due="14")
    response = owner_client.post(NEW, data)
    invoice = Invoice.objects.get(merchant=sandbox.merchant)
    assert response.status_code == 302 and response.url == detail(invoice)
    lines = list(invoice.lines.order_by("position"))
    assert [(ln.description, ln.unit_amount_minor, ln.quantity, ln.amount_minor) for ln in lines] == [
        ("Support plan", 4900, 2, 9800), ("Set-up", 1250, 1, 1250)]
    assert lines[0].billing_interval == "month" and lines[1].tax_exempt
    assert (invoice.subtotal_minor, invoice.tax_minor, invoice.total_minor) == (11050, 1960, 13010)
    assert (invoice.status, invoice.memo, invoice.days_until_due) == ("draft", "Thanks!", 14)
    page = owner_client.get(detail(invoice)).content.decode()
    assert "Billed monthly" in page and "£130.10" in page


def test_live_totals_come_from_compute_totals(owner_client, sandbox, customer, vat):
    data = builder_post(customer, {"a1": {"description": "Design", "unit_amount": "33.33", "quantity": "3",
                                          "tax_rate": vat.pk},
                                   "b2": {"description": "Fee", "unit_amount": "1.00", "tax_exempt": True}},
                        op="preview")
    response = owner_client.post(BUILDER, data, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    expected = services.compute_totals(tenant=sandbox, customer=customer, currency="GBP", lines=[
        SimpleNamespace(amount_minor=9999, tax_rate=vat, tax_exempt=False),
        SimpleNamespace(amount_minor=100, tax_rate=None, tax_exempt=True)])
    assert (expected.tax, expected.total) == (2000, 12099)  # 20 % of 99.99 = 19.998 → 20.00; the fee is exempt
    body = response.content.decode()
    assert body.lstrip().startswith('<div id="builder-totals"')
    assert 'data-testid="invoice-total">£120.99<' in body and 'data-testid="invoice-tax">£20.00<' in body
    assert 'id="amount-a1" data-testid="line-total" hx-swap-oob="true">£99.99' in body
    assert not Invoice.objects.exists()


def test_add_and_remove_lines_inline(owner_client, customer):
    data = builder_post(customer, {"a1": {"description": "One", "unit_amount": "5"}}, op="add")
    response = owner_client.post(BUILDER, data, HTTP_HX_REQUEST="true")
    keys = line_keys(response)
    assert len(keys) == 2 and keys[0] == "a1"
    assert response.content.decode().lstrip().startswith('<section class="card" id="builder-lines"')
    assert 'value="One"' in response.content.decode()  # what was typed survives the re-render
    data = builder_post(customer, {"a1": {"description": "One", "unit_amount": "5"},
                                   "z9": {"description": "Two", "unit_amount": "7"}}, op="remove", remove="a1")
    response = owner_client.post(BUILDER, data, HTTP_HX_REQUEST="true")
    assert line_keys(response) == ["z9"]
    assert 'data-testid="invoice-total">£7.00<' in response.content.decode()
    assert not Invoice.objects.exists()


@pytest.mark.parametrize("line, field", [
    ({"description": "Too precise", "unit_amount": "12.345"}, "unit_amount"),
    ({"description": "Words", "unit_amount": "twelve"}, "unit_amount"),
    ({"description": "", "unit_amount": "5"}, "description"),
    ({"description": "No amount"}, "unit_amount"),
    ({"description": "Zero qty", "unit_amount": "5", "quantity": "0"}, "quantity"),
])
def test_bad_input_is_a_form_error_and_writes_nothing(owner_client, customer, line, field):
    data = builder_post(customer, {"ok": {"description": "Fine", "unit_amount": "10"}, "bad": line})
    response = owner_client.post(NEW, data)
    assert response.status_code == 422
    bad = next(row for row in response.context["rows"] if row.key == "bad")
    assert field in bad.form.errors
    assert "Nothing was saved" in response.content.decode()
    assert not Invoice.objects.exists()


def test_a_price_in_another_currency_is_refused_before_anything_is_written(owner_client, sandbox, customer):
    usd = make_price(sandbox, currency="USD", unit_amount_minor=1000)
    response = owner_client.post(NEW, builder_post(customer, {"a1": {"price": usd.pk}}))
    assert response.status_code == 422
    assert "is in USD; the invoice is in GBP" in response.content.decode()
    assert not Invoice.objects.exists()


def test_missing_customer_is_a_form_error(owner_client):
    response = owner_client.post(NEW, builder_post(None, {"a1": {"description": "x", "unit_amount": "1"}}))
    assert response.status_code == 422 and "customer" in response.context["form"].errors
    assert not Invoice.objects.exists()


def test_edit_updates_removes_and_adds_lines(owner_client, sandbox, customer):
    invoice = make_invoice(sandbox, customer, lines=[adjustment("Keep", 1000), adjustment("Drop", 500)])
    keep, drop = invoice.lines.order_by("position")
    edit = reverse("dashboard:invoice_edit", args=[invoice.pk])
    page = owner_client.get(edit)
    assert [row.key for row in page.context["rows"]] == [keep.pk, drop.pk]
    data = builder_post(customer, {keep.pk: {"description": "Keep", "unit_amount": "10.00", "quantity": "3"},
                                   "new1": {"description": "Added", "unit_amount": "2.50"}}, invoice=invoice,
                        memo="Edited")
    response = owner_client.post(edit, data)
    assert response.status_code == 302
    invoice.refresh_from_db()
    assert [(ln.description, ln.amount_minor) for ln in invoice.lines.order_by("position")] == [
        ("Keep", 3000), ("Added", 250)]
    assert invoice.total_minor == 3250 and invoice.memo == "Edited" and invoice.currency == "GBP"


def test_finalize_and_send_from_the_builder(owner_client, sandbox, customer, django_capture_on_commit_callbacks):
    data = builder_post(customer, {"a1": {"description": "Audit", "unit_amount": "300"}}, op="finalize_send")
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(NEW, data)
    invoice = Invoice.objects.get(merchant=sandbox.merchant)
    assert response.status_code == 302 and response.url == detail(invoice)
    assert invoice.status == "sent" and invoice.number.startswith("INV-") and invoice.total_minor == 30000
    assert any("finalized and sent" in m for m in texts(response))


def test_finalize_with_approval_required_submits_it(owner_client, sandbox, customer):
    settings = services.invoice_settings_for(sandbox.merchant)
    settings.require_approval = True
    settings.save()
    page = owner_client.get(NEW)
    assert b"Submit for approval" in page.content and b'data-testid="finalize-send"' not in page.content
    owner_client.post(NEW, builder_post(customer, {"a1": {"description": "Audit", "unit_amount": "3"}}, op="finalize"))
    invoice = Invoice.objects.get(merchant=sandbox.merchant)
    assert invoice.status == "pending_approval" and invoice.number == ""


def test_a_finalized_invoice_cannot_be_edited(owner_client, sandbox, customer):
    invoice = make_invoice(sandbox, customer, finalize=True)
    edit = reverse("dashboard:invoice_edit", args=[invoice.pk])
    assert owner_client.get(edit).status_code == 302
    owner_client.post(edit, builder_post(customer, {"x": {"description": "Sneaky", "unit_amount": "1"}}))
    assert list(invoice.lines.values_list("description", flat=True)) == ["Consulting"]


# --- the detail and its actions -----------------------------------------------------------------------------------
def actions_of(response) -> set[str]:
    return response.context["actions"]


def test_actions_follow_the_status(owner_client, sandbox, customer):
    draft = make_invoice(sandbox, customer)
    assert actions_of(owner_client.get(detail(draft))) == {"edit", "delete", "finalize", "comment"}
    approved = make_invoice(sandbox, customer, finalize=True)
    assert actions_of(owner_client.get(detail(approved))) == {
        "send", "record_payment", "void", "mark_uncollectible", "credit_note", "comment"} | (
        {"remind"} if hasattr(services, "invoice_send_reminder") else set())
    services.invoice_record_payment(tenant=sandbox, actor=ACTOR, invoice=approved, amount=Money(100, "GBP"),
                                    method="cash")
    partly = actions_of(owner_client.get(detail(approved)))
    assert "void" not in partly and {"record_payment", "send", "credit_note"} <= partly
    services.invoice_record_payment(tenant=sandbox, actor=ACTOR, invoice=approved, method="cash")
    paid = owner_client.get(detail(approved))
    assert actions_of(paid) == {"credit_note", "comment"}
    body = paid.content.decode()
    assert 'data-testid="action-void"' not in body and 'data-testid="hosted-link"' in body
    assert f"/i/{approved.hosted_token}" in body
    voided = make_invoice(sandbox, customer, finalize=True)
    services.invoice_void(tenant=sandbox, actor=ACTOR, invoice=voided, reason="typo")
    assert actions_of(owner_client.get(detail(voided))) == {"comment"}


def test_detail_shows_timeline_payments_and_customer_snapshot(owner_client, sandbox, customer):
    invoice = make_invoice(sandbox, customer, finalize=True)
    services.invoice_record_payment(tenant=sandbox, actor=ACTOR, invoice=invoice, amount=Money(2500, "GBP"),
                                    method="check", reference="CHQ-77")
    services.invoice_comment_add(tenant=sandbox, actor=ACTOR, invoice=invoice, body="Called the customer")
    customer.name = "Renamed Later"
    customer.save()
    response = owner_client.get(detail(invoice))
    body = response.content.decode()
    kinds = [item["kind"] for item in response.context["timeline"]]
    assert {"state", "event", "comment", "payment"} <= set(kinds)
    ats = [item["at"] for item in response.context["timeline"]]
    assert ats == sorted(ats, reverse=True)
    assert "CHQ-77" in body and "Called the customer" in body and "Ada Lovelace" in body
    assert '<dd data-testid="customer-address">1 High St<br>London<br>GB</dd>' in body
    assert 'data-testid="invoice-remaining">£75.00<' in body


def test_record_payment_send_void_and_uncollectible(owner_client, sandbox, customer, django_capture_on_commit_callbacks):
    invoice = make_invoice(sandbox, customer, finalize=True)
    response = owner_client.post(action(invoice, "record_payment"), {"amount": "12.345", "method": "cash"})
    assert response.status_code == 302 and any("not recorded" in m for m in texts(response))
    assert not InvoicePayment.objects.exists()
    owner_client.post(action(invoice, "record_payment"), {"amount": "20.00", "method": "bank_transfer",
                                                          "reference": "BACS 1", "received_on": "2026-01-05"})
    invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_remaining_minor) == ("partially_paid", 8000)
    applied = InvoicePayment.objects.get(invoice=invoice)
    assert (applied.amount_minor, applied.method, applied.reference) == (2000, "bank_transfer", "BACS 1")
    # Too much is the service's refusal, shown as a message.
    response = owner_client.post(action(invoice, "record_payment"), {"amount": "80.01", "method": "cash"})
    assert any("amount still owed" in m for m in texts(response))
    # Void is refused once money is on it (the button is gone, and a forged POST is refused).
    response = owner_client.post(action(invoice, "void"), {"reason": "x"})
    assert any("Not possible" in m for m in texts(response))
    assert Invoice.objects.get(pk=invoice.pk).status == "partially_paid"

    other = make_invoice(sandbox, customer, finalize=True)
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(action(other, "send"), {"to": "billing@example.com", "cc": "boss@example.com"})
    assert any("sent to billing@example.com" in m for m in texts(response))
    assert Invoice.objects.get(pk=other.pk).status == "sent"
    response = owner_client.post(action(other, "send"), {"to": "not-an-email"})
    assert any("not a valid email" in m for m in texts(response))
    owner_client.post(action(other, "void"), {"reason": "Wrong customer"})
    other.refresh_from_db()
    assert (other.status, other.void_reason) == ("voided", "Wrong customer")

    third = make_invoice(sandbox, customer, finalize=True)
    owner_client.post(action(third, "mark_uncollectible"))
    assert Invoice.objects.get(pk=third.pk).status == "uncollectible"


def test_approve_reject_finalize_delete_and_comment(owner_client, sandbox, customer):
    settings = services.invoice_settings_for(sandbox.merchant)
    settings.require_approval = True
    settings.save()
    invoice = make_invoice(sandbox, customer)
    assert "submit" in actions_of(owner_client.get(detail(invoice)))
    owner_client.post(action(invoice, "finalize"))
    assert Invoice.objects.get(pk=invoice.pk).status == "pending_approval"
    assert actions_of(owner_client.get(detail(invoice))) >= {"approve", "reject", "edit"}
    owner_client.post(action(invoice, "reject"), {"reason": "Wrong rate"})
    invoice.refresh_from_db()
    assert (invoice.status, invoice.rejection_note) == ("draft", "Wrong rate")
    assert b"Wrong rate" in owner_client.get(detail(invoice)).content
    owner_client.post(action(invoice, "finalize"))
    owner_client.post(action(invoice, "approve"))
    invoice.refresh_from_db()
    assert invoice.status == "approved" and invoice.number
    # Delete only drafts.
    response = owner_client.post(action(invoice, "delete"))
    assert Invoice.objects.filter(pk=invoice.pk).exists() and response.url == detail(invoice)
    draft = make_invoice(sandbox, customer)
    assert owner_client.post(action(draft, "delete")).url == LIST
    assert not Invoice.objects.filter(pk=draft.pk).exists()
    owner_client.post(action(invoice, "comment"), {"body": "Looks right"})
    owner_client.post(action(invoice, "comment"), {"body": "   "})
    assert list(InvoiceComment.objects.values_list("body", flat=True)) == ["Looks right"]


def test_send_reminder_by_hand(owner_client, sandbox, customer, django_capture_on_commit_callbacks):
    from apps.billing.models import InvoiceReminder

    invoice = make_invoice(sandbox, customer, finalize=True)
    assert "remind" in actions_of(owner_client.get(detail(invoice)))
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(action(invoice, "remind"))
    assert any(m.startswith("Reminder sent") for m in texts(response))
    assert InvoiceReminder.objects.filter(invoice=invoice, kind="manual").count() == 1
    draft = make_invoice(sandbox, customer)
    owner_client.post(action(draft, "remind"))
    assert not InvoiceReminder.objects.filter(invoice=draft).exists()


def test_finalizing_an_empty_draft_is_a_message(owner_client, sandbox, customer):
    invoice = make_invoice(sandbox, customer, lines=[])
    response = owner_client.post(action(invoice, "finalize"))
    assert any("at least one line" in m for m in texts(response))
    assert Invoice.objects.get(pk=invoice.pk).status == "draft"


def test_pdf_is_prepared_off_the_request(owner_client, sandbox, customer, monkeypatch):
    from apps.billing import tasks

    invoice = make_invoice(sandbox, customer, finalize=True)
    queued = []
    monkeypatch.setattr(tasks.render_invoice_pdf, "delay", lambda pk: queued.append(pk))
    response = owner_client.get(reverse("dashboard:invoice_pdf", args=[invoice.pk]))
    assert response.status_code == 202 and b"being prepared" in response.content and queued == [invoice.pk]
    from django.core.files.base import ContentFile

    invoice.pdf.save("x.pdf", ContentFile(b"%PDF-1.4 test"), save=False)
    Invoice.objects.filter(pk=invoice.pk).update(pdf=invoice.pdf.name, pdf_revision=invoice.revision)
    response = owner_client.get(reverse("dashboard:invoice_pdf", args=[invoice.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert b"".join(response.streaming_content).startswith(b"%PDF")


# --- roles and tenancy --------------------------------------------------------------------------------------------
def test_viewer_reads_but_cannot_act(login_as, sandbox, customer):
    invoice = make_invoice(sandbox, customer, finalize=True)
    client = login_as("viewer")
    response = client.get(detail(invoice))
    assert response.status_code == 200 and actions_of(response) == set()
    assert b'data-testid="action-send"' not in response.content
    assert b'data-testid="new-invoice"' not in client.get(LIST).content
    assert client.get(NEW).status_code == 403
    for name in ("send", "void", "record_payment", "comment", "charge"):
        assert client.post(action(invoice, name)).status_code == 403
    assert Invoice.objects.get(pk=invoice.pk).status == "approved"


def test_member_writes_invoices_but_does_not_move_money(login_as, sandbox, customer):
    invoice = make_invoice(sandbox, customer, finalize=True)
    client = login_as("member")
    assert actions_of(client.get(detail(invoice))) == {"send", "comment"} | (
        {"remind"} if hasattr(services, "invoice_send_reminder") else set())
    assert client.post(action(invoice, "record_payment"), {"method": "cash"}).status_code == 403
    assert client.get(NEW).status_code == 200


def test_another_tenants_invoice_is_a_404(owner_client, other_tenant, sandbox):
    other = CoreTenant(other_tenant.merchant, livemode=False)
    foreign = make_invoice(other, make_customer(other, currency="GBP"))
    live = CoreTenant(sandbox.merchant, livemode=True)
    live_invoice = make_invoice(live, make_customer(live, currency="GBP"))
    for invoice in (foreign, live_invoice):
        assert owner_client.get(detail(invoice)).status_code == 404
        assert owner_client.get(reverse("dashboard:invoice_edit", args=[invoice.pk])).status_code == 404
        assert owner_client.post(action(invoice, "delete")).status_code == 404
        assert owner_client.get(reverse("dashboard:invoice_pdf", args=[invoice.pk])).status_code == 404
    assert owner_client.post(BUILDER, {"invoice": foreign.pk, "op": "preview"}).status_code == 404
    assert Invoice.objects.filter(pk=foreign.pk).exists()


def test_another_tenants_customer_cannot_be_invoiced(owner_client, other_tenant):
    other = CoreTenant(other_tenant.merchant, livemode=False)
    stranger = make_customer(other, currency="GBP")
    response = owner_client.post(NEW, builder_post(stranger, {"a1": {"description": "x", "unit_amount": "1"}}))
    assert response.status_code == 422 and "customer" in response.context["form"].errors
    assert not Invoice.objects.exists()
    assert mail.outbox == []


# --- charging the saved card through the real adapter and simulator -----------------------------------------------
@pytest.mark.django_db(transaction=True)
def test_charge_the_saved_card_shows_declines_and_links_the_payment(owner_client, gateway_sandbox):
    from apps.payments import services as payment_services

    customer = make_customer(gateway_sandbox, currency="USD", email="pay@example.com")
    no_card = make_invoice(gateway_sandbox, customer, lines=[adjustment(unit=2500)], finalize=True)
    assert "charge" not in actions_of(owner_client.get(detail(no_card)))
    card = payment_services.payment_method_create(tenant=gateway_sandbox, actor=ACTOR, customer=customer,
                                                  payment_token="tok_visa", set_default=True)
    page = owner_client.get(detail(no_card))
    assert "charge" in actions_of(page) and f"•••• {card.last4}" in page.content.decode()

    cheap = make_invoice(gateway_sandbox, customer, lines=[adjustment(unit=50)], finalize=True)  # < 1.00 declines
    response = owner_client.post(action(cheap, "charge"))
    assert any(m.startswith("The card was declined") for m in texts(response))
    assert Invoice.objects.get(pk=cheap.pk).status == "approved"

    response = owner_client.post(action(no_card, "charge"))
    assert any(m.startswith("Charged $25.00") for m in texts(response))
    no_card.refresh_from_db()
    assert (no_card.status, no_card.amount_paid_minor) == ("paid", 2500)
    applied = InvoicePayment.objects.get(invoice=no_card)
    body = owner_client.get(detail(no_card)).content.decode()
    assert reverse("dashboard:payment_detail", args=[applied.payment_id]) in body


def test_customer_page_shows_the_invoices_card_with_what_is_owed(owner_client, sandbox, customer):
    open_invoice = make_invoice(sandbox, customer, finalize=True)
    make_invoice(sandbox, customer)  # a draft owes nothing yet
    page = owner_client.get(reverse("dashboard:customers_detail", args=[customer.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-testid="customer-invoices-card"' in html and open_invoice.number in html
    assert html.count('data-testid="customer-invoice-row"') == 2
    assert 'data-testid="customer-amount-owed"' in html and "£100.00" in html
    assert f"{reverse('dashboard:invoice_new')}?customer={customer.pk}" in html

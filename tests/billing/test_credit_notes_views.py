"""Dashboard credit notes: the dialog (fragment and page, prefilled with all that is left), its live preview
explaining the routing, issuing (HX-Redirect to the invoice), roles, the list (filters, constant queries),
the detail with void, and the customer page's card."""
from __future__ import annotations

import pytest
from django.urls import reverse

from apps.billing import services
from apps.billing.models import CreditNote
from apps.core.actors import Actor
from apps.core.money import Money
from apps.core.tenancy import Tenant
from tests.billing.probes_credit_notes import make_invoice
from tests.billing.test_credit_notes import counts

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def sandbox(tenant) -> Tenant:
    return Tenant(tenant.merchant, livemode=False)


@pytest.fixture
def invoice(sandbox):
    invoice = make_invoice(sandbox, unit=10_000)
    services.invoice_record_payment(tenant=sandbox, actor=Actor.system("t"), invoice=invoice,
                                    amount=Money(4000, "GBP"), method="bank_transfer")
    return invoice


def test_dialog_fragment_is_prefilled_and_preview_explains_routes(owner_client, invoice):
    url = reverse("dashboard:credit_note_new", args=[invoice.pk])
    assert reverse("dashboard:credit_note_new") + f"?invoice={invoice.pk}"  # the invoice page's form of the link
    response = owner_client.get(url, **HTMX)
    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html
    for testid in ("credit-note-amount", "credit-note-method", "credit-note-reason", "credit-note-preview",
                   "credit-note-submit"):
        assert f'data-testid="{testid}"' in html
    assert 'value="100.00"' in html  # all that is left
    assert "Bank transfer payment of" in html  # the default preview: full credit, money paid goes back

    before = counts()
    preview = owner_client.post(reverse("dashboard:credit_note_preview", args=[invoice.pk]),
                                {"amount": "70.00", "credit_method": "refund_to_payment_method"}, **HTMX)
    text = preview.content.decode()
    assert preview.status_code == 200 and 'data-testid="credit-note-preview"' in text
    assert "Paid" in text and "£10.00" in text and "outside RevKeen" in text
    bad = owner_client.post(reverse("dashboard:credit_note_preview", args=[invoice.pk]),
                            {"amount": "500.00", "credit_method": "none"}, **HTMX)
    assert "must not exceed" in bad.content.decode()
    assert counts() == before
    page = owner_client.get(reverse("dashboard:credit_note_new") + f"?invoice={invoice.pk}")
    assert page.status_code == 200 and "<html" in page.content.decode()


def test_issue_redirects_to_the_invoice(owner_client, invoice):
    url = reverse("dashboard:credit_note_new", args=[invoice.pk])
    response = owner_client.post(url, {"amount": "25.50", "credit_method": "none", "reason": "service_credit",
                                       "memo": "Late delivery"}, **HTMX)
    assert response.status_code == 204
    assert response["HX-Redirect"] == reverse("dashboard:invoice_detail", args=[invoice.pk])
    note = CreditNote.objects.get()
    assert (note.amount_minor, note.reason, note.memo, note.actor_type) == (2550, "service_credit", "Late delivery",
                                                                            "user")
    again = owner_client.post(url, {"amount": "1000", "credit_method": "none", "reason": "other"}, **HTMX)
    assert again.status_code == 200 and "must not exceed" in again.content.decode()
    assert CreditNote.objects.count() == 1


def test_roles_that_cannot_move_money_cannot_issue(login_as, invoice):
    client = login_as("viewer")
    assert client.get(reverse("dashboard:credit_note_new", args=[invoice.pk])).status_code == 403
    assert client.post(reverse("dashboard:credit_note_new", args=[invoice.pk]),
                       {"amount": "1", "credit_method": "none", "reason": "other"}).status_code == 403
    assert client.get(reverse("dashboard:credit_notes")).status_code == 200
    assert not CreditNote.objects.exists()


def test_other_merchants_invoice_is_404(owner_client, other_tenant):
    foreign = make_invoice(Tenant(other_tenant.merchant, livemode=False))
    assert owner_client.get(reverse("dashboard:credit_note_new", args=[foreign.pk])).status_code == 404


def test_detail_and_void(owner_client, sandbox, invoice):
    note = services.credit_note_create(tenant=sandbox, actor=Actor.system("t"), invoice=invoice,
                                       amount=Money(1000, "GBP"), credit_method="none")
    page = owner_client.get(reverse("dashboard:credit_note_detail", args=[note.pk]))
    html = page.content.decode()
    assert page.status_code == 200 and note.number in html and 'data-testid="credit-note-void"' in html
    response = owner_client.post(reverse("dashboard:credit_note_void", args=[note.pk]))
    assert response.status_code == 302
    note.refresh_from_db()
    assert note.status == "voided"


def test_list_filters_and_constant_queries(owner_client, sandbox, invoice, django_assert_max_num_queries):
    actor = Actor.system("t")
    services.credit_note_create(tenant=sandbox, actor=actor, invoice=invoice, amount=Money(500, "GBP"),
                                credit_method="none")
    url = reverse("dashboard:credit_notes")
    owner_client.get(url)  # warm the session and caches
    with django_assert_max_num_queries(40) as one:
        owner_client.get(url)
    for _ in range(5):
        services.credit_note_create(tenant=sandbox, actor=actor, invoice=make_invoice(sandbox, unit=900),
                                    credit_method="customer_balance")
    with django_assert_max_num_queries(len(one.captured_queries)):
        html = owner_client.get(url).content.decode()
    assert html.count('data-testid="credit-note-row"') == 6
    filtered = owner_client.get(url, {"credit_method": "none"}, HTTP_HX_REQUEST="true",
                                HTTP_HX_TARGET="credit-note-results").content.decode()
    assert filtered.count('data-testid="credit-note-row"') == 1 and "<html" not in filtered
    assert owner_client.get(url, {"q": invoice.number}).content.decode().count('data-testid="credit-note-row"') == 1


def test_customer_card(owner_client, sandbox, invoice):
    services.credit_note_create(tenant=sandbox, actor=Actor.system("t"), invoice=invoice, amount=Money(500, "GBP"),
                                credit_method="none")
    html = owner_client.get(reverse("dashboard:customers_detail", args=[invoice.customer_id])).content.decode()
    assert 'data-testid="customer-credit-notes-card"' in html and "CN-" in html


def test_credit_note_pdf_is_rendered_by_its_task_and_downloaded(owner_client, sandbox, invoice, settings, tmp_path,
                                                                django_capture_on_commit_callbacks):
    import shutil
    import subprocess
    from unittest import mock

    from apps.billing import documents

    settings.MEDIA_ROOT = tmp_path
    with django_capture_on_commit_callbacks(execute=True):
        note = services.credit_note_create(tenant=sandbox, actor=Actor.system("t"), invoice=invoice,
                                           amount=Money(1500, "GBP"), credit_method="none")
    note.refresh_from_db()
    assert note.pdf  # rendered by the task queued after commit (eager in tests), not by a page
    with mock.patch.object(documents, "render_pdf_bytes", side_effect=AssertionError("rendered in the request")):
        response = owner_client.get(reverse("dashboard:credit_note_pdf", args=[note.pk]))
        assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
        body = b"".join(response.streaming_content)
        CreditNote.objects.filter(pk=note.pk).update(pdf="")  # not rendered yet: the page says so
        with mock.patch("apps.billing.tasks.render_credit_note_pdf.delay") as queued:
            pending = owner_client.get(reverse("dashboard:credit_note_pdf", args=[note.pk]))
    assert pending.status_code == 202 and 'data-testid="pdf-pending"' in pending.content.decode()
    queued.assert_called_once_with(note.pk)
    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", "-", "-"], input=body, capture_output=True, check=True).stdout.decode()
        assert note.number in text and invoice.number in text

"""Invoice, credit note and receipt PDFs (WeasyPrint, checked through pdftotext) and the billing emails."""
from __future__ import annotations

import io
import shutil
import subprocess
from unittest import mock

import pytest
from django.core import mail
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from apps.billing import documents, services, tasks
from apps.billing.models import CreditNote, CreditNoteLine, Invoice, InvoiceSettings
from apps.core.money import Money
from tests.factories import make_customer, make_price, make_product

pytestmark = pytest.mark.django_db

def png() -> bytes:
    """A small PNG: the logo the merchant uploaded."""
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (4, 2), (15, 118, 110)).save(out, format="PNG")
    return out.getvalue()


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def pdf_text(name_or_bytes) -> str:
    if not shutil.which("pdftotext"):
        pytest.fail("pdftotext (poppler-utils) is required: .ci/run installs it")
    data = name_or_bytes
    if not isinstance(data, bytes):
        with default_storage.open(name_or_bytes, "rb") as handle:
            data = handle.read()
    assert data.startswith(b"%PDF")
    out = subprocess.run(["pdftotext", "-layout", "-", "-"], input=data, capture_output=True, check=True)
    return " ".join(out.stdout.decode().split())


@pytest.fixture
def customer(sandbox):
    return make_customer(sandbox, name="Ada Lovelace", email="ada@example.com", currency="GBP",
                         billing_address={"line1": "1 High St", "city": "London", "postal_code": "N1 1AA",
                                          "country": "GB"},
                         tax_ids=[{"type": "gb_vat", "value": "GB123456789"}])


@pytest.fixture
def merchant(sandbox):
    m = sandbox.merchant
    m.support_email, m.brand_color, m.display_name = "billing@acme.test", "#0F766E", "Acme Widgets"
    m.logo.save("logo.png", ContentFile(png()), save=False)
    m.save()
    return m


def build(sandbox, actor, customer, vat, **extra):
    monthly = make_price(sandbox, make_product(sandbox, name="Pro Plan"), currency="GBP",
                         unit_amount_minor=5000, interval="month", interval_count=1)
    lines = [services.LineInput(price=monthly, quantity=2, tax_rate=vat),
             services.LineInput(description="Setup fee", unit_amount_minor=2500, tax_rate=vat)]
    return services.invoice_create(tenant=sandbox, actor=actor, customer=customer,
                                   memo="Thanks for your business", lines=lines, **extra)


def finalized(sandbox, actor, customer, vat):
    invoice = build(sandbox, actor, customer, vat)
    return services.invoice_finalize(tenant=sandbox, actor=actor, invoice=invoice)


def test_invoice_pdf_shows_number_lines_and_totals(sandbox, actor, customer, vat, merchant):
    invoice = build(sandbox, actor, customer, vat)
    invoice = services.invoice_finalize(tenant=sandbox, actor=actor, invoice=invoice)
    assert tasks.render_invoice_pdf(invoice.pk) is True
    invoice.refresh_from_db()
    assert invoice.pdf.name and invoice.pdf_revision == invoice.revision
    text = pdf_text(invoice.pdf.name)
    assert invoice.number in text
    assert "Pro Plan" in text and "Billed monthly" in text and "Setup fee" in text
    assert "£100.00" in text and "£25.00" in text  # 2 × £50 and the fee
    assert "Subtotal £125.00" in text and "£25.00" in text and "Total £150.00" in text  # VAT 20 %
    assert "Amount due £150.00" in text
    assert "GB123456789" in text and "1 High St" in text and "Acme Widgets" in text
    assert "Thanks for your business" in text and f"/i/{invoice.hosted_token}" in text
    assert "DRAFT" not in text


def test_pdf_rerendered_only_while_the_revision_changes(sandbox, actor, customer, vat):
    invoice = build(sandbox, actor, customer, vat)
    assert documents.invoice_pdf_render(invoice_id=invoice.pk) is True
    invoice.refresh_from_db()
    first = invoice.pdf.name
    assert "DRAFT" in pdf_text(first)
    assert documents.invoice_pdf_render(invoice_id=invoice.pk) is False  # same revision: nothing to do

    services.invoice_lines_add(tenant=sandbox, actor=actor, invoice=invoice,
                               lines=[services.LineInput(description="Extra hours", unit_amount_minor=1000)])
    assert documents.invoice_pdf_render(invoice_id=invoice.pk) is True
    invoice.refresh_from_db()
    assert "Extra hours" in pdf_text(invoice.pdf.name)
    assert not default_storage.exists(first)  # the superseded draft PDF is gone

    invoice = services.invoice_finalize(tenant=sandbox, actor=actor, invoice=invoice)
    assert documents.invoice_pdf_render(invoice_id=invoice.pk) is True
    invoice.refresh_from_db()
    final, revision = invoice.pdf.name, invoice.revision
    assert "DRAFT" not in pdf_text(final) and invoice.number in pdf_text(final)
    # Paying, sending, marking overdue never change an issued document: no second render.
    services.invoice_record_payment(tenant=sandbox, actor=actor, invoice=invoice, amount=Money(1000, "GBP"),
                                    method="cash")
    with mock.patch.object(documents, "render_pdf_bytes", side_effect=AssertionError("rendered again")):
        assert documents.invoice_pdf_render(invoice_id=invoice.pk) is False
    invoice.refresh_from_db()
    assert (invoice.pdf.name, invoice.pdf_revision, invoice.revision) == (final, revision, revision)


def test_a_render_overtaken_by_a_draft_change_is_not_stored(sandbox, actor, customer, vat):
    invoice = build(sandbox, actor, customer, vat)
    real = documents.render_pdf_bytes

    def edit_meanwhile(html):
        Invoice.objects.filter(pk=invoice.pk).update(revision=invoice.revision + 5)  # a concurrent draft edit
        return real(html)

    with mock.patch.object(documents, "render_pdf_bytes", side_effect=edit_meanwhile):
        assert documents.invoice_pdf_render(invoice_id=invoice.pk) is False
    invoice.refresh_from_db()
    assert not invoice.pdf and invoice.pdf_revision == 0
    assert not default_storage.exists(f"invoices/{invoice.pk}-r{invoice.revision - 5}.pdf")


def test_services_queue_the_render_after_commit(sandbox, actor, customer, vat,
                                                django_capture_on_commit_callbacks):
    with mock.patch.object(tasks.render_invoice_pdf, "delay") as delay:
        with django_capture_on_commit_callbacks(execute=True):
            invoice = build(sandbox, actor, customer, vat)
        delay.assert_called_once_with(invoice.pk)


def test_invoice_email_html_text_and_pdf(sandbox, actor, customer, vat, merchant,
                                         django_capture_on_commit_callbacks):
    invoice = build(sandbox, actor, customer, vat)
    with django_capture_on_commit_callbacks(execute=True):
        services.invoice_send(tenant=sandbox, actor=actor, invoice=invoice, cc=["boss@example.com"])
    invoice.refresh_from_db()
    sent = [m for m in mail.outbox if m.subject.startswith("Invoice")]
    assert len(sent) == 1
    email = sent[0]
    assert email.subject == f"Invoice {invoice.number} from Acme Widgets"
    assert email.to == ["ada@example.com"] and email.cc == ["boss@example.com"]
    assert email.from_email.startswith("Acme Widgets <") and email.reply_to == ["billing@acme.test"]
    hosted = f"/i/{invoice.hosted_token}"
    assert hosted in email.body and "£150.00" in email.body and "Pro Plan" in email.body
    html, mimetype = email.alternatives[0]
    assert mimetype == "text/html" and hosted in html and "#0F766E" in html and "<table" in html
    [(filename, content, kind)] = email.attachments
    assert filename == f"{invoice.number}.pdf" and kind == "application/pdf"
    assert invoice.number in pdf_text(content)


def test_no_attachment_when_the_merchant_turns_it_off(sandbox, actor, customer, vat):
    InvoiceSettings.objects.update_or_create(merchant=sandbox.merchant, defaults={"attach_pdf": False})
    invoice = finalized(sandbox, actor, customer, vat)
    with mock.patch.object(documents, "render_pdf_bytes", side_effect=AssertionError("no PDF needed")):
        assert documents.invoice_email_send(invoice_id=invoice.pk, kind="invoice", to=["x@example.com"],
                                            cc=[])
    assert mail.outbox[-1].attachments == [] and mail.outbox[-1].to == ["x@example.com"]


def test_receipts_for_part_and_full_payments(sandbox, actor, customer, vat,
                                             django_capture_on_commit_callbacks):
    invoice = finalized(sandbox, actor, customer, vat)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.invoice_record_payment(tenant=sandbox, actor=actor, invoice=invoice,
                                        amount=Money(5000, "GBP"), method="bank_transfer",
                                        reference="BACS 991")
    [part] = mail.outbox
    assert part.subject == f"Receipt for invoice {invoice.number} from Acme Ltd"
    assert "£50.00" in part.body and "£100.00 remains" in part.body
    assert "<strong>£100.00</strong> remains" in part.alternatives[0][0]
    receipt_text = pdf_text(part.attachments[0][1])
    assert "Receipt" in receipt_text and "£50.00" in receipt_text and "BACS 991" in receipt_text
    assert "Remaining on the invoice £100.00" in receipt_text and invoice.number in receipt_text
    assert "Pro Plan" in receipt_text and "Billed monthly" in receipt_text
    with django_capture_on_commit_callbacks(execute=True):
        services.invoice_record_payment(tenant=sandbox, actor=actor, invoice=invoice, method="cash")
    full = mail.outbox[1]
    assert "paid in full" in full.body and "£100.00" in full.body
    assert "Remaining on the invoice £0.00" in pdf_text(full.attachments[0][1])


def test_overdue_and_reminder_emails_skip_a_paid_invoice(sandbox, actor, customer, vat):
    invoice = finalized(sandbox, actor, customer, vat)
    assert documents.invoice_email_send(invoice_id=invoice.pk, kind="overdue", to=[], cc=[]) is True
    assert "overdue" in mail.outbox[-1].subject
    services.invoice_record_payment(tenant=sandbox, actor=actor, invoice=invoice, method="cash")
    count = len(mail.outbox)
    assert documents.invoice_email_send(invoice_id=invoice.pk, kind="overdue", to=[], cc=[]) is False
    assert documents.invoice_email_send(invoice_id=invoice.pk, kind="reminder", to=[], cc=[]) is False
    assert len(mail.outbox) == count


def test_credit_note_pdf_and_email(sandbox, actor, customer, vat):
    invoice = finalized(sandbox, actor, customer, vat)
    note = CreditNote.objects.create(merchant=sandbox.merchant, livemode=False, number="CN-2026-00001",
                                     invoice=invoice, customer=customer, credit_method="none",
                                     reason="service_credit", currency="GBP", amount_minor=3000,
                                     tax_minor=500, pre_payment_minor=3000,
                                     tax_by_rate=[{"name": "VAT", "percentage": "20", "tax_minor": 500}])
    CreditNoteLine.objects.create(merchant=sandbox.merchant, livemode=False, credit_note=note,
                                  description="Outage credit", amount_minor=3000, tax_minor=500)
    assert tasks.render_credit_note_pdf(note.pk) is True
    assert tasks.render_credit_note_pdf(note.pk) is False  # rendered once
    note.refresh_from_db()
    text = pdf_text(note.pdf.name)
    assert "CN-2026-00001" in text and invoice.number in text and "Outage credit" in text
    assert "Total credited £30.00" in text and "Service credit" in text and "Credit note only" in text
    assert tasks.send_credit_note_email(note.pk) is True
    email = mail.outbox[-1]
    assert email.subject == "Credit note CN-2026-00001 from Acme Ltd" and email.to == ["ada@example.com"]
    assert "£30.00" in email.body and email.alternatives[0][1] == "text/html"
    assert email.attachments[0][0] == "CN-2026-00001.pdf"


def test_logo_and_brand_colour_are_embedded_without_network(sandbox, merchant):
    brand = documents.branding(merchant)
    assert brand["logo"].startswith("data:image/png;base64,") and brand["color"] == "#0F766E"
    merchant.brand_color = "red;}body{display:none"
    assert documents.branding(merchant)["color"] == "#4F46E5"  # only a hex colour reaches a stylesheet
    merchant.logo.save("broken.png", ContentFile(b"\x89PNG not really"), save=False)
    assert documents.branding(merchant)["logo"] == ""  # a damaged upload is left out, never breaks a PDF
    # The renderer refuses anything but data: URIs (no network, no local files).
    pdf = documents.render_pdf_bytes('<img src="http://127.0.0.1:9/x.png"><img src="file:///etc/passwd">ok')
    assert "ok" in pdf_text(pdf)


def test_interval_labels():
    assert documents.interval_label("month", 1) == "Billed monthly"
    assert documents.interval_label("month", 3) == "Billed every 3 months"
    assert documents.interval_label("year", 1) == "Billed yearly"
    assert documents.interval_label("", 1) == ""


def test_a_line_without_an_interval_snapshot_falls_back_to_its_price(sandbox, actor, customer, vat):
    invoice = build(sandbox, actor, customer, vat)
    invoice.lines.update(billing_interval="")  # a line written before the snapshot existed
    rows = documents.invoice_context(invoice)["lines"]
    assert [row["interval"] for row in rows] == ["Billed monthly", ""]

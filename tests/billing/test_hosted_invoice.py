"""The hosted invoice page /i/<token>: who can see it, paying by card through the NMI simulator (the
real adapter, Collect.js tokens), declines, 3-D Secure, PDF downloads that never render in the request,
and the strict Content-Security-Policy."""
from __future__ import annotations

import re
import shutil
import subprocess
from unittest import mock
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from django.core import mail

from apps.billing import documents, services, tasks
from apps.billing.models import Invoice, InvoicePayment
from tests.factories import make_customer


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def issue(tenant, actor, *, amount=4200, currency="USD", finalize=True, customer=None):
    customer = customer or make_customer(tenant, name="Ada Lovelace", email="ada@example.com",
                                         currency=currency)
    line = services.LineInput(description="Consulting, March", quantity=2, unit_amount_minor=amount // 2,
                              tax_exempt=True)
    invoice = services.invoice_create(tenant=tenant, actor=actor, customer=customer, currency=currency,
                                      lines=[line])
    if finalize:
        invoice = services.invoice_finalize(tenant=tenant, actor=actor, invoice=invoice)
    return invoice


def page_url(invoice: Invoice, suffix: str = "") -> str:
    return f"/i/{invoice.hosted_token}{suffix}"


def ids_in(response) -> set[str]:
    return set(re.findall(r'data-testid="([^"]+)"', response.content.decode()))


# --- who sees what -------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_unknown_token_and_drafts_are_404(client, sandbox, actor):
    draft = issue(sandbox, actor, finalize=False)
    customer = draft.customer
    for url in ("/i/not-a-token", "/i/" + "x" * 200, page_url(draft), page_url(draft, "/pdf")):
        assert client.get(url).status_code == 404, url
    assert client.post(page_url(draft, "/pay"), {"payment_token": "tok_visa"}).status_code == 404
    pending = issue(sandbox, actor, customer=customer)
    Invoice.objects.filter(pk=pending.pk).update(status="pending_approval")
    assert client.get(page_url(pending)).status_code == 404


@pytest.mark.django_db
def test_page_shows_the_invoice_with_branding_and_a_strict_csp(client, sandbox, actor):
    merchant = sandbox.merchant
    merchant.display_name, merchant.brand_color = "Acme Widgets", "#0F766E"
    merchant.save()
    invoice = issue(sandbox, actor)
    response = client.get(page_url(invoice))
    assert response.status_code == 200
    html = response.content.decode()
    assert {"hosted-invoice", "hosted-pay", "hosted-pdf"} <= ids_in(response)
    assert "hosted-paid" not in ids_in(response) and "hosted-error" not in ids_in(response)
    assert invoice.number in html and "Consulting, March" in html
    assert "$42.00" in html and "Acme Widgets" in html
    assert "#0F766E" in html and "Due " in html

    csp = response["Content-Security-Policy"]
    nonce = re.search(r"'nonce-([^']+)'", csp).group(1)
    gateway_origin = "{0.scheme}://{0.netloc}".format(urlsplit(invoice.merchant.gateway_accounts.get(livemode=False)
                                                               .api_url))
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["default-src"] == "'none'" and directives["frame-ancestors"] == "'none'"
    assert directives["script-src"] == f"'self' 'nonce-{nonce}' {gateway_origin}"
    assert directives["frame-src"] == gateway_origin and "unsafe-inline" not in csp
    # Every script is the gateway's Collect.js or carries this response's nonce; no inline style attributes.
    for tag in re.findall(r"<script[^>]*>", html):
        assert f'nonce="{nonce}"' in tag or f'src="{gateway_origin}/' in tag, tag
    assert 'style="' not in html and "<style>" not in html
    assert response["Referrer-Policy"] == "same-origin"
    assert client.get(page_url(invoice))["Content-Security-Policy"] != csp  # a fresh nonce each time


@pytest.mark.django_db
def test_paid_and_voided_invoices_show_their_state_without_a_pay_form(client, sandbox, actor):
    paid = issue(sandbox, actor)
    services.invoice_record_payment(tenant=sandbox, actor=actor, invoice=paid, method="bank_transfer")
    response = client.get(page_url(paid))
    assert "hosted-paid" in ids_in(response) and "hosted-pay" not in ids_in(response)
    assert "hosted-receipts" in ids_in(response)
    voided = issue(sandbox, actor, customer=paid.customer)
    services.invoice_void(tenant=sandbox, actor=actor, invoice=voided)
    response = client.get(page_url(voided))
    assert response.status_code == 200 and "hosted-pay" not in ids_in(response)
    assert "was voided" in response.content.decode()
    assert client.post(page_url(voided, "/pay"), {"payment_token": "tok_visa"}).status_code == 422


# --- PDFs: never rendered in the request ---------------------------------------------------------------
@pytest.mark.django_db
def test_pdf_download_serves_the_stored_file_and_never_renders_in_the_request(
        client, sandbox, actor, django_capture_on_commit_callbacks):
    invoice = issue(sandbox, actor)  # on_commit never ran here: no PDF yet
    assert not Invoice.objects.get(pk=invoice.pk).pdf
    never = AssertionError("rendered in a request")
    with mock.patch.object(documents, "render_pdf_bytes", side_effect=never), \
            mock.patch.object(tasks.render_invoice_pdf, "delay") as delay:
        with django_capture_on_commit_callbacks(execute=True):
            response = client.get(page_url(invoice, "/pdf"))
        assert response.status_code == 202 and "being prepared" in response.content.decode()
        assert response["Content-Security-Policy"]
        delay.assert_called_once_with(invoice.pk)  # the task was queued instead
    assert tasks.render_invoice_pdf(invoice.pk) is True  # what the worker does
    with mock.patch.object(documents, "render_pdf_bytes", side_effect=never):
        response = client.get(page_url(invoice, "/pdf"))
        assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
        data = b"".join(response.streaming_content)
    assert data.startswith(b"%PDF")
    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", "-", "-"], input=data, capture_output=True,
                              check=True).stdout.decode()
        assert invoice.number in text and "Consulting, March" in text


@pytest.mark.django_db
def test_a_receipt_of_another_invoice_is_404(client, sandbox, actor):
    first = issue(sandbox, actor)
    second = issue(sandbox, actor, customer=first.customer)
    application = services.invoice_record_payment(tenant=sandbox, actor=actor, invoice=first, method="cash")
    assert client.get(page_url(second, f"/receipts/{application.pk}/pdf")).status_code == 404
    with mock.patch.object(tasks.render_receipt_pdf, "delay"):
        assert client.get(page_url(first, f"/receipts/{application.pk}/pdf")).status_code == 202


# --- paying by card through the simulator --------------------------------------------------------------
@pytest.mark.django_db(transaction=True)
def test_pay_by_card_token_then_paid_with_a_receipt(client, gateway_sandbox, actor):
    invoice = issue(gateway_sandbox, actor)
    mail.outbox.clear()
    response = client.post(page_url(invoice, "/pay"), {"payment_token": "tok_visa"})
    assert response.status_code == 302
    application = InvoicePayment.objects.get(invoice=invoice)
    assert response["Location"] == page_url(invoice, f"?paid={application.pk}")
    invoice.refresh_from_db()
    assert invoice.status == "paid" and invoice.amount_paid_minor == 4200
    assert invoice.amount_remaining_minor == 0
    assert application.method == "card" and application.payment.status == "succeeded"

    [receipt] = [m for m in mail.outbox if m.subject.startswith("Receipt")]
    assert receipt.to == ["ada@example.com"] and "$42.00" in receipt.body and "paid in full" in receipt.body
    assert receipt.attachments and receipt.attachments[0][2] == "application/pdf"

    page = client.get(response["Location"])
    html = page.content.decode()
    assert "hosted-paid" in ids_in(page) and "hosted-pay" not in ids_in(page)
    assert "Receipt sent to <strong>ada@example.com</strong>" in html
    pdf = client.get(page_url(invoice, f"/receipts/{application.pk}/pdf"))
    assert pdf.status_code == 200 and b"".join(pdf.streaming_content).startswith(b"%PDF")
    # A second click after success is refused with the invoice's state, never a second charge.
    again = client.post(page_url(invoice, "/pay"), {"payment_token": "tok_visa"})
    assert again.status_code == 422 and "hosted-error" in ids_in(again)
    assert InvoicePayment.objects.filter(invoice=invoice).count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_decline_shows_the_message_and_leaves_the_invoice_unpaid(client, gateway_sandbox, actor):
    invoice = issue(gateway_sandbox, actor)
    mail.outbox.clear()
    response = client.post(page_url(invoice, "/pay"), {"payment_token": "tok_decline_200"})
    assert response.status_code == 402
    assert "hosted-error" in ids_in(response) and "hosted-pay" in ids_in(response)  # try another card
    assert "Card declined. Please contact your bank." in response.content.decode()
    invoice.refresh_from_db()
    assert invoice.status == "approved" and invoice.amount_remaining_minor == 4200
    assert not InvoicePayment.objects.filter(invoice=invoice).exists() and mail.outbox == []
    empty = client.post(page_url(invoice, "/pay"), {"payment_token": ""})
    assert empty.status_code == 422 and "Enter your card details" in empty.content.decode()


@pytest.mark.django_db(transaction=True)
def test_three_d_secure_challenge_and_return(client, gateway_sandbox, actor):
    invoice = issue(gateway_sandbox, actor)
    response = client.post(page_url(invoice, "/pay"), {"payment_token": "tok_3ds"})
    assert response.status_code == 302
    challenge = response["Location"]
    return_url = parse_qs(urlsplit(challenge).query)["return_url"][0]
    assert urlsplit(return_url).path.startswith(page_url(invoice, "/3ds/pay_"))
    invoice.refresh_from_db()
    assert invoice.status == "approved"
    page = client.get(page_url(invoice))
    assert "hosted-pending-action" in ids_in(page)  # the customer can come back to finish it
    # The customer passes the issuer's challenge on the gateway's page, which sends the browser back.
    answer = httpx.post(challenge.split("?")[0], data={"action": "complete", "return_url": return_url},
                        follow_redirects=False, timeout=10)
    assert answer.status_code == 303
    back = urlsplit(answer.headers["location"])
    response = client.get(f"{back.path}?{back.query}")
    assert response.status_code == 302 and "?paid=ipy_" in response["Location"]
    invoice.refresh_from_db()
    assert invoice.status == "paid" and InvoicePayment.objects.filter(invoice=invoice).count() == 1
    assert client.get(f"{back.path}?{back.query}").status_code == 302  # a reload applies nothing twice
    assert InvoicePayment.objects.filter(invoice=invoice).count() == 1


@pytest.mark.django_db(transaction=True)
def test_card_testing_is_stopped_after_five_attempts_on_one_invoice(client, gateway_sandbox, actor):
    from apps.payments.models import Payment

    invoice = issue(gateway_sandbox, actor)
    codes = [client.post(page_url(invoice, "/pay"), {"payment_token": "tok_decline_200"}).status_code
             for _ in range(6)]
    assert codes == [402] * 5 + [429]
    assert Payment.objects.filter(invoice_id=invoice.pk).count() == 5  # the sixth never reached the gateway
    blocked = client.post(page_url(invoice, "/pay"), {"payment_token": "tok_visa"})
    assert blocked.status_code == 429 and "Too many payment attempts" in blocked.content.decode()
    invoice.refresh_from_db()
    assert invoice.status == "approved"

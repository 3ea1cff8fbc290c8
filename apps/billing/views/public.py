"""Public pages customers reach without logging in: the hosted invoice page (issue 5, page 024).

`/i/<hosted_token>` is the invoice's unguessable link (payloads.hosted_invoice_url). The token is the only
key: a draft, or a token we do not know, is a 404. The page shows the merchant's branding, the invoice
and, while money is owed, a card form: the card fields are the gateway's own frames (Collect.js, mounted
exactly as the dashboard's virtual terminal does), so only a single-use token is posted to `/pay`,
which calls services.invoice_pay as the customer. A 3-D Secure challenge sends the browser to the
gateway and back to `/3ds/<payment>`, where the gateway's record decides.

PDFs are never rendered here: the download views serve the stored file, or queue the task and say the
document is being prepared.

Every response carries a strict Content-Security-Policy: our origin, a per-response nonce for the page's
own script and style, and the gateway's origin (its Collect.js and card frames) — nothing else.
"""
from __future__ import annotations

import secrets
from urllib.parse import urlencode, urlsplit

from django.core.files.storage import default_storage
from django.db import transaction
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_GET, require_POST

from apps.core.actors import Actor
from apps.core.api.ratelimit import take_token
from apps.core.errors import DomainError, PaymentDeclined
from apps.core.tenancy import Tenant

from .. import documents, services, tasks
from ..models import Invoice, InvoicePayment
from ..services.invoices import DRAFT_STATUSES, PAYABLE_STATUSES

MAX_TOKEN_LENGTH = 64
# Card-testing guard: a hosted invoice takes at most PAY_ATTEMPT_BURST card attempts at once, then one
# more every 1 / PAY_ATTEMPTS_PER_MINUTE minutes (a token bucket per invoice, in Redis in service mode).
PAY_ATTEMPT_BURST = 5
PAY_ATTEMPTS_PER_MINUTE = 0.2


# --- helpers -------------------------------------------------------------------------------------------
def _invoice_or_404(token: str) -> Invoice:
    if not token or len(token) > MAX_TOKEN_LENGTH:
        raise Http404("No such invoice")
    invoice = Invoice.objects.select_related("merchant", "customer").filter(hosted_token=token) \
        .exclude(status__in=DRAFT_STATUSES).first()
    if invoice is None:
        raise Http404("No such invoice")
    return invoice


def _tenant(invoice: Invoice) -> Tenant:
    return Tenant(merchant=invoice.merchant, livemode=invoice.livemode)


def _actor(invoice: Invoice) -> Actor:
    customer = invoice.customer
    return Actor("customer", customer.pk, invoice.customer_email or customer.email or customer.name)


def _gateway(invoice: Invoice):
    from apps.payments.services import payments as payment_services

    try:
        return payment_services.gateway_account_for(_tenant(invoice))
    except DomainError:
        return None


def _origin(url: str) -> str:
    parts = urlsplit(url or "")
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme in ("http", "https") and parts.netloc else ""


def content_security_policy(*, nonce: str, gateway_origin: str = "") -> str:
    """Our origin, the response's nonce and the gateway's origin (its script, its card frames, its 3-D
    Secure page a form may be redirected to); no inline code without the nonce, no other host."""
    gateway = f" {gateway_origin}" if gateway_origin else ""
    frames = gateway_origin or "'none'"
    return "; ".join([
        "default-src 'none'",
        f"script-src 'self' 'nonce-{nonce}'{gateway}",
        f"style-src 'self' 'nonce-{nonce}'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        f"frame-src {frames}",
        f"form-action 'self'{gateway}",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    ])


def _page(request, invoice: Invoice, *, template: str = "billing/public/invoice.html", status: int = 200,
          error: str = "", notice: str = "", extra: dict | None = None):
    """Renders a hosted page with its CSP header and nonce."""
    nonce = secrets.token_urlsafe(16)
    payable = invoice.status in PAYABLE_STATUSES and invoice.amount_remaining_minor > 0
    gateway = _gateway(invoice) if payable else None
    gateway_origin = _origin(gateway.api_url) if gateway else ""
    context = {"nonce": nonce, "error": error, "notice": notice, "owes": payable,
               "payable": payable and gateway is not None, "gateway": gateway,
               "collectjs_url": _collectjs_url(gateway) if gateway else "", "token": invoice.hosted_token,
               **(extra or {})}
    if template.endswith("invoice.html"):
        context.update(documents.invoice_context(invoice, lines=documents.invoice_lines(invoice)))
        context["receipts"] = _receipt_rows(invoice)
        context["pending_action"] = _pending_action(request, invoice) if payable else ""
    else:
        context["brand"] = documents.branding(invoice.merchant)
        context["invoice"] = invoice
    response = render(request, template, context, status=status)
    response["Content-Security-Policy"] = content_security_policy(nonce=nonce, gateway_origin=gateway_origin)
    # The URL is the key: never sent to another site (same-origin keeps the Origin our CSRF check needs).
    response["Referrer-Policy"] = "same-origin"
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Cache-Control"] = "no-store"
    return response


def _collectjs_url(account) -> str:
    """Collect.js lives on the gateway's own host, beside its API (as the virtual terminal mounts it)."""
    return account.api_url.rstrip("/") + "/token/Collect.js"


def _receipt_rows(invoice: Invoice) -> list[dict]:
    rows = []
    for application in invoice.payments_applied.select_related("payment").order_by("-created_at", "-id"):
        payment = application.payment
        card = f"{(payment.card_brand or 'Card').title()} •••• {payment.card_last4}" \
            if payment is not None and payment.card_last4 else ""
        rows.append({"id": application.pk, "date": application.received_at, "card": card,
                     "amount": documents.fmt(application.amount_minor, application.currency),
                     "method": application.get_method_display()})
    return rows


def _challenge_url(request, invoice: Invoice, payment) -> str:
    return_url = request.build_absolute_uri(reverse("billing_hosted_invoice_3ds", args=[invoice.hosted_token,
                                                                                        payment.pk]))
    separator = "&" if "?" in payment.action_url else "?"
    return f"{payment.action_url}{separator}{urlencode({'return_url': return_url})}"


def _pending_action(request, invoice: Invoice) -> str:
    """A 3-D Secure challenge the customer left unanswered: the link to finish it (else '')."""
    from apps.payments.models import Payment

    payment = Payment.objects.filter(invoice_id=invoice.pk, status=Payment.Status.REQUIRES_ACTION) \
        .exclude(action_url="").order_by("-created_at").first()
    return _challenge_url(request, invoice, payment) if payment else ""


def _paid_redirect(invoice: Invoice, application: InvoicePayment | None):
    url = reverse("billing_hosted_invoice", args=[invoice.hosted_token])
    return redirect(f"{url}?{urlencode({'paid': application.pk})}" if application else url)


def _preparing(request, invoice: Invoice, *, what: str, queue) -> object:
    """The document is not rendered yet: queue its task (after this request's transaction) and say so."""
    transaction.on_commit(queue)
    return _page(request, invoice, template="billing/public/preparing.html", status=202, extra={"what": what})


# --- views ---------------------------------------------------------------------------------------------
@require_GET
def hosted_invoice(request, token: str):
    invoice = _invoice_or_404(token)
    extra = {}
    paid_id = request.GET.get("paid", "")
    if paid_id:
        application = InvoicePayment.objects.filter(pk=paid_id[:40], invoice=invoice).first()
        if application is not None:
            extra["just_paid"] = {"id": application.pk, "amount": documents.fmt(application.amount_minor,
                                                                              application.currency),
                                  "email": invoice.customer_email or invoice.customer.email}
    return _page(request, invoice, extra=extra)


@require_POST
def hosted_invoice_pay(request, token: str):
    """Charges what is owed to the card the gateway tokenised in the browser."""
    from apps.payments.models import Payment

    invoice = _invoice_or_404(token)
    payment_token = request.POST.get("payment_token", "").strip()
    if not payment_token or len(payment_token) > 200:
        return _page(request, invoice, status=422, error="Enter your card details to pay.")
    allowed, _left = take_token(f"hosted-pay:{invoice.pk}", per_minute=PAY_ATTEMPTS_PER_MINUTE,
                                burst=PAY_ATTEMPT_BURST)
    if not allowed:
        return _page(request, invoice, status=429,
                     error="Too many payment attempts on this invoice. Please wait a few minutes and try again.")
    try:
        result = services.invoice_pay(tenant=_tenant(invoice), actor=_actor(invoice), invoice=invoice,
                                      payment_token=payment_token,
                                      request_id=getattr(request, "request_id", ""))
    except PaymentDeclined as exc:
        return _page(request, _invoice_or_404(token), status=402, error=exc.message)
    except DomainError as exc:
        return _page(request, _invoice_or_404(token), status=exc.status if exc.status >= 400 else 400,
                     error=exc.message)
    payment = result.payment
    if payment.status == Payment.Status.REQUIRES_ACTION and payment.action_url:
        return redirect(_challenge_url(request, invoice, payment))
    if payment.status == Payment.Status.SUCCEEDED:
        return _paid_redirect(invoice, InvoicePayment.objects.filter(payment=payment).first())
    return _page(request, result.invoice, status=202,
                 notice="Your card issuer is still confirming the payment. This page will show it when done.")


@require_GET
def hosted_invoice_3ds_return(request, token: str, payment_id: str):
    """Where the 3-D Secure challenge sends the browser back: the gateway's record decides the outcome."""
    from apps.payments.models import Payment
    from apps.payments.services import payments as payment_services

    invoice = _invoice_or_404(token)
    payment = Payment.objects.filter(pk=payment_id[:40], invoice_id=invoice.pk).first()
    if payment is None:
        raise Http404("No such payment")
    actor = _actor(invoice)
    try:
        if payment.status == Payment.Status.REQUIRES_ACTION:
            payment = payment_services.payment_complete_action(payment=payment, actor=actor)
        if payment.status == Payment.Status.SUCCEEDED:
            application = services.invoice_apply_card_payment(payment=payment, actor=actor)
            return _paid_redirect(invoice, application)
    except DomainError as exc:
        return _page(request, _invoice_or_404(token), status=exc.status if exc.status >= 400 else 400,
                     error=exc.message)
    if payment.status == Payment.Status.FAILED:
        return _page(request, invoice, status=402,
                     error=payment.failure_message or "The card issuer did not authenticate the payment.")
    return _page(request, invoice, status=202,
                 notice="The card issuer has not confirmed the authentication yet.")


@require_GET
def hosted_invoice_pdf(request, token: str):
    invoice = _invoice_or_404(token)
    if documents.invoice_pdf_ready(invoice):
        return FileResponse(invoice.pdf.open("rb"), content_type="application/pdf", as_attachment=True,
                            filename=f"{invoice.number}.pdf")
    return _preparing(request, invoice, what="invoice",
                      queue=lambda: tasks.render_invoice_pdf.delay(invoice.pk))


@require_GET
def hosted_receipt_pdf(request, token: str, receipt_id: str):
    invoice = _invoice_or_404(token)
    application = InvoicePayment.objects.filter(pk=receipt_id[:40], invoice=invoice).first()
    if application is None:
        raise Http404("No such receipt")
    if documents.receipt_pdf_ready(application):
        return FileResponse(default_storage.open(documents.receipt_pdf_name(application), "rb"),
                            content_type="application/pdf", as_attachment=True,
                            filename=f"receipt-{invoice.number}.pdf")
    return _preparing(request, invoice, what="receipt",
                      queue=lambda: tasks.render_receipt_pdf.delay(application.pk))


urlpatterns = [
    path("i/<str:token>", hosted_invoice, name="billing_hosted_invoice"),
    path("i/<str:token>/pay", hosted_invoice_pay, name="billing_hosted_invoice_pay"),
    path("i/<str:token>/3ds/<str:payment_id>", hosted_invoice_3ds_return, name="billing_hosted_invoice_3ds"),
    path("i/<str:token>/pdf", hosted_invoice_pdf, name="billing_hosted_invoice_pdf"),
    path("i/<str:token>/receipts/<str:receipt_id>/pdf", hosted_receipt_pdf,
         name="billing_hosted_receipt_pdf"),
]

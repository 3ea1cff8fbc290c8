"""PDFs and emails of invoices, credit notes and payment receipts.

PDFs are rendered by WeasyPrint from the templates under templates/billing/pdf/, only ever inside the
Celery tasks of tasks.py (never in a request: the download views serve the stored file or say it is
being prepared). The renderer fetches nothing from the network: fonts come from the system and the
merchant's logo is embedded as a data URI.

- Invoice: rendered whenever `pdf_revision != revision`. Every draft change bumps the revision, and so
  does finalization (through _recompute); after that the revision never moves, so an issued invoice's
  PDF is rendered once and never rewritten (no PAID/VOID stamp, which would need a re-render).
  The stored PDF is swapped in with a compare-and-set on the revision it shows, so a slow task for an
  older revision can never overwrite a newer one.
- Credit note: rendered once, when it has no PDF yet.
- Receipt: one per InvoicePayment, at a fixed storage path (receipts/<id>.pdf), rendered once.

Emails are HTML + text (EmailMultiAlternatives) from the merchant's name, replying to its support
email, with the PDF attached when InvoiceSettings.attach_pdf.
"""
from __future__ import annotations

import base64
import io
import logging
import mimetypes
import string
from datetime import date
from email.utils import formataddr, parseaddr

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.mail import EmailMultiAlternatives
from django.db.models import Sum
from django.template.loader import render_to_string

from apps.core.clock import now
from apps.core.money import Money

from .calculations.schedule import INTERVALS
from .models import CreditNote, Invoice, InvoicePayment
from .payloads import hosted_invoice_url

log = logging.getLogger("revkeen.billing.documents")
# WeasyPrint's font subsetting logs every glyph at INFO: keep the workers' logs readable.
for _noisy in ("fontTools", "weasyprint"):
    logging.getLogger(_noisy).setLevel(logging.WARNING)

INVOICE_EMAIL_KINDS = ("invoice", "receipt", "reminder", "overdue")
LOGO_TYPES = ("image/png", "image/jpeg", "image/gif", "image/svg+xml", "image/webp")
LOGO_MAX_BYTES = 2 * 1024 * 1024


# --- rendering ---------------------------------------------------------------------------------------
def render_pdf_bytes(html: str) -> bytes:
    """HTML → PDF bytes. The one place WeasyPrint is called (tests patch it to prove a view never renders)."""
    from weasyprint import HTML, URLFetcher

    # data: URIs only: a document never reaches the network or the disk.
    return HTML(string=html, url_fetcher=URLFetcher(allowed_protocols=("data",))).write_pdf()


def fmt(minor: int, currency: str) -> str:
    return Money(int(minor or 0), currency).format()


def logo_data_uri(merchant) -> str:
    """The merchant's logo as a data URI ('' without one, or when it cannot be read or is not an image)."""
    if not merchant.logo:
        return ""
    kind = mimetypes.guess_type(merchant.logo.name)[0] or ""
    if kind not in LOGO_TYPES:
        return ""
    try:
        with merchant.logo.open("rb") as handle:
            data = handle.read(LOGO_MAX_BYTES + 1)
    except OSError:
        log.warning("logo of merchant %s cannot be read", merchant.pk)
        return ""
    if len(data) > LOGO_MAX_BYTES or (kind != "image/svg+xml" and not _valid_image(data)):
        return ""
    return f"data:{kind};base64,{base64.b64encode(data).decode()}"


def _valid_image(data: bytes) -> bool:
    """A damaged upload must not break every document of the merchant: it is left out instead."""
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
    except Exception:  # noqa: BLE001 — Pillow raises many kinds for a bad file
        log.warning("a merchant logo is not a readable image; documents are rendered without it")
        return False
    return True


def branding(merchant) -> dict:
    color = merchant.brand_color or "#4F46E5"
    if not (len(color) == 7 and color.startswith("#") and all(c in string.hexdigits for c in color[1:])):
        color = "#4F46E5"  # only a hex colour ever reaches a stylesheet
    return {"name": merchant.public_name, "color": color, "logo": logo_data_uri(merchant),
            "support_email": merchant.support_email, "website": merchant.website}


def interval_label(interval: str, count: int) -> str:
    """'Billed monthly', 'Billed every 3 months' (the labels of calculations.schedule.INTERVALS)."""
    info = INTERVALS.get(interval or "")
    if info is None:
        return ""
    if (count or 1) == 1:
        return f"Billed {info.label.lower()}"
    return f"Billed every {count} {info.plural}"


def _issuer(invoice: Invoice) -> dict:
    """The issuer snapshot of a finalized invoice; for a draft, the merchant as it is now."""
    if invoice.issuer:
        return invoice.issuer
    from .services.numbering import invoice_settings_for

    merchant, settings_ = invoice.merchant, invoice_settings_for(invoice.merchant)
    return {"name": merchant.public_name, "legal_name": merchant.name, "address": merchant.address,
            "country": merchant.country, "email": merchant.support_email, "phone": merchant.support_phone,
            "website": merchant.website, "tax_id": settings_.tax_id,
            "payment_instructions": settings_.payment_instructions}


TAX_ID_LABELS = {"eu_vat": "VAT", "gb_vat": "VAT", "vat": "VAT", "au_abn": "ABN", "us_ein": "EIN"}


def _tax_ids(values) -> list[dict]:
    rows = []
    for tax_id in values or []:
        if isinstance(tax_id, dict):
            kind = str(tax_id.get("type", ""))
            rows.append({"label": TAX_ID_LABELS.get(kind, kind.replace("_", " ").upper()),
                         "value": tax_id.get("value", "")})
    return rows


def _customer(invoice: Invoice) -> dict:
    if invoice.finalized_at:
        return {"name": invoice.customer_name, "email": invoice.customer_email,
                "company": invoice.customer_company, "phone": invoice.customer_phone,
                "address": invoice.customer_address or {},
                "tax_ids": _tax_ids(invoice.customer_tax_ids)}
    c = invoice.customer
    return {"name": c.name, "email": c.email, "company": c.company_name, "phone": c.phone,
            "address": c.billing_address or {}, "tax_ids": _tax_ids(c.tax_ids)}


def address_lines(address) -> list[str]:
    if not address:
        return []
    if isinstance(address, str):
        return [part.strip() for part in address.splitlines() if part.strip()]
    city = " ".join(p for p in (address.get("city"), address.get("state"), address.get("postal_code")) if p)
    return [p for p in (address.get("line1"), address.get("line2"), city, address.get("country")) if p]


def invoice_lines(invoice: Invoice) -> list:
    """The lines with their prices (for the interval fallback), in one query."""
    return list(invoice.lines.select_related("price").order_by("position", "id"))


def line_interval(line) -> str:
    """The line's interval snapshot; lines written before the snapshot existed fall back to their price's."""
    if line.billing_interval:
        return interval_label(line.billing_interval, line.billing_interval_count)
    price = line.price if line.price_id else None
    return interval_label(price.interval or "", price.interval_count or 1) if price is not None else ""


def line_rows(lines, currency: str) -> list[dict]:
    rows = []
    for line in lines:
        period = ""
        if line.period_start and line.period_end:
            period = f"{line.period_start:%d %b %Y} – {line.period_end:%d %b %Y}"
        rows.append({"description": line.description, "interval": line_interval(line), "period": period,
                     "quantity": line.quantity, "unit": fmt(line.unit_amount_minor, currency),
                     "amount": fmt(line.amount_minor, currency),
                     "discount": fmt(-line.discount_minor, currency) if line.discount_minor else ""})
    return rows


def invoice_context(invoice: Invoice, *, lines=None) -> dict:
    """What the invoice PDF, its emails and the hosted page show. `lines` may be given (already loaded,
    with their prices)."""
    cur = invoice.currency
    lines = invoice_lines(invoice) if lines is None else lines
    issuer, customer = _issuer(invoice), _customer(invoice)
    rows = line_rows(lines, cur)
    taxes = [{"label": t.get("label") or f"{t.get('name')} {t.get('percentage')}%",
              "net": fmt(t.get("net_minor", 0), cur), "tax": fmt(t.get("tax_minor", 0), cur),
              "inclusive": t.get("inclusive")} for t in invoice.tax_summary or []]
    return {
        "invoice": invoice, "brand": branding(invoice.merchant), "issuer": issuer,
        "issuer_address": address_lines(issuer.get("address")), "customer": customer,
        "customer_address": address_lines(customer["address"]), "lines": rows, "taxes": taxes,
        "is_draft": invoice.is_draft, "number": invoice.number or "DRAFT",
        "issued": (invoice.finalized_at or invoice.created_at).date(), "due_date": invoice.due_date,
        "subtotal": fmt(invoice.subtotal_minor, cur),
        "discount": fmt(-invoice.discount_minor, cur) if invoice.discount_minor else "",
        "tax": fmt(invoice.tax_minor, cur), "total": fmt(invoice.total_minor, cur),
        "amount_paid": fmt(invoice.amount_paid_minor, cur),
        "credited": fmt(invoice.credited_pre_payment_minor, cur) if invoice.credited_pre_payment_minor
        else "",
        "amount_remaining": fmt(invoice.amount_remaining_minor, cur),
        "hosted_url": hosted_invoice_url(invoice) if invoice.finalized_at else "",
        "payment_instructions": issuer.get("payment_instructions") or "",
    }


def _store(name: str, data: bytes) -> str:
    return default_storage.save(name, ContentFile(data))


def _delete_quietly(name: str) -> None:
    try:
        if name:
            default_storage.delete(name)
    except OSError:
        log.warning("could not delete %s", name)


# --- invoice PDF -------------------------------------------------------------------------------------
def invoice_pdf_render(*, invoice_id: str) -> bool:
    """Renders and stores the invoice's PDF when its revision changed. True when a new PDF was stored."""
    invoice = Invoice.objects.select_related("merchant", "customer").filter(pk=invoice_id).first()
    if invoice is None or (invoice.pdf and invoice.pdf_revision == invoice.revision):
        return False
    revision, previous = invoice.revision, invoice.pdf.name
    html = render_to_string("billing/pdf/invoice.html", invoice_context(invoice))
    name = _store(f"invoices/{invoice.pk}-r{revision}.pdf", render_pdf_bytes(html))
    # Compare-and-set: only if the invoice still is at the revision we rendered and nobody stored it first.
    stored = Invoice.objects.filter(pk=invoice.pk, revision=revision).exclude(pdf_revision=revision) \
        .update(pdf=name, pdf_revision=revision)
    if not stored:
        _delete_quietly(name)
        return False
    if previous and previous != name:
        _delete_quietly(previous)
    return True


def invoice_pdf_ready(invoice: Invoice) -> bool:
    return bool(invoice.pdf) and invoice.pdf_revision == invoice.revision


# --- credit note PDF ---------------------------------------------------------------------------------
def credit_note_context(note: CreditNote) -> dict:
    cur, invoice = note.currency, note.invoice
    reversals = [{"route": r.get_route_display(), "amount": fmt(r.amount_minor, cur),
                  "status": r.get_status_display()} for r in note.reversals.all()]
    return {
        "note": note, "invoice": invoice, "brand": branding(note.merchant), "issuer": _issuer(invoice),
        "issuer_address": address_lines(_issuer(invoice).get("address")), "customer": _customer(invoice),
        "customer_address": address_lines(_customer(invoice)["address"]),
        "lines": [{"description": ln.description, "amount": fmt(ln.amount_minor, cur),
                   "tax": fmt(ln.tax_minor, cur)} for ln in note.lines.all()],
        "taxes": [{"label": f"{t.get('name')} {t.get('percentage')}%", "tax": fmt(t.get("tax_minor", 0), cur)}
                  for t in note.tax_by_rate or []],
        "amount": fmt(note.amount_minor, cur), "tax": fmt(note.tax_minor, cur),
        "pre_payment": fmt(note.pre_payment_minor, cur), "post_payment": fmt(note.post_payment_minor, cur),
        "method": note.get_credit_method_display(), "reason": note.get_reason_display(),
        "reversals": reversals,
        "issued": note.created_at.date(),
    }


def credit_note_pdf_render(*, credit_note_id: str) -> bool:
    """Renders a credit note's PDF once (an issued note's content never changes)."""
    note = CreditNote.objects.select_related("merchant", "invoice__merchant", "invoice__customer") \
        .filter(pk=credit_note_id).first()
    if note is None or note.pdf:
        return False
    html = render_to_string("billing/pdf/credit_note.html", credit_note_context(note))
    name = _store(f"credit_notes/{note.pk}.pdf", render_pdf_bytes(html))
    if not CreditNote.objects.filter(pk=note.pk, pdf="").update(pdf=name, pdf_revision=1):
        _delete_quietly(name)
        return False
    return True


# --- receipt PDF -------------------------------------------------------------------------------------
def receipt_pdf_name(application: InvoicePayment) -> str:
    return f"receipts/{application.pk}.pdf"


def receipt_pdf_ready(application: InvoicePayment) -> bool:
    return default_storage.exists(receipt_pdf_name(application))


def receipt_context(application: InvoicePayment) -> dict:
    invoice = application.invoice
    cur = application.currency
    paid_through = InvoicePayment.objects.filter(invoice=invoice, created_at__lte=application.created_at) \
        .aggregate(s=Sum("amount_minor"))["s"] or 0
    remaining = max(invoice.total_minor - paid_through - invoice.credited_pre_payment_minor, 0)
    payment = application.payment
    card = ""
    if payment is not None and payment.card_last4:
        card = f"{(payment.card_brand or 'Card').title()} •••• {payment.card_last4}"
    return {"receipt": application, "invoice": invoice, "brand": branding(invoice.merchant),
            "issuer": _issuer(invoice), "customer": _customer(invoice),
            "amount": fmt(application.amount_minor, cur),
            "method": application.get_method_display(), "card": card, "date": application.received_at.date(),
            "reference": application.reference, "total": fmt(invoice.total_minor, cur),
            "remaining": fmt(remaining, cur), "remaining_minor": remaining,
            "lines": line_rows(invoice_lines(invoice), invoice.currency),
            "hosted_url": hosted_invoice_url(invoice)}


def receipt_pdf_render(*, invoice_payment_id: str) -> bool:
    application = InvoicePayment.objects.select_related("invoice__merchant", "invoice__customer", "payment") \
        .filter(pk=invoice_payment_id).first()
    if application is None or receipt_pdf_ready(application):
        return False
    html = render_to_string("billing/pdf/receipt.html", receipt_context(application))
    name = _store(receipt_pdf_name(application), render_pdf_bytes(html))
    if name != receipt_pdf_name(application):  # a concurrent render stored it first: keep theirs
        _delete_quietly(name)
        return False
    return True


# --- emails ------------------------------------------------------------------------------------------
def _from_address(merchant) -> str:
    address = parseaddr(settings.DEFAULT_FROM_EMAIL)[1] or "no-reply@revkeen.local"
    return formataddr((merchant.public_name, address))


def _message(*, merchant, subject: str, template: str, context: dict, to: list[str], cc: list[str]):
    context = {**context, "brand": context.get("brand") or branding(merchant)}
    text = render_to_string(f"billing/email/{template}.txt", context)
    html = render_to_string(f"billing/email/{template}.html", context)
    message = EmailMultiAlternatives(subject=subject, body=text, from_email=_from_address(merchant), to=to,
                                     cc=cc, reply_to=[merchant.support_email] if merchant.support_email
                                     else None)
    message.attach_alternative(html, "text/html")
    return message


def _attach_pdfs(merchant) -> bool:
    from .services.numbering import invoice_settings_for

    return invoice_settings_for(merchant).attach_pdf


def _read(name: str) -> bytes:
    with default_storage.open(name, "rb") as handle:
        return handle.read()


def _invoice_subject(kind: str, invoice: Invoice, ctx: dict) -> str:
    merchant = ctx["brand"]["name"]
    if kind == "receipt":
        return f"Receipt for invoice {invoice.number} from {merchant}"
    if kind == "overdue":
        return f"Invoice {invoice.number} from {merchant} is overdue"
    if kind == "reminder":
        days = ctx["days_to_due"]
        if days is not None and days > 0:
            plural = "s" if days != 1 else ""
            return f"Reminder: invoice {invoice.number} from {merchant} is due in {days} day{plural}"
        if days == 0:
            return f"Reminder: invoice {invoice.number} from {merchant} is due today"
        return f"Reminder: invoice {invoice.number} from {merchant} is past due"
    return f"Invoice {invoice.number} from {merchant}"


def invoice_email_send(*, invoice_id: str, kind: str, to: list[str], cc: list[str],
                       invoice_payment_id: str = "") -> bool:
    """kind: invoice | receipt (of `invoice_payment_id`, default the newest payment) | reminder | overdue.
    Reminders and overdue notices of an invoice paid or voided meanwhile are not sent. True when sent."""
    if kind not in INVOICE_EMAIL_KINDS:
        raise ValueError(f"unknown invoice email kind {kind!r}")
    invoice = Invoice.objects.select_related("merchant", "customer").filter(pk=invoice_id).first()
    if invoice is None or invoice.is_draft:
        return False
    if kind in ("reminder", "overdue") and (not invoice.is_open or invoice.amount_remaining_minor <= 0):
        return False
    if kind == "invoice" and invoice.status == "voided":  # voided after the send was queued
        return False
    recipients = list(to or []) or [e for e in [invoice.customer_email or invoice.customer.email] if e]
    if not recipients:
        return False
    ctx = invoice_context(invoice)
    today = now().date()
    ctx["days_to_due"] = (invoice.due_date - today).days if isinstance(invoice.due_date, date) else None
    ctx["days_overdue"] = -ctx["days_to_due"] if ctx["days_to_due"] is not None else None
    application = None
    if kind == "receipt":
        applications = invoice.payments_applied.select_related("payment").order_by("-created_at", "-id")
        if invoice_payment_id:
            applications = applications.filter(pk=invoice_payment_id)
        application = applications.first()
        if application is None:
            return False
        application.invoice = invoice
        ctx.update(receipt=receipt_context(application))
    message = _message(merchant=invoice.merchant, subject=_invoice_subject(kind, invoice, ctx),
                       template=f"invoice_{kind}", context=ctx, to=recipients, cc=list(cc or []))
    if _attach_pdfs(invoice.merchant):
        if application is not None:
            receipt_pdf_render(invoice_payment_id=application.pk)
            message.attach(f"receipt-{invoice.number}.pdf", _read(receipt_pdf_name(application)),
                           "application/pdf")
        else:
            invoice_pdf_render(invoice_id=invoice.pk)
            invoice.refresh_from_db(fields=["pdf", "pdf_revision"])
            if invoice.pdf:
                message.attach(f"{invoice.number}.pdf", _read(invoice.pdf.name), "application/pdf")
    message.send()
    return True


def credit_note_email_send(*, credit_note_id: str, to: list[str] | None = None,
                           cc: list[str] | None = None) -> bool:
    note = CreditNote.objects.select_related("merchant", "invoice__merchant", "invoice__customer") \
        .filter(pk=credit_note_id).first()
    if note is None:
        return False
    invoice = note.invoice
    recipients = list(to or []) or [e for e in [invoice.customer_email or invoice.customer.email] if e]
    if not recipients:
        return False
    ctx = credit_note_context(note)
    ctx["hosted_url"] = hosted_invoice_url(invoice)
    subject = f"Credit note {note.number} from {ctx['brand']['name']}"
    message = _message(merchant=note.merchant, subject=subject,
                       template="credit_note", context=ctx, to=recipients, cc=list(cc or []))
    if _attach_pdfs(note.merchant):
        credit_note_pdf_render(credit_note_id=note.pk)
        note.refresh_from_db(fields=["pdf"])
        if note.pdf:
            message.attach(f"{note.number}.pdf", _read(note.pdf.name), "application/pdf")
    message.send()
    return True

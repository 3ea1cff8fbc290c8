"""The invoice builder (page 024): a draft's fields and its lines added inline with htmx, with live totals
and tax from `services.compute_totals` — the code that bills — and the same validation the services apply,
so a refused line is shown on its row and nothing is written. Roles as in `invoices.py`."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from types import SimpleNamespace

from django.contrib import messages
from django.db import transaction
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.http import require_POST

from apps.accounts.decorators import dashboard_view
from apps.core.errors import DomainError, NotFound
from apps.core.ids import new_id
from apps.core.tenancy import scoped

from .. import services
from ..forms import InvoiceForm, LineForm, line_initial, status_badge, valid_key
from ..models import Invoice, TaxRate
from ..services.invoices import DRAFT_STATUSES, MAX_LINES, invoice_line_preview
from .invoices import (
    CHOICE_LIMIT,
    WRITE,
    _actor,
    _currency,
    _finalized_message,
    _invoice_or_404,
    interval_text,
)


# --- the builder -----------------------------------------------------------------------------------------
@dataclass
class BuilderRow:
    key: str
    form: LineForm
    existing: bool = False
    amount_minor: int | None = None
    tax_minor: int | None = None
    interval: str = ""
    error: str = ""


@dataclass
class Preview:
    currency: str = ""
    ready: bool = False
    message: str = ""
    subtotal: int = 0
    discount: int = 0
    tax: int = 0
    total: int = 0
    tax_lines: list = field(default_factory=list)
    note: str = ""


@dataclass
class Builder:
    invoice: Invoice | None
    form: InvoiceForm
    rows: list[BuilderRow]
    preview: Preview | None = None

    @property
    def filled_rows(self) -> list[BuilderRow]:
        return [row for row in self.rows if not row.form.is_blank]


def _choices(request) -> dict:
    from apps.catalog import selectors as catalog
    from apps.customers import selectors as customers

    return {
        "customers": list(customers.customer_list(tenant=request.tenant)[:CHOICE_LIMIT]),
        "discounts": list(catalog.discount_list(tenant=request.tenant, active=True)[:CHOICE_LIMIT]),
        "prices": list(catalog.price_list(tenant=request.tenant, active=True).select_related("product")
                       .filter(product__active=True)[:CHOICE_LIMIT]),
        "tax_rates": list(scoped(TaxRate, tenant=request.tenant).filter(active=True)),
    }


def _with(items: list, extra) -> list:
    """`items` plus `extra` (a row the choice list's limit or an archive left out but the draft uses)."""
    if extra is not None and extra.pk not in {i.pk for i in items}:
        return [extra, *items]
    return items


def _line_form(key, currency, choices, **kwargs) -> LineForm:
    return LineForm(key=key, currency=currency, prices=choices["prices"], tax_rates=choices["tax_rates"], **kwargs)


def _new_key() -> str:
    return "n" + new_id("x").split("_", 1)[1][-10:]


def _builder_from_post(request, invoice: Invoice | None, *, add: bool = False, remove: str = "") -> Builder:
    choices = _choices(request)
    if invoice is not None:
        choices["customers"] = _with(choices["customers"], invoice.customer)
        choices["discounts"] = _with(choices["discounts"], invoice.discount)
        lines = list(invoice.lines.all())
        for line in lines:
            if line.price_id:
                choices["prices"] = _with(choices["prices"], line.price)
            if line.tax_rate_id:
                choices["tax_rates"] = _with(choices["tax_rates"], line.tax_rate)
    else:
        picked = request.POST.get("customer", "")
        if picked and picked not in {c.pk for c in choices["customers"]}:
            choices["customers"] = _with(choices["customers"], _customer_or_none(request, picked))
    form = InvoiceForm(request.POST, customers=choices["customers"], discounts=choices["discounts"],
                       currency_locked=invoice is not None,
                       initial={"currency": invoice.currency} if invoice is not None else None)
    form.is_valid()
    currency = invoice.currency if invoice is not None else form.cleaned_data.get("currency") or ""
    existing = {line.pk for line in invoice.lines.all()} if invoice is not None else set()
    keys = []
    for key in request.POST.getlist("lines"):
        if valid_key(key) and key not in keys and key != remove:
            keys.append(key)
    if add and len(keys) < MAX_LINES:
        keys.append(_new_key())
    rows = [BuilderRow(key, _line_form(key, currency or "USD", choices, data=request.POST), existing=key in existing)
            for key in keys[:MAX_LINES]]
    return Builder(invoice, form, rows)


def _customer_or_none(request, customer_id: str):
    from apps.customers import selectors as customers

    try:
        return customers.customer_get(tenant=request.tenant, customer_id=customer_id)
    except (NotFound, ValueError):
        return None


def _builder_initial(request, invoice: Invoice | None) -> Builder:
    choices = _choices(request)
    if invoice is None:
        settings = services.invoice_settings_for(request.merchant)
        customer = _customer_or_none(request, request.GET.get("customer", "")) if request.GET.get("customer") else None
        choices["customers"] = _with(choices["customers"], customer)
        initial = {"customer": customer.pk if customer else "",
                   "currency": (customer.currency if customer and customer.currency else _currency(request)),
                   "memo": settings.default_memo, "footer": settings.default_footer}
        form = InvoiceForm(initial=initial, customers=choices["customers"], discounts=choices["discounts"])
        key = _new_key()
        rows = [BuilderRow(key, _line_form(key, initial["currency"], choices, initial={"quantity": 1}))]
        return Builder(None, form, rows)
    lines = list(invoice.lines.select_related("price__product", "tax_rate", "invoice").all())
    choices["customers"] = _with(choices["customers"], invoice.customer)
    choices["discounts"] = _with(choices["discounts"], invoice.discount)
    for line in lines:
        if line.price_id:
            choices["prices"] = _with(choices["prices"], line.price)
        if line.tax_rate_id:
            choices["tax_rates"] = _with(choices["tax_rates"], line.tax_rate)
    initial = {"customer": invoice.customer_id, "currency": invoice.currency, "due_date": invoice.due_date,
               "days_until_due": invoice.days_until_due, "memo": invoice.memo, "footer": invoice.footer,
               "discount": invoice.discount_id or ""}
    form = InvoiceForm(initial=initial, customers=choices["customers"], discounts=choices["discounts"],
                       currency_locked=True)
    rows = [BuilderRow(line.pk, _line_form(line.pk, invoice.currency, choices, initial=line_initial(line)),
                       existing=True, amount_minor=line.amount_minor, tax_minor=line.tax_minor,
                       interval=interval_text(line.billing_interval, line.billing_interval_count))
            for line in lines]
    if not rows:
        key = _new_key()
        rows = [BuilderRow(key, _line_form(key, invoice.currency, choices, initial={"quantity": 1}))]
    return Builder(invoice, form, rows)


def _preview(request, builder: Builder) -> Preview:
    """Amounts of the filled lines and the invoice's totals and tax, by the services' own code; marks the
    lines the services would refuse. Writes nothing."""
    form, invoice = builder.form, builder.invoice
    if not form.is_bound:  # the page as first shown: the draft's stored totals, or nothing yet
        if invoice is None:
            return Preview(currency=form.initial.get("currency", ""), ready=True)
        return Preview(currency=invoice.currency, ready=True, subtotal=invoice.subtotal_minor,
                       discount=invoice.discount_minor, tax=invoice.tax_minor, total=invoice.total_minor,
                       note=invoice.tax_note, tax_lines=[
                           {"label": t.get("label") or t.get("name"), "inclusive": t.get("inclusive"),
                            "net": t.get("net_minor", 0), "tax": t.get("tax_minor", 0)} for t in invoice.tax_summary])
    currency = invoice.currency if invoice else (form.cleaned_data.get("currency") or "")
    preview = Preview(currency=currency)
    if not currency:
        preview.message = "Choose the invoice's currency to see its totals."
        return preview
    priced = []
    complete = True
    for row in builder.filled_rows:
        if not row.form.is_valid():
            complete = False
            continue
        try:
            fields = invoice_line_preview(tenant=request.tenant, currency=currency, line=row.form.line_input())
        except DomainError as exc:
            row.error = exc.message.split(": ", 1)[-1] if exc.message.startswith("line.") else exc.message
            complete = False
            continue
        row.amount_minor = fields["amount_minor"]
        row.interval = interval_text(fields.get("billing_interval", ""), fields.get("billing_interval_count", 1))
        priced.append((row, SimpleNamespace(amount_minor=fields["amount_minor"], tax_rate=fields["tax_rate"],
                                            tax_exempt=fields["tax_exempt"])))
    preview.subtotal = sum(line.amount_minor for _, line in priced)
    customer = form.cleaned_data.get("customer_obj")
    if customer is None:
        preview.message = "Choose a customer: tax depends on where they are."
        preview.total = preview.subtotal
        return preview
    try:
        totals = services.compute_totals(tenant=request.tenant, customer=customer, currency=currency,
                                         lines=[line for _, line in priced],
                                         discount=form.cleaned_data.get("discount_obj"))
    except DomainError as exc:
        preview.message = exc.message
        return preview
    for (row, _), tax in zip(priced, totals.line_taxes, strict=True):
        row.tax_minor = tax
    preview.subtotal, preview.discount, preview.tax, preview.total = (totals.subtotal, totals.discount, totals.tax,
                                                                      totals.total)
    preview.tax_lines = [{"label": t.rate.label, "inclusive": t.rate.inclusive, "net": t.net.amount_minor,
                          "tax": t.tax.amount_minor} for t in totals.calculation.totals]
    preview.note = totals.calculation.note
    preview.ready = complete
    if not complete:
        preview.message = "Lines with problems are left out of these totals."
    return preview


def _builder_context(request, builder: Builder) -> dict:
    if builder.preview is None:
        builder.preview = _preview(request, builder)
    settings = services.invoice_settings_for(request.merchant)
    return {"builder": builder, "invoice": builder.invoice, "form": builder.form, "rows": builder.rows,
            "preview": builder.preview, "require_approval": settings.require_approval}


def _render_builder(request, builder: Builder, status: int = 200):
    context = {**_builder_context(request, builder), "show_errors": status != 200}
    return render(request, "billing/invoices/builder.html", context, status=status)


LINE_PATH = re.compile(r"lines\[(\d+)\]\.(\w+)")


def _attach_error(builder: Builder, exc: DomainError, rows: list[BuilderRow], row: BuilderRow | None = None) -> None:
    """Puts a service's refusal next to the field (or line) it is about."""
    fields = getattr(exc, "fields", None) or {}
    params = list(fields) or ([exc.param] if exc.param else [])
    for param in params:
        match = LINE_PATH.match(param or "")
        if match and int(match.group(1)) < len(rows):
            rows[int(match.group(1))].error = exc.message.split(": ", 1)[-1]
            return
        if row is not None and (param or "").startswith("line"):
            row.error = exc.message.split(": ", 1)[-1]
            return
        name = (param or "").removesuffix("_id")
        if name in builder.form.fields:
            builder.form.add_error(name, exc.message.split(": ", 1)[-1])
            return
    builder.form.add_error(None, exc.message)


def _line_changed(line, new) -> bool:
    return ((line.price_id or None) != (new.price.pk if new.price else None)
            or (new.description and line.description != new.description)
            or (new.price is None and line.unit_amount_minor != new.unit_amount_minor)
            or line.quantity != new.quantity or line.tax_rate_id != (new.tax_rate.pk if new.tax_rate else None)
            or line.tax_exempt != new.tax_exempt)


def _save(request, builder: Builder) -> Invoice | None:
    """Writes the draft and its lines in one transaction: a refusal anywhere leaves nothing written."""
    data = builder.form.cleaned_data
    rows = builder.filled_rows
    actor, tenant, request_id = _actor(request), request.tenant, request.request_id
    fields = {"due_date": data.get("due_date"), "days_until_due": data.get("days_until_due"),
              "memo": data.get("memo") or "", "footer": data.get("footer") or "", "discount": data.get("discount_obj")}
    current = None
    try:
        with transaction.atomic():
            if builder.invoice is None:
                return services.invoice_create(tenant=tenant, actor=actor, customer=data["customer_obj"],
                                               currency=data["currency"],
                                               lines=[row.form.line_input() for row in rows], request_id=request_id,
                                               **fields)
            invoice = services.invoice_update(tenant=tenant, actor=actor, invoice=builder.invoice,
                                              changes={"customer": data["customer_obj"], **fields},
                                              request_id=request_id)
            stored = {line.pk: line for line in invoice.lines.all()}
            keys = {row.key for row in rows}
            for line_id in stored.keys() - keys:
                invoice = services.invoice_line_remove(tenant=tenant, actor=actor, invoice=invoice, line_id=line_id,
                                                       request_id=request_id)
            for row in rows:
                current = row
                if row.key in stored and _line_changed(stored[row.key], row.form.line_input()):
                    invoice = services.invoice_line_update(tenant=tenant, actor=actor, invoice=invoice, line_id=row.key,
                                                           line=row.form.line_input(), request_id=request_id)
            current = None
            new = [row for row in rows if row.key not in stored]
            if new:
                invoice = services.invoice_lines_add(tenant=tenant, actor=actor, invoice=invoice,
                                                     lines=[row.form.line_input() for row in new],
                                                     request_id=request_id)
            return invoice
    except DomainError as exc:
        offset_rows = rows if builder.invoice is None else [row for row in rows if row.key not in
                                                            {line.pk for line in builder.invoice.lines.all()}]
        _attach_error(builder, exc, offset_rows, row=current)
        return None


def _submit_builder(request, invoice: Invoice | None):
    op = request.POST.get("op", "save")
    builder = _builder_from_post(request, invoice)
    valid = builder.form.is_valid() & all([row.form.is_valid() for row in builder.filled_rows])
    if builder.form.is_valid() and builder.form.cleaned_data.get("customer_obj") is None:
        builder.form.add_error("customer", "Choose a customer.")
        valid = False
    builder.preview = _preview(request, builder)
    if any(row.error for row in builder.rows):
        valid = False
    if not valid:
        builder.form.add_error(None, "Nothing was saved: correct the highlighted fields.")
        return _render_builder(request, builder, status=422)
    saved = _save(request, builder)
    if saved is None:
        builder.preview = _preview(request, builder)
        return _render_builder(request, builder, status=422)
    if op not in ("finalize", "finalize_send"):
        messages.success(request, "Draft saved.")
        return redirect("dashboard:invoice_detail", invoice_id=saved.pk)
    try:
        finalized = services.invoice_finalize(tenant=request.tenant, actor=_actor(request), invoice=saved,
                                              send=op == "finalize_send", request_id=request.request_id)
    except DomainError as exc:
        fresh = Invoice.objects.get(pk=saved.pk)
        if fresh.status in DRAFT_STATUSES:
            messages.error(request, f"The draft was saved but not finalized: {exc.message}")
            return redirect("dashboard:invoice_edit", invoice_id=saved.pk)
        messages.error(request, f"Invoice {fresh.number} was finalized but not sent: {exc.message}")
        return redirect("dashboard:invoice_detail", invoice_id=saved.pk)
    messages.success(request, _finalized_message(finalized))
    return redirect("dashboard:invoice_detail", invoice_id=saved.pk)




@dashboard_view(WRITE)
def invoice_new(request):
    if request.method == "POST":
        return _submit_builder(request, None)
    return _render_builder(request, _builder_initial(request, None))


@dashboard_view(WRITE)
def invoice_edit(request, invoice_id):
    invoice = _invoice_or_404(request, invoice_id)
    if invoice.status not in DRAFT_STATUSES:
        messages.error(request, f"Invoice {invoice.number} is {status_badge(invoice.status).label.lower()}: "
                                "lines are locked once an invoice is finalized.")
        return redirect("dashboard:invoice_detail", invoice_id=invoice.pk)
    if request.method == "POST":
        return _submit_builder(request, invoice)
    return _render_builder(request, _builder_initial(request, invoice))


@dashboard_view(WRITE)
@require_POST
def invoice_builder(request):
    """htmx: `op=preview` answers the totals (and each line's amount, out of band); `op=add` and
    `op=remove` answer the lines again with one more or one fewer row. Nothing is written."""
    invoice = None
    if request.POST.get("invoice"):
        invoice = _invoice_or_404(request, request.POST["invoice"])
        if invoice.status not in DRAFT_STATUSES:
            raise Http404("Not a draft")
    op = request.POST.get("op", "preview")
    builder = _builder_from_post(request, invoice, add=op == "add",
                                 remove=request.POST.get("remove", "") if op == "remove" else "")
    context = _builder_context(request, builder)
    if op == "preview":
        return render(request, "billing/invoices/builder.html#totals", {**context, "oob": True})
    return render(request, "billing/invoices/builder.html#lines", context)


@dashboard_view(WRITE)
def invoice_customer_options(request):
    """htmx: the customer select's options for a search."""
    from apps.customers import selectors as customers

    term = (request.GET.get("q") or "").strip()[:120]
    found = list(customers.customer_list(tenant=request.tenant, search=term or None)[:50])
    selected = request.GET.get("customer", "")
    if selected and selected not in {c.pk for c in found}:
        found = _with(found, _customer_or_none(request, selected))
    return render(request, "billing/invoices/customer_options.html", {"customers": found, "selected": selected})


urlpatterns = [
    path("invoices/new/", invoice_new, name="invoice_new"),
    path("invoices/builder/", invoice_builder, name="invoice_builder"),
    path("invoices/customers/", invoice_customer_options, name="invoice_customer_options"),
    path("invoices/<str:invoice_id>/edit/", invoice_edit, name="invoice_edit"),
]

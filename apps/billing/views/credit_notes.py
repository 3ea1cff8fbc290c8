"""Dashboard pages of credit notes (page 025): the credit-note dialog for an invoice with its live preview
(htmx), the credit notes list, a note's detail with its lines, reversals, void and "Retry refund" (a failed
note), and the "Credit notes" card on the customer page.

Views are thin: a form is read and the same services the API uses are called. Roles (page 054): anyone on
the team may see credit notes; issuing, retrying or voiding one can move money back to a card, which the matrix
allows to the roles that may process refunds (PROCESS_REFUNDS), as the payments pages do.
"""
from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_POST

from apps.accounts.decorators import dashboard_view
from apps.accounts.permissions import Permission, role_has
from apps.core.actors import Actor
from apps.core.errors import DomainError, NotFound, ValidationFailed
from apps.core.money import Money
from apps.core.tenancy import get_scoped

from .. import services
from ..models import CreditNote, CreditNoteReversal, Invoice
from ..models.invoices import InvoiceStatus

PAGE_SIZE = 25
RESULTS_ID = "credit-note-results"
CUSTOMER_CARD_ROWS = 5
STATUS_TONES = {"issued": "blue", "applied": "green", "failed": "red", "voided": "gray"}
ROUTE_TONES = {"void": "blue", "refund": "orange", "outside": "gray", "customer_balance": "purple"}


def _actor(request) -> Actor:
    return Actor.for_user(request.user)


def _can_move_money(request) -> bool:
    return role_has(request.membership.role, Permission.PROCESS_REFUNDS)


def _invoice_or_404(request, invoice_id) -> Invoice:
    try:
        return get_scoped(Invoice.objects.select_related("customer"), tenant=request.tenant, pk=str(invoice_id or ""),
                          label="invoice")
    except NotFound:
        raise Http404("No such invoice")


def _invoice_url(invoice_id: str) -> str:
    return reverse("dashboard:invoice_detail", args=[invoice_id])


class CreditNoteForm(forms.Form):
    amount = forms.CharField(label="Amount (tax included)", max_length=20,
                             widget=forms.TextInput(attrs={"inputmode": "decimal", "data-testid": "credit-note-amount"}))
    reason = forms.ChoiceField(label="Reason", choices=CreditNote.Reason.choices, initial=CreditNote.Reason.OTHER,
                               widget=forms.Select(attrs={"data-testid": "credit-note-reason"}))
    credit_method = forms.ChoiceField(
        label="Credit method", choices=CreditNote.CreditMethod.choices,
        initial=CreditNote.CreditMethod.REFUND_TO_PAYMENT_METHOD,
        widget=forms.Select(attrs={"data-testid": "credit-note-method"}),
        help_text="Refund goes back to each payment by its own route; balance credits the customer; "
                  "credit note only moves no money.")
    memo = forms.CharField(label="Memo", required=False, max_length=2000,
                           widget=forms.Textarea(attrs={"rows": 2, "data-testid": "credit-note-memo"}),
                           help_text="Printed on the credit note.")

    def __init__(self, *args, invoice: Invoice, **kwargs):
        super().__init__(*args, **kwargs)
        self.invoice = invoice

    def clean_amount(self):
        text = (self.cleaned_data.get("amount") or "").strip()
        try:
            amount = Money.parse(text, self.invoice.currency)
        except ValueError as exc:
            raise forms.ValidationError(str(exc))
        if amount.amount_minor <= 0:
            raise forms.ValidationError("must be greater than zero")
        return amount


def _remaining(invoice: Invoice) -> Money:
    return Money(max(invoice.total_minor - invoice.amount_credited_minor, 0), invoice.currency)


def _dialog_context(request, invoice: Invoice, form: CreditNoteForm, *, error: str = "") -> dict:
    return {"invoice": invoice, "form": form, "error": error, "remaining": _remaining(invoice),
            "preview": _preview_of(request, invoice, form),
            "eligibility": services.credit_eligibility(tenant=request.tenant, invoice=invoice),
            "action_url": reverse("dashboard:credit_note_new", args=[invoice.pk]),
            "preview_url": reverse("dashboard:credit_note_preview", args=[invoice.pk])}


def _preview_of(request, invoice: Invoice, form: CreditNoteForm) -> dict:
    """{"preview": CreditNotePreview | None, "error": str} for the form's current values (no side effects)."""
    if not form.is_bound:
        amount, method = None, CreditNote.CreditMethod.REFUND_TO_PAYMENT_METHOD
    else:
        form.is_valid()
        if "amount" in form.errors or "credit_method" in form.errors:
            return {"preview": None, "error": "Enter an amount to see what this credit note will do."}
        amount, method = form.cleaned_data["amount"], form.cleaned_data["credit_method"]
    try:
        preview = services.credit_note_preview(tenant=request.tenant, invoice=invoice, amount=amount,
                                               credit_method=method)
    except DomainError as exc:
        return {"preview": None, "error": exc.message}
    routes = [(r, CreditNoteReversal.Route(r.route).label, "red" if r.blocked else ROUTE_TONES.get(r.route, "gray"))
              for r in preview.reversals]
    return {"preview": preview, "error": "", "routes": routes,
            "status_label": InvoiceStatus(preview.invoice_status_after).label}


@dashboard_view(Permission.PROCESS_REFUNDS)
def credit_note_new(request, invoice_id=None):
    """GET: the dialog (a fragment for htmx, a page otherwise), amount prefilled with all that is left.
    POST: issues the note and goes to the invoice (HX-Redirect for htmx)."""
    invoice = _invoice_or_404(request, invoice_id or request.GET.get("invoice") or request.POST.get("invoice"))
    template = "billing/credit_notes/dialog.html" if request.htmx else "billing/credit_notes/new.html"
    if request.method != "POST":
        initial = {"amount": str(_remaining(invoice).to_decimal())}
        form = CreditNoteForm(initial=initial, invoice=invoice)
        return render(request, template, _dialog_context(request, invoice, form))
    form = CreditNoteForm(request.POST, invoice=invoice)
    if not form.is_valid():
        return render(request, template, _dialog_context(request, invoice, form, error="Check the highlighted fields."))
    data = form.cleaned_data
    try:
        note = services.credit_note_create(tenant=request.tenant, actor=_actor(request), invoice=invoice,
                                           amount=data["amount"], credit_method=data["credit_method"],
                                           reason=data["reason"], memo=data["memo"], request_id=request.request_id)
    except DomainError as exc:
        if isinstance(exc, ValidationFailed) and "amount_minor" in exc.fields:
            form.add_error("amount", exc.fields["amount_minor"][0])
        return render(request, template, _dialog_context(request, invoice, form, error=exc.message))
    if note.status == CreditNote.Status.FAILED:
        messages.error(request, f"Credit note {note.number} was issued but a reversal failed: {note.failure_message}")
    elif note.status == CreditNote.Status.ISSUED:
        messages.warning(request, f"Credit note {note.number} issued; the gateway has not confirmed a refund yet.")
    else:
        messages.success(request, f"Credit note {note.number} issued for {note.amount}.")
    target = _invoice_url(invoice.pk)
    if request.htmx:
        response = HttpResponse(status=204)
        response["HX-Redirect"] = target
        return response
    return redirect(target)


@dashboard_view(Permission.PROCESS_REFUNDS)
def credit_note_preview(request, invoice_id):
    """The live preview partial: re-rendered by htmx as the dialog's fields change."""
    invoice = _invoice_or_404(request, invoice_id)
    form = CreditNoteForm(request.POST if request.method == "POST" else request.GET, invoice=invoice)
    return render(request, "billing/credit_notes/preview.html",
                  {"invoice": invoice, **_preview_of(request, invoice, form)})


class ListFilter(forms.Form):
    q = forms.CharField(label="Search", required=False, max_length=100,
                        widget=forms.TextInput(attrs={"placeholder": "CN number, invoice number or customer"}))
    status = forms.ChoiceField(label="Status", required=False, choices=[("", "Any"), *CreditNote.Status.choices])
    credit_method = forms.ChoiceField(label="Method", required=False,
                                      choices=[("", "Any"), *CreditNote.CreditMethod.choices])
    sort = forms.ChoiceField(label="Sort", required=False, choices=[("", "Newest first"), ("oldest", "Oldest first"),
                                                                    ("amount", "Largest amount")])
    invoice = forms.CharField(required=False, widget=forms.HiddenInput)


@dashboard_view(Permission.VIEW_DASHBOARD)
def credit_note_list(request):
    """All credit notes of this mode, filtered, sorted and paginated: a constant number of queries a page."""
    from django.db.models import Q

    form = ListFilter(request.GET)
    form.is_valid()
    data = form.cleaned_data if form.is_valid() else {}
    qs = services.credit_note_list(tenant=request.tenant, invoice_id=data.get("invoice") or None,
                                   status=data.get("status") or None).select_related("invoice", "customer")
    if data.get("credit_method"):
        qs = qs.filter(credit_method=data["credit_method"])
    if data.get("q"):
        q = data["q"].strip()
        qs = qs.filter(Q(number__icontains=q) | Q(invoice__number__icontains=q) | Q(customer__name__icontains=q)
                       | Q(customer__email__icontains=q))
    sort = data.get("sort") or ""
    qs = qs.order_by({"oldest": "created_at", "amount": "-amount_minor"}.get(sort, "-created_at"), "-id")
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {"form": form, "page": page, "rows": [(n, STATUS_TONES.get(n.status, "gray")) for n in page.object_list],
               "results_id": RESULTS_ID, "filtered": any(data.get(k) for k in ("q", "status", "credit_method", "invoice"))}
    if request.htmx and request.htmx.target == RESULTS_ID:
        return render(request, "billing/credit_notes/list.html#results", context)
    return render(request, "billing/credit_notes/list.html", context)


def _note_or_404(request, credit_note_id) -> CreditNote:
    try:
        return services.credit_note_get(tenant=request.tenant, credit_note_id=credit_note_id)
    except NotFound:
        raise Http404("No such credit note")


def _detail_context(request, note: CreditNote, *, error: str = "") -> dict:
    reversals = list(note.reversals.all())
    gateway_money = any(r.route in ("void", "refund") and r.status != "failed" for r in reversals)
    return {"note": note, "tone": STATUS_TONES.get(note.status, "gray"), "lines": list(note.lines.all()),
            "reversals": [(r, ROUTE_TONES.get(r.route, "gray")) for r in reversals], "error": error,
            "invoice_url": _invoice_url(note.invoice_id),
            "can_void": _can_move_money(request) and note.status != "voided" and not gateway_money
            and note.invoice.status not in ("voided", "refunded"),
            "can_retry": _can_move_money(request) and note.status == "failed"
            and not any(r.status == "pending" for r in reversals)}


@dashboard_view(Permission.VIEW_DASHBOARD)
def credit_note_detail(request, credit_note_id):
    note = _note_or_404(request, credit_note_id)
    return render(request, "billing/credit_notes/detail.html", _detail_context(request, note))


@dashboard_view(Permission.VIEW_DASHBOARD)
def credit_note_pdf(request, credit_note_id):
    """The stored PDF; until the task has rendered it, asks for it and says so (the page reloads itself)."""
    note = _note_or_404(request, credit_note_id)
    if note.pdf:
        try:
            return FileResponse(note.pdf.open("rb"), content_type="application/pdf", filename=f"{note.number}.pdf")
        except FileNotFoundError:  # the stored file went missing: render it again
            CreditNote.objects.filter(pk=note.pk).update(pdf="", pdf_revision=0)
    from .. import tasks

    tasks.render_credit_note_pdf.delay(note.pk)
    return render(request, "billing/pdf_pending.html", {
        "document": note.number, "list_url": reverse("dashboard:credit_notes"), "list_label": "Credit notes",
        "back_url": reverse("dashboard:credit_note_detail", args=[note.pk])}, status=202)


@dashboard_view(Permission.PROCESS_REFUNDS)
@require_POST
def credit_note_void(request, credit_note_id):
    note = _note_or_404(request, credit_note_id)
    try:
        services.credit_note_void(tenant=request.tenant, actor=_actor(request), credit_note=note,
                                  request_id=request.request_id)
    except DomainError as exc:
        return render(request, "billing/credit_notes/detail.html", _detail_context(request, note, error=exc.message),
                      status=422)
    messages.success(request, f"Credit note {note.number} voided; the invoice's amounts are restored.")
    return redirect("dashboard:credit_note_detail", credit_note_id=note.pk)


@dashboard_view(Permission.PROCESS_REFUNDS)
@require_POST
def credit_note_retry(request, credit_note_id):
    """The "Retry refund" button of a failed note: the outcome (applied, failed again, refused) as a message."""
    note = _note_or_404(request, credit_note_id)
    try:
        note = services.credit_note_retry(tenant=request.tenant, actor=_actor(request), credit_note=note,
                                          request_id=request.request_id)
    except DomainError as exc:
        messages.error(request, f"Credit note {note.number} was not retried: {exc.message}")
        return redirect("dashboard:credit_note_detail", credit_note_id=note.pk)
    if note.status == CreditNote.Status.APPLIED:
        messages.success(request, f"Credit note {note.number} applied: "
                                  f"{Money(note.amount_reversed_minor, note.currency)} went back to the customer.")
    elif any(r.status == CreditNoteReversal.Status.PENDING for r in note.reversals.all()):
        messages.warning(request, f"Credit note {note.number}: the gateway has not confirmed the refund yet.")
    else:
        messages.error(request, f"Credit note {note.number}: the refund failed again: {note.failure_message}")
    return redirect("dashboard:credit_note_detail", credit_note_id=note.pk)


def customer_credit_notes_card(request, customer) -> dict:
    """The customer's latest credit notes and credit balance per currency: three queries."""
    notes = list(services.credit_note_list(tenant=request.tenant, customer_id=customer.pk)
                 .select_related("invoice")[:CUSTOMER_CARD_ROWS + 1])
    from django.db.models import Sum

    from ..models import CustomerBalanceTransaction

    balances = [{"currency": row["currency"], "minor": row["total"]} for row in
                CustomerBalanceTransaction.objects.filter(customer=customer).values("currency")
                .annotate(total=Sum("amount_minor")).order_by("currency") if row["total"]]
    return {"rows": [(n, STATUS_TONES.get(n.status, "gray")) for n in notes[:CUSTOMER_CARD_ROWS]],
            "has_more": len(notes) > CUSTOMER_CARD_ROWS, "balances": balances, "customer": customer}


urlpatterns = [
    path("credit-notes/", credit_note_list, name="credit_notes"),
    path("credit-notes/new/", credit_note_new, name="credit_note_new"),  # ?invoice=inv_… (the invoice page's link)
    path("credit-notes/<str:credit_note_id>/", credit_note_detail, name="credit_note_detail"),
    path("credit-notes/<str:credit_note_id>/void/", credit_note_void, name="credit_note_void"),
    path("credit-notes/<str:credit_note_id>/retry/", credit_note_retry, name="credit_note_retry"),
    path("credit-notes/<str:credit_note_id>/pdf/", credit_note_pdf, name="credit_note_pdf"),
    path("invoices/<str:invoice_id>/credit-notes/new/", credit_note_new, name="credit_note_new"),
    path("invoices/<str:invoice_id>/credit-notes/preview/", credit_note_preview, name="credit_note_preview"),
]

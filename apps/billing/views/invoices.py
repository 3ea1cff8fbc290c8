"""Dashboard pages of invoices (page 024): the list (filters, totals per currency, sorting, pages) and the
detail (timeline, payments, credit notes and the actions the invoice's status allows). The builder is
`invoice_builder.py`; it shares this module's helpers.

Views are thin: a form is read, one selector or service is called and the result rendered; an invoice of
another merchant or mode is a 404. Roles (page 054): everyone on the team reads invoices; creating,
editing, sending and commenting is "manage customers, invoices and subscriptions" (MANAGE_CUSTOMERS);
whatever moves or writes off money — recording or charging a payment, void, uncollectible, approval and
credit notes — needs PROCESS_REFUNDS (owner, admin, manager, support), as the payments pages do.
"""
from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count, Sum
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_POST

from apps.accounts.decorators import dashboard_view
from apps.accounts.permissions import Permission, role_has
from apps.core.actors import Actor
from apps.core.errors import DomainError, NotFound, PaymentDeclined
from apps.core.models import Event, StateTransition
from apps.core.tenancy import scoped

from .. import selectors, services
from ..forms import (
    CommentForm,
    InvoiceFilterForm,
    ReasonForm,
    RecordPaymentForm,
    SendForm,
    status_badge,
)
from ..models import Invoice
from ..models.invoices import FINALIZED_STATUSES, OPEN_STATUSES
from ..payloads import hosted_invoice_url
from ..services.invoices import DRAFT_STATUSES

PAGE_SIZE = 25
RESULTS_ID = "invoice-results"
TABS = [("", "All"), ("draft", "Draft"), ("open", "Open"), ("overdue", "Overdue"), ("paid", "Paid"),
        ("voided", "Voided")]
WRITE = Permission.MANAGE_CUSTOMERS
COLLECT = Permission.PROCESS_REFUNDS
CHOICE_LIMIT = 500  # customers and prices offered in the builder's selects (newest first; search for others)
INTERVAL_WORDS = {"day": "daily", "week": "weekly", "month": "monthly", "quarter": "quarterly",
                  "half_year": "every six months", "year": "yearly"}


# --- helpers -----------------------------------------------------------------------------------------------
def _actor(request) -> Actor:
    return Actor.for_user(request.user)


def _can(request, permission: str) -> bool:
    return role_has(request.membership.role, permission)


def _invoice_or_404(request, invoice_id: str) -> Invoice:
    try:
        return selectors.invoice_get(tenant=request.tenant, invoice_id=invoice_id)
    except NotFound:
        raise Http404("No such invoice")


def _currency(request) -> str:
    return request.merchant.settlement_currency or "USD"


def interval_text(interval: str, count: int) -> str:
    """The billing-interval snapshot of a line as the documents print it: "Billed monthly"."""
    if not interval:
        return ""
    if count and count > 1:
        unit = interval.replace("_", " ")
        return f"Billed every {count} {unit}s"
    return f"Billed {INTERVAL_WORDS.get(interval, interval)}"


def _finalized_message(invoice: Invoice) -> str:
    if invoice.status == "pending_approval":
        return "Submitted for approval: an approver will issue it."
    if invoice.status == "sent":
        return f"Invoice {invoice.number} finalized and sent to {invoice.customer_email or invoice.customer.email}."
    if invoice.status == "paid":
        return f"Invoice {invoice.number} finalized; nothing is owed, so it is paid."
    return f"Invoice {invoice.number} finalized."


# --- the list --------------------------------------------------------------------------------------------
def _filtered(request, form: InvoiceFilterForm):
    if not form.is_valid():
        return Invoice.objects.none()
    try:
        qs = selectors.invoice_list(tenant=request.tenant, **form.selector_filters())
    except DomainError as exc:
        form.add_error(None, exc.message)
        return Invoice.objects.none()
    # The list shows no lines: drop the selector's line prefetch (one query fewer per page).
    return qs.prefetch_related(None).select_related("customer").order_by(*form.ordering)


def _totals(qs) -> list[dict]:
    """Count, total and amount outstanding of the filtered invoices, per currency (one query)."""
    rows = qs.order_by().values("currency").annotate(count=Count("id"), total=Sum("total_minor"),
                                                       outstanding=Sum("amount_remaining_minor"))
    return sorted(({"currency": r["currency"], "count": r["count"], "total": r["total"] or 0,
                    "outstanding": r["outstanding"] or 0} for r in rows), key=lambda r: (-r["count"], r["currency"]))


def _sort_links(form: InvoiceFilterForm) -> dict:
    """For each sortable column: the `sort` value its header link sets and the arrow it shows now."""
    current = (form.cleaned_data.get("sort") if form.is_valid() else "") or "-created"
    links = {}
    for column in ("created", "number", "customer", "due", "total", "remaining", "status"):
        if current.lstrip("-") == column:
            links[column] = {"value": column if current.startswith("-") else f"-{column}",
                             "arrow": "↓" if current.startswith("-") else "↑"}
        else:
            links[column] = {"value": f"-{column}" if column in ("created", "total", "remaining", "due") else column,
                             "arrow": ""}
    return links


@dashboard_view(Permission.VIEW_DASHBOARD)
def invoice_list(request):
    form = InvoiceFilterForm(request.GET, currency=_currency(request))
    qs = _filtered(request, form)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [{"invoice": inv, "badge": status_badge(inv.status)} for inv in page.object_list]
    context = {"form": form, "page": page, "rows": rows, "totals": _totals(qs) if rows else [],
               "results_id": RESULTS_ID, "filtered": form.filtered, "tabs": TABS,
               "current_status": form.cleaned_data.get("status", "") if form.is_valid() else "",
               "sorts": _sort_links(form), "can_write": _can(request, WRITE)}
    if request.htmx and request.htmx.target == RESULTS_ID:
        return render(request, "billing/invoices/list.html#results", context)
    return render(request, "billing/invoices/list.html", context)


# --- the detail ------------------------------------------------------------------------------------------
def _default_card(invoice: Invoice):
    from apps.payments.models import PaymentMethod

    return PaymentMethod.objects.filter(customer_id=invoice.customer_id, is_default=True,
                                        status=PaymentMethod.Status.ACTIVE).first()


def available_actions(invoice: Invoice, *, can_write: bool, can_collect: bool, require_approval: bool,
                      has_card: bool) -> set[str]:
    """What the invoice's status and amounts allow (Invoice.STATE_MACHINE and the services' rules),
    narrowed to what the member's role may do."""
    machine, status = Invoice.STATE_MACHINE, invoice.status
    owed = invoice.amount_remaining_minor > 0
    allowed = set()
    if status in DRAFT_STATUSES:
        allowed |= {"edit", "delete"}
    if status == "draft":
        allowed.add("submit" if require_approval and invoice.source == Invoice.Source.MANUAL else "finalize")
    if status == "pending_approval":
        allowed |= {"approve", "reject"}
    if status in ("approved", "sent", "partially_paid", "overdue"):
        allowed.add("send")
    if machine.can(status, "paid") and status not in DRAFT_STATUSES and owed:
        allowed.add("record_payment")
        if has_card:
            allowed.add("charge")
    if machine.can(status, "voided") and status not in DRAFT_STATUSES and invoice.amount_paid_minor == 0 \
            and status in ("approved", "sent", "overdue", "uncollectible"):
        allowed.add("void")
    if machine.can(status, "uncollectible"):
        allowed.add("mark_uncollectible")
    if status in OPEN_STATUSES and owed:
        allowed.add("remind")
    if status in FINALIZED_STATUSES and status != "voided" and invoice.amount_credited_minor < invoice.total_minor:
        allowed.add("credit_note")
    allowed.add("comment")
    writer = {"edit", "delete", "submit", "finalize", "send", "remind", "comment"}
    collector = {"approve", "reject", "record_payment", "charge", "void", "mark_uncollectible", "credit_note"}
    return {a for a in allowed if (a in writer and can_write) or (a in collector and can_collect)}


def _timeline(request, invoice: Invoice, comments, payments, credit_notes=()) -> list[dict]:
    """State changes, events, comments, payments and credit notes of the invoice, newest first."""
    changes = scoped(StateTransition, tenant=request.tenant).filter(object_id=invoice.pk)
    events = scoped(Event, tenant=request.tenant).filter(object_id=invoice.pk).order_by("-created_at", "-id")[:100]
    items = [{"at": c.created_at, "kind": "state", "title": f"{status_badge(c.from_state).label} → "
              f"{status_badge(c.to_state).label}", "detail": c.reason, "actor": c.actor_label} for c in changes]
    items += [{"at": e.created_at, "kind": "event", "title": e.type, "detail": "", "actor": e.actor_label}
              for e in events]
    items += [{"at": c.created_at, "kind": "comment", "title": "Comment", "detail": c.body, "actor": c.actor_label}
              for c in comments]
    items += [{"at": p.created_at, "kind": "payment", "title": f"Payment applied ({p.get_method_display()})",
               "detail": p.reference, "actor": p.actor_label, "amount": p.amount_minor, "currency": p.currency}
              for p in payments]
    items += [{"at": n.created_at, "kind": "credit_note", "title": f"Credit note {n.number} ({n.get_status_display()})",
               "detail": n.get_credit_method_display(), "actor": n.actor_label, "amount": n.amount_minor,
               "currency": n.currency} for n in credit_notes]
    return sorted(items, key=lambda item: item["at"], reverse=True)


ADDRESS_ORDER = ("line1", "line2", "city", "state", "postal_code", "country")


def address_lines(address: dict | None) -> list[str]:
    """An address snapshot in reading order (JSON keeps no order we can rely on)."""
    if not address:
        return []
    lines = [str(address[key]) for key in ADDRESS_ORDER if address.get(key)]
    return lines + [str(v) for k, v in address.items() if k not in ADDRESS_ORDER and v and isinstance(v, str)]


def _detail_context(request, invoice: Invoice) -> dict:
    lines = list(invoice.lines.all())
    for line in lines:
        line.interval_label = interval_text(line.billing_interval, line.billing_interval_count)
    payments = list(selectors.invoice_payment_list(tenant=request.tenant, invoice=invoice).select_related("payment"))
    comments = list(selectors.invoice_comment_list(tenant=request.tenant, invoice=invoice))
    credit_notes = list(invoice.credit_notes.order_by("-created_at", "-id"))
    for note in credit_notes:
        note.url = reverse("dashboard:credit_note_detail", args=[note.pk])
    settings = services.invoice_settings_for(request.merchant)
    card = _default_card(invoice) if invoice.status not in DRAFT_STATUSES else None
    actions = available_actions(invoice, can_write=_can(request, WRITE), can_collect=_can(request, COLLECT),
                                require_approval=settings.require_approval, has_card=card is not None)
    return {
        "invoice": invoice, "badge": status_badge(invoice.status), "lines": lines, "payments": payments,
        "comments": comments, "credit_notes": credit_notes, "timeline": _timeline(request, invoice, comments, payments, credit_notes),
        "actions": actions, "card": card, "customer": invoice.customer,
        "address_lines": address_lines(invoice.customer_address),
        "hosted_url": hosted_invoice_url(invoice) if invoice.status in FINALIZED_STATUSES else "",
        "credit_note_url": reverse("dashboard:credit_note_new", args=[invoice.pk]),
        "send_form": SendForm(initial={"to": invoice.customer_email or invoice.customer.email}),
        "payment_form": RecordPaymentForm(currency=invoice.currency), "reason_form": ReasonForm(),
        "comment_form": CommentForm(), "paid_or_credited": invoice.amount_paid_minor or invoice.amount_credited_minor,
    }


@dashboard_view(Permission.VIEW_DASHBOARD)
def invoice_detail(request, invoice_id):
    invoice = _invoice_or_404(request, invoice_id)
    return render(request, "billing/invoices/detail.html", _detail_context(request, invoice))


@dashboard_view(Permission.VIEW_DASHBOARD)
def invoice_pdf(request, invoice_id):
    """The stored PDF when it shows the invoice as it is now; otherwise asks the task to render it and says
    so (the page refreshes itself until the file is there)."""
    invoice = _invoice_or_404(request, invoice_id)
    if invoice.pdf and invoice.pdf_revision >= invoice.revision:
        name = f"{invoice.number or invoice.pk}.pdf"
        try:
            return FileResponse(invoice.pdf.open("rb"), content_type="application/pdf", filename=name)
        except FileNotFoundError:  # the stored file went missing: render it again
            pass
    from .. import tasks

    tasks.render_invoice_pdf.delay(invoice.pk)
    return render(request, "billing/pdf_pending.html", {
        "document": invoice, "list_url": reverse("dashboard:invoices"), "list_label": "Invoices",
        "back_url": reverse("dashboard:invoice_detail", args=[invoice.pk])}, status=202)


# --- actions: one POST, one service ------------------------------------------------------------------------
def _done(request, invoice_id: str):
    return redirect("dashboard:invoice_detail", invoice_id=invoice_id)


def _form_errors(form) -> str:
    return " ".join(f"{form.fields[name].label if name in form.fields else ''}: {' '.join(errors)}".lstrip(": ")
                    for name, errors in form.errors.items())


def _act(request, invoice_id: str, action: str | tuple[str, ...], run):
    """Loads the invoice, checks that its state allows `action`, runs the service call and turns a refusal
    into a message on the detail page."""
    invoice = _invoice_or_404(request, invoice_id)
    settings = services.invoice_settings_for(request.merchant)
    allowed = available_actions(invoice, can_write=True, can_collect=True, require_approval=settings.require_approval,
                                has_card=True)
    if not allowed & ({action} if isinstance(action, str) else set(action)):
        messages.error(request, f"Not possible for an invoice that is {status_badge(invoice.status).label.lower()}"
                                "; the page shows what it allows now.")
        return _done(request, invoice.pk)
    try:
        message = run(invoice)
    except PaymentDeclined as exc:
        messages.error(request, f"The card was declined: {exc.message}")
        return _done(request, invoice.pk)
    except DomainError as exc:
        messages.error(request, exc.message)
        return _done(request, invoice.pk)
    if message:
        messages.success(request, message)
    return _done(request, invoice.pk)


def _ctx(request) -> dict:
    return {"tenant": request.tenant, "actor": _actor(request), "request_id": request.request_id}


@dashboard_view(WRITE)
@require_POST
def invoice_delete(request, invoice_id):
    invoice = _invoice_or_404(request, invoice_id)
    if invoice.status not in DRAFT_STATUSES:
        messages.error(request, "Only a draft can be deleted; void a finalized invoice instead.")
        return _done(request, invoice.pk)
    try:
        services.invoice_delete(invoice=invoice, **_ctx(request))
    except DomainError as exc:
        messages.error(request, exc.message)
        return _done(request, invoice.pk)
    messages.success(request, "Draft deleted.")
    return redirect("dashboard:invoices")


@dashboard_view(WRITE)
@require_POST
def invoice_finalize(request, invoice_id):
    def run(invoice):
        return _finalized_message(services.invoice_finalize(invoice=invoice, **_ctx(request)))

    return _act(request, invoice_id, ("finalize", "submit"), run)


@dashboard_view(COLLECT)
@require_POST
def invoice_approve(request, invoice_id):
    def run(invoice):
        invoice = services.invoice_approve(invoice=invoice, **_ctx(request))
        return f"Approved: invoice {invoice.number} is issued."

    return _act(request, invoice_id, "approve", run)


@dashboard_view(COLLECT)
@require_POST
def invoice_reject(request, invoice_id):
    form = ReasonForm(request.POST)

    def run(invoice):
        note = form.cleaned_data["reason"] if form.is_valid() else ""
        services.invoice_reject(invoice=invoice, note=note, **_ctx(request))
        return "Rejected: the invoice is a draft again, with your note for its author."

    return _act(request, invoice_id, "reject", run)


@dashboard_view(WRITE)
@require_POST
def invoice_send(request, invoice_id):
    form = SendForm(request.POST)

    def run(invoice):
        if not form.is_valid():
            messages.error(request, _form_errors(form))
            return ""
        invoice = services.invoice_send(invoice=invoice, to=form.cleaned_data["to"] or None,
                                        cc=form.cleaned_data["cc"] or None, **_ctx(request))
        to = ", ".join(form.cleaned_data["to"]) or invoice.customer_email or invoice.customer.email
        return f"Invoice {invoice.number} sent to {to}."

    return _act(request, invoice_id, "send", run)


@dashboard_view(COLLECT)
@require_POST
def invoice_record_payment(request, invoice_id):
    invoice = _invoice_or_404(request, invoice_id)
    form = RecordPaymentForm(request.POST, currency=invoice.currency)

    def run(invoice):
        if not form.is_valid():
            messages.error(request, "Payment not recorded: " + _form_errors(form))
            return ""
        data = form.cleaned_data
        applied = services.invoice_record_payment(invoice=invoice, amount=data["amount"], method=data["method"],
                                                  reference=data.get("reference") or "",
                                                  received_at=form.received_at(), **_ctx(request))
        return f"Recorded a payment of {invoice.money(applied.amount_minor)}."

    return _act(request, invoice.pk, "record_payment", run)


@dashboard_view(COLLECT)
@require_POST
def invoice_charge(request, invoice_id):
    """Charges what is owed to the customer's default saved card through the payments engine."""

    def run(invoice):
        result = services.invoice_pay(invoice=invoice, **_ctx(request))
        if result.payment.status == "requires_action":
            messages.warning(request, "The card issuer asks the customer to authenticate; the invoice is paid when "
                                      "they do.")
            return ""
        return f"Charged {result.payment.amount} to the saved card."

    return _act(request, invoice_id, "charge", run)


@dashboard_view(COLLECT)
@require_POST
def invoice_void(request, invoice_id):
    form = ReasonForm(request.POST)

    def run(invoice):
        reason = form.cleaned_data["reason"] if form.is_valid() else ""
        invoice = services.invoice_void(invoice=invoice, reason=reason, **_ctx(request))
        return f"Invoice {invoice.number} voided: nothing is owed on it any more."

    return _act(request, invoice_id, "void", run)


@dashboard_view(COLLECT)
@require_POST
def invoice_mark_uncollectible(request, invoice_id):
    def run(invoice):
        invoice = services.invoice_mark_uncollectible(invoice=invoice, **_ctx(request))
        return f"Invoice {invoice.number} marked uncollectible."

    return _act(request, invoice_id, "mark_uncollectible", run)


@dashboard_view(WRITE)
@require_POST
def invoice_remind(request, invoice_id):
    def run(invoice):
        services.invoice_send_reminder(invoice=invoice, **_ctx(request))
        return f"Reminder sent for invoice {invoice.number}."

    return _act(request, invoice_id, "remind", run)


@dashboard_view(WRITE)
@require_POST
def invoice_comment(request, invoice_id):
    form = CommentForm(request.POST)

    def run(invoice):
        if not form.is_valid():
            messages.error(request, "Comment not added: " + _form_errors(form))
            return ""
        services.invoice_comment_add(tenant=request.tenant, actor=_actor(request), invoice=invoice,
                                     body=form.cleaned_data["body"])
        return "Comment added."

    return _act(request, invoice_id, "comment", run)



# --- the Invoices card on the customer page (apps.customers.views.register_detail_card) ----------------------
CUSTOMER_CARD_ROWS = 8


def customer_invoices_card(request, customer) -> dict:
    """The customer's latest invoices and what they still owe per currency: two queries."""
    invoices = list(selectors.invoice_list(tenant=request.tenant, customer_id=customer.pk)
                    .prefetch_related(None)[:CUSTOMER_CARD_ROWS + 1])
    owed = (Invoice.objects.filter(customer=customer, status__in=OPEN_STATUSES).values("currency")
            .annotate(total=Sum("amount_remaining_minor")).order_by("currency"))
    return {"rows": [{"invoice": inv, "badge": status_badge(inv.status)} for inv in invoices[:CUSTOMER_CARD_ROWS]],
            "has_more": len(invoices) > CUSTOMER_CARD_ROWS, "customer": customer,
            "owed": [row for row in owed if row["total"]], "can_write": _can(request, WRITE)}


urlpatterns = [
    path("invoices/", invoice_list, name="invoices"),
    path("invoices/<str:invoice_id>/", invoice_detail, name="invoice_detail"),
    path("invoices/<str:invoice_id>/pdf/", invoice_pdf, name="invoice_pdf"),
    path("invoices/<str:invoice_id>/delete/", invoice_delete, name="invoice_delete"),
    path("invoices/<str:invoice_id>/finalize/", invoice_finalize, name="invoice_finalize"),
    path("invoices/<str:invoice_id>/approve/", invoice_approve, name="invoice_approve"),
    path("invoices/<str:invoice_id>/reject/", invoice_reject, name="invoice_reject"),
    path("invoices/<str:invoice_id>/send/", invoice_send, name="invoice_send"),
    path("invoices/<str:invoice_id>/record-payment/", invoice_record_payment, name="invoice_record_payment"),
    path("invoices/<str:invoice_id>/charge/", invoice_charge, name="invoice_charge"),
    path("invoices/<str:invoice_id>/void/", invoice_void, name="invoice_void"),
    path("invoices/<str:invoice_id>/mark-uncollectible/", invoice_mark_uncollectible,
         name="invoice_mark_uncollectible"),
    path("invoices/<str:invoice_id>/remind/", invoice_remind, name="invoice_remind"),
    path("invoices/<str:invoice_id>/comment/", invoice_comment, name="invoice_comment"),
]

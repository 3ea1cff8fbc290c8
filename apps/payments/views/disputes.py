"""Dashboard pages of disputes (Finance > Disputes, page 044): the list (status filter, search, pages,
deadline urgency) and the detail (the payment, the amount held and the fee, the evidence page 044
recommends for the reason, the evidence form with file uploads, the files uploaded).

Views are thin: forms are read, the disputes services and selectors are called (the same the API and the
sync use) and the result rendered; a service's ValidationFailed becomes form errors. Roles (page 054):
anyone on the team sees disputes; the fee is financial data (VIEW_FINANCIAL_DATA); answering a dispute is
money work the matrix gives to the roles that process refunds (PROCESS_REFUNDS). Evidence files are served
through a tenant-checked view, never from a public media URL.
"""
from __future__ import annotations

from dataclasses import dataclass

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from apps.accounts.decorators import dashboard_view
from apps.accounts.permissions import Permission, role_has
from apps.core.actors import Actor
from apps.core.clock import now
from apps.core.errors import DomainError, NotFound, ValidationFailed

from .. import selectors
from ..models import Dispute
from ..services import disputes as dispute_services

PAGE_SIZE = 25
RESULTS_ID = "dispute-results"
STATUS_TONES = {"needs_response": "orange", "under_review": "blue", "won": "green", "lost": "red"}
URGENT_DAYS = 2  # deadline within this many days: red; within twice as many: orange


def _actor(request) -> Actor:
    return Actor.for_user(request.user)


def _can_respond(request) -> bool:
    return role_has(request.membership.role, Permission.PROCESS_REFUNDS)


def _dispute_or_404(request, dispute_id: str) -> Dispute:
    try:
        return selectors.dispute_get(tenant=request.tenant, dispute_id=dispute_id)
    except NotFound:
        raise Http404("No such dispute")


@dataclass(frozen=True)
class Deadline:
    """How urgent a dispute's evidence deadline is, for the list and the detail."""

    days_left: int | None  # None when no response is expected any more
    overdue: bool
    tone: str
    label: str


def deadline_of(dispute: Dispute, *, at=None) -> Deadline:
    if dispute.status != Dispute.Status.NEEDS_RESPONSE:
        return Deadline(None, False, "gray", "—")
    left = dispute.evidence_due_by - (at or now())
    if left.total_seconds() < 0:
        return Deadline(0, True, "red", "Overdue")
    days = left.days
    label = "Due today" if days == 0 else f"{days} day{'s' if days != 1 else ''} left"
    tone = "red" if days < URGENT_DAYS else "orange" if days < 2 * URGENT_DAYS else "gray"
    return Deadline(days, False, tone, label)


# --- the list --------------------------------------------------------------------------------------
class DisputeFilterForm(forms.Form):
    STATUS_CHOICES = [("", "All statuses"), *Dispute.Status.choices]
    q = forms.CharField(required=False, label="Search", max_length=200,
                        widget=forms.TextInput(attrs={"placeholder": "Dispute, payment or customer", "type": "search"}))
    status = forms.ChoiceField(required=False, choices=STATUS_CHOICES, label="Status")

    def filters(self) -> dict:
        if not self.is_valid():
            return {}
        return {"q": self.cleaned_data["q"].strip(), "status": self.cleaned_data["status"] or None}

    @property
    def filtered(self) -> bool:
        return any(self.filters().values())


@dashboard_view(Permission.VIEW_DASHBOARD)
def dispute_list(request):
    form = DisputeFilterForm(request.GET)
    page = Paginator(selectors.dispute_list(tenant=request.tenant, **form.filters()), PAGE_SIZE).get_page(
        request.GET.get("page"))
    moment = now()
    rows = [(dispute, deadline_of(dispute, at=moment), STATUS_TONES.get(dispute.status, "gray"))
            for dispute in page.object_list]
    context = {"form": form, "page": page, "rows": rows, "filtered": form.filtered, "results_id": RESULTS_ID}
    if request.htmx and request.htmx.target == RESULTS_ID:
        return render(request, "payments/disputes/list.html#results", context)
    context.update(rates=selectors.dispute_metrics(tenant=request.tenant, at=moment),
                   metrics_days=selectors.DISPUTE_METRICS_DAYS)
    return render(request, "payments/disputes/list.html", context)


# --- the detail and the evidence -------------------------------------------------------------------
class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one input (Django's documented pattern); type, size and count are the service's checks."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": "application/pdf,image/png,image/jpeg"}))
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        if isinstance(data, (list, tuple)):
            return [super(MultipleFileField, self).clean(item, initial) for item in data]
        return super().clean(data, initial)


class EvidenceForm(forms.Form):
    """The written evidence (every known field, the reason's recommended ones first) and files to send with it.
    Files are checked by the service (type, size, count): its errors come back onto `files`."""

    def __init__(self, *args, reason: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        recommended = dispute_services.RECOMMENDED_EVIDENCE.get(reason, ("", ()))[1]
        order = ["explanation", *recommended,
                 *(k for k in dispute_services.EVIDENCE_FIELDS if k not in recommended and k != "explanation")]
        for key in order:
            label, limit = dispute_services.EVIDENCE_FIELDS[key]
            long = limit > dispute_services.SHORT_TEXT
            widget = forms.Textarea(attrs={"rows": 4 if key == "explanation" else 2}) if long else forms.TextInput()
            self.fields[key] = forms.CharField(required=False, label=label, max_length=limit, widget=widget,
                                               help_text="Recommended for this reason" if key in recommended else "")
        self.fields["files"] = MultipleFileField(required=False, label="Documents",
                                                 help_text="PDF, PNG or JPEG, up to 5 MB each, 10 per dispute.")
        self.recommended_keys = set(recommended)

    def uploads(self) -> list:
        return [f for f in self.cleaned_data.get("files") or [] if f]

    def evidence(self) -> dict:
        return {k: v for k, v in self.cleaned_data.items() if k in dispute_services.EVIDENCE_FIELDS and v}


class AttachFileForm(forms.Form):
    file = forms.FileField(label="Document", widget=forms.ClearableFileInput(
        attrs={"accept": "application/pdf,image/png,image/jpeg"}))
    category = forms.ChoiceField(required=False, label="Kind", choices=[
        ("", "—"), *((c, c.capitalize()) for c in dispute_services.EVIDENCE_FILE_CATEGORIES)])


def _errors_onto(form: forms.Form, exc: DomainError, *, file_field: str) -> None:
    """A service error as form errors: `evidence.<key>` on that field, `files[i]` / `file` on the upload."""
    fields = exc.fields if isinstance(exc, ValidationFailed) else {}
    placed = False
    for path, reasons in fields.items():
        name = path.removeprefix("evidence.")
        if name.startswith("files[") or name in ("file", "files"):
            name = file_field
        if name in form.fields:
            for reason in reasons:
                form.add_error(name, reason)
            placed = True
    if not placed:
        form.add_error(file_field if getattr(exc, "param", "") in ("file", "files") else None, exc.message)


def _detail(request, dispute: Dispute, *, evidence_form=None, attach_form=None, status: int = 200):
    can_respond = _can_respond(request)
    open_for_evidence = dispute.status == Dispute.Status.NEEDS_RESPONSE and dispute.evidence_due_by >= now()
    summary, recommended = dispute_services.RECOMMENDED_EVIDENCE.get(dispute.reason, ("", ()))
    submitted = [(dispute_services.EVIDENCE_FIELDS.get(k, (k, 0))[0], v) for k, v in (dispute.evidence or {}).items()]
    return render(request, "payments/disputes/detail.html", {
        "dispute": dispute, "payment": dispute.payment, "deadline": deadline_of(dispute),
        "tone": STATUS_TONES.get(dispute.status, "gray"), "can_respond": can_respond,
        "open_for_evidence": open_for_evidence, "recommended_summary": summary,
        "recommended_labels": [dispute_services.EVIDENCE_FIELDS[k][0] for k in recommended],
        "evidence_form": evidence_form or EvidenceForm(reason=dispute.reason),
        "attach_form": attach_form or AttachFileForm(), "files": list(dispute.files.all()),
        "submitted": submitted, "net_effect_minor": -(dispute.amount_minor + dispute.fee_minor)
        + (dispute.amount_minor if dispute.status == Dispute.Status.WON else 0),
    }, status=status)


@dashboard_view(Permission.VIEW_DASHBOARD)
def dispute_detail(request, dispute_id):
    dispute = _dispute_or_404(request, dispute_id)
    if request.method != "POST":
        return _detail(request, dispute)
    if not _can_respond(request):
        raise PermissionDenied("Your role can view disputes but not answer them.")
    form = EvidenceForm(request.POST, request.FILES, reason=dispute.reason)
    if form.is_valid():
        try:
            dispute_services.dispute_submit_evidence(
                tenant=request.tenant, actor=_actor(request), dispute=dispute, evidence=form.evidence(),
                files=form.uploads(), request_id=getattr(request, "request_id", ""))
        except DomainError as exc:
            _errors_onto(form, exc, file_field="files")
        else:
            messages.success(request, "Evidence submitted. The bank reviews it; the decision usually takes 30–90 "
                                      "days and appears here when the gateway reports it.")
            return redirect("dashboard:dispute_detail", dispute_id=dispute.pk)
    return _detail(request, dispute, evidence_form=form, status=400)


@dashboard_view(Permission.PROCESS_REFUNDS)
@require_POST
def dispute_attach(request, dispute_id):
    """Adds one document to the dispute before the response is submitted."""
    dispute = _dispute_or_404(request, dispute_id)
    form = AttachFileForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            stored = dispute_services.dispute_attach_file(
                tenant=request.tenant, actor=_actor(request), dispute=dispute, upload=form.cleaned_data["file"],
                category=form.cleaned_data["category"])
        except DomainError as exc:
            _errors_onto(form, exc, file_field="file")
        else:
            messages.success(request, f"{stored.original_name} attached.")
            return redirect("dashboard:dispute_detail", dispute_id=dispute.pk)
    return _detail(request, dispute, attach_form=form, status=400)


@dashboard_view(Permission.VIEW_DASHBOARD)
def dispute_file(request, dispute_id, file_id):
    dispute = _dispute_or_404(request, dispute_id)
    stored = dispute.files.filter(pk=file_id).first()
    if stored is None:
        raise Http404("No such file")
    return FileResponse(stored.file.open("rb"), content_type=stored.content_type, as_attachment=True,
                        filename=stored.original_name)

"""Dashboard settings of billing (page 053 "Invoice settings", page 049 "Tax"): the invoice settings form
(numbering with a live example of the next number, payment terms, approval, defaults printed on
invoices, reminders, the merchant's tax id and registrations, PDF attachment) and the tax rates (list,
create, edit inline, archive, with htmx).

Settings are account settings (page 054): only owners and admins reach these pages. Views are thin: forms
read the input, services.settings validates and writes (the same rules the API would use).
"""
from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.http import require_POST

from apps.accounts.decorators import dashboard_view
from apps.accounts.permissions import Permission
from apps.core.actors import Actor
from apps.core.errors import DomainError, NotFound
from apps.core.forms import add_domain_error
from apps.core.tenancy import get_scoped, scoped

from .. import services
from ..models import InvoiceSettings, TaxRate
from ..services.settings import tax_rate_used_on_issued_invoices

RATES_ID = "tax-rates"
PREVIEW_ID = "number-preview"


def _days_text(days) -> str:
    return ", ".join(str(day) for day in days or [])


class InvoiceSettingsForm(forms.Form):
    number_prefix = forms.CharField(label="Invoice prefix", max_length=12, help_text="e.g. INV → INV-2026-00042")
    credit_note_prefix = forms.CharField(label="Credit note prefix", max_length=12, help_text="e.g. CN")
    number_padding = forms.IntegerField(label="Digits", min_value=1, max_value=10,
                                        help_text="Digits of the sequence: 5 → 00042")
    number_includes_year = forms.BooleanField(label="Include the year (numbers restart each January)",
                                              required=False)
    days_until_due = forms.IntegerField(label="Payment terms (days until due)", min_value=0, max_value=365,
                                        help_text="0 = due on receipt")
    require_approval = forms.BooleanField(label="Finalized invoices need an approver (owner or admin)",
                                          required=False)
    default_memo = forms.CharField(label="Default memo", required=False, widget=forms.Textarea(attrs={"rows": 2}),
                                   help_text="Printed above the lines of new invoices")
    default_footer = forms.CharField(label="Default footer", required=False,
                                     widget=forms.Textarea(attrs={"rows": 2}))
    payment_instructions = forms.CharField(label="Payment instructions", required=False,
                                           widget=forms.Textarea(attrs={"rows": 3}),
                                           help_text="Bank details for customers who pay by bank transfer")
    reminder_days_before = forms.CharField(label="Remind days before the due date", required=False,
                                           help_text="e.g. 3 — several separated by commas; blank for none")
    reminder_days_after = forms.CharField(label="Remind days after the due date", required=False,
                                          help_text="e.g. 1, 7, 14")
    tax_id = forms.CharField(label="Your tax id (VAT/GST number)", max_length=40, required=False,
                             help_text="Printed on every invoice and credit note")
    tax_registrations = forms.CharField(label="Also registered for tax in", required=False,
                                        help_text="Country codes outside your home tax area, e.g. US, NO")
    attach_pdf = forms.BooleanField(label="Attach the PDF to invoice emails", required=False)

    @classmethod
    def initial_from(cls, settings: InvoiceSettings) -> dict:
        initial = {name: getattr(settings, name) for name in cls.base_fields}
        for name in ("reminder_days_before", "reminder_days_after"):
            initial[name] = _days_text(initial[name])
        initial["tax_registrations"] = ", ".join(settings.tax_registrations or [])
        return initial


class TaxRateForm(forms.Form):
    name = forms.CharField(max_length=60, help_text="Shown on documents: VAT, GST, Sales tax")
    percentage = forms.CharField(label="Rate (%)", max_length=12, help_text="0–100, up to 4 decimals")
    country = forms.CharField(max_length=2, help_text="Two letters, e.g. GB")
    region = forms.CharField(max_length=10, required=False, help_text="State or province; blank for the country")
    inclusive = forms.BooleanField(label="Prices include this tax", required=False)
    description = forms.CharField(max_length=200, required=False)


def _actor(request) -> Actor:
    return Actor.for_user(request.user)


def _request_id(request) -> str:
    return getattr(request, "request_id", "")


@dashboard_view(Permission.ACCOUNT_SETTINGS)
def invoice_settings(request):
    current = services.invoice_settings_for(request.merchant)
    form = InvoiceSettingsForm(request.POST or None, initial=InvoiceSettingsForm.initial_from(current))
    if request.method == "POST" and form.is_valid():
        try:
            services.invoice_settings_update(tenant=request.tenant, actor=_actor(request), changes=form.cleaned_data,
                                             request_id=_request_id(request))
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, "Invoice settings saved. They apply to invoices finalized from now on.")
            return redirect("dashboard:settings_invoices")
    context = {"form": form, "preview_id": PREVIEW_ID,
               "next_invoice": services.next_number_preview(tenant=request.tenant, settings=current),
               "next_credit_note": services.next_number_preview(tenant=request.tenant, kind="credit_note",
                                                                settings=current)}
    return render(request, "billing/settings/invoices.html", context)


@dashboard_view(Permission.ACCOUNT_SETTINGS)
def invoice_number_preview(request):
    """The live example under the numbering fields: what the next number would be with the values typed."""
    current = services.invoice_settings_for(request.merchant)
    draft = InvoiceSettings(merchant=request.merchant, number_prefix=current.number_prefix,
                            credit_note_prefix=current.credit_note_prefix, number_padding=current.number_padding,
                            number_includes_year=current.number_includes_year)
    typed = InvoiceSettingsForm(request.GET)
    typed.is_valid()
    data = getattr(typed, "cleaned_data", {})
    for name in ("number_prefix", "credit_note_prefix", "number_padding"):
        if data.get(name):
            setattr(draft, name, data[name].upper() if isinstance(data[name], str) else data[name])
    draft.number_includes_year = bool(request.GET.get("number_includes_year"))
    context = {"preview_id": PREVIEW_ID,
               "next_invoice": services.next_number_preview(tenant=request.tenant, settings=draft),
               "next_credit_note": services.next_number_preview(tenant=request.tenant, kind="credit_note",
                                                                settings=draft)}
    return render(request, "billing/settings/invoices.html#preview", context)


# --- tax rates ---------------------------------------------------------------------------------------
def _rate_or_404(request, rate_id: str) -> TaxRate:
    try:
        return get_scoped(TaxRate, tenant=request.tenant, pk=rate_id, label="tax rate")
    except NotFound:
        raise Http404("No such tax rate")


def _shown(rate: TaxRate) -> TaxRate:
    """20.0000 → "20", 8.8750 → "8.875" (Decimal.normalize alone would print 2E+1)."""
    rate.percent_display = f"{rate.percentage.normalize():f}"
    return rate


def _rates_context(request, form: TaxRateForm | None = None) -> dict:
    show_archived = request.GET.get("archived") == "1"
    rates = scoped(TaxRate, tenant=request.tenant).order_by("-active", "country", "region", "name", "pk")
    if not show_archived:
        rates = rates.filter(active=True)
    settings = services.invoice_settings_for(request.merchant)
    return {"rates": [_shown(rate) for rate in rates],
            "form": form or TaxRateForm(initial={"country": request.merchant.country}), "rates_id": RATES_ID,
            "show_archived": show_archived,
            "archived_count": scoped(TaxRate, tenant=request.tenant).filter(active=False).count(),
            "invoice_settings": settings}


def _rate_changes(data: dict) -> dict:
    return {"name": data["name"], "percentage": data["percentage"], "country": data["country"],
            "region": data.get("region") or "", "inclusive": bool(data.get("inclusive")),
            "description": data.get("description") or ""}


@dashboard_view(Permission.ACCOUNT_SETTINGS)
def tax_rates(request):
    form = TaxRateForm(request.POST) if request.method == "POST" else None
    if form is not None and form.is_valid():
        try:
            rate = services.tax_rate_create(tenant=request.tenant, actor=_actor(request),
                                            **_rate_changes(form.cleaned_data), request_id=_request_id(request))
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            if request.htmx:  # the new row appears in the list; no message to show on a later page
                return render(request, "billing/settings/tax_rates.html#rates", _rates_context(request))
            messages.success(request, f"Tax rate {rate} created.")
            return redirect("dashboard:tax_rates")
    context = _rates_context(request, form)
    if request.htmx and request.method == "POST":
        return render(request, "billing/settings/tax_rates.html#rates", context)
    return render(request, "billing/settings/tax_rates.html", context)


def _row(request, rate: TaxRate, form: TaxRateForm | None = None, editing: bool = False):
    context = {"rate": _shown(rate), "form": form, "editing": editing,
               "locked": editing and tax_rate_used_on_issued_invoices(rate)}
    return render(request, "billing/settings/tax_rate_row.html", context)


@dashboard_view(Permission.ACCOUNT_SETTINGS)
def tax_rate_edit(request, rate_id):
    """GET: the row as an inline form; POST: saves and answers the row (htmx), or redirects (no JS)."""
    rate = _rate_or_404(request, rate_id)
    if request.method != "POST":
        initial = {"name": rate.name, "percentage": f"{rate.percentage.normalize():f}", "country": rate.country,
                   "region": rate.region, "inclusive": rate.inclusive, "description": rate.description}
        if not request.htmx:
            return render(request, "billing/settings/tax_rate_edit.html",
                          {"rate": _shown(rate), "form": TaxRateForm(initial=initial)})
        return _row(request, rate, TaxRateForm(initial=initial), editing=True)
    form = TaxRateForm(request.POST)
    if form.is_valid():
        try:
            rate = services.tax_rate_update(tenant=request.tenant, actor=_actor(request), tax_rate=rate,
                                            changes=_rate_changes(form.cleaned_data), request_id=_request_id(request))
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            if request.htmx:
                return _row(request, rate)
            messages.success(request, f"Tax rate {rate} saved.")
            return redirect("dashboard:tax_rates")
    if request.htmx:
        return _row(request, rate, form, editing=True)
    return render(request, "billing/settings/tax_rate_edit.html", {"rate": _shown(rate), "form": form})


@dashboard_view(Permission.ACCOUNT_SETTINGS)
def tax_rate_row(request, rate_id):
    """The row as shown in the list (the inline form's Cancel)."""
    return _row(request, _rate_or_404(request, rate_id))


@dashboard_view(Permission.ACCOUNT_SETTINGS)
@require_POST
def tax_rate_archive(request, rate_id):
    rate = services.tax_rate_archive(tenant=request.tenant, actor=_actor(request),
                                     tax_rate=_rate_or_404(request, rate_id), request_id=_request_id(request))
    if request.htmx:
        return _row(request, rate)
    messages.success(request, f"Tax rate {rate} archived. Issued invoices keep it; new lines cannot use it.")
    return redirect("dashboard:tax_rates")


urlpatterns = [
    path("settings/invoices/", invoice_settings, name="settings_invoices"),
    path("settings/invoices/preview/", invoice_number_preview, name="settings_invoices_preview"),
    path("settings/tax-rates/", tax_rates, name="tax_rates"),
    path("settings/tax-rates/<str:rate_id>/", tax_rate_row, name="tax_rate_row"),
    path("settings/tax-rates/<str:rate_id>/edit/", tax_rate_edit, name="tax_rate_edit"),
    path("settings/tax-rates/<str:rate_id>/archive/", tax_rate_archive, name="tax_rate_archive"),
]

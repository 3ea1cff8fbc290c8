"""Finance → Margin (pages 002, 004, 046 "Revenue by Source"): what each customer and each product really
brought in over a date range — gross, fees by kind, refunds, disputes, net and margin % — aggregated in
SQL by the margin selectors. Financial data: VIEW_FINANCIAL_DATA."""
from __future__ import annotations

from datetime import timedelta

from django import forms
from django.shortcuts import render
from django.utils import timezone

from apps.accounts.decorators import dashboard_view
from apps.accounts.permissions import Permission
from apps.core.clock import now

from .. import selectors
from .payments import FEE_LABELS, FEE_ORDER, _day_start

DEFAULT_DAYS = 30


class MarginFilterForm(forms.Form):
    date_from = forms.DateField(label="From", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label="To", required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        data = super().clean()
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            self.add_error("date_to", "must be on or after the start date")
        return data


@dashboard_view(Permission.VIEW_FINANCIAL_DATA)
def margin_report(request):
    zone = timezone.get_current_timezone()
    today = timezone.localtime(now(), zone).date()
    form = MarginFilterForm(request.GET or None)
    date_from, date_to = today - timedelta(days=DEFAULT_DAYS - 1), today
    if form.is_bound and form.is_valid():
        date_from = form.cleaned_data.get("date_from") or date_from
        date_to = form.cleaned_data.get("date_to") or date_to
    elif not form.is_bound:
        form = MarginFilterForm(initial={"date_from": date_from, "date_to": date_to})
    context = {"form": form, "date_from": date_from, "date_to": date_to, "fee_codes": FEE_ORDER,
               "fee_labels": [FEE_LABELS[code] for code in FEE_ORDER]}
    if not form.is_bound or form.is_valid():
        window = {"created_from": _day_start(date_from, zone), "created_before": _day_start(date_to + timedelta(days=1),
                                                                                              zone)}
        by_customer = selectors.margin_by_customer(tenant=request.tenant, **window)
        by_product = selectors.margin_by_product(tenant=request.tenant, **window)
        context.update(by_customer=_table(by_customer), by_product=_table(by_product),
                       totals=selectors.margin_totals(by_customer))
    return render(request, "payments/margin/report.html", context)


def _table(rows: list[selectors.MarginRow]) -> list[dict]:
    """Each row with its fees in the waterfall's column order."""
    return [{"row": row, "fees": [{"code": code, "amount_minor": row.fee(code)} for code in FEE_ORDER]} for row in rows]

"""Dashboard pages of payouts (Finance > Payouts, page 047): the list (status, payout date range and
amount filters, pages), the detail — the reconciliation view: the summary (gross − fees − refunds −
disputes ± adjustments = net), the fees by code, and every ledger line in the payout with its fees and
net, the lines summing to the payout — its CSV export, and the payout schedule setting.

Views are thin: forms are read, the payouts selectors and services are called (the same the API and the
beat tasks use). Roles (page 054): payouts are financial data (VIEW_FINANCIAL_DATA); the schedule is an
account setting (ACCOUNT_SETTINGS), readable by anyone who may see payouts.
"""
from __future__ import annotations

import csv
from decimal import Decimal, InvalidOperation

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import redirect, render

from apps.accounts.decorators import dashboard_view
from apps.accounts.models import GatewayAccount
from apps.accounts.permissions import Permission, role_has
from apps.core.actors import Actor
from apps.core.clock import now as clock_now
from apps.core.errors import NotFound, ValidationFailed
from apps.core.money import Money

from .. import calculations as calc
from .. import selectors
from ..models import Payout
from ..services import payouts as payout_services

PAGE_SIZE = 25
LINES_PAGE_SIZE = 100
RESULTS_ID = "payout-results"
LINES_ID = "payout-lines"
STATUS_TONES = {"pending": "orange", "in_transit": "blue", "paid": "green", "failed": "red"}
WEEKDAYS = [(0, "Monday"), (1, "Tuesday"), (2, "Wednesday"), (3, "Thursday"), (4, "Friday")]


class PayoutFilterForm(forms.Form):
    status = forms.ChoiceField(required=False, choices=[("", "Any status"), *Payout.Status.choices])
    date_from = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}))
    amount_min = forms.DecimalField(required=False, label="Min amount", max_digits=14, decimal_places=3)
    amount_max = forms.DecimalField(required=False, label="Max amount", max_digits=14, decimal_places=3)

    def __init__(self, *args, currency: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.currency = currency

    @property
    def filtered(self) -> bool:
        return self.is_valid() and any(value not in (None, "") for value in self.cleaned_data.values())

    def selector_filters(self) -> dict:
        """Only the fields that parsed; a bad one is shown as an error and ignored."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        filters = {name: data[name] for name in ("status", "date_from", "date_to") if data.get(name)}
        for name in ("amount_min", "amount_max"):
            if data.get(name) is not None:
                filters[name] = _minor(data[name], self.currency)
        return filters


def _minor(major: Decimal, currency: str) -> int:
    try:
        return Money.from_decimal(major, currency).amount_minor
    except (InvalidOperation, ValueError):
        return 0


class PayoutScheduleForm(forms.Form):
    interval = forms.ChoiceField(choices=[("daily", "Daily (every business day)"), ("weekly", "Weekly"),
                                          ("monthly", "Monthly")])
    weekly_anchor = forms.TypedChoiceField(label="Weekday (weekly)", choices=WEEKDAYS, coerce=int, initial=0)
    monthly_anchor = forms.IntegerField(label="Day of the month (monthly)", initial=1,
                                        help_text="1–31; in shorter months, the month's last day.")
    delay_days = forms.IntegerField(label="Delay (business days)", initial=1,
                                    help_text="Business days from settlement until the funds can be paid out.")


def _can_configure(request) -> bool:
    return role_has(request.membership.role, Permission.ACCOUNT_SETTINGS)


def _payout_or_404(request, payout_id: str) -> Payout:
    try:
        return selectors.payout_get(tenant=request.tenant, payout_id=payout_id)
    except NotFound:
        raise Http404("No such payout")


def _wants(request, target: str) -> bool:
    return bool(request.htmx) and request.htmx.target == target


@dashboard_view(Permission.VIEW_FINANCIAL_DATA)
def payout_list(request):
    form = PayoutFilterForm(request.GET or None, currency=request.merchant.settlement_currency)
    page = Paginator(selectors.payout_list(tenant=request.tenant, **form.selector_filters()).order_by(
        "-payout_date", "-pk"), PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [(payout, STATUS_TONES.get(payout.status, "grey")) for payout in page.object_list]
    context = {"form": form, "page": page, "rows": rows, "filtered": form.filtered, "results_id": RESULTS_ID,
               "account": _account(request)}
    if _wants(request, RESULTS_ID):
        return render(request, "payments/payouts/list.html#results", context)
    return render(request, "payments/payouts/list.html", context)


def _lines(request, payout: Payout):
    lines = selectors.payout_lines(tenant=request.tenant, payout=payout).order_by("type", "pk")
    page = Paginator(lines, LINES_PAGE_SIZE).get_page(request.GET.get("page"))
    # Fees shown signed as they move for the merchant (a debit), like the amounts beside them.
    return page, [(txn, -fees, txn.amount_minor - fees) for txn in page.object_list for fees in (_fees(txn),)]


def _summary(payout: Payout) -> list[tuple[str, str, int]]:
    """The breakdown of page 047, each part signed as it moves the payout: (label, test id, minor units)."""
    return [("Gross payments", "summary-gross", payout.gross_minor),
            ("Processing fees", "summary-fees", -payout.fees_minor),
            ("Refunds", "summary-refunds", -payout.refunds_minor),
            ("Disputes (held and fees, less released)", "summary-disputes", -payout.disputes_minor),
            ("Adjustments", "summary-adjustments", payout.adjustments_minor)]


def _fees(txn) -> int:
    return sum(line.amount_minor for line in txn.fee_lines.all())


@dashboard_view(Permission.VIEW_FINANCIAL_DATA)
def payout_detail(request, payout_id):
    payout = _payout_or_404(request, payout_id)
    page, lines = _lines(request, payout)
    context = {"payout": payout, "tone": STATUS_TONES.get(payout.status, "grey"), "page": page, "lines": lines,
               "lines_id": LINES_ID, "summary": _summary(payout),
               "fees_by_code": sorted(selectors.payout_fees_by_code(tenant=request.tenant, payout=payout).items())}
    if _wants(request, LINES_ID):
        return render(request, "payments/payouts/detail.html#lines", context)
    return render(request, "payments/payouts/detail.html", context)


class _Echo:
    def write(self, value):
        return value


CSV_HEADER = ["payout_id", "payout_date", "reference", "transaction_id", "type", "payment_id", "customer",
              "settled_at", "currency", "gross", "fees", "net"]


@dashboard_view(Permission.VIEW_FINANCIAL_DATA)
def payout_export(request, payout_id):
    """Every line of the payout as CSV (amounts in major units, signed as they moved), streamed."""
    payout = _payout_or_404(request, payout_id)
    lines = selectors.payout_lines(tenant=request.tenant, payout=payout).order_by("type", "pk")
    writer = csv.writer(_Echo())

    def rows():
        yield writer.writerow(CSV_HEADER)
        for txn in lines.iterator(chunk_size=500):
            fees = _fees(txn)
            customer = txn.payment.customer if txn.payment_id else None
            yield writer.writerow([
                payout.pk, payout.payout_date.isoformat(), payout.reference, txn.pk, txn.type, txn.payment_id,
                (customer.name or customer.email) if customer else "",
                txn.settled_at.isoformat() if txn.settled_at else "", txn.currency,
                Money(txn.amount_minor, txn.currency).to_decimal(), Money(fees, txn.currency).to_decimal(),
                Money(txn.amount_minor - fees, txn.currency).to_decimal()])

    response = StreamingHttpResponse(rows(), content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="payout-{payout.payout_date}-{payout.pk}.csv"'
    return response


PAYOUTS_CSV_HEADER = ["payout_id", "payout_date", "arrival_date", "status", "currency", "gross", "fees", "refunds",
                      "disputes", "adjustments", "net", "transactions", "reference", "bank_account_last4"]


@dashboard_view(Permission.VIEW_FINANCIAL_DATA)
def payouts_export(request):
    """The payouts the list's filters select, as CSV (amounts in major units), for bank reconciliation."""
    form = PayoutFilterForm(request.GET or None, currency=request.merchant.settlement_currency)
    payouts = selectors.payout_list(tenant=request.tenant, **form.selector_filters()).order_by("-payout_date", "-pk")
    writer = csv.writer(_Echo())

    def major(minor: int, currency: str):
        return Money(minor, currency).to_decimal()

    def rows():
        yield writer.writerow(PAYOUTS_CSV_HEADER)
        for p in payouts.iterator(chunk_size=500):
            yield writer.writerow([
                p.pk, p.payout_date.isoformat(), p.arrival_date.isoformat(), p.status, p.currency,
                major(p.gross_minor, p.currency), major(p.fees_minor, p.currency), major(p.refunds_minor, p.currency),
                major(p.disputes_minor, p.currency), major(p.adjustments_minor, p.currency),
                major(p.amount_minor, p.currency), p.transaction_count, p.reference, p.destination_last4])

    response = StreamingHttpResponse(rows(), content_type="text/csv")
    response["Content-Disposition"] = 'attachment; filename="payouts.csv"'
    return response


def _account(request):
    return GatewayAccount.objects.filter(merchant=request.merchant, livemode=request.tenant.livemode).first()


@dashboard_view(Permission.VIEW_FINANCIAL_DATA)
def payout_schedule(request):
    account = _account(request)
    if account is None:
        raise Http404("No gateway is connected in this mode")
    initial = {"interval": account.payout_interval, "weekly_anchor": account.payout_weekly_anchor,
               "monthly_anchor": account.payout_monthly_anchor, "delay_days": account.payout_delay_days}
    form = PayoutScheduleForm(request.POST if request.method == "POST" else None, initial=initial)
    can_configure = _can_configure(request)
    if request.method == "POST":
        if not can_configure:
            raise PermissionDenied("Your role can see the payout schedule but not change it.")
        if form.is_valid():
            data = form.cleaned_data
            try:
                payout_services.payout_schedule_update(
                    tenant=request.tenant, actor=Actor.for_user(request.user), interval=data["interval"],
                    weekly_anchor=data["weekly_anchor"], monthly_anchor=data["monthly_anchor"],
                    delay_days=data["delay_days"], request_id=getattr(request, "request_id", ""))
            except ValidationFailed as exc:
                for name, errors in (exc.fields or {}).items():
                    for error in errors:
                        form.add_error(name if name in form.fields else None, error)
            else:
                messages.success(request, "Payout schedule saved. It applies to everything not yet paid out.")
                return redirect("dashboard:payout_schedule")
    if not can_configure:
        for field in form.fields.values():
            field.disabled = True
    return render(request, "payments/payouts/schedule.html", {"form": form, "account": account,
                                                              "can_configure": can_configure,
                                                              "upcoming": _upcoming(account)})


def _upcoming(account) -> list:
    """The next payout dates of funds settling today under the saved schedule (a preview for the merchant)."""
    from ..services.settlement import merchant_zone, payout_schedule_of

    today = clock_now().astimezone(merchant_zone(account.merchant)).date()
    return calc.next_payout_dates(settlement_date=today, schedule=payout_schedule_of(account), count=3)

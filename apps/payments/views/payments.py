"""Dashboard pages of payments (pages 025, 046): the list (filters, search, pages, CSV export), the detail
with its fee waterfall and the reversal dialog, and the virtual terminal.

Views are thin: a form is read, one selector or service is called (the same ones the API uses) and the
result rendered. A payment of another merchant or mode is a 404. Roles (page 054): anyone on the team
may see payments; fees, net and margin are financial data (VIEW_FINANCIAL_DATA); voids, refunds and
taking a payment move money, which the matrix allows to the roles that may process refunds
(PROCESS_REFUNDS: owner, admin, manager, support) — the matrix has no separate "take payments" right.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import Decimal
from urllib.parse import urlencode

from asgiref.sync import sync_to_async
from django import forms
from django.contrib import messages
from django.core.handlers.asgi import ASGIRequest
from django.core.paginator import Paginator
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from apps.accounts.decorators import dashboard_view
from apps.accounts.permissions import Permission, role_has
from apps.core.actors import Actor
from apps.core.clock import now
from apps.core.errors import DomainError, NotFound, ValidationFailed
from apps.core.models import Event, StateTransition
from apps.core.money import Money
from apps.core.tenancy import scoped

from .. import calculations as calc
from .. import selectors
from ..gateways.declines import DECLINE_CODES
from ..models import Dispute, Payment, Refund
from ..services import payments as payment_services

PAGE_SIZE = 25
RESULTS_ID = "payment-results"
EXPORT_CHUNK = 2000
FEE_ORDER = [str(calc.FeeCode.INTERCHANGE), str(calc.FeeCode.SCHEME), str(calc.FeeCode.GATEWAY),
             str(calc.FeeCode.PLATFORM), str(calc.FeeCode.CHARGEBACK)]
FEE_LABELS = {"interchange": "Interchange", "scheme": "Scheme fees", "gateway": "Gateway (acquirer)",
              "platform": "Platform fee", "chargeback": "Chargeback fee"}
STATUS_TONES = {"succeeded": "green", "partially_refunded": "orange", "refunded": "gray", "voided": "gray",
                "failed": "red", "pending": "blue", "requires_action": "purple"}
TERMINAL_CURRENCIES = ["GBP", "EUR", "USD", "CAD", "AUD", "JPY"]


# --- helpers ---------------------------------------------------------------------------------------
def _actor(request) -> Actor:
    return Actor.for_user(request.user)


def _can(request, permission: str) -> bool:
    return role_has(request.membership.role, permission)


def _payment_or_404(request, payment_id: str) -> Payment:
    try:
        return selectors.payment_detail_get(tenant=request.tenant, payment_id=payment_id)
    except NotFound:
        raise Http404("No such payment")


def _currency(request) -> str:
    return request.merchant.settlement_currency or "USD"


def status_label(payment: Payment) -> str:
    return Payment.Status(payment.status).label if payment.status in Payment.Status.values else payment.status


def _minor(text: str, currency: str) -> int:
    """A major-unit amount a person typed, in minor units of `currency`; ValueError when it is not one."""
    return Money.parse(text, currency).amount_minor


def _day_start(day, zone) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min), zone)


# --- the list ----------------------------------------------------------------------------------------
class PaymentFilterForm(forms.Form):
    STATUS_CHOICES = [("", "All statuses"), *Payment.Status.choices, (selectors.DISPUTED, "Disputed")]

    q = forms.CharField(label="Search", required=False, max_length=120, widget=forms.TextInput(
        attrs={"placeholder": "Payment id, customer, last 4, gateway id"}))
    status = forms.ChoiceField(label="Status", required=False, choices=STATUS_CHOICES)
    customer = forms.CharField(label="Customer id", required=False, max_length=40)
    date_from = forms.DateField(label="From", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label="To", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    amount_min = forms.CharField(label="Min amount", required=False, max_length=20,
                                 widget=forms.TextInput(attrs={"inputmode": "decimal", "placeholder": "0.00"}))
    amount_max = forms.CharField(label="Max amount", required=False, max_length=20,
                                 widget=forms.TextInput(attrs={"inputmode": "decimal", "placeholder": "0.00"}))

    def __init__(self, data, *, currency: str):
        super().__init__(data)
        self.currency = currency

    def _amount(self, name: str) -> int | None:
        text = (self.cleaned_data.get(name) or "").strip()
        if not text:
            return None
        try:
            value = _minor(text, self.currency)
        except ValueError as exc:
            self.add_error(name, str(exc))
            return None
        if value < 0:
            self.add_error(name, "must not be negative")
            return None
        return value

    def clean(self):
        data = super().clean()
        data["amount_min_minor"] = self._amount("amount_min")
        data["amount_max_minor"] = self._amount("amount_max")
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            self.add_error("date_to", "must be on or after the start date")
        low, high = data.get("amount_min_minor"), data.get("amount_max_minor")
        if low is not None and high is not None and low > high:
            self.add_error("amount_max", "must be at least the minimum")
        return data

    @property
    def filtered(self) -> bool:
        return self.is_valid() and any(self.cleaned_data.get(name) for name in
                                       ("q", "status", "customer", "date_from", "date_to", "amount_min", "amount_max"))

    def selector_filters(self, zone) -> dict:
        data = self.cleaned_data
        return {
            "q": data.get("q") or "", "status": data.get("status") or "", "customer_id": data.get("customer") or "",
            "created_from": _day_start(data["date_from"], zone) if data.get("date_from") else None,
            "created_before": _day_start(data["date_to"] + timedelta(days=1), zone) if data.get("date_to") else None,
            "amount_min_minor": data.get("amount_min_minor"), "amount_max_minor": data.get("amount_max_minor"),
        }


def _filtered_payments(request, form: PaymentFilterForm):
    if not form.is_valid():
        return Payment.objects.none()
    return selectors.payment_dashboard_list(tenant=request.tenant,
                                            **form.selector_filters(timezone.get_current_timezone()))


@dataclass(frozen=True)
class PaymentRow:
    payment: Payment
    status: str
    tone: str

    @property
    def disputed(self) -> bool:
        return self.payment.amount_disputed_minor > 0


def _row(payment: Payment) -> PaymentRow:
    return PaymentRow(payment, status_label(payment), STATUS_TONES.get(payment.status, "gray"))


@dashboard_view(Permission.VIEW_DASHBOARD)
def payment_list(request):
    form = PaymentFilterForm(request.GET, currency=_currency(request))
    page = Paginator(_filtered_payments(request, form), PAGE_SIZE).get_page(request.GET.get("page"))
    context = {"form": form, "page": page, "rows": [_row(p) for p in page.object_list], "results_id": RESULTS_ID,
               "filtered": form.filtered, "show_fees": _can(request, Permission.VIEW_FINANCIAL_DATA),
               "can_take_payments": _can(request, Permission.PROCESS_REFUNDS)}
    if request.htmx and request.htmx.target == RESULTS_ID:
        return render(request, "payments/payments/list.html#results", context)
    return render(request, "payments/payments/list.html", context)


class _Echo:
    def write(self, value):
        return value


FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def _csv_safe(value) -> str:
    """A cell a spreadsheet would run as a formula gets a leading apostrophe (CSV injection)."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_TRIGGERS) and not _is_number(text) else text


def _is_number(text: str) -> bool:
    try:
        Decimal(text)
    except Exception:
        return False
    return True


def _major(amount_minor: int, currency: str) -> str:
    return str(Money(amount_minor, currency).to_decimal())


EXPORT_COLUMNS = ["id", "created_at", "customer_id", "customer_email", "customer_name", "description", "currency",
                  "amount", "fees", "net", "refunded", "disputed", "status", "card_brand", "card_last4",
                  "gateway_transaction_id"]


def _csv_lines(payments, zone, *, with_fees: bool):
    writer = csv.writer(_Echo())
    columns = [c for c in EXPORT_COLUMNS if with_fees or c not in ("fees", "net")]
    yield "\ufeff" + writer.writerow(columns)
    for p in payments.iterator(chunk_size=EXPORT_CHUNK):
        customer = p.customer
        values = {
            "id": p.pk, "created_at": timezone.localtime(p.created_at, zone).strftime("%Y-%m-%d %H:%M:%S"),
            "customer_id": p.customer_id or "", "customer_email": customer.email if customer else "",
            "customer_name": customer.name if customer else "", "description": p.description,
            "currency": p.currency, "amount": _major(p.amount_minor, p.currency),
            "fees": _major(p.fees_minor, p.currency), "net": _major(p.net_minor, p.currency),
            "refunded": _major(p.amount_refunded_minor, p.currency),
            "disputed": _major(p.amount_disputed_minor, p.currency), "status": p.status,
            "card_brand": p.card_brand, "card_last4": p.card_last4, "gateway_transaction_id": p.gateway_transaction_id,
        }
        yield writer.writerow([_csv_safe(values[c]) for c in columns])


def _streamable(request, lines):
    """Under ASGI Django would read a plain iterator to the end before sending a byte; an async generator
    that pulls each line in the request's thread streams (as the customers export does)."""
    if not isinstance(request, ASGIRequest):
        return lines

    async def stream():
        pull = sync_to_async(next, thread_sensitive=True)
        while (line := await pull(lines, None)) is not None:
            yield line

    return stream()


@dashboard_view(Permission.VIEW_DASHBOARD)
def payment_export(request):
    """The filtered list as CSV (every page of it), streamed; fees and net only for financial roles."""
    form = PaymentFilterForm(request.GET, currency=_currency(request))
    payments = _filtered_payments(request, form)
    if form.errors:
        messages.error(request, "Fix the filters before exporting.")
        return redirect(reverse("dashboard:payments") + "?" + request.GET.urlencode())
    zone = timezone.get_current_timezone()
    lines = _csv_lines(payments, zone, with_fees=_can(request, Permission.VIEW_FINANCIAL_DATA))
    response = StreamingHttpResponse(_streamable(request, lines), content_type="text/csv; charset=utf-8")
    stamp = timezone.localtime(now(), zone).strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="payments-{request.tenant.mode}-{stamp}.csv"'
    response["Cache-Control"] = "no-store"
    return response


# --- the detail: fee waterfall, margin, reversal ---------------------------------------------------
@dataclass(frozen=True)
class WaterfallStep:
    code: str
    label: str
    description: str
    percent: Decimal
    amount_minor: int  # the fee (positive; shown as a deduction)
    running_minor: int  # what is left after this step
    share: str  # the fee as a percentage of gross, for the bar's width (CSS, not money)


@dataclass(frozen=True)
class Waterfall:
    currency: str
    gross_minor: int
    steps: list[WaterfallStep]
    voided: bool

    @property
    def fees_minor(self) -> int:
        return sum(step.amount_minor for step in self.steps)

    @property
    def net_minor(self) -> int:
        return self.gross_minor - self.fees_minor

    @property
    def net_share(self) -> str:
        return _share(max(self.net_minor, 0), self.gross_minor)


def _share(part: int, whole: int) -> str:
    return f"{(Decimal(part) * 100 / Decimal(whole)).quantize(Decimal('0.01'))}" if whole > 0 else "0"


def fee_waterfall(payment: Payment, transactions) -> Waterfall | None:
    """gross → interchange → scheme → gateway → platform → net, from the sale's stored fee lines (page 004)."""
    sale = next((t for t in transactions if t.type in ("sale", "capture")), None)
    if sale is None:
        return None
    lines = sorted(sale.fee_lines.all(), key=lambda line: (FEE_ORDER.index(line.code) if line.code in FEE_ORDER
                                                           else len(FEE_ORDER), line.pk))
    gross = payment.amount_captured_minor if sale.amount_minor == 0 and payment.status == "voided" else sale.amount_minor
    running, steps = gross, []
    for line in lines:
        running -= line.amount_minor
        steps.append(WaterfallStep(line.code, FEE_LABELS.get(line.code, line.code.replace("_", " ").capitalize()),
                                   line.description, line.percent, line.amount_minor, running,
                                   _share(line.amount_minor, gross)))
    return Waterfall(payment.currency, gross, steps, voided=payment.status == Payment.Status.VOIDED)


@dataclass(frozen=True)
class Margin:
    currency: str
    gross_minor: int
    fees_minor: int
    refunded_minor: int
    disputed_minor: int

    @property
    def net_minor(self) -> int:
        return self.gross_minor - self.fees_minor - self.refunded_minor - self.disputed_minor

    @property
    def percent(self) -> Decimal | None:
        if not self.gross_minor:
            return None
        return (Decimal(self.net_minor) * 100 / Decimal(self.gross_minor)).quantize(Decimal("0.01"),
                                                                                      rounding=calc.FEE_ROUNDING)


def _margin(payment: Payment, transactions) -> Margin:
    # Every fee line the payment carries (sale and chargeback fees); refunds and disputes come off the net.
    fees = sum(line.amount_minor for t in transactions for line in t.fee_lines.all())
    return Margin(payment.currency, payment.amount_captured_minor, fees, payment.amount_refunded_minor,
                  payment.amount_disputed_minor)


def void_window_of(payment: Payment) -> calc.VoidWindow | None:
    """The settlement timing of the payment's batch; a batch the gateway reported closed wins over the clock."""
    window = payment_services.void_window_for(payment)
    if window is not None and payment.settled_at is not None and window.void_allowed:
        return calc.void_window(now=max(now(), payment.captured_at), captured_at=payment.captured_at,
                                cutoff=payment_services.batch_cutoff(), batch_closed=True)
    return window


def reversal_of(payment: Payment, disputes) -> calc.ReversalOptions:
    status = payment.status
    if any(d.status in (Dispute.Status.NEEDS_RESPONSE, Dispute.Status.UNDER_REVIEW) for d in disputes):
        status = calc.PaymentStatus.DISPUTED
    captured = payment.amount_captured_minor or payment.amount_minor
    refunded = min(payment.amount_refunded_minor, captured)
    return calc.reversal_options(status=status, amount=Money(captured, payment.currency),
                                 refunded=Money(refunded, payment.currency), window=void_window_of(payment))


class RefundForm(forms.Form):
    amount = forms.CharField(label="Amount", required=False, max_length=20,
                             help_text="Leave empty to refund everything that is left.",
                             widget=forms.TextInput(attrs={"inputmode": "decimal"}))
    reason = forms.ChoiceField(label="Reason", choices=[("", "—"), *Refund.Reason.choices], required=False)

    def __init__(self, *args, currency: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.currency = currency

    def clean_amount(self):
        text = (self.cleaned_data.get("amount") or "").strip()
        if not text:
            return None
        try:
            amount = Money.parse(text, self.currency)
        except ValueError as exc:
            raise forms.ValidationError(str(exc))
        if amount.amount_minor <= 0:
            raise forms.ValidationError("must be greater than zero")
        return amount


def _history(request, payment: Payment, refunds, voids) -> list[dict]:
    """The timeline: recorded state changes of the payment, its refunds and voids, and their events."""
    ids = [payment.pk, *(r.pk for r in refunds), *(v.pk for v in voids)]
    changes = scoped(StateTransition, tenant=request.tenant).filter(object_id__in=ids)
    events = scoped(Event, tenant=request.tenant).filter(object_id__in=ids).order_by("-created_at", "-id")[:50]
    items = [{"at": c.created_at, "kind": "state", "title": f"{c.object_type.capitalize()} {c.from_state} → {c.to_state}",
              "detail": c.reason, "actor": c.actor_label, "object_id": c.object_id} for c in changes]
    items += [{"at": e.created_at, "kind": "event", "title": e.type, "detail": "", "actor": e.actor_label,
               "object_id": e.object_id, "event_id": e.pk} for e in events]
    return sorted(items, key=lambda item: item["at"], reverse=True)


def _detail_context(request, payment: Payment, *, refund_form=None, reversal_error: str = "",
                    open_reversal: bool = False) -> dict:
    transactions = list(selectors.transaction_list(tenant=request.tenant, payment_id=payment.pk)
                        .order_by("created_at", "id"))
    for t in transactions:
        t.fees_total_minor = sum(line.amount_minor for line in t.fee_lines.all())
    refunds = list(selectors.refund_list(tenant=request.tenant, payment_id=payment.pk))
    voids = list(selectors.void_list(tenant=request.tenant, payment_id=payment.pk))
    disputes = list(scoped(Dispute, tenant=request.tenant).filter(payment=payment))
    reversal = reversal_of(payment, disputes)
    decline = DECLINE_CODES.get(payment.decline_code) if payment.decline_code else None
    return {
        "payment": payment, "status": status_label(payment), "tone": STATUS_TONES.get(payment.status, "gray"),
        "transactions": transactions, "refunds": refunds, "voids": voids, "disputes": disputes,
        "waterfall": fee_waterfall(payment, transactions), "margin": _margin(payment, transactions),
        "reversal": reversal, "window": reversal.window, "history": _history(request, payment, refunds, voids),
        "decline": decline, "show_fees": _can(request, Permission.VIEW_FINANCIAL_DATA),
        "can_reverse": _can(request, Permission.PROCESS_REFUNDS),
        "refund_form": refund_form or RefundForm(currency=payment.currency),
        "reversal_error": reversal_error, "open_reversal": open_reversal or bool(reversal_error),
    }


@dashboard_view(Permission.VIEW_DASHBOARD)
def payment_detail(request, payment_id):
    payment = _payment_or_404(request, payment_id)
    return render(request, "payments/payments/detail.html",
                  _detail_context(request, payment, open_reversal=request.GET.get("reverse") == "1"))


@dashboard_view(Permission.PROCESS_REFUNDS)
@require_POST
def payment_void(request, payment_id):
    """Voids the payment. A refused void is shown as it is; nothing falls back to a refund (page 025)."""
    payment = _payment_or_404(request, payment_id)
    if calc.ReversalKind.VOID not in reversal_of(payment, list(payment.disputes.all())).kinds:
        return _reversal_refused(request, payment, "This payment can no longer be voided; reload the page to see "
                                                   "what it allows now.")
    try:
        void = payment_services.void_create(tenant=request.tenant, actor=_actor(request), payment=payment,
                                            request_id=request.request_id)
    except NotFound:
        raise Http404("No such payment")
    except DomainError as exc:
        return _reversal_refused(request, payment, exc.message)
    if void.status != void.Status.SUCCEEDED:
        message = (f"The void failed: {void.failure_message or 'the gateway refused it.'} Nothing was reversed. "
                   "If the batch has settled, process a refund instead.")
        return _reversal_refused(request, payment, message)
    messages.success(request, f"Payment voided: {payment.amount} will not be charged to the customer and no fees "
                              "apply.")
    return redirect("dashboard:payment_detail", payment_id=payment.pk)


@dashboard_view(Permission.PROCESS_REFUNDS)
@require_POST
def payment_refund(request, payment_id):
    payment = _payment_or_404(request, payment_id)
    form = RefundForm(request.POST, currency=payment.currency)
    if not form.is_valid():
        return _reversal_refused(request, payment, "Check the refund amount.", form=form)
    # Empty amount = what is left (the service's default is the whole captured amount, which a partly
    # refunded payment no longer has).
    amount = form.cleaned_data["amount"] or Money(payment.amount_captured_minor - payment.amount_refunded_minor,
                                                  payment.currency)
    try:
        refund = payment_services.refund_create(tenant=request.tenant, actor=_actor(request), payment=payment,
                                                amount=amount,
                                                reason=form.cleaned_data["reason"] or "",
                                                request_id=request.request_id)
    except NotFound:
        raise Http404("No such payment")
    except DomainError as exc:
        if exc.param == "amount" or isinstance(exc, ValidationFailed):
            form.add_error("amount", exc.message)
        return _reversal_refused(request, payment, exc.message, form=form)
    if refund.status == Refund.Status.FAILED:
        return _reversal_refused(request, payment, f"The refund failed: {refund.failure_message}", form=form)
    if refund.status == Refund.Status.PENDING:
        messages.warning(request, f"Refund of {refund.amount} sent; the gateway has not confirmed it yet. Its amount "
                                  "stays reserved until it does.")
    else:
        messages.success(request, f"Refunded {refund.amount}.")
    return redirect("dashboard:payment_detail", payment_id=payment.pk)


def _reversal_refused(request, payment: Payment, message: str, *, form=None):
    payment = _payment_or_404(request, payment.pk)  # fresh: the attempt may have changed it
    context = _detail_context(request, payment, refund_form=form, reversal_error=message)
    return render(request, "payments/payments/detail.html", context, status=422)


# --- the virtual terminal ----------------------------------------------------------------------------
NEW_CARD = "new"


class TerminalForm(forms.Form):
    customer = forms.ChoiceField(label="Customer", required=False)
    payment_method = forms.CharField(required=False, max_length=40)
    payment_token = forms.CharField(required=False, max_length=200, widget=forms.HiddenInput)
    amount = forms.CharField(label="Amount", max_length=20, widget=forms.TextInput(
        attrs={"inputmode": "decimal", "placeholder": "0.00", "autocomplete": "off"}))
    currency = forms.ChoiceField(label="Currency")
    description = forms.CharField(label="Description", required=False, max_length=500)
    save_card = forms.BooleanField(label="Save the card for this customer", required=False)

    def __init__(self, *args, customers, currencies, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["customer"].choices = [("", "— No customer (one-off charge) —"),
                                           *((c.pk, f"{c.name} <{c.email}>" if c.name else c.email) for c in customers)]
        self.fields["currency"].choices = [(c, c) for c in currencies]

    def clean(self):
        data = super().clean()
        method, token = data.get("payment_method") or NEW_CARD, (data.get("payment_token") or "").strip()
        data["payment_method"] = method
        if method == NEW_CARD and not token:
            self.add_error(None, "Enter the card in the card fields (it is sent straight to the gateway), or choose "
                                 "a saved card.")
        if method != NEW_CARD and not data.get("customer"):
            self.add_error("customer", "Choose the customer whose saved card to charge.")
        if data.get("save_card") and not data.get("customer"):
            self.add_error("save_card", "Choose a customer to save the card for.")
        if data.get("save_card") and method != NEW_CARD:
            data["save_card"] = False  # a saved card is already saved
        amount_text, currency = data.get("amount"), data.get("currency")
        if amount_text and currency:
            try:
                amount = Money.parse(amount_text, currency)
            except ValueError as exc:
                self.add_error("amount", str(exc))
            else:
                if amount.amount_minor <= 0:
                    self.add_error("amount", "must be greater than zero")
                data["money"] = amount
        return data


def _terminal_customers(request):
    from apps.customers import selectors as customer_selectors

    # The select lists the newest 500; a merchant with more finds one by id with ?customer=cus_…
    return list(customer_selectors.customer_list(tenant=request.tenant)[:500])


def _terminal_currencies(request) -> list[str]:
    own = _currency(request)
    return [own, *(c for c in TERMINAL_CURRENCIES if c != own)]


def _customer(request, customer_id: str):
    from apps.customers import selectors as customer_selectors

    if not customer_id:
        return None
    try:
        return customer_selectors.customer_get(tenant=request.tenant, customer_id=customer_id)
    except NotFound:
        return None


def _saved_cards(request, customer) -> list:
    if customer is None:
        return []
    return list(selectors.payment_method_list(tenant=request.tenant, customer_id=customer.pk)
                .order_by("-is_default", "-created_at"))


def _gateway(request):
    try:
        return payment_services.gateway_account_for(request.tenant)
    except DomainError:
        return None


def _collectjs_url(account) -> str:
    """Collect.js lives on the gateway's own host, beside its API (NMI: secure.nmi.com/token/Collect.js;
    the simulator the same under /_sim/nmi) — so the card frames are the gateway's origin, never ours."""
    return account.api_url.rstrip("/") + "/token/Collect.js"


def _terminal_context(request, form, customer) -> dict:
    account = _gateway(request)
    return {"form": form, "customer": customer, "saved_cards": _saved_cards(request, customer),
            "gateway": account, "collectjs_url": _collectjs_url(account) if account else "",
            "selected_method": (form.data.get("payment_method") if form.is_bound else "") or "",
            "new_card": NEW_CARD}


@dashboard_view(Permission.PROCESS_REFUNDS)
def virtual_terminal(request):
    customers = _terminal_customers(request)
    currencies = _terminal_currencies(request)
    if request.method != "POST":
        customer = _customer(request, request.GET.get("customer", ""))
        if customer is not None and customer.pk not in {c.pk for c in customers}:
            customers.insert(0, customer)
        initial = {"currency": (customer.currency if customer and customer.currency in currencies else currencies[0]),
                   "customer": customer.pk if customer else ""}
        form = TerminalForm(initial=initial, customers=customers, currencies=currencies)
        return render(request, "payments/payments/terminal.html", _terminal_context(request, form, customer))
    customer = _customer(request, request.POST.get("customer", ""))
    if customer is not None and customer.pk not in {c.pk for c in customers}:
        customers.insert(0, customer)
    form = TerminalForm(request.POST, customers=customers, currencies=currencies)
    payment = None
    if form.is_valid():
        payment = _charge(request, form, customer)
    if payment is None:
        return render(request, "payments/payments/terminal.html", _terminal_context(request, form, customer),
                      status=422)
    return redirect("dashboard:payment_terminal_result", payment_id=payment.pk)


def _charge(request, form: TerminalForm, customer) -> Payment | None:
    """Saves the new card first when asked (the gateway's token is single-use: the vault keeps the card and
    the charge uses the saved method), then charges. A service's refusal becomes a form error."""
    data = form.cleaned_data
    actor = _actor(request)
    method = None
    try:
        if data["payment_method"] != NEW_CARD:
            method = selectors.payment_method_get(tenant=request.tenant, payment_method_id=data["payment_method"])
            if customer is None or method.customer_id != customer.pk:
                raise NotFound("No such payment method for this customer.", param="payment_method")
        elif data["save_card"]:
            method = payment_services.payment_method_create(tenant=request.tenant, actor=actor, customer=customer,
                                                            payment_token=data["payment_token"], set_default=False,
                                                            request_id=request.request_id)
        return payment_services.payment_create(
            tenant=request.tenant, actor=actor, amount=data["money"], customer=customer, payment_method=method,
            payment_token=None if method else data["payment_token"], description=data.get("description") or "",
            metadata={"source": "virtual_terminal"}, request_id=request.request_id)
    except NotFound as exc:
        form.add_error("payment_method" if exc.param == "payment_method" else None, exc.message)
    except DomainError as exc:
        field = exc.param if exc.param in form.fields else None
        form.add_error(field, exc.message)
    return None


@dashboard_view(Permission.PROCESS_REFUNDS)
def terminal_payment_methods(request):
    """The chosen customer's saved cards (htmx, when the customer select changes)."""
    customer = _customer(request, request.GET.get("customer", ""))
    return render(request, "payments/payments/terminal.html#card-choice",
                  {"customer": customer, "saved_cards": _saved_cards(request, customer), "new_card": NEW_CARD,
                   "selected_method": ""})


@dashboard_view(Permission.PROCESS_REFUNDS)
def terminal_result(request, payment_id):
    payment = _payment_or_404(request, payment_id)
    decline = DECLINE_CODES.get(payment.decline_code) if payment.decline_code else None
    return_url = request.build_absolute_uri(reverse("dashboard:payment_3ds_return", args=[payment.pk]))
    challenge_url = ""
    if payment.status == Payment.Status.REQUIRES_ACTION and payment.action_url:
        separator = "&" if "?" in payment.action_url else "?"
        challenge_url = f"{payment.action_url}{separator}{urlencode({'return_url': return_url})}"
    return render(request, "payments/payments/terminal_result.html",
                  {"payment": payment, "status": status_label(payment), "tone": STATUS_TONES.get(payment.status, "gray"),
                   "decline": decline, "challenge_url": challenge_url})


@dashboard_view(Permission.PROCESS_REFUNDS)
def payment_3ds_return(request, payment_id):
    """Where the 3-D Secure challenge sends the browser back: the gateway's record decides the outcome."""
    payment = _payment_or_404(request, payment_id)
    if payment.status == Payment.Status.REQUIRES_ACTION:
        try:
            payment = payment_services.payment_complete_action(payment=payment, actor=_actor(request))
        except DomainError as exc:
            messages.error(request, exc.message)
    if payment.status == Payment.Status.REQUIRES_ACTION:
        messages.warning(request, "The card issuer has not confirmed the authentication yet.")
    return redirect("dashboard:payment_terminal_result", payment_id=payment.pk)



# --- the Payments card on the customer page (apps.customers.views.register_detail_card) ----------------
CUSTOMER_CARD_ROWS = 5


def customer_payments_card(request, customer) -> dict:
    """The customer's latest payments, saved cards and lifetime totals per currency: four queries."""
    payments = list(selectors.payment_dashboard_list(tenant=request.tenant, customer_id=customer.pk)
                    [:CUSTOMER_CARD_ROWS + 1])
    return {"rows": [_row(p) for p in payments[:CUSTOMER_CARD_ROWS]], "has_more": len(payments) > CUSTOMER_CARD_ROWS,
            "methods": list(selectors.payment_method_list(tenant=request.tenant, customer_id=customer.pk)),
            "totals": selectors.customer_payment_totals(tenant=request.tenant, customer_id=customer.pk),
            "show_fees": _can(request, Permission.VIEW_FINANCIAL_DATA), "customer": customer}

"""Dashboard forms of the billing app: the invoice list's filters, the invoice builder (the invoice and
its lines) and the small forms of the invoice detail's actions.

Forms only read and check what a person typed: amounts typed in major units ("12.50") become minor units
through `Money.parse`; the writes are the services' (views call them with the cleaned data).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from django import forms
from django.utils import timezone

from apps.core.money import Money, normalize_currency

from .models import InvoicePayment
from .models.invoices import InvoiceStatus
from .services import LineInput

LIST_STATUSES = [("", "All"), ("open", "Open"), ("overdue", "Overdue"), ("draft", "Draft"),
                 ("pending_approval", "Pending approval"), ("paid", "Paid"), ("partially_paid", "Partially paid"),
                 ("voided", "Voided"), ("refunded", "Refunded"), ("uncollectible", "Uncollectible")]
# Sortable columns: the `sort` parameter's value → the ordering (a leading "-" sorts descending).
SORTS = {"created": "created_at", "number": "number", "customer": "customer__name", "due": "due_date",
         "total": "total_minor", "remaining": "amount_remaining_minor", "status": "status"}
LINE_KEY = re.compile(r"^[A-Za-z0-9_]{1,40}$")
OUTSIDE_METHODS = [(m, label) for m, label in InvoicePayment.Method.choices if m in ("cash", "bank_transfer",
                                                                                     "check", "other")]


def _amount(text: str, currency: str, *, allow_negative: bool = False) -> int:
    """Minor units of a major-unit amount a person typed; forms.ValidationError when it is not one."""
    try:
        value = Money.parse(text, currency).amount_minor
    except ValueError as exc:
        raise forms.ValidationError(str(exc)) from exc
    if value < 0 and not allow_negative:
        raise forms.ValidationError("must not be negative")
    if abs(value) > 10**12:
        raise forms.ValidationError("is too large")
    return value


# --- the list --------------------------------------------------------------------------------------------
class InvoiceFilterForm(forms.Form):
    q = forms.CharField(label="Search", required=False, max_length=120, widget=forms.TextInput(
        attrs={"placeholder": "Number, customer name or email"}))
    status = forms.ChoiceField(label="Status", required=False, choices=LIST_STATUSES)
    customer = forms.CharField(label="Customer id", required=False, max_length=40)
    created_from = forms.DateField(label="Created from", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    created_to = forms.DateField(label="Created to", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    due_from = forms.DateField(label="Due from", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    due_to = forms.DateField(label="Due to", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    amount_min = forms.CharField(label="Min total", required=False, max_length=20,
                                 widget=forms.TextInput(attrs={"inputmode": "decimal", "placeholder": "0.00"}))
    amount_max = forms.CharField(label="Max total", required=False, max_length=20,
                                 widget=forms.TextInput(attrs={"inputmode": "decimal", "placeholder": "0.00"}))
    sort = forms.CharField(required=False, max_length=20, widget=forms.HiddenInput)

    FILTERS = ("q", "status", "customer", "created_from", "created_to", "due_from", "due_to", "amount_min",
               "amount_max")

    def __init__(self, data, *, currency: str):
        super().__init__(data)
        self.currency = currency  # amounts are typed in the merchant's currency's decimals

    def _minor(self, name: str) -> int | None:
        text = (self.cleaned_data.get(name) or "").strip()
        if not text:
            return None
        try:
            return _amount(text, self.currency)
        except forms.ValidationError as exc:
            self.add_error(name, exc)
            return None

    def clean_sort(self):
        value = self.cleaned_data.get("sort") or ""
        return value if value.lstrip("-") in SORTS else ""

    def clean(self):
        data = super().clean()
        data["amount_min_minor"] = self._minor("amount_min")
        data["amount_max_minor"] = self._minor("amount_max")
        for low, high in (("created_from", "created_to"), ("due_from", "due_to")):
            if data.get(low) and data.get(high) and data[low] > data[high]:
                self.add_error(high, "must be on or after the start date")
        if None not in (data["amount_min_minor"], data["amount_max_minor"]) and \
                data["amount_min_minor"] > data["amount_max_minor"]:
            self.add_error("amount_max", "must be at least the minimum")
        return data

    @property
    def filtered(self) -> bool:
        return self.is_valid() and any(self.cleaned_data.get(name) for name in self.FILTERS)

    @property
    def ordering(self) -> list[str]:
        sort = (self.cleaned_data.get("sort") if self.is_valid() else "") or "-created"
        field = SORTS[sort.lstrip("-")]
        direction = "-" if sort.startswith("-") else ""
        return [f"{direction}{field}", f"{direction}id"] if field != "created_at" else [f"{direction}created_at",
                                                                                         f"{direction}id"]

    def selector_filters(self) -> dict:
        """The arguments of selectors.invoice_list; created dates are whole days in the merchant's zone."""
        data = self.cleaned_data
        zone = timezone.get_current_timezone()

        def start(day):
            return timezone.make_aware(datetime.combine(day, time.min), zone)

        return {
            "search": data.get("q") or "", "status": data.get("status") or "",
            "customer_id": data.get("customer") or "",
            "created_from": start(data["created_from"]) if data.get("created_from") else None,
            "created_to": start(data["created_to"] + timedelta(days=1)) - timedelta(microseconds=1)
            if data.get("created_to") else None,
            "due_from": data.get("due_from"), "due_to": data.get("due_to"),
            "amount_min": data.get("amount_min_minor"), "amount_max": data.get("amount_max_minor"),
        }


# --- the builder --------------------------------------------------------------------------------------------
class InvoiceForm(forms.Form):
    """The invoice's own fields. Choices are given by the view (the tenant's customers, discounts)."""

    customer = forms.ChoiceField(label="Customer")
    currency = forms.CharField(label="Currency", max_length=3, widget=forms.TextInput(
        attrs={"size": 4, "autocomplete": "off", "style": "text-transform: uppercase"}))
    due_date = forms.DateField(label="Due date", required=False, widget=forms.DateInput(attrs={"type": "date"}),
                               help_text="Or leave empty and give payment terms.")
    days_until_due = forms.IntegerField(label="Payment terms (days)", required=False, min_value=0, max_value=365,
                                        help_text="Net days after finalizing; empty uses your invoice settings.")
    memo = forms.CharField(label="Memo", required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 2}))
    footer = forms.CharField(label="Footer", required=False, max_length=5000,
                             widget=forms.Textarea(attrs={"rows": 2}))
    discount = forms.ChoiceField(label="Discount", required=False)

    def __init__(self, *args, customers, discounts, currency_locked: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.customers = {c.pk: c for c in customers}
        self.discounts = {d.pk: d for d in discounts}
        self.fields["customer"].choices = [("", "— Choose a customer —"), *(
            (c.pk, f"{c.name} <{c.email}>" if c.name and c.email else c.name or c.email or c.pk) for c in customers)]
        self.fields["discount"].choices = [("", "— No discount —"), *(
            (d.pk, f"{d.name or d.code}" + (f" ({d.code})" if d.code and d.name else "")) for d in discounts)]
        self.fields["customer"].widget.attrs["data-testid"] = "invoice-customer"
        if currency_locked:
            self.fields["currency"].disabled = True
            self.fields["currency"].help_text = "A draft keeps the currency it was created in."

    def clean_currency(self):
        try:
            return normalize_currency(self.cleaned_data["currency"])
        except ValueError as exc:
            raise forms.ValidationError("must be an ISO 4217 currency code, e.g. GBP") from exc

    def clean(self):
        data = super().clean()
        data["customer_obj"] = self.customers.get(data.get("customer") or "")
        data["discount_obj"] = self.discounts.get(data.get("discount") or "")
        return data


class LineForm(forms.Form):
    """One line: a catalog price (quantity, optional description) or a description with a unit amount."""

    price = forms.ChoiceField(label="Price", required=False)
    description = forms.CharField(label="Description", required=False, max_length=500)
    unit_amount = forms.CharField(label="Unit amount", required=False, max_length=20,
                                  widget=forms.TextInput(attrs={"inputmode": "decimal", "placeholder": "0.00"}))
    quantity = forms.IntegerField(label="Qty", min_value=1, max_value=1_000_000, initial=1)
    tax_rate = forms.ChoiceField(label="Tax", required=False)
    tax_exempt = forms.BooleanField(label="Tax exempt", required=False)

    def __init__(self, *args, key: str, currency: str, prices, tax_rates, **kwargs):
        super().__init__(*args, prefix=f"line-{key}", **kwargs)
        self.key, self.currency = key, currency
        self.prices = {p.pk: p for p in prices}
        self.tax_rates = {t.pk: t for t in tax_rates}
        self.fields["price"].choices = [("", "— Custom line —"), *((p.pk, price_label(p)) for p in prices)]
        self.fields["tax_rate"].choices = [("", "No tax rate"), *((t.pk, str(t)) for t in tax_rates)]
        for name, testid in (("description", "line-description"), ("unit_amount", "line-amount"),
                             ("quantity", "line-quantity"), ("price", "line-price"), ("tax_rate", "line-tax-rate"),
                             ("tax_exempt", "line-tax-exempt")):
            self.fields[name].widget.attrs["data-testid"] = testid
            self.fields[name].widget.attrs.setdefault("aria-label", self.fields[name].label)
        self.fields["description"].widget.attrs["placeholder"] = "Description"

    @property
    def is_blank(self) -> bool:
        """An untouched new row: no price, description or amount. Left out of totals and saves."""
        data = self.data
        return not any((data.get(self.add_prefix(n)) or "").strip() for n in ("price", "description", "unit_amount"))

    def clean_unit_amount(self):
        text = (self.cleaned_data.get("unit_amount") or "").strip()
        if not text:
            return None
        return _amount(text, self.currency, allow_negative=True)

    def clean(self):
        data = super().clean()
        data["price_obj"] = self.prices.get(data.get("price") or "")
        data["tax_rate_obj"] = self.tax_rates.get(data.get("tax_rate") or "")
        if data["price_obj"] is None:
            if not (data.get("description") or "").strip():
                self.add_error("description", "Describe the line, or pick a price.")
            if data.get("unit_amount") is None and "unit_amount" not in self.errors:
                self.add_error("unit_amount", "Give the unit amount, or pick a price.")
        return data

    def line_input(self) -> LineInput:
        data = self.cleaned_data
        return LineInput(price=data["price_obj"], description=(data.get("description") or "").strip(),
                         unit_amount_minor=data.get("unit_amount"), quantity=data.get("quantity") or 1,
                         tax_rate=data["tax_rate_obj"], tax_exempt=bool(data.get("tax_exempt")))


def price_label(price) -> str:
    from apps.catalog import display

    name = price.product.name + (f" — {price.nickname}" if price.nickname else "")
    interval = display.interval_text(price)
    return f"{name} · {display.price_amount_text(price)}{' ' + interval if interval else ''}"


def line_initial(line) -> dict:
    """A stored line as the builder's row shows it (amounts back in major units)."""
    unit = "" if line.price_id else str(Money(line.unit_amount_minor, line.invoice.currency).to_decimal())
    return {"price": line.price_id or "", "description": line.description, "unit_amount": unit,
            "quantity": line.quantity, "tax_rate": line.tax_rate_id or "", "tax_exempt": line.tax_exempt}


def valid_key(key: str) -> bool:
    return bool(LINE_KEY.match(key or ""))


# --- actions on the detail page -----------------------------------------------------------------------------
def _emails(text: str) -> list[str]:
    return [part.strip() for part in re.split(r"[,;\s]+", text or "") if part.strip()]


class SendForm(forms.Form):
    to = forms.CharField(label="To", required=False, max_length=1000,
                         help_text="Comma-separated; empty sends to the customer's email.")
    cc = forms.CharField(label="Cc", required=False, max_length=1000)

    def clean_to(self):
        return _emails(self.cleaned_data.get("to"))

    def clean_cc(self):
        return _emails(self.cleaned_data.get("cc"))


class RecordPaymentForm(forms.Form):
    amount = forms.CharField(label="Amount", required=False, max_length=20,
                             help_text="Empty records everything still owed.",
                             widget=forms.TextInput(attrs={"inputmode": "decimal", "placeholder": "0.00"}))
    method = forms.ChoiceField(label="Method", choices=OUTSIDE_METHODS, initial="bank_transfer")
    reference = forms.CharField(label="Reference", required=False, max_length=200)
    received_on = forms.DateField(label="Received on", required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, currency: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.currency = currency

    def clean_amount(self):
        text = (self.cleaned_data.get("amount") or "").strip()
        if not text:
            return None
        minor = _amount(text, self.currency)
        if minor <= 0:
            raise forms.ValidationError("must be greater than zero")
        return Money(minor, self.currency)

    def received_at(self):
        day = self.cleaned_data.get("received_on")
        if not day:
            return None
        return timezone.make_aware(datetime.combine(day, time(12)), timezone.get_current_timezone())


class ReasonForm(forms.Form):
    """A note or reason (void, reject)."""

    reason = forms.CharField(label="Reason", required=False, max_length=500, widget=forms.Textarea(attrs={"rows": 2}))


class CommentForm(forms.Form):
    body = forms.CharField(label="Comment", max_length=5000, widget=forms.Textarea(attrs={"rows": 2}))


@dataclass(frozen=True)
class StatusTone:
    label: str
    tone: str


STATUS_TONES = {"draft": "gray", "pending_approval": "purple", "approved": "blue", "sent": "blue",
                "partially_paid": "orange", "paid": "green", "overdue": "red", "voided": "gray", "refunded": "gray",
                "uncollectible": "red"}


def status_badge(status: str) -> StatusTone:
    label = InvoiceStatus(status).label if status in InvoiceStatus.values else status
    return StatusTone(label, STATUS_TONES.get(status, "gray"))


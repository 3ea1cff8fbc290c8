"""Dashboard forms of the catalog. They check the shape of what a person typed (a number, a URL, an
ISO currency, "key=value" lines) and turn it into the `data` the services take: amounts typed in
major units become integer minor units through `Money.parse`, never a float. The rules that need
the database or span fields ("a recurring price needs an interval", "the code is taken") are the
services'; their errors come back onto the form through `add_service_error`.
"""
from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator

from apps.accounts.forms import currency_choices
from apps.core.errors import DomainError, ValidationFailed
from apps.core.forms import add_domain_error
from apps.core.money import CurrencyError, Money, normalize_currency

from .api.fields import MAX_AMOUNT_MINOR
from .models import (
    BenefitDelivery,
    BenefitType,
    DiscountDuration,
    DiscountScope,
    DiscountType,
    FulfillmentType,
    Interval,
    OnCancellation,
    PricingModel,
    ProductKind,
    SubscriptionGrant,
    TaxBehavior,
)
from .validation import LICENSE_GENERATION, MAX_TRIAL_DAYS, clean_metadata

MAX_IMAGES = 10
MAX_FEATURES = 25
MAX_FEATURE_LENGTH = 200
DATETIME_FORMAT = "%Y-%m-%dT%H:%M"


def add_service_error(form: forms.Form, exc: DomainError, field_map: dict[str, str] | None = None) -> None:
    """A service's error onto the form, its field paths renamed to the form's fields first
    (`unit_amount_minor` → `amount`, `config.webhook_url` → `webhook_url`)."""
    if isinstance(exc, ValidationFailed) and exc.fields and field_map:
        renamed: dict[str, list[str]] = {}
        for path, reasons in exc.fields.items():
            head, _, rest = path.partition(".")
            target = field_map.get(path, field_map.get(head))
            if target == "" and rest:  # a prefix to drop: "config.webhook_url" → "webhook_url"
                name = rest.partition(".")[0]
            else:
                name = target or path
            renamed.setdefault(name, []).extend(reasons)
        exc = ValidationFailed(exc.message, fields=renamed)
    add_domain_error(form, exc)


def lines(text: str) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def parse_amount(text: str, currency: str, *, label: str = "Amount") -> int | None:
    """A major-unit amount a person typed ("12", "1,234.50") → minor units; None when blank."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        amount = Money.parse(text, currency).amount_minor
    except (ValueError, CurrencyError) as exc:
        message = str(exc) if "decimal places" in str(exc) else f"Enter an amount such as 12.00, not “{text}”."
        raise ValidationError(message)
    if amount < 0:
        raise ValidationError(f"{label} must not be negative.")
    if amount > MAX_AMOUNT_MINOR:
        raise ValidationError(f"{label} is too large.")
    return amount


def amount_input(value: int | None, currency: str) -> str:
    """Minor units → the string the amount field shows ("12.00")."""
    return "" if value is None else str(Money(int(value), currency).to_decimal())


class PercentField(forms.DecimalField):
    """Shows Decimal('12.5000') as "12.5" (the stored value keeps its four places)."""

    def prepare_value(self, value):
        from .display import percent_text

        return percent_text(value) if isinstance(value, Decimal) else value


class CurrencyField(forms.ChoiceField):
    def __init__(self, **kwargs):
        kwargs.setdefault("choices", currency_choices)
        super().__init__(**kwargs)

    def clean(self, value):
        value = (value or "").strip().upper()
        return super().clean(value)


class LinesField(forms.CharField):
    """A textarea of one item per line → a list."""

    def __init__(self, *, max_items: int, max_length_each: int, **kwargs):
        self.max_items, self.max_length_each = max_items, max_length_each
        kwargs.setdefault("required", False)
        kwargs.setdefault("widget", forms.Textarea(attrs={"rows": 4}))
        super().__init__(**kwargs)

    def prepare_value(self, value):
        return "\n".join(value) if isinstance(value, list | tuple) else value

    def to_python(self, value):
        items = lines(super().to_python(value))
        if len(items) > self.max_items:
            raise ValidationError(f"At most {self.max_items} lines.")
        for item in items:
            if len(item) > self.max_length_each:
                raise ValidationError(f"Each line can be at most {self.max_length_each} characters (“{item[:30]}…”).")
        return items


class MetadataTextField(forms.CharField):
    """Metadata as "key=value" lines (easier to edit by hand than JSON) → a dict of strings."""

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("label", "Metadata")
        kwargs.setdefault("widget", forms.Textarea(attrs={"rows": 3, "placeholder": "warehouse=LDN-2\nsupplier=acme"}))
        kwargs.setdefault("help_text", "Your own data, one <code>key=value</code> a line; not shown to customers.")
        super().__init__(**kwargs)

    def prepare_value(self, value):
        if isinstance(value, dict):
            return "\n".join(f"{k}={v}" for k, v in value.items())
        return value

    def to_python(self, value):
        result: dict[str, str] = {}
        for number, line in enumerate((super().to_python(value) or "").splitlines(), start=1):
            if not line.strip():
                continue
            key, sep, item = line.partition("=")
            key, item = key.strip(), item.strip()
            if not sep or not key:
                raise ValidationError(f"Line {number} needs the form key=value.")
            if key in result:
                raise ValidationError(f"“{key}” appears twice.")
            if not item:
                raise ValidationError(f"Line {number}: “{key}” has no value (delete the line to remove the key).")
            result[key] = item
        # The same limits the API applies (50 keys, 40-character keys, 500-character values).
        cleaned, errors = clean_metadata(result, prefix="")
        if errors:
            raise ValidationError([f"{path.lstrip('.')}: {reasons[0]}" for path, reasons in errors.items()])
        return cleaned or {}


def metadata_patch(current: dict, wanted: dict) -> dict:
    """The services merge metadata; a key the person deleted is sent as None to remove it."""
    patch: dict = {key: None for key in current if key not in wanted}
    patch.update(wanted)
    return patch


def local_datetime_widget():
    return forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_FORMAT)


def minute(value: datetime | None) -> datetime | None:
    """Stored times shown in a minute-precision input: truncated so an untouched field is unchanged."""
    return value.replace(second=0, microsecond=0) if value else value


# --- products ------------------------------------------------------------------------------------
class ProductFilterForm(forms.Form):
    STATUSES = [("active", "Active"), ("archived", "Archived"), ("all", "All")]
    SORTS = [("-created", "Newest first"), ("created", "Oldest first"), ("name", "Name A–Z"), ("-name", "Name Z–A")]

    q = forms.CharField(label="Search", required=False, max_length=200,
                        widget=forms.TextInput(attrs={"type": "search", "placeholder": "Name, description or external ID",
                                                      "autocomplete": "off"}))
    status = forms.ChoiceField(label="Status", choices=STATUSES, required=False)
    sort = forms.ChoiceField(label="Sort", choices=SORTS, required=False)

    def selector_filters(self) -> dict:
        data = self.cleaned_data if self.is_valid() else {}
        status = data.get("status") or "active"
        return {"search": data.get("q") or None, "sort": data.get("sort") or "-created",
                "active": {"active": True, "archived": False}.get(status)}

    @property
    def filtered(self) -> bool:
        data = self.cleaned_data if self.is_valid() else {}
        return bool(data.get("q")) or (data.get("status") or "active") != "active"


class ProductForm(forms.Form):
    name = forms.CharField(max_length=200, help_text="Shown to customers at checkout, on invoices and receipts.")
    description = forms.CharField(required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 3}))
    kind = forms.ChoiceField(label="Kind", choices=ProductKind.choices, initial=ProductKind.ONE_TIME,
                             help_text="How you sell it. Each price still sets its own billing (one-time or recurring).")
    fulfillment_type = forms.ChoiceField(label="Fulfilment", choices=FulfillmentType.choices,
                                         initial=FulfillmentType.NONE,
                                         help_text="Physical and digital products create an order to fulfil.")
    features = LinesField(label="Features shown at checkout", max_items=MAX_FEATURES,
                          max_length_each=MAX_FEATURE_LENGTH,
                          help_text="One per line; 3–5 short benefits work best.")
    images = LinesField(label="Image URLs", max_items=MAX_IMAGES, max_length_each=2000,
                        widget=forms.Textarea(attrs={"rows": 2, "placeholder": "https://…"}),
                        help_text=f"One http(s) URL per line, up to {MAX_IMAGES}.")
    lookup_key = forms.CharField(label="External ID", required=False, max_length=200,
                                 help_text="Your own identifier (a SKU, or its id in another system). Unique among "
                                           "your products and searchable.")
    metadata = MetadataTextField()

    def clean_images(self):
        validate = URLValidator(schemes=["http", "https"])
        for url in self.cleaned_data["images"]:
            try:
                validate(url)
            except ValidationError:
                raise ValidationError(f"“{url[:60]}” is not an http(s) URL.")
        return self.cleaned_data["images"]

    @classmethod
    def for_product(cls, product, data=None):
        initial = {name: getattr(product, name) for name in cls.base_fields}
        return cls(data, initial=initial)

    def service_data(self, product=None) -> dict:
        data = dict(self.cleaned_data)
        if product is not None:
            data["metadata"] = metadata_patch(product.metadata or {}, data["metadata"])
        return data


class PriceForm(forms.Form):
    """Adds a price. `type` is the choice a person makes; the service gets type + pricing_model."""

    TYPES = [("one_time", "One-time"), ("recurring", "Recurring"), (PricingModel.PAY_WHAT_YOU_WANT, "Pay what you want"),
             (PricingModel.FREE, "Free")]

    type = forms.ChoiceField(label="Type", choices=TYPES, initial="recurring", widget=forms.RadioSelect)
    currency = CurrencyField(label="Currency")
    amount = forms.CharField(label="Amount", required=False, max_length=30,
                             widget=forms.TextInput(attrs={"inputmode": "decimal", "placeholder": "12.00"}),
                             help_text="In the currency's major unit, e.g. 12.00.")
    interval = forms.ChoiceField(label="Billing interval", required=False, choices=[("", "—"), *Interval.choices])
    interval_count = forms.IntegerField(label="Interval count", required=False, min_value=1, initial=1,
                                        help_text="e.g. 1 month = monthly, 3 months = quarterly.")
    trial_days = forms.IntegerField(label="Free trial days", required=False, min_value=0, max_value=MAX_TRIAL_DAYS)
    minimum_amount = forms.CharField(label="Minimum amount", required=False, max_length=30,
                                     widget=forms.TextInput(attrs={"inputmode": "decimal", "placeholder": "5.00"}))
    suggested_amount = forms.CharField(label="Suggested amount", required=False, max_length=30,
                                       widget=forms.TextInput(attrs={"inputmode": "decimal", "placeholder": "25.00"}))
    tax_behavior = forms.ChoiceField(label="Tax", choices=TaxBehavior.choices, initial=TaxBehavior.EXCLUSIVE)
    nickname = forms.CharField(label="Label", required=False, max_length=200,
                               widget=forms.TextInput(attrs={"placeholder": "e.g. Monthly"}),
                               help_text="For you and your team; optional.")

    def __init__(self, *args, currency: str = "USD", **kwargs):
        kwargs.setdefault("auto_id", "price_%s")  # shares the editor page with the product form
        super().__init__(*args, **kwargs)
        self.fields["currency"].initial = currency

    # The amount inputs each type reads; the others are hidden on the page and ignored.
    AMOUNTS = {"one_time": ("amount",), "recurring": ("amount",),
               PricingModel.PAY_WHAT_YOU_WANT: ("minimum_amount", "suggested_amount"), PricingModel.FREE: ()}

    def clean(self):
        cleaned = super().clean()
        currency = cleaned.get("currency")
        if not currency or not cleaned.get("type"):
            return cleaned
        for name in self.AMOUNTS[cleaned["type"]]:
            try:
                cleaned[f"{name}_minor"] = parse_amount(cleaned.get(name), currency, label=self.fields[name].label)
            except ValidationError as exc:
                self.add_error(name, exc)
        return cleaned

    def service_data(self, product) -> dict:
        """Only the inputs that belong to the chosen type (the others may still hold values the page
        hid); the service decides what is missing."""
        c = self.cleaned_data
        kind = c["type"]
        data = {"product_id": product.pk, "currency": c["currency"], "tax_behavior": c["tax_behavior"],
                "nickname": c.get("nickname") or ""}
        if kind in ("one_time", "recurring"):
            data.update(type=kind, pricing_model=PricingModel.FIXED, unit_amount_minor=c.get("amount_minor"))
        else:
            data["type"] = kind  # the service's shorthand: pay_what_you_want / free, recurring with an interval
            if kind == PricingModel.PAY_WHAT_YOU_WANT:
                data.update(minimum_amount_minor=c.get("minimum_amount_minor"),
                            suggested_amount_minor=c.get("suggested_amount_minor"))
        if kind == "recurring" or (kind != "one_time" and c.get("interval")):
            data.update(interval=c.get("interval") or None, interval_count=c.get("interval_count"),
                        trial_days=c.get("trial_days"))
        return data


PRICE_ERROR_FIELDS = {"unit_amount_minor": "amount", "minimum_amount_minor": "minimum_amount",
                      "suggested_amount_minor": "suggested_amount", "pricing_model": "type"}


class AttachBenefitForm(forms.Form):
    benefit = forms.ChoiceField(label="Benefit")

    def __init__(self, *args, benefits=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["benefit"].choices = [("", "Choose a benefit…"),
                                          *((b.pk, f"{b.name} ({b.key})") for b in benefits)]


# --- discounts -----------------------------------------------------------------------------------
class DiscountFilterForm(forms.Form):
    STATUSES = [("all", "All"), ("active", "Active"), ("inactive", "Inactive or archived")]

    q = forms.CharField(label="Search", required=False, max_length=64,
                        widget=forms.TextInput(attrs={"type": "search", "placeholder": "Code or name",
                                                      "autocomplete": "off"}))
    status = forms.ChoiceField(label="Status", choices=STATUSES, required=False)

    def selector_filters(self) -> dict:
        data = self.cleaned_data if self.is_valid() else {}
        return {"search": data.get("q") or None,
                "active": {"active": True, "inactive": False}.get(data.get("status") or "all")}

    @property
    def filtered(self) -> bool:
        data = self.cleaned_data if self.is_valid() else {}
        return bool(data.get("q")) or (data.get("status") or "all") != "all"


class DiscountForm(forms.Form):
    """Create and edit. The edit page drops `code` and `type` (they identify past redemptions) and
    disables the value fields once the discount has been redeemed (the service refuses them)."""

    code = forms.CharField(label="Promotion code", required=False, max_length=64,
                           widget=forms.TextInput(attrs={"placeholder": "SUMMER20", "autocomplete": "off"}),
                           help_text="What customers type at checkout; not case-sensitive. Leave empty for a "
                                     "discount you only apply yourself.")
    name = forms.CharField(label="Name", required=False, max_length=200, help_text="For you; e.g. Summer sale 2026.")
    type = forms.ChoiceField(label="Type", choices=DiscountType.choices, initial=DiscountType.PERCENTAGE,
                             widget=forms.RadioSelect)
    percent_off = PercentField(label="Percent off", required=False, max_digits=7, decimal_places=4,
                                     widget=forms.TextInput(attrs={"inputmode": "decimal", "placeholder": "20"}),
                                     help_text="More than 0, at most 100; decimals allowed (12.5).")
    amount_off = forms.CharField(label="Amount off", required=False, max_length=30,
                                 widget=forms.TextInput(attrs={"inputmode": "decimal", "placeholder": "5.00"}))
    currency = CurrencyField(label="Currency", required=False)
    other_amounts = forms.CharField(
        label="Amounts in other currencies", required=False,
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": "EUR 6.00\nUSD 6.50"}),
        help_text="Optional: one “CUR amount” a line. A fixed discount applies only to purchases in a currency "
                  "it has an amount for.")
    trial_days = forms.IntegerField(label="Free trial days", required=False, min_value=1, max_value=MAX_TRIAL_DAYS,
                                    help_text="Replaces the price's trial with this many days.")
    duration = forms.ChoiceField(label="Duration", choices=[
        (DiscountDuration.ONCE, "Once (first payment)"), (DiscountDuration.REPEATING, "For several billing periods"),
        (DiscountDuration.FOREVER, "Forever")], initial=DiscountDuration.ONCE, widget=forms.RadioSelect,
        help_text="For subscriptions; a one-time purchase is discounted once whatever you pick.")
    duration_in_periods = forms.IntegerField(label="Billing periods", required=False, min_value=1, max_value=120,
                                             help_text="e.g. 3 for the first three monthly payments.")
    max_redemptions = forms.IntegerField(label="Total redemptions limit", required=False, min_value=1,
                                         help_text="Empty for no limit.")
    max_redemptions_per_customer = forms.IntegerField(label="Per-customer limit", required=False, min_value=1)
    first_time_customer_only = forms.BooleanField(label="First-time customers only", required=False)
    starts_at = forms.DateTimeField(label="Starts", required=False, widget=local_datetime_widget(),
                                    input_formats=[DATETIME_FORMAT, "%Y-%m-%d %H:%M", "%Y-%m-%d"],
                                    help_text="In your account's time zone. Empty: usable at once.")
    expires_at = forms.DateTimeField(label="Expires", required=False, widget=local_datetime_widget(),
                                     input_formats=[DATETIME_FORMAT, "%Y-%m-%d %H:%M", "%Y-%m-%d"],
                                     help_text="Empty: never expires.")
    scope = forms.ChoiceField(label="Scope", choices=DiscountScope.choices, initial=DiscountScope.ENTIRE_ORDER,
                              help_text="Which purchases the discount can be used on.")
    products = forms.MultipleChoiceField(label="Products", required=False,
                                         widget=forms.SelectMultiple(attrs={"size": 6}),
                                         help_text="With “Specific products or prices”. Ctrl/⌘-click to pick several.")
    prices = forms.MultipleChoiceField(label="Prices", required=False, widget=forms.SelectMultiple(attrs={"size": 6}))
    minimum_amount = forms.CharField(label="Minimum order amount", required=False, max_length=30,
                                     widget=forms.TextInput(attrs={"inputmode": "decimal", "placeholder": "20.00"}))
    minimum_amount_currency = CurrencyField(label="Minimum amount currency", required=False)

    VALUE_FIELDS = ("percent_off", "amount_off", "currency", "other_amounts", "trial_days", "duration",
                    "duration_in_periods")

    def __init__(self, *args, products=(), prices=(), currency: str = "USD", discount=None, **kwargs):
        self.discount = discount
        if discount is not None:
            kwargs.setdefault("initial", discount_initial(discount))
        super().__init__(*args, **kwargs)
        self.fields["currency"].choices = self.fields["minimum_amount_currency"].choices = [
            ("", "—"), *currency_choices()]
        if discount is None:
            self.fields["currency"].initial = currency
        self.fields["products"].choices = [(p.pk, p.name + ("" if p.active else " (archived)")) for p in products]
        self.fields["prices"].choices = [(p.pk, price_label(p)) for p in prices]
        if discount is not None:
            del self.fields["code"], self.fields["type"]
            if discount.times_redeemed:
                for name in self.VALUE_FIELDS:
                    self.fields[name].disabled = True

    @property
    def discount_type(self) -> str:
        if self.discount is not None:
            return self.discount.type
        return self.cleaned_data.get("type") or ""

    def clean(self):
        cleaned = super().clean()
        fixed = (self.discount.type if self.discount is not None else cleaned.get("type")) == DiscountType.FIXED
        if fixed and not self.fields["amount_off"].disabled:
            currency = cleaned.get("currency")
            if cleaned.get("amount_off") and not currency:
                self.add_error("currency", "Choose the currency of the amount off.")
            elif currency:
                try:
                    cleaned["amount_off_minor"] = parse_amount(cleaned.get("amount_off"), currency, label="Amount off")
                except ValidationError as exc:
                    self.add_error("amount_off", exc)
            try:
                cleaned["amounts_off"] = self._other_amounts(cleaned.get("other_amounts") or "")
            except ValidationError as exc:
                self.add_error("other_amounts", exc)
        minimum_currency = cleaned.get("minimum_amount_currency")
        if cleaned.get("minimum_amount") and not minimum_currency:
            self.add_error("minimum_amount_currency", "Choose the currency of the minimum amount.")
        elif minimum_currency:
            try:
                cleaned["minimum_amount_minor"] = parse_amount(cleaned.get("minimum_amount"), minimum_currency,
                                                               label="Minimum order amount")
            except ValidationError as exc:
                self.add_error("minimum_amount", exc)
        return cleaned

    @staticmethod
    def _other_amounts(text: str) -> list[dict]:
        rows = []
        for line in lines(text):
            code, _, amount = line.replace("\t", " ").partition(" ")
            try:
                currency = normalize_currency(code)
            except CurrencyError:
                raise ValidationError(f"“{line}”: start the line with an ISO currency code, e.g. EUR 6.00.")
            value = parse_amount(amount, currency, label=f"The {currency} amount")
            if value is None:
                raise ValidationError(f"“{line}”: add the amount after the currency, e.g. {currency} 6.00.")
            rows.append({"currency": currency, "amount_off_minor": value})
        return rows

    def _value_data(self) -> dict:
        """The type's value and duration, and nothing that belongs to another type."""
        c, kind = self.cleaned_data, self.discount_type
        data: dict = {}
        if kind == DiscountType.PERCENTAGE:
            data["percent_off"] = c.get("percent_off")
        elif kind == DiscountType.FIXED:
            if c.get("amount_off_minor") is not None:
                data.update(amount_off_minor=c["amount_off_minor"], currency=c.get("currency") or None)
            data["amounts_off"] = c.get("amounts_off") or []
        elif kind == DiscountType.FREE_TRIAL:
            data["trial_days"] = c.get("trial_days")
        if kind != DiscountType.FREE_TRIAL:
            data["duration"] = c.get("duration") or DiscountDuration.ONCE
            if data["duration"] == DiscountDuration.REPEATING:
                data["duration_in_periods"] = c.get("duration_in_periods")
        return data

    def _limit_data(self) -> dict:
        c = self.cleaned_data
        specific = c.get("scope") == DiscountScope.SPECIFIC_PRODUCTS
        minimum = c.get("minimum_amount_minor")
        return {
            "name": c.get("name") or "", "max_redemptions": c.get("max_redemptions"),
            "max_redemptions_per_customer": c.get("max_redemptions_per_customer"),
            "first_time_customer_only": bool(c.get("first_time_customer_only")),
            "starts_at": c.get("starts_at"), "expires_at": c.get("expires_at"), "scope": c.get("scope"),
            "product_ids": list(c.get("products") or []) if specific else [],
            "price_ids": list(c.get("prices") or []) if specific else [],
            "minimum_amount_minor": minimum,
            "minimum_amount_currency": (c.get("minimum_amount_currency") or "") if minimum is not None else "",
        }

    def create_data(self) -> dict:
        data = {"code": self.cleaned_data.get("code") or "", "type": self.cleaned_data.get("type")}
        data.update(self._value_data())
        data.update({k: v for k, v in self._limit_data().items() if v not in (None, "", [])})
        return data

    def update_data(self) -> dict:
        """A PATCH of what the person changed, so untouched values (an expiry already in the past, say)
        are not re-validated as if newly set."""
        changed = set(self.changed_data)
        data: dict = {}
        if changed & set(self.VALUE_FIELDS) and not self.discount.times_redeemed:
            data.update(self._value_data())
        limits = self._limit_data()
        for name in ("name", "max_redemptions", "max_redemptions_per_customer", "first_time_customer_only",
                     "starts_at", "expires_at"):
            if name in changed:
                data[name] = limits[name]
        if changed & {"scope", "products", "prices"}:
            data.update(scope=limits["scope"], product_ids=limits["product_ids"], price_ids=limits["price_ids"])
        if changed & {"minimum_amount", "minimum_amount_currency"}:
            data.update(minimum_amount_minor=limits["minimum_amount_minor"],
                        minimum_amount_currency=limits["minimum_amount_currency"])
        return data


DISCOUNT_ERROR_FIELDS = {"amount_off_minor": "amount_off", "amounts_off": "other_amounts", "product_ids": "products",
                         "price_ids": "prices", "minimum_amount_minor": "minimum_amount"}


def discount_initial(discount) -> dict:
    amounts = discount.amount_list()
    first = amounts[0] if amounts else None
    return {
        "name": discount.name, "percent_off": discount.percent_off, "trial_days": discount.trial_days,
        "amount_off": amount_input(first.amount_off_minor, first.currency) if first else "",
        "currency": first.currency if first else "",
        "other_amounts": "\n".join(f"{a.currency} {amount_input(a.amount_off_minor, a.currency)}" for a in amounts[1:]),
        "duration": discount.duration, "duration_in_periods": discount.duration_in_periods,
        "max_redemptions": discount.max_redemptions, "max_redemptions_per_customer": discount.max_redemptions_per_customer,
        "first_time_customer_only": discount.first_time_customer_only,
        "starts_at": minute(discount.starts_at), "expires_at": minute(discount.expires_at), "scope": discount.scope,
        "products": [p.pk for p in discount.products.all()], "prices": [p.pk for p in discount.prices.all()],
        "minimum_amount": amount_input(discount.minimum_amount_minor, discount.minimum_amount_currency)
        if discount.minimum_amount_minor is not None else "",
        "minimum_amount_currency": discount.minimum_amount_currency,
    }


def price_label(price) -> str:
    from .display import price_summary

    return f"{price.product.name} — {price_summary(price)}"


# --- benefits ------------------------------------------------------------------------------------
class BenefitFilterForm(forms.Form):
    q = forms.CharField(label="Search", required=False, max_length=64,
                        widget=forms.TextInput(attrs={"type": "search", "placeholder": "Name or key",
                                                      "autocomplete": "off"}))
    type = forms.ChoiceField(label="Type", required=False, choices=[("", "All types"), *BenefitType.choices])

    def selector_filters(self) -> dict:
        data = self.cleaned_data if self.is_valid() else {}
        return {"search": data.get("q") or None, "type": data.get("type") or None}

    @property
    def filtered(self) -> bool:
        data = self.cleaned_data if self.is_valid() else {}
        return bool(data.get("q") or data.get("type"))


# Which form fields make up each type's `config` (validation.BENEFIT_CONFIG_FIELDS).
BENEFIT_CONFIG_FORM_FIELDS = {
    BenefitType.ACCESS_GRANT: (),
    BenefitType.FILE_DOWNLOAD: ("files", "max_downloads", "download_expiry_days"),
    BenefitType.LICENSE_KEY: ("generation", "format", "activation_limit", "validity_days", "keys", "external_api_url"),
    BenefitType.CUSTOM: ("webhook_url", "payload"),
    BenefitType.MANUAL: ("instructions",),
}
LIST_CONFIG = ("files", "keys")


class BenefitForm(forms.Form):
    key = forms.CharField(label="Key", max_length=64,
                          widget=forms.TextInput(attrs={"placeholder": "pro-reports", "autocomplete": "off"}),
                          help_text="What your app checks (“may this customer use pro-reports?”). Lower-case letters, "
                                    "digits, - _ . :; cannot be changed later.")
    name = forms.CharField(label="Name", max_length=200)
    description = forms.CharField(label="Description", required=False, max_length=5000,
                                  widget=forms.Textarea(attrs={"rows": 2}))
    type = forms.ChoiceField(label="Type", choices=BenefitType.choices, initial=BenefitType.ACCESS_GRANT,
                             help_text="Cannot be changed later.")
    delivery = forms.ChoiceField(label="Delivered", choices=BenefitDelivery.choices,
                                 initial=BenefitDelivery.AFTER_PAYMENT)
    subscription_grant = forms.ChoiceField(label="With subscriptions", choices=SubscriptionGrant.choices,
                                           initial=SubscriptionGrant.ON_ACTIVATION)
    on_cancellation = forms.ChoiceField(label="When a subscription ends", choices=OnCancellation.choices,
                                        initial=OnCancellation.REVOKE)
    active = forms.BooleanField(label="Active (granted by new purchases)", required=False, initial=True)
    # file_download
    files = LinesField(label="Files", max_items=50, max_length_each=2000,
                       widget=forms.Textarea(attrs={"rows": 2, "placeholder": "https://…/guide.pdf"}),
                       help_text="One file URL per line; customers get expiring links to them.")
    max_downloads = forms.IntegerField(label="Downloads per purchase", required=False, min_value=1)
    download_expiry_days = forms.IntegerField(label="Download links expire after (days)", required=False, min_value=1)
    # license_key
    generation = forms.ChoiceField(label="Key generation", required=False,
                                   choices=[("", "—"), *((g, g.replace("_", " ").capitalize()) for g in LICENSE_GENERATION)])
    format = forms.CharField(label="Key format", required=False, max_length=100,
                             widget=forms.TextInput(attrs={"placeholder": "XXXX-XXXX-XXXX"}))
    activation_limit = forms.IntegerField(label="Activation limit", required=False, min_value=1)
    validity_days = forms.IntegerField(label="Valid for (days)", required=False, min_value=1)
    keys = LinesField(label="Pre-uploaded keys", max_items=10000, max_length_each=200,
                      help_text="With “Pre upload”: one key per line.")
    external_api_url = forms.URLField(label="Key API URL", required=False, assume_scheme="https",
                                      help_text="With “External api”: called to generate each key.")
    # custom
    webhook_url = forms.URLField(label="Webhook URL", required=False, assume_scheme="https",
                                 help_text="Called when the benefit is granted or revoked.")
    payload = forms.CharField(label="Extra payload (JSON)", required=False,
                              widget=forms.Textarea(attrs={"rows": 3, "placeholder": '{"plan": "pro"}'}),
                              help_text="Optional JSON object sent with each call.")
    # manual
    instructions = forms.CharField(label="Fulfilment instructions", required=False, max_length=5000,
                                   widget=forms.Textarea(attrs={"rows": 3}),
                                   help_text="What your team does by hand for each customer.")

    def __init__(self, *args, benefit=None, **kwargs):
        self.benefit = benefit
        if benefit is not None:
            initial = {name: getattr(benefit, name) for name in ("name", "description", "delivery",
                                                                 "subscription_grant", "on_cancellation", "active")}
            config = dict(benefit.config or {})
            if isinstance(config.get("payload"), dict):
                config["payload"] = json.dumps(config["payload"], indent=2)
            initial.update(config)
            kwargs.setdefault("initial", initial)
        super().__init__(*args, **kwargs)
        if benefit is not None:
            del self.fields["key"], self.fields["type"]
            for fields in BENEFIT_CONFIG_FORM_FIELDS.values():
                for name in fields:
                    if name not in BENEFIT_CONFIG_FORM_FIELDS[benefit.type]:
                        del self.fields[name]
        else:
            del self.fields["active"]  # a new benefit starts active

    @property
    def benefit_type(self) -> str:
        return self.benefit.type if self.benefit is not None else self.cleaned_data.get("type") or ""

    def clean_payload(self):
        text = (self.cleaned_data.get("payload") or "").strip()
        if not text:
            return None
        try:
            value = json.loads(text)
        except ValueError as exc:
            raise ValidationError(f"Not valid JSON: {exc.msg} (line {exc.lineno}).")
        if not isinstance(value, dict):
            raise ValidationError("Give a JSON object, e.g. {\"plan\": \"pro\"}.")
        return value

    def config(self) -> dict:
        config = {}
        for name in BENEFIT_CONFIG_FORM_FIELDS.get(self.benefit_type, ()):
            value = self.cleaned_data.get(name)
            if value in (None, "", []):
                continue
            config[name] = value
        return config

    def service_data(self) -> dict:
        c = self.cleaned_data
        data = {"name": c["name"], "description": c.get("description") or "", "delivery": c["delivery"],
                "subscription_grant": c["subscription_grant"], "on_cancellation": c["on_cancellation"],
                "config": self.config()}
        if self.benefit is None:
            data.update(key=c["key"], type=c["type"])
        else:
            data["active"] = bool(c.get("active"))
        return data


BENEFIT_ERROR_FIELDS = {"config": ""}

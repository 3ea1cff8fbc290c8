"""Dashboard forms of checkout: the payment link builder and the checkout appearance settings.

Forms only read input; the services validate the business rules (one currency, one-time prices,
quantities, custom fields) and their ValidationFailed becomes form errors (apps.core.forms.add_domain_error).
Custom fields are typed one per line, so nobody writes JSON:  `Label` (text), `Label*` (required),
`Label: A, B, C` (a select), `Label#` (a number).
"""
from __future__ import annotations

import re
from datetime import datetime, time

from django import forms
from django.utils import timezone

from apps.catalog.models import Price
from apps.core.tenancy import Tenant, scoped

from .models import CheckoutSettings
from .models.settings import FieldMode

ITEM_ROWS = 5


def parse_custom_fields(text: str) -> list[dict]:
    fields = []
    for raw in (text or "").splitlines():
        line = raw.strip()
        if not line:
            continue
        options = None
        if ":" in line:
            line, _, rest = line.partition(":")
            options = [option.strip() for option in rest.split(",") if option.strip()]
        label = line.strip()
        required = label.endswith("*")
        label = label.rstrip("*").strip()
        number = label.endswith("#")
        label = label.rstrip("#").strip()
        key = re.sub(r"[^a-z0-9]+", "_", label.lower()).strip("_")[:40] or "field"
        if key[0].isdigit():
            key = f"f_{key}"[:40]
        field = {"key": key, "label": label, "type": "select" if options is not None else
                 "number" if number else "text", "required": required}
        if options is not None:
            field["options"] = options
        fields.append(field)
    return fields


def custom_fields_text(fields: list) -> str:
    lines = []
    for field in fields or []:
        label = field.get("label", "") + ("#" if field.get("type") == "number" else "")
        label += "*" if field.get("required") else ""
        if field.get("type") == "select":
            label += ": " + ", ".join(field.get("options") or [])
        lines.append(label)
    return "\n".join(lines)


CUSTOM_FIELDS_HELP = "One per line, at most 5: <code>Label</code>, <code>Label*</code> (required), " \
                     "<code>Label: A, B, C</code> (a choice), <code>Label#</code> (a number)"


class CustomFieldsField(forms.CharField):
    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("widget", forms.Textarea(attrs={"rows": 3}))
        kwargs.setdefault("help_text", CUSTOM_FIELDS_HELP)
        super().__init__(**kwargs)

    def clean(self, value):
        return parse_custom_fields(super().clean(value))


def one_time_prices(tenant: Tenant):
    return (scoped(Price, tenant=tenant).filter(active=True, type="one_time", product__active=True)
            .select_related("product").order_by("product__name", "pk"))


class PaymentLinkForm(forms.Form):
    name = forms.CharField(max_length=200, required=False, help_text="For you; blank = the first product's name")
    allow_quantity = forms.BooleanField(label="Let buyers change the quantity", required=False)
    allow_discount_codes = forms.BooleanField(label="Allow discount codes", required=False)
    collect_billing_address = forms.BooleanField(label="Collect the billing address", required=False)
    collect_shipping_address = forms.BooleanField(label="Collect the shipping address", required=False)
    is_business_purchase = forms.BooleanField(label="Business purchase (company name and tax id)", required=False)
    require_terms = forms.BooleanField(label="Require agreeing to your terms", required=False)
    success_message = forms.CharField(max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 2}),
                                      help_text="Shown after payment when there is no success URL")
    success_url = forms.URLField(label="Success URL", max_length=1000, required=False, assume_scheme="https",
                                 help_text="Redirect after payment; {CHECKOUT_SESSION_ID} is replaced")
    cancel_url = forms.URLField(label="Cancel URL", max_length=1000, required=False, assume_scheme="https")
    expires_on = forms.DateField(label="Expires on", required=False, widget=forms.DateInput(attrs={"type": "date"}),
                                 help_text="The link closes at the end of this day")
    max_uses = forms.IntegerField(label="Maximum uses", min_value=1, required=False,
                                  help_text="Completed payments after which the link closes")
    custom_fields = CustomFieldsField()

    def __init__(self, *args, tenant: Tenant, **kwargs):
        super().__init__(*args, **kwargs)
        self.prices = list(one_time_prices(tenant))
        choices = [("", "—")] + [(p.pk, f"{p.product.name} · {_price_label(p)}") for p in self.prices]
        for i in range(ITEM_ROWS):
            self.fields[f"price_{i}"] = forms.ChoiceField(label="Price", choices=choices, required=False)
            self.fields[f"quantity_{i}"] = forms.IntegerField(label="Quantity", min_value=1, max_value=10_000,
                                                              required=False, initial=1)
            self.fields[f"min_quantity_{i}"] = forms.IntegerField(label="Min", min_value=1, max_value=10_000,
                                                                  required=False, initial=1)
            self.fields[f"max_quantity_{i}"] = forms.IntegerField(label="Max", min_value=1, max_value=10_000,
                                                                  required=False, initial=99)

    def item_rows(self):
        return [(self[f"price_{i}"], self[f"quantity_{i}"], self[f"min_quantity_{i}"], self[f"max_quantity_{i}"])
                for i in range(ITEM_ROWS)]

    def clean(self):
        data = super().clean()
        by_id = {p.pk: p for p in self.prices}
        items = []
        for i in range(ITEM_ROWS):
            price_id = data.get(f"price_{i}")
            if not price_id:
                continue
            items.append({"price": by_id[price_id], "quantity": data.get(f"quantity_{i}") or 1,
                          "min_quantity": data.get(f"min_quantity_{i}") or 1,
                          "max_quantity": data.get(f"max_quantity_{i}") or 99})
        if not items and not self.errors:
            self.add_error("price_0", "Pick at least one price.")
        data["items"] = items
        expires_on = data.get("expires_on")
        data["expires_at"] = (timezone.make_aware(datetime.combine(expires_on, time.max))
                              if expires_on else None)
        return data


def _price_label(price: Price) -> str:
    from apps.catalog.display import price_summary

    return price_summary(price)


class CheckoutSettingsForm(forms.Form):
    background_color = forms.CharField(label="Background colour", max_length=7,
                                       widget=forms.TextInput(attrs={"type": "color"}))
    button_text = forms.CharField(label="Button text", max_length=40, help_text="e.g. Pay, Buy now, Subscribe")
    name_field = forms.ChoiceField(label="Name", choices=FieldMode.choices)
    phone_field = forms.ChoiceField(label="Phone", choices=FieldMode.choices)
    shipping_field = forms.ChoiceField(label="Shipping address", choices=FieldMode.choices)
    billing_address = forms.ChoiceField(label="Billing address", choices=CheckoutSettings.BillingAddress.choices)
    discount_field = forms.ChoiceField(label="Discount code field", choices=CheckoutSettings.DiscountField.choices)
    terms_text = forms.CharField(label="Terms text", max_length=300, required=False,
                                 help_text="Beside the terms checkbox, e.g. I agree to the terms of sale")
    terms_url = forms.URLField(label="Terms URL", required=False, assume_scheme="https")
    privacy_url = forms.URLField(label="Privacy policy URL", required=False, assume_scheme="https")
    custom_fields = CustomFieldsField(label="Custom fields on every checkout")
    success_message = forms.CharField(label="Success message", max_length=500, required=False,
                                      widget=forms.Textarea(attrs={"rows": 2}))
    show_price_breakdown = forms.BooleanField(label="Show the price breakdown (subtotal, discount, tax)",
                                              required=False)

    def clean_background_color(self):
        return self.cleaned_data["background_color"].upper()

    @classmethod
    def initial_from(cls, settings: CheckoutSettings) -> dict:
        initial = {name: getattr(settings, name) for name in cls.base_fields}
        initial["custom_fields"] = custom_fields_text(settings.custom_fields)
        return initial

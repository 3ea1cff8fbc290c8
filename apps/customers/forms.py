"""Dashboard forms for customers. They turn the page's inputs into the shape the services take; the
services (apps.customers.validation) decide what is valid, so the dashboard, the API and the
integrations give the same answer with the same words. A service's ValidationFailed comes back
through `CustomerForm.add_service_error`, which puts each reason next to the input it is about.
"""
from __future__ import annotations

import re
from datetime import datetime, time, timedelta

from django import forms

from apps.accounts.forms import country_choices, currency_choices
from apps.core.errors import DomainError, ValidationFailed
from apps.core.forms import add_domain_error

from .models import Customer
from .selectors import CUSTOMER_ORDERINGS
from .validation import ADDRESS_FIELDS, TAX_IDS_MAX

# --- the list's filters -------------------------------------------------------------------------
# Values of the "External ids" filter besides a source name. Source names start with a letter or a
# digit (validation.SOURCE_RE), so these two can never be mistaken for one.
WITH_ANY_EXTERNAL_ID = "*"
WITHOUT_EXTERNAL_ID = "-"
SORT_LABELS = {"-created": "Newest first", "created": "Oldest first", "name": "Name A–Z", "-name": "Name Z–A"}
DEFAULT_SORT = "-created"


class CustomerFilterForm(forms.Form):
    """The list's search, filters and sort (GET). Dates are whole days in the merchant's time zone."""

    q = forms.CharField(label="Search", required=False, max_length=200, widget=forms.TextInput(attrs={
        "type": "search", "placeholder": "Name, email, company or external id", "autocomplete": "off"}))
    source = forms.CharField(label="External ids", required=False, widget=forms.Select)
    currency = forms.CharField(label="Currency", required=False, widget=forms.Select)
    created_from = forms.DateField(label="Created from", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    created_to = forms.DateField(label="Created to", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    sort = forms.CharField(label="Sort", required=False, widget=forms.Select(choices=list(SORT_LABELS.items())))

    def __init__(self, *args, sources: list[str] = (), currencies: list[str] = (), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["source"].widget.choices = [("", "Any"), (WITH_ANY_EXTERNAL_ID, "With an external id"),
                                                (WITHOUT_EXTERNAL_ID, "Without external ids"),
                                                *((s, f"From {s}") for s in sources)]
        self.fields["currency"].widget.choices = [("", "Any"), *((c, c) for c in currencies)]

    def clean_sort(self) -> str:
        # An unknown sort (an old bookmark) falls back to the default rather than failing the page.
        sort = self.cleaned_data.get("sort") or DEFAULT_SORT
        return sort if sort in CUSTOMER_ORDERINGS else DEFAULT_SORT

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("created_from") and cleaned.get("created_to") and cleaned["created_from"] > cleaned["created_to"]:
            self.add_error("created_to", "The end date must be on or after the start date.")
        return cleaned

    @property
    def is_filtered(self) -> bool:
        return any(self.data.get(name) for name in ("q", "source", "currency", "created_from", "created_to"))

    def selector_filters(self, zone) -> dict:
        """customer_list keyword arguments."""
        data = self.cleaned_data
        filters: dict = {"search": data.get("q") or "", "order": data.get("sort") or DEFAULT_SORT}
        source = (data.get("source") or "").strip()
        if source == WITH_ANY_EXTERNAL_ID:
            filters["has_external_id"] = True
        elif source == WITHOUT_EXTERNAL_ID:
            filters["has_external_id"] = False
        elif source:
            filters["external_source"] = source
        if data.get("currency"):
            filters["currency"] = data["currency"]
        if data.get("created_from"):
            filters["created_after"] = datetime.combine(data["created_from"], time.min, tzinfo=zone)
        if data.get("created_to"):
            filters["created_before"] = datetime.combine(data["created_to"] + timedelta(days=1), time.min, tzinfo=zone)
        return filters


# --- create / edit ------------------------------------------------------------------------------
TAX_ID_TYPES = [("eu_vat", "EU VAT number"), ("gb_vat", "UK VAT number"), ("us_ein", "US EIN"),
                ("ch_vat", "Swiss VAT number"), ("no_vat", "Norwegian VAT number"), ("au_abn", "Australian ABN"),
                ("ca_bn", "Canadian BN"), ("in_gst", "Indian GST number"), ("other", "Other")]
METADATA_HELP = ("One <code>key=value</code> per line, e.g. <code>plan=wholesale</code>. "
                 "Remove a line to remove the key.")
ADDRESS_LABELS = {"line1": "Address line 1", "line2": "Address line 2", "city": "City", "state": "County / state",
                  "postal_code": "Postal code", "country": "Country"}
_TAX_PATH = re.compile(r"^tax_ids\[(\d+)\](?:\.(\w+))?$")


def _select(choices, blank: str) -> forms.Select:
    return forms.Select(choices=[("", blank), *choices])


class TaxIdForm(forms.Form):
    """One tax id row; a row left empty is ignored."""

    type = forms.CharField(label="Type", required=False,
                           widget=forms.TextInput(attrs={"list": "tax-id-types", "placeholder": "gb_vat"}))
    value = forms.CharField(label="Number", required=False,
                            widget=forms.TextInput(attrs={"placeholder": "GB123456789"}))

    @property
    def is_blank(self) -> bool:
        data = getattr(self, "cleaned_data", {})
        return not (data.get("type") or "").strip() and not (data.get("value") or "").strip()


TaxIdFormSet = forms.formset_factory(TaxIdForm, extra=2, max_num=TAX_IDS_MAX)


class CustomerForm(forms.Form):
    """Create or edit one customer. `customer` is the one being edited (None to create).

    Inputs are CharFields on purpose: formats (email, phone, country, currency, locale) are checked
    by the service, once, for every way in."""

    email = forms.CharField(label="Email", widget=forms.EmailInput(attrs={"autocomplete": "off"}),
                            help_text="Unique among this account's customers; receipts and invoices go here.")
    name = forms.CharField(label="Name", required=False)
    company_name = forms.CharField(label="Company name", required=False,
                                   help_text="For business customers; shown on invoices.")
    phone = forms.CharField(label="Phone", required=False, widget=forms.TextInput(attrs={"type": "tel"}),
                            help_text="International format recommended, e.g. +44 20 7946 0000.")
    locale = forms.CharField(label="Language", required=False, widget=forms.TextInput(attrs={"placeholder": "en-GB"}),
                             help_text="For emails and documents, e.g. en-GB, fr-FR, de.")
    currency = forms.CharField(label="Preferred currency", required=False,
                               widget=_select(currency_choices(), "No preference"),
                               help_text="The currency invoices default to.")
    shipping_same = forms.BooleanField(label="Shipping address is the same as billing", required=False)
    metadata = forms.CharField(label="Metadata", required=False, help_text=METADATA_HELP,
                               widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false",
                                                            "placeholder": "crm_segment=wholesale"}))

    def __init__(self, data=None, *, customer: Customer | None = None, **kwargs):
        self.customer = customer
        initial = self._initial(customer) if customer else {"shipping_same": True}
        super().__init__(data, initial=initial, **kwargs)
        for kind in ("billing", "shipping"):
            for part in ADDRESS_FIELDS:
                widget = (_select(country_choices(), "Choose a country") if part == "country"
                          else forms.TextInput(attrs={"autocomplete": "off"}))
                self.fields[f"{kind}_{part}"] = forms.CharField(label=ADDRESS_LABELS[part], required=False,
                                                                widget=widget)
        # Bound, the posted rows are the whole truth: with `initial` too, a posted row equal to its
        # initial counts as "unchanged" and an extra unchanged row is skipped by the formset.
        rows = list(customer.tax_ids) if customer and data is None else None
        self.tax_ids = TaxIdFormSet(data, prefix="tax", initial=rows)

    @staticmethod
    def _initial(customer: Customer) -> dict:
        initial = {name: getattr(customer, name) for name in ("email", "name", "company_name", "phone", "locale",
                                                              "currency")}
        for kind in ("billing", "shipping"):
            address = getattr(customer, f"{kind}_address") or {}
            initial.update({f"{kind}_{part}": address.get(part) or "" for part in ADDRESS_FIELDS})
        initial["shipping_same"] = bool(customer.billing_address) and customer.shipping_address == customer.billing_address
        # Sorted: PostgreSQL's jsonb keeps no insertion order, so this is the only stable one.
        initial["metadata"] = "\n".join(f"{key}={value}" for key, value in sorted((customer.metadata or {}).items()))
        return initial

    @property
    def billing_address_fields(self) -> list:
        return [self[f"billing_{part}"] for part in ADDRESS_FIELDS]

    @property
    def shipping_address_fields(self) -> list:
        return [self[f"shipping_{part}"] for part in ADDRESS_FIELDS]

    def is_valid(self) -> bool:
        valid = super().is_valid()
        return self.tax_ids.is_valid() and valid

    def clean_metadata(self) -> dict:
        """key=value lines → dict. Only the line shape is checked here; keys and values are the service's."""
        parsed: dict[str, str] = {}
        problems = []
        for number, line in enumerate((self.cleaned_data.get("metadata") or "").splitlines(), start=1):
            if not line.strip():
                continue
            key, sep, value = line.partition("=")
            key = key.strip()
            if not sep or not key:
                problems.append(f"Line {number} is not key=value.")
            elif key in parsed:
                problems.append(f"Line {number} repeats the key “{key}”.")
            else:
                parsed[key] = value.strip()
        if problems:
            raise forms.ValidationError(problems)
        return parsed

    def _address(self, kind: str) -> dict:
        return {part: self.cleaned_data.get(f"{kind}_{part}", "") for part in ADDRESS_FIELDS}

    def _tax_rows(self) -> list[TaxIdForm]:
        return [row for row in self.tax_ids.forms if not row.is_blank]

    def service_data(self) -> dict:
        """The body for customer_create / customer_update. Every field is sent, so an edit is a full
        replacement; metadata is sent as a patch that also removes the keys the merchant deleted."""
        data = {name: self.cleaned_data.get(name, "") for name in ("email", "name", "company_name", "phone", "locale",
                                                                   "currency")}
        data["billing_address"] = self._address("billing")
        data["shipping_address"] = (dict(data["billing_address"]) if self.cleaned_data.get("shipping_same")
                                    else self._address("shipping"))
        data["tax_ids"] = [{"type": row.cleaned_data.get("type", ""), "value": row.cleaned_data.get("value", "")}
                           for row in self._tax_rows()]
        metadata = dict(self.cleaned_data.get("metadata") or {})
        if self.customer is not None:
            metadata.update({key: None for key in self.customer.metadata or {} if key not in metadata})
        data["metadata"] = metadata
        return data

    def add_service_error(self, exc: DomainError) -> None:
        """Puts a service's reasons next to their inputs: `billing_address.country` under the billing
        country, `tax_ids[1].value` under the second filled-in tax id row, `metadata.<key>` under the
        metadata box. Anything else goes to the top of the form."""
        if not isinstance(exc, ValidationFailed) or not exc.fields:
            add_domain_error(self, exc)
            return
        plain: dict[str, list[str]] = {}
        tax_rows = self._tax_rows()
        for path, reasons in exc.fields.items():
            head, _, rest = path.partition(".")
            if head in ("billing_address", "shipping_address"):
                kind = head.split("_")[0]
                if kind == "shipping" and self.cleaned_data.get("shipping_same"):
                    continue  # the same reason is already shown under the billing address
                plain.setdefault(f"{kind}_{rest}" if rest in ADDRESS_FIELDS else "__all__", []).extend(reasons)
            elif head == "metadata" and rest:
                plain.setdefault("metadata", []).extend(f"“{rest}”: {reason}" for reason in reasons)
            elif match := _TAX_PATH.match(path):
                index, name = int(match.group(1)), match.group(2)
                if index < len(tax_rows):
                    row = tax_rows[index]
                    for reason in reasons:
                        row.add_error(name if name in row.fields else None,
                                      f"{row.fields[name].label if name in row.fields else 'Tax id'} {reason}.")
                else:
                    plain.setdefault("__all__", []).extend(reasons)
            else:
                plain.setdefault(path, []).extend(reasons)
        top = plain.pop("__all__", None)
        if top:
            for reason in top:
                self.add_error(None, reason)
        if plain:
            add_domain_error(self, ValidationFailed(exc.message, fields=plain))
        elif not self.errors and not any(row.errors for row in self.tax_ids.forms):
            self.add_error(None, exc.message)

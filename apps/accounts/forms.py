"""Dashboard forms: they check the shape of the input; the services decide what is allowed."""
import zoneinfo
from functools import lru_cache

from babel import Locale
from babel.numbers import list_currencies
from django import forms
from django.core.files.uploadedfile import UploadedFile

from .models import Merchant
from .permissions import Role, can_assign_role

MAX_LOGO_BYTES = 2 * 1024 * 1024
# SVG is left out on purpose: logos are served from our own origin, and an SVG can carry script.
LOGO_SIGNATURES = {b"\x89PNG\r\n\x1a\n": "PNG", b"\xff\xd8\xff": "JPEG", b"RIFF": "WebP", b"GIF8": "GIF"}


# CLDR territory codes that are not ISO 3166-1 countries (regions, unions, pseudo-locales).
NOT_COUNTRIES = {"AC", "CP", "CQ", "DG", "EA", "EU", "EZ", "IC", "QO", "TA", "UN", "XA", "XB", "ZZ"}


@lru_cache(maxsize=1)
def country_choices() -> list[tuple[str, str]]:
    territories = Locale("en").territories
    return sorted(((code, name) for code, name in territories.items()
                   if len(code) == 2 and code.isalpha() and code not in NOT_COUNTRIES), key=lambda item: item[1])


@lru_cache(maxsize=1)
def timezone_choices() -> list[tuple[str, str]]:
    zones = sorted(z for z in zoneinfo.available_timezones() if "/" in z and not z.startswith(("Etc/", "SystemV/")))
    return [("UTC", "UTC"), *((z, z.replace("_", " ")) for z in zones)]


@lru_cache(maxsize=1)
def currency_choices() -> list[tuple[str, str]]:
    names = Locale("en").currencies
    return [(code, f"{code} — {names.get(code, code)}") for code in sorted(list_currencies())]


class ColorInput(forms.TextInput):
    input_type = "color"


class BusinessDetailsForm(forms.Form):
    name = forms.CharField(label="Business name", max_length=200, help_text="Your legal business name.")
    display_name = forms.CharField(label="Display name", max_length=200, required=False,
                                   help_text="The name your customers know you by, if different.")
    country = forms.ChoiceField(choices=[("", "Choose a country"), *country_choices()])
    timezone = forms.ChoiceField(label="Time zone", choices=timezone_choices, initial="UTC",
                                 help_text="Used for scheduling and reports.")
    settlement_currency = forms.ChoiceField(label="Settlement currency", choices=currency_choices, initial="USD")
    support_email = forms.EmailField(label="Support email", required=False,
                                     help_text="Where your customers can reach you.")
    website = forms.URLField(label="Website", required=False, assume_scheme="https")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.initial.get("timezone"):  # a new business: the browser's zone is a better guess than UTC
            self.fields["timezone"].widget.attrs["data-detect-timezone"] = ""


class BusinessSettingsForm(BusinessDetailsForm):
    support_phone = forms.CharField(label="Support phone", max_length=40, required=False)
    address = forms.CharField(label="Business address", required=False, widget=forms.Textarea(attrs={"rows": 3}))
    statement_descriptor = forms.CharField(
        label="Statement descriptor", max_length=22, required=False,
        help_text="What appears on customers' card statements (up to 22 characters). "
                  "A recognisable descriptor reduces chargebacks.")

    field_order = ["name", "display_name", "support_email", "support_phone", "website", "address", "country",
                   "timezone", "settlement_currency", "statement_descriptor"]


class BrandingForm(forms.Form):
    brand_color = forms.CharField(label="Brand colour", max_length=7, widget=ColorInput(),
                                  help_text="Buttons and links on checkout, invoices, emails and the portal.")
    accent_color = forms.CharField(label="Accent colour", max_length=7, widget=ColorInput(),
                                   help_text="Highlights and secondary accents.")
    logo = forms.FileField(label="Logo", required=False, widget=forms.ClearableFileInput(
        attrs={"accept": "image/png,image/jpeg,image/webp,image/gif"}),
        help_text="PNG, JPEG, WebP or GIF, up to 2 MB; at least 200 px wide looks best.")

    def clean_logo(self):
        logo = self.cleaned_data.get("logo")
        if not isinstance(logo, UploadedFile):  # unchanged (the stored file) or cleared (False)
            return logo
        if logo.size > MAX_LOGO_BYTES:
            raise forms.ValidationError("The logo must be 2 MB or smaller.")
        head = logo.read(12)
        logo.seek(0)
        if not any(head.startswith(sig) and (sig != b"RIFF" or head[8:12] == b"WEBP") for sig in LOGO_SIGNATURES):
            raise forms.ValidationError("Upload a PNG, JPEG, WebP or GIF image.")
        return logo

    def service_data(self) -> dict:
        """What to hand to merchant_update: only a newly uploaded logo, or "" when it was cleared."""
        data = {"brand_color": self.cleaned_data["brand_color"], "accent_color": self.cleaned_data["accent_color"]}
        logo = self.cleaned_data.get("logo")
        if logo is False:
            data["logo"] = ""
        elif isinstance(logo, UploadedFile):
            data["logo"] = logo
        return data


class InvitationForm(forms.Form):
    email = forms.EmailField(label="Email address")
    role = forms.ChoiceField(choices=Role.choices, initial=Role.MEMBER)
    message = forms.CharField(label="Personal message", required=False, max_length=1000,
                              widget=forms.Textarea(attrs={"rows": 2, "placeholder": "Optional"}))

    def __init__(self, *args, actor_role: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["role"].choices = assignable_roles(actor_role)


def assignable_roles(actor_role: str) -> list[tuple[str, str]]:
    return [(value, label) for value, label in Role.choices if can_assign_role(actor_role, value)]


class ApiKeyCreateForm(forms.Form):
    name = forms.CharField(label="Key name", max_length=100,
                           widget=forms.TextInput(attrs={"placeholder": "e.g. Production backend"}))
    # The mode the page showed when the form was rendered, so a switch in another tab cannot
    # silently turn a "sandbox key" click into a live key.
    mode = forms.ChoiceField(choices=[("sandbox", "Sandbox"), ("live", "Live")], widget=forms.HiddenInput)


def merchant_initial(merchant: Merchant, fields) -> dict:
    return {name: getattr(merchant, name) for name in fields}

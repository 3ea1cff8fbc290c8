"""Dashboard form helpers shared by every app."""
from datetime import datetime, time, timedelta

from django import forms

from .errors import DomainError, ValidationFailed
from .models import ACTOR_TYPES


def add_domain_error(form: forms.Form, exc: DomainError) -> None:
    """Shows a service's error on the form: field reasons under their fields, the rest at the top.

    Services speak in short reasons ("is required"); the label in front makes them read as sentences.
    """
    if isinstance(exc, ValidationFailed) and exc.fields:
        for name, reasons in exc.fields.items():
            field = name.split(".")[0]
            if field in form.fields:
                label = form.fields[field].label or field.replace("_", " ").capitalize()
                for reason in reasons:
                    form.add_error(field, _sentence(label, reason))
            else:
                for reason in reasons:
                    form.add_error(None, f"{name}: {reason}")
        return
    form.add_error(None, exc.message)


# Reasons that read as a predicate ("must be …") get the field's label as their subject.
_PREDICATE_STARTS = ("is ", "must ", "already ", "at ", "has ", "cannot ", "was ", "unknown")


def _sentence(label: str, reason: str) -> str:
    reason = reason.strip() or "is not valid"
    if reason.startswith(_PREDICATE_STARTS):
        sentence = f"{label} {reason}"
    else:
        sentence = reason[0].upper() + reason[1:]
    return sentence if sentence.endswith(".") else sentence + "."


class ActivityFilterForm(forms.Form):
    """Filters of the activity feed. Dates are whole days in the merchant's time zone, both inclusive."""

    type = forms.CharField(label="Event type", required=False, max_length=100,
                           widget=forms.TextInput(attrs={"placeholder": "team.* or api_key.created",
                                                         "list": "event-types"}))
    actor_type = forms.ChoiceField(label="Actor", required=False, choices=[("", "Anyone"), *ACTOR_TYPES])
    date_from = forms.DateField(label="From", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label="To", required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("date_from") and cleaned.get("date_to") and cleaned["date_from"] > cleaned["date_to"]:
            self.add_error("date_to", "The end date must be on or after the start date.")
        return cleaned

    def selector_filters(self, zone) -> dict:
        """event_list keyword arguments; "team." / "team" mean every team.* type."""
        data = self.cleaned_data
        filters = {}
        event_type = (data.get("type") or "").strip()
        if event_type:
            if event_type.endswith(".*"):
                filters["type"] = event_type
            elif event_type.endswith(".") or "." not in event_type:
                filters["type"] = event_type.rstrip(".") + ".*"
            else:
                filters["type"] = event_type
        if data.get("actor_type"):
            filters["actor_type"] = data["actor_type"]
        if data.get("date_from"):
            filters["created_after"] = datetime.combine(data["date_from"], time.min, tzinfo=zone)
        if data.get("date_to"):
            filters["created_before"] = datetime.combine(data["date_to"] + timedelta(days=1), time.min, tzinfo=zone)
        return filters

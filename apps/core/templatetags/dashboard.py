"""Small presentation helpers for dashboard templates."""
from django import template

register = template.Library()

EVENT_TONES = {"team": "purple", "api_key": "blue", "merchant": "green", "test": "gray"}
STATUS_TONES = {"active": "green", "pending": "blue", "suspended": "orange", "expired": "gray", "revoked": "red",
                "accepted": "green"}


@register.filter
def event_tone(event_type: str) -> str:
    """A badge colour per event family, so the feed can be scanned by eye."""
    return EVENT_TONES.get((event_type or "").split(".")[0], "gray")


@register.filter
def status_tone(status: str) -> str:
    return STATUS_TONES.get(status, "gray")


@register.filter
def ago(value) -> str:
    """"just now" for the last minute, else Django's timesince ("3 hours ago")."""
    if not value:
        return ""
    from django.utils.timesince import timesince

    from apps.core.clock import now

    if (now() - value).total_seconds() < 60:
        return "just now"
    return f"{timesince(value, now())} ago"

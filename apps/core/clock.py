"""The one clock. Everything that needs "now" calls `now()` so tests (time-machine) and, later, a
merchant's sandbox test clock can move time for the whole system at once."""
from datetime import datetime

from django.utils import timezone


def now() -> datetime:
    return timezone.now()


def today():
    return now().date()

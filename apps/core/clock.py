"""The one clock. Everything that needs "now" calls `now()` so tests (time-machine), the demo's history
and, later, a merchant's sandbox test clock can move time for the whole system at once."""
from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, timedelta

from django.utils import timezone

# (the moment the clock was moved to, the monotonic reading then): time keeps running from there.
_moved: ContextVar[tuple[datetime, float] | None] = ContextVar("revkeen_clock_moved", default=None)


def now() -> datetime:
    moved = _moved.get()
    if moved is None:
        return timezone.now()
    moment, started = moved
    return moment + timedelta(seconds=time.monotonic() - started)


def today():
    return now().date()


@contextmanager
def moved_to(moment: datetime) -> Iterator[None]:
    """Runs the block (this thread or task only) with the clock at `moment`, ticking from there."""
    if timezone.is_naive(moment):
        raise ValueError("moved_to needs an aware datetime")
    token = _moved.set((moment, time.monotonic()))
    try:
        yield
    finally:
        _moved.reset(token)

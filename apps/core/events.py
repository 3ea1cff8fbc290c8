"""Writing events and dispatching them after commit (the transactional outbox).

`emit_event` is called by services inside their transaction. The row commits or rolls back with
the change it describes. After commit, `dispatch_event` hands it to the registered handlers
(webhook deliveries, notifications, syncs: later apps register themselves) exactly once: the
claim is a compare-and-set on `dispatched_at`. A periodic sweep re-dispatches anything a crash
left behind.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.db import transaction

from .actors import Actor
from .clock import now
from .models import Event
from .tenancy import Tenant

log = logging.getLogger(__name__)

_handlers: list[Callable[[Event], None]] = []


def register_event_handler(handler: Callable[[Event], None]) -> Callable[[Event], None]:
    """Registers a callable run once per committed event, inside the dispatch transaction."""
    if handler not in _handlers:
        _handlers.append(handler)
    return handler


def emit_event(*, tenant: Tenant, type: str, data: dict, actor: Actor, object_type: str = "",
               object_id: str = "", previous_attributes: dict | None = None, request_id: str = "",
               is_test: bool = False, api_version: str | None = None) -> Event:
    event = Event.objects.create(
        merchant=tenant.merchant,
        livemode=tenant.livemode,
        type=type,
        api_version=api_version or settings.REVKEEN_API_VERSION,
        object_type=object_type or data.get("object", ""),
        object_id=object_id or str(data.get("id", "")),
        data=data,
        previous_attributes=previous_attributes,
        request_id=request_id,
        is_test=is_test,
        **actor.as_fields(),
    )
    transaction.on_commit(lambda: _enqueue_dispatch(event.pk))
    return event


def _enqueue_dispatch(event_id: str) -> None:
    from .tasks import dispatch_event_task

    try:
        dispatch_event_task.delay(event_id)
    except Exception:  # broker down: the periodic sweep picks it up
        log.exception("could not enqueue dispatch of %s; the outbox sweep will retry", event_id)


def dispatch_event(*, event_id: str) -> bool:
    """Hands one event to the handlers. Returns False if it was already dispatched."""
    with transaction.atomic():
        claimed = Event.objects.filter(pk=event_id, dispatched_at__isnull=True).update(dispatched_at=now())
        if claimed != 1:
            return False
        event = Event.objects.select_related("merchant").get(pk=event_id)
        for handler in list(_handlers):
            handler(event)
    return True


def dispatch_pending_events(*, older_than: timedelta = timedelta(seconds=30), batch: int = 500) -> int:
    """The outbox sweep: dispatches committed events that a crash or a broker outage left behind."""
    cutoff = now() - older_than
    ids = list(
        Event.objects.filter(dispatched_at__isnull=True, created_at__lte=cutoff)
        .order_by("created_at").values_list("pk", flat=True)[:batch]
    )
    return sum(1 for event_id in ids if dispatch_event(event_id=event_id))


def event_payload(event: Event) -> dict:
    """The public event envelope (pages 082/084): what the API returns and webhooks will carry."""
    body = {
        "id": event.pk,
        "object": "event",
        "type": event.type,
        "created": int(event.created_at.timestamp()),
        "livemode": event.livemode,
        "api_version": event.api_version,
        "data": {"object": event.data},
    }
    if event.previous_attributes is not None:
        body["data"]["previous_attributes"] = event.previous_attributes
    return body

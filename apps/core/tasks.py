from celery import shared_task

from . import events, services


@shared_task(name="apps.core.tasks.dispatch_event", ignore_result=True)
def dispatch_event_task(event_id: str) -> None:
    events.dispatch_event(event_id=event_id)


@shared_task(name="apps.core.tasks.dispatch_pending_events", ignore_result=True)
def dispatch_pending_events() -> None:
    events.dispatch_pending_events()


@shared_task(name="apps.core.tasks.expire_idempotency_keys", ignore_result=True)
def expire_idempotency_keys() -> None:
    services.idempotency_keys_purge_expired()

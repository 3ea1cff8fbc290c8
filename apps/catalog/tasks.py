"""Celery tasks of the catalog: thin wrappers over idempotent services (scheduled in CELERY_BEAT_SCHEDULE)."""
from celery import shared_task

from . import services


@shared_task(name="apps.catalog.tasks.expire_entitlements", ignore_result=True)
def expire_entitlements() -> None:
    services.entitlements_expire_due()

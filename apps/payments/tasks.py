"""Celery tasks of the payments app: thin wrappers over services."""
from celery import shared_task

from . import services


@shared_task
def reconcile_unknown_payments() -> int:
    return services.payments_reconcile_due()

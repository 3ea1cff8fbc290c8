"""Celery tasks of the checkout app: thin wrappers over services."""
from celery import shared_task

from . import services


@shared_task
def expire_checkout_sessions() -> int:
    return services.checkout_sessions_expire_due()

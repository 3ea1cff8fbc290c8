"""Celery tasks of the payments app: thin wrappers over services."""
from celery import shared_task

from . import services


@shared_task
def reconcile_unknown_payments() -> int:
    return services.payments_reconcile_due()


# --- settlement and payouts (services/settlement.py, services/payouts.py) ------------------------------
@shared_task
def sync_settlements() -> dict:
    return services.settlements_sync_all()


@shared_task
def create_due_payouts() -> int:
    return len(services.payouts_create_due())


@shared_task
def advance_payouts() -> dict:
    return services.payouts_advance()


# --- disputes (services/disputes.py) ------------------------------------------------------------------
@shared_task
def sync_disputes() -> int:
    return services.disputes_sync_all()


@shared_task
def expire_overdue_disputes() -> int:
    return services.disputes_expire_overdue()

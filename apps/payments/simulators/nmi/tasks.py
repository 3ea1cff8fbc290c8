from celery import shared_task

from . import settlement


@shared_task(name="apps.payments.simulators.nmi.tasks.close_due_batches", ignore_result=True)
def close_due_batches() -> None:
    """Daily batch close of the NMI simulator (idempotent: safe to run every minute)."""
    settlement.batches_close_due()

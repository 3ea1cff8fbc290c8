from celery import shared_task

from . import services


@shared_task(name="apps.accounts.tasks.expire_invitations", ignore_result=True)
def expire_invitations() -> None:
    services.invitations_expire()

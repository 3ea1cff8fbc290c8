"""Account emails. The invitation email carries the one-time token, which only exists in the request
that created it (the database keeps its hash), so it is sent from there rather than from the outbox."""
from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string

from .models import Invitation, User


def send_invitation_email(*, invitation: Invitation, accept_url: str, inviter: User) -> None:
    context = {"invitation": invitation, "merchant": invitation.merchant, "accept_url": accept_url,
               "inviter": inviter, "role": invitation.get_role_display()}
    subject = render_to_string("accounts/email/invitation_subject.txt", context).strip()
    body = render_to_string("accounts/email/invitation_body.txt", context)
    send_mail(settings.ACCOUNT_EMAIL_SUBJECT_PREFIX + subject, body, settings.DEFAULT_FROM_EMAIL, [invitation.email])

import re
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.test import Client
from django.urls import reverse

from apps.accounts.middleware import SESSION_MERCHANT
from apps.accounts.models import Invitation, Membership
from apps.core.clock import now
from apps.core.models import Event
from tests.factories import UserFactory, make_member

TEAM = reverse("dashboard:team")
TOKEN_RE = re.compile(r"http://testserver/invite/([A-Za-z0-9_\-]+)/")


def invite(client, email="new.person@example.com", role="manager", message=""):
    return client.post(reverse("dashboard:team_invite"), {"email": email, "role": role, "message": message})


def token_from_last_email() -> str:
    return TOKEN_RE.search(mail.outbox[-1].body).group(1)


def test_team_page_lists_members(owner_client, owner, shop):
    make_member(shop, role="viewer", email="vera@example.com")
    page = owner_client.get(TEAM)
    content = page.content.decode()
    assert owner.user.email in content and "vera@example.com" in content
    assert content.count('data-testid="member-row"') == 2
    assert "Never" in content  # vera has not been active yet


def test_invite_sends_an_email_with_a_working_accept_link(owner_client, shop):
    response = invite(owner_client, message="Welcome aboard!")
    assert response.status_code == 302 and response.url == TEAM
    invitation = Invitation.objects.get(merchant=shop)
    assert (invitation.email, invitation.role, invitation.status) == ("new.person@example.com", "manager", "pending")
    [email] = mail.outbox
    assert email.to == ["new.person@example.com"]
    assert "Acme Ltd" in email.subject and "Welcome aboard!" in email.body and "Manager" in email.body
    token = token_from_last_email()
    assert invitation.token_hash not in email.body
    page = owner_client.get(TEAM).content.decode()
    assert "Invitation sent to new.person@example.com." in page
    assert "new.person@example.com" in page.split("Pending invitations")[1]
    assert Event.objects.filter(merchant=shop, type="team.invitation_created").exists()
    assert token


@pytest.mark.parametrize("email, error", [("not-an-email", "Enter a valid email address."),
                                          ("", "This field is required.")])
def test_invite_bad_input_shows_form_errors(owner_client, shop, email, error):
    response = invite(owner_client, email=email)
    assert response.status_code == 200 and error in response.content.decode()
    assert not Invitation.objects.exists() and not mail.outbox


def test_duplicate_invite_and_existing_member_are_form_errors(owner_client, owner, shop):
    invite(owner_client)
    again = invite(owner_client)
    assert "already invited" in again.content.decode()
    member = invite(owner_client, email=owner.user.email)
    assert "already a team member" in member.content.decode()
    assert Invitation.objects.count() == 1 and len(mail.outbox) == 1


def test_admin_cannot_invite_an_owner(client, member_client):
    member_client("admin")
    page = client.get(TEAM).content.decode()
    assert '<option value="owner"' not in page
    response = invite(client, role="owner")
    assert response.status_code == 200 and "Select a valid choice" in response.content.decode()
    assert not Invitation.objects.exists()


def test_accept_flow_for_someone_without_an_account(owner_client, client, shop):
    invite(owner_client, email="jo@example.com", role="viewer")
    token = token_from_last_email()
    owner_client.logout()

    page = client.get(f"/invite/{token}/")
    content = page.content.decode()
    assert page.status_code == 200 and "Join Acme Ltd" in content and "Viewer" in content
    assert f"/accounts/signup/?next=/invite/{token}/" in content and "email=jo%40example.com" in content
    assert f"/accounts/login/?next=/invite/{token}/" in content

    signup = client.post(f"/accounts/signup/?next=/invite/{token}/",
                         {"email": "jo@example.com", "password1": "a-long-enough-password"})
    assert signup.status_code == 302 and signup.url == f"/invite/{token}/"
    accepted = client.post(f"/invite/{token}/")
    assert accepted.status_code == 302 and accepted.url == reverse("dashboard:home")
    membership = Membership.objects.get(merchant=shop, user__email="jo@example.com")
    assert membership.role == "viewer" and client.session[SESSION_MERCHANT] == shop.pk
    assert Invitation.objects.get().status == "accepted"
    assert client.get(f"/invite/{token}/").status_code == 410  # single use


def test_accept_as_the_wrong_user_is_refused(owner_client, client, shop):
    invite(owner_client, email="jo@example.com")
    token = token_from_last_email()
    client.force_login(UserFactory(email="someone.else@example.com"))
    page = client.get(f"/invite/{token}/").content.decode()
    assert "but this invitation is for" in page
    client.post(f"/invite/{token}/")
    assert not Membership.objects.filter(user__email="someone.else@example.com", merchant=shop).exists()


def test_invitation_expires_after_seven_days(owner_client, shop):
    invite(owner_client, email="late@example.com")
    token = token_from_last_email()
    user = UserFactory(email="late@example.com")
    client = Client()
    client.force_login(user)
    with time_machine.travel(now() + timedelta(days=6, hours=23)):
        assert client.get(f"/invite/{token}/").status_code == 200
    with time_machine.travel(now() + timedelta(days=7, minutes=1)):
        page = client.get(f"/invite/{token}/")
        assert page.status_code == 410 and "This invitation has expired" in page.content.decode()
        client.post(f"/invite/{token}/")
        assert not Membership.objects.filter(user=user).exists()
        owner_page = owner_client.get(TEAM).content.decode()
        assert "Expired" in owner_page.split("Pending invitations")[1]


def test_resend_issues_a_new_link_and_kills_the_old_one(owner_client, client, shop):
    invite(owner_client, email="jo@example.com")
    old = token_from_last_email()
    invitation = Invitation.objects.get()
    owner_client.post(reverse("dashboard:invitation_resend", args=[invitation.pk]))
    new = token_from_last_email()
    assert len(mail.outbox) == 2 and new != old
    assert client.get(f"/invite/{old}/").status_code == 404
    assert client.get(f"/invite/{new}/").status_code == 200


def test_revoke_shows_clearly_on_the_link(owner_client, client, shop):
    invite(owner_client, email="jo@example.com")
    token = token_from_last_email()
    invitation = Invitation.objects.get()
    response = owner_client.post(reverse("dashboard:invitation_revoke", args=[invitation.pk]), follow=True)
    assert "Invitation for jo@example.com revoked." in response.content.decode()
    assert Invitation.objects.get().status == "revoked"
    page = client.get(f"/invite/{token}/")
    assert page.status_code == 410 and "This invitation was revoked" in page.content.decode()
    assert Event.objects.filter(merchant=shop, type="team.invitation_revoked").exists()


def test_unknown_invitation_link(client, db):
    page = client.get("/invite/not-a-real-token/")
    assert page.status_code == 404 and "not valid" in page.content.decode()


def test_change_role_inline_with_htmx(owner_client, shop):
    member = make_member(shop, role="viewer")
    url = reverse("dashboard:member_role", args=[member.pk])
    response = owner_client.post(url, {"role": "manager"}, HTTP_HX_REQUEST="true")
    content = response.content.decode()
    assert response.status_code == 200 and "<html" not in content
    assert f'id="member-{member.pk}"' in content and '<option value="manager" selected>' in content
    assert "Saved" in content
    member.refresh_from_db()
    assert member.role == "manager"
    event = Event.objects.get(merchant=shop, type="team.member_role_changed")
    assert event.previous_attributes == {"role": "viewer"}


def test_change_role_without_htmx_redirects_with_a_message(owner_client, shop):
    member = make_member(shop, role="viewer", email="vera@example.com")
    response = owner_client.post(reverse("dashboard:member_role", args=[member.pk]), {"role": "support"}, follow=True)
    assert "vera@example.com is now Support." in response.content.decode()


def test_last_owner_cannot_be_demoted_removed_or_suspended(owner_client, owner, shop):
    response = owner_client.post(reverse("dashboard:member_role", args=[owner.pk]), {"role": "admin"},
                                 HTTP_HX_REQUEST="true")
    content = response.content.decode()
    assert "at least one owner" in content and '<option value="owner" selected>' in content
    owner.refresh_from_db()
    assert owner.role == "owner"

    removed = owner_client.post(reverse("dashboard:member_remove", args=[owner.pk]), follow=True)
    assert "You cannot remove the last owner." in removed.content.decode()
    assert Membership.objects.filter(pk=owner.pk).exists()


def test_with_two_owners_one_can_step_down(owner_client, owner, shop):
    make_member(shop, role="owner")
    response = owner_client.post(reverse("dashboard:member_role", args=[owner.pk]), {"role": "admin"},
                                 HTTP_HX_REQUEST="true")
    assert response["HX-Refresh"] == "true"
    owner.refresh_from_db()
    assert owner.role == "admin"


def test_remove_member(owner_client, shop):
    member = make_member(shop, role="support", email="sam@example.com")
    response = owner_client.post(reverse("dashboard:member_remove", args=[member.pk]), follow=True)
    assert "sam@example.com was removed from the team." in response.content.decode()
    assert not Membership.objects.filter(pk=member.pk).exists()
    assert Event.objects.filter(merchant=shop, type="team.member_removed").exists()


def test_suspend_and_reactivate(owner_client, client, shop):
    member = make_member(shop, role="manager")
    owner_client.post(reverse("dashboard:member_suspend", args=[member.pk]))
    member.refresh_from_db()
    assert member.status == "suspended"
    owner_client.post(reverse("dashboard:member_reactivate", args=[member.pk]))
    member.refresh_from_db()
    assert member.status == "active"
    types = set(Event.objects.filter(merchant=shop).values_list("type", flat=True))
    assert {"team.member_suspended", "team.member_reactivated"} <= types


def test_admin_cannot_touch_an_owner(client, member_client, owner):
    member_client("admin")
    page = client.get(TEAM).content.decode()
    assert f'action="{reverse("dashboard:member_role", args=[owner.pk])}"' not in page
    response = client.post(reverse("dashboard:member_remove", args=[owner.pk]), follow=True)
    assert "Admins cannot remove owners." in response.content.decode()
    client.post(reverse("dashboard:member_role", args=[owner.pk]), {"role": "viewer"})
    owner.refresh_from_db()
    assert owner.role == "owner" and Membership.objects.filter(pk=owner.pk).exists()


def test_members_and_invitations_of_another_merchant_are_404(owner_client, other_tenant):
    stranger = make_member(other_tenant.merchant, role="viewer")
    for name in ("member_role", "member_remove", "member_suspend", "member_reactivate"):
        assert owner_client.post(reverse(f"dashboard:{name}", args=[stranger.pk]), {"role": "admin"}).status_code == 404
    foreign = Invitation.objects.create(merchant=other_tenant.merchant, email="x@example.com", role="viewer",
                                        token_hash="f" * 64, expires_at=now() + timedelta(days=7))
    for name in ("invitation_resend", "invitation_revoke"):
        assert owner_client.post(reverse(f"dashboard:{name}", args=[foreign.pk])).status_code == 404
    stranger.refresh_from_db()
    foreign.refresh_from_db()
    assert stranger.role == "viewer" and foreign.status == "pending"


def test_email_failure_keeps_the_invitation_and_says_so(owner_client, shop, monkeypatch):
    def boom(*args, **kwargs):
        raise ConnectionRefusedError("smtp down")

    monkeypatch.setattr("apps.accounts.emails.send_mail", boom)
    response = invite(owner_client, email="jo@example.com")
    assert response.status_code == 302
    assert Invitation.objects.filter(email="jo@example.com", status="pending").exists()
    page = owner_client.get(TEAM).content.decode()
    assert "could not be sent" in page

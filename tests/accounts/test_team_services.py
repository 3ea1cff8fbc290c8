"""Service rules the dashboard relies on (the views only map their errors)."""
from datetime import timedelta

import pytest
import time_machine

from apps.accounts import services
from apps.accounts.models import Invitation
from apps.core.clock import now
from apps.core.errors import BusinessRuleViolation, NotFound
from apps.core.models import Event
from tests.factories import make_member


def test_nobody_can_suspend_themselves(shop):
    admin = make_member(shop, role="admin")
    with pytest.raises(BusinessRuleViolation, match="yourself"):
        services.membership_set_suspended(membership=admin, actor_membership=admin, suspended=True)
    admin.refresh_from_db()
    assert admin.status == "active"


def test_team_services_refuse_rows_of_another_merchant(owner, other_tenant):
    stranger = make_member(other_tenant.merchant, role="viewer")
    with pytest.raises(NotFound):
        services.membership_change_role(membership=stranger, actor_membership=owner, role="admin")
    with pytest.raises(NotFound):
        services.membership_remove(membership=stranger, actor_membership=owner)
    with pytest.raises(NotFound):
        services.membership_set_suspended(membership=stranger, actor_membership=owner, suspended=True)
    invitation, _ = services.invitation_create(merchant=other_tenant.merchant,
                                               invited_by=make_member(other_tenant.merchant, role="owner"),
                                               email="x@example.com", role="viewer")
    with pytest.raises(NotFound):
        services.invitation_revoke(invitation=invitation, actor_membership=owner)
    with pytest.raises(NotFound):
        services.invitation_resend(invitation=invitation, actor_membership=owner)
    stranger.refresh_from_db()
    invitation.refresh_from_db()
    assert stranger.role == "viewer" and invitation.status == "pending"


def test_resend_and_revoke_are_in_the_activity_feed(owner, shop):
    invitation, _ = services.invitation_create(merchant=shop, invited_by=owner, email="jo@example.com", role="viewer")
    services.invitation_resend(invitation=invitation, actor_membership=owner)
    services.invitation_revoke(invitation=invitation, actor_membership=owner)
    types = list(Event.objects.filter(merchant=shop, type__startswith="team.").values_list("type", flat=True))
    assert set(types) == {"team.invitation_created", "team.invitation_resent", "team.invitation_revoked"}


def test_suspend_and_reactivate_emit_events(owner, shop):
    member = make_member(shop, role="support")
    services.membership_set_suspended(membership=member, actor_membership=owner, suspended=True)
    services.membership_set_suspended(membership=member, actor_membership=owner, suspended=False)
    assert Event.objects.filter(merchant=shop, type="team.member_suspended").exists()
    assert Event.objects.filter(merchant=shop, type="team.member_reactivated").exists()


def test_resending_an_old_expired_invitation_after_a_new_one_is_a_clear_error(owner, shop):
    old, _ = services.invitation_create(merchant=shop, invited_by=owner, email="jo@example.com", role="viewer")
    with time_machine.travel(now() + timedelta(days=8)):
        services.invitations_expire()
        services.invitation_create(merchant=shop, invited_by=owner, email="jo@example.com", role="viewer")
        with pytest.raises(BusinessRuleViolation, match="newer pending invitation"):
            services.invitation_resend(invitation=old, actor_membership=owner)
    assert Invitation.objects.filter(email="jo@example.com", status="pending").count() == 1

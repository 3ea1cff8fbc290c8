import pytest
from django.db import transaction

from apps.accounts.models import Invitation, Membership
from apps.accounts.permissions import Role
from apps.core import events
from apps.core.actors import Actor
from apps.core.errors import Conflict, InvalidTransition
from apps.core.models import Event, StateTransition
from apps.core.statemachine import StateMachine, transition
from apps.core.tenancy import Tenant
from tests.factories import UserFactory


def test_machine_lists_states_and_refuses_undeclared():
    machine = StateMachine({"draft": {"open"}, "open": {"paid", "void"}})
    assert machine.states == {"draft", "open", "paid", "void"}
    assert machine.can("draft", "open") and not machine.can("draft", "paid")
    with pytest.raises(InvalidTransition) as info:
        machine.check("paid", "open", label="invoice")
    assert info.value.status == 422 and info.value.details["allowed"] == []


def test_transition_records_history_and_refuses_bad_moves(tenant):
    user = UserFactory()
    membership = Membership.objects.create(merchant=tenant.merchant, user=user, role=Role.VIEWER)
    transition(membership, "suspended", actor=Actor.for_user(user), reason="left for holiday")
    membership.refresh_from_db()
    assert membership.status == "suspended"
    history = StateTransition.objects.get(object_id=membership.pk)
    assert (history.from_state, history.to_state, history.reason, history.actor_type) == (
        "active", "suspended", "left for holiday", "user")
    with pytest.raises(InvalidTransition):
        transition(membership, "suspended", actor=Actor.system())


def test_transition_is_compare_and_set(tenant):
    user = UserFactory()
    membership = Membership.objects.create(merchant=tenant.merchant, user=user, role=Role.VIEWER)
    stale = Membership.objects.get(pk=membership.pk)
    transition(membership, "suspended", actor=Actor.system())
    with pytest.raises(Conflict):
        transition(stale, "suspended", actor=Actor.system())  # someone else already moved it
    assert StateTransition.objects.filter(object_id=membership.pk).count() == 1


@pytest.mark.django_db(transaction=True)
def test_events_dispatch_after_commit_only(tenant):
    seen = []
    handler = events.register_event_handler(lambda event: seen.append(event.pk))
    try:
        core_tenant = Tenant(tenant.merchant, False)
        with pytest.raises(RuntimeError), transaction.atomic():
            events.emit_event(tenant=core_tenant, type="x.rolled_back", data={"id": "1"}, actor=Actor.system())
            raise RuntimeError("roll back")
        assert not Event.objects.filter(type="x.rolled_back").exists()
        with transaction.atomic():
            kept = events.emit_event(tenant=core_tenant, type="x.kept", data={"id": "2"}, actor=Actor.system())
            assert seen == [] or kept.pk not in seen  # nothing dispatched before commit
        assert kept.pk in seen
        kept.refresh_from_db()
        assert kept.dispatched_at is not None
        # Dispatch is claimed once: a second attempt is a no-op.
        assert events.dispatch_event(event_id=kept.pk) is False
        assert seen.count(kept.pk) == 1
    finally:
        events._handlers.remove(handler)


def test_outbox_sweep_dispatches_leftovers(tenant):
    from datetime import timedelta

    core_tenant = Tenant(tenant.merchant, False)
    event = events.emit_event(tenant=core_tenant, type="x.left", data={"id": "3"}, actor=Actor.system())
    # Inside the test transaction on_commit never fires: the event is exactly what a crash leaves behind.
    assert Event.objects.get(pk=event.pk).dispatched_at is None
    assert events.dispatch_pending_events(older_than=timedelta(0)) >= 1
    assert Event.objects.get(pk=event.pk).dispatched_at is not None


def test_invitation_machine_declared():
    assert Invitation.STATE_MACHINE.can("pending", "accepted")
    assert not Invitation.STATE_MACHINE.can("accepted", "pending")

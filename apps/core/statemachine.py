"""State machines are tables. A model declares

    STATE_MACHINE = StateMachine({"draft": {"open", "void"}, "open": {"paid", "void"}})

and every change of state goes through `transition()`, which refuses undeclared moves with
InvalidTransition, applies the move as a compare-and-set (so two concurrent transitions cannot both
win) and writes a StateTransition history row.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from .actors import Actor
from .clock import now
from .errors import Conflict, InvalidTransition
from .models import StateTransition


@dataclass(frozen=True)
class StateMachine:
    transitions: dict[str, set[str]]
    field: str = "status"
    states: frozenset[str] = dataclasses.field(init=False)

    def __post_init__(self):
        states = set(self.transitions)
        for targets in self.transitions.values():
            states |= set(targets)
        object.__setattr__(self, "states", frozenset(states))

    def allowed_from(self, state: str) -> set[str]:
        return set(self.transitions.get(state, set()))

    def can(self, from_state: str, to_state: str) -> bool:
        return to_state in self.transitions.get(from_state, set())

    def check(self, from_state: str, to_state: str, *, label: str = "object") -> None:
        if not self.can(from_state, to_state):
            allowed = ", ".join(sorted(self.allowed_from(from_state))) or "none"
            raise InvalidTransition(
                f"Cannot move {label} from '{from_state}' to '{to_state}' (allowed from '{from_state}': {allowed}).",
                details={"from": from_state, "to": to_state, "allowed": sorted(self.allowed_from(from_state))},
            )


def transition(obj, to_state: str, *, actor: Actor, reason: str = "", extra_updates: dict | None = None):
    """Moves `obj` to `to_state` if its declared machine allows it; records who, why and when.

    The update is conditional on the state we read, so a concurrent change makes this one fail
    with Conflict instead of silently overwriting it.
    """
    machine: StateMachine = type(obj).STATE_MACHINE
    from_state = getattr(obj, machine.field)
    label = type(obj)._meta.verbose_name
    machine.check(from_state, to_state, label=label)
    updates = {machine.field: to_state, **(extra_updates or {})}
    if hasattr(obj, "updated_at"):
        updates.setdefault("updated_at", now())
    changed = type(obj)._default_manager.filter(pk=obj.pk, **{machine.field: from_state}).update(**updates)
    if changed != 1:
        raise Conflict(f"The {label} changed while this request was running; reload and try again.")
    for name, value in updates.items():
        setattr(obj, name, value)
    StateTransition.objects.create(
        merchant_id=obj.merchant_id,
        livemode=getattr(obj, "livemode", False),
        object_type=type(obj)._meta.model_name,
        object_id=str(obj.pk),
        field=machine.field,
        from_state=from_state,
        to_state=to_state,
        reason=reason[:500],
        **actor.as_fields(),
    )
    return obj

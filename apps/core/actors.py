"""Who did something: a dashboard user, an API key, a customer, or the system (a scheduled job)."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Actor:
    kind: str  # "user" | "api_key" | "customer" | "system"
    id: str = ""
    label: str = ""

    @classmethod
    def system(cls, label: str = "system") -> Actor:
        return cls("system", "", label)

    @classmethod
    def for_user(cls, user) -> Actor:
        return cls("user", str(user.pk), user.email)

    @classmethod
    def for_api_key(cls, api_key) -> Actor:
        return cls("api_key", api_key.pk, api_key.name)

    def as_fields(self) -> dict:
        return {"actor_type": self.kind, "actor_id": self.id, "actor_label": self.label[:200]}

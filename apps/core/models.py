from django.db import models

from .clock import now
from .ids import PrefixedIdField
from .tenancy import TenantModel

ACTOR_TYPES = [("user", "User"), ("api_key", "API key"), ("customer", "Customer"), ("system", "System")]


class Event(TenantModel):
    """Something that happened to a merchant's data, written in the same transaction as the change.

    It is the audit trail, the dashboard's activity feed and the outbox that webhooks, emails and
    syncs are dispatched from after commit (`dispatched_at` is set once handed on).
    """

    id = PrefixedIdField(prefix="evt")
    type = models.CharField(max_length=100, db_index=True)
    api_version = models.CharField(max_length=10)
    object_type = models.CharField(max_length=50, blank=True)
    object_id = models.CharField(max_length=40, blank=True, db_index=True)
    data = models.JSONField(default=dict, help_text="The object as the API shows it (data.object).")
    previous_attributes = models.JSONField(null=True, blank=True)
    actor_type = models.CharField(max_length=20, choices=ACTOR_TYPES, default="system")
    actor_id = models.CharField(max_length=64, blank=True)
    actor_label = models.CharField(max_length=200, blank=True)
    request_id = models.CharField(max_length=40, blank=True)
    is_test = models.BooleanField(default=False, help_text="Created by POST /v2/events/test.")
    created_at = models.DateTimeField(default=now, db_index=True)
    dispatched_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["merchant", "livemode", "-created_at"], name="event_tenant_created"),
            models.Index(fields=["dispatched_at", "created_at"], name="event_outbox"),
        ]

    def __str__(self):
        return f"{self.type} {self.id}"


class StateTransition(TenantModel):
    """History of every state change made through `core.statemachine.transition`."""

    id = PrefixedIdField(prefix="stt")
    object_type = models.CharField(max_length=50)
    object_id = models.CharField(max_length=40)
    field = models.CharField(max_length=50, default="status")
    from_state = models.CharField(max_length=50)
    to_state = models.CharField(max_length=50)
    reason = models.CharField(max_length=500, blank=True)
    actor_type = models.CharField(max_length=20, choices=ACTOR_TYPES, default="system")
    actor_id = models.CharField(max_length=64, blank=True)
    actor_label = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["object_type", "object_id"], name="stt_object")]

    def __str__(self):
        return f"{self.object_id}: {self.from_state} → {self.to_state}"


class IdempotencyKey(models.Model):
    """One row per (API key, method, path, Idempotency-Key): the claim and then the stored answer.

    The unique constraint is what makes concurrent duplicates safe: exactly one request inserts the
    row and executes; the others find it in flight (409) or completed (replay).
    """

    class State(models.TextChoices):
        IN_PROGRESS = "in_progress"
        COMPLETED = "completed"

    id = PrefixedIdField(prefix="idk")
    merchant = models.ForeignKey("accounts.Merchant", on_delete=models.CASCADE, related_name="+")
    api_key = models.ForeignKey("accounts.ApiKey", on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=500)
    request_fingerprint = models.CharField(max_length=64)
    state = models.CharField(max_length=20, choices=State.choices, default=State.IN_PROGRESS)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.BinaryField(null=True, blank=True)
    response_headers = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=now)
    completed_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["api_key", "method", "path", "key"], name="idempotency_key_unique"),
        ]

    def __str__(self):
        return f"{self.method} {self.path} [{self.key}]"

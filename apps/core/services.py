import re

from django.db import transaction

from .actors import Actor
from .api import idempotency
from .errors import ValidationFailed
from .events import emit_event
from .ids import new_id
from .models import Event
from .tenancy import Tenant

EVENT_TYPE_RE = re.compile(r"^[a-z][a-z_]*(\.[a-z_]+)+$")
DEFAULT_TEST_EVENT_TYPE = "test.webhook"


@transaction.atomic
def event_create_test(*, tenant: Tenant, actor: Actor, type: str | None = None, request_id: str = "") -> Event:
    """Records a test event (page 169). The webhooks app delivers it like any other event."""
    event_type = type or DEFAULT_TEST_EVENT_TYPE
    if not EVENT_TYPE_RE.match(event_type):
        raise ValidationFailed("type must look like 'invoice.paid'.", fields={"type": ["must look like 'resource.action'"]})
    sample = {
        "id": new_id("test"),
        "object": "test",
        "message": "This is a test event sent from the RevKeen API.",
        "livemode": tenant.livemode,
    }
    return emit_event(tenant=tenant, type=event_type, data=sample, actor=actor, object_type="test",
                      request_id=request_id, is_test=True)


def idempotency_keys_purge_expired() -> int:
    return idempotency.purge_expired()

from django.db.models import QuerySet

from apps.core.errors import ValidationFailed

from .models import Event
from .tenancy import Tenant, get_scoped, scoped


def event_list(*, tenant: Tenant, type: str | None = None, object_id: str | None = None,
               created_after=None, created_before=None, actor_type: str | None = None) -> QuerySet[Event]:
    qs = scoped(Event, tenant=tenant)
    if type:
        if type.endswith(".*"):
            qs = qs.filter(type__startswith=type[:-1])
        else:
            qs = qs.filter(type=type)
    if object_id:
        qs = qs.filter(object_id=object_id)
    if actor_type:
        qs = qs.filter(actor_type=actor_type)
    if created_after and created_before and created_after > created_before:
        raise ValidationFailed("created_after must be before created_before.",
                               fields={"created_after": ["must be before created_before"]})
    if created_after:
        qs = qs.filter(created_at__gte=created_after)
    if created_before:
        qs = qs.filter(created_at__lt=created_before)
    return qs


def event_get(*, tenant: Tenant, event_id: str) -> Event:
    return get_scoped(Event, tenant=tenant, pk=event_id, label="event")


def event_type_list(*, tenant: Tenant, limit: int = 200) -> list[str]:
    """The event types this tenant has, for the activity filter's suggestions (one query)."""
    return list(scoped(Event, tenant=tenant).order_by("type").values_list("type", flat=True).distinct()[:limit])

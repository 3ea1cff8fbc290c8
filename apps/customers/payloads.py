"""The customer as the API shows it. Events carry exactly this object (`data.object`), so the API,
webhooks and the dashboard timeline all see the same shape."""
from __future__ import annotations

from datetime import UTC, datetime

from django.db.models import Prefetch

from .models import Customer, CustomerExternalId

# `Customer.active_external_ids` (a list) is filled by this prefetch, or set by the services on the
# objects they write, so serialising a page of customers costs one extra query in total.
ACTIVE_EXTERNAL_IDS = "active_external_ids"


def external_ids_prefetch() -> Prefetch:
    return Prefetch("external_ids", queryset=CustomerExternalId.objects.filter(deleted_at__isnull=True)
                    .order_by("source", "external_id"), to_attr=ACTIVE_EXTERNAL_IDS)


def iso(value: datetime | None) -> str | None:
    """ISO-8601 in UTC with a Z, e.g. 2026-01-19T12:00:00.123456Z."""
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _external_ids(customer: Customer) -> list[dict]:
    rows = getattr(customer, ACTIVE_EXTERNAL_IDS, None)
    if rows is None:
        rows = list(customer.external_ids.filter(deleted_at__isnull=True).order_by("source", "external_id"))
    return [{"source": row.source, "external_id": row.external_id}
            for row in sorted(rows, key=lambda r: (r.source, r.external_id))]


def customer_payload(customer: Customer) -> dict:
    body = {
        "id": customer.pk,
        "object": "customer",
        "email": customer.email,
        "name": customer.name or None,
        "company_name": customer.company_name or None,
        "phone": customer.phone or None,
        "billing_address": customer.billing_address,
        "shipping_address": customer.shipping_address,
        "tax_ids": list(customer.tax_ids or []),
        "locale": customer.locale or None,
        "currency": customer.currency or None,
        "metadata": dict(customer.metadata or {}),
        "external_ids": _external_ids(customer),
        "livemode": customer.livemode,
        "created_at": iso(customer.created_at),
        "updated_at": iso(customer.updated_at),
    }
    if customer.deleted_at is not None:
        body["deleted"] = True
        body["deleted_at"] = iso(customer.deleted_at)
    return body


# Public field → model attribute, for `previous_attributes` in customer.updated events.
def public_value(field: str, value):
    if field in ("name", "company_name", "phone", "locale", "currency"):
        return value or None
    if field == "metadata":
        return dict(value or {})
    if field == "tax_ids":
        return list(value or [])
    return value

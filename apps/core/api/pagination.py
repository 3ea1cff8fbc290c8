"""Lists: `limit` (default 25, max 100, larger values clamped) and `offset`, plus the
`starting_after` / `ending_before` cursors. Newest first (`created_at DESC, id DESC`).

Answer: {"data": [...], "pagination": {"limit", "offset", "total", "hasMore"}}. With a cursor,
`total` still counts every match of the filters and `hasMore` says whether more rows lie beyond
this page in the direction of travel.
"""
from __future__ import annotations

from django.db.models import Q, QuerySet

from apps.core.errors import ValidationFailed

DEFAULT_LIMIT = 25
MAX_LIMIT = 100


def _int_param(params, name: str, default: int, minimum: int) -> int:
    raw = params.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise ValidationFailed(f"'{name}' must be an integer.", fields={name: ["must be an integer"]})
    if value < minimum:
        raise ValidationFailed(f"'{name}' must be at least {minimum}.", fields={name: [f"must be at least {minimum}"]})
    return value


def paginate(queryset: QuerySet, params) -> tuple[list, dict]:
    """Returns (rows, pagination block). `queryset` must already be tenant-scoped and filtered."""
    limit = min(_int_param(params, "limit", DEFAULT_LIMIT, 1), MAX_LIMIT)
    offset = _int_param(params, "offset", 0, 0)
    starting_after = params.get("starting_after")
    ending_before = params.get("ending_before")
    if starting_after and ending_before:
        raise ValidationFailed("Use starting_after or ending_before, not both.",
                               fields={"ending_before": ["cannot be combined with starting_after"]})
    total = queryset.count()
    newest_first = queryset.order_by("-created_at", "-pk")

    if starting_after or ending_before:
        cursor_id = starting_after or ending_before
        param = "starting_after" if starting_after else "ending_before"
        cursor = queryset.filter(pk=cursor_id).values("created_at", "pk").first()
        if cursor is None:
            raise ValidationFailed(f"No object '{cursor_id}' to page from.", fields={param: ["no such object in this list"]})
        older = Q(created_at__lt=cursor["created_at"]) | Q(created_at=cursor["created_at"], pk__lt=cursor["pk"])
        if starting_after:
            window = list(newest_first.filter(older)[offset: offset + limit + 1])
            has_more = len(window) > limit
            rows = window[:limit]
        else:
            oldest_first = queryset.exclude(older).exclude(pk=cursor["pk"]).order_by("created_at", "pk")
            window = list(oldest_first[offset: offset + limit + 1])
            has_more = len(window) > limit
            rows = list(reversed(window[:limit]))
    else:
        rows = list(newest_first[offset: offset + limit])
        has_more = offset + len(rows) < total
    return rows, {"limit": limit, "offset": offset, "total": total, "hasMore": has_more}


def paginate_list(items: list[dict], params) -> tuple[list[dict], dict]:
    """The same parameters over a fixed in-memory list (reference data), cursors by `id`."""
    limit = min(_int_param(params, "limit", DEFAULT_LIMIT, 1), MAX_LIMIT)
    offset = _int_param(params, "offset", 0, 0)
    ids = [item["id"] for item in items]
    window = items
    for param in ("starting_after", "ending_before"):
        cursor = params.get(param)
        if cursor:
            if cursor not in ids:
                raise ValidationFailed(f"No object '{cursor}' to page from.", fields={param: ["no such object in this list"]})
            at = ids.index(cursor)
            window = items[at + 1:] if param == "starting_after" else items[:at]
    rows = window[offset: offset + limit]
    return rows, {"limit": limit, "offset": offset, "total": len(items), "hasMore": offset + len(rows) < len(window)}

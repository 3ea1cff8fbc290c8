"""Helpers shared by the catalog's dashboard views."""
from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404

from apps.accounts.permissions import Permission, role_has
from apps.core.actors import Actor
from apps.core.errors import NotFound

PAGE_SIZE = 25


def actor(request) -> Actor:
    return Actor.for_user(request.user)


def request_id(request) -> str:
    return getattr(request, "request_id", "")


def or_404(selector, **kwargs):
    """Calls a `*_get` selector; another merchant's or mode's row (NotFound) is the 404 page."""
    try:
        return selector(**kwargs)
    except NotFound as exc:
        raise Http404(exc.message)


def can_manage(request) -> bool:
    return role_has(request.membership.role, Permission.MANAGE_PRODUCTS)


def require_manage(request) -> None:
    """For pages that anyone may read but only catalog managers may change (the POST half)."""
    if not can_manage(request):
        raise PermissionDenied("Your role can view the catalog but not change it.")


def paginate(request, queryset):
    return Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))


def wants_partial(request, target: str) -> bool:
    """An htmx request that only needs the element with id `target` (live search, paging)."""
    return bool(request.htmx) and request.htmx.target == target


def disable_fields(form) -> None:
    """Read-only roles see the same form, greyed out."""
    for field in form.fields.values():
        field.disabled = True

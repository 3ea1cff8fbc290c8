"""The one guard every dashboard view goes through: signed in, a member of a merchant, allowed by role."""
from functools import wraps
from zoneinfo import ZoneInfo

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.utils import timezone

from apps.core import errors

from . import selectors, services


def dashboard_view(permission: str | None = None):
    """Wraps a dashboard view.

    No active membership: people who were suspended everywhere see why; everyone else goes to
    onboarding. A role without `permission` gets the 403 page. Dates render in the merchant's time zone.
    """

    def decorator(view):
        @login_required
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if request.membership is None:
                if selectors.memberships_for_user(user=request.user).exists():
                    return render(request, "accounts/suspended.html", status=403)
                return redirect("onboarding")
            if permission:
                try:
                    services.require_permission(request.membership, permission)
                except errors.PermissionDenied as exc:
                    raise PermissionDenied(exc.message)
            with timezone.override(_merchant_zone(request.merchant)):
                return view(request, *args, **kwargs)

        return wrapped

    return decorator


def _merchant_zone(merchant):
    try:
        return ZoneInfo(merchant.timezone)
    except (KeyError, ValueError):
        return ZoneInfo("UTC")

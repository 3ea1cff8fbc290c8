from django.utils.functional import SimpleLazyObject

from .permissions import Permission, role_has


def merchant_context(request):
    membership = getattr(request, "membership", None)
    perms = {p: bool(membership and role_has(membership.role, p)) for p in Permission.values}
    return {
        "current_merchant": getattr(request, "merchant", None),
        "current_membership": membership,
        "livemode": getattr(request, "livemode", False),
        "perms": perms,
        # Only queried by templates that show the merchant switcher.
        "switchable_memberships": SimpleLazyObject(lambda: _active_memberships(request)),
    }


def _active_memberships(request):
    from .models import Membership

    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return []
    return list(Membership.objects.select_related("merchant")
                .filter(user=user, status=Membership.Status.ACTIVE).order_by("merchant__name"))

from .permissions import Permission, role_has


def merchant_context(request):
    membership = getattr(request, "membership", None)
    perms = {p: bool(membership and role_has(membership.role, p)) for p in Permission.values}
    return {
        "current_merchant": getattr(request, "merchant", None),
        "current_membership": membership,
        "livemode": getattr(request, "livemode", False),
        "perms": perms,
    }

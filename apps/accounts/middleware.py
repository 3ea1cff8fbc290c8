"""Dashboard tenancy: which merchant and mode a signed-in user is working in.

The merchant comes from the session (the user may belong to several), falling back to their first
active membership; the mode comes from the live/sandbox switch. Views read `request.tenant` and
`request.membership`, never a merchant id from the URL.
"""
from datetime import timedelta

from apps.core.clock import now
from apps.core.tenancy import Tenant

from .models import Membership

SESSION_MERCHANT = "merchant_id"
SESSION_LIVEMODE = "livemode"
LAST_ACTIVE_RESOLUTION = timedelta(minutes=5)


class MerchantContextMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.membership = None
        request.merchant = None
        request.tenant = None
        request.livemode = False
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and not request.path.startswith("/v2/"):
            self._attach(request, user)
        return self.get_response(request)

    def _attach(self, request, user):
        memberships = Membership.objects.select_related("merchant").filter(user=user, status=Membership.Status.ACTIVE)
        wanted = request.session.get(SESSION_MERCHANT)
        membership = None
        if wanted:
            membership = memberships.filter(merchant_id=wanted).first()
        if membership is None:
            membership = memberships.order_by("created_at").first()
        if membership is None:
            return
        request.membership = membership
        request.merchant = membership.merchant
        request.livemode = bool(request.session.get(SESSION_LIVEMODE, False)) and membership.merchant.live_enabled
        request.tenant = Tenant(merchant=membership.merchant, livemode=request.livemode)
        if membership.last_active_at is None or membership.last_active_at < now() - LAST_ACTIVE_RESOLUTION:
            Membership.objects.filter(pk=membership.pk).update(last_active_at=now())

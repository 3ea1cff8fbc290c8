from django.db.models import QuerySet

from apps.core.clock import now

from .models import ApiKey, GatewayAccount, Invitation, Membership, Merchant


def api_key_list(*, merchant: Merchant, livemode: bool) -> QuerySet[ApiKey]:
    return ApiKey.objects.filter(merchant=merchant, livemode=livemode).select_related("created_by")


def team_member_list(*, merchant: Merchant) -> QuerySet[Membership]:
    return Membership.objects.filter(merchant=merchant).select_related("user").order_by("created_at")


def invitation_list_pending(*, merchant: Merchant) -> QuerySet[Invitation]:
    return Invitation.objects.filter(merchant=merchant, status=Invitation.Status.PENDING).select_related("invited_by")


def membership_for_user(*, merchant: Merchant, membership_id: str) -> Membership | None:
    return Membership.objects.select_related("user", "merchant").filter(merchant=merchant, pk=membership_id).first()


def invitation_get(*, merchant: Merchant, invitation_id: str) -> Invitation | None:
    return Invitation.objects.select_related("merchant").filter(merchant=merchant, pk=invitation_id).first()


def api_key_get(*, merchant: Merchant, livemode: bool, api_key_id: str) -> ApiKey | None:
    """A key of this merchant in this mode, or None (the other mode's keys are not there)."""
    return ApiKey.objects.select_related("merchant").filter(merchant=merchant, livemode=livemode, pk=api_key_id).first()


def memberships_for_user(*, user) -> QuerySet[Membership]:
    return Membership.objects.select_related("merchant").filter(user=user).order_by("created_at")


def gateway_account_get(*, merchant: Merchant, livemode: bool) -> GatewayAccount | None:
    return GatewayAccount.objects.filter(merchant=merchant, livemode=livemode).first()


def dashboard_counts(*, merchant: Merchant, livemode: bool) -> dict[str, int]:
    """The home page's numbers: three COUNT queries whatever the data size."""
    return {
        "api_keys": ApiKey.objects.filter(merchant=merchant, livemode=livemode, revoked_at__isnull=True).count(),
        "members": Membership.objects.filter(merchant=merchant, status=Membership.Status.ACTIVE).count(),
        "pending_invitations": Invitation.objects.filter(merchant=merchant, status=Invitation.Status.PENDING,
                                                         expires_at__gt=now()).count(),
    }


def onboarding_checklist(*, merchant: Merchant, api_key_count: int, member_count: int) -> list[dict]:
    """What a new merchant still has to do, in order; done flags come from the data, not from clicks."""
    order = [step.value for step in Merchant.OnboardingStep]
    reached = order.index(merchant.onboarding_step)
    return [
        {"key": "business", "label": "Add your business details", "done": reached > 0},
        {"key": "branding", "label": "Set your brand colours and logo", "done": reached > 1},
        {"key": "gateway", "label": "Connect a payment gateway (sandbox simulator)", "done": reached > 2},
        {"key": "api_key", "label": "Create your first API key", "done": api_key_count > 0},
        {"key": "team", "label": "Invite a teammate", "done": member_count > 1, "optional": True},
        {"key": "live", "label": "Account review for live payments", "done": merchant.live_enabled},
    ]

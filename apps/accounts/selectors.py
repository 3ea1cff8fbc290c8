from django.db.models import QuerySet

from .models import ApiKey, Invitation, Membership, Merchant


def api_key_list(*, merchant: Merchant, livemode: bool) -> QuerySet[ApiKey]:
    return ApiKey.objects.filter(merchant=merchant, livemode=livemode).select_related("created_by")


def team_member_list(*, merchant: Merchant) -> QuerySet[Membership]:
    return Membership.objects.filter(merchant=merchant).select_related("user").order_by("created_at")


def invitation_list_pending(*, merchant: Merchant) -> QuerySet[Invitation]:
    return Invitation.objects.filter(merchant=merchant, status=Invitation.Status.PENDING).select_related("invited_by")


def membership_for_user(*, merchant: Merchant, membership_id: str) -> Membership | None:
    return Membership.objects.select_related("user", "merchant").filter(merchant=merchant, pk=membership_id).first()

"""Writes for merchants, team members, invitations, API keys and onboarding."""
from __future__ import annotations

import secrets
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils.text import slugify

from apps.core.actors import Actor
from apps.core.clock import now
from apps.core.errors import BusinessRuleViolation, Conflict, NotFound, PermissionDenied, ValidationFailed
from apps.core.events import emit_event
from apps.core.money import CurrencyError, normalize_currency
from apps.core.statemachine import transition
from apps.core.tenancy import Tenant

from .models import ApiKey, GatewayAccount, Invitation, Membership, Merchant, User, hash_secret
from .permissions import Permission, Role, can_assign_role, role_has

INVITATION_TTL = timedelta(days=7)
# Keys of this shape open an account of their own in the NMI simulator on first use, so each
# merchant's sandbox ledger and settlement batches stay apart.
SIMULATOR_SECURITY_KEY_PREFIX = "sim_security_key_"
SIMULATOR_TOKENIZATION_KEY_PREFIX = "sim_tokenization_key_"
MERCHANT_EDITABLE_FIELDS = ("name", "display_name", "country", "timezone", "settlement_currency", "support_email",
                            "support_phone", "website", "address", "statement_descriptor")
BRANDING_FIELDS = ("brand_color", "accent_color", "logo")


def _tenant_for(merchant: Merchant, livemode: bool = False) -> Tenant:
    return Tenant(merchant=merchant, livemode=livemode)


def _unique_slug(name: str) -> str:
    base = slugify(name)[:50] or "merchant"
    slug, n = base, 1
    while Merchant.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


def _merchant_snapshot(merchant: Merchant) -> dict:
    return {
        "id": merchant.pk, "object": "merchant", "name": merchant.name, "display_name": merchant.display_name,
        "slug": merchant.slug, "country": merchant.country, "timezone": merchant.timezone,
        "settlement_currency": merchant.settlement_currency, "brand_color": merchant.brand_color,
        "accent_color": merchant.accent_color, "onboarding_step": merchant.onboarding_step,
    }


def _validate_merchant_fields(data: dict) -> dict:
    errors: dict[str, list[str]] = {}
    cleaned = dict(data)
    if "name" in cleaned and not str(cleaned["name"]).strip():
        errors["name"] = ["is required"]
    if "country" in cleaned:
        country = str(cleaned["country"]).strip().upper()
        if len(country) != 2 or not country.isalpha():
            errors["country"] = ["must be a two-letter ISO 3166 code"]
        cleaned["country"] = country
    if "settlement_currency" in cleaned:
        try:
            cleaned["settlement_currency"] = normalize_currency(cleaned["settlement_currency"])
        except CurrencyError as exc:
            errors["settlement_currency"] = [str(exc)]
    if "timezone" in cleaned:
        import zoneinfo

        if cleaned["timezone"] not in zoneinfo.available_timezones():
            errors["timezone"] = ["is not a known IANA time zone"]
    for color_field in ("brand_color", "accent_color"):
        value = cleaned.get(color_field)
        if value is not None:
            import re

            if not re.fullmatch(r"#[0-9A-Fa-f]{6}", value):
                errors[color_field] = ["must be a hex colour like #4F46E5"]
    if errors:
        raise ValidationFailed("Some details are not valid.", fields=errors)
    return cleaned


@transaction.atomic
def merchant_create(*, owner: User, name: str, country: str, timezone: str = "UTC",
                    settlement_currency: str = "USD", **extra) -> Merchant:
    """Creates a tenant with `owner` as its first owner and a sandbox gateway on the simulator."""
    cleaned = _validate_merchant_fields({"name": name, "country": country, "timezone": timezone,
                                         "settlement_currency": settlement_currency, **extra})
    merchant = Merchant.objects.create(slug=_unique_slug(cleaned["name"]), **cleaned)
    Membership.objects.create(merchant=merchant, user=owner, role=Role.OWNER)
    gateway_connect_simulator(merchant=merchant)
    emit_event(tenant=_tenant_for(merchant), type="merchant.created", data=_merchant_snapshot(merchant),
               actor=Actor.for_user(owner))
    return merchant


def gateway_connect_simulator(*, merchant: Merchant) -> GatewayAccount:
    """Sandbox works out of the box against the NMI simulator (DECISIONS.md)."""
    suffix = secrets.token_hex(12)
    account, _ = GatewayAccount.objects.get_or_create(
        merchant=merchant, livemode=False,
        defaults={"api_url": settings.NMI_SIMULATOR_URL, "security_key": SIMULATOR_SECURITY_KEY_PREFIX + suffix,
                  "tokenization_key": SIMULATOR_TOKENIZATION_KEY_PREFIX + suffix, "uses_simulator": True,
                  "verified_at": now()},
    )
    return account


@transaction.atomic
def merchant_update(*, merchant: Merchant, actor: Actor, data: dict) -> Merchant:
    allowed = set(MERCHANT_EDITABLE_FIELDS) | set(BRANDING_FIELDS)
    unknown = set(data) - allowed
    if unknown:
        raise ValidationFailed("Unknown fields.", fields={name: ["unknown field"] for name in sorted(unknown)})
    cleaned = _validate_merchant_fields(data)
    merchant = Merchant.objects.select_for_update().get(pk=merchant.pk)
    previous = {}
    for field, value in cleaned.items():
        old = getattr(merchant, field)
        if old != value:
            previous[field] = old.name if hasattr(old, "name") and field == "logo" else old
            setattr(merchant, field, value)
    if previous:
        merchant.updated_at = now()
        merchant.save()
        emit_event(tenant=_tenant_for(merchant), type="merchant.updated", data=_merchant_snapshot(merchant),
                   actor=actor, previous_attributes={k: str(v) for k, v in previous.items()})
    return merchant


ONBOARDING_ORDER = [Merchant.OnboardingStep.BUSINESS, Merchant.OnboardingStep.BRANDING,
                    Merchant.OnboardingStep.GATEWAY, Merchant.OnboardingStep.DONE]


@transaction.atomic
def onboarding_advance(*, merchant: Merchant, actor: Actor, completed_step: str) -> Merchant:
    """Marks `completed_step` done and moves to the next one; re-submitting an earlier step is fine."""
    if completed_step not in ONBOARDING_ORDER[:-1]:
        raise ValidationFailed("Unknown onboarding step.", fields={"step": ["unknown step"]})
    merchant = Merchant.objects.select_for_update().get(pk=merchant.pk)
    current = ONBOARDING_ORDER.index(merchant.onboarding_step)
    following = ONBOARDING_ORDER.index(completed_step) + 1
    if following > current:
        merchant.onboarding_step = ONBOARDING_ORDER[following]
        if merchant.onboarding_step == Merchant.OnboardingStep.DONE:
            merchant.onboarding_completed_at = now()
            emit_event(tenant=_tenant_for(merchant), type="merchant.onboarding_completed",
                       data=_merchant_snapshot(merchant), actor=actor)
        merchant.save(update_fields=["onboarding_step", "onboarding_completed_at"])
    return merchant


@transaction.atomic
def onboarding_submit_step(*, user: User, merchant: Merchant | None, step: str, data: dict | None = None) -> Merchant:
    """Saves one onboarding step and moves the merchant past it (the dashboard's auto-save).

    The first submit of the business step creates the merchant. The user row is locked first so two
    clicks on "Continue" create one merchant, not two.
    """
    actor = Actor.for_user(user)
    data = data or {}
    if merchant is None:
        if step != Merchant.OnboardingStep.BUSINESS:
            raise ValidationFailed("Start with your business details.", fields={"step": ["business details first"]})
        User.objects.select_for_update().get(pk=user.pk)
        existing = (Membership.objects.select_related("merchant").filter(user=user, role=Role.OWNER)
                    .order_by("created_at").first())
        if existing is None:
            fields = dict(data)
            merchant = merchant_create(owner=user, name=fields.pop("name", ""), country=fields.pop("country", ""),
                                       **fields)
            return onboarding_advance(merchant=merchant, actor=actor, completed_step=step)
        merchant = existing.merchant
    if data:
        merchant = merchant_update(merchant=merchant, actor=actor, data=data)
    return onboarding_advance(merchant=merchant, actor=actor, completed_step=step)


# --- team -------------------------------------------------------------------------------------------
def require_permission(membership: Membership | None, permission: str) -> None:
    if membership is None or membership.status != Membership.Status.ACTIVE or not role_has(membership.role, permission):
        raise PermissionDenied("Your role does not allow this.")


def _member_snapshot(membership: Membership) -> dict:
    return {"id": membership.pk, "object": "team_member", "email": membership.user.email,
            "role": membership.role, "status": membership.status}


def _require_same_merchant(obj: Membership | Invitation, actor_membership: Membership) -> None:
    # Views look rows up through merchant-scoped selectors; this is the services' own guard.
    if obj.merchant_id != actor_membership.merchant_id:
        raise NotFound(f"No such {obj._meta.verbose_name}: '{obj.pk}'", param="id")


def _invitation_snapshot(invitation: Invitation) -> dict:
    return {"id": invitation.pk, "object": "invitation", "email": invitation.email, "role": invitation.role,
            "status": invitation.status, "expires_at": invitation.expires_at.isoformat()}


def _lock_owners(merchant: Merchant) -> list[Membership]:
    # Locks every owner row in primary-key order so "last owner" checks cannot race.
    return list(Membership.objects.select_for_update().filter(merchant=merchant, role=Role.OWNER,
                                                              status=Membership.Status.ACTIVE).order_by("pk"))


@transaction.atomic
def invitation_create(*, merchant: Merchant, invited_by: Membership, email: str, role: str,
                      message: str = "") -> tuple[Invitation, str]:
    """Creates a pending invitation valid for 7 days; returns it with the one-time token for the link."""
    require_permission(invited_by, Permission.MANAGE_TEAM)
    email = (email or "").strip().lower()
    errors = {}
    if "@" not in email:
        errors["email"] = ["must be a valid email address"]
    if role not in Role.values:
        errors["role"] = ["must be one of " + ", ".join(Role.values)]
    elif not can_assign_role(invited_by.role, role):
        errors["role"] = ["only owners can invite owners"]
    if errors:
        raise ValidationFailed("The invitation is not valid.", fields=errors)
    if Membership.objects.filter(merchant=merchant, user__email=email).exists():
        raise ValidationFailed("That person is already on the team.", fields={"email": ["already a team member"]})
    Invitation.objects.filter(merchant=merchant, email=email, status=Invitation.Status.PENDING,
                              expires_at__lte=now()).update(status=Invitation.Status.EXPIRED)
    token = secrets.token_urlsafe(32)
    try:
        with transaction.atomic():
            invitation = Invitation.objects.create(
                merchant=merchant, email=email, role=role, message=message, token_hash=hash_secret(token),
                invited_by=invited_by.user, expires_at=now() + INVITATION_TTL)
    except IntegrityError:
        raise ValidationFailed("There is already a pending invitation for that email; resend it instead.",
                               fields={"email": ["already invited"]})
    emit_event(tenant=_tenant_for(merchant), type="team.invitation_created",
               data=_invitation_snapshot(invitation), actor=Actor.for_user(invited_by.user))
    return invitation, token


@transaction.atomic
def invitation_resend(*, invitation: Invitation, actor_membership: Membership) -> tuple[Invitation, str]:
    """A fresh token and a fresh 7 days; the old link stops working."""
    require_permission(actor_membership, Permission.MANAGE_TEAM)
    _require_same_merchant(invitation, actor_membership)
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if invitation.status not in (Invitation.Status.PENDING, Invitation.Status.EXPIRED):
        raise BusinessRuleViolation("Only pending or expired invitations can be resent.")
    token = secrets.token_urlsafe(32)
    invitation.token_hash = hash_secret(token)
    invitation.expires_at = now() + INVITATION_TTL
    invitation.status = Invitation.Status.PENDING
    invitation.updated_at = now()
    try:
        with transaction.atomic():
            invitation.save()
    except IntegrityError:  # an expired invitation whose email has since been invited again
        raise BusinessRuleViolation("There is a newer pending invitation for that email; resend that one.")
    emit_event(tenant=_tenant_for(invitation.merchant), type="team.invitation_resent",
               data=_invitation_snapshot(invitation), actor=Actor.for_user(actor_membership.user))
    return invitation, token


@transaction.atomic
def invitation_revoke(*, invitation: Invitation, actor_membership: Membership) -> Invitation:
    require_permission(actor_membership, Permission.MANAGE_TEAM)
    _require_same_merchant(invitation, actor_membership)
    actor = Actor.for_user(actor_membership.user)
    invitation = transition(invitation, Invitation.Status.REVOKED, actor=actor, reason="revoked")
    emit_event(tenant=_tenant_for(invitation.merchant), type="team.invitation_revoked",
               data=_invitation_snapshot(invitation), actor=actor)
    return invitation


def invitation_get_by_token(*, token: str) -> Invitation | None:
    return Invitation.objects.select_related("merchant").filter(token_hash=hash_secret(token or "")).first()


@transaction.atomic
def invitation_accept(*, token: str, user: User) -> Membership:
    invitation = Invitation.objects.select_for_update().filter(token_hash=hash_secret(token or "")).first()
    if invitation is None:
        raise ValidationFailed("This invitation link is not valid.", fields={"token": ["invalid"]})
    if invitation.status == Invitation.Status.PENDING and invitation.expires_at <= now():
        transition(invitation, Invitation.Status.EXPIRED, actor=Actor.system(), reason="expired")
    if invitation.status != Invitation.Status.PENDING:
        raise BusinessRuleViolation(f"This invitation is {invitation.status}; ask for a new one.")
    if invitation.email != user.email.lower():
        raise PermissionDenied("This invitation was sent to another email address.")
    membership, created = Membership.objects.get_or_create(
        merchant=invitation.merchant, user=user, defaults={"role": invitation.role})
    transition(invitation, Invitation.Status.ACCEPTED, actor=Actor.for_user(user), reason="accepted",
               extra_updates={"accepted_at": now()})
    emit_event(tenant=_tenant_for(invitation.merchant), type="team.member_joined",
               data=_member_snapshot(membership), actor=Actor.for_user(user))
    return membership


def invitations_expire() -> int:
    """Scheduled: pending invitations past their 7 days become expired."""
    expired = 0
    for invitation in Invitation.objects.filter(status=Invitation.Status.PENDING, expires_at__lte=now()):
        try:
            with transaction.atomic():
                transition(invitation, Invitation.Status.EXPIRED, actor=Actor.system(), reason="7 days passed")
                expired += 1
        except Conflict:
            continue
    return expired


@transaction.atomic
def membership_change_role(*, membership: Membership, actor_membership: Membership, role: str) -> Membership:
    require_permission(actor_membership, Permission.MANAGE_TEAM)
    _require_same_merchant(membership, actor_membership)
    if role not in Role.values:
        raise ValidationFailed("Unknown role.", fields={"role": ["must be one of " + ", ".join(Role.values)]})
    owners = _lock_owners(membership.merchant)
    membership = Membership.objects.select_for_update().select_related("user").get(pk=membership.pk)
    if not can_assign_role(actor_membership.role, role) or not can_assign_role(actor_membership.role, membership.role):
        raise PermissionDenied("Only owners can change an owner's role or make someone an owner.")
    if membership.role == Role.OWNER and role != Role.OWNER and [o.pk for o in owners] == [membership.pk]:
        raise BusinessRuleViolation("Every organization needs at least one owner: make someone else owner first.",
                                    code="last_owner")
    previous = membership.role
    membership.role = role
    membership.updated_at = now()
    membership.save(update_fields=["role", "updated_at"])
    emit_event(tenant=_tenant_for(membership.merchant), type="team.member_role_changed",
               data=_member_snapshot(membership), actor=Actor.for_user(actor_membership.user),
               previous_attributes={"role": previous})
    return membership


@transaction.atomic
def membership_remove(*, membership: Membership, actor_membership: Membership) -> None:
    require_permission(actor_membership, Permission.MANAGE_TEAM)
    _require_same_merchant(membership, actor_membership)
    owners = _lock_owners(membership.merchant)
    membership = Membership.objects.select_for_update().select_related("user").get(pk=membership.pk)
    if membership.role == Role.OWNER and actor_membership.role != Role.OWNER:
        raise PermissionDenied("Admins cannot remove owners.")
    if membership.role == Role.OWNER and [o.pk for o in owners] == [membership.pk]:
        raise BusinessRuleViolation("You cannot remove the last owner.", code="last_owner")
    snapshot = _member_snapshot(membership)
    membership.delete()
    emit_event(tenant=_tenant_for(actor_membership.merchant), type="team.member_removed", data=snapshot,
               actor=Actor.for_user(actor_membership.user))


@transaction.atomic
def membership_set_suspended(*, membership: Membership, actor_membership: Membership, suspended: bool) -> Membership:
    require_permission(actor_membership, Permission.MANAGE_TEAM)
    _require_same_merchant(membership, actor_membership)
    owners = _lock_owners(membership.merchant)
    membership = Membership.objects.select_for_update().select_related("user", "merchant").get(pk=membership.pk)
    if membership.role == Role.OWNER and actor_membership.role != Role.OWNER:
        raise PermissionDenied("Admins cannot suspend owners.")
    if suspended and membership.pk == actor_membership.pk:
        raise BusinessRuleViolation("You cannot suspend yourself.", code="self_suspend")
    if suspended and membership.role == Role.OWNER and [o.pk for o in owners] == [membership.pk]:
        raise BusinessRuleViolation("You cannot suspend the last owner.", code="last_owner")
    target = Membership.Status.SUSPENDED if suspended else Membership.Status.ACTIVE
    actor = Actor.for_user(actor_membership.user)
    membership = transition(membership, target, actor=actor, reason="suspended" if suspended else "reactivated")
    emit_event(tenant=_tenant_for(membership.merchant),
               type="team.member_suspended" if suspended else "team.member_reactivated",
               data=_member_snapshot(membership), actor=actor)
    return membership


# --- API keys --------------------------------------------------------------------------------------
@transaction.atomic
def api_key_create(*, merchant: Merchant, livemode: bool, name: str, created_by: User | None = None,
                   actor: Actor | None = None) -> tuple[ApiKey, str]:
    """Creates a key and returns it with the secret, which is never retrievable again."""
    name = (name or "").strip()
    if not name:
        raise ValidationFailed("Give the key a name.", fields={"name": ["is required"]})
    if len(name) > 100:
        raise ValidationFailed("Name is too long.", fields={"name": ["at most 100 characters"]})
    if livemode and not merchant.live_enabled:
        raise BusinessRuleViolation("Live keys are available once your account is approved for live payments.",
                                    code="live_mode_not_enabled")
    prefix = "rk_live_" if livemode else "rk_sandbox_"
    secret = prefix + secrets.token_urlsafe(32)
    api_key = ApiKey.objects.create(
        merchant=merchant, livemode=livemode, name=name, key_hash=hash_secret(secret), prefix=prefix,
        last4=secret[-4:], api_version=settings.REVKEEN_API_VERSION, created_by=created_by)
    emit_event(tenant=_tenant_for(merchant, livemode), type="api_key.created",
               data={"id": api_key.pk, "object": "api_key", "name": name, "masked": api_key.masked},
               actor=actor or (Actor.for_user(created_by) if created_by else Actor.system()))
    return api_key, secret


@transaction.atomic
def api_key_revoke(*, api_key: ApiKey, actor: Actor) -> ApiKey:
    changed = ApiKey.objects.filter(pk=api_key.pk, revoked_at__isnull=True).update(revoked_at=now())
    api_key.refresh_from_db()
    if changed:
        emit_event(tenant=_tenant_for(api_key.merchant, api_key.livemode), type="api_key.revoked",
                   data={"id": api_key.pk, "object": "api_key", "name": api_key.name, "masked": api_key.masked},
                   actor=actor)
    return api_key


# --- users and operator decisions ------------------------------------------------------------------
@transaction.atomic
def user_create(*, email: str, password: str | None = None, name: str = "", is_staff: bool = False,
                is_superuser: bool = False, email_verified: bool = False) -> User:
    """A person who can sign in. Sign-up goes through allauth; this is for the CLI, demo data and operators."""
    from allauth.account.models import EmailAddress

    email = (email or "").strip().lower()
    if "@" not in email:
        raise ValidationFailed("A valid email address is required.", fields={"email": ["must be a valid email address"]})
    if User.objects.filter(email__iexact=email).exists():
        raise ValidationFailed("Someone already uses that email address.", fields={"email": ["already registered"]})
    if is_superuser:
        user = User.objects.create_superuser(email, password, name=name)
    else:
        user = User.objects.create_user(email, password, name=name, is_staff=is_staff)
    EmailAddress.objects.create(user=user, email=email, primary=True, verified=email_verified)
    return user


def user_set_password(*, user: User, password: str) -> User:
    user.set_password(password)
    user.save(update_fields=["password"])
    return user


def merchant_clean_fields(*, data: dict) -> dict:
    """Validates merchant fields exactly as merchant_create/merchant_update will (forms show errors early)."""
    return _validate_merchant_fields(data)


@transaction.atomic
def merchant_set_live_enabled(*, merchant: Merchant, enabled: bool, actor: Actor) -> Merchant:
    """Operators approve (or withdraw) live payments after review (page 007). Idempotent."""
    changed = Merchant.objects.filter(pk=merchant.pk).exclude(live_enabled=enabled).update(
        live_enabled=enabled, updated_at=now())
    merchant.refresh_from_db()
    if changed:
        emit_event(tenant=_tenant_for(merchant), type="merchant.updated",
                   data={**_merchant_snapshot(merchant), "live_enabled": merchant.live_enabled}, actor=actor,
                   previous_attributes={"live_enabled": not enabled})
    return merchant

"""Demo data for `make run` (`manage.py load_demo`): a merchant someone can log in to and look around.

Everything is written through the services, so the demo has the same events, state history and
invariants as real data (and the activity feed has something in it). Running it again converges on
the same state and writes nothing, except the sandbox API key: keys are stored hashed, so the previous
demo key's secret cannot be shown again; it is revoked and a new one is created and printed.

Later apps extend the demo by adding a step: a function `(ctx: DemoContext) -> None` appended to
`STEPS` (or registered with `@demo_step`) that creates its rows through its own services, looks for
what it made before (so a second run writes nothing) and records what it wants printed in
`ctx.notes`. Steps run in order, in one transaction.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import transaction

from apps.core.actors import Actor
from apps.core.clock import now

from . import services
from .models import ApiKey, Invitation, Membership, Merchant, User
from .permissions import Role

OWNER_EMAIL = "demo@revkeen.local"
OWNER_PASSWORD = "demo-password-123"
OWNER_NAME = "Dana Whitfield"
ADMIN_EMAIL = "admin@revkeen.local"
ADMIN_PASSWORD = "admin-password-123"
DEMO_KEY_NAME = "Demo key (make run)"

MERCHANT_NAME = "Northwind Coffee Roasters"
MERCHANT = {
    "name": MERCHANT_NAME,
    "country": "GB",
    "timezone": "Europe/London",
    "settlement_currency": "GBP",
    "display_name": "Northwind Coffee",
    "support_email": "hello@northwind-coffee.example",
    "support_phone": "+44 20 7946 0321",
    "website": "https://northwind-coffee.example",
    "address": "Unit 4, Roastery Yard\n12 Bermondsey Street\nLondon SE1 3UD\nUnited Kingdom",
    "statement_descriptor": "NORTHWIND COFFEE",
}
BRANDING = {"brand_color": "#6F4E37", "accent_color": "#D4A373"}

# Team members sign in with the owner's demo password, to try each role.
TEAM = [
    ("amelia@northwind-coffee.example", "Amelia Hart", Role.ADMIN),
    ("tom@northwind-coffee.example", "Tom Okafor", Role.MANAGER),
    ("sofia@northwind-coffee.example", "Sofia Lindqvist", Role.SUPPORT),
    ("raj@northwind-coffee.example", "Raj Patel", Role.VIEWER),
]
PENDING_INVITATION = ("priya@northwind-coffee.example", Role.MEMBER,
                      "Hi Priya, here's access to our RevKeen account for the wholesale accounts.")


@dataclass
class DemoContext:
    owner: User | None = None
    admin: User | None = None
    merchant: Merchant | None = None
    owner_membership: Membership | None = None
    members: list[Membership] = field(default_factory=list)
    pending_invitation: Invitation | None = None
    api_key: ApiKey | None = None
    api_key_secret: str = ""
    revoked_keys: list[ApiKey] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # extra lines for the banner, from later steps

    @property
    def actor(self) -> Actor:
        return Actor.for_user(self.owner)


def _ensure_user(email: str, password: str, *, name: str = "", is_superuser: bool = False) -> User:
    """The user with this email, created if missing; the documented password always works."""
    user = User.objects.filter(email__iexact=email).first()
    if user is None:
        return services.user_create(email=email, password=password, name=name, is_superuser=is_superuser,
                                    email_verified=True)
    if not user.check_password(password):
        services.user_set_password(user=user, password=password)
    return user


def step_users(ctx: DemoContext) -> None:
    ctx.owner = _ensure_user(OWNER_EMAIL, OWNER_PASSWORD, name=OWNER_NAME)
    ctx.admin = _ensure_user(ADMIN_EMAIL, ADMIN_PASSWORD, name="RevKeen Operator", is_superuser=True)


def step_merchant(ctx: DemoContext) -> None:
    """Sign-up and the onboarding steps, as the owner would do them (created once, never overwritten:
    what someone changes in the dashboard survives the next `make run`)."""
    membership = (Membership.objects.select_related("merchant")
                  .filter(user=ctx.owner, role=Role.OWNER, merchant__name=MERCHANT_NAME).order_by("created_at").first())
    if membership is None:
        merchant = services.merchant_create(owner=ctx.owner, **MERCHANT)
        merchant = services.onboarding_advance(merchant=merchant, actor=ctx.actor,
                                               completed_step=Merchant.OnboardingStep.BUSINESS)
        merchant = services.merchant_update(merchant=merchant, actor=ctx.actor, data=BRANDING)
        membership = Membership.objects.select_related("merchant").get(merchant=merchant, user=ctx.owner)
    merchant = membership.merchant
    for step in (Merchant.OnboardingStep.BRANDING, Merchant.OnboardingStep.GATEWAY):
        merchant = services.onboarding_advance(merchant=merchant, actor=ctx.actor, completed_step=step)
    services.gateway_connect_simulator(merchant=merchant)
    ctx.merchant = merchant
    ctx.owner_membership = Membership.objects.select_related("user", "merchant").get(pk=membership.pk)


def step_team(ctx: DemoContext) -> None:
    """Each teammate joins the way a real one does: invited by the owner, then accepting the link."""
    for email, name, role in TEAM:
        membership = Membership.objects.filter(merchant=ctx.merchant, user__email=email).first()
        if membership is None:
            user = _ensure_user(email, OWNER_PASSWORD, name=name)
            pending = Invitation.objects.filter(merchant=ctx.merchant, email=email,
                                                status=Invitation.Status.PENDING).first()
            if pending is not None:
                _, token = services.invitation_resend(invitation=pending, actor_membership=ctx.owner_membership)
            else:
                _, token = services.invitation_create(merchant=ctx.merchant, invited_by=ctx.owner_membership,
                                                      email=email, role=role)
            membership = services.invitation_accept(token=token, user=user)
        ctx.members.append(membership)

    email, role, message = PENDING_INVITATION
    is_member = Membership.objects.filter(merchant=ctx.merchant, user__email=email).exists()
    invitation = Invitation.objects.filter(merchant=ctx.merchant, email=email, status=Invitation.Status.PENDING,
                                           expires_at__gt=now()).first()
    if invitation is None and not is_member:
        invitation, _ = services.invitation_create(merchant=ctx.merchant, invited_by=ctx.owner_membership,
                                                   email=email, role=role, message=message)
    ctx.pending_invitation = invitation


def step_api_key(ctx: DemoContext) -> None:
    """A fresh sandbox key each run: the secret of the last one was never stored, only its hash."""
    previous = ApiKey.objects.filter(merchant=ctx.merchant, livemode=False, name=DEMO_KEY_NAME,
                                     revoked_at__isnull=True).select_related("merchant").order_by("pk")
    for api_key in previous:
        ctx.revoked_keys.append(services.api_key_revoke(api_key=api_key, actor=ctx.actor))
    ctx.api_key, ctx.api_key_secret = services.api_key_create(merchant=ctx.merchant, livemode=False,
                                                              name=DEMO_KEY_NAME, created_by=ctx.owner)


DemoStep = Callable[[DemoContext], None]
STEPS: list[DemoStep] = [step_users, step_merchant, step_team, step_api_key]


def demo_step(func: DemoStep) -> DemoStep:
    """Registers a later app's step (runs after the accounts steps, in registration order)."""
    if func not in STEPS:
        STEPS.append(func)
    return func


@transaction.atomic
def load_demo() -> DemoContext:
    ctx = DemoContext()
    for step in list(STEPS):
        step(ctx)
    return ctx

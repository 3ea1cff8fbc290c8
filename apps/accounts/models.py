import hashlib

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models

from apps.core.clock import now
from apps.core.ids import PrefixedIdField
from apps.core.statemachine import StateMachine

from .permissions import Role


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email, password, **extra):
        if not email:
            raise ValueError("An email address is required")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email, password=None, **extra):
        extra.update(is_staff=True, is_superuser=True)
        return self._create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A person who signs in to the dashboard; email is the identity (no usernames)."""

    id = PrefixedIdField(prefix="usr")
    email = models.EmailField(unique=True)
    name = models.CharField(max_length=150, blank=True)
    phone = models.CharField(max_length=40, blank=True)
    job_title = models.CharField(max_length=100, blank=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False, help_text="May use Django admin (operators).")
    date_joined = models.DateTimeField(default=now)

    objects = UserManager()
    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    def __str__(self):
        return self.email

    @property
    def display_name(self):
        return self.name or self.email.split("@")[0]


class Merchant(models.Model):
    """The tenant: a business that sells through RevKeen. Owns every domain row, in two modes."""

    class OnboardingStep(models.TextChoices):
        BUSINESS = "business", "Business details"
        BRANDING = "branding", "Branding"
        GATEWAY = "gateway", "Payment gateway"
        DONE = "done", "Done"

    id = PrefixedIdField(prefix="mer")
    name = models.CharField("business name", max_length=200)
    display_name = models.CharField(max_length=200, blank=True, help_text="Name shown to customers.")
    slug = models.SlugField(max_length=60, unique=True)
    country = models.CharField(max_length=2, help_text="ISO 3166-1 alpha-2")
    timezone = models.CharField(max_length=64, default="UTC")
    settlement_currency = models.CharField(max_length=3, default="USD")
    support_email = models.EmailField(blank=True)
    support_phone = models.CharField(max_length=40, blank=True)
    website = models.URLField(blank=True)
    address = models.TextField(blank=True)
    # Branding (checkout, invoices, emails, portal).
    logo = models.FileField(upload_to="logos/", blank=True)
    brand_color = models.CharField(max_length=7, default="#4F46E5")
    accent_color = models.CharField(max_length=7, default="#0EA5E9")
    statement_descriptor = models.CharField(max_length=22, blank=True)
    # Platform fee plan (DECISIONS.md: 1.7% + 0.10 by default), in basis points and minor units.
    platform_fee_bps = models.PositiveIntegerField(default=170)
    platform_fee_fixed_minor = models.PositiveIntegerField(default=10)
    onboarding_step = models.CharField(max_length=20, choices=OnboardingStep.choices, default=OnboardingStep.BUSINESS)
    onboarding_completed_at = models.DateTimeField(null=True, blank=True)
    live_enabled = models.BooleanField(default=False, help_text="Set by operators after review (page 007).")
    created_at = models.DateTimeField(default=now)
    updated_at = models.DateTimeField(default=now)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    @property
    def public_name(self):
        return self.display_name or self.name


class GatewayAccount(models.Model):
    """A merchant's card-gateway credentials for one mode. Sandbox starts connected to the simulator."""

    id = PrefixedIdField(prefix="gwa")
    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="gateway_accounts")
    livemode = models.BooleanField(default=False)
    provider = models.CharField(max_length=20, default="nmi")
    api_url = models.URLField(max_length=300, help_text="Direct Post endpoint base (simulator in sandbox).")
    security_key = models.CharField(max_length=200)
    tokenization_key = models.CharField(max_length=200, blank=True)
    uses_simulator = models.BooleanField(default=True)
    verified_at = models.DateTimeField(null=True, blank=True)
    # Payouts follow the gateway's settings (page 047): daily (business days), weekly or monthly.
    payout_interval = models.CharField(max_length=10, default="daily",
                                       choices=[("daily", "Daily"), ("weekly", "Weekly"), ("monthly", "Monthly")])
    payout_weekly_anchor = models.PositiveSmallIntegerField(default=0, help_text="Weekday, Monday=0 … Friday=4")
    payout_monthly_anchor = models.PositiveSmallIntegerField(default=1, help_text="Day of month 1–31")
    payout_delay_days = models.PositiveSmallIntegerField(default=1, help_text="Business days from settlement")
    payout_destination_last4 = models.CharField(max_length=4, blank=True, help_text="Bank account shown on payouts")
    created_at = models.DateTimeField(default=now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["merchant", "livemode"], name="gateway_one_per_mode")]

    def __str__(self):
        return f"{self.provider} ({'live' if self.livemode else 'sandbox'}) for {self.merchant}"


class Membership(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        SUSPENDED = "suspended", "Suspended"

    STATE_MACHINE = StateMachine({"active": {"suspended"}, "suspended": {"active"}})

    id = PrefixedIdField(prefix="mem")
    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=Role.choices)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.ACTIVE)
    last_active_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=now)
    updated_at = models.DateTimeField(default=now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["merchant", "user"], name="membership_unique")]
        ordering = ["created_at"]

    def __str__(self):
        return f"{self.user} @ {self.merchant} ({self.role})"


class Invitation(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        ACCEPTED = "accepted", "Accepted"
        REVOKED = "revoked", "Revoked"
        EXPIRED = "expired", "Expired"

    STATE_MACHINE = StateMachine({"pending": {"accepted", "revoked", "expired"}})

    id = PrefixedIdField(prefix="tinv")
    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    role = models.CharField(max_length=20, choices=Role.choices)
    message = models.TextField(blank=True)
    token_hash = models.CharField(max_length=64, unique=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    invited_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, related_name="+")
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=now)
    updated_at = models.DateTimeField(default=now)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["merchant", "email"], condition=models.Q(status="pending"),
                                    name="invitation_one_pending_per_email"),
        ]

    def __str__(self):
        return f"{self.email} → {self.merchant} ({self.status})"

    @property
    def is_usable(self):
        return self.status == self.Status.PENDING and self.expires_at > now()


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class ApiKey(models.Model):
    """A secret API key for one merchant and one mode. Only its SHA-256 is stored; shown once."""

    id = PrefixedIdField(prefix="key")
    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="api_keys")
    livemode = models.BooleanField(default=False)
    name = models.CharField(max_length=100)
    key_hash = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=20, help_text="rk_live_ or rk_sandbox_")
    last4 = models.CharField(max_length=4)
    api_version = models.CharField(max_length=10, help_text="Default RevKeen-Version pinned at creation.")
    created_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(default=now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.name} ({self.masked})"

    @property
    def masked(self):
        return f"{self.prefix}…{self.last4}"

    @property
    def mode(self):
        return "live" if self.livemode else "sandbox"

    @property
    def is_active(self):
        return self.revoked_at is None

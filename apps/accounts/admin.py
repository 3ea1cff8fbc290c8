"""Operators' console for accounts: users, merchants, gateways, team, invitations and API keys.

Rows with a life cycle (memberships, invitations, API keys) are read-only here: their writes belong to
services, which admin *actions* call with an Actor for the operator (ARCHITECTURE.md rule 4). A merchant's
profile is editable, but the save goes through `merchant_update` / `merchant_set_live_enabled`, so the
change is validated the same way and leaves the same `merchant.updated` event as a dashboard edit.
"""
from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.db.models import Count, Q
from django.utils.html import format_html

from apps.core.actors import Actor
from apps.core.admin_utils import BaseAdmin, MoneyAdminMixin, ReadOnlyAdmin, ReadOnlyInline, mask_secret
from apps.core.errors import DomainError, ValidationFailed

from . import services
from .models import ApiKey, GatewayAccount, Invitation, Membership, Merchant, User


def _operator(request) -> Actor:
    return Actor.for_user(request.user)


# --- users ----------------------------------------------------------------------------------------
class EmailUserCreationForm(AdminUserCreationForm):
    """Django's admin "add user" form for a model whose identity is the email address."""

    class Meta:
        model = User
        fields = ("email", "name")

    def clean_email(self):
        email = self.cleaned_data["email"].strip().lower()
        if User.objects.filter(email__iexact=email).exists():
            raise forms.ValidationError("Someone already uses that email address.")
        return email


class EmailUserChangeForm(UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"

    def clean_email(self):
        email = self.cleaned_data["email"].strip().lower()
        if User.objects.filter(email__iexact=email).exclude(pk=self.instance.pk).exists():
            raise forms.ValidationError("Someone already uses that email address.")
        return email


class UserMembershipInline(ReadOnlyInline):
    model = Membership
    fk_name = "user"
    fields = ["merchant", "role", "status", "last_active_at", "created_at"]
    readonly_fields = fields
    verbose_name = "membership"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("merchant")


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    form = EmailUserChangeForm
    add_form = EmailUserCreationForm
    list_display = ["email", "name", "is_active", "is_staff", "is_superuser", "memberships_count", "date_joined",
                    "last_login"]
    list_filter = ["is_active", "is_staff", "is_superuser", "groups"]
    search_fields = ["email", "name", "=id"]
    ordering = ["email"]
    readonly_fields = ["id", "last_login", "date_joined"]
    inlines = [UserMembershipInline]
    fieldsets = [
        (None, {"fields": ["id", "email", "password"]}),
        ("Personal info", {"fields": ["name", "phone", "job_title"]}),
        ("Permissions", {"fields": ["is_active", "is_staff", "is_superuser", "groups", "user_permissions"],
                         "classes": ["collapse"]}),
        ("Important dates", {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [
        (None, {"classes": ["wide"], "fields": ["email", "name", "usable_password", "password1", "password2"]}),
    ]

    def get_inlines(self, request, obj):
        return self.inlines if obj is not None else []

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_memberships=Count("memberships"))

    @admin.display(description="Merchants", ordering="_memberships")
    def memberships_count(self, obj):
        return obj._memberships


# --- merchants ------------------------------------------------------------------------------------
SERVICE_EDITABLE = tuple(services.MERCHANT_EDITABLE_FIELDS) + tuple(services.BRANDING_FIELDS)


class MerchantAdminForm(forms.ModelForm):
    class Meta:
        model = Merchant
        fields = [*SERVICE_EDITABLE, "live_enabled"]

    def clean(self):
        cleaned = super().clean()
        data = {name: cleaned[name] for name in self.changed_data if name in SERVICE_EDITABLE and name in cleaned
                and name != "logo"}
        try:
            services.merchant_clean_fields(data=data)
        except ValidationFailed as exc:
            for field, reasons in exc.fields.items():
                self.add_error(field if field in self.fields else None, "; ".join(reasons))
        return cleaned


class MerchantMembershipInline(ReadOnlyInline):
    model = Membership
    fk_name = "merchant"
    fields = ["user", "role", "status", "last_active_at", "created_at"]
    readonly_fields = fields
    verbose_name = "team member"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("user")


class GatewayAccountInline(ReadOnlyInline):
    model = GatewayAccount
    fields = ["provider", "livemode", "uses_simulator", "api_url", "security_key_masked", "verified_at"]
    readonly_fields = fields

    @admin.display(description="Security key")
    def security_key_masked(self, obj):
        return mask_secret(obj.security_key)


@admin.register(Merchant)
class MerchantAdmin(MoneyAdminMixin, BaseAdmin):
    form = MerchantAdminForm
    money_fields = [("platform_fee_fixed_minor", "settlement_currency", "Platform fee (fixed)")]
    list_display = ["name", "slug", "country", "settlement_currency", "onboarding_step", "live_enabled",
                    "platform_fee", "created_at"]
    list_filter = ["live_enabled", "onboarding_step", "country", "settlement_currency"]
    search_fields = ["name", "display_name", "slug", "support_email", "=id"]
    readonly_fields = ["id", "slug", "onboarding_step", "onboarding_completed_at", "platform_fee_bps_display",
                       "platform_fee_fixed_minor_money", "created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["id", "name", "display_name", "slug", "country", "timezone", "settlement_currency"]}),
        ("Support and address", {"fields": ["support_email", "support_phone", "website", "address"]}),
        ("Branding", {"fields": ["logo", "brand_color", "accent_color", "statement_descriptor"]}),
        ("Platform fee", {"fields": ["platform_fee_bps_display", "platform_fee_fixed_minor_money"]}),
        ("Onboarding and review", {"fields": ["onboarding_step", "onboarding_completed_at", "live_enabled"]}),
        ("Dates", {"fields": ["created_at", "updated_at"]}),
    ]
    inlines = [MerchantMembershipInline, GatewayAccountInline]
    actions = ["approve_live", "withdraw_live"]

    def has_add_permission(self, request):
        return False  # merchants are created by sign-up + onboarding (merchant_create), with an owner

    def has_delete_permission(self, request, obj=None):
        return False  # a tenant owns an audit trail; it is never deleted from here

    @admin.display(description="Platform fee", ordering="platform_fee_bps")
    def platform_fee(self, obj):
        fixed = self.platform_fee_fixed_minor_money(obj)
        return f"{obj.platform_fee_bps / 100:.2f}% + {fixed}" if fixed else f"{obj.platform_fee_bps / 100:.2f}%"

    @admin.display(description="Platform fee (percentage)")
    def platform_fee_bps_display(self, obj):
        return f"{obj.platform_fee_bps / 100:.2f}% ({obj.platform_fee_bps} bps)"

    def save_model(self, request, obj, form, change):
        # The form has already copied its data onto `obj`; the services re-read the row, compare and
        # save, so the change is validated once more and recorded as an event by the operator.
        actor = _operator(request)
        data = {name: form.cleaned_data[name] for name in form.changed_data if name in SERVICE_EDITABLE}
        if data.get("logo") is False:  # the "clear" checkbox
            data["logo"] = ""
        if data:
            services.merchant_update(merchant=obj, actor=actor, data=data)
        if "live_enabled" in form.changed_data:
            services.merchant_set_live_enabled(merchant=obj, enabled=form.cleaned_data["live_enabled"], actor=actor)

    @admin.action(description="Approve selected merchants for live payments", permissions=["change"])
    def approve_live(self, request, queryset):
        self._set_live(request, queryset, True)

    @admin.action(description="Withdraw live payments from selected merchants", permissions=["change"])
    def withdraw_live(self, request, queryset):
        self._set_live(request, queryset, False)

    def _set_live(self, request, queryset, enabled):
        changed = 0
        for merchant in queryset.filter(~Q(live_enabled=enabled)).order_by("pk"):
            services.merchant_set_live_enabled(merchant=merchant, enabled=enabled, actor=_operator(request))
            changed += 1
        verb = "approved for" if enabled else "withdrawn from"
        self.message_user(request, f"{changed} merchant(s) {verb} live payments.", messages.SUCCESS)


@admin.register(GatewayAccount)
class GatewayAccountAdmin(ReadOnlyAdmin):
    list_display = ["id", "merchant", "provider", "mode", "uses_simulator", "api_url", "security_key_masked",
                    "verified_at"]
    list_filter = ["provider", "livemode", "uses_simulator"]
    list_select_related = ["merchant"]
    search_fields = ["merchant__name", "=merchant__id", "=id"]
    # The security key itself is never rendered: `exclude` keeps it out of the page altogether.
    fields = ["id", "merchant", "provider", "livemode", "uses_simulator", "api_url", "security_key_masked",
              "tokenization_key", "verified_at", "created_at"]
    readonly_fields = ["security_key_masked"]

    @admin.display(description="Mode", ordering="livemode")
    def mode(self, obj):
        return "live" if obj.livemode else "sandbox"

    @admin.display(description="Security key")
    def security_key_masked(self, obj):
        return mask_secret(obj.security_key)


@admin.register(Membership)
class MembershipAdmin(ReadOnlyAdmin):
    list_display = ["user", "merchant", "role", "status", "last_active_at", "created_at"]
    list_filter = ["role", "status"]
    list_select_related = ["user", "merchant"]
    search_fields = ["user__email", "merchant__name", "=merchant__id", "=id"]
    fields = ["id", "merchant", "user", "role", "status", "last_active_at", "created_at", "updated_at"]


@admin.register(Invitation)
class InvitationAdmin(ReadOnlyAdmin):
    list_display = ["email", "merchant", "role", "status", "invited_by", "expires_at", "created_at"]
    list_filter = ["status", "role"]
    list_select_related = ["merchant", "invited_by"]
    search_fields = ["email", "merchant__name", "=merchant__id", "=id"]
    # token_hash is left out on purpose: it is what an invitation link is checked against.
    fields = ["id", "merchant", "email", "role", "message", "status", "invited_by", "expires_at", "accepted_at",
              "created_at", "updated_at"]


class ApiKeyStatusFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return [("active", "Active"), ("revoked", "Revoked")]

    def queryset(self, request, queryset):
        if self.value() == "active":
            return queryset.filter(revoked_at__isnull=True)
        if self.value() == "revoked":
            return queryset.filter(revoked_at__isnull=False)
        return queryset


@admin.register(ApiKey)
class ApiKeyAdmin(ReadOnlyAdmin):
    list_display = ["name", "masked", "merchant", "mode", "active", "created_by", "created_at", "last_used_at",
                    "revoked_at"]
    list_filter = [ApiKeyStatusFilter, "livemode"]
    list_select_related = ["merchant", "created_by"]
    search_fields = ["name", "last4", "merchant__name", "=merchant__id", "=id"]
    # key_hash is left out on purpose: it is what a presented key is checked against.
    fields = ["id", "merchant", "name", "masked", "livemode", "api_version", "created_by", "created_at",
              "last_used_at", "revoked_at"]
    readonly_fields = ["masked"]
    actions = ["revoke_selected"]

    @admin.display(description="Mode", ordering="livemode")
    def mode(self, obj):
        return obj.mode

    @admin.display(description="Active", boolean=True, ordering="revoked_at")
    def active(self, obj):
        return obj.is_active

    @admin.display(description="Key")
    def masked(self, obj):
        return format_html("<code>{}</code>", obj.masked)

    def has_revoke_permission(self, request):
        return request.user.has_perm(f"{self.opts.app_label}.change_{self.opts.model_name}")

    @admin.action(description="Revoke selected keys", permissions=["revoke"])
    def revoke_selected(self, request, queryset):
        actor = _operator(request)
        revoked = already = 0
        for api_key in queryset.select_related("merchant").order_by("pk"):
            if not api_key.is_active:
                already += 1
                continue
            try:
                services.api_key_revoke(api_key=api_key, actor=actor)
            except DomainError as exc:
                self.message_user(request, f"{api_key}: {exc.message}", messages.ERROR)
                continue
            revoked += 1
        message = f"Revoked {revoked} key(s)."
        if already:
            message += f" {already} already revoked."
        self.message_user(request, message, messages.SUCCESS)

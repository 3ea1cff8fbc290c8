"""Dashboard views for accounts: onboarding, home, mode switch, settings, team and API keys.

Each view validates a form, calls one service or selector and renders; the rules live in services.
"""
import logging
from collections.abc import Callable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from apps.core.actors import Actor
from apps.core.errors import DomainError
from apps.core.forms import add_domain_error
from apps.core.selectors import event_list

from . import selectors, services
from .decorators import dashboard_view
from .emails import send_invitation_email
from .forms import (
    ApiKeyCreateForm,
    BrandingForm,
    BusinessDetailsForm,
    BusinessSettingsForm,
    InvitationForm,
    assignable_roles,
    merchant_initial,
)
from .middleware import SESSION_LIVEMODE, SESSION_MERCHANT
from .models import Membership, Merchant
from .permissions import Permission, can_assign_role, role_has

log = logging.getLogger(__name__)
STEPS = [step.value for step in Merchant.OnboardingStep]
STEP_TEMPLATES = {step: f"accounts/onboarding/{step}.html" for step in STEPS}


def home(request):
    if request.user.is_authenticated:
        return redirect("dashboard:home")
    return redirect("account_login")


# --- onboarding ------------------------------------------------------------------------------------
@login_required
def onboarding(request):
    """Resumes where the merchant left off."""
    if request.merchant is None:
        return redirect("onboarding_step", step=Merchant.OnboardingStep.BUSINESS)
    return redirect("onboarding_step", step=request.merchant.onboarding_step)


@login_required
def onboarding_step(request, step):
    if step not in STEPS:
        raise Http404("No such onboarding step")
    merchant = request.merchant
    if merchant is None and selectors.memberships_for_user(user=request.user).exists():
        return render(request, "accounts/suspended.html", status=403)
    if merchant is not None and not role_has(request.membership.role, Permission.ACCOUNT_SETTINGS):
        raise PermissionDenied("Only owners and admins can set up the account.")
    reached = STEPS.index(merchant.onboarding_step if merchant else Merchant.OnboardingStep.BUSINESS)
    if STEPS.index(step) > reached:
        return redirect("onboarding_step", step=STEPS[reached])
    zone = ZoneInfo(merchant.timezone) if merchant else timezone.get_current_timezone()
    with timezone.override(zone):
        return _ONBOARDING_HANDLERS[step](request, merchant)


def _onboarding_business(request, merchant):
    fields = list(BusinessDetailsForm.base_fields)
    initial = merchant_initial(merchant, fields) if merchant else {"support_email": request.user.email}
    form = BusinessDetailsForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            merchant = services.onboarding_submit_step(user=request.user, merchant=merchant,
                                                       step=Merchant.OnboardingStep.BUSINESS, data=form.cleaned_data)
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            request.session[SESSION_MERCHANT] = merchant.pk
            return redirect("onboarding_step", step=Merchant.OnboardingStep.BRANDING)
    return _render_step(request, "business", merchant, form=form)


def _onboarding_branding(request, merchant):
    initial = merchant_initial(merchant, ["brand_color", "accent_color", "logo"])
    form = BrandingForm(request.POST or None, request.FILES or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.onboarding_submit_step(user=request.user, merchant=merchant,
                                            step=Merchant.OnboardingStep.BRANDING, data=form.service_data())
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            return redirect("onboarding_step", step=Merchant.OnboardingStep.GATEWAY)
    return _render_step(request, "branding", merchant, form=form)


def _onboarding_gateway(request, merchant):
    if request.method == "POST":
        services.onboarding_submit_step(user=request.user, merchant=merchant, step=Merchant.OnboardingStep.GATEWAY)
        return redirect("onboarding_step", step=Merchant.OnboardingStep.DONE)
    gateway = selectors.gateway_account_get(merchant=merchant, livemode=False)
    return _render_step(request, "gateway", merchant, gateway=gateway,
                        masked_security_key=_mask(gateway.security_key) if gateway else "")


def _onboarding_done(request, merchant):
    counts = selectors.dashboard_counts(merchant=merchant, livemode=False)
    checklist = selectors.onboarding_checklist(merchant=merchant, api_key_count=counts["api_keys"],
                                               member_count=counts["members"])
    return _render_step(request, "done", merchant, checklist=checklist)


_ONBOARDING_HANDLERS = {"business": _onboarding_business, "branding": _onboarding_branding,
                        "gateway": _onboarding_gateway, "done": _onboarding_done}


def _render_step(request, step, merchant, **context):
    reached = STEPS.index(merchant.onboarding_step) if merchant else 0
    steps = [{"key": key, "label": label, "number": i + 1, "done": i < reached, "current": key == step,
              "reachable": i <= reached} for i, (key, label) in enumerate(Merchant.OnboardingStep.choices)]
    return render(request, STEP_TEMPLATES[step], {"steps": steps, "step": step, "merchant": merchant, **context})


def _mask(secret: str) -> str:
    return "•" * 12 + secret[-4:] if len(secret) > 8 else "•" * 12


@dataclass(frozen=True)
class PendingAction:
    """One line of Home's "Pending actions" (page 050): what needs the merchant, how many, where to act."""

    label: str
    count: int
    url: str
    detail: str = ""
    urgent: bool = False


# Apps add providers `(request) -> list[PendingAction]` from their AppConfig.ready() (this app never imports
# them); each keeps to a fixed number of queries.
PENDING_ACTION_PROVIDERS: list[Callable[[object], list[PendingAction]]] = []


def register_pending_actions(provider: Callable[[object], list[PendingAction]]) -> None:
    if provider not in PENDING_ACTION_PROVIDERS:
        PENDING_ACTION_PROVIDERS.append(provider)


# --- dashboard home and switches ---------------------------------------------------------------------
@dashboard_view(Permission.VIEW_DASHBOARD)
def dashboard_home(request):
    merchant = request.merchant
    pending = [action for provider in PENDING_ACTION_PROVIDERS for action in provider(request)]
    counts = selectors.dashboard_counts(merchant=merchant, livemode=request.livemode)
    checklist = selectors.onboarding_checklist(merchant=merchant, api_key_count=counts["api_keys"],
                                               member_count=counts["members"])
    setup_done = all(item["done"] for item in checklist if not item.get("optional") and item["key"] != "live")
    return render(request, "dashboard/home.html", {
        "counts": counts,
        "checklist": checklist,
        "show_checklist": not setup_done,
        "onboarding_done": merchant.onboarding_step == Merchant.OnboardingStep.DONE,
        "events": list(event_list(tenant=request.tenant)[:10]),
        "pending_actions": pending,
    })


@dashboard_view()
@require_POST
def mode_switch(request):
    want_live = request.POST.get("mode") == "live"
    if want_live and not request.merchant.live_enabled:
        messages.error(request, "Live mode unlocks after account review.")
        want_live = False
    request.session[SESSION_LIVEMODE] = want_live
    return redirect(_next_url(request))


@dashboard_view()
@require_POST
def merchant_switch(request):
    wanted = request.POST.get("merchant", "")
    if not selectors.memberships_for_user(user=request.user).filter(merchant_id=wanted, status=Membership.Status.ACTIVE).exists():
        raise Http404("No such merchant")
    request.session[SESSION_MERCHANT] = wanted
    request.session[SESSION_LIVEMODE] = False  # every merchant opens in sandbox
    return redirect("dashboard:home")


def _next_url(request, default="dashboard:home"):
    target = request.POST.get("next") or request.headers.get("referer", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                  require_https=request.is_secure()):
        return target
    return reverse(default)


# --- settings --------------------------------------------------------------------------------------
@dashboard_view(Permission.ACCOUNT_SETTINGS)
def settings_business(request):
    form = BusinessSettingsForm(request.POST or None,
                                initial=merchant_initial(request.merchant, BusinessSettingsForm.base_fields))
    if request.method == "POST" and form.is_valid():
        try:
            services.merchant_update(merchant=request.merchant, actor=Actor.for_user(request.user),
                                     data=form.cleaned_data)
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, "Business details saved.")
            return redirect("dashboard:settings_business")
    return render(request, "accounts/settings/business.html", {"form": form})


@dashboard_view(Permission.ACCOUNT_SETTINGS)
def settings_branding(request):
    initial = merchant_initial(request.merchant, ["brand_color", "accent_color", "logo"])
    form = BrandingForm(request.POST or None, request.FILES or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.merchant_update(merchant=request.merchant, actor=Actor.for_user(request.user),
                                     data=form.service_data())
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, "Branding saved.")
            return redirect("dashboard:settings_branding")
    return render(request, "accounts/settings/branding.html", {"form": form})


# --- team ------------------------------------------------------------------------------------------
@dashboard_view(Permission.MANAGE_TEAM)
def team(request):
    return _render_team(request, InvitationForm(actor_role=request.membership.role))


@dashboard_view(Permission.MANAGE_TEAM)
@require_POST
def team_invite(request):
    form = InvitationForm(request.POST, actor_role=request.membership.role)
    if form.is_valid():
        try:
            invitation, token = services.invitation_create(merchant=request.merchant, invited_by=request.membership,
                                                           **form.cleaned_data)
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            if _send_invitation(request, invitation, token):
                messages.success(request, f"Invitation sent to {invitation.email}.")
            return redirect("dashboard:team")
    return _render_team(request, form)


@dashboard_view(Permission.MANAGE_TEAM)
@require_POST
def invitation_resend(request, invitation_id):
    invitation = _invitation_or_404(request, invitation_id)
    try:
        invitation, token = services.invitation_resend(invitation=invitation, actor_membership=request.membership)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        if _send_invitation(request, invitation, token):
            messages.success(request, f"Invitation sent again to {invitation.email}; the previous link no longer works.")
    return redirect("dashboard:team")


@dashboard_view(Permission.MANAGE_TEAM)
@require_POST
def invitation_revoke(request, invitation_id):
    invitation = _invitation_or_404(request, invitation_id)
    try:
        services.invitation_revoke(invitation=invitation, actor_membership=request.membership)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Invitation for {invitation.email} revoked.")
    return redirect("dashboard:team")


@dashboard_view(Permission.MANAGE_TEAM)
@require_POST
def member_role(request, membership_id):
    member = _member_or_404(request, membership_id)
    error = None
    try:
        member = services.membership_change_role(membership=member, actor_membership=request.membership,
                                                 role=request.POST.get("role", ""))
    except DomainError as exc:
        error = exc.message
        member = _member_or_404(request, membership_id)
    if not request.htmx:
        if error:
            messages.error(request, error)
        else:
            messages.success(request, f"{member.user.email} is now {member.get_role_display()}.")
        return redirect("dashboard:team")
    if error is None and member.pk == request.membership.pk:
        # People who change their own role may have just lost access to this page.
        response = render(request, "accounts/team.html#member-row", {"row": _member_row(member, request)})
        response["HX-Refresh"] = "true"
        return response
    return render(request, "accounts/team.html#member-row",
                  {"row": _member_row(member, request), "row_error": error, "row_saved": error is None})


@dashboard_view(Permission.MANAGE_TEAM)
@require_POST
def member_remove(request, membership_id):
    member = _member_or_404(request, membership_id)
    try:
        services.membership_remove(membership=member, actor_membership=request.membership)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("dashboard:team")
    if member.pk == request.membership.pk:
        messages.success(request, f"You left {request.merchant.public_name}.")
        request.session.pop(SESSION_MERCHANT, None)
        return redirect("home")
    messages.success(request, f"{member.user.email} was removed from the team.")
    return redirect("dashboard:team")


@dashboard_view(Permission.MANAGE_TEAM)
@require_POST
def member_suspend(request, membership_id):
    return _set_suspended(request, membership_id, suspended=True)


@dashboard_view(Permission.MANAGE_TEAM)
@require_POST
def member_reactivate(request, membership_id):
    return _set_suspended(request, membership_id, suspended=False)


def _set_suspended(request, membership_id, *, suspended):
    member = _member_or_404(request, membership_id)
    try:
        services.membership_set_suspended(membership=member, actor_membership=request.membership, suspended=suspended)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        verb = "suspended; they cannot sign in to this account until reactivated" if suspended else "reactivated"
        messages.success(request, f"{member.user.email} was {verb}.")
    return redirect("dashboard:team")


def _render_team(request, form):
    members = selectors.team_member_list(merchant=request.merchant)
    return render(request, "accounts/team.html", {
        "form": form,
        "rows": [_member_row(member, request) for member in members],
        "invitations": selectors.invitation_list_pending(merchant=request.merchant),
    })


def _member_row(member, request) -> dict:
    actor = request.membership
    editable = can_assign_role(actor.role, member.role)
    return {"member": member, "is_self": member.pk == actor.pk, "editable": editable,
            "roles": assignable_roles(actor.role) if editable else []}


def _member_or_404(request, membership_id):
    member = selectors.membership_for_user(merchant=request.merchant, membership_id=membership_id)
    if member is None:
        raise Http404("No such team member")
    return member


def _invitation_or_404(request, invitation_id):
    invitation = selectors.invitation_get(merchant=request.merchant, invitation_id=invitation_id)
    if invitation is None:
        raise Http404("No such invitation")
    return invitation


def _send_invitation(request, invitation, token) -> bool:
    accept_url = request.build_absolute_uri(reverse("invite_accept", args=[token]))
    try:
        send_invitation_email(invitation=invitation, accept_url=accept_url, inviter=request.user)
    except Exception:  # the invitation stands; the person can resend once mail works again
        log.exception("invitation email to %s failed", invitation.email)
        messages.warning(request, f"The invitation for {invitation.email} was saved but the email could not be "
                                  "sent. Try “Resend” in a moment.")
        return False
    return True


def invite_accept(request, token):
    """The link in the invitation email. Anyone may open it; accepting needs the invited account."""
    invitation = services.invitation_get_by_token(token=token)
    state, status = _invitation_state(request, invitation)
    error = None
    if request.method == "POST" and state == "ready":
        try:
            membership = services.invitation_accept(token=token, user=request.user)
        except DomainError as exc:
            error = exc.message
        else:
            request.session[SESSION_MERCHANT] = membership.merchant_id
            request.session[SESSION_LIVEMODE] = False
            messages.success(request, f"Welcome to {membership.merchant.public_name}.")
            return redirect("dashboard:home")
    return render(request, "accounts/invite_accept.html",
                  {"invitation": invitation, "state": state, "error": error, "token": token}, status=status)


def _invitation_state(request, invitation) -> tuple[str, int]:
    if invitation is None:
        return "invalid", 404
    if invitation.status == invitation.Status.PENDING and not invitation.is_usable:
        return "expired", 410
    if invitation.status != invitation.Status.PENDING:
        return invitation.status, 410
    if not request.user.is_authenticated:
        return "anonymous", 200
    if request.user.email.lower() != invitation.email:
        return "wrong_user", 200
    return "ready", 200


# --- API keys --------------------------------------------------------------------------------------
@dashboard_view(Permission.API_KEYS)
def api_keys(request):
    """The list for the current mode; a POST creates a key and this response is the only one holding it."""
    mode = "live" if request.livemode else "sandbox"
    form = ApiKeyCreateForm(initial={"mode": mode})
    created = secret = None
    if request.method == "POST":
        form = ApiKeyCreateForm(request.POST)
        if form.is_valid():
            try:
                created, secret = services.api_key_create(
                    merchant=request.merchant, livemode=form.cleaned_data["mode"] == "live",
                    name=form.cleaned_data["name"], created_by=request.user)
            except DomainError as exc:
                add_domain_error(form, exc)
            else:
                form = ApiKeyCreateForm(initial={"mode": mode})
    context = {"form": form, "created": created, "secret": secret, "mode": mode,
               "keys": selectors.api_key_list(merchant=request.merchant, livemode=request.livemode)}
    template = "accounts/api_keys.html#keys-panel" if request.htmx else "accounts/api_keys.html"
    response = render(request, template, context)
    response["Cache-Control"] = "no-store"
    return response


@dashboard_view(Permission.API_KEYS)
@require_POST
def api_key_revoke(request, api_key_id):
    api_key = selectors.api_key_get(merchant=request.merchant, livemode=request.livemode, api_key_id=api_key_id)
    if api_key is None:
        raise Http404("No such API key")
    services.api_key_revoke(api_key=api_key, actor=Actor.for_user(request.user))
    messages.success(request, f"API key “{api_key.name}” ({api_key.masked}) was revoked. Requests using it now fail.")
    return redirect("dashboard:api_keys")

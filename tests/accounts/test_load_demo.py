import re
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings
from rest_framework.test import APIClient

from apps.accounts import demo
from apps.accounts.models import ApiKey, GatewayAccount, Invitation, Membership, Merchant, User, hash_secret
from apps.core.models import Event, StateTransition

KEY_RE = re.compile(r"Sandbox API key:\s+(rk_sandbox_[A-Za-z0-9_-]+)")


def _load() -> tuple[str, str]:
    out = StringIO()
    call_command("load_demo", stdout=out)
    text = out.getvalue()
    match = KEY_RE.search(text)
    assert match, text
    return match.group(1), text


def _snapshot() -> dict:
    return {
        "merchants": Merchant.objects.count(),
        "users": User.objects.count(),
        "memberships": sorted(Membership.objects.values_list("user__email", "role", "status")),
        "invitations": sorted(Invitation.objects.values_list("email", "status")),
        "gateways": GatewayAccount.objects.count(),
        "transitions": StateTransition.objects.count(),
        "merchant": list(Merchant.objects.values()),
    }


def test_load_demo_twice_changes_nothing_but_the_key(db):
    first_key, text = _load()
    assert "RevKeen is ready at http://127.0.0.1:8000" in text
    assert "demo@revkeen.local / demo-password-123" in text
    assert "admin@revkeen.local / admin-password-123" in text
    assert f'curl -H "x-api-key: {first_key}" http://127.0.0.1:8000/v2/events' in text
    before, events_before = _snapshot(), Event.objects.count()

    second_key, text = _load()
    assert second_key != first_key
    assert "was revoked" in text
    assert _snapshot() == before
    assert sorted(Event.objects.order_by("-created_at").values_list("type", flat=True)[:2]) == [
        "api_key.created", "api_key.revoked"]
    assert Event.objects.count() == events_before + 2

    merchant = Merchant.objects.get()
    demo_keys = ApiKey.objects.filter(merchant=merchant, name=demo.DEMO_KEY_NAME)
    assert demo_keys.count() == 2
    assert [k.key_hash for k in demo_keys.filter(revoked_at__isnull=True)] == [hash_secret(second_key)]

    client = APIClient()
    assert client.get("/v2/events", HTTP_X_API_KEY=first_key).status_code == 401
    types = set()
    for family in ("merchant.*", "team.*", "api_key.*"):  # by family: later demo steps add many newer events
        response = client.get(f"/v2/events?type={family}&limit=100", HTTP_X_API_KEY=second_key)
        assert response.status_code == 200
        types |= {e["type"] for e in response.json()["data"]}
    assert {"merchant.created", "merchant.updated", "merchant.onboarding_completed", "team.invitation_created",
            "team.member_joined", "api_key.created", "api_key.revoked"} <= types


def test_demo_merchant_team_and_accounts(db):
    _load()
    merchant = Merchant.objects.get()
    assert (merchant.name, merchant.country, merchant.timezone, merchant.settlement_currency) == (
        "Northwind Coffee Roasters", "GB", "Europe/London", "GBP")
    assert merchant.onboarding_step == Merchant.OnboardingStep.DONE and merchant.onboarding_completed_at
    assert merchant.live_enabled is False
    assert (merchant.brand_color, merchant.accent_color) == (demo.BRANDING["brand_color"], demo.BRANDING["accent_color"])
    assert merchant.support_email and merchant.website
    assert GatewayAccount.objects.get(merchant=merchant).uses_simulator

    roles = dict(Membership.objects.filter(merchant=merchant).values_list("user__email", "role"))
    assert roles.pop(demo.OWNER_EMAIL) == "owner"
    assert sorted(roles.values()) == ["admin", "manager", "support", "viewer"]
    pending = Invitation.objects.get(merchant=merchant, status=Invitation.Status.PENDING)
    assert pending.email == demo.PENDING_INVITATION[0]

    owner = User.objects.get(email=demo.OWNER_EMAIL)
    assert owner.check_password(demo.OWNER_PASSWORD) and not owner.is_staff
    admin = User.objects.get(email=demo.ADMIN_EMAIL)
    assert admin.check_password(demo.ADMIN_PASSWORD) and admin.is_superuser and admin.is_staff
    assert not Membership.objects.filter(user=admin).exists()


def test_a_changed_password_is_reset_but_dashboard_edits_survive(db, client):
    from apps.accounts import services
    from apps.core.actors import Actor

    _load()
    owner = User.objects.get(email=demo.OWNER_EMAIL)
    services.user_set_password(user=owner, password="something-else-entirely")
    merchant = Merchant.objects.get()
    services.merchant_update(merchant=merchant, actor=Actor.for_user(owner), data={"brand_color": "#000000"})
    _load()
    owner.refresh_from_db()
    merchant.refresh_from_db()
    assert owner.check_password(demo.OWNER_PASSWORD)
    assert merchant.brand_color == "#000000"
    assert client.login(email=demo.OWNER_EMAIL, password=demo.OWNER_PASSWORD)


def test_later_apps_extend_the_demo_with_steps(db, monkeypatch):
    seen = []
    monkeypatch.setattr(demo, "STEPS", list(demo.STEPS))

    @demo.demo_step
    def step_catalog(ctx):
        seen.append(ctx.merchant.name)
        ctx.notes.append("Catalog: 3 products")

    _, text = _load()
    assert seen == ["Northwind Coffee Roasters"]
    assert "Catalog: 3 products" in text


def test_refuses_in_service_mode(db):
    with override_settings(RUN_MODE="service"), pytest.raises(CommandError, match="service mode"):
        call_command("load_demo", stdout=StringIO())
    assert not User.objects.filter(email=demo.ADMIN_EMAIL).exists()

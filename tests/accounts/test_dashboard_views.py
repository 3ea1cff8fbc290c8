import pytest
from django.urls import reverse

from apps.accounts.middleware import SESSION_LIVEMODE
from apps.accounts.models import Merchant
from tests.factories import make_api_key, make_member

DASHBOARD = reverse("dashboard:home")
RESTRICTED = ["dashboard:team", "dashboard:api_keys", "dashboard:settings_business", "dashboard:settings_branding"]
OPEN_TO_ALL = ["dashboard:home", "dashboard:activity"]


def test_sandbox_banner_on_every_dashboard_page_in_sandbox(owner_client):
    for name in RESTRICTED + OPEN_TO_ALL:
        response = owner_client.get(reverse(name))
        assert response.status_code == 200, name
        assert b'data-testid="sandbox-banner"' in response.content, name
        assert b"SANDBOX" in response.content


def test_live_is_disabled_with_a_reason_until_the_account_is_reviewed(owner_client):
    page = owner_client.get(DASHBOARD).content.decode()
    assert 'title="Live mode unlocks after account review"' in page
    assert 'value="live"' not in page  # no button that could switch

    response = owner_client.post(reverse("dashboard:mode_switch"), {"mode": "live"}, follow=True)
    assert owner_client.session[SESSION_LIVEMODE] is False
    assert b"Live mode unlocks after account review." in response.content
    assert b'data-testid="sandbox-banner"' in response.content


def test_mode_switch_to_live_and_back(owner_client, shop):
    Merchant.objects.filter(pk=shop.pk).update(live_enabled=True)
    response = owner_client.post(reverse("dashboard:mode_switch"), {"mode": "live", "next": "/dashboard/activity/"})
    assert response.status_code == 302 and response.url == "/dashboard/activity/"
    assert owner_client.session[SESSION_LIVEMODE] is True
    live_page = owner_client.get(DASHBOARD)
    assert b'data-testid="sandbox-banner"' not in live_page.content
    assert live_page.context["livemode"] is True

    owner_client.post(reverse("dashboard:mode_switch"), {"mode": "sandbox"})
    assert owner_client.session[SESSION_LIVEMODE] is False
    assert b'data-testid="sandbox-banner"' in owner_client.get(DASHBOARD).content


def test_mode_switch_ignores_offsite_next(owner_client):
    response = owner_client.post(reverse("dashboard:mode_switch"), {"mode": "sandbox", "next": "https://evil.example/"})
    assert response.url == DASHBOARD


def test_mode_switch_is_post_only(owner_client):
    assert owner_client.get(reverse("dashboard:mode_switch")).status_code == 405


def test_home_shows_real_counts_checklist_and_recent_activity(owner_client, shop):
    make_api_key(shop, name="backend")
    shop.live_enabled = True  # in memory only: lets the service create a live key, which sandbox must not count
    make_api_key(shop, name="other mode", livemode=True)
    page = owner_client.get(DASHBOARD)
    assert page.status_code == 200
    assert page.context["counts"] == {"api_keys": 1, "members": 1, "pending_invitations": 0}
    assert b'data-testid="onboarding-checklist"' in page.content
    assert [e.type for e in page.context["events"]][:2] == ["api_key.created", "merchant.created"]
    assert b"Continue setup" in page.content


def test_home_hides_links_the_role_cannot_use(client, member_client):
    member_client("viewer")
    page = client.get(DASHBOARD).content.decode()
    for name in RESTRICTED:
        assert f'href="{reverse(name)}"' not in page, name
    assert f'href="{reverse("dashboard:activity")}"' in page


@pytest.mark.parametrize("role", ["viewer", "support", "member", "manager"])
def test_roles_without_the_permission_get_403(client, member_client, role):
    member_client(role)
    for name in RESTRICTED:
        response = client.get(reverse(name))
        assert response.status_code == 403, (role, name)
        assert b'data-testid="forbidden"' in response.content
    for name in OPEN_TO_ALL:
        assert client.get(reverse(name)).status_code == 200, (role, name)


@pytest.mark.parametrize("role", ["owner", "admin"])
def test_owners_and_admins_reach_every_page(client, member_client, role):
    member_client(role)
    for name in RESTRICTED + OPEN_TO_ALL:
        assert client.get(reverse(name)).status_code == 200, (role, name)


def test_forbidden_posts_change_nothing(client, member_client, shop):
    member_client("viewer")
    assert client.post(reverse("dashboard:api_keys"), {"name": "x", "mode": "sandbox"}).status_code == 403
    assert client.post(reverse("dashboard:team_invite"), {"email": "a@b.example", "role": "admin"}).status_code == 403
    assert not shop.api_keys.exists() and not shop.invitations.exists()


def test_anonymous_is_sent_to_login(client, db):
    for name in RESTRICTED + OPEN_TO_ALL:
        response = client.get(reverse(name))
        assert response.status_code == 302 and response.url.startswith(reverse("account_login")), name


def test_suspended_member_sees_why_and_cannot_reach_data(client, shop):
    membership = make_member(shop, role="admin", status="suspended")
    client.force_login(membership.user)
    response = client.get(DASHBOARD)
    assert response.status_code == 403 and b"Your access is suspended" in response.content
    assert client.get(reverse("dashboard:team")).status_code == 403
    assert client.get(reverse("onboarding"), follow=True).status_code == 403


def test_settings_business_saves_through_the_service(owner_client, shop):
    data = {"name": "Acme Trading Ltd", "display_name": "Acme", "country": "GB", "timezone": "Europe/London",
            "settlement_currency": "GBP", "support_email": "", "website": "", "support_phone": "+44 20 7946 0000",
            "address": "1 High St", "statement_descriptor": "ACME*SHOP"}
    response = owner_client.post(reverse("dashboard:settings_business"), data, follow=True)
    assert b"Business details saved." in response.content
    shop.refresh_from_db()
    assert (shop.name, shop.statement_descriptor, shop.support_phone) == ("Acme Trading Ltd", "ACME*SHOP",
                                                                         "+44 20 7946 0000")
    assert shop.onboarding_step == "business"  # settings do not advance onboarding


def test_settings_business_errors_leave_the_row_alone(owner_client, shop):
    response = owner_client.post(reverse("dashboard:settings_business"),
                                 {"name": "", "country": "GB", "timezone": "UTC", "settlement_currency": "GBP",
                                  "statement_descriptor": "X" * 30})
    assert response.status_code == 200
    assert response.context["form"].errors.keys() >= {"name", "statement_descriptor"}
    shop.refresh_from_db()
    assert shop.name == "Acme Ltd"


def test_settings_branding_live_preview_and_save(owner_client, shop):
    page = owner_client.get(reverse("dashboard:settings_branding")).content.decode()
    assert "data-brand-preview" in page and "--brand: #4F46E5" in page
    response = owner_client.post(reverse("dashboard:settings_branding"),
                                 {"brand_color": "#0F766E", "accent_color": "#F59E0B"}, follow=True)
    assert b"Branding saved." in response.content
    shop.refresh_from_db()
    assert (shop.brand_color, shop.accent_color) == ("#0F766E", "#F59E0B")


def test_user_in_two_merchants_can_switch(client, shop, other_tenant):
    membership = make_member(shop, role="admin")
    make_member(other_tenant.merchant, role="viewer", user=membership.user)
    client.force_login(membership.user)
    assert client.get(DASHBOARD).context["current_merchant"] == shop
    client.post(reverse("dashboard:merchant_switch"), {"merchant": other_tenant.merchant.pk})
    assert client.get(DASHBOARD).context["current_merchant"] == other_tenant.merchant
    # A merchant the user does not belong to is not there.
    assert client.post(reverse("dashboard:merchant_switch"), {"merchant": "mer_nope"}).status_code == 404


def _queries(client, url):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries.captured_queries)


def test_list_pages_run_a_constant_number_of_queries(owner_client, owner, shop):
    from apps.accounts import services

    owner_client.get(DASHBOARD)  # session and last-active stamp warmed
    pages = [reverse("dashboard:team"), reverse("dashboard:api_keys"), DASHBOARD]
    before = [_queries(owner_client, url) for url in pages]
    for i in range(15):
        make_member(shop, role="viewer")
        make_api_key(shop, name=f"key {i}")
        services.invitation_create(merchant=shop, invited_by=owner, email=f"p{i}@example.com", role="viewer")
    assert [_queries(owner_client, url) for url in pages] == before


def test_branding_keeps_the_logo_unless_replaced_or_removed(owner_client, shop, settings, tmp_path):
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.MEDIA_ROOT = tmp_path
    url = reverse("dashboard:settings_branding")
    colours = {"brand_color": "#4F46E5", "accent_color": "#0EA5E9"}
    png = SimpleUploadedFile("brand.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 32, content_type="image/png")
    owner_client.post(url, {**colours, "logo": png})
    shop.refresh_from_db()
    stored = shop.logo.name
    assert stored.startswith("logos/brand")

    page = owner_client.get(url).content.decode()
    assert "Current logo" in page and 'name="logo-clear"' in page
    owner_client.post(url, {**colours, "accent_color": "#111111"})
    shop.refresh_from_db()
    assert shop.logo.name == stored and shop.accent_color == "#111111"

    owner_client.post(url, {**colours, "logo-clear": "on"})
    shop.refresh_from_db()
    assert not shop.logo

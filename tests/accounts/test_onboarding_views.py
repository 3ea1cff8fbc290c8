import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from apps.accounts import services
from apps.accounts.middleware import SESSION_MERCHANT
from apps.accounts.models import GatewayAccount, Membership, Merchant
from apps.core.models import Event
from tests.factories import UserFactory

BUSINESS = {"name": "Nimbus Labs Ltd", "display_name": "Nimbus", "country": "GB", "timezone": "Europe/London",
            "settlement_currency": "GBP", "support_email": "help@nimbus.example", "website": "nimbus.example"}
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def newcomer(client, db):
    user = UserFactory(email="founder@nimbus.example")
    client.force_login(user)
    return user


def step_url(step):
    return reverse("onboarding_step", args=[step])


def test_root_sends_visitors_to_login_and_members_to_the_dashboard(client, owner):
    assert client.get("/").url == reverse("account_login")
    client.force_login(owner.user)
    assert client.get("/").url == reverse("dashboard:home")


def test_user_without_merchant_is_sent_from_dashboard_to_onboarding(client, newcomer):
    response = client.get(reverse("dashboard:home"))
    assert response.status_code == 302 and response.url == reverse("onboarding")
    assert client.get(reverse("onboarding")).url == step_url("business")
    page = client.get(step_url("business"))
    assert page.status_code == 200
    assert b"Tell us about your business" in page.content
    assert b'value="founder@nimbus.example"' in page.content  # support email prefilled


def test_business_step_creates_the_merchant_with_owner_and_sandbox_gateway(client, newcomer):
    response = client.post(step_url("business"), BUSINESS)
    assert response.status_code == 302 and response.url == step_url("branding")
    merchant = Merchant.objects.get()
    assert (merchant.name, merchant.display_name, merchant.country) == ("Nimbus Labs Ltd", "Nimbus", "GB")
    assert merchant.website == "https://nimbus.example"
    assert merchant.onboarding_step == "branding"
    assert Membership.objects.get(merchant=merchant).role == "owner"
    assert GatewayAccount.objects.get(merchant=merchant, livemode=False).uses_simulator
    assert client.session[SESSION_MERCHANT] == merchant.pk
    assert Event.objects.filter(merchant=merchant, type="merchant.created").count() == 1


@pytest.mark.parametrize("field, value, message", [
    ("name", "", b"This field is required"),
    ("country", "ZZ", b"Select a valid choice"),
    ("settlement_currency", "XXQ", b"Select a valid choice"),
    ("timezone", "Mars/Olympus", b"Select a valid choice"),
    ("support_email", "not-an-email", b"Enter a valid email address"),
])
def test_business_step_bad_input_shows_errors_and_writes_nothing(client, newcomer, field, value, message):
    response = client.post(step_url("business"), {**BUSINESS, field: value})
    assert response.status_code == 200
    assert message in response.content
    assert b"field-error" in response.content
    assert not Merchant.objects.exists() and not Event.objects.exists()


def test_service_validation_errors_are_shown_on_the_form(owner_client, shop):
    services.onboarding_advance(merchant=shop, actor=services.Actor.system(), completed_step="business")
    response = owner_client.post(step_url("branding"), {"brand_color": "red", "accent_color": "#0EA5E9"})
    assert response.status_code == 200
    assert b"Brand colour must be a hex colour like #4F46E5." in response.content
    shop.refresh_from_db()
    assert shop.brand_color == "#4F46E5" and shop.onboarding_step == "branding"


def test_onboarding_resumes_at_the_saved_step_and_refuses_to_skip_ahead(client, newcomer):
    client.post(step_url("business"), BUSINESS)
    assert client.get(reverse("onboarding")).url == step_url("branding")
    assert client.get(step_url("done")).url == step_url("branding")
    back = client.get(step_url("business"))  # earlier steps stay editable
    assert back.status_code == 200 and b'value="Nimbus Labs Ltd"' in back.content


def test_full_flow_branding_logo_gateway_done(client, newcomer, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    client.post(step_url("business"), BUSINESS)
    logo = SimpleUploadedFile("logo.png", PNG, content_type="image/png")
    response = client.post(step_url("branding"), {"brand_color": "#112233", "accent_color": "#445566", "logo": logo})
    assert response.url == step_url("gateway")
    merchant = Merchant.objects.get()
    assert merchant.brand_color == "#112233" and merchant.logo.name.startswith("logos/")

    page = client.get(step_url("gateway"))
    gateway = GatewayAccount.objects.get(merchant=merchant)
    assert b"Connected (sandbox simulator)" in page.content
    assert gateway.api_url.encode() in page.content
    assert gateway.security_key.encode() not in page.content
    assert gateway.security_key[-4:].encode() in page.content
    assert b"live credentials" in page.content.lower()

    assert client.post(step_url("gateway")).url == step_url("done")
    merchant.refresh_from_db()
    assert merchant.onboarding_step == "done" and merchant.onboarding_completed_at is not None
    assert Event.objects.filter(merchant=merchant, type="merchant.onboarding_completed").exists()
    done = client.get(reverse("onboarding"), follow=True)
    assert done.redirect_chain[-1][0] == step_url("done")
    assert reverse("dashboard:api_keys").encode() in done.content


def test_branding_rejects_files_that_are_not_images(owner_client, shop):
    services.onboarding_advance(merchant=shop, actor=services.Actor.system(), completed_step="business")
    fake = SimpleUploadedFile("logo.png", b"<svg onload=alert(1)>", content_type="image/png")
    response = owner_client.post(step_url("branding"), {"brand_color": "#112233", "accent_color": "#445566",
                                                        "logo": fake})
    assert response.status_code == 200 and b"Upload a PNG, JPEG, WebP or GIF image." in response.content
    shop.refresh_from_db()
    assert not shop.logo and shop.brand_color == "#4F46E5"


def test_roles_without_account_settings_cannot_run_onboarding(client, member_client):
    member_client("viewer")
    assert client.get(step_url("business")).status_code == 403
    assert client.get(reverse("onboarding"), follow=True).status_code == 403


def test_submitting_the_first_step_twice_creates_one_merchant(db):
    user = UserFactory()
    data = {k: v for k, v in BUSINESS.items() if k != "website"}
    first = services.onboarding_submit_step(user=user, merchant=None, step="business", data=data)
    again = services.onboarding_submit_step(user=user, merchant=None, step="business", data={**data, "name": "Renamed"})
    assert first.pk == again.pk and Merchant.objects.count() == 1
    assert again.name == "Renamed"


def test_later_steps_need_a_merchant(db):
    with pytest.raises(services.ValidationFailed):
        services.onboarding_submit_step(user=UserFactory(), merchant=None, step="branding", data={})


def test_logo_form_reads_signature_not_extension():
    from apps.accounts.forms import BrandingForm

    form = BrandingForm({"brand_color": "#000000", "accent_color": "#FFFFFF"},
                        {"logo": SimpleUploadedFile("x.gif", io.BytesIO(b"GIF89a" + b"\0" * 10).read())})
    assert form.is_valid(), form.errors

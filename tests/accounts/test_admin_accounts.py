"""Accounts in Django admin: actions and saves go through the services (and leave events), secrets stay hidden."""
import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from apps.accounts.models import ApiKey, GatewayAccount, Merchant, User, hash_secret
from apps.core.models import Event
from tests.factories import UserFactory, make_api_key, make_invitation, make_merchant

APIKEY_LIST = reverse("admin:accounts_apikey_changelist")


def _key(secret: str) -> ApiKey:
    return ApiKey.objects.get(key_hash=hash_secret(secret))


def _run_action(client, url, action, ids, **extra):
    return client.post(url, {"action": action, "index": 0, "_selected_action": ids, **extra}, follow=True)


# --- API keys ---------------------------------------------------------------------------------------
def test_revoke_action_calls_the_service_as_the_operator(admin_client, admin_user):
    merchant = make_merchant(name="Keys Ltd")
    first, second, untouched = (_key(make_api_key(merchant, name=n)) for n in ("one", "two", "three"))
    already = _key(make_api_key(merchant, name="old"))
    _run_action(admin_client, APIKEY_LIST, "revoke_selected", [already.pk])
    response = _run_action(admin_client, APIKEY_LIST, "revoke_selected", [first.pk, second.pk, already.pk])

    assert response.status_code == 200
    assert "Revoked 2 key(s). 1 already revoked." in response.content.decode()
    for key in (first, second, already):
        key.refresh_from_db()
        assert key.revoked_at is not None
    untouched.refresh_from_db()
    assert untouched.revoked_at is None
    events = Event.objects.filter(type="api_key.revoked", object_id__in=[first.pk, second.pk])
    assert events.count() == 2
    assert {(e.actor_type, e.actor_id, e.actor_label) for e in events} == {("user", admin_user.pk, admin_user.email)}
    # Revoking again writes no second event.
    _run_action(admin_client, APIKEY_LIST, "revoke_selected", [first.pk])
    assert Event.objects.filter(type="api_key.revoked", object_id=first.pk).count() == 1


def test_view_only_staff_cannot_revoke(db, client):
    merchant = make_merchant(name="Keys Ltd")
    key = _key(make_api_key(merchant))
    staff = UserFactory(is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_apikey"))
    client.force_login(staff)
    page = client.get(APIKEY_LIST)
    assert page.status_code == 200 and "Revoke selected keys" not in page.content.decode()
    _run_action(client, APIKEY_LIST, "revoke_selected", [key.pk])
    key.refresh_from_db()
    assert key.revoked_at is None


def test_api_key_admin_is_read_only_and_never_shows_the_hash(admin_client):
    merchant = make_merchant(name="Keys Ltd")
    secret = make_api_key(merchant)
    key = _key(secret)
    page = admin_client.get(reverse("admin:accounts_apikey_change", args=[key.pk])).content.decode()
    assert key.masked in page
    assert key.key_hash not in page and secret not in page
    assert 'name="name"' not in page  # no inputs: view only
    assert admin_client.get(reverse("admin:accounts_apikey_add")).status_code == 403
    assert admin_client.post(reverse("admin:accounts_apikey_delete", args=[key.pk]), {"post": "yes"}).status_code == 403
    assert ApiKey.objects.filter(pk=key.pk).exists()


# --- secrets on other pages --------------------------------------------------------------------------
def test_gateway_security_key_is_masked_everywhere(admin_client):
    merchant = make_merchant(name="Gateway Ltd")
    GatewayAccount.objects.filter(merchant=merchant).update(security_key="nmi_live_secret_value_7f3a")
    gateway = GatewayAccount.objects.get(merchant=merchant)
    pages = [
        admin_client.get(reverse("admin:accounts_gatewayaccount_changelist")),
        admin_client.get(reverse("admin:accounts_gatewayaccount_change", args=[gateway.pk])),
        admin_client.get(reverse("admin:accounts_merchant_change", args=[merchant.pk])),  # the inline
    ]
    for page in pages:
        html = page.content.decode()
        assert page.status_code == 200
        assert "nmi_live_secret_value" not in html
        assert "••••••••7f3a" in html


def test_invitation_token_hash_is_not_shown(admin_client):
    merchant = make_merchant(name="Invites Ltd")
    invitation, token = make_invitation(merchant, email="new.person@example.com")
    html = admin_client.get(reverse("admin:accounts_invitation_change", args=[invitation.pk])).content.decode()
    assert "new.person@example.com" in html
    assert invitation.token_hash not in html and token not in html


# --- merchants: edits go through merchant_update / merchant_set_live_enabled ---------------------
def _change_form_data(response) -> dict:
    form = response.context["adminform"].form
    data = {}
    for name, field in form.fields.items():
        value = form.initial.get(name, field.initial)
        if name == "logo":
            continue
        if isinstance(value, bool):
            if value:
                data[name] = "on"
            continue
        data[name] = "" if value is None else value
    for inline in response.context["inline_admin_formsets"]:
        management = inline.formset.management_form
        for key, value in management.initial.items():
            data[f"{inline.formset.prefix}-{key}"] = value
    return data


@pytest.fixture
def merchant_page(admin_client):
    merchant = make_merchant(name="Roastery Ltd", live_enabled=False)
    url = reverse("admin:accounts_merchant_change", args=[merchant.pk])
    response = admin_client.get(url)
    assert response.status_code == 200
    return merchant, url, _change_form_data(response)


def test_merchant_edit_is_saved_by_the_service_with_an_event(admin_client, admin_user, merchant_page):
    merchant, url, data = merchant_page
    response = admin_client.post(url, {**data, "brand_color": "#112233", "support_email": "help@roastery.example"})
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    merchant.refresh_from_db()
    assert merchant.brand_color == "#112233" and merchant.support_email == "help@roastery.example"
    event = Event.objects.filter(merchant=merchant, type="merchant.updated").latest("created_at")
    assert event.actor_type == "user" and event.actor_id == admin_user.pk
    assert set(event.previous_attributes) == {"brand_color", "support_email"}


@pytest.mark.parametrize(("field", "value", "message"), [
    ("brand_color", "blue", "must be a hex colour"),
    ("timezone", "Mars/Olympus_Mons", "is not a known IANA time zone"),
    ("settlement_currency", "ZZZ", "is not an ISO 4217 currency code"),
])
def test_merchant_edit_is_validated_like_the_service(admin_client, merchant_page, field, value, message):
    merchant, url, data = merchant_page
    before = Event.objects.filter(merchant=merchant).count()
    response = admin_client.post(url, {**data, field: value})
    assert response.status_code == 200 and message in response.content.decode()
    merchant.refresh_from_db()
    assert getattr(merchant, field) != value
    assert Event.objects.filter(merchant=merchant).count() == before


def test_live_approval_from_the_form_and_the_actions(admin_client, admin_user, merchant_page):
    merchant, url, data = merchant_page
    assert admin_client.post(url, {**data, "live_enabled": "on"}).status_code == 302
    merchant.refresh_from_db()
    assert merchant.live_enabled is True
    event = Event.objects.filter(merchant=merchant, type="merchant.updated").latest("created_at")
    assert event.previous_attributes == {"live_enabled": False} and event.actor_id == admin_user.pk

    listing = reverse("admin:accounts_merchant_changelist")
    other = make_merchant(name="Second Ltd", live_enabled=False)
    _run_action(admin_client, listing, "withdraw_live", [merchant.pk, other.pk])
    merchant.refresh_from_db()
    assert merchant.live_enabled is False
    response = _run_action(admin_client, listing, "approve_live", [merchant.pk, other.pk])
    assert "2 merchant(s) approved for live payments." in response.content.decode()
    assert set(Merchant.objects.filter(pk__in=[merchant.pk, other.pk]).values_list("live_enabled", flat=True)) == {True}


def test_merchants_cannot_be_added_or_deleted_from_admin(admin_client):
    merchant = make_merchant(name="Keep Ltd")
    assert admin_client.get(reverse("admin:accounts_merchant_add")).status_code == 403
    assert admin_client.post(reverse("admin:accounts_merchant_delete", args=[merchant.pk]),
                             {"post": "yes"}).status_code == 403


# --- users ------------------------------------------------------------------------------------------
def test_user_add_form_is_email_based(admin_client):
    url = reverse("admin:accounts_user_add")
    assert admin_client.get(url).status_code == 200
    response = admin_client.post(url, {"email": "New.Person@Example.com", "name": "New Person", "usable_password": "true",
                                       "password1": "a-long-enough-pass-42", "password2": "a-long-enough-pass-42",
                                       "_save": "Save"})
    assert response.status_code == 302
    user = User.objects.get(email="new.person@example.com")
    assert user.check_password("a-long-enough-pass-42") and not user.is_staff
    assert admin_client.get(reverse("admin:accounts_user_change", args=[user.pk])).status_code == 200

    duplicate = admin_client.post(url, {"email": "NEW.person@example.com", "usable_password": "true",
                                        "password1": "a-long-enough-pass-42", "password2": "a-long-enough-pass-42"})
    assert duplicate.status_code == 200 and "already uses that email" in duplicate.content.decode()
    assert User.objects.filter(email__iexact="new.person@example.com").count() == 1

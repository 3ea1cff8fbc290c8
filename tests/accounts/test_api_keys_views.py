from django.urls import reverse

from apps.accounts.models import ApiKey, Merchant, hash_secret
from tests.factories import make_api_key

KEYS = reverse("dashboard:api_keys")


def create(client, name="Backend", mode="sandbox", **headers):
    return client.post(KEYS, {"name": name, "mode": mode}, **headers)


def test_created_key_is_shown_once_and_works_against_the_api(owner_client, owner, client, shop):
    response = create(owner_client)
    assert response.status_code == 200
    secret = response.context["secret"]
    content = response.content.decode()
    assert secret.startswith("rk_sandbox_") and 'data-testid="new-api-key"' in content and secret in content
    assert "will not be shown again" in content
    assert response["Cache-Control"] == "no-store"
    key = ApiKey.objects.get(merchant=shop)
    assert key.key_hash == hash_secret(secret) and key.created_by == owner.user

    again = owner_client.get(KEYS).content.decode()
    assert secret not in again and 'data-testid="new-api-key"' not in again
    assert key.masked in again
    assert secret not in str(dict(owner_client.session))

    api = client.get("/v2/events", HTTP_X_API_KEY=secret)
    assert api.status_code == 200
    assert "api_key.created" in {event["type"] for event in api.json()["data"]}


def test_htmx_create_swaps_only_the_panel(owner_client):
    response = create(owner_client, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="keys-panel")
    content = response.content.decode()
    assert response.status_code == 200 and "<html" not in content and 'id="keys-panel"' in content
    assert response.context["secret"] in content


def test_name_is_required(owner_client, shop):
    response = create(owner_client, name="  ")
    assert response.status_code == 200 and "This field is required." in response.content.decode()
    assert not ApiKey.objects.filter(merchant=shop).exists()


def test_live_key_before_review_shows_the_service_error(owner_client, shop):
    response = create(owner_client, mode="live")
    assert "Live keys are available once your account is approved for live payments." in response.content.decode()
    assert response.context["secret"] is None
    assert not ApiKey.objects.filter(merchant=shop).exists()


def test_live_key_once_approved(owner_client, shop):
    Merchant.objects.filter(pk=shop.pk).update(live_enabled=True)
    response = create(owner_client, mode="live")
    assert response.context["secret"].startswith("rk_live_")


def test_list_shows_only_the_current_modes_keys(owner_client, shop, other_tenant):
    make_api_key(shop, name="sandbox-one")
    make_api_key(other_tenant.merchant, name="not-ours")
    Merchant.objects.filter(pk=shop.pk).update(live_enabled=True)
    make_api_key(Merchant.objects.get(pk=shop.pk), livemode=True, name="live-one")
    page = owner_client.get(KEYS).content.decode()
    assert "sandbox-one" in page and "live-one" not in page and "not-ours" not in page
    owner_client.post(reverse("dashboard:mode_switch"), {"mode": "live"})
    page = owner_client.get(KEYS).content.decode()
    assert "live-one" in page and "sandbox-one" not in page


def test_revoke(owner_client, client, shop):
    secret = make_api_key(shop, name="old")
    key = ApiKey.objects.get(merchant=shop)
    response = owner_client.post(reverse("dashboard:api_key_revoke", args=[key.pk]), follow=True)
    assert "was revoked" in response.content.decode()
    key.refresh_from_db()
    assert key.revoked_at is not None
    assert "Revoked" in response.content.decode()
    assert client.get("/v2/events", HTTP_X_API_KEY=secret).status_code == 401


def test_keys_of_another_mode_or_merchant_are_404(owner_client, shop, other_tenant):
    Merchant.objects.filter(pk=shop.pk).update(live_enabled=True)
    make_api_key(Merchant.objects.get(pk=shop.pk), livemode=True)
    live_key = ApiKey.objects.get(merchant=shop, livemode=True)
    foreign = ApiKey.objects.filter(merchant=other_tenant.merchant).first()
    for key in (live_key, foreign):
        assert owner_client.post(reverse("dashboard:api_key_revoke", args=[key.pk])).status_code == 404
        key.refresh_from_db()
        assert key.revoked_at is None

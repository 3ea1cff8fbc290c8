"""The small services the admin and the demo loader use: users, live approval, merchant field checks."""
import pytest
from allauth.account.models import EmailAddress

from apps.accounts import services
from apps.accounts.models import Merchant, User
from apps.core.actors import Actor
from apps.core.errors import ValidationFailed
from apps.core.models import Event
from tests.factories import make_merchant


def test_user_create_normalises_email_and_refuses_duplicates(db):
    user = services.user_create(email="  Ops.Person@Example.COM ", password="long-enough-pass-1", name="Ops",
                                email_verified=True)
    assert user.email == "ops.person@example.com" and user.check_password("long-enough-pass-1")
    assert not user.is_staff and not user.is_superuser
    address = EmailAddress.objects.get(user=user)
    assert address.primary and address.verified and address.email == user.email
    with pytest.raises(ValidationFailed) as excinfo:
        services.user_create(email="OPS.person@example.com", password="x")
    assert excinfo.value.fields == {"email": ["already registered"]}
    with pytest.raises(ValidationFailed):
        services.user_create(email="not-an-email", password="x")
    assert User.objects.count() == 1


def test_superuser_creation(db):
    admin = services.user_create(email="root@example.com", password="long-enough-pass-1", is_superuser=True)
    assert admin.is_superuser and admin.is_staff


def test_live_approval_is_idempotent_and_recorded(db):
    merchant = make_merchant(name="Live Ltd", live_enabled=False)
    operator = Actor("user", "usr_operator", "ops@revkeen.local")
    for _ in range(2):
        merchant = services.merchant_set_live_enabled(merchant=merchant, enabled=True, actor=operator)
    assert Merchant.objects.get(pk=merchant.pk).live_enabled is True
    events = Event.objects.filter(merchant=merchant, type="merchant.updated")
    assert events.count() == 1
    event = events.get()
    assert event.previous_attributes == {"live_enabled": False} and event.data["live_enabled"] is True
    assert (event.actor_type, event.actor_id) == ("user", "usr_operator")
    services.merchant_set_live_enabled(merchant=merchant, enabled=False, actor=operator)
    assert events.count() == 2 and Merchant.objects.get(pk=merchant.pk).live_enabled is False


def test_merchant_clean_fields_is_the_services_validation():
    assert services.merchant_clean_fields(data={"country": "gb", "settlement_currency": "gbp"}) == {
        "country": "GB", "settlement_currency": "GBP"}
    with pytest.raises(ValidationFailed) as excinfo:
        services.merchant_clean_fields(data={"brand_color": "red", "timezone": "Nowhere/Special"})
    assert set(excinfo.value.fields) == {"brand_color", "timezone"}

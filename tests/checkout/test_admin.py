"""Operators' console for checkout: every model's list and change page answer, read-only, with money
formatted and secrets (client secret, code and token hashes) never shown; pages cost the same queries for
few and many rows."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib import admin
from django.contrib.admin.utils import quote
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.checkout import services
from apps.checkout.models import (
    CheckoutSession,
    CheckoutSessionItem,
    CheckoutSettings,
    CheckoutVerificationCode,
    PaymentLink,
    PaymentLinkItem,
    TrustedDevice,
)
from apps.core.actors import Actor
from apps.core.clock import now
from tests.factories import make_customer, make_price, make_product

pytestmark = pytest.mark.django_db
ACTOR = Actor.system("tests")
MODELS = [PaymentLink, CheckoutSession, CheckoutSettings, CheckoutVerificationCode, TrustedDevice]


def populate(sandbox, n=1, start=0):
    services.checkout_settings_for(sandbox.merchant)
    for i in range(start, start + n):
        product = make_product(sandbox, name=f"Grinder {i}")
        price = make_price(sandbox, product, currency="GBP", unit_amount_minor=12_900)
        link = services.payment_link_create(tenant=sandbox, actor=ACTOR, name=f"Link {i}",
                                            items=[services.LinkItemInput(price=price, quantity=2)],
                                            custom_fields=[{"key": "gift", "label": "Gift message"}])
        session = services.payment_link_start_session(link=link, actor=ACTOR)
        customer = make_customer(sandbox, name=f"Ada {i}", email=f"ada{i}@example.com")
        CheckoutVerificationCode.objects.create(merchant=sandbox.merchant, livemode=False, session=session,
                                                customer=customer, code_hash=f"secret-code-hash-{i}",
                                                expires_at=now() + timedelta(minutes=10))
        TrustedDevice.objects.create(merchant=sandbox.merchant, livemode=False, customer=customer,
                                     token_hash=f"secret-token-hash-{i}", expires_at=now() + timedelta(days=30))


def urls(model):
    info = (model._meta.app_label, model._meta.model_name)
    first = model._base_manager.order_by("pk").first()
    return (reverse("admin:{}_{}_changelist".format(*info)),
            reverse("admin:{}_{}_change".format(*info), args=[quote(first.pk)]))


def _queries(client, url):
    client.get(url)
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return len(ctx.captured_queries), response


def test_every_checkout_model_is_registered():
    inline_models = [inline.model for admin_cls in admin.site._registry.values() for inline in admin_cls.inlines]
    for model in MODELS:
        assert model in admin.site._registry, model
    assert PaymentLinkItem in inline_models and CheckoutSessionItem in inline_models


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_pages_answer_are_read_only_and_do_not_grow_with_rows(admin_client, sandbox, model):
    populate(sandbox, 1)
    changelist, change = urls(model)
    few = (_queries(admin_client, changelist)[0], _queries(admin_client, change)[0])
    populate(sandbox, 3, start=1)
    assert (_queries(admin_client, changelist)[0], _queries(admin_client, change)[0]) == few
    assert admin_client.get(changelist, {"q": "nothing-matches"}).status_code == 200
    info = (model._meta.app_label, model._meta.model_name)
    assert admin_client.get(reverse("admin:{}_{}_add".format(*info))).status_code == 403
    assert admin_client.post(change, {}).status_code == 403


def test_money_items_and_no_secrets(admin_client, sandbox):
    populate(sandbox, 1)
    link = PaymentLink.objects.get()
    PaymentLink.objects.filter(pk=link.pk).update(revenue_minor=25_800)
    body = _queries(admin_client, reverse("admin:checkout_paymentlink_change", args=[quote(link.pk)]))[1]
    text = body.content.decode()
    assert "£258.00" in text and "Gift message" in text and link.items.get().price_id in text
    session = CheckoutSession.objects.get()
    text = _queries(admin_client, reverse("admin:checkout_checkoutsession_change",
                                          args=[quote(session.pk)]))[1].content.decode()
    assert "£258.00" in text  # 2 × £129.00
    assert session.client_secret not in text
    for model, secret in ((CheckoutVerificationCode, "secret-code-hash-0"), (TrustedDevice, "secret-token-hash-0")):
        assert secret not in _queries(admin_client, urls(model)[1])[1].content.decode()
    found = admin_client.get(reverse("admin:checkout_checkoutsession_changelist"), {"q": link.pk})
    assert found.context["cl"].result_count == 1

"""The dashboard's checkout pages: payment links list (analytics columns, status filter, constant query
count), detail (share URL, inline QR code, recent sessions, status actions), the builder (creates through
the service; bad input is form errors and writes nothing; live preview), the checkout appearance settings
(owners/admins only, validation, live preview). Roles and tenancy: another merchant's link is a 404."""
from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.checkout import services
from apps.checkout.models import CheckoutSession, CheckoutSettings, PaymentLink
from apps.core.actors import Actor
from apps.core.models import Event
from tests.factories import make_price, make_product

pytestmark = pytest.mark.django_db
ACTOR = Actor.system("tests")
BUYER = Actor("customer", "", "buyer@example.com")
LIST = reverse("dashboard:payment_links")
NEW = reverse("dashboard:payment_link_new")
SETTINGS = reverse("dashboard:settings_checkout")


def detail_url(link) -> str:
    return reverse("dashboard:payment_link_detail", args=[link.pk])


def _price(tenant, name="Espresso grinder", amount=12_900, currency="GBP", **fields):
    product = make_product(tenant, name=name, features=["Conical burrs", "40 grind settings"])
    return make_price(tenant, product, currency=currency, unit_amount_minor=amount, **fields)


def _link(tenant, name="Grinder", price=None, **options):
    price = price or _price(tenant)
    return services.payment_link_create(tenant=tenant, actor=ACTOR, name=name,
                                        items=[services.LinkItemInput(price=price)], **options)


def _with_history(link, *, views=10, started=4, completed=1, revenue=12_900):
    PaymentLink.objects.filter(pk=link.pk).update(views_count=views, sessions_started_count=started,
                                                  uses_count=completed, revenue_minor=revenue)
    link.refresh_from_db()
    return link


# --- list ---------------------------------------------------------------------------------------------
def test_list_shows_each_link_with_its_analytics(owner_client, sandbox):
    link = _with_history(_link(sandbox))
    response = owner_client.get(LIST)
    assert response.status_code == 200
    body = response.content.decode()
    assert link.pk in body and "Grinder" in body and "£129.00" in body  # price summary and revenue
    rows = response.context["rows"]
    (shown, stats, _tone), = rows
    assert (stats.views, stats.started, stats.completed) == (10, 4, 1)
    assert stats.conversion == "10.0%" and stats.abandonment == "75.0%"  # completions ÷ views; not completed ÷ started
    assert 'data-testid="nav-payment-links"' in body


def test_list_filters_by_status(owner_client, sandbox):
    active = _link(sandbox, name="Active one")
    paused = _link(sandbox, name="Paused one")
    services.payment_link_set_status(tenant=sandbox, actor=ACTOR, link=paused, status="inactive")
    ids = [link.pk for link, _, _ in owner_client.get(LIST, {"status": "inactive"}).context["rows"]]
    assert ids == [paused.pk]
    ids = [link.pk for link, _, _ in owner_client.get(LIST, {"status": "bogus"}).context["rows"]]
    assert set(ids) == {active.pk, paused.pk}
    partial = owner_client.get(LIST, {"status": "active"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="link-results")
    assert "<html" not in partial.content.decode() and "Active one" in partial.content.decode()


def test_list_runs_a_constant_number_of_queries(owner_client, sandbox):
    _link(sandbox, name="First")
    owner_client.get(LIST)
    with CaptureQueriesContext(connection) as few:
        owner_client.get(LIST)
    for i in range(4):
        price = _price(sandbox, name=f"Product {i}")
        services.payment_link_create(tenant=sandbox, actor=ACTOR, name=f"Two prices {i}", items=[
            services.LinkItemInput(price=price), services.LinkItemInput(price=_price(sandbox, name=f"Extra {i}"))])
    with CaptureQueriesContext(connection) as many:
        response = owner_client.get(LIST)
    assert len(response.context["rows"]) == 5
    assert len(many.captured_queries) == len(few.captured_queries)


def test_list_hides_other_merchants_and_the_other_mode(owner_client, sandbox, other_tenant):
    from apps.core.tenancy import Tenant

    mine = _link(sandbox, name="Mine")
    theirs = _link(Tenant(other_tenant.merchant, False), name="Theirs")
    live = _link(Tenant(sandbox.merchant, True), name="Live one")
    body = owner_client.get(LIST).content.decode()
    assert mine.pk in body and theirs.pk not in body and live.pk not in body
    assert owner_client.get(detail_url(theirs)).status_code == 404
    assert owner_client.get(detail_url(live)).status_code == 404
    status_url = reverse("dashboard:payment_link_status", args=[theirs.pk])
    assert owner_client.post(status_url, {"status": "inactive"}).status_code == 404
    assert PaymentLink.objects.get(pk=theirs.pk).status == "active"


# --- detail -------------------------------------------------------------------------------------------
def test_detail_shows_share_url_qr_code_analytics_and_recent_sessions(owner_client, sandbox):
    link = _link(sandbox)
    session = services.payment_link_start_session(link=link, actor=BUYER)
    CheckoutSession.objects.filter(pk=session.pk).update(customer_email="ada@example.com", last_step="email")
    response = owner_client.get(detail_url(link))
    body = response.content.decode()
    assert response.status_code == 200
    assert f"/pay/{link.pk}" in body and 'data-copy="#share-url"' in body
    assert "<svg" in body and 'class="segno"' in body  # the QR code, inline, made on the server
    assert "ada@example.com" in body and "Email entered" in body and "£129.00" in body
    assert 'data-testid="stat-started">1<' in body
    assert [a[0] for a in response.context["actions"]] == ["inactive", "expired", "archived"]
    assert "data-confirm=" in body  # archive and expire ask first


def test_status_actions_pause_activate_expire_and_archive(owner_client, sandbox):
    link = _link(sandbox)
    url = reverse("dashboard:payment_link_status", args=[link.pk])
    for status in ("inactive", "active", "expired", "active", "archived"):
        response = owner_client.post(url, {"status": status})
        assert response.status_code == 302
        assert PaymentLink.objects.get(pk=link.pk).status == status
    assert Event.objects.filter(type="payment_link.updated", object_id=link.pk).count() == 5
    owner_client.post(url, {"status": "active"})  # archived is final: refused, nothing changes
    assert PaymentLink.objects.get(pk=link.pk).status == "archived"
    assert owner_client.get(detail_url(link)).context["actions"] == []


def test_viewers_see_links_but_cannot_change_or_create_them(login_as, sandbox):
    link = _link(sandbox)
    client = login_as("viewer")
    assert client.get(LIST).status_code == 200
    detail = client.get(detail_url(link))
    assert detail.status_code == 200 and detail.context["actions"] == []
    url = reverse("dashboard:payment_link_status", args=[link.pk])
    assert client.post(url, {"status": "inactive"}).status_code == 403
    assert client.get(NEW).status_code == 403
    assert PaymentLink.objects.get(pk=link.pk).status == "active"


# --- builder ------------------------------------------------------------------------------------------
def _builder_data(price, **extra):
    return {"price_0": price.pk, "quantity_0": "2", "min_quantity_0": "1", "max_quantity_0": "5",
            "name": "Grinder bundle", **extra}


def test_builder_creates_a_link_through_the_service(owner_client, sandbox):
    price = _price(sandbox)
    response = owner_client.post(NEW, _builder_data(
        price, allow_quantity="on", allow_discount_codes="on", require_terms="on", max_uses="50",
        success_url="https://shop.example/thanks", custom_fields="Gift message\nSize*: S, M, L"))
    link = PaymentLink.objects.get()
    assert response.status_code == 302 and response.url == detail_url(link)
    assert (link.name, link.currency, link.allow_quantity, link.allow_discount_codes, link.require_terms) == (
        "Grinder bundle", "GBP", True, True, True)
    assert link.max_uses == 50 and link.success_url == "https://shop.example/thanks"
    assert link.custom_fields == [
        {"key": "gift_message", "label": "Gift message", "type": "text", "required": False},
        {"key": "size", "label": "Size", "type": "select", "required": True, "options": ["S", "M", "L"]}]
    item = link.items.get()
    assert (item.price_id, item.quantity, item.min_quantity, item.max_quantity) == (price.pk, 2, 1, 5)
    assert Event.objects.filter(type="payment_link.created", object_id=link.pk).count() == 1


@pytest.mark.parametrize("bad, field", [
    ({"price_0": ""}, "price_0"),
    ({"quantity_0": "9", "max_quantity_0": "5"}, None),  # the service's quantity rule, shown at the top
    ({"max_uses": "0"}, "max_uses"),
    ({"success_url": "not a url"}, "success_url"),
    ({"expires_on": "2001-01-01"}, "expires_at"),
    ({"custom_fields": "a\nb\nc\nd\ne\nf"}, "custom_fields"),
])
def test_builder_bad_input_is_form_errors_and_writes_nothing(owner_client, sandbox, bad, field):
    price = _price(sandbox)
    response = owner_client.post(NEW, {**_builder_data(price), **bad})
    assert response.status_code == 200
    form = response.context["form"]
    assert form.errors
    if field and field != "expires_at":
        assert field in form.errors
    assert PaymentLink.objects.count() == 0 and not Event.objects.filter(type="payment_link.created").exists()


def test_builder_refuses_two_currencies_and_other_merchants_prices(owner_client, sandbox, other_tenant):
    from apps.core.tenancy import Tenant

    gbp, usd = _price(sandbox), _price(sandbox, name="Scale", currency="USD", amount=4_900)
    response = owner_client.post(NEW, {**_builder_data(gbp), "price_1": usd.pk})
    assert "one currency" in str(response.context["form"].non_field_errors())
    theirs = _price(Tenant(other_tenant.merchant, False), name="Not yours")
    response = owner_client.post(NEW, _builder_data(theirs))
    assert "price_0" in response.context["form"].errors  # not even offered
    assert theirs.pk not in owner_client.get(NEW).content.decode()
    assert PaymentLink.objects.count() == 0


def test_builder_live_preview_shows_what_the_buyer_sees(owner_client, sandbox):
    price = _price(sandbox)
    response = owner_client.get(reverse("dashboard:payment_link_preview"), {
        "price_0": price.pk, "quantity_0": "2", "allow_discount_codes": "on", "collect_shipping_address": "on",
        "custom_fields": "Gift message"}, HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert response.status_code == 200 and "<html" not in body
    assert "Espresso grinder" in body and "Conical burrs" in body and "£258.00" in body  # 2 × £129
    assert 'data-testid="preview-discount"' in body and 'data-testid="preview-shipping"' in body
    assert "Gift message" in body and "Pay £258.00" in body
    assert PaymentLink.objects.count() == 0


# --- appearance settings ------------------------------------------------------------------------------
SETTINGS_DATA = {"background_color": "#fef3c7", "button_text": "Buy now", "name_field": "required",
                 "phone_field": "optional", "shipping_field": "hidden", "billing_address": "full",
                 "discount_field": "always", "terms_text": "I agree to the terms of sale",
                 "terms_url": "https://shop.example/terms", "privacy_url": "https://shop.example/privacy",
                 "custom_fields": "Company size: 1-10, 11-50", "success_message": "Thanks!",
                 "show_price_breakdown": ""}


def test_settings_save_every_field(owner_client, sandbox):
    assert owner_client.get(SETTINGS).status_code == 200
    response = owner_client.post(SETTINGS, SETTINGS_DATA)
    assert response.status_code == 302
    saved = CheckoutSettings.objects.get(merchant=sandbox.merchant)
    assert (saved.background_color, saved.button_text, saved.name_field, saved.phone_field, saved.billing_address,
            saved.discount_field, saved.show_price_breakdown) == (
        "#FEF3C7", "Buy now", "required", "optional", "full", "always", False)
    assert saved.terms_url == "https://shop.example/terms" and saved.success_message == "Thanks!"
    assert saved.custom_fields == [{"key": "company_size", "label": "Company size", "type": "select",
                                    "required": False, "options": ["1-10", "11-50"]}]
    assert Event.objects.filter(type="checkout_settings.updated").count() == 1
    owner_client.post(SETTINGS, SETTINGS_DATA)  # no change: no event
    assert Event.objects.filter(type="checkout_settings.updated").count() == 1
    page = owner_client.get(SETTINGS).content.decode()
    assert "Company size: 1-10, 11-50" in page and 'data-testid="nav-settings-checkout"' in page


def test_settings_bad_input_is_form_errors_and_nothing_changes(owner_client, sandbox):
    before = services.checkout_settings_for(sandbox.merchant)
    for bad in ({"background_color": "red"}, {"button_text": ""}, {"name_field": "sometimes"},
                {"terms_url": "ftp://x"}, {"custom_fields": "Size:"}):
        response = owner_client.post(SETTINGS, {**SETTINGS_DATA, **bad})
        assert response.status_code == 200 and response.context["form"].errors, bad
    after = CheckoutSettings.objects.get(merchant=sandbox.merchant)
    assert (after.button_text, after.background_color) == (before.button_text, before.background_color)
    assert not Event.objects.filter(type="checkout_settings.updated").exists()


def test_settings_service_refuses_unknown_fields_and_bad_values(sandbox):
    from apps.core.errors import ValidationFailed

    with pytest.raises(ValidationFailed) as exc:
        services.checkout_settings_update(tenant=sandbox, actor=ACTOR, changes={"logo": "x", "button_text": "x" * 41})
    assert set(exc.value.fields) == {"logo", "button_text"}


def test_settings_preview_reflects_the_values_typed(owner_client, sandbox):
    _price(sandbox)
    response = owner_client.get(reverse("dashboard:settings_checkout_preview"),
                                {**SETTINGS_DATA, "show_price_breakdown": "on"}, HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert "#FEF3C7" in body and "Buy now" in body and 'data-testid="preview-phone"' in body
    assert "Company size" in body and "I agree to the terms of sale" in body
    assert CheckoutSettings.objects.get(merchant=sandbox.merchant).button_text == "Pay"  # nothing saved


@pytest.mark.parametrize("role, allowed", [("admin", True), ("manager", False), ("viewer", False)])
def test_settings_are_for_owners_and_admins(login_as, sandbox, role, allowed):
    client = login_as(role)
    assert client.get(SETTINGS).status_code == (200 if allowed else 403)
    response = client.post(SETTINGS, SETTINGS_DATA)
    assert response.status_code == (302 if allowed else 403)
    assert CheckoutSettings.objects.filter(merchant=sandbox.merchant, button_text="Buy now").exists() == allowed

"""Dashboard: the discounts list, create form, and detail page (usage, edit, deactivate, delete)."""
from datetime import timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from apps.catalog import services
from apps.catalog.models import Discount
from apps.core.actors import Actor
from apps.core.clock import now
from apps.core.money import Money
from apps.core.tenancy import Tenant as CoreTenant
from tests.catalog.helpers import catalog_events, catalog_rows, form_fields, htmx
from tests.factories import make_discount, make_merchant, make_price, make_product

LIST = reverse("dashboard:discounts")
NEW = reverse("dashboard:discount_new")


def detail(discount):
    return reverse("dashboard:discount_detail", args=[discount.pk])


def codes(response) -> list[str]:
    return [d.code for d in response.context["page"].object_list]


def redeem(tenant, discount, amount: Money | None = None, customer="buyer@example.com"):
    return services.discount_redeem(tenant=tenant, actor=Actor.system(), discount_id=discount.pk,
                                    amount=amount or Money(2000, "GBP"), customer=customer)


BASE = {"type": "percentage", "duration": "once", "scope": "entire_order", "currency": "GBP"}


# --- list --------------------------------------------------------------------------------------------
def test_list_shows_value_duration_redemptions_status_and_expiry(owner_client, sandbox):
    soon = now() + timedelta(days=30)
    welcome = make_discount(sandbox, code="WELCOME10", percent_off=Decimal("12.5"), max_redemptions=100,
                            expires_at=soon)
    make_discount(sandbox, code="FIVEOFF", type="fixed", amount_off_minor=500, currency="GBP",
                  amounts_off=[{"currency": "EUR", "amount_off_minor": 600}])
    make_discount(sandbox, code="TRIAL14", type="free_trial", trial_days=14)
    make_discount(sandbox, code="CLUB3", duration="repeating", duration_in_periods=3)
    make_discount(sandbox, code="FOREVER", duration="forever", active=False)
    expired = make_discount(sandbox, code="OLD")
    Discount.objects.filter(pk=expired.pk).update(expires_at=now() - timedelta(days=1))  # time has passed
    redeem(sandbox, welcome)

    html = owner_client.get(LIST).content.decode()
    for text in ("WELCOME10", "12.5% off", "1 / 100", soon.strftime("%Y"), "£5.00 / €6.00 off",
                 "14-day free trial", "3 billing periods", "Forever", 'badge-green">Active', 'badge-gray">Inactive',
                 'badge-gray">Expired'):
        assert text in html, text
    assert html.count('data-testid="discount-row"') == 6


def test_search_by_code_filter_and_htmx_partial(owner_client, sandbox):
    make_discount(sandbox, code="SUMMER20", name="Summer sale")
    make_discount(sandbox, code="WINTER5")
    off = make_discount(sandbox, code="SUMMER10")
    services.discount_update(tenant=sandbox, actor=Actor.system(), discount_id=off.pk, data={"active": False})

    assert sorted(codes(owner_client.get(LIST, {"q": "summer"}))) == ["SUMMER10", "SUMMER20"]
    assert codes(owner_client.get(LIST, {"q": "sale"})) == ["SUMMER20"]
    assert sorted(codes(owner_client.get(LIST, {"status": "active"}))) == ["SUMMER20", "WINTER5"]
    assert codes(owner_client.get(LIST, {"status": "inactive"})) == ["SUMMER10"]
    partial = owner_client.get(LIST, {"q": "win"}, **htmx("discount-results")).content.decode()
    assert "<html" not in partial and "WINTER5" in partial and "SUMMER20" not in partial
    assert "No discounts match" in owner_client.get(LIST, {"q": "nope"}).content.decode()


def test_empty_list_invites_to_create_one(owner_client):
    html = owner_client.get(LIST).content.decode()
    assert 'data-testid="discounts-empty"' in html and f'href="{NEW}"' in html


def test_list_pages(owner_client, sandbox):
    Discount.objects.bulk_create([Discount(merchant=sandbox.merchant, livemode=False, code=f"C{i:02}",
                                           type="percentage", percent_off=Decimal(5)) for i in range(27)])
    assert len(owner_client.get(LIST).context["page"].object_list) == 25
    assert len(owner_client.get(LIST, {"page": 2}).context["page"].object_list) == 2


# --- create ----------------------------------------------------------------------------------------------
def test_create_each_type_through_the_service(owner_client, sandbox):
    product = make_product(sandbox, name="Coffee Club")
    price = make_price(sandbox, product, currency="GBP", unit_amount_minor=1200)
    starts = (now() + timedelta(days=1)).astimezone(ZoneInfo(sandbox.merchant.timezone))
    response = owner_client.post(NEW, {
        **BASE, "code": "welcome10", "name": "Welcome", "percent_off": "10", "max_redemptions": "100",
        "max_redemptions_per_customer": "1", "first_time_customer_only": "on",
        "starts_at": starts.strftime("%Y-%m-%dT%H:%M"), "expires_at": "2099-12-31T23:59",
        "scope": "specific_products", "products": [product.pk], "prices": [price.pk],
        "minimum_amount": "20", "minimum_amount_currency": "GBP",
        # Fields of other types are ignored for a percentage discount.
        "amount_off": "nonsense", "trial_days": "7"})
    welcome = Discount.objects.get(code="welcome10")
    assert response.status_code == 302 and response.url == detail(welcome)
    assert (welcome.type, welcome.percent_off, welcome.max_redemptions, welcome.max_redemptions_per_customer,
            welcome.first_time_customer_only, welcome.minimum_amount_minor, welcome.minimum_amount_currency,
            welcome.scope, welcome.trial_days) == ("percentage", Decimal("10"), 100, 1, True, 2000, "GBP",
                                                   "specific_products", None)
    assert welcome.expires_at.year == 2099 and welcome.starts_at is not None
    assert list(welcome.products.values_list("pk", flat=True)) == [product.pk]
    assert list(welcome.prices.values_list("pk", flat=True)) == [price.pk]

    owner_client.post(NEW, {**BASE, "type": "fixed", "code": "FIVE", "amount_off": "5", "currency": "GBP",
                            "other_amounts": "eur 6.00\nJPY 800", "duration": "forever"})
    five = Discount.objects.get(code="FIVE")
    assert [(a.currency, a.amount_off_minor) for a in five.amount_list()] == [("GBP", 500), ("EUR", 600), ("JPY", 800)]
    assert five.duration == "forever"

    owner_client.post(NEW, {**BASE, "type": "free_trial", "code": "TRY30", "trial_days": "30",
                            "duration": "repeating", "duration_in_periods": "9"})
    trial = Discount.objects.get(code="TRY30")
    assert (trial.trial_days, trial.duration, trial.duration_in_periods) == (30, "once", None)

    owner_client.post(NEW, {**BASE, "code": "CLUB3", "percent_off": "15", "duration": "repeating",
                            "duration_in_periods": "3", "scope": "subscription_only"})
    club = Discount.objects.get(code="CLUB3")
    assert (club.duration, club.duration_in_periods, club.scope) == ("repeating", 3, "subscription_only")
    assert catalog_events(sandbox.merchant).filter(type="discount.created").count() == 4


@pytest.mark.parametrize("fields, field", [
    ({"code": "DUP"}, "code"),
    ({"code": "dup"}, "code"),  # codes are case-insensitive
    ({"code": "has space"}, "code"),
    ({"percent_off": "150"}, "percent_off"),
    ({"percent_off": ""}, "percent_off"),
    ({"type": "fixed", "amount_off": "-5"}, "amount_off"),
    ({"type": "fixed", "amount_off": "0"}, "amount_off"),
    ({"type": "fixed", "amount_off": "", "other_amounts": ""}, "amount_off"),
    ({"type": "fixed", "amount_off": "5", "currency": ""}, "currency"),
    ({"type": "fixed", "amount_off": "5", "other_amounts": "XYZ 5"}, "other_amounts"),
    ({"type": "fixed", "amount_off": "5", "other_amounts": "GBP 6"}, "other_amounts"),
    ({"type": "free_trial", "trial_days": ""}, "trial_days"),
    ({"duration": "repeating", "duration_in_periods": ""}, "duration_in_periods"),
    ({"expires_at": "2001-01-01T00:00"}, "expires_at"),
    ({"starts_at": "2098-01-01T00:00", "expires_at": "2097-01-01T00:00"}, "expires_at"),
    ({"scope": "specific_products"}, "products"),
    ({"minimum_amount": "-1", "minimum_amount_currency": "GBP"}, "minimum_amount"),
    ({"minimum_amount": "10"}, "minimum_amount_currency"),
    ({"max_redemptions": "0"}, "max_redemptions"),
])
def test_bad_discount_input_is_shown_next_to_the_field_and_writes_nothing(owner_client, sandbox, fields, field):
    make_discount(sandbox, code="DUP")
    before = catalog_rows(sandbox.merchant)
    response = owner_client.post(NEW, {**BASE, "code": "NEW1", "percent_off": "10", **fields})
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert field in errors, errors
    assert 'class="field-error"' in response.content.decode()
    assert catalog_rows(sandbox.merchant) == before


def test_duplicate_code_message_names_the_owner(owner_client, sandbox):
    first = make_discount(sandbox, code="SUMMER20")
    response = owner_client.post(NEW, {**BASE, "code": "summer20", "percent_off": "5"})
    assert response.context["form"].errors["code"] == [f"Promotion code is already used by discount {first.pk}."]


# --- detail: usage, edit, deactivate, delete -----------------------------------------------------------------
def test_detail_shows_usage_counts_and_recent_redemptions(owner_client, sandbox):
    discount = make_discount(sandbox, code="TEN", percent_off=Decimal("10"), max_redemptions=100)
    redeem(sandbox, discount, Money(2000, "GBP"), "a@example.com")
    redeem(sandbox, discount, Money(3050, "GBP"), "b@example.com")
    redeem(sandbox, discount, Money(1000, "EUR"), "c@example.com")
    page = owner_client.get(detail(discount))
    html = page.content.decode()
    assert page.status_code == 200
    assert 'data-testid="redemption-count">2 / 100' not in html
    assert 'data-testid="redemption-count">3 / 100' in html
    # 10% of 20.00 + 10% of 30.50 (3.05) = 5.05 GBP; 1.00 EUR.
    assert "£5.05" in html and "€1.00" in html and "£45.45" in html and "€9.00" in html
    assert all(email in html for email in ("a@example.com", "b@example.com", "c@example.com"))
    assert html.count('data-testid="redemption-row"') == 3


def test_edit_changes_only_what_was_changed(owner_client, sandbox):
    discount = make_discount(sandbox, code="EDIT", percent_off=Decimal("10"),
                             expires_at=now() + timedelta(hours=2))
    # Its expiry passes; saving another field must not re-validate the old expiry as new.
    Discount.objects.filter(pk=discount.pk).update(expires_at=now() - timedelta(hours=1))
    data = form_fields(owner_client.get(detail(discount)).content.decode(), "discount-form")
    assert data["percent_off"] == "10" and data["expires_at"]
    data.update(name="Renamed", max_redemptions="50", percent_off="12.5")
    response = owner_client.post(detail(discount), data)
    assert response.status_code == 302, response.context["form"].errors
    discount.refresh_from_db()
    assert (discount.name, discount.max_redemptions, discount.percent_off) == ("Renamed", 50, Decimal("12.5"))
    event = catalog_events(sandbox.merchant).get(type="discount.updated")
    assert set(event.previous_attributes) == {"name", "max_redemptions", "percent_off"}

    # Saving the unchanged form writes nothing.
    same = form_fields(owner_client.get(detail(discount)).content.decode(), "discount-form")
    response = owner_client.post(detail(discount), same, follow=True)
    assert "Nothing changed." in response.content.decode()
    assert catalog_events(sandbox.merchant).filter(type="discount.updated").count() == 1


def test_a_redeemed_discount_keeps_its_value(owner_client, sandbox):
    discount = make_discount(sandbox, code="USED", percent_off=Decimal("10"), max_redemptions=5)
    redeem(sandbox, discount)
    page = owner_client.get(detail(discount))
    assert page.context["form"].fields["percent_off"].disabled
    assert "Its value and duration can no longer change" in page.content.decode()
    response = owner_client.post(detail(discount), {"percent_off": "50", "duration": "once", "scope": "entire_order",
                                                    "max_redemptions": "0"})
    assert response.status_code == 200 and "max_redemptions" in response.context["form"].errors
    response = owner_client.post(detail(discount), {"percent_off": "50", "duration": "forever", "scope": "entire_order",
                                                    "max_redemptions": "5"})
    discount.refresh_from_db()
    assert (discount.percent_off, discount.duration) == (Decimal("10"), "once")


def test_deactivate_reactivate_and_delete(owner_client, sandbox):
    discount = make_discount(sandbox, code="BYE")
    url = reverse("dashboard:discount_set_active", args=[discount.pk])
    owner_client.post(url, {"active": "false"})
    discount.refresh_from_db()
    assert discount.active is False
    assert 'data-testid="discount-status">Inactive' in owner_client.get(detail(discount)).content.decode()
    owner_client.post(url, {"active": "true"})
    discount.refresh_from_db()
    assert discount.active is True

    response = owner_client.post(reverse("dashboard:discount_delete", args=[discount.pk]), follow=True)
    assert response.redirect_chain[-1][0] == LIST and "Discount BYE deleted." in response.content.decode()
    assert Discount.all_objects.get(pk=discount.pk).deleted_at is not None
    assert owner_client.get(detail(discount)).status_code == 404


def test_deleting_a_redeemed_discount_archives_it(owner_client, sandbox):
    discount = make_discount(sandbox, code="KEEP")
    redeem(sandbox, discount)
    response = owner_client.post(reverse("dashboard:discount_delete", args=[discount.pk]), follow=True)
    assert "archived instead" in response.content.decode()
    discount.refresh_from_db()
    assert discount.archived_at is not None and discount.deleted_at is None
    html = owner_client.get(detail(discount)).content.decode()
    assert 'data-testid="discount-status">Archived' in html and 'data-testid="delete-discount"' not in html


# --- roles, tenancy, modes -------------------------------------------------------------------------------------
def test_a_viewer_can_read_but_not_change_discounts(login_as, sandbox):
    discount = make_discount(sandbox, code="LOOK")
    client = login_as("viewer")
    assert client.get(LIST).status_code == 200
    html = client.get(detail(discount)).content.decode()
    assert 'data-testid="save-discount"' not in html and 'data-testid="delete-discount"' not in html
    before = catalog_rows(sandbox.merchant)
    assert client.get(NEW).status_code == 403
    assert client.post(NEW, {**BASE, "code": "NOPE", "percent_off": "5"}).status_code == 403
    assert client.post(detail(discount), {"name": "x"}).status_code == 403
    assert client.post(reverse("dashboard:discount_set_active", args=[discount.pk]), {"active": "false"}).status_code == 403
    assert client.post(reverse("dashboard:discount_delete", args=[discount.pk])).status_code == 403
    assert catalog_rows(sandbox.merchant) == before


def test_another_merchants_discount_is_a_404(owner_client):
    other = make_discount(CoreTenant(make_merchant(name="Globex"), livemode=False), code="THEIRS")
    assert owner_client.get(detail(other)).status_code == 404
    assert owner_client.post(reverse("dashboard:discount_set_active", args=[other.pk]), {"active": "false"}).status_code == 404
    assert owner_client.post(reverse("dashboard:discount_delete", args=[other.pk])).status_code == 404
    other.refresh_from_db()
    assert other.active and other.deleted_at is None


def test_sandbox_and_live_discounts_are_separate(owner_client, sandbox, live, switch_mode):
    make_discount(sandbox, code="TESTONLY")
    live_discount = make_discount(live, code="LIVEONLY")
    assert codes(owner_client.get(LIST)) == ["TESTONLY"]
    assert owner_client.get(detail(live_discount)).status_code == 404
    switch_mode(owner_client, live=True)
    assert codes(owner_client.get(LIST)) == ["LIVEONLY"]
    # The same code is free in the other mode.
    assert owner_client.post(NEW, {**BASE, "code": "TESTONLY", "percent_off": "5"}).status_code == 302
    assert Discount.objects.get(code="TESTONLY", livemode=True)

"""Operators' console for the catalog: every model's list and change page answer, search and filters
work, money is formatted, the pages cost the same queries for few and many rows, and the actions go
through the services."""

import pytest
from django.contrib.admin.utils import quote
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.catalog import services
from apps.catalog.models import (
    Benefit,
    Discount,
    DiscountRedemption,
    Entitlement,
    Price,
    Product,
    ProductExternalId,
)
from apps.core.actors import Actor
from apps.core.models import Event
from apps.core.money import Money
from tests.factories import make_benefit, make_customer, make_discount, make_price, make_product

MODELS = [Product, Price, ProductExternalId, Discount, DiscountRedemption, Benefit, Entitlement]


def _queries(client, url, params=None):
    client.get(url, params or {})
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, params or {})
    assert response.status_code == 200, (url, response.status_code)
    return len(ctx.captured_queries), response


def populate(sandbox, n=1):
    actor = Actor.system("tests")
    for _ in range(n):
        product = make_product(sandbox, name="Gym membership")
        services.product_upsert_by_external_id(tenant=sandbox, actor=actor, source="crm",
                                               external_id=f"X{Product.objects.count()}", data={"name": "Synced"})
        make_price(sandbox, product=product, unit_amount_minor=1250, currency="GBP")
        make_price(sandbox, product=product, pricing_model="graduated", currency="GBP", interval="month",
                   interval_count=1, tiers=[{"up_to": 10, "unit_amount_minor": 100}, {"up_to": None,
                                                                                       "unit_amount_minor": 50}])
        discount = make_discount(sandbox, type="fixed", amounts_off=[{"currency": "GBP", "amount_off_minor": 500}],
                                 minimum_amount_minor=2000, minimum_amount_currency="GBP", product_ids=[product.pk])
        customer = make_customer(sandbox)
        services.discount_redeem(tenant=sandbox, discount_id=discount.pk, amount=Money(2500, "GBP"), actor=actor,
                                 customer=customer, product_ids=[product.pk])
        benefit = make_benefit(sandbox)
        services.product_benefit_attach(tenant=sandbox, actor=actor, product_id=product.pk, benefit_id=benefit.pk)
        services.entitlement_grant(tenant=sandbox, customer=customer, benefit=benefit, source="manual", actor=actor)


def urls(model):
    info = (model._meta.app_label, model._meta.model_name)
    first = model._base_manager.order_by("pk").first()
    return (reverse("admin:{}_{}_changelist".format(*info)),
            reverse("admin:{}_{}_change".format(*info), args=[quote(first.pk)]))


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_pages_answer_and_do_not_grow_with_rows(admin_client, sandbox, model):
    populate(sandbox, 1)
    changelist, change = urls(model)
    few = (_queries(admin_client, changelist)[0], _queries(admin_client, change)[0])
    populate(sandbox, 4)
    assert (_queries(admin_client, changelist)[0], _queries(admin_client, change)[0]) == few
    assert admin_client.get(changelist, {"q": "nothing-matches"}).status_code == 200


def test_money_is_formatted_and_search_and_filters_work(admin_client, sandbox):
    populate(sandbox, 1)
    price = Price.objects.get(unit_amount_minor=1250)
    _, page = _queries(admin_client, reverse("admin:catalog_price_change", args=[quote(price.pk)]))
    assert "£12.50" in page.content.decode()
    _, tiers = _queries(admin_client, reverse("admin:catalog_price_change", args=[quote(
        Price.objects.get(pricing_model="graduated").pk)]))
    assert "£1.00" in tiers.content.decode() and "£0.50" in tiers.content.decode()
    discount = Discount.objects.get()
    _, page = _queries(admin_client, reverse("admin:catalog_discount_change", args=[quote(discount.pk)]))
    assert "£5.00" in page.content.decode() and "£20.00" in page.content.decode()
    _, listing = _queries(admin_client, reverse("admin:catalog_discountredemption_changelist"))
    assert "£25.00" in listing.content.decode()
    product_list = reverse("admin:catalog_product_changelist")
    assert "Gym membership" in admin_client.get(product_list, {"q": "gym"}).content.decode()
    assert "Synced" in admin_client.get(product_list, {"q": ProductExternalId.objects.get().external_id}).content.decode()
    for url, params in ((product_list, {"active__exact": "1"}), (reverse("admin:catalog_discount_changelist"),
                                                                 {"state": "archived"}),
                        (reverse("admin:catalog_entitlement_changelist"), {"revoked_at__isempty": "1"}),
                        (reverse("admin:catalog_price_changelist"), {"pricing_model__exact": "graduated"})):
        assert admin_client.get(url, params).status_code == 200


def test_actions_call_the_services(admin_client, sandbox):
    populate(sandbox, 1)
    product = Product.objects.get(name="Gym membership")
    price = Price.objects.filter(product=product).first()
    discount = Discount.objects.get()
    entitlement = Entitlement.objects.get()
    for url, action, pk in ((reverse("admin:catalog_product_changelist"), "archive", product.pk),
                            (reverse("admin:catalog_price_changelist"), "archive", price.pk),
                            (reverse("admin:catalog_discount_changelist"), "delete_or_archive", discount.pk),
                            (reverse("admin:catalog_entitlement_changelist"), "revoke", entitlement.pk)):
        response = admin_client.post(url, {"action": action, "_selected_action": [pk]})
        assert response.status_code == 302, (action, response.content[:300])
    assert Product.objects.get(pk=product.pk).active is False
    assert Price.objects.get(pk=price.pk).active is False
    assert Discount.objects.get(pk=discount.pk).archived_at is not None  # it was redeemed: archived
    assert Entitlement.objects.get(pk=entitlement.pk).revoked_at is not None
    for event_type in ("product.archived", "price.archived", "discount.archived", "entitlement.revoked"):
        assert Event.objects.get(type=event_type).actor_type == "user", event_type


def test_admin_is_read_only(admin_client, sandbox):
    populate(sandbox, 1)
    assert admin_client.get(reverse("admin:catalog_product_add")).status_code == 403
    page = admin_client.get(reverse("admin:catalog_product_change", args=[quote(Product.objects.first().pk)]))
    assert 'name="name"' not in page.content.decode()

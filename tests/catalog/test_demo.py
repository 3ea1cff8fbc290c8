"""`manage.py load_demo` builds Northwind Coffee Roasters' catalog through the services, once."""
from io import StringIO

from django.core.management import call_command

from apps.accounts.models import Merchant
from apps.catalog.display import discount_value, price_summary
from apps.catalog.models import Benefit, Discount, Price, Product
from tests.catalog.helpers import catalog_events, catalog_rows


def load() -> str:
    out = StringIO()
    call_command("load_demo", stdout=out)
    return out.getvalue()


def test_demo_catalog_is_realistic_and_a_second_run_writes_nothing(db):
    text = load()
    merchant = Merchant.objects.get(name="Northwind Coffee Roasters")
    assert "Catalog (sandbox): 5 products, 3 benefits, promotion codes WELCOME10, FIVEOFF, COFFEECLUB" in text

    products = {p.name: p for p in Product.objects.filter(merchant=merchant)}
    assert all(not p.livemode for p in products.values())
    club = products["House Blend Coffee Subscription"]
    assert [price_summary(p) for p in Price.objects.filter(product=club).order_by("created_at")] == [
        "£12.00 / month", "£120.00 / year"]
    assert products["Ethiopia Yirgacheffe Beans 250 g"].fulfillment_type == "physical"
    assert products["Home Barista Brewing Course"].fulfillment_type == "digital"
    gift = Price.objects.get(product=products["Northwind Gift Card"])
    assert (gift.pricing_model, gift.minimum_amount_minor, gift.suggested_amount_minor) == ("pay_what_you_want", 1000, 2500)
    wholesale = Price.objects.get(product=products["Wholesale Espresso Blend 1 kg"])
    assert wholesale.pricing_model == "graduated" and len(wholesale.tier_list()) == 3

    discounts = {d.code: d for d in Discount.objects.filter(merchant=merchant)}
    assert discount_value(discounts["WELCOME10"]) == "10% off" and discounts["WELCOME10"].first_time_customer_only
    assert discount_value(discounts["FIVEOFF"]) == "£5.00 off"
    assert (discounts["COFFEECLUB"].duration, discounts["COFFEECLUB"].duration_in_periods) == ("repeating", 3)

    assert Benefit.objects.filter(merchant=merchant).count() == 3
    assert sorted(b.key for b in club.benefits.all()) == ["brew-guide-pdf", "roastery-tour"]
    # Made through the services: every object has its event.
    types = list(catalog_events(merchant).values_list("type", flat=True))
    assert types.count("product.created") == 5 and types.count("price.created") == 6
    assert types.count("discount.created") == 3 and types.count("benefit.created") == 3

    before = catalog_rows(merchant)
    load()
    assert catalog_rows(merchant) == before


def test_dashboard_edits_survive_the_next_run(db):
    from apps.catalog import services
    from apps.core.actors import Actor
    from apps.core.tenancy import Tenant

    load()
    merchant = Merchant.objects.get(name="Northwind Coffee Roasters")
    tenant = Tenant(merchant, livemode=False)
    club = Product.objects.get(merchant=merchant, name="House Blend Coffee Subscription")
    roastery = Benefit.objects.get(merchant=merchant, key="roastery-tour")
    services.product_benefit_detach(tenant=tenant, actor=Actor.system(), product_id=club.pk, benefit_id=roastery.pk)
    services.discount_update(tenant=tenant, actor=Actor.system(),
                             discount_id=Discount.objects.get(merchant=merchant, code="FIVEOFF").pk,
                             data={"active": False})
    load()
    assert sorted(b.key for b in club.benefits.all()) == ["brew-guide-pdf"]
    assert Discount.objects.get(merchant=merchant, code="FIVEOFF").active is False

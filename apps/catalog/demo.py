"""The demo catalog of Northwind Coffee Roasters (sandbox): products with monthly, yearly, one-time,
pay-what-you-want and tiered prices, three promotion codes and a few benefits attached to products.

A `load_demo` step (apps.accounts.demo). Everything goes through the catalog services, so the demo
has the same events and invariants as real data. Idempotent: each product is looked up by name,
each discount by code and each benefit by key before anything is created, and attaching a benefit
that is already attached writes nothing, so a second run writes nothing at all. What someone
changed in the dashboard meanwhile is left alone (a product found by name is not touched again).
"""
from __future__ import annotations

from decimal import Decimal

from apps.accounts.demo import DemoContext, demo_step
from apps.core.tenancy import Tenant, scoped

from . import services
from .models import Benefit, Discount, Product

# Benefits first: products name them by key.
BENEFITS = [
    {"key": "brew-guide-pdf", "name": "Home brew guide (PDF)", "type": "file_download",
     "description": "Our 40-page guide to pour-over, AeroPress and espresso at home.",
     "config": {"files": ["https://northwind-coffee.example/downloads/home-brew-guide.pdf"], "max_downloads": 5,
                "download_expiry_days": 30}},
    {"key": "brewing-course", "name": "Brewing course access", "type": "access_grant",
     "description": "Six video lessons and tasting notes in the online classroom.",
     "subscription_grant": "on_activation", "on_cancellation": "keep"},
    {"key": "roastery-tour", "name": "Roastery tour for two", "type": "manual",
     "description": "A Saturday morning tour and cupping at the Bermondsey roastery.",
     "config": {"instructions": "Email the customer within 2 working days to book a Saturday slot."}},
]

# (product fields, [price fields], [benefit keys]). Amounts in pence.
PRODUCTS = [
    ({"name": "House Blend Coffee Subscription", "kind": "subscription", "fulfillment_type": "physical",
      "description": "A freshly roasted 250 g bag of our House Blend, delivered every month.",
      "features": ["Roasted to order, shipped within 48 hours", "Free UK delivery", "Pause or skip any month"],
      "lookup_key": "house-blend-sub", "metadata": {"sku": "NW-SUB-HB"}},
     [{"type": "recurring", "unit_amount_minor": 1200, "interval": "month", "interval_count": 1, "trial_days": 14,
       "nickname": "Monthly"},
      {"type": "recurring", "unit_amount_minor": 12000, "interval": "year", "interval_count": 1,
       "nickname": "Yearly (2 months free)"}],
     ["brew-guide-pdf", "roastery-tour"]),
    ({"name": "Ethiopia Yirgacheffe Beans 250 g", "kind": "one_time", "fulfillment_type": "physical",
      "description": "Single origin, washed process. Notes of bergamot, jasmine and stone fruit.",
      "features": ["Whole bean or ground to order", "Roasted this week"], "lookup_key": "eth-yirg-250",
      "metadata": {"sku": "NW-ETH-250", "origin": "Ethiopia"}},
     [{"type": "one_time", "unit_amount_minor": 950, "nickname": "Single bag"}], []),
    ({"name": "Home Barista Brewing Course", "kind": "one_time", "fulfillment_type": "digital",
      "description": "Learn to dial in espresso and brew better filter coffee at home.",
      "features": ["Six video lessons", "Lifetime access", "Printable brew ratios"], "lookup_key": "course-home-barista"},
     [{"type": "one_time", "unit_amount_minor": 4900, "nickname": "Full course"}],
     ["brewing-course", "brew-guide-pdf"]),
    ({"name": "Northwind Gift Card", "kind": "one_time", "fulfillment_type": "digital",
      "description": "An e-gift card for any amount from £10, delivered by email.",
      "features": ["Sent instantly by email", "Valid for 24 months"], "lookup_key": "gift-card"},
     [{"type": "pay_what_you_want", "minimum_amount_minor": 1000, "suggested_amount_minor": 2500,
       "nickname": "Choose an amount"}], []),
    ({"name": "Wholesale Espresso Blend 1 kg", "kind": "one_time", "fulfillment_type": "physical",
      "description": "Our espresso blend for cafés and offices; the more bags you order, the less each costs.",
      "features": ["Graduated pricing per bag", "Next-day delivery in London"], "lookup_key": "wholesale-espresso-1kg",
      "metadata": {"sku": "NW-WHL-ESP-1KG"}},
     [{"pricing_model": "graduated", "nickname": "Per 1 kg bag",
       "tiers": [{"up_to": 10, "unit_amount_minor": 1800}, {"up_to": 50, "unit_amount_minor": 1600},
                 {"up_to": None, "unit_amount_minor": 1450}]}], []),
]

DISCOUNTS = [
    {"code": "WELCOME10", "name": "Welcome offer", "type": "percentage", "percent_off": Decimal("10"),
     "duration": "once", "first_time_customer_only": True, "max_redemptions_per_customer": 1},
    {"code": "FIVEOFF", "name": "£5 off orders over £20", "type": "fixed", "amount_off_minor": 500, "currency": "GBP",
     "duration": "once", "minimum_amount_minor": 2000, "minimum_amount_currency": "GBP", "max_redemptions": 100},
    {"code": "COFFEECLUB", "name": "15% off the first three months", "type": "percentage",
     "percent_off": Decimal("15"), "duration": "repeating", "duration_in_periods": 3, "scope": "subscription_only"},
]


@demo_step
def step_catalog(ctx: DemoContext) -> None:
    tenant = Tenant(ctx.merchant, livemode=False)
    created = {"products": 0, "discounts": 0, "benefits": 0}
    benefits = {}
    for data in BENEFITS:
        benefit = scoped(Benefit, tenant=tenant).filter(key=data["key"]).first()
        if benefit is None:
            benefit = services.benefit_create(tenant=tenant, actor=ctx.actor, data=data)
            created["benefits"] += 1
        benefits[data["key"]] = benefit

    for fields, prices, benefit_keys in PRODUCTS:
        product = scoped(Product, tenant=tenant).filter(name=fields["name"]).first()
        if product is not None:
            continue  # made by an earlier run (and perhaps edited since): leave it as it is
        product = services.product_create(tenant=tenant, actor=ctx.actor, data=fields)
        for price in prices:
            services.price_create(tenant=tenant, actor=ctx.actor,
                                  data={"product_id": product.pk, "currency": "GBP", **price})
        for key in benefit_keys:
            services.product_benefit_attach(tenant=tenant, actor=ctx.actor, product_id=product.pk,
                                            benefit_id=benefits[key].pk)
        created["products"] += 1

    for data in DISCOUNTS:
        if not scoped(Discount, tenant=tenant).filter(code__iexact=data["code"]).exists():
            services.discount_create(tenant=tenant, actor=ctx.actor, data=data)
            created["discounts"] += 1

    codes = ", ".join(d["code"] for d in DISCOUNTS)
    ctx.notes.append(f"Catalog (sandbox): {len(PRODUCTS)} products, {len(BENEFITS)} benefits, promotion codes {codes}"
                     + (" (created now)" if any(created.values()) else ""))

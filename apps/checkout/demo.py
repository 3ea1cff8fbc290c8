"""Demo payment links for Northwind Coffee Roasters (`manage.py load_demo`, see apps.accounts.demo), in sandbox.

Three links with a history, all made through the real services:
- "Ethiopia beans by the bag": buyers choose the quantity (1–10) and may enter a discount code; ships.
- "Northwind gift card": the catalog's pay-what-you-want price (from £10).
- "Brewing course launch offer": limited to 2 uses and sold out (the closed page says so).
Each has views, checkouts started, some completed by card (through the checkout completion service, the
NMI adapter and this project's simulator in-process, at the present moment like apps.billing.demo), and
some abandoned at different steps (page viewed, email typed, details typed, card declined) a few days ago,
then expired by the sweep job. Also the merchant's checkout appearance when it is still the default.

Idempotent: nothing is done when the demo links (metadata {"demo": "northwind"}) exist. Runs after the
billing step (imported first, so its step registers first) so checkout invoices number after the demo's.
"""
from __future__ import annotations

from django.conf import settings as django_settings

from apps.accounts.demo import DemoContext, demo_step
from apps.accounts.models import GatewayAccount
from apps.billing.demo import DEMO, DEMO_MARK  # also registers the billing step before ours
from apps.catalog.models import Price
from apps.core.actors import Actor
from apps.core.clock import moved_to, now
from apps.core.errors import PaymentDeclined
from apps.core.tenancy import Tenant, scoped
from apps.payments.demo import in_process_gateway

from . import services
from .models import CheckoutSession, PaymentLink
from .services.page import checkout_page_update, checkout_session_touch

APPEARANCE = {"button_text": "Pay securely", "success_message": "Thank you! Your coffee is on its way.",
              "terms_text": "I agree to Northwind's terms of sale", "terms_url": "https://northwind.example/terms",
              "privacy_url": "https://northwind.example/privacy"}
SHIP_TO = {"shipping_line1": "14 Bermondsey Street", "shipping_city": "London", "shipping_postal_code": "SE1 3XF",
           "shipping_country": "GB", "address_country": "GB"}

# (link key, buyer email, what happens: ("paid" | "declined", token) | ("abandoned", step, days ago), page data).
# Buyers who reach the card step are demo customers (apps.customers.demo), so checkout links them by email
# rather than adding customers; the others never get that far and stay anonymous sessions.
BUYERS = [
    ("beans", "sophie.walsh@example.com", ("paid", "tok_visa"), {"qty": 3, "code": "FIVEOFF", **SHIP_TO}),
    ("beans", "harry.nguyen@example.net", ("paid", "tok_mastercard"), {"qty": 1, **SHIP_TO}),
    ("beans", "", ("abandoned", "viewed", 6), {}),
    ("beans", "noah.green@example.org", ("abandoned", "email", 4), {}),
    ("beans", "ava.hughes@example.com", ("abandoned", "details", 3), {"qty": 2, "name": "Ava Hughes", **SHIP_TO}),
    ("beans", "isla.murray@example.com", ("declined", "tok_decline_200"), {"qty": 2, **SHIP_TO}),
    ("gift", "george.patel@example.net", ("paid", "tok_visa"), {"amount": 2500}),
    ("gift", "amelia.clarke@example.org", ("paid", "tok_visa_debit_gb"), {"amount": 5000}),
    ("gift", "", ("abandoned", "viewed", 5), {"amount": 2500}),  # the suggested amount, as the page starts
    ("gift", "leo.ward@example.org", ("abandoned", "email", 2), {"amount": 1500}),
    ("course", "", ("abandoned", "viewed", 1), {}),
    ("course", "james.okoro@example.com", ("paid", "tok_visa"), {"terms": "on"}),
    ("course", "mohammed.rahman@example.com", ("paid", "tok_visa"), {"terms": "on"}),  # the last use: sold out
]
VIEWS = {"beans": 48, "gift": 23, "course": 31}  # page views, of which the buyers above are some


class _Demo:
    def __init__(self, ctx: DemoContext):
        self.tenant = Tenant(ctx.merchant, livemode=False)
        self.actor = ctx.actor
        self.links: dict[str, PaymentLink] = {}

    def price(self, lookup_key: str) -> Price | None:
        return (scoped(Price, tenant=self.tenant).filter(product__lookup_key=lookup_key, active=True)
                .select_related("product").first())

    def make_links(self) -> bool:
        beans, gift, course = self.price("eth-yirg-250"), self.price("gift-card"), self.price("course-home-barista")
        if not (beans and gift and course):
            return False
        create = services.payment_link_create
        self.links["beans"] = create(
            tenant=self.tenant, actor=self.actor, name="Ethiopia beans by the bag", metadata=dict(DEMO_MARK),
            items=[services.LinkItemInput(price=beans, quantity=1, min_quantity=1, max_quantity=10)],
            allow_quantity=True, allow_discount_codes=True, collect_shipping_address=True,
            custom_fields=[{"key": "grind", "label": "Grind", "type": "select", "required": True,
                            "options": ["Whole bean", "Espresso", "Filter", "Cafetière"]}])
        self.links["gift"] = create(
            tenant=self.tenant, actor=self.actor, name="Northwind gift card", metadata=dict(DEMO_MARK),
            items=[services.LinkItemInput(price=gift)],
            custom_fields=[{"key": "recipient", "label": "Recipient's name", "type": "text", "required": False}],
            success_message="Your gift card is on its way to your inbox.")
        self.links["course"] = create(
            tenant=self.tenant, actor=self.actor, name="Brewing course launch offer", metadata=dict(DEMO_MARK),
            items=[services.LinkItemInput(price=course)], require_terms=True, max_uses=2)
        return True

    def buyer(self, key: str, email: str, outcome: tuple, data: dict, *, card_ok: bool) -> None:
        link = PaymentLink.objects.get(pk=self.links[key].pk)
        item = link.items.get()
        kind = outcome[0]
        if kind == "abandoned":
            _, step, days_ago = outcome
            with moved_to(now().replace(microsecond=0) - _days(days_ago)):
                self._start(link, item, email, data, step)
            return
        if not card_ok:
            return
        session = self._start(link, item, email, data, "details")
        with in_process_gateway():
            try:
                services.checkout_session_pay(session=session, actor=_buyer(email), payment_token=outcome[1])
            except PaymentDeclined:
                pass  # the buyer left after the decline: the session stays open, then expires

    def _start(self, link: PaymentLink, item, email: str, data: dict, step: str) -> CheckoutSession:
        actor = _buyer(email)
        services.payment_link_record_view(link=link)
        amounts = {item.pk: data["amount"]} if "amount" in data else None
        session = services.payment_link_start_session(link=link, actor=actor, custom_amounts=amounts)
        checkout_session_touch(session=session, step="viewed")
        if step == "viewed":
            return session
        page = {"email": email}
        if step != "email":
            page.update({k: v for k, v in data.items() if k not in ("qty", "amount")})
            if "qty" in data:
                page[f"qty_{session.items.get().pk}"] = str(data["qty"])
            if link.custom_fields and link.custom_fields[0]["type"] == "select":
                page[f"custom_{link.custom_fields[0]['key']}"] = link.custom_fields[0]["options"][0]
        return checkout_page_update(session=session, actor=actor, data=page)

    def extra_views(self) -> None:
        for key, views in VIEWS.items():
            link = self.links[key]
            done = PaymentLink.objects.get(pk=link.pk).views_count
            for _ in range(max(views - done, 0)):
                services.payment_link_record_view(link=link)


def _days(n: int):
    from datetime import timedelta

    return timedelta(days=n, hours=2)


def _buyer(email: str) -> Actor:
    return Actor("customer", "", email or "anonymous buyer")


@demo_step
def step_checkout(ctx: DemoContext) -> None:
    tenant = Tenant(ctx.merchant, livemode=False)
    if scoped(PaymentLink, tenant=tenant).filter(metadata__demo=DEMO).exists():
        return
    demo = _Demo(ctx)
    current = services.checkout_settings_for(ctx.merchant)
    if current.button_text == "Pay" and not current.terms_text:
        services.checkout_settings_update(tenant=tenant, actor=ctx.actor, changes=APPEARANCE)
    if not demo.make_links():
        ctx.notes.append("Demo payment links skipped: the catalog demo's prices are missing.")
        return
    account = GatewayAccount.objects.filter(merchant=ctx.merchant, livemode=False).first()
    card_ok = bool(account and account.uses_simulator and django_settings.NMI_SIMULATOR_ENABLED)
    for key, email, outcome, data in BUYERS:
        demo.buyer(key, email, outcome, data, card_ok=card_ok)
    demo.extra_views()
    expired = services.checkout_sessions_expire_due()  # what the sweep job would have done
    links = scoped(PaymentLink, tenant=tenant).filter(metadata__demo=DEMO)
    completed = sum(link.uses_count for link in links)
    ctx.notes.append(f"Demo payment links: {links.count()} links, {completed} checkouts completed by card, "
                     f"{expired} abandoned checkouts expired"
                     + ("" if card_ok else " (no card checkouts: the sandbox gateway is not the simulator)"))

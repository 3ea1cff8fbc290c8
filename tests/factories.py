import factory

from apps.accounts import services as account_services
from apps.accounts.models import Merchant, User


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@example.com")
    name = factory.Faker("name")
    password = factory.PostGenerationMethodCall("set_password", "correct-horse-battery")

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


def make_merchant(*, name: str = "Acme Ltd", owner: User | None = None, live_enabled: bool = True, **extra) -> Merchant:
    owner = owner or UserFactory()
    merchant = account_services.merchant_create(owner=owner, name=name, country=extra.pop("country", "GB"),
                                                timezone=extra.pop("timezone", "Europe/London"),
                                                settlement_currency=extra.pop("settlement_currency", "GBP"), **extra)
    if live_enabled:
        Merchant.objects.filter(pk=merchant.pk).update(live_enabled=True)
        merchant.live_enabled = True
    return merchant


def make_api_key(merchant: Merchant, *, livemode: bool = False, name: str = "test key") -> str:
    _, secret = account_services.api_key_create(merchant=merchant, livemode=livemode, name=name)
    return secret


# --- accounts helpers (admin and demo tests) --------------------------------------------------------
def owner_membership(merchant: Merchant):
    from apps.accounts.models import Membership
    from apps.accounts.permissions import Role

    return (Membership.objects.select_related("user", "merchant")
            .filter(merchant=merchant, role=Role.OWNER).order_by("created_at").first())


def make_invitation(merchant: Merchant, *, email: str | None = None, role: str = "support"):
    """A pending invitation from the merchant's owner; returns (invitation, token)."""
    import uuid

    return account_services.invitation_create(merchant=merchant, invited_by=owner_membership(merchant),
                                              email=email or f"invitee-{uuid.uuid4().hex[:10]}@example.com", role=role)


def make_member(merchant: Merchant, *, role: str = "member", email: str | None = None, status: str = "active",
                user: User | None = None):
    """A team member of `merchant` (row written directly: tests of the team services build on it)."""
    from apps.accounts.models import Membership

    user = user or (UserFactory(email=email) if email else UserFactory())
    return Membership.objects.create(merchant=merchant, user=user, role=role, status=status)


# --- customers helpers -------------------------------------------------------------------------------
def make_customer(tenant, **fields):
    """A customer of `tenant` (apps.core.tenancy.Tenant) made through `customer_create`, so it is valid and
    leaves its customer.created event. Any customer field may be given (email defaults to a unique one);
    `external_ids=[(source, external_id), ...]` links ids in other systems through the upsert service."""
    import uuid

    from apps.core.actors import Actor
    from apps.customers import services as customer_services
    from apps.customers.models import Customer
    from apps.customers.payloads import external_ids_prefetch

    external_ids = fields.pop("external_ids", ())
    fields.setdefault("email", f"customer-{uuid.uuid4().hex[:12]}@example.com")
    customer = customer_services.customer_create(tenant=tenant, actor=Actor.system("tests"), data=fields)
    for source, external_id in external_ids:
        customer_services.customer_upsert_by_external_id(tenant=tenant, actor=Actor.system("tests"), source=source,
                                                         external_id=external_id, data={"email": customer.email})
    if external_ids:
        customer = Customer.objects.prefetch_related(external_ids_prefetch()).get(pk=customer.pk)
    return customer


# --- catalog helpers ---------------------------------------------------------------------------------
def make_product(tenant, *, name: str = "Pro Plan", **fields):
    """A product of `tenant` (apps.core.tenancy.Tenant) made through `product_create`."""
    from apps.catalog import services as catalog_services
    from apps.core.actors import Actor

    return catalog_services.product_create(tenant=tenant, actor=Actor.system("tests"), data={"name": name, **fields})


def make_price(tenant, product=None, **fields):
    """A price of `tenant` made through `price_create`: by default a one-time 29.00 USD fixed price of
    a new product. Any price field may be given (`interval="month", interval_count=1` → recurring)."""
    from apps.catalog import services as catalog_services
    from apps.core.actors import Actor

    product = product or make_product(tenant)
    data = {"product_id": product.pk, "currency": "USD", **fields}
    if data.get("pricing_model", "fixed") == "fixed" and "unit_amount_minor" not in data and data.get("type") not in (
            "free", "pay_what_you_want"):
        data["unit_amount_minor"] = 2900
    if data.get("interval") and "type" not in data:
        data["type"] = "recurring"
    return catalog_services.price_create(tenant=tenant, actor=Actor.system("tests"), data=data)


def make_discount(tenant, **fields):
    """A discount of `tenant` made through `discount_create`: by default 20% off with a unique code."""
    import uuid

    from apps.catalog import services as catalog_services
    from apps.core.actors import Actor

    data = {"type": "percentage", **fields}
    if data["type"] == "percentage":
        from decimal import Decimal

        data.setdefault("percent_off", Decimal("20"))
    data.setdefault("code", f"CODE{uuid.uuid4().hex[:8].upper()}")
    return catalog_services.discount_create(tenant=tenant, actor=Actor.system("tests"), data=data)


def make_benefit(tenant, *, key: str | None = None, **fields):
    """A benefit of `tenant` made through `benefit_create` (an access grant unless `type` is given)."""
    import uuid

    from apps.catalog import services as catalog_services
    from apps.core.actors import Actor

    data = {"key": key or f"feature-{uuid.uuid4().hex[:8]}", "name": fields.pop("name", "Pro feature"), **fields}
    return catalog_services.benefit_create(tenant=tenant, actor=Actor.system("tests"), data=data)

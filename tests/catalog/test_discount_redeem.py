"""`discount_redeem`: every eligibility rule, exact counting, idempotency by reference."""
from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine

from apps.catalog import services
from apps.catalog.models import Discount, DiscountRedemption
from apps.core.clock import now
from apps.core.errors import NotFound, ValidationFailed
from apps.core.models import Event
from apps.core.money import Money
from apps.core.tenancy import Tenant as CoreTenant
from tests.factories import make_customer, make_discount, make_price, make_product

USD = lambda minor: Money(minor, "USD")  # noqa: E731


def redeem(sandbox, actor, **kwargs):
    kwargs.setdefault("amount", USD(10000))
    return services.discount_redeem(tenant=sandbox, actor=actor, **kwargs)


def refused(sandbox, actor, reason: str, **kwargs):
    with pytest.raises(services.DiscountNotApplicable) as info:
        redeem(sandbox, actor, **kwargs)
    assert info.value.status == 400 and info.value.code == "discount_not_applicable"
    reasons = " ".join(r for rs in info.value.fields.values() for r in rs)
    assert reason in reasons, reasons
    return info.value


def test_percentage_and_fixed_amounts_off(sandbox, actor):
    make_discount(sandbox, code="TWENTY", percent_off=Decimal("20"))
    make_discount(sandbox, code="FIVER", type="fixed", amounts_off=[{"currency": "USD", "amount_off_minor": 500},
                                                                     {"currency": "GBP", "amount_off_minor": 400}])
    assert redeem(sandbox, actor, code="twenty", amount=USD(10000)).amount_off_minor == 2000
    assert redeem(sandbox, actor, code="TWENTY", amount=USD(999)).amount_off_minor == 200  # 199.8 → 200
    assert redeem(sandbox, actor, code="FIVER", amount=Money(1000, "GBP")).amount_off_minor == 400
    assert redeem(sandbox, actor, code="FIVER", amount=USD(300)).amount_off_minor == 300  # never beyond the subtotal
    refused(sandbox, actor, "no amount in EUR", code="FIVER", amount=Money(1000, "EUR"))
    assert Discount.objects.get(code="TWENTY").times_redeemed == 2
    event = Event.objects.filter(type="discount.redeemed").latest("created_at")
    assert event.data["amount_off_minor"] == 300 and event.object_type == "discount"


def test_unknown_inactive_not_started_and_expired(sandbox, actor):
    refused(sandbox, actor, "no such code", code="NOPE")
    make_discount(sandbox, code="OFF", active=False)
    refused(sandbox, actor, "no longer active", code="OFF")
    make_discount(sandbox, code="LATER", starts_at=now() + timedelta(days=1))
    refused(sandbox, actor, "not valid yet", code="LATER")
    make_discount(sandbox, code="SOON", expires_at=now() + timedelta(hours=1))
    assert redeem(sandbox, actor, code="SOON")
    with time_machine.travel(now() + timedelta(hours=2)):
        refused(sandbox, actor, "expired", code="SOON")
    with pytest.raises(NotFound):
        redeem(sandbox, actor, discount_id="disc_01HK4X7Z2M5N8P0Q3R6S9T2V5W")
    with pytest.raises(ValidationFailed):
        redeem(sandbox, actor)  # neither code nor id


def test_max_redemptions(sandbox, actor):
    discount = make_discount(sandbox, code="TWO", max_redemptions=2)
    redeem(sandbox, actor, code="TWO")
    redeem(sandbox, actor, discount_id=discount.pk)
    refused(sandbox, actor, "redemption limit", code="TWO")
    assert Discount.objects.get(pk=discount.pk).times_redeemed == 2
    assert DiscountRedemption.objects.filter(discount=discount).count() == 2


def test_per_customer_limit_by_customer_and_by_email(sandbox, actor):
    customer = make_customer(sandbox, email="ann@example.com")
    make_discount(sandbox, code="ONCE", max_redemptions_per_customer=1)
    redeem(sandbox, actor, code="ONCE", customer=customer)
    refused(sandbox, actor, "already used", code="ONCE", customer=customer.pk)
    refused(sandbox, actor, "already used", code="ONCE", customer="ANN@example.com")  # same person by email
    assert redeem(sandbox, actor, code="ONCE", customer="bob@example.com")
    refused(sandbox, actor, "must be known", code="ONCE")


def test_first_time_customers_only(sandbox, actor):
    make_discount(sandbox, code="OTHER")
    make_discount(sandbox, code="WELCOME", first_time_customer_only=True)
    redeem(sandbox, actor, code="OTHER", customer="old@example.com")
    refused(sandbox, actor, "first-time", code="WELCOME", customer="old@example.com")
    assert redeem(sandbox, actor, code="WELCOME", customer="new@example.com")

    calls = []

    @services.register_prior_purchase_check
    def bought(*, tenant, customer, email):
        calls.append(email)
        return email == "buyer@example.com"

    try:
        refused(sandbox, actor, "first-time", code="WELCOME", customer="buyer@example.com")
        assert calls == ["buyer@example.com"]
    finally:
        from apps.catalog.services import discounts

        discounts._prior_purchase_checks.remove(bought)


def test_scope_rules(sandbox, actor):
    product, other = make_product(sandbox), make_product(sandbox)
    price = make_price(sandbox, product=other)
    make_discount(sandbox, code="PRODUCTS", product_ids=[product.pk], price_ids=[price.pk])
    assert redeem(sandbox, actor, code="PRODUCTS", product_ids=[product.pk])
    assert redeem(sandbox, actor, code="PRODUCTS", price_ids=[price.pk])
    refused(sandbox, actor, "does not apply", code="PRODUCTS", product_ids=[other.pk])
    make_discount(sandbox, code="SUBS", scope="subscription_only")
    refused(sandbox, actor, "only valid for subscriptions", code="SUBS", recurring=False)
    assert redeem(sandbox, actor, code="SUBS", recurring=True)
    make_discount(sandbox, code="ONEOFF", scope="one_time_only")
    refused(sandbox, actor, "one-time", code="ONEOFF", recurring=True)


def test_minimum_amount(sandbox, actor):
    make_discount(sandbox, code="BIG", minimum_amount_minor=5000, minimum_amount_currency="USD")
    refused(sandbox, actor, "at least $50.00", code="BIG", amount=USD(4999))
    refused(sandbox, actor, "set in USD", code="BIG", amount=Money(9000, "GBP"))
    assert redeem(sandbox, actor, code="BIG", amount=USD(5000)).amount_off_minor == 1000


def test_reference_makes_redemption_idempotent(sandbox, actor):
    discount = make_discount(sandbox, code="REF", max_redemptions=5)
    first = redeem(sandbox, actor, code="REF", reference="cs_123")
    again = redeem(sandbox, actor, code="REF", reference="cs_123")
    assert again.pk == first.pk
    assert Discount.objects.get(pk=discount.pk).times_redeemed == 1


def test_another_tenants_customer_or_code_is_invisible(sandbox, actor, other_tenant):
    theirs = CoreTenant(other_tenant.merchant, livemode=False)
    their_customer = make_customer(theirs)
    make_discount(theirs, code="THEIRS")
    make_discount(sandbox, code="MINE")
    refused(sandbox, actor, "no such code", code="THEIRS")
    with pytest.raises(NotFound):
        redeem(sandbox, actor, code="MINE", customer=their_customer)
    with pytest.raises(NotFound):
        redeem(sandbox, actor, code="MINE", customer=their_customer.pk)


def test_the_database_refuses_counts_beyond_the_limit(sandbox):
    from django.db import IntegrityError, transaction

    discount = make_discount(sandbox, max_redemptions=1)
    with pytest.raises(IntegrityError), transaction.atomic():
        Discount.objects.filter(pk=discount.pk).update(times_redeemed=2)

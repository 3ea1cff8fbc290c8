"""The completion service on PostgreSQL with the NMI simulator: one charge, one customer, one paid invoice,
one order; declines leave nothing paid; double submits and concurrent completions charge once."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection

from apps.billing.models import Invoice, Order
from apps.checkout import services
from apps.checkout.models import CheckoutSession, PaymentLink
from apps.core.actors import Actor
from apps.core.clock import now
from apps.core.errors import DomainError, PaymentDeclined
from apps.core.models import Event
from apps.customers.models import Customer
from apps.payments.models import Payment
from apps.payments.simulators.nmi.models import SimTransaction
from tests.conftest import is_postgres
from tests.factories import make_price, make_product

pytestmark = pytest.mark.django_db(transaction=True)
BUYER = Actor("customer", "", "buyer@example.com")


def _link(tenant, actor, **options):
    product = make_product(tenant, name="Espresso grinder", fulfillment_type="physical")
    price = make_price(tenant, product, currency="GBP", unit_amount_minor=12_900)
    return services.payment_link_create(tenant=tenant, actor=actor, name="Grinder",
                                        items=[services.LinkItemInput(price=price)], **options)


def _session(link, email="ada@example.com"):
    session = services.payment_link_start_session(link=link, actor=BUYER)
    CheckoutSession.objects.filter(pk=session.pk).update(customer_email=email)
    return CheckoutSession.objects.get(pk=session.pk)


def test_a_link_checkout_pays_once_and_makes_customer_invoice_and_order(gateway_sandbox, actor):
    link = _link(gateway_sandbox, actor, success_url="https://shop.example/thanks?s={CHECKOUT_SESSION_ID}")
    session = _session(link)
    outcome = services.checkout_session_pay(session=session, actor=BUYER, payment_token="tok_visa")
    done = outcome.session
    assert (done.status, done.payment_status) == ("complete", "paid")
    invoice = Invoice.objects.get(pk=done.invoice_id)
    assert invoice.status == "paid" and invoice.source == "checkout" and invoice.total_minor == 12_900
    assert Order.objects.filter(invoice=invoice).count() == 1
    assert Customer.objects.filter(email="ada@example.com").count() == 1
    url = services.success_redirect_url(done)
    assert url.startswith(f"https://shop.example/thanks?s={done.pk}&checkout_id={done.pk}")
    assert "order_id=ord_" in url and "customer_id=cus_" in url
    again = services.checkout_session_pay(session=session, actor=BUYER, payment_token="tok_visa")  # back button
    assert again.session.status == "complete"
    assert Payment.objects.filter(invoice_id=invoice.pk).count() == 1
    assert Event.objects.filter(type="checkout.session.completed", object_id=done.pk).count() == 1
    link.refresh_from_db()
    assert (link.uses_count, link.revenue_minor) == (1, 12_900)


def test_a_decline_leaves_nothing_paid_and_another_card_may_follow(gateway_sandbox, actor):
    session = _session(_link(gateway_sandbox, actor))
    with pytest.raises(PaymentDeclined):
        services.checkout_session_pay(session=session, actor=BUYER, payment_token="tok_decline_200")
    session.refresh_from_db()
    assert session.status == "open" and session.last_step == "declined"
    assert Invoice.objects.get(pk=session.invoice_id).status == "approved"
    outcome = services.checkout_session_pay(session=session, actor=BUYER, payment_token="tok_visa")
    assert outcome.session.status == "complete"
    assert Invoice.objects.filter(checkout_session=session).count() == 1


def test_an_expired_session_cannot_be_paid(gateway_sandbox, actor):
    session = _session(_link(gateway_sandbox, actor))
    CheckoutSession.objects.filter(pk=session.pk).update(expires_at=now() - timedelta(seconds=1))
    with pytest.raises(services.SessionClosed):
        services.checkout_session_pay(session=session, actor=BUYER, payment_token="tok_visa")
    assert services.checkout_sessions_expire_due() == 1
    assert CheckoutSession.objects.get(pk=session.pk).status == "expired"
    assert not Payment.objects.exists()


def test_a_link_past_its_maximum_uses_is_closed(gateway_sandbox, actor):
    link = _link(gateway_sandbox, actor, max_uses=1)
    first, second = _session(link, "a@example.com"), _session(link, "b@example.com")
    services.checkout_session_pay(session=first, actor=BUYER, payment_token="tok_visa")
    with pytest.raises(services.SessionClosed):
        services.checkout_session_pay(session=second, actor=BUYER, payment_token="tok_visa")
    link.refresh_from_db()
    assert link.uses_count == 1 and "maximum" in services.payment_link_closed_reason(link)
    with pytest.raises(services.SessionClosed):
        services.payment_link_start_session(link=link, actor=BUYER)


@pytest.mark.concurrency
@pytest.mark.skipif(not is_postgres(), reason="row locks need PostgreSQL")
def test_concurrent_completions_charge_once(gateway_sandbox, actor):
    session = _session(_link(gateway_sandbox, actor))
    barrier = threading.Barrier(6)
    outcomes: list[str] = []

    def pay():
        try:
            barrier.wait()
            outcome = services.checkout_session_pay(session=CheckoutSession.objects.get(pk=session.pk), actor=BUYER,
                                                    payment_token="tok_visa")
            outcomes.append(outcome.session.status)
        except DomainError as exc:
            outcomes.append(exc.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=pay) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    session.refresh_from_db()
    assert session.status == "complete", outcomes
    assert Invoice.objects.filter(checkout_session=session).count() == 1
    payments = Payment.objects.filter(invoice_id=session.invoice_id)
    assert payments.count() == 1 and payments.get().status == "succeeded"
    assert SimTransaction.objects.filter(orderid=payments.get().attempt_id).count() == 1
    assert set(outcomes) <= {"complete", "invoice_payment_in_progress", "invoice_not_payable"}


def test_subscription_mode_is_refused_clearly(sandbox, actor):
    price = make_price(sandbox, currency="GBP", interval="month", interval_count=1)
    with pytest.raises(DomainError) as refused:
        services.checkout_session_create(tenant=sandbox, actor=actor, mode="subscription",
                                         items=[services.ItemInput(price=price)])
    assert refused.value.code == "mode_not_supported"
    assert not PaymentLink.objects.exists()


def test_setup_mode_saves_the_card_and_moves_no_money(gateway_sandbox, actor):
    from apps.payments.models import PaymentMethod

    session = services.checkout_session_create(tenant=gateway_sandbox, actor=actor, mode="setup", items=[],
                                               customer_email="grace@example.com")
    done = services.checkout_session_setup(session=session, actor=BUYER, payment_token="tok_mastercard")
    assert (done.status, done.payment_status) == ("complete", "no_payment_required")
    method = PaymentMethod.objects.get(pk=done.payment_method_id)
    assert method.customer.email == "grace@example.com" and method.is_default and method.brand
    again = services.checkout_session_setup(session=session, actor=BUYER, payment_token="tok_mastercard")
    assert again.pk == done.pk and PaymentMethod.objects.count() == 1  # a resubmit saves nothing more
    late_pay = services.checkout_session_pay(session=session, actor=BUYER, payment_token="tok_visa")
    assert late_pay.payment is None  # a complete session never takes money afterwards
    assert not Payment.objects.exists() and not Invoice.objects.exists()

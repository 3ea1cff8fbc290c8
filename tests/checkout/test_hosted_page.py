"""The hosted checkout page (pages 011, 018, 026): /pay/<pl_…> and /checkout/<cs_…> through the Django test
client, paid through the NMI simulator with its test tokens (only a token is ever posted)."""
from __future__ import annotations

import urllib.parse
import urllib.request
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.billing.models import Invoice, Order
from apps.catalog.models import Discount
from apps.checkout import services
from apps.checkout.models import CheckoutSession, CheckoutSettings, PaymentLink
from apps.core.clock import now
from apps.payments.models import Payment
from tests.factories import make_discount, make_price, make_product

pytestmark = pytest.mark.django_db(transaction=True)


def _link(tenant, actor, *, n_items=1, **options):
    items = []
    for i in range(n_items):
        product = make_product(tenant, name=f"Espresso grinder {i}", fulfillment_type="physical",
                               description="Burr grinder", features=["Conical burrs", "40 settings"])
        items.append(services.LinkItemInput(price=make_price(tenant, product, currency="GBP",
                                                             unit_amount_minor=12_900)))
    return services.payment_link_create(tenant=tenant, actor=actor, name="Grinder", items=items, **options)


def _start(client, link, email="ada@example.com", **extra):
    response = client.post(f"/pay/{link.pk}/start", {"email": email, **extra})
    assert response.status_code == 302, response.content[:500]
    session = CheckoutSession.objects.get(payment_link=link)
    assert response["Location"] == f"/checkout/{session.pk}"
    return session


def _csp(response) -> str:
    return response["Content-Security-Policy"]


def test_link_page_counts_a_view_shows_the_product_and_a_strict_csp(client, sandbox, actor):
    link = _link(sandbox, actor)
    response = client.get(f"/pay/{link.pk}?email=ada@example.com")
    assert response.status_code == 200
    body = response.content.decode()
    assert "Espresso grinder 0" in body and "Conical burrs" in body and "£129.00" in body
    assert 'value="ada@example.com"' in body
    policy = _csp(response)
    assert "default-src 'none'" in policy and "script-src 'self' 'nonce-" in policy and "frame-ancestors 'none'" in policy
    assert response["Cache-Control"] == "no-store"
    link.refresh_from_db()
    assert (link.views_count, link.sessions_started_count) == (1, 0)  # a view is not a started session


def test_link_page_query_count_does_not_grow_with_items(client, sandbox, actor):
    small, big = _link(sandbox, actor, n_items=1), _link(sandbox, actor, n_items=6)
    counts = []
    for link in (small, big):
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(f"/pay/{link.pk}").status_code == 200
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1], counts


def test_session_page_query_count_does_not_grow_with_items(client, gateway_sandbox, actor):
    counts = []
    for n in (1, 6):
        session = _start(client, _link(gateway_sandbox, actor, n_items=n))
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(f"/checkout/{session.pk}")
        assert response.status_code == 200
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1], counts


@pytest.mark.parametrize("change, text", [
    ({"status": "inactive"}, "paused"),
    ({"status": "archived"}, "archived"),
    ({"expires_at_past": True}, "expired"),
    ({"max_uses": 1, "uses_count": 1}, "maximum number of uses"),
])
def test_a_closed_link_is_a_410_in_the_merchants_branding(client, sandbox, actor, change, text):
    link = _link(sandbox, actor)
    if change.pop("expires_at_past", False):
        change["expires_at"] = now() - timedelta(minutes=1)
    PaymentLink.objects.filter(pk=link.pk).update(**change)
    response = client.get(f"/pay/{link.pk}")
    assert response.status_code == 410
    body = response.content.decode()
    assert text in body and sandbox.merchant.public_name in body
    assert "Content-Security-Policy" in response
    assert client.post(f"/pay/{link.pk}/start", {"email": "a@example.com"}).status_code == 410
    assert not CheckoutSession.objects.filter(payment_link=link).exists()


def test_unknown_ids_are_404(client, sandbox):
    assert client.get("/pay/pl_nope").status_code == 404
    assert client.get("/checkout/cs_nope").status_code == 404
    assert client.get("/pay/../etc").status_code == 404


def test_starting_a_session_records_the_step_and_the_email(client, gateway_sandbox, actor):
    link = _link(gateway_sandbox, actor)
    session = _start(client, link)
    assert session.customer_email == "ada@example.com"
    assert session.last_step == "email" and session.started_at is not None
    link.refresh_from_db()
    assert link.sessions_started_count == 1
    response = client.get(f"/checkout/{session.pk}")
    assert response.status_code == 200 and "Collect.js" in response.content.decode()
    gateway_origin = gateway_sandbox.merchant.gateway_accounts.get(livemode=False).api_url.split("/", 3)[:3]
    assert "/".join(gateway_origin) in _csp(response)


def test_pay_completes_with_paid_invoice_and_order_and_lands_on_success(client, gateway_sandbox, actor):
    settings, _ = CheckoutSettings.objects.get_or_create(merchant=gateway_sandbox.merchant)
    settings.success_message = "We'll ship it tomorrow."
    settings.save()
    session = _start(client, _link(gateway_sandbox, actor))
    response = client.post(f"/checkout/{session.pk}/pay", {"email": "ada@example.com", "address_country": "GB",
                                                            "payment_token": "tok_visa"})
    assert response.status_code == 302 and response["Location"] == f"/checkout/{session.pk}/success"
    session.refresh_from_db()
    assert (session.status, session.payment_status, session.last_step) == ("complete", "paid", "completed")
    invoice = Invoice.objects.get(pk=session.invoice_id)
    assert invoice.status == "paid" and invoice.amount_paid_minor == session.total_minor > 0
    assert Order.objects.filter(invoice=invoice).count() == 1
    page = client.get(f"/checkout/{session.pk}/success")
    body = page.content.decode()
    assert page.status_code == 200 and "ada@example.com" in body and "We&#x27;ll ship it tomorrow." in body
    assert "1111" in body  # the card's last four only
    # A resubmit (back button, double click) never charges again: it shows the success again.
    again = client.post(f"/checkout/{session.pk}/pay", {"email": "ada@example.com", "payment_token": "tok_visa"})
    assert again.status_code == 302 and again["Location"].endswith("/success")
    assert Payment.objects.filter(invoice_id=invoice.pk).count() == 1
    assert client.get(f"/checkout/{session.pk}").status_code == 302  # complete → success page


def test_success_url_gets_the_session_id(client, gateway_sandbox, actor):
    link = _link(gateway_sandbox, actor, success_url="https://shop.example/thanks?s={CHECKOUT_SESSION_ID}")
    session = _start(client, link)
    response = client.post(f"/checkout/{session.pk}/pay", {"email": "ada@example.com", "address_country": "GB",
                                                            "payment_token": "tok_visa"})
    assert response.status_code == 302
    assert response["Location"].startswith(f"https://shop.example/thanks?s={session.pk}&checkout_id={session.pk}")


def test_a_decline_shows_its_message_and_leaves_nothing_paid(client, gateway_sandbox, actor):
    from apps.payments.gateways.declines import decline

    session = _start(client, _link(gateway_sandbox, actor))
    response = client.post(f"/checkout/{session.pk}/pay", {"email": "ada@example.com", "address_country": "GB",
                                                            "payment_token": "tok_decline_300"})
    assert response.status_code == 402
    assert decline("300").message in response.content.decode()
    session.refresh_from_db()
    assert session.status == "open" and session.last_step == "declined"
    assert Invoice.objects.get(pk=session.invoice_id).status != "paid"
    assert not Payment.objects.filter(invoice_id=session.invoice_id, status="succeeded").exists()


def test_an_expired_session_is_a_410_and_cannot_be_paid(client, gateway_sandbox, actor):
    session = _start(client, _link(gateway_sandbox, actor))
    CheckoutSession.objects.filter(pk=session.pk).update(expires_at=now() - timedelta(seconds=1))
    assert client.get(f"/checkout/{session.pk}").status_code == 410
    response = client.post(f"/checkout/{session.pk}/pay", {"email": "ada@example.com", "payment_token": "tok_visa"})
    assert response.status_code == 410
    assert not Payment.objects.exists()


def test_required_fields_and_terms_block_pay_without_charging(client, gateway_sandbox, actor):
    CheckoutSettings.objects.update_or_create(merchant=gateway_sandbox.merchant, defaults={
        "name_field": "required", "terms_text": "I agree to the terms", "billing_address": "full"})
    link = _link(gateway_sandbox, actor, custom_fields=[{"key": "team", "label": "Team name", "required": True}])
    session = _start(client, link)
    response = client.post(f"/checkout/{session.pk}/pay", {"email": "ada@example.com", "payment_token": "tok_visa"})
    assert response.status_code == 422
    body = response.content.decode()
    assert "Accept the terms" in body and "This field is required." in body
    partial = client.post(f"/checkout/{session.pk}/pay", {"email": "ada@example.com", "custom_team": "Engines"})
    assert partial.status_code == 422 and 'value="Engines"' in partial.content.decode()  # kept on re-render
    assert not Payment.objects.exists() and CheckoutSession.objects.get(pk=session.pk).invoice_id is None
    response = client.post(f"/checkout/{session.pk}/pay", {
        "email": "ada@example.com", "name": "Ada Lovelace", "terms": "on", "custom_team": "Engines",
        "address_line1": "1 Analytical Way", "address_city": "London", "address_postal_code": "N1 1AA",
        "address_country": "gb", "payment_token": "tok_visa"})
    assert response.status_code == 302
    session.refresh_from_db()
    assert session.status == "complete" and session.terms_accepted_at is not None
    assert session.custom_field_values == {"team": "Engines"}
    assert session.customer_details["address"]["country"] == "GB"
    assert session.customer.name == "Ada Lovelace"


def test_quantity_changes_update_totals_through_htmx(client, gateway_sandbox, actor):
    link = _link(gateway_sandbox, actor, allow_quantity=True)
    session = _start(client, link)
    item = session.items.get()
    response = client.post(f"/checkout/{session.pk}/update", {"email": "ada@example.com", f"qty_{item.pk}": "3"},
                           HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and "£387.00" in response.content.decode()
    assert '<span id="pay-total" hx-swap-oob="true">£387.00</span>' in response.content.decode()
    session.refresh_from_db()
    assert session.subtotal_minor == 38_700 and session.items.get().quantity == 3
    bad = client.post(f"/checkout/{session.pk}/update", {f"qty_{item.pk}": "500"})
    assert "Choose from 1 to 99" in bad.content.decode()
    assert session.items.get().quantity == 3


def test_pay_what_you_want_amount_is_validated_and_charged(client, gateway_sandbox, actor):
    product = make_product(gateway_sandbox, name="Tip jar")
    price = make_price(gateway_sandbox, product, currency="GBP", pricing_model="pay_what_you_want",
                       minimum_amount_minor=500, unit_amount_minor=None)
    link = services.payment_link_create(tenant=gateway_sandbox, actor=actor, name="Tips",
                                        items=[services.LinkItemInput(price=price)])
    session = _start(client, link)
    item = session.items.get()
    low = client.post(f"/checkout/{session.pk}/pay", {"email": "a@example.com", "address_country": "GB",
                                                      f"amount_{item.pk}": "2.00", "payment_token": "tok_visa"})
    assert low.status_code == 422 and "at least £5.00" in low.content.decode()
    ok = client.post(f"/checkout/{session.pk}/pay", {"email": "a@example.com", "address_country": "GB",
                                                     f"amount_{item.pk}": "12.50", "payment_token": "tok_visa"})
    assert ok.status_code == 302
    assert Invoice.objects.get(checkout_session=session).subtotal_minor == 1250


def test_a_discount_code_is_checked_without_redeeming_and_redeemed_once_paid(client, gateway_sandbox, actor):
    discount = make_discount(gateway_sandbox, code="SAVE20")
    link = _link(gateway_sandbox, actor, allow_discount_codes=True)
    session = _start(client, link)
    bad = client.post(f"/checkout/{session.pk}/update", {"email": "ada@example.com", "code": "NOPE"})
    assert "This code cannot be used" in bad.content.decode()
    good = client.post(f"/checkout/{session.pk}/update", {"email": "ada@example.com", "code": "save20"})
    assert "£25.80" in good.content.decode()
    assert Discount.objects.get(pk=discount.pk).times_redeemed == 0  # checked, not redeemed
    session.refresh_from_db()
    assert (session.discount_id, session.discount_minor) == (discount.pk, 2580)
    response = client.post(f"/checkout/{session.pk}/pay", {"email": "ada@example.com", "code": "save20",
                                                            "address_country": "GB", "payment_token": "tok_visa"})
    assert response.status_code == 302
    assert Discount.objects.get(pk=discount.pk).times_redeemed == 1
    assert Invoice.objects.get(checkout_session=session).discount_minor == 2580


def test_discount_prefill_from_the_link_url(client, gateway_sandbox, actor):
    make_discount(gateway_sandbox, code="WELCOME", percent_off=Decimal("10"))
    link = _link(gateway_sandbox, actor, allow_discount_codes=True)
    page = client.get(f"/pay/{link.pk}?discount=WELCOME")
    assert 'value="WELCOME"' in page.content.decode()
    session = _start(client, link, discount="WELCOME")
    assert session.discount_code == "WELCOME" and session.discount_minor == 1290


def test_an_api_session_lands_on_the_page_and_cancel_goes_to_cancel_url(client, gateway_sandbox, actor):
    price = make_price(gateway_sandbox, make_product(gateway_sandbox, name="Course"), currency="GBP",
                       unit_amount_minor=5_000)
    session = services.checkout_session_create(tenant=gateway_sandbox, actor=actor,
                                               items=[services.ItemInput(price=price)],
                                               cancel_url="https://shop.example/cart")
    response = client.get(f"/checkout/{session.pk}")
    assert response.status_code == 200 and "Course" in response.content.decode()
    session.refresh_from_db()
    assert session.last_step == "viewed" and session.started_at is None
    cancel = client.get(f"/checkout/{session.pk}/cancel")
    assert cancel.status_code == 302 and cancel["Location"] == "https://shop.example/cart"


def test_three_d_secure_goes_to_the_challenge_and_back(client, gateway_sandbox, actor):
    session = _start(client, _link(gateway_sandbox, actor))
    response = client.post(f"/checkout/{session.pk}/pay", {"email": "ada@example.com", "address_country": "GB",
                                                            "payment_token": "tok_3ds"})
    assert response.status_code == 302
    payment = Payment.objects.get(invoice_id=CheckoutSession.objects.get(pk=session.pk).invoice_id)
    assert payment.status == "requires_action"
    assert response["Location"].startswith(payment.action_url.split("?")[0])
    return_path = f"/checkout/{session.pk}/3ds/{payment.pk}"
    assert urllib.parse.quote(return_path, safe="") in response["Location"]
    assert client.get(f"/checkout/{session.pk}").content.decode().count("checkout-pending-action") == 1
    # The buyer passes the challenge on the gateway's page, which sends the browser back to us.
    body = urllib.parse.urlencode({"action": "complete"}).encode()
    with urllib.request.urlopen(payment.action_url, data=body, timeout=10) as answer:
        assert answer.status == 200
    back = client.get(return_path)
    assert back.status_code == 302 and back["Location"] == f"/checkout/{session.pk}/success"
    session.refresh_from_db()
    assert (session.status, session.payment_status) == ("complete", "paid")
    assert Invoice.objects.get(pk=session.invoice_id).status == "paid"
    assert Payment.objects.filter(invoice_id=session.invoice_id).count() == 1

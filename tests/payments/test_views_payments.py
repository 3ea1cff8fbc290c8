"""The dashboard's payments pages: the list (filters, search, htmx partial, CSV export, constant query
count), the detail (fee waterfall equal to the stored fee lines, margin, timeline), the reversal dialog
(void only before the batch cut-off, refund only after settlement, with page 025's warnings; errors as
form errors; a refused void never becomes a refund), the virtual terminal (saved card, token, decline,
3-D Secure), roles and tenancy (another merchant's payment is a 404).

List and export tests write payment rows directly (with their sale transaction and fee lines, as
services/payments.py stores them); the detail, reversal and terminal tests go through the real services,
adapter and simulator (payments_db)."""
from __future__ import annotations

import csv
import io
from datetime import datetime
from zoneinfo import ZoneInfo

import httpx
import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.accounts.models import GatewayAccount
from apps.core.ids import new_id
from apps.core.money import Money
from apps.core.tenancy import Tenant as CoreTenant
from apps.payments import services
from apps.payments.models import FeeLine, Payment, PaymentMethod, Refund, Transaction, Void
from tests.factories import make_customer, owner_membership
from tests.payments.payments_helpers import payments_db

LIST = reverse("dashboard:payments")
EXPORT = reverse("dashboard:payments_export")
TERMINAL = reverse("dashboard:payment_terminal")
HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "payment-results"}
NEW_YORK = ZoneInfo("America/New_York")
FEES = {"interchange": 20, "scheme": 12, "gateway": 15, "platform": 27}


def ny(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 6, day, hour, minute, tzinfo=NEW_YORK)


def detail_url(payment) -> str:
    return reverse("dashboard:payment_detail", args=[payment.pk])


# --- fixtures and row builders ------------------------------------------------------------------------
def make_payment(tenant: CoreTenant, *, amount: int = 1000, currency: str = "GBP", status: str = "succeeded",
                 customer=None, product=None, fees: dict | None = None, created_at=None, last4: str = "4242",
                 brand: str = "visa", gateway_txn: str = "", refunded: int = 0, disputed: int = 0,
                 description: str = "") -> Payment:
    """A payment row as payment_create leaves it: captured with a sale transaction and its fee lines."""
    fees = FEES if fees is None else fees
    captured = amount if status in ("succeeded", "partially_refunded", "refunded", "voided") else 0
    total_fees = sum(fees.values()) if captured else 0
    extra = {"created_at": created_at} if created_at else {}
    payment = Payment.objects.create(
        merchant=tenant.merchant, livemode=tenant.livemode, customer=customer, product=product, amount_minor=amount,
        currency=currency, status=status, amount_captured_minor=captured, amount_refunded_minor=refunded,
        amount_disputed_minor=disputed, attempt_id=new_id("pat"), card_brand=brand, card_last4=last4,
        gateway_transaction_id=gateway_txn or new_id("gw")[-12:], fees_minor=total_fees,
        net_minor=captured - refunded - total_fees, description=description, **extra)
    if captured:
        txn = Transaction.objects.create(merchant=tenant.merchant, livemode=tenant.livemode, type="sale",
                                         amount_minor=captured, currency=currency, payment=payment)
        FeeLine.objects.bulk_create([FeeLine(merchant=tenant.merchant, livemode=tenant.livemode, transaction=txn,
                                             code=code, description=code, amount_minor=value, currency=currency)
                                     for code, value in fees.items()])
    return payment


def shown(response) -> list[str]:
    return [row.payment.pk for row in response.context["rows"]]


# --- list ----------------------------------------------------------------------------------------------
def test_list_shows_the_columns_newest_first_and_only_this_tenants_payments(owner_client, sandbox_tenant, tenant,
                                                                            other_tenant):
    ada = make_customer(sandbox_tenant, email="ada@example.com", name="Ada Lovelace")
    old = make_payment(sandbox_tenant, customer=ada, amount=1000, description="Coffee Club",
                       created_at=datetime(2026, 5, 1, 12, tzinfo=ZoneInfo("UTC")))
    new = make_payment(sandbox_tenant, amount=2500, status="refunded", refunded=2500, last4="0009",
                       created_at=datetime(2026, 5, 2, 12, tzinfo=ZoneInfo("UTC")))
    disputed = make_payment(sandbox_tenant, amount=3000, disputed=3000,
                            created_at=datetime(2026, 5, 3, 12, tzinfo=ZoneInfo("UTC")))
    make_payment(CoreTenant(tenant.merchant, livemode=True), amount=777)  # other mode
    elsewhere = make_payment(CoreTenant(other_tenant.merchant, livemode=False), amount=888)  # other merchant
    response = owner_client.get(LIST)
    assert response.status_code == 200
    assert shown(response) == [disputed.pk, new.pk, old.pk]
    page = response.content.decode()
    for text in ("Ada Lovelace", "Coffee Club", "£10.00", "£0.74", "£9.26", "Refunded", "Visa •••• 0009",
                 'data-testid="payment-disputed"', detail_url(old)):
        assert text in page, text
    assert "£7.77" not in page and "£8.88" not in page and elsewhere.pk not in page
    assert f'href="{LIST}" class="nav-link active"' in page


@pytest.mark.parametrize("params, expected", [
    ({"status": "refunded"}, ["refunded"]),
    ({"status": "failed"}, ["failed"]),
    ({"status": "disputed"}, ["disputed"]),
    ({"amount_min": "20", "amount_max": "30"}, ["refunded", "disputed"]),
    ({"amount_min": "25.01"}, ["disputed"]),
    ({"date_from": "2026-05-02", "date_to": "2026-05-02"}, ["refunded"]),
    ({"q": "ada@EXAMPLE"}, ["plain"]),
    ({"q": "lovelace"}, ["plain"]),
    ({"q": "0009"}, ["refunded"]),
    ({"q": "gw-TXN-77"}, ["failed"]),
])
def test_filters_and_search(owner_client, sandbox_tenant, params, expected):
    utc = ZoneInfo("UTC")
    ada = make_customer(sandbox_tenant, email="ada@example.com", name="Ada Lovelace")
    rows = {
        "plain": make_payment(sandbox_tenant, customer=ada, amount=1000, created_at=datetime(2026, 5, 1, 12, tzinfo=utc)),
        "refunded": make_payment(sandbox_tenant, amount=2500, status="refunded", refunded=2500, last4="0009",
                                 created_at=datetime(2026, 5, 2, 12, tzinfo=utc)),
        "disputed": make_payment(sandbox_tenant, amount=3000, disputed=3000,
                                 created_at=datetime(2026, 5, 3, 12, tzinfo=utc)),
        "failed": make_payment(sandbox_tenant, amount=500, status="failed", gateway_txn="gw-TXN-77",
                               created_at=datetime(2026, 5, 4, 12, tzinfo=utc)),
    }
    names = {p.pk: name for name, p in rows.items()}
    response = owner_client.get(LIST, params)
    assert sorted(names[pk] for pk in shown(response)) == sorted(expected)
    partial = owner_client.get(LIST, params, **HTMX)
    content = partial.content.decode()
    assert "<html" not in content and content.count('data-testid="payment-row"') == len(expected)


def test_search_by_payment_id_and_customer_filter(owner_client, sandbox_tenant):
    ada = make_customer(sandbox_tenant, email="ada@example.com")
    mine = make_payment(sandbox_tenant, customer=ada)
    other = make_payment(sandbox_tenant)
    assert shown(owner_client.get(LIST, {"q": mine.pk})) == [mine.pk]
    assert shown(owner_client.get(LIST, {"customer": ada.pk})) == [mine.pk]
    assert other.pk in shown(owner_client.get(LIST))


def test_bad_filters_are_form_errors_not_500(owner_client, sandbox_tenant):
    make_payment(sandbox_tenant)
    response = owner_client.get(LIST, {"amount_min": "ten", "date_from": "2026-05-09", "date_to": "2026-05-01"})
    assert response.status_code == 200
    assert response.context["rows"] == []
    assert response.context["form"].errors.keys() == {"amount_min", "date_to"}
    assert owner_client.get(EXPORT, {"amount_min": "1.234"}).status_code == 302  # refuses to export a bad filter


def test_csv_export_has_every_filtered_row_across_pages(owner_client, sandbox_tenant):
    ada = make_customer(sandbox_tenant, email="ada@example.com", name="=cmd|' /C calc'!A0")
    for _ in range(30):
        make_payment(sandbox_tenant, customer=ada, amount=1234)
    make_payment(sandbox_tenant, amount=999, status="failed")
    response = owner_client.get(EXPORT, {"status": "succeeded"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert len(rows) == 30
    first = rows[0]
    assert (first["amount"], first["fees"], first["net"], first["currency"], first["status"]) == (
        "12.34", "0.74", "11.60", "GBP", "succeeded")
    assert first["customer_name"].startswith("'=")  # a formula is neutralised


def test_list_and_export_queries_do_not_grow_with_rows(owner_client, sandbox_tenant):
    customer = make_customer(sandbox_tenant)

    def count(url, params):
        owner_client.get(url, params)
        with CaptureQueriesContext(connection) as ctx:
            response = owner_client.get(url, params)
            if response.streaming:
                b"".join(response.streaming_content)
        assert response.status_code == 200
        return len(ctx.captured_queries)

    for _ in range(3):
        make_payment(sandbox_tenant, customer=customer)
    few = [count(LIST, {}), count(LIST, {"q": "example"}), count(EXPORT, {})]
    for _ in range(27):
        make_payment(sandbox_tenant, customer=customer)
    assert [count(LIST, {}), count(LIST, {"q": "example"}), count(EXPORT, {})] == few


# --- roles and tenancy ---------------------------------------------------------------------------------
def test_another_merchants_or_modes_payment_is_404(owner_client, tenant, other_tenant):
    elsewhere = make_payment(CoreTenant(other_tenant.merchant, livemode=False))
    live = make_payment(CoreTenant(tenant.merchant, livemode=True))
    for payment in (elsewhere, live):
        assert owner_client.get(detail_url(payment)).status_code == 404
        assert owner_client.post(reverse("dashboard:payment_void", args=[payment.pk])).status_code == 404
        assert owner_client.post(reverse("dashboard:payment_refund", args=[payment.pk])).status_code == 404
        assert owner_client.get(reverse("dashboard:payment_terminal_result", args=[payment.pk])).status_code == 404
    assert owner_client.get(reverse("dashboard:payment_detail", args=["pay_nope"])).status_code == 404


def test_roles(login_as, sandbox_tenant):
    payment = make_payment(sandbox_tenant)
    viewer = login_as("viewer")
    assert viewer.get(LIST).status_code == 200
    page = viewer.get(detail_url(payment)).content.decode()
    assert 'data-testid="fee-waterfall"' in page and 'data-testid="reversal-dialog"' not in page
    assert viewer.post(reverse("dashboard:payment_void", args=[payment.pk])).status_code == 403
    assert viewer.get(TERMINAL).status_code == 403
    support = login_as("support")
    page = support.get(detail_url(payment)).content.decode()
    # Support processes refunds but does not see financial data (page 054).
    assert 'data-testid="reversal-dialog"' in page and 'data-testid="fee-waterfall"' not in page
    assert "Fees</th>" not in support.get(LIST).content.decode()
    assert support.get(TERMINAL).status_code == 200
    member = login_as("member")
    assert member.get(TERMINAL).status_code == 403


# --- detail, waterfall, reversal (real services against the simulator) -----------------------------------
@pytest.fixture
def shop_client(client, shop):
    client.force_login(owner_membership(shop.merchant).user)
    return client


def _pay(sandbox, actor, minor=1000, token="tok_visa_debit_gb", customer=None):
    return services.payment_create(tenant=sandbox, actor=actor, amount=Money(minor, "GBP"), payment_token=token,
                                   customer=customer, description="Phone order")


@payments_db
def test_detail_waterfall_equals_the_fee_lines_and_net(shop_client, sandbox, actor):
    customer = make_customer(sandbox, email="grace@example.com", name="Grace Hopper")
    payment = _pay(sandbox, actor, 10000, token="tok_visa", customer=customer)
    assert payment.status == "succeeded"
    response = shop_client.get(detail_url(payment))
    assert response.status_code == 200
    waterfall = response.context["waterfall"]
    lines = list(FeeLine.objects.filter(transaction__payment=payment))
    assert waterfall.gross_minor == 10000
    assert sorted((s.code, s.amount_minor) for s in waterfall.steps) == sorted((f.code, f.amount_minor) for f in lines)
    assert [s.code for s in waterfall.steps] == [c for c in ("interchange", "scheme", "gateway", "platform")
                                                if c in {f.code for f in lines}]
    assert waterfall.net_minor == payment.net_minor == 10000 - payment.fees_minor
    assert waterfall.steps[-1].running_minor == payment.net_minor
    margin = response.context["margin"]
    assert margin.net_minor == payment.net_minor
    page = response.content.decode()
    for text in ("Grace Hopper", reverse("dashboard:customers_detail", args=[customer.pk]),
                 payment.gateway_transaction_id, Money(payment.net_minor, "GBP").format(), "Visa •••• ",
                 'data-testid="payment-avs"', "payment.succeeded", "pending → succeeded"):
        assert text in page, text


@payments_db
def test_reversal_offers_void_only_before_cutoff_and_refund_only_after_settlement(shop_client, sandbox, actor):
    with time_machine.travel(ny(10, 12), tick=True) as clock:
        payment = _pay(sandbox, actor)
        response = shop_client.get(detail_url(payment))
        assert [o.kind for o in response.context["reversal"].options] == ["void"]
        page = response.content.decode()
        assert "Safe to Void" in page and 'data-testid="void-button"' in page and "Void Payment" in page
        assert 'data-testid="refund-form"' not in page and 'data-testid="void-warning"' not in page

        clock.move_to(ny(10, 19, 50))
        page = shop_client.get(detail_url(payment)).content.decode()
        assert "High-Risk Void Window" in page and "Attempt Void" in page
        assert 'data-testid="void-warning"' in page and "If void fails, you will need to process a refund" in page
        assert 'data-testid="refund-form"' not in page

        clock.move_to(ny(10, 20, 5))
        response = shop_client.get(detail_url(payment))
        assert [o.kind for o in response.context["reversal"].options] == ["refund"]
        page = response.content.decode()
        assert "Settlement Complete" in page and 'data-testid="refund-form"' in page
        assert 'data-testid="void-button"' not in page


@payments_db
def test_refund_before_settlement_and_over_the_limit_are_form_errors(shop_client, sandbox, actor):
    refund_url = lambda p: reverse("dashboard:payment_refund", args=[p.pk])  # noqa: E731
    with time_machine.travel(ny(10, 12), tick=True) as clock:
        payment = _pay(sandbox, actor)
        early = shop_client.post(refund_url(payment), {"amount": "1.00"})
        assert early.status_code == 422
        assert "void it instead" in early.content.decode() and not Refund.objects.exists()

        clock.move_to(ny(10, 20, 5))
        too_much = shop_client.post(refund_url(payment), {"amount": "10.01", "reason": "requested_by_customer"})
        assert too_much.status_code == 422
        assert too_much.context["refund_form"].errors["amount"]
        assert "exceeds the refundable amount" in too_much.content.decode()
        bad = shop_client.post(refund_url(payment), {"amount": "1.234"})
        assert bad.status_code == 422 and bad.context["refund_form"].errors["amount"]
        assert not Refund.objects.exists()

        done = shop_client.post(refund_url(payment), {"amount": "4.00", "reason": "requested_by_customer"})
        assert done.status_code == 302
        payment.refresh_from_db()
        assert (payment.status, payment.amount_refunded_minor) == ("partially_refunded", 400)
        page = shop_client.get(detail_url(payment)).content.decode()
        assert "Up to <strong>£6.00</strong>" in page and 'data-testid="refund-row"' in page
        rest = shop_client.post(refund_url(payment), {"amount": ""})
        assert rest.status_code == 302
    payment.refresh_from_db()
    assert (payment.status, payment.amount_refunded_minor) == ("refunded", 1000)


@payments_db
def test_void_from_the_dialog_and_a_refused_void_never_becomes_a_refund(shop_client, shop, sandbox, actor,
                                                                        nmi_simulator):
    void_url = lambda p: reverse("dashboard:payment_void", args=[p.pk])  # noqa: E731
    with time_machine.travel(ny(10, 12), tick=True):
        first = _pay(sandbox, actor)
        response = shop_client.post(void_url(first), follow=True)
        assert "Payment voided" in response.content.decode()
        first.refresh_from_db()
        assert (first.status, first.fees_minor, first.net_minor) == ("voided", 0, 0)
        assert 'data-testid="voided-note"' in response.content.decode()

        second = _pay(sandbox, actor)
        # The gateway settles the batch early: the clock still says "safe" but the void is refused.
        key = GatewayAccount.objects.get(merchant=shop.merchant, livemode=False).security_key
        closed = httpx.post(f"{nmi_simulator.url}/_control/batches/close", json={"security_key": key, "force": True},
                            timeout=5)
        assert closed.status_code == 200
        refused = shop_client.post(void_url(second))
    assert refused.status_code == 422
    page = refused.content.decode()
    assert 'data-testid="reversal-error"' in page and "The void failed" in page
    second.refresh_from_db()
    assert second.status == "succeeded"
    assert Void.objects.get(payment=second).status == "failed"
    assert not Refund.objects.filter(payment=second).exists()


# --- virtual terminal -----------------------------------------------------------------------------------
@payments_db
def test_terminal_charges_a_token_and_shows_the_result(shop_client, sandbox):
    customer = make_customer(sandbox, email="grace@example.com")
    page = shop_client.get(TERMINAL).content.decode()
    assert "/token/Collect.js" in page and GatewayAccount.objects.get(
        merchant=sandbox.merchant, livemode=False).tokenization_key in page
    response = shop_client.post(TERMINAL, {"customer": customer.pk, "payment_method": "new",
                                           "payment_token": "tok_visa", "amount": "42.50", "currency": "GBP",
                                           "description": "Phone order"})
    assert response.status_code == 302
    payment = Payment.objects.get()
    assert (payment.status, payment.amount_minor, payment.currency, payment.customer_id) == (
        "succeeded", 4250, "GBP", customer.pk)
    result = shop_client.get(response["Location"]).content.decode()
    assert "Payment succeeded" in result and detail_url(payment) in result


@payments_db
def test_terminal_decline_shows_the_message_of_its_code(shop_client):
    response = shop_client.post(TERMINAL, {"payment_method": "new", "payment_token": "tok_decline_300",
                                           "amount": "10.00", "currency": "GBP"}, follow=True)
    page = response.content.decode()
    assert "Declined (300)" in page and "Insufficient funds. Please try a different card." in page
    assert Payment.objects.get().status == "failed"


@payments_db
def test_terminal_3ds_links_to_the_challenge_and_the_return_page_completes_it(shop_client):
    response = shop_client.post(TERMINAL, {"payment_method": "new", "payment_token": "tok_3ds", "amount": "40.00",
                                           "currency": "GBP"}, follow=True)
    payment = Payment.objects.get()
    assert payment.status == "requires_action"
    challenge = response.context["challenge_url"]
    assert challenge.startswith(payment.action_url) and "return_url=" in challenge
    done = httpx.post(payment.action_url, data={"action": "complete", "return_url": "http://testserver/x"}, timeout=5)
    assert done.status_code == 303
    back = shop_client.get(reverse("dashboard:payment_3ds_return", args=[payment.pk]), follow=True)
    assert "Payment succeeded" in back.content.decode()
    payment.refresh_from_db()
    assert payment.status == "succeeded" and payment.three_ds


@payments_db
def test_terminal_charges_a_saved_card_and_validates(shop_client, sandbox):
    customer = make_customer(sandbox, email="grace@example.com")
    other = make_customer(sandbox, email="alan@example.com")
    card = PaymentMethod.objects.create(merchant=sandbox.merchant, livemode=False, customer=customer,
                                        gateway_token="tok_mastercard", brand="mastercard", last4="4444",
                                        is_default=True)
    cards = shop_client.get(reverse("dashboard:payment_terminal_cards"), {"customer": customer.pk}).content.decode()
    assert "Mastercard •••• 4444" in cards and card.pk in cards
    # Someone else's card, a missing token, a bad amount: form errors, nothing charged.
    wrong = shop_client.post(TERMINAL, {"customer": other.pk, "payment_method": card.pk, "amount": "5.00",
                                        "currency": "GBP"})
    assert wrong.status_code == 422
    no_token = shop_client.post(TERMINAL, {"payment_method": "new", "amount": "5.00", "currency": "GBP"})
    assert no_token.status_code == 422 and no_token.context["form"].non_field_errors()
    bad_amount = shop_client.post(TERMINAL, {"payment_method": "new", "payment_token": "tok_visa", "amount": "-1",
                                             "currency": "GBP"})
    assert bad_amount.status_code == 422 and bad_amount.context["form"].errors["amount"]
    assert not Payment.objects.exists()
    ok = shop_client.post(TERMINAL, {"customer": customer.pk, "payment_method": card.pk, "amount": "5.00",
                                     "currency": "GBP"})
    assert ok.status_code == 302
    payment = Payment.objects.get()
    assert (payment.status, payment.payment_method_id, payment.customer_id) == ("succeeded", card.pk, customer.pk)


@payments_db
def test_terminal_saves_a_new_card_for_the_customer(shop_client, sandbox):
    customer = make_customer(sandbox, email="grace@example.com")
    response = shop_client.post(TERMINAL, {"customer": customer.pk, "payment_method": "new", "save_card": "on",
                                           "payment_token": "tok_visa", "amount": "12.00", "currency": "GBP"})
    assert response.status_code == 302, response.content.decode()[:2000]
    method = PaymentMethod.objects.get(customer=customer)
    payment = Payment.objects.get()
    assert payment.status == "succeeded" and payment.payment_method_id == method.pk
    assert method.gateway_vault_id and method.is_default  # the customer's first card
    # The saved card is offered next time.
    page = shop_client.get(TERMINAL, {"customer": customer.pk}).content.decode()
    assert f'value="{method.pk}"' in page


# --- the Payments card on the customer page ---------------------------------------------------------------
def test_customer_page_shows_payments_saved_cards_and_totals_in_constant_queries(
        owner_client, login_as, sandbox_tenant, django_assert_max_num_queries):
    ada = make_customer(sandbox_tenant, email="ada@example.com", name="Ada Lovelace")
    other = make_customer(sandbox_tenant, email="bo@example.com", name="Bo")
    make_payment(sandbox_tenant, customer=ada, amount=1000, description="Coffee Club")
    make_payment(sandbox_tenant, customer=ada, amount=2500, status="partially_refunded", refunded=500)
    make_payment(sandbox_tenant, customer=other, amount=9900, description="Not Ada's")
    PaymentMethod.objects.create(merchant=sandbox_tenant.merchant, livemode=False, customer=ada, brand="visa",
                                 last4="0009", exp_month=12, exp_year=2030, is_default=True, gateway_vault_id="v1")
    url = reverse("dashboard:customers_detail", args=[ada.pk])
    page = owner_client.get(url).content.decode()
    card = page[page.index('data-testid="customer-payments-card"'):]
    assert card.count('data-testid="customer-payment-row"') == 2
    assert "Coffee Club" in card and "Not Ada's" not in card and "£99.00" not in card
    assert "£35.00" in card and "£5.00" in card  # paid in 2 payments, refunded
    assert "Visa •••• 0009" in card and "Default" in card
    assert 'data-testid="customer-net"' in card

    with django_assert_max_num_queries(40) as few:
        owner_client.get(url)
    for _ in range(8):
        make_payment(sandbox_tenant, customer=ada, amount=100)
    with django_assert_max_num_queries(len(few.captured_queries)):
        more = owner_client.get(url).content.decode()
    assert "See all of this customer&#x27;s payments" in more or "See all of this customer's payments" in more

    support = login_as("support").get(url).content.decode()
    assert 'data-testid="customer-payments-card"' in support and 'data-testid="customer-net"' not in support

"""`manage.py load_demo` gives Northwind three payment links with a real checkout history (views, sessions
started, completed by card through the completion service and the simulator, abandoned at several steps and
expired), and a second run writes nothing."""
from io import StringIO

from django.core.management import call_command

from apps.accounts.models import Merchant
from apps.billing.models import Invoice
from apps.checkout import services
from apps.checkout.models import CheckoutSession, CheckoutSettings, PaymentLink
from apps.payments.models import Payment


def load() -> str:
    out = StringIO()
    call_command("load_demo", stdout=out)
    return out.getvalue()


def test_demo_payment_links_have_real_history_and_a_second_run_writes_nothing(db):
    text = load()
    merchant = Merchant.objects.get(name="Northwind Coffee Roasters")
    links = {link.name: link for link in PaymentLink.objects.filter(merchant=merchant, livemode=False,
                                                                   metadata__demo="northwind")}
    assert "Demo payment links:" in text and len(links) == 3
    beans, gift, course = (links["Ethiopia beans by the bag"], links["Northwind gift card"],
                           links["Brewing course launch offer"])
    assert beans.allow_quantity and beans.allow_discount_codes
    assert gift.items.get().price.pricing_model == "pay_what_you_want"
    assert course.uses_count == course.max_uses == 2
    assert services.payment_link_closed_reason(course) == "This payment link has reached its maximum number of uses."

    for link in links.values():
        sessions = CheckoutSession.objects.filter(payment_link=link)
        assert link.sessions_started_count == sessions.count() >= 3
        assert link.views_count >= link.sessions_started_count
        complete = sessions.filter(status="complete")
        assert link.uses_count == complete.count() == 2
        # revenue is the completed sessions' totals, paid by card through the gateway
        assert link.revenue_minor == sum(s.total_minor for s in complete) > 0
        for session in complete:
            assert Invoice.objects.get(pk=session.invoice_id).status == "paid"
            assert Payment.objects.get(pk=session.payment_id).status == "succeeded"
    # UK VAT 20 % (the billing demo's rate): 3 bags of £9.50 with FIVEOFF (£5 off) → £28.20; one bag → £11.40.
    # The gift cards are the amounts the buyers chose.
    assert sorted(s.total_minor for s in beans.sessions.filter(status="complete")) == [1140, 2820]
    assert sorted(s.subtotal_minor for s in gift.sessions.filter(status="complete")) == [2500, 5000]
    steps = set(CheckoutSession.objects.filter(payment_link__in=links.values(), status="expired")
                .values_list("last_step", flat=True))
    assert {"viewed", "email", "details"} <= steps
    assert beans.sessions.filter(last_step="declined").exists()
    assert CheckoutSettings.objects.get(merchant=merchant).button_text == "Pay securely"

    counts = (PaymentLink.objects.count(), CheckoutSession.objects.count(), Payment.objects.count(),
              list(PaymentLink.objects.order_by("pk").values_list("views_count", "uses_count", "revenue_minor")))
    load()
    assert (PaymentLink.objects.count(), CheckoutSession.objects.count(), Payment.objects.count(),
            list(PaymentLink.objects.order_by("pk").values_list("views_count", "uses_count",
                                                                  "revenue_minor"))) == counts

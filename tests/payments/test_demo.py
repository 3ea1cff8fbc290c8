"""`manage.py load_demo` gives Northwind three months of real sandbox payments: through the services and
the NMI adapter against the simulator (in-process), with declines, refunds, a void, a won and an open
dispute, settlement batches and payouts that reconcile — and a second run writes nothing."""
from io import StringIO

from django.core.management import call_command
from django.db.models import Sum

from apps.accounts.models import Merchant
from apps.payments.models import Dispute, Payment, Payout, Refund, SettlementBatch, Transaction, Void
from apps.payments.simulators.nmi.models import SimTransaction


def load() -> str:
    out = StringIO()
    call_command("load_demo", stdout=out)
    return out.getvalue()


def test_demo_payments_are_real_gateway_history_and_a_second_run_writes_nothing(db):
    text = load()
    merchant = Merchant.objects.get(name="Northwind Coffee Roasters")
    payments = Payment.objects.filter(merchant=merchant, livemode=False)
    assert "Demo payments:" in text and payments.count() >= 90
    succeeded = payments.exclude(status="failed")
    assert payments.filter(status="failed").exclude(decline_code="").exists()
    # Each approved payment is one sale in the simulator's ledger under our attempt id, with fee lines.
    attempts = list(succeeded.values_list("attempt_id", flat=True))
    assert SimTransaction.objects.filter(type="sale", orderid__in=attempts).count() == len(attempts)
    assert Transaction.objects.filter(payment__in=succeeded, type="sale", fee_lines__isnull=True).count() == 0
    sales = succeeded.filter(metadata__demo="northwind")  # the billing demo's invoice payments have no one product
    assert sales.filter(product__isnull=False).count() == sales.count()  # margin per product works
    assert Refund.objects.filter(payment__merchant=merchant, status="succeeded").count() >= 5
    assert Void.objects.filter(payment__merchant=merchant, status="succeeded").count() == 1

    assert set(Dispute.objects.filter(merchant=merchant).values_list("status", flat=True)) == {"won", "needs_response"}
    assert SettlementBatch.objects.filter(merchant=merchant).count() >= 60
    payouts = Payout.objects.filter(merchant=merchant)
    assert payouts.filter(status="paid").count() >= 40
    for payout in payouts:
        lines = Transaction.objects.filter(payout=payout)
        gross = lines.aggregate(total=Sum("amount_minor"))["total"]
        fees = lines.aggregate(total=Sum("fee_lines__amount_minor"))["total"] or 0
        assert payout.amount_minor == gross - fees, payout.pk

    counts = (payments.count(), Payout.objects.count(), Dispute.objects.count(), SimTransaction.objects.count())
    load()
    assert (payments.count(), Payout.objects.count(), Dispute.objects.count(),
            SimTransaction.objects.count()) == counts

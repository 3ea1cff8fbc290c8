"""/v2/payouts: the list (newest first, filters), one payout with its summary and fees by code, and the
lines it paid out (gross, fees, net; the nets sum to the payout), paginated; bad filters are a 400."""
from __future__ import annotations

from datetime import date

import pytest

from apps.core.tenancy import Tenant
from apps.payments import services
from tests.payments.payouts_helpers import make_dispute, make_refund, make_sale

pytestmark = pytest.mark.django_db


@pytest.fixture
def sandbox(tenant) -> Tenant:
    return Tenant(tenant.merchant, livemode=False)


@pytest.fixture
def two_payouts(sandbox):
    first_sale = make_sale(sandbox, 10000, available_on=date(2026, 3, 2))
    make_sale(sandbox, 5000, card="mc_credit_gb", available_on=date(2026, 3, 2))
    make_refund(sandbox, first_sale, 3000, available_on=date(2026, 3, 3))
    make_dispute(sandbox, first_sale, 2000, available_on=date(2026, 3, 3))
    make_sale(sandbox, 700, available_on=date(2026, 3, 3))
    return services.payouts_create_due(today=date(2026, 3, 3))


def test_list_newest_first_with_filters(api, two_payouts):
    body = api.get("/v2/payouts").json()
    assert [row["payout_date"] for row in body["data"]] == ["2026-03-03", "2026-03-02"]
    assert body["pagination"]["total"] == 2
    first = body["data"][1]
    assert first["object"] == "payout" and first["status"] == "pending" and first["currency"] == "GBP"
    assert first["summary"]["net_minor"] == first["amount_minor"]
    assert [r["payout_date"] for r in api.get("/v2/payouts?date_from=2026-03-03").json()["data"]] == ["2026-03-03"]
    assert [r["payout_date"] for r in api.get("/v2/payouts?date_to=2026-03-02").json()["data"]] == ["2026-03-02"]
    assert api.get("/v2/payouts?status=paid").json()["data"] == []
    assert len(api.get("/v2/payouts?status=pending&limit=1").json()["data"]) == 1


@pytest.mark.parametrize("query, field", [("status=lost", "status"), ("date_from=yesterday", "date_from"),
                                          ("date_from=2026-03-05&date_to=2026-03-01", "date_to"),
                                          ("amount_min=ten", "amount_min")])
def test_bad_filters_are_400_with_the_field(api, query, field):
    response = api.get(f"/v2/payouts?{query}")
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert field in str(error.get("details") or error.get("param") or error)


def test_get_has_summary_and_fees_by_code(api, sandbox):
    sale = make_sale(sandbox, 10000, available_on=date(2026, 3, 2))
    make_dispute(sandbox, sale, 2000, available_on=date(2026, 3, 2))
    [payout] = services.payouts_create_due(today=date(2026, 3, 2))
    data = api.get(f"/v2/payouts/{payout.pk}").json()["data"]
    summary = data["summary"]
    assert summary["gross_minor"] - summary["fees_minor"] - summary["refunds_minor"] - summary["disputes_minor"] \
        + summary["adjustments_minor"] == summary["net_minor"] == data["amount_minor"]
    assert set(data["fees_by_code"]) == {"interchange", "scheme", "gateway", "platform", "chargeback"}
    assert sum(v for k, v in data["fees_by_code"].items() if k != "chargeback") == summary["fees_minor"]
    assert data["reference"].startswith("RK") and data["transaction_count"] == 2


def test_payments_in_a_payout_sum_to_its_amount_across_pages(api, sandbox):
    sales = [make_sale(sandbox, 1000 + i, available_on=date(2026, 3, 2)) for i in range(5)]
    make_refund(sandbox, sales[0], 300, available_on=date(2026, 3, 2))
    [payout] = services.payouts_create_due(today=date(2026, 3, 2))
    lines, offset = [], 0
    while True:
        body = api.get(f"/v2/payouts/{payout.pk}/payments?limit=2&offset={offset}").json()
        lines += body["data"]
        offset += 2
        if not body["pagination"]["hasMore"]:
            break
    assert len(lines) == 6 == payout.transaction_count
    assert sum(line["net_minor"] for line in lines) == payout.amount_minor
    refund = next(line for line in lines if line["type"] == "refund")
    assert (refund["gross_minor"], refund["fees_minor"], refund["net_minor"]) == (-300, 0, -300)
    assert refund["payment_id"] == sales[0].payment_id
    sale = next(line for line in lines if line["type"] == "sale")
    assert sale["net_minor"] == sale["gross_minor"] - sale["fees_minor"] and sale["fees_minor"] > 0
    assert sum(f["amount_minor"] for f in sale["fee_lines"]) == sale["fees_minor"]


def test_unknown_payout_is_404(api):
    assert api.get("/v2/payouts/pyt_nope").status_code == 404
    assert api.get("/v2/payouts/pay_01KTS464BQXZNNQFWN6EWTXJTT/payments").status_code == 404

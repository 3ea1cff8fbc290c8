"""/v2/disputes, /v2/disputes/open and /v2/disputes/{id}: a dispute learned from the simulator is readable
by its merchant's sandbox key only; the list is newest disputed first with filters and cursors; the open
list is needs_response only, the most urgent deadline first."""
from __future__ import annotations

from datetime import timedelta

import time_machine

from apps.core.clock import now
from apps.payments import services
from apps.payments.simulators.nmi import chargebacks
from tests.factories import make_customer
from tests.payments.payments_helpers import payments_db
from tests.payments.probes_disputes import make_dispute
from tests.payments.test_disputes import ny, settled_payment

pytestmark = payments_db


def test_a_synced_dispute_through_the_api(shop, sandbox, actor, other_tenant):
    with time_machine.travel(ny(10, 12), tick=True):
        payment = settled_payment(sandbox, actor)
        chargebacks.inject_chargeback(payment.gateway_transaction_id, reason_code="13.1", notify=False)
        (dispute_id,) = services.disputes_sync(gateway_account=payment.gateway_account).opened
        client = shop.client()
        got = client.get(f"/v2/disputes/{dispute_id}")
        listed = client.get("/v2/disputes")
        open_ = client.get("/v2/disputes/open")
    assert got.status_code == 200, got.content
    data = got.json()["data"]
    assert data == {**data, "id": dispute_id, "object": "dispute", "payment_id": payment.pk, "amount_minor": 4000,
                    "currency": "GBP", "fee_minor": 1500, "status": "needs_response",
                    "reason": "product_not_received", "network_reason_code": "13.1", "evidence_files": []}
    assert data["evidence_due_by"] and data["disputed_at"]
    assert [d["id"] for d in listed.json()["data"]] == [dispute_id]
    assert [d["id"] for d in open_.json()["data"]] == [dispute_id]

    assert other_tenant.client().get(f"/v2/disputes/{dispute_id}").status_code == 404
    assert other_tenant.client().get("/v2/disputes").json()["data"] == []
    assert shop.client(live=True).get(f"/v2/disputes/{dispute_id}").json()["error"]["code"] == "resource_missing"
    assert shop.client().get("/v2/disputes/dsp_nope").status_code == 404
    assert shop.client().get("/v2/disputes/pay_123").status_code == 404


def test_list_is_newest_disputed_first_with_filters_and_cursors(shop, sandbox):
    customer = make_customer(sandbox, name="Dee Sputer")
    start = now() - timedelta(days=10)
    # Created in this order, disputed in another: the list follows disputed_at.
    middle = make_dispute(sandbox, disputed_at=start + timedelta(days=2), customer=customer)
    newest = make_dispute(sandbox, disputed_at=start + timedelta(days=3), status="under_review")
    oldest = make_dispute(sandbox, disputed_at=start + timedelta(days=1), status="won")
    client = shop.client()

    body = client.get("/v2/disputes").json()
    assert [d["id"] for d in body["data"]] == [newest.pk, middle.pk, oldest.pk]
    assert body["pagination"] == {"limit": 25, "offset": 0, "total": 3, "hasMore": False}

    first = client.get("/v2/disputes?limit=1").json()
    assert [d["id"] for d in first["data"]] == [newest.pk] and first["pagination"]["hasMore"] is True
    after = client.get(f"/v2/disputes?limit=1&starting_after={newest.pk}").json()
    assert [d["id"] for d in after["data"]] == [middle.pk] and after["pagination"]["hasMore"] is True
    last = client.get(f"/v2/disputes?limit=5&starting_after={middle.pk}").json()
    assert [d["id"] for d in last["data"]] == [oldest.pk] and last["pagination"]["hasMore"] is False
    before = client.get(f"/v2/disputes?limit=1&ending_before={oldest.pk}").json()
    assert [d["id"] for d in before["data"]] == [middle.pk] and before["pagination"]["hasMore"] is True

    assert [d["id"] for d in client.get("/v2/disputes?status=won").json()["data"]] == [oldest.pk]
    assert [d["id"] for d in client.get(f"/v2/disputes?customer_id={customer.pk}").json()["data"]] == [middle.pk]
    assert [d["id"] for d in client.get(f"/v2/disputes?payment_id={newest.payment_id}").json()["data"]] == [newest.pk]

    bad = client.get("/v2/disputes?status=angry")
    assert bad.status_code == 400 and "status" in bad.json()["error"]["details"]["fields"]
    assert client.get("/v2/disputes?starting_after=dsp_missing").status_code == 400
    assert client.get("/v2/disputes?limit=zero").status_code == 400


def test_open_disputes_most_urgent_first(shop, sandbox):
    base = now() - timedelta(days=1)
    later = make_dispute(sandbox, disputed_at=base, due_in_days=6)
    sooner = make_dispute(sandbox, disputed_at=base - timedelta(days=2), due_in_days=7)  # due in 4 days
    make_dispute(sandbox, disputed_at=base, due_in_days=2, status="under_review")
    make_dispute(sandbox, disputed_at=base, due_in_days=1, status="lost")
    client = shop.client()
    body = client.get("/v2/disputes/open").json()
    assert [d["id"] for d in body["data"]] == [sooner.pk, later.pk]
    assert body["pagination"]["total"] == 2
    page = client.get(f"/v2/disputes/open?limit=1&starting_after={sooner.pk}").json()
    assert [d["id"] for d in page["data"]] == [later.pk] and page["pagination"]["hasMore"] is False

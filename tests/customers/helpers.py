"""Helpers shared by the dashboard view tests of customers."""
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.customers import services
from apps.customers.validation import ADDRESS_FIELDS


def populate(tenant, actor, n, *, start=0, source="crm"):
    """`n` customers with an external id each, in one batch upsert (fast even for 500)."""
    services.customer_batch_upsert(tenant=tenant, actor=actor, source=source, rows=[
        {"external_id": f"e{i}", "email": f"c{i}@example.com", "name": f"Customer {i}",
         "billing_address": {"line1": f"{i} High Street", "city": "Leeds", "country": "GB"},
         "currency": "GBP", "metadata": {"i": str(i)}} for i in range(start, start + n)])


def count_queries(client, url, *, data=None, **headers):
    """The number of queries one GET runs (after a warm-up request) and its response; a streamed
    response is read inside the count."""
    client.get(url, data, **headers)  # warm the session, the last-active stamp and caches
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, data, **headers)
        if response.streaming:
            response.streamed = b"".join(response.streaming_content)
    assert response.status_code == 200, response.status_code
    return len(ctx.captured_queries), response


def form_data(*, tax_ids=(), shipping_same=True, **fields):
    """A complete POST body of the customer form (management form of the tax id rows included)."""
    data = {"email": "", "name": "", "company_name": "", "phone": "", "locale": "", "currency": "", "metadata": ""}
    for kind in ("billing", "shipping"):
        for part in ADDRESS_FIELDS:
            data[f"{kind}_{part}"] = ""
    if shipping_same:
        data["shipping_same"] = "on"
    rows = list(tax_ids) + [("", "")] * 2
    data.update({"tax-TOTAL_FORMS": str(len(rows)), "tax-INITIAL_FORMS": "0", "tax-MIN_NUM_FORMS": "0",
                 "tax-MAX_NUM_FORMS": "10"})
    for index, (tax_type, value) in enumerate(rows):
        data[f"tax-{index}-type"] = tax_type
        data[f"tax-{index}-value"] = value
    data.update(fields)
    return data

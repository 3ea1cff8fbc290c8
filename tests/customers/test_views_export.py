"""CSV export of the customer list: columns, the list's search and filters, formula-injection guard,
streaming (also under ASGI) and a query count that does not grow with the rows."""
import csv
import io

from asgiref.sync import async_to_sync
from django.test import AsyncRequestFactory
from django.urls import reverse

from apps.core.tenancy import Tenant
from apps.customers import selectors, views
from tests.customers.helpers import count_queries, populate
from tests.factories import make_customer

EXPORT = reverse("dashboard:customers_export")


def read_csv(response) -> list[dict]:
    body = b"".join(response.streaming_content) if response.streaming else response.content
    text = body.decode("utf-8")
    assert text.startswith("\ufeff")  # the BOM, so Excel reads UTF-8
    return list(csv.DictReader(io.StringIO(text[1:])))


def test_export_columns_and_values(owner_client, shop_sandbox, shop_live):
    ada = make_customer(shop_sandbox, email="ada@engine.example", name="Ada Müller", phone="020 7946 0001",
                        currency="EUR", billing_address={"city": "Berlin", "country": "DE"},
                        external_ids=[("shopify", "SHP-1"), ("hubspot", "hs-9")])
    plain = make_customer(shop_sandbox, email="plain@example.com", shipping_address={"country": "FR"})
    make_customer(shop_live, email="live@example.com")
    response = owner_client.get(EXPORT)
    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="customers-sandbox-')
    rows = read_csv(response)
    assert list(rows[0]) == ["id", "name", "email", "phone", "country", "currency", "external_ids", "created_at"]
    assert rows == [
        {"id": plain.pk, "name": "", "email": "plain@example.com", "phone": "", "country": "FR", "currency": "",
         "external_ids": "", "created_at": rows[0]["created_at"]},
        {"id": ada.pk, "name": "Ada Müller", "email": "ada@engine.example", "phone": "020 7946 0001", "country": "DE",
         "currency": "EUR", "external_ids": "hubspot:hs-9; shopify:SHP-1", "created_at": rows[1]["created_at"]},
    ]
    assert rows[1]["created_at"].endswith("Z") and rows[1]["created_at"][:4].isdigit()


def test_export_honours_the_search_and_filters(owner_client, shop_sandbox, actor):
    populate(shop_sandbox, actor, 30)
    make_customer(shop_sandbox, email="zed@example.com", currency="USD")
    assert [r["email"] for r in read_csv(owner_client.get(EXPORT, {"q": "c1"}))] == [
        f"c{i}@example.com" for i in (19, 18, 17, 16, 15, 14, 13, 12, 11, 10, 1)]
    assert [r["email"] for r in read_csv(owner_client.get(EXPORT, {"currency": "USD"}))] == ["zed@example.com"]
    assert len(read_csv(owner_client.get(EXPORT, {"source": "crm", "sort": "name"}))) == 30
    assert len(read_csv(owner_client.get(EXPORT, {"page": "2"}))) == 31  # the list's page does not cut the export


def test_formula_injection_is_neutralised(owner_client, shop_sandbox):
    make_customer(shop_sandbox, email="a@example.com", name='=HYPERLINK("http://evil.example","Click")',
                  phone="+44 20 7946 0000")
    make_customer(shop_sandbox, email="b@example.com", name="-2+3", metadata={"x": "y"})
    make_customer(shop_sandbox, email="c@example.com", name="@SUM(A1:A9)", external_ids=[("crm", "=1+1")])
    rows = {r["email"]: r for r in read_csv(owner_client.get(EXPORT))}
    assert rows["a@example.com"]["name"] == "'=HYPERLINK(\"http://evil.example\",\"Click\")"
    assert rows["a@example.com"]["phone"] == "'+44 20 7946 0000"
    assert rows["b@example.com"]["name"] == "'-2+3"
    assert rows["c@example.com"]["name"] == "'@SUM(A1:A9)"
    assert rows["c@example.com"]["external_ids"] == "crm:=1+1"  # not at the start of the cell: harmless
    assert views.csv_safe("\tcmd") == "'\tcmd" and views.csv_safe("plain") == "plain" and views.csv_safe(None) == ""


def test_a_viewer_can_export_and_other_merchants_rows_never_appear(client, member_client, shop_sandbox, other_tenant):
    make_customer(shop_sandbox, email="mine@example.com")
    make_customer(Tenant(other_tenant.merchant, False), email="theirs@example.com")
    member_client("viewer")
    assert [r["email"] for r in read_csv(client.get(EXPORT))] == ["mine@example.com"]


def test_bad_filters_go_back_to_the_list_with_the_error(owner_client):
    response = owner_client.get(EXPORT, {"created_from": "2026-07-03", "created_to": "2026-07-01"}, follow=True)
    assert response.redirect_chain[0][0].startswith(reverse("dashboard:customers") + "?created_from=2026-07-03")
    page = response.content.decode()
    assert "Fix the filters before exporting." in page and "The end date must be on or after the start date." in page


def test_the_export_query_count_is_the_same_for_10_and_500_customers(owner_client, shop_sandbox, actor):
    populate(shop_sandbox, actor, 10)
    few, response = count_queries(owner_client, EXPORT, data={"q": "customer"})
    assert response.streamed.count(b"@example.com") == 10
    populate(shop_sandbox, actor, 490, start=10)
    many, response = count_queries(owner_client, EXPORT, data={"q": "customer"})
    assert response.streamed.count(b"@example.com") == 500
    assert many == few, (few, many)


def test_under_asgi_the_export_is_an_async_stream_with_the_same_bytes(shop_sandbox, actor):
    """Django reads a plain iterator to the end before sending under ASGI; ours streams chunk by chunk."""
    populate(shop_sandbox, actor, 600)
    populate(shop_sandbox, actor, 600, start=600)
    request = AsyncRequestFactory().get(EXPORT)

    def chunks():
        return views._csv_chunks(selectors.customer_list(tenant=shop_sandbox))

    stream = views._streamable(request, chunks())
    assert hasattr(stream, "__aiter__")

    async def collect():
        return [chunk async for chunk in stream]

    parts = async_to_sync(collect)()
    assert len(parts) == 3  # 1,201 lines in chunks of EXPORT_FLUSH
    assert "".join(parts) == "".join(chunks())

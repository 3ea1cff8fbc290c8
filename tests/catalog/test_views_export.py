"""Dashboard: the product list as CSV (streamed, filtered like the page, safe to open in a spreadsheet)."""
import csv
import io

import pytest
from django.http import StreamingHttpResponse
from django.urls import reverse

from apps.catalog import services
from apps.catalog.display import csv_safe
from apps.core.actors import Actor
from apps.core.tenancy import Tenant as CoreTenant
from tests.factories import make_merchant, make_price, make_product

EXPORT = reverse("dashboard:products_export")


def read_csv(response) -> list[dict]:
    assert isinstance(response, StreamingHttpResponse)
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")  # Excel reads the £ right
    return list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))


def test_export_has_one_row_a_product_with_its_prices_in_words(owner_client, sandbox):
    club = make_product(sandbox, name="Coffee Club", fulfillment_type="physical", lookup_key="club-1")
    make_price(sandbox, club, currency="GBP", unit_amount_minor=1200, interval="month", interval_count=1)
    make_price(sandbox, club, currency="GBP", unit_amount_minor=12000, interval="year", interval_count=1)
    services.product_upsert_by_external_id(tenant=sandbox, actor=Actor.system(), source="shopify", external_id="998",
                                           data={"name": "Gift card"})
    response = owner_client.get(EXPORT)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="products-sandbox-')
    rows = read_csv(response)
    assert list(rows[0]) == ["id", "name", "active", "fulfillment_type", "prices", "external_id", "created"]
    by_name = {row["name"]: row for row in rows}
    assert by_name["Coffee Club"] == {
        "id": club.pk, "name": "Coffee Club", "active": "yes", "fulfillment_type": "physical",
        "prices": "£12.00 / month · £120.00 / year", "external_id": "club-1",
        "created": by_name["Coffee Club"]["created"]}
    assert by_name["Gift card"]["external_id"] == "shopify:998" and by_name["Gift card"]["prices"] == ""
    assert len(by_name["Coffee Club"]["created"]) == len("2026-01-31 09:30")


def test_export_honours_search_and_status_but_not_the_page(owner_client, sandbox):
    make_product(sandbox, name="Espresso")
    make_product(sandbox, name="Espresso Decaf")
    archived = make_product(sandbox, name="Espresso Old")
    services.product_archive(tenant=sandbox, actor=Actor.system(), product_id=archived.pk)
    make_product(sandbox, name="Filter")
    names = lambda params: sorted(r["name"] for r in read_csv(owner_client.get(EXPORT, params)))  # noqa: E731
    assert names({"q": "espresso"}) == ["Espresso", "Espresso Decaf"]
    assert names({"q": "espresso", "status": "archived"}) == ["Espresso Old"]
    assert names({"q": "espresso", "status": "all", "page": "3"}) == ["Espresso", "Espresso Decaf", "Espresso Old"]
    assert names({}) == ["Espresso", "Espresso Decaf", "Filter"]
    # The list page links to the export with its own filters.
    html = owner_client.get(reverse("dashboard:products"), {"q": "espresso", "status": "all", "page": "1"}).content.decode()
    assert f'href="{EXPORT}?q=espresso&amp;status=all"' in html


@pytest.mark.parametrize("name", ["=HYPERLINK(\"http://evil.example\",\"click\")", "+1+2", "-2+3", "@SUM(A1:A2)"])
def test_formula_like_cells_are_defused(owner_client, sandbox, name):
    make_product(sandbox, name=name, lookup_key="=cmd|' /C calc'!A0")
    row = read_csv(owner_client.get(EXPORT))[0]
    assert row["name"] == "'" + name
    assert row["external_id"] == "'=cmd|' /C calc'!A0"


def test_csv_safe_leaves_ordinary_text_alone():
    assert csv_safe("Coffee = joy") == "Coffee = joy"
    assert csv_safe("£12.00 / month") == "£12.00 / month"
    assert csv_safe(None) == ""
    assert csv_safe("-5") == "'-5"
    assert csv_safe("\tcmd") == "'\tcmd" and csv_safe("\rcmd") == "'\rcmd"  # (names are stripped; other text may not be)


def test_export_is_scoped_to_the_merchant_and_mode(owner_client, sandbox, live):
    make_product(sandbox, name="Mine")
    make_product(live, name="Mine in live")
    make_product(CoreTenant(make_merchant(name="Globex"), livemode=False), name="Theirs")
    assert [r["name"] for r in read_csv(owner_client.get(EXPORT, {"status": "all"}))] == ["Mine"]


def test_a_viewer_may_export(login_as, sandbox):
    make_product(sandbox, name="Visible")
    assert [r["name"] for r in read_csv(login_as("viewer").get(EXPORT))] == ["Visible"]

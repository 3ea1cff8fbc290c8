"""The customers list page: search (full page and htmx partial), filters, sort, pagination, empty
states, modes, and a query count that does not grow with the rows."""
from datetime import UTC, datetime

import pytest
import time_machine
from django.urls import reverse

from apps.accounts.middleware import SESSION_LIVEMODE
from tests.customers.helpers import count_queries, populate
from tests.factories import make_customer

LIST = reverse("dashboard:customers")
HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "customer-results"}


def shown(response) -> list[str]:
    return [row["customer"].email for row in response.context["rows"]]


def row_count(response) -> int:
    # htmx partials are rendered from a template fragment, which the test client gives no context for.
    return response.content.decode().count('data-testid="customer-row"')


@pytest.fixture
def ada(shop_sandbox):
    return make_customer(shop_sandbox, email="ada@engine.example", name="Ada Lovelace", currency="GBP",
                         billing_address={"line1": "12 St James's Square", "city": "London", "country": "GB"},
                         external_ids=[("shopify", "SHP-1001")])


@pytest.fixture
def grace(shop_sandbox):
    return make_customer(shop_sandbox, email="grace@navy.example", name="Grace Hopper", currency="USD",
                         billing_address={"city": "Arlington", "country": "US"},
                         external_ids=[("hubspot", "hs-77")])


def test_the_list_shows_the_tenants_customers_with_their_columns(owner_client, ada, grace, shop_live, other_tenant):
    make_customer(shop_live, email="live@example.com")  # other mode
    from apps.core.tenancy import Tenant

    make_customer(Tenant(other_tenant.merchant, False), email="elsewhere@example.com")  # other merchant
    response = owner_client.get(LIST)
    assert response.status_code == 200
    assert shown(response) == ["grace@navy.example", "ada@engine.example"]  # newest first
    page = response.content.decode()
    for text in ("Ada Lovelace", "ada@engine.example", "GB", "GBP", "shopify:SHP-1001", "hubspot:hs-77", "US", "USD",
                 reverse("dashboard:customers_detail", args=[ada.pk]), 'data-testid="export-csv"'):
        assert text in page, text
    assert "live@example.com" not in page and "elsewhere@example.com" not in page
    assert f'href="{LIST}" class="nav-link active"' in page  # the sidebar link is highlighted


@pytest.mark.parametrize("query", ["lovelace", "ADA@ENGINE", "SHP-1001", "shp-10"])
def test_search_by_name_email_or_external_id(owner_client, ada, grace, query):
    assert shown(owner_client.get(LIST, {"q": query})) == ["ada@engine.example"]
    partial = owner_client.get(LIST, {"q": query}, **HTMX)
    content = partial.content.decode()
    assert content.lstrip().startswith('<div id="customer-results"') and "<html" not in content
    assert "ada@engine.example" in content and "grace@navy.example" not in content


def test_the_search_box_is_an_htmx_live_search(owner_client):
    page = owner_client.get(LIST).content.decode()
    assert 'hx-trigger="keyup changed delay:300ms, search"' in page
    assert 'hx-target="#customer-results"' in page and 'hx-push-url="true"' in page


def test_filters_by_external_source_currency_and_dates(owner_client, shop_sandbox, ada, grace):
    plain = make_customer(shop_sandbox, email="plain@example.com")
    assert shown(owner_client.get(LIST, {"source": "shopify"})) == [ada.email]
    assert shown(owner_client.get(LIST, {"source": "*"})) == [grace.email, ada.email]
    assert shown(owner_client.get(LIST, {"source": "-"})) == [plain.email]
    assert shown(owner_client.get(LIST, {"currency": "USD"})) == [grace.email]
    page = owner_client.get(LIST).content.decode()
    assert '<option value="shopify">From shopify</option>' in page and '<option value="USD">USD</option>' in page


def test_created_date_range_is_whole_days_in_the_merchants_zone(owner_client, shop_sandbox):
    # The merchant is in Europe/London (BST in July): 23:30 UTC on 1 July is 2 July there.
    with time_machine.travel(datetime(2026, 7, 1, 23, 30, tzinfo=UTC), tick=False):
        early = make_customer(shop_sandbox, email="early@example.com")
    with time_machine.travel(datetime(2026, 7, 3, 12, 0, tzinfo=UTC), tick=False):
        make_customer(shop_sandbox, email="later@example.com")
    assert shown(owner_client.get(LIST, {"created_from": "2026-07-02", "created_to": "2026-07-02"})) == [early.email]
    bad = owner_client.get(LIST, {"created_from": "2026-07-03", "created_to": "2026-07-01"})
    assert bad.status_code == 200 and "The end date must be on or after the start date." in bad.content.decode()
    assert shown(bad) == []


def test_sort_by_name_and_by_created(owner_client, shop_sandbox):
    for email, name in [("b@example.com", "bruno"), ("zed@example.com", ""), ("a@example.com", "Zoë")]:
        make_customer(shop_sandbox, email=email, name=name)
    assert shown(owner_client.get(LIST, {"sort": "name"})) == ["b@example.com", "zed@example.com", "a@example.com"]
    assert shown(owner_client.get(LIST, {"sort": "-name"})) == ["a@example.com", "zed@example.com", "b@example.com"]
    assert shown(owner_client.get(LIST, {"sort": "created"})) == ["b@example.com", "zed@example.com", "a@example.com"]
    assert shown(owner_client.get(LIST, {"sort": "nonsense"})) == ["a@example.com", "zed@example.com", "b@example.com"]


def test_pagination_25_a_page_keeps_the_query_in_page_links(owner_client, shop_sandbox, actor):
    populate(shop_sandbox, actor, 60)
    first = owner_client.get(LIST, {"q": "customer", "sort": "name"})
    assert len(first.context["rows"]) == 25 and first.context["page"].paginator.num_pages == 3
    page = first.content.decode()
    assert "?q=customer&amp;sort=name&amp;page=2" in page and "?q=customer&amp;sort=name&amp;page=3" in page
    assert "1–25 of 60" in page
    third = owner_client.get(LIST, {"q": "customer", "sort": "name", "page": 3}, **HTMX)
    assert row_count(third) == 10 and "51–60 of 60" in third.content.decode()
    # The export link carries the search and the filters but not the page.
    assert f'{reverse("dashboard:customers_export")}?q=customer&amp;sort=name"' in third.content.decode()


def test_empty_states(owner_client, shop_sandbox):
    page = owner_client.get(LIST).content.decode()
    assert "No customers yet in sandbox mode." in page
    assert page.count(f'href="{reverse("dashboard:customers_create")}"') == 2  # header button and empty state
    make_customer(shop_sandbox, email="someone@example.com")
    page = owner_client.get(LIST, {"q": "nobody-like-this"}).content.decode()
    assert "No customers match these filters." in page


def test_a_viewer_can_read_but_sees_no_new_button(client, member_client, ada):
    member_client("viewer")
    response = client.get(LIST)
    assert response.status_code == 200 and ada.email in response.content.decode()
    assert reverse("dashboard:customers_create") not in response.content.decode()


def test_the_mode_switch_separates_sandbox_and_live_customers(owner_client, shop_sandbox, shop_live):
    make_customer(shop_sandbox, email="test-buyer@example.com")
    make_customer(shop_live, email="real-buyer@example.com")
    assert shown(owner_client.get(LIST)) == ["test-buyer@example.com"]
    owner_client.post(reverse("dashboard:mode_switch"), {"mode": "live"})
    assert owner_client.session[SESSION_LIVEMODE] is True
    assert shown(owner_client.get(LIST)) == ["real-buyer@example.com"]


def test_anonymous_people_are_sent_to_log_in(client):
    response = client.get(LIST)
    assert response.status_code == 302 and "login" in response.url


@pytest.mark.parametrize("params, headers", [
    ({}, {}),
    ({"q": "customer", "sort": "name"}, {}),
    ({"q": "customer"}, HTMX),
    ({"source": "crm", "currency": "GBP"}, HTMX),
])
def test_query_count_is_the_same_for_10_and_500_customers(owner_client, shop_sandbox, actor, params, headers):
    populate(shop_sandbox, actor, 10)
    few, response = count_queries(owner_client, LIST, data=params, **headers)
    assert row_count(response) == 10
    populate(shop_sandbox, actor, 490, start=10)
    many, response = count_queries(owner_client, LIST, data=params, **headers)
    assert row_count(response) == 25
    assert many == few, (few, many)

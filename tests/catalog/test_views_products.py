"""Dashboard: the products list, the product editor and its inline (htmx) prices and benefits."""
import pytest
from django.urls import reverse

from apps.catalog import services
from apps.catalog.models import Price, Product, ProductBenefit
from apps.core.actors import Actor
from apps.core.tenancy import Tenant as CoreTenant
from tests.catalog.helpers import HTMX, catalog_events, catalog_rows, htmx
from tests.factories import make_benefit, make_merchant, make_price, make_product

LIST = reverse("dashboard:products")
NEW = reverse("dashboard:product_new")


def detail(product):
    return reverse("dashboard:product_detail", args=[product.pk])


def add_price_url(product):
    return reverse("dashboard:price_add", args=[product.pk])


def gbp_price(sandbox, product, amount, interval=None, **extra):
    fields = {"currency": "GBP", "unit_amount_minor": amount, **extra}
    if interval:
        fields.update(interval=interval, interval_count=1)
    return make_price(sandbox, product, **fields)


def row_names(response) -> list[str]:
    return [p.name for p in response.context["page"].object_list]


# --- list ------------------------------------------------------------------------------------------
def test_list_shows_each_product_with_its_prices_status_and_date(owner_client, sandbox):
    coffee = make_product(sandbox, name="Coffee Club", fulfillment_type="physical")
    gbp_price(sandbox, coffee, 1200, "month")
    gbp_price(sandbox, coffee, 12000, "year")
    old = make_product(sandbox, name="Old Blend")
    gbp_price(sandbox, old, 950)
    services.product_archive(tenant=sandbox, actor=Actor.system(), product_id=old.pk)

    page = owner_client.get(LIST, {"status": "all"})
    assert page.status_code == 200
    html = page.content.decode()
    assert "Coffee Club" in html and "£12.00 / month · £120.00 / year" in html
    assert "Old Blend" in html and "£9.50" in html
    assert 'badge-green">Active' in html and 'badge-gray">Archived' in html
    assert coffee.created_at.strftime("%Y") in html
    # The default view is the products for sale.
    assert row_names(owner_client.get(LIST)) == ["Coffee Club"]


def test_empty_catalog_invites_to_create_the_first_product(owner_client):
    html = owner_client.get(LIST).content.decode()
    assert 'data-testid="products-empty"' in html and "No products yet." in html
    assert f'href="{NEW}"' in html


def test_search_matches_name_description_and_external_id_and_htmx_gets_only_the_results(owner_client, sandbox):
    make_product(sandbox, name="Espresso Roast", description="dark and sweet")
    make_product(sandbox, name="Filter Roast", lookup_key="SKU-FILTER-9")
    make_product(sandbox, name="Decaf", description="Swiss water process")

    assert row_names(owner_client.get(LIST, {"q": "espresso"})) == ["Espresso Roast"]
    assert row_names(owner_client.get(LIST, {"q": "swiss"})) == ["Decaf"]
    assert row_names(owner_client.get(LIST, {"q": "sku-filter"})) == ["Filter Roast"]

    partial = owner_client.get(LIST, {"q": "roast", "sort": "name"}, **htmx("product-results"))
    html = partial.content.decode()
    assert partial.status_code == 200 and "<html" not in html and 'id="product-results"' in html
    assert html.index("Espresso Roast") < html.index("Filter Roast") and "Decaf" not in html

    nothing = owner_client.get(LIST, {"q": "zzz"}).content.decode()
    assert "No products match" in nothing and "products-empty" not in nothing


def test_filter_sort_and_pages(owner_client, sandbox):
    for name in ("Banana", "apple", "Cherry"):
        make_product(sandbox, name=name)
    archived = make_product(sandbox, name="Durian")
    services.product_archive(tenant=sandbox, actor=Actor.system(), product_id=archived.pk)

    assert row_names(owner_client.get(LIST, {"status": "archived"})) == ["Durian"]
    assert row_names(owner_client.get(LIST, {"status": "all", "sort": "name"})) == ["apple", "Banana", "Cherry", "Durian"]
    assert row_names(owner_client.get(LIST, {"sort": "-name"})) == ["Cherry", "Banana", "apple"]
    assert row_names(owner_client.get(LIST, {"sort": "created"})) == ["Banana", "apple", "Cherry"]
    assert row_names(owner_client.get(LIST)) == ["Cherry", "apple", "Banana"]  # newest first

    Product.objects.bulk_create([Product(merchant=sandbox.merchant, livemode=False, name=f"Bulk {i:02}")
                                 for i in range(30)])
    first = owner_client.get(LIST, {"sort": "name"})
    assert len(first.context["page"].object_list) == 25
    html = first.content.decode()
    assert "Page 1 of 2" in html and "page=2" in html and "sort=name" in html
    second = owner_client.get(LIST, {"sort": "name", "page": 2})
    assert len(second.context["page"].object_list) == 8


# --- create and the inline prices ----------------------------------------------------------------------
def test_create_a_product_then_add_monthly_and_yearly_prices_inline(owner_client, tenant):
    response = owner_client.post(NEW, {"name": "Coffee Club", "description": "A bag a month", "kind": "subscription",
                                       "fulfillment_type": "physical", "features": "Free delivery\n\nPause any time\n",
                                       "images": "https://cdn.example/club.png", "lookup_key": "club-1",
                                       "metadata": "warehouse=LDN\nteam = growth"})
    product = Product.objects.get(merchant=tenant.merchant)
    assert response.status_code == 302 and response.url == detail(product)
    assert (product.name, product.kind, product.fulfillment_type, product.lookup_key) == (
        "Coffee Club", "subscription", "physical", "club-1")
    assert product.features == ["Free delivery", "Pause any time"]
    assert product.images == ["https://cdn.example/club.png"]
    assert product.metadata == {"warehouse": "LDN", "team": "growth"}

    editor = owner_client.get(detail(product)).content.decode()
    assert 'data-testid="price-form"' in editor and "create a new price and archive the old one" in editor

    monthly = owner_client.post(add_price_url(product), {
        "type": "recurring", "amount": "12.00", "currency": "GBP", "interval": "month", "interval_count": "1",
        "trial_days": "14", "tax_behavior": "inclusive", "nickname": "Monthly",
        # Hidden inputs of other types still arrive; they are ignored for a recurring price.
        "minimum_amount": "3", "suggested_amount": "4"}, **HTMX)
    assert monthly.status_code == 200
    html = monthly.content.decode()
    assert html.lstrip().startswith('<section class="card" id="prices-panel"')
    assert "Price added: £12.00 / month." in html and "14-day free trial" in html

    yearly = owner_client.post(add_price_url(product), {
        "type": "recurring", "amount": "120", "currency": "GBP", "interval": "year", "interval_count": "1",
        "tax_behavior": "exclusive"}, **HTMX)
    assert "Price added: £120.00 / year." in yearly.content.decode()
    assert yearly.content.decode().count('data-testid="price-row"') == 2

    prices = list(Price.objects.filter(product=product).order_by("created_at"))
    assert [(p.type, p.unit_amount_minor, p.currency, p.interval, p.interval_count) for p in prices] == [
        ("recurring", 1200, "GBP", "month", 1), ("recurring", 12000, "GBP", "year", 1)]
    assert (prices[0].trial_days, prices[0].tax_behavior, prices[0].nickname) == (14, "inclusive", "Monthly")
    assert prices[0].minimum_amount_minor is None
    # Written by the services: each left its event.
    assert sorted(catalog_events(tenant.merchant).values_list("type", flat=True)) == [
        "price.created", "price.created", "product.created"]
    assert "£12.00 / month · £120.00 / year" in owner_client.get(LIST).content.decode()


@pytest.mark.parametrize("fields, field, message", [
    ({"type": "one_time", "amount": "-5"}, "amount", "Amount must not be negative."),
    ({"type": "one_time", "amount": "12.345"}, "amount", "GBP amounts have at most 2 decimal places"),
    ({"type": "one_time", "amount": "twelve"}, "amount", "Enter an amount such as 12.00"),
    ({"type": "one_time", "amount": "5", "currency": "XYZ"}, "currency", "Select a valid choice"),
    ({"type": "one_time", "amount": ""}, "amount", "Amount is required for fixed prices."),
    ({"type": "recurring", "amount": "12", "interval": ""}, "interval", "Billing interval is required for recurring prices"),
    ({"type": "recurring", "amount": "12", "interval": "month", "interval_count": ""}, "interval_count",
     "Interval count is required with an interval"),
    ({"type": "recurring", "amount": "12", "interval": "month", "interval_count": "40"}, "interval_count",
     "must be at most 36"),
    ({"type": "pay_what_you_want", "minimum_amount": "10", "suggested_amount": "5"}, "suggested_amount",
     "must be at least minimum_amount_minor"),
])
def test_bad_price_input_is_shown_next_to_the_field_and_writes_nothing(owner_client, sandbox, fields, field, message):
    product = make_product(sandbox, name="Coffee Club")
    before = catalog_rows(sandbox.merchant)
    data = {"currency": "GBP", "tax_behavior": "exclusive", "interval_count": "1", **fields}
    response = owner_client.post(add_price_url(product), data, **HTMX)
    assert response.status_code == 200
    form = response.context["price_form"]
    assert field in form.errors, form.errors
    assert message in " ".join(form.errors[field])
    assert message.split(" (")[0] in response.content.decode().replace("&#x27;", "'")
    assert catalog_rows(sandbox.merchant) == before


def test_pay_what_you_want_and_free_prices(owner_client, sandbox):
    product = make_product(sandbox, name="Gift card")
    owner_client.post(add_price_url(product), {"type": "pay_what_you_want", "currency": "GBP", "minimum_amount": "10",
                                               "suggested_amount": "25.50", "amount": "99", "interval": "",
                                               "interval_count": "1", "tax_behavior": "exclusive"}, **HTMX)
    owner_client.post(add_price_url(product), {"type": "free", "currency": "GBP", "interval": "month",
                                               "interval_count": "1", "tax_behavior": "exclusive"}, **HTMX)
    pwyw, free = Price.objects.filter(product=product).order_by("created_at")
    assert (pwyw.pricing_model, pwyw.type, pwyw.minimum_amount_minor, pwyw.suggested_amount_minor,
            pwyw.unit_amount_minor) == ("pay_what_you_want", "one_time", 1000, 2550, None)
    assert (free.pricing_model, free.type, free.interval, free.unit_amount_minor) == ("free", "recurring", "month", 0)
    html = owner_client.get(detail(product)).content.decode()
    assert "Pay what you want (min £10.00, suggested £25.50)" in html and "Free / month" in html


def test_zero_decimal_currency_amounts_are_whole_units(owner_client, sandbox):
    product = make_product(sandbox, name="Matcha")
    owner_client.post(add_price_url(product), {"type": "one_time", "amount": "1200", "currency": "jpy",
                                               "interval_count": "1", "tax_behavior": "exclusive"}, **HTMX)
    price = Price.objects.get(product=product)
    assert (price.unit_amount_minor, price.currency) == (1200, "JPY")


def test_without_htmx_adding_a_price_redirects_or_renders_the_page_with_errors(owner_client, sandbox):
    product = make_product(sandbox, name="Coffee Club")
    ok = owner_client.post(add_price_url(product), {"type": "one_time", "amount": "9.50", "currency": "GBP",
                                                    "interval_count": "1", "tax_behavior": "exclusive"})
    assert ok.status_code == 302 and ok.url == detail(product)
    bad = owner_client.post(add_price_url(product), {"type": "one_time", "amount": "-1", "currency": "GBP",
                                                     "interval_count": "1", "tax_behavior": "exclusive"})
    assert bad.status_code == 200 and "<html" in bad.content.decode()
    assert "Amount must not be negative." in bad.content.decode()
    assert Price.objects.filter(product=product).count() == 1


def test_archive_a_price_swaps_its_row_and_restore_brings_it_back(owner_client, sandbox):
    product = make_product(sandbox, name="Coffee Club")
    price = gbp_price(sandbox, product, 1200, "month")
    url = reverse("dashboard:price_archive", args=[product.pk, price.pk])
    row = owner_client.post(url, **HTMX)
    html = row.content.decode()
    assert html.lstrip().startswith(f'<tr id="price-{price.pk}"')
    assert 'badge-gray">Archived' in html and 'data-testid="restore-price"' in html
    price.refresh_from_db()
    assert price.active is False
    assert catalog_events(sandbox.merchant).filter(type="price.archived").count() == 1

    owner_client.post(reverse("dashboard:price_restore", args=[product.pk, price.pk]), **HTMX)
    price.refresh_from_db()
    assert price.active is True


def test_a_price_of_another_product_is_a_404(owner_client, sandbox):
    product, other = make_product(sandbox, name="A"), make_product(sandbox, name="B")
    price = gbp_price(sandbox, other, 100)
    assert owner_client.post(reverse("dashboard:price_archive", args=[product.pk, price.pk]), **HTMX).status_code == 404
    price.refresh_from_db()
    assert price.active


# --- edit, archive, delete ---------------------------------------------------------------------------
def test_edit_product_through_the_service_and_remove_a_metadata_key(owner_client, sandbox):
    product = make_product(sandbox, name="Coffee Club", metadata={"a": "1", "b": "2"}, features=["x"])
    page = owner_client.get(detail(product)).content.decode()
    assert "a=1\nb=2" in page  # metadata shown as key=value lines
    response = owner_client.post(detail(product), {
        "name": "Coffee Club Plus", "description": "", "kind": "subscription", "fulfillment_type": "physical",
        "features": "x\ny", "images": "", "lookup_key": "", "metadata": "a=10"})
    assert response.status_code == 302
    product.refresh_from_db()
    assert (product.name, product.features, product.metadata) == ("Coffee Club Plus", ["x", "y"], {"a": "10"})
    event = catalog_events(sandbox.merchant).get(type="product.updated")
    assert event.previous_attributes["name"] == "Coffee Club"


@pytest.mark.parametrize("fields, field", [
    ({"name": ""}, "name"),
    ({"images": "not a url"}, "images"),
    ({"images": "javascript:alert(1)"}, "images"),
    ({"metadata": "no equals sign"}, "metadata"),
    ({"metadata": "a=1\na=2"}, "metadata"),
    ({"metadata": "k.x=1"}, "metadata"),
    ({"features": "\n".join(f"f{i}" for i in range(26))}, "features"),
])
def test_bad_product_input_is_refused_and_nothing_is_written(owner_client, sandbox, fields, field):
    product = make_product(sandbox, name="Coffee Club")
    before = catalog_rows(sandbox.merchant)
    data = {"name": "Coffee Club", "kind": "one_time", "fulfillment_type": "none", **fields}
    response = owner_client.post(detail(product), data)
    assert response.status_code == 200 and field in response.context["form"].errors
    assert 'class="field-error"' in response.content.decode()
    assert catalog_rows(sandbox.merchant) == before
    created = owner_client.post(NEW, data)
    assert created.status_code == 200 and field in created.context["form"].errors
    assert catalog_rows(sandbox.merchant) == before


def test_duplicate_external_id_is_a_form_error(owner_client, sandbox):
    make_product(sandbox, name="A", lookup_key="sku-1")
    response = owner_client.post(NEW, {"name": "B", "kind": "one_time", "fulfillment_type": "none",
                                       "lookup_key": "sku-1"})
    assert response.status_code == 200
    assert response.context["form"].errors["lookup_key"] == ["External ID is already used by another product."]
    assert not Product.objects.filter(name="B").exists()


def test_archive_unarchive_and_delete_an_unsold_product(owner_client, sandbox):
    product = make_product(sandbox, name="Typo")
    gbp_price(sandbox, product, 100)
    owner_client.post(reverse("dashboard:product_archive", args=[product.pk]))
    product.refresh_from_db()
    assert product.active is False
    page = owner_client.get(detail(product)).content.decode()
    assert 'data-testid="archived-badge"' in page and 'data-testid="unarchive-product"' in page
    owner_client.post(reverse("dashboard:product_unarchive", args=[product.pk]))
    product.refresh_from_db()
    assert product.active is True

    assert 'data-testid="delete-product"' in owner_client.get(detail(product)).content.decode()
    response = owner_client.post(reverse("dashboard:product_delete", args=[product.pk]), follow=True)
    assert response.redirect_chain[-1][0] == LIST
    assert "“Typo” and its prices were deleted." in response.content.decode()
    assert not Product.objects.filter(pk=product.pk).exists()


def test_a_sold_product_offers_archive_only_and_the_service_refuses_delete(owner_client, sandbox):
    product = make_product(sandbox, name="Best seller")
    services.price_mark_sold(price=gbp_price(sandbox, product, 100))
    assert 'data-testid="delete-product"' not in owner_client.get(detail(product)).content.decode()
    response = owner_client.post(reverse("dashboard:product_delete", args=[product.pk]), follow=True)
    assert "can only be archived" in response.content.decode()
    assert Product.objects.filter(pk=product.pk).exists()


# --- benefits on the product ----------------------------------------------------------------------------
def test_attach_and_detach_benefits_inline(owner_client, sandbox):
    product = make_product(sandbox, name="Course")
    guide = make_benefit(sandbox, key="guide", name="Brew guide")
    make_benefit(sandbox, key="tour", name="Roastery tour")
    page = owner_client.get(detail(product)).content.decode()
    assert "Brew guide (guide)" in page and "Roastery tour (tour)" in page

    url = reverse("dashboard:product_benefit_attach", args=[product.pk])
    panel = owner_client.post(url, {"benefit": guide.pk}, **HTMX).content.decode()
    assert panel.lstrip().startswith('<section class="card" id="benefits-panel"')
    assert 'data-testid="attached-benefits"' in panel and "Brew guide" in panel
    assert "Brew guide (guide)" not in panel  # no longer offered
    assert list(ProductBenefit.objects.filter(product=product).values_list("benefit_id", flat=True)) == [guide.pk]

    bogus = owner_client.post(url, {"benefit": "ben_nope"}, **HTMX).content.decode()
    assert "Select a valid choice" in bogus

    owner_client.post(reverse("dashboard:product_benefit_detach", args=[product.pk, guide.pk]), **HTMX)
    assert not ProductBenefit.objects.filter(product=product).exists()
    assert catalog_events(sandbox.merchant).filter(type="product.updated").count() == 2


# --- roles, tenancy, modes ---------------------------------------------------------------------------------
def test_a_viewer_sees_the_catalog_but_cannot_change_it(login_as, sandbox):
    product = make_product(sandbox, name="Coffee Club")
    price = gbp_price(sandbox, product, 1200, "month")
    client = login_as("viewer")
    assert client.get(LIST).status_code == 200
    page = client.get(detail(product))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-testid="price-form"' not in html and 'data-testid="archive-product"' not in html
    assert 'data-testid="save-product"' not in html and "disabled" in html
    before = catalog_rows(sandbox.merchant)
    assert client.get(NEW).status_code == 403
    assert client.post(NEW, {"name": "X", "kind": "one_time", "fulfillment_type": "none"}).status_code == 403
    assert client.post(detail(product), {"name": "X", "kind": "one_time", "fulfillment_type": "none"}).status_code == 403
    assert client.post(reverse("dashboard:product_archive", args=[product.pk])).status_code == 403
    assert client.post(reverse("dashboard:product_delete", args=[product.pk])).status_code == 403
    assert client.post(add_price_url(product), {"type": "one_time", "amount": "1", "currency": "GBP"},
                       **HTMX).status_code == 403
    assert client.post(reverse("dashboard:price_archive", args=[product.pk, price.pk]), **HTMX).status_code == 403
    assert catalog_rows(sandbox.merchant) == before


def test_a_manager_may_change_the_catalog(login_as, sandbox):
    client = login_as("manager")
    response = client.post(NEW, {"name": "Manager's product", "kind": "one_time", "fulfillment_type": "none"})
    assert response.status_code == 302


def test_another_merchants_product_is_a_404(owner_client, sandbox):
    other = CoreTenant(make_merchant(name="Globex"), livemode=False)
    product = make_product(other, name="Not yours")
    price = gbp_price(other, product, 100)
    benefit = make_benefit(other, key="theirs")
    for url in (detail(product), reverse("dashboard:product_archive", args=[product.pk]),
                reverse("dashboard:product_delete", args=[product.pk]), add_price_url(product),
                reverse("dashboard:price_archive", args=[product.pk, price.pk]),
                reverse("dashboard:product_benefit_attach", args=[product.pk])):
        method = owner_client.get if url == detail(product) else owner_client.post
        assert method(url).status_code == 404, url
    mine = make_product(sandbox, name="Mine")
    response = owner_client.post(reverse("dashboard:product_benefit_attach", args=[mine.pk]), {"benefit": benefit.pk})
    assert not ProductBenefit.objects.filter(product=mine).exists() and response.status_code == 302
    product.refresh_from_db()
    assert product.active and Price.objects.get(pk=price.pk).active
    assert "Not yours" not in owner_client.get(LIST, {"status": "all"}).content.decode()


def test_sandbox_and_live_catalogs_are_separate(owner_client, sandbox, live, switch_mode):
    test_product = make_product(sandbox, name="Sandbox thing")
    live_product = make_product(live, name="Live thing")
    assert row_names(owner_client.get(LIST)) == ["Sandbox thing"]
    assert owner_client.get(detail(live_product)).status_code == 404

    switch_mode(owner_client, live=True)
    assert row_names(owner_client.get(LIST)) == ["Live thing"]
    assert owner_client.get(detail(test_product)).status_code == 404
    response = owner_client.post(NEW, {"name": "Made live", "kind": "one_time", "fulfillment_type": "none"})
    assert response.status_code == 302
    assert Product.objects.get(name="Made live").livemode is True

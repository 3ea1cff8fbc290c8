"""Dashboard: the benefits list, create, edit and delete."""
import pytest
from django.urls import reverse

from apps.catalog import services
from apps.catalog.models import Benefit, Entitlement
from apps.core.actors import Actor
from apps.core.tenancy import Tenant as CoreTenant
from tests.catalog.helpers import catalog_events, catalog_rows, form_fields, htmx
from tests.factories import make_benefit, make_customer, make_merchant, make_product

LIST = reverse("dashboard:benefits")
NEW = reverse("dashboard:benefit_new")
BASE = {"delivery": "after_payment", "subscription_grant": "on_activation", "on_cancellation": "revoke"}


def detail(benefit):
    return reverse("dashboard:benefit_detail", args=[benefit.pk])


def test_list_shows_type_products_and_holders(owner_client, sandbox):
    guide = make_benefit(sandbox, key="brew-guide", name="Brew guide", type="file_download")
    make_benefit(sandbox, key="tour", name="Roastery tour", type="manual", active=False)
    for name in ("Course", "Club"):
        product = make_product(sandbox, name=name)
        services.product_benefit_attach(tenant=sandbox, actor=Actor.system(), product_id=product.pk, benefit_id=guide.pk)
    services.entitlement_grant(tenant=sandbox, actor=Actor.system(), customer=make_customer(sandbox), benefit=guide,
                               source="manual")

    html = owner_client.get(LIST).content.decode()
    assert "Brew guide" in html and "brew-guide" in html and "File download" in html
    assert '<td class="right">2</td><td class="right">1</td>' in html.replace("\n        ", "")  # 2 products, 1 holder
    assert 'badge-gray">Inactive' in html
    assert html.count('data-testid="benefit-row"') == 2


def test_search_type_filter_htmx_and_empty_states(owner_client, sandbox):
    html = owner_client.get(LIST).content.decode()
    assert 'data-testid="benefits-empty"' in html and f'href="{NEW}"' in html
    make_benefit(sandbox, key="pro-reports", name="Pro reports")
    make_benefit(sandbox, key="license", name="Desktop app", type="license_key")
    names = lambda response: [b.name for b in response.context["page"].object_list]  # noqa: E731
    assert names(owner_client.get(LIST, {"q": "REPORTS"})) == ["Pro reports"]
    assert names(owner_client.get(LIST, {"type": "license_key"})) == ["Desktop app"]
    partial = owner_client.get(LIST, {"q": "desk"}, **htmx("benefit-results")).content.decode()
    assert "<html" not in partial and "Desktop app" in partial
    assert "No benefits match" in owner_client.get(LIST, {"q": "zzz"}).content.decode()


def test_create_each_type_with_its_settings(owner_client, sandbox):
    response = owner_client.post(NEW, {**BASE, "key": "pro-reports", "name": "Pro reports", "type": "access_grant",
                                       # settings of other types are ignored
                                       "webhook_url": "https://ignored.example", "max_downloads": "3"})
    benefit = Benefit.objects.get(key="pro-reports")
    assert response.status_code == 302 and response.url == detail(benefit)
    assert (benefit.type, benefit.config, benefit.active) == ("access_grant", {}, True)

    owner_client.post(NEW, {**BASE, "key": "guide", "name": "Guide", "type": "file_download",
                            "files": "https://cdn.example/a.pdf\nhttps://cdn.example/b.pdf", "max_downloads": "5",
                            "download_expiry_days": "30"})
    assert Benefit.objects.get(key="guide").config == {
        "files": ["https://cdn.example/a.pdf", "https://cdn.example/b.pdf"], "max_downloads": 5,
        "download_expiry_days": 30}

    owner_client.post(NEW, {**BASE, "key": "app-license", "name": "App licence", "type": "license_key",
                            "generation": "pre_upload", "format": "XXXX-XXXX", "keys": "AAAA-1111\nBBBB-2222",
                            "activation_limit": "3"})
    assert Benefit.objects.get(key="app-license").config == {
        "generation": "pre_upload", "format": "XXXX-XXXX", "keys": ["AAAA-1111", "BBBB-2222"], "activation_limit": 3}

    owner_client.post(NEW, {**BASE, "key": "crm", "name": "CRM access", "type": "custom",
                            "webhook_url": "https://hooks.example/grant", "payload": '{"plan": "pro"}',
                            "on_cancellation": "keep"})
    crm = Benefit.objects.get(key="crm")
    assert crm.config == {"webhook_url": "https://hooks.example/grant", "payload": {"plan": "pro"}}
    assert crm.on_cancellation == "keep"

    owner_client.post(NEW, {**BASE, "key": "tour", "name": "Tour", "type": "manual", "instructions": "Call them"})
    assert Benefit.objects.get(key="tour").config == {"instructions": "Call them"}
    assert catalog_events(sandbox.merchant).filter(type="benefit.created").count() == 5


@pytest.mark.parametrize("fields, field", [
    ({"key": "Has Spaces"}, "key"),
    ({"key": "taken"}, "key"),
    ({"name": ""}, "name"),
    ({"type": "custom"}, "webhook_url"),  # the service requires it
    ({"type": "custom", "webhook_url": "https://x.example", "payload": "[1, 2]"}, "payload"),
    ({"type": "custom", "webhook_url": "https://x.example", "payload": "{nope"}, "payload"),
    ({"type": "file_download", "max_downloads": "0"}, "max_downloads"),
    ({"type": "wizardry"}, "type"),
])
def test_bad_benefit_input_is_shown_next_to_the_field_and_writes_nothing(owner_client, sandbox, fields, field):
    make_benefit(sandbox, key="taken")
    before = catalog_rows(sandbox.merchant)
    response = owner_client.post(NEW, {**BASE, "key": "new-one", "name": "New", "type": "access_grant", **fields})
    assert response.status_code == 200
    assert field in response.context["form"].errors, response.context["form"].errors
    assert 'class="field-error"' in response.content.decode()
    assert catalog_rows(sandbox.merchant) == before


def test_edit_keeps_key_and_type_and_changes_settings(owner_client, sandbox):
    benefit = make_benefit(sandbox, key="guide", name="Guide", type="file_download",
                           config={"files": ["https://cdn.example/a.pdf"]})
    product = make_product(sandbox, name="Course")
    services.product_benefit_attach(tenant=sandbox, actor=Actor.system(), product_id=product.pk, benefit_id=benefit.pk)
    page = owner_client.get(detail(benefit))
    html = page.content.decode()
    assert 'name="key"' not in html and 'name="webhook_url"' not in html and 'name="files"' in html
    assert 'data-testid="benefit-products"' in html and "Course" in html

    data = form_fields(html, "benefit-form")
    data.update(name="Brew guide", max_downloads="3", active="")
    data.pop("active")
    response = owner_client.post(detail(benefit), data)
    assert response.status_code == 302
    benefit.refresh_from_db()
    assert (benefit.name, benefit.key, benefit.type, benefit.active) == ("Brew guide", "guide", "file_download", False)
    assert benefit.config == {"files": ["https://cdn.example/a.pdf"], "max_downloads": 3}

    # Saving the page unchanged writes nothing.
    before = catalog_events(sandbox.merchant).count()
    owner_client.post(detail(benefit), form_fields(owner_client.get(detail(benefit)).content.decode(), "benefit-form"))
    assert catalog_events(sandbox.merchant).count() == before


def test_delete_detaches_it_and_revokes_access(owner_client, sandbox):
    benefit = make_benefit(sandbox, key="gone", name="Gone soon")
    product = make_product(sandbox, name="Course")
    services.product_benefit_attach(tenant=sandbox, actor=Actor.system(), product_id=product.pk, benefit_id=benefit.pk)
    customer = make_customer(sandbox)
    services.entitlement_grant(tenant=sandbox, actor=Actor.system(), customer=customer, benefit=benefit, source="manual")
    assert owner_client.get(LIST).content.decode().count('<td class="right">1</td>') == 2  # 1 product, 1 holder

    response = owner_client.post(reverse("dashboard:benefit_delete", args=[benefit.pk]), follow=True)
    assert response.redirect_chain[-1][0] == LIST and "deleted" in response.content.decode()
    assert Benefit.all_objects.get(pk=benefit.pk).deleted_at is not None
    assert Entitlement.objects.get(benefit=benefit).revoked_at is not None
    assert owner_client.get(detail(benefit)).status_code == 404
    assert 'data-testid="benefit-row"' not in owner_client.get(LIST).content.decode()


def test_viewer_cannot_change_benefits(login_as, sandbox):
    benefit = make_benefit(sandbox, key="look", name="Look only")
    client = login_as("viewer")
    assert client.get(LIST).status_code == 200
    html = client.get(detail(benefit)).content.decode()
    assert 'data-testid="save-benefit"' not in html and 'data-testid="delete-benefit"' not in html
    before = catalog_rows(sandbox.merchant)
    assert client.get(NEW).status_code == 403
    assert client.post(NEW, {**BASE, "key": "x", "name": "X", "type": "access_grant"}).status_code == 403
    assert client.post(detail(benefit), {**BASE, "name": "Changed"}).status_code == 403
    assert client.post(reverse("dashboard:benefit_delete", args=[benefit.pk])).status_code == 403
    assert catalog_rows(sandbox.merchant) == before


def test_tenancy_and_modes(owner_client, sandbox, live, switch_mode):
    theirs = make_benefit(CoreTenant(make_merchant(name="Globex"), livemode=False), key="theirs")
    assert owner_client.get(detail(theirs)).status_code == 404
    assert owner_client.post(reverse("dashboard:benefit_delete", args=[theirs.pk])).status_code == 404
    assert Benefit.objects.filter(pk=theirs.pk).exists()

    make_benefit(sandbox, key="test-one", name="Sandbox benefit")
    live_one = make_benefit(live, key="live-one", name="Live benefit")
    html = owner_client.get(LIST).content.decode()
    assert "Sandbox benefit" in html and "Live benefit" not in html
    assert owner_client.get(detail(live_one)).status_code == 404
    switch_mode(owner_client, live=True)
    html = owner_client.get(LIST).content.decode()
    assert "Live benefit" in html and "Sandbox benefit" not in html

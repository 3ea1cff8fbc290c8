"""The customer detail page: contact, addresses, ids, metadata; entitlements granted and revoked by
hand (htmx and plain POST); the timeline with "load older"; and a query count that does not grow with
the customer's events or entitlements."""
import pytest
from django.urls import reverse

from apps.catalog import services as catalog_services
from apps.catalog.models import Entitlement
from apps.core.actors import Actor
from apps.core.models import Event
from apps.core.tenancy import Tenant
from apps.customers import services, views
from tests.customers.helpers import count_queries
from tests.factories import make_benefit, make_customer

HTMX = {"HTTP_HX_REQUEST": "true"}


def detail_url(customer):
    return reverse("dashboard:customers_detail", args=[customer.pk])


def grant_url(customer):
    return reverse("dashboard:customers_entitlement_grant", args=[customer.pk])


def revoke_url(customer, entitlement):
    return reverse("dashboard:customers_entitlement_revoke", args=[customer.pk, entitlement.pk])


def timeline_types(response) -> list[str]:
    return [row["event"].type for row in response.context["timeline"]["rows"]]


@pytest.fixture
def ada(shop_sandbox):
    return make_customer(shop_sandbox, email="ada@engine.example", name="Ada Lovelace", company_name="Engines Ltd",
                         phone="+44 20 7946 0001", locale="en-GB", currency="GBP",
                         billing_address={"line1": "12 St James's Square", "city": "London", "postal_code": "SW1Y 4LB",
                                          "country": "GB"},
                         shipping_address={"line1": "Dock 4", "city": "Hull", "country": "GB"},
                         tax_ids=[{"type": "gb_vat", "value": "GB123456789"}], metadata={"segment": "wholesale"},
                         external_ids=[("shopify", "SHP-1001")])


def test_the_detail_page_shows_everything_about_the_customer(owner_client, ada):
    response = owner_client.get(detail_url(ada))
    assert response.status_code == 200
    page = response.content.decode()
    for text in ("Ada Lovelace", "ada@engine.example", "Engines Ltd", "+44 20 7946 0001", ada.pk, "en-GB", "GBP",
                 "12 St James&#x27;s Square", "SW1Y 4LB", "United Kingdom", "Dock 4", "Hull", "gb_vat", "GB123456789",
                 "segment", "wholesale", "shopify", "SHP-1001", reverse("dashboard:customers_edit", args=[ada.pk]),
                 'data-testid="delete-customer"', 'data-testid="entitlements-card"', 'data-testid="timeline-card"'):
        assert text in page, text
    assert timeline_types(response) == ["customer.updated", "customer.created"]  # linking shopify, then creation
    assert "Customer created (ada@engine.example)" in page and "Changed external ids" in page
    assert f'href="{reverse("dashboard:customers")}" class="nav-link active"' in page


def test_grant_a_benefit_by_hand_with_htmx(owner_client, owner, shop_sandbox, ada):
    benefit = make_benefit(shop_sandbox, key="pro-reports", name="Pro reports")
    make_benefit(shop_sandbox, key="old", name="Retired perk", active=False)
    page = owner_client.get(detail_url(ada)).content.decode()
    assert "Pro reports (pro-reports)" in page and "Retired perk" not in page  # only active benefits are offered

    response = owner_client.post(grant_url(ada), {"benefit": benefit.pk}, **HTMX)
    assert response.status_code == 200 and response["HX-Trigger"] == views.TIMELINE_CHANGED
    card = response.content.decode()
    assert card.lstrip().startswith('<section class="card" id="entitlements"') and "<html" not in card
    assert "Granted “Pro reports”." in card and 'data-testid="revoke-entitlement"' in card
    entitlement = Entitlement.objects.get(customer=ada)
    assert (entitlement.benefit_id, entitlement.source, entitlement.revoked_at) == (benefit.pk, "manual", None)
    event = Event.objects.get(type="benefits.granted")
    assert (event.object_id, event.actor_label) == (entitlement.pk, owner.user.email)
    # The benefit is held now, so it is no longer offered.
    assert "Pro reports (pro-reports)" not in card

    # The timeline (reloaded by the HX-Trigger) shows the grant.
    timeline = owner_client.get(reverse("dashboard:customers_timeline", args=[ada.pk]), **HTMX).content.decode()
    assert "Granted “Pro reports” by hand" in timeline


def test_granting_twice_is_idempotent(owner_client, shop_sandbox, ada):
    benefit = make_benefit(shop_sandbox, name="Pro reports")
    owner_client.post(grant_url(ada), {"benefit": benefit.pk}, **HTMX)
    response = owner_client.post(grant_url(ada), {"benefit": benefit.pk}, **HTMX)
    assert "already has “Pro reports”" in response.content.decode() and not response.has_header("HX-Trigger")
    assert Entitlement.objects.filter(customer=ada).count() == 1
    assert Event.objects.filter(type="benefits.granted").count() == 1


def test_grant_errors_show_in_the_card(owner_client, shop_sandbox, other_tenant, ada):
    foreign = make_benefit(Tenant(other_tenant.merchant, False), name="Not yours")
    assert "Choose a benefit to grant." in owner_client.post(grant_url(ada), {"benefit": ""}, **HTMX).content.decode()
    response = owner_client.post(grant_url(ada), {"benefit": foreign.pk}, **HTMX)
    assert f"No such benefit: &#x27;{foreign.pk}&#x27;" in response.content.decode()
    assert not Entitlement.objects.exists()


def test_revoke_by_hand_with_htmx(owner_client, shop_sandbox, ada):
    benefit = make_benefit(shop_sandbox, name="Pro reports")
    entitlement = catalog_services.entitlement_grant(tenant=shop_sandbox, customer=ada, benefit=benefit, source="api",
                                                     actor=Actor.system())
    detail = owner_client.get(detail_url(ada)).content.decode()
    assert "Granted through the API" in detail and 'data-confirm="Revoke “Pro reports”' in detail

    response = owner_client.post(revoke_url(ada, entitlement), **HTMX)
    assert response.status_code == 200 and response["HX-Trigger"] == views.TIMELINE_CHANGED
    card = response.content.decode()
    assert "Revoked “Pro reports”." in card and ">Revoked</span>" in card
    assert 'data-testid="revoke-entitlement"' not in card
    entitlement.refresh_from_db()
    assert entitlement.revoked_at is not None
    assert "Pro reports (" in card  # it can be granted again
    again = owner_client.post(revoke_url(ada, entitlement), **HTMX)
    assert "was already revoked" in again.content.decode()
    assert Event.objects.filter(type="entitlement.revoked").count() == 1
    assert "Revoked “Pro reports”" in owner_client.get(detail_url(ada)).content.decode()  # on the timeline


def test_grant_and_revoke_without_javascript_redirect_with_a_message(owner_client, shop_sandbox, ada):
    benefit = make_benefit(shop_sandbox, name="Pro reports")
    response = owner_client.post(grant_url(ada), {"benefit": benefit.pk})
    assert response.status_code == 302 and response.url == detail_url(ada) + "#entitlements"
    page = owner_client.get(detail_url(ada)).content.decode()
    assert "Granted “Pro reports”." in page
    entitlement = Entitlement.objects.get(customer=ada)
    response = owner_client.post(revoke_url(ada, entitlement), follow=True)
    assert "Revoked “Pro reports”." in response.content.decode()


def test_a_viewer_sees_entitlements_but_cannot_grant_or_revoke(client, member_client, shop_sandbox, ada):
    benefit = make_benefit(shop_sandbox, name="Pro reports")
    entitlement = catalog_services.entitlement_grant(tenant=shop_sandbox, customer=ada, benefit=benefit,
                                                     source="manual", actor=Actor.system())
    member_client("viewer")
    page = client.get(detail_url(ada)).content.decode()
    assert "Pro reports" in page
    assert 'data-testid="grant-benefit"' not in page and 'data-testid="revoke-entitlement"' not in page
    assert client.post(revoke_url(ada, entitlement), **HTMX).status_code == 403
    assert client.post(grant_url(ada), {"benefit": benefit.pk}, **HTMX).status_code == 403
    entitlement.refresh_from_db()
    assert entitlement.revoked_at is None


def test_another_customers_entitlement_is_a_404(owner_client, shop_sandbox, ada):
    other = make_customer(shop_sandbox, email="other@example.com")
    benefit = make_benefit(shop_sandbox)
    entitlement = catalog_services.entitlement_grant(tenant=shop_sandbox, customer=other, benefit=benefit,
                                                     source="manual", actor=Actor.system())
    assert owner_client.post(revoke_url(ada, entitlement), **HTMX).status_code == 404
    entitlement.refresh_from_db()
    assert entitlement.revoked_at is None


def test_timeline_is_newest_first_and_loads_older_events(owner_client, shop_sandbox, ada):
    for i in range(25):
        services.customer_update(tenant=shop_sandbox, actor=Actor.system(), customer_id=ada.pk, data={"name": f"Ada {i}"})
    first = owner_client.get(detail_url(ada))
    rows = first.context["timeline"]["rows"]
    assert len(rows) == views.TIMELINE_PAGE_SIZE and first.context["timeline"]["has_more"]
    assert rows[0]["summary"] == "Changed name (Ada 23 → Ada 24)"
    assert 'data-testid="timeline-more"' in first.content.decode()
    more = owner_client.get(reverse("dashboard:customers_timeline", args=[ada.pk]), {"page": 2}, **HTMX)
    content = more.content.decode()
    assert "<html" not in content and content.count('data-testid="timeline-item"') == 27 - views.TIMELINE_PAGE_SIZE
    assert "Customer created (ada@engine.example)" in content and 'data-testid="timeline-more"' not in content
    # Without JavaScript the same "Load older events" link opens page 2 of the timeline on the page itself.
    assert timeline_types(owner_client.get(detail_url(ada), {"timeline_page": 2}))[-1] == "customer.created"


def test_the_timeline_leaves_out_other_customers_events(owner_client, shop_sandbox, ada):
    other = make_customer(shop_sandbox, email="other@example.com")
    benefit = make_benefit(shop_sandbox, name="Theirs")
    catalog_services.entitlement_grant(tenant=shop_sandbox, customer=other, benefit=benefit, source="manual",
                                       actor=Actor.system())
    response = owner_client.get(detail_url(ada))
    assert timeline_types(response) == ["customer.updated", "customer.created"]
    summaries = " ".join(row["summary"] for row in response.context["timeline"]["rows"])
    assert "other@example.com" not in summaries and "Theirs" not in summaries


def test_later_apps_can_add_a_card(owner_client, ada, monkeypatch, tmp_path, settings):
    (tmp_path / "wallet_card.html").write_text('<section class="card" data-testid="wallet">{{ card.balance }}</section>')
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [*settings.TEMPLATES[0]["DIRS"], tmp_path]}]
    monkeypatch.setattr(views, "DETAIL_CARDS", [])
    views.register_detail_card("wallet_card.html", lambda request, customer: {"balance": f"£0.00 for {customer.pk}"})
    page = owner_client.get(detail_url(ada)).content.decode()
    assert f'<section class="card" data-testid="wallet">£0.00 for {ada.pk}</section>' in page


def _add_events_and_entitlements(tenant, customer, n, start=0):
    for i in range(start, start + n):
        benefit = make_benefit(tenant, key=f"perk-{i}", name=f"Perk {i}")
        catalog_services.entitlement_grant(tenant=tenant, customer=customer, benefit=benefit, source="manual",
                                           actor=Actor.system())
        services.customer_update(tenant=tenant, actor=Actor.system(), customer_id=customer.pk,
                                 data={"metadata": {"i": str(i)}})


@pytest.mark.parametrize("url_name, headers", [("customers_detail", {}), ("customers_timeline", HTMX)])
def test_query_count_is_the_same_for_10_and_60_events_and_entitlements(owner_client, shop_sandbox, ada, url_name,
                                                                       headers):
    url = reverse(f"dashboard:{url_name}", args=[ada.pk])
    _add_events_and_entitlements(shop_sandbox, ada, 10)
    few, response = count_queries(owner_client, url, **headers)
    _add_events_and_entitlements(shop_sandbox, ada, 50, start=10)
    many, response = count_queries(owner_client, url, **headers)
    assert many == few, (few, many)
    if url_name == "customers_detail":
        assert len(response.context["entitlement_rows"]) == 60
        assert len(response.context["timeline"]["rows"]) == views.TIMELINE_PAGE_SIZE

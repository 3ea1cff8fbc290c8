from datetime import UTC, datetime

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.core.actors import Actor
from apps.core.events import emit_event
from apps.core.models import Event
from apps.core.tenancy import Tenant
from tests.factories import make_merchant, owner_membership

ACTIVITY = reverse("dashboard:activity")


@pytest.fixture
def shop(db):
    return make_merchant(name="Acme Ltd", live_enabled=False)


@pytest.fixture
def owner_client(client, shop):
    client.force_login(owner_membership(shop).user)
    return client


def emit(merchant, type="customer.created", *, n=1, livemode=False, actor=None):
    for i in range(n):
        emit_event(tenant=Tenant(merchant, livemode), type=type, data={"id": f"obj_{i}", "object": type.split(".")[0]},
                   actor=actor or Actor.system())


def shown_types(response):
    return [row["event"].type for row in response.context["rows"]]


def test_lists_the_tenants_events_newest_first_with_details(owner_client, shop, other_tenant):
    emit(shop, "customer.created")
    emit(shop, "team.member_joined", actor=Actor("user", "usr_1", "ana@example.com"))
    emit(shop, "invoice.paid", livemode=True)  # other mode
    emit(other_tenant.merchant, "invoice.voided")  # other merchant
    response = owner_client.get(ACTIVITY)
    assert response.status_code == 200
    assert shown_types(response) == ["team.member_joined", "customer.created", "merchant.created"]
    content = response.content.decode()
    assert "invoice.paid" not in content and "invoice.voided" not in content
    assert "ana@example.com" in content and "obj_0" in content
    assert '&quot;type&quot;: &quot;team.member_joined&quot;' in content  # the JSON envelope, ready to expand
    assert 'data-testid="sandbox-banner"' in content


@pytest.mark.parametrize("query, expected", [
    ("team.", {"team.member_joined", "team.invitation_created"}),
    ("team.*", {"team.member_joined", "team.invitation_created"}),
    ("team", {"team.member_joined", "team.invitation_created"}),
    ("team.member_joined", {"team.member_joined"}),
])
def test_type_filter_prefix_or_exact(owner_client, shop, query, expected):
    emit(shop, "team.member_joined")
    emit(shop, "team.invitation_created")
    emit(shop, "api_key.created")
    assert set(shown_types(owner_client.get(ACTIVITY, {"type": query}))) == expected


def test_actor_filter(owner_client, shop):
    emit(shop, "customer.created", actor=Actor("api_key", "key_1", "backend"))
    assert shown_types(owner_client.get(ACTIVITY, {"actor_type": "api_key"})) == ["customer.created"]
    assert "merchant.created" in shown_types(owner_client.get(ACTIVITY, {"actor_type": "user"}))


def test_date_range_is_inclusive_whole_days_in_the_merchants_zone(owner_client, shop):
    # The merchant is in Europe/London (BST in July): 23:30 UTC on 1 July is already 2 July there.
    with time_machine.travel(datetime(2026, 7, 1, 23, 30, tzinfo=UTC), tick=False):
        emit(shop, "customer.created")
    with time_machine.travel(datetime(2026, 7, 3, 12, 0, tzinfo=UTC), tick=False):
        emit(shop, "customer.updated")
    assert shown_types(owner_client.get(ACTIVITY, {"date_from": "2026-07-02", "date_to": "2026-07-02"})) == [
        "customer.created"]
    assert shown_types(owner_client.get(ACTIVITY, {"date_from": "2026-07-02", "date_to": "2026-07-03"})) == [
        "customer.updated", "customer.created"]
    bad = owner_client.get(ACTIVITY, {"date_from": "2026-07-03", "date_to": "2026-07-01"})
    assert bad.status_code == 200 and "The end date must be on or after the start date." in bad.content.decode()
    assert shown_types(bad) == []


def test_pagination_25_per_page(owner_client, shop):
    emit(shop, n=29)  # + merchant.created = 30
    first = owner_client.get(ACTIVITY)
    assert len(first.context["rows"]) == 25 and first.context["page"].paginator.num_pages == 2
    second = owner_client.get(ACTIVITY, {"page": 2})
    assert len(second.context["rows"]) == 5
    assert shown_types(second)[-1] == "merchant.created"
    assert "Older →" in first.content.decode() and "← Newer" in second.content.decode()


def test_htmx_filter_swaps_only_the_results(owner_client, shop):
    emit(shop, "team.member_joined")
    response = owner_client.get(ACTIVITY, {"type": "team."}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="activity-results")
    content = response.content.decode()
    assert "<html" not in content and content.lstrip().startswith('<div id="activity-results"')
    assert "team.member_joined" in content and "merchant.created" not in content


def test_viewer_can_read_activity(client, shop):
    from tests.factories import make_member

    client.force_login(make_member(shop, role="viewer").user)
    assert client.get(ACTIVITY).status_code == 200


def test_query_count_does_not_grow_with_events(owner_client, shop):
    emit(shop, n=9)
    owner_client.get(ACTIVITY)  # warm the session and last-active stamp
    with CaptureQueriesContext(connection) as ten:
        assert len(owner_client.get(ACTIVITY).context["rows"]) == 10
    emit(shop, n=90, type="team.member_joined")
    with CaptureQueriesContext(connection) as hundred:
        assert len(owner_client.get(ACTIVITY).context["rows"]) == 25
    assert Event.objects.filter(merchant=shop).count() == 100
    assert len(ten.captured_queries) == len(hundred.captured_queries), [q["sql"] for q in hundred.captured_queries]

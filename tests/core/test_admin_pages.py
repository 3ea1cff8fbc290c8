"""Every model registered in Django admin: its list and a change page answer 200 for a superuser, and
for our own apps the number of queries does not depend on how many rows there are (no N+1)."""
import uuid

import pytest
from django.contrib import admin
from django.contrib.admin.utils import quote
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.test import APIClient

from apps.accounts import services as account_services
from apps.accounts.models import ApiKey, GatewayAccount, Invitation, Membership, Merchant, User
from apps.core.models import Event, IdempotencyKey, StateTransition
from tests.factories import make_api_key, make_invitation, make_merchant, owner_membership

OUR_APPS = {"core", "accounts"}
ALL_REGISTERED = sorted(admin.site._registry, key=lambda m: m._meta.label)
OURS = [m for m in ALL_REGISTERED if m._meta.app_label in OUR_APPS]


def _label(model) -> str:
    return model._meta.label


def populate(n: int) -> None:
    """n merchants, each with every kind of accounts/core row the admin shows."""
    for _ in range(n):
        merchant = make_merchant(name=f"Shop {uuid.uuid4().hex[:8]}")
        secret = make_api_key(merchant)
        make_invitation(merchant)
        revoked, _ = make_invitation(merchant)
        account_services.invitation_revoke(invitation=revoked, actor_membership=owner_membership(merchant))
        client = APIClient()
        client.credentials(HTTP_X_API_KEY=secret)
        response = client.post("/v2/events/test", {"type": "invoice.paid"}, format="json",
                               HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()))
        assert response.status_code in (200, 201), response.content


def _urls(model):
    info = (model._meta.app_label, model._meta.model_name)
    first = model._default_manager.order_by("pk").first()
    change = reverse("admin:{}_{}_change".format(*info), args=[quote(first.pk)]) if first else None
    return reverse("admin:{}_{}_changelist".format(*info)), change


def _get(client, url) -> int:
    client.get(url)  # warm per-process caches (content types, permissions) before counting
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return len(ctx.captured_queries)


def test_our_models_are_all_registered():
    expected = {User, Merchant, GatewayAccount, Membership, Invitation, ApiKey, Event, StateTransition, IdempotencyKey}
    assert expected <= set(admin.site._registry)


@pytest.mark.parametrize("model", ALL_REGISTERED, ids=_label)
def test_every_registered_admin_answers(admin_client, model):
    populate(1)
    changelist, change = _urls(model)
    _get(admin_client, changelist)
    if change:
        _get(admin_client, change)
    # The search box and every filter answer too.
    assert admin_client.get(changelist, {"q": "nothing-matches-this"}).status_code == 200


@pytest.mark.parametrize("model", OURS, ids=_label)
def test_query_count_does_not_grow_with_rows(admin_client, model):
    populate(1)
    changelist, change = _urls(model)
    assert change is not None, f"populate() made no {model.__name__} row"
    few_list, few_change = _get(admin_client, changelist), _get(admin_client, change)
    populate(4)
    assert model._default_manager.count() >= 4
    assert _get(admin_client, changelist) == few_list, f"{model.__name__} list: queries grow with rows"
    assert _get(admin_client, change) == few_change, f"{model.__name__} change page: queries grow with rows"


def test_event_admin_search_filters_and_pretty_json(admin_client):
    populate(2)
    event = Event.objects.filter(type="invoice.paid").first()
    url = reverse("admin:core_event_changelist")
    by_id = admin_client.get(url, {"q": event.pk})
    assert by_id.status_code == 200 and list(by_id.context["cl"].result_list) == [event]
    by_object = admin_client.get(url, {"q": event.object_id})
    assert [e.pk for e in by_object.context["cl"].result_list] == [event.pk]
    by_type = admin_client.get(url, {"q": "invoice."})
    assert {e.type for e in by_type.context["cl"].result_list} == {"invoice.paid"}
    for params in ({"dispatched": "yes"}, {"dispatched": "no"}, {"livemode__exact": "0"}, {"actor_type__exact": "api_key"},
                   {"type": "invoice.paid"}):
        assert admin_client.get(url, params).status_code == 200
    page = admin_client.get(reverse("admin:core_event_change", args=[event.pk])).content.decode()
    assert "<pre" in page and "&quot;object&quot;: &quot;test&quot;" in page  # indented, escaped JSON
    assert 'name="type"' not in page  # read-only: no inputs

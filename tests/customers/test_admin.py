"""Operators' console for customers: lists (deleted ones included), search, change pages without
N+1, and the soft-delete action going through the service."""
from django.contrib.admin.utils import quote
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.core.models import Event
from apps.customers import services
from apps.customers.models import Customer, CustomerExternalId
from tests.factories import make_customer


def _queries(client, url, params=None):
    client.get(url, params or {})
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, params or {})
    assert response.status_code == 200, (url, response.status_code)
    return len(ctx.captured_queries), response


def test_customer_admin_lists_searches_and_shows_deleted(admin_client, sandbox, actor):
    ada = make_customer(sandbox, name="Ada", email="ada@example.com", external_ids=[("crm", "A-1")],
                        billing_address={"line1": "1 Road", "country": "GB"})
    gone = make_customer(sandbox, name="Gone")
    services.customer_delete(tenant=sandbox, actor=actor, customer_id=gone.pk)
    changelist = reverse("admin:customers_customer_changelist")
    _, response = _queries(admin_client, changelist)
    assert ada.pk in response.content.decode() and gone.pk in response.content.decode()
    assert gone.pk not in admin_client.get(changelist, {"deleted": "no"}).content.decode()
    assert ada.pk in admin_client.get(changelist, {"q": "A-1"}).content.decode()
    assert ada.pk in admin_client.get(changelist, {"q": "ada@"}).content.decode()
    for customer in (ada, gone):
        _, page = _queries(admin_client, reverse("admin:customers_customer_change", args=[quote(customer.pk)]))
        assert customer.pk in page.content.decode()
    ext = CustomerExternalId.objects.get(customer=ada)
    _queries(admin_client, reverse("admin:customers_customerexternalid_changelist"), {"q": "A-1"})
    _queries(admin_client, reverse("admin:customers_customerexternalid_change", args=[quote(ext.pk)]))


def test_admin_pages_do_not_grow_with_rows(admin_client, sandbox):
    for _ in range(2):
        make_customer(sandbox, external_ids=[("crm", f"x{Customer.objects.count()}")])
    urls = [reverse("admin:customers_customer_changelist"), reverse("admin:customers_customerexternalid_changelist")]
    few = [_queries(admin_client, url)[0] for url in urls]
    for _ in range(10):
        make_customer(sandbox, external_ids=[("crm", f"x{Customer.objects.count()}")])
    assert [_queries(admin_client, url)[0] for url in urls] == few


def test_soft_delete_action_calls_the_service(admin_client, sandbox):
    customer = make_customer(sandbox)
    response = admin_client.post(reverse("admin:customers_customer_changelist"),
                                 {"action": "soft_delete", "_selected_action": [customer.pk]})
    assert response.status_code == 302
    assert Customer.all_objects.get(pk=customer.pk).deleted_at is not None
    event = Event.objects.get(type="customer.deleted", object_id=customer.pk)
    assert event.actor_type == "user"

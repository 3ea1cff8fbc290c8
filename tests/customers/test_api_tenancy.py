"""What the registry's probes cannot express: writes across merchants and modes. Another merchant's
customer (or the owner's live-mode twin) is a 404 for PATCH and DELETE, and upserts with the same
external ids create the intruder's own customers without touching the owner's."""
from apps.core.tenancy import Tenant as CoreTenant
from apps.customers.models import Customer
from tests.factories import make_customer


def test_patch_and_delete_of_another_tenants_customer_are_404_and_change_nothing(tenant, other_tenant, sandbox):
    customer = make_customer(sandbox, name="Owner's")
    for client in (other_tenant.client(), tenant.client(live=True)):
        response = client.patch(f"/v2/customers/{customer.pk}", {"name": "Hijacked"}, format="json")
        assert response.status_code == 404 and response.json()["error"]["code"] == "resource_missing"
        assert client.delete(f"/v2/customers/{customer.pk}").status_code == 404
    fresh = Customer.objects.get(pk=customer.pk)
    assert fresh.name == "Owner's" and fresh.deleted_at is None


def test_create_is_scoped_to_the_keys_merchant_and_mode(tenant, other_tenant):
    body = {"email": "same@example.com"}
    ids = {client_label: client.post("/v2/customers", body, format="json").json()["data"]["id"]
           for client_label, client in [("owner", tenant.client()), ("live", tenant.client(live=True)),
                                        ("other", other_tenant.client())]}
    assert len(set(ids.values())) == 3  # the same email is a different customer per merchant and mode
    assert other_tenant.client().get(f"/v2/customers/{ids['owner']}").status_code == 404
    assert Customer.objects.get(pk=ids["live"]).livemode is True


def test_upserts_with_the_same_external_ids_never_cross_tenants(tenant, other_tenant, sandbox):
    owners = make_customer(sandbox, name="Owner", email="o@example.com", external_ids=[("crm", "1")])
    for client in (other_tenant.client(), tenant.client(live=True)):
        single = client.put("/v2/customers/external/crm/1", {"email": "intruder@example.com", "name": "Intruder"},
                            format="json")
        assert single.status_code == 201 and single.json()["data"]["id"] != owners.pk
        batch = client.put("/v2/customers/external/batch", {"source": "crm", "customers": [
            {"external_id": "1", "name": "Intruder 2"}]}, format="json")
        assert batch.status_code == 200
        assert batch.json()["data"]["results"][0]["status"] == "updated"
        assert batch.json()["data"]["results"][0]["id"] == single.json()["data"]["id"]
    fresh = Customer.objects.get(pk=owners.pk)
    assert fresh.name == "Owner" and fresh.email == "o@example.com"
    assert Customer.objects.filter(merchant=other_tenant.merchant).count() == 1
    assert Customer.objects.filter(merchant=tenant.merchant, livemode=True).count() == 1
    # Linking by email never reaches another tenant's customer either.
    linked = other_tenant.client().put("/v2/customers/external/wodify/9", {"email": "o@example.com"}, format="json")
    assert linked.status_code == 201 and linked.json()["data"]["id"] != owners.pk


def test_searching_never_shows_another_tenants_customers(tenant, other_tenant):
    make_customer(CoreTenant(other_tenant.merchant, False), name="Secret Person", external_ids=[("crm", "S-1")])
    for query in ({"search": "secret"}, {"search": "S-1"}, {"email": "x@example.com"}):
        assert tenant.client().get("/v2/customers", query).json()["data"] == []

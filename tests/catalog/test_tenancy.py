"""Every write method of the catalog routes, against another merchant's and another mode's keys: 404
(or a field error that reads exactly like a missing id), and the owner's rows do not change. The
read side of every route is covered by the registry probes (tests/catalog/probes.py)."""
import pytest

from apps.catalog import services
from apps.catalog.models import Discount, Entitlement, Price, Product
from apps.core.actors import Actor
from tests.factories import make_benefit, make_customer, make_discount, make_price, make_product


@pytest.fixture
def owned(sandbox):
    product = make_product(sandbox, name="Owner's")
    price = make_price(sandbox, product=product)
    discount = make_discount(sandbox, code="OWNER")
    customer = make_customer(sandbox)
    benefit = make_benefit(sandbox, key="owner-key")
    entitlement = services.entitlement_grant(tenant=sandbox, customer=customer, benefit=benefit, source="api",
                                             actor=Actor.system("tests"))
    return {"product": product, "price": price, "discount": discount, "customer": customer, "benefit": benefit,
            "entitlement": entitlement}


def intruders(tenant, other_tenant):
    return {"other merchant": other_tenant.client(), "same merchant, live key": tenant.client(live=True)}


def snapshot(owned):
    return (
        Product.objects.filter(pk=owned["product"].pk).values("name", "active", "updated_at").get(),
        Price.objects.filter(pk=owned["price"].pk).values("nickname", "active", "updated_at").get(),
        Discount.all_objects.filter(pk=owned["discount"].pk).values("name", "active", "deleted_at", "updated_at").get(),
        list(Entitlement.objects.filter(customer=owned["customer"]).values("pk", "revoked_at")),
    )


def calls(owned):
    cus, ent = owned["customer"].pk, owned["entitlement"].pk
    return [
        ("patch", f"/v2/products/{owned['product'].pk}", {"name": "hijacked"}),
        ("patch", f"/v2/prices/{owned['price'].pk}", {"nickname": "hijacked"}),
        ("delete", f"/v2/prices/{owned['price'].pk}", None),
        ("patch", f"/v2/discounts/{owned['discount'].pk}", {"name": "hijacked"}),
        ("delete", f"/v2/discounts/{owned['discount'].pk}", None),
        ("post", f"/v2/customers/{cus}/entitlements", {"benefit_key": "owner-key"}),
        ("delete", f"/v2/customers/{cus}/entitlements?benefitKey=owner-key", None),
        ("delete", f"/v2/customers/{cus}/entitlements/{ent}", None),
        ("post", "/v2/prices", {"product_id": owned["product"].pk, "unit_amount_minor": 1, "currency": "USD"}),
        ("post", "/v2/billing/preview", {"price_id": owned["price"].pk}),
    ]


@pytest.mark.parametrize("index", range(10))
def test_write_methods_are_404_for_other_keys(tenant, other_tenant, owned, index):
    method, path, body = calls(owned)[index]
    before = snapshot(owned)
    for label, client in intruders(tenant, other_tenant).items():
        response = getattr(client, method)(path, body, format="json") if body is not None else getattr(client, method)(path)
        assert response.status_code == 404, (label, method, path, response.content)
        assert response.json()["error"]["code"] == "resource_missing"
    assert snapshot(owned) == before


def test_scope_ids_of_another_tenant_read_as_missing(tenant, other_tenant, owned):
    for client in intruders(tenant, other_tenant).values():
        response = client.post("/v2/discounts", {"type": "percentage", "percent_off": 5,
                                                 "product_ids": [owned["product"].pk]}, format="json")
        assert response.status_code == 400
        assert response.json()["error"]["details"]["fields"]["product_ids"] == [
            f"no such product: {owned['product'].pk}"]


def test_other_merchants_grant_of_the_same_key_uses_their_own_benefit(tenant, other_tenant, owned):
    from apps.core.tenancy import Tenant as CoreTenant

    theirs = CoreTenant(other_tenant.merchant, livemode=False)
    make_benefit(theirs, key="owner-key")
    their_customer = make_customer(theirs)
    response = other_tenant.client().post(f"/v2/customers/{their_customer.pk}/entitlements",
                                          {"benefit_key": "owner-key"}, format="json")
    assert response.status_code == 201
    assert response.json()["data"]["benefit_id"] != owned["benefit"].pk
    # The owner's benefit by id is invisible to them.
    response = other_tenant.client().post(f"/v2/customers/{their_customer.pk}/entitlements",
                                          {"benefit_id": owned["benefit"].pk}, format="json")
    assert response.status_code == 404

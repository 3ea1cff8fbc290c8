"""Benefits and entitlements: services and the /v2 entitlement endpoints (pages 017, 143–147, 167–168)."""
from datetime import timedelta

import pytest
import time_machine

from apps.catalog import services
from apps.catalog.models import Benefit, Entitlement
from apps.core.clock import now
from apps.core.errors import NotFound, ValidationFailed
from apps.core.models import Event
from apps.core.tenancy import Tenant as CoreTenant
from apps.customers import services as customer_services
from tests.catalog.helpers import assert_validation_error, catalog_rows
from tests.factories import make_benefit, make_customer, make_product

ENTITLEMENT_FIELDS = {"id", "object", "customer_id", "benefit_id", "benefit_key", "benefit", "status", "has_access",
                      "source", "source_reference", "granted_at", "expires_at", "revoked_at", "revoke_reason",
                      "metadata", "livemode", "created_at", "updated_at"}


@pytest.fixture
def customer(sandbox):
    return make_customer(sandbox, name="Ann")


# --- services --------------------------------------------------------------------------------------
def test_benefit_types_and_config_validation(sandbox, actor):
    make_benefit(sandbox, key="ebook", type="file_download", config={"files": [{"name": "book.pdf"}],
                                                                    "max_downloads": 5, "download_expiry_days": 7})
    make_benefit(sandbox, key="license", type="license_key", config={"generation": "auto_generate",
                                                                    "format": "XXXX-XXXX", "activation_limit": 3})
    make_benefit(sandbox, key="crm", type="custom", config={"webhook_url": "https://example.com/hook"})
    make_benefit(sandbox, key="setup-call", type="manual", config={"instructions": "Book a call"})
    make_benefit(sandbox, key="pro-reports")  # access grant (feature flag)
    assert Benefit.objects.filter(merchant=sandbox.merchant).count() == 5
    for data, path in (({"type": "custom", "config": {}}, "config.webhook_url"),
                       ({"type": "license_key", "config": {"generation": "magic"}}, "config.generation"),
                       ({"type": "file_download", "config": {"max_downloads": 0}}, "config.max_downloads"),
                       ({"type": "manual", "config": {"colour": "red"}}, "config.colour"),
                       ({"type": "teleport"}, "type"),
                       ({"key": "Bad Key"}, "key"),
                       ({"key": "pro-reports"}, "key")):
        with pytest.raises(ValidationFailed) as info:
            services.benefit_create(tenant=sandbox, actor=actor, data={"key": "k", "name": "n", **data})
        assert path in info.value.fields, info.value.fields
    with pytest.raises(ValidationFailed):
        services.benefit_update(tenant=sandbox, actor=actor, benefit_id=Benefit.objects.get(key="crm").pk,
                                data={"key": "other"})


def test_grant_is_idempotent_and_check_by_key(sandbox, actor, customer):
    benefit = make_benefit(sandbox, key="pro-reports")
    assert services.entitlement_check(tenant=sandbox, customer=customer, key="pro-reports") is False
    first = services.entitlement_grant(tenant=sandbox, customer=customer, benefit=benefit, source="manual", actor=actor)
    again = services.entitlement_grant(tenant=sandbox, customer=customer, benefit=benefit, source="api", actor=actor)
    assert first.newly_granted and not again.newly_granted and again.pk == first.pk
    assert services.entitlement_check(tenant=sandbox, customer=customer, key="pro-reports") is True
    assert Event.objects.filter(type=services.GRANTED_EVENT).count() == 1

    services.entitlement_revoke(tenant=sandbox, actor=actor, entitlement=first)
    services.entitlement_revoke(tenant=sandbox, actor=actor, entitlement=first)  # no second event
    assert services.entitlement_check(tenant=sandbox, customer=customer, key="pro-reports") is False
    assert Event.objects.filter(type=services.REVOKED_EVENT).count() == 1
    regrant = services.entitlement_grant(tenant=sandbox, customer=customer, benefit=benefit, source="api", actor=actor)
    assert regrant.newly_granted and regrant.pk != first.pk


def test_expiry(sandbox, actor, customer):
    benefit = make_benefit(sandbox, key="trial-access")
    grant = services.entitlement_grant(tenant=sandbox, customer=customer, benefit=benefit, source="api", actor=actor,
                                       expires_at=now() + timedelta(days=1))
    assert grant.status == "active"
    with time_machine.travel(now() + timedelta(days=2)):
        assert services.entitlement_check(tenant=sandbox, customer=customer, key="trial-access") is False
        assert Entitlement.objects.get(pk=grant.pk).status == "expired"
        fresh = services.entitlement_grant(tenant=sandbox, customer=customer, benefit=benefit, source="api",
                                           actor=actor)
        assert fresh.newly_granted and fresh.pk != grant.pk
        closed = Entitlement.objects.get(pk=grant.pk)
        assert (closed.revoke_reason, closed.status, closed.revoked_at) == ("expired", "expired", closed.expires_at)
        assert Event.objects.filter(type=services.EXPIRED_EVENT, object_id=grant.pk).count() == 1
    with pytest.raises(ValidationFailed):
        services.entitlement_grant(tenant=sandbox, customer=make_customer(sandbox), benefit=benefit, source="api",
                                   actor=actor, expires_at=now() - timedelta(seconds=1))


def test_grant_for_purchase_grants_every_active_benefit_of_the_product(sandbox, actor, customer):
    product = make_product(sandbox)
    a, b, inactive = make_benefit(sandbox, key="a"), make_benefit(sandbox, key="b"), make_benefit(sandbox, key="c",
                                                                                                  active=False)
    for benefit in (a, b, inactive):
        services.product_benefit_attach(tenant=sandbox, actor=actor, product_id=product.pk, benefit_id=benefit.pk)
    services.product_benefit_attach(tenant=sandbox, actor=actor, product_id=product.pk, benefit_id=a.pk)  # idempotent
    granted = services.benefits_grant_for_purchase(tenant=sandbox, customer=customer, product=product, actor=actor,
                                                   source_reference="ord_1")
    assert [e.benefit.key for e in granted] == ["a", "b"]
    assert all(e.source == "purchase" and e.source_reference == "ord_1" for e in granted)
    again = services.benefits_grant_for_purchase(tenant=sandbox, customer=customer, product=product, actor=actor)
    assert [e.pk for e in again] == [e.pk for e in granted]
    from apps.catalog.selectors import product_get

    assert [b["key"] for b in product_payload_benefits(product_get(tenant=sandbox, product_id=product.pk))] == [
        "a", "b", "c"]
    services.product_benefit_detach(tenant=sandbox, actor=actor, product_id=product.pk, benefit_id=b.pk)
    assert [x["key"] for x in product_payload_benefits(product_get(tenant=sandbox, product_id=product.pk))] == ["a", "c"]


def product_payload_benefits(product):
    from apps.catalog.payloads import product_payload

    return product_payload(product)["benefits"]


def test_deleting_a_benefit_revokes_its_entitlements_and_frees_the_key(sandbox, actor, customer):
    benefit = make_benefit(sandbox, key="gone")
    services.entitlement_grant(tenant=sandbox, customer=customer, benefit=benefit, source="api", actor=actor)
    services.benefit_delete(tenant=sandbox, actor=actor, benefit_id=benefit.pk)
    assert Entitlement.objects.get(benefit=benefit).revoke_reason == "benefit_deleted"
    make_benefit(sandbox, key="gone")


def test_deleting_a_customer_revokes_their_entitlements(sandbox, actor, customer):
    benefit = make_benefit(sandbox, key="pro")
    services.entitlement_grant(tenant=sandbox, customer=customer, benefit=benefit, source="api", actor=actor)
    customer_services.customer_delete(tenant=sandbox, actor=actor, customer_id=customer.pk)
    entitlement = Entitlement.objects.get(customer_id=customer.pk)
    assert entitlement.revoked_at is not None and entitlement.revoke_reason == "customer_deleted"


def test_services_refuse_other_tenants_objects(sandbox, actor, customer, other_tenant):
    theirs = CoreTenant(other_tenant.merchant, livemode=False)
    their_benefit = make_benefit(theirs, key="x")
    their_customer = make_customer(theirs)
    mine = make_benefit(sandbox, key="x")
    with pytest.raises(NotFound):
        services.entitlement_grant(tenant=sandbox, customer=customer, benefit=their_benefit, source="api", actor=actor)
    with pytest.raises(NotFound):
        services.entitlement_grant(tenant=sandbox, customer=their_customer, benefit=mine, source="api", actor=actor)
    with pytest.raises(NotFound):
        services.benefits_grant_for_purchase(tenant=sandbox, customer=customer, product=make_product(theirs),
                                             actor=actor)


# --- API -----------------------------------------------------------------------------------------
def test_grant_list_check_and_revoke_through_the_api(api, sandbox, customer):
    benefit = make_benefit(sandbox, key="pro-reports", name="Pro reports")
    base = f"/v2/customers/{customer.pk}/entitlements"

    granted = api.post(base, {"benefitKey": "pro-reports", "metadata": {"seat": "1"}}, format="json")
    assert granted.status_code == 201, granted.content
    entitlement = granted.json()["data"]
    assert set(entitlement) == ENTITLEMENT_FIELDS
    assert entitlement["id"].startswith("ent_") and entitlement["status"] == "active"
    assert entitlement["has_access"] is True and entitlement["source"] == "api"
    assert entitlement["benefit"] == {"id": benefit.pk, "key": "pro-reports", "name": "Pro reports",
                                      "type": "access_grant"}

    again = api.post(base, {"benefit_id": benefit.pk}, format="json")
    assert again.status_code == 200 and again.json()["data"]["id"] == entitlement["id"]

    check = api.get(f"{base}/check?key=pro-reports").json()["data"]
    assert check["has_access"] is True and check["entitlement"]["id"] == entitlement["id"]
    top_check = api.get(f"/v2/entitlements/check?customer_id={customer.pk}&benefitKey=pro-reports").json()["data"]
    assert top_check["has_access"] is True

    listed = api.get(base).json()
    assert [e["id"] for e in listed["data"]] == [entitlement["id"]]
    assert listed["pagination"]["total"] == 1
    assert [e["id"] for e in api.get(f"/v2/entitlements?customer_id={customer.pk}").json()["data"]] == [
        entitlement["id"]]

    revoked = api.delete(f"{base}?benefitKey=pro-reports")
    assert revoked.status_code == 200, revoked.content
    assert revoked.json()["data"]["status"] == "revoked" and revoked.json()["data"]["has_access"] is False
    assert api.get(f"{base}/check?benefit_key=pro-reports").json()["data"]["has_access"] is False
    assert api.delete(f"{base}?benefitKey=pro-reports").status_code == 404  # nothing left to revoke

    regranted = api.post(base, {"benefit_key": "pro-reports"}, format="json").json()["data"]
    by_id = api.delete(f"{base}/{regranted['id']}")
    assert by_id.status_code == 200 and by_id.json()["data"]["revoked_at"]
    assert api.delete(f"{base}/{regranted['id']}").status_code == 200  # already revoked: unchanged
    assert [e["status"] for e in api.get(f"{base}?status=revoked").json()["data"]] == ["revoked", "revoked"]
    assert api.get(f"{base}?status=active").json()["data"] == []
    assert Event.objects.filter(type=services.GRANTED_EVENT).count() == 2
    assert Event.objects.filter(type=services.REVOKED_EVENT).count() == 2


def test_entitlement_api_errors(api, tenant, sandbox, customer):
    make_benefit(sandbox, key="pro")
    base = f"/v2/customers/{customer.pk}/entitlements"
    before = catalog_rows(tenant.merchant)
    assert_validation_error(api.post(base, {}, format="json"), "benefit_id")
    assert_validation_error(api.post(base, {"benefit_id": "ben_x", "benefit_key": "pro"}, format="json"), "benefit_id")
    assert_validation_error(api.post(base, {"benefit_key": "pro", "colour": 1}, format="json"), "colour")
    assert_validation_error(api.post(base, {"benefit_key": "pro", "expires_at": "2001-01-01T00:00:00Z"},
                                     format="json"), "expires_at")
    assert_validation_error(api.post(base, {"benefit_key": "pro", "source": "purchase"}, format="json"), "source")
    assert api.post(base, {"benefit_key": "nope"}, format="json").status_code == 404
    assert api.post("/v2/customers/cus_nope/entitlements", {"benefit_key": "pro"}, format="json").status_code == 404
    assert catalog_rows(tenant.merchant) == before
    assert_validation_error(api.delete(base), "benefitKey")
    assert_validation_error(api.get(f"{base}/check"), "key")
    assert_validation_error(api.get("/v2/entitlements"), "customer_id")
    assert_validation_error(api.get("/v2/entitlements/check?customer_id=" + customer.pk), "key")
    assert_validation_error(api.get(f"{base}?status=sleeping"), "status")
    assert api.get(f"{base}/check?key=unknown").status_code == 404
    assert api.get("/v2/entitlements?customer_id=cus_nope").status_code == 404
    assert api.delete(f"{base}/ent_nope").status_code == 404


def test_entitlement_of_another_customer_is_404_by_id(api, sandbox, actor, customer):
    other = make_customer(sandbox)
    benefit = make_benefit(sandbox, key="pro")
    theirs = services.entitlement_grant(tenant=sandbox, customer=other, benefit=benefit, source="api", actor=actor)
    assert api.delete(f"/v2/customers/{customer.pk}/entitlements/{theirs.pk}").status_code == 404
    assert Entitlement.objects.get(pk=theirs.pk).revoked_at is None


def test_deleted_customer_is_404(api, sandbox, actor, customer):
    customer_services.customer_delete(tenant=sandbox, actor=actor, customer_id=customer.pk)
    assert api.get(f"/v2/customers/{customer.pk}/entitlements").status_code == 404


def test_expiry_sweep_closes_due_entitlements_once(api, sandbox, actor, customer):
    from apps.catalog.tasks import expire_entitlements

    short, long = make_benefit(sandbox, key="short"), make_benefit(sandbox, key="long")
    due = services.entitlement_grant(tenant=sandbox, customer=customer, benefit=short, source="api", actor=actor,
                                     expires_at=now() + timedelta(hours=1))
    later = services.entitlement_grant(tenant=sandbox, customer=customer, benefit=long, source="api", actor=actor,
                                       expires_at=now() + timedelta(days=30))
    with time_machine.travel(now() + timedelta(hours=2)):
        expire_entitlements.delay()
        assert services.entitlements_expire_due() == 0  # already done: nothing twice
        assert Event.objects.filter(type=services.EXPIRED_EVENT).count() == 1
        event = Event.objects.get(type=services.EXPIRED_EVENT)
        assert event.object_id == due.pk and event.data["status"] == "expired" and event.actor_type == "system"
        assert Entitlement.objects.get(pk=later.pk).revoked_at is None
        base = f"/v2/customers/{customer.pk}/entitlements"
        assert [e["id"] for e in api.get(f"{base}?status=expired").json()["data"]] == [due.pk]
        assert api.get(f"{base}?status=revoked").json()["data"] == []
        assert [e["id"] for e in api.get(f"{base}?status=active").json()["data"]] == [later.pk]
        assert api.get(f"{base}/check?key=short").json()["data"]["has_access"] is False

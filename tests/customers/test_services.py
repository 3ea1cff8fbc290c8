"""Customer services: validation and normalisation, email uniqueness, PATCH semantics, soft delete,
upsert by external id."""
import pytest
from django.db import IntegrityError, transaction

from apps.core.errors import NotFound, ValidationFailed
from apps.core.models import Event
from apps.core.tenancy import Tenant as CoreTenant
from apps.customers import selectors, services
from apps.customers.models import Customer, CustomerExternalId
from tests.factories import make_customer


def events(tenant, type_=None):
    qs = Event.objects.filter(merchant=tenant.merchant, livemode=tenant.livemode, type__startswith="customer.")
    return list(qs.filter(type=type_) if type_ else qs)


def test_create_normalises_every_field_and_emits_created(sandbox, actor):
    customer = services.customer_create(tenant=sandbox, actor=actor, data={
        "email": "  John@Example.COM ", "name": " John Smith ", "companyName": "Smith & Co", "phone": "+1-555-123-4567",
        "currency": "usd", "locale": "en_gb",
        "address": {"line1": "123 Main St", "postalCode": "94102", "country": "us"},
        "taxId": "US123456789", "metadata": {"tier": "enterprise", "dropped": ""}})
    customer.refresh_from_db()
    assert customer.pk.startswith("cus_")
    assert customer.email == "john@example.com"
    assert customer.name == "John Smith" and customer.company_name == "Smith & Co"
    assert customer.currency == "USD" and customer.locale == "en-GB"
    assert customer.billing_address == {"line1": "123 Main St", "line2": None, "city": None, "state": None,
                                        "postal_code": "94102", "country": "US"}
    assert customer.shipping_address is None
    assert customer.tax_ids == [{"type": "other", "value": "US123456789"}]
    assert customer.metadata == {"tier": "enterprise"}
    [event] = events(sandbox, "customer.created")
    assert event.object_id == customer.pk and event.data["email"] == "john@example.com"
    assert event.data["object"] == "customer" and event.data["external_ids"] == []


def test_email_is_unique_per_merchant_and_mode_case_insensitively(sandbox, actor, other_tenant):
    make_customer(sandbox, email="ann@example.com")
    with pytest.raises(ValidationFailed) as exc:
        services.customer_create(tenant=sandbox, actor=actor, data={"email": "ANN@example.com"})
    assert "email" in exc.value.fields
    assert Customer.objects.filter(merchant=sandbox.merchant).count() == 1
    # The same email is fine for another merchant and in live mode.
    make_customer(CoreTenant(other_tenant.merchant, False), email="ann@example.com")
    make_customer(CoreTenant(sandbox.merchant, True), email="ann@example.com")


def test_database_holds_the_email_rule_even_around_the_services(sandbox):
    make_customer(sandbox, email="bob@example.com")
    with pytest.raises(IntegrityError), transaction.atomic():
        Customer.objects.create(merchant=sandbox.merchant, livemode=False, email="BOB@example.com")


def test_create_requires_email_and_reports_every_bad_field(sandbox, actor):
    with pytest.raises(ValidationFailed) as exc:
        services.customer_create(tenant=sandbox, actor=actor, data={
            "name": "x" * 201, "currency": "ZZZ", "billing_address": {"country": "XX", "floor": "2"},
            "tax_ids": [{"type": "eu_vat"}], "metadata": {"n": 5}, "locale": "xx-YY", "phone": "call me",
            "colour": "red"})
    assert set(exc.value.fields) == {
        "email", "name", "currency", "billing_address.country", "billing_address.floor", "tax_ids[0].value",
        "metadata.n", "locale", "phone", "colour"}
    assert not Customer.all_objects.exists() and not events(sandbox)


@pytest.mark.parametrize("currency", ["JPY", "kwd", "eur"])
def test_any_iso_currency(sandbox, currency):
    assert make_customer(sandbox, currency=currency).currency == currency.upper()


def test_update_merges_metadata_like_stripe_and_records_previous_attributes(sandbox, actor):
    customer = make_customer(sandbox, name="Ann", metadata={"a": "1", "b": "2", "c": "3"})
    updated = services.customer_update(tenant=sandbox, actor=actor, customer_id=customer.pk,
                                       data={"name": "Ann B", "metadata": {"a": "10", "b": "", "c": None, "d": "4"}})
    assert updated.metadata == {"a": "10", "d": "4"} and updated.name == "Ann B"
    [event] = events(sandbox, "customer.updated")
    assert event.previous_attributes == {"name": "Ann", "metadata": {"a": "1", "b": "2", "c": "3"}}
    assert event.data["metadata"] == {"a": "10", "d": "4"}
    cleared = services.customer_update(tenant=sandbox, actor=actor, customer_id=customer.pk, data={"metadata": None})
    assert cleared.metadata == {}


def test_update_that_changes_nothing_writes_nothing(sandbox, actor):
    customer = make_customer(sandbox, name="Ann", currency="GBP")
    before = Customer.objects.get(pk=customer.pk).updated_at
    services.customer_update(tenant=sandbox, actor=actor, customer_id=customer.pk,
                             data={"name": "Ann", "currency": "gbp", "metadata": {}})
    assert Customer.objects.get(pk=customer.pk).updated_at == before
    assert not events(sandbox, "customer.updated")


def test_update_clears_fields_and_replaces_addresses(sandbox, actor):
    customer = make_customer(sandbox, name="Ann", phone="+441234567890",
                             shipping_address={"line1": "1 High St", "line2": "Flat 2", "country": "GB"})
    updated = services.customer_update(tenant=sandbox, actor=actor, customer_id=customer.pk, data={
        "name": None, "phone": "", "shipping_address": {"line1": "9 Low Rd", "country": "gb"}})
    assert updated.name == "" and updated.phone == ""
    assert updated.shipping_address["line2"] is None and updated.shipping_address["line1"] == "9 Low Rd"
    services.customer_update(tenant=sandbox, actor=actor, customer_id=customer.pk, data={"shipping_address": None})
    assert Customer.objects.get(pk=customer.pk).shipping_address is None


def test_update_refuses_a_taken_email_and_a_metadata_overflow(sandbox, actor):
    make_customer(sandbox, email="taken@example.com")
    customer = make_customer(sandbox, email="free@example.com", metadata={f"k{i}": "v" for i in range(50)})
    with pytest.raises(ValidationFailed) as exc:
        services.customer_update(tenant=sandbox, actor=actor, customer_id=customer.pk, data={"email": "Taken@example.com"})
    assert list(exc.value.fields) == ["email"]
    with pytest.raises(ValidationFailed) as exc:
        services.customer_update(tenant=sandbox, actor=actor, customer_id=customer.pk, data={"metadata": {"one": "more"}})
    assert list(exc.value.fields) == ["metadata"]
    assert Customer.objects.get(pk=customer.pk).email == "free@example.com"


def test_soft_delete_hides_the_customer_and_frees_email_and_external_ids(sandbox, actor):
    customer = make_customer(sandbox, email="gone@example.com", external_ids=[("wodify", "42")])
    services.customer_delete(tenant=sandbox, actor=actor, customer_id=customer.pk)
    with pytest.raises(NotFound):
        selectors.customer_get(tenant=sandbox, customer_id=customer.pk)
    with pytest.raises(NotFound):
        services.customer_delete(tenant=sandbox, actor=actor, customer_id=customer.pk)
    assert Customer.all_objects.get(pk=customer.pk).deleted_at is not None  # history kept
    [event] = events(sandbox, "customer.deleted")
    assert event.data["deleted"] is True and event.data["external_ids"] == [{"source": "wodify", "external_id": "42"}]
    # The email and the external id now belong to new customers.
    again = make_customer(sandbox, email="GONE@example.com")
    assert again.pk != customer.pk
    other, status = services.customer_upsert_by_external_id(tenant=sandbox, actor=actor, source="wodify",
                                                            external_id="42", data={"email": "new@example.com"})
    assert status == "created" and other.pk not in (customer.pk, again.pk)
    assert selectors.customer_search(sandbox, "gone@").count() == 1


def test_delete_hooks_run_in_the_transaction(sandbox, actor):
    seen = []

    def hook(*, tenant, actor, customer):
        seen.append(customer.pk)

    services.register_customer_delete_hook(hook)
    try:
        customer = make_customer(sandbox)
        services.customer_delete(tenant=sandbox, actor=actor, customer_id=customer.pk)
    finally:
        services._delete_hooks.remove(hook)
    assert seen == [customer.pk]


def test_upsert_creates_then_updates_then_is_unchanged(sandbox, actor):
    customer, status = services.customer_upsert_by_external_id(
        tenant=sandbox, actor=actor, source="PracticeHub", external_id="p-1",
        data={"email": "pat@example.com", "name": "Pat"})
    assert status == "created"
    assert CustomerExternalId.objects.get(customer=customer).source == "practicehub"
    again, status = services.customer_upsert_by_external_id(
        tenant=sandbox, actor=actor, source="practicehub", external_id="p-1", data={"name": "Pat Jones"})
    assert (again.pk, status, again.name, again.email) == (customer.pk, "updated", "Pat Jones", "pat@example.com")
    _, status = services.customer_upsert_by_external_id(
        tenant=sandbox, actor=actor, source="practicehub", external_id="p-1", data={"name": "Pat Jones"})
    assert status == "unchanged"
    assert [e.type for e in events(sandbox)] == ["customer.updated", "customer.created"]


def test_upsert_needs_an_email_to_create(sandbox, actor):
    with pytest.raises(ValidationFailed) as exc:
        services.customer_upsert_by_external_id(tenant=sandbox, actor=actor, source="wodify", external_id="7",
                                                data={"name": "No Email"})
    assert exc.value.fields == {"email": ["is required to create a customer"]}
    assert not Customer.all_objects.exists()


def test_upsert_links_an_existing_customer_by_email_once_per_source(sandbox, actor):
    existing = make_customer(sandbox, email="kim@example.com", name="Kim")
    linked, status = services.customer_upsert_by_external_id(
        tenant=sandbox, actor=actor, source="wodify", external_id="w-9", data={"email": "KIM@example.com"})
    assert (linked.pk, status) == (existing.pk, "updated")
    [event] = events(sandbox, "customer.updated")
    assert event.previous_attributes == {"external_ids": []}
    assert event.data["external_ids"] == [{"source": "wodify", "external_id": "w-9"}]
    # A second wodify id with the same email cannot take the customer over.
    with pytest.raises(ValidationFailed) as exc:
        services.customer_upsert_by_external_id(tenant=sandbox, actor=actor, source="wodify", external_id="w-10",
                                                data={"email": "kim@example.com"})
    assert "w-9" in exc.value.fields["email"][0]
    # Another source may link the same person.
    _, status = services.customer_upsert_by_external_id(tenant=sandbox, actor=actor, source="practicehub",
                                                        external_id="1", data={"email": "kim@example.com"})
    assert status == "updated"
    assert CustomerExternalId.objects.filter(customer=existing).count() == 2


def test_upsert_refuses_to_move_to_another_customers_email(sandbox, actor):
    make_customer(sandbox, email="a@example.com")
    make_customer(sandbox, email="b@example.com", external_ids=[("crm", "b")])
    with pytest.raises(ValidationFailed) as exc:
        services.customer_upsert_by_external_id(tenant=sandbox, actor=actor, source="crm", external_id="b",
                                                data={"email": "a@example.com"})
    assert list(exc.value.fields) == ["email"]


def test_upsert_ignores_stale_rows(sandbox, actor):
    customer, _ = services.customer_upsert_by_external_id(
        tenant=sandbox, actor=actor, source="crm", external_id="1",
        data={"email": "s@example.com", "name": "New", "external_updated_at": "2026-03-01T10:00:00Z"})
    _, status = services.customer_upsert_by_external_id(
        tenant=sandbox, actor=actor, source="crm", external_id="1",
        data={"name": "Old", "external_updated_at": "2026-02-01T10:00:00Z"})
    assert status == "stale" and Customer.objects.get(pk=customer.pk).name == "New"
    _, status = services.customer_upsert_by_external_id(
        tenant=sandbox, actor=actor, source="crm", external_id="1",
        data={"name": "Newer", "external_updated_at": 1772402400})  # Unix seconds, 2026-03-01T22:00Z
    assert status == "updated" and Customer.objects.get(pk=customer.pk).name == "Newer"


def test_upsert_body_cannot_override_the_url(sandbox, actor):
    with pytest.raises(ValidationFailed) as exc:
        services.customer_upsert_by_external_id(tenant=sandbox, actor=actor, source="crm", external_id="1",
                                                data={"email": "x@example.com", "externalId": "2"})
    assert exc.value.fields == {"external_id": ["is set by the URL"]}


def test_customer_timeline_lists_the_customers_events_newest_first(sandbox, actor):
    customer = make_customer(sandbox)
    other = make_customer(sandbox)
    services.customer_update(tenant=sandbox, actor=actor, customer_id=customer.pk, data={"name": "Later"})
    timeline = list(selectors.customer_timeline(sandbox, customer))
    assert [e.type for e in timeline] == ["customer.updated", "customer.created"]
    assert all(e.object_id == customer.pk for e in timeline) and other.pk not in {e.object_id for e in timeline}


def test_customer_search_matches_name_email_external_id_and_id(sandbox):
    ada = make_customer(sandbox, name="Ada Lovelace", email="ada@engine.org", external_ids=[("crm", "ZX-991")])
    make_customer(sandbox, name="Charles Babbage", email="cb@engine.org")
    assert [c.pk for c in selectors.customer_search(sandbox, "lovel")] == [ada.pk]
    assert [c.pk for c in selectors.customer_search(sandbox, "ADA@ENG")] == [ada.pk]
    assert [c.pk for c in selectors.customer_search(sandbox, "zx-99")] == [ada.pk]
    assert [c.pk for c in selectors.customer_search(sandbox, ada.pk)] == [ada.pk]
    assert selectors.customer_search(sandbox, "engine.org").count() == 2
    assert selectors.customer_search(sandbox, "").count() == 2

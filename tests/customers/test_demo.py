"""The demo customers: loaded by `manage.py load_demo` through the services, and a second run writes nothing."""
from io import StringIO

from django.core.management import call_command

from apps.accounts.models import Merchant
from apps.core.models import Event
from apps.customers.demo import CUSTOMERS
from apps.customers.models import Customer, CustomerExternalId


def _load() -> str:
    out = StringIO()
    call_command("load_demo", stdout=out)
    return out.getvalue()


def _customer_rows() -> list[tuple]:
    return sorted(Customer.all_objects.values_list("id", "email", "name", "updated_at", "deleted_at"))


def test_demo_customers_exist_after_load_demo_and_a_second_run_writes_nothing(db):
    text = _load()
    merchant = Merchant.objects.get(name="Northwind Coffee Roasters")
    customers = Customer.objects.filter(merchant=merchant, livemode=False)
    assert customers.count() == len(CUSTOMERS) == 40
    assert "Customers (sandbox): 40, 40 added now" in text

    # A realistic mix: UK, EU and US; businesses with tax ids; some imported from Shopify and HubSpot.
    countries = {c.billing_address["country"] for c in customers if c.billing_address}
    assert {"GB", "DE", "FR", "NL", "IE", "US"} <= countries
    assert {t["type"] for c in customers for t in c.tax_ids} == {"gb_vat", "eu_vat", "us_ein"}
    assert set(CustomerExternalId.objects.filter(merchant=merchant).values_list("source", flat=True)) == {
        "shopify", "hubspot"}
    hearth = customers.get(email="orders@hearthbakery.example")
    assert hearth.company_name == "Hearth Bakery Ltd" and hearth.tax_ids == [{"type": "gb_vat", "value": "GB284771093"}]
    # Written through the services: each has its customer.created event.
    assert Event.objects.filter(merchant=merchant, type="customer.created").count() == 40

    rows, ids = _customer_rows(), sorted(CustomerExternalId.objects.values_list("id", "external_updated_at"))
    customer_events = Event.objects.filter(type__startswith="customer.").count()
    text = _load()
    assert _customer_rows() == rows
    assert sorted(CustomerExternalId.objects.values_list("id", "external_updated_at")) == ids
    assert Event.objects.filter(type__startswith="customer.").count() == customer_events
    assert "Customers (sandbox): 40 —" in text


def test_a_customer_edited_in_the_dashboard_keeps_the_edit(db):
    from apps.core.actors import Actor
    from apps.core.tenancy import Tenant
    from apps.customers import services

    _load()
    merchant = Merchant.objects.get(name="Northwind Coffee Roasters")
    tenant = Tenant(merchant, livemode=False)
    shopify = Customer.objects.get(email="charlotte.evans@example.org")
    plain = Customer.objects.get(email="olivia.bennett@example.com")
    for customer in (shopify, plain):
        services.customer_update(tenant=tenant, actor=Actor.system(), customer_id=customer.pk,
                                 data={"name": "Renamed by the merchant"})
    _load()
    assert Customer.objects.filter(name="Renamed by the merchant").count() == 2
    assert Customer.objects.filter(merchant=merchant).count() == 40

"""Create, edit and delete customers from the dashboard: through the services, with errors next to
the fields, nothing written on bad input, and permissions / tenancy enforced."""
import re

import pytest
from django.urls import reverse

from apps.core.models import Event
from apps.core.tenancy import Tenant
from apps.customers.models import Customer
from tests.customers.helpers import form_data
from tests.factories import make_customer

CREATE = reverse("dashboard:customers_create")


def edit_url(customer):
    return reverse("dashboard:customers_edit", args=[customer.pk])


def customer_events(tenant):
    return Event.objects.filter(merchant=tenant.merchant, livemode=tenant.livemode, type__startswith="customer.")


def test_the_create_page_renders(owner_client):
    response = owner_client.get(CREATE)
    assert response.status_code == 200
    page = response.content.decode()
    for text in ('name="email"', 'name="billing_country"', 'name="shipping_same"', 'name="tax-0-type"',
                 'name="metadata"', 'name="locale"', 'name="currency"', "Create customer"):
        assert text in page, text
    assert re.search(r'<input type="checkbox" name="shipping_same"[^>]* checked', page)  # ticked for a new customer


def test_create_with_everything_goes_through_the_service(owner_client, owner, shop_sandbox):
    response = owner_client.post(CREATE, form_data(
        email=" Ada@Engine.Example ", name="Ada Lovelace", company_name="Analytical Engines Ltd", phone="+44 20 7946 0001",
        locale="en_GB", currency="gbp", billing_line1="12 St James's Square", billing_city="London",
        billing_postal_code="SW1Y 4LB", billing_country="GB", metadata="segment=wholesale\n\n tier = gold ",
        tax_ids=[("gb_vat", "GB123456789")]))
    customer = Customer.objects.get()
    assert response.status_code == 302 and response.url == reverse("dashboard:customers_detail", args=[customer.pk])
    assert (customer.email, customer.name, customer.locale, customer.currency) == (
        "ada@engine.example", "Ada Lovelace", "en-GB", "GBP")
    assert customer.billing_address == {"line1": "12 St James's Square", "line2": None, "city": "London", "state": None,
                                        "postal_code": "SW1Y 4LB", "country": "GB"}
    assert customer.shipping_address == customer.billing_address  # "same as billing" was ticked
    assert customer.tax_ids == [{"type": "gb_vat", "value": "GB123456789"}]
    assert customer.metadata == {"segment": "wholesale", "tier": "gold"}
    event = customer_events(shop_sandbox).get()
    assert (event.type, event.actor_type, event.actor_label) == ("customer.created", "user", owner.user.email)
    page = owner_client.get(response.url).content.decode()
    assert "Customer Ada Lovelace &lt;ada@engine.example&gt; created." in page


def test_a_separate_shipping_address(owner_client):
    owner_client.post(CREATE, form_data(email="ship@example.com", shipping_same=False, billing_country="GB",
                                        shipping_line1="1 Dock Road", shipping_city="Hull", shipping_country="GB"))
    customer = Customer.objects.get()
    assert customer.billing_address["country"] == "GB" and customer.billing_address["line1"] is None
    assert customer.shipping_address["line1"] == "1 Dock Road"


@pytest.mark.parametrize("fields, field, message", [
    ({"email": "not-an-email"}, "email", "Email must be a valid email address."),
    ({"email": ""}, "email", "This field is required."),
    ({"email": "x@example.com", "billing_country": "XX"}, "billing_country", "'XX' is not an ISO 3166-1 country code."),
    ({"email": "x@example.com", "currency": "ABC"}, "currency", "Preferred currency must be an ISO 4217 currency code"),
    ({"email": "x@example.com", "phone": "call me"}, "phone", "Phone must be a phone number"),
    ({"email": "x@example.com", "locale": "xx-nonsense"}, "locale", "Language must be a locale such as en-GB."),
    ({"email": "x@example.com", "metadata": "no equals sign"}, "metadata", "Line 1 is not key=value."),
    ({"email": "x@example.com", "metadata": "bad.key=1"}, "metadata", "keys must be 1–40 characters"),
])
def test_bad_input_rerenders_with_a_field_error_and_writes_nothing(owner_client, shop_sandbox, fields, field, message):
    response = owner_client.post(CREATE, form_data(**fields))
    assert response.status_code == 200
    form = response.context["form"]
    assert any(message in error for error in form.errors[field]), form.errors
    assert message.replace("'", "&#x27;") in response.content.decode() or message in response.content.decode()
    assert not Customer.all_objects.exists() and not customer_events(shop_sandbox).exists()


def test_shipping_errors_show_under_shipping_when_it_is_separate(owner_client):
    response = owner_client.post(CREATE, form_data(email="x@example.com", shipping_same=False, shipping_country="ZZZ"))
    assert "Country must be a two-letter ISO 3166-1 country code, e.g. GB." in response.context["form"].errors[
        "shipping_country"]
    assert not Customer.objects.exists()


def test_tax_id_errors_land_on_their_row(owner_client):
    response = owner_client.post(CREATE, form_data(email="x@example.com", tax_ids=[("gb_vat", "GB1"), ("Bad Type!", "1")]))
    rows = response.context["form"].tax_ids.forms
    assert rows[0].errors == {}
    assert rows[1].errors["type"] == ["Type must be a tax id type such as eu_vat, gb_vat, us_ein or other."]
    assert not Customer.objects.exists()


def test_a_duplicate_email_is_an_error_on_email(owner_client, shop_sandbox):
    taken = make_customer(shop_sandbox, email="taken@example.com")
    response = owner_client.post(CREATE, form_data(email="TAKEN@example.com", name="Someone else"))
    assert response.status_code == 200
    assert response.context["form"].errors["email"] == [f"Email is already used by customer {taken.pk}."]
    assert Customer.objects.count() == 1


def test_an_email_used_in_the_other_mode_or_by_a_deleted_customer_is_free(owner_client, shop_sandbox, shop_live):
    make_customer(shop_live, email="both@example.com")
    gone = make_customer(shop_sandbox, email="gone@example.com")
    from apps.core.actors import Actor
    from apps.customers import services

    services.customer_delete(tenant=shop_sandbox, actor=Actor.system(), customer_id=gone.pk)
    for email in ("both@example.com", "gone@example.com"):
        assert owner_client.post(CREATE, form_data(email=email)).status_code == 302


def test_edit_shows_the_customer_and_saves_changes(owner_client, shop_sandbox):
    customer = make_customer(shop_sandbox, email="old@example.com", name="Old Name", metadata={"keep": "1", "drop": "2"},
                             billing_address={"line1": "1 Road", "city": "York", "country": "GB"},
                             tax_ids=[{"type": "gb_vat", "value": "GB1"}], external_ids=[("shopify", "SHP-9")])
    page = owner_client.get(edit_url(customer)).content.decode()
    assert 'value="old@example.com"' in page and 'value="GB1"' in page and "drop=2\nkeep=1" in page
    assert "SHP-9" in page and 'data-testid="external-ids"' in page  # shown, not editable
    assert 'name="external_id' not in page

    response = owner_client.post(edit_url(customer), form_data(
        email="new@example.com", name="New Name", billing_line1="1 Road", billing_city="York", billing_country="GB",
        shipping_same=False, metadata="keep=1\nadded=3", tax_ids=[("gb_vat", "GB1"), ("eu_vat", "DE123")]))
    assert response.status_code == 302
    customer.refresh_from_db()
    assert (customer.email, customer.name) == ("new@example.com", "New Name")
    assert customer.metadata == {"keep": "1", "added": "3"}  # the removed line removed the key
    assert customer.tax_ids == [{"type": "gb_vat", "value": "GB1"}, {"type": "eu_vat", "value": "DE123"}]
    assert customer.shipping_address is None
    assert customer.external_ids.filter(deleted_at__isnull=True).count() == 1  # untouched
    event = customer_events(shop_sandbox).filter(type="customer.updated").order_by("-created_at", "-pk").first()
    assert event.actor_type == "user" and set(event.previous_attributes) == {"email", "name", "metadata", "tax_ids"}
    assert "Customer saved." in owner_client.get(response.url).content.decode()


def test_saving_an_unchanged_form_writes_nothing(owner_client, shop_sandbox):
    customer = make_customer(shop_sandbox, email="same@example.com", name="Same",
                             billing_address={"line1": "1 Road", "country": "GB"})
    response = owner_client.get(edit_url(customer))
    form = response.context["form"]
    data = form_data(**{name: value for name, value in form.initial.items() if name not in ("shipping_same",)},
                     shipping_same=form.initial["shipping_same"])
    response = owner_client.post(edit_url(customer), data, follow=True)
    assert "No changes to save." in response.content.decode()
    assert not customer_events(shop_sandbox).filter(type="customer.updated").exists()


def test_edit_to_a_taken_email_is_an_error_and_changes_nothing(owner_client, shop_sandbox):
    make_customer(shop_sandbox, email="taken@example.com")
    customer = make_customer(shop_sandbox, email="mine@example.com", name="Mine")
    response = owner_client.post(edit_url(customer), form_data(email="taken@example.com", name="Changed"))
    assert response.status_code == 200 and "email" in response.context["form"].errors
    customer.refresh_from_db()
    assert (customer.email, customer.name) == ("mine@example.com", "Mine")


def test_delete_is_a_soft_delete_back_to_the_list_with_a_message(owner_client, shop_sandbox):
    customer = make_customer(shop_sandbox, email="bye@example.com", name="Bye")
    detail = owner_client.get(reverse("dashboard:customers_detail", args=[customer.pk])).content.decode()
    assert 'data-confirm="Delete Bye?' in detail
    response = owner_client.post(reverse("dashboard:customers_delete", args=[customer.pk]), follow=True)
    assert response.redirect_chain[-1][0] == reverse("dashboard:customers")
    assert "Customer Bye &lt;bye@example.com&gt; deleted." in response.content.decode()
    assert Customer.all_objects.get(pk=customer.pk).deleted_at is not None
    assert customer_events(shop_sandbox).filter(type="customer.deleted").count() == 1
    assert owner_client.get(reverse("dashboard:customers_detail", args=[customer.pk])).status_code == 404


def test_delete_is_post_only(owner_client, shop_sandbox):
    customer = make_customer(shop_sandbox)
    assert owner_client.get(reverse("dashboard:customers_delete", args=[customer.pk])).status_code == 405
    assert Customer.objects.filter(pk=customer.pk).exists()


@pytest.mark.parametrize("role", ["viewer"])
def test_a_viewer_cannot_create_edit_or_delete(client, member_client, shop_sandbox, role):
    customer = make_customer(shop_sandbox, email="keep@example.com")
    member_client(role)
    assert client.get(CREATE).status_code == 403
    assert client.post(CREATE, form_data(email="new@example.com")).status_code == 403
    assert client.get(edit_url(customer)).status_code == 403
    assert client.post(edit_url(customer), form_data(email="changed@example.com")).status_code == 403
    assert client.post(reverse("dashboard:customers_delete", args=[customer.pk])).status_code == 403
    detail = client.get(reverse("dashboard:customers_detail", args=[customer.pk]))
    assert detail.status_code == 200
    assert 'data-testid="edit-customer"' not in detail.content.decode()
    assert 'data-testid="delete-customer"' not in detail.content.decode()
    customer.refresh_from_db()
    assert customer.email == "keep@example.com" and customer.deleted_at is None
    assert Customer.objects.count() == 1


@pytest.mark.parametrize("role", ["member", "support", "manager", "admin"])
def test_roles_that_manage_customers_can_create(client, member_client, role):
    member_client(role)
    assert client.post(CREATE, form_data(email=f"{role}@example.com")).status_code == 302


def test_another_merchants_or_modes_customer_is_a_404(owner_client, shop_live, other_tenant):
    foreign = make_customer(Tenant(other_tenant.merchant, False), email="foreign@example.com")
    live = make_customer(shop_live, email="live@example.com")
    for customer in (foreign, live):
        for name in ("customers_detail", "customers_edit", "customers_timeline"):
            assert owner_client.get(reverse(f"dashboard:{name}", args=[customer.pk])).status_code == 404, name
        assert owner_client.post(reverse("dashboard:customers_delete", args=[customer.pk])).status_code == 404
        assert owner_client.post(edit_url(customer), form_data(email="hijack@example.com")).status_code == 404
    assert owner_client.get(reverse("dashboard:customers_detail", args=["not-an-id"])).status_code == 404
    foreign.refresh_from_db()
    live.refresh_from_db()
    assert foreign.deleted_at is None and live.deleted_at is None and foreign.email == "foreign@example.com"


def test_in_live_mode_the_live_customer_is_there_and_the_sandbox_one_is_not(owner_client, shop_sandbox, shop_live):
    sandbox_customer = make_customer(shop_sandbox, email="sb@example.com")
    live_customer = make_customer(shop_live, email="lv@example.com")
    owner_client.post(reverse("dashboard:mode_switch"), {"mode": "live"})
    assert owner_client.get(reverse("dashboard:customers_detail", args=[live_customer.pk])).status_code == 200
    assert owner_client.get(reverse("dashboard:customers_detail", args=[sandbox_customer.pk])).status_code == 404
    owner_client.post(CREATE, form_data(email="new-live@example.com"))
    assert Customer.objects.get(email="new-live@example.com").livemode is True

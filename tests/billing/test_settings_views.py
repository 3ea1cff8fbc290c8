"""Dashboard settings pages of billing: invoice settings (form, validation errors, live number example,
owners/admins only) and tax rates (list, create, inline edit and archive with htmx, tenancy, queries)."""
from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from apps.billing import services
from apps.billing.models import InvoiceSettings, TaxRate
from apps.core.actors import Actor
from apps.core.tenancy import Tenant
from tests.factories import owner_membership

pytestmark = pytest.mark.django_db

FORM = {"number_prefix": "NW", "credit_note_prefix": "NWC", "number_padding": "4", "number_includes_year": "on",
        "days_until_due": "14", "require_approval": "on", "default_memo": "Thanks for your order!",
        "default_footer": "Northwind Coffee Ltd · Company no. 01234567", "payment_instructions": "Sort code 00-00-00",
        "reminder_days_before": "3", "reminder_days_after": "1, 7", "tax_id": "GB123456789",
        "tax_registrations": "FR", "attach_pdf": "on"}


def test_invoice_settings_page_saves_and_shows_the_next_number(owner_client, tenant):
    url = reverse("dashboard:settings_invoices")
    page = owner_client.get(url)
    assert page.status_code == 200
    body = page.content.decode()
    assert 'data-testid="nav-settings-invoices"' in body and 'data-testid="nav-tax-rates"' in body
    assert reverse("dashboard:settings_branding") in body
    year = page.context["next_invoice"].split("-")[1]
    assert page.context["next_invoice"] == f"INV-{year}-00001" and page.context["next_credit_note"] == f"CN-{year}-00001"

    response = owner_client.post(url, FORM)
    assert response.status_code == 302
    settings = InvoiceSettings.objects.get(merchant=tenant.merchant)
    assert (settings.number_prefix, settings.credit_note_prefix, settings.number_padding) == ("NW", "NWC", 4)
    assert settings.require_approval and settings.days_until_due == 14 and settings.attach_pdf
    assert settings.reminder_days_after == [1, 7] and settings.tax_registrations == ["FR"]
    assert owner_client.get(url).context["next_invoice"] == f"NW-{year}-0001"


def test_invoice_settings_errors_are_shown_and_nothing_is_saved(owner_client, tenant):
    url = reverse("dashboard:settings_invoices")
    bad = owner_client.post(url, FORM | {"number_prefix": "N W", "reminder_days_after": "0, 999",
                                         "tax_registrations": "Narnia"})
    assert bad.status_code == 200
    assert {"number_prefix", "reminder_days_after", "tax_registrations"} <= set(bad.context["form"].errors)
    assert not InvoiceSettings.objects.filter(merchant=tenant.merchant, number_prefix="N W").exists()
    assert services.invoice_settings_for(tenant.merchant).number_prefix == "INV"


def test_live_number_example_follows_what_is_typed(owner_client):
    url = reverse("dashboard:settings_invoices_preview")
    response = owner_client.get(url, {"number_prefix": "abc", "number_padding": "3", "credit_note_prefix": "CR"},
                                HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert "<html" not in body and 'data-testid="number-preview"' in body
    assert ">ABC-001<" in body and ">CR-001<" in body


@pytest.mark.parametrize("role", ["manager", "support", "member", "viewer"])
def test_only_owners_and_admins_reach_billing_settings(login_as, tenant, role):
    client = login_as(role)
    assert client.get(reverse("dashboard:settings_invoices")).status_code == 403
    assert client.post(reverse("dashboard:settings_invoices"), FORM).status_code == 403
    assert client.get(reverse("dashboard:tax_rates")).status_code == 403
    assert client.post(reverse("dashboard:tax_rates"), {"name": "VAT", "percentage": "20",
                                                        "country": "GB"}).status_code == 403
    assert services.invoice_settings_for(tenant.merchant).number_prefix == "INV" and not TaxRate.objects.exists()


def test_admin_may_change_settings(login_as, tenant):
    client = login_as("admin")
    assert client.post(reverse("dashboard:settings_invoices"), FORM).status_code == 302


def test_tax_rates_create_edit_archive(owner_client, tenant):
    url = reverse("dashboard:tax_rates")
    page = owner_client.get(url)
    assert page.status_code == 200 and b'data-testid="reverse-charge-explainer"' in page.content
    assert b"reverse-charge" in page.content and b"tax-rates-empty" in page.content

    created = owner_client.post(url, {"name": "VAT", "percentage": "20", "country": "gb"}, HTTP_HX_REQUEST="true")
    assert created.status_code == 200 and b"<html" not in created.content
    rate = TaxRate.objects.get()
    assert (rate.country, rate.percentage, rate.livemode) == ("GB", Decimal("20"), False)
    assert f'data-rate-id="{rate.pk}"' in created.content.decode() and "20%" in created.content.decode()

    bad = owner_client.post(url, {"name": "VAT", "percentage": "120", "country": "GB"}, HTTP_HX_REQUEST="true")
    assert bad.status_code == 200 and b"between 0 and 100" in bad.content and TaxRate.objects.count() == 1

    edit_url = reverse("dashboard:tax_rate_edit", args=[rate.pk])
    form = owner_client.get(edit_url, HTTP_HX_REQUEST="true")
    assert b'data-testid="tax-rate-edit-form"' in form.content and b"<html" not in form.content
    saved = owner_client.post(edit_url, {"name": "VAT reduced", "percentage": "5", "country": "GB"},
                              HTTP_HX_REQUEST="true")
    assert saved.status_code == 200 and b"VAT reduced" in saved.content and b"tax-rate-edit-form" not in saved.content
    rate.refresh_from_db()
    assert rate.percentage == 5 and rate.name == "VAT reduced"
    invalid = owner_client.post(edit_url, {"name": "", "percentage": "5", "country": "GB"}, HTTP_HX_REQUEST="true")
    assert b"tax-rate-edit-form" in invalid.content and b"field-error" in invalid.content

    archived = owner_client.post(reverse("dashboard:tax_rate_archive", args=[rate.pk]), HTTP_HX_REQUEST="true")
    assert archived.status_code == 200 and b'data-testid="tax-rate-archived"' in archived.content
    assert TaxRate.objects.get(pk=rate.pk).active is False
    assert owner_client.get(url).context["rates"] == [] and owner_client.get(url).context["archived_count"] == 1
    assert [r.pk for r in owner_client.get(url, {"archived": "1"}).context["rates"]] == [rate.pk]


def test_tax_rates_without_htmx_redirect(owner_client):
    url = reverse("dashboard:tax_rates")
    assert owner_client.post(url, {"name": "VAT", "percentage": "20", "country": "GB"}).status_code == 302
    rate = TaxRate.objects.get()
    assert owner_client.get(reverse("dashboard:tax_rate_edit", args=[rate.pk])).status_code == 200
    assert owner_client.post(reverse("dashboard:tax_rate_edit", args=[rate.pk]),
                             {"name": "GST", "percentage": "10", "country": "AU"}).status_code == 302
    assert owner_client.post(reverse("dashboard:tax_rate_archive", args=[rate.pk])).status_code == 302
    assert owner_client.get(reverse("dashboard:tax_rate_archive", args=[rate.pk])).status_code == 405


def test_another_merchants_or_modes_rate_is_404(client, tenant, other_tenant):
    rate = services.tax_rate_create(tenant=Tenant(tenant.merchant, livemode=False), actor=Actor.system("t"),
                                    name="VAT", percentage="20", country="GB")
    client.force_login(owner_membership(other_tenant.merchant).user)
    for name in ("tax_rate_row", "tax_rate_edit"):
        assert client.get(reverse(f"dashboard:{name}", args=[rate.pk])).status_code == 404
    assert client.post(reverse("dashboard:tax_rate_archive", args=[rate.pk])).status_code == 404
    assert TaxRate.objects.get(pk=rate.pk).active


def test_tax_rates_list_runs_constant_queries(owner_client, tenant, django_assert_max_num_queries):
    sandbox = Tenant(tenant.merchant, livemode=False)
    url = reverse("dashboard:tax_rates")
    services.tax_rate_create(tenant=sandbox, actor=Actor.system("t"), name="VAT", percentage="20", country="GB")
    owner_client.get(url)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as one:
        owner_client.get(url)
    for i in range(8):
        services.tax_rate_create(tenant=sandbox, actor=Actor.system("t"), name=f"Tax {i}", percentage=str(i),
                                 country="US", region=f"S{i}")
    with django_assert_max_num_queries(len(one.captured_queries)):
        response = owner_client.get(url)
    assert len(response.context["rates"]) == 9

"""Tax rate services: validation of every field, events, archive instead of delete, and the rule that a rate
an issued invoice used keeps its tax-relevant fields for ever."""
from __future__ import annotations

from decimal import Decimal

import pytest

from apps.billing import services
from apps.billing.models import TaxRate
from apps.core.errors import BusinessRuleViolation, NotFound, ValidationFailed
from apps.core.models import Event
from apps.core.tenancy import Tenant
from tests.factories import make_customer

pytestmark = pytest.mark.django_db


def _vat(sandbox, actor, **extra):
    fields = {"name": "VAT", "percentage": "20", "country": "gb"} | extra
    return services.tax_rate_create(tenant=sandbox, actor=actor, **fields)


def test_create_normalises_and_emits_an_event(sandbox, actor):
    rate = _vat(sandbox, actor, region="", inclusive=True, description="UK standard rate")
    assert rate.pk.startswith("txr_") and rate.livemode is False
    assert rate.country == "GB" and rate.percentage == Decimal("20.0000") and rate.inclusive and rate.active
    event = Event.objects.get(type="tax_rate.created")
    assert event.object_id == rate.pk and event.data["percentage"] == "20" and event.data["inclusive"] is True


@pytest.mark.parametrize("fields, bad", [
    ({"percentage": "100.5"}, "percentage"),
    ({"percentage": "-1"}, "percentage"),
    ({"percentage": "7.12345"}, "percentage"),
    ({"percentage": "abc"}, "percentage"),
    ({"percentage": "NaN"}, "percentage"),
    ({"percentage": None}, "percentage"),
    ({"name": "  "}, "name"),
    ({"name": "x" * 61}, "name"),
    ({"country": "XX"}, "country"),
    ({"country": "GBR"}, "country"),
    ({"country": ""}, "country"),
    ({"region": "not a region!"}, "region"),
    ({"inclusive": "yes"}, "inclusive"),
])
def test_create_rejects_bad_input_and_writes_nothing(sandbox, actor, fields, bad):
    with pytest.raises(ValidationFailed) as exc:
        _vat(sandbox, actor, **fields)
    assert bad in exc.value.fields
    assert not TaxRate.objects.exists() and not Event.objects.filter(type__startswith="tax_rate.").exists()


def test_four_decimals_and_the_bounds_are_accepted(sandbox, actor):
    assert _vat(sandbox, actor, percentage="8.8750", country="US", region="ny").percentage == Decimal("8.875")
    assert _vat(sandbox, actor, percentage="0").percentage == 0
    assert _vat(sandbox, actor, percentage=Decimal("100")).percentage == 100
    assert _vat(sandbox, actor, percentage=" 17.5 %").percentage == Decimal("17.5")


def test_update_changes_fields_and_records_what_changed(sandbox, actor):
    rate = _vat(sandbox, actor)
    rate = services.tax_rate_update(tenant=sandbox, actor=actor, tax_rate=rate,
                                    changes={"percentage": "5", "name": "VAT (reduced)"})
    assert rate.percentage == 5 and rate.name == "VAT (reduced)"
    event = Event.objects.get(type="tax_rate.updated")
    assert event.previous_attributes == {"percentage": "20", "name": "VAT"}
    # No change, no event.
    services.tax_rate_update(tenant=sandbox, actor=actor, tax_rate=rate, changes={"percentage": "5.0"})
    assert Event.objects.filter(type="tax_rate.updated").count() == 1
    with pytest.raises(ValidationFailed):
        services.tax_rate_update(tenant=sandbox, actor=actor, tax_rate=rate, changes={"colour": "blue"})


def _issue_with(sandbox, actor, rate):
    customer = make_customer(sandbox, name="Ada", currency="GBP",
                             billing_address={"line1": "1 High St", "city": "London", "country": "GB"})
    invoice = services.invoice_create(tenant=sandbox, actor=actor, customer=customer, lines=[
        services.LineInput(description="Beans", unit_amount_minor=1000, tax_rate=rate)])
    return services.invoice_finalize(tenant=sandbox, actor=actor, invoice=invoice)


def test_a_rate_on_issued_invoices_keeps_its_tax_fields_and_is_archived_not_deleted(sandbox, actor):
    rate = _vat(sandbox, actor)
    invoice = _issue_with(sandbox, actor, rate)
    assert invoice.tax_minor == 200
    with pytest.raises(BusinessRuleViolation) as exc:
        services.tax_rate_update(tenant=sandbox, actor=actor, tax_rate=rate, changes={"percentage": "17.5"})
    assert exc.value.code == "tax_rate_in_use"
    renamed = services.tax_rate_update(tenant=sandbox, actor=actor, tax_rate=rate, changes={"name": "UK VAT"})
    assert renamed.name == "UK VAT" and renamed.percentage == 20

    archived = services.tax_rate_archive(tenant=sandbox, actor=actor, tax_rate=rate)
    assert archived.active is False and TaxRate.objects.filter(pk=rate.pk).exists()
    assert invoice.lines.get().tax_rate_id == rate.pk
    assert Event.objects.filter(type="tax_rate.archived", object_id=rate.pk).count() == 1
    services.tax_rate_archive(tenant=sandbox, actor=actor, tax_rate=archived)  # idempotent
    assert Event.objects.filter(type="tax_rate.archived").count() == 1
    with pytest.raises(BusinessRuleViolation):
        services.tax_rate_update(tenant=sandbox, actor=actor, tax_rate=archived, changes={"name": "Old VAT"})
    # New lines cannot take it any more.
    customer = make_customer(sandbox, currency="GBP")
    with pytest.raises(ValidationFailed):
        services.invoice_create(tenant=sandbox, actor=actor, customer=customer, lines=[
            services.LineInput(description="Beans", unit_amount_minor=1000, tax_rate=archived)])


def test_a_rate_only_on_drafts_may_still_change(sandbox, actor):
    rate = _vat(sandbox, actor)
    customer = make_customer(sandbox, currency="GBP")
    services.invoice_create(tenant=sandbox, actor=actor, customer=customer, lines=[
        services.LineInput(description="Beans", unit_amount_minor=1000, tax_rate=rate)])
    assert services.tax_rate_update(tenant=sandbox, actor=actor, tax_rate=rate,
                                    changes={"percentage": "5"}).percentage == 5


def test_another_tenants_rate_is_not_found(sandbox, actor, other_tenant):
    rate = _vat(sandbox, actor)
    live = Tenant(sandbox.merchant, livemode=True)
    for tenant in (Tenant(other_tenant.merchant, livemode=False), live):
        with pytest.raises(NotFound):
            services.tax_rate_update(tenant=tenant, actor=actor, tax_rate=rate, changes={"name": "X"})
        with pytest.raises(NotFound):
            services.tax_rate_archive(tenant=tenant, actor=actor, tax_rate=rate)
    assert TaxRate.objects.get(pk=rate.pk).active


def test_invoice_settings_update_validates_everything_or_writes_nothing(sandbox, actor):
    settings = services.invoice_settings_for(sandbox.merchant)
    with pytest.raises(ValidationFailed) as exc:
        services.invoice_settings_update(tenant=sandbox, actor=actor, changes={
            "number_prefix": "IN V", "number_padding": 0, "days_until_due": 400, "reminder_days_after": "1, x",
            "tax_registrations": "FR, ZZ", "require_approval": "yes", "bogus": 1})
    assert set(exc.value.fields) == {"number_prefix", "number_padding", "days_until_due", "reminder_days_after",
                                     "tax_registrations", "require_approval", "bogus"}
    with pytest.raises(ValidationFailed) as exc:
        services.invoice_settings_update(tenant=sandbox, actor=actor, changes={"credit_note_prefix": "inv"})
    assert "credit_note_prefix" in exc.value.fields
    settings.refresh_from_db()
    assert settings.number_prefix == "INV" and not Event.objects.filter(type="invoice_settings.updated").exists()

    settings = services.invoice_settings_update(tenant=sandbox, actor=actor, changes={
        "number_prefix": "nw", "number_padding": 4, "number_includes_year": False, "days_until_due": 14,
        "reminder_days_before": "3", "reminder_days_after": "7, 1, 7", "tax_id": "gb 123 4567 89",
        "tax_registrations": "fr, de", "require_approval": True})
    assert (settings.number_prefix, settings.number_padding, settings.days_until_due) == ("NW", 4, 14)
    assert settings.reminder_days_before == [3] and settings.reminder_days_after == [1, 7]
    assert settings.tax_id == "GB123456789" and settings.tax_registrations == ["FR", "DE"]
    event = Event.objects.get(type="invoice_settings.updated")
    assert event.previous_attributes["number_prefix"] == "INV" and event.data["days_until_due"] == 14
    assert services.next_number_preview(tenant=sandbox) == "NW-0001"


def test_new_numbering_applies_to_the_next_finalization(sandbox, actor):
    services.invoice_settings_update(tenant=sandbox, actor=actor, changes={"number_prefix": "NW",
                                                                           "number_includes_year": False})
    assert services.next_number_preview(tenant=sandbox) == "NW-00001"
    rate = _vat(sandbox, actor)
    assert _issue_with(sandbox, actor, rate).number == "NW-00001"
    assert services.next_number_preview(tenant=sandbox) == "NW-00002"
    assert services.next_number_preview(tenant=Tenant(sandbox.merchant, livemode=True)) == "NW-00001"

from types import SimpleNamespace

import pytest
from django.contrib import admin
from django.urls import reverse

from apps.accounts.admin import MerchantAdmin
from apps.accounts.models import Merchant
from apps.core.admin_utils import MoneyAdminMixin, format_money, mask_secret, money_display
from tests.factories import make_merchant


@pytest.mark.parametrize(("amount", "currency", "expected"), [
    (10, "GBP", "£0.10"),
    (123450, "usd", "$1,234.50"),
    (1235, "JPY", "¥1,235"),
    (1235, "KWD", "KWD1.235"),  # what Money.format gives (its docstring says "KWD 1.235")
    (-500, "EUR", "-€5.00"),
])
def test_format_money(amount, currency, expected):
    assert format_money(amount, currency) == expected


@pytest.mark.parametrize(("amount", "currency"), [(None, "GBP"), (10, ""), (10, None), (10, "XXY")])
def test_format_money_shows_nothing_for_missing_or_bad_parts(amount, currency):
    assert format_money(amount, currency) is None


def test_money_display_callable_for_list_display():
    column = money_display("amount_minor")
    assert column(SimpleNamespace(amount_minor=1999, currency="GBP")) == "£19.99"
    assert column.short_description == "Amount"
    assert column.admin_order_field == "amount_minor"
    other = money_display("fee_minor", currency_field="settlement_currency", description="Fee")
    assert other(SimpleNamespace(fee_minor=5, settlement_currency="JPY")) == "¥5"
    assert other.short_description == "Fee"


def test_mixin_adds_a_money_method_per_declared_field():
    class InvoiceAdmin(MoneyAdminMixin, admin.ModelAdmin):
        money_fields = ["total_minor", ("fee_minor", "settlement_currency", "Our fee")]

    instance = InvoiceAdmin(Merchant, admin.AdminSite())
    row = SimpleNamespace(total_minor=150000, currency="USD", fee_minor=10, settlement_currency="GBP")
    assert instance.total_minor_money(row) == "$1,500.00"
    assert instance.fee_minor_money(row) == "£0.10"
    assert InvoiceAdmin.fee_minor_money.short_description == "Our fee"
    assert InvoiceAdmin.total_minor_money.admin_order_field == "total_minor"


def test_mixin_rejects_a_malformed_entry():
    with pytest.raises(ValueError):
        class Broken(MoneyAdminMixin, admin.ModelAdmin):  # noqa: F841
            money_fields = [("a", "b", "c", "d")]


def test_merchant_platform_fee_is_formatted_in_the_settlement_currency(db):
    merchant = make_merchant(name="Fee Shop")  # GBP, platform fee 1.70% + 10 minor units
    model_admin = admin.site._registry[Merchant]
    assert isinstance(model_admin, MerchantAdmin)
    assert model_admin.platform_fee_fixed_minor_money(merchant) == "£0.10"
    assert model_admin.platform_fee(merchant) == "1.70% + £0.10"
    assert "platform_fee_fixed_minor_money" in model_admin.readonly_fields


def test_merchant_admin_pages_show_the_formatted_fee_read_only(admin_client):
    merchant = make_merchant(name="Yen Shop", settlement_currency="JPY")
    Merchant.objects.filter(pk=merchant.pk).update(platform_fee_fixed_minor=30)
    page = admin_client.get(reverse("admin:accounts_merchant_change", args=[merchant.pk])).content.decode()
    assert "¥30" in page
    assert 'name="platform_fee_fixed_minor"' not in page  # shown, never an input
    listing = admin_client.get(reverse("admin:accounts_merchant_changelist")).content.decode()
    assert "1.70% + ¥30" in listing


def test_mask_secret():
    assert mask_secret("sim_security_key_sandbox") == "••••••••dbox"
    assert mask_secret("short") == "••••••••"
    assert mask_secret("") == "-"

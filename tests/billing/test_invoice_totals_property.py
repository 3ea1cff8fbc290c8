"""Hypothesis properties of an invoice's totals (services.compute_totals, the code that bills and that the
builder previews with): whatever the lines, rates (exclusive and inclusive), exempt lines, negative
adjustments and discount, every minor unit is accounted for and no line's tax is off by more than one."""
from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.billing import services
from apps.billing.models import TaxRate
from tests.factories import make_customer, make_discount

pytestmark = pytest.mark.django_db

line_strategy = st.tuples(st.integers(-5_000, 50_000), st.integers(1, 5),
                          st.sampled_from(["standard", "inclusive", "reduced", "exempt"]))


@pytest.fixture
def rates(sandbox):
    def rate(name, percentage, inclusive=False):
        return TaxRate.objects.create(merchant=sandbox.merchant, livemode=False, name=name, inclusive=inclusive,
                                      percentage=Decimal(percentage), country=sandbox.merchant.country)

    return {"standard": rate("VAT", "20"), "inclusive": rate("VAT incl.", "20", inclusive=True),
            "reduced": rate("VAT reduced", "5.5"), "exempt": None}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(specs=st.lists(line_strategy, min_size=1, max_size=8), percent_off=st.sampled_from([None, 5, 10, 33, 50]))
def test_every_minor_unit_is_accounted_for(sandbox, rates, specs, percent_off):
    customer = make_customer(sandbox, currency="GBP")
    discount = make_discount(sandbox, percent_off=Decimal(percent_off)) if percent_off else None
    lines = [SimpleNamespace(amount_minor=unit * quantity, tax_rate=rates[kind], tax_exempt=kind == "exempt")
             for unit, quantity, kind in specs]
    totals = services.compute_totals(tenant=sandbox, customer=customer, currency="GBP", lines=lines,
                                     discount=discount)

    positive = sum(max(line.amount_minor, 0) for line in lines)
    assert totals.subtotal == sum(line.amount_minor for line in lines)
    assert sum(totals.line_discounts) == totals.discount <= positive
    assert all(0 <= d <= max(line.amount_minor, 0) for d, line in zip(totals.line_discounts, lines, strict=True))
    if percent_off:  # the discount is the percentage of the positive lines, rounded once
        exact = Decimal(positive) * percent_off / 100
        assert abs(totals.discount - exact) <= Decimal("0.5")
    assert sum(totals.line_taxes) == totals.tax
    exclusive_tax = 0
    for line, disc, tax in zip(lines, totals.line_discounts, totals.line_taxes, strict=True):
        taxable = line.amount_minor - disc
        rate = line.tax_rate
        if rate is None:
            assert tax == 0
            continue
        r = rate.percentage / 100
        exact = taxable * r / (1 + r) if rate.inclusive else taxable * r
        assert abs(tax - exact) < 1, (line, tax, exact)  # floor or ceiling of the exact tax
        if not rate.inclusive:
            exclusive_tax += tax
    assert totals.total == totals.subtotal - totals.discount + exclusive_tax

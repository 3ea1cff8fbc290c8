"""Pure calculations of billing: schedules, tax, credit notes. No ORM, no settings, no clock.

- schedule.py  billing periods and charges of a recurring price (the preview === scheduler source)
- tax.py       per-line tax with exact rounding per rate (TAX_ROUNDING), tax treatment (EU reverse
               charge, exports, exemptions), the TaxProvider seam and LocalTaxProvider
- credits.py   remaining creditable amount and the proportional tax of a credit note (last note sweeps)

Everything public is re-exported here, so `from apps.billing.calculations import X` works for all.
"""
from .credits import (
    CreditError,
    CreditExceedsRemaining,
    CreditTax,
    credit_note_tax,
    remaining_creditable,
)
from .schedule import (
    ANCHOR_RULES,
    FIRST_PERIOD_CHOICES,
    INTERVALS,
    MAX_CHARGES,
    AnchorRule,
    Charge,
    IntervalInfo,
    RecurringPrice,
    Schedule,
    ScheduleError,
    add_months,
    billing_schedule,
    days_in_month,
    period_boundary,
    prorate,
    seconds_between,
)
from .tax import (
    EU_VAT_COUNTRIES,
    EXEMPT_NOTE,
    EXPORT_NOTE,
    MAX_RATE_PERCENT,
    REVERSE_CHARGE_NOTE,
    REVERSE_CHARGE_NOTE_EU,
    TAX_ROUNDING,
    VAT_COUNTRY_ALIASES,
    LocalTaxProvider,
    TaxCalculation,
    TaxCustomer,
    TaxedLine,
    TaxError,
    TaxLine,
    TaxMerchant,
    TaxProvider,
    TaxRate,
    TaxRateTotal,
    TaxTreatment,
    allocate_rounded,
    round_ratio,
    tax_area,
    tax_lines,
    tax_treatment,
    treatment_note,
    vat_country,
)

__all__ = [
    # schedule
    "ANCHOR_RULES", "FIRST_PERIOD_CHOICES", "INTERVALS", "MAX_CHARGES", "AnchorRule", "Charge", "IntervalInfo",
    "RecurringPrice", "Schedule", "ScheduleError", "add_months", "billing_schedule", "days_in_month",
    "period_boundary", "prorate", "seconds_between",
    # tax
    "EU_VAT_COUNTRIES", "EXEMPT_NOTE", "EXPORT_NOTE", "MAX_RATE_PERCENT", "REVERSE_CHARGE_NOTE",
    "REVERSE_CHARGE_NOTE_EU", "TAX_ROUNDING", "VAT_COUNTRY_ALIASES", "LocalTaxProvider", "TaxCalculation",
    "TaxCustomer", "TaxedLine", "TaxError", "TaxLine", "TaxMerchant", "TaxProvider", "TaxRate", "TaxRateTotal",
    "TaxTreatment", "allocate_rounded", "round_ratio", "tax_area", "tax_lines", "tax_treatment", "treatment_note",
    "vat_country",
    # credits
    "CreditError", "CreditExceedsRemaining", "CreditTax", "credit_note_tax", "remaining_creditable",
]

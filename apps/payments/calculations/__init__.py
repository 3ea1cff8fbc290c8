"""Pure calculations of the payments engine: fees and margin, void windows, payouts. No ORM.

- rates.py   the documented rate table (interchange, scheme, acquirer margin, chargeback fees)
- fees.py    fee lines of a card transaction, refund and chargeback cost, margin rollups (FEE_ROUNDING)
- voids.py   void eligibility from the batch cut-off, reversal options (page 025)
- payouts.py payout net and reconciliation lines, payout schedule
- disputes.py dispute, win and response rates against their targets (page 044)
"""
from .disputes import DisputeRates, dispute_rates
from .fees import (
    DEFAULT_GATEWAY_PLAN,
    DEFAULT_PLATFORM_PLAN,
    FEE_ROUNDING,
    PASS_THROUGH_CODES,
    PLATFORM_FEE_FIXED_MAJOR,
    PLATFORM_FEE_PERCENT,
    CardTransaction,
    ChargebackCost,
    DisputeOutcome,
    FeeBreakdown,
    FeeCode,
    FeeError,
    FeeLine,
    GatewayPlan,
    MarginTotals,
    PlatformFeePlan,
    RefundCost,
    TransactionKind,
    card_fee_breakdown,
    chargeback_cost,
    fee_amount,
    margin_rollup,
    margin_total,
    refund_cost,
)
from .payouts import (
    PayoutCurrencyError,
    PayoutError,
    PayoutInterval,
    PayoutItem,
    PayoutItemKind,
    PayoutLine,
    PayoutSchedule,
    PayoutSummary,
    add_business_days,
    is_business_day,
    next_payout_dates,
    payout_available_on,
    payout_item_from_breakdown,
    payout_summary,
)
from .rates import (
    ACQUIRER_MARKUP_PERCENT,
    DEFAULT_CHARGEBACK_FEES_MAJOR,
    DEFAULT_RATE_TABLE,
    EEA_COUNTRIES,
    UK_AREA,
    Brand,
    CardCategory,
    Channel,
    ChannelGroup,
    Funding,
    Rate,
    RateTable,
    RateTableError,
    Region,
    card_category,
    channel_group,
    issuer_region,
)
from .voids import (
    DEFAULT_CUTOFF,
    HIGH_RISK_LEAD,
    SAFE_LEAD,
    BatchCutoff,
    PaymentStatus,
    ReversalKind,
    ReversalOption,
    ReversalOptions,
    VoidEligibility,
    VoidWindow,
    VoidWindowError,
    cutoff_after,
    reversal_options,
    void_window,
)

__all__ = [
    # disputes
    "DisputeRates", "dispute_rates",
    # fees
    "DEFAULT_GATEWAY_PLAN", "DEFAULT_PLATFORM_PLAN", "FEE_ROUNDING", "PASS_THROUGH_CODES",
    "PLATFORM_FEE_FIXED_MAJOR", "PLATFORM_FEE_PERCENT", "CardTransaction", "ChargebackCost", "DisputeOutcome",
    "FeeBreakdown", "FeeCode", "FeeError", "FeeLine", "GatewayPlan", "MarginTotals", "PlatformFeePlan",
    "RefundCost", "TransactionKind", "card_fee_breakdown", "chargeback_cost", "fee_amount", "margin_rollup",
    "margin_total", "refund_cost",
    # payouts
    "PayoutCurrencyError", "PayoutError", "PayoutInterval", "PayoutItem", "PayoutItemKind", "PayoutLine",
    "PayoutSchedule", "PayoutSummary", "add_business_days", "is_business_day", "next_payout_dates",
    "payout_available_on", "payout_item_from_breakdown", "payout_summary",
    # rates
    "ACQUIRER_MARKUP_PERCENT", "DEFAULT_CHARGEBACK_FEES_MAJOR", "DEFAULT_RATE_TABLE", "EEA_COUNTRIES", "UK_AREA",
    "Brand", "CardCategory", "Channel", "ChannelGroup", "Funding", "Rate", "RateTable", "RateTableError",
    "Region", "card_category", "channel_group", "issuer_region",
    # voids
    "DEFAULT_CUTOFF", "HIGH_RISK_LEAD", "SAFE_LEAD", "BatchCutoff", "PaymentStatus", "ReversalKind",
    "ReversalOption", "ReversalOptions", "VoidEligibility", "VoidWindow", "VoidWindowError", "cutoff_after",
    "reversal_options", "void_window",
]

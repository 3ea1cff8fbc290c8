"""Fee lines, refund and chargeback cost, margin rollups (apps.payments.calculations). Pure: no database.

Worked examples are page 004's ("Fees", Examples 1–4) plus JPY and KWD/BHD; the caps are asserted
exactly; hypothesis checks the invariants.
"""
from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from apps.core.money import CurrencyError, Money
from apps.payments.calculations import (
    DEFAULT_RATE_TABLE,
    EEA_COUNTRIES,
    FEE_ROUNDING,
    Brand,
    CardTransaction,
    Channel,
    DisputeOutcome,
    FeeCode,
    FeeError,
    Funding,
    GatewayPlan,
    PlatformFeePlan,
    RateTableError,
    Region,
    card_fee_breakdown,
    chargeback_cost,
    fee_amount,
    issuer_region,
    margin_rollup,
    margin_total,
    refund_cost,
)

WATERFALL = [FeeCode.INTERCHANGE, FeeCode.SCHEME, FeeCode.GATEWAY, FeeCode.PLATFORM]
CNP_CHANNELS = [Channel.CNP_3DS, Channel.CNP_NON_3DS, Channel.MOTO, Channel.KEYED]
CP_CHANNELS = [Channel.CP_CHIP, Channel.CP_CONTACTLESS]


def txn(amount_minor, currency, *, brand="visa", funding="debit", issuing="GB", merchant="GB",
        channel="cnp_3ds", kind="sale"):
    return CardTransaction(amount=Money(amount_minor, currency), kind=kind, brand=brand, funding=funding,
                           issuing_country=issuing, merchant_country=merchant, channel=channel)


def amounts(breakdown):
    return {line.code: line.amount.amount_minor for line in breakdown.lines}


# --- page 004 worked examples -----------------------------------------------------------------------
def test_example_1_uk_consumer_visa_debit_100_gbp():
    b = card_fee_breakdown(transaction=txn(10000, "GBP", brand="visa", funding="debit", channel="cnp_3ds"))
    assert [line.code for line in b.lines] == WATERFALL
    assert amounts(b) == {"interchange": 20, "scheme": 3, "gateway": 15, "platform": 180}
    assert b.fees == Money(218, "GBP")
    assert b.net == Money(9782, "GBP")  # "You receive £97.82"
    assert b.effective_rate_percent == Decimal("2.18")
    assert b.pass_through == Money(38, "GBP") and b.platform == Money(180, "GBP")
    assert b.region == Region.DOMESTIC
    platform = b.lines[3]
    assert (platform.percent, platform.fixed, platform.basis) == (Decimal("1.7"), Decimal("0.10"), "1.7% + 0.10")
    assert b.lines[0].percent == Decimal("0.20") and "regulated cap" in b.lines[0].description


def test_example_2_uk_consumer_mastercard_credit_100_gbp():
    b = card_fee_breakdown(transaction=txn(10000, "GBP", brand="mastercard", funding="credit"))
    assert amounts(b) == {"interchange": 30, "scheme": 4, "gateway": 15, "platform": 180}
    assert b.fees == Money(229, "GBP") and b.net == Money(9771, "GBP")
    assert b.effective_rate_percent == Decimal("2.29")


def test_example_3_eea_debit_100_eur_at_uk_merchant_in_person_and_online():
    # Page 004 prices it at the 0.20 % cap; post-Brexit that holds card-present only (protocols.md §2).
    present = card_fee_breakdown(transaction=txn(10000, "EUR", issuing="DE", merchant="GB", channel="cp_chip"))
    assert present.region == Region.UK_EEA
    assert amounts(present) == {"interchange": 20, "scheme": 5, "gateway": 25, "platform": 180}
    assert present.fees == Money(230, "EUR")  # "Total cost €2.30", platform "€1.80"
    online = card_fee_breakdown(transaction=txn(10000, "EUR", issuing="DE", merchant="GB", channel="cnp_3ds"))
    assert amounts(online)["interchange"] == 115
    assert online.fees == Money(325, "EUR")


def test_example_4_us_commercial_credit_500_usd():
    b = card_fee_breakdown(transaction=txn(50000, "USD", funding="commercial_credit", issuing="US"))
    assert b.region == Region.INTERNATIONAL
    assert amounts(b) == {"interchange": 1150, "scheme": 50, "gateway": 175, "platform": 860}
    assert b.fees == Money(2235, "USD") and b.effective_rate_percent == Decimal("4.47")
    assert b.net == Money(47765, "USD")


# --- other currencies -------------------------------------------------------------------------------
def test_jpy_zero_decimals_fixed_part_only_moves_the_rounding():
    b = card_fee_breakdown(transaction=txn(10000, "JPY", funding="credit", issuing="JP"))
    # 1.80 % → ¥180; 0.10 % → ¥10; 0.35 % → ¥35; 1.7 % + 0.10 = 170.10 → ¥170
    assert amounts(b) == {"interchange": 180, "scheme": 10, "gateway": 35, "platform": 170}
    assert b.net == Money(10000 - 395, "JPY")
    odd = card_fee_breakdown(transaction=txn(1234, "JPY", funding="credit", issuing="JP"))
    # 22.212 → 22; 1.234 → 1; 4.319 → 4; 20.978 + 0.10 = 21.078 → 21
    assert amounts(odd) == {"interchange": 22, "scheme": 1, "gateway": 4, "platform": 21}


def test_jpy_plan_may_give_its_fixed_part_as_money():
    plan = PlatformFeePlan(fixed=Money(15, "JPY"))
    b = card_fee_breakdown(transaction=txn(10000, "JPY", funding="credit", issuing="JP"), platform_plan=plan)
    assert amounts(b)["platform"] == 185
    with pytest.raises(CurrencyError):
        card_fee_breakdown(transaction=txn(10000, "GBP"), platform_plan=plan)


def test_kwd_three_decimals():
    b = card_fee_breakdown(transaction=txn(12345, "KWD", funding="credit", issuing="KW"))  # KWD 12.345
    # 222.21 → 222 fils; 12.345 → 12; 43.2075 → 43; 209.865 + 100 = 309.865 → 310
    assert amounts(b) == {"interchange": 222, "scheme": 12, "gateway": 43, "platform": 310}
    assert b.net == Money(12345 - 587, "KWD")


def test_bhd_three_decimals_fixed_is_100_fils():
    b = card_fee_breakdown(transaction=txn(1000, "BHD", issuing="BH", merchant="IE"))  # BHD 1.000
    assert amounts(b)["platform"] == 117  # 17 + 100 fils


# --- rounding ---------------------------------------------------------------------------------------
def test_the_named_rounding_rule_is_half_up_once_per_line():
    assert FEE_ROUNDING == ROUND_HALF_UP
    # £2.50 at 0.20 % = 0.5p exactly → 1p (half-even would give 0p)
    assert fee_amount(base=Money(250, "GBP"), percent=Decimal("0.20")) == Money(1, "GBP")
    # £5.00 platform = 8.5p + 10p = 18.5p → 19p, one rounding of the sum (not 9p + 10p by accident)
    b = card_fee_breakdown(transaction=txn(500, "GBP"))
    assert amounts(b)["platform"] == 19
    # percent and fixed parts are added before the one rounding: on £1.00, 0.15 % (0.15p) + a 0.4p fixed
    # fee = 0.55p → 1p, where rounding each part apart would give 0p + 0p
    gateway = GatewayPlan(fixed=Decimal("0.004"))
    b = card_fee_breakdown(transaction=txn(100, "GBP"), gateway_plan=gateway)
    assert amounts(b)["gateway"] == 1


def test_tiny_sale_fees_exceed_gross_and_net_is_negative_not_hidden():
    b = card_fee_breakdown(transaction=txn(1, "GBP"))
    assert amounts(b) == {"interchange": 0, "scheme": 0, "gateway": 0, "platform": 10}
    assert b.net == Money(-9, "GBP")
    assert b.fees_exceed_gross
    assert not card_fee_breakdown(transaction=txn(10000, "GBP")).fees_exceed_gross


# --- the caps, exactly ------------------------------------------------------------------------------
REGULATED_PAIRS = [("GB", "GB"), ("GB", "JE"), ("JE", "GG"), ("IM", "GB"), ("DE", "DE"), ("IE", "IE"),
                   ("DE", "IE"), ("NO", "FR"), ("IS", "NL")]


@pytest.mark.parametrize("issuing,merchant", REGULATED_PAIRS)
@pytest.mark.parametrize("brand", ["visa", "mastercard"])
@pytest.mark.parametrize("channel", list(Channel))
def test_uk_and_eea_consumer_caps_exactly(issuing, merchant, brand, channel):
    for funding, cap in (("debit", "0.20"), ("credit", "0.30"), ("prepaid", "0.20")):
        b = card_fee_breakdown(transaction=txn(10000, "EUR", brand=brand, funding=funding, issuing=issuing,
                                               merchant=merchant, channel=channel))
        line = b.lines[0]
        assert line.code == FeeCode.INTERCHANGE
        assert line.percent == Decimal(cap)
        assert line.amount == Money(int(Decimal(cap) * 100), "EUR")


@pytest.mark.parametrize("issuing,merchant", [("FR", "GB"), ("GB", "IE"), ("JE", "DE"), ("NO", "GB")])
@pytest.mark.parametrize("brand", ["visa", "mastercard"])
def test_uk_eea_cross_border_cnp_1_15_and_1_50_cp_0_2_and_0_3(issuing, merchant, brand):
    for channel in CNP_CHANNELS + CP_CHANNELS:
        present = channel in CP_CHANNELS
        for funding, cnp, cp in (("debit", "1.15", "0.20"), ("credit", "1.50", "0.30"), ("prepaid", "1.15", "0.20")):
            b = card_fee_breakdown(transaction=txn(10000, "GBP", brand=brand, funding=funding, issuing=issuing,
                                                   merchant=merchant, channel=channel))
            assert b.region == Region.UK_EEA
            assert b.lines[0].percent == Decimal(cp if present else cnp)
            assert b.lines[0].amount == Money(int(Decimal(cp if present else cnp) * 100), "GBP")


def test_amex_discover_and_commercial_cards_are_outside_the_caps():
    for brand in ("amex", "discover"):
        b = card_fee_breakdown(transaction=txn(10000, "GBP", brand=brand, funding="debit"))
        assert b.lines[0].percent > Decimal("0.30") and "regulated" not in b.lines[0].description
        assert b.lines[1].amount == Money(0, "GBP")  # scheme fee included in the three-party rate
    for funding in ("commercial_debit", "commercial_credit", "commercial"):
        b = card_fee_breakdown(transaction=txn(10000, "GBP", funding=funding))
        assert b.lines[0].percent >= Decimal("1.05")
    # unknown commercial funding is priced as commercial credit (the dearer)
    plain = card_fee_breakdown(transaction=txn(10000, "GBP", funding="commercial"))
    credit = card_fee_breakdown(transaction=txn(10000, "GBP", funding="commercial_credit"))
    assert plain.lines == credit.lines


@pytest.mark.parametrize("issuing,merchant,region", [
    ("GB", "GB", Region.DOMESTIC), ("GB", "JE", Region.DOMESTIC), ("DE", "DE", Region.DOMESTIC),
    ("DE", "IE", Region.INTRA_EEA), ("NO", "IE", Region.INTRA_EEA), ("fr", "gb", Region.UK_EEA),
    ("GB", "IE", Region.UK_EEA), ("US", "GB", Region.INTERNATIONAL), ("CH", "GB", Region.INTERNATIONAL),
    ("CH", "DE", Region.INTERNATIONAL), ("JP", "IE", Region.INTERNATIONAL),
])
def test_issuer_region(issuing, merchant, region):
    assert issuer_region(issuing_country=issuing, merchant_country=merchant) == region


def test_eea_list_is_eu27_plus_iceland_liechtenstein_norway():
    assert len(EEA_COUNTRIES) == 30
    assert {"IS", "LI", "NO", "IE", "GR"} <= EEA_COUNTRIES
    assert not {"GB", "CH", "JE", "EL"} & EEA_COUNTRIES


def test_every_rate_table_combination_exists():
    for brand in Brand:
        for funding in Funding:
            for channel in Channel:
                for issuing in ("GB", "DE", "US"):
                    b = card_fee_breakdown(transaction=txn(777, "GBP", brand=brand, funding=funding,
                                                           issuing=issuing, channel=channel))
                    assert len(b.lines) == 4
    assert all(rate.percent >= 0 for rate in DEFAULT_RATE_TABLE.interchange.values())


# --- plans ------------------------------------------------------------------------------------------
def test_gateway_plan_fixed_fee_and_optional_higher_risk_loading():
    plan = GatewayPlan(fixed=Decimal("0.05"), loading_percent=Decimal("0.10"))
    secure = card_fee_breakdown(transaction=txn(10000, "GBP", channel="cnp_3ds"), gateway_plan=plan)
    assert amounts(secure)["gateway"] == 20  # 0.15 % + 5p
    moto = card_fee_breakdown(transaction=txn(10000, "GBP", channel="moto"), gateway_plan=plan)
    assert amounts(moto)["gateway"] == 30  # 0.25 % + 5p
    assert moto.lines[2].basis == "0.25% + 0.05" and "higher-risk" in moto.lines[2].description


def test_bad_plans_and_inputs_are_refused():
    with pytest.raises(FeeError):
        PlatformFeePlan(percent=Decimal("-1"))
    with pytest.raises(TypeError):
        PlatformFeePlan(percent=1.7)
    with pytest.raises(FeeError):
        GatewayPlan(markup_percent={Region.DOMESTIC: Decimal("0.1")})
    with pytest.raises(FeeError):
        txn(0, "GBP")
    with pytest.raises(FeeError):
        txn(100, "GBP", brand="diners")
    with pytest.raises(RateTableError):
        txn(100, "GBP", issuing="GBR")
    with pytest.raises(RateTableError):
        card_fee_breakdown(transaction=txn(100, "USD", issuing="US", merchant="US"))


# --- refunds, voids, chargebacks --------------------------------------------------------------------
def test_void_has_no_fees_and_moves_no_money():
    b = card_fee_breakdown(transaction=txn(10000, "GBP", kind="void"))
    assert b.lines == () and b.fees == Money(0, "GBP") and b.gross == Money(0, "GBP") and b.net == Money(0, "GBP")


def test_refund_has_no_new_fee_lines_and_keeps_the_original_fees():
    assert card_fee_breakdown(transaction=txn(10000, "GBP", kind="refund")).lines == ()
    sale = card_fee_breakdown(transaction=txn(10000, "GBP"))
    full = refund_cost(sale=sale, refund=Money(10000, "GBP"))
    assert full.fee_lines == () and full.fees_returned == Money(0, "GBP")
    assert full.fees_kept == Money(218, "GBP") and full.cost == Money(218, "GBP")
    assert full.remaining_refundable == Money(0, "GBP")


def test_partial_refunds_attribute_the_kept_fees_exactly():
    sale = card_fee_breakdown(transaction=txn(10000, "GBP"))
    first = refund_cost(sale=sale, refund=Money(3000, "GBP"))
    second = refund_cost(sale=sale, refund=Money(7000, "GBP"), previously_refunded=first.refunded_total)
    assert first.attributable_fees == Money(65, "GBP")  # 218 × 30 % = 65.4 → 65
    assert second.attributable_fees == Money(153, "GBP")  # the last refund sweeps the remainder
    assert first.fees_kept == second.fees_kept == sale.fees
    with pytest.raises(FeeError):  # one more cent is refused
        refund_cost(sale=sale, refund=Money(1, "GBP"), previously_refunded=second.refunded_total)
    with pytest.raises(CurrencyError):
        refund_cost(sale=sale, refund=Money(1, "EUR"))
    with pytest.raises(FeeError):
        refund_cost(sale=card_fee_breakdown(transaction=txn(100, "GBP", kind="void")), refund=Money(1, "GBP"))


def test_chargeback_holds_the_amount_and_charges_the_default_fee():
    cost = chargeback_cost(disputed=Money(5000, "GBP"))
    assert cost.held == Money(5000, "GBP") and cost.fee == Money(1500, "GBP")
    assert cost.net == Money(-6500, "GBP")
    b = card_fee_breakdown(transaction=txn(5000, "GBP", kind="chargeback"))
    assert [line.code for line in b.lines] == [FeeCode.CHARGEBACK]
    assert b.gross == Money(-5000, "GBP") and b.net == Money(-6500, "GBP")
    won = chargeback_cost(disputed=Money(5000, "GBP"), outcome=DisputeOutcome.WON)
    assert won.released == Money(5000, "GBP") and won.net == Money(-1500, "GBP")  # fee kept when won
    lost = chargeback_cost(disputed=Money(5000, "GBP"), outcome="lost")
    assert lost.lost == Money(6500, "GBP")


def test_chargeback_fee_per_currency_and_configurable():
    assert chargeback_cost(disputed=Money(1000, "KWD")).fee == Money(4600, "KWD")
    assert chargeback_cost(disputed=Money(1000, "JPY")).fee == Money(2900, "JPY")
    assert chargeback_cost(disputed=Money(100, "GBP"), fee=Money(2500, "GBP")).fee == Money(2500, "GBP")
    with pytest.raises(RateTableError):
        chargeback_cost(disputed=Money(1000, "MXN"))  # no default: the merchant's fee must be passed
    assert chargeback_cost(disputed=Money(1000, "MXN"), fee=Money(30000, "MXN")).fee == Money(30000, "MXN")
    with pytest.raises(CurrencyError):
        chargeback_cost(disputed=Money(1000, "GBP"), fee=Money(1500, "EUR"))


# --- rollups ----------------------------------------------------------------------------------------
def test_margin_rollup_per_product_and_customer():
    a = card_fee_breakdown(transaction=txn(10000, "GBP"))
    b = card_fee_breakdown(transaction=txn(10000, "GBP", brand="mastercard", funding="credit"))
    c = card_fee_breakdown(transaction=txn(50000, "USD", funding="commercial_credit", issuing="US"))
    rows = [("prod_a", a.fees, a.gross), ("prod_a", b.fees, b.gross), ("prod_b", c.fees, c.gross)]
    totals = margin_rollup(rows=rows)
    assert list(totals) == ["prod_a", "prod_b"]
    assert totals["prod_a"].gross == Money(20000, "GBP") and totals["prod_a"].fees == Money(447, "GBP")
    assert totals["prod_a"].net == Money(19553, "GBP") and totals["prod_a"].count == 2
    assert totals["prod_a"].net_margin_percent == Decimal("97.77")
    assert totals["prod_b"].net == Money(47765, "USD")
    with pytest.raises(CurrencyError):
        margin_rollup(rows=[("cus_1", a.fees, a.gross), ("cus_1", c.fees, c.gross)])
    assert margin_total(rows=rows[:2], currency="GBP").fees == Money(447, "GBP")


# --- properties -------------------------------------------------------------------------------------
CURRENCIES = ["GBP", "EUR", "USD", "CHF", "JPY", "KWD", "BHD"]
ISSUERS = ["GB", "JE", "IE", "DE", "FR", "NO", "US", "JP", "CH", "KW", "BR"]
MERCHANTS = ["GB", "JE", "GG", "IM", "IE", "DE", "FR", "NL"]

transactions = st.builds(
    lambda amount, currency, brand, funding, issuing, merchant, channel: txn(
        amount, currency, brand=brand, funding=funding, issuing=issuing, merchant=merchant, channel=channel),
    st.integers(1, 10**11), st.sampled_from(CURRENCIES), st.sampled_from(list(Brand)),
    st.sampled_from(list(Funding)), st.sampled_from(ISSUERS), st.sampled_from(MERCHANTS),
    st.sampled_from(list(Channel)),
)
platform_plans = st.builds(
    lambda percent, fixed: PlatformFeePlan(percent=percent, fixed=fixed),
    st.decimals(min_value=0, max_value=5, places=3), st.decimals(min_value=0, max_value=1, places=2),
)


@settings(max_examples=300, deadline=None)
@given(transactions, platform_plans)
def test_fee_lines_are_never_negative_and_net_plus_fees_is_gross(transaction, plan):
    b = card_fee_breakdown(transaction=transaction, platform_plan=plan)
    assert [line.code for line in b.lines] == WATERFALL
    assert all(line.amount.amount_minor >= 0 for line in b.lines)
    assert all(line.amount.currency == transaction.amount.currency for line in b.lines)
    assert b.net + b.fees == b.gross == transaction.amount
    assert b.pass_through + b.platform == b.fees


@settings(max_examples=200, deadline=None)
@given(transactions, st.integers(0, 10**6))
def test_each_fee_line_grows_with_the_amount(transaction, extra):
    bigger = txn(transaction.amount.amount_minor + extra, transaction.amount.currency, brand=transaction.brand,
                 funding=transaction.funding, issuing=transaction.issuing_country,
                 merchant=transaction.merchant_country, channel=transaction.channel)
    small, large = card_fee_breakdown(transaction=transaction), card_fee_breakdown(transaction=bigger)
    for a, b in zip(small.lines, large.lines, strict=True):
        assert a.amount <= b.amount


@settings(max_examples=200, deadline=None)
@given(transactions, st.lists(st.integers(1, 10**6), min_size=1, max_size=6), st.booleans())
def test_refunds_never_return_fees(transaction, weights, refund_everything):
    sale = card_fee_breakdown(transaction=transaction)
    total = transaction.amount if refund_everything else Money(
        max(1, transaction.amount.amount_minor // 2), transaction.amount.currency)
    parts = [p for p in total.allocate(weights) if p.amount_minor > 0]
    refunded, attributed = Money.zero(total.currency), Money.zero(total.currency)
    for part in parts:
        cost = refund_cost(sale=sale, refund=part, previously_refunded=refunded)
        assert cost.fee_lines == ()
        assert cost.fees_returned.amount_minor == 0
        assert cost.fees_kept == sale.fees
        assert cost.attributable_fees.amount_minor >= 0
        refunded, attributed = cost.refunded_total, attributed + cost.attributable_fees
        assert attributed <= sale.fees
    assert refunded == total
    if refund_everything:
        assert attributed == sale.fees
        with pytest.raises(FeeError):
            refund_cost(sale=sale, refund=Money(1, total.currency), previously_refunded=refunded)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["prod_a", "prod_b", "cus_1", ("prod_c", "JPY")]),
                          st.integers(0, 10**7), st.integers(-10**8, 10**9)), max_size=40))
def test_rollups_sum_exactly(raw):
    def currency(key):
        return "JPY" if isinstance(key, tuple) else "GBP"

    rows = [(key, Money(fees, currency(key)), Money(gross, currency(key))) for key, fees, gross in raw]
    totals = margin_rollup(rows=rows)
    assert sum(t.count for t in totals.values()) == len(rows)
    for key, t in totals.items():
        mine = [r for r in rows if r[0] == key]
        assert t.fees.amount_minor == sum(r[1].amount_minor for r in mine)
        assert t.gross.amount_minor == sum(r[2].amount_minor for r in mine)
        assert t.net + t.fees == t.gross
    gbp = [r for r in rows if r[1].currency == "GBP"]
    overall = margin_total(rows=gbp, currency="GBP")
    assert overall.net == sum((t.net for t in totals.values() if t.gross.currency == "GBP"), Money(0, "GBP"))
    assert overall.count == len(gbp)

"""/v2/billing: the schedule helpers (pages 111–113).

`billing_intervals_list` and `billing_anchor_rules_list` return static reference data (no tenant
data) in the list envelope, paginated like every list. `billing_preview_create` runs the scheduler's
own calculation (`calculations.billing_schedule`) for a stored price or an inline one.
"""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response

from apps.catalog import selectors as catalog_selectors
from apps.catalog.api.fields import CurrencyField, amount_field, list_params
from apps.catalog.api.prices import TierInput
from apps.catalog.calculations import PriceCalculationError, PriceSpec, Tier
from apps.catalog.models import Interval, PricingModel
from apps.catalog.payloads import iso
from apps.catalog.validation import clean_price, first_message
from apps.core.api.events import PaginationSerializer
from apps.core.api.pagination import paginate_list
from apps.core.api.serializers import StrictInputSerializer
from apps.core.api.views import ApiView
from apps.core.clock import now
from apps.core.errors import ValidationFailed

from ..calculations import (
    ANCHOR_RULES,
    FIRST_PERIOD_CHOICES,
    INTERVALS,
    MAX_CHARGES,
    RecurringPrice,
    ScheduleError,
    billing_schedule,
)


def paginate_static(items: list[dict], params) -> Response:
    """The list envelope over a fixed list (same parameters as database lists; cursors by `id`)."""
    rows, pagination = paginate_list(items, params)
    return Response({"data": rows, "pagination": pagination})


class IntervalOut(serializers.Serializer):
    id = serializers.CharField()
    object = serializers.CharField(default="billing_interval")
    interval = serializers.CharField()
    label = serializers.CharField()
    plural = serializers.CharField()
    months = serializers.IntegerField(allow_null=True)
    days = serializers.IntegerField(allow_null=True)
    description = serializers.CharField()
    examples = serializers.ListField(child=serializers.DictField())


class AnchorRuleOut(serializers.Serializer):
    id = serializers.CharField()
    object = serializers.CharField(default="billing_anchor_rule")
    label = serializers.CharField()
    description = serializers.CharField()
    requires_anchor_day = serializers.BooleanField()
    month_based_intervals_only = serializers.BooleanField()
    anchor_day = serializers.IntegerField(allow_null=True)


_EXAMPLES = {"day": [1, 7], "week": [1, 2], "month": [1, 3], "quarter": [1], "half_year": [1], "year": [1]}


def interval_rows() -> list[dict]:
    rows = []
    for info in INTERVALS.values():
        examples = []
        for count in _EXAMPLES[info.id]:
            label = info.label if count == 1 else f"Every {count} {info.plural}"
            examples.append({"interval_count": count, "label": label})
        rows.append({"id": info.id, "object": "billing_interval", "interval": info.id, "label": info.label,
                     "plural": info.plural, "months": info.months or None, "days": info.days or None,
                     "description": info.description, "examples": examples})
    return rows


def anchor_rule_rows() -> list[dict]:
    return [{"id": rule.id, "object": "billing_anchor_rule", "label": rule.label, "description": rule.description,
             "requires_anchor_day": rule.needs_day, "month_based_intervals_only": rule.month_based_only,
             "anchor_day": rule.fixed_day} for rule in ANCHOR_RULES.values()]


class BillingIntervalsApi(ApiView):
    operation_ids = {"get": "billing_intervals_list"}

    @extend_schema(parameters=list_params(), responses={200: inline_serializer(name="BillingIntervalList", fields={
        "data": IntervalOut(many=True), "pagination": PaginationSerializer()})}, summary="Get billing intervals",
        description="The supported billing intervals and their display labels.")
    def get(self, request):
        return paginate_static(interval_rows(), request.query_params)


class BillingAnchorRulesApi(ApiView):
    operation_ids = {"get": "billing_anchor_rules_list"}

    @extend_schema(parameters=list_params(), responses={200: inline_serializer(name="BillingAnchorRuleList", fields={
        "data": AnchorRuleOut(many=True), "pagination": PaginationSerializer()})}, summary="Get billing anchor rules",
        description="The supported billing anchor rules with explanations.")
    def get(self, request):
        return paginate_static(anchor_rule_rows(), request.query_params)


# --- preview -------------------------------------------------------------------------------------
class InlinePriceInput(StrictInputSerializer):
    """A recurring price that does not exist yet (same fields and rules as prices_create)."""

    aliases = {"amountMinor": "unit_amount_minor", "amount_minor": "unit_amount_minor",
               "pricingModel": "pricing_model", "billingInterval": "interval", "billing_interval": "interval",
               "intervalCount": "interval_count", "billingIntervalCount": "interval_count",
               "trialDays": "trial_days", "trialPeriodDays": "trial_days", "trial_period_days": "trial_days",
               "flatAmountMinor": "flat_amount_minor", "packageSize": "package_size"}
    type = serializers.ChoiceField(choices=["recurring"], required=False, default="recurring")
    pricing_model = serializers.ChoiceField(choices=PricingModel.choices, required=False)
    currency = CurrencyField()
    unit_amount_minor = amount_field(required=False, allow_null=True)
    flat_amount_minor = amount_field(required=False, allow_null=True)
    package_size = serializers.IntegerField(min_value=1, max_value=10**9, required=False, allow_null=True)
    tiers = TierInput(many=True, required=False, allow_null=True)
    minimum_amount_minor = amount_field(required=False, allow_null=True)
    suggested_amount_minor = amount_field(required=False, allow_null=True)
    interval = serializers.ChoiceField(choices=Interval.choices)
    interval_count = serializers.IntegerField(min_value=1)
    trial_days = serializers.IntegerField(min_value=0, max_value=730, required=False, allow_null=True)


class PreviewInput(StrictInputSerializer):
    aliases = {"priceId": "price_id", "anchorRule": "anchor_rule", "anchorDay": "anchor_day",
               "billingCycleAnchor": "anchor_day", "billing_cycle_anchor": "anchor_day", "trialDays": "trial_days",
               "firstPeriod": "first_period", "periods": "count", "startDate": "start", "start_date": "start"}
    price_id = serializers.CharField(max_length=40, required=False, help_text="A recurring price of yours")
    price = InlinePriceInput(required=False, help_text="Or an inline recurring price")
    quantity = serializers.IntegerField(min_value=0, max_value=10**9, required=False, default=1)
    start = serializers.DateTimeField(required=False, help_text="Default now")
    count = serializers.IntegerField(min_value=1, max_value=MAX_CHARGES, required=False, default=12,
                                     help_text=f"How many charges (1–{MAX_CHARGES}, default 12)")
    anchor_rule = serializers.ChoiceField(choices=list(ANCHOR_RULES), required=False, default="start")
    anchor_day = serializers.IntegerField(min_value=1, max_value=31, required=False, allow_null=True,
                                          help_text="With day_of_month (alias billingCycleAnchor)")
    trial_days = serializers.IntegerField(min_value=0, max_value=730, required=False, allow_null=True,
                                          help_text="Overrides the price's trial; 0 for none")
    first_period = serializers.ChoiceField(choices=list(FIRST_PERIOD_CHOICES), required=False, default="prorate")
    timezone = serializers.CharField(max_length=64, required=False,
                                     help_text="IANA zone for calendar arithmetic; default the merchant's")

    def validate(self, attrs):
        if bool(attrs.get("price_id")) == bool(attrs.get("price")):
            raise serializers.ValidationError({"price_id": ["give price_id or an inline price (exactly one)"]})
        return attrs


class ChargeOut(serializers.Serializer):
    index = serializers.IntegerField()
    period_start = serializers.DateTimeField()
    period_end = serializers.DateTimeField()
    charge_date = serializers.DateTimeField()
    amount_minor = serializers.IntegerField()
    full_amount_minor = serializers.IntegerField()
    currency = serializers.CharField()
    quantity = serializers.IntegerField()
    prorated = serializers.BooleanField()


class PreviewOut(serializers.Serializer):
    object = serializers.CharField(default="billing_preview")
    price_id = serializers.CharField(allow_null=True)
    currency = serializers.CharField()
    interval = serializers.CharField()
    interval_count = serializers.IntegerField()
    quantity = serializers.IntegerField()
    anchor_rule = serializers.CharField()
    anchor_day = serializers.IntegerField(allow_null=True)
    timezone = serializers.CharField()
    trial_start = serializers.DateTimeField(allow_null=True)
    trial_end = serializers.DateTimeField(allow_null=True)
    charges = ChargeOut(many=True)
    total_minor = serializers.IntegerField()


def _zone(tenant, name: str | None) -> ZoneInfo:
    name = name or getattr(tenant.merchant, "timezone", "") or "UTC"
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationFailed(f"timezone: '{name}' is not an IANA time zone", fields={"timezone": ["not an IANA time zone"]})


def _recurring_price(tenant, data) -> tuple[str | None, RecurringPrice]:
    if data.get("price_id"):
        price = catalog_selectors.price_get(tenant=tenant, price_id=data["price_id"])  # another merchant's: 404
        if not price.is_recurring:
            raise ValidationFailed("price_id: must be a recurring price",
                                   fields={"price_id": ["must be a recurring price (this one is one-time)"]})
        return price.pk, RecurringPrice(spec=price.as_spec(), interval=price.interval,
                                        interval_count=price.interval_count, trial_days=price.trial_days or 0)
    raw = dict(data["price"])
    if raw.get("tiers") is not None:
        raw["tiers"] = [dict(t) for t in raw["tiers"]]
    cleaned, errors = clean_price(raw, prefix="price")
    if errors:
        raise ValidationFailed(first_message(errors), fields=errors)
    spec = PriceSpec(pricing_model=cleaned["pricing_model"], currency=cleaned["currency"],
                     unit_amount_minor=cleaned["unit_amount_minor"], flat_amount_minor=cleaned["flat_amount_minor"],
                     package_size=cleaned["package_size"], minimum_amount_minor=cleaned["minimum_amount_minor"],
                     suggested_amount_minor=cleaned["suggested_amount_minor"],
                     tiers=tuple(Tier(**t) for t in cleaned["tiers"]))
    return None, RecurringPrice(spec=spec, interval=cleaned["interval"], interval_count=cleaned["interval_count"],
                                trial_days=cleaned["trial_days"] or 0)


class BillingPreviewApi(ApiView):
    operation_ids = {"post": "billing_preview_create"}

    @extend_schema(request=PreviewInput, responses={200: inline_serializer(name="BillingPreviewResponse", fields={
        "data": PreviewOut()})}, summary="Generate billing schedule preview",
        description="The next `count` charges (period, charge date, amount) of a recurring price, from the same "
                    "calculation the subscription scheduler uses (Preview === Scheduler). Nothing is written.")
    def post(self, request):
        body = PreviewInput(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        price_id, recurring = _recurring_price(self.tenant, data)
        zone = _zone(self.tenant, data.get("timezone"))
        try:
            start: datetime = (data.get("start") or now()).astimezone(zone)
            schedule = billing_schedule(price=recurring, start=start, count=data["count"], quantity=data["quantity"],
                                        anchor_rule=data["anchor_rule"], anchor_day=data.get("anchor_day"),
                                        first_period=data["first_period"], trial_days=data.get("trial_days"))
        except OverflowError:
            raise ValidationFailed("start: the schedule runs past the year 9999",
                                   fields={"start": ["the schedule runs past the year 9999"]})
        except ScheduleError as exc:
            field = exc.field or "__all__"
            raise ValidationFailed(f"{field}: {exc}", fields={field: [str(exc)]})
        except PriceCalculationError as exc:
            raise ValidationFailed(f"price: {exc}", fields={"price_id" if price_id else "price": [str(exc)]})
        currency = recurring.spec.currency
        charges = [{"index": c.index, "period_start": iso(c.period_start), "period_end": iso(c.period_end),
                    "charge_date": iso(c.charge_date), "amount_minor": c.amount.amount_minor,
                    "full_amount_minor": c.full_amount.amount_minor, "currency": currency,
                    "quantity": data["quantity"], "prorated": c.prorated} for c in schedule.charges]
        return self.respond({
            "object": "billing_preview", "price_id": price_id, "currency": currency, "interval": recurring.interval,
            "interval_count": recurring.interval_count, "quantity": data["quantity"],
            "anchor_rule": data["anchor_rule"], "anchor_day": schedule.anchor_day, "timezone": zone.key,
            "trial_start": iso(schedule.trial_start), "trial_end": iso(schedule.trial_end), "charges": charges,
            "total_minor": schedule.total.amount_minor,
        })

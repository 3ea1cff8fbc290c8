"""/v2 payouts (pages 258–260): the list (newest first), one payout with its summary and fees by code,
and the ledger lines it paid out (each with its gross, fees and net; the nets sum to the payout)."""
from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers

from apps.core.api.views import ApiView
from apps.core.errors import ValidationFailed

from .. import selectors
from ..models import Payout
from ..payloads import payout_line_payload, payout_payload

__all__ = ["PayoutDetailApi", "PayoutListApi", "PayoutPaymentsApi"]


class PayoutListFilter(serializers.Serializer):
    status = serializers.ChoiceField(choices=Payout.Status.values, required=False)
    date_from = serializers.DateField(required=False, help_text="Payout date on or after (YYYY-MM-DD)")
    date_to = serializers.DateField(required=False, help_text="Payout date on or before (YYYY-MM-DD)")
    amount_min = serializers.IntegerField(required=False, help_text="Net amount at least, in minor units")
    amount_max = serializers.IntegerField(required=False, help_text="Net amount at most, in minor units")

    def validate(self, attrs):
        if attrs.get("date_from") and attrs.get("date_to") and attrs["date_from"] > attrs["date_to"]:
            raise ValidationFailed("date_to: must not be before date_from", fields={"date_to": ["is before date_from"]})
        return attrs


_list_params = [OpenApiParameter("limit", int), OpenApiParameter("offset", int),
                OpenApiParameter("starting_after", str), OpenApiParameter("ending_before", str)]
_payout = inline_serializer(name="PayoutResponse", fields={"data": serializers.DictField()})
_payouts = inline_serializer(name="PayoutList", fields={"data": serializers.ListField(),
                                                        "pagination": serializers.DictField()})


def payout_detail_payload(payout: Payout, *, tenant) -> dict:
    body = payout_payload(payout)
    body["fees_by_code"] = selectors.payout_fees_by_code(tenant=tenant, payout=payout)
    return body


class PayoutListApi(ApiView):
    operation_ids = {"get": "payouts_list"}

    @extend_schema(parameters=[PayoutListFilter, *_list_params], responses={200: _payouts}, summary="List payouts",
                   description="The payouts of this mode, newest first; filters: status, payout date range, amount.")
    def get(self, request):
        filters = PayoutListFilter(data=request.query_params)
        filters.is_valid(raise_exception=True)
        return self.respond_list(selectors.payout_list(tenant=self.tenant, **filters.validated_data), payout_payload)


class PayoutDetailApi(ApiView):
    operation_ids = {"get": "payouts_get"}

    @extend_schema(responses={200: _payout}, summary="Get a payout",
                   description="The payout with its summary (gross − fees − refunds − disputes ± adjustments = net) "
                               "and its fees by code (interchange, scheme, gateway, platform, chargeback).")
    def get(self, request, payout_id):
        payout = selectors.payout_get(tenant=self.tenant, payout_id=payout_id)
        return self.respond(payout_detail_payload(payout, tenant=self.tenant))


class PayoutPaymentsApi(ApiView):
    operation_ids = {"get": "payouts_payments_list"}

    @extend_schema(parameters=_list_params, responses={200: _payouts}, summary="List the payments in a payout",
                   description="Every ledger line the payout paid out (sales, refunds, disputes, adjustments), each "
                               "with type, payment id, gross, fees and net; the nets sum to the payout's amount.")
    def get(self, request, payout_id):
        payout = selectors.payout_get(tenant=self.tenant, payout_id=payout_id)
        return self.respond_list(selectors.payout_lines(tenant=self.tenant, payout=payout), payout_line_payload)

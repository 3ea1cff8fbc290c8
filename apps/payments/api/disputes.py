"""/v2 disputes (pages 164–166): read-only. Disputes come from the gateway (services.disputes_sync); evidence
is answered in the dashboard.

- GET /v2/disputes       newest disputed first; filters status, payment_id, customer_id.
- GET /v2/disputes/open  disputes needing evidence, most urgent (earliest evidence_due_by) first.
- GET /v2/disputes/{id}

The lists use the house parameters (limit, offset, starting_after, ending_before) and answer block, but
walk their own order (disputed_at, or the deadline) rather than created_at: a dispute learned late by the
poller must still sort by when the issuer opened it.
"""
from __future__ import annotations

from django.db.models import Q
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response

from apps.core.api.pagination import DEFAULT_LIMIT, MAX_LIMIT, _int_param
from apps.core.api.views import ApiView
from apps.core.errors import ValidationFailed

from .. import selectors
from ..models import Dispute
from ..payloads import dispute_payload

__all__ = ["DisputeDetailApi", "DisputeListApi", "DisputeOpenListApi"]


def paginate_ordered(queryset, params, *, field: str, descending: bool) -> tuple[list, dict]:
    """The house pagination over (`field`, pk) in the given direction instead of created_at."""
    limit = min(_int_param(params, "limit", DEFAULT_LIMIT, 1), MAX_LIMIT)
    offset = _int_param(params, "offset", 0, 0)
    starting_after, ending_before = params.get("starting_after"), params.get("ending_before")
    if starting_after and ending_before:
        raise ValidationFailed("Use starting_after or ending_before, not both.",
                               fields={"ending_before": ["cannot be combined with starting_after"]})
    total = queryset.count()
    sign = "-" if descending else ""
    ordered = queryset.order_by(f"{sign}{field}", f"{sign}pk")
    cursor_id = starting_after or ending_before
    if not cursor_id:
        rows = list(ordered[offset: offset + limit])
        return rows, {"limit": limit, "offset": offset, "total": total, "hasMore": offset + len(rows) < total}
    param = "starting_after" if starting_after else "ending_before"
    cursor = queryset.filter(pk=cursor_id).values(field, "pk").first()
    if cursor is None:
        raise ValidationFailed(f"No object '{cursor_id}' to page from.", fields={param: ["no such object in this list"]})
    beyond = "lt" if descending else "gt"
    after = Q(**{f"{field}__{beyond}": cursor[field]}) | Q(**{field: cursor[field], f"pk__{beyond}": cursor["pk"]})
    if starting_after:
        window = list(ordered.filter(after)[offset: offset + limit + 1])
        rows = window[:limit]
    else:
        reverse = "" if descending else "-"
        before = queryset.exclude(after).exclude(pk=cursor["pk"]).order_by(f"{reverse}{field}", f"{reverse}pk")
        window = list(before[offset: offset + limit + 1])
        rows = list(reversed(window[:limit]))
    return rows, {"limit": limit, "offset": offset, "total": total, "hasMore": len(window) > limit}


class DisputeListFilter(serializers.Serializer):
    status = serializers.ChoiceField(choices=Dispute.Status.values, required=False)
    payment_id = serializers.CharField(required=False)
    customer_id = serializers.CharField(required=False)


_list_params = [OpenApiParameter("limit", int), OpenApiParameter("offset", int),
                OpenApiParameter("starting_after", str), OpenApiParameter("ending_before", str)]
_dispute = inline_serializer(name="DisputeResponse", fields={"data": serializers.DictField()})
_disputes = inline_serializer(name="DisputeList", fields={"data": serializers.ListField(),
                                                          "pagination": serializers.DictField()})


class _DisputeListBase(ApiView):
    def respond_ordered(self, queryset, *, field: str, descending: bool):
        rows, pagination = paginate_ordered(queryset, self.request.query_params, field=field, descending=descending)
        return self.respond_page(rows, pagination)

    def respond_page(self, rows, pagination):
        return Response({"data": [dispute_payload(row) for row in rows], "pagination": pagination})


class DisputeListApi(_DisputeListBase):
    operation_ids = {"get": "disputes_list"}

    @extend_schema(parameters=[DisputeListFilter, *_list_params], responses={200: _disputes}, summary="List disputes",
                   description="Disputes (chargebacks), newest disputed first.")
    def get(self, request):
        filters = DisputeListFilter(data=request.query_params)
        filters.is_valid(raise_exception=True)
        return self.respond_ordered(selectors.dispute_list(tenant=self.tenant, **filters.validated_data),
                                    field="disputed_at", descending=True)


class DisputeOpenListApi(_DisputeListBase):
    operation_ids = {"get": "disputes_get_open"}

    @extend_schema(parameters=_list_params, responses={200: _disputes}, summary="Get open disputes requiring action",
                   description="Disputes that need evidence, ordered by evidence_due_by (most urgent first).")
    def get(self, request):
        return self.respond_ordered(selectors.dispute_open_list(tenant=self.tenant), field="evidence_due_by",
                                    descending=False)


class DisputeDetailApi(ApiView):
    operation_ids = {"get": "disputes_get"}

    @extend_schema(responses={200: _dispute}, summary="Get a dispute")
    def get(self, request, dispute_id):
        return self.respond(dispute_payload(selectors.dispute_get(tenant=self.tenant, dispute_id=dispute_id)))

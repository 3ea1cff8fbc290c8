"""/v2/customers: create, get, list, update, soft delete, upsert by external id, batch upsert.

Views are thin: read the body or the query, call one service or selector, serialize with
`customer_payload` (the same object the events carry).

Bodies are validated by the services (apps.customers.validation), not by DRF serializers: a batch
must report every row's problems in one answer (`customers[3].email`), and the dashboard's forms will
call the same services, so there is one validator with one set of messages. It is as strict as
StrictInputSerializer: unknown fields are a 400, documented camelCase spellings are accepted. The
serializers below describe the bodies and answers for the OpenAPI document.
"""
from __future__ import annotations

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import JsonResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers

from apps.core.api.errors import error_body
from apps.core.api.events import PaginationSerializer
from apps.core.api.views import ApiView
from apps.core.errors import ValidationFailed
from apps.core.ids import looks_like_id

from . import selectors, services
from .payloads import customer_payload
from .services import BATCH_MAX_ROWS
from .validation import METADATA_MAX_KEYS, METADATA_VALUE_MAX


# --- documentation of bodies and answers ------------------------------------------------------------
class AddressSerializer(serializers.Serializer):
    line1 = serializers.CharField(required=False, allow_null=True, max_length=200)
    line2 = serializers.CharField(required=False, allow_null=True, max_length=200)
    city = serializers.CharField(required=False, allow_null=True, max_length=100)
    state = serializers.CharField(required=False, allow_null=True, max_length=100)
    postal_code = serializers.CharField(required=False, allow_null=True, max_length=20, help_text="Alias: postalCode")
    country = serializers.CharField(required=False, allow_null=True, min_length=2, max_length=2,
                                    help_text="ISO 3166-1 alpha-2, e.g. GB")


class TaxIdSerializer(serializers.Serializer):
    type = serializers.CharField(help_text="eu_vat, gb_vat, us_ein, … or other")
    value = serializers.CharField(max_length=64)


class ExternalIdSerializer(serializers.Serializer):
    source = serializers.CharField()
    external_id = serializers.CharField()


_metadata_help = (f"String keys to string values, at most {METADATA_MAX_KEYS} keys and {METADATA_VALUE_MAX} "
                  "characters a value. On update keys are merged; a key sent as \"\" or null is removed; "
                  "metadata: null clears all.")


class CustomerFieldsInput(serializers.Serializer):
    email = serializers.EmailField(required=False, help_text="Required to create. Unique per merchant and mode "
                                                             "among customers that are not deleted (case-insensitive).")
    name = serializers.CharField(required=False, allow_null=True, allow_blank=True, max_length=200)
    company_name = serializers.CharField(required=False, allow_null=True, allow_blank=True, max_length=200,
                                         help_text="Alias: companyName")
    phone = serializers.CharField(required=False, allow_null=True, allow_blank=True, max_length=40,
                                  help_text="E.164 recommended")
    billing_address = AddressSerializer(required=False, allow_null=True, help_text="Alias: address, billingAddress")
    shipping_address = AddressSerializer(required=False, allow_null=True, help_text="Alias: shippingAddress")
    tax_ids = TaxIdSerializer(many=True, required=False, allow_null=True, help_text="Alias: taxIds (at most 10)")
    tax_id = serializers.CharField(required=False, allow_null=True, help_text="Alias: taxId. Shorthand for "
                                   "tax_ids: [{type: other, value}]")
    locale = serializers.CharField(required=False, allow_null=True, allow_blank=True, help_text="e.g. en-GB")
    currency = serializers.CharField(required=False, allow_null=True, allow_blank=True, min_length=3, max_length=3,
                                     help_text="Preferred invoice currency, ISO 4217")
    metadata = serializers.DictField(child=serializers.CharField(allow_null=True, allow_blank=True), required=False,
                                     allow_null=True, help_text=_metadata_help)


class CustomerCreateInput(CustomerFieldsInput):
    email = serializers.EmailField(help_text="Unique per merchant and mode among customers that are not deleted.")


class CustomerUpsertInput(CustomerFieldsInput):
    external_updated_at = serializers.DateTimeField(
        required=False, allow_null=True,
        help_text="The source's last-modified time (alias externalUpdatedAt). Older than the last applied → "
                  "ignored as stale.")


class CustomerBatchRowInput(CustomerUpsertInput):
    source = serializers.CharField(required=False, help_text="Defaults to the batch's source.")
    external_id = serializers.CharField(help_text="Alias: externalId")


class CustomerBatchInput(serializers.Serializer):
    source = serializers.CharField(required=False, help_text="Source for rows that do not name one, e.g. practicehub")
    customers = CustomerBatchRowInput(many=True, help_text=f"1 to {BATCH_MAX_ROWS} rows")


class CustomerSerializer(serializers.Serializer):
    id = serializers.CharField()
    object = serializers.CharField(default="customer")
    email = serializers.EmailField()
    name = serializers.CharField(allow_null=True)
    company_name = serializers.CharField(allow_null=True)
    phone = serializers.CharField(allow_null=True)
    billing_address = AddressSerializer(allow_null=True)
    shipping_address = AddressSerializer(allow_null=True)
    tax_ids = TaxIdSerializer(many=True)
    locale = serializers.CharField(allow_null=True)
    currency = serializers.CharField(allow_null=True)
    metadata = serializers.DictField(child=serializers.CharField())
    external_ids = ExternalIdSerializer(many=True)
    livemode = serializers.BooleanField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class DeletedCustomerSerializer(CustomerSerializer):
    deleted = serializers.BooleanField()
    deleted_at = serializers.DateTimeField()


class BatchRowResultSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    status = serializers.ChoiceField(choices=["created", "updated", "unchanged", "stale", "error", "skipped"])
    id = serializers.CharField(allow_null=True)
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()), allow_null=True)


class BatchResultSerializer(serializers.Serializer):
    object = serializers.CharField(default="customer_batch")
    results = BatchRowResultSerializer(many=True)
    summary = serializers.DictField(child=serializers.IntegerField())


CustomerResponse = inline_serializer(name="CustomerResponse", fields={"data": CustomerSerializer()})


class CustomerFilterSerializer(serializers.Serializer):
    search = serializers.CharField(required=False, max_length=200,
                                   help_text="Case-insensitive match on name, email or external id")
    email = serializers.CharField(required=False, max_length=254, help_text="Exact email (case-insensitive)")
    created_after = serializers.DateTimeField(required=False)
    created_before = serializers.DateTimeField(required=False)


def _body(request) -> dict:
    if not isinstance(request.data, dict):
        raise ValidationFailed("The body must be a JSON object.", fields={"__all__": ["must be a JSON object"]})
    return request.data


def _request_id(request) -> str:
    return getattr(request._request, "request_id", "")


# --- views -----------------------------------------------------------------------------------------
class CustomerApiView(ApiView):
    """ApiView, plus a 400 envelope for a body over DATA_UPLOAD_MAX_MEMORY_SIZE: ApiView.dispatch reads
    the body before its error handling, so Django's RequestDataTooBig would otherwise surface as a 500
    (a big batch is the likely way to meet it)."""

    def dispatch(self, request, *args, **kwargs):
        try:
            request.body  # noqa: B018 (reads and caches the body, or raises)
        except RequestDataTooBig:
            limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
            reason = f"the body is larger than {limit:,} bytes; send fewer rows per request"
            return JsonResponse(error_body(type="invalid_request_error", code="request_too_large",
                                           message=f"Request body too large: {reason}.",
                                           details={"fields": {"__all__": [reason]}}), status=400)
        return super().dispatch(request, *args, **kwargs)


class CustomerListCreateApi(CustomerApiView):
    operation_ids = {"get": "customers_list", "post": "customers_create"}

    @extend_schema(parameters=[CustomerFilterSerializer, OpenApiParameter("limit", int), OpenApiParameter("offset", int),
                               OpenApiParameter("starting_after", str), OpenApiParameter("ending_before", str)],
                   responses={200: inline_serializer(name="CustomerList", fields={
                       "data": CustomerSerializer(many=True), "pagination": PaginationSerializer()})},
                   summary="List customers",
                   description="Customers newest first. `search` matches name, email or external id.")
    def get(self, request):
        filters = CustomerFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        for cursor in ("starting_after", "ending_before"):
            value = request.query_params.get(cursor)
            if value and not looks_like_id(value, "cus"):
                raise ValidationFailed(f"No object '{value[:60]}' to page from.",
                                       fields={cursor: ["no such object in this list"]})
        return self.respond_list(selectors.customer_list(tenant=self.tenant, **filters.validated_data), customer_payload)

    @extend_schema(request=CustomerCreateInput, responses={201: CustomerResponse}, summary="Create a new customer")
    def post(self, request):
        customer = services.customer_create(tenant=self.tenant, actor=self.actor, data=_body(request),
                                            request_id=_request_id(request))
        return self.respond(customer_payload(customer), status=201)


class CustomerDetailApi(CustomerApiView):
    operation_ids = {"get": "customers_get", "patch": "customers_update", "delete": "customers_delete"}

    @extend_schema(responses={200: CustomerResponse}, summary="Get customer by ID")
    def get(self, request, customer_id):
        return self.respond(customer_payload(selectors.customer_get(tenant=self.tenant, customer_id=customer_id)))

    @extend_schema(request=CustomerFieldsInput, responses={200: CustomerResponse}, summary="Update customer details",
                   description="Only the fields sent change. Metadata is merged: a key sent as \"\" or null is "
                               "removed; `metadata: null` clears all. An address replaces the stored one.")
    def patch(self, request, customer_id):
        customer = services.customer_update(tenant=self.tenant, actor=self.actor, customer_id=customer_id,
                                            data=_body(request), request_id=_request_id(request))
        return self.respond(customer_payload(customer))

    @extend_schema(request=None, responses={200: inline_serializer(name="DeletedCustomerResponse", fields={
        "data": DeletedCustomerSerializer()})}, summary="Delete a customer (soft delete)",
        description="The customer is 404 afterwards and their email can be used by a new customer. History is kept.")
    def delete(self, request, customer_id):
        customer = services.customer_delete(tenant=self.tenant, actor=self.actor, customer_id=customer_id,
                                            request_id=_request_id(request))
        return self.respond(customer_payload(customer))


class CustomerExternalUpsertApi(CustomerApiView):
    operation_ids = {"put": "customers_external_upsert_by_external_id"}

    @extend_schema(request=CustomerUpsertInput, responses={200: CustomerResponse, 201: CustomerResponse},
                   summary="Upsert customer by external ID",
                   description="Creates (201) or updates (200) the customer known as `externalId` in `source`. "
                               "Fields not sent are kept. A new external id whose email belongs to an existing "
                               "customer without an id from that source is linked to that customer.")
    def put(self, request, source, external_id):
        customer, status = services.customer_upsert_by_external_id(
            tenant=self.tenant, actor=self.actor, source=source, external_id=external_id, data=_body(request),
            request_id=_request_id(request))
        return self.respond(customer_payload(customer), status=201 if status == "created" else 200)


class CustomerExternalBatchApi(CustomerApiView):
    operation_ids = {"put": "customers_external_batch"}

    @extend_schema(request=CustomerBatchInput,
                   responses={200: inline_serializer(name="CustomerBatchResponse", fields={"data": BatchResultSerializer()})},
                   summary="Batch upsert customers by external ID",
                   description=f"Up to {BATCH_MAX_ROWS} rows in one transaction. Every row is validated first; if any "
                               "is invalid nothing is applied and the 400 lists `details.fields` "
                               "(`customers[3].email`) and `details.results`. Rows that change nothing are "
                               "`unchanged`; rows older than the last applied `external_updated_at` are `stale`.")
    def put(self, request):
        body = _body(request)
        unknown = sorted(set(body) - {"source", "customers"})
        if unknown:
            raise ValidationFailed(f"{unknown[0]}: unknown field", fields={name: ["unknown field"] for name in unknown})
        if "customers" not in body:
            raise ValidationFailed("customers: is required", fields={"customers": ["is required"]})
        outcome = services.customer_batch_upsert(tenant=self.tenant, actor=self.actor, rows=body["customers"],
                                                 source=body.get("source"), request_id=_request_id(request))
        return self.respond({"object": "customer_batch", "results": outcome.results, "summary": outcome.summary})

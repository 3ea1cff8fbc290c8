"""Entitlements: /v2/entitlements (pages 167–168) and /v2/customers/{customerId}/entitlements
(pages 143–147). A customer of another merchant or mode, or a deleted one, is a 404."""
from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers

from apps.core.api.serializers import StrictInputSerializer
from apps.core.api.views import ApiView
from apps.core.errors import ValidationFailed

from .. import selectors, services
from ..models import EntitlementSource
from ..payloads import entitlement_payload
from . import docs
from .fields import AliasedQuery, MetadataField, list_params, request_id

STATUS_CHOICES = ["active", "expired", "revoked"]
KEY_ALIASES = {"benefitKey": "key", "benefit_key": "key"}


class EntitlementFilter(AliasedQuery):
    aliases = {"customerId": "customer_id", "benefitKey": "benefit_key"}
    customer_id = serializers.CharField(max_length=40, help_text="Required (alias customerId)")
    status = serializers.ChoiceField(choices=STATUS_CHOICES, required=False)
    benefit_key = serializers.CharField(required=False, max_length=64)


class CustomerEntitlementFilter(AliasedQuery):
    aliases = {"benefitKey": "benefit_key"}
    status = serializers.ChoiceField(choices=STATUS_CHOICES, required=False)
    benefit_key = serializers.CharField(required=False, max_length=64)


class CheckQuery(AliasedQuery):
    aliases = {**KEY_ALIASES, "customerId": "customer_id"}
    customer_id = serializers.CharField(max_length=40, help_text="Alias customerId")
    key = serializers.CharField(max_length=64, help_text="The benefit key (alias benefit_key, benefitKey)")


class CustomerCheckQuery(AliasedQuery):
    aliases = KEY_ALIASES
    key = serializers.CharField(max_length=64, help_text="The benefit key (alias benefit_key, benefitKey)")


class GrantInput(StrictInputSerializer):
    aliases = {"benefitId": "benefit_id", "benefitKey": "benefit_key", "expiresAt": "expires_at",
               "sourceReference": "source_reference", "reference": "source_reference"}
    benefit_id = serializers.CharField(max_length=40, required=False, help_text="Give benefit_id or benefit_key")
    benefit_key = serializers.CharField(max_length=64, required=False)
    expires_at = serializers.DateTimeField(required=False, allow_null=True, help_text="Omit for no end")
    source = serializers.ChoiceField(choices=[EntitlementSource.API, EntitlementSource.MANUAL], required=False,
                                     help_text="Default api")
    source_reference = serializers.CharField(max_length=100, required=False, allow_blank=True)
    metadata = MetadataField()

    def validate(self, attrs):
        if bool(attrs.get("benefit_id")) == bool(attrs.get("benefit_key")):
            raise serializers.ValidationError({"benefit_id": ["give benefit_id or benefit_key (exactly one)"]})
        return attrs


def _query(serializer_class, request):
    query = serializer_class(data=request.query_params)
    query.is_valid(raise_exception=True)
    return {k: v for k, v in query.validated_data.items() if v is not None}


def _check_payload(customer, key: str, entitlement) -> dict:
    return {"object": "entitlement_check", "customer_id": customer.pk, "benefit_key": key,
            "has_access": entitlement is not None,
            "entitlement": entitlement_payload(entitlement) if entitlement is not None else None}


def _check(tenant, customer, key: str) -> dict:
    benefit = selectors.benefit_get_by_key(tenant=tenant, key=key)  # an unknown key is a 404
    return _check_payload(customer, benefit.key,
                          selectors.active_entitlement(tenant=tenant, customer=customer, key=benefit.key))


class EntitlementListApi(ApiView):
    operation_ids = {"get": "entitlements_list"}

    @extend_schema(parameters=[EntitlementFilter, *list_params()], responses={200: docs.EntitlementList},
                   summary="List entitlements",
                   description="A customer's entitlements (`customer_id` is required), each with its computed "
                               "`status` and `has_access`.")
    def get(self, request):
        query = _query(EntitlementFilter, request)
        customer = selectors.customer_for_entitlements(tenant=self.tenant, customer_id=query.pop("customer_id"))
        return self.respond_list(selectors.entitlement_list(tenant=self.tenant, customer=customer, **query),
                                 entitlement_payload)


class EntitlementCheckApi(ApiView):
    operation_ids = {"get": "entitlements_check"}

    @extend_schema(parameters=[CheckQuery], responses={200: docs.EntitlementCheckResponse},
                   summary="Check entitlement access",
                   description="Does the customer hold an active entitlement to the benefit with this key? The "
                               "primary endpoint for feature gating. Unknown customer or key: 404.")
    def get(self, request):
        query = _query(CheckQuery, request)
        customer = selectors.customer_for_entitlements(tenant=self.tenant, customer_id=query["customer_id"])
        return self.respond(_check(self.tenant, customer, query["key"]))


class CustomerEntitlementsApi(ApiView):
    operation_ids = {"get": "customers_entitlements_list", "post": "customers_entitlements_grant",
                     "delete": "customers_entitlements_revoke_by_key"}

    @extend_schema(parameters=[CustomerEntitlementFilter, *list_params()], responses={200: docs.EntitlementList},
                   summary="List customer entitlements")
    def get(self, request, customer_id):
        query = _query(CustomerEntitlementFilter, request)
        customer = selectors.customer_for_entitlements(tenant=self.tenant, customer_id=customer_id)
        return self.respond_list(selectors.entitlement_list(tenant=self.tenant, customer=customer, **query),
                                 entitlement_payload)

    @extend_schema(request=GrantInput, responses={201: docs.EntitlementResponse, 200: docs.EntitlementResponse},
                   summary="Grant entitlement to customer",
                   description="Give `benefit_id` or `benefit_key`. 201 when granted; 200 with the existing "
                               "entitlement when the customer already holds it (idempotent).")
    def post(self, request, customer_id):
        customer = selectors.customer_for_entitlements(tenant=self.tenant, customer_id=customer_id)
        body = GrantInput(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        if data.get("benefit_id"):
            benefit = selectors.benefit_get(tenant=self.tenant, benefit_id=data["benefit_id"])
        else:
            benefit = selectors.benefit_get_by_key(tenant=self.tenant, key=data["benefit_key"])
        entitlement = services.entitlement_grant(
            tenant=self.tenant, customer=customer, benefit=benefit, source=data.get("source") or EntitlementSource.API,
            actor=self.actor, expires_at=data.get("expires_at"), source_reference=data.get("source_reference", ""),
            metadata=data.get("metadata"), request_id=request_id(request))
        return self.respond(entitlement_payload(entitlement), status=201 if entitlement.newly_granted else 200)

    @extend_schema(parameters=[OpenApiParameter("benefitKey", str, required=True,
                                                description="The benefit key (alias benefit_key, key)")],
                   request=None, responses={200: docs.EntitlementResponse},
                   summary="Revoke entitlement by benefit key")
    def delete(self, request, customer_id):
        customer = selectors.customer_for_entitlements(tenant=self.tenant, customer_id=customer_id)
        params = request.query_params
        key = params.get("benefitKey") or params.get("benefit_key") or params.get("key")
        if not key:
            raise ValidationFailed("benefitKey: is required", fields={"benefitKey": ["is required"]})
        entitlement = services.entitlement_revoke_by_key(tenant=self.tenant, actor=self.actor, customer=customer,
                                                         key=key, request_id=request_id(request))
        return self.respond(entitlement_payload(entitlement))


class CustomerEntitlementCheckApi(ApiView):
    operation_ids = {"get": "customers_entitlements_check"}

    @extend_schema(parameters=[CustomerCheckQuery], responses={200: docs.EntitlementCheckResponse},
                   summary="Check customer entitlement")
    def get(self, request, customer_id):
        customer = selectors.customer_for_entitlements(tenant=self.tenant, customer_id=customer_id)
        query = _query(CustomerCheckQuery, request)
        return self.respond(_check(self.tenant, customer, query["key"]))


class CustomerEntitlementDetailApi(ApiView):
    operation_ids = {"delete": "customers_entitlements_revoke_by_id"}

    @extend_schema(request=None, responses={200: docs.EntitlementResponse}, summary="Revoke entitlement by ID",
                   description="Revoking a revoked entitlement returns it unchanged.")
    def delete(self, request, customer_id, entitlement_id):
        customer = selectors.customer_for_entitlements(tenant=self.tenant, customer_id=customer_id)
        entitlement = selectors.entitlement_get(tenant=self.tenant, customer=customer, entitlement_id=entitlement_id)
        entitlement = services.entitlement_revoke(tenant=self.tenant, actor=self.actor, entitlement=entitlement,
                                                  request_id=request_id(request))
        return self.respond(entitlement_payload(entitlement))

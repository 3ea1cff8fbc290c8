"""/v2/billing routes, each named after its reference operation id (the tenancy probes use the names)."""
from django.urls import path

from . import api

urlpatterns = [
    path("billing/intervals", api.BillingIntervalsApi.as_view(), name="billing_intervals_list"),
    path("billing/anchor-rules", api.BillingAnchorRulesApi.as_view(), name="billing_anchor_rules_list"),
    path("billing/preview", api.BillingPreviewApi.as_view(), name="billing_preview_create"),
]

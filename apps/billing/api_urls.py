"""/v2 billing routes, each named after its reference operation id (the tenancy probes use the names)."""
from django.urls import path

from .api import credit_notes, invoices, orders, schedule

urlpatterns = [
    path("billing/intervals", schedule.BillingIntervalsApi.as_view(), name="billing_intervals_list"),
    path("billing/anchor-rules", schedule.BillingAnchorRulesApi.as_view(), name="billing_anchor_rules_list"),
    path("billing/preview", schedule.BillingPreviewApi.as_view(), name="billing_preview_create"),
    *invoices.urlpatterns,
    *orders.urlpatterns,
    *credit_notes.urlpatterns,
]

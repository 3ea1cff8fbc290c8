"""/v2 routes of the payments app, named after their first operation id (the tenancy probes' keys)."""
from django.urls import path

from . import api

urlpatterns = [
    path("payments", api.PaymentListCreateApi.as_view(), name="payments_list"),
    path("payments/<str:payment_id>", api.PaymentDetailApi.as_view(), name="payments_get"),
    path("refunds", api.RefundListCreateApi.as_view(), name="refunds_list"),
    path("refunds/<str:refund_id>", api.RefundDetailApi.as_view(), name="refunds_get"),
    path("voids", api.VoidListCreateApi.as_view(), name="voids_list"),
    path("voids/<str:void_id>", api.VoidDetailApi.as_view(), name="voids_get"),
    path("transactions", api.TransactionListApi.as_view(), name="transactions_list"),
    path("transactions/<str:transaction_id>", api.TransactionDetailApi.as_view(), name="transactions_get"),
    path("customers/<str:customer_id>/payments", api.CustomerPaymentsApi.as_view(), name="customers_payments_list"),
    path("customers/<str:customer_id>/payment-methods", api.CustomerPaymentMethodsApi.as_view(),
         name="customers_payment_methods_list"),
]

"""/v2 routes of the payments app, named after their first operation id (the tenancy probes' keys)."""
from django.urls import path

from . import api
from .api import charges as charges_api
from .api import disputes as disputes_api
from .api import intents as intents_api
from .api import payouts as payouts_api

urlpatterns = [
    path("charges", charges_api.ChargeListCreateApi.as_view(), name="charges_list"),
    path("charges/<str:charge_id>", charges_api.ChargeDetailApi.as_view(), name="charges_get"),
    path("charges/<str:charge_id>/capture", charges_api.ChargeCaptureApi.as_view(), name="charges_capture"),
    path("charges/<str:charge_id>/refund", charges_api.ChargeRefundApi.as_view(), name="charges_refund"),
    path("payment-intents", intents_api.PaymentIntentListCreateApi.as_view(), name="payment_intents_list"),
    path("payment-intents/<str:payment_intent_id>", intents_api.PaymentIntentDetailApi.as_view(),
         name="payment_intents_get"),
    path("payment-intents/<str:payment_intent_id>/confirm", intents_api.PaymentIntentConfirmApi.as_view(),
         name="payment_intents_confirm"),
    path("payment-intents/<str:payment_intent_id>/capture", intents_api.PaymentIntentCaptureApi.as_view(),
         name="payment_intents_capture"),
    path("payment-intents/<str:payment_intent_id>/cancel", intents_api.PaymentIntentCancelApi.as_view(),
         name="payment_intents_cancel"),
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
    # /disputes/open before /disputes/<id>: "open" is not an id.
    path("disputes", disputes_api.DisputeListApi.as_view(), name="disputes_list"),
    path("disputes/open", disputes_api.DisputeOpenListApi.as_view(), name="disputes_get_open"),
    path("disputes/<str:dispute_id>", disputes_api.DisputeDetailApi.as_view(), name="disputes_get"),
    path("payouts", payouts_api.PayoutListApi.as_view(), name="payouts_list"),
    path("payouts/<str:payout_id>", payouts_api.PayoutDetailApi.as_view(), name="payouts_get"),
    path("payouts/<str:payout_id>/payments", payouts_api.PayoutPaymentsApi.as_view(), name="payouts_payments_list"),
]

from django.urls import path  # noqa: F401

from .views import disputes as dispute_views
from .views import margin as margin_views
from .views import payments as payment_views
from .views import payouts as payout_views

# Mounted under /dashboard/ in the "dashboard" namespace by revkeen/urls.py.
dashboard_urlpatterns = [
    path("payments/", payment_views.payment_list, name="payments"),
    path("payments/export.csv", payment_views.payment_export, name="payments_export"),
    path("payments/terminal/", payment_views.virtual_terminal, name="payment_terminal"),
    path("payments/terminal/cards/", payment_views.terminal_payment_methods, name="payment_terminal_cards"),
    path("payments/terminal/result/<str:payment_id>/", payment_views.terminal_result, name="payment_terminal_result"),
    path("payments/<str:payment_id>/", payment_views.payment_detail, name="payment_detail"),
    path("payments/<str:payment_id>/void/", payment_views.payment_void, name="payment_void"),
    path("payments/<str:payment_id>/refund/", payment_views.payment_refund, name="payment_refund"),
    path("payments/<str:payment_id>/3ds-return/", payment_views.payment_3ds_return, name="payment_3ds_return"),
    path("finance/margin/", margin_views.margin_report, name="margin"),
    path("finance/disputes/", dispute_views.dispute_list, name="disputes"),
    path("finance/disputes/<str:dispute_id>/", dispute_views.dispute_detail, name="dispute_detail"),
    path("finance/disputes/<str:dispute_id>/files/", dispute_views.dispute_attach, name="dispute_attach"),
    path("finance/disputes/<str:dispute_id>/files/<str:file_id>/", dispute_views.dispute_file, name="dispute_file"),
    path("finance/payouts/", payout_views.payout_list, name="payouts"),
    path("finance/payouts/schedule/", payout_views.payout_schedule, name="payout_schedule"),
    path("finance/payouts/export.csv", payout_views.payouts_export, name="payouts_export"),
    path("finance/payouts/<str:payout_id>/", payout_views.payout_detail, name="payout_detail"),
    path("finance/payouts/<str:payout_id>/export.csv", payout_views.payout_export, name="payout_export"),
]

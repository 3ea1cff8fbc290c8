"""Mounted at /_sim/nmi/ (revkeen/urls.py when NMI_SIMULATOR_ENABLED; standalone_urls.py on its own port).

The paths after the prefix are NMI's own (`api/transact.php`, `api/query.php`, `token/Collect.js`), so
a gateway base URL of `…/_sim/nmi` stands where `https://secure.nmi.com` would.
"""
from django.urls import path

from . import views

app_name = "nmi_sim"

urlpatterns = [
    path("", views.index, name="index"),
    path("api/transact.php", views.transact_view, name="transact"),
    path("api/query.php", views.query_view, name="query"),
    path("token/Collect.js", views.collect_js, name="collect_js"),
    path("token/frame", views.token_frame, name="token_frame"),
    path("token/tokenize", views.tokenize, name="tokenize"),
    path("3ds/<str:challenge_id>", views.challenge, name="challenge"),
    path("_control/faults", views.control_faults, name="control_faults"),
    path("_control/chargebacks", views.control_chargebacks, name="control_chargebacks"),
    path("_control/chargebacks/<str:chargeback_id>/resolve", views.control_chargeback_resolve,
         name="control_chargeback_resolve"),
    path("_control/batches/close", views.control_batch_close, name="control_batch_close"),
    path("_control/accounts", views.control_accounts, name="control_accounts"),
    path("_control/webhooks/<str:event_id>/replay", views.control_webhook_replay, name="control_webhook_replay"),
]

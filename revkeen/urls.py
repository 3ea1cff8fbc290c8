from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import include, path

from apps.accounts import urls as accounts_urls
from apps.billing import api_urls as billing_api
from apps.billing import urls as billing_urls
from apps.catalog import api_urls as catalog_api
from apps.catalog import urls as catalog_urls
from apps.checkout import api_urls as checkout_api
from apps.checkout import urls as checkout_urls
from apps.core import urls as core_urls
from apps.core.api import urls as core_api
from apps.customers import api_urls as customers_api
from apps.customers import urls as customers_urls
from apps.payments import api_urls as payments_api
from apps.payments import urls as payments_urls

# Every /v2 route, app by app; the JSON catch-all 404 stays last.
api_urlpatterns = [
    *core_api.urlpatterns,
    *customers_api.urlpatterns,
    *catalog_api.urlpatterns,
    *billing_api.urlpatterns,
    *payments_api.urlpatterns,
    *checkout_api.urlpatterns,
    *core_api.catch_all,
]

# The merchant dashboard, app by app, in the "dashboard" namespace.
dashboard_urlpatterns = [
    *accounts_urls.dashboard_urlpatterns,
    *core_urls.dashboard_urlpatterns,
    *customers_urls.dashboard_urlpatterns,
    *catalog_urls.dashboard_urlpatterns,
    *payments_urls.dashboard_urlpatterns,
    *billing_urls.dashboard_urlpatterns,
    *checkout_urls.dashboard_urlpatterns,
]

urlpatterns = [
    path("admin/", admin.site.urls),
    path("dashboard/", include((dashboard_urlpatterns, "dashboard"))),
    path("accounts/", include("allauth.urls")),
    path("v2/", include(api_urlpatterns)),
    *billing_urls.public_urlpatterns,
    *checkout_urls.public_urlpatterns,
    path("", include("apps.accounts.urls")),
]
if settings.DEBUG:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
if settings.NMI_SIMULATOR_ENABLED:  # the sandbox gateway (apps.payments.simulators.nmi), embedded and test runs
    urlpatterns += [path("_sim/nmi/", include("apps.payments.simulators.nmi.urls"))]

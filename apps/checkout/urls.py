"""Checkout pages. `dashboard_urlpatterns` are mounted under /dashboard/ in the "dashboard" namespace;
`public_urlpatterns` at the site root (/pay/<pl_…>, /checkout/<cs_…>: customers, no login)."""
from .views import dashboard, express, hosted

dashboard_urlpatterns = [*dashboard.urlpatterns]

public_urlpatterns = [*hosted.urlpatterns, *express.urlpatterns]

"""Dashboard views of customers."""
from django.urls import path

from . import views

# Mounted under /dashboard/ in the "dashboard" namespace by revkeen/urls.py. Every name starts with
# "customers" so the sidebar can highlight Customers on all of them.
dashboard_urlpatterns = [
    path("customers/", views.customer_list, name="customers"),
    path("customers/new/", views.customer_create, name="customers_create"),
    path("customers/export.csv", views.customer_export, name="customers_export"),
    path("customers/<str:customer_id>/", views.customer_detail, name="customers_detail"),
    path("customers/<str:customer_id>/edit/", views.customer_edit, name="customers_edit"),
    path("customers/<str:customer_id>/delete/", views.customer_delete, name="customers_delete"),
    path("customers/<str:customer_id>/timeline/", views.customer_timeline, name="customers_timeline"),
    path("customers/<str:customer_id>/entitlements/grant/", views.customer_entitlement_grant,
         name="customers_entitlement_grant"),
    path("customers/<str:customer_id>/entitlements/<str:entitlement_id>/revoke/", views.customer_entitlement_revoke,
         name="customers_entitlement_revoke"),
]

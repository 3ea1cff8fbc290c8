"""Billing pages. `dashboard_urlpatterns` are mounted under /dashboard/ in the "dashboard" namespace;
`public_urlpatterns` at the site root (hosted invoice pages, reached by customers without a login)."""
from .views import credit_notes, invoice_builder, invoices, orders, public, settings

dashboard_urlpatterns = [
    *invoice_builder.urlpatterns,  # before invoices/<id>/: "invoices/new/" is not an invoice id
    *invoices.urlpatterns,
    *credit_notes.urlpatterns,
    *orders.urlpatterns,
    *settings.urlpatterns,
]

public_urlpatterns = [*public.urlpatterns]

"""Billing dashboard and public pages, one module per area; each owns its `urlpatterns`."""

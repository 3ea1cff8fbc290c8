"""Checkout pages, one module per area; each owns its `urlpatterns`."""

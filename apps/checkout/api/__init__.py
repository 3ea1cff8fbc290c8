"""The checkout API, one module per resource (each owns its `urlpatterns`)."""

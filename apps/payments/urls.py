from django.urls import path  # noqa: F401

# Mounted under /dashboard/ in the "dashboard" namespace by revkeen/urls.py.
dashboard_urlpatterns = [
]

from django.urls import path

from . import views

# Mounted under /dashboard/ in the "dashboard" namespace by revkeen/urls.py.
dashboard_urlpatterns = [
    path("activity/", views.activity, name="activity"),
]

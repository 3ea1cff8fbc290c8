from django.urls import path, re_path
from drf_spectacular.views import SpectacularJSONAPIView, SpectacularRedocView

from . import events
from .views_public import api_not_found

urlpatterns = [
    path("openapi.json", SpectacularJSONAPIView.as_view(authentication_classes=[], permission_classes=[],
                                                    throttle_classes=[]), name="openapi"),
    path("reference", SpectacularRedocView.as_view(url_name="openapi", authentication_classes=[],
                                                   permission_classes=[], throttle_classes=[]), name="api-reference"),
    path("events", events.EventListApi.as_view(), name="events_list"),
    path("events/test", events.EventCreateTestApi.as_view(), name="events_create_test"),
    path("events/<str:event_id>", events.EventDetailApi.as_view(), name="events_get"),
]

# Anything else under /v2 is a JSON 404, whatever DEBUG says.
catch_all = [re_path(r"^.*$", api_not_found, name="api_not_found")]

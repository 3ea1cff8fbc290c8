from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers

from apps.core import selectors, services
from apps.core.events import event_payload

from .serializers import StrictInputSerializer
from .views import ApiView


class EventSerializer(serializers.Serializer):
    """Documentation of the event envelope (pages 082/084); the payload itself is built by event_payload."""

    id = serializers.CharField()
    object = serializers.CharField()
    type = serializers.CharField()
    created = serializers.IntegerField(help_text="Unix seconds")
    livemode = serializers.BooleanField()
    api_version = serializers.CharField()
    data = serializers.DictField()


class PaginationSerializer(serializers.Serializer):
    limit = serializers.IntegerField()
    offset = serializers.IntegerField()
    total = serializers.IntegerField()
    hasMore = serializers.BooleanField()  # noqa: N815 (documented camelCase)


EventResponse = inline_serializer(name="EventResponse", fields={"data": EventSerializer()})


class EventFilterSerializer(serializers.Serializer):
    type = serializers.CharField(required=False, max_length=100)
    object_id = serializers.CharField(required=False, max_length=40)
    created_after = serializers.DateTimeField(required=False)
    created_before = serializers.DateTimeField(required=False)


class EventListApi(ApiView):
    operation_ids = {"get": "events_list"}

    @extend_schema(parameters=[EventFilterSerializer, OpenApiParameter("limit", int), OpenApiParameter("offset", int),
                               OpenApiParameter("starting_after", str), OpenApiParameter("ending_before", str)],
                   responses={200: inline_serializer(name="EventList", fields={
                       "data": EventSerializer(many=True), "pagination": PaginationSerializer()})},
                   summary="List events", description="Events newest first, filtered by type (exact or `invoice.*`), object and time.")
    def get(self, request):
        filters = EventFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        qs = selectors.event_list(tenant=self.tenant, **filters.validated_data)
        return self.respond_list(qs, event_payload)


class EventTestInput(StrictInputSerializer):
    type = serializers.CharField(required=False, max_length=100)


class EventCreateTestApi(ApiView):
    operation_ids = {"post": "events_create_test"}

    @extend_schema(request=EventTestInput, responses={201: EventResponse},
                   summary="Create a test event")
    def post(self, request):
        body = EventTestInput(data=request.data)
        body.is_valid(raise_exception=True)
        event = services.event_create_test(tenant=self.tenant, actor=self.actor, request_id=request._request.request_id,
                                           **body.validated_data)
        return self.respond(event_payload(event), status=201)


class EventDetailApi(ApiView):
    operation_ids = {"get": "events_get"}

    @extend_schema(responses={200: EventResponse},
                   summary="Retrieve an event")
    def get(self, request, event_id):
        return self.respond(event_payload(selectors.event_get(tenant=self.tenant, event_id=event_id)))

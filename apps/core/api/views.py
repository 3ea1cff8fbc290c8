"""The base every /v2 view builds on: authentication by API key, tenant scoping, rate limits,
idempotency, API-version resolution and the response envelopes. Views stay thin: validate, call
one service or selector, serialize."""
from __future__ import annotations

from django.conf import settings
from rest_framework import status as http
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.actors import Actor
from apps.core.errors import ValidationFailed

from . import idempotency
from .pagination import paginate


def resolve_api_version(request) -> str:
    requested = request.headers.get("RevKeen-Version")
    if requested:
        if requested not in settings.REVKEEN_SUPPORTED_API_VERSIONS:
            raise ValidationFailed(
                f"Unknown RevKeen-Version '{requested}'. Supported: {', '.join(settings.REVKEEN_SUPPORTED_API_VERSIONS)}.",
                fields={"RevKeen-Version": ["unsupported version"]}, code="invalid_api_version")
        return requested
    api_key = getattr(request, "api_key", None)
    return api_key.api_version if api_key else settings.REVKEEN_API_VERSION


class ApiView(APIView):
    """Base for /v2 endpoints. Subclasses set `operation_ids = {"get": "events_list", ...}`."""

    operation_ids: dict[str, str] = {}

    @property
    def tenant(self):
        return self.request.tenant

    @property
    def actor(self) -> Actor:
        return Actor.for_api_key(self.request.api_key)

    # --- envelopes ------------------------------------------------------------------------------
    def respond(self, data, *, status: int = http.HTTP_200_OK) -> Response:
        return Response({"data": data}, status=status)

    def respond_list(self, queryset, serialize) -> Response:
        rows, pagination = paginate(queryset, self.request.query_params)
        return Response({"data": [serialize(row) for row in rows], "pagination": pagination})

    # --- the request cycle ----------------------------------------------------------------------
    def dispatch(self, request, *args, **kwargs):
        """DRF's dispatch, plus the idempotency claim around the handler and the version echo."""
        self.args, self.kwargs = args, kwargs
        raw_body = request.body if request.method in idempotency.IDEMPOTENT_METHODS else b""
        request = self.initialize_request(request, *args, **kwargs)
        self.request = request
        self.headers = self.default_response_headers
        claim = None
        api_version = settings.REVKEEN_API_VERSION
        try:
            self.initial(request, *args, **kwargs)
            api_version = resolve_api_version(request)
            request.api_version = api_version
            key = request.headers.get("Idempotency-Key")
            if key is not None and request.method in idempotency.IDEMPOTENT_METHODS:
                claim = idempotency.claim(api_key=request.api_key, key=key, method=request.method,
                                          path=request.path, body=raw_body)
                if claim.state == claim.State.COMPLETED:
                    return self._replay(claim)
            if request.method.lower() in self.http_method_names:
                handler = getattr(self, request.method.lower(), self.http_method_not_allowed)
            else:
                handler = self.http_method_not_allowed
            response = handler(request, *args, **kwargs)
        except Exception as exc:
            response = self.handle_exception(exc)
        response["RevKeen-Version"] = api_version
        self.response = self.finalize_response(request, response, *args, **kwargs)
        if claim is not None:
            self.response.render()
            idempotency.complete(claim, self.response)
        return self.response

    def _replay(self, row) -> Response:
        from django.http import HttpResponse

        response = HttpResponse(bytes(row.response_body or b""), status=row.response_status)
        for name, value in (row.response_headers or {}).items():
            response[name] = value
        response["Idempotency-Replayed"] = "true"
        return response

"""OpenAPI generation: every operation carries its reference operation id, the common headers and
the documented error responses, so clients (and schemathesis) know every answer we can give."""
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, inline_serializer
from rest_framework import serializers

_error_detail = inline_serializer(
    name="ErrorDetail",
    fields={
        "type": serializers.ChoiceField(choices=[
            "invalid_request_error", "authentication_error", "permission_error", "rate_limit_error",
            "idempotency_error", "card_error", "api_error"]),
        "code": serializers.CharField(),
        "message": serializers.CharField(),
        "param": serializers.CharField(required=False),
        "details": serializers.DictField(required=False),
    },
)
ERROR_ENVELOPE = inline_serializer(name="ErrorEnvelope", fields={"error": _error_detail})

_ERRORS = {
    400: "Invalid request: malformed JSON, unknown fields or failed validation.",
    401: "Missing, malformed or revoked API key.",
    404: "The resource does not exist or is not visible to this key.",
    405: "Method not allowed.",
    409: "Idempotency conflict or a concurrent state change.",
    422: "Business-rule failure.",
    429: "Rate limit exceeded; honour Retry-After.",
}


class RevKeenAutoSchema(AutoSchema):
    def get_operation_id(self):
        ids = getattr(self.view, "operation_ids", {}) or {}
        return ids.get(self.method.lower()) or super().get_operation_id()

    def get_override_parameters(self):
        params = list(super().get_override_parameters())
        params.append(OpenApiParameter("RevKeen-Version", str, OpenApiParameter.HEADER, required=False,
                                       description="API version (YYYY-MM-DD); defaults to the key's pinned version."))
        if self.method in ("POST", "PUT", "PATCH", "DELETE"):
            params.append(OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER, required=False,
                                           description="Makes retries safe for 24 hours (1–255 characters)."))
        return params

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        for status, description in _ERRORS.items():
            if status == 405:
                continue
            responses.setdefault(str(status), self._get_response_for_code(
                OpenApiResponse(ERROR_ENVELOPE, description=description), str(status), direction=direction))
        return responses


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "apps.core.api.auth.ApiKeyAuthentication"
    name = ["ApiKeyAuth", "BearerAuth"]

    def get_security_definition(self, auto_schema):
        return [
            {"type": "apiKey", "in": "header", "name": "x-api-key"},
            {"type": "http", "scheme": "bearer", "description": "The same rk_live_/rk_sandbox_ key as a bearer token."},
        ]

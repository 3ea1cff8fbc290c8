"""Every failure under /v2 answers with the documented envelope (page 332):
{"error": {"type", "code", "message", "param"?, "details"?}}. Never an HTML page, never a bare 500."""
from __future__ import annotations

import logging

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, JsonResponse
from rest_framework import exceptions as drf
from rest_framework.response import Response

from apps.core.errors import DomainError

log = logging.getLogger("revkeen.api")


def error_body(*, type: str, code: str, message: str, param: str | None = None, details: dict | None = None) -> dict:
    error = {"type": type, "code": code, "message": message}
    if param:
        error["param"] = param
    if details:
        error["details"] = details
    return {"error": error}


def flatten_validation(detail, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested error detail → {"items[0].quantity": ["..."]} dotted paths."""
    fields: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            path = prefix if key == "non_field_errors" and prefix else (f"{prefix}.{key}" if prefix else str(key))
            if key == "non_field_errors" and not prefix:
                path = "__all__"
            fields.update(flatten_validation(value, path))
    elif isinstance(detail, list):
        if detail and all(not isinstance(item, (dict, list)) for item in detail):
            fields.setdefault(prefix or "__all__", []).extend(str(item) for item in detail)
        else:
            for index, item in enumerate(detail):
                if item:
                    fields.update(flatten_validation(item, f"{prefix}[{index}]"))
    else:
        fields.setdefault(prefix or "__all__", []).append(str(detail))
    return fields


def _validation_message(fields: dict[str, list[str]]) -> str:
    if not fields:
        return "The request is invalid."
    path, reasons = next(iter(fields.items()))
    if path == "__all__":
        return reasons[0]
    return f"{path}: {reasons[0]}" + (f" (and {len(fields) - 1} more)" if len(fields) > 1 else "")


def exception_to_envelope(exc) -> tuple[int, dict, dict]:
    """Returns (status, body, extra headers) for any exception raised while serving /v2."""
    headers: dict[str, str] = {}
    if isinstance(exc, DomainError):
        return exc.status, exc.as_envelope(), headers
    if isinstance(exc, drf.ValidationError):
        fields = flatten_validation(exc.detail)
        param = next((p for p in fields if p != "__all__"), None)
        return 400, error_body(type="invalid_request_error", code="validation_error",
                               message=_validation_message(fields), param=param,
                               details={"fields": fields}), headers
    if isinstance(exc, drf.ParseError):
        return 400, error_body(type="invalid_request_error", code="invalid_request",
                               message=f"Malformed request body: {exc.detail}"), headers
    if isinstance(exc, drf.UnsupportedMediaType):
        return 415, error_body(type="invalid_request_error", code="unsupported_media_type",
                               message="Send the body as application/json."), headers
    if isinstance(exc, (drf.NotAuthenticated, drf.AuthenticationFailed)):
        message = str(exc.detail) if isinstance(exc, drf.AuthenticationFailed) else (
            "No API key provided. Send it in the x-api-key header (or Authorization: Bearer).")
        return 401, error_body(type="authentication_error", code="unauthenticated", message=message), headers
    if isinstance(exc, (drf.PermissionDenied, DjangoPermissionDenied)):
        return 403, error_body(type="permission_error", code="permission_denied",
                               message=str(getattr(exc, "detail", "")) or "Permission denied."), headers
    if isinstance(exc, (drf.NotFound, Http404)):
        return 404, error_body(type="invalid_request_error", code="resource_missing",
                               message="The requested resource does not exist."), headers
    if isinstance(exc, drf.MethodNotAllowed):
        return 405, error_body(type="invalid_request_error", code="method_not_allowed",
                               message=str(exc.detail)), headers
    if isinstance(exc, drf.NotAcceptable):
        return 406, error_body(type="invalid_request_error", code="not_acceptable", message=str(exc.detail)), headers
    if isinstance(exc, drf.Throttled):
        wait = max(1, int(exc.wait or 1))
        headers["Retry-After"] = str(wait)
        return 429, error_body(type="rate_limit_error", code="rate_limit_exceeded",
                               message=f"Too many requests. Retry after {wait} seconds."), headers
    if isinstance(exc, drf.APIException):
        return exc.status_code, error_body(type="api_error", code=str(exc.default_code), message=str(exc.detail)), headers
    log.exception("unhandled error in API request", exc_info=exc)
    return 500, error_body(type="api_error", code="internal_error",
                           message="Something went wrong on our side. It is safe to retry with the same Idempotency-Key."), headers


def exception_handler(exc, context):
    status, body, headers = exception_to_envelope(exc)
    return Response(body, status=status, headers=headers)


def json_error(status: int, *, type: str, code: str, message: str, param: str | None = None,
               details: dict | None = None) -> JsonResponse:
    return JsonResponse(error_body(type=type, code=code, message=message, param=param, details=details),
                        status=status)

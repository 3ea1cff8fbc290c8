"""Request ids on every response, and the guarantee that nothing under /v2 answers with HTML."""
import logging

from django.conf import settings

from .api.errors import error_body, json_error
from .ids import new_id

log = logging.getLogger("revkeen.api")
API_PREFIX = "/v2/"


class RequestIdMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.request_id = new_id("req")
        response = self.get_response(request)
        response["Request-Id"] = request.request_id
        if request.path.startswith(API_PREFIX):
            response = self._ensure_json(request, response)
            if not response.has_header("RevKeen-Version"):
                response["RevKeen-Version"] = settings.REVKEEN_API_VERSION
        return response

    def _ensure_json(self, request, response):
        content_type = response.get("Content-Type", "")
        if response.status_code < 400 or content_type.startswith("application/json"):
            return response
        # Django produced an HTML error page (CSRF failure, 404 from the resolver, ...): replace it.
        codes = {403: ("permission_error", "permission_denied", "Permission denied."),
                 404: ("invalid_request_error", "resource_missing", "No such API route."),
                 405: ("invalid_request_error", "method_not_allowed", "Method not allowed.")}
        type_, code, message = codes.get(response.status_code, ("api_error", "internal_error", "Something went wrong."))
        replacement = json_error(response.status_code, type=type_, code=code, message=message)
        replacement["Request-Id"] = request.request_id
        return replacement

    def process_exception(self, request, exception):
        if request.path.startswith(API_PREFIX):
            log.exception("unhandled error under /v2", exc_info=exception)
            response = json_error(500, type="api_error", code="internal_error", message="Something went wrong on our side.")
            return response
        return None


__all__ = ["RequestIdMiddleware", "error_body"]

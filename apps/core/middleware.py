"""Request ids on every response, the guarantee that nothing under /v2 answers with HTML, and the API's
guards at the door (NUL characters, card data)."""
import json
import logging
from urllib.parse import parse_qsl, unquote

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation

from .api.errors import error_body, json_error
from .carddata import card_data_paths
from .ids import new_id

log = logging.getLogger("revkeen.api")
API_PREFIX = "/v2/"


class RequestIdMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.request_id = new_id("req")
        if request.path.startswith(API_PREFIX) and _has_nul(request):
            # PostgreSQL text cannot hold NUL; refuse it at the door rather than fail deep inside a query.
            response = json_error(400, type="invalid_request_error", code="invalid_characters",
                                  message="The URL contains a NUL character.")
        elif request.path.startswith(API_PREFIX) and (where := _card_data_in(request)):
            # Refused before anything reads, stores or logs the body: our API takes gateway tokens only.
            response = json_error(400, type="invalid_request_error", code="card_data_not_allowed", param=where,
                                  details={"fields": {where: ["card data is not accepted: send a payment token"]}},
                                  message=f"Card numbers and security codes must not be sent to the API ({where}). "
                                          "Tokenise the card with the gateway's tokenisation script and send "
                                          "the token instead.")
        else:
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
            if isinstance(exception, RequestDataTooBig):
                return json_error(413, type="invalid_request_error", code="request_too_large",
                                  message="The request body is larger than this API accepts.")
            if isinstance(exception, SuspiciousOperation):
                return json_error(400, type="invalid_request_error", code="invalid_request",
                                  message="The request could not be read.")
            log.exception("unhandled error under /v2", exc_info=exception)
            response = json_error(500, type="api_error", code="internal_error", message="Something went wrong on our side.")
            return response
        return None


def _card_data_in(request) -> str:
    """Where the query string or a JSON / form body holds card data ("" when nowhere)."""
    found = next(card_data_paths(dict(parse_qsl(request.META.get("QUERY_STRING", "")))), "")
    content_type = request.META.get("CONTENT_TYPE", "")
    if found or request.method in ("GET", "HEAD", "OPTIONS"):
        return found
    try:
        if content_type.startswith("application/json"):
            payload = json.loads(request.body or b"null")
        elif content_type.startswith("application/x-www-form-urlencoded"):
            payload = dict(parse_qsl(request.body.decode()))
        else:
            return ""
    except (ValueError, UnicodeDecodeError, RequestDataTooBig):
        return ""  # the view answers a malformed or oversized body with its own error
    return next(card_data_paths(payload), "")


def _has_nul(request) -> bool:
    return "\x00" in request.path or "\x00" in unquote(request.META.get("QUERY_STRING", ""))


__all__ = ["RequestIdMiddleware", "error_body"]

from django.views.decorators.csrf import csrf_exempt

from .errors import json_error


@csrf_exempt
def api_not_found(request, *args, **kwargs):
    return json_error(404, type="invalid_request_error", code="resource_missing",
                      message=f"No API route for {request.method} {request.path}.")

"""Django's own 404 for an /api/ URL that matches no route (``/api/leads/abc/decision/``), in
the JSON shape of the API's other 404s, as the OpenAPI document describes them."""

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found."}, status=404)
    return defaults.page_not_found(request, exception)

"""GET /health/: for load balancers and monitors. No login and no lead data."""

from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from leadhub.ops.selectors import health


@never_cache
@require_GET
def health_view(request: HttpRequest) -> JsonResponse:
    report = health()
    return JsonResponse(report.as_dict(), status=200 if report.ok else 503)

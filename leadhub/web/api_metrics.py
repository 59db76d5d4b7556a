"""``GET /api/metrics/<name>/``: the dashboard's numbers as JSON. The query parameters are
the dashboard's filters (``team``, ``rep``, ``source``, ``rule``, ``start``, ``end``, days as
YYYY-MM-DD, the end included; default the last 30 days); a bad one is a 400 naming the
field. Managers see their own team, RevOps everything; reps and intake keys get a 403."""

from collections.abc import Callable
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import permissions
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from leadhub.leads.auth import intake_key_of
from leadhub.throttles import MetricsThrottle
from leadhub.web import metrics
from leadhub.web.forms_dashboard import MetricFilterForm


class MetricsAccess(permissions.BasePermission):
    message = "Only managers and RevOps see the metrics."

    def has_permission(self, request, view) -> bool:
        if intake_key_of(request) is not None:
            raise PermissionDenied("An intake key may only create leads.")
        if not (request.user and request.user.is_authenticated):
            return False
        try:
            metrics.scope_of(request.user)
        except DjangoPermissionDenied:
            return False
        return True


FILTER_PARAMETERS = [
    OpenApiParameter("team", OpenApiTypes.INT, description="A team id (one you may see)."),
    OpenApiParameter("rep", OpenApiTypes.INT, description="A rep id (one you may see)."),
    OpenApiParameter("source", OpenApiTypes.STR, description="The lead's source."),
    OpenApiParameter(
        "rule", OpenApiTypes.STR, description="The routing rule of the automatic decision."
    ),
    OpenApiParameter("start", OpenApiTypes.DATE, description="First day (UTC)."),
    OpenApiParameter("end", OpenApiTypes.DATE, description="Last day (UTC), included."),
]


def metric_filter_from(request) -> metrics.MetricFilter:
    form = MetricFilterForm(request.query_params, user=request.user)
    if not form.is_valid():
        raise ValidationError(
            {
                field: [e["message"] for e in errors]
                for field, errors in form.errors.get_json_data().items()
            }
        )
    return form.metric_filter()


def _view(
    name: str, compute: Callable[[metrics.MetricFilter, Any], Any], description: str
) -> type[APIView]:
    class MetricView(APIView):
        permission_classes = [MetricsAccess]
        throttle_classes = [MetricsThrottle]

        @extend_schema(
            operation_id=f"metrics_{name}",
            tags=["metrics"],
            parameters=FILTER_PARAMETERS,
            responses={
                200: OpenApiResponse(OpenApiTypes.OBJECT, description=description),
                400: OpenApiResponse(OpenApiTypes.OBJECT, description="{field: [reasons]}"),
                403: OpenApiResponse(description="Not a manager or RevOps."),
            },
            description=description,
        )
        def get(self, request):
            return Response(compute(metric_filter_from(request), request.user))

    MetricView.__name__ = MetricView.__qualname__ = f"{name.capitalize()}MetricsView"
    return MetricView


SpeedMetricsView = _view(
    "speed",
    metrics.speed,
    "Speed to lead in seconds: `overall` and `daily` (by capture day) p50/p90/p95 and n of "
    "`assign` (captured→assigned), `notify` (assigned→in-app notification), `accept` "
    "(assigned→accepted), `touch` (assigned→first touch), over leads captured in the period. "
    "Without a `rep`, `source` or `rule` filter, days before today come from a rollup "
    "refreshed every 5 minutes (so at most 5 minutes stale; percentiles from log buckets, "
    "within 1 % + 0.01 s of the exact ones, `n` exact); today and any filtered view are live "
    "and exact.",
)
SlaMetricsView = _view(
    "sla",
    metrics.sla,
    "SLA compliance (met ÷ (met + breached)) of clocks started in the period: `total`, "
    "`by_policy`, `by_team`, `by_rep`; `breaches` counts breach events by what the ladder "
    "did (reassigned, escalated, triaged, recorded); `events` the latest 50.",
)
AcceptanceMetricsView = _view(
    "acceptance",
    metrics.acceptance,
    "Leads assigned in the period: accepted, pending, declined per rep and in `total`; "
    "rate = accepted ÷ (accepted + declined); `decline_reasons` with counts.",
)
ConversionMetricsView = _view(
    "conversion",
    metrics.conversion,
    "Leads captured in the period: leads, closed, converted and rate = converted ÷ closed, "
    "in `total`, `by_rep`, `by_rule` (routing path) and `by_source`.",
)
FairnessMetricsView = _view(
    "fairness",
    lambda f, user: {"pools": metrics.fairness(f, user)},
    "Per pool (`pools`), over rotation decisions of the period not refunded: each member's "
    "count and score, share, target share (weights) and deviation; max deviation and Gini "
    "of share ÷ target, by count and by score.",
)
WorkloadMetricsView = _view(
    "workload",
    metrics.workload,
    "Now: `reps` with open leads, max_open and utilisation; `queues`: triage and claim "
    "queues with leads waiting and the oldest wait in seconds.",
)

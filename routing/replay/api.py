"""``POST /api/rulesets/{draft|version}/replay/`` asks for a replay and answers at once
(202) with its report's id and ``status: running``: the replay itself runs in the
housekeeping lane. ``GET /api/replays/`` lists the reports and ``GET /api/replays/{id}/``
reads one (``running``, ``done`` or ``failed`` with its ``error``), with its changed leads a
page at a time (``?page=&page_size=``). RevOps only."""

import math
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import permissions, serializers, status
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from leadhub.leads.auth import intake_key_of
from reps.models import Rep
from reps.selectors import user_sees_everything
from routing.models import Pool, ReplayReport
from routing.replay.services import MAX_DAYS, ReplayError, replay_request, replay_ruleset

PAGE_SIZE, MAX_PAGE_SIZE = 50, 200


class RevOpsOnly(permissions.BasePermission):
    message = "Only RevOps replay rule sets and read replays."

    def has_permission(self, request, view) -> bool:
        if intake_key_of(request) is not None:
            raise PermissionDenied("An intake key may only create leads.")
        return bool(request.user and user_sees_everything(request.user))


class ReplayRequestSerializer(serializers.Serializer):
    days = serializers.IntegerField(min_value=1, max_value=MAX_DAYS, default=30)


class ReplayCreatedSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    url = serializers.CharField()
    status = serializers.CharField()


class ReplaySerializer(serializers.ModelSerializer):
    created_by = serializers.StringRelatedField()

    class Meta:
        model = ReplayReport
        fields = [
            "id",
            "ruleset_label",
            "days",
            "window_start",
            "window_end",
            "created_at",
            "created_by",
            "status",
            "error",
            "finished_at",
            "leads",
            "changed",
            "seconds",
        ]


class PageSerializer(serializers.Serializer):
    page = serializers.IntegerField(min_value=1, max_value=10**6, default=1)
    page_size = serializers.IntegerField(min_value=1, max_value=MAX_PAGE_SIZE, default=PAGE_SIZE)


class ReplayRunView(APIView):
    permission_classes = [RevOpsOnly]

    @extend_schema(
        request=ReplayRequestSerializer,
        responses={
            202: ReplayCreatedSerializer,
            400: OpenApiResponse(OpenApiTypes.OBJECT, description="{field: [reasons]}"),
            404: OpenApiResponse(description="No such version, or no draft."),
        },
        description="Ask for a replay of the last `days` days' leads with the draft or a "
        "version. Answers at once with the report's id (status `running`); the replay runs "
        "in the background and writes only the report: read it with `GET /api/replays/{id}/`.",
    )
    def post(self, request, ref: str):
        serializer = ReplayRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            ruleset = replay_ruleset(ref)
            report = replay_request(
                ruleset=ruleset, days=serializer.validated_data["days"], actor=request.user
            )
        except ReplayError as exc:
            if exc.missing:
                raise NotFound(str(exc)) from None
            raise serializers.ValidationError({exc.field: [str(exc)]}) from None
        data = {"id": report.pk, "url": f"/api/replays/{report.pk}/", "status": report.status}
        return Response(data, status=status.HTTP_202_ACCEPTED)


class ReplayListView(APIView):
    permission_classes = [RevOpsOnly]

    @extend_schema(responses={200: ReplaySerializer(many=True)})
    def get(self, request):
        reports = ReplayReport.objects.select_related("created_by").defer("summary", "changes")
        return Response(ReplaySerializer(reports[:100], many=True).data)


class ReplayDetailView(APIView):
    permission_classes = [RevOpsOnly]

    @extend_schema(
        parameters=[
            OpenApiParameter("page", int, description="Page of changed leads (1)"),
            OpenApiParameter("page_size", int, description=f"1 to {MAX_PAGE_SIZE} ({PAGE_SIZE})"),
        ],
        responses={
            200: OpenApiTypes.OBJECT,
            400: OpenApiResponse(OpenApiTypes.OBJECT, description="{page|page_size: [reason]}"),
            404: OpenApiResponse(description="No such replay."),
        },
        description="A replay's report: `status` (`running`, `done`, or `failed` with "
        "`error`); when done, its figures, and its changed leads a page at a time, each with "
        "the stored decision's explanation and the replayed one's.",
    )
    def get(self, request, pk: int):
        page = PageSerializer(data=request.query_params)
        page.is_valid(raise_exception=True)
        report = ReplayReport.objects.select_related("created_by").filter(pk=pk).first()
        if report is None:
            raise NotFound("No such replay.")
        number, size = page.validated_data["page"], page.validated_data["page_size"]
        results = report.changes[(number - 1) * size : number * size]
        return Response(
            {
                **ReplaySerializer(report).data,
                "summary": report.summary,
                "changes": {
                    "count": len(report.changes),
                    "page": number,
                    "pages": max(1, math.ceil(len(report.changes) / size)),
                    "page_size": size,
                    "results": with_names(results),
                },
            }
        )


def with_names(changes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The changes with their reps' and pools' names (as they are now)."""
    sides = [c[side] for c in changes for side in ("before", "after") if c.get(side)]
    rep_ids = {s["rep_id"] for s in sides if s.get("rep_id")}
    pool_ids = {s["pool_id"] for s in sides if s.get("pool_id")}
    reps = {r.pk: r.display_name for r in Rep.objects.select_related("user").filter(pk__in=rep_ids)}
    pools = dict(Pool.objects.filter(pk__in=pool_ids).values_list("pk", "name"))
    for side in sides:
        side["rep"] = reps.get(side.get("rep_id"), "")
        side["pool"] = pools.get(side.get("pool_id"), "")
    return changes

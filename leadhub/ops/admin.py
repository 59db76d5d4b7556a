"""The health of the running LeadHub for RevOps: the facts GET /health/ serves, above the
heartbeat rows they come from. Read-only: processes write these rows."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse

from leadhub.ops.models import Heartbeat
from leadhub.ops.selectors import health
from reps.selectors import user_sees_everything


@admin.register(Heartbeat)
class HeartbeatAdmin(admin.ModelAdmin):
    change_list_template = "admin/ops/heartbeat/change_list.html"
    list_display = ("name", "beat_at", "host", "pid")
    readonly_fields = ("name", "beat_at", "host", "pid", "detail")

    def has_module_permission(self, request: HttpRequest) -> bool:
        return user_sees_everything(request.user)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return user_sees_everything(request.user)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        report = health()
        context = {
            **(extra_context or {}),
            "title": "Health: lanes, queues and the ticker",
            "health": report,
            "health_lanes": sorted(report.lanes.items()),
        }
        return super().changelist_view(request, extra_context=context)

"""Replays in the admin: "Replay the last 30 days" on a rule set's page asks for one (RevOps
only; it runs in the housekeeping lane) and opens its report, which shows "running" and
reloads itself until it is done; then the figures and the changed leads a page at a time,
each with both explanations. Reports are never edited."""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path

from reps.selectors import user_sees_everything
from routing.models import ReplayReport, RuleSet
from routing.replay.api import with_names
from routing.replay.services import MAX_DAYS, ReplayError, replay_request

PAGE_SIZE = 25


class ReplayForm(forms.Form):
    days = forms.IntegerField(min_value=1, max_value=MAX_DAYS, initial=30)


@admin.register(ReplayReport)
class ReplayReportAdmin(admin.ModelAdmin):
    list_display = [
        "__str__",
        "ruleset_label",
        "status",
        "leads",
        "changed",
        "seconds",
        "created_by",
    ]
    list_filter = ["status", "ruleset_label"]
    date_hierarchy = "created_at"

    def get_queryset(self, request: HttpRequest):
        return super().get_queryset(request).defer("changes").select_related("created_by")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return user_sees_everything(request.user)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return user_sees_everything(request.user)

    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view
        return [
            path("run/<int:ruleset_pk>/", view(self.run_view), name="routing_replayreport_run"),
            *super().get_urls(),
        ]

    def run_view(self, request: HttpRequest, ruleset_pk: int) -> HttpResponse:
        if not user_sees_everything(request.user):
            raise PermissionDenied
        ruleset = get_object_or_404(RuleSet, pk=ruleset_pk)
        form = ReplayForm(request.POST or None, initial={"days": 30})
        if request.method == "POST" and form.is_valid():
            try:
                report = replay_request(
                    ruleset=ruleset, days=form.cleaned_data["days"], actor=request.user
                )
            except ReplayError as exc:
                form.add_error(exc.field if exc.field in form.fields else None, str(exc))
            else:
                self.message_user(
                    request,
                    f"Replaying the last {report.days} days with {ruleset}: the report "
                    "fills in when it is done.",
                    messages.SUCCESS,
                )
                return redirect("admin:routing_replayreport_change", report.pk)
        context = {
            **self.admin_site.each_context(request),
            "opts": RuleSet._meta,
            "original": ruleset,
            "title": f"Replay the last 30 days with {ruleset}",
            "text": "Every lead captured in the window is decided again with these rules, in "
            "capture order, on a simulated rotation and load; nothing is written but the "
            "report. Presence is not stored over time: every rep is taken as online.",
            "button": "Replay",
            "form": form,
        }
        return TemplateResponse(request, "admin/routing/ruleset/confirm.html", context)

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        report = get_object_or_404(ReplayReport, pk=object_id)
        page = Paginator(report.changes, PAGE_SIZE).get_page(request.GET.get("page"))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "original": None,
            "title": str(report),
            "report": report,
            "running": report.status == ReplayReport.Status.RUNNING,
            "s": report.summary,
            "page": page,
            "changes": with_names(list(page.object_list)),
        }
        return TemplateResponse(request, "admin/routing/replayreport/report.html", context)

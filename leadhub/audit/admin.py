"""The audit log in the admin: the list of every recorded change (filter by model, actor,
source, action and date), and each audited object's History page showing its own changes
(whether made in the admin, through the API or by a playbook import)."""

from auditlog.admin import LogEntryAdmin
from auditlog.filters import ResourceTypeFilter
from auditlog.models import LogEntry
from auditlog.registry import auditlog
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from leadhub.changes import SOURCES

HISTORY_TEMPLATE = "admin/audit/object_history.html"


class SourceFilter(admin.SimpleListFilter):
    title = "source"
    parameter_name = "source"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list:
        return [(source, source) for source in SOURCES]

    def queryset(self, request: HttpRequest, queryset: QuerySet[LogEntry]) -> QuerySet[LogEntry]:
        if self.value() is None:
            return queryset
        return queryset.filter(additional_data__source=self.value())


admin.site.unregister(LogEntry)


@admin.register(LogEntry)
class AuditEntryAdmin(LogEntryAdmin):
    list_display = ["created", "resource_url", "action", "msg_short", "user_url", "source"]
    list_filter = [
        "action",
        SourceFilter,
        ResourceTypeFilter,
        ("actor", admin.RelatedOnlyFieldListFilter),
        "timestamp",
    ]
    fieldsets = [
        (None, {"fields": ["created", "user_url", "source", "resource_url", "remote_addr"]}),
        ("Changes", {"fields": ["action", "msg"]}),
    ]
    readonly_fields = [*LogEntryAdmin.readonly_fields, "source", "remote_addr"]

    @admin.display(description="Source")
    def source(self, obj: LogEntry) -> str:
        return (obj.additional_data or {}).get("source", "")


def attach_history(site: admin.AdminSite) -> None:
    """Each audited model's History page (the button on its change page) lists the
    object's audit entries under the admin's own history."""
    for model, model_admin in site._registry.items():
        if auditlog.contains(model):
            model_admin.object_history_template = HISTORY_TEMPLATE

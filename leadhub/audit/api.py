"""``GET /api/audit/``: who changed what in the set-up, newest first, for RevOps only.

Filters: ``model`` (``routing.pool``: an audited model), ``object_id``, ``actor`` (a
username), ``source`` (admin, api, web, playbook, command), ``action`` (create, update,
delete), ``since`` and ``until`` (ISO 8601 times: since ≤ time < until). A bad value is a
400 naming the filter."""

from typing import Any

import django_filters
from auditlog.models import LogEntry
from django import forms
from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import generics, permissions, serializers
from rest_framework.exceptions import PermissionDenied

from leadhub.audit.registry import audited_types
from leadhub.changes import SOURCES
from leadhub.leads.auth import intake_key_of
from leadhub.leads.filters import DateTimeFilter, FilterSet
from reps.selectors import user_sees_everything

ACTIONS = {
    "create": LogEntry.Action.CREATE,
    "update": LogEntry.Action.UPDATE,
    "delete": LogEntry.Action.DELETE,
}
ACTION_NAMES = {number: name for name, number in ACTIONS.items()}
BIGINT_MAX = 2**63 - 1


class AuditAccess(permissions.BasePermission):
    message = "Only RevOps read the audit log."

    def has_permission(self, request, view) -> bool:
        if intake_key_of(request) is not None:
            raise PermissionDenied("An intake key may only create leads.")
        user = request.user
        return bool(user and user.is_authenticated and user_sees_everything(user))


class IntegerFilter(django_filters.Filter):
    field_class = forms.IntegerField


class AuditFilter(FilterSet):
    model = django_filters.ChoiceFilter(
        choices=lambda: [(label, label) for label in audited_types()],
        method="filter_model",
        help_text="An audited model as app_label.model_name, e.g. routing.pool.",
    )
    object_id = IntegerFilter(field_name="object_id", min_value=0, max_value=BIGINT_MAX)
    actor = django_filters.CharFilter(
        field_name="actor__username", max_length=150, help_text="The actor's username."
    )
    source = django_filters.ChoiceFilter(
        choices=[(source, source) for source in SOURCES], field_name="additional_data__source"
    )
    action = django_filters.ChoiceFilter(
        choices=[(name, name) for name in ACTIONS], method="filter_action"
    )
    since = DateTimeFilter(field_name="timestamp", lookup_expr="gte")
    until = DateTimeFilter(field_name="timestamp", lookup_expr="lt")

    class Meta:
        model = LogEntry
        fields: list[str] = []

    def filter_model(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        app_label, model = value.split(".")
        return queryset.filter(content_type__app_label=app_label, content_type__model=model)

    def filter_action(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(action=ACTIONS[value])


class ActorSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField(source="get_username")


class AuditEntrySerializer(serializers.ModelSerializer):
    action = serializers.SerializerMethodField()
    model = serializers.SerializerMethodField()
    object_id = serializers.CharField(source="object_pk")
    actor = ActorSerializer(allow_null=True)
    source = serializers.SerializerMethodField()
    changes = serializers.SerializerMethodField()

    class Meta:
        model = LogEntry
        fields = [
            "id",
            "timestamp",
            "action",
            "model",
            "object_id",
            "object_repr",
            "actor",
            "source",
            "changes",
            "remote_addr",
        ]

    @extend_schema_field(serializers.ChoiceField(choices=[*ACTIONS, "access"]))
    def get_action(self, entry: LogEntry) -> str:
        return ACTION_NAMES.get(entry.action, "access")

    @extend_schema_field(OpenApiTypes.STR)
    def get_model(self, entry: LogEntry) -> str:
        return f"{entry.content_type.app_label}.{entry.content_type.model}"

    @extend_schema_field(OpenApiTypes.STR)
    def get_source(self, entry: LogEntry) -> str:
        return (entry.additional_data or {}).get("source", "")

    @extend_schema_field(
        {
            "type": "object",
            "description": "field: [before, after]; a many-to-many field: "
            '{"type": "m2m", "operation": "add"|"delete", "objects": [...]}.',
            "additionalProperties": True,
        }
    )
    def get_changes(self, entry: LogEntry) -> dict[str, Any]:
        return entry.changes_dict


class AuditLogView(generics.ListAPIView):
    """Every recorded change to the set-up (reps, teams, pools, territories, rules and
    publications, SLA policies, calendars, scoring, intake keys, web forms, webhooks):
    who, when, from where, and each field's value before and after."""

    permission_classes = [AuditAccess]
    serializer_class = AuditEntrySerializer
    filterset_class = AuditFilter
    queryset = LogEntry.objects.select_related("content_type", "actor").order_by(
        "-timestamp", "-pk"
    )

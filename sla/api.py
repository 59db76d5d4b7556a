"""REST endpoints for a rep's own in-app notifications: the list (unread first) and marking
one read. Another rep's notification is a 404, never a 403, so its existence does not leak;
intake keys may do nothing here."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, permissions, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from leadhub.leads.auth import intake_key_of
from sla.models import Notification
from sla.selectors import notifications_of
from sla.services import notification_mark_read

NOT_FOUND = OpenApiResponse(description="No such notification, or not one of yours.")


class NotificationAccess(permissions.BasePermission):
    message = "An intake key may only create leads."

    def has_permission(self, request, view) -> bool:
        if intake_key_of(request) is not None:
            return False
        return bool(request.user and request.user.is_authenticated)


class NotificationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Notification
        fields = ["id", "event", "title", "lead", "payload", "created_at", "read_at"]
        read_only_fields = fields


@extend_schema_view(
    list=extend_schema(
        parameters=[OpenApiParameter("unread", OpenApiTypes.BOOL, description="1: unread only.")],
        description="Your in-app notifications, unread first, then newest first.",
    )
)
class NotificationViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    permission_classes = [NotificationAccess]
    serializer_class = NotificationSerializer
    filter_backends = []

    def get_queryset(self):
        unread = self.request.query_params.get("unread", "").lower() in {"1", "true", "yes"}
        return notifications_of(self.request.user, unread_only=unread)

    @extend_schema(request=None, responses={200: NotificationSerializer, 404: NOT_FOUND})
    @action(detail=True, methods=["post"])
    def read(self, request, pk=None):
        note = notification_mark_read(notification=self.get_object())
        return Response(NotificationSerializer(note).data)

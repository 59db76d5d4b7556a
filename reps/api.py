"""REST endpoints for teams and reps, a rep's presence and their time off.

Who sees what is reps.selectors' (RevOps and staff everyone, a manager their team, a rep
themself); a rep outside that set is a 404, never a 403, so its existence does not leak.
Writes to teams and rep settings are RevOps'; presence and time off also the rep's own
and their manager's. Intake keys may do nothing here.
"""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Prefetch
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from reps.models import Rep, TimeOff
from reps.selectors import (
    rep_can_manage,
    reps_visible_to,
    teams_visible_to,
    user_sees_everything,
)
from reps.serializers import PresenceSerializer, RepSerializer, TeamSerializer, TimeOffSerializer
from reps.services import (
    rep_create,
    rep_set_presence,
    rep_update,
    team_create,
    team_update,
    time_off_add,
    time_off_remove,
)

# Actions anyone who can see the row may take; every other write is RevOps'.
OWN_ACTIONS = {"list", "retrieve", "presence", "time_off", "time_off_delete"}

NOT_FOUND = OpenApiResponse(description="No such rep, or not one you may see.")
BAD_INPUT = OpenApiResponse(description="{field: [reasons]}")


class RepsAccess(permissions.BasePermission):
    """Signed-in users only (an intake key gets a 403); writes other than presence and time
    off need RevOps."""

    message = "RevOps only."

    def has_permission(self, request, view) -> bool:
        if request.auth is not None and not request.user.is_authenticated:
            # Authenticated, but as no user: an intake key (leadhub.leads.auth).
            raise PermissionDenied("An intake key may only create leads.")
        if not (request.user and request.user.is_authenticated):
            return False
        return view.action in OWN_ACTIONS or user_sees_everything(request.user)


def as_drf_error(exc: DjangoValidationError) -> serializers.ValidationError:
    if hasattr(exc, "error_dict"):
        return serializers.ValidationError(exc.message_dict)
    return serializers.ValidationError({"non_field_errors": exc.messages})


class TeamViewSet(mixins.CreateModelMixin, mixins.UpdateModelMixin, viewsets.ReadOnlyModelViewSet):
    permission_classes = [RepsAccess]
    serializer_class = TeamSerializer

    def get_queryset(self):
        return teams_visible_to(self.request.user)

    def perform_create(self, serializer):
        try:
            serializer.instance = team_create(**serializer.validated_data)
        except DjangoValidationError as exc:
            raise as_drf_error(exc) from exc

    def perform_update(self, serializer):
        try:
            team_update(team=serializer.instance, **serializer.validated_data)
        except DjangoValidationError as exc:
            raise as_drf_error(exc) from exc


@extend_schema_view(
    retrieve=extend_schema(responses={200: RepSerializer, 404: NOT_FOUND}),
    update=extend_schema(responses={200: RepSerializer, 400: BAD_INPUT, 404: NOT_FOUND}),
    partial_update=extend_schema(responses={200: RepSerializer, 400: BAD_INPUT, 404: NOT_FOUND}),
)
class RepViewSet(mixins.CreateModelMixin, mixins.UpdateModelMixin, viewsets.ReadOnlyModelViewSet):
    permission_classes = [RepsAccess]
    serializer_class = RepSerializer
    filterset_fields = ["team", "role", "active", "presence"]

    def get_queryset(self):
        upcoming = TimeOff.objects.filter(end__gt=timezone.now()).order_by("start")
        return reps_visible_to(self.request.user).prefetch_related(
            "working_hours",
            "skills",
            Prefetch("time_off", queryset=upcoming, to_attr="upcoming_time_off"),
        )

    def perform_create(self, serializer):
        try:
            rep = rep_create(**serializer.to_service_kwargs())
        except DjangoValidationError as exc:
            raise as_drf_error(exc) from exc
        serializer.instance = self.get_queryset().get(pk=rep.pk)

    def perform_update(self, serializer):
        try:
            rep_update(rep=serializer.instance, **serializer.to_service_kwargs())
        except DjangoValidationError as exc:
            raise as_drf_error(exc) from exc
        serializer.instance = self.get_queryset().get(pk=serializer.instance.pk)

    def get_managed_rep(self) -> Rep:
        """The rep in the URL, if the user may set their presence and time off. Today
        everyone who can see a rep may; the check stays explicit should seeing widen."""
        rep = self.get_object()
        if not rep_can_manage(self.request.user, rep):
            raise PermissionDenied("Only the rep, their team's manager or RevOps may.")
        return rep

    @extend_schema(
        request=PresenceSerializer,
        responses={200: PresenceSerializer, 400: BAD_INPUT, 404: NOT_FOUND},
        description="Set presence (available / away / offline): the rep themself, their "
        "team's manager, or RevOps.",
    )
    @action(detail=True, methods=["post"], filter_backends=[])
    def presence(self, request, pk=None):
        rep = self.get_managed_rep()
        serializer = PresenceSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        rep = rep_set_presence(
            rep=rep, presence=serializer.validated_data["presence"], actor=request.user
        )
        return Response(PresenceSerializer(rep).data)

    @extend_schema(
        methods=["GET"],
        responses={200: TimeOffSerializer(many=True), 404: NOT_FOUND},
        description="The rep's time off, past and coming, oldest first.",
    )
    @extend_schema(
        methods=["POST"],
        request=TimeOffSerializer,
        responses={201: TimeOffSerializer, 400: BAD_INPUT, 404: NOT_FOUND},
        description="Add time off (start < end, aware datetimes, no overlap with another "
        "period): the rep themself, their team's manager, or RevOps.",
    )
    @action(
        detail=True,
        methods=["get", "post"],
        url_path="time-off",
        filter_backends=[],
        pagination_class=None,
    )
    def time_off(self, request, pk=None):
        rep = self.get_managed_rep()
        if request.method == "GET":
            periods = rep.time_off.order_by("start")
            return Response(TimeOffSerializer(periods, many=True).data)
        serializer = TimeOffSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            period = time_off_add(
                rep=rep,
                start=serializer.validated_data["start"],
                end=serializer.validated_data["end"],
                reason=serializer.validated_data.get("reason", ""),
                actor=request.user,
            )
        except DjangoValidationError as exc:
            raise as_drf_error(exc) from exc
        return Response(TimeOffSerializer(period).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={204: None, 404: NOT_FOUND})
    @action(
        detail=True,
        methods=["delete"],
        url_path=r"time-off/(?P<time_off_id>\d+)",
        filter_backends=[],
    )
    def time_off_delete(self, request, pk=None, time_off_id=None):
        rep = self.get_managed_rep()
        period = get_object_or_404(TimeOff, pk=time_off_id, rep=rep)
        time_off_remove(time_off=period, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

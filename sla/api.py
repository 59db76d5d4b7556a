"""REST endpoints for the people working leads: a rep's own in-app notifications (the list,
unread first, and marking one read), the work on a lead (accept, decline, touch, status,
claim, release) and the claim queues with their waiting leads; and, for RevOps, the webhook
subscriptions (with their secrets' rotation).

Another rep's notification or lead is a 404, never a 403, so its existence does not leak;
intake keys may do nothing here."""

from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import OuterRef, Prefetch, Subquery
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from leadhub.leads.auth import intake_key_of
from leadhub.leads.intake import LeadDataError
from leadhub.leads.models import Lead
from leadhub.leads.services import (
    LeadTransitionError,
    lead_accept,
    lead_set_status,
    lead_touch,
)
from reps.models import Rep
from reps.selectors import rep_of, user_sees_everything
from routing import services as routing
from routing.models import Decision
from routing.selectors import (
    claim_queues_for,
    lead_action_refusal,
    queued_leads,
    user_may_see_lead,
)
from sla.models import Notification, SlaClock, WebhookSubscription
from sla.selectors import notifications_of
from sla.serializers import (
    LEADS_PER_QUEUE,
    DeclineSerializer,
    LeadRoutedSerializer,
    LeadWorkSerializer,
    QueueSerializer,
    StatusSerializer,
    TouchSerializer,
    WebhookRotateSerializer,
    WebhookSecretSerializer,
    WebhookSubscriptionSerializer,
)
from sla.services import (
    notification_mark_read,
    webhook_subscription_create,
    webhook_subscription_delete,
    webhook_subscription_regenerate_secret,
    webhook_subscription_update,
)

NOT_FOUND = OpenApiResponse(description="No such notification, or not one of yours.")


class PersonAccess(permissions.BasePermission):
    """Signed-in people; an intake key is a 403 (it may only create leads)."""

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
    permission_classes = [PersonAccess]
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


# --- A rep's work on a lead ---------------------------------------------------------------
#
# Who may do what is routing.selectors' answer, the same the pages ask: a lead the user may
# not see (``user_may_see_lead``) is a 404, as a missing lead; a lead they see but may not
# act on is a 403 naming who may (``lead_action_refusal``). Then the service of the lead's
# lifecycle (leadhub.leads) or of routing decides: a refusal of the lead's state is a 409,
# bad input a 400 naming the field. The SLA clocks and the announcements follow from the
# layers' signals (sla.receivers).

NO_LEAD = OpenApiResponse(description="No such lead, or not one you may see.")
NOT_YOURS = OpenApiResponse(description="You see the lead but may not do this to it.")
REFUSED = OpenApiResponse(
    OpenApiTypes.OBJECT, description='{"detail": why}: the lead\'s state does not allow it.'
)
BAD_INPUT = OpenApiResponse(OpenApiTypes.OBJECT, description="{field: [reasons]}")


def _answer(lead_id: int, decision: Decision | None = None) -> Response:
    live = SlaClock.objects.filter(
        status__in=(SlaClock.Status.RUNNING, SlaClock.Status.PAUSED)
    ).order_by("due_at", "pk")
    lead = Lead.objects.prefetch_related(
        Prefetch("sla_clocks", queryset=live, to_attr="live_clocks")
    ).get(pk=lead_id)
    if decision is None:
        return Response(LeadWorkSerializer(lead).data)
    return Response(LeadRoutedSerializer(lead, context={"decision": decision}).data)


class _LeadWorkView(APIView):
    """Find the lead, check who may act, parse the body, call the service, answer."""

    permission_classes = [PersonAccess]
    input_serializer: type[serializers.Serializer] | None = None
    # The action's name in routing.selectors.LEAD_ACTIONS.
    lead_action = ""

    def perform(self, lead: Lead, me: Rep | None, data: dict, actor) -> Decision | None:
        """Call the service. ``me`` is the user's rep: one for every action but a status
        change, which RevOps may make without one (``lead_action_refusal`` saw to it)."""
        raise NotImplementedError

    def post(self, request, pk: int) -> Response:
        if not user_may_see_lead(request.user, pk):
            raise NotFound()
        lead = Lead.objects.select_related("owner").get(pk=pk)
        refusal = lead_action_refusal(request.user, lead, self.lead_action)
        if refusal is not None and refusal.forbidden:
            raise PermissionDenied(refusal.message)
        data: dict = {}
        if self.input_serializer is not None:
            serializer = self.input_serializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            data = serializer.validated_data
        if refusal is not None:
            return Response({"detail": refusal.message}, status=status.HTTP_409_CONFLICT)
        try:
            decision = self.perform(lead, rep_of(request.user), data, request.user)
        except LeadDataError as exc:
            raise serializers.ValidationError(exc.errors) from exc
        except (LeadTransitionError, routing.RoutingError) as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        return _answer(lead.pk, decision)


def _work_schema(description: str, request=None, response=LeadWorkSerializer):
    responses = {200: response, 403: NOT_YOURS, 404: NO_LEAD, 409: REFUSED}
    if request is not None:
        responses[400] = BAD_INPUT
    return extend_schema(request=request, responses=responses, description=description)


class LeadAcceptView(_LeadWorkView):
    lead_action = "accept"

    @_work_schema("The owner takes the lead on: it becomes accepted; its accept clock is met.")
    def post(self, request, pk: int) -> Response:
        return super().post(request, pk)

    def perform(self, lead, me, data, actor):
        lead_accept(lead_id=lead.pk, rep_id=me.pk, actor=actor)


class LeadDeclineView(_LeadWorkView):
    lead_action = "decline"
    input_serializer = DeclineSerializer

    @_work_schema(
        "The owner says no, with a reason: the lead is routed again without them (to "
        "triage when nobody is left). Returns the lead and its new decision.",
        request=DeclineSerializer,
        response=LeadRoutedSerializer,
    )
    def post(self, request, pk: int) -> Response:
        return super().post(request, pk)

    def perform(self, lead, me, data, actor):
        return routing.lead_decline(
            lead_id=lead.pk, rep_id=me.pk, reason=data["reason"], actor=actor
        )


class LeadTouchView(_LeadWorkView):
    lead_action = "touch"
    input_serializer = TouchSerializer

    @_work_schema(
        "The owner logs a call, an email or a meeting. The first stamps first_touch_at and "
        "meets the touch clock; an assigned or accepted lead becomes contacted.",
        request=TouchSerializer,
    )
    def post(self, request, pk: int) -> Response:
        return super().post(request, pk)

    def perform(self, lead, me, data, actor):
        lead_touch(lead_id=lead.pk, rep_id=me.pk, kind=data["kind"], note=data["note"], actor=actor)


class LeadStatusView(_LeadWorkView):
    lead_action = "status"
    input_serializer = StatusSerializer

    @_work_schema(
        "Move the lead along its lifecycle (contacted, qualified, converted, disqualified, "
        "junk, nurture): the owner, their team's manager (of an unowned queued lead, the "
        "queue's team's), RevOps. Statuses routing sets, and accepted, are a 400.",
        request=StatusSerializer,
    )
    def post(self, request, pk: int) -> Response:
        return super().post(request, pk)

    def perform(self, lead, me, data, actor):
        lead_set_status(lead_id=lead.pk, status=data["status"], reason=data["reason"], actor=actor)


class LeadClaimView(_LeadWorkView):
    lead_action = "claim"

    @_work_schema(
        "A member of the lead's claim queue takes it: it is assigned to them. A lead "
        "already claimed is a 409 naming who has it; so is holding the queue's claim limit, "
        "being at a cap of leads (open, per day, per week) or being absent (switched off, "
        "offline, on time off or a holiday), each named.",
        response=LeadRoutedSerializer,
    )
    def post(self, request, pk: int) -> Response:
        return super().post(request, pk)

    def perform(self, lead, me, data, actor):
        return routing.lead_claim(lead_id=lead.pk, rep=me, actor=actor)


class LeadReleaseView(_LeadWorkView):
    lead_action = "release"

    @_work_schema(
        "The rep who claimed the lead gives it back to its queue (before working it): "
        "queued again, with a new claim clock.",
        response=LeadRoutedSerializer,
    )
    def post(self, request, pk: int) -> Response:
        return super().post(request, pk)

    def perform(self, lead, me, data, actor):
        return routing.lead_release(lead_id=lead.pk, rep=me, actor=actor)


class QueueListView(APIView):
    permission_classes = [PersonAccess]

    @extend_schema(
        responses={200: QueueSerializer(many=True)},
        description="The claim queues you work (a manager: also their team's; RevOps: all), "
        f"each with its count of waiting leads and the oldest {LEADS_PER_QUEUE} of them, "
        "oldest first, with when each claim clock runs out.",
    )
    def get(self, request) -> Response:
        claim_due = SlaClock.objects.filter(
            lead=OuterRef("pk"),
            kind=SlaClock.Kind.CLAIM,
            status__in=(SlaClock.Status.RUNNING, SlaClock.Status.PAUSED),
        ).order_by("-started_at", "-pk")
        queues = list(claim_queues_for(request.user))
        for queue in queues:
            queue.waiting_leads = list(
                queued_leads(queue).annotate(claim_due_at=Subquery(claim_due.values("due_at")[:1]))[
                    :LEADS_PER_QUEUE
                ]
            )
        return Response(QueueSerializer(queues, many=True).data)


# --- Webhook subscriptions ------------------------------------------------------------------

NO_SUBSCRIPTION = OpenApiResponse(description="No such subscription.")


class RevOpsAccess(permissions.BasePermission):
    message = "Only RevOps manage webhook subscriptions."

    def has_permission(self, request, view) -> bool:
        if intake_key_of(request) is not None:
            raise PermissionDenied("An intake key may only create leads.")
        return bool(request.user and user_sees_everything(request.user))


def _as_drf_error(exc: DjangoValidationError) -> serializers.ValidationError:
    if hasattr(exc, "error_dict"):
        return serializers.ValidationError(exc.message_dict)
    return serializers.ValidationError({"non_field_errors": exc.messages})


@extend_schema_view(
    list=extend_schema(description="Every webhook subscription (never its secret)."),
    retrieve=extend_schema(responses={200: WebhookSubscriptionSerializer, 404: NO_SUBSCRIPTION}),
    create=extend_schema(
        request=WebhookSubscriptionSerializer,
        responses={201: WebhookSecretSerializer, 400: BAD_INPUT},
        description="A new subscription. The answer carries its signing secret (whsec_…), "
        "shown this once.",
    ),
    update=extend_schema(responses={200: WebhookSubscriptionSerializer, 404: NO_SUBSCRIPTION}),
    partial_update=extend_schema(
        responses={200: WebhookSubscriptionSerializer, 404: NO_SUBSCRIPTION}
    ),
    destroy=extend_schema(
        description="Delete the subscription and its deliveries (queued ones are not sent)."
    ),
)
class WebhookSubscriptionViewSet(viewsets.ModelViewSet):
    """RevOps manage the systems LeadHub POSTs events to."""

    permission_classes = [RevOpsAccess]
    serializer_class = WebhookSubscriptionSerializer
    queryset = WebhookSubscription.objects.order_by("name", "pk")
    filter_backends = []

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            subscription = webhook_subscription_create(**serializer.validated_data)
        except DjangoValidationError as exc:
            raise _as_drf_error(exc) from exc
        return Response(WebhookSecretSerializer(subscription).data, status=status.HTTP_201_CREATED)

    def perform_update(self, serializer):
        try:
            webhook_subscription_update(
                subscription=serializer.instance, **serializer.validated_data
            )
        except DjangoValidationError as exc:
            raise _as_drf_error(exc) from exc

    def perform_destroy(self, instance):
        webhook_subscription_delete(subscription=instance)

    @extend_schema(
        request=WebhookRotateSerializer,
        responses={200: WebhookSecretSerializer, 400: BAD_INPUT, 404: NO_SUBSCRIPTION},
        description="A new signing secret, shown this once, in force at once. For "
        "grace_hours the old one signs beside it (webhook-signature carries both), so the "
        "receiver can switch without losing a delivery.",
    )
    @action(detail=True, methods=["post"])
    def rotate(self, request, pk=None):
        subscription = self.get_object()
        serializer = WebhookRotateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        hours = serializer.validated_data.get(
            "grace_hours", settings.LEADHUB_WEBHOOK_SECRET_GRACE_HOURS
        )
        subscription = webhook_subscription_regenerate_secret(
            subscription=subscription, grace=timedelta(hours=hours)
        )
        return Response(WebhookSecretSerializer(subscription).data)

"""REST endpoints for leads: capture, list, detail."""

from django.db.models import Prefetch
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.response import Response

from leadhub.leads.auth import LeadAccess, intake_key_of
from leadhub.leads.fieldmap import translate
from leadhub.leads.filters import LeadFilter
from leadhub.leads.intake import LeadDataError
from leadhub.leads.models import Channel, LeadEvent
from leadhub.leads.selectors import leads_visible_to
from leadhub.leads.serializers import (
    LeadDetailSerializer,
    LeadInputSerializer,
    LeadReceiptSerializer,
    LeadSerializer,
)
from leadhub.leads.services import lead_capture
from leadhub.throttles import IntakeKeyThrottle, IntakeUserThrottle

MAX_IDEMPOTENCY_KEY = 255


class LeadViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    permission_classes = [LeadAccess]
    # Lead creation per intake key and per user (429 with Retry-After past the rate).
    throttle_classes = [IntakeKeyThrottle, IntakeUserThrottle]
    filterset_class = LeadFilter

    def get_queryset(self):
        leads = leads_visible_to(self.request.user)
        if self.action == "retrieve":
            leads = leads.prefetch_related(
                Prefetch("events", queryset=LeadEvent.objects.select_related("actor"))
            )
        return leads

    def get_serializer_class(self):
        return LeadDetailSerializer if self.action == "retrieve" else LeadSerializer

    @extend_schema(
        request=LeadInputSerializer,
        parameters=[
            OpenApiParameter(
                "Idempotency-Key",
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                description=(
                    "Retrying with the same key returns the first lead (200) and creates nothing."
                ),
            ),
            OpenApiParameter(
                "X-Api-Key",
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                description="An intake key (admin → Intake keys); it may only create leads.",
            ),
        ],
        responses={
            201: LeadSerializer,
            200: OpenApiResponse(
                LeadSerializer, description="A retry, or an open lead with the same email or phone."
            ),
            400: OpenApiResponse(OpenApiTypes.OBJECT, description="{field: [reasons]}"),
        },
    )
    def create(self, request, *args, **kwargs):
        if not isinstance(request.data, dict):
            return Response({"non_field_errors": ["Send a JSON object."]}, status=400)
        key = request.headers.get("Idempotency-Key", "").strip()
        if len(key) > MAX_IDEMPOTENCY_KEY:
            return Response(
                {"Idempotency-Key": [f"At most {MAX_IDEMPOTENCY_KEY} characters."]}, status=400
            )
        intake_key = intake_key_of(request)
        scope = f"key:{intake_key.pk}" if intake_key else f"user:{request.user.pk}"
        data = request.data.dict() if hasattr(request.data, "dict") else request.data
        # An intake key's sender is another tool (HubSpot, Zapier, Marketo...) naming fields
        # its own way; a user token's caller writes to this API's documented fields, where
        # an unknown one is a mistake to report, not data to file away.
        intake = (
            translate(data, field_map=intake_key.field_map, strict=intake_key.strict)
            if intake_key
            else None
        )
        try:
            if intake is not None:
                intake.check()
            result = lead_capture(
                data=intake.data if intake is not None else data,
                channel=Channel.API,
                actor=None if intake_key else request.user,
                idempotency=(scope, key) if key else None,
                default_source=intake_key.source if intake_key else "",
                unknown="custom" if intake_key and not intake_key.strict else "error",
            )
        except LeadDataError as exc:
            errors = intake.sender_errors(exc.errors) if intake is not None else exc.errors
            return Response(errors, status=status.HTTP_400_BAD_REQUEST)
        serializer = LeadReceiptSerializer if intake_key else LeadSerializer
        return Response(
            serializer(result.lead).data,
            status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK,
            headers={"X-LeadHub-Outcome": result.outcome},
        )

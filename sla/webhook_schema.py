"""The webhook deliveries in the OpenAPI document (its ``webhooks`` section): one entry per
event of ``sla.models.Event``, with the body LeadHub POSTs and the headers that sign it.

These serializers describe what ``sla.services`` puts in a row's payload (``lead_data``,
``rep_data`` and each announcement's extras) inside the envelope of
``sla.delivery.webhook_body``; sla/tests/test_webhooks_standard.py checks each against a
real delivery. SPECTACULAR_SETTINGS["WEBHOOKS"] names ``WEBHOOKS``.
"""

from drf_spectacular.utils import OpenApiResponse, OpenApiWebhook, extend_schema
from rest_framework import serializers

from sla.models import Event


class WebhookLeadSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    first_name = serializers.CharField()
    last_name = serializers.CharField()
    email = serializers.CharField()
    phone = serializers.CharField()
    company = serializers.CharField()
    country = serializers.CharField()
    source = serializers.CharField()
    status = serializers.CharField()
    score = serializers.IntegerField()
    score_band = serializers.CharField()
    owner_id = serializers.IntegerField(allow_null=True)
    captured_at = serializers.DateTimeField()


class WebhookRepSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    email = serializers.CharField()
    team_id = serializers.IntegerField(allow_null=True)


class WebhookDecisionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField(help_text="auto, manual or sla.")
    reason = serializers.CharField()


class WebhookNextDecisionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    outcome = serializers.CharField(help_text="assigned, queued or triage.")
    rep = serializers.IntegerField(allow_null=True, help_text="The new owner's rep id.")


class WebhookClockSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField(help_text="accept, touch or claim.")
    due_at = serializers.DateTimeField()


class WebhookReminderLeadSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    company = serializers.CharField()


class LeadCreatedData(serializers.Serializer):
    lead = WebhookLeadSerializer()


class LeadAssignedData(serializers.Serializer):
    lead = WebhookLeadSerializer()
    rep = WebhookRepSerializer(help_text="The new owner.")
    decision = WebhookDecisionSerializer()


class LeadAcceptedData(serializers.Serializer):
    lead = WebhookLeadSerializer()
    rep = WebhookRepSerializer(help_text="The owner who accepted it.")


class LeadDeclinedData(serializers.Serializer):
    lead = WebhookLeadSerializer()
    rep = WebhookRepSerializer(help_text="The rep who declined it.")
    reason = serializers.CharField()
    next_decision = WebhookNextDecisionSerializer()


class SlaBreachedData(serializers.Serializer):
    lead = WebhookLeadSerializer()
    clock = WebhookClockSerializer()
    action = serializers.CharField(help_text="reassigned, escalated, triaged or none.")
    missed_by = serializers.IntegerField(allow_null=True, help_text="The owner's rep id.")


class SlaReminderData(serializers.Serializer):
    lead = WebhookReminderLeadSerializer()
    clock = WebhookClockSerializer()


class LeadStatusChangedData(serializers.Serializer):
    lead = WebhookLeadSerializer()
    # "from" is a Python keyword: the field is declared below under its JSON name.
    to = serializers.CharField(help_text="The new status.")


LeadStatusChangedData._declared_fields["from"] = serializers.CharField(help_text="The old status.")


class EscalationCeilingData(serializers.Serializer):
    rep = WebhookRepSerializer(help_text="The manager.")
    ceiling = serializers.IntegerField(allow_null=True)


DATA: dict[str, type[serializers.Serializer]] = {
    Event.LEAD_CREATED: LeadCreatedData,
    Event.LEAD_ASSIGNED: LeadAssignedData,
    Event.LEAD_ACCEPTED: LeadAcceptedData,
    Event.LEAD_DECLINED: LeadDeclinedData,
    Event.LEAD_REASSIGNED: LeadAssignedData,
    Event.LEAD_ESCALATED: LeadAssignedData,
    Event.SLA_BREACHED: SlaBreachedData,
    Event.SLA_REMINDER: SlaReminderData,
    Event.LEAD_STATUS_CHANGED: LeadStatusChangedData,
    Event.ESCALATION_CEILING: EscalationCeilingData,
}

HEADERS = (
    "Signed per Standard Webhooks (https://www.standardwebhooks.com/): `webhook-id` "
    "(the same on every retry of a delivery: deduplicate on it), `webhook-timestamp` (Unix "
    "seconds of the attempt: refuse one far from now) and `webhook-signature` (`v1,<base64>`, "
    "space-separated, one per secret in force: two during a rotation's grace period). "
    "Verify with the `standardwebhooks` package and the subscription's `whsec_` secret "
    "(docs/webhooks.md). `X-LeadHub-Signature` (hex HMAC-SHA256 of the body) is deprecated "
    "and goes in the next release. Any 2xx acknowledges; anything else is retried with "
    "backoff."
)


def _envelope(event: str, data: type[serializers.Serializer]) -> type[serializers.Serializer]:
    name = "".join(part.title() for part in event.replace("_", ".").split(".")) + "Webhook"
    return type(
        name,
        (serializers.Serializer,),
        {
            "id": serializers.IntegerField(help_text="The delivery's outbox row."),
            "event": serializers.CharField(help_text=f"Always {event}."),
            "created_at": serializers.DateTimeField(help_text="When the event happened."),
            "data": data(),
            "__doc__": f"The body of a {event} delivery.",
        },
    )


WEBHOOKS = [
    OpenApiWebhook(
        name=str(event),
        decorator=extend_schema(
            summary=label,
            description=HEADERS,
            request=_envelope(str(event), DATA[event]),
            responses={200: OpenApiResponse(description="Any 2xx: received.")},
        ),
    )
    for event, label in Event.choices
]

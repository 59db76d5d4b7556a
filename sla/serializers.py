"""Shapes of a rep's work on a lead in the API: what each action takes, and the lead's state
it answers with. Input is checked here only as far as its shape; whether the lead may move
is the services' answer (``leadhub.leads.services``, ``routing.services``)."""

from typing import Any
from urllib.parse import urlsplit

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from leadhub.leads.models import Lead, LeadStatus
from leadhub.leads.services import TOUCH_KINDS
from routing.models import Decision, Pool
from sla.models import Event, SlaClock, WebhookSubscription

# The queue listing shows this many of each queue's leads (oldest first) with the count.
LEADS_PER_QUEUE = 100
# A rotation's grace period at most: 30 days.
MAX_GRACE_HOURS = 30 * 24

# Statuses a person does not set through /status/: routing puts a lead in these (with a
# decision, an owner or none, and clocks), and accepting has its own endpoint.
NOT_BY_HAND = {
    "new": "is set by routing, not by hand",
    "queued": "is set by routing, not by hand",
    "assigned": "is set by routing, not by hand",
    "triage": "is set by routing, not by hand",
    "accepted": "is set by its owner through /accept/",
}


class DeclineSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=300, help_text="Why you decline it.")


class TouchSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=TOUCH_KINDS)
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class StatusSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=LeadStatus.choices)
    reason = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")

    def validate_status(self, value: str) -> str:
        if value in NOT_BY_HAND:
            raise serializers.ValidationError(f"{value!r} {NOT_BY_HAND[value]}.")
        return value


class ClockSerializer(serializers.ModelSerializer):
    # A plain string in the schema: a second choice set under the name "status" (the lead's
    # is the first) would make drf-spectacular rename the lead's StatusEnum, with a warning.
    status = serializers.CharField(read_only=True, help_text="running or paused.")

    class Meta:
        model = SlaClock
        fields = ["kind", "due_at", "status"]
        read_only_fields = fields


class LeadWorkSerializer(serializers.ModelSerializer):
    """The lead's state after an action: its status, owner, stamps and live SLA clocks."""

    clocks = ClockSerializer(source="live_clocks", many=True, read_only=True)

    class Meta:
        model = Lead
        fields = ["id", "status", "owner", "accepted_at", "first_touch_at", "clocks"]
        read_only_fields = fields


class DecisionSummarySerializer(serializers.ModelSerializer):
    class Meta:
        model = Decision
        fields = ["id", "outcome", "rep", "pool"]
        read_only_fields = fields


class LeadRoutedSerializer(LeadWorkSerializer):
    """The lead's state with the decision the action made (a decline, claim or release)."""

    decision = serializers.SerializerMethodField()

    class Meta(LeadWorkSerializer.Meta):
        fields = [*LeadWorkSerializer.Meta.fields, "decision"]
        read_only_fields = fields

    @extend_schema_field(DecisionSummarySerializer)
    def get_decision(self, lead: Lead) -> dict[str, Any]:
        return DecisionSummarySerializer(self.context["decision"]).data


class QueuedLeadSerializer(serializers.ModelSerializer):
    name = serializers.SerializerMethodField()
    waiting_since = serializers.DateTimeField(read_only=True)
    claim_due_at = serializers.DateTimeField(
        read_only=True, allow_null=True, help_text="When the queue's claim clock runs out."
    )

    class Meta:
        model = Lead
        fields = ["id", "name", "company", "country", "score", "waiting_since", "claim_due_at"]
        read_only_fields = fields

    def get_name(self, lead: Lead) -> str:
        return f"{lead.first_name} {lead.last_name}".strip()


class QueueSerializer(serializers.ModelSerializer):
    count = serializers.IntegerField(source="waiting", read_only=True, help_text="Leads waiting.")
    leads = QueuedLeadSerializer(
        source="waiting_leads",
        many=True,
        read_only=True,
        help_text=f"The oldest first, at most {LEADS_PER_QUEUE} (count has them all).",
    )

    class Meta:
        model = Pool
        fields = ["id", "name", "team", "active", "count", "leads"]
        read_only_fields = fields


# --- Webhook subscriptions (RevOps) --------------------------------------------------------


class WebhookSubscriptionSerializer(serializers.ModelSerializer):
    """A subscription as listed: never its secret, which is shown once (on create and on
    each rotation)."""

    events = serializers.ListField(
        child=serializers.ChoiceField(choices=Event.choices),
        allow_empty=False,
        max_length=len(Event.choices),
        help_text="Event names it receives.",
    )
    previous_secret_until = serializers.DateTimeField(
        read_only=True,
        allow_null=True,
        help_text="Until when the secret a rotation replaced still signs beside the new one.",
    )

    class Meta:
        model = WebhookSubscription
        fields = [
            "id",
            "name",
            "url",
            "events",
            "team",
            "active",
            "created_at",
            "previous_secret_until",
        ]
        read_only_fields = ["id", "created_at", "previous_secret_until"]

    def validate_events(self, value: list[str]) -> list[str]:
        return sorted(set(value), key=Event.values.index)

    def validate_url(self, value: str) -> str:
        if urlsplit(value).scheme not in {"http", "https"}:
            raise serializers.ValidationError("An http(s) URL.")
        return value


class WebhookSecretSerializer(serializers.ModelSerializer):
    """A subscription with its secret: the answer to a create or a rotation, the only
    time the secret is shown."""

    secret = serializers.CharField(
        read_only=True, help_text="whsec_…: give it to the receiver now; it is not shown again."
    )

    class Meta(WebhookSubscriptionSerializer.Meta):
        fields = [*WebhookSubscriptionSerializer.Meta.fields, "secret"]
        read_only_fields = fields


class WebhookRotateSerializer(serializers.Serializer):
    grace_hours = serializers.IntegerField(
        min_value=0,
        max_value=MAX_GRACE_HOURS,
        required=False,
        help_text="How long the old secret still signs beside the new one (0: it stops now). "
        "Default: LEADHUB_WEBHOOK_SECRET_GRACE_HOURS.",
    )

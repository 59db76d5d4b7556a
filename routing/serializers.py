"""Shapes of the routing set-up and of decisions in the API. Input is checked here only as
far as its shape; what the engine would refuse is checked by routing.config_services."""

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from reps.models import Rep
from routing.config_services import Member
from routing.lint import MAX_SAMPLE, SAMPLE_SIZE
from routing.models import Decision, Pool, PoolMember, Publication, Rule, RuleSet, Territory


def _string_list(**kwargs: Any) -> serializers.ListField:
    return serializers.ListField(
        child=serializers.CharField(max_length=20), required=False, allow_empty=True, **kwargs
    )


class PostalRangeField(serializers.ListField):
    child = serializers.CharField(max_length=20)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(min_length=2, max_length=2, **kwargs)


class TerritorySerializer(serializers.ModelSerializer):
    countries = _string_list()
    states = _string_list()
    postal_prefixes = _string_list()
    postal_ranges = serializers.ListField(child=PostalRangeField(), required=False)

    class Meta:
        model = Territory
        fields = [
            "id",
            "name",
            "parent",
            "pool",
            "countries",
            "states",
            "postal_prefixes",
            "postal_ranges",
            "active",
        ]


class PoolMemberSerializer(serializers.ModelSerializer):
    rep = serializers.PrimaryKeyRelatedField(queryset=Rep.objects.all())
    position = serializers.IntegerField(read_only=True)
    weight = serializers.IntegerField(min_value=0, required=False, allow_null=True)

    class Meta:
        model = PoolMember
        fields = ["rep", "position", "weight"]


class PoolSerializer(serializers.ModelSerializer):
    """A pool with its members in rotation order (``position`` is the order given);
    ``settings`` are the method's (docs/playbook.md)."""

    members = PoolMemberSerializer(many=True, required=False)
    settings = serializers.JSONField(required=False)

    class Meta:
        model = Pool
        fields = ["id", "name", "team", "method", "settings", "active", "members"]

    def to_service_kwargs(self) -> dict[str, Any]:
        data = dict(self.validated_data)
        if "members" in data:
            data["members"] = [
                Member(rep_id=m["rep"].pk, weight=m.get("weight")) for m in data["members"]
            ]
        return data


class RuleSerializer(serializers.ModelSerializer):
    position = serializers.IntegerField(min_value=0, required=False)
    condition = serializers.JSONField(required=False)

    class Meta:
        model = Rule
        fields = [
            "id",
            "position",
            "name",
            "enabled",
            "condition",
            "action",
            "action_pool",
            "action_rep",
            "fallback",
            "fallback_pool",
        ]


class PublicationSerializer(serializers.ModelSerializer):
    published_by = serializers.CharField(
        source="published_by.get_username", default=None, allow_null=True
    )

    class Meta:
        model = Publication
        fields = ["published_at", "published_by", "is_rollback", "note"]


class RuleSetSerializer(serializers.ModelSerializer):
    created_by = serializers.CharField(
        source="created_by.get_username", default=None, allow_null=True
    )
    publications = PublicationSerializer(many=True, read_only=True)

    class Meta:
        model = RuleSet
        fields = ["version", "note", "based_on", "created_at", "created_by", "publications"]


class RuleSetDetailSerializer(RuleSetSerializer):
    rules = RuleSerializer(many=True, read_only=True)

    class Meta(RuleSetSerializer.Meta):
        fields = [*RuleSetSerializer.Meta.fields, "rules"]


class PublishSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class PublishDraftSerializer(PublishSerializer):
    force = serializers.BooleanField(
        default=False, help_text="Publish even when lint finds errors in the draft."
    )


class LintFindingSerializer(serializers.Serializer):
    severity = serializers.ChoiceField(choices=["error", "warning"])
    code = serializers.CharField()
    kind = serializers.CharField(help_text="rule, pool, territory, ruleset, sla_policy")
    object_id = serializers.IntegerField(allow_null=True)
    subject = serializers.CharField(help_text="The object in words, e.g. rule 'EMEA' (#3).")
    message = serializers.CharField()


class LintSampleSerializer(serializers.Serializer):
    leads = serializers.IntegerField()
    triage = serializers.IntegerField()


class LintReportSerializer(serializers.Serializer):
    ruleset = serializers.CharField()
    errors = serializers.IntegerField()
    warnings = serializers.IntegerField()
    sample = LintSampleSerializer()
    findings = LintFindingSerializer(many=True)


class LintQuerySerializer(serializers.Serializer):
    sample = serializers.IntegerField(
        min_value=0,
        max_value=MAX_SAMPLE,
        default=SAMPLE_SIZE,
        help_text="Recent leads to decide with the rules (0: none).",
    )


class CandidateSerializer(serializers.Serializer):
    rep_id = serializers.IntegerField()
    name = serializers.CharField()
    pool_id = serializers.IntegerField(allow_null=True)
    eligible = serializers.BooleanField()
    reasons = serializers.ListField(child=serializers.CharField())
    metrics = serializers.DictField()
    chosen = serializers.BooleanField()


class DecisionSerializer(serializers.ModelSerializer):
    """A decision as the engine explained it: the rule and version, the method, every
    candidate with the reasons it was passed over, and the explanation in words."""

    rule = serializers.CharField(source="rule_name")
    version = serializers.IntegerField(source="ruleset_version", allow_null=True)
    actor = serializers.CharField(source="actor.get_username", default=None, allow_null=True)
    candidates = serializers.SerializerMethodField()
    explanation = serializers.SerializerMethodField()
    fallback_used = serializers.SerializerMethodField()
    fallback_reason = serializers.SerializerMethodField()

    class Meta:
        model = Decision
        fields = [
            "id",
            "lead",
            "kind",
            "outcome",
            "rule",
            "version",
            "method",
            "pool",
            "rep",
            "rotation",
            "fallback_used",
            "fallback_reason",
            "candidates",
            "explanation",
            "actor",
            "reason",
            "created_at",
            # The A/B experiment (id) and arm ("a"/"b") the lead was placed in; null and "".
            "experiment",
            "arm",
        ]

    @extend_schema_field(CandidateSerializer(many=True))
    def get_candidates(self, decision: Decision) -> list[dict[str, Any]]:
        return CandidateSerializer(decision.payload.get("candidates", []), many=True).data

    def get_explanation(self, decision: Decision) -> list[str]:
        return list(decision.payload.get("explanation", []))

    def get_fallback_used(self, decision: Decision) -> bool:
        return bool(decision.payload.get("fallback_used", False))

    def get_fallback_reason(self, decision: Decision) -> str:
        return decision.payload.get("fallback_reason", "")


class ReassignSerializer(serializers.Serializer):
    rep = serializers.PrimaryKeyRelatedField(queryset=Rep.objects.all())
    reason = serializers.CharField(max_length=300)


class RerouteSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=300)


class BulkMoveSerializer(serializers.Serializer):
    """A manager's selection: reassign every lead to one rep, or run the rules again."""

    MAX_LEADS = 500

    action = serializers.ChoiceField(choices=["reassign", "reroute"])
    leads = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=2**63 - 1),
        min_length=1,
        max_length=MAX_LEADS,
    )
    rep = serializers.PrimaryKeyRelatedField(queryset=Rep.objects.all(), required=False)
    reason = serializers.CharField(max_length=300)

    def validate(self, data):
        if data["action"] == "reassign" and data.get("rep") is None:
            raise serializers.ValidationError({"rep": ["Choose the rep to give the leads to."]})
        return data


class BulkResultSerializer(serializers.Serializer):
    lead = serializers.IntegerField(source="lead_id")
    decision = DecisionSerializer(allow_null=True)
    error = serializers.CharField()


class HandoverSerializer(serializers.Serializer):
    successor = serializers.PrimaryKeyRelatedField(
        queryset=Rep.objects.all(),
        required=False,
        allow_null=True,
        help_text="Every lead to this rep; left out: each lead through the rules.",
    )
    reason = serializers.CharField(max_length=300)
    dry_run = serializers.BooleanField(default=False)


class HandoverItemSerializer(serializers.Serializer):
    lead = serializers.IntegerField(source="lead_id")
    name = serializers.CharField(source="lead")
    status = serializers.CharField()
    outcome = serializers.CharField()
    rep = serializers.IntegerField(source="rep_id", allow_null=True)
    pool = serializers.IntegerField(source="pool_id", allow_null=True)
    explanation = serializers.ListField(child=serializers.CharField())
    decision = serializers.IntegerField(source="decision_id", allow_null=True)
    error = serializers.CharField()

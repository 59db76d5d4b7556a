"""``/api/experiments/``: A/B routing experiments, read by RevOps and managers, written by
RevOps (``routing.api.ConfigAccess``). ``GET /api/experiments/{id}/`` adds the figures per
arm, the test of the difference in conversion and the verdict (selectors.py)."""

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from reps.api import as_drf_error
from routing.api import BAD_INPUT, ConfigAccess
from routing.experiments.selectors import (
    arm_name,
    experiment_results,
    experiment_state,
    experiments_all,
    segment_in_words,
)
from routing.experiments.services import experiment_delete, experiment_save, experiment_stop
from routing.models import Experiment, Pool, RuleSet

MAX_ID = 2**31 - 1


class ExperimentSerializer(serializers.ModelSerializer):
    """An arm is ``arm_x_version`` (a published rule-set version number) or ``arm_x_pool``
    (a pool id); the other is null."""

    arm_a_version = serializers.IntegerField(
        min_value=1, max_value=MAX_ID, allow_null=True, required=False
    )
    arm_b_version = serializers.IntegerField(
        min_value=1, max_value=MAX_ID, allow_null=True, required=False
    )
    arm_a_pool = serializers.PrimaryKeyRelatedField(
        queryset=Pool.objects.all(), allow_null=True, required=False
    )
    arm_b_pool = serializers.PrimaryKeyRelatedField(
        queryset=Pool.objects.all(), allow_null=True, required=False
    )
    segment = serializers.JSONField(required=False)
    split = serializers.IntegerField(min_value=1, max_value=99, required=False)
    state = serializers.SerializerMethodField()
    arms = serializers.SerializerMethodField()
    segment_text = serializers.SerializerMethodField()
    created_by = serializers.StringRelatedField()

    class Meta:
        model = Experiment
        fields = [
            "id",
            "name",
            "segment",
            "segment_text",
            "arm_a_version",
            "arm_a_pool",
            "arm_b_version",
            "arm_b_pool",
            "split",
            "starts_at",
            "ends_at",
            "note",
            "state",
            "arms",
            "created_at",
            "created_by",
        ]
        read_only_fields = ["created_at", "created_by"]
        # Uniqueness is the service's check (one message for the API and the admin).
        extra_kwargs = {"name": {"validators": []}}

    def get_state(self, obj: Experiment) -> str:
        return experiment_state(obj)

    def get_arms(self, obj: Experiment) -> dict[str, str]:
        return {"a": arm_name(obj, "a"), "b": arm_name(obj, "b")}

    def get_segment_text(self, obj: Experiment) -> str:
        return segment_in_words(obj)

    def to_representation(self, instance: Experiment) -> dict[str, Any]:
        data = super().to_representation(instance)
        for label in ("a", "b"):
            ruleset = getattr(instance, f"arm_{label}_ruleset")
            data[f"arm_{label}_version"] = ruleset.version if ruleset else None
        return data

    def to_service_kwargs(self) -> dict[str, Any]:
        """The validated fields as ``experiment_save`` takes them: a version number becomes
        its rule set (a 400 on the field when there is no such published version)."""
        data = dict(self.validated_data)
        for label in ("a", "b"):
            version_key, pool_key = f"arm_{label}_version", f"arm_{label}_pool"
            if version_key not in data and pool_key not in data:
                continue  # a partial update that leaves the arm as it is
            # Either key given replaces the arm with what is given (the other is none).
            version = data.pop(version_key, None)
            ruleset = None
            if version is not None:
                ruleset = RuleSet.objects.filter(version=version, is_draft=False).first()
                if ruleset is None:
                    raise serializers.ValidationError(
                        {version_key: [f"No published version {version}."]}
                    )
            data[f"arm_{label}_ruleset"] = ruleset
            data.setdefault(pool_key, None)
        return data


class ExperimentDetailSerializer(ExperimentSerializer):
    results = serializers.SerializerMethodField()

    class Meta(ExperimentSerializer.Meta):
        fields = [*ExperimentSerializer.Meta.fields, "results"]

    def get_results(self, obj: Experiment) -> dict[str, Any]:
        return experiment_results(obj)


@extend_schema_view(
    create=extend_schema(responses={201: ExperimentDetailSerializer, 400: BAD_INPUT}),
    update=extend_schema(responses={200: ExperimentDetailSerializer, 400: BAD_INPUT}),
    partial_update=extend_schema(responses={200: ExperimentDetailSerializer, 400: BAD_INPUT}),
    destroy=extend_schema(
        responses={
            204: None,
            400: OpenApiResponse(description="Leads were placed by it: end it instead."),
        }
    ),
)
class ExperimentViewSet(viewsets.ModelViewSet):
    """A/B routing experiments. The detail has each arm's leads, acceptance rate, speed to
    first touch (p50/p90), conversion rate, the two-sided z-test of the difference in
    conversion with its 95 % interval, and the verdict in words."""

    permission_classes = [ConfigAccess]
    queryset = Experiment.objects.none()

    def get_queryset(self):
        return experiments_all()

    def get_serializer_class(self):
        return ExperimentSerializer if self.action == "list" else ExperimentDetailSerializer

    def _save(self, serializer, **kwargs: Any) -> None:
        try:
            fields = serializer.to_service_kwargs()
            obj = experiment_save(actor=self.request.user, **kwargs, **fields)
        except DjangoValidationError as exc:
            raise as_drf_error(exc) from exc
        serializer.instance = self.get_queryset().get(pk=obj.pk)

    def perform_create(self, serializer) -> None:
        self._save(serializer)

    def perform_update(self, serializer) -> None:
        self._save(serializer, experiment=serializer.instance)

    def perform_destroy(self, instance: Experiment) -> None:
        try:
            experiment_delete(experiment=instance)
        except DjangoValidationError as exc:
            raise as_drf_error(exc) from exc

    @extend_schema(
        request=None,
        responses={200: ExperimentDetailSerializer, 400: BAD_INPUT},
        description="End a running experiment now; its figures stay.",
    )
    @action(detail=True, methods=["post"])
    def stop(self, request, pk=None):
        experiment = self.get_object()
        try:
            experiment_stop(experiment=experiment)
        except DjangoValidationError as exc:
            raise as_drf_error(exc) from exc
        experiment = self.get_queryset().get(pk=experiment.pk)
        return Response(ExperimentDetailSerializer(experiment).data, status=status.HTTP_200_OK)

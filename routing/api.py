"""REST endpoints for routing: a lead's decision and its reassignment, the set-up
(territories, pools, the draft's rules) and the published rule-set versions.

A lead's decision is seen by whoever sees the lead (leadhub.leads.selectors; anyone else
gets a 404). Reassigning is RevOps' and the manager's of the team that owns the lead (for
an unowned lead, of the team it is given to). The set-up is read by RevOps and managers
and changed by RevOps only. Intake keys may do nothing here.
"""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Prefetch
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from leadhub.leads.auth import LeadAccess, intake_key_of
from leadhub.leads.models import Lead
from leadhub.leads.selectors import leads_visible_to
from reps.api import as_drf_error
from reps.models import Rep
from reps.selectors import rep_of, reps_visible_to, user_sees_everything
from routing.config_services import (
    draft_rule_delete,
    draft_rule_save,
    pool_delete,
    pool_save,
    territory_delete,
    territory_save,
)
from routing.lint import ruleset_lint, ruleset_lint_errors
from routing.models import Decision, Pool, PoolMember, Rule, RuleSet, Territory
from routing.selectors import (
    reassign_target_refusal,
    user_may_hand_over,
    user_may_reassign,
    user_may_reroute,
    user_may_see_lead,
)
from routing.serializers import (
    BulkMoveSerializer,
    BulkResultSerializer,
    DecisionSerializer,
    HandoverItemSerializer,
    HandoverSerializer,
    LintQuerySerializer,
    LintReportSerializer,
    PoolSerializer,
    PublishDraftSerializer,
    PublishSerializer,
    ReassignSerializer,
    RerouteSerializer,
    RuleSerializer,
    RuleSetDetailSerializer,
    RuleSetSerializer,
    TerritorySerializer,
)
from routing.services import (
    RoutingError,
    lead_reassign,
    lead_reroute,
    leads_move,
    rep_handover,
    ruleset_publish,
    ruleset_rollback,
)

NOT_FOUND = OpenApiResponse(description="No such lead, or not one you may see.")
BAD_INPUT = OpenApiResponse(OpenApiTypes.OBJECT, description="{field: [reasons]}")


def routing_error(exc: RoutingError) -> serializers.ValidationError:
    return serializers.ValidationError({"non_field_errors": [str(exc)]})


class ConfigAccess(permissions.BasePermission):
    """The routing set-up: read by RevOps and managers, changed by RevOps only."""

    message = "Only RevOps change the routing set-up; RevOps and managers read it."

    def has_permission(self, request, view) -> bool:
        if intake_key_of(request) is not None:
            raise PermissionDenied("An intake key may only create leads.")
        if not (request.user and request.user.is_authenticated):
            return False
        if user_sees_everything(request.user):
            return True
        me = rep_of(request.user)
        return (
            request.method in permissions.SAFE_METHODS
            and me is not None
            and me.role == Rep.Role.MANAGER
        )


class LeadDecisionView(APIView):
    permission_classes = [LeadAccess]

    @extend_schema(
        responses={
            200: DecisionSerializer,
            404: OpenApiResponse(
                description="No such lead, not one you may see, or no decision yet."
            ),
        },
        description="The lead's effective routing decision, with every candidate considered "
        "and the explanation in words. Seen by whoever may see the lead.",
    )
    def get(self, request, pk: int):
        lead = get_object_or_404(leads_visible_to(request.user), pk=pk)
        decision = (
            Decision.objects.select_related("actor").filter(lead=lead, effective=True).first()
        )
        if decision is None:
            raise NotFound("This lead has no routing decision yet.")
        return Response(DecisionSerializer(decision).data)


class LeadReassignView(APIView):
    permission_classes = [LeadAccess]

    @extend_schema(
        request=ReassignSerializer,
        responses={200: DecisionSerializer, 400: BAD_INPUT, 403: None, 404: NOT_FOUND},
        description="Give the lead to another rep by hand, with a reason: RevOps, or the "
        "manager of the team owning the lead (for an unowned lead, of the rep's team). "
        "Returns the new (manual) decision.",
    )
    def post(self, request, pk: int):
        lead = Lead.objects.select_related("owner").filter(pk=pk).first()
        if lead is None:
            raise NotFound()
        visible = leads_visible_to(request.user).filter(pk=pk).exists()
        me = rep_of(request.user)
        if not user_sees_everything(request.user) and (me is None or me.role != Rep.Role.MANAGER):
            raise (
                PermissionDenied("Only RevOps and managers reassign leads.")
                if visible
                else NotFound()
            )
        serializer = ReassignSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        rep = serializer.validated_data["rep"]
        if not user_may_reassign(request.user, lead, rep):
            if visible:
                raise PermissionDenied("Only the manager of the lead's team may reassign it.")
            raise NotFound()
        if refusal := reassign_target_refusal(request.user, rep):
            raise serializers.ValidationError({"rep": [refusal]})
        try:
            decision = lead_reassign(
                lead_id=lead.pk,
                rep_id=rep.pk,
                actor=request.user,
                reason=serializer.validated_data["reason"],
            )
        except RoutingError as exc:
            raise routing_error(exc) from exc
        return Response(DecisionSerializer(decision).data)


class LeadRerouteView(APIView):
    permission_classes = [LeadAccess]

    @extend_schema(
        request=RerouteSerializer,
        responses={200: DecisionSerializer, 400: BAD_INPUT, 403: None, 404: NOT_FOUND},
        description="Run the rules in force again for one open lead, with a reason (from "
        "triage or nurture too; an owned lead goes where the rules send it now, and stays "
        "when they choose its owner again). RevOps, or the manager of the team owning the "
        "lead (of an unowned lead, of its claim queue's team). Returns the new decision "
        "(kind reroute); a closed lead is a 400.",
    )
    def post(self, request, pk: int):
        lead = Lead.objects.select_related("owner").filter(pk=pk).first()
        if lead is None:
            raise NotFound()
        if not user_may_reroute(request.user, lead):
            if user_may_see_lead(request.user, pk):
                raise PermissionDenied("Only RevOps and the lead's team manager route it again.")
            raise NotFound()
        serializer = RerouteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            decision = lead_reroute(
                lead_id=pk, actor=request.user, reason=serializer.validated_data["reason"]
            )
        except RoutingError as exc:
            raise routing_error(exc) from exc
        return Response(DecisionSerializer(decision).data)


class LeadBulkMoveView(APIView):
    permission_classes = [LeadAccess]

    @extend_schema(
        request=BulkMoveSerializer,
        responses={200: BulkResultSerializer(many=True), 400: BAD_INPUT, 403: None},
        description="A manager's selection of leads (at most 500): give them all to one rep "
        "(`reassign`, with `rep`) or run the rules again for each (`reroute`), with a reason. "
        "Each lead moves on its own: the answer lists, per lead, its new decision or why it "
        "was refused (a lead you may not move, a closed lead, one the rep holds already).",
    )
    def post(self, request):
        me = rep_of(request.user)
        if not user_sees_everything(request.user) and (me is None or me.role != Rep.Role.MANAGER):
            raise PermissionDenied("Only RevOps and managers move leads.")
        serializer = BulkMoveSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        rep, reason = data.get("rep"), data["reason"]
        if rep is not None and (refusal := reassign_target_refusal(request.user, rep)):
            raise serializers.ValidationError({"rep": [refusal]})
        try:
            results = leads_move(
                actor=request.user,
                action=data["action"],
                lead_ids=data["leads"],
                rep=rep,
                reason=reason,
            )
        except RoutingError as exc:
            raise routing_error(exc) from exc
        return Response(BulkResultSerializer(results, many=True).data)


class RepHandoverView(APIView):
    permission_classes = [LeadAccess]

    @extend_schema(
        request=HandoverSerializer,
        responses={200: HandoverItemSerializer(many=True), 400: BAD_INPUT, 403: None, 404: None},
        description="Hand the rep's open leads on: each through the rules without them, or "
        "all to `successor`. With `dry_run` nothing moves: the answer says where each lead "
        "would go and why. RevOps, or the manager of the rep's team. Each lead has its own "
        "decision (kind handover); a lead that could not move says why in `error`.",
    )
    def post(self, request, pk: int):
        rep = Rep.objects.select_related("user").filter(pk=pk).first()
        if rep is None or not reps_visible_to(request.user).filter(pk=pk).exists():
            raise NotFound()
        if not user_may_hand_over(request.user, rep):
            raise PermissionDenied("Only RevOps and the rep's team manager hand their leads on.")
        serializer = HandoverSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        successor = data.get("successor")
        if successor is not None and (refusal := reassign_target_refusal(request.user, successor)):
            raise serializers.ValidationError({"successor": [refusal]})
        try:
            items = rep_handover(
                rep=rep,
                successor=successor,
                reason=data["reason"],
                actor=request.user,
                dry_run=data["dry_run"],
            )
        except RoutingError as exc:
            raise routing_error(exc) from exc
        return Response(HandoverItemSerializer(items, many=True).data)


@extend_schema_view(
    destroy=extend_schema(
        responses={
            204: None,
            400: OpenApiResponse(description="Still in use (`non_field_errors` says by what)."),
        }
    )
)
class _ConfigViewSet(viewsets.ModelViewSet):
    permission_classes = [ConfigAccess]
    save_service = None
    delete_service = None
    instance_kwarg = ""

    def _service_kwargs(self, serializer) -> dict:
        return dict(serializer.validated_data)

    def perform_create(self, serializer):
        try:
            obj = type(self).save_service(**self._service_kwargs(serializer))
        except DjangoValidationError as exc:
            raise as_drf_error(exc) from exc
        serializer.instance = self.get_queryset().get(pk=obj.pk)

    def perform_update(self, serializer):
        kwargs = {self.instance_kwarg: serializer.instance, **self._service_kwargs(serializer)}
        try:
            type(self).save_service(**kwargs)
        except DjangoValidationError as exc:
            raise as_drf_error(exc) from exc
        serializer.instance = self.get_queryset().get(pk=serializer.instance.pk)

    def perform_destroy(self, instance):
        try:
            type(self).delete_service(**{self.instance_kwarg: instance})
        except DjangoValidationError as exc:
            raise as_drf_error(exc) from exc


@extend_schema_view(create=extend_schema(responses={201: TerritorySerializer, 400: BAD_INPUT}))
class TerritoryViewSet(_ConfigViewSet):
    serializer_class = TerritorySerializer
    queryset = Territory.objects.all()
    save_service = staticmethod(territory_save)
    delete_service = staticmethod(territory_delete)
    instance_kwarg = "territory"


@extend_schema_view(create=extend_schema(responses={201: PoolSerializer, 400: BAD_INPUT}))
class PoolViewSet(_ConfigViewSet):
    """Pools with their members in rotation order; ``settings`` are checked as the engine
    reads them, and a bad one is a 400 naming the key."""

    serializer_class = PoolSerializer
    save_service = staticmethod(pool_save)
    delete_service = staticmethod(pool_delete)
    instance_kwarg = "pool"

    def get_queryset(self):
        members = PoolMember.objects.order_by("position", "pk")
        return Pool.objects.prefetch_related(Prefetch("members", queryset=members))

    def _service_kwargs(self, serializer) -> dict:
        return serializer.to_service_kwargs()


@extend_schema_view(create=extend_schema(responses={201: RuleSerializer, 400: BAD_INPUT}))
class RuleViewSet(_ConfigViewSet):
    """The draft's rules. A condition the engine cannot compile is a 400 naming the node
    (``rules[0].condition.all[1]: ...``); publish the draft at /api/rulesets/publish/."""

    serializer_class = RuleSerializer
    save_service = staticmethod(draft_rule_save)
    delete_service = staticmethod(draft_rule_delete)
    instance_kwarg = "rule"

    def get_queryset(self):
        return Rule.objects.filter(ruleset__is_draft=True).order_by("position", "pk")

    def _service_kwargs(self, serializer) -> dict:
        return {**serializer.validated_data, "actor": self.request.user}


class RuleSetViewSet(viewsets.ReadOnlyModelViewSet):
    """Published rule-set versions, newest first, with who published them and when."""

    permission_classes = [ConfigAccess]
    lookup_field = "version"
    lookup_value_regex = r"\d+"

    def get_queryset(self):
        rulesets = (
            RuleSet.objects.filter(is_draft=False)
            .select_related("created_by")
            .prefetch_related("publications__published_by")
        )
        if self.action == "retrieve":
            rulesets = rulesets.prefetch_related(
                Prefetch("rules", queryset=Rule.objects.order_by("position", "pk"))
            )
        return rulesets

    def get_serializer_class(self):
        return RuleSetSerializer if self.action == "list" else RuleSetDetailSerializer

    @extend_schema(
        request=PublishDraftSerializer,
        responses={201: RuleSetDetailSerializer, 400: BAD_INPUT},
        description="Publish the draft as the next version and put it in force. When lint "
        "finds errors in the draft (GET /api/rulesets/draft/lint/), it is refused with a 400 "
        "listing them in `lint`, unless `force` is true.",
    )
    @action(detail=False, methods=["post"])
    def publish(self, request):
        serializer = PublishDraftSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        draft = RuleSet.objects.filter(is_draft=True).first()
        if draft is not None and not serializer.validated_data["force"]:
            errors = ruleset_lint_errors(draft)
            if errors:
                raise serializers.ValidationError(
                    {
                        "force": [
                            f"Lint finds {len(errors)} error(s) in the draft; fix them, or "
                            "send force: true to publish anyway."
                        ],
                        "lint": [f.to_dict() for f in errors],
                    }
                )
        try:
            ruleset = ruleset_publish(actor=request.user, note=serializer.validated_data["note"])
        except RoutingError as exc:
            raise routing_error(exc) from exc
        ruleset = self.get_queryset().prefetch_related("rules").get(pk=ruleset.pk)
        return Response(RuleSetDetailSerializer(ruleset).data, status=status.HTTP_201_CREATED)

    def _lint(self, request, ruleset: RuleSet) -> Response:
        query = LintQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        report = ruleset_lint(ruleset, sample=query.validated_data["sample"])
        return Response(LintReportSerializer(report.to_dict()).data)

    @extend_schema(
        parameters=[LintQuerySerializer],
        responses={
            200: LintReportSerializer,
            400: BAD_INPUT,
            404: OpenApiResponse(description="No such version."),
        },
        description="Lint this version and the set-up: every finding (error or warning) about "
        "a rule, pool, territory or SLA policy, in words, and how many of a sample of the "
        "last 30 days' leads would end in triage, by reason. Writes nothing.",
    )
    @action(detail=True, methods=["get"])
    def lint(self, request, version=None):
        return self._lint(request, self.get_object())

    @extend_schema(
        parameters=[LintQuerySerializer],
        responses={
            200: LintReportSerializer,
            400: BAD_INPUT,
            404: OpenApiResponse(description="There is no draft."),
        },
        description="Lint the draft and the set-up, as /api/rulesets/{version}/lint/ does.",
    )
    @action(detail=False, methods=["get"], url_path="draft/lint")
    def draft_lint(self, request):
        draft = RuleSet.objects.filter(is_draft=True).first()
        if draft is None:
            raise NotFound("There is no draft.")
        return self._lint(request, draft)

    @extend_schema(
        request=PublishSerializer,
        responses={
            201: RuleSetDetailSerializer,
            404: OpenApiResponse(description="No such version."),
        },
        description="Put this version back in force (a new publication of it).",
    )
    @action(detail=True, methods=["post"])
    def rollback(self, request, version=None):
        ruleset = self.get_object()
        serializer = PublishSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            ruleset_rollback(
                version=ruleset.version, actor=request.user, note=serializer.validated_data["note"]
            )
        except RoutingError as exc:
            raise routing_error(exc) from exc
        ruleset = self.get_queryset().prefetch_related("rules").get(pk=ruleset.pk)
        return Response(RuleSetDetailSerializer(ruleset).data, status=status.HTTP_201_CREATED)

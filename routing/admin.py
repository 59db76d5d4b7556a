"""RevOps configure routing here: territories, pools, the rule set's draft and versions.

Rule sets follow the services' life cycle: rules are edited in the one draft, published as
an immutable numbered version (``ruleset_publish``) and put back in force by a rollback
(``ruleset_rollback``); published versions are shown read-only. "Test a lead" runs the
engine on a lead typed into a form, against the draft or any version, and writes nothing.

The Lead admin is extended here (routing sits above leads): the lead page shows its
routing decisions, and a manager can reassign a lead by hand (``lead_reassign``).
"""

from collections.abc import Mapping
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import (
    BooleanField,
    Case,
    Count,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import URLPattern, path
from django.utils import timezone
from django.utils.safestring import SafeString

from leadhub.leads.admin import LeadAdmin, ReadOnlyAdmin
from leadhub.leads.intake import LeadDataError, clean_lead_data
from leadhub.leads.models import Account, Lead, ScoreBand
from reps.models import Rep
from routing import engine
from routing.engine.decide import METHOD_WORDS, REASON_WORDS
from routing.models import (
    Decision,
    Pool,
    PoolMember,
    PoolState,
    Publication,
    Rule,
    RuleSet,
    Territory,
)
from routing.selectors import (
    compiled_ruleset,
    engine_ruleset,
    pool_settings_from,
    routing_world,
    ruleset_in_force,
)
from routing.services import (
    RoutingError,
    lead_reassign,
    ruleset_draft,
    ruleset_publish,
    ruleset_rollback,
)

# --- Rendering a decision ---------------------------------------------------------------


def decision_context(payload: Mapping[str, Any]) -> dict[str, Any]:
    """A stored or previewed decision (``engine.Decision.to_dict()``) in words, for
    admin/routing/decision.html. Names are read in two queries; nothing is written."""
    candidates = payload.get("candidates") or []
    pool_ids = {c.get("pool_id") for c in candidates} | {payload.get("pool_id")}
    pools = Pool.objects.in_bulk([p for p in pool_ids if p is not None])
    rep_id = payload.get("rep_id")
    rep = Rep.objects.select_related("user").filter(pk=rep_id).first() if rep_id else None
    pool = pools.get(payload.get("pool_id"))
    method = payload.get("method") or ""
    rows = [
        {
            "name": c.get("name") or f"#{c.get('rep_id')}",
            "pool": pools.get(c.get("pool_id")) or "—",
            "eligible": "yes" if c.get("eligible") else "no",
            "chosen": bool(c.get("chosen")),
            "reasons": ", ".join(REASON_WORDS.get(r, r) for r in c.get("reasons") or []),
            "metrics": ", ".join(f"{k}: {v}" for k, v in (c.get("metrics") or {}).items()),
        }
        for c in candidates
    ]
    return {
        "outcome": payload.get("outcome") or "",
        "rule_name": payload.get("rule_name") or "",
        "ruleset_version": payload.get("ruleset_version"),
        "method": METHOD_WORDS.get(method, method.replace("_", " ")),
        "pool": pool,
        "rep": rep,
        "fallback_used": payload.get("fallback_used", False),
        "fallback_reason": payload.get("fallback_reason") or "",
        "explanation": payload.get("explanation") or [],
        "candidates": rows,
    }


def render_decision(payload: Mapping[str, Any]) -> SafeString:
    return render_to_string("admin/routing/decision.html", decision_context(payload))


# --- Territories and pools --------------------------------------------------------------


@admin.register(Territory)
class TerritoryAdmin(admin.ModelAdmin):
    list_display = ["name", "parent", "pool", "countries", "states", "active"]
    list_filter = ["active", "pool", "parent"]
    list_select_related = ["parent", "pool"]
    search_fields = ["name"]
    autocomplete_fields = ["parent", "pool"]


class PoolForm(forms.ModelForm):
    class Meta:
        model = Pool
        fields = ["name", "team", "method", "settings", "active"]

    def clean_settings(self) -> dict:
        data = self.cleaned_data["settings"]
        if data in (None, ""):
            return {}
        if not isinstance(data, dict):
            raise forms.ValidationError(
                'Settings must be a JSON object, e.g. {"check_hours": true}.'
            )
        try:
            pool_settings_from(data, {})
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from None
        return data


class PoolMemberInline(admin.TabularInline):
    model = PoolMember
    fields = ["rep", "position", "weight"]
    autocomplete_fields = ["rep"]
    extra = 0


@admin.register(Pool)
class PoolAdmin(admin.ModelAdmin):
    form = PoolForm
    inlines = [PoolMemberInline]
    list_display = ["name", "method", "team", "member_count", "active"]
    list_filter = ["method", "active", "team"]
    list_select_related = ["team"]
    search_fields = ["name"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Pool]:
        return super().get_queryset(request).annotate(member_count=Count("members"))

    @admin.display(description="Members", ordering="member_count")
    def member_count(self, pool: Pool) -> int:
        return pool.member_count


@admin.register(PoolState)
class PoolStateAdmin(ReadOnlyAdmin):
    list_display = ["pool", "last_rep_id", "updated_at"]
    list_select_related = ["pool"]
    search_fields = ["pool__name"]


# --- Decisions --------------------------------------------------------------------------


@admin.register(Decision)
class DecisionAdmin(ReadOnlyAdmin):
    list_display = [
        "lead",
        "kind",
        "outcome",
        "rep",
        "rule_name",
        "method",
        "pool",
        "ruleset_version",
        "created_at",
        "effective",
    ]
    list_filter = ["kind", "outcome", "effective", "method", "pool", "ruleset_version"]
    list_select_related = ["lead", "rep__user", "pool"]
    search_fields = ["=lead__id", "lead__email", "rule_name"]
    date_hierarchy = "created_at"
    fields = [
        "lead",
        ("kind", "effective"),
        ("created_at", "actor"),
        "reason",
        "explained",
    ]
    readonly_fields = ["lead", "kind", "effective", "created_at", "actor", "reason", "explained"]

    @admin.display(description="Decision")
    def explained(self, decision: Decision) -> SafeString:
        return render_decision(decision.payload)


# --- Rule sets --------------------------------------------------------------------------


def rule_error(
    *,
    condition: Any,
    action: str,
    action_target: int | None,
    fallback: str,
    fallback_target: int | None,
) -> engine.RuleError | None:
    """What the engine would refuse in this one rule, or None."""
    rule = engine.Rule(
        id=0,
        position=0,
        name="",
        condition=condition,
        action=engine.Action(action, action_target),
        fallback=engine.Fallback(fallback, fallback_target),
    )
    try:
        engine.compile_ruleset(engine.RuleSet(None, (rule,)))
    except engine.RuleError as exc:
        return exc
    return None


class RuleForm(forms.ModelForm):
    class Meta:
        model = Rule
        fields = [
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

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if self.errors or not {"action", "fallback"} <= cleaned.keys():
            return cleaned
        action = cleaned["action"]
        target = (
            cleaned.get("action_rep") if action == Rule.Action.REP else cleaned.get("action_pool")
        )
        error = rule_error(
            condition=cleaned.get("condition") or {},
            action=action,
            action_target=target.pk if target else None,
            fallback=cleaned["fallback"],
            fallback_target=cleaned["fallback_pool"].pk if cleaned.get("fallback_pool") else None,
        )
        if error is not None:
            # "rules[0].condition.all[1]" → "condition.all[1]": the path within this rule.
            where = error.path.partition(".")[2]
            field = {
                "condition": "condition",
                "action": "action_rep" if action == Rule.Action.REP else "action_pool",
                "fallback": "fallback_pool",
            }.get(where.split(".")[0].split("[")[0])
            self.add_error(
                field, f"{where}: {error.message}" if field == "condition" else error.message
            )
        return cleaned


class RuleInline(admin.TabularInline):
    """Editable on the draft only: a published version's rules are history."""

    model = Rule
    form = RuleForm
    fields = RuleForm.Meta.fields
    ordering = ["position", "id"]
    autocomplete_fields = ["action_pool", "action_rep", "fallback_pool"]
    extra = 0

    def _editable(self, obj: RuleSet | None) -> bool:
        return obj is not None and obj.is_draft

    def has_add_permission(self, request: HttpRequest, obj: RuleSet | None = None) -> bool:
        return self._editable(obj) and super().has_add_permission(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: RuleSet | None = None) -> bool:
        return self._editable(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: RuleSet | None = None) -> bool:
        return self._editable(obj) and super().has_delete_permission(request, obj)


class NoteForm(forms.Form):
    note = forms.CharField(max_length=300, required=False, help_text="Kept with the publication.")


_RULESET_CHOICE_IN_FORCE = ""
_RULESET_CHOICE_DRAFT = "draft"


class PreviewForm(forms.Form):
    """A lead typed in by hand, and the rule set to try it against."""

    email = forms.CharField(required=False)
    company = forms.CharField(required=False)
    account = forms.CharField(
        required=False, label="Account name", help_text="Matched by exact name, if given."
    )
    country = forms.CharField(required=False, help_text="A name or an ISO code.")
    state = forms.CharField(required=False)
    postal_code = forms.CharField(required=False)
    employees = forms.CharField(required=False)
    score = forms.IntegerField(initial=0)
    score_band = forms.ChoiceField(choices=[("", "—"), *ScoreBand.choices], required=False)
    language = forms.CharField(required=False)
    product_interest = forms.CharField(required=False)
    title = forms.CharField(required=False)
    source = forms.CharField(required=False)
    intent_signals = forms.CharField(required=False, help_text="Comma-separated.")
    custom = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 3}), label="Custom (JSON)"
    )
    ruleset = forms.ChoiceField(required=False, label="Rule set")

    LEAD_FIELDS = (
        "email",
        "company",
        "country",
        "state",
        "postal_code",
        "employees",
        "language",
        "product_interest",
        "title",
        "source",
        "intent_signals",
        "custom",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        in_force = ruleset_in_force()
        choices = [
            (
                _RULESET_CHOICE_IN_FORCE,
                f"In force ({in_force})" if in_force else "In force (none: every lead to triage)",
            )
        ]
        if RuleSet.objects.filter(is_draft=True).exists():
            choices.append((_RULESET_CHOICE_DRAFT, "Draft"))
        versions = RuleSet.objects.filter(is_draft=False).values_list("version", flat=True)
        choices.extend((str(v), f"Version {v}") for v in versions)
        self.fields["ruleset"].choices = choices

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        raw = {f: cleaned[f] for f in self.LEAD_FIELDS if cleaned.get(f) not in (None, "")}
        try:
            cleaned["lead"] = clean_lead_data(raw, partial=True)
        except LeadDataError as exc:
            for field, reasons in exc.errors.items():
                self.add_error(field if field in self.fields else None, reasons)
            return cleaned
        try:
            cleaned["rules"] = self._rules(cleaned.get("ruleset") or "")
        except engine.RuleError as exc:
            self.add_error("ruleset", f"The draft does not compile: {exc}")
        return cleaned

    def _rules(self, choice: str) -> engine.CompiledRuleSet:
        if choice == _RULESET_CHOICE_DRAFT:
            draft = RuleSet.objects.get(is_draft=True)
            return engine.compile_ruleset(engine_ruleset(draft))
        ruleset = RuleSet.objects.get(version=int(choice)) if choice else ruleset_in_force()
        if ruleset is None:
            return engine.compile_ruleset(engine.RuleSet(None, ()))
        return compiled_ruleset(ruleset)

    def snapshot(self) -> tuple[dict[str, Any], Account | None]:
        """The lead as the engine reads it (as ``lead_snapshot`` builds it for a stored
        lead), with the account matched by exact name."""
        lead = {f.attname: f.get_default() for f in Lead._meta.concrete_fields}
        lead.update(self.cleaned_data["lead"])
        lead["score"] = self.cleaned_data["score"]
        lead["score_band"] = self.cleaned_data["score_band"]
        lead["is_partial"] = False
        name = self.cleaned_data.get("account")
        account = Account.objects.filter(name=name).first() if name else None
        lead["account_id"] = account.pk if account else None
        lead["account_owner_id"] = account.owner_id if account else None
        return lead, account


@admin.register(RuleSet)
class RuleSetAdmin(admin.ModelAdmin):
    inlines = [RuleInline]
    list_display = [
        "label",
        "note",
        "based_on",
        "rule_count",
        "published_at",
        "published_by",
        "in_force",
        "rollbacks",
    ]
    list_display_links = ["label"]
    fields = ["label", "note", "based_on", "created_at", "created_by", "publications"]
    readonly_fields = ["label", "based_on", "created_at", "created_by", "publications"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[RuleSet]:
        newest = Publication.objects.order_by("-published_at", "-id").values("ruleset_id")[:1]
        first = Publication.objects.filter(ruleset=OuterRef("pk"), is_rollback=False)
        return (
            super()
            .get_queryset(request)
            .select_related("created_by")
            .annotate(
                rule_count=Count("rules", distinct=True),
                rollback_count=Count(
                    "publications", filter=Q(publications__is_rollback=True), distinct=True
                ),
                first_published_at=Subquery(
                    first.order_by("published_at").values("published_at")[:1]
                ),
                first_published_by=Subquery(
                    first.order_by("published_at").values("published_by__username")[:1]
                ),
                is_in_force=Case(
                    When(pk=Subquery(newest), then=Value(True)),
                    default=Value(False),
                    output_field=BooleanField(),
                ),
            )
        )

    # Immutability: a published version is never changed or deleted; the draft is.
    def has_change_permission(self, request: HttpRequest, obj: RuleSet | None = None) -> bool:
        return (obj is None or obj.is_draft) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: RuleSet | None = None) -> bool:
        return (obj is None or obj.is_draft) and super().has_delete_permission(request, obj)

    @admin.display(description="Rule set")
    def label(self, ruleset: RuleSet) -> str:
        return str(ruleset)

    @admin.display(description="Rules", ordering="rule_count")
    def rule_count(self, ruleset: RuleSet) -> int:
        return ruleset.rule_count

    @admin.display(description="Published", ordering="first_published_at")
    def published_at(self, ruleset: RuleSet) -> Any:
        return ruleset.first_published_at

    @admin.display(description="Published by")
    def published_by(self, ruleset: RuleSet) -> str:
        return ruleset.first_published_by or ""

    @admin.display(description="In force")
    def in_force(self, ruleset: RuleSet) -> str:
        return "in force" if ruleset.is_in_force else ""

    @admin.display(description="Rollbacks to it", ordering="rollback_count")
    def rollbacks(self, ruleset: RuleSet) -> int:
        return ruleset.rollback_count

    @admin.display(description="Publications")
    def publications(self, ruleset: RuleSet) -> str:
        rows = ruleset.publications.select_related("published_by")
        return (
            "\n".join(
                f"{p.published_at:%Y-%m-%d %H:%M} by {p.published_by or 'the system'}"
                f"{' (rollback)' if p.is_rollback else ''}{': ' + p.note if p.note else ''}"
                for p in rows
            )
            or "Not published."
        )

    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view
        return [
            path("preview/", view(self.preview_view), name="routing_preview"),
            path("<int:pk>/publish/", view(self.publish_view), name="routing_ruleset_publish"),
            path("<int:pk>/rollback/", view(self.rollback_view), name="routing_ruleset_rollback"),
            *super().get_urls(),
        ]

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context: Any = None):
        """There is one draft: "add" opens it, creating it from the version in force."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        draft = RuleSet.objects.filter(is_draft=True).first()
        if draft is None:
            if request.method != "POST":
                return self._confirm(
                    request,
                    title="Create the draft",
                    text=f"The draft starts as a copy of {ruleset_in_force() or 'no rules'}.",
                    button="Create the draft",
                    form=None,
                )
            draft = ruleset_draft(actor=request.user)
            self.message_user(request, "The draft was created.", messages.SUCCESS)
        return redirect("admin:routing_ruleset_change", draft.pk)

    def _confirm(
        self,
        request: HttpRequest,
        *,
        title: str,
        text: str,
        button: str,
        form: forms.Form | None,
        ruleset: RuleSet | None = None,
    ) -> HttpResponse:
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": title,
            "text": text,
            "button": button,
            "form": form,
            "original": ruleset,
        }
        return TemplateResponse(request, "admin/routing/ruleset/confirm.html", context)

    def publish_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        draft = get_object_or_404(RuleSet, pk=pk, is_draft=True)
        if not self.has_change_permission(request, draft):
            raise PermissionDenied
        form = NoteForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                version = ruleset_publish(actor=request.user, note=form.cleaned_data["note"])
            except RoutingError as exc:
                self.message_user(request, str(exc), messages.ERROR)
                return redirect("admin:routing_ruleset_change", draft.pk)
            self.message_user(request, f"{version} is in force.", messages.SUCCESS)
            return redirect("admin:routing_ruleset_changelist")
        return self._confirm(
            request,
            title="Publish the draft",
            text="The draft's rules become the next version and are put in force at once.",
            button="Publish",
            form=form,
            ruleset=draft,
        )

    def rollback_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        ruleset = get_object_or_404(RuleSet, pk=pk, is_draft=False)
        # A rollback writes a publication, as publishing does: it takes the right to edit.
        if not super().has_change_permission(request):
            raise PermissionDenied
        form = NoteForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                ruleset_rollback(
                    version=ruleset.version, actor=request.user, note=form.cleaned_data["note"]
                )
            except RoutingError as exc:
                self.message_user(request, str(exc), messages.ERROR)
            else:
                self.message_user(request, f"{ruleset} is back in force.", messages.SUCCESS)
            return redirect("admin:routing_ruleset_changelist")
        return self._confirm(
            request,
            title=f"Put {ruleset} back in force (rollback)",
            text="A new publication of this version; the draft is left as it is.",
            button="Roll back",
            form=form,
            ruleset=ruleset,
        )

    def render_change_form(
        self,
        request: HttpRequest,
        context: dict,
        *args: Any,
        obj: RuleSet | None = None,
        **kwargs: Any,
    ) -> HttpResponse:
        context["can_rollback"] = (
            obj is not None and not obj.is_draft and super().has_change_permission(request)
        )
        context["can_publish"] = (
            obj is not None and obj.is_draft and self.has_change_permission(request, obj)
        )
        return super().render_change_form(request, context, *args, obj=obj, **kwargs)

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        draft = RuleSet.objects.filter(is_draft=True).first()
        context = {
            **(extra_context or {}),
            "draft": draft,
            "can_publish": draft is not None and self.has_change_permission(request, draft),
        }
        return super().changelist_view(request, context)

    def preview_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        form = PreviewForm(request.POST or None)
        result = None
        account = None
        if request.method == "POST" and form.is_valid():
            lead, account = form.snapshot()
            now = timezone.now()
            decision = engine.decide(lead, form.cleaned_data["rules"], routing_world(now=now), now)
            result = decision_context(decision.to_dict())
        elif request.method not in ("GET", "POST"):
            return HttpResponseNotAllowed(["GET", "POST"])
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Test a lead",
            "form": form,
            "result": result,
            "account": account,
            "account_name": form.cleaned_data.get("account")
            if form.is_bound and form.is_valid()
            else "",
        }
        return TemplateResponse(request, "admin/routing/preview.html", context)


# --- Leads: routing decisions and manual reassignment -----------------------------------


class DecisionInline(admin.TabularInline):
    """Every routing decision for the lead, newest first; one is effective."""

    model = Decision
    verbose_name_plural = "Routing decisions"
    fields = [
        "created_at",
        "kind",
        "outcome",
        "rep",
        "rule_name",
        "method",
        "pool",
        "ruleset_version",
        "effective",
        "actor",
        "reason",
    ]
    readonly_fields = fields
    ordering = ["-created_at", "-id"]
    extra = 0
    can_delete = False

    def get_queryset(self, request: HttpRequest) -> QuerySet[Decision]:
        return super().get_queryset(request).select_related("rep__user", "pool", "actor")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReassignForm(forms.Form):
    rep = forms.ModelChoiceField(
        queryset=Rep.objects.filter(active=True).select_related("user"), label="New owner"
    )
    reason = forms.CharField(max_length=300, help_text="Kept with the decision and the lead.")


class RoutedLeadAdmin(LeadAdmin):
    def get_fieldsets(self, request: HttpRequest, obj: Lead | None = None) -> list:
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None:
            return fieldsets
        return [
            fieldsets[0],
            ("Routing decision", {"fields": ["routing_decision"]}),
            *fieldsets[1:],
        ]

    def get_readonly_fields(self, request: HttpRequest, obj: Lead | None = None) -> list[str]:
        fields = list(super().get_readonly_fields(request, obj))
        return fields if obj is None else [*fields, "routing_decision"]

    def get_inlines(self, request: HttpRequest, obj: Lead | None) -> list:
        return [] if obj is None else [*super().get_inlines(request, obj), DecisionInline]

    @admin.display(description="Why this owner")
    def routing_decision(self, lead: Lead) -> SafeString | str:
        decision = Decision.objects.filter(lead=lead, effective=True).first()
        if decision is None:
            return "Not routed yet."
        return render_decision(decision.payload)

    def get_urls(self) -> list[URLPattern]:
        return [
            path(
                "<int:pk>/reassign/",
                self.admin_site.admin_view(self.reassign_view),
                name="leads_lead_reassign",
            ),
            *super().get_urls(),
        ]

    def reassign_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        lead = get_object_or_404(Lead.objects.select_related("owner__user"), pk=pk)
        if not self.has_change_permission(request, lead):
            raise PermissionDenied
        form = ReassignForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            rep = form.cleaned_data["rep"]
            try:
                lead_reassign(
                    lead_id=lead.pk,
                    rep_id=rep.pk,
                    actor=request.user,
                    reason=form.cleaned_data["reason"],
                )
            except RoutingError as exc:
                form.add_error(None, str(exc))
            else:
                self.message_user(request, f"{lead} was reassigned to {rep}.", messages.SUCCESS)
                return redirect("admin:leads_lead_change", lead.pk)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"Reassign {lead}",
            "original": lead,
            "form": form,
        }
        return TemplateResponse(request, "admin/routing/reassign.html", context)


admin.site.unregister(Lead)
admin.site.register(Lead, RoutedLeadAdmin)

"""Rule sets follow the services' life cycle: rules are edited in the one draft (each rule
through ``draft_rule_save``, whose check the form runs first), published as an immutable
numbered version (``ruleset_publish``) and put back in force by a rollback
(``ruleset_rollback``); published versions are shown read-only. "Test a lead" runs the
engine on a lead typed into a form, against the draft or any version, and writes nothing."""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
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
from django.template.response import TemplateResponse
from django.urls import URLPattern, path
from django.utils import timezone

from routing import engine
from routing.admin.compare import compare_view, draft_diff_context
from routing.admin.decisions import decision_context
from routing.admin.preview import PreviewForm
from routing.admin.widgets import ConditionRowsWidget
from routing.config_services import (
    RULE_FIELDS,
    check_draft_rule,
    draft_rule_delete,
    draft_rule_save,
)
from routing.lint import ruleset_lint_errors
from routing.models import Publication, Rule, RuleSet
from routing.selectors import routing_world, ruleset_in_force
from routing.services import (
    RoutingError,
    ruleset_draft,
    ruleset_publish,
    ruleset_rollback,
)


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
        # Rows of field / operator / value, the JSON one click away; checked below.
        widgets = {"condition": ConditionRowsWidget()}

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if self.errors or not {"action", "fallback"} <= cleaned.keys():
            return cleaned
        action = cleaned["action"]
        rule = Rule(**{name: cleaned.get(name) for name in self.Meta.fields})
        rule.condition = cleaned.get("condition") or {}
        try:
            check_draft_rule(rule)
        except ValidationError as exc:
            for where, reasons in exc.message_dict.items():
                self.add_error(self._field_for(where, action), self._within_rule(reasons))
        return cleaned

    @staticmethod
    def _field_for(where: str, action: str) -> str:
        if where == "action" and action in (Rule.Action.POOL, Rule.Action.REP):
            return "action_rep" if action == Rule.Action.REP else "action_pool"
        return {"fallback": "fallback_pool"}.get(where, where)

    @staticmethod
    def _within_rule(reasons: list[str]) -> list[str]:
        # The engine names the node from the rule set: "rules[0].condition.all[1]"; on the
        # rule's own row "condition.all[1]" says where.
        return [reason.removeprefix("rules[0].") for reason in reasons]


class RuleInline(admin.StackedInline):
    """Editable on the draft only: a published version's rules are history. Stacked, the
    rule's "when" above its "then": a row of nine columns, the condition's among them, does
    not fit a 1280 px window."""

    model = Rule
    form = RuleForm
    fieldsets = [
        (None, {"fields": [("position", "name", "enabled"), "condition"]}),
        ("Then", {"fields": [("action", "action_pool", "action_rep")]}),
        ("Otherwise", {"fields": [("fallback", "fallback_pool")]}),
    ]
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


class PublishForm(NoteForm):
    """Publishing the draft; when lint finds errors in it, only with "publish anyway"."""

    publish_anyway = forms.BooleanField(
        required=False, help_text="Publish although lint finds the errors listed above."
    )

    def __init__(self, *args: Any, lint_errors: int = 0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lint_errors = lint_errors
        if not lint_errors:
            del self.fields["publish_anyway"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if self.lint_errors and not cleaned.get("publish_anyway"):
            self.add_error(
                "publish_anyway",
                f"Lint finds {self.lint_errors} error(s) in the draft: fix them, or tick "
                "this to publish anyway.",
            )
        return cleaned


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

    def save_formset(
        self, request: HttpRequest, form: forms.ModelForm, formset: Any, change: bool
    ) -> None:
        if formset.model is not Rule:
            super().save_formset(request, form, formset, change)
            return
        # Unsaved: fills new/changed/deleted_objects, which the history message reads.
        formset.save(commit=False)
        for rule in formset.deleted_objects:
            draft_rule_delete(rule=rule)
        changed = [rule for rule, _fields in formset.changed_objects]
        for rule in [*changed, *formset.new_objects]:
            draft_rule_save(
                rule=rule, actor=request.user, **{name: getattr(rule, name) for name in RULE_FIELDS}
            )

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
            path("compare/", view(self.compare_view), name="routing_ruleset_compare"),
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
        findings: list | None = None,
    ) -> HttpResponse:
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": title,
            "text": text,
            "button": button,
            "form": form,
            "original": ruleset,
            "findings": findings or [],
        }
        return TemplateResponse(request, "admin/routing/ruleset/confirm.html", context)

    def publish_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        draft = get_object_or_404(RuleSet, pk=pk, is_draft=True)
        if not self.has_change_permission(request, draft):
            raise PermissionDenied
        errors = ruleset_lint_errors(draft)
        form = PublishForm(request.POST or None, lint_errors=len(errors))
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
            findings=errors,
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
        if obj is not None and obj.is_draft:
            context.update(draft_diff_context(obj))
        return super().render_change_form(request, context, *args, obj=obj, **kwargs)

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        draft = RuleSet.objects.filter(is_draft=True).first()
        context = {
            **(extra_context or {}),
            "draft": draft,
            "can_publish": draft is not None and self.has_change_permission(request, draft),
        }
        return super().changelist_view(request, context)

    def compare_view(self, request: HttpRequest) -> HttpResponse:
        return compare_view(self, request)

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

"""What routing adds to the lead page: the decision that chose the owner, every decision
in an inline, and a manual reassignment (``lead_reassign``). Provided as a mixin and an
inline; the composition root (``leadhub.admin``) builds and registers the one LeadAdmin."""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path
from django.utils.safestring import SafeString

from leadhub.leads.models import Lead
from reps.models import Rep
from routing.admin.decisions import render_decision
from routing.models import Decision
from routing.services import RoutingError, lead_reassign, leads_move


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


class MoveSelectedForm(forms.Form):
    rep = forms.ModelChoiceField(
        queryset=Rep.objects.filter(active=True).select_related("user"),
        required=False,
        label="New owner",
    )
    reason = forms.CharField(max_length=300, help_text="Kept with each lead's decision.")


@admin.action(description="Reassign the selected leads to a rep…")
def reassign_selected(modeladmin, request: HttpRequest, queryset: QuerySet[Lead]):
    return _move_selected(modeladmin, request, queryset, "reassign")


@admin.action(description="Run the rules again for the selected leads…")
def reroute_selected(modeladmin, request: HttpRequest, queryset: QuerySet[Lead]):
    return _move_selected(modeladmin, request, queryset, "reroute")


def _move_selected(modeladmin, request, queryset, action: str):
    """An intermediate page (the rep and a reason), then ``leads_move``: each lead on its
    own, the refused ones named."""
    form = MoveSelectedForm(request.POST if "_apply" in request.POST else None)
    if form.is_bound and form.is_valid():
        try:
            results = leads_move(
                actor=request.user,
                action=action,
                lead_ids=list(queryset.values_list("pk", flat=True)[: MOVE_LIMIT + 1]),
                rep=form.cleaned_data["rep"],
                reason=form.cleaned_data["reason"],
            )
        except RoutingError as exc:
            form.add_error("rep" if action == "reassign" else None, str(exc))
        else:
            moved = sum(1 for r in results if r.decision is not None)
            modeladmin.message_user(
                request, f"{moved} of {len(results)} leads moved.", messages.SUCCESS
            )
            for r in results:
                if r.error:
                    modeladmin.message_user(
                        request, f"Lead #{r.lead_id}: {r.error}", messages.WARNING
                    )
            return None
    count = queryset.count()
    if count > MOVE_LIMIT:
        modeladmin.message_user(
            request, f"Select at most {MOVE_LIMIT} leads at once.", messages.ERROR
        )
        return None
    context = {
        **modeladmin.admin_site.each_context(request),
        "opts": modeladmin.opts,
        "title": "Reassign leads" if action == "reassign" else "Run the rules again",
        "form": form,
        "action": f"{action}_selected",
        "action_name": action,
        "leads": queryset.select_related("owner__user")[:MOVE_LIMIT],
        "count": count,
    }
    return TemplateResponse(request, "admin/routing/move_leads.html", context)


# The most leads one admin action moves (each is its own transaction).
MOVE_LIMIT = 500


class RoutingLeadAdminMixin:
    """For a ``ModelAdmin`` of ``Lead``: the routing decision on the change page, the
    decisions inline under the lead's others, the reassign page, and the actions that
    reassign or re-route a selection."""

    def get_actions(self, request: HttpRequest) -> dict:
        actions = super().get_actions(request)
        for func in (reassign_selected, reroute_selected):
            actions[func.__name__] = self.get_action(func)
        return actions

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

"""Handovers: every run listed (who, why, how many leads moved), and a new one on demand: a
rep's open leads to a named successor or through the rules, with a dry run first that
lists where each lead would go and why (``routing.services.rep_handover``)."""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.shortcuts import redirect
from django.template.response import TemplateResponse

from reps.models import Rep
from routing.models import Handover
from routing.services import RoutingError, rep_handover


class HandoverForm(forms.Form):
    rep = forms.ModelChoiceField(
        queryset=Rep.objects.select_related("user"), label="Rep whose leads move"
    )
    successor = forms.ModelChoiceField(
        queryset=Rep.objects.filter(active=True).select_related("user"),
        required=False,
        label="Successor",
        help_text="Every open lead to this rep. Empty: each lead through the rules in force, "
        "without the rep who leaves.",
    )
    reason = forms.CharField(max_length=300, help_text="Kept with each lead's decision.")


@admin.register(Handover)
class HandoverAdmin(admin.ModelAdmin):
    list_display = ["started_at", "rep", "trigger", "successor", "moved", "refused", "actor"]
    list_filter = ["trigger"]
    list_select_related = ["rep__user", "successor__user", "actor"]
    search_fields = ["rep__user__username", "rep__user__first_name", "rep__user__last_name"]
    readonly_fields = [f.name for f in Handover._meta.fields]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context=None):
        if not self.has_add_permission(request):
            raise PermissionDenied
        initial = {"rep": request.GET.get("rep")} if request.GET.get("rep") else None
        form = HandoverForm(request.POST or None, initial=initial)
        plan = None
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            dry_run = "_preview" in request.POST
            try:
                items = rep_handover(
                    rep=data["rep"],
                    successor=data["successor"],
                    reason=data["reason"],
                    actor=request.user,
                    dry_run=dry_run,
                )
            except RoutingError as exc:
                form.add_error(None, str(exc))
            else:
                if dry_run:
                    plan = items
                else:
                    moved = sum(1 for i in items if i.decision_id)
                    refused = [i for i in items if i.error]
                    self.message_user(
                        request,
                        f"{moved} of {len(items)} open leads of {data['rep']} handed on.",
                        messages.SUCCESS,
                    )
                    for item in refused:
                        self.message_user(request, f"{item.lead}: {item.error}", messages.WARNING)
                    return redirect("admin:routing_handover_changelist")
        wanted = {item.rep_id for item in plan or []} - {None}
        reps = Rep.objects.select_related("user").in_bulk(wanted) if wanted else {}
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Hand a rep's open leads on",
            "form": form,
            "plan": [(item, reps.get(item.rep_id)) for item in plan or []],
            "previewed": plan is not None,
        }
        return TemplateResponse(request, "admin/routing/handover.html", context)

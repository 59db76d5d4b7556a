"""Rule sets side by side: the draft's changes against the version in force (shown on the
draft's page, before Publish) and the Compare page, any two of the draft and the versions.
Both compare the rules as the playbook exports them, rule by rule name, with the
playbook's diff (``routing.playbook.diff``): added, removed, changed field by field, moved.
Nothing is written."""

from typing import Any

from django import forms
from django.contrib.admin import ModelAdmin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from routing.models import RuleSet
from routing.playbook.diff import EntryDiff, diff_entries
from routing.playbook.export import export_ruleset
from routing.selectors import ruleset_in_force

DRAFT = "draft"


def rules_diff(old: RuleSet | None, new: RuleSet) -> tuple[EntryDiff, ...]:
    """How ``new``'s rules differ from ``old``'s (None: no rules), rule by rule name."""
    return diff_entries(export_ruleset(old) if old else [], export_ruleset(new), key="name")


def label(ruleset: RuleSet | None, in_force: RuleSet | None) -> str:
    if ruleset is None:
        return "no rules"
    return f"{ruleset} (in force)" if ruleset == in_force else str(ruleset)


def draft_diff_context(draft: RuleSet) -> dict[str, Any]:
    """What the draft's page shows: its changes against the version in force."""
    in_force = ruleset_in_force()
    return {
        "draft_diff": rules_diff(in_force, draft),
        "draft_diff_base": label(in_force, in_force),
    }


class CompareForm(forms.Form):
    """Two rule sets by version number, or ``draft``: the choices are the ones stored, so
    anything else (an id that is not there, text, a huge number) is an error on the field."""

    a = forms.ChoiceField(label="From")
    b = forms.ChoiceField(label="To")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.in_force = ruleset_in_force()
        self.rulesets = {DRAFT if r.is_draft else str(r.version): r for r in RuleSet.objects.all()}
        choices = [(key, label(r, self.in_force)) for key, r in self.rulesets.items()]
        self.fields["a"].choices = self.fields["b"].choices = choices
        usual = self.initial_pair()
        if self.is_bound:
            # One side given (the links from a rule set's page): the other is the usual.
            self.data = {**usual, **{name: self.data[name] for name in self.data}}
        else:
            self.initial = usual

    def initial_pair(self) -> dict[str, str]:
        """The version in force against the draft, or else the version before it against
        the version in force."""
        if self.in_force is None:
            return {}
        base = str(self.in_force.version)
        if DRAFT in self.rulesets:
            return {"a": base, "b": DRAFT}
        older = [k for k, r in self.rulesets.items() if r.version < self.in_force.version]
        return {"a": older[0] if older else base, "b": base}

    def pair(self) -> tuple[RuleSet, RuleSet]:
        return self.rulesets[self.cleaned_data["a"]], self.rulesets[self.cleaned_data["b"]]


def compare_view(model_admin: ModelAdmin, request: HttpRequest) -> HttpResponse:
    """``/admin/routing/ruleset/compare/?a=3&b=draft``: the rules of ``b`` against ``a``."""
    if not model_admin.has_view_permission(request):
        raise PermissionDenied
    bound = "a" in request.GET or "b" in request.GET
    form = CompareForm(request.GET if bound else None)
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.opts,
        "title": "Compare rule sets",
        "form": form,
    }
    if bound and form.is_valid():
        old, new = form.pair()
        context.update(
            compared=True,
            entries=rules_diff(old, new),
            old_label=label(old, form.in_force),
            new_label=label(new, form.in_force),
        )
    return TemplateResponse(request, "admin/routing/ruleset/compare.html", context)

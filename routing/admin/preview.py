"""The "Test a lead" form: a lead typed in by hand, run through the engine against the
draft or any version; nothing is written."""

from typing import Any

from django import forms

from leadhub.leads.intake import LeadDataError, clean_lead_data
from leadhub.leads.models import Account, Lead, ScoreBand
from routing import engine
from routing.models import RuleSet
from routing.selectors import compiled_ruleset, engine_ruleset, ruleset_in_force

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
    is_partial = forms.BooleanField(
        required=False,
        label="Partial submission",
        help_text="An abandoned form (rules see it as partial / is_partial).",
    )
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
        lead["is_partial"] = bool(self.cleaned_data.get("is_partial"))
        name = self.cleaned_data.get("account")
        account = Account.objects.filter(name=name).first() if name else None
        lead["account_id"] = account.pk if account else None
        lead["account_owner_id"] = account.owner_id if account else None
        return lead, account

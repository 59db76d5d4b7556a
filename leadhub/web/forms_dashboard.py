"""The dashboard's forms: the metric filters (shared by the pages and the metrics API), the
hand reassignment, and the open leads list with its bulk moves."""

from datetime import date, timedelta
from typing import Any

from django import forms
from django.utils import timezone

from leadhub.leads.models import OPEN_STATUSES, LeadStatus
from leadhub.web.metrics import DEFAULT_DAYS, MetricFilter, day_start
from reps.selectors import reps_visible_to, teams_visible_to
from routing.selectors import reassign_targets

MAX_DAYS = 366


class MetricFilterForm(forms.Form):
    """Team, rep, source, rule and period (whole UTC days, the end included). Team and rep
    choices are the ones the user may see; empty dates mean the last 30 days."""

    team = forms.ModelChoiceField(queryset=None, required=False, empty_label="All teams")
    rep = forms.ModelChoiceField(queryset=None, required=False, empty_label="All reps")
    source = forms.CharField(required=False, max_length=100, help_text="e.g. web_form")
    rule = forms.CharField(required=False, max_length=100, label="Routing rule")
    start = forms.DateField(
        required=False, label="From", widget=forms.DateInput(attrs={"type": "date"})
    )
    end = forms.DateField(
        required=False, label="To (inclusive)", widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args: Any, user, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = teams_visible_to(user)
        self.fields["rep"].queryset = reps_visible_to(user).filter(active=True)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        today = timezone.now().date()
        end: date = data.get("end") or today
        start: date = data.get("start") or end - timedelta(days=DEFAULT_DAYS - 1)
        if "start" in self.errors or "end" in self.errors:
            return data
        if start > end:
            self.add_error("start", "The start must not be after the end.")
        elif (end - start).days >= MAX_DAYS:
            self.add_error("start", f"Choose at most {MAX_DAYS} days.")
        data["start"], data["end"] = start, end
        return data

    def metric_filter(self) -> MetricFilter:
        data = self.cleaned_data
        return MetricFilter(
            start=day_start(data["start"]),
            end=day_start(data["end"] + timedelta(days=1)),
            team_id=data["team"].pk if data.get("team") else None,
            rep_id=data["rep"].pk if data.get("rep") else None,
            source=data.get("source") or "",
            rule_name=data.get("rule") or "",
        )


class ReassignForm(forms.Form):
    rep = forms.ModelChoiceField(queryset=None, label="New owner")
    reason = forms.CharField(max_length=300, label="Reason")

    def __init__(self, *args: Any, user, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["rep"].queryset = reassign_targets(user)


class LeadsFilterForm(forms.Form):
    """The manager's open leads: whose, and in which status."""

    owner = forms.ModelChoiceField(
        queryset=None, required=False, label="Owner", empty_label="Anyone"
    )
    status = forms.ChoiceField(required=False, label="Status")

    def __init__(self, *args: Any, user, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = reassign_targets(user)
        self.fields["status"].choices = [("", "Any open status")] + [
            (value, label) for value, label in LeadStatus.choices if value in OPEN_STATUSES
        ]


class _LeadIdsField(forms.Field):
    """Lead ids ticked in a list (whether the user may move each is the service's check,
    lead by lead)."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value: Any) -> list[int]:
        if not value:
            return []
        values = value if isinstance(value, list | tuple) else [value]
        ids = []
        for item in values:
            text = str(item).strip()
            if not text.isascii() or not text.isdigit() or len(text) > 12 or int(text) == 0:
                raise forms.ValidationError("Lead ids are whole numbers.")
            ids.append(int(text))
        return list(dict.fromkeys(ids))


class MoveLeadsForm(forms.Form):
    """A selection of leads given to one rep, or routed again by the rules."""

    ACTIONS = [("reassign", "Reassign to the rep below"), ("reroute", "Run the rules again")]
    MAX_LEADS = 500

    leads = _LeadIdsField(label="Leads", error_messages={"required": "Select some leads."})
    action = forms.ChoiceField(choices=ACTIONS, widget=forms.RadioSelect, initial="reassign")
    rep = forms.ModelChoiceField(queryset=None, required=False, label="New owner")
    reason = forms.CharField(max_length=300, label="Reason")

    def __init__(self, *args: Any, user, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["rep"].queryset = reassign_targets(user)

    def clean_leads(self) -> list[int]:
        leads = self.cleaned_data["leads"]
        if len(leads) > self.MAX_LEADS:
            raise forms.ValidationError(f"Select at most {self.MAX_LEADS} leads at once.")
        return leads

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if cleaned.get("action") == "reassign" and not cleaned.get("rep"):
            self.add_error("rep", "Choose the rep to give the leads to.")
        return cleaned

"""The small forms of the rep's pages. They only check what a person typed; whether the
action is allowed is the service's answer (``leadhub.leads.services``, ``routing.services``)."""

from django import forms

from leadhub.leads.models import TRANSITIONS, LeadStatus
from leadhub.leads.services import ROUTING_STATUSES, TOUCH_KINDS
from reps.availability import Presence

_LABELS = dict(LeadStatus.choices)


def next_statuses(status: str) -> list[tuple[str, str]]:
    """The statuses a person may move a lead in ``status`` to, in lifecycle order: not the
    ones routing sets, nor ``accepted`` (``lead_set_status`` refuses them)."""
    allowed = TRANSITIONS.get(status, frozenset()) - ROUTING_STATUSES - {"accepted"}
    return [(value, label) for value, label in LeadStatus.choices if value in allowed]


class DeclineForm(forms.Form):
    reason = forms.CharField(
        max_length=300, strip=True, error_messages={"required": "Give a reason for declining."}
    )


class TouchForm(forms.Form):
    kind = forms.ChoiceField(
        choices=[(kind, kind.capitalize()) for kind in TOUCH_KINDS], label="Kind of touch"
    )
    note = forms.CharField(
        max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class StatusForm(forms.Form):
    status = forms.ChoiceField(label="New status")
    reason = forms.CharField(max_length=300, required=False)

    def __init__(self, *args, current: str, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["status"].choices = next_statuses(current)


class NoteForm(forms.Form):
    text = forms.CharField(
        label="Note",
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": "Write something."},
    )


class PresenceForm(forms.Form):
    presence = forms.ChoiceField(
        choices=[(p.value, p.value.capitalize()) for p in Presence], widget=forms.RadioSelect
    )


def status_label(status: str) -> str:
    return _LABELS.get(status, status)

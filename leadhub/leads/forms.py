"""The Django form behind a hosted web form: built from WebForm.fields for rendering, the
required check and type-level errors. Lead data itself is validated only by the shared
``clean_lead_data``, which the capture services run; its errors are put back on the form
with ``add_lead_errors``, or, when the form's own checks failed first, by
``add_data_errors``, so that a submission's problems are all reported at once."""

import secrets
from collections.abc import Mapping
from typing import Any

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS
from django.core.validators import RegexValidator
from django.forms.utils import ErrorDict

from leadhub.leads.intake import (
    FORM_FIELDS,
    TEXT_FIELDS,
    LeadDataError,
    clean_lead_data,
    max_lengths,
)
from leadhub.leads.models import WebForm

SESSION_FIELD = "lh_session"
# The honeypot: a text field people never see (off-screen, hidden from screen readers, out
# of the tab order, no autofill) and bots fill in. A submission with it filled is dropped.
HONEYPOT_FIELD = "lh_homepage"
UTM_FIELDS = ("utm_source", "utm_medium", "utm_campaign")

# A form session is the only key to a visitor's partial lead: long enough not to be
# guessed, short enough for Lead.form_session, and safe in a URL.
SESSION_MIN_LENGTH, SESSION_MAX_LENGTH = 16, 64
session_validator = RegexValidator(
    rf"^[A-Za-z0-9_-]{{{SESSION_MIN_LENGTH},{SESSION_MAX_LENGTH}}}$",
    message=(
        f"The form session must be {SESSION_MIN_LENGTH} to {SESSION_MAX_LENGTH} letters, "
        "digits, '-' or '_'. Reload the page and try again."
    ),
)

LABELS = {
    "email": "Email address",
    "first_name": "First name",
    "last_name": "Last name",
    "phone": "Phone number",
    "title": "Job title",
    "company": "Company",
    "website": "Company website",
    "industry": "Industry",
    "employees": "Number of employees",
    "annual_revenue": "Annual revenue",
    "country": "Country",
    "state": "State or region",
    "city": "City",
    "postal_code": "Postal code",
    "timezone": "Time zone",
    "language": "Preferred language",
    "product_interest": "Product you are interested in",
    "message": "Message",
    "utm_source": "Campaign source (UTM)",
    "utm_medium": "Campaign medium (UTM)",
    "utm_campaign": "Campaign name (UTM)",
}
HELP_TEXTS = {
    "website": "For example example.com.",
    "employees": "A number or a range, for example 51-200.",
    "timezone": "For example Europe/Berlin.",
    "language": "For example English or en.",
}
# HTML autocomplete tokens, so browsers and password managers can fill the form.
AUTOCOMPLETE = {
    "email": "email",
    "first_name": "given-name",
    "last_name": "family-name",
    "phone": "tel",
    "title": "organization-title",
    "company": "organization",
    "website": "url",
    "country": "country-name",
    "state": "address-level1",
    "city": "address-level2",
    "postal_code": "postal-code",
    "language": "language",
}
# maxlength hints for the browser, for the fields kept as typed; the limits themselves are
# checked by clean_lead_data.
MAX_LENGTHS = {name: max_lengths()[name] for name in (*TEXT_FIELDS, "email", "phone", "website")}


def new_form_session() -> str:
    return secrets.token_urlsafe(32)


def visit_initial(query: Mapping[str, str]) -> dict[str, str]:
    """Initial values for a fresh page: a new form session, and the UTM parameters of the
    link the visitor followed. An over-long UTM value is cut to what a lead stores, since
    the visitor could not correct a hidden field."""
    initial = {SESSION_FIELD: new_form_session()}
    for name in UTM_FIELDS:
        value = query.get(name, "").strip()
        if value:
            initial[name] = value[: MAX_LENGTHS[name]]
    return initial


def _widget(name: str) -> forms.Widget:
    attrs: dict[str, Any] = {}
    if name in AUTOCOMPLETE:
        attrs["autocomplete"] = AUTOCOMPLETE[name]
    if name in MAX_LENGTHS:
        attrs["maxlength"] = MAX_LENGTHS[name]
    if name == "message":
        return forms.Textarea(attrs={**attrs, "rows": 5})
    if name == "email":
        return forms.EmailInput(attrs=attrs)
    if name == "phone":
        return forms.TextInput(attrs={**attrs, "type": "tel"})
    if name == "website":
        # Not type=url: browsers would refuse "example.com", which the intake accepts.
        attrs["inputmode"] = "url"
    return forms.TextInput(attrs=attrs)


class LeadWebForm(forms.Form):
    """The visible fields of one WebForm, the hidden UTM fields it does not show, and the
    hidden form session that ties partial submissions to the final one.

    Every field is text: turning text into lead values is clean_lead_data's job. What this
    form checks is whether a required field is filled, the session token's shape, and what
    CharField refuses for any text (null characters).

    With ``partial=True`` (fields sent as the visitor types) nothing is required but the
    session, and only the visible fields that were sent count.
    """

    def __init__(
        self,
        webform: WebForm,
        data: Mapping[str, Any] | None = None,
        *,
        partial: bool = False,
        initial: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(data=data, initial=initial, auto_id="lh_%s")
        self.webform = webform
        self.partial = partial
        self.visible_names = list(dict.fromkeys(f for f in webform.fields if f in FORM_FIELDS))
        for name in self.visible_names:
            self.fields[name] = forms.CharField(
                label=LABELS[name],
                help_text=HELP_TEXTS.get(name, ""),
                required=not partial and name in webform.required_fields,
                widget=_widget(name),
            )
        self.hidden_names = [f for f in UTM_FIELDS if f not in self.visible_names]
        for name in self.hidden_names:
            self.fields[name] = forms.CharField(
                label=LABELS[name], required=False, widget=forms.HiddenInput
            )
        self.fields[SESSION_FIELD] = forms.CharField(
            label="Form session",
            required=partial,
            widget=forms.HiddenInput,
            validators=[session_validator],
            error_messages={"required": "Send the form session (lh_session) with every field."},
        )
        self.fields[HONEYPOT_FIELD] = forms.CharField(
            label="Leave this field empty",
            required=False,
            widget=forms.TextInput(attrs={"autocomplete": "off", "tabindex": "-1"}),
        )

    @property
    def honeypot(self) -> forms.BoundField:
        return self[HONEYPOT_FIELD]

    def shown_fields(self) -> list[forms.BoundField]:
        """The fields a person fills in: the visible ones but the honeypot."""
        return [field for field in self.visible_fields() if field.name != HONEYPOT_FIELD]

    def is_bot(self) -> bool:
        """True when the honeypot came back filled in (read raw: a bot's value need not
        pass any check)."""
        value = self.data.get(HONEYPOT_FIELD, "") if self.is_bound else ""
        return bool(value.strip()) if isinstance(value, str) else bool(value)

    @property
    def session(self) -> str:
        if SESSION_FIELD in self.errors:
            return ""
        return self.cleaned_data.get(SESSION_FIELD, "")

    def lead_data(self) -> dict[str, str]:
        """The submission for the capture services (call after ``is_valid()``).

        The visible fields that were sent and passed this form's checks, a blank one meaning
        "cleared" (so a final submission can take back what a partial one stored), and the
        hidden UTM fields that carry a value (a partial lead keeps its campaign too). A field
        that was not sent at all is left out, so a site posting only some fields leaves the
        rest alone.
        """
        cleaned = self.cleaned_data
        data = {
            name: cleaned[name]
            for name in self.visible_names
            if name in self.data and name in cleaned
        }
        data.update({name: cleaned[name] for name in self.hidden_names if cleaned.get(name)})
        return data

    def add_lead_errors(self, errors: Mapping[str, list[str]]) -> None:
        """Put clean_lead_data's {field: [reasons]} on the form, next to the field when the
        form shows it, at the top of the form otherwise."""
        for name, reasons in errors.items():
            if name in self.visible_names:
                self.add_error(name, list(reasons))
            else:
                label = LABELS.get(name, name)
                self.add_error(None, [f"{label}: {reason}" for reason in reasons])

    def add_data_errors(self) -> None:
        """After ``is_valid()`` failed: what clean_lead_data finds wrong with the fields
        that passed this form's checks, on the fields without an error yet. A required
        field left empty and a bad email are then reported together, not in two rounds
        as the visitor fixes one and is shown the next."""
        # An email or phone with an error of its own already says how to be reached.
        contact_failed = "email" in self.errors or "phone" in self.errors
        try:
            clean_lead_data(self.lead_data(), partial=contact_failed)
        except LeadDataError as exc:
            self.add_lead_errors(
                {name: reasons for name, reasons in exc.errors.items() if name not in self.errors}
            )

    def refuse(self, reason: str) -> None:
        """Refuse a submission that could not be read at all (an unbound form): the reason
        at the top of the form, shown again empty."""
        self.cleaned_data = {}
        self._errors = ErrorDict()
        self.add_error(None, reason)

    def top_errors(self) -> list[str]:
        """Errors not shown next to a visible field: the form-wide ones and those of the
        hidden fields, which the visitor cannot see."""
        messages = list(self.non_field_errors())
        for name in [*self.hidden_names, SESSION_FIELD]:
            label = self.fields[name].label
            messages.extend(f"{label}: {reason}" for reason in self.errors.get(name, []))
        return messages

    def errors_json(self) -> dict[str, list[str]]:
        """{field: [reasons]}, form-wide errors under ``non_field_errors`` as in the API."""
        return {
            ("non_field_errors" if name == NON_FIELD_ERRORS else name): [
                str(reason) for reason in reasons
            ]
            for name, reasons in self.errors.items()
        }

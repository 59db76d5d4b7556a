"""Which models the audit log records: the set-up people change, never the rows routing,
the SLA clocks or the outbox write on every lead (Lead, LeadEvent, Decision, PoolState,
RepLoad, SlaClock, Notification, heartbeats, leases, task records).

Each is registered with django-auditlog, which records a create, an update (the fields
that changed, before and after) or a delete from the model's signals. Child rows (a rep's
working hours, a pool's members, a policy's steps) are recorded as rows of their own, as
the admin's inlines edit them; the services replace such sets row by row
(``leadhub.db.rows_replace``) so that each real change is one entry.

Rule-set versions are not registered: a publication or a rollback is one ``Publication``
entry, and the version's rules are a copy of the draft's, whose edits are recorded.
"""

from typing import Any

from auditlog.models import LogEntry
from auditlog.registry import auditlog
from auditlog.signals import pre_log
from django.apps import apps

HIDDEN = "(hidden)"


def hide(value: str) -> str:
    """Secrets are recorded as changed, never with their value (auditlog's own mask keeps
    half of it)."""
    return HIDDEN


_SECRET = {"mask_callable": "leadhub.audit.registry.hide"}

AUDITED: dict[str, dict[str, Any]] = {
    "reps.Team": {},
    "reps.Skill": {},
    "reps.HolidayCalendar": {},
    "reps.Holiday": {},
    # presence_changed_at is the entry's own time.
    "reps.Rep": {"exclude_fields": ["presence_changed_at"], "m2m_fields": {"skills"}},
    "reps.WorkingHours": {},
    "reps.TimeOff": {},
    "routing.Territory": {},
    "routing.Pool": {},
    "routing.PoolMember": {},
    "routing.Rule": {},
    "routing.Publication": {},
    "routing.Experiment": {},
    "sla.SlaPolicy": {},
    "sla.SlaStep": {},
    "sla.BusinessCalendar": {},
    "sla.BusinessHours": {},
    "sla.WebhookSubscription": {"mask_fields": ["secret", "previous_secret"], **_SECRET},
    # A Slack incoming-webhook URL is its credential.
    "sla.SlackWebhook": {"mask_fields": ["url"], **_SECRET},
    "leads.ScoringRule": {},
    "leads.PipelineSettings": {},
    # last_used_at moves on every capture through the key: not a change to the set-up.
    "leads.IntakeKey": {"exclude_fields": ["key_hash", "last_used_at"]},
    "leads.WebForm": {},
}


def register_models() -> None:
    for label, options in AUDITED.items():
        model = apps.get_model(label)
        if not auditlog.contains(model):
            auditlog.register(model, **options)
    pre_log.connect(
        _skip_default_pipeline_settings,
        sender=apps.get_model("leads.PipelineSettings"),
        dispatch_uid="leadhub.audit.pipeline_defaults",
    )


def _skip_default_pipeline_settings(sender: type, action: int, **kwargs: Any) -> bool:
    """The pipeline settings' one row is made with its defaults by the first capture that
    reads it (``PipelineSettings.load``): nobody changed anything; its changes are
    recorded."""
    return action != LogEntry.Action.CREATE


def audited_types() -> list[str]:
    """The audited models as ``app_label.model_name`` (lower case), the API's ``model``."""
    return sorted(apps.get_model(label)._meta.label_lower for label in AUDITED)

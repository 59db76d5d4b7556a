"""What the rep's pages say: SLA clocks as a countdown in words, a lead's events as
sentences, a routing decision in plain words. Pure formatting over rows already loaded,
except the one query that names the reps an event mentions."""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.utils.timezone import localtime

from leadhub.leads.models import LeadEvent, LeadStatus
from reps.models import Rep
from routing.admin import decision_context
from routing.models import Decision
from sla.models import SlaClock

# A running clock with this little left is shown as urgent (words and badge).
URGENT_SECONDS = 120
_STATUS = dict(LeadStatus.choices)


def duration(seconds: float) -> str:
    """1:05, 12:00, 2:03:04 — the same format queue.js ticks in."""
    seconds = int(abs(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


@dataclass(frozen=True)
class ClockView:
    """One SLA clock as the page shows it. ``due`` (ISO) is set only on a running clock:
    queue.js counts down to it; any other clock's words are final."""

    kind: str
    status: str
    text: str
    badge: str
    due: str
    due_at: datetime
    due_label: str
    clock: SlaClock


def clock_view(clock: SlaClock, now: datetime) -> ClockView:
    kind = clock.get_kind_display()
    if clock.status == SlaClock.Status.RUNNING:
        left = (clock.due_at - now).total_seconds()
        if left < 0:
            text, badge = f"overdue {duration(left)}", "bad"
        else:
            text, badge = f"{duration(left)} left", "warn" if left <= URGENT_SECONDS else "good"
        due = clock.due_at.isoformat()
    elif clock.status == SlaClock.Status.PAUSED:
        left = clock.remaining_seconds or 0
        text, badge, due = f"paused, {duration(left)} left", "", ""
    elif clock.status == SlaClock.Status.MET:
        text, badge, due = "met", "good", ""
    elif clock.status == SlaClock.Status.BREACHED:
        text, badge, due = "breached", "bad", ""
    else:
        text, badge, due = clock.get_status_display().lower(), "", ""
    return ClockView(
        kind=kind,
        status=clock.status,
        text=text,
        badge=badge,
        due=due,
        due_at=clock.due_at,
        due_label=f"{localtime(clock.due_at):%Y-%m-%d %H:%M %Z}",
        clock=clock,
    )


def clock_views(clocks: Iterable[SlaClock], now: datetime) -> list[ClockView]:
    return [clock_view(c, now) for c in clocks]


# --- The timeline ---------------------------------------------------------------------

_REP_KEYS = {"to", "from", "rep", "from_rep_id", "rep_id"}


def _rep_names(events: Sequence[LeadEvent]) -> dict[int, str]:
    ids = {
        value
        for event in events
        if isinstance(event.data, dict)
        for key, value in event.data.items()
        if key in _REP_KEYS and isinstance(value, int)
    }
    if not ids:
        return {}
    return {rep.pk: str(rep) for rep in Rep.objects.select_related("user").filter(pk__in=ids)}


def _status(value: Any) -> str:
    return _STATUS.get(value, str(value)) if value else "—"


def _event_text(event: LeadEvent, names: dict[int, str]) -> str:
    data = event.data if isinstance(event.data, dict) else {}

    def rep(key: str) -> str:
        value = data.get(key)
        return names.get(value, f"rep #{value}") if value else "nobody"

    kind = event.kind
    reason = str(data.get("reason") or "").strip()
    why = f" — {reason}" if reason else ""
    if kind == LeadEvent.Kind.STATUS_CHANGED:
        return f"{_status(data.get('from'))} → {_status(data.get('to'))}{why}"
    if kind in (LeadEvent.Kind.ASSIGNED, LeadEvent.Kind.REASSIGNED):
        source = f" from {rep('from')}" if data.get("from") else ""
        method = str(data.get("method") or "").replace("_", " ")
        how = f" ({method})" if method else ""
        return f"to {rep('to')}{source}{how}{why}"
    if kind == LeadEvent.Kind.NOTE:
        return str(data.get("text", ""))
    if kind == LeadEvent.Kind.TOUCHED:
        note = str(data.get("note") or "").strip()
        return f"{str(data.get('kind', 'touch')).capitalize()}" + (f": {note}" if note else "")
    if kind == LeadEvent.Kind.DECLINED:
        return f"{rep('rep')} declined{why}"
    if kind == LeadEvent.Kind.RELEASED:
        return f"{rep('from')} gave it back ({_status(data.get('to_status'))})"
    if kind == LeadEvent.Kind.SLA:
        step = {"remind": "Reminder", "breach": "Deadline missed"}.get(
            data.get("step"), str(data.get("step", "")).capitalize()
        )
        clock = {"accept": "accept", "touch": "first touch", "claim": "claim"}.get(
            data.get("clock"), str(data.get("clock", ""))
        )
        action = str(data.get("action") or "").replace("_", " ")
        return f"{step}: {clock} deadline" + (f", then {action}" if action else "")
    if kind == LeadEvent.Kind.MERGED:
        return f"into lead #{data.get('into')}"
    if kind == LeadEvent.Kind.CAPTURED:
        return f"through {data.get('channel', 'an unknown channel')}, {_status(data.get('status'))}"
    if "fields" in data and isinstance(data["fields"], list):
        return "fields: " + ", ".join(str(f) for f in data["fields"])
    return ", ".join(f"{k}: {v}" for k, v in data.items())


@dataclass(frozen=True)
class TimelineItem:
    at: datetime
    kind: str
    actor: str
    text: str


def timeline(events: Sequence[LeadEvent]) -> list[TimelineItem]:
    """The lead's events, oldest first, each in a sentence; one query names the reps."""
    names = _rep_names(events)
    return [
        TimelineItem(
            at=e.at,
            kind=e.get_kind_display(),
            actor=(e.actor.get_full_name() or e.actor.get_username()) if e.actor else "LeadHub",
            text=_event_text(e, names),
        )
        for e in events
    ]


# --- Why this lead came to me -----------------------------------------------------------


def decision_words(decision: Decision) -> dict[str, Any]:
    """The decision as the admin explains it (``routing.admin.decision_context``), plus a
    summary sentence and the kind of decision, for people who do not know the rules."""
    context = decision_context(decision.payload or {})
    rule = context["rule_name"]
    version = context["ruleset_version"]
    parts = [f"{decision.get_kind_display()}, {localtime(decision.created_at):%Y-%m-%d %H:%M %Z}."]
    if rule:
        parts.append(
            f"It matched the rule “{rule}”"
            + (f" of rule set version {version}" if version is not None else "")
            + "."
        )
    if context["pool"]:
        parts.append(f"The pool {context['pool']} shares its leads by {context['method']}.")
    elif context["method"]:
        parts.append(f"Method: {context['method']}.")
    outcome = context["outcome"] or decision.outcome
    if context["rep"]:
        parts.append(f"{context['rep']} was chosen.")
    elif outcome:
        parts.append(f"Outcome: {_status(outcome).lower()}.")
    if decision.reason:
        parts.append(f"Reason given: {decision.reason}.")
    return {**context, "summary": " ".join(parts), "decision": decision}


# --- The lead's fields ------------------------------------------------------------------

# Kept for the system's own use, not for people.
_HIDDEN_FIELDS = {"id", "form_session", "email_domain"}


def lead_fields(lead) -> list[tuple[str, str]]:
    """Every field of the lead as (label, text), in the model's order; empty ones as "—"."""
    rows = []
    for field in lead._meta.concrete_fields:
        if field.name in _HIDDEN_FIELDS:
            continue
        if field.choices:
            value = getattr(lead, f"get_{field.name}_display")()
        else:
            value = getattr(lead, field.name)
        if isinstance(value, bool):
            text = "yes" if value else "no"
        elif isinstance(value, list):
            text = ", ".join(str(v) for v in value)
        elif isinstance(value, dict):
            text = ", ".join(f"{k}: {v}" for k, v in value.items())
        elif isinstance(value, datetime):
            text = f"{localtime(value):%Y-%m-%d %H:%M %Z}"
        else:
            text = "" if value is None else str(value)
        rows.append((str(field.verbose_name).capitalize(), text or "—"))
    return rows

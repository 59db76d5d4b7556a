"""A lead's lifecycle: status changes, assignment and its undoing, touches, accepting,
edits, notes, and the events other layers add to its timeline. Each change writes a
LeadEvent in the same transaction."""

from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.utils import timezone

from leadhub.leads.intake import LeadDataError, clean_lead_data
from leadhub.leads.models import (
    CLOSED_STATUSES,
    OPEN_STATUSES,
    TRANSITIONS,
    Lead,
    LeadEvent,
)
from leadhub.leads.pipeline import pipeline_context, prepare
from leadhub.leads.services.capture import lead_values, open_duplicate_of
from leadhub.leads.signals import (
    announce_accepted,
    announce_change,
    announce_status_change,
)
from reps.load import rep_load_gain, rep_load_loss, rep_load_open
from reps.models import Rep


class LeadTransitionError(ValueError):
    pass


_STAMPS = {"assigned": "assigned_at", "accepted": "accepted_at", "contacted": "first_touch_at"}


def a_lead(status: str) -> str:
    """ "A new lead", "An accepted lead": the status in a sentence."""
    return f"{'An' if status[:1] in 'aeiou' else 'A'} {status} lead"


def lead_transition_refusal(current: str, target: str) -> str | None:
    """Why the lifecycle refuses ``current`` → ``target``; None when it allows it."""
    allowed = TRANSITIONS.get(current, frozenset())
    if target in allowed:
        return None
    options = ", ".join(sorted(allowed)) or "none: it is closed"
    return f"{a_lead(current)} cannot become {target}. Allowed next statuses: {options}."


def lead_transition(*, lead_id: int, status: str, actor=None, reason: str = "") -> Lead:
    """Move a lead to ``status`` if the lifecycle allows it; LeadTransitionError if not.
    The owner's load counters move in the same transaction (lead row first, then the
    rep's load row: routing's lock order)."""
    with transaction.atomic():
        lead = Lead.objects.select_for_update().get(pk=lead_id)
        return _transition(lead, status, actor=actor, reason=reason)


def _transition(lead: Lead, status: str, *, actor, reason: str) -> Lead:
    if refusal := lead_transition_refusal(lead.status, status):
        raise LeadTransitionError(refusal)
    previous = lead.status
    lead.status = status
    fields = ["status", "updated_at"]
    now = timezone.now()
    stamp = _STAMPS.get(status)
    if stamp and getattr(lead, stamp) is None:
        setattr(lead, stamp, now)
        fields.append(stamp)
    if status in CLOSED_STATUSES:
        lead.closed_at = now
        fields.append("closed_at")
    lead.save(update_fields=fields)
    if lead.owner_id is not None:
        opened = (status in OPEN_STATUSES) - (previous in OPEN_STATUSES)
        rep_load_open(rep_id=lead.owner_id, delta=opened)
    LeadEvent.objects.create(
        lead=lead,
        kind=LeadEvent.Kind.STATUS_CHANGED,
        at=now,
        actor=actor,
        data={"from": previous, "to": status, "reason": reason},
    )
    announce_change(lead, "status", old=previous, new=status)
    announce_status_change(lead.pk, previous, status)
    return lead


# A lead can be given an owner while it waits (new, triage, nurture), and handed to another
# rep while it is being worked; a closed lead keeps its owner.
ASSIGNABLE_STATUSES = frozenset({"new", "triage", "nurture", "queued"})
REASSIGNABLE_STATUSES = frozenset({"assigned", "accepted", "contacted", "qualified"})


def lead_assign(
    *,
    lead: Lead,
    rep_id: int,
    actor=None,
    data: dict[str, Any] | None = None,
    rep_timezone: str | None = None,
) -> Lead:
    """Give ``lead`` to the rep ``rep_id``; the caller holds the lead's row lock (routing
    locks pool state and the reps' load rows first, then the lead) and has decided who.

    A first assignment moves the lead to ``assigned``; a reassignment moves it back to
    ``assigned`` for the new owner to accept, and records who had it. ``data`` (the
    decision's id, rule, reason) goes into the event. The load counters of both reps move
    in the same transaction (``reps.load``); ``rep_timezone``, when the caller knows it,
    saves looking up the rep's local day.
    """
    if lead.owner_id == rep_id and lead.status == "assigned":
        return lead
    if lead.status in ASSIGNABLE_STATUSES:
        kind, previous = LeadEvent.Kind.ASSIGNED, None
    elif lead.status in REASSIGNABLE_STATUSES:
        kind, previous = LeadEvent.Kind.REASSIGNED, lead.owner_id
    else:
        raise LeadTransitionError(f"{a_lead(lead.status)} cannot be assigned.")
    at = timezone.now()
    from_status, from_assigned_at = lead.status, lead.assigned_at
    from_owner = lead.owner_id
    lead.owner_id, lead.status, lead.assigned_at, lead.accepted_at = rep_id, "assigned", at, None
    lead.save(update_fields=["owner", "status", "assigned_at", "accepted_at", "updated_at"])
    if from_owner is not None:
        rep_load_loss(
            rep_id=from_owner, was_open=from_status in OPEN_STATUSES, assigned_at=from_assigned_at
        )
    if rep_timezone is None:
        rep_timezone = Rep.objects.filter(pk=rep_id).values_list("timezone", flat=True).get()
    rep_load_gain(rep_id=rep_id, zone_name=rep_timezone, at=at)
    LeadEvent.objects.create(
        lead=lead,
        kind=kind,
        at=at,
        actor=actor,
        data={"to": rep_id, "from": previous, "from_status": from_status, **(data or {})},
    )
    return lead


TOUCH_KINDS = ("call", "email", "meeting")


def lead_touch(*, lead_id: int, rep_id: int, kind: str, note: str = "", actor=None) -> Lead:
    """The owner (``rep_id``) logs a touch (a call, an email, a meeting) on an open lead
    they work. The first one stamps ``first_touch_at``; an assigned or accepted lead
    becomes ``contacted`` (an assigned one is accepted on the way: touching a lead is
    taking it)."""
    if kind not in TOUCH_KINDS:
        raise LeadDataError({"kind": [f"Choose one of: {', '.join(TOUCH_KINDS)}."]})
    with transaction.atomic():
        lead = Lead.objects.select_for_update().get(pk=lead_id)
        if lead.owner_id != rep_id:
            raise LeadTransitionError("Only the lead's owner can log a touch.")
        if lead.status not in REASSIGNABLE_STATUSES:
            raise LeadTransitionError(f"{a_lead(lead.status)} is not being worked: no touch.")
        now = timezone.now()
        LeadEvent.objects.create(
            lead=lead,
            kind=LeadEvent.Kind.TOUCHED,
            at=now,
            actor=actor,
            data={"kind": kind, "note": note.strip()[:2000]},
        )
        if lead.first_touch_at is None:
            lead.first_touch_at = now
            lead.save(update_fields=["first_touch_at", "updated_at"])
        for step in {"assigned": ("accepted", "contacted"), "accepted": ("contacted",)}.get(
            lead.status, ()
        ):
            _transition(lead, step, actor=actor, reason=f"Touch: {kind}")
        announce_change(lead, "touch", touch=kind)
        return lead


def lead_accept(*, lead_id: int, rep_id: int, actor=None) -> Lead:
    """The owner (``rep_id``) takes an assigned lead on: it becomes ``accepted`` (its accept
    clock is met) and the acceptance is announced (``lead_accepted``), in one transaction."""
    with transaction.atomic():
        lead = Lead.objects.select_for_update().get(pk=lead_id)
        if lead.owner_id != rep_id:
            raise LeadTransitionError("Only the lead's owner can accept it.")
        if lead.status != "assigned":
            raise LeadTransitionError(f"{a_lead(lead.status)} cannot be accepted.")
        _transition(lead, "accepted", actor=actor, reason="Accepted")
        announce_accepted(lead)
        return lead


# Routing puts a lead in these, moving its owner, its queue and its clocks with it: a person
# never sets them through ``lead_set_status``.
ROUTING_STATUSES = frozenset({"new", "queued", "assigned", "triage"})


def lead_set_status(*, lead_id: int, status: str, reason: str = "", actor=None) -> Lead:
    """A person moves the lead along its lifecycle (contacted, qualified, converted,
    disqualified, junk, nurture). The statuses routing sets (``ROUTING_STATUSES``) are
    refused, and so is ``accepted``, the owner's own step (``lead_accept``). Who may ask is
    the caller's check (``routing.selectors.user_may_set_lead_status``)."""
    if status in ROUTING_STATUSES:
        raise LeadTransitionError(f"{status!r} is set by routing, not by hand.")
    if status == "accepted":
        raise LeadTransitionError("Only the owner accepts a lead (accept it instead).")
    return lead_transition(lead_id=lead_id, status=status, actor=actor, reason=reason.strip())


def lead_unassign(
    *, lead: Lead, status: str, actor=None, data: dict[str, Any] | None = None
) -> Lead:
    """Take the lead off its owner and put it back to wait (``queued`` for a claim queue,
    ``new`` to be routed again, ``triage``); the caller holds the lead's row lock. The
    owner's load counters move in the same transaction."""
    if status not in {"queued", "new", "triage", "nurture"}:
        raise LeadTransitionError(f"A lead cannot be put back as {status}.")
    if lead.status not in REASSIGNABLE_STATUSES | {"queued"}:
        raise LeadTransitionError(f"{a_lead(lead.status)} cannot be put back.")
    from_owner, from_status, from_assigned_at = lead.owner_id, lead.status, lead.assigned_at
    lead.owner_id, lead.status, lead.accepted_at = None, status, None
    lead.save(update_fields=["owner", "status", "accepted_at", "updated_at"])
    if from_owner is not None:
        rep_load_loss(
            rep_id=from_owner, was_open=from_status in OPEN_STATUSES, assigned_at=from_assigned_at
        )
    LeadEvent.objects.create(
        lead=lead,
        kind=LeadEvent.Kind.RELEASED,
        actor=actor,
        data={"from": from_owner, "from_status": from_status, "to_status": status, **(data or {})},
    )
    announce_change(lead, "release", old=from_status, new=status)
    return lead


def lead_update(*, lead_id: int, data: Mapping[str, Any], actor=None) -> Lead:
    """Edit a lead's fields (admin, later the lead page): validated like intake, re-scored,
    with an ``updated`` event listing each change."""
    cleaned = clean_lead_data(data, partial=True)
    with transaction.atomic():
        lead = Lead.objects.select_for_update().get(pk=lead_id)
        changes = {k: v for k, v in cleaned.items() if getattr(lead, k) != v}
        if not changes:
            return lead
        if open_duplicate_of(changes, exclude_pk=lead.pk) is not None and lead.is_open:
            raise LeadDataError({"email": ["Another open lead has this email or phone."]})
        before = {k: getattr(lead, k) for k in changes}
        base = lead_values(lead)
        merged = {**base, **changes}
        prepared = prepare(changes, pipeline_context([merged]), base=base)
        for name in ("score", "score_band"):
            changes[name] = prepared.fields[name]
        for name, value in changes.items():
            setattr(lead, name, value)
        lead.save(update_fields=[*changes, "updated_at"])
        LeadEvent.objects.create(
            lead=lead,
            kind=LeadEvent.Kind.UPDATED,
            actor=actor,
            data={"changes": {k: [str(before[k]), str(changes[k])] for k in before}},
        )
        return lead


def lead_note(*, lead_id: int, text: str, actor=None) -> LeadEvent:
    text = text.strip()
    if not text:
        raise LeadDataError({"text": ["Write something."]})
    with transaction.atomic():
        # A note is news on the lead: its updated_at moves (the rep's queue refreshes on it).
        Lead.objects.filter(pk=lead_id).update(updated_at=timezone.now())
        return LeadEvent.objects.create(
            lead_id=lead_id, kind=LeadEvent.Kind.NOTE, actor=actor, data={"text": text}
        )


def lead_record(
    *, lead_id: int, kind: str, data: Mapping[str, Any] | None = None, actor=None, at=None
) -> LeadEvent:
    """Write one event on a lead's timeline for another layer (a decline, an SLA step): the
    one door through which apps above ``leads`` add to it."""
    return LeadEvent.objects.create(
        lead_id=lead_id, kind=kind, actor=actor, at=at or timezone.now(), data=dict(data or {})
    )


def lead_record_many(events: list[dict[str, Any]]) -> None:
    """``lead_record`` for many events at once (each a dict of its keyword arguments), in
    batches: the SLA sweep's reminders."""
    now = timezone.now()
    LeadEvent.objects.bulk_create(
        [
            LeadEvent(
                lead_id=e["lead_id"],
                kind=e["kind"],
                actor=e.get("actor"),
                at=e.get("at") or now,
                data=dict(e.get("data") or {}),
            )
            for e in events
        ],
        batch_size=1000,
    )


def lead_stamp_routed_rule(*, lead: Lead, rule_name: str | None) -> None:
    """Stamp the rule that first routed the lead (``Lead.routed_rule``), once: the metrics
    group leads by it."""
    if lead.routed_rule is None:
        Lead.objects.filter(pk=lead.pk, routed_rule=None).update(routed_rule=rule_name)
        lead.routed_rule = rule_name

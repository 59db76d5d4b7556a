"""Writes for notifications."""

from django.db import IntegrityError, transaction
from django.utils import timezone

from routing.models import Decision
from sla.models import Notification


def notification_for_decision(
    *, decision_id: int | None = None, decision: Decision | None = None, lead=None
) -> Notification | None:
    """Tell the rep a lead is theirs: one in-app notification per decision, however often
    this runs (a decision has at most one, enforced by the database). Routing passes the
    rows it holds, inside the assignment's transaction (no query to load them, no
    savepoint: the decision is brand new); by id, they are read."""
    if decision is None:
        decision = Decision.objects.select_related("lead").filter(pk=decision_id).first()
        if decision is None:
            return None
    if decision.outcome != "assigned" or decision.rep_id is None:
        return None
    lead = lead if lead is not None else decision.lead
    who = f"{lead.first_name} {lead.last_name}".strip() or lead.email or lead.phone
    kind = (
        Notification.Kind.REASSIGNED
        if decision.kind == Decision.Kind.MANUAL
        else Notification.Kind.ASSIGNED
    )
    title = f"New lead: {who}" + (f" ({lead.company})" if lead.company else "")
    fields = {"rep_id": decision.rep_id, "lead": lead, "kind": kind, "title": title[:200]}
    if decision_id is None:
        return Notification.objects.create(decision=decision, **fields)
    try:
        with transaction.atomic():
            return Notification.objects.create(decision=decision, **fields)
    except IntegrityError:
        return Notification.objects.get(decision=decision)


def notification_mark_read(*, notification: Notification) -> Notification:
    if notification.read_at is None:
        notification.read_at = timezone.now()
        notification.save(update_fields=["read_at"])
    return notification

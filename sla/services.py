"""Writes for notifications."""

from django.db import IntegrityError, transaction
from django.utils import timezone

from routing.models import Decision
from sla.models import Notification


def notification_for_decision(*, decision_id: int) -> Notification | None:
    """Tell the rep a lead is theirs: one in-app notification per decision, however often
    this runs (a decision has at most one, enforced by the database)."""
    decision = (
        Decision.objects.select_related("lead").filter(pk=decision_id, outcome="assigned").first()
    )
    if decision is None or decision.rep_id is None:
        return None
    lead = decision.lead
    who = f"{lead.first_name} {lead.last_name}".strip() or lead.email or lead.phone
    kind = (
        Notification.Kind.REASSIGNED
        if decision.kind == Decision.Kind.MANUAL
        else Notification.Kind.ASSIGNED
    )
    title = f"New lead: {who}" + (f" ({lead.company})" if lead.company else "")
    try:
        with transaction.atomic():
            return Notification.objects.create(
                rep_id=decision.rep_id, lead=lead, decision=decision, kind=kind, title=title[:200]
            )
    except IntegrityError:
        return Notification.objects.get(decision=decision)


def notification_mark_read(*, notification: Notification) -> Notification:
    if notification.read_at is None:
        notification.read_at = timezone.now()
        notification.save(update_fields=["read_at"])
    return notification

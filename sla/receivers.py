"""How the notification layer reacts to the layers below (routing, leads). Connected in
SlaConfig.ready(). ``lead_routed``, ``lead_accepted`` and ``lead_changed`` come inside the
transaction of the change (the outbox rows and clocks commit with it); ``leads_captured``
and ``lead_status_changed`` after it committed."""

from leadhub import lanes
from routing.models import Decision
from sla import clocks
from sla.models import Event
from sla.selectors import subscriptions_for
from sla.services import (
    notification_for_accept,
    notification_for_decision,
    notification_for_decline,
    notification_for_escalation_ceiling,
    notification_for_status_change,
)

# Leads per announcing task, as routing batches its own (a CSV chunk can be 500 leads).
ANNOUNCE_BATCH = 50


def notify_routed(sender, lead, decision, **kwargs) -> None:
    # Inside the assignment's transaction: the lead's clocks move (old ones end, the new
    # owner's start) and its notifications are written, committed with it or not at all;
    # the sending is queued after the commit.
    clocks.on_routed(lead, decision)
    notification_for_decision(decision=decision, lead=lead)
    # A decline's decision moved the lead from the rep who declined it (``from_rep_id``).
    if decision.kind == Decision.Kind.DECLINE and (rep_id := decision.payload.get("from_rep_id")):
        notification_for_decline(lead=lead, decision=decision, rep_id=rep_id)


def notify_accepted(sender, lead, **kwargs) -> None:
    # Inside the transaction in which the owner accepted the lead.
    notification_for_accept(lead=lead)


def lead_changed(sender, lead, change: str, **data) -> None:
    # Inside the transaction that changed the lead: met, stopped, paused, resumed.
    clocks.on_changed(lead, change, **data)


def notify_captured(sender, lead_ids: list[int], **kwargs) -> None:
    # Usually nobody subscribes to lead.created: one small read spares a task per capture.
    # (A new lead has no owner yet, so only subscriptions for every team can hear it.)
    if not subscriptions_for(event=Event.LEAD_CREATED, team_id=None):
        return
    for start in range(0, len(lead_ids), ANNOUNCE_BATCH):
        lanes.enqueue(
            lanes.OUTBOX,
            "sla.tasks.announce_created",
            lead_ids[start : start + ANNOUNCE_BATCH],
            group="outbox",
        )


def notify_status_changed(sender, lead_id: int, old: str, new: str, **kwargs) -> None:
    notification_for_status_change(lead_id=lead_id, old=old, new=new)


def notify_escalation_ceiling(sender, rep_id: int, ceiling: int | None, **kwargs) -> None:
    # Inside the transaction that gave the manager the lead that filled their ceiling.
    notification_for_escalation_ceiling(rep_id=rep_id, ceiling=ceiling)

"""django-q2 tasks of routing, run in the routing lane. Each takes ids, and running one
twice does no harm: a lead that is no longer new is left alone."""

from datetime import timedelta

from django.conf import settings

from leadhub import lanes
from routing.services import (
    decision_refund,
    handovers_due,
    lead_route,
    leads_pending,
    rep_deactivated_handover,
    time_off_handover,
)


def route_leads(lead_ids: list[int]) -> int:
    """Route each lead that still needs it; returns how many were routed."""
    return sum(lead_route(lead_id=lead_id) is not None for lead_id in lead_ids)


def route_pending() -> int:
    """The safety net: route leads still new after LEADHUB_ROUTING_SWEEP_AFTER_SECONDS
    (the worker was down, or an enqueue was lost). Queued by the ticker, one run at a time
    (leadhub.ops.tasks.routing_sweep)."""
    after = timedelta(seconds=settings.LEADHUB_ROUTING_SWEEP_AFTER_SECONDS)
    return route_leads(leads_pending(older_than=after))


def refund_lead(lead_id: int) -> bool:
    return decision_refund(lead_id=lead_id)


def hand_over_deactivated(rep_id: int) -> int:
    """A switched-off rep's open leads handed on; how many moved."""
    return sum(i.decision_id is not None for i in rep_deactivated_handover(rep_id=rep_id))


def hand_over_time_off(time_off_id: int) -> int:
    """A rep's open leads handed on as their long time off begins; how many moved."""
    return sum(i.decision_id is not None for i in time_off_handover(time_off_id=time_off_id))


def handovers_check() -> int:
    """Queue a handover for each long time off that has begun and is not handled yet."""
    due = handovers_due()
    for time_off_id in due:
        lanes.enqueue(
            lanes.ROUTING, "routing.tasks.hand_over_time_off", time_off_id, group="routing"
        )
    return len(due)

"""django-q2 tasks of routing, run in the routing lane. Each takes ids, and running one
twice does no harm: a lead that is no longer new is left alone."""

from datetime import timedelta

from django.conf import settings

from routing.services import decision_refund, lead_route, leads_pending


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

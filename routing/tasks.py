"""django-q2 tasks of routing, run in the routing lane (a replay in the housekeeping
lane). Each takes ids, and running one twice does no harm: a lead that is no longer new is
left alone, a replay already done is not done again."""

import logging
from datetime import timedelta

from django.conf import settings

from leadhub import lanes
from routing.models import ReplayReport
from routing.replay import replay_failed, replay_fill
from routing.services import (
    decision_refund,
    handovers_due,
    lead_route,
    leads_pending,
    rep_deactivated_handover,
    time_off_handover,
)

logger = logging.getLogger(__name__)


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


def replay_report(report_id: int) -> str:
    """Do a requested replay (``routing.replay.replay_request``); its status when done. Any
    error fails the report with the reason, so the lane does not try it again and again."""
    report = ReplayReport.objects.filter(pk=report_id).select_related("ruleset").first()
    if report is None or report.status != ReplayReport.Status.RUNNING:
        return report.status if report else "gone"
    try:
        replay_fill(report)
    except Exception as exc:
        logger.exception("Replay #%s failed", report_id)
        replay_failed(report, str(exc) or type(exc).__name__)
    return report.status

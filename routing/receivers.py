"""How routing reacts to the leads app: new leads are routed (at capture, or by the routing
lane), junk leads give their rotation turn back. Connected in RoutingConfig.ready()."""

from django.conf import settings
from django.db import transaction

from leadhub import lanes

# A junk lead was never a real lead: its pool turn is refunded (design.md §3, fairness).
REFUNDED_STATUSES = frozenset({"junk"})


# Leads per routing task: a CSV chunk of 500 in one task could outlast the worker's task
# timeout (the routing lane's "timeout") when routes are slow, and be retried from the start.
ROUTE_BATCH = 50


def route_captured(sender, lead_ids: list[int], **kwargs) -> None:
    # One lead (an API call, a form): routed right here, after the capture's commit, so the
    # response already shows its owner (a few milliseconds, no queue in between). A batch
    # (a CSV file) goes to the routing lane, so the import does not wait for it.
    if settings.LEADHUB_ROUTE_AT_CAPTURE and len(lead_ids) == 1:
        lanes.attempt(lanes.ROUTING, "routing.tasks.route_leads", lead_ids, group="routing")
        return
    for start in range(0, len(lead_ids), ROUTE_BATCH):
        lanes.enqueue(
            lanes.ROUTING,
            "routing.tasks.route_leads",
            lead_ids[start : start + ROUTE_BATCH],
            group="routing",
        )


def refund_junk(sender, lead_id: int, old: str, new: str, **kwargs) -> None:
    if new in REFUNDED_STATUSES:
        lanes.enqueue(lanes.ROUTING, "routing.tasks.refund_lead", lead_id, group="routing")


def hand_over_deactivated(sender, rep_id: int, **kwargs) -> None:
    """A rep was switched off: their open leads are handed on by the routing lane, after
    the commit (``routing.services.rep_deactivated_handover``)."""
    transaction.on_commit(
        lambda: lanes.enqueue(
            lanes.ROUTING, "routing.tasks.hand_over_deactivated", rep_id, group="routing"
        )
    )

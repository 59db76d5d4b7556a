"""Writes for routing, one module per concern:

- ``core``: the one way a lead moves (``route_with`` a ``Move``) and the one function that
  stores a decision (``store``); locks, retries, the rotation state;
- ``route``: routing by the rules (new leads, the sweep's list, abandoned partial leads),
  running the rules again (one lead, a selection), the junk refund;
- ``moves``: a decline, the SLA ladder (reassign, escalate, triage), claims and releases,
  a manager's reassignment;
- ``handover``: a rep's open leads handed on (switched off, long time off, on demand);
- ``rulesets``: the draft, publishing, rollback.

Callers import from ``routing.services``."""

from routing.services.core import (
    MAX_ATTEMPTS,
    Move,
    RoutingError,
    lead_is_routable,
    partial_cutoff,
    route_with,
)
from routing.services.handover import (
    HandoverItem,
    handover_leads,
    handovers_due,
    rep_deactivated_handover,
    rep_handover,
    time_off_handover,
)
from routing.services.moves import (
    CLAIM_NEEDS,
    decliners,
    lead_claim,
    lead_decline,
    lead_escalate,
    lead_reassign,
    lead_release,
    lead_sla_reassign,
    lead_sla_triage,
    previous_owners,
)
from routing.services.route import (
    BulkResult,
    decision_refund,
    lead_reroute,
    lead_route,
    leads_bulk,
    leads_move,
    leads_pending,
)
from routing.services.rulesets import ruleset_draft, ruleset_publish, ruleset_rollback

__all__ = [
    "CLAIM_NEEDS",
    "MAX_ATTEMPTS",
    "BulkResult",
    "HandoverItem",
    "Move",
    "RoutingError",
    "decision_refund",
    "decliners",
    "handover_leads",
    "handovers_due",
    "lead_claim",
    "lead_decline",
    "lead_escalate",
    "lead_is_routable",
    "lead_reassign",
    "lead_release",
    "lead_reroute",
    "lead_route",
    "lead_sla_reassign",
    "lead_sla_triage",
    "leads_bulk",
    "leads_move",
    "leads_pending",
    "partial_cutoff",
    "previous_owners",
    "rep_deactivated_handover",
    "rep_handover",
    "route_with",
    "ruleset_draft",
    "ruleset_publish",
    "ruleset_rollback",
    "time_off_handover",
]

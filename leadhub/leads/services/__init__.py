"""Every write to leads goes through these services; views, API, admin, commands and tasks
call them. Each state change writes a LeadEvent in the same transaction.

- ``capture``: a submission cleaned, scored, deduplicated and stored, or added to the open
  lead it repeats; partial form submissions; Idempotency-Keys;
- ``lifecycle``: status changes, assignment, touches, accepting, edits, notes, and the
  events other layers add to a lead's timeline;
- ``accounts``: an account with its domains.

Callers import from ``leadhub.leads.services``."""

from leadhub.leads.services.accounts import (
    account_save,
)
from leadhub.leads.services.capture import (
    CaptureResult,
    Outcome,
    ResubmissionApplied,
    idempotency_purge,
    lead_capture,
    lead_capture_partial,
    lead_resubmission_apply,
    lead_values,
    open_duplicate_of,
)
from leadhub.leads.services.lifecycle import (
    ASSIGNABLE_STATUSES,
    REASSIGNABLE_STATUSES,
    ROUTING_STATUSES,
    TOUCH_KINDS,
    LeadTransitionError,
    a_lead,
    lead_accept,
    lead_assign,
    lead_note,
    lead_record,
    lead_record_many,
    lead_set_status,
    lead_stamp_routed_rule,
    lead_touch,
    lead_transition,
    lead_transition_refusal,
    lead_unassign,
    lead_update,
)

__all__ = [
    "ASSIGNABLE_STATUSES",
    "REASSIGNABLE_STATUSES",
    "ROUTING_STATUSES",
    "TOUCH_KINDS",
    "CaptureResult",
    "LeadTransitionError",
    "Outcome",
    "ResubmissionApplied",
    "a_lead",
    "account_save",
    "idempotency_purge",
    "lead_accept",
    "lead_assign",
    "lead_capture",
    "lead_capture_partial",
    "lead_note",
    "lead_record",
    "lead_record_many",
    "lead_resubmission_apply",
    "lead_set_status",
    "lead_stamp_routed_rule",
    "lead_touch",
    "lead_transition",
    "lead_transition_refusal",
    "lead_unassign",
    "lead_update",
    "lead_values",
    "open_duplicate_of",
]

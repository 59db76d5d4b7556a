"""django-q2 tasks of reps."""

import logging

from reps.load import rep_loads_recount

RECOUNT_SCHEDULE = "reps: recount rep loads from the leads"

logger = logging.getLogger(__name__)


def rep_loads_reconcile() -> int:
    """The nightly check of the load counters against the leads; returns how many reps had
    drifted (each is logged: a drift means a write went around the services)."""
    drift = rep_loads_recount()
    for rep_id, before in drift.items():
        logger.warning("Rep %s load counters had drifted (were %s); recounted.", rep_id, before)
    return len(drift)

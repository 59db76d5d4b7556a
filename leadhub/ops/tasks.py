"""django-q2 tasks of the ops app. Each is safe to run twice."""

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from leadhub.leads.services import idempotency_purge
from leadhub.ops.services import ROUTING_SWEEP, lease_release, task_records_purge
from routing.tasks import route_pending
from sla.services import notifications_purge

PURGE_SCHEDULE = "ops: purge old rows"


def routing_sweep() -> int:
    """The routing sweep, queued by the ticker in the routing lane while it holds the
    sweep's lease: released here, so the next tick may queue the next run."""
    try:
        return route_pending()
    finally:
        lease_release(name=ROUTING_SWEEP)


def purge_old_rows() -> dict[str, int]:
    """Hourly (housekeeping lane): rows nobody needs any more, in batches. Delivered
    notifications and finished task records after LEADHUB_RETENTION_DAYS, Idempotency-Keys
    after LEADHUB_IDEMPOTENCY_TTL_HOURS."""
    before = timezone.now() - timedelta(days=settings.LEADHUB_RETENTION_DAYS)
    return {
        "notifications": notifications_purge(before=before),
        "task records": task_records_purge(before=before),
        "idempotency keys": idempotency_purge(),
    }

"""django-q2 tasks of the leads app. Each takes ids or nothing, and is safe to run twice."""

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from leadhub.leads.models import IdempotencyRecord

IDEMPOTENCY_PURGE_SCHEDULE = "leads: purge expired idempotency keys"


def idempotency_purge() -> int:
    """Forget Idempotency-Keys older than LEADHUB_IDEMPOTENCY_TTL_HOURS; returns how many."""
    cutoff = timezone.now() - timedelta(hours=settings.LEADHUB_IDEMPOTENCY_TTL_HOURS)
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return deleted

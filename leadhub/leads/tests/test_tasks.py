from datetime import timedelta

import pytest
from django.utils import timezone
from django_q.models import Schedule

from leadhub.leads.models import IdempotencyRecord
from leadhub.leads.tasks import IDEMPOTENCY_PURGE_SCHEDULE, idempotency_purge
from leadhub.leads.tests.factories import LeadFactory

pytestmark = pytest.mark.django_db


def test_purge_forgets_only_expired_idempotency_keys_and_can_run_twice():
    lead = LeadFactory()
    IdempotencyRecord.objects.create(scope="user:1", key="fresh", lead=lead)
    IdempotencyRecord.objects.create(
        scope="user:1", key="old", lead=lead, created_at=timezone.now() - timedelta(hours=49)
    )
    assert idempotency_purge() == 1
    assert idempotency_purge() == 0
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["fresh"]


def test_the_purge_is_scheduled_hourly_by_name():
    schedule = Schedule.objects.get(name=IDEMPOTENCY_PURGE_SCHEDULE)
    assert schedule.func == "leadhub.leads.tasks.idempotency_purge"
    assert schedule.schedule_type == Schedule.HOURLY

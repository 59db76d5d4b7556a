"""The hourly purge: delivered notifications and finished task records after the retention,
expired Idempotency-Keys, in batches; everything still needed stays."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django_q.models import Schedule, Task

from leadhub import db
from leadhub.leads.models import IdempotencyRecord
from leadhub.leads.tests.factories import LeadFactory
from leadhub.ops.tasks import PURGE_SCHEDULE, purge_old_rows
from sla.models import Notification

pytestmark = pytest.mark.django_db


def note(channel: str, status: str, days_ago: float, **fields) -> Notification:
    at = timezone.now() - timedelta(days=days_ago)
    return Notification.objects.create(
        channel=channel,
        status=status,
        event="lead.assigned",
        title="x",
        created_at=at,
        sent_at=at if status == "sent" else None,
        **fields,
    )


def task(days_ago: float, success: bool = True) -> Task:
    at = timezone.now() - timedelta(days=days_ago)
    return Task.objects.create(
        id=f"t{days_ago}{success}", name="x", func="f", started=at, stopped=at, success=success
    )


def test_old_delivered_rows_old_task_records_and_expired_keys_go_the_rest_stays(
    monkeypatch, settings
):
    settings.LEADHUB_RETENTION_DAYS = 30
    batches = []
    monkeypatch.setattr(db, "PURGE_BATCH", 2)  # several batches of each
    real_filter = Notification.objects.filter

    def counting_filter(*args, **kwargs):
        if "pk__in" in kwargs:
            batches.append(len(kwargs["pk__in"]))
        return real_filter(*args, **kwargs)

    monkeypatch.setattr(Notification.objects, "filter", counting_filter)
    old_sent = [note("email", "sent", 31), note("webhook", "sent", 40), note("slack", "sent", 35)]
    kept = [
        note("email", "sent", 29),  # within the retention
        note("in_app", "sent", 90),  # the rep's history and the "notified" time
        note("email", "dead", 90),  # for the admin to re-send
        note("webhook", "pending", 90),
    ]
    task(31), task(45, success=False), task(1)
    lead = LeadFactory()
    IdempotencyRecord.objects.create(scope="user:1", key="fresh", lead=lead)
    IdempotencyRecord.objects.create(
        scope="user:1", key="old", lead=lead, created_at=timezone.now() - timedelta(hours=49)
    )

    assert purge_old_rows() == {"notifications": 3, "task records": 2, "idempotency keys": 1}
    assert batches == [2, 1]
    assert purge_old_rows() == {"notifications": 0, "task records": 0, "idempotency keys": 0}
    assert not Notification.objects.filter(pk__in=[n.pk for n in old_sent]).exists()
    assert Notification.objects.filter(pk__in=[n.pk for n in kept]).count() == 4
    assert list(Task.objects.values_list("id", flat=True)) == ["t1True"]
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["fresh"]


def test_the_purge_is_scheduled_hourly_in_the_housekeeping_lane():
    schedule = Schedule.objects.get(name=PURGE_SCHEDULE)
    assert schedule.func == "leadhub.ops.tasks.purge_old_rows"
    assert schedule.schedule_type == Schedule.HOURLY
    assert schedule.cluster is None  # the default cluster: housekeeping
    gone = ["routing: route leads left unrouted", "sla: act on due SLA clocks"]
    assert not Schedule.objects.filter(name__in=gone).exists()

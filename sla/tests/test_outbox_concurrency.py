"""Two outbox sweeps at once on PostgreSQL (threads, each with its own connection, as two
tickers would be): every due row is queued once, by whichever sweep claims it."""

import threading
from collections import Counter

import pytest

from leadhub.tests.threads import at_once
from sla.models import Notification
from sla.services import outbox_sweep

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ROWS = 400
SWEEPERS = 4


def test_concurrent_sweeps_queue_each_due_row_once(monkeypatch, settings):
    settings.LEADHUB_OUTBOX_QUEUE_LIMIT = ROWS
    Notification.objects.bulk_create(
        Notification(channel="email", address=f"{n}@example.com", event="lead.assigned", title="x")
        for n in range(ROWS)
    )
    queued: list[int] = []
    lock = threading.Lock()

    def enqueue(lane, func, notification_id, **options):
        with lock:
            queued.append(notification_id)

    monkeypatch.setattr("leadhub.lanes.enqueue", enqueue)

    at_once(SWEEPERS, outbox_sweep)

    counts = Counter(queued)
    assert len(counts) == ROWS
    assert max(counts.values()) == 1
